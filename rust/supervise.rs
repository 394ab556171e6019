//! Parsing in supervised worker processes: a grammar that aborts, overflows its stack, loops or
//! exhausts memory costs the one file or document it was parsing, never the process that asked.
//!
//! Grammars are third-party C. Their external scanners have assertions and bugs of their own, and
//! an `abort()` inside one ends whatever process runs it: no `catch_unwind` can stop it. So every
//! parse of outside content runs in a worker process (`python -m lsp_server._worker`, which calls
//! [`serve`]):
//! - [`Supervisor::extract`] parses whole files (the scan, `extract`) on a pool of interchangeable
//!   workers. A worker that dies costs the file in flight, reported as a [`Failure`], and the next
//!   request starts a fresh one.
//! - [`HostedDocument`] keeps an editor's open document as an incrementally re-parsed tree inside
//!   one document host. When the host dies, the document whose request was in flight is reported
//!   and that content is never sent again; the other documents are re-opened from the text they
//!   keep on this side.
//!
//! Containment:
//! - each worker caps its own address space (`RLIMIT_AS`) at its start-up size plus the memory
//!   ceiling, so a runaway allocation fails inside the worker, which says so on stderr;
//! - a watchdog kills a worker that has not answered within its hang budget (a scanner looping
//!   where tree-sitter's cancellation checks never run) and stops pool workers idle for a while;
//! - a worker exits by itself when the process that started it is gone.
//!
//! Wire format on a worker's stdin/stdout: frames of a `u32` little-endian length, then postcard.
//! Every request gets exactly one response, so a death is always charged to the request in flight.
//! The worker's stderr is forwarded to ours and its last lines kept: they say why it died.
//!
//! Must never: parse in the calling process, wait on a worker without a deadline, or let a worker's
//! death surface as anything but a [`Failure`] of the one request in flight.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::document::{Document, EditError};
use crate::extract::{self, Budget};
use crate::languages::{self, LanguageId, LANGUAGES};
use crate::scan::{hash_hex, skip_reason};
use crate::symbol::Extraction;

/// Largest frame either side accepts (a 2 MB file's extraction is a few MB).
const MAX_FRAME: usize = 1 << 30;
/// How much of a worker's stderr is kept for the report of its death.
const STDERR_TAIL_BYTES: usize = 4096;
/// Set in a worker's environment: the memory ceiling in bytes, beyond its start-up size.
const MEMORY_ENV: &str = "SYMSCOPE_WORKER_MEMORY_CEILING";
/// Set (to "1") in the environment of the tests' workers only: see [`injected_fault`].
const FAULTS_ENV: &str = "SYMSCOPE_WORKER_FAULTS";

// -- wire format ------------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
enum Request<'a> {
    Extract {
        language: u32,
        timeout_ms: u64,
        #[serde(borrow, with = "serde_bytes")]
        data: &'a [u8],
    },
    Open {
        id: u64,
        language: u32,
        timeout_ms: u64,
        max_file_size: u64,
        #[serde(borrow, with = "serde_bytes")]
        text: &'a [u8],
    },
    Edit {
        id: u64,
        start: u64,
        old_end: u64,
        #[serde(borrow, with = "serde_bytes")]
        text: &'a [u8],
    },
    Symbols {
        id: u64,
        references: bool,
    },
    Close {
        id: u64,
    },
}

#[derive(Serialize, Deserialize)]
enum Response {
    /// A whole file's extraction, or the message of a panic caught while extracting it.
    Extracted(Result<Extraction, String>),
    /// An open document's current symbols.
    Symbols(Extraction),
    /// Open, Edit and Close.
    Done,
    /// The request made no sense to the worker (an unknown document, an edit out of range).
    Refused(String),
}

fn write_frame(w: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len =
        u32::try_from(payload.len()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(payload)?;
    w.flush()
}

/// Reads one frame into `buf`; `false` at a clean end of input.
fn read_frame(r: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<bool> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes is over the limit"),
        ));
    }
    buf.resize(len, 0);
    r.read_exact(buf)?;
    Ok(true)
}

fn invalid_data(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

// -- the worker side --------------------------------------------------------------------------

/// The worker's main loop: answers requests on stdin until the supervisor closes it.
pub fn serve() -> io::Result<()> {
    if let Some(ceiling) = std::env::var(MEMORY_ENV).ok().and_then(|v| v.parse::<u64>().ok()) {
        limit_address_space(ceiling);
    }
    exit_with_parent();
    let faults = std::env::var(FAULTS_ENV).is_ok_and(|v| v == "1");
    let mut input = io::stdin().lock();
    // fd 1 unbuffered by lines: frames are binary and flushed whole.
    let mut output = BufWriter::new(io::stdout().lock());
    let mut documents: HashMap<u64, Document> = HashMap::new();
    let mut frame = Vec::new();
    while read_frame(&mut input, &mut frame)? {
        let request: Request = postcard::from_bytes(&frame).map_err(invalid_data)?;
        let response = answer(request, &mut documents, faults);
        write_frame(&mut output, &postcard::to_stdvec(&response).map_err(invalid_data)?)?;
    }
    Ok(())
}

fn answer(request: Request, documents: &mut HashMap<u64, Document>, faults: bool) -> Response {
    let language = |id: u32| -> Result<LanguageId, Response> {
        let id = id as usize;
        if id < LANGUAGES.len() {
            Ok(id)
        } else {
            Err(Response::Refused(format!("no language number {id}")))
        }
    };
    match request {
        Request::Extract {
            language: lang,
            timeout_ms,
            data,
        } => {
            let lang = match language(lang) {
                Ok(l) => l,
                Err(refusal) => return refusal,
            };
            if faults {
                injected_fault(data);
            }
            // The one-time query compilation stays outside the file's budget.
            if languages::query(lang).is_err() {
                return Response::Extracted(Err(format!("no usable query for {}", LANGUAGES[lang].name)));
            }
            let cancel = AtomicBool::new(false);
            let budget = Budget {
                deadline: Instant::now() + Duration::from_millis(timeout_ms),
                cancel: &cancel,
            };
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| extract::extract(lang, data, budget)));
            Response::Extracted(
                result.map_err(|_| "internal error while extracting symbols (panic caught)".to_string()),
            )
        }
        Request::Open {
            id,
            language: lang,
            timeout_ms,
            max_file_size,
            text,
        } => {
            let lang = match language(lang) {
                Ok(l) => l,
                Err(refusal) => return refusal,
            };
            if faults {
                injected_fault(text);
            }
            let timeout = Duration::from_millis(timeout_ms);
            documents.insert(id, Document::with_limit(lang, text.to_vec(), timeout, max_file_size));
            Response::Done
        }
        Request::Edit {
            id,
            start,
            old_end,
            text,
        } => {
            let Some(doc) = documents.get_mut(&id) else {
                return Response::Refused(format!("no open document {id}"));
            };
            if faults {
                injected_fault(text);
            }
            match doc.edit(start as usize, old_end as usize, text) {
                Ok(()) => Response::Done,
                Err(e) => Response::Refused(e.to_string()),
            }
        }
        Request::Symbols { id, references } => {
            let Some(doc) = documents.get(&id) else {
                return Response::Refused(format!("no open document {id}"));
            };
            let mut extraction = doc.extraction();
            if !references {
                extraction.references = Vec::new();
            }
            Response::Symbols(extraction)
        }
        Request::Close { id } => {
            documents.remove(&id);
            Response::Done
        }
    }
}

/// Caps this process's address space at its current size plus `ceiling` bytes.
fn limit_address_space(ceiling: u64) {
    #[cfg(target_os = "linux")]
    {
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
        let current = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()))
            .map_or(0, |pages| pages * page);
        let limit = current.saturating_add(ceiling);
        let rlim = libc::rlimit {
            rlim_cur: limit as libc::rlim_t,
            rlim_max: limit as libc::rlim_t,
        };
        // Best effort: a worker without the cap is still supervised by the watchdog.
        unsafe { libc::setrlimit(libc::RLIMIT_AS, &rlim) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = ceiling;
}

/// A worker stuck inside a grammar never reads its closed stdin: a thread notices when the
/// process that started it is gone and ends the worker.
fn exit_with_parent() {
    #[cfg(unix)]
    {
        let parent = unsafe { libc::getppid() };
        let _ = std::thread::Builder::new()
            .name("symscope-worker-orphan".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_millis(500));
                if unsafe { libc::getppid() } != parent {
                    unsafe { libc::_exit(3) };
                }
            });
    }
}

/// Fault injection for the tests of supervision, active only where the supervisor set
/// `SYMSCOPE_WORKER_FAULTS=1` in the worker's environment: content starting with
/// `symscope-fault:<kind>` misbehaves the way a broken grammar does. Inert everywhere else.
fn injected_fault(data: &[u8]) {
    let Some(rest) = data.strip_prefix(b"symscope-fault:") else {
        return;
    };
    let kind: Vec<u8> = rest.iter().copied().take_while(|b| b.is_ascii_alphanumeric()).collect();
    match kind.as_slice() {
        b"abort" => {
            eprintln!("injected fault: abort");
            std::process::abort();
        }
        b"segv" => unsafe {
            libc::raise(libc::SIGSEGV);
        },
        b"hang" => loop {
            std::thread::sleep(Duration::from_secs(1));
        },
        b"oom" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 64 << 20]);
            }
        }
        _ => {}
    }
}

// -- the supervisor side ----------------------------------------------------------------------

/// How workers are started and bounded.
#[derive(Clone, Debug)]
pub struct Config {
    /// The worker command line, e.g. `[python, -m, lsp_server._worker]`; empty: not configured.
    pub command: Vec<OsString>,
    pub cwd: Option<PathBuf>,
    /// Extra environment for the workers (the tests' fault injection).
    pub env: Vec<(OsString, OsString)>,
    /// Memory a worker may take beyond its start-up size, in bytes.
    pub memory_ceiling: u64,
    /// A worker that has not answered this long after a request's own parse budget is killed.
    pub hang_after: Duration,
    /// Pool workers idle this long are stopped (the document host is kept).
    pub idle_after: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            command: Vec::new(),
            cwd: None,
            env: Vec::new(),
            memory_ceiling: 2 << 30,
            hang_after: Duration::from_secs(10),
            idle_after: Duration::from_secs(30),
        }
    }
}

/// Why a request got no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The worker died of a signal (an abort, a segfault, a stack overflow).
    Crashed { signal: i32, detail: Option<String> },
    /// The worker exited on its own in the middle of the request.
    Exited { code: i32, detail: Option<String> },
    /// The watchdog killed the worker: no answer within the parse budget plus the hang allowance.
    Hung { after: Duration },
    /// The worker ran into its memory ceiling.
    OutOfMemory { ceiling: u64 },
    /// A panic inside extraction, caught in the worker (which lives on).
    Internal(String),
    /// No worker could be started or talked to: nothing to do with the content.
    Unavailable(String),
}

impl Failure {
    /// Whether the content itself is to blame, so it must not be parsed again.
    pub fn blames_content(&self) -> bool {
        !matches!(self, Failure::Unavailable(_) | Failure::Internal(_))
    }

    /// The reason a person reads, e.g. `parser crashed (signal 6: SIGABRT)`.
    pub fn reason(&self) -> String {
        let with_detail = |head: String, detail: &Option<String>| match detail {
            Some(d) => format!("{head}: {d}"),
            None => head,
        };
        match self {
            Failure::Crashed { signal, detail } => with_detail(
                format!("parser crashed (signal {signal}{})", signal_name(*signal)),
                detail,
            ),
            Failure::Exited { code, detail } => with_detail(format!("parser worker exited (status {code})"), detail),
            Failure::Hung { after } => format!("parser hung (stopped after {:.1} s)", after.as_secs_f64()),
            Failure::OutOfMemory { ceiling } => {
                format!("parser exceeded the memory ceiling ({} MiB)", ceiling >> 20)
            }
            Failure::Internal(msg) => msg.clone(),
            Failure::Unavailable(msg) => format!("no parser worker: {msg}"),
        }
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGABRT => ": SIGABRT",
        libc::SIGSEGV => ": SIGSEGV",
        libc::SIGBUS => ": SIGBUS",
        libc::SIGFPE => ": SIGFPE",
        libc::SIGILL => ": SIGILL",
        libc::SIGKILL => ": SIGKILL",
        libc::SIGTERM => ": SIGTERM",
        _ => "",
    }
}

/// Counters for status displays.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub started: u64,
    pub deaths: u64,
    pub hangs: u64,
    pub alive: u64,
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: Option<JoinHandle<String>>,
}

impl Worker {
    fn spawn(config: &Config) -> io::Result<Worker> {
        let Some((program, args)) = config.command.split_first() else {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no worker command configured"));
        };
        let mut command = Command::new(program);
        command
            .args(args)
            .env(MEMORY_ENV, config.memory_ceiling.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &config.env {
            command.env(k, v);
        }
        if let Some(cwd) = &config.cwd {
            command.current_dir(cwd);
        }
        let mut child = command.spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let stderr = child.stderr.take().expect("piped stderr");
        let pid = child.id();
        let stderr = std::thread::Builder::new()
            .name("symscope-worker-stderr".into())
            .spawn(move || {
                // Forward every line (they belong in the server's log) and keep the last few.
                let mut tail: Vec<u8> = Vec::new();
                let mut reader = BufReader::new(stderr);
                let mut line = Vec::new();
                while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                    let text = String::from_utf8_lossy(&line);
                    eprintln!("symscope parser worker {pid}: {}", text.trim_end());
                    tail.extend_from_slice(&line);
                    if tail.len() > STDERR_TAIL_BYTES {
                        tail.drain(..tail.len() - STDERR_TAIL_BYTES);
                    }
                    line.clear();
                }
                String::from_utf8_lossy(&tail).into_owned()
            })?;
        Ok(Worker {
            child,
            stdin,
            stdout,
            stderr: Some(stderr),
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn send(&mut self, payload: &[u8]) -> io::Result<()> {
        write_frame(&mut self.stdin, payload)
    }

    fn receive(&mut self) -> io::Result<Response> {
        let mut frame = Vec::new();
        if !read_frame(&mut self.stdout, &mut frame)? {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "worker closed its output"));
        }
        postcard::from_bytes(&frame).map_err(invalid_data)
    }

    /// Waits for a dead (or dying) worker and says what happened to it.
    fn autopsy(mut self, killed_after: Option<Duration>, config: &Config) -> Failure {
        let _ = self.child.kill(); // a worker that broke the protocol but lives on
        let status: io::Result<ExitStatus> = self.child.wait();
        let tail = self.stderr.take().and_then(|h| h.join().ok()).unwrap_or_default();
        let detail = tail.lines().rev().map(str::trim).find(|l| !l.is_empty()).map(|l| {
            let mut l = l.to_string();
            if l.len() > 200 {
                let cut = (0..=200).rev().find(|&i| l.is_char_boundary(i)).unwrap_or(0);
                l.truncate(cut);
                l.push('…');
            }
            l
        });
        if let Some(after) = killed_after {
            return Failure::Hung { after };
        }
        let out_of_memory = tail.contains("memory allocation of") || tail.contains("failed to allocate");
        if out_of_memory {
            return Failure::OutOfMemory {
                ceiling: config.memory_ceiling,
            };
        }
        use std::os::unix::process::ExitStatusExt;
        match status {
            Ok(s) => match (s.signal(), s.code()) {
                (Some(signal), _) => Failure::Crashed { signal, detail },
                (None, Some(code)) => Failure::Exited { code, detail },
                _ => Failure::Exited { code: -1, detail },
            },
            Err(e) => Failure::Unavailable(format!("cannot wait for the worker: {e}")),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing stdin ends a healthy worker; the kill covers one stuck in a grammar.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(h) = self.stderr.take() {
            let _ = h.join();
        }
    }
}

/// Requests in flight, by worker pid: their deadline and whether the watchdog killed them.
type InFlight = HashMap<u32, (Instant, Arc<AtomicBool>)>;

struct Host {
    worker: Option<Worker>,
    /// Bumped whenever the host is replaced: documents opened in an older one re-open.
    generation: u64,
}

/// The process-wide supervisor of parser workers.
pub struct Supervisor {
    config: Mutex<Config>,
    idle: Mutex<Vec<(Worker, Instant)>>,
    in_flight: Mutex<InFlight>,
    host: Mutex<Host>,
    /// Content (language, blake3) that killed the document host: never sent to it again.
    poisoned: Mutex<HashSet<(LanguageId, String)>>,
    next_document: AtomicU64,
    started: AtomicU64,
    deaths: AtomicU64,
    hangs: AtomicU64,
    watchdog: Once,
}

static SUPERVISOR: OnceLock<Supervisor> = OnceLock::new();

/// The supervisor of this process.
pub fn supervisor() -> &'static Supervisor {
    SUPERVISOR.get_or_init(|| Supervisor {
        config: Mutex::new(Config::default()),
        idle: Mutex::new(Vec::new()),
        in_flight: Mutex::new(HashMap::new()),
        host: Mutex::new(Host {
            worker: None,
            generation: 1,
        }),
        poisoned: Mutex::new(HashSet::new()),
        next_document: AtomicU64::new(1),
        started: AtomicU64::new(0),
        deaths: AtomicU64::new(0),
        hangs: AtomicU64::new(0),
        watchdog: Once::new(),
    })
}

/// A poisoned lock only means another thread panicked while holding it; the data is still whole.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Supervisor {
    /// Replaces the configuration; idle workers and the document host stop, so the next request
    /// starts workers with the new settings.
    pub fn configure(&self, config: Config) {
        *lock(&self.config) = config;
        let idle: Vec<(Worker, Instant)> = std::mem::take(&mut *lock(&self.idle));
        drop(idle);
        let mut host = lock(&self.host);
        if host.worker.take().is_some() {
            host.generation += 1;
        }
    }

    pub fn config(&self) -> Config {
        lock(&self.config).clone()
    }

    pub fn stats(&self) -> Stats {
        let alive = lock(&self.idle).len() as u64 + lock(&self.in_flight).len() as u64;
        Stats {
            started: self.started.load(Ordering::Relaxed),
            deaths: self.deaths.load(Ordering::Relaxed),
            hangs: self.hangs.load(Ordering::Relaxed),
            alive,
        }
    }

    fn spawn(&self, config: &Config) -> Result<Worker, Failure> {
        self.start_watchdog();
        let worker = Worker::spawn(config).map_err(|e| {
            let program = config
                .command
                .first()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            Failure::Unavailable(format!("cannot start {program:?}: {e}"))
        })?;
        self.started.fetch_add(1, Ordering::Relaxed);
        Ok(worker)
    }

    /// One request and its answer, under the watchdog. `Err(None)`: the request never reached
    /// the worker (it had died before); `Err(Some(failure))`: it died on this request.
    fn round_trip(
        &self,
        worker: &mut Option<Worker>,
        payload: &[u8],
        budget: Duration,
        config: &Config,
    ) -> Result<Response, Option<Failure>> {
        let w = worker.as_mut().expect("a worker");
        if w.send(payload).is_err() {
            let dead = worker.take().expect("a worker");
            self.deaths.fetch_add(1, Ordering::Relaxed);
            drop(dead);
            return Err(None);
        }
        let pid = w.pid();
        let killed = Arc::new(AtomicBool::new(false));
        let allowed = budget + config.hang_after;
        lock(&self.in_flight).insert(pid, (Instant::now() + allowed, killed.clone()));
        let reply = w.receive();
        lock(&self.in_flight).remove(&pid);
        match reply {
            Ok(response) => Ok(response),
            Err(_) => {
                let dead = worker.take().expect("a worker");
                let hung = killed.load(Ordering::Relaxed);
                self.deaths.fetch_add(1, Ordering::Relaxed);
                if hung {
                    self.hangs.fetch_add(1, Ordering::Relaxed);
                }
                Err(Some(dead.autopsy(hung.then_some(allowed), config)))
            }
        }
    }

    /// Extracts one whole file in a pool worker.
    pub fn extract(&self, language: LanguageId, data: &[u8], timeout: Duration) -> Result<Extraction, Failure> {
        let request = Request::Extract {
            language: language as u32,
            timeout_ms: timeout.as_millis() as u64,
            data,
        };
        let payload = postcard::to_stdvec(&request).map_err(|e| Failure::Unavailable(e.to_string()))?;
        let config = self.config();
        // A pooled worker may have died while idle: that costs one retry on a fresh one.
        for attempt in 0..2 {
            let pooled = lock(&self.idle).pop().map(|(w, _)| w);
            let fresh = pooled.is_none();
            let mut worker = Some(match pooled {
                Some(w) => w,
                None => self.spawn(&config)?,
            });
            match self.round_trip(&mut worker, &payload, timeout, &config) {
                Ok(Response::Extracted(result)) => {
                    lock(&self.idle).push((worker.expect("alive"), Instant::now()));
                    return result.map_err(Failure::Internal);
                }
                Ok(_) => return Err(Failure::Unavailable("the worker answered out of turn".into())),
                Err(None) if attempt == 0 && !fresh => continue,
                Err(None) => {
                    return Err(Failure::Unavailable(
                        "the worker died before reading its request".into(),
                    ))
                }
                Err(Some(failure)) => return Err(failure),
            }
        }
        Err(Failure::Unavailable("no worker could take the request".into()))
    }

    fn start_watchdog(&self) {
        self.watchdog.call_once(|| {
            let _ = std::thread::Builder::new()
                .name("symscope-watchdog".into())
                .spawn(|| supervisor().watch());
        });
    }

    /// The watchdog's loop: kills workers past their deadline, stops pool workers idle too long.
    fn watch(&self) -> ! {
        loop {
            std::thread::sleep(Duration::from_millis(50));
            let now = Instant::now();
            for (pid, (deadline, killed)) in lock(&self.in_flight).iter() {
                if now >= *deadline && !killed.swap(true, Ordering::Relaxed) {
                    // Still a child of ours (it is reaped only after leaving in_flight).
                    unsafe { libc::kill(*pid as libc::pid_t, libc::SIGKILL) };
                }
            }
            let idle_after = lock(&self.config).idle_after;
            // One idle worker stays warm: the next saved file should not wait for a process start.
            let stale: Vec<Worker> = {
                let mut idle = lock(&self.idle);
                let (mut old, mut keep): (Vec<_>, Vec<_>) = idle
                    .drain(..)
                    .partition(|(_, since)| now.duration_since(*since) >= idle_after);
                if keep.is_empty() {
                    old.sort_by_key(|(_, since)| *since);
                    keep.extend(old.pop());
                }
                *idle = keep;
                old.into_iter().map(|(w, _)| w).collect()
            };
            drop(stale);
        }
    }

    fn is_poisoned(&self, language: LanguageId, hash: &str) -> bool {
        lock(&self.poisoned).contains(&(language, hash.to_string()))
    }

    /// One request to the document host. On its death the host is replaced (every document
    /// re-opens), and the failure is the request's.
    fn host_call(&self, host: &mut Host, payload: &[u8], budget: Duration) -> Result<Response, Failure> {
        let config = self.config();
        if host.worker.is_none() {
            host.worker = Some(self.spawn(&config)?);
        }
        match self.round_trip(&mut host.worker, payload, budget, &config) {
            Ok(response) => Ok(response),
            Err(failure) => {
                host.generation += 1;
                Err(failure.unwrap_or_else(|| Failure::Unavailable("the document host had died".into())))
            }
        }
    }
}

// -- open documents in the host ---------------------------------------------------------------

/// An open document whose tree lives in the document host. The text is kept here too: it is the
/// truth, and what a new host is given when the old one dies.
pub struct HostedDocument {
    id: u64,
    pub language: LanguageId,
    text: Vec<u8>,
    /// The scan's skip policy for the current text (such text never reaches the host).
    pub skipped: Option<String>,
    timeout: Duration,
    max_file_size: u64,
    /// The host generation that holds this document's tree; 0 when none does.
    opened_in: u64,
    /// The reason the host died on this document's current text, if it did.
    failure: Option<String>,
}

impl HostedDocument {
    pub fn new(language: LanguageId, text: Vec<u8>, timeout: Duration, max_file_size: u64) -> HostedDocument {
        let id = supervisor().next_document.fetch_add(1, Ordering::Relaxed);
        let skipped = skip_reason(&text, max_file_size);
        let mut doc = HostedDocument {
            id,
            language,
            text,
            skipped,
            timeout,
            max_file_size,
            opened_in: 0,
            failure: None,
        };
        doc.sync();
        doc
    }

    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// Why the host died on the current text, if it did (then it is never sent again).
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Replaces `text[start..old_end]` with `new_text`; the host re-parses incrementally.
    pub fn edit(&mut self, start: usize, old_end: usize, new_text: &[u8]) -> Result<(), EditError> {
        let len = self.text.len();
        if start > old_end || old_end > len {
            return Err(EditError::OutOfRange { start, old_end, len });
        }
        self.text.splice(start..old_end, new_text.iter().copied());
        self.skipped = skip_reason(&self.text, self.max_file_size);
        self.failure = None;
        if self.skipped.is_some() {
            // The host's tree would go stale while the text is skipped: drop it, re-open later.
            self.close();
            return Ok(());
        }
        let sup = supervisor();
        let mut host = lock(&sup.host);
        if self.opened_in == host.generation {
            let request = Request::Edit {
                id: self.id,
                start: start as u64,
                old_end: old_end as u64,
                text: new_text,
            };
            match postcard::to_stdvec(&request) {
                Ok(payload) => match sup.host_call(&mut host, &payload, self.timeout) {
                    Ok(Response::Done) => return Ok(()),
                    Ok(_) => self.opened_in = 0,
                    Err(failure) if failure.blames_content() => {
                        self.opened_in = 0;
                        self.note_failure(&failure);
                        return Ok(());
                    }
                    Err(_) => self.opened_in = 0, // the host had died idle: re-open below
                },
                Err(_) => self.opened_in = 0,
            }
        }
        drop(host);
        self.sync();
        Ok(())
    }

    pub fn replace(&mut self, text: Vec<u8>) {
        self.text = text;
        self.skipped = skip_reason(&self.text, self.max_file_size);
        self.failure = None;
        self.close();
        self.sync();
    }

    /// The document's symbols, or why they cannot be had (the host died on this text).
    pub fn extraction(&mut self, references: bool) -> Result<Extraction, String> {
        if self.skipped.is_some() {
            return Ok(Extraction::default());
        }
        let sup = supervisor();
        let mut last = String::from("the document host is unavailable");
        // A host that died while idle costs one re-open in a fresh host.
        for _ in 0..2 {
            self.sync();
            if let Some(reason) = &self.failure {
                return Err(reason.clone());
            }
            let mut host = lock(&sup.host);
            if self.opened_in != host.generation {
                continue;
            }
            let payload = postcard::to_stdvec(&Request::Symbols {
                id: self.id,
                references,
            })
            .map_err(|e| e.to_string())?;
            match sup.host_call(&mut host, &payload, self.timeout.saturating_mul(2)) {
                Ok(Response::Symbols(extraction)) => return Ok(extraction),
                Ok(Response::Refused(why)) => {
                    self.opened_in = 0;
                    last = why;
                }
                Ok(_) => {
                    self.opened_in = 0;
                    last = "the document host answered out of turn".into();
                }
                Err(failure) => {
                    self.opened_in = 0;
                    drop(host);
                    if failure.blames_content() {
                        self.note_failure(&failure);
                        return Err(failure.reason());
                    }
                    last = failure.reason();
                }
            }
        }
        Err(last)
    }

    /// Makes the host hold this document's current text, unless that text is skipped or has
    /// killed a host before.
    fn sync(&mut self) {
        if self.skipped.is_some() || self.failure.is_some() {
            return;
        }
        let sup = supervisor();
        let hash = hash_hex(&self.text);
        if sup.is_poisoned(self.language, &hash) {
            self.failure = Some("parser crashed on this text before; not parsed again".into());
            return;
        }
        let mut host = lock(&sup.host);
        if self.opened_in == host.generation {
            return;
        }
        let request = Request::Open {
            id: self.id,
            language: self.language as u32,
            timeout_ms: self.timeout.as_millis() as u64,
            max_file_size: self.max_file_size,
            text: &self.text,
        };
        let Ok(payload) = postcard::to_stdvec(&request) else {
            return;
        };
        let mut result = sup.host_call(&mut host, &payload, self.timeout);
        if matches!(result, Err(Failure::Unavailable(_))) {
            result = sup.host_call(&mut host, &payload, self.timeout); // the old host had died idle
        }
        match result {
            Ok(Response::Done) => self.opened_in = host.generation,
            Ok(_) => self.opened_in = 0,
            Err(failure) => {
                self.opened_in = 0;
                drop(host);
                self.note_failure(&failure);
            }
        }
    }

    fn note_failure(&mut self, failure: &Failure) {
        if failure.blames_content() {
            let sup = supervisor();
            lock(&sup.poisoned).insert((self.language, hash_hex(&self.text)));
            self.failure = Some(failure.reason());
        }
    }

    fn close(&mut self) {
        let sup = supervisor();
        let mut host = lock(&sup.host);
        if self.opened_in == host.generation && host.worker.is_some() {
            if let Ok(payload) = postcard::to_stdvec(&Request::Close { id: self.id }) {
                let _ = sup.host_call(&mut host, &payload, self.timeout);
            }
        }
        self.opened_in = 0;
    }
}

impl Drop for HostedDocument {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::languages::by_name;

    #[test]
    fn requests_and_responses_cross_the_wire_intact() {
        let data = b"def f():\n    pass\n";
        let req = Request::Extract {
            language: 3,
            timeout_ms: 50,
            data,
        };
        let mut wire = Vec::new();
        write_frame(&mut wire, &postcard::to_stdvec(&req).unwrap()).unwrap();
        let mut frame = Vec::new();
        assert!(read_frame(&mut wire.as_slice(), &mut frame).unwrap());
        match postcard::from_bytes::<Request>(&frame).unwrap() {
            Request::Extract {
                language,
                timeout_ms,
                data: got,
            } => {
                assert_eq!((language, timeout_ms, got), (3, 50, &data[..]));
            }
            _ => panic!("wrong request"),
        }
        let lang = by_name("python").unwrap();
        let mut docs = HashMap::new();
        let response = answer(
            Request::Extract {
                language: lang as u32,
                timeout_ms: 5000,
                data,
            },
            &mut docs,
            false,
        );
        let bytes = postcard::to_stdvec(&response).unwrap();
        let Response::Extracted(Ok(ex)) = postcard::from_bytes::<Response>(&bytes).unwrap() else {
            panic!("not extracted")
        };
        assert_eq!(ex.symbols.len(), 1);
        assert_eq!(ex.symbols[0].name, "f");
        // An end of input inside a frame is an end of input, not a hang.
        assert!(!read_frame(&mut &wire[..2], &mut frame).unwrap());
    }

    #[test]
    fn the_worker_keeps_documents_and_refuses_nonsense() {
        let lang = by_name("python").unwrap() as u32;
        let mut docs = HashMap::new();
        let open = Request::Open {
            id: 7,
            language: lang,
            timeout_ms: 5000,
            max_file_size: 1 << 20,
            text: b"def a():\n    pass\n",
        };
        assert!(matches!(answer(open, &mut docs, false), Response::Done));
        let edit = Request::Edit {
            id: 7,
            start: 4,
            old_end: 5,
            text: b"b",
        };
        assert!(matches!(answer(edit, &mut docs, false), Response::Done));
        let Response::Symbols(ex) = answer(
            Request::Symbols {
                id: 7,
                references: false,
            },
            &mut docs,
            false,
        ) else {
            panic!()
        };
        assert_eq!(ex.symbols[0].name, "b");
        let bad = Request::Edit {
            id: 7,
            start: 10,
            old_end: 5,
            text: b"",
        };
        assert!(matches!(answer(bad, &mut docs, false), Response::Refused(_)));
        assert!(matches!(
            answer(
                Request::Symbols {
                    id: 8,
                    references: true
                },
                &mut docs,
                false
            ),
            Response::Refused(_)
        ));
        assert!(matches!(
            answer(
                Request::Extract {
                    language: 9999,
                    timeout_ms: 1,
                    data: b""
                },
                &mut docs,
                false
            ),
            Response::Refused(_)
        ));
    }

    #[test]
    fn failures_read_as_reasons() {
        let crashed = Failure::Crashed {
            signal: 6,
            detail: Some("scanner.c:160: Assertion failed".into()),
        };
        assert_eq!(
            crashed.reason(),
            "parser crashed (signal 6: SIGABRT): scanner.c:160: Assertion failed"
        );
        assert!(crashed.blames_content());
        assert_eq!(
            Failure::Hung {
                after: Duration::from_secs(10)
            }
            .reason(),
            "parser hung (stopped after 10.0 s)"
        );
        assert!(!Failure::Unavailable("x".into()).blames_content());
    }
}
