; CSS. A rule set is a class named by its selector list as written; @media / @supports (and other
; block at-rules) are namespaces holding their rules; @keyframes are functions (animations use
; them by name). Custom properties (`--gap: 1rem`) are variables and `var(--gap)` refers to them.

(rule_set (selectors) @name (block) @body) @definition.class

(media_statement "@media" . (_) @name (block) @body) @definition.namespace
(supports_statement "@supports" . (_) @name (block) @body) @definition.namespace
(at_rule (at_keyword) @name (block) @body) @definition.namespace

(keyframes_statement (keyframes_name) @name) @definition.function

(declaration (property_name) @name (#match? @name "^--")) @definition.variable

; References: @import targets, custom property uses, animations by name.
(import_statement (string_value) @name) @reference.import
(import_statement (call_expression (arguments (string_value) @name))) @reference.import

(call_expression (function_name) @_fn (arguments . (plain_value) @name) (#eq? @_fn "var")) @reference.call
(declaration (property_name) @_prop . (plain_value) @name
  (#any-of? @_prop "animation" "animation-name")) @reference.call
