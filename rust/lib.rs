//! symscope's core: source files in, symbols and references out.
//!
//! - [`languages`]: the registry (file recognition, grammars, compiled tags queries).
//! - [`extract`]: bytes -> [`symbol::Extraction`] under a time budget and a cancel flag.
//! - [`scan`]: a parallel, gitignore-aware workspace walk with content hashing and skip policy.
//! - [`document`]: an open document re-parsed incrementally after edits.
//! - [`grep`]: exact text and regex search over listed files (ripgrep's searcher and matcher).
//! - [`supervise`]: parsing in worker processes, so a grammar's crash, hang or runaway memory costs
//!   one file, never the process that asked.
//! - `python` (feature "python"): the PyO3 module `lsp_server._native`, the only file that knows PyO3.
//!
//! The core does no database work and knows nothing of LSP beyond `SymbolKind` numbers.

pub mod document;
pub mod extract;
pub mod grep;
pub mod languages;
pub mod positions;
pub mod scan;
pub mod supervise;
pub mod symbol;

#[cfg(feature = "python")]
mod python;

pub use symbol::{Extraction, Reference, ReferenceKind, Span, Symbol, SymbolKind};
