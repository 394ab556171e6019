; OCaml interface files (.mli): the specifications a module exports.

;; Values: `val f : a -> b` is a function, `val x : t` a value.
(value_specification (value_name) @name type: (function_type)) @definition.function
(value_specification (value_name) @name) @definition.variable
(external (value_name) @name) @definition.function

;; Modules
(module_definition (module_binding (module_name) @name)) @definition.module
(module_type_definition (module_type_name) @name) @definition.interface

;; Types: records are structs, variants enums, the rest type aliases or abstract types.
(type_definition
  (type_binding name: (type_constructor) @name body: (record_declaration))) @definition.struct
(type_definition
  (type_binding name: (type_constructor) @name body: (variant_declaration))) @definition.enum
(type_definition
  (type_binding name: (type_constructor) @name)) @definition.type
(record_declaration (field_declaration (field_name) @name) @definition.field)
(variant_declaration (constructor_declaration (constructor_name) @name) @definition.enum_member)
(exception_definition (constructor_declaration (constructor_name) @name)) @definition.class

;; Classes
(class_definition (class_binding (class_name) @name)) @definition.class
(class_type_definition (class_type_binding (class_type_name) @name)) @definition.interface
(method_specification (method_name) @name) @definition.method
(instance_variable_specification (instance_variable_name) @name) @definition.field

;; References
(open_module_signature module: (_) @name) @reference.import
(include_module_type module_type: (_) @name) @reference.import
