//! A small harness: each test gets a fresh temporary directory, writes a release into it if it
//! needs one, runs the kerf binary and asserts exact output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("skipping: ../shared is absent (a fresh clone); CI runs this test");
                }
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
        std::fs::create_dir_all(path.parent().expect("a file has a parent"))
            .expect("cannot create directories");
        std::fs::write(&path, text).expect("cannot write a test file");
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

/// Runs the kerf binary with `args` in `cwd`.
pub(crate) fn kerf(cwd: &Path, args: &[&str]) -> Run {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_kerf"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
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
         public-keys:\n  test-key:\n    id: \"0123456789ABCDEF\"\n    armor: |\n      placeholder\n"
    )
}
