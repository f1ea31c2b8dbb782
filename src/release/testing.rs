//! Test support shared by the crate's unit tests: a real public key for `chisel.yaml`, since the
//! loader decodes every key and checks its ID.

/// A public key made for the tests (ed25519; no secret key is kept anywhere).
pub(crate) const TEST_KEY_ARMOR: &str = include_str!("../../tests/data/test-key.asc");
/// Its long key ID.
pub(crate) const TEST_KEY_ID: &str = "1A0E304BEEDCF2EB";

/// A top-level `public-keys:` block defining `test-key`, to end a test's chisel.yaml with.
pub(crate) fn public_keys_block() -> String {
    let armor: String = TEST_KEY_ARMOR
        .lines()
        .map(|line| format!("      {line}\n"))
        .collect();
    format!("public-keys:\n  test-key:\n    id: \"{TEST_KEY_ID}\"\n    armor: |\n{armor}")
}

/// A minimal valid chisel.yaml of the given format: one archive `ubuntu` (noble, main) signed
/// by the test key, and a maintenance block.
pub(crate) fn chisel_yaml(format: &str) -> String {
    format!(
        "format: {format}\nmaintenance:\n  standard: 2024-04-25\n  end-of-life: 2036-04-29\n\
         archives:\n  ubuntu:\n    version: 24.04\n    components: [main]\n    suites: [noble]\n    public-keys: [test-key]\n{}",
        public_keys_block()
    )
}

/// Loads a release from `(path, text)` pairs, panicking with the release's own report if it
/// is invalid.
pub(crate) fn load(files: &[(&str, &str)]) -> super::Release {
    let files: Vec<super::SourceFile> = files
        .iter()
        .map(|(path, text)| super::SourceFile {
            path: (*path).to_owned(),
            bytes: std::borrow::Cow::Owned(text.as_bytes().to_vec()),
        })
        .collect();
    super::load_files("test-release", &files).unwrap_or_else(|errors| panic!("{errors}"))
}

/// The chisel-releases corpus beside the project (`../shared`), or `None` with a note on
/// stderr when it is absent (a fresh clone), for tests that skip then.
#[expect(clippy::print_stderr, reason = "a skipped test says why")]
pub(crate) fn corpus_dir() -> Option<std::path::PathBuf> {
    let corpus =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/chisel-releases");
    if corpus.is_dir() {
        Some(corpus)
    } else {
        eprintln!("skipping: no corpus at {}", corpus.display());
        None
    }
}
