; Markdown (block grammar). Each ATX heading opens a `section` that runs to the next heading of the
; same or a higher level, so sections nest by level and give the outline its hierarchy.
; A section is named by its heading text without the `#` markers (an optional closing `##`
; sequence stays in the name: the grammar keeps it in the heading's inline content).
; Setext headings (`Title` over `====`) open a section only as the first block of the document;
; elsewhere the grammar leaves them inside the preceding section, so they are symbols of their
; own lines, nested under that section.

(section (atx_heading heading_content: (inline) @name)) @definition.string
(section . (setext_heading heading_content: (paragraph (inline) @name))) @definition.string
(_ (_) . (setext_heading heading_content: (paragraph (inline) @name)) @definition.string)
