; TODO(helper): query for dart
