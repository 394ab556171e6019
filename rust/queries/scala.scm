; TODO(helper): query for scala
