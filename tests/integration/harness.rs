//! A small harness: each test gets a fresh temporary directory, writes a release into it if it
//! needs one, runs the kerf binary and asserts exact output.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
        "SOURCE_DATE_EPOCH",
        "KERF_CACHE_DIR",
        "KERF_ARCHIVE_URL",
        "KERF_NOW",
        "KERF_SNAPSHOT_URL",
        "KERF_SNAPSHOT_PORTS_URL",
        "KERF_DEBIAN_SNAPSHOT_URL",
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
