; Haskell. A function is its equations; the first equation is the symbol (its doc is the haddock
; above the type signature), later equations of the same name are not repeated. Haddock comments
; are not `comment` nodes, so docs are captured explicitly.

(header module: (module) @name) @definition.module

;; Functions and pattern bindings, in module declarations, `where`/`let` blocks and instances.
; `-- | doc` + `f :: T` + first equation of `f`
(declarations
  (haddock) @doc
  .
  (signature name: (variable) @_sig)
  .
  [(function name: (variable) @name) (bind name: (variable) @name)] @definition.function
  (#eq? @_sig @name))
(declarations
  (signature name: (variable) @_sig)
  .
  [(function name: (variable) @name) (bind name: (variable) @name)] @definition.function
  (#eq? @_sig @name))
(local_binds
  (signature name: (variable) @_sig)
  .
  [(function name: (variable) @name) (bind name: (variable) @name)] @definition.function
  (#eq? @_sig @name))
; `-- | doc` + equation without a signature
(declarations
  (haddock) @doc
  .
  [(function name: (variable) @name) (bind name: (variable) @name)] @definition.function)
; Any other equation that starts a group: the first in its block, or after a declaration of another name.
(declarations . [(function name: (variable) @name) (bind name: (variable) @name)] @definition.function)
(declarations
  (_ name: (_) @_prev)
  .
  [(function name: (variable) @name) (bind name: (variable) @name)] @definition.function
  (#not-eq? @_prev @name))
(declarations [(comment) (pragma) (fixity)] . [(function name: (variable) @name) (bind name: (variable) @name)] @definition.function)
(local_binds . [(function name: (variable) @name) (bind name: (variable) @name)] @definition.function)
(local_binds
  (_ name: (_) @_prev)
  .
  [(function name: (variable) @name) (bind name: (variable) @name)] @definition.function
  (#not-eq? @_prev @name))
(local_binds [(comment) (pragma) (fixity)] . [(function name: (variable) @name) (bind name: (variable) @name)] @definition.function)
(instance_declarations . [(function name: (variable) @name) (bind name: (variable) @name)] @definition.function)
(instance_declarations
  (_ name: (_) @_prev)
  .
  [(function name: (variable) @name) (bind name: (variable) @name)] @definition.function
  (#not-eq? @_prev @name))
(instance_declarations [(comment) (pragma) (fixity)] . [(function name: (variable) @name) (bind name: (variable) @name)] @definition.function)

;; Types
(declarations
  (haddock) @doc
  .
  [(data_type name: (name) @name) (newtype name: (name) @name)] @definition.struct)
[(data_type name: (name) @name) (newtype name: (name) @name)] @definition.struct
(data_constructor constructor: [(prefix name: (constructor) @name) (record name: (constructor) @name) (infix operator: (_) @name)]) @definition.constructor
(newtype_constructor name: (constructor) @name) @definition.constructor

(declarations
  (haddock) @doc
  .
  (type_synonym name: (name) @name) @definition.type)
(type_synonym name: (name) @name) @definition.type

; Type classes and their method signatures
(declarations
  (haddock) @doc
  .
  (class name: (name) @name) @definition.interface)
(class name: (name) @name) @definition.interface
(class_declarations
  (haddock) @doc
  .
  (signature name: (variable) @name) @definition.function)
(class_declarations
  (signature name: (variable) @name) @definition.function)

; `instance C T where` -> "impl C for T"; its equations are qualified by `T`.
(instance
  name: (name) @trait
  patterns: (type_patterns . (_) @name)) @definition.impl

; References: function application (the innermost `apply` holds the function), qualified names too.
(apply function: [(variable) (qualified) (constructor)] @name) @reference.call
(import module: (module) @name) @reference.import
