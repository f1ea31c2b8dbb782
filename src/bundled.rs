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

#[cfg(test)]
mod tests {
    use super::*;

    /// A table like the one `build.rs` generates, holding a release of the tests' own.
    static TEST_RELEASES: &[BundledRelease] = &[BundledRelease {
        name: "tiny-1.0",
        files: &[
            (
                "chisel.yaml",
                include_bytes!("../tests/data/tiny-release/chisel.yaml"),
            ),
            (
                "slices/tiny.yaml",
                include_bytes!("../tests/data/tiny-release/slices/tiny.yaml"),
            ),
        ],
    }];

    #[test]
    fn a_bundled_release_is_found_by_name_and_loads() {
        assert!(find(TEST_RELEASES, "nosuch-1.0").is_none());
        let bundled = find(TEST_RELEASES, "tiny-1.0").expect("the test release");
        let release = crate::release::load_files(bundled.name, &bundled.source_files())
            .unwrap_or_else(|errors| panic!("{errors}"));
        let output = crate::info::info(&release, &["tiny_bins".to_owned()]);
        assert_eq!(
            output.text,
            "package: tiny\nslices:\n    bins:\n        essential:\n            tiny_copyright: {}\n        contents:\n            /usr/bin/tiny: {}\n"
        );
    }

    /// What `build.rs` embedded is exactly the releases under `slices/`: one per directory with
    /// a chisel.yaml, every `.yaml` file of it.
    #[test]
    fn the_generated_table_matches_the_slices_directory() {
        let slices = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("slices");
        let mut expected: Vec<String> = fs_err::read_dir(&slices)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|entry| entry.path().join("chisel.yaml").is_file())
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        expected.sort();
        let bundled: Vec<String> = releases()
            .iter()
            .map(|release| release.name.to_owned())
            .collect();
        assert_eq!(bundled, expected);
        for release in releases() {
            assert!(
                release.files.iter().any(|(path, _)| *path == "chisel.yaml"),
                "{}",
                release.name
            );
        }
    }
}
