//! Locked cuts: a lock made from a test archive, then cut from a server that holds only the
//! pool, from an edited lock, from an archive that lost a package, and `lock --check`.

use std::sync::Arc;

use super::tests::{cut_err, cut_ok, sha, tree, Env, Quiet};
use crate::archive::archives::ArchiveSettings;
use crate::archive::snapshot::SnapshotId;
use crate::lock::apply::LockFile;
use crate::lock::make::{make, newer, Newer, ReleaseIdentity};
use crate::lock::{Lock, LockedPackage};
use crate::release::{Arch, Release, SliceKey};
use crate::testing::archive::{only, release, TestArchive};
use crate::testing::deb::{ar, compress, control_tar, data_tar, Compression, TestEntry};
use crate::testing::server::{Reply, TestServer};

const SLICES: [&str; 2] = ["hello_data", "other_data"];

/// A `.deb` of package `name` (built from source `greetings` when it is hello) with one file,
/// `/usr/share/<name>/version` holding `content`.
fn version_deb(name: &str, version: &str, content: &str) -> Vec<u8> {
    let source = if name == "hello" {
        "Source: greetings (0.9-2)\n"
    } else {
        ""
    };
    let control = format!(
        "Package: {name}\nVersion: {version}\nArchitecture: amd64\n{source}Maintainer: kerf <kerf@example.invalid>\nDescription: a package built by the tests\n"
    );
    let entries = [
        TestEntry::dir("./", 0o755),
        TestEntry::dir("./usr/", 0o755),
        TestEntry::dir("./usr/share/", 0o755),
        TestEntry::dir(format!("./usr/share/{name}/"), 0o755),
        TestEntry::file(format!("./usr/share/{name}/version"), 0o644, content),
    ];
    ar(&[
        ("debian-binary", b"2.0\n"),
        (
            "control.tar.gz",
            &compress(&control_tar(&control), Compression::Gz),
        ),
        (
            "data.tar.gz",
            &compress(&data_tar(&entries), Compression::Gz),
        ),
    ])
}

/// Adds `version_deb`'s package to `suite`.
fn add(archive: &mut TestArchive, suite: &str, name: &str, version: &str, content: &str) {
    archive.add_deb(suite, name, version, version_deb(name, version, content));
}

fn slices_of(name: &str) -> String {
    format!("package: {name}\nslices:\n  data:\n    contents:\n      /usr/share/{name}/version:\n")
}

/// hello in noble and (newer) in noble-updates; other in noble only.
fn archive() -> TestArchive {
    let mut archive = TestArchive::new(&["noble", "noble-security", "noble-updates"]);
    add(&mut archive, "noble", "hello", "1.0-1", "release\n");
    add(
        &mut archive,
        "noble-updates",
        "hello",
        "1.0-1ubuntu1",
        "updates\n",
    );
    add(&mut archive, "noble", "other", "2.0-1", "other\n");
    archive
}

fn test_release(archive: &TestArchive) -> Release {
    release(
        "v1",
        &[only("ubuntu", archive)],
        &[
            ("hello", &slices_of("hello")),
            ("other", &slices_of("other")),
        ],
    )
}

fn identity() -> ReleaseIdentity {
    ReleaseIdentity {
        source: "./release".to_owned(),
        digest: format!("sha256:{}", "0".repeat(64)),
    }
}

fn keys(slices: &[&str]) -> Vec<SliceKey> {
    slices
        .iter()
        .map(|name| SliceKey::parse(name).expect("a slice name"))
        .collect()
}

fn lock_of(release: &Release, settings: &ArchiveSettings) -> Lock {
    make(
        release,
        &identity(),
        &keys(&SLICES),
        std::slice::from_ref(settings),
        &Quiet,
    )
    .unwrap_or_else(|error| panic!("the lock failed: {error}"))
}

/// A server with only these files of the archive (server path → body).
fn only_files(archive: &TestArchive, keep: impl Fn(&str) -> bool) -> TestServer {
    archive
        .files_under("")
        .into_iter()
        .filter(|(path, _)| keep(path))
        .fold(
            TestServer::builder().max_connections(1000),
            |builder, (path, body)| builder.route(&path, Reply::Serve(body)),
        )
        .start()
}

fn locked(lock: Lock) -> Option<Arc<LockFile>> {
    Some(Arc::new(LockFile {
        path: "kerf.lock".into(),
        lock,
    }))
}

#[test]
fn a_lock_records_what_a_cut_takes_and_a_locked_cut_needs_only_the_pool() {
    let archive = archive();
    let server = archive.server().start();
    let release = test_release(&archive);
    let plain = Env::new();
    let options = plain.options(&[("ubuntu", &server)]);
    cut_ok(&release, &SLICES, &options);

    let lock = lock_of(&release, &options.archives);

    let hello = archive.package("hello", "1.0-1ubuntu1");
    let other = archive.package("other", "2.0-1");
    assert_eq!(
        lock.arches["amd64"].packages,
        vec![
            LockedPackage {
                name: "hello".to_owned(),
                version: "1.0-1ubuntu1".to_owned(),
                arch: "amd64".to_owned(),
                archive: "ubuntu".to_owned(),
                suite: "noble-updates".to_owned(),
                component: "main".to_owned(),
                filename: "pool/main/h/hello/hello_1.0-1ubuntu1_amd64.deb".to_owned(),
                size: hello.deb.len() as u64,
                sha256: sha(&hello.deb),
                sha512: None,
                source: "greetings".to_owned(),
                source_version: "0.9-2".to_owned(),
            },
            LockedPackage {
                name: "other".to_owned(),
                version: "2.0-1".to_owned(),
                arch: "amd64".to_owned(),
                archive: "ubuntu".to_owned(),
                suite: "noble".to_owned(),
                component: "main".to_owned(),
                filename: "pool/main/o/other/other_2.0-1_amd64.deb".to_owned(),
                size: other.deb.len() as u64,
                sha256: sha(&other.deb),
                sha512: None,
                source: "other".to_owned(),
                source_version: "2.0-1".to_owned(),
            },
        ]
    );
    let suites: Vec<(&str, &str, &str)> = lock.arches["amd64"]
        .suites
        .iter()
        .map(|suite| {
            (
                suite.suite.as_str(),
                suite.date.as_str(),
                suite.url.as_str(),
            )
        })
        .collect();
    let url = server.url("/");
    assert_eq!(
        suites,
        [
            ("noble", "Thu, 25 Apr 2024 15:10:33 UTC", url.as_str()),
            (
                "noble-security",
                "Thu, 25 Apr 2024 15:10:33 UTC",
                url.as_str()
            ),
            (
                "noble-updates",
                "Thu, 25 Apr 2024 15:10:33 UTC",
                url.as_str()
            )
        ]
    );
    assert_eq!(
        lock.arches["amd64"].suites[0].inrelease_sha256,
        sha(archive.inrelease("noble").as_bytes())
    );
    // What is written reads back the same.
    assert_eq!(
        Lock::parse(&lock.to_text(), "kerf.lock".as_ref()).unwrap(),
        lock
    );

    let pool = only_files(&archive, |path| path.starts_with("/pool/"));
    let env = Env::new();
    let mut options = env.options(&[("ubuntu", &pool)]);
    options.locked = locked(lock);
    let summary = cut_ok(&release, &SLICES, &options);

    assert_eq!(tree(&env.root()), tree(&plain.root()));
    let mut paths: Vec<String> = pool
        .requests()
        .into_iter()
        .map(|request| request.path)
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/pool/main/h/hello/hello_1.0-1ubuntu1_amd64.deb",
            "/pool/main/o/other/other_2.0-1_amd64.deb"
        ]
    );
    assert_eq!(summary.release_date, Some(1_714_057_833));
}

#[test]
fn an_edited_digest_is_refused_before_anything_is_written() {
    let archive = archive();
    let server = archive.server().start();
    let release = test_release(&archive);
    let env = Env::new();
    let mut options = env.options(&[("ubuntu", &server)]);
    let mut lock = lock_of(&release, &options.archives);
    // One digit of the second package's digest: the first package is fetched and fine.
    let other = &mut lock.arches.get_mut("amd64").unwrap().packages[1];
    let right = other.sha256.clone();
    let wrong = format!(
        "{}{}",
        if right.starts_with('0') { '1' } else { '0' },
        &right[1..]
    );
    other.sha256 = wrong.clone();
    options.locked = locked(lock);

    let error = cut_err(&release, &SLICES, &options);

    assert_eq!(
        error,
        format!(
            "kerf.lock: arches.amd64.packages (other).sha256: {}pool/main/o/other/other_2.0-1_amd64.deb has SHA-256 {right}, but the lock says {wrong}; the lock was edited or is for another file: make it again with kerf lock",
            server.url("/")
        )
    );
    assert_eq!(tree(&env.root()), Vec::<String>::new());
}

#[test]
fn a_package_the_archive_lost_names_the_snapshot_to_cut_from() {
    let archive = archive();
    let server = archive.server().start();
    let release = test_release(&archive);
    let lock = lock_of(
        &release,
        &Env::new().options(&[("ubuntu", &server)]).archives,
    );
    let lost = "/pool/main/o/other/other_2.0-1_amd64.deb";
    let pool = only_files(&archive, |path| path.starts_with("/pool/") && path != lost);
    let env = Env::new();
    let mut options = env.options(&[("ubuntu", &pool)]);
    options.locked = locked(lock);

    let error = cut_err(&release, &SLICES, &options);

    assert_eq!(
        error,
        format!(
            "package \"other\" 2.0-1 is no longer at {}{} (HTTP 404): the archive has dropped that version since the lock was made. Cut from the archive as it was then with --snapshot 20240425T161033Z (its InRelease was dated Thu, 25 Apr 2024 15:10:33 UTC), or make a new lock with kerf lock",
            pool.url("/"),
            &lost[1..]
        )
    );
    assert_eq!(tree(&env.root()), Vec::<String>::new());
}

#[test]
fn a_lock_made_from_a_snapshot_falls_back_to_it_when_the_archive_lost_a_package() {
    let archive = archive();
    let id = SnapshotId::parse("20240426T000000Z").unwrap();
    // The snapshot service serves the archive under /ubuntu/<ID>/.
    let snapshot = archive
        .files_under(&format!("/ubuntu/{id}"))
        .into_iter()
        .fold(
            TestServer::builder().max_connections(1000),
            |builder, (path, body)| builder.route(&path, Reply::Serve(body)),
        )
        .start();
    let release = test_release(&archive);
    let maker = Env::new();
    let mut settings = maker.options(&[]).archives;
    settings.snapshot = Some(id);
    settings.ignore_release_dates = true;
    settings.snapshot_urls.ubuntu = snapshot.url("/ubuntu/");
    let lock = lock_of(&release, &settings);
    assert!(lock.arches["amd64"]
        .suites
        .iter()
        .all(
            |suite| suite.snapshot.as_deref() == Some("20240426T000000Z")
                && suite.url == "http://archive.ubuntu.com/ubuntu/"
        ));

    // Today's archive has lost `other`; the snapshot still has it.
    let lost = "/pool/main/o/other/other_2.0-1_amd64.deb";
    let pool = only_files(&archive, |path| path.starts_with("/pool/") && path != lost);
    let env = Env::new();
    let mut options = env.options(&[("ubuntu", &pool)]);
    options.archives.snapshot_urls.ubuntu = snapshot.url("/ubuntu/");
    options.locked = locked(lock);
    cut_ok(&release, &SLICES, &options);

    assert_eq!(
        fs_err::read_to_string(env.root().join("usr/share/other/version")).unwrap(),
        "other\n"
    );
    assert_eq!(pool.hits(lost), 1);
    // Once to make the lock (into another cache), once for the cut.
    assert_eq!(snapshot.hits(&format!("/ubuntu/{id}{lost}")), 2);
}

#[test]
fn lock_check_lists_newer_versions_security_first() {
    let archive = archive();
    let server = archive.server().start();
    let release = test_release(&archive);
    let env = Env::new();
    let options = env.options(&[("ubuntu", &server)]);
    let lock = lock_of(&release, &options.archives);
    assert_eq!(
        newer(
            &release,
            &lock,
            std::slice::from_ref(&options.archives),
            &Quiet
        )
        .unwrap(),
        []
    );

    // The pockets gain newer versions: the same key signs the new InRelease files.
    let mut later = archive;
    add(
        &mut later,
        "noble-updates",
        "hello",
        "1.0-1ubuntu2",
        "later\n",
    );
    add(
        &mut later,
        "noble-security",
        "other",
        "2.0-1ubuntu0.1",
        "fixed\n",
    );
    let server = later.server().start();
    let options = env.options(&[("ubuntu", &server)]);

    assert_eq!(
        newer(
            &release,
            &lock,
            std::slice::from_ref(&options.archives),
            &Quiet
        )
        .unwrap(),
        [
            Newer {
                arch: "amd64".to_owned(),
                name: "other".to_owned(),
                locked: "2.0-1".to_owned(),
                available: "2.0-1ubuntu0.1".to_owned(),
                archive: "ubuntu".to_owned(),
                suite: "noble-security".to_owned(),
            },
            Newer {
                arch: "amd64".to_owned(),
                name: "hello".to_owned(),
                locked: "1.0-1ubuntu1".to_owned(),
                available: "1.0-1ubuntu2".to_owned(),
                archive: "ubuntu".to_owned(),
                suite: "noble-updates".to_owned(),
            },
        ]
    );
}

#[test]
fn a_lock_for_another_arch_or_other_packages_is_refused() {
    let archive = archive();
    let server = archive.server().start();
    let release = test_release(&archive);
    let env = Env::new();
    let mut options = env.options(&[("ubuntu", &server)]);
    let lock = lock_of(&release, &options.archives);
    options.locked = locked(lock);

    assert_eq!(
        cut_err(&release, &["hello_data"], &options),
        "kerf.lock: the slices select packages the lock does not have for amd64 (none) or the lock has packages they do not select (other); make the lock again with kerf lock"
    );
    options.archives.arch = Arch::Arm64;
    assert_eq!(
        cut_err(&release, &SLICES, &options),
        "kerf.lock: it locks architecture amd64, not arm64; make a lock for both with kerf lock --arch amd64,arm64"
    );
    assert_eq!(tree(&env.root()), Vec::<String>::new());
}
