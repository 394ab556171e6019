//! Fuzzes `symscope_core::scan::extract_bytes`, the one entry point every file goes through
//! (skip policy, parse under a deadline, tags query, nesting, signatures, docs).
//!
//! Language selection:
//! - `SYMSCOPE_FUZZ_LANG=<name>` (a `LANGUAGES` name such as `ruby`): the whole input is the file,
//!   so a crash artifact is directly a source file of that language (what the campaign uses);
//! - unset: the first byte picks `LANGUAGES[byte % LANGUAGES.len()]`, the rest is the file.
//!
//! A crash here is an abort (C assertion in a grammar or external scanner), a memory error (ASan,
//! also in the grammars' C code when it is built with clang, see ../README.md), a Rust panic (even
//! one `extract_bytes` would catch: libfuzzer-sys aborts on every panic), a hang past the
//! libFuzzer `-timeout` (our own parse budget below is much shorter), or an allocation past
//! `-rss_limit_mb`.
#![no_main]

use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use symscope_core::languages::{self, LanguageId, LANGUAGES};
use symscope_core::scan::{extract_bytes, Parsing, DEFAULT_MAX_FILE_SIZE};

/// Our own per-file budget: a parse that outlives it must stop by itself (`timed_out`), so a
/// libFuzzer timeout (seconds) means the budget is not honoured somewhere.
const BUDGET: Duration = Duration::from_millis(1000);

fn fixed_language() -> Option<LanguageId> {
    static LANG: OnceLock<Option<LanguageId>> = OnceLock::new();
    *LANG.get_or_init(|| {
        let name = std::env::var("SYMSCOPE_FUZZ_LANG").ok().filter(|n| !n.is_empty())?;
        match languages::by_name(&name) {
            Some(id) => Some(id),
            None => {
                let names: Vec<_> = LANGUAGES.iter().map(|l| l.name).collect();
                eprintln!(
                    "SYMSCOPE_FUZZ_LANG={name}: unknown language; one of {}",
                    names.join(" ")
                );
                std::process::exit(2);
            }
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let (lang, file) = match fixed_language() {
        Some(id) => (id, data),
        None => match data.split_first() {
            Some((&b, rest)) => (b as usize % LANGUAGES.len(), rest),
            None => return,
        },
    };
    let cancel = AtomicBool::new(false);
    // In-process: the fuzzer must see the crash itself, not a supervised worker's report of it.
    let out = extract_bytes(
        "fuzz",
        file,
        String::new(),
        Some(lang),
        DEFAULT_MAX_FILE_SIZE,
        BUDGET,
        &cancel,
        Parsing::InProcess,
    );
    // The only errors extract_bytes reports are a query that does not compile (a bug on every
    // input) and a caught panic (already an abort above); both are findings.
    if let Some(err) = out.error {
        panic!("{}: {err}", LANGUAGES[lang].name);
    }
});
