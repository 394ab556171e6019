; TODO(helper): query for markdown
