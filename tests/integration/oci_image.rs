//! `cut --oci-layout` for real: the fixture mirror served on loopback, the image read by the
//! tools that will read it in practice (skopeo, umoci, buildah), made once as root and once as
//! an unprivileged user with another cache, byte for byte the same. And the flags' errors.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cut_fixture::SMALL;
use kerf::testing::server::TestServer;

use crate::harness::{kerf, kerf_with, treesum, Run, TestDir};
use crate::with_shared;

/// Says why (part of) the test cannot run here; reaches the log even when output is captured.
fn skip(reason: &str) {
    let _ = writeln!(std::io::stderr(), "skipping: {reason}");
}

fn installed(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Runs a tool and returns its stdout; fails the test with both streams otherwise.
#[track_caller]
fn run_tool(command: &mut Command) -> String {
    let output = command.output().expect("cannot run the tool");
    assert!(
        output.status.success(),
        "{command:?}: {}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `examples/oci/build.sh LAYOUT test`, kerf found on `PATH`, the mirror and the cache given
/// as the script's user would give them, run as the user `as_user` (uid and gid) when given.
fn build_example(url: &str, cache: &Path, layout: &Path, as_user: Option<u32>) -> Run {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/oci/build.sh");
    let kerf_dir = Path::new(env!("CARGO_BIN_EXE_kerf"))
        .parent()
        .expect("a directory");
    let path = format!("{}:/usr/bin:/bin", kerf_dir.display());
    let mut command = match as_user {
        Some(id) => {
            let mut command = Command::new("/usr/bin/setpriv");
            command
                .args([
                    "--reuid",
                    &id.to_string(),
                    "--regid",
                    &id.to_string(),
                    "--clear-groups",
                ])
                .arg("/bin/sh");
            command
        }
        None => Command::new("/bin/sh"),
    };
    let output = command
        .arg(&script)
        .arg(layout)
        .arg("test")
        .env("PATH", path)
        .env("KERF_ARCHIVE_URL", format!("ubuntu={url}ubuntu/"))
        .env("KERF_CACHE_DIR", cache)
        .env("TMPDIR", cache.parent().expect("a parent"))
        .env_remove("SOURCE_DATE_EPOCH")
        .current_dir(cache.parent().expect("a parent"))
        .output()
        .expect("cannot run the example");
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Every file below `dir` with its bytes.
fn tree_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(at) = pending.pop() {
        for entry in fs_err::read_dir(&at).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let name = path
                    .strip_prefix(dir)
                    .expect("inside")
                    .display()
                    .to_string();
                found.insert(name, fs_err::read(&path).expect("read"));
            }
        }
    }
    found
}

/// The image of the small cut, made by `examples/oci/build.sh`: `skopeo inspect` reads its
/// config, `umoci unpack` gives the plain cut's tree plus the account, a second run by an
/// unprivileged user (when this runs as root; else by this user) with another cache gives the
/// same bytes, and buildah runs it.
#[test]
fn the_small_image_is_read_by_skopeo_umoci_and_buildah_and_is_reproducible() {
    with_shared!(shared => {
        let server = TestServer::serve_dir(&shared.join("fixtures/noble-mirror"));
        let dir = TestDir::new();
        let plain = dir.path().join("plain");
        let archive = format!("ubuntu={}ubuntu/", server.url("/"));
        let mut plain_args = vec!["cut", "--release", "ubuntu-24.04", "--archive-url", &archive, "--root"];
        plain_args.extend([plain.to_str().expect("UTF-8 path"), "--cache-dir", "cache-plain"]);
        plain_args.extend(SMALL);
        kerf(dir.path(), &plain_args).success();
        let first = dir.path().join("image");
        build_example(&server.url("/"), &dir.path().join("cache-a"), &first, None).success();

        // Again as nobody (or as this same user) with an empty cache of its own.
        let other = dir.path().join("other");
        fs_err::create_dir(&other).expect("mkdir");
        let second = other.join("image");
        let as_root = rustix::process::geteuid().is_root();
        let nobody = if as_root && Path::new("/usr/bin/setpriv").exists() {
            use std::os::unix::fs::PermissionsExt as _;
            fs_err::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
            std::os::unix::fs::chown(&other, Some(65534), Some(65534)).expect("chown");
            Some(65534)
        } else {
            skip("not root: the second image is made by this same user");
            None
        };
        build_example(&server.url("/"), &other.join("cache"), &second, nobody).success();
        let (first_files, second_files) = (tree_bytes(&first), tree_bytes(&second));
        assert_eq!(
            first_files.keys().collect::<Vec<_>>(),
            second_files.keys().collect::<Vec<_>>()
        );
        assert!(first_files == second_files, "the two layouts differ in content");
        // The layer, the config, the manifest; no temporary file.
        assert_eq!(first_files.len(), 5, "{:?}", first_files.keys());

        if installed("skopeo") {
            let config = run_tool(
                Command::new("skopeo")
                    .args(["inspect", "--config"])
                    .arg(format!("oci:{}:test", first.display())),
            );
            let config: serde_json::Value = serde_json::from_str(&config).expect("JSON");
            assert_eq!(config["config"]["User"], "1000:1000");
            assert_eq!(config["config"]["Entrypoint"][0], "/usr/bin/openssl");
            assert_eq!(config["created"], "2026-11-21T09:52:04Z");
        } else {
            skip("skopeo is not installed (apt-get install skopeo; .ci/run does)");
        }

        if installed("umoci") {
            let bundle = dir.path().join("bundle");
            run_tool(
                Command::new("umoci")
                    .args(["unpack", "--rootless", "--image"])
                    .arg(format!("{}:test", first.display()))
                    .arg(&bundle),
            );
            let unpacked = treesum(&bundle.join("rootfs"));
            let passwd = "app:x:1000:1000::/home/app:/usr/sbin/nologin\n";
            let group = "app:x:1000:\n";
            let digest = |text: &str| {
                use sha2::Digest as _;
                sha2::Sha256::digest(text.as_bytes())
                    .iter()
                    .map(|byte| format!("{byte:02x}"))
                    .collect::<String>()
            };
            let mut expected: Vec<String> = treesum(&plain).lines().map(str::to_owned).collect();
            expected.push(format!("f 0o644 {} {} /etc/group", group.len(), digest(group)));
            expected.push(format!("f 0o644 {} {} /etc/passwd", passwd.len(), digest(passwd)));
            expected.push("d 0o755 - - /home/app/".to_owned());
            expected.sort();
            let mut actual: Vec<String> = unpacked.lines().map(str::to_owned).collect();
            actual.sort();
            assert_eq!(actual, expected);
        } else {
            skip("umoci is not installed (apt-get install umoci; .ci/run does)");
        }

        if installed("buildah") && as_root {
            let storage = dir.path().join("buildah");
            let buildah = |args: &[&str]| {
                run_tool(
                    Command::new("buildah")
                        .arg("--root")
                        .arg(storage.join("storage"))
                        .arg("--runroot")
                        .arg(storage.join("run"))
                        .args(["--storage-driver", "vfs"])
                        .args(args)
                        .env_remove("BUILDAH_ISOLATION")
                        .env_remove("STORAGE_DRIVER"),
                )
            };
            // buildah names the image after the layout's path, which must then be lower case
            // (a temporary directory's name is not): it reads the layout through a link.
            let link = std::env::temp_dir().join(format!("kerf-oci-test-{}", std::process::id()));
            let _ = fs_err::remove_file(&link);
            fs_err::os::unix::fs::symlink(&first, &link).expect("symlink");
            let image = format!("oci:{}:test", link.display());
            let container = buildah(&["from", "--quiet", "--name", "kerf-oci-test", &image]);
            assert_eq!(container.trim(), "kerf-oci-test");
            let version = buildah(&["run", "--isolation", "chroot", "kerf-oci-test", "--", "/usr/bin/openssl", "version"]);
            assert!(version.starts_with("OpenSSL 3."), "openssl version printed {version:?}");
            let user = buildah(&["inspect", "--format", "{{.OCIv1.Config.User}}", "kerf-oci-test"]);
            assert_eq!(user.trim(), "1000:1000");
            buildah(&["rm", "kerf-oci-test"]);
            fs_err::remove_file(&link).expect("remove the link");
        } else {
            skip("buildah is not installed, or this is not root (chroot isolation needs it)");
        }
    });
}

/// A blob of a layout, by its `sha256:...` digest.
fn blob(layout: &Path, digest: &serde_json::Value) -> Vec<u8> {
    let digest = digest.as_str().expect("a digest");
    let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
    fs_err::read(layout.join("blobs/sha256").join(hex)).expect("the blob")
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("JSON")
}

/// The issue's multi-arch check: the trixie fixture cut with the bundled `debian-13` release
/// for amd64 and arm64 gives one index with both platforms, both dated by the newest InRelease
/// of the fixture, and the arm64 image's openssl, unpacked from its layer, runs under qemu.
#[test]
fn a_debian_13_image_for_amd64_and_arm64_has_both_platforms_and_the_arm64_openssl_runs() {
    with_shared!(shared => {
        let server = TestServer::serve_dir(&shared.join("fixtures/trixie-mirror"));
        let dir = TestDir::new();
        let layout = dir.path().join("image");
        let debian = format!("debian={}debian/", server.url("/"));
        let security = format!("debian-security={}debian-security/", server.url("/"));
        let run = kerf_with(
            dir.path(),
            // The fixture's pockets are valid until 2026-12-11; the cut runs on 2026-12-05.
            &[("KERF_NOW", "1796428800")],
            &[
                "cut", "-q", "--release", "debian-13", "--arch", "amd64,arm64",
                "--archive-url", &debian, "--archive-url", &security, "--cache-dir", "cache",
                "--oci-layout", layout.to_str().expect("UTF-8 path"), "--tag", "test",
                "--entrypoint", "/usr/bin/openssl", "--cmd", "version",
                "base-files_base", "openssl_bins",
            ],
        );
        run.success();

        let top = json(&fs_err::read(layout.join("index.json")).expect("index.json"));
        let tagged = &top["manifests"][0];
        assert_eq!(top["manifests"].as_array().map(Vec::len), Some(1));
        assert_eq!(tagged["mediaType"], "application/vnd.oci.image.index.v1+json");
        assert_eq!(tagged["annotations"]["org.opencontainers.image.ref.name"], "test");
        let index = json(&blob(&layout, &tagged["digest"]));
        let platforms: Vec<String> = index["manifests"]
            .as_array()
            .expect("manifests")
            .iter()
            .map(|manifest| manifest["platform"].to_string())
            .collect();
        assert_eq!(
            platforms,
            [
                r#"{"architecture":"amd64","os":"linux"}"#,
                r#"{"architecture":"arm64","os":"linux","variant":"v8"}"#,
            ]
        );
        let arm64 = json(&blob(&layout, &index["manifests"][1]["digest"]));
        for manifest in index["manifests"].as_array().expect("manifests") {
            let config = json(&blob(&layout, &json(&blob(&layout, &manifest["digest"]))["config"]["digest"]));
            assert_eq!(config["architecture"], manifest["platform"]["architecture"]);
            // trixie-security's InRelease, the newest of the three.
            assert_eq!(config["created"], "2026-12-04T03:54:29Z");
            assert_eq!(config["config"]["Entrypoint"][0], "/usr/bin/openssl");
        }

        if installed("skopeo") {
            // skopeo picks the arm64 image out of the index, as a runtime on arm64 would.
            let config = run_tool(
                Command::new("skopeo")
                    .args(["--override-arch", "arm64", "--override-variant", "v8"])
                    .args(["inspect", "--config"])
                    .arg(format!("oci:{}:test", layout.display())),
            );
            let config: serde_json::Value = serde_json::from_str(&config).expect("JSON");
            assert_eq!(config["architecture"], "arm64");
            assert_eq!(config["variant"], "v8");
        } else {
            skip("skopeo is not installed (apt-get install skopeo; .ci/run does)");
        }

        let qemu = Path::new("/usr/bin/qemu-aarch64-static");
        if !qemu.exists() {
            skip("no qemu-aarch64-static (Debian's qemu-user-static; .ci/run installs it)");
            return;
        }
        let layer = blob(&layout, &arm64["layers"][0]["digest"]);
        let root = dir.path().join("arm64");
        tar::Archive::new(flate2::read::GzDecoder::new(layer.as_slice()))
            .unpack(&root)
            .expect("the arm64 layer unpacks");
        let output = Command::new(qemu)
            .arg("-L")
            .arg(&root)
            .arg(root.join("usr/bin/openssl"))
            .arg("version")
            .env_clear()
            .output()
            .expect("cannot run qemu-aarch64-static");
        let printed = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && printed.starts_with("OpenSSL 3.5.7 "),
            "the arm64 openssl printed {printed:?}, {}",
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

/// The flags' mistakes: exit status 1, one line naming the value, before any work.
#[test]
fn image_flags_are_checked_before_any_work() {
    let dir = TestDir::new();
    let layout = dir.path().join("image");
    let layout = layout.to_str().expect("UTF-8 path");
    let run = |extra: &[&str]| {
        let mut args = vec!["cut", "--release", "./nowhere", "--cache-dir", "cache"];
        args.extend_from_slice(extra);
        args.push("openssl_bins");
        kerf(dir.path(), &args)
    };
    run(&["--oci-layout", layout, "--tag", "no good"]).fails_with(
        1,
        "error: invalid --tag \"no good\": a tag is 1 to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'\n",
    );
    run(&["--oci-layout", layout, "--user", "app:x"]).fails_with(
        1,
        "error: invalid --user \"app:x\": UID \"x\" is not a number from 0 to 4294967294\n",
    );
    run(&["--oci-layout", layout, "--group", "a:b:c"]).fails_with(
        1,
        "error: invalid --group \"a:b:c\": GID \"b:c\" is not a number from 0 to 4294967294\n",
    );
    run(&["--root", "r", "--arch", "amd64,arm64"]).fails_with(
        1,
        "error: several architectures need --oci-layout or --oci-archive (a root holds one)\n",
    );
    run(&[
        "--root",
        "r",
        "--oci-layout",
        layout,
        "--arch",
        "amd64,arm64",
    ])
    .fails_with(
        1,
        "error: --root takes one architecture; with several, each is cut into a temporary root\n",
    );
    run(&["--oci-layout", layout, "--arch", "amd64,sparc"]).fails_with(
        1,
        "error: invalid package architecture: sparc (expected one of amd64, arm64, armhf, i386, ppc64el, riscv64, s390x)\n",
    );
    run(&["--oci-layout", layout, "--env", "=x"]).fails_with(
        1,
        "error: invalid --env \"=x\": expected KEY=VALUE with a non-empty KEY\n",
    );
    run(&["--oci-layout", layout, "--workdir", "app"]).fails_with(
        1,
        "error: invalid --workdir \"app\": expected an absolute path\n",
    );
    let no_output = run(&["--root", "r", "--tag", "x"]);
    assert_eq!(no_output.status, 1);
    assert!(
        no_output
            .stderr
            .contains("the following required arguments were not provided:\n  <--oci-layout <DIR>|--oci-archive <FILE.tar>>"),
        "{}",
        no_output.stderr
    );
    // Nothing was created.
    let names: Vec<PathBuf> = fs_err::read_dir(dir.path())
        .expect("read_dir")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert_eq!(names, Vec::<PathBuf>::new());
}

/// A destination kerf cannot write is refused before any download, with exit status 1.
#[test]
fn an_unwritable_destination_is_refused_before_any_download() {
    let dir = TestDir::new();
    let server = TestServer::serve_dir(dir.path());
    let archive = format!("ubuntu={}ubuntu/", server.url("/"));
    // /proc takes no new entry, not even from root.
    let run = kerf(
        dir.path(),
        &[
            "cut",
            "--release",
            "ubuntu-24.04",
            "--cache-dir",
            "cache",
            "--archive-url",
            &archive,
            "--oci-layout",
            "/proc/kerf-image",
            "openssl_bins",
        ],
    );
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("error: cannot create a temporary directory in /proc: "),
        "{}",
        run.stderr
    );
    assert_eq!(server.requests().len(), 0);
}
