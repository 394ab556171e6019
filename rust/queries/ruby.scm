(module name: (_) @name) @definition.module
(class name: (_) @name) @definition.class
(singleton_class value: (_) @name) @definition.class
(method name: (_) @name) @definition.method
(singleton_method name: (_) @name) @definition.method
(assignment left: (constant) @name) @definition.constant
(alias name: (_) @name) @definition.method

(call method: (identifier) @name) @reference.call
(call
  method: (identifier) @_m
  arguments: (argument_list (string (string_content) @name))
  (#any-of? @_m "require" "require_relative" "load")) @reference.import
