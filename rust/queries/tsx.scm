; Classes and their members
[(class_declaration name: (_) @name) (class name: (_) @name) (abstract_class_declaration name: (_) @name)] @definition.class

(method_definition
  name: (property_identifier) @name
  (#eq? @name "constructor")) @definition.constructor

(method_definition
  name: [(property_identifier) (private_property_identifier) (computed_property_name) (string)] @name) @definition.method


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

; TypeScript declarations
(interface_declaration name: (type_identifier) @name) @definition.interface
(type_alias_declaration name: (type_identifier) @name) @definition.type
(enum_declaration name: (identifier) @name) @definition.enum
(enum_body [(property_identifier) @name (enum_assignment name: (property_identifier) @name)] @definition.enum_member)
(internal_module name: (_) @name) @definition.namespace
(module name: (_) @name) @definition.module
(function_signature name: (identifier) @name) @definition.function
(method_signature name: (_) @name) @definition.method
(abstract_method_signature name: (_) @name) @definition.method
(interface_body (property_signature name: (_) @name) @definition.property)
(public_field_definition name: (_) @name) @definition.field
