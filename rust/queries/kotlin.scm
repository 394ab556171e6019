; Kotlin (tree-sitter-kotlin-ng). Declarations have no `body` field, so `@body` marks where the
; signature ends.

(class_declaration
  "interface"
  name: (identifier) @name
  (class_body)? @body) @definition.interface

(class_declaration
  (modifiers (class_modifier) @_enum)
  name: (identifier) @name
  (enum_class_body)? @body
  (#eq? @_enum "enum")) @definition.enum

(class_declaration
  name: (identifier) @name
  [(class_body) (enum_class_body)]? @body) @definition.class

(object_declaration
  name: (identifier) @name
  (class_body)? @body) @definition.object

; `companion object Named { }`; an unnamed companion adds its members to the class itself.
(companion_object
  name: (identifier) @name
  (class_body)? @body) @definition.object

(enum_entry . (identifier) @name) @definition.enum_member

; Extension functions `fun Type.f()` are qualified by their receiver type.
(function_declaration
  (user_type) @container
  "."
  name: (identifier) @name
  (function_body)? @body) @definition.function

(function_declaration
  name: (identifier) @name
  (function_body)? @body) @definition.function

(secondary_constructor
  "constructor" @name
  (block)? @body) @definition.constructor

; `class C(val x: Int)`: constructor parameters declared with val/var are properties.
(class_parameter
  ["val" "var"]
  (identifier) @name) @definition.property

; Properties of classes and files (not local variables); `const val` is a constant.
(source_file
  (property_declaration
    (modifiers (property_modifier) @_const)
    (variable_declaration (identifier) @name)) @definition.constant
  (#eq? @_const "const"))
(class_body
  (property_declaration
    (modifiers (property_modifier) @_const)
    (variable_declaration (identifier) @name)) @definition.constant
  (#eq? @_const "const"))
(source_file
  (property_declaration
    [(variable_declaration (identifier) @name)
     (multi_variable_declaration (variable_declaration (identifier) @name))]) @definition.property)
(class_body
  (property_declaration
    [(variable_declaration (identifier) @name)
     (multi_variable_declaration (variable_declaration (identifier) @name))]) @definition.property)

(type_alias type: (identifier) @name) @definition.type

; References
(call_expression . [(identifier) (navigation_expression)] @name) @reference.call
(constructor_invocation . (user_type) @name) @reference.call

(import . (qualified_identifier) @name) @reference.import
