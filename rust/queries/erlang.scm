; TODO(helper): query for erlang
