//! The Python module `lsp_server._native`: the only file that knows PyO3.
//!
//! Results cross as plain dicts and lists (see `lsp_server/_native.pyi`). All heavy work runs with
//! the GIL released. Rust errors become `NativeError` or `ValueError`; expected conditions (binary
//! file, unknown language, syntax errors) are values in the result, never exceptions.
//! Parsing is supervised by default (`supervise.rs`): a grammar that crashes costs one file, which
//! comes back `skipped` with the reason; an open document whose text killed its parser raises
//! `ParserCrashed` from `symbols()` and keeps its text.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyStopIteration, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::document::Document as CoreDocument;
use crate::grep;
use crate::languages::{self, LANGUAGES};
use crate::scan::{self, FileOutcome, Parsing, Scan, ScanOptions};
use crate::supervise::{self, HostedDocument};
use crate::symbol::{Extraction, Span};

create_exception!(
    _native,
    NativeError,
    PyException,
    "An error inside symscope's Rust core."
);
create_exception!(
    _native,
    ParserCrashed,
    NativeError,
    "The parser worker died on this text; it is not parsed again."
);

fn parsing(supervised: bool) -> Parsing {
    if supervised {
        Parsing::Supervised
    } else {
        Parsing::InProcess
    }
}

fn range_utf16(s: &Span) -> (u32, u32, u32, u32) {
    (s.start_line, s.start_utf16, s.end_line, s.end_utf16)
}

fn range_utf8(s: &Span) -> (u32, u32, u32, u32) {
    (s.start_line, s.start_utf8, s.end_line, s.end_utf8)
}

fn extraction_into<'py>(py: Python<'py>, d: &Bound<'py, PyDict>, ex: &Extraction) -> PyResult<()> {
    let symbols = PyList::empty(py);
    for s in &ex.symbols {
        let sd = PyDict::new(py);
        sd.set_item(intern!(py, "name"), &s.name)?;
        sd.set_item(intern!(py, "kind"), pyo3::types::PyString::intern(py, s.kind.name()))?;
        sd.set_item(intern!(py, "kind_id"), s.kind.lsp_number())?;
        sd.set_item(intern!(py, "qualified_name"), s.qualified_name())?;
        sd.set_item(intern!(py, "container"), &s.container)?;
        sd.set_item(intern!(py, "parent"), s.parent)?;
        sd.set_item(intern!(py, "range"), range_utf16(&s.range))?;
        sd.set_item(intern!(py, "selection_range"), range_utf16(&s.selection))?;
        sd.set_item(intern!(py, "range_utf8"), range_utf8(&s.range))?;
        sd.set_item(intern!(py, "selection_range_utf8"), range_utf8(&s.selection))?;
        sd.set_item(intern!(py, "byte_range"), (s.range.start_byte, s.range.end_byte))?;
        sd.set_item(intern!(py, "signature"), &s.signature)?;
        sd.set_item(intern!(py, "doc"), &s.doc)?;
        symbols.append(sd)?;
    }
    // References are the bulk of a result (several per symbol): plain tuples are much cheaper to
    // build than dicts: (name, target, kind, line, col, from_symbol).
    let references = PyList::empty(py);
    for r in &ex.references {
        let kind = pyo3::types::PyString::intern(py, r.kind.name());
        references.append((
            &r.name,
            &r.target,
            kind,
            r.position.start_line,
            r.position.start_utf16,
            r.from_symbol,
        ))?;
    }
    d.set_item(intern!(py, "has_error"), ex.has_error)?;
    d.set_item(intern!(py, "timed_out"), ex.timed_out)?;
    d.set_item(intern!(py, "symbols"), symbols)?;
    d.set_item(intern!(py, "references"), references)?;
    Ok(())
}

fn outcome_to_dict<'py>(py: Python<'py>, o: &FileOutcome) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "path"), &o.path)?;
    d.set_item(intern!(py, "language"), o.language)?;
    d.set_item(intern!(py, "size"), o.size)?;
    d.set_item(intern!(py, "mtime_ns"), o.mtime_ns)?;
    d.set_item(intern!(py, "content_hash"), &o.content_hash)?;
    d.set_item(intern!(py, "skipped"), &o.skipped)?;
    d.set_item(intern!(py, "unchanged"), o.unchanged)?;
    d.set_item(intern!(py, "error"), &o.error)?;
    extraction_into(py, &d, &o.extraction)?;
    Ok(d)
}

fn language_id(name: &str) -> PyResult<usize> {
    languages::by_name(name)
        .ok_or_else(|| PyValueError::new_err(format!("unknown language: {name:?} (see `symscope languages`)")))
}

/// The supported languages with how they are recognised and what is extracted.
#[pyfunction]
fn languages_info(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let out = PyList::empty(py);
    for (id, spec) in LANGUAGES.iter().enumerate() {
        let d = PyDict::new(py);
        d.set_item("name", spec.name)?;
        d.set_item("extensions", spec.extensions.to_vec())?;
        d.set_item("filenames", spec.filenames.to_vec())?;
        d.set_item("shebangs", spec.shebangs.to_vec())?;
        let mut extracts: Vec<String> = Vec::new();
        for name in languages::capture_names(id) {
            let item = if let Some(kind) = name.strip_prefix("definition.") {
                crate::symbol::SymbolKind::from_capture(kind).map(|k| k.name().to_string())
            } else if name.starts_with("reference.call") {
                Some("calls".to_string())
            } else if name.starts_with("reference.import") {
                Some("imports".to_string())
            } else if name == "doc" {
                Some("docs".to_string())
            } else {
                None
            };
            if let Some(item) = item {
                if !extracts.contains(&item) {
                    extracts.push(item);
                }
            }
        }
        d.set_item("extracts", extracts)?;
        out.append(d)?;
    }
    Ok(out)
}

#[pyfunction]
#[pyo3(signature = (path, head=None))]
fn detect_language(path: &str, head: Option<&[u8]>) -> Option<&'static str> {
    languages::detect(path, head).map(|id| LANGUAGES[id].name)
}

#[pyfunction]
fn hash_bytes(py: Python<'_>, data: &[u8]) -> String {
    py.detach(|| scan::hash_hex(data))
}

/// Extracts symbols from bytes already in memory (the CLI's `outline`, tests, unsaved buffers).
#[pyfunction]
#[pyo3(signature = (path, data, language=None, timeout_ms=2000, max_file_size=None, supervised=true))]
fn extract<'py>(
    py: Python<'py>,
    path: &str,
    data: &[u8],
    language: Option<&str>,
    timeout_ms: u64,
    max_file_size: Option<u64>,
    supervised: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let lang = language.map(language_id).transpose()?;
    let cancel = AtomicBool::new(false);
    let max = max_file_size.unwrap_or(u64::MAX);
    let outcome = py.detach(|| {
        scan::extract_bytes(
            path,
            data,
            scan::hash_hex(data),
            lang,
            max,
            Duration::from_millis(timeout_ms),
            &cancel,
            parsing(supervised),
        )
    });
    outcome_to_dict(py, &outcome)
}

/// Walks a workspace in parallel and yields batches of file results as they finish.
#[pyclass(module = "lsp_server._native")]
struct Scanner {
    scan: Option<Scan>,
    batch_size: usize,
}

#[pymethods]
impl Scanner {
    #[new]
    #[pyo3(signature = (root, known=None, max_file_size=scan::DEFAULT_MAX_FILE_SIZE, threads=0, batch_size=256, timeout_ms=2000, excludes=None, supervised=true))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        root: String,
        known: Option<HashMap<String, (u64, i64, String)>>,
        max_file_size: u64,
        threads: usize,
        batch_size: usize,
        timeout_ms: u64,
        excludes: Option<Vec<String>>,
        supervised: bool,
    ) -> PyResult<Self> {
        let opts = ScanOptions {
            root: root.into(),
            known: known.unwrap_or_default(),
            max_file_size,
            threads,
            timeout: Duration::from_millis(timeout_ms),
            excludes: excludes.unwrap_or_default(),
            parsing: parsing(supervised),
        };
        let scan = Scan::start(opts).map_err(PyValueError::new_err)?;
        Ok(Scanner {
            scan: Some(scan),
            batch_size: batch_size.max(1),
        })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let Some(scan) = self.scan.as_ref() else {
            return Err(PyStopIteration::new_err(()));
        };
        let rx = scan.results.clone();
        let batch_size = self.batch_size;
        // Wait for the first result without the GIL, checking for Ctrl-C now and then.
        let mut batch: Vec<FileOutcome> = Vec::new();
        loop {
            let got = py.detach(|| rx.recv_timeout(Duration::from_millis(100)));
            match got {
                Ok(first) => {
                    batch.push(first);
                    while batch.len() < batch_size {
                        match rx.try_recv() {
                            Ok(o) => batch.push(o),
                            Err(_) => break,
                        }
                    }
                    break;
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    if let Err(e) = py.check_signals() {
                        self.cancel();
                        return Err(e);
                    }
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                    self.scan = None;
                    return Err(PyStopIteration::new_err(()));
                }
            }
        }
        let out = PyList::empty(py);
        for o in &batch {
            out.append(outcome_to_dict(py, o)?)?;
        }
        Ok(out)
    }

    fn cancel(&mut self) {
        if let Some(scan) = &self.scan {
            scan.cancel();
        }
    }

    #[getter]
    fn files_seen(&self) -> usize {
        self.scan
            .as_ref()
            .map_or(0, |s| s.files_seen.load(std::sync::atomic::Ordering::Relaxed))
    }
}

enum Tree {
    InProcess(CoreDocument),
    Hosted(HostedDocument),
}

/// An open document kept as a syntax tree and re-parsed incrementally: in the supervised document
/// host by default, in this process with `supervised=False`.
#[pyclass(module = "lsp_server._native")]
struct Document {
    inner: Tree,
}

#[pymethods]
impl Document {
    #[new]
    #[pyo3(signature = (language, text, timeout_ms=2000, max_file_size=scan::DEFAULT_MAX_FILE_SIZE, supervised=true))]
    fn new(
        py: Python<'_>,
        language: &str,
        text: Vec<u8>,
        timeout_ms: u64,
        max_file_size: u64,
        supervised: bool,
    ) -> PyResult<Self> {
        let lang = language_id(language)?;
        let timeout = Duration::from_millis(timeout_ms);
        let inner = py.detach(|| {
            if supervised {
                Tree::Hosted(HostedDocument::new(lang, text, timeout, max_file_size))
            } else {
                Tree::InProcess(CoreDocument::with_limit(lang, text, timeout, max_file_size))
            }
        });
        Ok(Document { inner })
    }

    #[getter]
    fn language(&self) -> &'static str {
        match &self.inner {
            Tree::InProcess(d) => LANGUAGES[d.language].name,
            Tree::Hosted(d) => LANGUAGES[d.language].name,
        }
    }

    #[getter]
    fn text<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        match &self.inner {
            Tree::InProcess(d) => PyBytes::new(py, d.text()),
            Tree::Hosted(d) => PyBytes::new(py, d.text()),
        }
    }

    /// Why the parser died on the current text, if it did (the text is then never parsed again).
    #[getter]
    fn failure(&self) -> Option<String> {
        match &self.inner {
            Tree::InProcess(_) => None,
            Tree::Hosted(d) => d.failure().map(str::to_string),
        }
    }

    fn edit(&mut self, py: Python<'_>, start_byte: usize, old_end_byte: usize, new_text: Vec<u8>) -> PyResult<()> {
        let inner = &mut self.inner;
        py.detach(|| match inner {
            Tree::InProcess(d) => d.edit(start_byte, old_end_byte, &new_text),
            Tree::Hosted(d) => d.edit(start_byte, old_end_byte, &new_text),
        })
        .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    fn replace(&mut self, py: Python<'_>, text: Vec<u8>) {
        let inner = &mut self.inner;
        py.detach(|| match inner {
            Tree::InProcess(d) => d.replace(text),
            Tree::Hosted(d) => d.replace(text),
        });
    }

    /// The document's FileResult; `references=False` leaves out the references (outlines never
    /// use them). Raises `ParserCrashed` when the parser died on the current text.
    #[pyo3(signature = (references=true))]
    fn symbols<'py>(&mut self, py: Python<'py>, references: bool) -> PyResult<Bound<'py, PyDict>> {
        let inner = &mut self.inner;
        let (ex, skipped, size, lang) = py
            .detach(|| match inner {
                Tree::InProcess(d) => {
                    let mut ex = d.extraction();
                    if !references {
                        ex.references.clear();
                    }
                    Ok((ex, d.skipped.clone(), d.text().len(), d.language))
                }
                Tree::Hosted(d) => d
                    .extraction(references)
                    .map(|ex| (ex, d.skipped.clone(), d.text().len(), d.language)),
            })
            .map_err(ParserCrashed::new_err)?;
        let d = PyDict::new(py);
        d.set_item("path", "")?;
        d.set_item("language", LANGUAGES[lang].name)?;
        d.set_item("size", size)?;
        d.set_item("mtime_ns", 0)?;
        d.set_item("content_hash", "")?;
        d.set_item("skipped", skipped)?;
        d.set_item("unchanged", false)?;
        d.set_item("error", None::<String>)?;
        extraction_into(py, &d, &ex)?;
        Ok(d)
    }
}

/// Exact text or regex search over `files` (relative to `root`): the first `limit` matching lines
/// in the order given, with context lines. A pattern that does not compile raises ValueError.
#[pyfunction]
#[pyo3(signature = (root, files, pattern, regex=false, case_insensitive=false, context=0, limit=50, timeout_ms=5000))]
#[allow(clippy::too_many_arguments)]
fn search_text<'py>(
    py: Python<'py>,
    root: &str,
    files: Vec<String>,
    pattern: String,
    regex: bool,
    case_insensitive: bool,
    context: usize,
    limit: usize,
    timeout_ms: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let query = grep::TextQuery {
        pattern,
        regex,
        case_insensitive,
        context,
        limit,
        timeout: Duration::from_millis(timeout_ms),
    };
    let root = std::path::PathBuf::from(root);
    let found = py
        .detach(|| grep::search(&root, &files, &query))
        .map_err(PyValueError::new_err)?;
    let matches = PyList::empty(py);
    for m in &found.matches {
        let d = PyDict::new(py);
        d.set_item(intern!(py, "path"), &m.path)?;
        d.set_item(intern!(py, "line"), m.line)?;
        d.set_item(intern!(py, "text"), &m.text)?;
        d.set_item(intern!(py, "char_start"), m.char_start)?;
        d.set_item(intern!(py, "utf16_range"), (m.utf16_start, m.utf16_end))?;
        d.set_item(intern!(py, "utf8_range"), (m.utf8_start, m.utf8_end))?;
        d.set_item(intern!(py, "before"), &m.before)?;
        d.set_item(intern!(py, "after"), &m.after)?;
        matches.append(d)?;
    }
    let out = PyDict::new(py);
    out.set_item("matches", matches)?;
    out.set_item("files_searched", found.files_searched)?;
    out.set_item("truncated", found.truncated)?;
    out.set_item("timed_out", found.timed_out)?;
    out.set_item("refused", found.refused)?;
    Ok(out)
}

/// Sets how parser workers start and what bounds them (None keeps the current value).
#[pyfunction]
#[pyo3(signature = (command=None, cwd=None, memory_mb=None, hang_ms=None, idle_ms=None, env=None))]
fn configure_workers(
    command: Option<Vec<String>>,
    cwd: Option<String>,
    memory_mb: Option<u64>,
    hang_ms: Option<u64>,
    idle_ms: Option<u64>,
    env: Option<HashMap<String, String>>,
) {
    let sup = supervise::supervisor();
    let mut config = sup.config();
    if let Some(command) = command {
        config.command = command.into_iter().map(Into::into).collect();
    }
    if let Some(cwd) = cwd {
        config.cwd = Some(cwd.into());
    }
    if let Some(mb) = memory_mb {
        config.memory_ceiling = mb << 20;
    }
    if let Some(ms) = hang_ms {
        config.hang_after = Duration::from_millis(ms);
    }
    if let Some(ms) = idle_ms {
        config.idle_after = Duration::from_millis(ms);
    }
    if let Some(env) = env {
        config.env = env.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    }
    sup.configure(config);
}

/// The parser workers' settings and counters: started, deaths, hangs, alive.
#[pyfunction]
fn worker_stats(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let sup = supervise::supervisor();
    let (stats, config) = (sup.stats(), sup.config());
    let d = PyDict::new(py);
    d.set_item("started", stats.started)?;
    d.set_item("deaths", stats.deaths)?;
    d.set_item("hangs", stats.hangs)?;
    d.set_item("alive", stats.alive)?;
    d.set_item("memory_mb", config.memory_ceiling >> 20)?;
    d.set_item("hang_ms", config.hang_after.as_millis() as u64)?;
    d.set_item(
        "command",
        config
            .command
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect::<Vec<_>>(),
    )?;
    Ok(d)
}

/// A parser worker's main loop (`python -m lsp_server._worker`): frames on stdin and stdout.
#[pyfunction]
fn serve_worker(py: Python<'_>) -> PyResult<()> {
    py.detach(supervise::serve)
        .map_err(|e| NativeError::new_err(format!("parser worker: {e}")))
}

/// The default worker command: this interpreter running `lsp_server._worker`, from the folder that
/// holds this very package (so the worker imports the same code).
fn default_worker_config(py: Python<'_>) -> PyResult<()> {
    let executable: String = py.import("sys")?.getattr("executable")?.extract()?;
    let package_file: String = py.import("lsp_server")?.getattr("__file__")?.extract()?;
    let cwd = std::path::Path::new(&package_file)
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.to_path_buf());
    let sup = supervise::supervisor();
    let mut config = sup.config();
    if config.command.is_empty() && !executable.is_empty() {
        config.command = vec![executable.into(), "-m".into(), "lsp_server._worker".into()];
        config.cwd = cwd;
    }
    // The bounds a user may change: memory beyond a worker's start-up size, and the allowance
    // past a parse's own budget before a silent worker is killed.
    let from_env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|v| *v > 0)
    };
    if let Some(mb) = from_env("SYMSCOPE_PARSER_MEMORY_MB") {
        config.memory_ceiling = mb << 20;
    }
    if let Some(ms) = from_env("SYMSCOPE_PARSER_HANG_MS") {
        config.hang_after = Duration::from_millis(ms);
    }
    sup.configure(config);
    Ok(())
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("NativeError", m.py().get_type::<NativeError>())?;
    m.add("ParserCrashed", m.py().get_type::<ParserCrashed>())?;
    m.add_function(wrap_pyfunction!(configure_workers, m)?)?;
    m.add_function(wrap_pyfunction!(worker_stats, m)?)?;
    m.add_function(wrap_pyfunction!(serve_worker, m)?)?;
    m.add_function(wrap_pyfunction!(search_text, m)?)?;
    // Outside a normal package import (no lsp_server.__file__) workers wait for configure_workers.
    let _ = default_worker_config(m.py());
    m.add_function(wrap_pyfunction!(languages_info, m)?)?;
    m.add("languages", m.getattr("languages_info")?)?;
    m.add_function(wrap_pyfunction!(detect_language, m)?)?;
    m.add_function(wrap_pyfunction!(hash_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(extract, m)?)?;
    m.add_class::<Scanner>()?;
    m.add_class::<Document>()?;
    Ok(())
}
