//! Archives as they are published today, from the fixture copies: Ubuntu 26.10 signs SHA512
//! only, in its InRelease files and in every package stanza.

use std::path::Path;

use crate::harness::{kerf, StaticServer, TestDir};
use crate::with_shared;

/// A release for 26.10 made at test time from the corpus's 26.04 branch: the same slices,
/// the stonking suites. (The corpus is test input; nothing of it is kept.)
fn stonking_release(shared: &Path, dir: &TestDir) {
    let corpus = shared.join("corpus/chisel-releases/ubuntu-26.04");
    let target = dir.path().join("rel");
    copy_tree(&corpus, &target);
    let chisel_yaml = target.join("chisel.yaml");
    let text = fs_err::read_to_string(&chisel_yaml).expect("read chisel.yaml");
    let text = text
        .replace("resolute", "stonking")
        .replace("version: 26.04", "version: 26.10");
    fs_err::write(&chisel_yaml, text).expect("write chisel.yaml");
}

fn copy_tree(from: &Path, to: &Path) {
    fs_err::create_dir_all(to).expect("mkdir");
    for entry in fs_err::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs_err::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The package records of a root's manifest: (name, version, sha256).
fn manifest_packages(root: &Path) -> Vec<(String, String, String)> {
    let compressed = fs_err::read(root.join("var/lib/chisel/manifest.wall")).expect("the manifest");
    let text =
        String::from_utf8(zstd::decode_all(compressed.as_slice()).expect("zstd")).expect("UTF-8");
    text.lines()
        .filter(|line| line.starts_with("{\"kind\":\"package\""))
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("JSON");
            let field = |name: &str| value[name].as_str().expect("a string").to_owned();
            (field("name"), field("version"), field("sha256"))
        })
        .collect()
}

fn sha256_file(path: &Path) -> String {
    use sha2::Digest as _;
    let bytes = fs_err::read(path).expect("read a .deb");
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[test]
fn ubuntu_26_10_is_cut_from_its_sha512_only_archive() {
    with_shared!(shared => {
        let mirror = shared.join("fixtures/stonking-mirror");
        let server = StaticServer::serve(&mirror);
        let dir = TestDir::new();
        stonking_release(&shared, &dir);
        let url = format!("ubuntu={}ubuntu/", server.url());
        let cut = |root: &str, extra: &[&str], slices: &[&str]| {
            let mut args = vec![
                "cut", "--release", "rel", "--root", root, "--cache-dir", "cache",
                "--archive-url", &url, "-q",
            ];
            args.extend_from_slice(extra);
            args.extend_from_slice(slices);
            kerf(dir.path(), &args)
        };
        cut(
            "rootfs",
            &[],
            &["base-files_base", "base-files_chisel", "libc6_libs", "ca-certificates_data"],
        )
        .success();

        let pool = mirror.join("ubuntu/pool/main");
        let debs = [
            ("base-files", "b/base-files/base-files_14.2ubuntu2_amd64.deb"),
            ("ca-certificates", "c/ca-certificates/ca-certificates_20260816ubuntu0.26.10.1_all.deb"),
            ("libc6", "g/glibc/libc6_2.44-1ubuntu2_amd64.deb"),
            ("libssl3t64", "o/openssl3/libssl3t64_3.5.5-1ubuntu6_amd64.deb"),
            ("openssl", "o/openssl/openssl_4.0.3-1ubuntu1_amd64.deb"),
        ];
        let recorded = manifest_packages(&dir.path().join("rootfs"));
        let names: Vec<&str> = recorded.iter().map(|(name, ..)| name.as_str()).collect();
        // ca-certificates' script needs openssl, which brings libssl3t64.
        assert_eq!(names, ["base-files", "ca-certificates", "libc6", "libssl3t64", "openssl"]);
        for ((name, _, sha256), (deb_name, deb)) in recorded.iter().zip(debs) {
            assert_eq!(name, deb_name);
            assert_eq!(*sha256, sha256_file(&pool.join(deb)), "{name}");
        }
        assert!(
            fs_err::metadata(dir.path().join("rootfs/etc/ssl/certs/ca-certificates.crt"))
                .expect("the bundle the script wrote")
                .len()
                > 100_000
        );

        // The 26.04 slices still say openssl needs libssl3t64; 26.10's openssl 4 needs libssl4
        // (its libssl.so.4 and libcrypto.so.4), which check finds missing. ("provided by" names
        // the slice whose path pattern covers the library's name.)
        let run = cut("rootfs-openssl", &["--check"], &["openssl_bins"]);
        assert_eq!(run.status, 1, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
        assert_eq!(
            run.stdout,
            "/usr/bin/openssl: needs library libcrypto.so.4, not found\n  provided by: libssl3t64_libs\n\
             /usr/bin/openssl: needs library libssl.so.4, not found\n  provided by: libssl3t64_libs\n\
             /usr/lib/x86_64-linux-gnu/ossl-modules/legacy.so: needs library libcrypto.so.4, not found\n  provided by: libssl3t64_libs\n"
        );
        run.fails_with(1, "error: 3 missing (28 ELF files, 0 scripts checked)\n");
    });
}
