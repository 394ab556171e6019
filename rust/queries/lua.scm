; Lua. `split: true` turns `M.f` / `Obj:m` names into container + name.

; function Obj:m() ... end  (a method on a table acting as a class)
(function_declaration
  name: (method_index_expression) @name) @definition.method

; function f() / local function f() / function M.f()
(function_declaration
  name: [(identifier) (dot_index_expression)] @name) @definition.function

; M.f = function() ... end  /  f = function() ... end
(assignment_statement
  (variable_list . name: [(identifier) (dot_index_expression)] @name)
  (expression_list . value: (function_definition))) @definition.function

; local f = function() ... end
(variable_declaration
  (assignment_statement
    (variable_list . name: (identifier) @name)
    (expression_list . value: (function_definition)))) @definition.function

; { name = function() ... end } inside a table constructor
(field
  name: (identifier) @name
  value: (function_definition)) @definition.function

; Top-level tables used as modules / classes: `local M = {}`, `Config = { ... }`
(chunk
  (variable_declaration
    (assignment_statement
      (variable_list . name: (identifier) @name)
      (expression_list . value: (table_constructor)))) @definition.module)
(chunk
  (assignment_statement
    (variable_list . name: (identifier) @name)
    (expression_list . value: (table_constructor))) @definition.module)

; Top-level constants: `M.MAX_SIZE = 10`, `local MAX_SIZE = 10`
(chunk
  (assignment_statement
    (variable_list . name: [(identifier) (dot_index_expression field: (identifier))] @name)
    (expression_list . value: [(number) (string) (true) (false)])) @definition.constant
  (#match? @name "(^|[.])[A-Z][A-Z0-9_]*$"))
(chunk
  (variable_declaration
    (assignment_statement
      (variable_list . name: (identifier) @name)
      (expression_list . value: [(number) (string) (true) (false)]))) @definition.constant
  (#match? @name "^[A-Z][A-Z0-9_]*$"))

; References
(function_call
  name: (identifier) @_req
  arguments: (arguments . (string content: (string_content) @name))
  (#eq? @_req "require")) @reference.import

(function_call
  name: (_) @name
  (#not-eq? @name "require")) @reference.call
