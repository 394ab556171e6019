//! The workspace scan: a gitignore-aware walk, content hashing (blake3) and extraction in parallel
//! (rayon), with results streamed to the caller as they finish; parsing itself runs in supervised
//! worker processes unless the caller asks for it in-process (`Parsing`).
//!
//! Skip policy (reported as `skipped: <reason>`, never as an error):
//! - "too large (N bytes > M)": over the size cap (default 2 MB);
//! - "binary": a NUL byte in the first 8 KiB;
//! - "minified": over 4 KiB with an average line over 300 bytes, or any line over 20,000 bytes;
//! - "deeply nested": brackets nested over 1,000 levels (no real source does; parsers and editors
//!   degrade quadratically on such trees);
//! - files of no supported language are not reported at all (they are not source).
//!
//! Hidden files and everything ignored by .gitignore, .ignore, .git/info/exclude or the caller's
//! exclude globs are not visited.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use rayon::prelude::*;

use crate::extract::{self, Budget};
use crate::languages::{self, LanguageId, LANGUAGES};
use crate::supervise;
use crate::symbol::Extraction;

pub const DEFAULT_MAX_FILE_SIZE: u64 = 2_000_000;
const BINARY_SNIFF_BYTES: usize = 8192;
const MINIFIED_MIN_SIZE: usize = 4096;
const MINIFIED_AVG_LINE: usize = 300;
const MINIFIED_MAX_LINE: usize = 20_000;
const MAX_NESTING: usize = 1_000;

/// What the caller knew about a file at the last scan: (size, mtime_ns, content hash).
pub type Known = HashMap<String, (u64, i64, String)>;

#[derive(Clone, Debug)]
pub struct ScanOptions {
    pub root: PathBuf,
    pub known: Known,
    pub max_file_size: u64,
    pub threads: usize,
    pub timeout: Duration,
    pub excludes: Vec<String>,
    pub parsing: Parsing,
}

/// Where grammars run: in this process (trusted input, benchmarks, the core's own tests) or in
/// supervised worker processes, where a grammar's crash costs one file (`supervise.rs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Parsing {
    InProcess,
    #[default]
    Supervised,
}

#[derive(Debug, Default)]
pub struct FileOutcome {
    pub path: String,
    pub language: Option<&'static str>,
    pub size: u64,
    pub mtime_ns: i64,
    pub content_hash: String,
    pub skipped: Option<String>,
    pub unchanged: bool,
    pub error: Option<String>,
    pub extraction: Extraction,
}

pub fn hash_hex(data: &[u8]) -> String {
    blake3::hash(data).to_hex().to_string()
}

/// Why a file's content is not parsed, if it is not: the stated skip policy.
pub fn skip_reason(data: &[u8], max_file_size: u64) -> Option<String> {
    if data.len() as u64 > max_file_size {
        return Some(format!("too large ({} bytes > {})", data.len(), max_file_size));
    }
    if memchr::memchr(0, &data[..data.len().min(BINARY_SNIFF_BYTES)]).is_some() {
        return Some("binary".to_string());
    }
    if data.len() > MINIFIED_MIN_SIZE {
        let mut longest = 0;
        let mut lines = 0;
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', data).chain(std::iter::once(data.len())) {
            longest = longest.max(nl - start);
            lines += 1;
            start = nl + 1;
        }
        if longest > MINIFIED_MAX_LINE || data.len() / lines > MINIFIED_AVG_LINE {
            return Some("minified".to_string());
        }
    }
    if bracket_depth(data) > MAX_NESTING {
        return Some(format!("deeply nested (over {MAX_NESTING} levels of brackets)"));
    }
    None
}

/// The deepest running count of open brackets. Brackets in strings and comments count too:
/// this is a guard against pathological files, not a parser.
fn bracket_depth(data: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for &b in data {
        match b {
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Extracts one in-memory file: detection, skip policy, then the parse under `timeout`.
/// `content_hash` is `hash_hex(data)`, which callers already computed to compare with what they know.
/// Under `Parsing::Supervised` a grammar that crashes, hangs or runs out of memory makes the file
/// `skipped` with the reason (its hash recorded, so it is not parsed again until it changes).
#[allow(clippy::too_many_arguments)]
pub fn extract_bytes(
    path: &str,
    data: &[u8],
    content_hash: String,
    language: Option<LanguageId>,
    max_file_size: u64,
    timeout: Duration,
    cancel: &AtomicBool,
    parsing: Parsing,
) -> FileOutcome {
    let mut out = FileOutcome {
        path: path.to_string(),
        size: data.len() as u64,
        content_hash,
        ..Default::default()
    };
    let lang = language.or_else(|| languages::detect(path, Some(&data[..data.len().min(BINARY_SNIFF_BYTES)])));
    out.language = lang.map(|l| LANGUAGES[l].name);
    if let Some(reason) = skip_reason(data, max_file_size) {
        out.skipped = Some(reason);
        return out;
    }
    let Some(lang) = lang else {
        out.skipped = Some("unsupported language".to_string());
        return out;
    };
    if parsing == Parsing::Supervised {
        match supervise::supervisor().extract(lang, data, timeout) {
            Ok(ex) => out.extraction = ex,
            Err(failure) if failure.blames_content() => out.skipped = Some(failure.reason()),
            Err(failure) => out.error = Some(failure.reason()),
        }
        return out;
    }
    // Compile the language's query (once per process) before the clock starts: the budget is
    // for this file's parse, not for a one-time cost.
    if languages::query(lang).is_err() {
        out.error = Some(format!("no usable query for {}", LANGUAGES[lang].name));
        return out;
    }
    let budget = Budget {
        deadline: Instant::now() + timeout,
        cancel,
    };
    // A panic inside a grammar or in our code must become a per-file error, never an abort.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| extract::extract(lang, data, budget))) {
        Ok(ex) => out.extraction = ex,
        Err(_) => out.error = Some("internal error while extracting symbols (panic caught)".to_string()),
    }
    out
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.to_string_lossy().replace('\\', "/")
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64)
}

/// Language by name alone, or by a shebang for files without an extension.
fn language_for_path(path: &Path) -> Option<LanguageId> {
    let name = path.to_string_lossy();
    if let Some(id) = languages::detect(&name, None) {
        return Some(id);
    }
    let has_extension = path.file_name().is_some_and(|f| f.to_string_lossy().contains('.'));
    if has_extension {
        return None;
    }
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)).ok()?;
    languages::detect(&name, Some(&head[..n]))
}

fn process(root: &Path, path: &Path, opts: &ScanOptions, cancel: &AtomicBool) -> Option<FileOutcome> {
    let lang = language_for_path(path)?;
    let rel = relative(root, path);
    let mut out = FileOutcome {
        path: rel.clone(),
        language: Some(LANGUAGES[lang].name),
        ..Default::default()
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            out.error = Some(format!("cannot stat: {e}"));
            return Some(out);
        }
    };
    out.size = meta.len();
    out.mtime_ns = mtime_ns(&meta);
    let known = opts.known.get(&rel);
    if let Some((size, mtime, hash)) = known {
        if *size == out.size && *mtime == out.mtime_ns {
            out.unchanged = true;
            out.content_hash = hash.clone();
            return Some(out);
        }
    }
    if out.size > opts.max_file_size {
        out.skipped = Some(format!("too large ({} bytes > {})", out.size, opts.max_file_size));
        return Some(out);
    }
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) => {
            out.error = Some(format!("cannot read: {e}"));
            return Some(out);
        }
    };
    let hash = hash_hex(&data);
    if known.is_some_and(|(_, _, h)| *h == hash) {
        out.unchanged = true;
        out.content_hash = hash;
        return Some(out);
    }
    // The name already chose the language; `.h` headers are re-detected from their content.
    let lang = if path.extension().is_some_and(|e| e == "h") {
        None
    } else {
        Some(lang)
    };
    let mut result = extract_bytes(
        &rel,
        &data,
        hash,
        lang,
        opts.max_file_size,
        opts.timeout,
        cancel,
        opts.parsing,
    );
    result.mtime_ns = out.mtime_ns;
    Some(result)
}

/// A running scan. Results arrive on `results` as files finish; the channel closes when done.
pub struct Scan {
    pub results: Receiver<FileOutcome>,
    pub cancel: Arc<AtomicBool>,
    pub files_seen: Arc<AtomicUsize>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl Scan {
    pub fn start(opts: ScanOptions) -> Result<Scan, String> {
        let root =
            std::fs::canonicalize(&opts.root).map_err(|e| format!("cannot open root {}: {e}", opts.root.display()))?;
        if !root.is_dir() {
            return Err(format!("root is not a directory: {}", root.display()));
        }
        let mut overrides = ignore::overrides::OverrideBuilder::new(&root);
        for glob in &opts.excludes {
            overrides
                .add(&format!("!{glob}"))
                .map_err(|e| format!("bad exclude pattern {glob:?}: {e}"))?;
        }
        let overrides = overrides.build().map_err(|e| e.to_string())?;
        let threads = if opts.threads == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            opts.threads
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("symscope-scan-{i}"))
            .build()
            .map_err(|e| e.to_string())?;
        let (tx, rx): (Sender<FileOutcome>, Receiver<FileOutcome>) = crossbeam_channel::bounded(4096);
        let cancel = Arc::new(AtomicBool::new(false));
        let files_seen = Arc::new(AtomicUsize::new(0));
        let (cancel_w, seen_w) = (cancel.clone(), files_seen.clone());
        let worker = std::thread::Builder::new()
            .name("symscope-scan".into())
            .spawn(move || {
                let walker = ignore::WalkBuilder::new(&root)
                    .hidden(true)
                    .require_git(false)
                    .overrides(overrides)
                    .filter_entry(|e| e.file_name() != ".git")
                    .build();
                let paths = walker
                    .filter_map(Result::ok)
                    .filter(|e| e.file_type().is_some_and(|t| t.is_file()));
                let cancel = &*cancel_w;
                pool.install(|| {
                    paths.par_bridge().for_each_with(tx, |tx, entry| {
                        if cancel.load(Ordering::Relaxed) {
                            return;
                        }
                        seen_w.fetch_add(1, Ordering::Relaxed);
                        if let Some(outcome) = process(&root, entry.path(), &opts, cancel) {
                            let _ = tx.send(outcome); // the receiver is gone only when the caller gave up
                        }
                    })
                });
            })
            .map_err(|e| e.to_string())?;
        Ok(Scan {
            results: rx,
            cancel,
            files_seen,
            worker: Some(worker),
        })
    }

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl Drop for Scan {
    fn drop(&mut self) {
        self.cancel();
        // Drain so workers blocked on a full channel can finish, then join.
        while self.results.recv_timeout(Duration::from_millis(1)).is_ok() {}
        if let Some(w) = self.worker.take() {
            let rx = self.results.clone();
            while !w.is_finished() {
                let _ = rx.recv_timeout(Duration::from_millis(5));
            }
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(opts: ScanOptions) -> Vec<FileOutcome> {
        let scan = Scan::start(opts).unwrap();
        let mut v: Vec<FileOutcome> = scan.results.iter().collect();
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v
    }

    fn opts(root: &Path) -> ScanOptions {
        ScanOptions {
            root: root.to_path_buf(),
            known: Known::new(),
            max_file_size: 10_000,
            threads: 2,
            timeout: Duration::from_secs(5),
            excludes: vec![],
            parsing: Parsing::InProcess,
        }
    }

    #[test]
    fn walks_respecting_gitignore_and_skip_policy() {
        let dir = std::env::temp_dir().join(format!("symscope-scan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::create_dir_all(dir.join("build")).unwrap();
        std::fs::write(dir.join(".gitignore"), "build/\n").unwrap();
        std::fs::write(dir.join("src/a.py"), "def a():\n    pass\n").unwrap();
        std::fs::write(dir.join("build/b.py"), "def b():\n    pass\n").unwrap();
        std::fs::write(dir.join("big.py"), "x = 1\n".repeat(5000)).unwrap();
        std::fs::write(dir.join("bin.c"), b"int\0main;").unwrap();
        std::fs::write(dir.join("min.js"), "var a=1;".repeat(1000)).unwrap();
        std::fs::write(dir.join("deep.js"), "f(\n".repeat(1500) + &")\n".repeat(1500)).unwrap();
        std::fs::write(dir.join("notes.bin"), b"\x00\x01").unwrap();
        std::fs::write(dir.join("tool"), "#!/usr/bin/env python3\ndef main():\n    pass\n").unwrap();
        std::fs::create_dir_all(dir.join(".hidden")).unwrap();
        std::fs::write(dir.join(".hidden/h.py"), "def h(): pass\n").unwrap();

        let found = scan_all(opts(&dir));
        let summary: Vec<(&str, Option<&str>, usize)> = found
            .iter()
            .map(|f| (f.path.as_str(), f.skipped.as_deref(), f.extraction.symbols.len()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("big.py", Some("too large (30000 bytes > 10000)"), 0),
                ("bin.c", Some("binary"), 0),
                ("deep.js", Some("deeply nested (over 1000 levels of brackets)"), 0),
                ("min.js", Some("minified"), 0),
                ("src/a.py", None, 1),
                ("tool", None, 1),
            ]
        );

        // A second scan with what we know: nothing is parsed again.
        let mut o = opts(&dir);
        for f in &found {
            o.known
                .insert(f.path.clone(), (f.size, f.mtime_ns, f.content_hash.clone()));
        }
        assert!(scan_all(o).iter().all(|f| f.unchanged));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
