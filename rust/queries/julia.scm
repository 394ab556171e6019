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
(adjoint_expression (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(argument_list (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(arrow_function_expression (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(binary_expression (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(broadcast_call_expression (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(catch_clause (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(compound_assignment_expression (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(compound_statement (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(comprehension_expression (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(curly_expression (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(do_clause (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(else_clause (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(elseif_clause (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(field_expression (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(finally_clause (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(for_binding (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(for_statement (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(function_definition (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(global_statement (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(if_clause (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(if_statement (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(index_expression (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(juxtaposition_expression (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(let_binding (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(let_statement (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(local_statement (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(macro_argument_list (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(macro_definition (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(macrocall_expression (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(matrix_row (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(module_definition (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(named_argument (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(named_field (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(open_tuple (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(parenthesized_expression (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(quote_statement (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(range_expression (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(return_statement (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(source_file (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(splat_expression (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(string_interpolation (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(struct_definition (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(ternary_expression (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(try_statement (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(tuple_expression (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(unary_expression (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(vector_expression (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(while_statement (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(assignment (operator) . (call_expression . [(identifier) (field_expression)] @name) @reference.call)
(broadcast_call_expression . [(identifier) (field_expression)] @name) @reference.call
(macrocall_expression (macro_identifier) @name) @reference.call

(import_statement [(identifier) (import_path) (scoped_identifier)] @name) @reference.import
(using_statement [(identifier) (import_path) (scoped_identifier)] @name) @reference.import
(selected_import . [(identifier) (import_path) (scoped_identifier)] @name) @reference.import
