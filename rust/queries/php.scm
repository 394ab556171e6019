(namespace_definition name: (namespace_name) @name) @definition.namespace
(class_declaration name: (name) @name) @definition.class
(interface_declaration name: (name) @name) @definition.interface
(trait_declaration name: (name) @name) @definition.interface
(enum_declaration name: (name) @name) @definition.enum
(enum_case name: (name) @name) @definition.enum_member
(function_definition name: (name) @name) @definition.function
(method_declaration name: (name) @name) @definition.method
(property_declaration (property_element (variable_name (name) @name))) @definition.property
(const_declaration (const_element (name) @name)) @definition.constant

(function_call_expression function: (_) @name) @reference.call
(member_call_expression name: (_) @name) @reference.call
(scoped_call_expression name: (_) @name) @reference.call
(object_creation_expression [(name) (qualified_name)] @name) @reference.call
(namespace_use_clause [(name) (qualified_name)] @name) @reference.import
