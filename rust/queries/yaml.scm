; YAML. Keys of each document's top-level mapping, and the keys of mappings nested one level
; under them (`jobs:` -> `test`, `bench`); deeper keys are left out so that large files stay
; readable. Keys are named as written (a quoted key keeps its quotes). An alias `*name` refers
; to its anchor `&name`.

(document (block_node (block_mapping
  (block_mapping_pair key: (_) @name) @definition.key)))

(document (block_node (block_mapping (block_mapping_pair value: (block_node (block_mapping
  (block_mapping_pair key: (_) @name) @definition.key))))))

(document (flow_node (flow_mapping
  (flow_pair key: (_) @name) @definition.key)))

(alias (alias_name) @name) @reference.call
