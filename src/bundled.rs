//! Releases embedded in the binary at build time from the project's `slices/<name>/`.

use std::borrow::Cow;

use crate::release::SourceFile;

/// One embedded release: its name and its files, relative to the release root.
#[derive(Debug)]
pub struct BundledRelease {
    pub name: &'static str,
    pub files: &'static [(&'static str, &'static [u8])],
}

impl BundledRelease {
    /// The release's files, ready for [`crate::release::load_files`].
    pub fn source_files(&self) -> Vec<SourceFile> {
        self.files
            .iter()
            .map(|(path, bytes)| SourceFile {
                path: (*path).to_owned(),
                bytes: Cow::Borrowed(*bytes),
            })
            .collect()
    }
}

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// Every release bundled into this binary, by name.
pub fn releases() -> &'static [BundledRelease] {
    RELEASES
}

/// Finds `name` among `releases` (the bundled ones, or a test's own table).
pub fn find<'a>(releases: &'a [BundledRelease], name: &str) -> Option<&'a BundledRelease> {
    releases.iter().find(|release| release.name == name)
}
