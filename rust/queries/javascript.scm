; Classes and their members
[(class_declaration name: (_) @name) (class name: (_) @name)] @definition.class

(method_definition
  name: (property_identifier) @name
  (#eq? @name "constructor")) @definition.constructor

(method_definition
  name: [(property_identifier) (private_property_identifier) (computed_property_name) (string)] @name) @definition.method

(field_definition
  property: [(property_identifier) (private_property_identifier)] @name) @definition.field

; Functions: declarations, and functions bound to a name
[(function_declaration name: (identifier) @name)
 (generator_function_declaration name: (identifier) @name)] @definition.function

(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

(assignment_expression
  left: [(identifier) @name (member_expression property: (property_identifier) @name)]
  right: [(arrow_function) (function_expression)]) @definition.function

(pair
  key: [(property_identifier) (string)] @name
  value: [(arrow_function) (function_expression)]) @definition.function

; Top-level constants and variables that are not functions
(program
  [(lexical_declaration (variable_declarator name: (identifier) @name value: (_)? @value) @definition.variable)
   (variable_declaration (variable_declarator name: (identifier) @name) @definition.variable)])

(program
  (export_statement
    declaration: (lexical_declaration (variable_declarator name: (identifier) @name) @definition.variable)))

; References
(call_expression function: (_) @name) @reference.call
(new_expression constructor: (_) @name) @reference.call
(import_statement source: (string (string_fragment) @name)) @reference.import
(call_expression
  function: (identifier) @_req
  arguments: (arguments (string (string_fragment) @name))
  (#eq? @_req "require")) @reference.import
