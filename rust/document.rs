//! An open document: its text and syntax tree, re-parsed incrementally (`Tree::edit`) after each
//! edit, so re-outlining a large file after a keystroke costs a fraction of a full parse.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use tree_sitter::{InputEdit, Parser, Point, Tree};

use crate::extract::{self, Budget};
use crate::languages::LanguageId;
use crate::symbol::Extraction;

pub struct Document {
    pub language: LanguageId,
    /// Why the text is not parsed (the scan's skip policy: binary, minified, deeply nested...).
    pub skipped: Option<String>,
    max_file_size: u64,
    text: Vec<u8>,
    tree: Option<Tree>,
    parser: Parser,
    timeout: Duration,
}

#[derive(Debug, PartialEq, Eq)]
pub enum EditError {
    OutOfRange { start: usize, old_end: usize, len: usize },
}

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EditError::OutOfRange { start, old_end, len } => {
                write!(
                    f,
                    "edit range {start}..{old_end} is outside the document (length {len})"
                )
            }
        }
    }
}

/// Row and byte column of `byte` in `text`.
fn point_at(text: &[u8], byte: usize) -> Point {
    let before = &text[..byte];
    let row = memchr::memchr_iter(b'\n', before).count();
    let column = before.len() - memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
    Point { row, column }
}

impl Document {
    pub fn new(language: LanguageId, text: Vec<u8>, timeout: Duration) -> Document {
        Document::with_limit(language, text, timeout, crate::scan::DEFAULT_MAX_FILE_SIZE)
    }

    pub fn with_limit(language: LanguageId, text: Vec<u8>, timeout: Duration, max_file_size: u64) -> Document {
        let mut doc = Document {
            language,
            skipped: None,
            max_file_size,
            text,
            tree: None,
            parser: Parser::new(),
            timeout,
        };
        doc.reparse(false);
        doc
    }

    pub fn text(&self) -> &[u8] {
        &self.text
    }

    fn budget_parse(&mut self, incremental: bool) -> Option<Tree> {
        let cancel = AtomicBool::new(false);
        let budget = Budget {
            deadline: Instant::now() + self.timeout,
            cancel: &cancel,
        };
        let old = if incremental { self.tree.as_ref() } else { None };
        extract::parse_with(&mut self.parser, self.language, &self.text, old, budget)
    }

    fn reparse(&mut self, incremental: bool) {
        self.skipped = crate::scan::skip_reason(&self.text, self.max_file_size);
        self.tree = if self.skipped.is_some() {
            None
        } else {
            self.budget_parse(incremental)
        };
    }

    /// Replaces `text[start..old_end]` with `new_text` and re-parses, reusing the old tree.
    pub fn edit(&mut self, start: usize, old_end: usize, new_text: &[u8]) -> Result<(), EditError> {
        let len = self.text.len();
        if start > old_end || old_end > len {
            return Err(EditError::OutOfRange { start, old_end, len });
        }
        let start_position = point_at(&self.text, start);
        let old_end_position = point_at(&self.text, old_end);
        self.text.splice(start..old_end, new_text.iter().copied());
        let new_end = start + new_text.len();
        let new_end_position = point_at(&self.text, new_end);
        if let Some(tree) = self.tree.as_mut() {
            tree.edit(&InputEdit {
                start_byte: start,
                old_end_byte: old_end,
                new_end_byte: new_end,
                start_position,
                old_end_position,
                new_end_position,
            });
        }
        self.reparse(self.tree.is_some());
        Ok(())
    }

    pub fn replace(&mut self, text: Vec<u8>) {
        self.text = text;
        self.reparse(false);
    }

    pub fn extraction(&self) -> Extraction {
        let Some(tree) = &self.tree else {
            return Extraction {
                timed_out: self.skipped.is_none(),
                ..Default::default()
            };
        };
        let _ = crate::languages::query(self.language); // one-time compile, outside the budget
        let cancel = AtomicBool::new(false);
        let budget = Budget {
            deadline: Instant::now() + self.timeout,
            cancel: &cancel,
        };
        extract::extract_from_tree(self.language, tree, &self.text, budget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::languages::by_name;

    #[test]
    fn incremental_edit_matches_full_parse() {
        let src = "class A:\n    def f(self):\n        pass\n";
        let mut doc = Document::new(
            by_name("python").unwrap(),
            src.as_bytes().to_vec(),
            Duration::from_secs(5),
        );
        let at = src.len();
        doc.edit(at, at, b"\ndef g():\n    return 1\n").unwrap();
        let inc: Vec<String> = doc.extraction().symbols.iter().map(|s| s.qualified_name()).collect();
        let full_doc = Document::new(doc.language, doc.text().to_vec(), Duration::from_secs(5));
        let full: Vec<String> = full_doc
            .extraction()
            .symbols
            .iter()
            .map(|s| s.qualified_name())
            .collect();
        assert_eq!(inc, vec!["A", "A.f", "g"]);
        assert_eq!(inc, full);
        // rename f -> h in place
        let f = doc.text().windows(5).position(|w| w == b"def f").unwrap() + 4;
        doc.edit(f, f + 1, b"h").unwrap();
        assert_eq!(doc.extraction().symbols[1].name, "h");
        assert!(doc.edit(10, 5, b"").is_err());
        // Pathological text is skipped by the scan's policy, then parsed again once it is fixed.
        let end = doc.text().len();
        doc.edit(end, end, "x = ".to_string().as_bytes()).unwrap();
        let end = doc.text().len();
        doc.edit(end, end, &[b'['; 1500]).unwrap();
        assert!(doc.skipped.as_deref().is_some_and(|r| r.starts_with("deeply nested")));
        assert!(doc.extraction().symbols.is_empty());
        let end = doc.text().len();
        doc.edit(end - 1500, end, b"1\n").unwrap();
        assert_eq!(doc.skipped, None);
        assert_eq!(doc.extraction().symbols.len(), 4);
        assert!(doc.edit(0, 10_000, b"").is_err());
    }
}
