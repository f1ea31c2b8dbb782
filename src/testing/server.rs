//! The loopback HTTP/1.1 server of the tests, in one of two modes:
//!
//! - scripted ([`TestServer::builder`]): replies set per path, faults included, one request per
//!   connection. It stops on its own: after a number of connections, after a lifetime, or when
//!   dropped, whichever is first.
//! - directory ([`TestServer::serve_dir`]): GET and HEAD of the files below a folder (a mirror),
//!   404 for anything else, with keep-alive. It has no connection or lifetime limit, for long
//!   tests; it stops when dropped.
//!
//! Either way it records every request it answers.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read as _, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How the server answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with this body.
    Serve(Vec<u8>),
    /// This status and an empty body.
    Status(u16),
    /// Announces the whole body in `Content-Length`, sends only the first
    /// `n` bytes, and closes the connection.
    DropAfter(Vec<u8>, usize),
    /// Reads the request, waits this long sending nothing, and closes.
    Stall(Duration),
    /// Like `DropAfter`, but waits this long before closing.
    StallAfter(Vec<u8>, usize, Duration),
    /// 302 to this location.
    Redirect(String),
    /// Sends these bytes verbatim (status line, headers, body) and closes.
    Raw(Vec<u8>),
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The request target as sent: `/path` normally, `host:port` for
    /// CONNECT.
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first header of that name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Default)]
struct State {
    routes: Mutex<HashMap<String, VecDeque<Reply>>>,
    requests: Mutex<Vec<Request>>,
    stop: AtomicBool,
    /// Directory mode: each open connection's stream (to shut it down) and thread (to join it).
    connections: Mutex<Vec<(TcpStream, JoinHandle<()>)>>,
}

/// Builds a [`TestServer`].
pub struct Builder {
    routes: HashMap<String, VecDeque<Reply>>,
    max_connections: usize,
    lifetime: Duration,
}

impl Builder {
    /// Every request to `path` gets `reply`.
    pub fn route(self, path: &str, reply: Reply) -> Self {
        self.sequence(path, [reply])
    }

    /// Requests to `path` get these replies in order; the last one
    /// repeats.
    pub fn sequence(mut self, path: &str, replies: impl IntoIterator<Item = Reply>) -> Self {
        let replies: VecDeque<Reply> = replies.into_iter().collect();
        assert!(!replies.is_empty(), "a route needs at least one reply");
        self.routes.insert(path.to_owned(), replies);
        self
    }

    /// Connections served before the server stops (default 64). The
    /// server answers with `Connection: close`, so this is also the
    /// number of requests.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    pub fn start(self) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener
            .set_nonblocking(true)
            .expect("make the listener non-blocking");
        let addr = listener.local_addr().expect("listener address");
        let state = Arc::new(State {
            routes: Mutex::new(self.routes),
            ..State::default()
        });
        let thread_state = Arc::clone(&state);
        let (max, lifetime) = (self.max_connections, self.lifetime);
        let accept = std::thread::spawn(move || accept_loop(listener, thread_state, max, lifetime));
        TestServer {
            addr,
            state,
            accept: Some(accept),
            blocking_accept: false,
        }
    }
}

/// See the module documentation.
pub struct TestServer {
    addr: SocketAddr,
    state: Arc<State>,
    accept: Option<JoinHandle<()>>,
    /// Directory mode: the accept loop blocks, so stopping it takes a connection to wake it.
    blocking_accept: bool,
}

impl TestServer {
    pub fn builder() -> Builder {
        Builder {
            routes: HashMap::new(),
            max_connections: 64,
            lifetime: Duration::from_secs(60),
        }
    }

    /// Serves the files below `dir` (see the module documentation) on `127.0.0.1` at a free
    /// port. One thread accepts, one thread serves each connection.
    pub fn serve_dir(dir: &Path) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("listener address");
        let state = Arc::new(State::default());
        let thread_state = Arc::clone(&state);
        let dir = dir.to_owned();
        let accept = std::thread::spawn(move || dir_accept_loop(&listener, &thread_state, &dir));
        TestServer {
            addr,
            state,
            accept: Some(accept),
            blocking_accept: true,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.state.requests.lock().expect("requests lock").clone()
    }

    /// How many requests were made for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        if self.blocking_accept {
            // Wakes the blocking accept(); the loop sees the flag and returns.
            let _ = TcpStream::connect(self.addr);
        }
        if let Some(accept) = self.accept.take() {
            // A panic in the server has already failed the test through
            // the client's view of it.
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

fn accept_loop(listener: TcpListener, state: Arc<State>, max: usize, lifetime: Duration) {
    let started = Instant::now();
    let mut handlers = Vec::new();
    while handlers.len() < max && !state.stop.load(Ordering::SeqCst) && started.elapsed() < lifetime
    {
        match listener.accept() {
            Ok((stream, _)) => {
                let state = Arc::clone(&state);
                handlers.push(std::thread::spawn(move || serve(stream, &state)));
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(_) => break,
        }
    }
    // Refuse further connections at once rather than leave them hanging.
    drop(listener);
    for handler in handlers {
        let _ = handler.join();
    }
}

fn serve(stream: TcpStream, state: &State) {
    // Accepted sockets inherit non-blocking mode on some systems.
    if stream.set_nonblocking(false).is_err()
        || stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .is_err()
    {
        return;
    }
    let Some(request) = read_request(&stream) else {
        return;
    };
    let reply = {
        let mut routes = state.routes.lock().expect("routes lock");
        match routes.get_mut(&request.path) {
            Some(replies) if replies.len() > 1 => replies.pop_front(),
            Some(replies) => replies.front().cloned(),
            None => None,
        }
    }
    .unwrap_or(Reply::Status(404));
    state.requests.lock().expect("requests lock").push(request);
    // Write errors mean the client gave up, which tests observe anyway.
    let _ = respond(stream, &reply, state);
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let header = line.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
        if headers.len() > 100 {
            return None;
        }
    }
    Some(Request {
        method,
        path,
        headers,
    })
}

fn respond(mut stream: TcpStream, reply: &Reply, state: &State) -> std::io::Result<()> {
    let head = |status: u16, extra: &str, length: usize| {
        format!(
            "HTTP/1.1 {status} {}\r\n{extra}Content-Length: {length}\r\nConnection: close\r\n\r\n",
            reason(status)
        )
    };
    match reply {
        Reply::Serve(body) => {
            stream.write_all(head(200, "", body.len()).as_bytes())?;
            stream.write_all(body)?;
        }
        Reply::Status(status) => stream.write_all(head(*status, "", 0).as_bytes())?,
        Reply::DropAfter(body, n) => {
            stream.write_all(head(200, "", body.len()).as_bytes())?;
            stream.write_all(&body[..(*n).min(body.len())])?;
        }
        Reply::Stall(duration) => wait(*duration, state),
        Reply::StallAfter(body, n, duration) => {
            stream.write_all(head(200, "", body.len()).as_bytes())?;
            stream.write_all(&body[..(*n).min(body.len())])?;
            stream.flush()?;
            wait(*duration, state);
        }
        Reply::Redirect(location) => {
            let extra = format!("Location: {location}\r\n");
            stream.write_all(head(302, &extra, 0).as_bytes())?;
        }
        Reply::Raw(bytes) => stream.write_all(bytes)?,
    }
    stream.flush()
}

/// Sleeps, but wakes up early when the server is dropped.
fn wait(duration: Duration, state: &State) {
    let until = Instant::now() + duration;
    while Instant::now() < until && !state.stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

// ---------------------------------------------------------------------------------------------
// Directory mode.

fn dir_accept_loop(listener: &TcpListener, state: &Arc<State>, dir: &Path) {
    for stream in listener.incoming() {
        if state.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let Ok(handle) = stream.try_clone() else {
            continue;
        };
        let connection_state = Arc::clone(state);
        let dir = dir.to_owned();
        let thread = std::thread::spawn(move || {
            // A client gone quiet for this long is dropped; any I/O error ends the connection.
            let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
            let _ = serve_connection(&stream, &connection_state, &dir);
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
fn serve_connection(stream: &TcpStream, state: &State, dir: &Path) -> std::io::Result<()> {
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
        let mut headers = Vec::new();
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
            headers.push((name.trim().to_owned(), value.to_owned()));
        }
        std::io::copy(&mut (&mut reader).take(body_length), &mut std::io::sink())?;
        state
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Request {
                method: method.to_owned(),
                path: target.to_owned(),
                headers,
            });
        let connection = if close { "close" } else { "keep-alive" };
        let file = match method {
            "GET" | "HEAD" => file_below(dir, target),
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
    let mut full: PathBuf = dir.to_owned();
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
