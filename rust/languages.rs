//! The language registry: how a file is recognised (extension, file name, shebang) and which grammar
//! and tags query extract its symbols. Queries are compiled once per process and shared by all threads.

use std::sync::OnceLock;
use tree_sitter::{Language, Query};

/// How a language writes documentation for a definition, beyond comments right above it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocStyle {
    /// Comments immediately before the definition (most languages).
    LeadingComments,
    /// A string literal as the first statement of the body (Python), else leading comments.
    BodyString,
    /// `@doc` / `@moduledoc` attributes before the definition (Elixir), else leading comments.
    DocAttribute,
}

/// Per-language extraction choices; every language starts from [`DEFAULT_OPTIONS`].
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Names such as `Foo::bar`, `M.f` or `obj:m` name a member of an outer scope.
    pub split_qualified_names: bool,
    pub doc_style: DocStyle,
    /// Consecutive same-named definitions are clauses of one function (Erlang, Elixir, Haskell).
    pub merge_clauses: bool,
    /// `.` is part of identifiers (R's `is.na`), so it does not separate a call's name.
    pub dotted_identifiers: bool,
}

pub const DEFAULT_OPTIONS: Options = Options {
    split_qualified_names: false,
    doc_style: DocStyle::LeadingComments,
    merge_clauses: false,
    dotted_identifiers: false,
};

pub struct LanguageSpec {
    pub name: &'static str,
    pub extensions: &'static [&'static str],
    pub filenames: &'static [&'static str],
    /// Interpreter names recognised in a `#!` line (`python3` matches `python`).
    pub shebangs: &'static [&'static str],
    grammar: fn() -> Language,
    query_source: &'static str,
    pub options: Options,
}

macro_rules! grammar {
    ($e:expr) => {{
        fn load() -> Language {
            $e.into()
        }
        load
    }};
}

macro_rules! lang {
    ($name:literal, ext: [$($ext:literal),*], files: [$($f:literal),*], shebang: [$($sb:literal),*], $grammar:expr
     $(, $option:ident: $value:expr)*) => {
        LanguageSpec {
            name: $name,
            extensions: &[$($ext),*],
            filenames: &[$($f),*],
            shebangs: &[$($sb),*],
            grammar: grammar!($grammar),
            query_source: include_str!(concat!("queries/", $name, ".scm")),
            options: Options { $($option: $value,)* ..DEFAULT_OPTIONS },
        }
    };
}

pub static LANGUAGES: &[LanguageSpec] = &[
    lang!("python", ext: ["py", "pyi", "pyw"], files: ["SConstruct", "SConscript"], shebang: ["python"],
          tree_sitter_python::LANGUAGE, doc_style: DocStyle::BodyString),
    lang!("javascript", ext: ["js", "mjs", "cjs", "jsx"], files: [], shebang: ["node", "nodejs"],
          tree_sitter_javascript::LANGUAGE),
    lang!("typescript", ext: ["ts", "mts", "cts"], files: [], shebang: ["ts-node", "deno"],
          tree_sitter_typescript::LANGUAGE_TYPESCRIPT),
    lang!("tsx", ext: ["tsx"], files: [], shebang: [], tree_sitter_typescript::LANGUAGE_TSX),
    lang!("go", ext: ["go"], files: [], shebang: [], tree_sitter_go::LANGUAGE),
    lang!("rust", ext: ["rs"], files: [], shebang: [], tree_sitter_rust::LANGUAGE),
    lang!("java", ext: ["java"], files: [], shebang: [], tree_sitter_java::LANGUAGE),
    lang!("c", ext: ["c", "h"], files: [], shebang: ["tcc"], tree_sitter_c::LANGUAGE, split_qualified_names: true),
    lang!("cpp", ext: ["cc", "cpp", "cxx", "c++", "hpp", "hh", "hxx", "h++", "ipp", "tpp", "inl"], files: [],
          shebang: [], tree_sitter_cpp::LANGUAGE, split_qualified_names: true),
    lang!("csharp", ext: ["cs", "csx"], files: [], shebang: [], tree_sitter_c_sharp::LANGUAGE),
    lang!("ruby", ext: ["rb", "rake", "gemspec", "ru"], files: ["Rakefile", "Gemfile", "Guardfile", "Vagrantfile"],
          shebang: ["ruby"], tree_sitter_ruby::LANGUAGE, split_qualified_names: true),
    lang!("php", ext: ["php", "phtml"], files: [], shebang: ["php"], tree_sitter_php::LANGUAGE_PHP),
    lang!("kotlin", ext: ["kt", "kts"], files: [], shebang: ["kotlin"], tree_sitter_kotlin_ng::LANGUAGE),
    lang!("swift", ext: ["swift"], files: [], shebang: ["swift"], tree_sitter_swift::LANGUAGE),
    lang!("scala", ext: ["scala", "sc", "sbt"], files: [], shebang: ["scala"], tree_sitter_scala::LANGUAGE),
    lang!("bash", ext: ["sh", "bash", "zsh", "ksh"], files: [".bashrc", ".bash_profile", ".zshrc", ".profile"],
          shebang: ["bash", "sh", "zsh", "ksh", "dash"], tree_sitter_bash::LANGUAGE),
    lang!("lua", ext: ["lua"], files: [], shebang: ["lua", "luajit"], tree_sitter_lua::LANGUAGE, split_qualified_names: true),
    lang!("haskell", ext: ["hs"], files: [], shebang: ["runhaskell", "runghc", "stack"], tree_sitter_haskell::LANGUAGE,
          merge_clauses: true),
    lang!("ocaml", ext: ["ml"], files: [], shebang: ["ocaml"], tree_sitter_ocaml::LANGUAGE_OCAML),
    lang!("ocaml_interface", ext: ["mli"], files: [], shebang: [], tree_sitter_ocaml::LANGUAGE_OCAML_INTERFACE),
    lang!("elixir", ext: ["ex", "exs"], files: [], shebang: ["elixir"], tree_sitter_elixir::LANGUAGE,
          doc_style: DocStyle::DocAttribute, merge_clauses: true),
    lang!("julia", ext: ["jl"], files: [], shebang: ["julia"], tree_sitter_julia::LANGUAGE, split_qualified_names: true),
    lang!("r", ext: ["r", "R"], files: [], shebang: ["Rscript"], tree_sitter_r::LANGUAGE, dotted_identifiers: true),
    lang!("zig", ext: ["zig"], files: [], shebang: [], tree_sitter_zig::LANGUAGE),
    lang!("objc", ext: ["m", "mm"], files: [], shebang: [], tree_sitter_objc::LANGUAGE),
    lang!("solidity", ext: ["sol"], files: [], shebang: [], tree_sitter_solidity::LANGUAGE),
    lang!("hcl", ext: ["tf", "tfvars", "hcl", "nomad"], files: [], shebang: [], tree_sitter_hcl::LANGUAGE),
    lang!("dart", ext: ["dart"], files: [], shebang: ["dart"], tree_sitter_dart::LANGUAGE),
    lang!("erlang", ext: ["erl", "hrl", "escript"], files: ["rebar.config"], shebang: ["escript"],
          tree_sitter_erlang::LANGUAGE, merge_clauses: true),
    lang!("css", ext: ["css"], files: [], shebang: [], tree_sitter_css::LANGUAGE),
    lang!("markdown", ext: ["md", "markdown", "mdx"], files: [], shebang: [], tree_sitter_md::LANGUAGE),
    lang!("yaml", ext: ["yml", "yaml"], files: [], shebang: [], tree_sitter_yaml::LANGUAGE),
    lang!("toml", ext: ["toml"], files: ["Cargo.lock", "poetry.lock", "uv.lock"], shebang: [], tree_sitter_toml_ng::LANGUAGE),
];

/// Index into [`LANGUAGES`].
pub type LanguageId = usize;

pub fn by_name(name: &str) -> Option<LanguageId> {
    LANGUAGES.iter().position(|l| l.name == name)
}

impl LanguageSpec {
    pub fn grammar(&self) -> Language {
        (self.grammar)()
    }

    pub fn query_source(&self) -> &'static str {
        self.query_source
    }
}

/// The compiled query of a language, built on first use. A query that fails to compile is a bug
/// (a unit test compiles every one), reported as an error rather than a panic.
pub fn query(id: LanguageId) -> Result<&'static Query, String> {
    static QUERIES: OnceLock<Vec<OnceLock<Result<Query, String>>>> = OnceLock::new();
    let slots = QUERIES.get_or_init(|| LANGUAGES.iter().map(|_| OnceLock::new()).collect());
    let spec = &LANGUAGES[id];
    slots[id]
        .get_or_init(|| {
            // For query development: `SYMSCOPE_QUERIES_DIR=rust/queries` picks up edits without a rebuild.
            let source = std::env::var_os("SYMSCOPE_QUERIES_DIR").and_then(|dir| {
                std::fs::read_to_string(std::path::Path::new(&dir).join(format!("{}.scm", spec.name))).ok()
            });
            Query::new(&spec.grammar(), source.as_deref().unwrap_or(spec.query_source))
                .map_err(|e| format!("query for {} does not compile: {e}", spec.name))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Capture names used by a language's query, read from its source text without compiling it
/// (compiling every query takes seconds; listing languages should not).
pub fn capture_names(id: LanguageId) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for line in LANGUAGES[id].query_source.lines() {
        let code = line.split(';').next().unwrap_or("");
        for part in code.split('@').skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '.' || *c == '_')
                .collect();
            if !name.is_empty() && !name.starts_with('_') && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// C++ markers that make a `.h` header C++ rather than C; C++'s grammar is slower, so plain C
/// headers keep the C grammar.
fn looks_like_cpp(head: &[u8]) -> bool {
    const MARKERS: &[&[u8]] = &[
        b"class ",
        b"namespace ",
        b"template<",
        b"template <",
        b"public:",
        b"private:",
        b"std::",
        b"#include <string>",
        b"#include <vector>",
        b"virtual ",
        b"::",
    ];
    MARKERS.iter().any(|m| head.windows(m.len()).any(|w| w == *m))
}

fn looks_like_objc(head: &[u8]) -> bool {
    const MARKERS: &[&[u8]] = &[b"@interface", b"@implementation", b"@protocol", b"#import "];
    MARKERS.iter().any(|m| head.windows(m.len()).any(|w| w == *m))
}

/// The interpreter named by a `#!` line: `#!/usr/bin/env -S python3 -u` -> `python3`.
fn shebang_interpreter(head: &[u8]) -> Option<String> {
    let first = head.strip_prefix(b"#!")?;
    let line = first.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split_whitespace();
    let mut program = words.next()?.rsplit('/').next()?.to_string();
    if program == "env" {
        program = words.find(|w| !w.starts_with('-'))?.rsplit('/').next()?.to_string();
    }
    Some(program)
}

/// Recognises a file's language from its name and, when given, the first bytes of its content.
pub fn detect(path: &str, head: Option<&[u8]>) -> Option<LanguageId> {
    let file_name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    if let Some(id) = LANGUAGES.iter().position(|l| l.filenames.contains(&file_name)) {
        return Some(id);
    }
    if let Some((_, ext)) = file_name.rsplit_once('.') {
        if ext == "h" {
            let head = head.unwrap_or(b"");
            let name = if looks_like_objc(head) {
                "objc"
            } else if looks_like_cpp(head) {
                "cpp"
            } else {
                "c"
            };
            return by_name(name);
        }
        if let Some(id) = LANGUAGES.iter().position(|l| l.extensions.contains(&ext)) {
            return Some(id);
        }
        let lower = ext.to_ascii_lowercase();
        if let Some(id) = LANGUAGES.iter().position(|l| l.extensions.contains(&lower.as_str())) {
            return Some(id);
        }
    }
    let program = shebang_interpreter(head?)?;
    // `python3.12` -> `python`, `node18` -> `node`
    let base = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    LANGUAGES
        .iter()
        .position(|l| l.shebangs.iter().any(|s| *s == base || *s == program))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_compiles() {
        for (id, spec) in LANGUAGES.iter().enumerate() {
            if let Err(e) = query(id) {
                panic!("{}: {e}", spec.name);
            }
        }
    }

    #[test]
    fn at_least_31_languages() {
        assert!(LANGUAGES.len() >= 31, "{} languages", LANGUAGES.len());
    }

    #[test]
    fn detects_by_extension_name_and_shebang() {
        let name = |id: Option<LanguageId>| id.map(|i| LANGUAGES[i].name);
        assert_eq!(name(detect("a/b/c.py", None)), Some("python"));
        assert_eq!(name(detect("x.TSX", None)), Some("tsx"));
        assert_eq!(name(detect("Rakefile", None)), Some("ruby"));
        assert_eq!(
            name(detect("tool", Some(b"#!/usr/bin/env python3\nprint(1)"))),
            Some("python")
        );
        assert_eq!(name(detect("run", Some(b"#!/bin/bash\necho"))), Some("bash"));
        assert_eq!(name(detect("x.h", Some(b"int f(void);"))), Some("c"));
        assert_eq!(name(detect("x.h", Some(b"namespace a { class B; }"))), Some("cpp"));
        assert_eq!(name(detect("x.h", Some(b"@interface Foo : NSObject"))), Some("objc"));
        assert_eq!(detect("README", Some(b"hello")), None);
        assert_eq!(detect("x.unknown", None), None);
    }
}
