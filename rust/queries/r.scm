; R. Functions are values: a definition is an assignment of a `function` to a name.

; Classes: `Name <- R6Class(...)` / `setRefClass(...)`, possibly namespaced (`R6::R6Class`).
(binary_operator
  lhs: (identifier) @name
  operator: ["<-" "=" "<<-"]
  rhs: (call
    function: [(identifier) (namespace_operator rhs: (identifier))] @_ctor)
  (#match? @_ctor "(^|:)(R6Class|setRefClass)$")) @definition.class

; `setClass("Name", ...)` (S4)
(call
  function: (identifier) @_f
  arguments: (arguments . (argument value: (string (string_content) @name)))
  (#eq? @_f "setClass")) @definition.class

; `"%op%" <- function(a, b)` defines an infix operator.
(binary_operator
  lhs: (string (string_content) @name)
  operator: ["<-" "=" "<<-"]
  rhs: (function_definition)) @definition.operator

; `f <- function(...)`, `f = function(...)`, `f <<- function(...)`
(binary_operator
  lhs: (identifier) @name
  operator: ["<-" "=" "<<-"]
  rhs: (function_definition)) @definition.function

; Functions in a `list(...)` (R6 `public = list(...)`, function tables): `name = function(...)`
(call
  function: (identifier) @_list
  arguments: (arguments
    (argument
      name: (identifier) @name
      value: (function_definition)) @definition.function)
  (#eq? @_list "list"))

; Top-level values: `DEFAULT_LEVEL <- 0.95`
(program
  (binary_operator
    lhs: (identifier) @name
    operator: ["<-" "=" "<<-"]) @definition.variable)

; References
(call
  function: (identifier) @_f
  arguments: (arguments . (argument value: [(identifier) (string)] @name))
  (#any-of? @_f "library" "require" "requireNamespace" "loadNamespace" "source")) @reference.import

(call
  function: (_) @name
  (#not-any-of? @name "library" "require" "requireNamespace" "loadNamespace" "source")) @reference.call
