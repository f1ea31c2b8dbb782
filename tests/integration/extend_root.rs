//! Extending a cut root from the real fixture archives: a second cut into a root that has a
//! manifest equals one cut of both selections, tree and manifest, and its `--delta` laid over a
//! copy of the first root gives the same tree.

use std::path::Path;
use std::process::Command;

use kerf::testing::server::TestServer;

use crate::cut_fixture::cut;
use crate::harness::{kerf, treesum, TestDir};
use crate::with_shared;

const WALL: &str = "var/lib/chisel/manifest.wall";

/// The decompressed manifest of a root.
fn manifest(root: &Path) -> String {
    let bytes = fs_err::read(root.join(WALL)).expect("the manifest");
    String::from_utf8(zstd::decode_all(bytes.as_slice()).expect("zstd")).expect("UTF-8")
}

/// `cp -a from/. to/`: what `COPY --from=builder DIR /` does with a delta.
fn lay_over(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

fn copy(from: &Path, to: &Path) {
    fs_err::create_dir(to).expect("mkdir");
    lay_over(from, to);
}

#[test]
fn a_second_cut_with_a_delta_equals_one_cut_of_both() {
    with_shared!(shared => {
        let server = TestServer::serve_dir(&shared.join("fixtures/noble-mirror"));
        let url = server.url("/");
        let dir = TestDir::new();
        let (root, cache) = (dir.path().join("rootfs"), dir.path().join("cache"));
        let a = ["base-files_base", "base-files_chisel", "libc6_libs"];
        let b = ["openssl_bins", "ca-certificates_data"];
        cut(&shared, &url, &root, &cache, &["--arch", "amd64"], &a).success();
        let base = dir.path().join("base");
        copy(&root, &base);

        let delta = dir.path().join("delta");
        let run = cut(
            &shared,
            &url,
            &root,
            &cache,
            &["--arch", "amd64", "--delta", delta.to_str().unwrap()],
            &b,
        );
        run.success();
        let summary: Vec<&str> = run.stderr.lines().rev().take(2).collect();
        assert_eq!(
            summary,
            [
                format!("Delta: 41 paths in {}", delta.display()).as_str(),
                "Extended the root's manifest /var/lib/chisel/manifest.wall: 11 slices kept, 10 added: ca-certificates_copyright, libc6_config, libssl3t64_copyright, libssl3t64_libcrypto, libssl3t64_libs, openssl_copyright, openssl_config, openssl_data, ca-certificates_data, openssl_bins",
            ]
        );

        let union = dir.path().join("union");
        let both: Vec<&str> = a.iter().chain(&b).copied().collect();
        cut(&shared, &url, &union, &cache, &["-q", "--arch", "amd64"], &both).success();
        assert_eq!(treesum(&root), treesum(&union));
        assert_eq!(manifest(&root), manifest(&union));
        assert!(manifest(&root).contains("{\"kind\":\"package\",\"name\":\"openssl\","));

        lay_over(&delta, &base);
        assert_eq!(treesum(&base), treesum(&union));
        // The delta holds the new and changed files only: none of libc6's libraries.
        assert!(!delta.join("usr/lib/x86_64-linux-gnu/libc.so.6").exists());
        assert!(delta.join("usr/bin/openssl").is_file());
    });
}

/// A root chisel cut, extended by kerf. chisel cannot run here, so the root is the fixture's
/// 26.04 large cut as chisel made it: its files are checked against chisel's listing of that
/// cut (`expected/large-26.04.treesum`), and its manifest is chisel's own
/// (`expected/large-26.04.manifest.jsonl`), compressed as chisel compresses it.
#[test]
fn a_root_chisel_cut_is_extended_as_one_cut_of_both() {
    with_shared!(shared => {
        let server = TestServer::serve_dir(&shared.join("fixtures/resolute-mirror"));
        let dir = TestDir::new();
        let (root, cache) = (dir.path().join("rootfs"), dir.path().join("cache"));
        let expected = shared.join("fixtures/expected");
        let read = |name: &str| {
            fs_err::read_to_string(expected.join(name))
                .unwrap_or_else(|error| panic!("cannot read expected/{name}: {error}"))
        };
        let release = shared.join("corpus/chisel-releases/ubuntu-26.04");
        let archive = format!("ubuntu={}ubuntu/", server.url("/"));
        let cut_26_04 = |root: &Path, extra: &[&str], slices: &[&str]| {
            let mut args = vec![
                "cut",
                "--release",
                release.to_str().unwrap(),
                "--arch",
                "amd64",
                "--root",
                root.to_str().unwrap(),
                "--cache-dir",
                cache.to_str().unwrap(),
                "--archive-url",
                &archive,
            ];
            args.extend_from_slice(extra);
            args.extend_from_slice(slices);
            kerf(&shared, &args)
        };
        let chisel_slices = read("large-26.04.slices");
        let a: Vec<&str> = chisel_slices.split_whitespace().collect();
        cut_26_04(&root, &["-q"], &a).success();
        let tree: String = treesum(&root)
            .lines()
            .filter(|line| !line.ends_with(" /var/lib/chisel/manifest.wall"))
            .map(|line| format!("{line}\n"))
            .collect();
        assert!(tree == read("large-26.04.treesum"), "the root is not chisel's");
        let chisels = read("large-26.04.manifest.jsonl");
        fs_err::write(
            root.join(WALL),
            zstd::encode_all(chisels.as_bytes(), 3).expect("zstd"),
        )
        .expect("chisel's manifest");

        let b = ["libc6_gconv-core", "grep_deprecated", "netbase_default-hosts"];
        let run = cut_26_04(&root, &[], &b);
        run.success();
        assert_eq!(
            run.stderr.lines().last(),
            Some("Extended the root's manifest /var/lib/chisel/manifest.wall: 342 slices kept, 3 added: libc6_gconv-core, grep_deprecated, netbase_default-hosts")
        );
        let union = dir.path().join("union");
        let both: Vec<&str> = a.iter().chain(&b).copied().collect();
        cut_26_04(&union, &["-q"], &both).success();
        assert_eq!(treesum(&root), treesum(&union));
        let extended = manifest(&root);
        assert_eq!(extended, manifest(&union));
        // chisel's records of what the cut did not touch are kept as chisel wrote them.
        let python = "{\"kind\":\"package\",\"name\":\"python3.14\",";
        let line_of = |text: &str| {
            text.lines()
                .find(|line| line.starts_with(python))
                .map(str::to_owned)
        };
        assert_eq!(line_of(&extended), line_of(&chisels));
        assert!(extended.contains("{\"kind\":\"slice\",\"name\":\"libc6_gconv-core\"}"));
    });
}

#[test]
fn an_unreadable_manifest_stops_the_cut_unless_forced() {
    with_shared!(shared => {
        let server = TestServer::serve_dir(&shared.join("fixtures/noble-mirror"));
        let url = server.url("/");
        let dir = TestDir::new();
        let (root, cache) = (dir.path().join("rootfs"), dir.path().join("cache"));
        cut(&shared, &url, &root, &cache, &["-q", "--arch", "amd64"], &["base-files_base", "base-files_chisel"]).success();
        let wall = root.join(WALL);
        let bytes = fs_err::read(&wall).expect("the manifest");
        fs_err::write(&wall, &bytes[..bytes.len() / 2]).expect("cut it short");
        let before = treesum(&root);
        let run = cut(&shared, &url, &root, &cache, &["-q", "--arch", "amd64"], &["libc6_libs"]);
        assert_eq!(run.status, 1, "{}", run.stderr);
        let canonical = wall.canonicalize().expect("canonical");
        assert!(
            run.stderr.starts_with(&format!(
                "error: the root's manifest cannot be read: {}: not a complete zstd stream (",
                canonical.display()
            )),
            "{}",
            run.stderr
        );
        assert!(run.stderr.ends_with("; the file is corrupt or was cut short; --force-manifest starts a new manifest that lists only this cut\n"), "{}", run.stderr);
        assert_eq!(treesum(&root), before, "nothing was written");

        cut(&shared, &url, &root, &cache, &["-q", "--arch", "amd64", "--force-manifest"], &["base-files_chisel", "libc6_libs"]).success();
        let new = manifest(&root);
        assert!(new.contains("{\"kind\":\"slice\",\"name\":\"libc6_libs\"}"));
        assert!(!new.contains("{\"kind\":\"slice\",\"name\":\"base-files_base\"}"));

        // A delta directory that holds something is refused before anything is done.
        let delta = dir.path().join("delta");
        fs_err::create_dir(&delta).expect("mkdir");
        fs_err::write(delta.join("keep"), "mine").expect("a file");
        cut(&shared, &url, &root, &cache, &["-q", "--arch", "amd64", "--delta", delta.to_str().unwrap()], &["openssl_bins"])
            .fails_with(1, &format!("error: invalid --delta {}: it exists and is not an empty directory\n", delta.display()));
    });
}
