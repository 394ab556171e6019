; TODO(helper): query for ocaml
