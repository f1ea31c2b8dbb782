//! `kerf lock`, `kerf cut --locked`, `--snapshot` and `kerf verify` on the noble fixture mirror,
//! served on loopback.

use std::path::Path;

use kerf::testing::server::TestServer;

use crate::cut_fixture::cut;
use crate::harness::{kerf, kerf_with, treesum, TestDir};
use crate::with_shared;

const SLICES: [&str; 4] = [
    "base-files_base",
    "base-files_chisel",
    "libc6_libs",
    "openssl_bins",
];

/// `kerf lock` of `SLICES` from the 24.04 corpus branch, served at `url`, into `lock`.
fn lock(shared: &Path, url: &str, cache: &Path, lock: &Path) -> crate::harness::Run {
    let release = shared.join("corpus/chisel-releases/ubuntu-24.04");
    let archive = format!("ubuntu={url}ubuntu/");
    let mut args = vec![
        "lock",
        "--release",
        release.to_str().unwrap(),
        "--arch",
        "amd64",
        "--cache-dir",
        cache.to_str().unwrap(),
        "--archive-url",
        &archive,
        "-o",
        lock.to_str().unwrap(),
    ];
    args.extend_from_slice(&SLICES);
    kerf(shared, &args)
}

/// A directory that holds only the mirror's `pool/`: no `dists/`, so no index can be read.
fn pool_only(shared: &Path, dir: &Path) -> TestServer {
    fs_err::create_dir_all(dir.join("ubuntu")).unwrap();
    fs_err::os::unix::fs::symlink(
        shared.join("fixtures/noble-mirror/ubuntu/pool"),
        dir.join("ubuntu/pool"),
    )
    .unwrap();
    TestServer::serve_dir(dir)
}

fn locked_cut(lock: &Path, root: &Path, cache: &Path, url: &str) -> crate::harness::Run {
    let archive = format!("ubuntu={url}ubuntu/");
    kerf(
        lock.parent().unwrap(),
        &[
            "cut",
            "--locked",
            lock.to_str().unwrap(),
            "--root",
            root.to_str().unwrap(),
            "--cache-dir",
            cache.to_str().unwrap(),
            "--archive-url",
            &archive,
        ],
    )
}

#[test]
fn a_locked_cut_from_only_the_pool_equals_the_plain_cut_and_verify_checks_it() {
    with_shared!(shared => {
        let dir = TestDir::new();
        let mirror = TestServer::serve_dir(&shared.join("fixtures/noble-mirror"));
        let url = mirror.url("/");
        let plain = dir.path().join("plain");
        cut(&shared, &url, &plain, &dir.path().join("cache"), &[], &SLICES).success();
        let lock_file = dir.path().join("kerf.lock");
        let run = lock(&shared, &url, &dir.path().join("cache"), &lock_file);
        run.success();
        assert_eq!(
            run.stderr.lines().last().unwrap_or_default(),
            format!(
                "Locked 4 slices of release {} for amd64: 4 packages into {}",
                shared.join("corpus/chisel-releases/ubuntu-24.04").display(),
                lock_file.display()
            )
        );

        // An empty cache and a server with no dists/: the lock alone says what to fetch.
        let pool = pool_only(&shared, &dir.path().join("pool-only"));
        let root = dir.path().join("locked");
        locked_cut(&lock_file, &root, &dir.path().join("empty-cache"), &pool.url("/")).success();
        assert_eq!(treesum(&root), treesum(&plain));
        let manifest = "var/lib/chisel/manifest.wall";
        assert_eq!(
            fs_err::read(root.join(manifest)).unwrap(),
            fs_err::read(plain.join(manifest)).unwrap()
        );
        let requested: Vec<String> = pool.requests().into_iter().map(|request| request.path).collect();
        assert_eq!(requested.len(), 4, "{requested:?}");
        assert!(requested.iter().all(|path| path.starts_with("/ubuntu/pool/")), "{requested:?}");

        let run = kerf(&shared, &["verify", "--root", root.to_str().unwrap()]);
        assert_eq!(run.stderr, format!("{} is intact: 61 paths as its manifest records\n", root.display()));
        assert_eq!(run.status, 0);
        let openssl = root.join("usr/bin/openssl");
        let mut bytes = fs_err::read(&openssl).unwrap();
        let size = bytes.len();
        bytes.push(b'\n');
        fs_err::write(&openssl, bytes).unwrap();
        let run = kerf(&shared, &["verify", "--root", root.to_str().unwrap()]);
        assert_eq!(run.stdout, format!("/usr/bin/openssl: {} bytes, the manifest records {size}\n", size + 1));
        assert_eq!(
            run.stderr,
            format!("{} differs from its manifest: 1 finding of 61 recorded paths\n", root.display())
        );
        assert_eq!(run.status, 1);
    });
}

#[test]
fn a_lock_with_one_digit_changed_is_refused_and_nothing_is_written() {
    with_shared!(shared => {
        let dir = TestDir::new();
        let mirror = TestServer::serve_dir(&shared.join("fixtures/noble-mirror"));
        let lock_file = dir.path().join("kerf.lock");
        lock(&shared, &mirror.url("/"), &dir.path().join("cache"), &lock_file).success();
        let text = fs_err::read_to_string(&lock_file).unwrap();
        // openssl's SHA-256: the fetch checks its SHA-512, then the lock's SHA-256 too.
        let start = text.find("\"name\": \"openssl\"").unwrap();
        let field = start + text[start..].find("\"sha256\": \"").unwrap() + "\"sha256\": \"".len();
        let right = &text[field..field + 64];
        let digit = if right.starts_with('0') { "1" } else { "0" };
        let wrong = format!("{digit}{}", &right[1..]);
        fs_err::write(&lock_file, text.replacen(right, &wrong, 1)).unwrap();

        let root = dir.path().join("root");
        let run = locked_cut(&lock_file, &root, &dir.path().join("cache"), &mirror.url("/"));

        assert_eq!(run.status, 1, "{}", run.stderr);
        assert!(
            run.stderr.ends_with(&format!(
                "error: {}: arches.amd64.packages (openssl).sha256: {}ubuntu/pool/main/o/openssl/openssl_3.0.13-0ubuntu3.16_amd64.deb has SHA-256 {right}, but the lock says {wrong}; the lock was edited or is for another file: make it again with kerf lock\n",
                lock_file.display(),
                mirror.url("/")
            )),
            "{}",
            run.stderr
        );
        assert_eq!(treesum(&root), "");

        // A lock made from other release files: named, with both digests.
        let at = text.find("\"digest\": \"sha256:").unwrap() + "\"digest\": \"sha256:".len();
        let actual = format!("sha256:{}", &text[at..at + 64]);
        let digit = if text[at..].starts_with('0') { "1" } else { "0" };
        let locked_digest = format!("sha256:{digit}{}", &text[at + 1..at + 64]);
        fs_err::write(&lock_file, text.replacen(&actual, &locked_digest, 1)).unwrap();
        let release = shared.join("corpus/chisel-releases/ubuntu-24.04");
        let run = locked_cut(&lock_file, &root, &dir.path().join("cache"), &mirror.url("/"));
        run.fails_with(
            1,
            &format!(
                "error: {}: release.digest: the lock was made from release {} with digest {locked_digest}, but release {} now has digest {actual}: its files changed; make the lock again with kerf lock\n",
                lock_file.display(),
                release.display(),
                release.display()
            ),
        );
    });
}

#[test]
fn a_cut_from_a_snapshot_reads_the_snapshot_service() {
    with_shared!(shared => {
        let dir = TestDir::new();
        // The service serves the archive as it was under <base>/<ID>/.
        let service = dir.path().join("service");
        fs_err::create_dir_all(&service).unwrap();
        fs_err::os::unix::fs::symlink(
            shared.join("fixtures/noble-mirror/ubuntu"),
            service.join("20261201T000000Z"),
        )
        .unwrap();
        let server = TestServer::serve_dir(&service);
        let release = shared.join("corpus/chisel-releases/ubuntu-24.04");
        let root = dir.path().join("root");
        let snapshot_url = server.url("/");
        let env = [("KERF_SNAPSHOT_URL", snapshot_url.as_str())];
        let cache = dir.path().join("cache");
        let mut args = vec![
            "cut",
            "--release",
            release.to_str().unwrap(),
            "--arch",
            "amd64",
            "--snapshot",
            "20261201T000000Z",
            "--root",
            root.to_str().unwrap(),
            "--cache-dir",
            cache.to_str().unwrap(),
        ];
        args.extend_from_slice(&crate::cut_fixture::SMALL);
        kerf_with(&shared, &env, &args).success();

        assert_eq!(
            treesum(&root),
            fs_err::read_to_string(shared.join("fixtures/expected/small.treesum")).unwrap()
        );
        let requested: Vec<String> = server.requests().into_iter().map(|request| request.path).collect();
        assert!(
            requested.iter().all(|path| path.starts_with("/20261201T000000Z/")),
            "{requested:?}"
        );
        assert!(requested.contains(&"/20261201T000000Z/dists/noble-updates/InRelease".to_owned()));

        // A snapshot ID in another form is refused before anything is read.
        args[6] = "2026-12-01";
        let run = kerf_with(&shared, &env, &args);
        assert_eq!(
            run.stderr,
            "error: --snapshot: invalid snapshot ID \"2026-12-01\": expected a moment in UTC as YYYYMMDDTHHMMSSZ, e.g. 20261201T000000Z\n"
        );
        assert_eq!(run.status, 1);
    });
}

#[test]
fn a_lock_from_a_future_kerf_or_a_missing_lock_is_refused() {
    let dir = TestDir::new();
    dir.write("kerf.lock", "{\n  \"version\": 3,\n  \"release\": {}\n}\n");
    let run = kerf(
        dir.path(),
        &["cut", "--locked", "kerf.lock", "--root", "root"],
    );
    assert_eq!(
        run.stderr,
        "error: kerf.lock: written by a newer kerf (lock version 3); this kerf reads version 1: upgrade kerf, or make the lock again with this one\n"
    );
    assert_eq!(run.status, 1);
    assert!(!dir.path().join("root").exists());

    let run = kerf(dir.path(), &["lock", "--check", "missing.lock"]);
    assert_eq!(
        run.stderr,
        "error: cannot read the lock file missing.lock: it does not exist (make one with kerf lock)\n"
    );
    assert_eq!(run.status, 1);
}
