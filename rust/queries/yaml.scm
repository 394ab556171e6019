; TODO(helper): query for yaml
