; Julia. Docstrings are string literals right before a definition, captured as @doc.
; `split: true` turns `Base.show` into container `Base` + name `show`.

;; Functions: `function f(...) ... end`, with `where` clauses or return types.
(_
  (string_literal) @doc
  .
  (function_definition
    (signature
      [(call_expression . [(identifier) (field_expression)] @name)
       (typed_expression . (call_expression . [(identifier) (field_expression)] @name))
       (where_expression . [(call_expression . [(identifier) (field_expression)] @name)
                            (typed_expression . (call_expression . [(identifier) (field_expression)] @name))])])) @definition.function)
(function_definition
  (signature
    [(call_expression . [(identifier) (field_expression)] @name)
     (typed_expression . (call_expression . [(identifier) (field_expression)] @name))
     (where_expression . [(call_expression . [(identifier) (field_expression)] @name)
                          (typed_expression . (call_expression . [(identifier) (field_expression)] @name))])])) @definition.function

;; Short form `f(x) = ...`; an operator name (`+(a, b) = ...`) defines an operator method.
(_
  (string_literal) @doc
  .
  (assignment
    .
    [(call_expression . [(identifier) (field_expression)] @name)
     (where_expression . (call_expression . [(identifier) (field_expression)] @name))]
    (operator) @_eq
    (#eq? @_eq "=")) @definition.function)
(assignment
  .
  (call_expression . (operator) @name)
  (operator) @_eq
  (#eq? @_eq "=")) @definition.operator
(assignment
  .
  [(call_expression . [(identifier) (field_expression)] @name)
   (where_expression . (call_expression . [(identifier) (field_expression)] @name))]
  (operator) @_eq
  (#eq? @_eq "=")) @definition.function

;; Macros
(_
  (string_literal) @doc
  .
  (macro_definition (signature (call_expression . (identifier) @name))) @definition.function)
(macro_definition (signature (call_expression . (identifier) @name))) @definition.function

;; Modules
(_
  (string_literal) @doc
  .
  (module_definition name: (identifier) @name) @definition.module)
(module_definition name: (identifier) @name) @definition.module

;; Types: `struct P`, `mutable struct C <: Shape`, `struct V{T}`; abstract types are interfaces.
(_
  (string_literal) @doc
  .
  (struct_definition
    (type_head
      [(identifier) @name
       (parametrized_type_expression . (identifier) @name)
       (binary_expression . [(identifier) @name (parametrized_type_expression . (identifier) @name)])])) @definition.struct)
(struct_definition
  (type_head
    [(identifier) @name
     (parametrized_type_expression . (identifier) @name)
     (binary_expression . [(identifier) @name (parametrized_type_expression . (identifier) @name)])])) @definition.struct
(struct_definition (typed_expression . (identifier) @name) @definition.field)
(struct_definition (identifier) @name @definition.field)
(abstract_definition
  (type_head
    [(identifier) @name
     (parametrized_type_expression . (identifier) @name)
     (binary_expression . [(identifier) @name (parametrized_type_expression . (identifier) @name)])])) @definition.interface

;; Constants and module-level globals
(_
  (string_literal) @doc
  .
  (const_statement (assignment . (identifier) @name)) @definition.constant)
(const_statement (assignment . (identifier) @name)) @definition.constant
(module_definition (assignment . (identifier) @name) @definition.variable)
(source_file (assignment . (identifier) @name) @definition.variable)

; References. A call node is also what a definition head looks like (`f(x) = ...`,
; `function f(x)`), so calls are matched only where an expression is evaluated.
; `_` here is a call or a broadcast call (`f.(x)`): the only nodes whose first named child is
; followed by an argument list. A wildcard keeps the query quick to compile (a `call_expression`
; child under each of these parents is slow to analyze).
(adjoint_expression (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(argument_list (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(arrow_function_expression (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(binary_expression (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(broadcast_call_expression (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(catch_clause (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(compound_assignment_expression (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(compound_statement (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(comprehension_expression (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(curly_expression (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(do_clause (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(else_clause (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(elseif_clause (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(field_expression (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(finally_clause (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(for_binding (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(for_statement (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(function_definition (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(global_statement (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(if_clause (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(if_statement (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(index_expression (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(juxtaposition_expression (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(let_binding (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(let_statement (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(local_statement (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(macro_argument_list (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(macro_definition (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(macrocall_expression (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(matrix_row (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(module_definition (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(named_argument (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(named_field (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(open_tuple (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(parenthesized_expression (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(quote_statement (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(range_expression (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(return_statement (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(source_file (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(splat_expression (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(string_interpolation (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(struct_definition (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(ternary_expression (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(try_statement (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(tuple_expression (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(unary_expression (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(vector_expression (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(while_statement (_ . [(identifier) (field_expression)] @name . (argument_list)) @reference.call)
(assignment (operator) . (call_expression . [(identifier) (field_expression)] @name) @reference.call)
; Broadcast calls under the other parents (under the ones above they are matched by `_`).
(assignment (broadcast_call_expression . [(identifier) (field_expression)] @name) @reference.call)
(call_expression (broadcast_call_expression . [(identifier) (field_expression)] @name) @reference.call)
(parametrized_type_expression (broadcast_call_expression . [(identifier) (field_expression)] @name) @reference.call)
(type_head (broadcast_call_expression . [(identifier) (field_expression)] @name) @reference.call)
(typed_expression (broadcast_call_expression . [(identifier) (field_expression)] @name) @reference.call)
(unary_typed_expression (broadcast_call_expression . [(identifier) (field_expression)] @name) @reference.call)
(where_expression (broadcast_call_expression . [(identifier) (field_expression)] @name) @reference.call)
(ERROR (broadcast_call_expression . [(identifier) (field_expression)] @name) @reference.call)
(macrocall_expression (macro_identifier) @name) @reference.call

(import_statement [(identifier) (import_path) (scoped_identifier)] @name) @reference.import
(using_statement [(identifier) (import_path) (scoped_identifier)] @name) @reference.import
(selected_import . [(identifier) (import_path) (scoped_identifier)] @name) @reference.import
