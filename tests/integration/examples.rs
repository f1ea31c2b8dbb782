//! The Dockerfile examples, built and run by a real image builder: buildah, with chroot
//! isolation, its own storage in a temporary directory, and no registry. The fixture mirror is
//! served on loopback and reached by name (`mirror.test`, mapped in the build's /etc/hosts), so
//! the static kerf inside the build resolves it itself, as it would resolve a real mirror.
//!
//! The release directories of the examples are linted too, everywhere.
//!
//! The image tests need what a CI machine has and a fresh clone may not: `../shared`, buildah,
//! root, and the static kerf that `scripts/build-static.sh` builds, named by `KERF_STATIC_BIN`
//! (`.ci/run` installs buildah, builds the binary and sets the variable). Without one of them
//! they say what is missing and pass.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use crate::harness::{kerf, StaticServer, TestDir};
use crate::with_shared;

/// The name the builds reach the loopback mirror by.
const MIRROR_HOST: &str = "mirror.test";

/// Says why the test cannot run here; the message reaches the log even when cargo captures
/// the test's output.
fn skip(reason: &str) {
    let _ = writeln!(std::io::stderr(), "skipping: {reason}");
}

/// A figure worth seeing in CI's log (cargo hides a passing test's captured output).
fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "examples: {line}");
}

/// The static kerf, buildah and root, or None after saying which one is missing.
fn prerequisites() -> Option<PathBuf> {
    let Some(binary) = std::env::var_os("KERF_STATIC_BIN").map(PathBuf::from) else {
        skip(
            "KERF_STATIC_BIN is not set (scripts/build-static.sh builds the static kerf; \
             .ci/run sets it)",
        );
        return None;
    };
    if !binary.is_file() {
        skip(&format!(
            "KERF_STATIC_BIN={} is not a file",
            binary.display()
        ));
        return None;
    }
    if !Command::new("buildah")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
    {
        skip("buildah is not installed (apt-get install buildah; .ci/run does)");
        return None;
    }
    if !rustix::process::geteuid().is_root() {
        skip("building images with chroot isolation needs root");
        return None;
    }
    Some(binary)
}

/// buildah with storage, run directory and temporary files (cache mounts included) inside one
/// temporary directory. Dropping it removes every container and image it made.
struct Buildah {
    root: PathBuf,
    runroot: PathBuf,
    tmp: PathBuf,
}

impl Buildah {
    fn new(dir: &Path) -> Buildah {
        let buildah = Buildah {
            root: dir.join("storage"),
            runroot: dir.join("run"),
            tmp: dir.join("tmp"),
        };
        fs_err::create_dir_all(&buildah.tmp).expect("cannot create buildah's TMPDIR");
        buildah
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("buildah");
        command
            .arg("--root")
            .arg(&self.root)
            .arg("--runroot")
            .arg(&self.runroot)
            .args(["--storage-driver", "vfs"])
            .args(args)
            // buildah keeps RUN cache mounts below $TMPDIR.
            .env("TMPDIR", &self.tmp)
            .env_remove("BUILDAH_ISOLATION")
            .env_remove("STORAGE_DRIVER");
        command
    }

    /// Runs buildah and returns its stdout; fails the test with both streams otherwise.
    #[track_caller]
    fn run(&self, args: &[&str]) -> String {
        let output = self.command(args).output().expect("cannot run buildah");
        check(&output, &format!("buildah {}", args.join(" ")));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

impl Drop for Buildah {
    fn drop(&mut self) {
        for args in [&["rm", "--all"][..], &["rmi", "--all", "--force"]] {
            let _ = self.command(args).output();
        }
    }
}

#[track_caller]
fn check(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Copies the directory tree `from` to `to` (regular files and directories only).
fn copy_tree(from: &Path, to: &Path) {
    fs_err::create_dir_all(to).expect("cannot create a directory");
    for entry in fs_err::read_dir(from).expect("cannot read a directory") {
        let entry = entry.expect("cannot read a directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs_err::copy(entry.path(), &target).expect("cannot copy a file");
        }
    }
}

/// The build context the README tells users to make: `examples/` with the static kerf in it.
fn example_context(dir: &Path, kerf: &Path) -> PathBuf {
    let context = dir.join("context");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"),
        &context,
    );
    let _ = fs_err::remove_file(context.join("kerf"));
    fs_err::copy(kerf, context.join("kerf")).expect("cannot copy the static kerf");
    context
}

/// Bytes in the regular files below `root`, symlinks not followed.
fn tree_bytes(root: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in fs_err::read_dir(&dir)
            .expect("cannot read a directory")
            .flatten()
        {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                total += entry.metadata().map_or(0, |metadata| metadata.len());
            }
        }
    }
    total
}

fn mib(bytes: u64) -> String {
    // Precision is not the point of a size shown to a person.
    #[expect(clippy::cast_precision_loss)]
    let mib = bytes as f64 / 1024.0 / 1024.0;
    format!("{mib:.1} MiB")
}

/// The fixture's indexes of noble's main component (a later suite's stanza replaces an
/// earlier one's), to size what apt would install: the yardstick for the sliced image.
struct Index {
    stanzas: BTreeMap<String, BTreeMap<String, String>>,
    /// A virtual package (`awk`) and the package that provides it, a required one if any.
    providers: BTreeMap<String, String>,
}

impl Index {
    fn load(mirror: &Path) -> Index {
        let mut stanzas = BTreeMap::new();
        for suite in ["noble", "noble-updates", "noble-security"] {
            let path = mirror.join(format!(
                "ubuntu/dists/{suite}/main/binary-amd64/Packages.gz"
            ));
            let file = fs_err::File::open(&path).expect("cannot open a fixture index");
            let mut fields: BTreeMap<String, String> = BTreeMap::new();
            let mut last = String::new();
            let lines = BufReader::new(flate2::read::GzDecoder::new(file)).lines();
            for line in lines.chain([Ok(String::new())]) {
                let line = line.expect("cannot read a fixture index");
                if line.is_empty() {
                    if let Some(name) = fields.get("Package").cloned() {
                        stanzas.insert(name, std::mem::take(&mut fields));
                    }
                    fields.clear();
                } else if line.starts_with([' ', '\t']) {
                    if let Some(value) = fields.get_mut(&last) {
                        value.push_str(line.trim());
                    }
                } else if let Some((key, value)) = line.split_once(':') {
                    last = key.to_owned();
                    fields.insert(key.to_owned(), value.trim().to_owned());
                }
            }
        }
        let mut providers = BTreeMap::new();
        for (name, stanza) in &stanzas {
            let required = stanza.get("Priority").is_some_and(|p| p == "required");
            for virtual_name in names(stanza.get("Provides")) {
                if required || !providers.contains_key(&virtual_name) {
                    providers.insert(virtual_name, name.clone());
                }
            }
        }
        Index { stanzas, providers }
    }

    /// Every package that is `Priority: required` or `Essential: yes`: what debootstrap's
    /// minbase variant installs, with apt.
    fn required(&self) -> Vec<String> {
        self.stanzas
            .iter()
            .filter(|(_, stanza)| {
                stanza.get("Priority").is_some_and(|p| p == "required")
                    || stanza.get("Essential").is_some_and(|e| e == "yes")
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// `packages` and their `Depends`/`Pre-Depends` closure (first alternatives), and the sum
    /// of their `Installed-Size` in bytes.
    fn closure(&self, packages: &[String]) -> (BTreeSet<String>, u64) {
        let mut seen = BTreeSet::new();
        let mut pending = packages.to_vec();
        let mut total = 0;
        while let Some(name) = pending.pop() {
            let name = self
                .providers
                .get(&name)
                .cloned()
                .filter(|_| !self.stanzas.contains_key(&name))
                .unwrap_or(name);
            let Some(stanza) = self.stanzas.get(&name) else {
                continue;
            };
            if !seen.insert(name.clone()) {
                continue;
            }
            total += stanza
                .get("Installed-Size")
                .and_then(|kib| kib.parse::<u64>().ok())
                .unwrap_or(0)
                * 1024;
            pending.extend(names(stanza.get("Depends")));
            pending.extend(names(stanza.get("Pre-Depends")));
        }
        (seen, total)
    }
}

/// The package names of a relation field, the first of each set of alternatives.
fn names(field: Option<&String>) -> Vec<String> {
    field
        .map_or("", String::as_str)
        .split(',')
        .filter_map(|relation| {
            let first = relation.split('|').next()?;
            let name = first.split(['(', ':', '[']).next()?.trim();
            (!name.is_empty()).then(|| name.to_owned())
        })
        .collect()
}

/// `buildah bud` of `dockerfile` in `context`, reaching the mirror by name; returns how long it
/// took and how many requests the mirror answered meanwhile.
fn build(
    buildah: &Buildah,
    server: &StaticServer,
    context: &Path,
    dockerfile: &str,
    tag: &str,
    extra: &[&str],
) -> (f64, usize) {
    let port = server
        .url()
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .expect("the URL has a port")
        .to_owned();
    let archive = format!("KERF_ARCHIVE_URL=ubuntu=http://{MIRROR_HOST}:{port}/ubuntu/");
    let add_host = format!("{MIRROR_HOST}:127.0.0.1");
    let dockerfile = context.join(dockerfile);
    let mut args = vec![
        "bud",
        "--isolation",
        "chroot",
        "--network",
        "host",
        "--http-proxy=false",
        "--pull=never",
        "--add-host",
        &add_host,
        "--build-arg",
        &archive,
        "-f",
        dockerfile.to_str().expect("a UTF-8 path"),
        "-t",
        tag,
    ];
    args.extend_from_slice(extra);
    args.push(context.to_str().expect("a UTF-8 path"));
    let before = server.requests();
    let started = Instant::now();
    buildah.run(&args);
    (started.elapsed().as_secs_f64(), server.requests() - before)
}

/// Runs `command` in a new container of `image` (chroot isolation); returns its stdout.
fn run_in(buildah: &Buildah, image: &str, command: &[&str]) -> String {
    let container = buildah.run(&["from", "--pull=never", image]);
    let mut args = vec!["run", "--isolation", "chroot", &container, "--"];
    args.extend_from_slice(command);
    let output = buildah.run(&args);
    buildah.run(&["rm", &container]);
    output
}

/// The size buildah gives the image, and the bytes in its root's files.
fn image_size(buildah: &Buildah, image: &str) -> (String, u64) {
    let size = buildah.run(&["images", "--format", "{{.Size}}", image]);
    let container = buildah.run(&["from", "--pull=never", image]);
    let mount = PathBuf::from(buildah.run(&["mount", &container]));
    let bytes = tree_bytes(&mount);
    buildah.run(&["umount", &container]);
    buildah.run(&["rm", &container]);
    (size, bytes)
}

#[test]
fn the_openssl_example_builds_and_runs_with_buildah() {
    with_shared!(shared => {
        let Some(kerf) = prerequisites() else { return };
        let dir = TestDir::new();
        let mirror = shared.join("fixtures/noble-mirror");
        let server = StaticServer::serve(&mirror);
        let buildah = Buildah::new(dir.path());

        // The builder stage's base image, made by kerf: a cut root with a shell, and the
        // static kerf in it. Cutting it with the static binary is its first test: loopback
        // mirror, InRelease signatures, packages.
        let root = dir.path().join("builder-root");
        let output = Command::new(&kerf)
            .args(["cut", "--release", "ubuntu-24.04", "--root"])
            .arg(&root)
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .arg("--archive-url")
            .arg(format!("ubuntu={}ubuntu/", server.url()))
            .args(["base-files_base", "dash_bins"])
            .env_remove("KERF_ARCHIVE_URL")
            .output()
            .expect("cannot run the static kerf");
        check(&output, "the static kerf's cut of the builder root");
        fs_err::create_dir_all(root.join("usr/local/bin")).expect("cannot create a directory");
        fs_err::copy(&kerf, root.join("usr/local/bin/kerf")).expect("cannot copy kerf");
        let container = buildah.run(&["from", "scratch"]);
        buildah.run(&["copy", &container, root.to_str().expect("a UTF-8 path"), "/"]);
        buildah.run(&["config", "--cmd", "/bin/sh", &container]);
        buildah.run(&["commit", "--quiet", &container, "localhost/kerf-test-builder"]);
        buildah.run(&["rm", &container]);
        let builder_image = "BUILDER_IMAGE=localhost/kerf-test-builder";

        let context = example_context(dir.path(), &kerf);
        let image = "localhost/kerf-example-openssl";
        let with_builder = ["--build-arg", builder_image];
        let (cold, cold_requests) =
            build(&buildah, &server, &context, "Dockerfile", image, &with_builder);
        let version = run_in(&buildah, image, &["openssl", "version"]);
        assert!(version.starts_with("OpenSSL 3.0.13 "), "openssl version printed {version:?}");

        // Again: the cache mount keeps what the first build fetched.
        let (warm, warm_requests) =
            build(&buildah, &server, &context, "Dockerfile", image, &with_builder);
        assert!(
            warm_requests < cold_requests,
            "the second build made {warm_requests} requests, the first {cold_requests}"
        );
        assert!(
            fs_err::read_dir(&buildah.tmp).expect("buildah's TMPDIR").next().is_some(),
            "the cache mount lives in buildah's TMPDIR, which the test removes"
        );

        let (size, bytes) = image_size(&buildah, image);
        let index = Index::load(&mirror);
        let (packages, full) = index.closure(&["base-files".to_owned(), "openssl".to_owned()]);
        let mut minbase = index.required();
        minbase.extend(["apt".to_owned(), "openssl".to_owned()]);
        let (minbase, minbase_bytes) = index.closure(&minbase);
        report(&format!("`{version}` from the image built with examples/Dockerfile"));
        report(&format!(
            "build: {cold:.1} s cold ({cold_requests} requests to the mirror), \
             {warm:.1} s with the cache mount warm ({warm_requests} requests)"
        ));
        report(&format!(
            "image size: {size} (buildah), {} in the root's files",
            mib(bytes)
        ));
        report(&format!(
            "for comparison, the Installed-Size of whole packages, from the archive's index: \
             the same packages with their dependencies ({}) {}; an ubuntu:24.04-style root \
             (debootstrap minbase: the required and essential packages, apt and openssl, \
             {} packages with their dependencies) {}",
            packages.into_iter().collect::<Vec<_>>().join(", "),
            mib(full),
            minbase.len(),
            mib(minbase_bytes)
        ));
        assert!(bytes < full, "the sliced root is {bytes} bytes, the whole packages {full}");
        assert!(
            bytes * 4 < minbase_bytes,
            "the sliced root is {bytes} bytes, a minbase root with openssl {minbase_bytes}"
        );
    });
}

#[test]
fn the_custom_release_example_builds_from_scratch_with_buildah() {
    with_shared!(shared => {
        let Some(kerf) = prerequisites() else { return };
        let dir = TestDir::new();
        let server = StaticServer::serve(&shared.join("fixtures/noble-mirror"));
        let buildah = Buildah::new(dir.path());
        let context = example_context(dir.path(), &kerf);
        let image = "localhost/kerf-example-custom";
        // The default builder image: scratch, with nothing but the static kerf.
        let (seconds, _) =
            build(&buildah, &server, &context, "custom-release/Dockerfile", image, &[]);
        let said = run_in(
            &buildah,
            image,
            &["/usr/bin/sh", "-c", "echo hello from $(busybox id -un) in $(busybox pwd)"],
        );
        assert_eq!(said, "hello from app in /home/app");
        let (size, bytes) = image_size(&buildah, image);
        report(&format!(
            "examples/custom-release: built in {seconds:.1} s from a scratch builder; \
             image size {size} (buildah), {} in files",
            mib(bytes)
        ));
    });
}

#[test]
fn the_example_releases_lint_clean() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for (release, summary) in [
        ("custom-release/release", "ok: 3 packages, 6 slices, "),
        ("debian/release", "ok: 4 packages, 9 slices, "),
    ] {
        let dir = examples.join(release);
        let run = kerf(
            &examples,
            &["lint", "--release", dir.to_str().expect("a UTF-8 path")],
        );
        assert!(
            run.success().starts_with(summary),
            "{release}: {}",
            run.stdout
        );
    }
}
