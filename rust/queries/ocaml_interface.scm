; TODO(helper): query for ocaml_interface
