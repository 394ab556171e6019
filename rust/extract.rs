//! Source bytes -> symbols and references, through a language's tags query.
//!
//! Broken code is data: a syntax error sets `has_error` and everything recognisable is still
//! returned; nothing here panics on input or returns an error for it. Every parse and query runs
//! under a deadline and a cancel flag. Nothing here recurses over the tree, so nesting depth is
//! bounded by memory, not by the stack.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, ParseOptions, Parser, QueryCursor, QueryCursorOptions, Tree};

use crate::languages::{self, DocStyle, LanguageId, LANGUAGES};
use crate::positions::LineIndex;
use crate::symbol::{Extraction, Reference, ReferenceKind, Symbol, SymbolKind};

const MAX_NAME_CHARS: usize = 200;
const MAX_SIGNATURE_CHARS: usize = 300;
const MAX_DOC_CHARS: usize = 2000;
/// Container paths are cut from the left beyond this, so 100,000 nested definitions stay linear.
const MAX_SCOPE_CHARS: usize = 400;
const MAX_DOC_NESTING: usize = 64;

/// When to give up on a file: a wall-clock deadline and a flag another thread may raise.
#[derive(Clone, Copy)]
pub struct Budget<'a> {
    pub deadline: Instant,
    pub cancel: &'a AtomicBool,
}

impl Budget<'_> {
    fn exhausted(&self) -> bool {
        self.cancel.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }
}

thread_local! {
    static PARSER: std::cell::RefCell<Parser> = std::cell::RefCell::new(Parser::new());
}

/// Parses `source`, reusing `old_tree` (already edited to match) when given. `None` when the
/// budget ran out or the grammar could not be loaded.
pub fn parse_with(
    parser: &mut Parser,
    lang: LanguageId,
    source: &[u8],
    old_tree: Option<&Tree>,
    budget: Budget,
) -> Option<Tree> {
    parser.set_language(&LANGUAGES[lang].grammar()).ok()?;
    let mut progress = |_: &tree_sitter::ParseState| {
        if budget.exhausted() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let options = ParseOptions::new().progress_callback(&mut progress);
    let len = source.len();
    let tree = parser.parse_with_options(
        &mut |offset: usize, _| if offset < len { &source[offset..] } else { &[][..] },
        old_tree,
        Some(options),
    );
    if tree.is_none() {
        parser.reset();
    }
    tree
}

/// Parses and extracts one file.
pub fn extract(lang: LanguageId, source: &[u8], budget: Budget) -> Extraction {
    let tree = PARSER.with(|p| parse_with(&mut p.borrow_mut(), lang, source, None, budget));
    match tree {
        Some(tree) => extract_from_tree(lang, &tree, source, budget),
        None => Extraction {
            timed_out: true,
            ..Default::default()
        },
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Definition(SymbolKind, bool), // kind, is an `impl` block
    Name,
    Doc,
    Container,
    Trait,
    Body,
    Reference(ReferenceKind),
    Other,
}

fn role_of(capture: &str) -> Role {
    if let Some(kind) = capture.strip_prefix("definition.") {
        return match SymbolKind::from_capture(kind) {
            Some(k) => Role::Definition(k, kind == "impl"),
            None => Role::Other,
        };
    }
    match capture {
        "name" => Role::Name,
        "doc" => Role::Doc,
        "container" => Role::Container,
        "trait" => Role::Trait,
        "body" => Role::Body,
        "reference.call" => Role::Reference(ReferenceKind::Call),
        "reference.import" => Role::Reference(ReferenceKind::Import),
        _ => Role::Other,
    }
}

struct RawDefinition<'t> {
    node: Node<'t>,
    kind: SymbolKind,
    is_impl: bool,
    name: Node<'t>,
    docs: Vec<Node<'t>>,
    container: Option<Node<'t>>,
    trait_: Option<Node<'t>>,
    body: Option<Node<'t>>,
    pattern: usize,
}

struct RawReference<'t> {
    kind: ReferenceKind,
    name: Node<'t>,
}

pub fn extract_from_tree(lang: LanguageId, tree: &Tree, source: &[u8], budget: Budget) -> Extraction {
    let spec = &LANGUAGES[lang];
    let mut out = Extraction {
        has_error: tree.root_node().has_error(),
        ..Default::default()
    };
    let query = match languages::query(lang) {
        Ok(q) => q,
        Err(_) => return out, // every query is compiled by a unit test; an error here is a bug, not a crash
    };
    let roles: Vec<Role> = query.capture_names().iter().map(|c| role_of(c)).collect();

    let mut definitions: Vec<RawDefinition> = Vec::new();
    let mut references: Vec<RawReference> = Vec::new();
    let mut cursor = QueryCursor::new();
    let mut timed_out = false;
    {
        let mut progress = |_: &tree_sitter::QueryCursorState| {
            if budget.exhausted() {
                timed_out = true;
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let options = QueryCursorOptions::new().progress_callback(&mut progress);
        let mut matches = cursor.matches_with_options(query, tree.root_node(), source, options);
        while let Some(m) = matches.next() {
            let mut def = None;
            let mut reference = None;
            let (mut name, mut container, mut trait_, mut body) = (None, None, None, None);
            let mut docs = Vec::new();
            for cap in m.captures() {
                match roles[cap.index as usize] {
                    Role::Definition(kind, is_impl) => def = Some((cap.node, kind, is_impl)),
                    Role::Name => name = name.or(Some(cap.node)),
                    Role::Doc => docs.push(cap.node),
                    Role::Container => container = Some(cap.node),
                    Role::Trait => trait_ = Some(cap.node),
                    Role::Body => body = Some(cap.node),
                    Role::Reference(kind) => reference = Some((cap.node, kind)),
                    Role::Other => {}
                }
            }
            if let Some((node, kind, is_impl)) = def {
                if let Some(name) = name {
                    definitions.push(RawDefinition {
                        node,
                        kind,
                        is_impl,
                        name,
                        docs,
                        container,
                        trait_,
                        body,
                        pattern: m.pattern_index,
                    });
                }
            } else if let Some((node, kind)) = reference {
                references.push(RawReference {
                    kind,
                    name: name.unwrap_or(node),
                });
            }
        }
    }
    out.timed_out = timed_out;

    // One symbol per node: the earliest pattern in the query wins.
    definitions.sort_by_key(|d| (d.node.start_byte(), std::cmp::Reverse(d.node.end_byte()), d.pattern));
    definitions.dedup_by_key(|d| d.node.id());

    let lines = LineIndex::new(source);
    // Scope path used to qualify children; an `impl Trait for T` block qualifies its items by `T`.
    let mut scopes: Vec<String> = Vec::with_capacity(definitions.len());
    let mut stack: Vec<usize> = Vec::new();
    for def in &definitions {
        let (start, end) = (def.node.start_byte(), def.node.end_byte());
        while let Some(&top) = stack.last() {
            let t = &out.symbols[top].range;
            if t.start_byte <= start && end <= t.end_byte {
                break;
            }
            stack.pop();
        }
        let parent = stack.last().copied();

        let raw_name = collapse(&text(def.name, source), MAX_NAME_CHARS);
        let (mut name, qualifier) = if spec.options.split_qualified_names {
            split_qualified(&raw_name)
        } else {
            (raw_name.clone(), None)
        };
        if name.is_empty() {
            continue;
        }
        let explicit = def
            .container
            .map(|c| clean_container(&text(c, source)))
            .filter(|c| !c.is_empty())
            .or(qualifier);
        let parent_scope = parent.map(|p| scopes[p].clone());
        let container = match (parent_scope, explicit) {
            (Some(p), Some(e)) => Some(format!("{p}.{e}")),
            (Some(p), None) => Some(p),
            (None, e) => e,
        };
        let scope_name = name.clone();
        if def.is_impl {
            name = match def.trait_ {
                Some(t) => format!("impl {} for {}", collapse(&text(t, source), MAX_NAME_CHARS), name),
                None => format!("impl {name}"),
            };
        }
        let mut kind = def.kind;
        if kind == SymbolKind::Function && parent.is_some_and(|p| out.symbols[p].kind.holds_methods()) {
            kind = SymbolKind::Method;
        }
        if spec.options.merge_clauses {
            // Another clause of the function just before: widen that symbol instead of adding one.
            if let Some(prev) = out.symbols.last_mut() {
                if prev.name == name && prev.kind == kind && prev.parent == parent && prev.range.end_byte <= start {
                    prev.range = lines.span(prev.range.start_byte, end);
                    stack.push(out.symbols.len() - 1);
                    continue;
                }
            }
        }
        scopes.push(match &container {
            Some(c) => bounded_scope(c, &scope_name),
            None => scope_name,
        });
        out.symbols.push(Symbol {
            name,
            kind,
            container,
            parent,
            range: lines.span(start, end),
            selection: lines.span(def.name.start_byte(), def.name.end_byte()),
            signature: signature(def.node, def.body, source),
            // Finding a node's parent and siblings costs O(tree depth) in tree-sitter; past this
            // nesting, docs are skipped so pathological nesting stays linear.
            doc: if stack.len() < MAX_DOC_NESTING {
                doc(spec.options.doc_style, def, source)
            } else {
                None
            },
        });
        stack.push(out.symbols.len() - 1);
    }

    // References, each attached to its innermost enclosing symbol (a sweep over both sorted lists).
    references.sort_by_key(|r| r.name.start_byte());
    let mut stack: Vec<usize> = Vec::new();
    let mut next_symbol = 0;
    for r in references {
        let at = r.name.start_byte();
        while next_symbol < out.symbols.len() && out.symbols[next_symbol].range.start_byte <= at {
            stack.push(next_symbol);
            next_symbol += 1;
        }
        while let Some(&top) = stack.last() {
            let t = &out.symbols[top].range;
            if t.start_byte <= at && at < t.end_byte {
                break;
            }
            stack.pop();
        }
        let raw = collapse(&text(r.name, source), MAX_NAME_CHARS);
        let quoted = raw.starts_with(['"', '\'', '`', '<']);
        let target = raw
            .trim_matches(|c| c == '"' || c == '\'' || c == '`' || c == '<' || c == '>')
            .to_string();
        let name = if r.kind == ReferenceKind::Import && (quoted || target.contains('/')) {
            file_stem(&target).to_string()
        } else {
            let plain = without_generics(&target);
            if spec.options.dotted_identifiers {
                plain
                    .rsplit(['$', '@'])
                    .next()
                    .unwrap_or(&plain)
                    .rsplit("::")
                    .next()
                    .unwrap_or(&plain)
                    .trim()
                    .to_string()
            } else {
                last_segment(&plain).to_string()
            }
        };
        if name.is_empty() {
            continue;
        }
        out.references.push(Reference {
            name,
            target,
            kind: r.kind,
            position: lines.span(at, r.name.end_byte()),
            from_symbol: stack.last().copied(),
        });
    }
    out
}

/// `container.name`, keeping only the innermost MAX_SCOPE_CHARS characters.
fn bounded_scope(container: &str, name: &str) -> String {
    let full = format!("{container}.{name}");
    if full.len() <= MAX_SCOPE_CHARS {
        return full;
    }
    let mut cut = full.len() - MAX_SCOPE_CHARS;
    while !full.is_char_boundary(cut) {
        cut += 1;
    }
    format!("…{}", &full[cut..])
}

fn text(node: Node, source: &[u8]) -> String {
    String::from_utf8_lossy(&source[node.start_byte()..node.end_byte().min(source.len())]).into_owned()
}

/// Whitespace runs become one space; the result is cut at `max` characters.
fn collapse(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    let mut chars = 0;
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
            chars += 1;
        }
        for c in word.chars() {
            if chars >= max {
                out.push('…');
                return out;
            }
            out.push(c);
            chars += 1;
        }
    }
    out
}

/// `Foo::bar` -> (`bar`, Some(`Foo`)); `M.f` / `obj:m` likewise; `a::b::c` -> (`c`, Some(`a.b`)).
fn split_qualified(name: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = name
        .split("::")
        .flat_map(|p| p.split(['.', ':']))
        .filter(|p| !p.trim().is_empty())
        .collect();
    match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => (
            last.trim().to_string(),
            Some(rest.iter().map(|p| p.trim()).collect::<Vec<_>>().join(".")),
        ),
        _ => (name.to_string(), None),
    }
}

/// A receiver or owner type written out: `(r *Repo[T])` -> `Repo`.
fn clean_container(raw: &str) -> String {
    let s = raw.trim().trim_start_matches('(').trim_end_matches(')');
    // Go receivers are `name Type` or `Type`; keep the type.
    let ty = s.split_whitespace().last().unwrap_or("");
    let ty = ty.trim_start_matches(['*', '&']);
    let ty = ty.split(['[', '<']).next().unwrap_or("");
    ty.replace("::", ".")
}

fn last_segment(target: &str) -> &str {
    let t = target.trim_end_matches(['(', ')', ';', '*', ' ']);
    t.rsplit(['.', ':', '/', '\\', '>', ' ', '$', '@'])
        .find(|s| !s.is_empty())
        .unwrap_or(t)
}

/// `std::vector<int>::push_back` -> `std::vector::push_back`: type arguments are not part of a name.
fn without_generics(target: &str) -> String {
    if !target.contains('<') {
        return target.to_string();
    }
    let mut depth = 0usize;
    let mut out = String::with_capacity(target.len());
    for c in target.chars() {
        match c {
            '<' => depth += 1,
            '>' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// `../lib/ring.h` -> `ring`: what a path-like import names.
fn file_stem(target: &str) -> &str {
    let base = target
        .rsplit(['/', '\\'])
        .find(|s| !s.is_empty() && *s != "." && *s != "..")
        .unwrap_or(target);
    match base.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => base,
    }
}

/// The declaration without its body: text up to the body if there is one, else the first line.
fn signature(node: Node, body: Option<Node>, source: &[u8]) -> String {
    let start = node.start_byte();
    let body = body.or_else(|| node.child_by_field_name("body"));
    let end = match body {
        // Up to the last token before the body, so comments between the header and the body stay out.
        Some(b) if b.start_byte() > start => {
            let mut cursor = node.walk();
            node.children(&mut cursor)
                .take_while(|c| c.start_byte() < b.start_byte())
                .filter(|c| !is_comment(c.kind()))
                .map(|c| c.end_byte())
                .last()
                .unwrap_or(b.start_byte())
        }
        _ => {
            let end = node.end_byte().min(source.len());
            memchr::memchr(b'\n', &source[start..end]).map_or(end, |i| start + i)
        }
    };
    let sig = collapse(&String::from_utf8_lossy(&source[start..end]), MAX_SIGNATURE_CHARS);
    sig.trim_end_matches(|c: char| c == '{' || c == ':' || c == '=' || c.is_whitespace())
        .to_string()
}

/// Nodes that wrap a definition and carry its leading comments (`export function f`, decorators).
const WRAPPERS: &[&str] = &[
    "export_statement",
    "decorated_definition",
    "template_declaration",
    "ambient_declaration",
    "export_declaration",
    "annotated_declaration",
];

fn is_comment(kind: &str) -> bool {
    kind.contains("comment") || kind == "haddock"
}

fn is_attribute(kind: &str) -> bool {
    kind.contains("attribute") || kind.contains("decorator") || kind.contains("annotation")
}

fn doc(style: DocStyle, def: &RawDefinition, source: &[u8]) -> Option<String> {
    if !def.docs.is_empty() {
        let joined: Vec<String> = def.docs.iter().map(|d| text(*d, source)).collect();
        return clean_doc(&joined.join("\n"));
    }
    if style == DocStyle::BodyString {
        if let Some(first) = def.node.child_by_field_name("body").and_then(|b| b.named_child(0)) {
            if first.kind() == "expression_statement" {
                if let Some(s) = first.named_child(0).filter(|s| s.kind() == "string") {
                    return clean_doc(&text(s, source));
                }
            }
        }
    }
    let mut anchor = def.node;
    while let Some(p) = anchor.parent() {
        if !WRAPPERS.contains(&p.kind()) {
            break;
        }
        anchor = p;
    }
    let mut comments: Vec<Node> = Vec::new();
    let mut next_row = anchor.start_position().row;
    let mut sibling = anchor.prev_sibling();
    while let Some(s) = sibling {
        let kind = s.kind();
        let doc_attribute =
            style == DocStyle::DocAttribute && kind == "unary_operator" && text(s, source).starts_with("@doc");
        if doc_attribute && matches!(text(s, source).trim_start_matches("@doc").trim(), "false" | "nil") {
            return None; // `@doc false` hides a function from documentation
        }
        if is_attribute(kind) && !doc_attribute {
            next_row = s.start_position().row;
        } else if (is_comment(kind) || doc_attribute) && next_row.saturating_sub(s.end_position().row) <= 1 {
            comments.push(s);
            next_row = s.start_position().row;
        } else {
            break;
        }
        sibling = s.prev_sibling();
    }
    if comments.is_empty() {
        return None;
    }
    comments.reverse();
    let joined: Vec<String> = comments.iter().map(|c| text(*c, source)).collect();
    clean_doc(&joined.join("\n"))
}

/// Strips comment and string markers and common indentation; `None` when nothing is left.
fn clean_doc(raw: &str) -> Option<String> {
    const PREFIXES: &[&str] = &[
        "///",
        "//!",
        "//",
        "/**",
        "/*!",
        "/*",
        "#'",
        "##",
        "#",
        "---",
        "--[[",
        "-- |",
        "--",
        ";;",
        ";",
        "%%%",
        "%%",
        "%",
        "(**",
        "(*",
        "{-|",
        "{-",
        "*",
        "@moduledoc",
        "@doc",
    ];
    const SUFFIXES: &[&str] = &["*/", "*)", "-}", "]]"];
    let mut lines: Vec<String> = Vec::new();
    for line in raw.lines() {
        let mut l = line.trim();
        for s in SUFFIXES {
            if let Some(rest) = l.strip_suffix(s) {
                l = rest.trim_end();
            }
        }
        for p in PREFIXES {
            if let Some(rest) = l.strip_prefix(p) {
                l = rest;
                break;
            }
        }
        let l = l.trim();
        let l = strip_string_quotes(l);
        lines.push(l.trim().to_string());
    }
    while lines.first().is_some_and(|l| l.is_empty()) {
        lines.remove(0);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    if lines.is_empty() {
        return None;
    }
    let mut doc = lines.join("\n");
    // C#-style XML documentation: keep the prose, drop the structural tags.
    for tag in [
        "<summary>",
        "</summary>",
        "<remarks>",
        "</remarks>",
        "<returns>",
        "</returns>",
        "<para>",
        "</para>",
    ] {
        doc = doc.replace(tag, "");
    }
    let doc = doc.trim().to_string();
    if doc.is_empty() {
        return None;
    }
    let mut doc = doc;
    if doc.chars().count() > MAX_DOC_CHARS {
        doc = doc.chars().take(MAX_DOC_CHARS).collect::<String>() + "…";
    }
    Some(doc)
}

/// Removes Python/Elixir string delimiters (`r"""`, `'''`, `"`) at either end of a doc line.
fn strip_string_quotes(l: &str) -> &str {
    let mut s = l;
    let lower = s.to_ascii_lowercase();
    for prefix in [
        "r\"\"\"", "u\"\"\"", "b\"\"\"", "r'''", "u'''", "\"\"\"", "'''", "~s\"\"\"",
    ] {
        if lower.starts_with(prefix) {
            s = &s[prefix.len()..];
            break;
        }
    }
    for suffix in ["\"\"\"", "'''"] {
        if let Some(rest) = s.strip_suffix(suffix) {
            s = rest;
        }
    }
    if s.len() >= 2 && (s.starts_with('"') && s.ends_with('"') || s.starts_with('\'') && s.ends_with('\'')) {
        s = &s[1..s.len() - 1];
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    pub(crate) fn run(lang: &str, src: &str) -> Extraction {
        let cancel = AtomicBool::new(false);
        let budget = Budget {
            deadline: Instant::now() + Duration::from_secs(10),
            cancel: &cancel,
        };
        extract(languages::by_name(lang).unwrap(), src.as_bytes(), budget)
    }

    #[test]
    fn python_classes_methods_docs_and_calls() {
        let src = "import os.path\n\nclass Store(Base):\n    \"\"\"Keeps things.\"\"\"\n\n    @property\n    def size(self) -> int:\n        return len(self.items)\n\ndef helper(x,\n           y):\n    # not a docstring\n    def inner():\n        pass\n    return Store()\n";
        let ex = run("python", src);
        let names: Vec<(String, &str, Option<String>)> = ex
            .symbols
            .iter()
            .map(|s| (s.name.clone(), s.kind.name(), s.container.clone()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("Store".into(), "class", None),
                ("size".into(), "method", Some("Store".into())),
                ("helper".into(), "function", None),
                ("inner".into(), "function", Some("helper".into())),
            ]
        );
        assert_eq!(ex.symbols[0].doc.as_deref(), Some("Keeps things."));
        assert_eq!(
            ex.symbols[1].range.start_line, 6,
            "starts at `def`, decorators excluded"
        );
        assert_eq!(ex.symbols[2].signature, "def helper(x, y)");
        let calls: Vec<(&str, Option<usize>)> = ex
            .references
            .iter()
            .filter(|r| r.kind == ReferenceKind::Call)
            .map(|r| (r.name.as_str(), r.from_symbol))
            .collect();
        assert!(calls.contains(&("len", Some(1))));
        assert!(calls.contains(&("Store", Some(2))));
        assert!(ex
            .references
            .iter()
            .any(|r| r.kind == ReferenceKind::Import && r.target == "os.path"));
        assert!(!ex.has_error);
    }

    #[test]
    fn syntax_errors_still_yield_symbols() {
        let ex = run(
            "python",
            "def ok():\n    pass\n\ndef broken(:\n    pass\n\nclass After:\n    pass\n",
        );
        assert!(ex.has_error);
        assert!(ex.symbols.iter().any(|s| s.name == "ok"));
        assert!(ex.symbols.iter().any(|s| s.name == "After"));
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let depth = 100_000;
        let src = format!("x = {}{}\n", "[".repeat(depth), "]".repeat(depth));
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || run("python", &src).symbols.len())
            .unwrap();
        assert_eq!(handle.join().unwrap(), 1); // the module-level `x`
    }

    #[test]
    fn cancel_flag_stops_work() {
        let cancel = AtomicBool::new(true);
        let budget = Budget {
            deadline: Instant::now() + Duration::from_secs(10),
            cancel: &cancel,
        };
        let src = "def f():\n    pass\n".repeat(20_000);
        let ex = extract(languages::by_name("python").unwrap(), src.as_bytes(), budget);
        assert!(ex.timed_out);
    }

    #[test]
    fn invalid_utf8_keeps_positions() {
        let mut src = b"x = '\xff\xfe'\ndef f():\n    pass\n".to_vec();
        src.extend_from_slice("def g():  # \u{1F600}\n    pass\n".as_bytes());
        let cancel = AtomicBool::new(false);
        let budget = Budget {
            deadline: Instant::now() + Duration::from_secs(10),
            cancel: &cancel,
        };
        let ex = extract(languages::by_name("python").unwrap(), &src, budget);
        let names: Vec<&str> = ex.symbols.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, vec!["x", "f", "g"]);
        assert_eq!(ex.symbols[1].range.start_line, 1);
    }

    #[test]
    fn split_and_clean_helpers() {
        assert_eq!(split_qualified("Foo::bar"), ("bar".into(), Some("Foo".into())));
        assert_eq!(split_qualified("a::b::~c"), ("~c".into(), Some("a.b".into())));
        assert_eq!(split_qualified("plain"), ("plain".into(), None));
        assert_eq!(clean_container("(r *Repo[T])"), "Repo");
        assert_eq!(
            clean_doc("/**\n * Adds.\n * More.\n */").as_deref(),
            Some("Adds.\nMore.")
        );
        assert_eq!(clean_doc("\"\"\"Doc.\"\"\"").as_deref(), Some("Doc."));
        assert_eq!(last_segment("self.store.put"), "put");
        assert_eq!(
            last_segment(&without_generics("std::vector<std::pair<int, int>>::push_back")),
            "push_back"
        );
        assert_eq!(file_stem("../lib/ring.h"), "ring");
        assert_eq!(file_stem("./transport"), "transport");
        assert_eq!(clean_doc("/// <summary>Adds.</summary>").as_deref(), Some("Adds."));
    }
}
