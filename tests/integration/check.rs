//! `kerf check` on a real cut: the small cut of the fixture mirror, then the same root with a
//! file taken away.

use std::path::Path;

use kerf::testing::server::TestServer;

use crate::cut_fixture::{cut, SMALL};
use crate::harness::{kerf, TestDir};
use crate::with_shared;

#[test]
fn check_reports_what_the_small_cut_lacks() {
    with_shared!(shared => {
        let server = TestServer::serve_dir(&shared.join("fixtures/noble-mirror"));
        let dir = TestDir::new();
        let (root, cache) = (dir.path().join("rootfs"), dir.path().join("cache"));
        let release = shared.join("corpus/chisel-releases/ubuntu-24.04");
        let (root_arg, release_arg) = (root.to_str().unwrap(), release.to_str().unwrap());

        // `cut --check`: openssl's c_rehash is a Perl script, and the small cut has no Perl.
        let run = cut(&shared, &server.url("/"), &root, &cache, &["--check"], &SMALL);
        assert_eq!(
            (run.status, run.stdout.as_str()),
            (
                1,
                "/usr/bin/c_rehash: needs interpreter /usr/bin/perl, not found\n  provided by: perl-base_bins\n"
            ),
            "stderr:\n{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("\nCut 18 slices of 4 packages into ")
                && run.stderr.ends_with(" s\nLargest packages: libssl3t64 6.0 MiB (51.5%), libc6 4.6 MiB (40.0%), openssl 1000.5 KiB (8.4%), base-files 1.2 KiB (0.0%)\nerror: 1 missing (27 ELF files, 1 script checked)\n"),
            "{}",
            run.stderr
        );

        // The same, from `check`, without and with a release.
        let run = kerf(dir.path(), &["check", "--root", root_arg]);
        assert_eq!(run.stdout, "/usr/bin/c_rehash: needs interpreter /usr/bin/perl, not found\n");
        run.fails_with(1, "error: 1 missing (27 ELF files, 1 script checked)\n");

        // Every ELF file finds its interpreter and libraries.
        fs_err::remove_file(root.join("usr/bin/c_rehash")).unwrap();
        let run = kerf(dir.path(), &["check", "--root", root_arg]);
        assert_eq!(
            run.success(),
            "ok: 27 ELF files, 0 scripts checked, nothing missing\n"
        );
        assert_eq!(run.stderr, "");

        // Without libssl.so.3, openssl misses it; the release says which slice has it.
        fs_err::remove_file(root.join("usr/lib/x86_64-linux-gnu/libssl.so.3")).unwrap();
        let run = kerf(
            dir.path(),
            &["check", "--root", root_arg, "--release", release_arg],
        );
        assert_eq!(
            run.stdout,
            "/usr/bin/openssl: needs library libssl.so.3, not found\n  provided by: libssl3t64_libs\n"
        );
        run.fails_with(1, "error: 1 missing (26 ELF files, 0 scripts checked)\n");
    });
}

#[test]
fn check_refuses_bad_arguments() {
    let dir = TestDir::new();
    dir.write("file", "");
    kerf(dir.path(), &["check", "--root", "absent"])
        .fails_with(1, "error: invalid --root absent: it is not a directory\n");
    kerf(dir.path(), &["check", "--root", "file"])
        .fails_with(1, "error: invalid --root file: it is not a directory\n");
    kerf(dir.path(), &["check", "--root", ".", "--arch", "x86"]).fails_with(
        1,
        "error: invalid package architecture: x86 (expected one of amd64, arm64, armhf, i386, ppc64el, riscv64, s390x)\n",
    );
    // An empty root has nothing to miss.
    fs_err::create_dir(dir.path().join("empty")).unwrap();
    let run = kerf(dir.path(), &["check", "--root", "empty"]);
    assert_eq!(
        run.success(),
        "ok: 0 ELF files, 0 scripts checked, nothing missing\n"
    );
}

/// The bundled release with one essential left out on purpose: `check` names exactly what is
/// missing and the slices that provide it.
#[test]
fn check_finds_what_a_slice_left_out_on_purpose_would_provide() {
    with_shared!(shared => {
        let server = TestServer::serve_dir(&shared.join("fixtures/noble-mirror"));
        let dir = TestDir::new();
        let release = dir.path().join("release");
        let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("slices/ubuntu-24.04");
        fs_err::create_dir_all(release.join("slices")).expect("mkdir");
        fs_err::copy(bundled.join("chisel.yaml"), release.join("chisel.yaml")).expect("copy");
        for entry in fs_err::read_dir(bundled.join("slices")).expect("slices") {
            let entry = entry.expect("entry");
            let text = fs_err::read_to_string(entry.path()).expect("read");
            let text = if entry.file_name() == "openssl.yaml" {
                let without = text.replace("      libssl3t64_libs: {}\n", "");
                assert_ne!(without, text, "openssl_bins names libssl3t64_libs");
                without
            } else {
                text
            };
            fs_err::write(release.join("slices").join(entry.file_name()), text).expect("write");
        }
        let root = dir.path().join("rootfs");
        let archive = format!("ubuntu={}ubuntu/", server.url("/"));
        let (release, root_arg) = (release.to_str().unwrap(), root.to_str().unwrap());
        kerf(dir.path(), &[
            "cut", "-q", "--arch", "amd64", "--release", release, "--root", root_arg,
            "--cache-dir", dir.path().join("cache").to_str().unwrap(), "--archive-url", &archive,
            "openssl_bins",
        ]).success();
        let run = kerf(dir.path(), &["check", "--root", root_arg, "--release", release]);
        assert_eq!(
            (run.status, run.stdout.as_str(), run.stderr.as_str()),
            (
                1,
                "/usr/bin/openssl: needs library libcrypto.so.3, not found\n  provided by: libssl3t64_libcrypto\n/usr/bin/openssl: needs library libssl.so.3, not found\n  provided by: libssl3t64_libs\n",
                "error: 2 missing (16 ELF files, 0 scripts checked)\n",
            )
        );
    });
}
