//! Running the scripts in a child kerf process.
//!
//! Starlark's heap limit is checked only every thousand steps, so `s = s + s` repeated forty
//! times, or `[0] * 2000000000`, allocates gigabytes before any check runs. In-process that
//! ends with the allocator aborting kerf (or the kernel killing it). The child runs under an
//! address-space limit instead: what it cannot allocate ends the child alone, and the cut says
//! which slice's script ran out of memory.
//!
//! The protocol: the parent writes one JSON [`Request`] to the child's stdin; the child writes
//! one JSON [`Event`] per line to its stdout. The child is `kerf` itself, started with
//! [`WORKER_ARG`] as its only argument.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    run_in_process, Changes, Limits, MutateError, RootHost, Script, ScriptFailure, Written,
};
use crate::extract::root::Root;
use crate::release::SliceKey;

/// The argument that makes `kerf` the script runner rather than the command line.
pub(crate) const WORKER_ARG: &str = "__kerf-mutate-worker";

/// How the scripts of a cut are run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Runner {
    /// In a child process: this executable (kerf), started with [`WORKER_ARG`].
    Child(PathBuf),
    /// Scripts cannot run, for this reason; a cut that has none is not affected.
    Unavailable(String),
    /// In this process, without the address-space limit (for tests of the cut library).
    #[cfg(test)]
    InProcess,
}

/// What the parent sends.
#[derive(Serialize, Deserialize)]
struct Request {
    root: PathBuf,
    created: Vec<String>,
    mutable: BTreeSet<String>,
    scripts: Vec<WireScript>,
    ticks: u64,
    heap: usize,
    call_depth: usize,
    seconds: u64,
    address_space: u64,
}

#[derive(Serialize, Deserialize)]
struct WireScript {
    slice: String,
    source: String,
}

/// What the child reports, one per line.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Event {
    Started {
        slice: String,
    },
    Print {
        slice: String,
        text: String,
    },
    Failed {
        slice: String,
        failure: WireFailure,
    },
    Done {
        changes: BTreeMap<String, WireWritten>,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WireFailure {
    Script(String),
    Time(u64),
    Steps(u64),
    Memory(u64),
}

#[derive(Serialize, Deserialize)]
struct WireWritten {
    size: u64,
    sha256: String,
}

fn slice_key(text: &str) -> SliceKey {
    let (package, name) = text.split_once('_').unwrap_or((text, ""));
    SliceKey::new(package, name)
}

/// What the scripts run against: the root, the paths the cut created, the mutable ones.
pub(crate) struct Job<'a> {
    pub(crate) root: &'a Path,
    pub(crate) created: Vec<String>,
    pub(crate) mutable: BTreeSet<String>,
    pub(crate) scripts: &'a [Script],
    pub(crate) limits: &'a Limits,
}

/// Where a script's output and progress go.
pub(crate) trait Listener {
    fn started(&self, slice: &SliceKey);
    fn printed(&self, slice: &SliceKey, text: &str);
}

/// Runs the job's scripts with `runner`; returns what they changed.
pub(crate) fn run(
    runner: &Runner,
    job: Job<'_>,
    listener: &dyn Listener,
) -> Result<Changes, MutateError> {
    match runner {
        #[cfg(test)]
        Runner::InProcess => {
            let root =
                Root::create(job.root).map_err(|error| MutateError::Runner(error.to_string()))?;
            let host = RootHost::new(
                root,
                job.created.iter().map(String::as_str),
                job.mutable,
                job.limits.heap as u64,
            );
            run_in_process(
                job.scripts,
                &host,
                job.limits,
                &|slice, text| listener.printed(slice, text),
                &|slice| listener.started(slice),
            )
        }
        Runner::Child(exe) => run_child(exe, job, listener),
        Runner::Unavailable(reason) => Err(MutateError::Runner(reason.clone())),
    }
}

fn run_child(exe: &Path, job: Job<'_>, listener: &dyn Listener) -> Result<Changes, MutateError> {
    let limits = job.limits;
    let request = Request {
        root: job.root.to_owned(),
        created: job.created,
        mutable: job.mutable,
        scripts: job
            .scripts
            .iter()
            .map(|script| WireScript {
                slice: script.slice.to_string(),
                source: script.source.clone(),
            })
            .collect(),
        ticks: limits.ticks,
        heap: limits.heap,
        call_depth: limits.call_depth,
        seconds: limits.time.as_secs().max(1),
        address_space: limits.address_space,
    };
    let runner_error = |what: &str, error: std::io::Error| {
        MutateError::Runner(format!("{what} {}: {error}", exe.display()))
    };
    tracing::debug!(
        "running {} mutate script(s) in {} {WORKER_ARG}",
        job.scripts.len(),
        exe.display()
    );
    let mut child = Command::new(exe)
        .arg(WORKER_ARG)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_clear()
        .spawn()
        .map_err(|error| runner_error("cannot start", error))?;
    let pid = child.id();
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| MutateError::Runner("no stdin".into()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| MutateError::Runner("no stdout".into()))?;
    let mut stderr = child
        .stderr
        .take()
        .ok_or_else(|| MutateError::Runner("no stderr".into()))?;
    let body =
        serde_json::to_vec(&request).map_err(|error| MutateError::Runner(error.to_string()))?;

    // Each script stops itself at its deadline; this is the backstop for a child that hangs
    // outside the interpreter.
    let budget = limits.time * u32::try_from(job.scripts.len()).unwrap_or(u32::MAX).max(1)
        + Duration::from_secs(30);
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let outcome = std::thread::scope(|scope| {
        scope.spawn(move || {
            if stopped.recv_timeout(budget) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                if let Some(pid) = i32::try_from(pid)
                    .ok()
                    .and_then(rustix::process::Pid::from_raw)
                {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
            }
        });
        let errors = scope.spawn(move || {
            // Keep the end of what the child said, for a crash report.
            let mut text = Vec::new();
            let _ = (&mut stderr).take(1 << 20).read_to_end(&mut text);
            let _ = std::io::copy(&mut stderr, &mut std::io::sink());
            String::from_utf8_lossy(&text).into_owned()
        });
        let writer = scope.spawn(move || {
            let _ = stdin.write_all(&body);
        });
        let result = read_events(BufReader::new(stdout), listener);
        let _ = writer.join();
        let status = child.wait();
        let _ = stop.send(());
        let stderr_text = errors.join().unwrap_or_default();
        (result, status, stderr_text)
    });
    let (result, status, stderr_text) = outcome;
    let status = status.map_err(|error| runner_error("cannot wait for", error))?;
    let (last_started, finished) = result?;
    match finished {
        Some(Ok(changes)) if status.success() => Ok(changes),
        Some(Err(error)) => Err(error),
        _ => {
            use std::os::unix::process::ExitStatusExt as _;
            // An allocation that fails aborts the child (SIGABRT); so does a panic in a release
            // build (panics abort there), which says "panicked at" first and is no memory limit.
            let panicked = stderr_text.contains("panicked at");
            let out_of_memory = stderr_text.contains("memory allocation of")
                || stderr_text.contains("out of memory")
                || (status.signal() == Some(6) && !panicked);
            match last_started {
                Some(slice) if out_of_memory => Err(MutateError::Script {
                    slice,
                    failure: ScriptFailure::Memory(limits.address_space),
                }),
                Some(slice) if status.signal() == Some(9) => Err(MutateError::Script {
                    slice,
                    failure: ScriptFailure::Time(limits.time),
                }),
                _ => Err(MutateError::Runner(format!(
                    "the script runner stopped ({status}){}",
                    last_line(&stderr_text)
                ))),
            }
        }
    }
}

fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map(|line| format!(": {}", line.trim()))
        .unwrap_or_default()
}

/// The slice last started, and the final outcome when the child got that far.
type EventsRead = (Option<SliceKey>, Option<Result<Changes, MutateError>>);

fn read_events(
    stdout: impl std::io::BufRead,
    listener: &dyn Listener,
) -> Result<EventsRead, MutateError> {
    let mut last_started = None;
    for line in stdout.lines() {
        let Ok(line) = line else {
            break;
        };
        let event: Event = serde_json::from_str(&line).map_err(|error| {
            MutateError::Runner(format!(
                "unexpected message from the script runner: {error}"
            ))
        })?;
        match event {
            Event::Started { slice } => {
                let key = slice_key(&slice);
                listener.started(&key);
                last_started = Some(key);
            }
            Event::Print { slice, text } => listener.printed(&slice_key(&slice), &text),
            Event::Failed { slice, failure } => {
                let failure = match failure {
                    WireFailure::Script(message) => ScriptFailure::Script(message),
                    WireFailure::Time(seconds) => ScriptFailure::Time(Duration::from_secs(seconds)),
                    WireFailure::Steps(ticks) => ScriptFailure::Steps(ticks),
                    WireFailure::Memory(bytes) => ScriptFailure::Memory(bytes),
                };
                let error = MutateError::Script {
                    slice: slice_key(&slice),
                    failure,
                };
                return Ok((last_started, Some(Err(error))));
            }
            Event::Done { changes } => {
                let changes = changes
                    .into_iter()
                    .map(|(path, written)| {
                        (
                            path,
                            Written {
                                size: written.size,
                                sha256: written.sha256,
                            },
                        )
                    })
                    .collect();
                return Ok((last_started, Some(Ok(changes))));
            }
        }
    }
    Ok((last_started, None))
}

/// The child's side: reads the request, limits itself, runs the scripts, reports. Returns the
/// process's exit status.
pub(crate) fn worker_main() -> u8 {
    // A cut killed while its scripts run takes them with it, rather than leave them writing
    // into a root nobody waits for.
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    let mut body = Vec::new();
    if std::io::stdin().lock().read_to_end(&mut body).is_err() {
        return 2;
    }
    let Ok(request) = serde_json::from_slice::<Request>(&body) else {
        return 2;
    };
    drop(body);
    let stdout = std::io::stdout();
    let emit = |event: &Event| {
        if let Ok(mut line) = serde_json::to_vec(event) {
            line.push(b'\n');
            let mut out = stdout.lock();
            let _ = out.write_all(&line);
            let _ = out.flush();
        }
    };
    let limit = rustix::process::Rlimit {
        current: Some(request.address_space),
        maximum: Some(request.address_space),
    };
    let _ = rustix::process::setrlimit(rustix::process::Resource::As, limit);
    let no_core = rustix::process::Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    let _ = rustix::process::setrlimit(rustix::process::Resource::Core, no_core);

    let limits = Limits {
        ticks: request.ticks,
        heap: request.heap,
        call_depth: request.call_depth,
        time: Duration::from_secs(request.seconds),
        address_space: request.address_space,
    };
    let scripts: Vec<Script> = request
        .scripts
        .into_iter()
        .map(|script| Script {
            slice: slice_key(&script.slice),
            source: script.source,
        })
        .collect();
    let root = match Root::create(&request.root) {
        Ok(root) => root,
        Err(error) => {
            let slice = scripts
                .first()
                .map(|script| script.slice.to_string())
                .unwrap_or_default();
            emit(&Event::Failed {
                slice,
                failure: WireFailure::Script(error.to_string()),
            });
            return 1;
        }
    };
    let host = RootHost::new(
        root,
        request.created.iter().map(String::as_str),
        request.mutable,
        limits.heap as u64,
    );
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_in_process(
            &scripts,
            &host,
            &limits,
            &|slice, text| {
                emit(&Event::Print {
                    slice: slice.to_string(),
                    text: text.to_owned(),
                })
            },
            &|slice| {
                emit(&Event::Started {
                    slice: slice.to_string(),
                })
            },
        )
    }));
    match outcome {
        Ok(Ok(changes)) => {
            emit(&Event::Done {
                changes: changes
                    .into_iter()
                    .map(|(path, written)| {
                        (
                            path,
                            WireWritten {
                                size: written.size,
                                sha256: written.sha256,
                            },
                        )
                    })
                    .collect(),
            });
            0
        }
        Ok(Err(MutateError::Script { slice, failure })) => {
            let failure = match failure {
                ScriptFailure::Script(message) => WireFailure::Script(message),
                ScriptFailure::Time(time) => WireFailure::Time(time.as_secs()),
                ScriptFailure::Steps(ticks) => WireFailure::Steps(ticks),
                ScriptFailure::Memory(bytes) => WireFailure::Memory(bytes),
            };
            emit(&Event::Failed {
                slice: slice.to_string(),
                failure,
            });
            1
        }
        Ok(Err(MutateError::Runner(_))) => 2,
        // The interpreter's allocator panics when it cannot grow; anything else that panics
        // is reported by the parent from stderr. (Where panics abort, as in a release build,
        // the parent sees SIGABRT instead, with the same stderr.)
        Err(_) => 3,
    }
}
