; Dart. Class-like declarations (class, mixin, extension, extension type, enum) hold members.
; Members are wrapped in `member_declaration`, whose preceding `///` comments are captured
; explicitly as @doc (the wrapper hides them from the automatic lookup).

(class_declaration name: (identifier) @name) @definition.class
(mixin_declaration name: (identifier) @name) @definition.class
(extension_declaration name: (identifier) @name) @definition.object
(extension_type_declaration name: (extension_type_name (identifier) @name)) @definition.class
(enum_declaration name: (identifier) @name) @definition.enum
(enum_entry name: (identifier) @name) @definition.enum_member
(type_alias . (type_identifier) @name) @definition.type

; Top-level functions, getters, setters and variables.
(function_declaration signature: (function_signature name: (identifier) @name)) @definition.function
(getter_declaration signature: (getter_signature name: (identifier) @name)) @definition.property
(setter_declaration signature: (setter_signature name: (identifier) @name)) @definition.property
(local_function_declaration (function_signature name: (identifier) @name) (function_body) @body) @definition.function
(top_level_variable_declaration "const" (static_final_declaration_list (static_final_declaration name: (identifier) @name))) @definition.constant
(top_level_variable_declaration (static_final_declaration_list (static_final_declaration name: (identifier) @name))) @definition.variable
(top_level_variable_declaration (initialized_identifier_list (initialized_identifier name: (identifier) @name))) @definition.variable

; Members: methods (with a body) and declarations (abstract members, fields, redirecting and
; const constructors). A named constructor `Item.free` is named `free` (its owner is the class).
(_ (documentation_comment)* @doc . (member_declaration
  [(method_declaration signature: (method_signature [
     (constructor_signature name: (identifier) name: (identifier) @name)
     (factory_constructor_signature name: (identifier) name: (identifier) @name)])) @definition.constructor
   (declaration [
     (constructor_signature name: (identifier) name: (identifier) @name)
     (constant_constructor_signature name: (identifier) name: (identifier) @name)
     (redirecting_factory_constructor_signature name: (identifier) name: (identifier) @name)
     (factory_constructor_signature name: (identifier) name: (identifier) @name)]) @definition.constructor]))
(_ (documentation_comment)* @doc . (member_declaration
  [(method_declaration signature: (method_signature [
     (constructor_signature name: (identifier) @name)
     (factory_constructor_signature name: (identifier) @name)])) @definition.constructor
   (declaration [
     (constructor_signature name: (identifier) @name)
     (constant_constructor_signature name: (identifier) @name)
     (redirecting_factory_constructor_signature name: (identifier) @name)
     (factory_constructor_signature name: (identifier) @name)]) @definition.constructor]))
(_ (documentation_comment)* @doc . (member_declaration
  [(method_declaration signature: (method_signature (function_signature name: (identifier) @name)))
   (declaration (function_signature name: (identifier) @name))] @definition.method))
(_ (documentation_comment)* @doc . (member_declaration
  [(method_declaration signature: (method_signature [
     (getter_signature name: (identifier) @name)
     (setter_signature name: (identifier) @name)]))
   (declaration [(getter_signature name: (identifier) @name) (setter_signature name: (identifier) @name)])] @definition.property))
(_ (documentation_comment)* @doc . (member_declaration
  [(method_declaration signature: (method_signature (operator_signature operator: (_) @name)))
   (declaration (operator_signature operator: (_) @name))] @definition.operator))
(_ (documentation_comment)* @doc . (member_declaration
  (declaration [
    (static_final_declaration_list (static_final_declaration name: (identifier) @name))
    (initialized_identifier_list (initialized_identifier name: (identifier) @name))
    (identifier_list (identifier) @name)]) @definition.field))

; References
(call_expression function: [(identifier) (member_expression)] @name) @reference.call
(call_expression function: (instantiation_expression function: (_) @name)) @reference.call
(cascade_call_expression property: (identifier) @name) @reference.call
(constructor_invocation constructor: (identifier) @name) @reference.call
; The URI without quotes: `dart:async` -> async, `package:a/b.dart` -> b.
(import_specification uri: (configurable_uri (uri (string_literal (_ . (_) @name))))) @reference.import
