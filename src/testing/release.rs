//! Releases written by tests: a real public key for `chisel.yaml` (the loader decodes every key
//! and checks its ID), a minimal `chisel.yaml` verified by it, and loaders of releases given as
//! text.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::release::{load_files, Release, SourceFile};

/// A public key made for the tests (ed25519; no secret key is kept anywhere).
pub const TEST_KEY_ARMOR: &str = include_str!("../../tests/data/test-key.asc");
/// Its long key ID.
pub const TEST_KEY_ID: &str = "1A0E304BEEDCF2EB";

/// A top-level `public-keys:` block defining `test-key`, to end a test's chisel.yaml with.
pub fn public_keys_block() -> String {
    let armor: String = TEST_KEY_ARMOR
        .lines()
        .map(|line| format!("      {line}\n"))
        .collect();
    format!("public-keys:\n  test-key:\n    id: \"{TEST_KEY_ID}\"\n    armor: |\n{armor}")
}

/// A minimal valid chisel.yaml of the given format: one archive `ubuntu` (noble, main) signed
/// by the test key, and a maintenance block.
pub fn chisel_yaml(format: &str) -> String {
    format!(
        "format: {format}\nmaintenance:\n  standard: 2024-04-25\n  end-of-life: 2036-04-29\n\
         archives:\n  ubuntu:\n    version: 24.04\n    components: [main]\n    suites: [noble]\n    public-keys: [test-key]\n{}",
        public_keys_block()
    )
}

/// Loads a release from `(path, text)` pairs, panicking with the release's own report if it
/// is invalid.
pub fn load(files: &[(&str, &str)]) -> Release {
    let files: Vec<SourceFile> = files
        .iter()
        .map(|(path, text)| SourceFile {
            path: (*path).to_owned(),
            bytes: Cow::Owned(text.as_bytes().to_vec()),
        })
        .collect();
    load_files("test-release", &files).unwrap_or_else(|errors| panic!("{errors}"))
}

/// The chisel-releases corpus beside the project (`../shared`), or `None` with a note on
/// stderr when it is absent (a fresh clone), for tests that skip then.
#[expect(clippy::print_stderr, reason = "a skipped test says why")]
pub fn corpus_dir() -> Option<PathBuf> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/chisel-releases");
    if corpus.is_dir() {
        Some(corpus)
    } else {
        eprintln!("skipping: no corpus at {}", corpus.display());
        None
    }
}

/// Loads a release from its `chisel.yaml` and (package, YAML) slice definition files, each
/// snippet dedented.
pub fn load_release(chisel_yaml: &str, slices: &[(&str, &str)]) -> Release {
    let mut files = vec![SourceFile {
        path: "chisel.yaml".to_owned(),
        bytes: Cow::Owned(chisel_yaml.as_bytes().to_vec()),
    }];
    for (package, text) in slices {
        files.push(SourceFile {
            path: format!("slices/{package}.yaml"),
            bytes: Cow::Owned(dedent(text).into_bytes()),
        });
    }
    load_files("test-release", &files).unwrap_or_else(|errors| panic!("bad release: {errors}"))
}

/// Strips the common indentation of a snippet that starts with a newline.
pub fn dedent(text: &str) -> String {
    let body = text.strip_prefix('\n').unwrap_or(text);
    let indent = body
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    body.lines()
        .map(|line| format!("{}\n", line.get(indent..).unwrap_or("")))
        .collect()
}
