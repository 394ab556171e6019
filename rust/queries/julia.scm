; TODO(helper): query for julia
