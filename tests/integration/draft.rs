//! `kerf draft` against the fixture mirror: the exact draft of a small library package, and a
//! drafted definition that replaces the corpus's own, lints, cuts and runs.

use std::path::Path;
use std::process::Command;

use crate::harness::{kerf, StaticServer, TestDir};
use crate::with_shared;

/// A copy of the corpus's 24.04 release, made at run time, to draft into.
fn corpus_copy(shared: &Path, dir: &Path) -> std::path::PathBuf {
    let source = shared.join("corpus/chisel-releases/ubuntu-24.04");
    let release = dir.join("release");
    fs_err::create_dir_all(release.join("slices")).expect("mkdir");
    fs_err::copy(source.join("chisel.yaml"), release.join("chisel.yaml")).expect("copy");
    for entry in fs_err::read_dir(source.join("slices")).expect("slices") {
        let entry = entry.expect("entry");
        fs_err::copy(entry.path(), release.join("slices").join(entry.file_name())).expect("copy");
    }
    release
}

fn draft(
    cwd: &Path,
    release: &Path,
    url: &str,
    cache: &Path,
    extra: &[&str],
) -> crate::harness::Run {
    let archive = format!("ubuntu={url}ubuntu/");
    let mut args = vec![
        "draft",
        "-q",
        "--release",
        release.to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
        "--archive-url",
        &archive,
    ];
    args.extend_from_slice(extra);
    kerf(cwd, &args)
}

const ZLIB_DRAFT: &str = "\
# Drafted by `kerf draft` from zlib1g 1:1.3.dfsg-3.1ubuntu2.3 (amd64), archive ubuntu noble-security/main.
# Review before use: keep the slices and paths an image needs, check every essential,
# and resolve the TODOs.
package: zlib1g

# Every slice carries the package's copyright.
essential:
  - zlib1g_copyright

slices:
  libs:
    essential:
      - libc6_libs  # libc.so.6 for /usr/lib/x86_64-linux-gnu/libz.so.1.3
    contents:
      /usr/lib/*-linux-*/libz.so.1:
      /usr/lib/*-linux-*/libz.so.1.3:

  copyright:
    contents:
      /usr/share/doc/zlib1g/copyright:
";

#[test]
fn draft_of_a_library_package_is_exact() {
    with_shared!(shared => {
        let server = StaticServer::serve(&shared.join("fixtures/noble-mirror"));
        let dir = TestDir::new();
        let release = shared.join("corpus/chisel-releases/ubuntu-24.04");
        let run = draft(dir.path(), &release, &server.url(), &dir.path().join("cache"), &["--arch", "amd64", "zlib1g"]);
        assert_eq!(run.success(), ZLIB_DRAFT);
    });
}

#[test]
fn a_drafted_definition_lints_cuts_and_runs() {
    with_shared!(shared => {
        let server = StaticServer::serve(&shared.join("fixtures/noble-mirror"));
        let dir = TestDir::new();
        let release = corpus_copy(&shared, dir.path());
        let cache = dir.path().join("cache");
        let slices = release.join("slices");

        // The corpus has curl.yaml: replacing it needs --force.
        draft(dir.path(), &release, &server.url(), &cache, &["--arch", "amd64", "--out", slices.to_str().unwrap(), "curl"])
            .fails_with(1, &format!("error: {} exists; give --force to replace it\n", slices.join("curl.yaml").display()));
        draft(dir.path(), &release, &server.url(), &cache, &["--arch", "amd64", "--out", slices.to_str().unwrap(), "--force", "curl"]).success();
        let drafted = fs_err::read_to_string(slices.join("curl.yaml")).expect("the draft");
        assert!(drafted.starts_with("# Drafted by `kerf draft` from curl 8.5.0-2ubuntu10.16 (amd64)"), "{drafted}");

        kerf(dir.path(), &["lint", "--release", release.to_str().unwrap()]).success();

        let root = dir.path().join("rootfs");
        let archive = format!("ubuntu={}ubuntu/", server.url());
        kerf(dir.path(), &[
            "cut", "-q", "--arch", "amd64", "--release", release.to_str().unwrap(), "--cache-dir", cache.to_str().unwrap(),
            "--archive-url", &archive, "--root", root.to_str().unwrap(), "curl_bins",
        ]).success();
        let check = kerf(dir.path(), &["check", "--root", root.to_str().unwrap()]);
        assert_eq!(check.success(), "ok: 58 ELF files, 0 scripts checked, nothing missing\n");

        use std::os::unix::fs::MetadataExt as _;
        if fs_err::metadata(&root).is_ok_and(|metadata| metadata.uid() == 0) {
            let output = Command::new("chroot").arg(&root).args(["/usr/bin/curl", "--version"]).output().expect("chroot");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(output.status.success() && stdout.starts_with("curl 8.5.0 "), "{stdout}");
        }
    });
}

#[test]
fn draft_names_a_package_the_archive_lacks() {
    with_shared!(shared => {
        let server = StaticServer::serve(&shared.join("fixtures/noble-mirror"));
        let dir = TestDir::new();
        let release = shared.join("corpus/chisel-releases/ubuntu-24.04");
        draft(dir.path(), &release, &server.url(), &dir.path().join("cache"), &["--arch", "amd64", "no-such-package"])
            .fails_with(1, "error: cannot find package \"no-such-package\" in archive(s) ubuntu\n");
    });
}
