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
