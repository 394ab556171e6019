; Swift. `class_declaration` covers class/struct/enum/actor/extension, told apart by `declaration_kind`.

(class_declaration
  declaration_kind: "class"
  name: (type_identifier) @name) @definition.class
(class_declaration
  declaration_kind: "actor"
  name: (type_identifier) @name) @definition.class
(class_declaration
  declaration_kind: "struct"
  name: (type_identifier) @name) @definition.struct
(class_declaration
  declaration_kind: "enum"
  name: (type_identifier) @name) @definition.enum

; `extension T: P { }` -> "impl P for T"; `extension T { }` -> "impl T". Members are qualified by `T`.
(class_declaration
  declaration_kind: "extension"
  name: (_) @name
  .
  (inheritance_specifier inherits_from: (_) @trait)) @definition.impl
(class_declaration
  declaration_kind: "extension"
  name: (_) @name) @definition.impl

(protocol_declaration name: (type_identifier) @name) @definition.interface
(protocol_function_declaration name: (simple_identifier) @name) @definition.method
(protocol_property_declaration name: (pattern bound_identifier: (simple_identifier) @name)) @definition.property
(associatedtype_declaration name: (type_identifier) @name) @definition.type

; `_` is function_declaration: the only node with a `simple_identifier` name and a `body` (the
; wildcard keeps the query quick to compile; `function_declaration` itself is slow to analyze).
(_ name: (simple_identifier) @name body: (function_body)) @definition.function
(init_declaration name: "init" @name) @definition.constructor
(deinit_declaration "deinit" @name) @definition.method
(subscript_declaration "subscript" @name) @definition.method

(enum_entry name: (simple_identifier) @name) @definition.enum_member

; Stored and computed properties of types; top-level `let` is a constant, `var` a variable.
(class_body
  (property_declaration
    name: (pattern bound_identifier: (simple_identifier) @name)) @definition.property)
(source_file
  (property_declaration
    (value_binding_pattern "let")
    name: (pattern bound_identifier: (simple_identifier) @name)) @definition.constant)
(source_file
  (property_declaration
    name: (pattern bound_identifier: (simple_identifier) @name)) @definition.variable)

(typealias_declaration name: (type_identifier) @name) @definition.type

; References
; `f(x)`, `obj.m(x)`, `f { ... }`; subscripts `a[i]` parse as calls too and are left out.
(call_expression
  . [(simple_identifier) (navigation_expression)] @name
  . (call_suffix) @_suffix
  (#not-match? @_suffix "^\\[")) @reference.call
(import_declaration (identifier) @name) @reference.import
