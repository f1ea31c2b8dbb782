//! The releases bundled into kerf, the project's `slices/<name>/`: each lints by name and
//! `kerf version` counts it, each covers every package of its fixture archive, each of its
//! `*_bins` slices cuts alone into a root where `kerf check` finds nothing missing and the
//! program runs (in a chroot for amd64, under qemu for arm64), and all its slices cut
//! together. Then what each release is for: Python's standard slice imports its native
//! modules, the fixture README's large cut works in a chroot, OpenSSL finds its legacy
//! provider and the CA bundle. (That none of their files is a copy of chisel-releases is
//! `bundled_no_copy.rs`.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};

use kerf::testing::server::TestServer;
use sha2::{Digest as _, Sha256};

use crate::harness::{kerf, kerf_with, Run, TestDir};
use crate::mutate_scripts::in_chroot;
use crate::with_shared;

/// A bundled release and the fixture archive its tests cut from.
struct Bundled {
    /// The name `--release` takes.
    name: &'static str,
    /// The fixture mirror, below `../shared/fixtures`, served as it is.
    mirror: &'static str,
    /// Each archive of the release and its path below the served mirror.
    archives: &'static [(&'static str, &'static str)],
    /// The architectures the fixture has packages for.
    arches: &'static [&'static str],
    /// The clock of its cuts (`KERF_NOW`), where the fixture's signed files expire.
    now: Option<&'static str>,
    /// What `kerf lint` counts: packages, slices and paths.
    counts: (usize, usize, usize),
    /// One entry per `*_bins` slice of the release, in `find`'s order.
    bins: &'static [BinsCheck],
}

const NOBLE: Bundled = Bundled {
    name: "ubuntu-24.04",
    mirror: "noble-mirror",
    archives: &[("ubuntu", "ubuntu/")],
    arches: &["amd64"],
    now: None,
    counts: (64, 150, 564),
    bins: &NOBLE_BINS,
};

const RESOLUTE: Bundled = Bundled {
    name: "ubuntu-26.04",
    mirror: "resolute-mirror",
    archives: &[("ubuntu", "ubuntu/")],
    arches: &["amd64"],
    now: None,
    counts: (74, 170, 582),
    bins: &RESOLUTE_BINS,
};

const TRIXIE: Bundled = Bundled {
    name: "debian-13",
    mirror: "trixie-mirror",
    archives: &[
        ("debian", "debian/"),
        ("debian-security", "debian-security/"),
    ],
    arches: &["amd64", "arm64"],
    // Debian's pockets carry a Valid-Until a week after their Date: the fixture's updates and
    // security pockets were signed on 2026-12-04 and expire on 2026-12-11. The cuts run on
    // 2026-12-05 00:00 UTC, whatever the day the tests run.
    now: Some(TRIXIE_VALID),
    counts: (8, 28, 109),
    bins: &TRIXIE_BINS,
};

const RELEASES: [&Bundled; 3] = [&TRIXIE, &NOBLE, &RESOLUTE];

/// 2026-12-05 00:00 UTC: the trixie fixture's files are all valid.
const TRIXIE_VALID: &str = "1796428800";

/// A release's sources in this repository.
pub(crate) fn release_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("slices")
        .join(name)
}

/// The fixture archive of one release, served on loopback while this lives.
struct Mirror<'a> {
    bundled: &'a Bundled,
    server: TestServer,
}

impl<'a> Mirror<'a> {
    fn serve(shared: &Path, bundled: &'a Bundled) -> Mirror<'a> {
        Mirror {
            bundled,
            server: TestServer::serve_dir(&shared.join("fixtures").join(bundled.mirror)),
        }
    }

    /// `kerf cut --release NAME --arch ARCH` of `slices` into `root`, from this mirror.
    fn cut(&self, arch: &str, root: &Path, cache: &Path, slices: &[&str]) -> Run {
        let archives: Vec<String> = self
            .bundled
            .archives
            .iter()
            .map(|(name, path)| format!("{name}={}{path}", self.server.url("/")))
            .collect();
        let mut args = vec![
            "cut",
            "-q",
            "--release",
            self.bundled.name,
            "--arch",
            arch,
            "--root",
            root.to_str().unwrap(),
            "--cache-dir",
            cache.to_str().unwrap(),
        ];
        for archive in &archives {
            args.extend(["--archive-url", archive]);
        }
        args.extend_from_slice(slices);
        let env: Vec<(&str, &str)> = self
            .bundled
            .now
            .map(|now| ("KERF_NOW", now))
            .into_iter()
            .collect();
        kerf_with(root.parent().unwrap(), &env, &args)
    }
}

/// The download cache of every cut in this file, below Cargo's temporary directory for
/// tests. The first use of each release and architecture in a test process warms it with a
/// small cut: a cut from a cold cache fetches and parses the mirror's whole package indexes,
/// most of its time in a debug build, and tests running at once would each do so. Later cuts
/// reuse the indexes and the .debs, and fetch only the signed InRelease files.
fn warm_cache(shared: &Path, bundled: &Bundled, arch: &str) -> PathBuf {
    static WARMED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bundled-release-cache");
    let mut warmed = WARMED.lock().unwrap_or_else(PoisonError::into_inner);
    if warmed.insert(format!("{} {arch}", bundled.name)) {
        let mirror = Mirror::serve(shared, bundled);
        let dir = TestDir::new();
        let root = dir.path().join("rootfs");
        mirror
            .cut(arch, &root, &cache, &["base-files_copyright"])
            .success();
    }
    cache
}

/// `kerf check --root ROOT --release NAME --arch ARCH` must find every interpreter and
/// library.
#[track_caller]
fn assert_complete(root: &Path, bundled: &Bundled, arch: &str, what: &str) {
    let run = kerf(
        root.parent().unwrap(),
        &[
            "check",
            "--root",
            root.to_str().unwrap(),
            "--release",
            bundled.name,
            "--arch",
            arch,
        ],
    );
    assert!(
        run.status == 0
            && run.stdout.starts_with("ok: ")
            && run.stdout.ends_with(" checked, nothing missing\n"),
        "{} {arch} {what}: kerf check failed ({}):\n{}{}",
        bundled.name,
        run.status,
        run.stdout,
        run.stderr
    );
}

/// Says why a check is skipped, on stderr where the test harness shows it.
fn skip(why: &str) {
    #[expect(clippy::print_stderr, reason = "a skipped check says why")]
    {
        eprintln!("skipping: {why}");
    }
}

/// Runs `args` (a program of the root and its arguments) as the root's own system would:
/// in a chroot for amd64 (on an x86-64 machine), under `qemu-aarch64-static -L ROOT` for
/// arm64. Returns whether it succeeded and its output, or `None` (after saying why) when
/// this machine cannot run it.
fn run_in_root(
    root: &Path,
    arch: &str,
    env: &[(&str, &str)],
    args: &[&str],
) -> Option<(bool, String)> {
    match arch {
        "amd64" if cfg!(target_arch = "x86_64") => in_chroot(root, env, args),
        "arm64" => under_qemu(root, env, args),
        _ => {
            skip(&format!("this machine cannot run {arch} programs"));
            None
        }
    }
}

/// The arm64 program `args[0]` of `root` run by qemu's user-mode emulator, which finds the
/// program's loader and libraries, and the files the program opens, inside the root.
fn under_qemu(root: &Path, env: &[(&str, &str)], args: &[&str]) -> Option<(bool, String)> {
    let qemu = Path::new("/usr/bin/qemu-aarch64-static");
    if !qemu.exists() {
        skip("no qemu-aarch64-static (Debian's qemu-user-static; .ci/run installs it)");
        return None;
    }
    let (program, rest) = args.split_first().expect("a program");
    let output = Command::new(qemu)
        .arg("-L")
        .arg(root)
        .arg(root.join(program.trim_start_matches('/')))
        .args(rest)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env.iter().copied())
        .output()
        .expect("cannot run qemu-aarch64-static");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some((output.status.success(), text))
}

/// Runs `args` in `root` and asserts success and the start of the output; returns false
/// (after saying why) when this machine cannot run the root's programs.
#[track_caller]
fn assert_runs(root: &Path, arch: &str, env: &[(&str, &str)], args: &[&str], prints: &str) -> bool {
    let Some((ok, output)) = run_in_root(root, arch, env, args) else {
        return false;
    };
    assert!(
        ok && output.starts_with(prints),
        "{arch} {} {args:?}: expected output starting with {prints:?}, got:\n{output}",
        root.display()
    );
    true
}

/// The slices of a release that `kerf find` lists for `query`, in its order.
fn find(bundled: &Bundled, query: &str) -> Vec<String> {
    let dir = TestDir::new();
    let run = kerf(dir.path(), &["find", "--release", bundled.name, query]);
    run.success()
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_bundled_releases_lint_by_name_and_kerf_version_counts_them() {
    let dir = TestDir::new();
    let mut version = format!("kerf {}\nbundled releases:\n", env!("CARGO_PKG_VERSION"));
    for bundled in RELEASES {
        let run = kerf(dir.path(), &["lint", "--release", bundled.name]);
        let out = run.success();
        let (packages, slices, paths) = bundled.counts;
        assert!(
            out.starts_with(&format!(
                "ok: {packages} packages, {slices} slices, {paths} paths, no problems ("
            )) && out.ends_with(" ms)\n"),
            "{}: {out}",
            bundled.name
        );
        version.push_str(&format!(
            "  {}: {packages} packages, {slices} slices\n",
            bundled.name
        ));
    }
    assert_eq!(kerf(dir.path(), &["version"]).success(), version);
}

/// Every package of each fixture archive has a slice file, named after the package as
/// chisel requires. Each pool holds exactly the .debs the fixture was made for (the Debian
/// one a few older versions as well, and both architectures).
#[test]
fn each_bundled_release_covers_every_package_of_its_fixture() {
    with_shared!(shared => {
        for (bundled, expected) in [(&NOBLE, 64), (&RESOLUTE, 74), (&TRIXIE, 8)] {
            covers_every_package(&shared, bundled, expected);
        }
    });
}

fn covers_every_package(shared: &Path, bundled: &Bundled, expected: usize) {
    let mut pool = BTreeSet::new();
    let mut pending = vec![shared.join("fixtures").join(bundled.mirror)];
    while let Some(dir) = pending.pop() {
        for entry in fs_err::read_dir(&dir).expect("cannot read the mirror") {
            let path = entry.expect("a mirror entry").path();
            let name = path.file_name().and_then(|name| name.to_str());
            if path.is_dir() {
                pending.push(path.clone());
            } else if let Some(stem) = name.and_then(|name| name.strip_suffix(".deb")) {
                // NAME_VERSION_ARCH.deb
                pool.insert(stem.split('_').next().unwrap_or(stem).to_owned());
            }
        }
    }
    assert_eq!(
        pool.len(),
        expected,
        "{}: the fixture's packages",
        bundled.mirror
    );
    let files: BTreeSet<String> = file_names(&release_dir(bundled.name).join("slices"))
        .iter()
        .filter_map(|name| name.strip_suffix(".yaml").map(str::to_owned))
        .collect();
    let missing: Vec<&String> = pool.difference(&files).collect();
    assert!(
        missing.is_empty(),
        "{}: packages of the fixture without a slice file: {missing:?}",
        bundled.name
    );
}

/// The names of the entries of `dir`, sorted.
pub(crate) fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs_err::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()))
        .map(|entry| entry.expect("a directory entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// One `*_bins` slice, a harmless call of its program, and the start of what it prints.
struct BinsCheck {
    slice: &'static str,
    args: &'static [&'static str],
    prints: &'static str,
}

const NOBLE_BINS: [BinsCheck; 11] = [
    BinsCheck {
        slice: "bash_bins",
        args: &["/usr/bin/bash", "--version"],
        prints: "GNU bash, version 5.2.21(1)-release ",
    },
    BinsCheck {
        slice: "busybox_bins",
        args: &["/usr/bin/busybox", "--help"],
        prints: "BusyBox v1.36.1 (Ubuntu 1:1.36.1-6ubuntu3.1) multi-call binary.\n",
    },
    BinsCheck {
        slice: "coreutils_bins",
        args: &["/usr/bin/ls", "--version"],
        prints: "ls (GNU coreutils) 9.4\n",
    },
    BinsCheck {
        slice: "curl_bins",
        args: &["/usr/bin/curl", "--version"],
        prints: "curl 8.5.0 (x86_64-pc-linux-gnu) libcurl/8.5.0 OpenSSL/3.0.13 ",
    },
    // Through the /bin/sh link, as scripts and system(3) reach dash.
    BinsCheck {
        slice: "dash_bins",
        args: &["/bin/sh", "-c", "echo dash $((6 * 7))"],
        prints: "dash 42\n",
    },
    BinsCheck {
        slice: "grep_bins",
        args: &["/usr/bin/grep", "--version"],
        prints: "grep (GNU grep) 3.11\n",
    },
    BinsCheck {
        slice: "gzip_bins",
        args: &["/usr/bin/gzip", "--version"],
        prints: "gzip 1.12\n",
    },
    BinsCheck {
        slice: "openssl_bins",
        args: &["/usr/bin/openssl", "version"],
        prints: "OpenSSL 3.0.13 30 Jan 2024 (Library: OpenSSL 3.0.13 30 Jan 2024)\n",
    },
    BinsCheck {
        slice: "python3.12-minimal_bins",
        args: &["/usr/bin/python3.12", "--version"],
        prints: "Python 3.12.3\n",
    },
    BinsCheck {
        slice: "sed_bins",
        args: &["/usr/bin/sed", "--version"],
        prints: "/usr/bin/sed (GNU sed) 4.9\n",
    },
    BinsCheck {
        slice: "tar_bins",
        args: &["/usr/bin/tar", "--version"],
        prints: "tar (GNU tar) 1.35\n",
    },
];

const RESOLUTE_BINS: [BinsCheck; 13] = [
    BinsCheck {
        slice: "bash_bins",
        args: &["/usr/bin/bash", "--version"],
        prints: "GNU bash, version 5.3.9(1)-release ",
    },
    BinsCheck {
        slice: "busybox_bins",
        args: &["/usr/bin/busybox", "--help"],
        prints: "BusyBox v1.37.0 (Ubuntu 1:1.37.0-7ubuntu1) multi-call binary.\n",
    },
    // The usual names, links to the gnu-prefixed programs.
    BinsCheck {
        slice: "coreutils-from-gnu_bins",
        args: &["/usr/bin/cat", "--version"],
        prints: "cat (GNU coreutils) 9.7\n",
    },
    BinsCheck {
        slice: "coreutils_bins",
        args: &["/bin/ls", "--version"],
        prints: "ls (GNU coreutils) 9.7\n",
    },
    BinsCheck {
        slice: "curl_bins",
        args: &["/usr/bin/curl", "--version"],
        prints: "curl 8.18.0 (x86_64-pc-linux-gnu) libcurl/8.18.0 OpenSSL/3.5.5 ",
    },
    BinsCheck {
        slice: "dash_bins",
        args: &["/bin/sh", "-c", "echo dash $((6 * 7))"],
        prints: "dash 42\n",
    },
    // who: the program that needs libsystemd, new among coreutils' libraries in 26.04.
    BinsCheck {
        slice: "gnu-coreutils_bins",
        args: &["/usr/bin/gnuwho", "--version"],
        prints: "who (GNU coreutils) 9.7\n",
    },
    BinsCheck {
        slice: "grep_bins",
        args: &["/usr/bin/grep", "--version"],
        prints: "grep (GNU grep) 3.12\n",
    },
    BinsCheck {
        slice: "gzip_bins",
        args: &["/usr/bin/gzip", "--version"],
        prints: "gzip 1.14\n",
    },
    BinsCheck {
        slice: "openssl_bins",
        args: &["/usr/bin/openssl", "version"],
        prints: "OpenSSL 3.5.5 27 Jan 2026 (Library: OpenSSL 3.5.5 27 Jan 2026)\n",
    },
    BinsCheck {
        slice: "python3.14-minimal_bins",
        args: &["/usr/bin/python3.14", "--version"],
        prints: "Python 3.14.4\n",
    },
    BinsCheck {
        slice: "sed_bins",
        args: &["/usr/bin/sed", "--version"],
        prints: "/usr/bin/sed (GNU sed) 4.9\n",
    },
    BinsCheck {
        slice: "tar_bins",
        args: &["/usr/bin/tar", "--version"],
        prints: "tar (GNU tar) 1.35\n",
    },
];

// trixie-security's openssl 3.5.7-1~deb13u3 wins over the point release's 3.5.9-1~deb13u1:
// the security archive has the higher priority (the release's chisel.yaml says why).
const TRIXIE_BINS: [BinsCheck; 1] = [BinsCheck {
    slice: "openssl_bins",
    args: &["/usr/bin/openssl", "version"],
    prints: "OpenSSL 3.5.7 9 Jun 2026 (Library: OpenSSL 3.5.7 9 Jun 2026)\n",
}];

// For each release and architecture of its fixture: every `*_bins` slice, cut alone, gives
// a root where `kerf check` finds nothing missing and the program runs. The table of each
// release must list exactly the slices `find` knows. One test per release and architecture,
// so that they run side by side.

#[test]
fn every_bins_slice_of_ubuntu_24_04_cuts_alone_and_runs() {
    with_shared!(shared => { every_bins_slice(&shared, &NOBLE, "amd64") });
}

#[test]
fn every_bins_slice_of_ubuntu_26_04_cuts_alone_and_runs() {
    with_shared!(shared => { every_bins_slice(&shared, &RESOLUTE, "amd64") });
}

#[test]
fn every_bins_slice_of_debian_13_cuts_alone_and_runs_on_amd64() {
    with_shared!(shared => { every_bins_slice(&shared, &TRIXIE, "amd64") });
}

#[test]
fn every_bins_slice_of_debian_13_cuts_alone_and_runs_on_arm64_under_qemu() {
    with_shared!(shared => { every_bins_slice(&shared, &TRIXIE, "arm64") });
}

fn every_bins_slice(shared: &Path, bundled: &Bundled, arch: &str) {
    // `find`'s fuzzy match also finds base-files_bin, hence the filter.
    let found: Vec<String> = find(bundled, "_bins")
        .into_iter()
        .filter(|name| name.ends_with("_bins"))
        .collect();
    let table: Vec<&str> = bundled.bins.iter().map(|check| check.slice).collect();
    assert_eq!(
        found, table,
        "{}: its *_bins slices and this table",
        bundled.name
    );

    let cache = warm_cache(shared, bundled, arch);
    let mirror = Mirror::serve(shared, bundled);
    let dir = TestDir::new();
    let mut runs = true;
    for check in bundled.bins {
        let root = dir.path().join(check.slice);
        mirror.cut(arch, &root, &cache, &[check.slice]).success();
        assert_complete(&root, bundled, arch, check.slice);
        if runs {
            runs = assert_runs(&root, arch, &[], check.args, check.prints);
        }
    }
}

/// Every slice of a release in one cut: each of its paths and globs matches something in its
/// package, nothing conflicts when all are selected, the root is complete, and the manifest
/// that base-files_chisel asks for lists every slice. Returns the root, kept in `dir`.
fn cut_every_slice(shared: &Path, dir: &TestDir, bundled: &Bundled, arch: &str) -> PathBuf {
    let slices = find(bundled, "*");
    assert_eq!(slices.len(), bundled.counts.1, "{}'s slices", bundled.name);
    let slices: Vec<&str> = slices.iter().map(String::as_str).collect();

    let cache = warm_cache(shared, bundled, arch);
    let mirror = Mirror::serve(shared, bundled);
    let root = dir.path().join(format!("{}-{arch}", bundled.name));
    mirror.cut(arch, &root, &cache, &slices).success();
    assert_complete(&root, bundled, arch, "every slice");
    let wall = fs_err::read(root.join("var/lib/chisel/manifest.wall")).expect("the manifest");
    let wall = String::from_utf8(zstd::decode_all(wall.as_slice()).expect("zstd")).expect("UTF-8");
    let listed: Vec<&str> = wall
        .lines()
        .filter_map(|line| line.strip_prefix(r#"{"kind":"slice","name":""#))
        .filter_map(|rest| rest.strip_suffix(r#""}"#))
        .collect();
    assert_eq!(
        listed, slices,
        "{} {arch}: the manifest's slices",
        bundled.name
    );
    root
}

/// The sha256 of a file of the root, as hex.
fn sha256_hex(path: &Path) -> String {
    let bytes = fs_err::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    Sha256::digest(&bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Asserts that the fixture's reference listing has this CA bundle: the bundle that
/// ca-certificates_data's script builds is the one update-ca-certificates built for the
/// reference root.
#[track_caller]
fn assert_reference_bundle(shared: &Path, root: &Path, reference: &str) {
    let digest = sha256_hex(&root.join("etc/ssl/certs/ca-certificates.crt"));
    let listing = fs_err::read_to_string(shared.join("fixtures/expected").join(reference))
        .unwrap_or_else(|error| panic!("cannot read expected/{reference}: {error}"));
    let line_end = format!(" {digest} /etc/ssl/certs/ca-certificates.crt");
    assert!(
        listing
            .lines()
            .any(|line| line.starts_with("f 0o644 ") && line.ends_with(&line_end)),
        "the CA bundle (sha256 {digest}) differs from the one in {reference}"
    );
}

/// A command run in a cut root, with its environment, and the start of what it must print.
struct InRoot {
    env: &'static [(&'static str, &'static str)],
    args: &'static [&'static str],
    prints: &'static str,
}

/// Runs each check in `root`, as far as this machine can run its programs.
#[track_caller]
fn assert_all_run(root: &Path, arch: &str, checks: &[InRoot]) {
    for check in checks {
        if !assert_runs(root, arch, check.env, check.args, check.prints) {
            break;
        }
    }
}

#[test]
fn every_slice_of_ubuntu_24_04_cuts_together() {
    with_shared!(shared => {
        let dir = TestDir::new();
        cut_every_slice(&shared, &dir, &NOBLE, "amd64");
    });
}

/// 26.04 whole: Python 3.14 with the native modules of four slices (OpenSSL, SQLite, zstd
/// and uuid, new in 3.14's or 26.04's library), readline and curses; the CA bundle;
/// OpenSSL's legacy provider, a package of its own since 3.5.
const RESOLUTE_CHECKS: [InRoot; 4] = [
    InRoot {
        env: &[],
        args: &[
            "/usr/bin/python3.14",
            "-c",
            "import ssl, sqlite3, json, _uuid, uuid, readline, curses\n\
             from compression import zstd\n\
             print(json.dumps([ssl.OPENSSL_VERSION, sqlite3.sqlite_version, \
             zstd.decompress(zstd.compress(b'kerf')).decode(), uuid.uuid4().version]))",
        ],
        prints: "[\"OpenSSL 3.5.5 27 Jan 2026\", \"3.46.1\", \"kerf\", 4]\n",
    },
    InRoot {
        env: &[],
        args: &[
            "/usr/bin/openssl",
            "x509",
            "-in",
            "/etc/ssl/certs/ca-certificates.crt",
            "-noout",
            "-subject",
        ],
        prints: "subject=CN=ACCVRAIZ1, OU=PKIACCV, O=ACCV, C=ES\n",
    },
    InRoot {
        env: &[],
        args: &[
            "/usr/bin/openssl",
            "list",
            "-providers",
            "-provider",
            "legacy",
        ],
        prints: "Providers:\n  legacy\n    name: OpenSSL Legacy Provider\n    version: 3.5.5\n",
    },
    InRoot {
        env: &[("TZ", "Asia/Tokyo")],
        args: &["/usr/bin/date", "-d", "@0", "+%H:%M %Z"],
        prints: "09:00 JST\n",
    },
];

#[test]
fn every_slice_of_ubuntu_26_04_cuts_together_and_works() {
    with_shared!(shared => {
        let dir = TestDir::new();
        let root = cut_every_slice(&shared, &dir, &RESOLUTE, "amd64");
        assert_reference_bundle(&shared, &root, "large-26.04.treesum");
        assert_all_run(&root, "amd64", &RESOLUTE_CHECKS);
    });
}

/// Debian 13 whole, on both architectures: who the root says it is (what scanners read),
/// the CA bundle, and OpenSSL with its legacy provider.
const TRIXIE_CHECKS: [InRoot; 2] = [
    InRoot {
        env: &[],
        args: &[
            "/usr/bin/openssl",
            "x509",
            "-in",
            "/etc/ssl/certs/ca-certificates.crt",
            "-noout",
            "-subject",
        ],
        prints: "subject=CN=ACCVRAIZ1, OU=PKIACCV, O=ACCV, C=ES\n",
    },
    InRoot {
        env: &[],
        args: &[
            "/usr/bin/openssl",
            "list",
            "-providers",
            "-provider",
            "legacy",
            "-provider",
            "default",
        ],
        prints: "Providers:\n  default\n    name: OpenSSL Default Provider\n    version: 3.5.7\n    status: active\n  legacy\n    name: OpenSSL Legacy Provider\n    version: 3.5.7\n",
    },
];

#[test]
fn every_slice_of_debian_13_cuts_together_and_works_on_amd64_and_arm64() {
    with_shared!(shared => {
        let dir = TestDir::new();
        for arch in TRIXIE.arches {
            let root = cut_every_slice(&shared, &dir, &TRIXIE, arch);
            let os_release = fs_err::read_to_string(root.join("usr/lib/os-release"))
                .expect("os-release");
            assert!(
                os_release.contains("\nID=debian\n") && os_release.contains("\nVERSION_ID=\"13\"\n"),
                "{os_release}"
            );
            // The loader at the path the ABI names, through base-files' links.
            let loader = match *arch {
                "amd64" => "lib64/ld-linux-x86-64.so.2",
                _ => "lib/ld-linux-aarch64.so.1",
            };
            assert!(root.join(loader).is_file(), "{arch}: no {loader}");
            assert_all_run(&root, arch, &TRIXIE_CHECKS);
        }
    });
}

/// The cut of the README's example, with the 26.04 release: openssl runs in the root.
#[test]
fn ubuntu_26_04s_openssl_runs_in_a_chroot() {
    with_shared!(shared => {
        let cache = warm_cache(&shared, &RESOLUTE, "amd64");
        let mirror = Mirror::serve(&shared, &RESOLUTE);
        let dir = TestDir::new();
        let root = dir.path().join("rootfs");
        mirror
            .cut("amd64", &root, &cache, &["base-files_base", "libc6_libs", "openssl_bins"])
            .success();
        assert_complete(&root, &RESOLUTE, "amd64", "the small cut");
        assert_runs(&root, "amd64", &[], &["/usr/bin/openssl", "version"], "OpenSSL 3.");
    });
}

#[test]
fn python_3_12_standard_imports_its_native_modules() {
    with_shared!(shared => {
        let cache = warm_cache(&shared, &NOBLE, "amd64");
        let mirror = Mirror::serve(&shared, &NOBLE);
        let dir = TestDir::new();
        let root = dir.path().join("rootfs");
        mirror.cut("amd64", &root, &cache, &["python3.12_standard"]).success();
        assert_complete(&root, &NOBLE, "amd64", "python3.12_standard");
        // _ssl (OpenSSL), _sqlite3 (SQLite) and _json are extension modules of three different
        // slices; each import loads its shared object.
        let script = "import ssl, sqlite3, json\n\
                      print(json.dumps([ssl.OPENSSL_VERSION, sqlite3.sqlite_version]))";
        assert_runs(
            &root,
            "amd64",
            &[],
            &["/usr/bin/python3.12", "-c", script],
            "[\"OpenSSL 3.0.13 30 Jan 2024\", \"3.45.1\"]\n",
        );
    });
}

/// The large cut of the fixture README, with the 24.04 release instead of the corpus's.
const LARGE: [&str; 17] = [
    "base-files_base",
    "base-files_release-info",
    "ca-certificates_data",
    "tzdata_zoneinfo",
    "libc6_libs",
    "libssl3t64_libs",
    "openssl_bins",
    "python3.12_standard",
    "coreutils_bins",
    "bash_bins",
    "dash_bins",
    "busybox_bins",
    "curl_bins",
    "grep_bins",
    "sed_bins",
    "tar_bins",
    "gzip_bins",
];

/// What the large root must do: a shell, Python with its native modules, curl, the CA bundle
/// that ca-certificates' script builds (its first certificate), and time zones.
const LARGE_CHECKS: [InRoot; 5] = [
    InRoot {
        env: &[],
        args: &["/usr/bin/bash", "-c", "echo $((6 * 7))"],
        prints: "42\n",
    },
    InRoot {
        env: &[],
        args: &[
            "/usr/bin/python3.12",
            "-c",
            "import ssl, sqlite3, json; print(json.dumps([1]))",
        ],
        prints: "[1]\n",
    },
    InRoot {
        env: &[],
        args: &["/usr/bin/curl", "--version"],
        prints: "curl 8.5.0 ",
    },
    InRoot {
        env: &[],
        args: &[
            "/usr/bin/openssl",
            "x509",
            "-in",
            "/etc/ssl/certs/ca-certificates.crt",
            "-noout",
            "-subject",
        ],
        prints: "subject=CN = ACCVRAIZ1, OU = PKIACCV, O = ACCV, C = ES\n",
    },
    InRoot {
        env: &[("TZ", "Asia/Tokyo")],
        args: &["/usr/bin/date", "-d", "@0", "+%H:%M %Z"],
        prints: "09:00 JST\n",
    },
];

#[test]
fn the_large_cut_of_ubuntu_24_04_works_in_a_chroot() {
    with_shared!(shared => {
        let cache = warm_cache(&shared, &NOBLE, "amd64");
        let mirror = Mirror::serve(&shared, &NOBLE);
        let dir = TestDir::new();
        let root = dir.path().join("rootfs");
        mirror.cut("amd64", &root, &cache, &LARGE).success();
        assert_complete(&root, &NOBLE, "amd64", "the large cut");
        assert_reference_bundle(&shared, &root, "large.treesum");
        // The certificates were only the script's input: removed, their directory left
        // empty. (ca-certificates_data-with-certs, not in this cut, keeps them.)
        assert_eq!(
            file_names(&root.join("usr/share/ca-certificates/mozilla")),
            Vec::<String>::new()
        );
        assert_all_run(&root, "amd64", &LARGE_CHECKS);
    });
}

/// A clock past a pocket's Valid-Until (2026-12-11 03:00 UTC: trixie-updates expired at 02:09,
/// trixie-security still good until 03:54) gets an error that names the archive, the suite,
/// the date and the way out; `--ignore=release-dates` then cuts from the same files.
#[test]
fn debian_13_refuses_an_expired_pocket_and_says_how_to_proceed() {
    with_shared!(shared => {
        let mirror = Mirror::serve(&shared, &TRIXIE);
        let dir = TestDir::new();
        let cache = dir.path().join("cache");
        let url = mirror.server.url("/");
        let cut = |root: &str, extra: &[&str]| {
            let debian = format!("debian={url}debian/");
            let security = format!("debian-security={url}debian-security/");
            let mut args = vec![
                "cut", "-q", "--release", "debian-13", "--arch", "amd64", "--root", root,
                "--cache-dir", cache.to_str().unwrap(), "--archive-url", &debian,
                "--archive-url", &security,
            ];
            args.extend_from_slice(extra);
            args.push("openssl_bins");
            kerf_with(dir.path(), &[("KERF_NOW", "1796958000")], &args)
        };
        cut("expired", &[]).fails_with(
            1,
            "error: archive \"debian\" suite trixie-updates: the InRelease file expired on \
             Fri, 11 Dec 2026 02:09:32 UTC (its Valid-Until): the mirror is out of date, or \
             replays an old file; cut anyway with --ignore=release-dates\n",
        );
        cut("ignored", &["--ignore=release-dates"]).success();
        assert!(dir.path().join("ignored/usr/bin/openssl").is_file());
    });
}
