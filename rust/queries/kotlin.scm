; TODO(helper): query for kotlin
