; OCaml implementation files (.ml). Only top-level and module-level definitions are symbols:
; `let ... in` bindings inside expressions are not.

;; let-bindings. The `value_definition` is the symbol (so the comment above `let` is its doc);
;; `let f x = ...` / `let f = fun ...` are functions, others values.
(compilation_unit
  (value_definition
    .
    (let_binding pattern: (value_name) @name (parameter))) @definition.function)
(compilation_unit
  (value_definition
    .
    (let_binding pattern: (value_name) @name body: [(fun_expression) (function_expression)])) @definition.function)
(compilation_unit
  (value_definition
    .
    (let_binding pattern: (value_name) @name)) @definition.variable)
; `let f = ... and g = ...`: later bindings
(compilation_unit
  (value_definition
    "and"
    .
    (let_binding pattern: (value_name) @name) @definition.function))

(structure
  (value_definition
    .
    (let_binding pattern: (value_name) @name (parameter))) @definition.function)
(structure
  (value_definition
    .
    (let_binding pattern: (value_name) @name body: [(fun_expression) (function_expression)])) @definition.function)
(structure
  (value_definition
    .
    (let_binding pattern: (value_name) @name)) @definition.variable)
; `let f = ... and g = ...`: later bindings
(structure
  (value_definition
    "and"
    .
    (let_binding pattern: (value_name) @name) @definition.function))

(external (value_name) @name) @definition.function

;; Modules
(module_definition (module_binding (module_name) @name)) @definition.module
(module_type_definition (module_type_name) @name) @definition.interface
(signature (value_specification (value_name) @name type: (function_type)) @definition.function)
(signature (value_specification (value_name) @name) @definition.variable)

;; Types: records are structs, variants enums, the rest type aliases.
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
(method_definition (method_name) @name) @definition.method
(method_specification (method_name) @name) @definition.method
(instance_variable_definition (instance_variable_name) @name) @definition.field

;; References
(application_expression function: (value_path) @name) @reference.call
(method_invocation method: (method_name) @name) @reference.call
(open_module module: (_) @name) @reference.import
(include_module module: (_) @name) @reference.import
