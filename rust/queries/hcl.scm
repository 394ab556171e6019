; HCL / Terraform. A labelled block is named by its last label and owned by what addresses it:
;   resource "aws_s3_bucket" "logs"  -> logs, container aws_s3_bucket  (aws_s3_bucket.logs)
;   module "cdn" / variable "region"  -> cdn / region, container module / variable
; Unlabelled blocks (terraform, locals, lifecycle, ...) are named by their type.
; Attributes are symbols at file level (.tfvars) and inside `locals`.

; Two labels: resource, data, and the like.
(block . (identifier) . (string_lit (template_literal) @container) . (string_lit (template_literal) @name) . (block_start)) @definition.object
(block . (identifier) . (identifier) @container . (identifier) @name . (block_start)) @definition.object

; One label.
(block . (identifier) @container . (string_lit (template_literal) @name) . (block_start)
  (#eq? @container "variable")) @definition.variable
(block . (identifier) @container . (string_lit (template_literal) @name) . (block_start)
  (#eq? @container "output")) @definition.property
(block . (identifier) @container . (string_lit (template_literal) @name) . (block_start)
  (#eq? @container "module")) @definition.module
(block . (identifier) @container . (string_lit (template_literal) @name) . (block_start)) @definition.object
(block . (identifier) @container . (identifier) @name . (block_start)) @definition.object

; No label.
(block . (identifier) @name . (block_start) (#eq? @name "locals")) @definition.namespace
(block . (identifier) @name . (block_start)) @definition.object

(config_file (body (attribute . (identifier) @name) @definition.variable))
(block . (identifier) @_type (body (attribute . (identifier) @name) @definition.variable)
  (#eq? @_type "locals"))

; References: function calls and module sources.
(function_call . (identifier) @name) @reference.call

(block . (identifier) @_type
  (body (attribute . (identifier) @_key (expression (literal_value (string_lit (template_literal) @name)))))
  (#eq? @_type "module")
  (#eq? @_key "source")) @reference.import
