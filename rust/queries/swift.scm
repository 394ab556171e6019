; TODO(helper): query for swift
