; TODO(helper): query for haskell
