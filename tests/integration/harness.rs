//! A small harness: each test gets a fresh temporary directory, writes a release into it if it
//! needs one, runs the kerf binary and asserts exact output.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest as _, Sha256};

/// The project's `../shared` directory, when it is present (CI has it; a fresh clone has not).
pub(crate) fn shared() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    path.is_dir().then_some(path)
}

/// Runs the body only when `../shared` is present; says so when it is not.
#[macro_export]
macro_rules! with_shared {
    ($shared:ident => $body:block) => {
        match $crate::harness::shared() {
            Some($shared) => $body,
            None => {
                eprintln!("skipping: ../shared is absent (a fresh clone); CI runs this test");
            }
        }
    };
}

/// A temporary directory for one test.
pub(crate) struct TestDir {
    dir: tempfile::TempDir,
}

impl TestDir {
    pub(crate) fn new() -> TestDir {
        TestDir {
            dir: tempfile::tempdir().expect("cannot create a temporary directory"),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `relative` below the directory, creating parents.
    pub(crate) fn write(&self, relative: &str, text: &str) -> &TestDir {
        let path = self.dir.path().join(relative);
        fs_err::create_dir_all(path.parent().expect("a file has a parent"))
            .expect("cannot create directories");
        fs_err::write(&path, text).expect("cannot write a test file");
        self
    }
}

/// The result of one kerf run.
pub(crate) struct Run {
    pub(crate) status: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Asserts exit status 0 and returns stdout.
    #[track_caller]
    pub(crate) fn success(&self) -> &str {
        assert_eq!(
            self.status, 0,
            "kerf failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    /// Asserts the exit status and the exact stderr.
    #[track_caller]
    pub(crate) fn fails_with(&self, status: i32, stderr: &str) {
        assert_eq!(
            (self.status, self.stderr.as_str()),
            (status, stderr),
            "stdout:\n{}",
            self.stdout
        );
    }
}

/// Runs the kerf binary with `args` in `cwd`, with none of the environment variables that would
/// change where it looks or when it thinks it is (kerf's own, and proxies, so that loopback
/// mirrors are reached directly).
pub(crate) fn kerf(cwd: &Path, args: &[&str]) -> Run {
    kerf_with(cwd, &[], args)
}

/// [`kerf`], with `env` set on top: `KERF_NOW`, for one.
pub(crate) fn kerf_with(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kerf"));
    for name in [
        "RUST_LOG",
        "KERF_CACHE_DIR",
        "KERF_ARCHIVE_URL",
        "KERF_NOW",
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        command.env_remove(name);
    }
    let output: Output = command
        .envs(env.iter().copied())
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("cannot run kerf");
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A minimal valid chisel.yaml of the given format, for releases written by tests.
pub(crate) fn chisel_yaml(format: &str) -> String {
    format!(
        "format: {format}\n\
         maintenance:\n  standard: 2024-04-25\n  end-of-life: 2036-04-29\n\
         archives:\n  ubuntu:\n    version: 24.04\n    components: [main]\n    suites: [noble]\n    public-keys: [test-key]\n\
         public-keys:\n  test-key:\n    id: \"1A0E304BEEDCF2EB\"\n    armor: |\n{}",
        TEST_KEY_ARMOR.lines().map(|line| format!("      {line}\n")).collect::<String>()
    )
}

/// A real public key made for the tests (no secret key kept); its long ID is 1A0E304BEEDCF2EB.
const TEST_KEY_ARMOR: &str = include_str!("../data/test-key.asc");

/// A static HTTP file server on loopback, for tests that fetch from a mirror: GET and HEAD of
/// files below one directory, 404 for anything else. One thread accepts, one thread serves
/// each connection; dropping the server stops them all.
pub(crate) struct StaticServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    accept: Option<JoinHandle<()>>,
}

struct ServerState {
    dir: PathBuf,
    shutdown: AtomicBool,
    requests: AtomicUsize,
    /// Each connection's stream (to shut it down) and thread (to join it).
    connections: Mutex<Vec<(TcpStream, JoinHandle<()>)>>,
}

impl StaticServer {
    /// Serves the files below `dir` on `127.0.0.1` at a free port.
    pub(crate) fn serve(dir: &Path) -> StaticServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind a loopback port");
        let addr = listener
            .local_addr()
            .expect("a bound socket has an address");
        let state = Arc::new(ServerState {
            dir: dir.to_owned(),
            shutdown: AtomicBool::new(false),
            requests: AtomicUsize::new(0),
            connections: Mutex::new(Vec::new()),
        });
        let accept_state = Arc::clone(&state);
        let accept = std::thread::spawn(move || accept_loop(&listener, &accept_state));
        StaticServer {
            addr,
            state,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT/`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// How many requests have been answered so far, whatever their status.
    pub(crate) fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.state.shutdown.store(true, Ordering::SeqCst);
        // Wakes the blocking accept(); the loop sees the flag and returns.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        let connections = std::mem::take(
            &mut *self
                .state
                .connections
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for (stream, thread) in connections {
            let _ = stream.shutdown(Shutdown::Both);
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, state: &Arc<ServerState>) {
    for stream in listener.incoming() {
        if state.shutdown.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let Ok(handle) = stream.try_clone() else {
            continue;
        };
        let connection_state = Arc::clone(state);
        let thread = std::thread::spawn(move || {
            // A client gone quiet for this long is dropped; any I/O error ends the connection.
            let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
            let _ = serve_connection(&stream, &connection_state);
            // The accept loop holds a clone of the socket: only shutdown closes it for the peer.
            let _ = stream.shutdown(Shutdown::Both);
        });
        let mut connections = state
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Forget the connections that have ended, so a long test does not pile them up.
        let (done, live): (Vec<_>, Vec<_>) = std::mem::take(&mut *connections)
            .into_iter()
            .partition(|(_, thread)| thread.is_finished());
        *connections = live;
        connections.push((handle, thread));
        drop(connections);
        for (_, thread) in done {
            let _ = thread.join();
        }
    }
}

/// Answers requests on one connection until the client closes it, asks to, or errs.
fn serve_connection(stream: &TcpStream, state: &ServerState) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut parts = request_line.split_whitespace();
        let (method, target, version) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        let mut close = version != "HTTP/1.1";
        let mut body_length = 0u64;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 {
                return Ok(());
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close")
                    || (close && !value.eq_ignore_ascii_case("keep-alive"));
            } else if name.eq_ignore_ascii_case("content-length") {
                body_length = value.parse().unwrap_or(0);
            }
        }
        std::io::copy(&mut (&mut reader).take(body_length), &mut std::io::sink())?;
        state.requests.fetch_add(1, Ordering::SeqCst);
        let connection = if close { "close" } else { "keep-alive" };
        let file = match method {
            "GET" | "HEAD" => file_below(&state.dir, target),
            _ => None,
        };
        match file {
            Some((mut file, length)) => {
                write!(
                    writer,
                    "HTTP/1.1 200 OK\r\nContent-Length: {length}\r\nContent-Type: application/octet-stream\r\nConnection: {connection}\r\n\r\n"
                )?;
                if method == "GET" {
                    std::io::copy(&mut file, &mut writer)?;
                }
            }
            None => {
                let body = "not found\n";
                write!(
                    writer,
                    "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\nContent-Type: text/plain\r\nConnection: {connection}\r\n\r\n{body}",
                    body.len()
                )?;
            }
        }
        writer.flush()?;
        if close {
            return Ok(());
        }
    }
}

/// The regular file a request target names below `dir`, and its length: percent-escapes
/// decoded, the query dropped, `..` and empty or NUL-bearing names refused.
fn file_below(dir: &Path, target: &str) -> Option<(fs_err::File, u64)> {
    let path = target.split(['?', '#']).next()?.strip_prefix('/')?;
    let path = percent_decode(path)?;
    let mut full = dir.to_owned();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            part if part.contains('\0') => return None,
            part => full.push(part),
        }
    }
    let file = fs_err::File::open(&full).ok()?;
    let metadata = file.metadata().ok()?;
    metadata.is_file().then_some((file, metadata.len()))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = std::str::from_utf8(bytes.get(at + 1..at + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The listing `../shared/treesum.py ROOT` prints, byte for byte: one line per entry below
/// `root` (type, mode, size, sha256 or link target, path), in `os.walk`'s top-down order with
/// sorted names. Symlinks to directories are listed, never followed; unreadable directories
/// are skipped, as `os.walk` does.
pub(crate) fn treesum(root: &Path) -> String {
    let mut out = String::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(read) = fs_err::read_dir(&dir) else {
            continue;
        };
        let mut names = Vec::new();
        let mut subdirs = Vec::new();
        for entry in read.flatten() {
            let path = entry.path();
            // os.walk puts an entry among the directories by `is_dir()`, which follows links,
            // but only descends into the ones that are not links.
            let is_link = entry.file_type().is_ok_and(|kind| kind.is_symlink());
            if !is_link && path.is_dir() {
                subdirs.push(path.clone());
            }
            names.push(entry.file_name());
        }
        names.sort();
        for name in names {
            let full = dir.join(&name);
            let rel = format!(
                "/{}",
                full.strip_prefix(root)
                    .expect("the walk stays below the root")
                    .to_string_lossy()
            );
            let Ok(metadata) = fs_err::symlink_metadata(&full) else {
                continue;
            };
            let mode = format!("0o{:o}", metadata.mode() & 0o7777);
            let kind = metadata.file_type();
            let line = if kind.is_symlink() {
                let target = fs_err::read_link(&full).expect("cannot read a symlink");
                format!("l {mode} - {} {rel}", target.to_string_lossy())
            } else if kind.is_dir() {
                format!("d {mode} - - {rel}/")
            } else if kind.is_file() {
                let bytes = fs_err::read(&full).expect("cannot read a file of the root");
                let digest: String = Sha256::digest(&bytes)
                    .iter()
                    .map(|byte| format!("{byte:02x}"))
                    .collect();
                format!("f {mode} {} {digest} {rel}", metadata.len())
            } else {
                format!("? {mode} - - {rel}")
            };
            out.push_str(&line);
            out.push('\n');
        }
        // Descend in sorted order: the stack pops the first name first.
        subdirs.sort();
        pending.extend(subdirs.into_iter().rev());
    }
    out
}
