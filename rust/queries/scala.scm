; Scala 2 and 3.

(class_definition name: (identifier) @name) @definition.class
(trait_definition name: (identifier) @name) @definition.interface
(object_definition name: (identifier) @name) @definition.object
(enum_definition name: (identifier) @name) @definition.enum
(simple_enum_case name: (identifier) @name) @definition.enum_member
(full_enum_case name: (identifier) @name) @definition.enum_member

; Auxiliary constructors `def this(...)`.
(function_definition
  name: (identifier) @name
  (#eq? @name "this")) @definition.constructor

; Extension methods (Scala 3) are qualified by the extended type.
(extension_definition
  parameters: (parameters . (parameter type: (_) @container))
  body: [
    (function_definition name: (identifier) @name) @definition.function
    (template_body (function_definition name: (identifier) @name) @definition.function)
  ])

(function_definition name: (identifier) @name) @definition.function
(function_declaration name: (identifier) @name) @definition.function

; Members of classes/objects/traits and top-level definitions; local vals are left out.
(template_body
  [(val_definition pattern: (identifier) @name)
   (val_declaration name: (identifier) @name)
   (var_definition pattern: (identifier) @name)
   (var_declaration name: (identifier) @name)] @definition.property)
(compilation_unit
  [(val_definition pattern: (identifier) @name)
   (var_definition pattern: (identifier) @name)] @definition.variable)
(class_parameter ["val" "var"] name: (identifier) @name) @definition.property

(type_definition name: (type_identifier) @name) @definition.type
(given_definition name: (identifier) @name) @definition.variable

; References
(call_expression function: [(identifier) (field_expression) (generic_function)] @name) @reference.call
(instance_expression . (type_identifier) @name) @reference.call

; Import paths are separate nodes; the imported name (last segment, or each selector) is the target.
(import_declaration (identifier) @name .) @reference.import
(import_declaration (identifier) @name . (namespace_wildcard)) @reference.import
(import_declaration (namespace_selectors [(identifier) @name (arrow_renamed_identifier name: (identifier) @name)])) @reference.import
