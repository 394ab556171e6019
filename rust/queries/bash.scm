; Bash / POSIX shell.

; `f() { ...; }` and `function f { ...; }`
(function_definition
  name: (word) @name) @definition.function

; Top-level read-only values: `readonly X=...`, `declare -r X=...`
(program
  (declaration_command
    "readonly"
    (variable_assignment name: (variable_name) @name)) @definition.constant)
(program
  (declaration_command
    (word) @_flag
    (variable_assignment name: (variable_name) @name)
    (#match? @_flag "^-[a-zA-Z]*r")) @definition.constant)

; Other top-level assignments: `X=1`, `export X=1`, `declare -a X=(...)`. The declaration is the
; definition so that a comment above `export X=...` is its doc; only its first name is taken.
(program
  (declaration_command
    (variable_assignment name: (variable_name) @name)) @definition.variable)
(program
  (variable_assignment name: (variable_name) @name) @definition.variable)

; References: `source file` / `. file`
(command
  name: (command_name) @_cmd
  .
  argument: (_) @name
  (#any-of? @_cmd "source" ".")) @reference.import

; Commands run, except imports and the most common builtins (they say nothing about structure).
(command
  name: (command_name) @name
  (#not-any-of? @name "source" "." "echo" "printf" "set" "shift" "return" "exit" "cd" "true" "false"
    "read" "test" "[" "eval" "exec" "unset" "local" "export" "declare" "readonly" ":")) @reference.call
