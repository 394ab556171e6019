//! Plain data produced by extraction: symbols, references and per-file results.
//!
//! Nothing here knows about tree-sitter, Python or LSP wire types; kinds carry the LSP `SymbolKind`
//! number only because every consumer (LSP, MCP, CLI) speaks in those terms. Everything derives
//! serde so a parser worker can send its result to the process that asked (`supervise.rs`).

use serde::{Deserialize, Serialize};

/// A symbol kind, named as the LSP `SymbolKind` enumeration names it (lowercased).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SymbolKind {
    File,
    Module,
    Namespace,
    Package,
    Class,
    Method,
    Property,
    Field,
    Constructor,
    Enum,
    Interface,
    Function,
    Variable,
    Constant,
    String,
    Object,
    Key,
    EnumMember,
    Struct,
    Event,
    Operator,
    TypeParameter,
}

impl SymbolKind {
    /// Parses the suffix of a `@definition.<kind>` capture.
    pub fn from_capture(kind: &str) -> Option<SymbolKind> {
        use SymbolKind::*;
        Some(match kind {
            "file" => File,
            "module" => Module,
            "namespace" => Namespace,
            "package" => Package,
            "class" => Class,
            "method" => Method,
            "property" => Property,
            "field" => Field,
            "constructor" => Constructor,
            "enum" => Enum,
            "interface" => Interface,
            "function" => Function,
            "variable" => Variable,
            "constant" => Constant,
            "string" | "heading" => String,
            "object" | "impl" => Object,
            "key" => Key,
            "enum_member" => EnumMember,
            "struct" => Struct,
            "event" => Event,
            "operator" => Operator,
            "type" | "type_parameter" => TypeParameter,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        use SymbolKind::*;
        match self {
            File => "file",
            Module => "module",
            Namespace => "namespace",
            Package => "package",
            Class => "class",
            Method => "method",
            Property => "property",
            Field => "field",
            Constructor => "constructor",
            Enum => "enum",
            Interface => "interface",
            Function => "function",
            Variable => "variable",
            Constant => "constant",
            String => "string",
            Object => "object",
            Key => "key",
            EnumMember => "enummember",
            Struct => "struct",
            Event => "event",
            Operator => "operator",
            TypeParameter => "typeparameter",
        }
    }

    /// The LSP `SymbolKind` number.
    pub fn lsp_number(self) -> u8 {
        use SymbolKind::*;
        match self {
            File => 1,
            Module => 2,
            Namespace => 3,
            Package => 4,
            Class => 5,
            Method => 6,
            Property => 7,
            Field => 8,
            Constructor => 9,
            Enum => 10,
            Interface => 11,
            Function => 12,
            Variable => 13,
            Constant => 14,
            String => 15,
            Object => 19,
            Key => 20,
            EnumMember => 22,
            Struct => 23,
            Event => 24,
            Operator => 25,
            TypeParameter => 26,
        }
    }

    /// Kinds whose function children are methods (class -> method, impl -> fn as method, ...).
    pub fn holds_methods(self) -> bool {
        matches!(
            self,
            SymbolKind::Class | SymbolKind::Struct | SymbolKind::Interface | SymbolKind::Object | SymbolKind::Enum
        )
    }
}

/// A position span with columns counted two ways; lines are 0-based.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start_line: u32,
    pub start_utf16: u32,
    pub start_utf8: u32,
    pub end_line: u32,
    pub end_utf16: u32,
    pub end_utf8: u32,
    pub start_byte: usize,
    pub end_byte: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Symbol {
    pub name: String,
    pub kind: SymbolKind,
    /// Qualified name of the container ("Outer.Inner"), from nesting or from an explicit qualifier
    /// such as a Go receiver or a C++ `Foo::` prefix.
    pub container: Option<String>,
    /// Index of the enclosing symbol in the same extraction; parents always come first.
    pub parent: Option<usize>,
    pub range: Span,
    pub selection: Span,
    pub signature: String,
    pub doc: Option<String>,
}

impl Symbol {
    pub fn qualified_name(&self) -> String {
        match &self.container {
            Some(c) if !c.is_empty() => format!("{c}.{}", self.name),
            _ => self.name.clone(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReferenceKind {
    Call,
    Import,
}

impl ReferenceKind {
    pub fn name(self) -> &'static str {
        match self {
            ReferenceKind::Call => "call",
            ReferenceKind::Import => "import",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    /// The last identifier of the callee or imported path.
    pub name: String,
    /// The callee / import path as written (whitespace collapsed, bounded length).
    pub target: String,
    pub kind: ReferenceKind,
    pub position: Span,
    /// Innermost enclosing symbol.
    pub from_symbol: Option<usize>,
}

/// What extraction returns for one file. Broken code is data: `has_error` is set and whatever
/// could be recognised is still returned.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Extraction {
    pub symbols: Vec<Symbol>,
    pub references: Vec<Reference>,
    pub has_error: bool,
    pub timed_out: bool,
}
