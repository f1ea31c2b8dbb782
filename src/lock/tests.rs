//! Reading lock files: the exact errors of every way one can be wrong.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Lock, LockedArch, LockedPackage, LockedRelease, LockedSuite, LOCK_VERSION};

fn sample() -> Lock {
    Lock {
        version: LOCK_VERSION,
        release: LockedRelease {
            source: "ubuntu-24.04".to_owned(),
            digest: format!("sha256:{}", "ab".repeat(32)),
        },
        slices: vec!["libc6_libs".to_owned(), "openssl_bins".to_owned()],
        arches: BTreeMap::from([(
            "amd64".to_owned(),
            LockedArch {
                suites: vec![LockedSuite {
                    archive: "ubuntu".to_owned(),
                    suite: "noble-updates".to_owned(),
                    url: "http://archive.ubuntu.com/ubuntu/".to_owned(),
                    date: "Sat, 21 Nov 2026  0:45:27 UTC".to_owned(),
                    inrelease_sha256: "cd".repeat(32),
                    snapshot: None,
                }],
                packages: vec![LockedPackage {
                    name: "libc6".to_owned(),
                    version: "2.39-0ubuntu8.6".to_owned(),
                    arch: "amd64".to_owned(),
                    archive: "ubuntu".to_owned(),
                    suite: "noble-updates".to_owned(),
                    component: "main".to_owned(),
                    filename: "pool/main/g/glibc/libc6_2.39-0ubuntu8.6_amd64.deb".to_owned(),
                    size: 3_263_090,
                    sha256: "ef".repeat(32),
                    sha512: Some("01".repeat(64)),
                    source: "glibc".to_owned(),
                    source_version: "2.39-0ubuntu8.6".to_owned(),
                }],
            },
        )]),
    }
}

fn parse(text: &str) -> Result<Lock, String> {
    Lock::parse(text, Path::new("kerf.lock")).map_err(|error| error.to_string())
}

/// The sample's text with `from` replaced by `to` (once; the test fails if it is not there).
fn edited(from: &str, to: &str) -> String {
    let text = sample().to_text();
    assert!(text.contains(from), "{from:?} is not in the sample");
    text.replacen(from, to, 1)
}

#[test]
fn a_lock_reads_back_what_was_written_in_a_stable_form() {
    let text = sample().to_text();
    assert_eq!(parse(&text), Ok(sample()));
    assert!(text.starts_with(
        "{\n  \"version\": 1,\n  \"release\": {\n    \"source\": \"ubuntu-24.04\",\n"
    ));
    assert!(text.contains("\n          \"source-version\": \"2.39-0ubuntu8.6\"\n"));
    assert!(text.ends_with("}\n"));
    // No snapshot, no field.
    assert!(!text.contains("snapshot"));
}

#[test]
fn broken_json_names_the_line_and_column() {
    assert_eq!(
        parse(&edited("\"slices\": [", "\"slices\" [")),
        Err("kerf.lock: line 7, column 12: expected `:`".to_owned())
    );
    let text = sample().to_text();
    assert_eq!(
        parse(&text[..text.len() / 2]),
        Err(format!(
            "kerf.lock: line {}, column {}: the file ends in the middle of the document; it was cut short",
            text[..text.len() / 2].lines().count(),
            text[..text.len() / 2].lines().last().unwrap().len()
        ))
    );
    assert_eq!(
        parse("[1, 2]"),
        Err("kerf.lock: (document): expected a JSON object, as `kerf lock` writes".to_owned())
    );
}

#[test]
fn a_future_or_missing_version_is_refused_by_name() {
    assert_eq!(
        parse(&edited("\"version\": 1,", "\"version\": 2,")),
        Err("kerf.lock: written by a newer kerf (lock version 2); this kerf reads version 1: upgrade kerf, or make the lock again with this one".to_owned())
    );
    assert_eq!(
        parse(&edited("\"version\": 1,", "\"version\": \"1\",")),
        Err("kerf.lock: version (line 2): expected a whole number, e.g. 1".to_owned())
    );
    assert_eq!(
        parse(&edited("\"version\": 1,", "")),
        Err("kerf.lock: version: missing; a kerf lock file starts with \"version\": 1".to_owned())
    );
    assert_eq!(
        parse(&edited("\"version\": 1,", "\"version\": 0,")),
        Err("kerf.lock: version (line 2): 0 is not a lock version".to_owned())
    );
}

#[test]
fn unknown_and_missing_fields_name_their_line() {
    assert_eq!(
        parse(&edited("\"size\": 3263090,", "\"size\": 3263090, \"color\": \"red\",")),
        Err("kerf.lock: line 31, column 34: unknown field `color`, expected one of `name`, `version`, `arch`, `archive`, `suite`, `component`, `filename`, `size`, `sha256`, `sha512`, `source`, `source-version`".to_owned())
    );
    assert_eq!(
        parse(&edited("\"size\": 3263090,", "")),
        Err("kerf.lock: line 36, column 9: missing field `size`".to_owned())
    );
    assert_eq!(
        parse(&edited("\"size\": 3263090,", "\"size\": -1,")),
        Err("kerf.lock: line 31, column 20: invalid value: integer `-1`, expected u64".to_owned())
    );
}

#[test]
fn a_value_in_the_wrong_form_names_its_field_and_line() {
    let cases = [
        (
            "\"sha256\": \"efef",
            "\"sha256\": \"EFef",
            "kerf.lock: arches.amd64.packages[0] (libc6).sha256 (line 32): expected 64 hexadecimal digits",
        ),
        (
            "\"sha512\": \"0101",
            "\"sha512\": \"01",
            "kerf.lock: arches.amd64.packages[0] (libc6).sha512 (line 33): expected 128 hexadecimal digits",
        ),
        (
            "pool/main/g/glibc/libc6",
            "pool/../../etc/libc6",
            "kerf.lock: arches.amd64.packages[0] (libc6).filename (line 30): expected a relative path in the archive ending in .deb, without .. or //",
        ),
        (
            "\"version\": \"2.39-0ubuntu8.6\"",
            "\"version\": \"not a version!\"",
            "kerf.lock: arches.amd64.packages[0] (libc6).version (line 25): expected a Debian version",
        ),
        (
            "\"suite\": \"noble-updates\",\n          \"component\"",
            "\"suite\": \"noble\",\n          \"component\"",
            "kerf.lock: arches.amd64.packages[0] (libc6).suite (line 28): archive \"ubuntu\" suite \"noble\" is not among the lock's suites for amd64",
        ),
        (
            "\"url\": \"http://archive.ubuntu.com/ubuntu/\"",
            "\"url\": \"ftp://archive.ubuntu.com/ubuntu\"",
            "kerf.lock: arches.amd64.suites[0].url (line 17): expected an http://, https:// or file:/// URL ending in /",
        ),
        (
            "\"date\": \"Sat, 21 Nov 2026  0:45:27 UTC\"",
            "\"date\": \"yesterday\"",
            "kerf.lock: arches.amd64.suites[0].date (line 18): expected an InRelease date, e.g. Thu, 25 Apr 2024 15:10:33 UTC",
        ),
        (
            "\"digest\": \"sha256:abab",
            "\"digest\": \"md5:abab",
            "kerf.lock: release.digest (line 5): expected sha256: and 64 hexadecimal digits",
        ),
        (
            "\"openssl_bins\"",
            "\"openssl\"",
            "kerf.lock: slices[1] (line 9): \"openssl\" is not a slice name (expected PACKAGE_SLICE)",
        ),
        (
            "\"amd64\": {",
            "\"amd46\": {",
            "kerf.lock: arches.amd46 (line 12): \"amd46\" is not an architecture kerf knows",
        ),
        (
            "\"inrelease-sha256\": \"cdcd",
            "\"inrelease-sha256\": \"cdc",
            "kerf.lock: arches.amd64.suites[0].inrelease-sha256 (line 19): expected 64 hexadecimal digits",
        ),
    ];
    for (from, to, expected) in cases {
        assert_eq!(parse(&edited(from, to)), Err(expected.to_owned()), "{to}");
    }
    let mut snapshot = sample();
    snapshot.arches.get_mut("amd64").unwrap().suites[0].snapshot = Some("2026-12-01".to_owned());
    assert_eq!(
        parse(&snapshot.to_text()),
        Err("kerf.lock: arches.amd64.suites[0].snapshot (line 20): invalid snapshot ID \"2026-12-01\": expected a moment in UTC as YYYYMMDDTHHMMSSZ, e.g. 20261201T000000Z".to_owned())
    );
}

#[test]
fn a_lock_file_that_cannot_be_read_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("kerf.lock");
    assert_eq!(
        Lock::read_file(&missing).unwrap_err().to_string(),
        format!(
            "cannot read the lock file {}: it does not exist (make one with kerf lock)",
            missing.display()
        )
    );
    fs_err::write(&missing, b"{\"version\": 1, \xff}").unwrap();
    assert_eq!(
        Lock::read_file(&missing).unwrap_err().to_string(),
        format!(
            "cannot read the lock file {}: it is not UTF-8 text (a kerf.lock is JSON)",
            missing.display()
        )
    );
}

#[test]
fn writing_replaces_the_file_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kerf.lock");
    fs_err::write(&path, "old").unwrap();
    sample().write_file(&path).unwrap();
    assert_eq!(fs_err::read_to_string(&path).unwrap(), sample().to_text());
    let names: Vec<String> = fs_err::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["kerf.lock"]);
}
