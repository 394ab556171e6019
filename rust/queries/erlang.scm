; Erlang. The grammar gives every function clause its own `fun_decl`, so a function with several
; clauses yields one symbol per clause (merging them needs the engine). Functions are owned by the
; file's `-module` (qualified `kv_store.put`); the comments above a function, or above its
; `-spec`, are its doc.

(module_attribute name: (atom) @name) @definition.module

; Functions in a module: doc above the -spec, doc right above, no doc.
(source_file
  (module_attribute name: (atom) @container)
  (comment)+ @doc . (spec) . (fun_decl clause: (function_clause name: (atom) @name) @definition.function))
(source_file
  (module_attribute name: (atom) @container)
  (comment)+ @doc . (fun_decl clause: (function_clause name: (atom) @name) @definition.function))
(source_file
  (module_attribute name: (atom) @container)
  (fun_decl clause: (function_clause name: (atom) @name) @definition.function))

; Functions outside a module (.hrl, escript).
((comment)+ @doc . (spec) . (fun_decl clause: (function_clause name: (atom) @name) @definition.function))
((comment)+ @doc . (fun_decl clause: (function_clause name: (atom) @name) @definition.function))
(fun_decl clause: (function_clause name: (atom) @name) @definition.function)

(record_decl name: (atom) @name) @definition.struct
(record_decl (record_field name: (atom) @name) @definition.field)

(type_alias name: (type_name name: (atom) @name)) @definition.type
(opaque name: (type_name name: (atom) @name)) @definition.type
(callback fun: (atom) @name) @definition.method

(pp_define lhs: (macro_lhs name: (_) @name args: (var_args))) @definition.function
(pp_define lhs: (macro_lhs name: (_) @name)) @definition.constant

; References: calls (a remote call `lists:map(...)` is named and targeted by the function alone:
; a reference target is one node's text), macro calls with arguments, -import, -behaviour,
; -include(_lib). Type applications in -type/-spec/record fields (`pid()`) parse as calls too.
(call expr: [(atom) (var)] @name) @reference.call
(macro_call_expr name: (_) @name args: (macro_call_args)) @reference.call

(import_attribute module: (atom) @name) @reference.import
(behaviour_attribute name: (atom) @name) @reference.import
(pp_include file: (string) @name) @reference.import
(pp_include_lib file: (string) @name) @reference.import
