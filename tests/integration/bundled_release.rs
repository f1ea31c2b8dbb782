//! The release bundled into kerf, the project's `slices/ubuntu-24.04/`: it lints by name,
//! covers every package of the fixture mirror, each of its `*_bins` slices cuts alone into
//! a root where `kerf check` finds nothing missing and the program runs, Python's standard
//! slice imports its native modules, the large cut of the fixture README works in a chroot,
//! and none of its files is a copy of the chisel-releases file of the same package.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest as _, Sha256};

use crate::harness::{kerf, Run, StaticServer, TestDir};
use crate::mutate_scripts::in_chroot;
use crate::with_shared;

/// The bundled release, by the name `--release` takes.
const RELEASE: &str = "ubuntu-24.04";

/// Its sources in this repository.
fn release_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("slices")
        .join(RELEASE)
}

/// `kerf cut --release ubuntu-24.04` of `slices` into `root`, from the fixture mirror served
/// at `url`. The mirror only has amd64 packages, hence `--arch`.
fn cut(url: &str, root: &Path, cache: &Path, slices: &[&str]) -> Run {
    let archive = format!("ubuntu={url}ubuntu/");
    let mut args = vec![
        "cut",
        "-q",
        "--release",
        RELEASE,
        "--arch",
        "amd64",
        "--root",
        root.to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
        "--archive-url",
        &archive,
    ];
    args.extend_from_slice(slices);
    kerf(root.parent().unwrap(), &args)
}

/// The download cache of every cut in this file, below Cargo's temporary directory for
/// tests, filled once per test process before any test uses it. A cut from a cold cache
/// fetches and parses the mirror's whole package indexes, most of its time in a debug
/// build; later cuts reuse them and the .debs, and fetch only the signed InRelease files.
fn warm_cache(shared: &Path) -> &'static Path {
    static CACHE: OnceLock<PathBuf> = OnceLock::new();
    CACHE.get_or_init(|| {
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bundled-release-cache");
        let server = StaticServer::serve(&shared.join("fixtures/noble-mirror"));
        let dir = TestDir::new();
        let root = dir.path().join("rootfs");
        cut(&server.url(), &root, &cache, &["base-files_copyright"]).success();
        cache
    })
}

/// `kerf check --root ROOT --release ubuntu-24.04` must find every interpreter and library.
#[track_caller]
fn assert_complete(root: &Path, what: &str) {
    let run = kerf(
        root.parent().unwrap(),
        &[
            "check",
            "--root",
            root.to_str().unwrap(),
            "--release",
            RELEASE,
            "--arch",
            "amd64",
        ],
    );
    assert!(
        run.status == 0
            && run.stdout.starts_with("ok: ")
            && run.stdout.ends_with(" checked, nothing missing\n"),
        "{what}: kerf check failed ({}):\n{}{}",
        run.status,
        run.stdout,
        run.stderr
    );
}

/// Runs `args` in a chroot of `root` and asserts success and the start of the output;
/// returns false (after saying why) when this machine cannot run the root's programs.
#[track_caller]
fn assert_runs(root: &Path, env: &[(&str, &str)], args: &[&str], prints: &str) -> bool {
    if !cfg!(target_arch = "x86_64") {
        #[expect(clippy::print_stderr, reason = "a skipped check says why")]
        {
            eprintln!("skipping the chroot checks: the fixture's programs are amd64 ones");
        }
        return false;
    }
    let Some((ok, output)) = in_chroot(root, env, args) else {
        return false;
    };
    assert!(
        ok && output.starts_with(prints),
        "chroot {} {args:?}: expected output starting with {prints:?}, got:\n{output}",
        root.display()
    );
    true
}

#[test]
fn the_bundled_release_lints_by_name() {
    let dir = TestDir::new();
    let run = kerf(dir.path(), &["lint", "--release", RELEASE]);
    let out = run.success();
    assert!(
        out.starts_with("ok: 64 packages, 150 slices, 564 paths, no problems (")
            && out.ends_with(" ms)\n"),
        "{out}"
    );
    let run = kerf(dir.path(), &["version"]);
    assert!(
        run.success()
            .ends_with(&format!("\nbundled releases: {RELEASE}\n")),
        "{}",
        run.stdout
    );
}

/// Every package of the fixture mirror (its pool holds exactly the .debs of the README's two
/// cuts) has a slice file, named after the package as chisel requires.
#[test]
fn the_bundled_release_covers_every_package_of_the_fixture_mirror() {
    with_shared!(shared => { covers_every_package(&shared) });
}

fn covers_every_package(shared: &Path) {
    let mut pool = BTreeSet::new();
    let mut pending = vec![shared.join("fixtures/noble-mirror/ubuntu/pool")];
    while let Some(dir) = pending.pop() {
        for entry in fs_err::read_dir(&dir).expect("cannot read the pool") {
            let path = entry.expect("a pool entry").path();
            let name = path.file_name().and_then(|name| name.to_str());
            if path.is_dir() {
                pending.push(path.clone());
            } else if let Some(stem) = name.and_then(|name| name.strip_suffix(".deb")) {
                // NAME_VERSION_ARCH.deb
                pool.insert(stem.split('_').next().unwrap_or(stem).to_owned());
            }
        }
    }
    assert_eq!(pool.len(), 64, "the fixture's pool");
    let files: BTreeSet<String> = file_names(&release_dir().join("slices"))
        .iter()
        .filter_map(|name| name.strip_suffix(".yaml").map(str::to_owned))
        .collect();
    let missing: Vec<&String> = pool.difference(&files).collect();
    assert!(
        missing.is_empty(),
        "packages of the fixture without a slice file: {missing:?}"
    );
}

/// The names of the entries of `dir`, sorted.
fn file_names(dir: &Path) -> Vec<String> {
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

/// One entry per `*_bins` slice of the release; the test fails if the release gains or loses
/// one without this table following.
const BINS: [BinsCheck; 11] = [
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

#[test]
fn every_bins_slice_cuts_alone_and_its_program_runs() {
    with_shared!(shared => { every_bins_slice(&shared) });
}

fn every_bins_slice(shared: &Path) {
    // The release's `*_bins` slices, as `find` lists them (its fuzzy match also finds
    // base-files_bin, hence the filter).
    let dir = TestDir::new();
    let run = kerf(dir.path(), &["find", "--release", RELEASE, "_bins"]);
    let found: Vec<&str> = run
        .success()
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| name.ends_with("_bins"))
        .collect();
    let table: Vec<&str> = BINS.iter().map(|check| check.slice).collect();
    assert_eq!(found, table, "the release's *_bins slices and this table");

    let cache = warm_cache(shared);
    let server = StaticServer::serve(&shared.join("fixtures/noble-mirror"));
    let mut chroot = true;
    for check in BINS {
        let root = dir.path().join(check.slice);
        cut(&server.url(), &root, cache, &[check.slice]).success();
        assert_complete(&root, check.slice);
        if chroot {
            chroot = assert_runs(&root, &[], check.args, check.prints);
        }
    }
}

#[test]
fn python_standard_imports_its_native_modules() {
    with_shared!(shared => { python_standard(&shared) });
}

fn python_standard(shared: &Path) {
    let cache = warm_cache(shared);
    let server = StaticServer::serve(&shared.join("fixtures/noble-mirror"));
    let dir = TestDir::new();
    let root = dir.path().join("rootfs");
    cut(&server.url(), &root, cache, &["python3.12_standard"]).success();
    assert_complete(&root, "python3.12_standard");
    // _ssl (OpenSSL), _sqlite3 (SQLite) and _json are extension modules of three different
    // slices; each import loads its shared object.
    let script = "import ssl, sqlite3, json\n\
                  print(json.dumps([ssl.OPENSSL_VERSION, sqlite3.sqlite_version]))";
    assert_runs(
        &root,
        &[],
        &["/usr/bin/python3.12", "-c", script],
        "[\"OpenSSL 3.0.13 30 Jan 2024\", \"3.45.1\"]\n",
    );
}

/// Every slice of the release in one cut: each of its paths and globs matches something in
/// its package, nothing conflicts when all are selected, and the root is complete.
#[test]
fn every_slice_cuts_together() {
    with_shared!(shared => { every_slice(&shared) });
}

fn every_slice(shared: &Path) {
    let dir = TestDir::new();
    let run = kerf(dir.path(), &["find", "--release", RELEASE, "*"]);
    let slices: Vec<&str> = run
        .success()
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(slices.len(), 150, "the release's slices");

    let cache = warm_cache(shared);
    let server = StaticServer::serve(&shared.join("fixtures/noble-mirror"));
    let root = dir.path().join("rootfs");
    cut(&server.url(), &root, cache, &slices).success();
    assert_complete(&root, "every slice");
    // The manifest that base-files_chisel asks for lists every slice cut.
    let wall = fs_err::read(root.join("var/lib/chisel/manifest.wall")).expect("the manifest");
    let wall = String::from_utf8(zstd::decode_all(wall.as_slice()).expect("zstd")).expect("UTF-8");
    let listed: Vec<&str> = wall
        .lines()
        .filter_map(|line| line.strip_prefix(r#"{"kind":"slice","name":""#))
        .filter_map(|rest| rest.strip_suffix(r#""}"#))
        .collect();
    assert_eq!(listed, slices);
}

/// The large cut of the fixture README, with this release instead of the corpus's.
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

/// A command run in a cut root, with its environment, and the start of what it must print.
struct InRoot {
    env: &'static [(&'static str, &'static str)],
    args: &'static [&'static str],
    prints: &'static str,
}

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
fn the_large_cut_works_in_a_chroot() {
    with_shared!(shared => { large_cut(&shared) });
}

fn large_cut(shared: &Path) {
    let cache = warm_cache(shared);
    let server = StaticServer::serve(&shared.join("fixtures/noble-mirror"));
    let dir = TestDir::new();
    let root = dir.path().join("rootfs");
    cut(&server.url(), &root, cache, &LARGE).success();
    assert_complete(&root, "the large cut");

    // The script of ca-certificates_data builds the bundle update-ca-certificates would: the
    // reference root has the same bytes.
    let bundle =
        fs_err::read(root.join("etc/ssl/certs/ca-certificates.crt")).expect("the CA bundle");
    let digest: String = Sha256::digest(&bundle)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let reference = fs_err::read_to_string(shared.join("fixtures/expected/large.treesum"))
        .expect("cannot read expected/large.treesum");
    let line_end = format!(" {digest} /etc/ssl/certs/ca-certificates.crt");
    assert!(
        reference
            .lines()
            .any(|line| line.starts_with("f 0o644 ") && line.ends_with(&line_end)),
        "the CA bundle (sha256 {digest}) differs from the reference's"
    );
    // The certificates were only the script's input: removed, their directory left empty.
    assert_eq!(
        file_names(&root.join("usr/share/ca-certificates/mozilla")),
        Vec::<String>::new()
    );

    for check in LARGE_CHECKS {
        if !assert_runs(&root, check.env, check.args, check.prints) {
            break;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Not a copy of chisel-releases.
//
// The chisel-releases corpus is AGPL material the project may read but not copy. The slice
// files of this release were written from the packages' contents; this test keeps it so.
// For each file of the release whose name a file of the corpus's ubuntu-24.04 branch also
// has (chisel.yaml, and the slice file of the same package):
//
// 1. the two are not byte-identical;
// 2. they are not identical once comments and all whitespace are dropped (a copy with its
//    comments stripped or re-indented);
// 3. they share no comment: no comment line of ours, trimmed, is a comment line of theirs;
// 4. slice files only: few of our "substantive" lines appear in their file. Lines are
//    compared after trimming, collapsing runs of blanks and dropping trailing comments.
//    Set aside first are the lines every description of the package has, whoever writes
//    it: bare keys (`slices:`, `contents:`, `essential:` and the slice names, which are
//    the interface kept on purpose so the same command lines work with either release),
//    `package: NAME` and `mutate: |`. What remains (each path entry with its options, each
//    essential entry, script and text lines) carries the author's choices of what to
//    include and how to write it. A copy shares nearly all of those lines; independent
//    files share only what the format forces to be spelled the same (measured when the
//    release was written: at most 1 line per file, the `generate: manifest` line the
//    project asked for). The bound, at most 2 lines or a tenth of the substantive lines
//    (whichever is larger), leaves room for coincidence and still fails on any copied
//    block. chisel.yaml is exempt from this one: it is almost all facts that must be equal
//    (Ubuntu's support dates, suites, components, and the archive key itself).
// ---------------------------------------------------------------------------------------

/// The lines of a file with comments and blank lines dropped, each trimmed, its runs of
/// whitespace made one space and a trailing ` # comment` removed.
fn code_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let line = match line.find(" #") {
                Some(at) => &line[..at],
                None => line,
            };
            line.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}

/// The text of each comment line, `#` and surrounding blanks removed, empty ones skipped.
fn comment_lines(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(str::trim)
        .filter_map(|line| line.strip_prefix('#'))
        .map(|comment| comment.trim_start_matches('#').trim().to_owned())
        .filter(|comment| !comment.is_empty())
        .collect()
}

/// A line any slice file of the package has: a key with no value, `package: NAME`, or the
/// start of a script.
fn is_structural(line: &str) -> bool {
    let bare_key = line.strip_suffix(':').is_some_and(|key| {
        key.starts_with(|c: char| c.is_ascii_lowercase())
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.+".contains(c))
    });
    bare_key || line.starts_with("package: ") || line == "mutate: |"
}

#[test]
fn no_file_of_the_bundled_release_is_a_copy_of_the_corpus() {
    with_shared!(shared => { not_a_copy(&shared) });
}

fn not_a_copy(shared: &Path) {
    let corpus = shared.join("corpus/chisel-releases/ubuntu-24.04");
    let ours = release_dir();
    let mut pairs = vec![("chisel.yaml".to_owned(), corpus.join("chisel.yaml"))];
    for name in file_names(&ours.join("slices")) {
        let theirs = corpus.join("slices").join(&name);
        if theirs.is_file() {
            pairs.push((format!("slices/{name}"), theirs));
        }
    }
    assert!(
        pairs.len() > 60,
        "the corpus has a file for most of our packages"
    );

    for (name, theirs) in pairs {
        let ours = fs_err::read_to_string(ours.join(&name)).expect("cannot read our file");
        let theirs = fs_err::read_to_string(&theirs).expect("cannot read the corpus file");

        assert_ne!(ours, theirs, "{name} is byte-identical to the corpus's");
        assert_ne!(
            squeezed(&ours),
            squeezed(&theirs),
            "{name} is the corpus's file without comments and whitespace"
        );
        let shared_comments: Vec<String> = comment_lines(&ours)
            .intersection(&comment_lines(&theirs))
            .cloned()
            .collect();
        assert!(
            shared_comments.is_empty(),
            "{name} shares comments with the corpus's: {shared_comments:?}"
        );

        if name == "chisel.yaml" {
            continue;
        }
        let their_lines: BTreeSet<String> = code_lines(&theirs).into_iter().collect();
        let substantive: Vec<String> = code_lines(&ours)
            .into_iter()
            .filter(|line| !is_structural(line))
            .collect();
        let common: Vec<&String> = substantive
            .iter()
            .filter(|line| their_lines.contains(*line))
            .collect();
        let bound = (substantive.len() / 10).max(2);
        assert!(
            common.len() <= bound,
            "{name}: {} of its {} substantive lines are in the corpus's file, more than \
             {bound}: {common:?}",
            common.len(),
            substantive.len()
        );
    }
}

/// A file's code with comments and every blank removed: what rule 2 compares.
fn squeezed(text: &str) -> String {
    code_lines(text).concat().split_whitespace().collect()
}

#[test]
fn the_copy_rules_see_a_copy() {
    // A corpus-like file, and the same with its comment dropped and its blanks changed: one
    // rule or another catches each disguise.
    let original = concat!(
        "package: demo\n\n# Why this path.\nslices:\n  bins:\n    essential:\n",
        "      - libc6_libs\n    contents:\n      /usr/bin/demo:\n",
        "      /usr/share/demo/data: {until: mutate}\n",
    );
    let stripped = concat!(
        "package: demo\nslices:\n  bins:\n    essential:\n    - libc6_libs\n",
        "    contents:\n      /usr/bin/demo:\n      /usr/share/demo/data:   {until: mutate}\n",
    );
    assert_eq!(squeezed(original), squeezed(stripped));
    assert_eq!(
        comment_lines("# Why this path.\n  #   Why this path.  \n#\n##\n"),
        BTreeSet::from(["Why this path.".to_owned()])
    );
    let substantive: Vec<String> = code_lines(stripped)
        .into_iter()
        .filter(|line| !is_structural(line))
        .collect();
    assert_eq!(
        substantive,
        [
            "- libc6_libs",
            "/usr/bin/demo:",
            "/usr/share/demo/data: {until: mutate}"
        ]
    );
    assert!(is_structural("data-with-certs:") && is_structural("package: libc6"));
    assert!(is_structural("mutate: |") && !is_structural("mutate: print(1)"));
    assert!(!is_structural("/usr/bin/x:") && !is_structural("text: \"\""));
}
