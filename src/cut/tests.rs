//! End-to-end tests of [`cut`]: a small apt archive, signed with a generated key and served over
//! loopback HTTP, a release that points at it, and the exact tree, cache and error that result.
//!
//! [`TestArchive`] is the archive, [`release`] writes the matching `chisel.yaml`, [`Env`] holds a
//! test's root and cache, and [`tree`] lists a root like `../shared/treesum.py`.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{cut, CutError, CutOptions, CutSummary};
use crate::archive::archives::ArchiveSettings;
use crate::release::{Arch, Release, SliceKey};
use crate::report::Reporter;
use crate::testing::archive::{gzip, only, release, ArchiveRef, TestArchive};
use crate::testing::deb::TestEntry;
use crate::testing::key::TestKey;
use crate::testing::server::{Reply, TestServer};
use crate::transport::http::{FetchOptions, ProxySettings};

// ---------------------------------------------------------------------------------------------
// Running a cut and looking at what it left.

pub(super) struct Quiet;

impl Reporter for Quiet {}

/// A test's directory: `root/` to cut into, `cache/`, and `outside/`, a directory next to the
/// root that nothing may write to.
pub(super) struct Env {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Env {
    pub(super) fn new() -> Env {
        let dir = tempfile::tempdir().expect("temporary directory");
        // The cut reports the root canonicalised.
        let path = dir
            .path()
            .canonicalize()
            .expect("canonical temporary directory");
        fs_err::create_dir(path.join("outside")).expect("outside directory");
        Env { _dir: dir, path }
    }

    pub(super) fn root(&self) -> PathBuf {
        self.path.join("root")
    }

    pub(super) fn cache(&self) -> PathBuf {
        self.path.join("cache")
    }

    fn outside(&self) -> PathBuf {
        self.path.join("outside")
    }

    /// Options for a cut into this root and cache from these (archive name, server) pairs.
    pub(super) fn options(&self, servers: &[(&str, &TestServer)]) -> CutOptions {
        CutOptions {
            root: self.root(),
            extend: super::extend::ExtendOptions::default(),
            archives: ArchiveSettings {
                arch: Arch::Amd64,
                cache_dir: self.cache(),
                archive_urls: servers
                    .iter()
                    .map(|(name, server)| ((*name).to_owned(), server.url("/")))
                    .collect(),
                offline: false,
                jobs: 4,
                fetch: FetchOptions {
                    timeout_connect: Duration::from_secs(2),
                    timeout_read: Duration::from_secs(2),
                    retries: 2,
                    backoff_base: Duration::from_millis(5),
                    backoff_cap: Duration::from_millis(20),
                    proxies: ProxySettings::none(),
                    ..FetchOptions::default()
                },
                // Never created: no credentials unless a test writes some.
                auth_dir: self.path.join("auth.conf.d"),
                ignore_release_dates: false,
                now: crate::clock::Timestamp::now(),
                default_urls: crate::archive::select::DefaultUrls::ubuntu(),
                snapshot: None,
                snapshot_urls: crate::archive::snapshot::SnapshotUrls::public(),
            },
            ignore: std::collections::BTreeSet::new(),
            scripts: crate::mutate::child::Runner::InProcess,
            script_limits: crate::mutate::Limits::default(),
            dpkg_status: false,
            locked: None,
        }
    }

    /// The names in the test directory and in `outside/`: nothing else may appear.
    pub(super) fn assert_nothing_outside_the_root(&self) {
        assert_eq!(names(&self.path), ["cache", "outside", "root"]);
        assert_eq!(names(&self.outside()), Vec::<String>::new());
    }
}

pub(super) fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs_err::read_dir(dir)
        .expect("read a directory")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

pub(super) fn run(
    release: &Release,
    slices: &[&str],
    options: &CutOptions,
) -> Result<CutSummary, CutError> {
    let keys: Vec<SliceKey> = slices
        .iter()
        .map(|name| SliceKey::parse(name).expect("a slice reference"))
        .collect();
    cut(release, &keys, options, &Quiet)
}

#[track_caller]
pub(super) fn cut_ok(release: &Release, slices: &[&str], options: &CutOptions) -> CutSummary {
    run(release, slices, options).unwrap_or_else(|error| panic!("the cut failed: {error}"))
}

#[track_caller]
pub(super) fn cut_err(release: &Release, slices: &[&str], options: &CutOptions) -> String {
    match run(release, slices, options) {
        Ok(summary) => panic!("the cut should fail, but gave {summary:?}"),
        Err(error) => error.to_string(),
    }
}

pub(super) fn sha(data: &[u8]) -> String {
    crate::digest::sha256_hex(data)
}

fn mode_text(mode: u32) -> String {
    format!("0{:o}", mode & 0o7777)
}

/// Every entry below `root`, parents first and names sorted, one line each as treesum.py
/// prints them: `d <mode> - - /dir/`, `f <mode> <size> <sha256> /file`, `l <mode> - <target>
/// /link`.
pub(super) fn tree(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, prefix: &str, lines: &mut Vec<String>) {
        for name in names(dir) {
            let full = dir.join(&name);
            let path = format!("{prefix}/{name}");
            let metadata = fs_err::symlink_metadata(&full).expect("lstat");
            let mode = mode_text(metadata.permissions().mode());
            let kind = metadata.file_type();
            if kind.is_symlink() {
                let target = fs_err::read_link(&full).expect("readlink");
                lines.push(format!("l {mode} - {} {path}", target.display()));
            } else if kind.is_dir() {
                lines.push(format!("d {mode} - - {path}/"));
                walk(&full, &path, lines);
            } else if kind.is_file() {
                let data = fs_err::read(&full).expect("read");
                lines.push(format!("f {mode} {} {} {path}", data.len(), sha(&data)));
            } else {
                lines.push(format!("? {mode} - - {path}"));
            }
        }
    }
    let mut lines = Vec::new();
    walk(root, "", &mut lines);
    lines
}

pub(super) fn d(mode: u32, path: &str) -> String {
    format!("d {} - - {path}", mode_text(mode))
}

pub(super) fn f(mode: u32, content: &str, path: &str) -> String {
    format!(
        "f {} {} {} {path}",
        mode_text(mode),
        content.len(),
        sha(content.as_bytes())
    )
}

pub(super) fn l(target: &str, path: &str) -> String {
    format!("l 0777 - {target} {path}")
}

#[track_caller]
pub(super) fn assert_tree(root: &Path, expected: &[String]) {
    let actual = tree(root);
    assert!(
        actual == expected,
        "the tree differs\n--- expected\n{}\n--- actual\n{}",
        expected.join("\n"),
        actual.join("\n")
    );
}

/// The files of a cache, its fixed files (`CACHEDIR.TAG`, `.gitignore`, `.lock`) left out.
/// Blobs keep their names (`sha256-v1/ab/ab…`); a keyed entry's trailing 64-digit hash is
/// shown as `*` (`index-v1/inrelease-*`), since it is derived from a URL or a digest.
pub(super) fn cache_files(cache: &Path) -> Vec<String> {
    fn walk(dir: &Path, prefix: &str, files: &mut Vec<String>) {
        for name in names(dir) {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            if dir.join(&name).is_dir() {
                walk(&dir.join(&name), &path, files);
            } else if !matches!(path.as_str(), "CACHEDIR.TAG" | ".gitignore" | ".lock") {
                files.push(match path.strip_prefix("index-v1/") {
                    Some(key) if key.len() > 64 => {
                        format!("index-v1/{}*", &key[..key.len() - 64])
                    }
                    _ => path,
                });
            }
        }
    }
    let mut files = Vec::new();
    walk(cache, "", &mut files);
    files
}

/// Where the cache keeps the blob with this content.
pub(super) fn blob(content: &[u8]) -> String {
    let digest = sha(content);
    format!("sha256-v1/{}/{digest}", &digest[..2])
}

/// A package with one file, `/usr/share/<name>/version` holding `content`.
fn version_file(name: &str, content: &str) -> Vec<TestEntry> {
    vec![
        TestEntry::dir("./", 0o755),
        TestEntry::dir("./usr/", 0o755),
        TestEntry::dir("./usr/share/", 0o755),
        TestEntry::dir(format!("./usr/share/{name}/"), 0o755),
        TestEntry::file(format!("./usr/share/{name}/version"), 0o644, content),
    ]
}

/// A slice file for `version_file`'s package: slice `data` with that file.
fn version_slice(name: &str, pin: Option<&str>) -> String {
    let pin = pin.map_or(String::new(), |archive| format!("archive: {archive}\n"));
    format!(
        "package: {name}\n{pin}slices:\n  data:\n    contents:\n      /usr/share/{name}/version:\n"
    )
}

fn version_of(env: &Env, name: &str) -> String {
    fs_err::read_to_string(env.root().join(format!("usr/share/{name}/version")))
        .expect("the version file")
}

// ---------------------------------------------------------------------------------------------
// 1. A basic cut.

pub(super) const TOOL: &str = "#!/bin/sh\necho tool\n";
pub(super) const CONF: &str = "key = value\n";

pub(super) fn hello_entries() -> Vec<TestEntry> {
    vec![
        TestEntry::dir("./", 0o755),
        TestEntry::dir("./etc/", 0o750),
        TestEntry::file("./etc/conf", 0o644, CONF),
        TestEntry::dir("./opt/", 0o700),
        TestEntry::dir("./opt/data/", 0o710),
        TestEntry::dir("./usr/", 0o751),
        TestEntry::dir("./usr/bin/", 0o755),
        TestEntry::file("./usr/bin/tool", 0o755, TOOL),
        // Hard link to an entry extracted before it.
        TestEntry::hard_link("./usr/bin/tool-link", "./usr/bin/tool"),
        // Two hard links to a file that is not selected: the first gets the content in a second
        // pass over the package, the second is linked to the first.
        TestEntry::hard_link("./usr/bin/hl-a", "./usr/libexec/real"),
        TestEntry::hard_link("./usr/bin/hl-b", "./usr/libexec/real"),
        TestEntry::file("./usr/bin/su-tool", 0o4755, "setuid\n"),
        TestEntry::symlink("./usr/bin/alias", "tool"),
        // No entries for ./usr/lib/ and ./usr/lib/x86_64-linux-gnu/: they are made 0755.
        TestEntry::file("./usr/lib/x86_64-linux-gnu/libx.so.1", 0o644, "libx\n"),
        TestEntry::symlink("./usr/lib/x86_64-linux-gnu/libx.so", "libx.so.1"),
        TestEntry::file("./usr/lib/x86_64-linux-gnu/libother.so", 0o644, "other\n"),
        TestEntry::dir("./usr/libexec/", 0o755),
        TestEntry::file("./usr/libexec/real", 0o644, "real\n"),
        TestEntry::dir("./usr/share/", 0o755),
        TestEntry::dir("./usr/share/doc/", 0o755),
        TestEntry::file("./usr/share/doc/copyright", 0o644, "(c)\n"),
        TestEntry::dir("./var/", 0o755),
        TestEntry::dir("./var/shared/", 0o2775),
    ]
}

pub(super) const HELLO_SLICES: &str = r#"
    package: hello
    slices:
      bins:
        contents:
          /usr/bin/tool:
          /usr/bin/tool-link:
          /usr/bin/hl-a:
          /usr/bin/hl-b:
          /usr/bin/su-tool:
          /usr/bin/alias:
      libs:
        contents:
          /usr/lib/*/libx.so*:
      config:
        contents:
          /etc/conf:
          /etc/copied: {copy: /etc/conf}
          /etc/secret: {text: "s3cret\n", mode: 0600}
          /var/shared/:
          /opt/data/note: {text: "note\n"}
      base:
        contents:
          /tmp/: {make: true, mode: 01777}
          /srv/group/: {make: true, mode: 02775}
          /bin: {symlink: usr/bin}
"#;

pub(super) fn hello_tree() -> Vec<String> {
    vec![
        l("usr/bin", "/bin"),
        d(0o750, "/etc/"),
        f(0o644, CONF, "/etc/conf"),
        f(0o644, CONF, "/etc/copied"),
        f(0o600, "s3cret\n", "/etc/secret"),
        d(0o700, "/opt/"),
        d(0o710, "/opt/data/"),
        f(0o644, "note\n", "/opt/data/note"),
        d(0o755, "/srv/"),
        d(0o2775, "/srv/group/"),
        d(0o1777, "/tmp/"),
        d(0o751, "/usr/"),
        d(0o755, "/usr/bin/"),
        l("tool", "/usr/bin/alias"),
        f(0o644, "real\n", "/usr/bin/hl-a"),
        f(0o644, "real\n", "/usr/bin/hl-b"),
        f(0o4755, "setuid\n", "/usr/bin/su-tool"),
        f(0o755, TOOL, "/usr/bin/tool"),
        f(0o755, TOOL, "/usr/bin/tool-link"),
        d(0o755, "/usr/lib/"),
        d(0o755, "/usr/lib/x86_64-linux-gnu/"),
        l("libx.so.1", "/usr/lib/x86_64-linux-gnu/libx.so"),
        f(0o644, "libx\n", "/usr/lib/x86_64-linux-gnu/libx.so.1"),
        d(0o755, "/var/"),
        d(0o2775, "/var/shared/"),
    ]
}

pub(super) const HELLO_ALL: [&str; 4] = ["hello_bins", "hello_libs", "hello_config", "hello_base"];

pub(super) fn hello_archive() -> TestArchive {
    let mut archive = TestArchive::new(&["noble"]);
    archive.add("noble", "hello", "1.0-1", &hello_entries());
    archive
}

#[test]
fn a_basic_cut_gives_the_exact_tree() {
    let archive = hello_archive();
    let server = archive.server().start();
    let release = release(
        "v1",
        &[only("ubuntu", &archive)],
        &[("hello", HELLO_SLICES)],
    );
    let env = Env::new();

    let summary = cut_ok(&release, &HELLO_ALL, &env.options(&[("ubuntu", &server)]));

    assert_tree(&env.root(), &hello_tree());
    let inode = |path: &str| {
        fs_err::symlink_metadata(env.root().join(path))
            .expect("lstat")
            .ino()
    };
    assert_eq!(inode("usr/bin/tool"), inode("usr/bin/tool-link"));
    assert_eq!(inode("usr/bin/hl-a"), inode("usr/bin/hl-b"));
    assert_ne!(inode("usr/bin/hl-a"), inode("usr/bin/tool"));

    let inrelease = archive.inrelease("noble");
    let gz = archive.packages_gz("noble", "main");
    let deb = &archive.package("hello", "1.0-1").deb;
    let file_bytes = [TOOL, TOOL, "real\n", "real\n", "setuid\n", "libx\n"]
        .iter()
        .chain(&[CONF, CONF, "s3cret\n", "note\n"])
        .map(|content| content.len() as u64)
        .sum();
    assert_eq!(
        summary,
        CutSummary {
            packages: 1,
            slices: 4,
            // 6 in bins, 2 in libs, 5 in config, 3 in base.
            paths: 16,
            bytes: file_bytes,
            downloaded: (inrelease.len() + gz.len() + deb.len()) as u64,
            // What was installed is checked path by path by the image tests (`image_tests`).
            installed: summary.installed.clone(),
            // The test archive's InRelease `Date`: Thu, 25 Apr 2024 15:10:33 UTC.
            release_date: Some(1_714_057_833),
            extension: None,
            delta: None,
        }
    );
    let mut cached = vec![
        "index-v1/inrelease-*".to_owned(),
        "index-v1/inrelease-text-*".to_owned(),
        "index-v1/packages-v2-*".to_owned(),
        blob(&gz),
        blob(deb),
    ];
    cached.sort();
    assert_eq!(cache_files(&env.cache()), cached);
    env.assert_nothing_outside_the_root();
}

// ---------------------------------------------------------------------------------------------
// 2, 3. InRelease signatures.

#[test]
fn an_altered_inrelease_is_refused_and_nothing_is_cached() {
    let archive = hello_archive();
    let altered = archive
        .inrelease("noble")
        .replace("Label: Ubuntu", "Label: Ubuntv");
    let server = archive
        .server()
        .route("/dists/noble/InRelease", Reply::Serve(altered.into_bytes()))
        .start();
    let release = release(
        "v3",
        &[only("ubuntu", &archive)],
        &[("hello", HELLO_SLICES)],
    );
    let env = Env::new();

    let error = cut_err(&release, &HELLO_ALL, &env.options(&[("ubuntu", &server)]));

    let id = archive.key.key_id();
    assert_eq!(
        error,
        format!(
            "archive \"ubuntu\": {}: cannot verify signature of the InRelease file: signed by {id}, expected one of {id}",
            server.url("/dists/noble/InRelease")
        )
    );
    assert_eq!(cache_files(&env.cache()), Vec::<String>::new());
    assert_eq!(names(&env.root()), Vec::<String>::new());
    assert_eq!(server.hits("/dists/noble/main/binary-amd64/Packages.gz"), 0);
    env.assert_nothing_outside_the_root();
}

#[test]
fn an_inrelease_signed_by_another_key_is_refused() {
    let archive = hello_archive();
    let other = TestKey::generate("intruder");
    let server = archive
        .server()
        .route(
            "/dists/noble/InRelease",
            Reply::Serve(other.sign(&archive.release_body("noble")).into_bytes()),
        )
        .start();
    let release = release(
        "v3",
        &[only("ubuntu", &archive)],
        &[("hello", HELLO_SLICES)],
    );
    let env = Env::new();

    let error = cut_err(&release, &HELLO_ALL, &env.options(&[("ubuntu", &server)]));

    assert_eq!(
        error,
        format!(
            "archive \"ubuntu\": {}: cannot verify signature of the InRelease file: signed by {}, expected one of {}",
            server.url("/dists/noble/InRelease"),
            other.key_id(),
            archive.key.key_id(),
        )
    );
    assert_eq!(cache_files(&env.cache()), Vec::<String>::new());
    assert_eq!(names(&env.root()), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// 4, 5. Indexes and packages that are not what the archive signed.

#[test]
fn a_tampered_packages_index_is_refused() {
    let archive = hello_archive();
    let gz_path = "/dists/noble/main/binary-amd64/Packages.gz";
    let good = archive.packages_gz("noble", "main");
    let tampered = gzip(
        archive
            .packages_index("noble", "main")
            .replace("Version: 1.0-1", "Version: 9.9-9")
            .as_bytes(),
    );
    let server = archive
        .server()
        .route(gz_path, Reply::Serve(tampered.clone()))
        .start();
    let release = release(
        "v3",
        &[only("ubuntu", &archive)],
        &[("hello", HELLO_SLICES)],
    );
    let env = Env::new();

    let error = cut_err(&release, &HELLO_ALL, &env.options(&[("ubuntu", &server)]));

    let size_note = if tampered.len() == good.len() {
        String::new()
    } else {
        format!(" (size {} bytes instead of {})", tampered.len(), good.len())
    };
    assert_eq!(
        error,
        format!(
            "{}: SHA-256 mismatch: expected {}, got {}{size_note}",
            server.url(gz_path),
            sha(&good),
            sha(&tampered)
        )
    );
    // Only the verified InRelease is kept.
    assert_eq!(
        cache_files(&env.cache()),
        ["index-v1/inrelease-*", "index-v1/inrelease-text-*"]
    );
    assert_eq!(names(&env.root()), Vec::<String>::new());
}

#[test]
fn an_index_whose_content_differs_from_the_signed_digest_is_refused() {
    // Packages.gz is the signed one, but InRelease gives another digest for what it unpacks to.
    let archive = hello_archive();
    let plain = sha(archive.packages_index("noble", "main").as_bytes());
    let wrong = "0".repeat(64);
    let body = archive.release_body("noble").replace(&plain, &wrong);
    let server = archive
        .server()
        .route(
            "/dists/noble/InRelease",
            Reply::Serve(archive.key.sign(&body).into_bytes()),
        )
        .start();
    let release = release(
        "v3",
        &[only("ubuntu", &archive)],
        &[("hello", HELLO_SLICES)],
    );
    let env = Env::new();

    let error = cut_err(&release, &HELLO_ALL, &env.options(&[("ubuntu", &server)]));

    assert_eq!(
        error,
        format!(
            "archive \"ubuntu\": {}: decompressed Packages has SHA-256 {plain}, InRelease says {wrong}",
            server.url("/dists/noble/main/binary-amd64/Packages.gz")
        )
    );
    // The compressed file matches its signed digest and is kept; no parsed index is.
    assert_eq!(
        cache_files(&env.cache()),
        [
            "index-v1/inrelease-*".to_owned(),
            "index-v1/inrelease-text-*".to_owned(),
            blob(&archive.packages_gz("noble", "main"))
        ]
    );
}

#[test]
fn a_tampered_deb_is_refused_and_a_fixed_server_then_works() {
    let archive = hello_archive();
    let deb_path = archive.deb_path("hello", "1.0-1");
    let good = archive.package("hello", "1.0-1").deb.clone();
    let mut tampered = good.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0xff;
    let server = archive
        .server()
        .sequence(
            &deb_path,
            [Reply::Serve(tampered.clone()), Reply::Serve(good.clone())],
        )
        .start();
    let release = release(
        "v3",
        &[only("ubuntu", &archive)],
        &[("hello", HELLO_SLICES)],
    );
    let env = Env::new();
    let options = env.options(&[("ubuntu", &server)]);

    let error = cut_err(&release, &HELLO_ALL, &options);

    assert_eq!(
        error,
        format!(
            "{}: SHA-256 mismatch: expected {}, got {}",
            server.url(&deb_path),
            sha(&good),
            sha(&tampered)
        )
    );
    let gz = archive.packages_gz("noble", "main");
    let mut expected = vec![
        "index-v1/inrelease-*".to_owned(),
        "index-v1/inrelease-text-*".to_owned(),
        "index-v1/packages-v2-*".to_owned(),
        blob(&gz),
    ];
    expected.sort();
    assert_eq!(cache_files(&env.cache()), expected);
    assert_eq!(names(&env.root()), Vec::<String>::new());

    // The server now serves the right file.
    cut_ok(&release, &HELLO_ALL, &options);
    assert_tree(&env.root(), &hello_tree());
    expected.push(blob(&good));
    expected.sort();
    assert_eq!(cache_files(&env.cache()), expected);
    assert_eq!(server.hits(&deb_path), 2);
}

// ---------------------------------------------------------------------------------------------
// 6. Packages that cannot be had.

#[test]
fn a_package_in_no_index_and_a_missing_deb_are_reported() {
    let archive = hello_archive();
    let server = archive.server().start();
    let release = release(
        "v3",
        &[only("ubuntu", &archive)],
        &[
            ("hello", HELLO_SLICES),
            ("absent", &version_slice("absent", None)),
        ],
    );
    let env = Env::new();
    let options = env.options(&[("ubuntu", &server)]);

    assert_eq!(
        cut_err(&release, &["hello_bins", "absent_data"], &options),
        "cannot find package \"absent\" in archive(s) ubuntu"
    );
    assert_eq!(server.hits(&archive.deb_path("hello", "1.0-1")), 0);

    let deb_path = archive.deb_path("hello", "1.0-1");
    let server = archive
        .server()
        .route(&deb_path, Reply::Status(404))
        .start();
    let options = env.options(&[("ubuntu", &server)]);
    assert_eq!(
        cut_err(&release, &["hello_bins"], &options),
        format!(
            "cannot fetch {}: not found (HTTP 404)",
            server.url(&deb_path)
        )
    );
    assert_eq!(server.hits(&deb_path), 1, "a 404 is not retried");
    assert_eq!(names(&env.root()), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// 7, 8. Choosing a package.

#[test]
fn the_highest_version_across_suites_wins() {
    let mut archive = TestArchive::with_components(
        &["noble", "noble-security", "noble-updates"],
        &["main", "universe"],
    );
    archive
        .add(
            "noble",
            "hello",
            "2.0-1",
            &version_file("hello", "release\n"),
        )
        .add(
            "noble-security",
            "hello",
            "2.0-1ubuntu0.9",
            &version_file("hello", "security\n"),
        )
        // 0.10 > 0.9: compared as numbers, not as text.
        .add(
            "noble-updates",
            "hello",
            "2.0-1ubuntu0.10",
            &version_file("hello", "updates\n"),
        )
        .add_to(
            "noble",
            "universe",
            "only-release",
            "1.0",
            &version_file("only-release", "only\n"),
        );
    let server = archive.server().start();
    let release = release(
        "v3",
        &[only("ubuntu", &archive)],
        &[
            ("hello", &version_slice("hello", None)),
            ("only-release", &version_slice("only-release", None)),
        ],
    );
    let env = Env::new();

    cut_ok(
        &release,
        &["hello_data", "only-release_data"],
        &env.options(&[("ubuntu", &server)]),
    );

    assert_eq!(version_of(&env, "hello"), "updates\n");
    assert_eq!(version_of(&env, "only-release"), "only\n");
    assert_eq!(
        server.hits(&archive.deb_path("hello", "2.0-1ubuntu0.10")),
        1
    );
    assert_eq!(server.hits(&archive.deb_path("hello", "2.0-1ubuntu0.9")), 0);
    assert_eq!(server.hits(&archive.deb_path("hello", "2.0-1")), 0);
}

#[test]
fn priorities_and_pins_choose_the_archive() {
    let mut high = TestArchive::new(&["noble"]);
    high.add("noble", "shared", "1.0", &version_file("shared", "high\n"))
        .add("noble", "pinned", "1.0", &version_file("pinned", "high\n"));
    let mut low = TestArchive::new(&["noble"]);
    // A higher version does not matter across archives: priority alone decides.
    low.add("noble", "shared", "9.0", &version_file("shared", "low\n"))
        .add("noble", "pinned", "1.0", &version_file("pinned", "low\n"));
    let mut hidden = TestArchive::new(&["noble"]);
    hidden
        .add(
            "noble",
            "secret",
            "1.0",
            &version_file("secret", "hidden\n"),
        )
        .add(
            "noble",
            "orphan",
            "1.0",
            &version_file("orphan", "hidden\n"),
        );
    let (high_server, low_server, hidden_server) = (
        high.server().start(),
        low.server().start(),
        hidden.server().start(),
    );
    let release = release(
        "v3",
        &[
            ArchiveRef {
                name: "high",
                archive: &high,
                priority: Some(20),
            },
            ArchiveRef {
                name: "low",
                archive: &low,
                priority: Some(10),
            },
            ArchiveRef {
                name: "hidden",
                archive: &hidden,
                priority: Some(-5),
            },
        ],
        &[
            ("shared", &version_slice("shared", None)),
            ("pinned", &version_slice("pinned", Some("low"))),
            ("secret", &version_slice("secret", Some("hidden"))),
            ("orphan", &version_slice("orphan", None)),
        ],
    );
    let servers = [
        ("high", &high_server),
        ("low", &low_server),
        ("hidden", &hidden_server),
    ];

    let env = Env::new();
    cut_ok(
        &release,
        &["shared_data", "pinned_data", "secret_data"],
        &env.options(&servers),
    );
    assert_eq!(version_of(&env, "shared"), "high\n");
    assert_eq!(version_of(&env, "pinned"), "low\n");
    assert_eq!(version_of(&env, "secret"), "hidden\n");

    // Without a pin on it, a negative-priority archive is not even opened.
    let hidden_requests = hidden_server.requests().len();
    let env = Env::new();
    cut_ok(&release, &["shared_data"], &env.options(&servers));
    assert_eq!(version_of(&env, "shared"), "high\n");
    assert_eq!(hidden_server.requests().len(), hidden_requests);

    let env = Env::new();
    assert_eq!(
        cut_err(&release, &["orphan_data"], &env.options(&servers)),
        "cannot find package \"orphan\" in archive(s) high, low"
    );
    assert_eq!(hidden_server.requests().len(), hidden_requests);
}

// ---------------------------------------------------------------------------------------------
// 9. Retries.

#[test]
fn a_download_cut_short_is_retried() {
    let archive = hello_archive();
    let deb_path = archive.deb_path("hello", "1.0-1");
    let deb = archive.package("hello", "1.0-1").deb.clone();
    let server = archive
        .server()
        .sequence(
            &deb_path,
            [
                Reply::DropAfter(deb.clone(), deb.len() / 2),
                Reply::Serve(deb.clone()),
            ],
        )
        .start();
    let release = release(
        "v3",
        &[only("ubuntu", &archive)],
        &[("hello", HELLO_SLICES)],
    );
    let env = Env::new();

    cut_ok(&release, &HELLO_ALL, &env.options(&[("ubuntu", &server)]));

    assert_tree(&env.root(), &hello_tree());
    assert_eq!(server.hits(&deb_path), 2);
    let cached = env.cache().join(blob(&deb));
    assert_eq!(fs_err::read(&cached).expect("the cached .deb"), deb);
    assert_eq!(
        fs_err::metadata(&cached)
            .expect("stat")
            .permissions()
            .mode()
            & 0o7777,
        0o644
    );
    // No temporary file is left behind.
    assert!(cache_files(&env.cache())
        .iter()
        .all(|file| !file.contains(".tmp-")));
}

// ---------------------------------------------------------------------------------------------
// 10. Hostile packages.

/// An archive with one package `name` made of `entries`, and a release whose slice `name_all`
/// has these `contents` lines.
pub(super) fn hostile(
    name: &str,
    entries: &[TestEntry],
    contents: &[&str],
) -> (TestArchive, Release) {
    let mut archive = TestArchive::new(&["noble"]);
    archive.add("noble", name, "1.0", entries);
    let mut yaml = format!("package: {name}\nslices:\n  all:\n    contents:\n");
    for line in contents {
        yaml.push_str(&format!("      {line}\n"));
    }
    let release = release("v3", &[only("ubuntu", &archive)], &[(name, &yaml)]);
    (archive, release)
}

#[test]
fn a_hostile_entry_climbing_out_of_the_root_is_refused() {
    let (archive, release) = hostile(
        "evil-escape",
        &[
            TestEntry::dir("./", 0o755),
            TestEntry::file("./ok", 0o644, "ok\n"),
            TestEntry::file("./../escape", 0o644, "escaped\n"),
        ],
        &["/**:"],
    );
    let server = archive.server().start();
    let env = Env::new();

    let error = cut_err(
        &release,
        &["evil-escape_all"],
        &env.options(&[("ubuntu", &server)]),
    );

    assert_eq!(
        error,
        "cannot extract from package \"evil-escape\": path /../escape would leave the root"
    );
    assert_tree(&env.root(), &[f(0o644, "ok\n", "/ok")]);
    env.assert_nothing_outside_the_root();
}

#[test]
fn a_hostile_symlink_to_an_absolute_path_is_resolved_inside_the_root() {
    let env = Env::new();
    let outside = env.outside().display().to_string();
    // `/etc/shadow` as in a real attack, and a directory that exists on the host, where a
    // write that followed the link on the host would succeed.
    for target in ["/etc/shadow", outside.as_str()] {
        let (archive, release) = hostile(
            "evil-link",
            &[
                TestEntry::dir("./", 0o755),
                TestEntry::dir("./etc/", 0o755),
                TestEntry::symlink("./etc/evil", target),
                TestEntry::file("./etc/evil/x", 0o644, "pwned\n"),
            ],
            &["/etc/**:"],
        );
        let server = archive.server().start();
        fs_err::remove_dir_all(env.root()).ok();

        let error = cut_err(
            &release,
            &["evil-link_all"],
            &env.options(&[("ubuntu", &server)]),
        );

        // The link leads to <root><target>, which does not exist.
        assert_eq!(
            error,
            format!(
                "cannot extract from package \"evil-link\": cannot create the file /etc/evil/x in the root {}: No such file or directory (os error 2)",
                env.root().display()
            )
        );
        assert_tree(&env.root(), &[d(0o755, "/etc/"), l(target, "/etc/evil")]);
        env.assert_nothing_outside_the_root();
    }
}

#[test]
fn a_hostile_symlink_climbing_up_leads_back_to_the_root() {
    let (archive, release) = hostile(
        "evil-climb",
        &[
            TestEntry::dir("./", 0o755),
            TestEntry::symlink("./lib", "../../../.."),
            TestEntry::file("./lib/kerf-escape-test", 0o644, "deep\n"),
            TestEntry::symlink("./up", ".."),
            TestEntry::file("./up/x", 0o644, "x\n"),
        ],
        &["/lib:", "/lib/kerf-escape-test:", "/up:", "/up/x:"],
    );
    let server = archive.server().start();
    let env = Env::new();

    cut_ok(
        &release,
        &["evil-climb_all"],
        &env.options(&[("ubuntu", &server)]),
    );

    // `..` stops at the root, as in a chroot: both files land at its top.
    assert_tree(
        &env.root(),
        &[
            f(0o644, "deep\n", "/kerf-escape-test"),
            l("../../../..", "/lib"),
            l("..", "/up"),
            f(0o644, "x\n", "/x"),
        ],
    );
    env.assert_nothing_outside_the_root();
    assert!(!Path::new("/kerf-escape-test").exists());
}

#[test]
fn a_hostile_hard_link_out_of_the_package_is_refused() {
    let (archive, release) = hostile(
        "evil-hardlink",
        &[
            TestEntry::dir("./", 0o755),
            TestEntry::hard_link("./h", "./../../etc/passwd"),
        ],
        &["/h:"],
    );
    let server = archive.server().start();
    let env = Env::new();

    let error = cut_err(
        &release,
        &["evil-hardlink_all"],
        &env.options(&[("ubuntu", &server)]),
    );

    assert_eq!(
        error,
        "cannot extract from package \"evil-hardlink\": cannot create hard link /h: no content at ./../../etc/passwd"
    );
    assert_eq!(names(&env.root()), Vec::<String>::new());
    env.assert_nothing_outside_the_root();
}

// ---------------------------------------------------------------------------------------------
// 11. The cache.

#[test]
fn a_warm_cut_downloads_only_the_inrelease_and_offline_cuts_need_the_cache() {
    let archive = hello_archive();
    let server = archive.server().start();
    let release = release(
        "v3",
        &[only("ubuntu", &archive)],
        &[("hello", HELLO_SLICES)],
    );
    let cold = Env::new();
    let options = cold.options(&[("ubuntu", &server)]);
    let gz_path = "/dists/noble/main/binary-amd64/Packages.gz";
    let deb_path = archive.deb_path("hello", "1.0-1");

    cut_ok(&release, &HELLO_ALL, &options);

    let warm_root = cold.path.join("warm");
    let warm = CutOptions {
        root: warm_root.clone(),
        ..options.clone()
    };
    let summary = cut_ok(&release, &HELLO_ALL, &warm);
    assert_eq!(tree(&warm_root), tree(&cold.root()));
    assert_eq!(server.hits("/dists/noble/InRelease"), 2);
    assert_eq!(server.hits(gz_path), 1);
    assert_eq!(server.hits(&deb_path), 1);
    assert_eq!(
        summary.downloaded,
        archive.inrelease("noble").len() as u64,
        "only InRelease is fetched again"
    );

    // Offline, with the server gone.
    drop(server);
    let offline_root = cold.path.join("offline");
    let mut offline = CutOptions {
        root: offline_root.clone(),
        ..options.clone()
    };
    offline.archives.offline = true;
    let summary = cut_ok(&release, &HELLO_ALL, &offline);
    assert_eq!(tree(&offline_root), tree(&cold.root()));
    assert_eq!(summary.downloaded, 0);

    // Offline with an empty cache.
    let empty = Env::new();
    let mut options = CutOptions {
        root: empty.root(),
        ..offline.clone()
    };
    options.archives.cache_dir = empty.cache();
    assert_eq!(
        cut_err(&release, &HELLO_ALL, &options),
        format!(
            "offline: {}dists/noble/InRelease is not in the cache; run the cut once without --offline",
            offline.archives.archive_urls["ubuntu"]
        )
    );
    assert_eq!(cache_files(&empty.cache()), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// 12. An existing root.

#[test]
fn cutting_into_an_existing_root_leaves_unrelated_files_alone() {
    let archive = hello_archive();
    let server = archive.server().start();
    let release = release(
        "v3",
        &[only("ubuntu", &archive)],
        &[("hello", HELLO_SLICES)],
    );
    let env = Env::new();
    let root = env.root();
    fs_err::create_dir_all(root.join("home/user")).expect("mkdir");
    fs_err::write(root.join("home/user/notes"), "mine\n").expect("write");
    // An existing implicit parent keeps its mode, whatever the package says (0751); a
    // directory the package provides as the parent of a text path is chmod'ed to the package's
    // mode (0750), as chisel does with every extracted directory.
    fs_err::create_dir_all(root.join("usr/bin")).expect("mkdir");
    fs_err::create_dir(root.join("etc")).expect("mkdir");
    // A link where the package has a file is replaced, not written through.
    fs_err::write(env.outside().join("host-file"), "host\n").expect("write");
    fs_err::os::unix::fs::symlink(env.outside().join("host-file"), root.join("usr/bin/tool"))
        .expect("symlink");
    for (path, mode) in [
        ("home", 0o755),
        ("home/user", 0o711),
        ("home/user/notes", 0o600),
        ("etc", 0o700),
        ("usr", 0o700),
    ] {
        fs_err::set_permissions(root.join(path), std::fs::Permissions::from_mode(mode))
            .expect("chmod");
    }
    let before = fs_err::metadata(root.join("home/user/notes")).expect("stat");

    cut_ok(&release, &HELLO_ALL, &env.options(&[("ubuntu", &server)]));

    let mut expected = hello_tree();
    let usr = expected
        .iter()
        .position(|line| line.ends_with(" /usr/"))
        .expect("/usr/");
    expected[usr] = d(0o700, "/usr/");
    let home = [
        d(0o755, "/home/"),
        d(0o711, "/home/user/"),
        f(0o600, "mine\n", "/home/user/notes"),
    ];
    let at = expected
        .iter()
        .position(|line| line.ends_with(" /opt/"))
        .expect("/opt/");
    expected.splice(at..at, home);
    assert_tree(&root, &expected);
    let after = fs_err::metadata(root.join("home/user/notes")).expect("stat");
    assert_eq!(
        (after.ino(), after.mtime(), after.mtime_nsec()),
        (before.ino(), before.mtime(), before.mtime_nsec())
    );
    assert_eq!(names(&env.outside()), ["host-file"]);
    assert_eq!(
        fs_err::read_to_string(env.outside().join("host-file")).expect("read"),
        "host\n"
    );
}

// ---------------------------------------------------------------------------------------------
// 13. `until: mutate`.

// Mutate scripts and `until: mutate`: see script_tests.rs.

// ---------------------------------------------------------------------------------------------
// 14. Ubuntu Pro credentials.

/// A reporter that keeps the warnings.
#[derive(Default)]
struct Warnings(std::sync::Mutex<Vec<String>>);

impl Reporter for Warnings {
    fn warning(&self, text: &str) {
        self.0.lock().expect("warnings lock").push(text.to_owned());
    }
}

impl Warnings {
    fn taken(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("warnings lock"))
    }
}

#[test]
fn a_pro_archive_is_used_with_credentials_and_skipped_without() {
    let mut plain = TestArchive::new(&["noble"]);
    plain.add("noble", "shared", "1.0", &version_file("shared", "plain\n"));
    let mut pro = TestArchive::new(&["noble"]);
    pro.add("noble", "shared", "1.0", &version_file("shared", "pro\n"));
    let (plain_server, pro_server) = (plain.server().start(), pro.server().start());
    let mut release = release(
        "v3",
        &[
            ArchiveRef {
                name: "ubuntu",
                archive: &plain,
                priority: Some(10),
            },
            ArchiveRef {
                name: "esm",
                archive: &pro,
                priority: Some(20),
            },
        ],
        &[("shared", &version_slice("shared", None))],
    );
    release
        .archives
        .get_mut("esm")
        .expect("the esm archive")
        .pro = crate::release::Pro::EsmApps;
    let servers = [("ubuntu", &plain_server), ("esm", &pro_server)];
    let keys = [SliceKey::parse("shared_data").expect("a slice reference")];
    let pro_port = pro_server.addr().port();

    // With credentials for the server's URL (a token without a scheme would match only https).
    let env = Env::new();
    let options = env.options(&servers);
    fs_err::create_dir(&options.archives.auth_dir).expect("mkdir auth.conf.d");
    fs_err::write(
        options.archives.auth_dir.join("90ubuntu-advantage"),
        format!(
            "machine esm.ubuntu.com/apps/ubuntu/ login nobody password nothing\n\
             machine http://127.0.0.1:{pro_port}/ login bearer password t0ken\n"
        ),
    )
    .expect("write the credentials");
    let warnings = Warnings::default();
    cut(&release, &keys, &options, &warnings).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(version_of(&env, "shared"), "pro\n");
    assert_eq!(warnings.taken(), Vec::<String>::new());
    let mut paths: Vec<String> = pro_server
        .requests()
        .iter()
        .map(|request| request.path.clone())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/dists/noble/InRelease".to_owned(),
            "/dists/noble/main/binary-amd64/Packages.gz".to_owned(),
            pro.deb_path("shared", "1.0"),
        ]
    );
    for request in pro_server.requests() {
        assert_eq!(
            request.header("Authorization"),
            Some("Basic YmVhcmVyOnQwa2Vu"),
            "{}",
            request.path
        );
    }
    let plain_requests = plain_server.requests();
    assert_eq!(plain_requests.len(), 2, "InRelease and Packages.gz only");
    for request in &plain_requests {
        assert_eq!(request.header("Authorization"), None, "{}", request.path);
    }

    // Credentials whose token has no scheme match only https: the archive is skipped.
    let env = Env::new();
    let options = env.options(&servers);
    fs_err::create_dir(&options.archives.auth_dir).expect("mkdir auth.conf.d");
    fs_err::write(
        options.archives.auth_dir.join("ubuntu-pro.conf"),
        format!("machine 127.0.0.1:{pro_port} login bearer password t0ken\n"),
    )
    .expect("write the credentials");
    let pro_requests = pro_server.requests().len();
    cut(&release, &keys, &options, &warnings).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(version_of(&env, "shared"), "plain\n");
    assert_eq!(
        warnings.taken(),
        ["Archive \"esm\" ignored: credentials not found"]
    );
    assert_eq!(pro_server.requests().len(), pro_requests);

    // No credentials directory at all: the same.
    let env = Env::new();
    let options = env.options(&servers);
    cut(&release, &keys, &options, &warnings).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(version_of(&env, "shared"), "plain\n");
    assert_eq!(
        warnings.taken(),
        ["Archive \"esm\" ignored: credentials not found"]
    );
    assert_eq!(pro_server.requests().len(), pro_requests);
    env.assert_nothing_outside_the_root();
    for request in plain_server.requests() {
        assert_eq!(request.header("Authorization"), None, "{}", request.path);
    }
}

// ---------------------------------------------------------------------------------------------
// The manifest.

/// A `generate: manifest` path gets chisel's jsonwall: every record, sorted, with hard-link
/// groups numbered and the manifest's own entry without a hash.
#[test]
fn the_manifest_lists_packages_slices_and_paths_like_chisels() {
    let archive = hello_archive();
    let server = archive.server().start();
    let slices = r#"
        package: hello
        slices:
          bins:
            contents:
              /usr/bin/tool:
              /usr/bin/tool-link:
              /usr/bin/hl-a:
              /usr/bin/hl-b:
              /usr/bin/alias:
          manifest:
            contents:
              /var/lib/chisel/**: {generate: manifest}
    "#;
    let release = release("v1", &[only("ubuntu", &archive)], &[("hello", slices)]);
    let env = Env::new();
    cut_ok(
        &release,
        &["hello_bins", "hello_manifest"],
        &env.options(&[("ubuntu", &server)]),
    );

    let compressed =
        fs_err::read(env.root().join("var/lib/chisel/manifest.wall")).expect("the manifest");
    let text =
        String::from_utf8(zstd::decode_all(compressed.as_slice()).expect("zstd")).expect("UTF-8");
    let deb = &archive.package("hello", "1.0-1").deb;
    let tool = sha(TOOL.as_bytes());
    let real = sha(b"real\n");
    let expected = [
        "{\"jsonwall\":\"1.0\",\"schema\":\"1.0\",\"count\":16}".to_owned(),
        "{\"kind\":\"content\",\"slice\":\"hello_bins\",\"path\":\"/usr/bin/alias\"}".to_owned(),
        "{\"kind\":\"content\",\"slice\":\"hello_bins\",\"path\":\"/usr/bin/hl-a\"}".to_owned(),
        "{\"kind\":\"content\",\"slice\":\"hello_bins\",\"path\":\"/usr/bin/hl-b\"}".to_owned(),
        "{\"kind\":\"content\",\"slice\":\"hello_bins\",\"path\":\"/usr/bin/tool\"}".to_owned(),
        "{\"kind\":\"content\",\"slice\":\"hello_bins\",\"path\":\"/usr/bin/tool-link\"}".to_owned(),
        "{\"kind\":\"content\",\"slice\":\"hello_manifest\",\"path\":\"/var/lib/chisel/manifest.wall\"}".to_owned(),
        format!("{{\"kind\":\"package\",\"name\":\"hello\",\"version\":\"1.0-1\",\"sha256\":\"{}\",\"arch\":\"amd64\"}}", sha(deb)),
        "{\"kind\":\"path\",\"path\":\"/usr/bin/alias\",\"mode\":\"0777\",\"slices\":[\"hello_bins\"],\"link\":\"tool\"}".to_owned(),
        format!("{{\"kind\":\"path\",\"path\":\"/usr/bin/hl-a\",\"mode\":\"0644\",\"slices\":[\"hello_bins\"],\"sha256\":\"{real}\",\"size\":5,\"inode\":1}}"),
        format!("{{\"kind\":\"path\",\"path\":\"/usr/bin/hl-b\",\"mode\":\"0644\",\"slices\":[\"hello_bins\"],\"sha256\":\"{real}\",\"size\":5,\"inode\":1}}"),
        format!("{{\"kind\":\"path\",\"path\":\"/usr/bin/tool\",\"mode\":\"0755\",\"slices\":[\"hello_bins\"],\"sha256\":\"{tool}\",\"size\":{},\"inode\":2}}", TOOL.len()),
        format!("{{\"kind\":\"path\",\"path\":\"/usr/bin/tool-link\",\"mode\":\"0755\",\"slices\":[\"hello_bins\"],\"sha256\":\"{tool}\",\"size\":{},\"inode\":2}}", TOOL.len()),
        "{\"kind\":\"path\",\"path\":\"/var/lib/chisel/manifest.wall\",\"mode\":\"0644\",\"slices\":[\"hello_manifest\"]}".to_owned(),
        "{\"kind\":\"slice\",\"name\":\"hello_bins\"}".to_owned(),
        "{\"kind\":\"slice\",\"name\":\"hello_manifest\"}".to_owned(),
    ];
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(
        fs_err::metadata(env.root().join("var/lib/chisel/manifest.wall"))
            .expect("stat")
            .permissions()
            .mode()
            & 0o7777,
        0o644
    );
}

// ---------------------------------------------------------------------------------------------
// Maintenance.

/// A release before its standard support date is unstable, and one whose archives all left
/// maintenance is unmaintained: both refuse to cut unless `--ignore` says otherwise, and then
/// warn.
#[test]
fn unstable_and_unmaintained_releases_need_ignore() {
    use crate::release::Date;
    let archive = hello_archive();
    let server = archive.server().start();
    let mut release = release(
        "v1",
        &[only("ubuntu", &archive)],
        &[("hello", HELLO_SLICES)],
    );
    let env = Env::new();
    let mut options = env.options(&[("ubuntu", &server)]);

    release.maintenance.standard = Date::parse("2999-01-01").expect("date");
    assert_eq!(
        cut_err(&release, &["hello_bins"], &options),
        "this release is in the \"unstable\" maintenance status (its standard support starts 2999-01-01); cut it anyway with --ignore=unstable"
    );
    options.ignore.insert(super::Ignore::Unstable);
    let warnings = Warnings::default();
    cut(
        &release,
        &[SliceKey::parse("hello_bins").expect("key")],
        &options,
        &warnings,
    )
    .expect("the cut");
    assert_eq!(
        warnings.taken(),
        ["This release is in the \"unstable\" maintenance status (standard support starts 2999-01-01)"]
    );

    release.maintenance.standard = Date::parse("2001-01-01").expect("date");
    release.maintenance.expanded = None;
    release.maintenance.end_of_life = Date::parse("2002-01-01").expect("date");
    assert_eq!(
        cut_err(&release, &["hello_bins"], &options),
        "no archive has \"maintained\" maintenance status (the release's standard support ended 2002-01-01); consider the Ubuntu Pro archives, or cut it anyway with --ignore=unmaintained"
    );
    options.ignore.insert(super::Ignore::Unmaintained);
    cut(
        &release,
        &[SliceKey::parse("hello_bins").expect("key")],
        &options,
        &warnings,
    )
    .expect("the cut");
    assert_eq!(
        warnings.taken(),
        ["No archive has \"maintained\" maintenance status (standard support ended 2002-01-01)"]
    );
}
