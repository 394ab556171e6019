; TOML. Tables (`[a.b]`) and array-of-table entries (`[[bench]]`) are objects named by their
; header key as written; their keys are children. Top-level keys are symbols too.
; The grammar puts the comments above a table header inside the previous table, so those
; trailing comments are captured explicitly as the next table's doc.

((_ (comment)+ @doc .) . (table . [(bare_key) (dotted_key) (quoted_key)] @name) @definition.object)
((_ (comment)+ @doc .) . (table_array_element . [(bare_key) (dotted_key) (quoted_key)] @name) @definition.object)
(table . [(bare_key) (dotted_key) (quoted_key)] @name) @definition.object
(table_array_element . [(bare_key) (dotted_key) (quoted_key)] @name) @definition.object

(document (pair . [(bare_key) (dotted_key) (quoted_key)] @name) @definition.key)
(table (pair . [(bare_key) (dotted_key) (quoted_key)] @name) @definition.key)
(table_array_element (pair . [(bare_key) (dotted_key) (quoted_key)] @name) @definition.key)
