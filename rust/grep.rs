//! Exact text and regex search over the files the index covers, on ripgrep's own libraries:
//! `grep-regex` (the `regex` crate: linear time in the input, no backtracking, a bounded compiled
//! size) and `grep-searcher` (line-oriented search with context lines and binary detection).
//!
//! The caller names the files (the index's own list, so the ignore rules and the skip policy are
//! the scan's); each is opened only if it is a plain file inside the root by its real path.
//! Files are searched in order, in parallel chunks, so the first `limit` matches are always the
//! same ones, and the search stops early once a chunk completes the page.
//!
//! Must never: read a file the caller did not list, a file outside the root or one reached through
//! a symbolic link; run a pattern whose compiled form is over its size limit; go past its deadline
//! by more than one chunk of files.

use std::collections::HashMap;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use grep_matcher::Matcher;
use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkContext, SinkContextKind, SinkMatch};
use rayon::prelude::*;

use crate::positions::utf16_len;

/// Longest line text returned (bytes); a longer line is cut around the match.
pub const MAX_LINE_BYTES: usize = 400;
/// Compiled-regex and lazy-DFA budgets: a pattern like `(a{100}){100}` is refused, not run.
const REGEX_SIZE_LIMIT: usize = 4 << 20;
const DFA_SIZE_LIMIT: usize = 8 << 20;
const CHUNK_FILES: usize = 64;

#[derive(Clone, Debug)]
pub struct TextQuery {
    pub pattern: String,
    /// false: `pattern` is a literal string.
    pub regex: bool,
    pub case_insensitive: bool,
    /// Lines of context before and after each match.
    pub context: usize,
    pub limit: usize,
    pub timeout: Duration,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextMatch {
    /// As the caller listed it (relative to the root).
    pub path: String,
    /// 1-based.
    pub line: u64,
    /// Byte columns of the first match in the line, 0-based, end exclusive (in `text`).
    pub start: usize,
    pub end: usize,
    /// The line without its terminator, invalid UTF-8 replaced, cut to MAX_LINE_BYTES around the match.
    pub text: String,
    /// How many bytes were cut from the start of the line to fit (0 when none).
    pub cut_before: usize,
    /// The match in the whole line, 0-based: characters, UTF-16 units and bytes (an invalid byte
    /// counts as one unit, as everywhere in the core).
    pub char_start: usize,
    pub utf16_start: u32,
    pub utf16_end: u32,
    pub utf8_start: usize,
    pub utf8_end: usize,
    pub before: Vec<String>,
    pub after: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct TextResult {
    pub matches: Vec<TextMatch>,
    pub files_searched: usize,
    /// More matches exist than `limit` (the page is full and the search stopped).
    pub truncated: bool,
    pub timed_out: bool,
    /// Files listed but not searched: (path, why).
    pub refused: Vec<(String, String)>,
}

pub fn compile(query: &TextQuery) -> Result<RegexMatcher, String> {
    let mut builder = RegexMatcherBuilder::new();
    builder
        .fixed_strings(!query.regex)
        .case_insensitive(query.case_insensitive)
        .line_terminator(Some(b'\n'))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(DFA_SIZE_LIMIT)
        .nest_limit(64);
    builder.build(&query.pattern).map_err(|e| format!("bad pattern: {e}"))
}

/// Searches `files` (relative to `root`) for `query`, first matches in the order given.
pub fn search(root: &Path, files: &[String], query: &TextQuery) -> Result<TextResult, String> {
    if query.pattern.is_empty() {
        return Err("the pattern is empty".into());
    }
    let matcher = compile(query)?;
    let root = std::fs::canonicalize(root).map_err(|e| format!("cannot open root {}: {e}", root.display()))?;
    let deadline = Instant::now() + query.timeout;
    let folders = inside_folders(&root, files);
    let mut out = TextResult::default();
    let limit = query.limit.max(1);
    for chunk in files.chunks(CHUNK_FILES) {
        if Instant::now() >= deadline {
            out.timed_out = true;
            break;
        }
        let found: Vec<Result<Vec<TextMatch>, (String, String)>> = chunk
            .par_iter()
            .map(|rel| {
                let path = confined(&root, &folders, rel).map_err(|why| (rel.clone(), why))?;
                search_file(&matcher, &path, rel, query.context, limit + 1).map_err(|e| (rel.clone(), e.to_string()))
            })
            .collect();
        for item in found {
            match item {
                Ok(matches) => {
                    out.files_searched += 1;
                    out.matches.extend(matches);
                }
                Err(refusal) => out.refused.push(refusal),
            }
        }
        if out.matches.len() > limit {
            break;
        }
    }
    if out.matches.len() > limit {
        out.matches.truncate(limit);
        out.truncated = true;
    }
    Ok(out)
}

/// The folders holding the listed files, each with whether its real path lies inside `root`
/// (resolved once per folder, in parallel: most files share their folder).
fn inside_folders(root: &Path, files: &[String]) -> HashMap<PathBuf, bool> {
    let mut folders: Vec<PathBuf> = files
        .iter()
        .filter_map(|f| Path::new(f).parent().map(Path::to_path_buf))
        .collect();
    folders.sort();
    folders.dedup();
    folders
        .into_par_iter()
        .map(|rel| {
            let inside = std::fs::canonicalize(root.join(&rel)).is_ok_and(|real| real.starts_with(root));
            (rel, inside)
        })
        .collect()
}

/// The file `rel` names, if it is a plain file (not a link) in a folder inside `root` by real path.
fn confined(root: &Path, folders: &HashMap<PathBuf, bool>, rel: &str) -> Result<PathBuf, String> {
    let relative = Path::new(rel);
    if relative.is_absolute() || relative.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err("not a plain relative path".into());
    }
    let folder = relative.parent().unwrap_or(Path::new(""));
    if !folders.get(folder).copied().unwrap_or(false) {
        return Err("outside the workspace".into());
    }
    let path = root.join(relative);
    let meta = std::fs::symlink_metadata(&path).map_err(|e| e.to_string())?;
    if !meta.file_type().is_file() {
        return Err(if meta.file_type().is_symlink() {
            "a symbolic link"
        } else {
            "not a regular file"
        }
        .into());
    }
    Ok(path)
}

fn search_file(
    matcher: &RegexMatcher,
    path: &Path,
    rel: &str,
    context: usize,
    cap: usize,
) -> io::Result<Vec<TextMatch>> {
    let mut searcher: Searcher = SearcherBuilder::new()
        .line_number(true)
        .before_context(context)
        .after_context(context)
        .binary_detection(BinaryDetection::quit(0))
        .max_matches(Some(cap as u64))
        .build();
    let mut sink = Collect {
        matcher,
        rel,
        matches: Vec::new(),
        before: Vec::new(),
    };
    searcher.search_path(matcher, path, &mut sink)?;
    Ok(sink.matches)
}

struct Collect<'a> {
    matcher: &'a RegexMatcher,
    rel: &'a str,
    matches: Vec<TextMatch>,
    /// Before-context lines waiting for the match they precede.
    before: Vec<String>,
}

fn line_text(bytes: &[u8]) -> &[u8] {
    let mut end = bytes.len();
    while end > 0 && matches!(bytes[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &bytes[..end]
}

fn lossy_cut(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_LINE_BYTES)]).into_owned()
}

impl Sink for Collect<'_> {
    type Error = io::Error;

    fn matched(&mut self, _searcher: &Searcher, mat: &SinkMatch<'_>) -> Result<bool, io::Error> {
        // A match is reported as the line(s) holding it; one match per line, first occurrence.
        for (i, line) in mat.lines().enumerate() {
            let line = line_text(line);
            let (start, end) = match self.matcher.find(line) {
                Ok(Some(m)) => (m.start(), m.end()),
                _ => (0, 0),
            };
            // Keep the match visible in a cut line: start the window shortly before it.
            let cut_before = if line.len() > MAX_LINE_BYTES && end > MAX_LINE_BYTES {
                start.saturating_sub(40)
            } else {
                0
            };
            let window = &line[cut_before..];
            let text = lossy_cut(window);
            let char_start = String::from_utf8_lossy(&line[..start]).chars().count();
            self.matches.push(TextMatch {
                char_start,
                utf16_start: utf16_len(&line[..start]),
                utf16_end: utf16_len(&line[..end]),
                utf8_start: start,
                utf8_end: end,
                path: self.rel.to_string(),
                line: mat.line_number().unwrap_or(0) + i as u64,
                start: start - cut_before,
                end: (end - cut_before).min(window.len().min(MAX_LINE_BYTES)),
                text,
                cut_before,
                before: std::mem::take(&mut self.before),
                after: Vec::new(),
            });
        }
        Ok(true)
    }

    fn context(&mut self, _searcher: &Searcher, ctx: &SinkContext<'_>) -> Result<bool, io::Error> {
        let text = lossy_cut(line_text(ctx.bytes()));
        match ctx.kind() {
            SinkContextKind::Before => self.before.push(text),
            SinkContextKind::After => {
                if let Some(last) = self.matches.last_mut() {
                    last.after.push(text);
                }
            }
            SinkContextKind::Other => {}
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pattern: &str, regex: bool) -> TextQuery {
        TextQuery {
            pattern: pattern.into(),
            regex,
            case_insensitive: false,
            context: 1,
            limit: 10,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn finds_literals_and_regexes_with_context_in_listed_files_only() {
        let dir = std::env::temp_dir().join(format!("symscope-grep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join("src/a.py"),
            "import os\nTOKEN = os.environ['API_TOKEN']\nprint(TOKEN)\n",
        )
        .unwrap();
        std::fs::write(dir.join("src/b.py"), "x = 'a.b'\ny = 'axb'\n").unwrap();
        std::fs::write(dir.join("unlisted.py"), "API_TOKEN\n").unwrap();
        let files = vec![
            "src/a.py".to_string(),
            "src/b.py".to_string(),
            "../etc/passwd".to_string(),
        ];

        let found = search(&dir, &files, &query("API_TOKEN", false)).unwrap();
        assert_eq!(found.matches.len(), 1);
        let m = &found.matches[0];
        assert_eq!((m.path.as_str(), m.line, m.start, m.end), ("src/a.py", 2, 20, 29));
        assert_eq!(m.before, vec!["import os"]);
        assert_eq!(m.after, vec!["print(TOKEN)"]);
        assert_eq!(
            found.refused,
            vec![("../etc/passwd".to_string(), "not a plain relative path".to_string())]
        );

        // A literal dot is a dot; as a regex it is any character.
        assert_eq!(search(&dir, &files, &query("a.b", false)).unwrap().matches.len(), 1);
        assert_eq!(search(&dir, &files, &query("a.b", true)).unwrap().matches.len(), 2);
        // Patterns too big to compile are refused, not run.
        assert!(search(&dir, &files, &query("(a{100}){100}{100}", true))
            .unwrap_err()
            .starts_with("bad pattern"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
