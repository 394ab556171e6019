; Zig. Containers are `const Name = struct/enum/union/opaque {...}`; a function that returns
; `type` by returning a struct literal (`fn ArrayList(comptime T: type) type`) is a generic struct,
; so its members become fields and methods.

(function_declaration
  name: (identifier) @name
  type: (builtin_type) @_ret
  body: (block (expression_statement (return_expression (struct_declaration))))
  (#eq? @_ret "type")) @definition.struct

(function_declaration
  name: (identifier) @name) @definition.function

; `test "name" { ... }` and `test decl_name { ... }`
(test_declaration (string (string_content) @name)) @definition.function
(test_declaration (identifier) @name) @definition.function

; Named containers, wherever they are declared.
(variable_declaration (identifier) @name (struct_declaration)) @definition.struct
(variable_declaration (identifier) @name (union_declaration)) @definition.struct
(variable_declaration (identifier) @name (opaque_declaration)) @definition.struct
(variable_declaration (identifier) @name (enum_declaration)) @definition.enum
(variable_declaration (identifier) @name (error_set_declaration)) @definition.enum

(struct_declaration (container_field name: (identifier) @name) @definition.field)
(union_declaration (container_field name: (identifier) @name) @definition.field)
(enum_declaration (container_field name: (identifier) @name) @definition.enum_member)
(error_set_declaration (identifier) @name @definition.enum_member)

; Other `const`/`var` declarations at file or container level (not locals: inside blocks the
; grammar also parses plain assignments as variable_declaration).
(source_file (variable_declaration "const" (identifier) @name) @definition.constant)
(source_file (variable_declaration "var" (identifier) @name) @definition.variable)
(struct_declaration (variable_declaration "const" (identifier) @name) @definition.constant)
(struct_declaration (variable_declaration "var" (identifier) @name) @definition.variable)
(enum_declaration (variable_declaration "const" (identifier) @name) @definition.constant)
(union_declaration (variable_declaration "const" (identifier) @name) @definition.constant)

; References
(call_expression function: (_) @name) @reference.call

(builtin_function
  (builtin_identifier) @_builtin
  (arguments (string (string_content) @name))
  (#eq? @_builtin "@import")) @reference.import
