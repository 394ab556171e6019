; Objective-C: @interface/@implementation (class, categories included), @protocol (interface),
; method declarations and definitions, properties, instance variables, plus the C layer
; (functions, structs, enums, typedefs, file-level variables).
; A method is named by the first keyword of its selector (`setObject:forKey:` -> `setObject`).

(class_interface "@interface" . (identifier) @name) @definition.class
(class_implementation "@implementation" . (identifier) @name) @definition.class
(protocol_declaration "@protocol" . (identifier) @name) @definition.interface

; Methods in @implementation: the definition is the wrapper node so that the comments above it
; are its doc.
; (`_` is method_definition: the only child kind here with a `method_type` or a `+`/`-` token;
; wildcards keep the query quick to compile.)
(implementation_definition
  (_ (method_type) . (identifier) @name)) @definition.method
(implementation_definition
  (_ ["+" "-"] . (identifier) @name)) @definition.method
(method_declaration (method_type) . (identifier) @name) @definition.method
(method_declaration . (identifier) @name) @definition.method

(property_declaration
  (struct_declaration
    (struct_declarator [
      (identifier) @name
      (pointer_declarator declarator: (identifier) @name)
      (block_pointer_declarator declarator: (identifier) @name)]))) @definition.property

(instance_variable
  (struct_declaration
    (struct_declarator [
      (identifier) @name
      (pointer_declarator declarator: (identifier) @name)]))) @definition.field

; C functions
(function_definition
  declarator: (function_declarator declarator: (identifier) @name)) @definition.function
(function_definition
  declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))) @definition.function
; At file level, `_` with a `declarator` and no `body` is a declaration (or a typedef, whose
; declarators are type identifiers and do not match); wildcards keep the query quick to compile.
(translation_unit
  (_ declarator: (function_declarator declarator: (identifier) @name) !body) @definition.function)
(translation_unit
  (_ declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name)) !body) @definition.function)

; C types: `typedef enum X {...} X;` is one enum (named by the typedef), not an enum inside a type.
(type_definition type: (enum_specifier body: (_)) declarator: (type_identifier) @name) @definition.enum
(type_definition type: (struct_specifier body: (_)) declarator: (type_identifier) @name) @definition.struct
(type_definition declarator: (type_identifier) @name) @definition.type
(translation_unit (enum_specifier name: (type_identifier) @name body: (_)) @definition.enum)
(translation_unit (struct_specifier name: (type_identifier) @name body: (_)) @definition.struct)
(enumerator name: (identifier) @name) @definition.enum_member
(field_declaration_list
  (field_declaration declarator: [(field_identifier) @name (pointer_declarator declarator: (field_identifier) @name)]) @definition.field)

; File-level variables (the first declarator of a declaration).
(translation_unit
  (_ (type_qualifier) @_q !body
    declarator: [(identifier) @name (init_declarator declarator: [(identifier) @name (pointer_declarator declarator: (identifier) @name)])]
    (#eq? @_q "const")) @definition.constant)
(translation_unit
  (_ !body
    declarator: [(identifier) @name (init_declarator declarator: [(identifier) @name (pointer_declarator declarator: (identifier) @name)])]) @definition.variable)

(preproc_def name: (identifier) @name) @definition.constant
(preproc_function_def name: (identifier) @name) @definition.function

; References: C calls, message sends (named by the first selector keyword), #import/#include, @import.
(call_expression function: (_) @name) @reference.call
(message_expression receiver: (_) . method: (identifier) @name) @reference.call
(preproc_include path: (_) @name) @reference.import
(module_import . path: (identifier) @name) @reference.import
