; Solidity. Contracts are classes (functions and modifiers in them become methods), interfaces
; interfaces, libraries modules (their functions stay functions). Custom errors are events: both
; are ABI entries raised at run time (`revert E(...)` / `emit E(...)`).

(contract_declaration name: (identifier) @name) @definition.class
(interface_declaration name: (identifier) @name) @definition.interface
(library_declaration name: (identifier) @name) @definition.module

(function_definition name: (identifier) @name) @definition.function
(modifier_definition name: (identifier) @name) @definition.function
(constructor_definition "constructor" @name) @definition.constructor
(fallback_receive_definition ["receive" "fallback"] @name) @definition.method

(event_definition name: (identifier) @name) @definition.event
(error_declaration name: (identifier) @name) @definition.event

(struct_declaration name: (identifier) @name) @definition.struct
(struct_member name: (identifier) @name) @definition.field
(enum_declaration name: (identifier) @name) @definition.enum
(enum_value) @name @definition.enum_member
(user_defined_type_definition name: (identifier) @name) @definition.type

(state_variable_declaration "constant" name: (identifier) @name) @definition.constant
(state_variable_declaration name: (identifier) @name) @definition.field
(constant_variable_declaration name: (identifier) @name) @definition.constant

; References: calls, `emit Event(...)`, `revert Error(...)`, modifier uses, imports.
(call_expression function: (_) @name) @reference.call
(emit_statement name: (_) @name) @reference.call
(revert_statement error: (_) @name) @reference.call
(modifier_invocation (identifier) @name) @reference.call

(import_directive source: (string) @name) @reference.import
(import_directive import_name: (identifier) @name) @reference.import
