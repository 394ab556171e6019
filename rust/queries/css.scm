; TODO(helper): query for css
