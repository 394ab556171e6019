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
          left: [(call target: (identifier) @name) (identifier) @name]
          operator: "when")
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
        left: [(call target: (identifier) @name) (identifier) @name]
        operator: "when")
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

;; Calls. A call node is also what a `def` head, a module attribute and a field access look like, so a
; call is only reported where an expression is evaluated (not as the head of a `def`, nor on the left
; of `when`/`::`): remote calls `Mod.fun ...` / `expr.fun(...)`, and local calls with parentheses.
; Type expressions inside `@spec`/`@type` (`String.t()`) still count as calls.
; The call shapes use wildcards, which keep the query quick to compile (a `call` step under each
; parent is slow to analyze): only `call` and `access_call` have a `target`, only `call` has an
; `arguments` child, `access_call` always has a `key` (hence `!key`), and a target with
; `left`/`right` or a `right` is a `dot`.
([
  (do_block [
    (_ target: (identifier) @name (arguments) @_args)
    (_ !key target: (_ left: [(alias) (atom)] right: (identifier)) @name)
    (_ target: (_ right: (identifier)) @name (arguments) @_args)] @reference.call)
  (body [
    (_ target: (identifier) @name (arguments) @_args)
    (_ !key target: (_ left: [(alias) (atom)] right: (identifier)) @name)
    (_ target: (_ right: (identifier)) @name (arguments) @_args)] @reference.call)
  (else_block [
    (_ target: (identifier) @name (arguments) @_args)
    (_ !key target: (_ left: [(alias) (atom)] right: (identifier)) @name)
    (_ target: (_ right: (identifier)) @name (arguments) @_args)] @reference.call)
  (after_block [
    (_ target: (identifier) @name (arguments) @_args)
    (_ !key target: (_ left: [(alias) (atom)] right: (identifier)) @name)
    (_ target: (_ right: (identifier)) @name (arguments) @_args)] @reference.call)
  (rescue_block [
    (_ target: (identifier) @name (arguments) @_args)
    (_ !key target: (_ left: [(alias) (atom)] right: (identifier)) @name)
    (_ target: (_ right: (identifier)) @name (arguments) @_args)] @reference.call)
  (catch_block [
    (_ target: (identifier) @name (arguments) @_args)
    (_ !key target: (_ left: [(alias) (atom)] right: (identifier)) @name)
    (_ target: (_ right: (identifier)) @name (arguments) @_args)] @reference.call)
  (source [
    (_ target: (identifier) @name (arguments) @_args)
    (_ !key target: (_ left: [(alias) (atom)] right: (identifier)) @name)
    (_ target: (_ right: (identifier)) @name (arguments) @_args)] @reference.call)
  (list [
    (_ target: (identifier) @name (arguments) @_args)
    (_ !key target: (_ left: [(alias) (atom)] right: (identifier)) @name)
    (_ target: (_ right: (identifier)) @name (arguments) @_args)] @reference.call)
  (tuple [
    (_ target: (identifier) @name (arguments) @_args)
    (_ !key target: (_ left: [(alias) (atom)] right: (identifier)) @name)
    (_ target: (_ right: (identifier)) @name (arguments) @_args)] @reference.call)
  (map_content [
    (_ target: (identifier) @name (arguments) @_args)
    (_ !key target: (_ left: [(alias) (atom)] right: (identifier)) @name)
    (_ target: (_ right: (identifier)) @name (arguments) @_args)] @reference.call)
  (block [
    (_ target: (identifier) @name (arguments) @_args)
    (_ !key target: (_ left: [(alias) (atom)] right: (identifier)) @name)
    (_ target: (_ right: (identifier)) @name (arguments) @_args)] @reference.call)
  (interpolation [
    (_ target: (identifier) @name (arguments) @_args)
    (_ !key target: (_ left: [(alias) (atom)] right: (identifier)) @name)
    (_ target: (_ right: (identifier)) @name (arguments) @_args)] @reference.call)
  (unary_operator [
    (_ target: (identifier) @name (arguments) @_args)
    (_ !key target: (_ left: [(alias) (atom)] right: (identifier)) @name)
    (_ target: (_ right: (identifier)) @name (arguments) @_args)] @reference.call)
  (access_call [
    (_ target: (identifier) @name (arguments) @_args)
    (_ !key target: (_ left: [(alias) (atom)] right: (identifier)) @name)
    (_ target: (_ right: (identifier)) @name (arguments) @_args)] @reference.call)
  (pair value: [
    (_ target: (identifier) @name (arguments) @_args)
    (_ !key target: (_ left: [(alias) (atom)] right: (identifier)) @name)
    (_ target: (_ right: (identifier)) @name (arguments) @_args)] @reference.call)
  (dot left: [
    (_ target: (identifier) @name (arguments) @_args)
    (_ !key target: (_ left: [(alias) (atom)] right: (identifier)) @name)
    (_ target: (_ right: (identifier)) @name (arguments) @_args)] @reference.call)
  (call
    target: (_) @_outer
    (arguments [
    (_ target: (identifier) @name (arguments) @_args)
    (_ !key target: (_ left: [(alias) (atom)] right: (identifier)) @name)
    (_ target: (_ right: (identifier)) @name (arguments) @_args)] @reference.call))
  (binary_operator
    operator: _ @_op
    right: [
    (_ target: (identifier) @name (arguments) @_args)
    (_ !key target: (_ left: [(alias) (atom)] right: (identifier)) @name)
    (_ target: (_ right: (identifier)) @name (arguments) @_args)] @reference.call)
  (binary_operator
    left: [
    (_ target: (identifier) @name (arguments) @_args)
    (_ !key target: (_ left: [(alias) (atom)] right: (identifier)) @name)
    (_ target: (_ right: (identifier)) @name (arguments) @_args)] @reference.call
    operator: _ @_op)
]
  (#match? @_args "^[(]")
  (#not-any-of? @_outer "def" "defp" "defmacro" "defmacrop" "defguard" "defguardp" "defdelegate")
  (#not-any-of? @_op "when" "::")
  (#not-any-of? @name "def" "defp" "defmacro" "defmacrop" "defguard" "defguardp" "defdelegate" "defmodule"
    "defprotocol" "defimpl" "defstruct" "defexception" "alias" "import" "require" "use" "quote" "unquote"
    "if" "unless" "case" "cond" "with" "for" "receive" "try" "fn"))
