//! How a cut shows its progress: bars on a terminal, plain lines in a build log, nothing but
//! errors with `-q`.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::human_bytes;
use crate::report::Reporter;

/// A reporter the CLI can also close, so bars are cleared before the summary line.
pub(crate) trait Printer: Reporter {
    fn finish(&self) {}
}

/// Bars when stderr is a terminal (and not quiet or verbose), plain lines otherwise.
pub(crate) fn reporter(quiet: bool, verbose: bool) -> Box<dyn Printer> {
    if !quiet && !verbose && std::io::stderr().is_terminal() {
        Box::new(Bars::new())
    } else {
        Box::new(Lines { quiet, verbose })
    }
}

/// With `-vv`, kerf's debug events (requests, cache hits, scripts) go to stderr as plain lines.
pub(crate) fn trace(enabled: bool) {
    if !enabled {
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
}

/// Plain lines on stderr, with no escape codes: what a build log wants.
struct Lines {
    quiet: bool,
    verbose: bool,
}

#[expect(clippy::print_stderr, reason = "progress and warnings go to stderr")]
impl Reporter for Lines {
    fn step(&self, text: &str) {
        if self.verbose {
            eprintln!("{text}");
        }
    }

    fn warning(&self, text: &str) {
        if !self.quiet {
            eprintln!("warning: {text}");
        }
    }

    fn download_started(&self, name: &str, total: u64) {
        if !self.quiet {
            eprintln!("Fetching {name} ({})", human_bytes(total));
        }
    }

    /// What a script prints is its author's output: shown even with `-q`, as chisel does.
    fn script_printed(&self, _slice: &crate::release::SliceKey, text: &str) {
        eprintln!("{text}");
    }
}

impl Printer for Lines {}

/// One bar per running download under an overall bar of bytes.
struct Bars {
    multi: MultiProgress,
    total: ProgressBar,
    running: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    fn new() -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let total = multi.add(ProgressBar::new(0));
        total.set_style(
            ProgressStyle::with_template(
                "{prefix:>12} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        total.set_prefix("Downloading");
        Bars {
            multi,
            total,
            running: Mutex::new(HashMap::new()),
        }
    }
}

impl Reporter for Bars {
    fn script_printed(&self, _slice: &crate::release::SliceKey, text: &str) {
        self.multi.suspend(|| {
            #[expect(clippy::print_stderr, reason = "a script's output goes to stderr")]
            {
                eprintln!("{text}");
            }
        });
    }

    fn warning(&self, text: &str) {
        let _ = self.multi.println(format!("warning: {text}"));
    }

    fn download_started(&self, name: &str, total: u64) {
        self.total.inc_length(total);
        let bar = self.multi.add(ProgressBar::new(total));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>12} [{bar:30}] {bytes}/{total_bytes} {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix("Fetching");
        bar.set_message(name.to_owned());
        if let Ok(mut running) = self.running.lock() {
            running.insert(name.to_owned(), bar);
        }
    }

    fn download_progress(&self, name: &str, done: u64) {
        if let Ok(running) = self.running.lock() {
            if let Some(bar) = running.get(name) {
                let delta = done.saturating_sub(bar.position());
                bar.set_position(done);
                self.total.inc(delta);
            }
        }
    }

    fn download_finished(&self, name: &str) {
        if let Ok(mut running) = self.running.lock() {
            if let Some(bar) = running.remove(name) {
                bar.finish_and_clear();
                self.multi.remove(&bar);
            }
        }
    }
}

impl Printer for Bars {
    fn finish(&self) {
        self.total.finish_and_clear();
        let _ = self.multi.clear();
    }
}
