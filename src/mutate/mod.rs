//! Mutation scripts: the Starlark `mutate` of each selected slice, run after all content
//! exists, over the paths the selection makes mutable (SPEC §6.4).
//!
//! - [`engine`] is the interpreter: the dialect, the `content` value, limits and messages.
//! - [`host`] is what `content` may do to the root: the path rules, symlinks followed inside
//!   the root, writes that replace a file whole, and a record of what changed.
//! - [`child`] runs the scripts in a separate kerf process with an address-space limit, so a
//!   script that allocates without bound fails alone and is reported, instead of taking the
//!   cut (or the machine) down with it.
//!
//! Chisel has no limits at all; kerf bounds each script's steps, heap, call depth, wall-clock
//! time and (in the child) address space.

pub(crate) mod child;
pub(crate) mod engine;
pub(crate) mod host;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::release::SliceKey;
use crate::resolve::Selection;

pub(crate) use host::{RootHost, Written};

/// One slice's script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Script {
    pub(crate) slice: SliceKey,
    pub(crate) source: String,
}

/// The scripts of a selection, in selection order.
pub(crate) fn scripts(selection: &Selection<'_>) -> Vec<Script> {
    selection
        .slices
        .iter()
        .filter(|slice| !slice.mutate.is_empty())
        .map(|slice| Script {
            slice: slice.key(),
            source: slice.mutate.clone(),
        })
        .collect()
}

/// How far one script may go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Function calls and loop iterations.
    pub(crate) ticks: u64,
    /// Bytes of the Starlark heap.
    pub(crate) heap: usize,
    /// Nested calls.
    pub(crate) call_depth: usize,
    /// Wall-clock time.
    pub(crate) time: Duration,
    /// Bytes of address space of the process that runs the scripts (only in the child).
    pub(crate) address_space: u64,
}

impl Default for Limits {
    /// Far above what real scripts use (the corpus' largest, ca-certificates, reads 150
    /// certificates in ~10k ticks and a few MiB), low enough to stop a runaway in seconds.
    fn default() -> Limits {
        Limits {
            ticks: 50_000_000,
            heap: 1 << 30,
            call_depth: 200,
            time: Duration::from_secs(60),
            address_space: 3 << 30,
        }
    }
}

/// What `content` lets a script do. Errors are the messages the script sees, in chisel's
/// wording; the engine adds the position and the cut adds the slice.
pub(crate) trait ContentHost {
    fn read(&self, path: &str) -> Result<Vec<u8>, String>;
    fn write(&self, path: &str, data: &[u8]) -> Result<(), String>;
    fn list(&self, path: &str) -> Result<Vec<String>, String>;
}

/// Why one script failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ScriptFailure {
    /// A syntax error, a runtime error or a step/heap limit, with its position when it has one.
    #[error("{0}")]
    Script(String),
    #[error("the script ran for more than {} s and was stopped", .0.as_secs_f64())]
    Time(Duration),
    #[error("the script took more than {0} steps (calls and loop iterations) and was stopped")]
    Steps(u64),
    #[error("the script ran out of memory (the limit is {} MiB) and was stopped", .0 >> 20)]
    Memory(u64),
}

/// Why the scripts of a cut failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MutateError {
    #[error("slice {slice}: {failure}")]
    Script {
        slice: SliceKey,
        failure: ScriptFailure,
    },
    /// The process that runs the scripts could not be started or talked to.
    #[error("cannot run the mutate scripts: {0}")]
    Runner(String),
}

impl MutateError {
    /// A script that fails is the release's fault (exit status 1); a runner that cannot start
    /// is the machine's.
    pub(crate) fn is_user_error(&self) -> bool {
        match self {
            MutateError::Script { .. } => true,
            MutateError::Runner(_) => false,
        }
    }
}

/// What the scripts changed: the final size and SHA-256 of each file they wrote, by path.
pub(crate) type Changes = BTreeMap<String, Written>;

/// Parses every script first, so a syntax error in the last one stops the cut before the first
/// one changed anything, then runs them in order in this process. `print` gets each line a
/// script prints, with its slice.
pub(crate) fn run_in_process(
    scripts: &[Script],
    host: &RootHost,
    limits: &Limits,
    print: &dyn Fn(&SliceKey, &str),
    started: &dyn Fn(&SliceKey),
) -> Result<Changes, MutateError> {
    let mut parsed = Vec::with_capacity(scripts.len());
    for script in scripts {
        let ast = engine::parse(&script.source).map_err(|failure| MutateError::Script {
            slice: script.slice.clone(),
            failure,
        })?;
        parsed.push((script, ast));
    }
    for (script, ast) in parsed {
        started(&script.slice);
        let print = |text: &str| print(&script.slice, text);
        engine::run(ast, host, limits, &print).map_err(|failure| MutateError::Script {
            slice: script.slice.clone(),
            failure,
        })?;
    }
    Ok(host.changes())
}

#[cfg(test)]
mod tests;
