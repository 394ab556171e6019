; TODO(helper): query for toml
