(struct_item name: (type_identifier) @name) @definition.struct
(enum_item name: (type_identifier) @name) @definition.enum
(enum_variant name: (identifier) @name) @definition.enum_member
(union_item name: (type_identifier) @name) @definition.struct
(type_item name: (type_identifier) @name) @definition.type
(trait_item name: (type_identifier) @name) @definition.interface
(mod_item name: (identifier) @name) @definition.module
(macro_definition name: (identifier) @name) @definition.function
(function_item name: (identifier) @name) @definition.function
(function_signature_item name: (identifier) @name) @definition.function
(const_item name: (identifier) @name) @definition.constant
(static_item name: (identifier) @name) @definition.variable
(field_declaration_list (field_declaration name: (field_identifier) @name) @definition.field)

(impl_item
  trait: (_)? @trait
  type: (_) @name) @definition.impl

(call_expression function: (_) @name) @reference.call
(macro_invocation macro: (_) @name) @reference.call
(use_declaration argument: (_) @name) @reference.import
