; Definitions. Ranges start at `def`/`class` (decorators excluded), as Python's `ast` reports lineno.
(class_definition
  name: (identifier) @name) @definition.class

(function_definition
  name: (identifier) @name) @definition.function

; Module-level assignments: `X = ...`, `X: int = ...`
(module
  (expression_statement
    (assignment left: (identifier) @name) @definition.variable))

; References
(call
  function: (_) @name) @reference.call

(import_statement
  name: [(dotted_name) @name (aliased_import name: (dotted_name) @name)]) @reference.import

(import_from_statement
  module_name: (_) @name) @reference.import

(import_from_statement
  name: [(dotted_name) @name (aliased_import name: (dotted_name) @name)]) @reference.import
