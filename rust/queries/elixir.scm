; Elixir. Definitions are macro calls (`defmodule`, `def`, ...); docs are `@doc`/`@moduledoc`
; attributes (DocStyle::DocAttribute). `@spec`/`@impl` lines between `@doc` and `def` are skipped by the
; first pattern, which takes the `@doc` string itself.

; def/defp/defmacro/defmacrop/defguard/defguardp/defdelegate preceded by a `@doc "..."`
; (possibly with `@spec`, `@impl`, ... in between).
(_
  (unary_operator
    operator: "@"
    operand: (call
      target: (identifier) @_doc
      (arguments . (string) @doc)))
  .
  (unary_operator
    operator: "@"
    operand: (call target: (identifier) @_attr))*
  .
  (call
    target: (identifier) @_kw
    (arguments
      .
      [
        (call target: (identifier) @name)
        (identifier) @name
        (binary_operator
          operator: "when"
          left: [(call target: (identifier) @name) (identifier) @name])
      ])
    (do_block)? @body) @definition.function
  (#eq? @_doc "doc")
  (#not-any-of? @_attr "doc" "moduledoc")
  (#any-of? @_kw "def" "defp" "defmacro" "defmacrop" "defguard" "defguardp" "defdelegate"))

(call
  target: (identifier) @_kw
  (arguments
    .
    [
      (call target: (identifier) @name)
      (identifier) @name
      (binary_operator
        operator: "when"
        left: [(call target: (identifier) @name) (identifier) @name])
    ])
  (do_block)? @body
  (#any-of? @_kw "def" "defp" "defmacro" "defmacrop" "defguard" "defguardp" "defdelegate")) @definition.function

; defmodule Name do ... end   (docs: `@moduledoc` inside the body)
(call
  target: (identifier) @_kw
  (arguments . (alias) @name)
  (do_block
    .
    (unary_operator
      operator: "@"
      operand: (call
        target: (identifier) @_doc
        (arguments . (string) @doc))))? @body
  (#eq? @_kw "defmodule")
  (#eq? @_doc "moduledoc")) @definition.module
(call
  target: (identifier) @_kw
  (arguments . (alias) @name)
  (#eq? @_kw "defmodule")) @definition.module

; defprotocol Name do ... end
(call
  target: (identifier) @_kw
  (arguments . (alias) @name)
  (do_block)? @body
  (#eq? @_kw "defprotocol")) @definition.interface

; defimpl Protocol, for: Type do ... end  ->  "impl Protocol for Type"
(call
  target: (identifier) @_kw
  (arguments
    .
    (alias) @trait
    (keywords
      (pair
        key: (keyword) @_for
        value: (alias) @name)))
  (do_block)? @body
  (#eq? @_kw "defimpl")
  (#match? @_for "^for")) @definition.impl
(call
  target: (identifier) @_kw
  (arguments . (alias) @name)
  (do_block)? @body
  (#eq? @_kw "defimpl")) @definition.impl

; @type t :: ..., @typep, @opaque
(unary_operator
  operator: "@"
  operand: (call
    target: (identifier) @_kw
    (arguments
      (binary_operator
        operator: "::"
        left: [(identifier) @name (call target: (identifier) @name)])))
  (#any-of? @_kw "type" "typep" "opaque")) @definition.type

; Module attributes used as constants: `@default_currency "EUR"`
(do_block
  (unary_operator
    operator: "@"
    operand: (call
      target: (identifier) @name
      (arguments . [(string) (integer) (float) (atom) (boolean) (list) (map) (charlist) (sigil)]))) @definition.constant
  (#not-any-of? @name "doc" "moduledoc" "typedoc" "spec" "type" "typep" "opaque" "callback" "macrocallback"
    "impl" "behaviour" "derive" "enforce_keys" "deprecated" "since" "dialyzer" "compile" "on_load"
    "external_resource" "before_compile" "after_compile" "optional_callbacks" "vsn"))

; References: alias/import/require/use
(call
  target: (identifier) @_kw
  (arguments . [(alias) (atom)] @name)
  (#any-of? @_kw "alias" "import" "require" "use")) @reference.import
; alias Foo.{Bar, Baz}: each alias in the braces (without its prefix)
(call
  target: (identifier) @_kw
  (arguments . (dot right: (tuple (alias) @name)))
  (#any-of? @_kw "alias" "import" "require" "use")) @reference.import

; Calls: remote calls `Mod.fun(...)` / `Mod.fun arg`, and local calls written with parentheses
; (a local call without parentheses looks exactly like a module attribute or macro keyword).
(call
  target: (dot right: (identifier)) @name) @reference.call
(call
  target: (identifier) @name
  (arguments) @_args
  (#match? @_args "^\\(")
  (#not-any-of? @name "def" "defp" "defmacro" "defmacrop" "defguard" "defguardp" "defdelegate" "defmodule"
    "defprotocol" "defimpl" "defstruct" "defexception" "alias" "import" "require" "use" "quote" "unquote"
    "if" "unless" "case" "cond" "with" "for" "receive" "try")) @reference.call
