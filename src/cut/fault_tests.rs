//! The fault matrix: an archive server that fails in every way we could think of. kerf retries
//! what is transient, stops with a clear error on what is not, never keeps an unverified or
//! partial file in the cache, and a cut that failed succeeds once the fault is gone.

use std::time::Duration;

use super::tests::{
    assert_tree, blob, cache_files, cut_err, cut_ok, hello_archive, hello_tree, only, release, Env,
    HELLO_ALL, HELLO_SLICES,
};
use super::CutOptions;
use crate::release::Release;
use crate::transport::http::testserver::{Reply, TestServer};

fn hello_release(archive: &super::tests::TestArchive) -> Release {
    release("v3", &[only("ubuntu", archive)], &[("hello", HELLO_SLICES)])
}

/// Options with short timeouts, so stalls fail fast.
fn impatient(env: &Env, server: &TestServer) -> CutOptions {
    let mut options = env.options(&[("ubuntu", server)]);
    options.archives.fetch.timeout_read = Duration::from_millis(300);
    options
}

/// Nothing in the cache but verified blobs: no temporary files, and no blob whose content
/// does not hash to its name.
fn assert_cache_clean(env: &Env) {
    for file in cache_files(&env.cache()) {
        assert!(!file.contains(".tmp"), "a temporary file is left: {file}");
        if let Some(name) = file.strip_prefix("sha256-v1/") {
            let hex = name.rsplit('/').next().unwrap_or_default();
            let bytes = fs_err::read(env.cache().join(&file)).expect("cached file");
            let actual = crate::digest::sha256_hex(&bytes);
            assert_eq!(actual, hex, "{file} does not hash to its name");
        }
    }
}

#[test]
fn transient_failures_are_retried_at_every_step() {
    let archive = hello_archive();
    let deb_path = archive.deb_path("hello", "1.0-1");
    let deb = archive.package("hello", "1.0-1").deb.clone();
    let inrelease = archive.server().start();
    let body = |path: &str| {
        ureq::get(&inrelease.url(path))
            .call()
            .expect("the archive serves it")
            .into_body()
            .read_to_vec()
            .expect("body")
    };
    let (release_bytes, index_bytes) = (
        body("/dists/noble/InRelease"),
        body("/dists/noble/main/binary-amd64/Packages.gz"),
    );
    drop(inrelease);
    let server = archive
        .server()
        .sequence(
            "/dists/noble/InRelease",
            [Reply::Status(503), Reply::Serve(release_bytes)],
        )
        .sequence(
            "/dists/noble/main/binary-amd64/Packages.gz",
            [
                Reply::Status(500),
                Reply::DropAfter(index_bytes.clone(), 10),
                Reply::Serve(index_bytes),
            ],
        )
        .sequence(
            &deb_path,
            [
                Reply::Stall(Duration::from_secs(2)),
                Reply::DropAfter(deb.clone(), deb.len() / 3),
            ],
        )
        .start();
    let env = Env::new();
    let mut options = impatient(&env, &server);
    options.archives.fetch.retries = 3;
    let release = hello_release(&archive);
    // The .deb route ends with a drop that repeats: every attempt fails.
    let message = cut_err(&release, &HELLO_ALL, &options);
    assert!(
        message.starts_with(&format!("cannot fetch {}", server.url(&deb_path))),
        "{message}"
    );
    assert_eq!(server.hits("/dists/noble/InRelease"), 2);
    assert_eq!(server.hits("/dists/noble/main/binary-amd64/Packages.gz"), 3);
    assert_eq!(server.hits(&deb_path), 4, "one try and three retries");
    assert!(!env.cache().join(blob(&deb)).exists());
    assert_cache_clean(&env);

    // The fault gone, the same cache: the cut completes, fetching only the package again.
    let fixed = archive.server().start();
    cut_ok(&release, &HELLO_ALL, &env.options(&[("ubuntu", &fixed)]));
    assert_tree(&env.root(), &hello_tree());
    assert_eq!(
        fixed.hits("/dists/noble/main/binary-amd64/Packages.gz"),
        0,
        "the index was cached"
    );
    assert_eq!(fixed.hits(&deb_path), 1);
    assert_cache_clean(&env);
}

#[test]
fn permanent_failures_stop_at_once_with_the_url() {
    let archive = hello_archive();
    let release = hello_release(&archive);
    let cases: [(&str, Reply, &str); 4] = [
        (
            "/dists/noble/InRelease",
            Reply::Status(404),
            "not found (HTTP 404)",
        ),
        (
            "/dists/noble/InRelease",
            Reply::Status(403),
            "unauthorized (HTTP 403)",
        ),
        (
            "/dists/noble/InRelease",
            Reply::Redirect("/dists/noble/InRelease".to_owned()),
            "more than 5 redirects",
        ),
        (
            "/dists/noble/InRelease",
            Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\nshort".to_vec()),
            "larger than the limit of 67108864 bytes",
        ),
    ];
    for (path, reply, expected) in cases {
        let server = archive.server().route(path, reply.clone()).start();
        let env = Env::new();
        assert_eq!(
            cut_err(&release, &HELLO_ALL, &impatient(&env, &server)),
            format!("cannot fetch {}: {expected}", server.url(path)),
            "{reply:?}"
        );
        assert!(
            server.hits(path) <= 1 || matches!(reply, Reply::Redirect(_)),
            "{reply:?} was retried"
        );
        assert_eq!(cache_files(&env.cache()), Vec::<String>::new(), "{reply:?}");
    }
}

#[test]
fn altered_or_truncated_files_are_refused_and_never_cached() {
    let archive = hello_archive();
    let deb_path = archive.deb_path("hello", "1.0-1");
    let deb = archive.package("hello", "1.0-1").deb.clone();
    let release = hello_release(&archive);
    let truncated = deb[..deb.len() - 100].to_vec();
    let mut flipped = deb.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0xff;
    let longer = [deb.clone(), b"trailing".to_vec()].concat();
    for body in [truncated, flipped, longer] {
        let server = archive
            .server()
            .route(&deb_path, Reply::Serve(body.clone()))
            .start();
        let env = Env::new();
        let size_note = if body.len() == deb.len() {
            String::new()
        } else {
            format!(" (size {} bytes instead of {})", body.len(), deb.len())
        };
        let message = cut_err(&release, &HELLO_ALL, &impatient(&env, &server));
        assert_eq!(
            message,
            format!(
                "{}: SHA-256 mismatch: expected {}, got {}{size_note}",
                server.url(&deb_path),
                super::tests::sha(&deb),
                super::tests::sha(&body)
            )
        );
        assert!(!env.cache().join(blob(&body)).exists());
        assert!(!env.cache().join(blob(&deb)).exists());
        assert_cache_clean(&env);
        // Nothing was extracted from it.
        assert!(!env.root().join("usr/bin/tool").exists(), "{message}");
    }
}

#[test]
fn a_replayed_expired_or_future_inrelease_is_refused() {
    let mut archive = hello_archive();
    let release = hello_release(&archive);

    // Another suite's signed file (same key) served in place of noble's.
    let mut two = super::tests::TestArchive::new(&["noble", "noble-updates"]);
    two.add("noble", "hello", "1.0-1", &super::tests::hello_entries());
    let two_release = hello_release(&two);
    let genuine = two.server().start();
    let replay = ureq::get(&genuine.url("/dists/noble-updates/InRelease"))
        .call()
        .expect("the archive serves it")
        .into_body()
        .read_to_vec()
        .expect("body");
    drop(genuine);
    let server = two
        .server()
        .route("/dists/noble/InRelease", Reply::Serve(replay))
        .start();
    let env = Env::new();
    assert_eq!(
        cut_err(&two_release, &HELLO_ALL, &env.options(&[("ubuntu", &server)])),
        "archive \"ubuntu\" suite noble: the InRelease file is for suite \"noble-updates\", not \"noble\" (a mirror serving the wrong file, or a replay)"
    );
    drop(server);

    archive.set_release_dates(
        "Thu, 25 Apr 2024 15:10:33 UTC",
        "Valid-Until: Thu, 02 May 2024 15:10:33 UTC\n",
    );
    let server = archive.server().start();
    let env = Env::new();
    let mut options = env.options(&[("ubuntu", &server)]);
    assert_eq!(
        cut_err(&release, &HELLO_ALL, &options),
        "archive \"ubuntu\" suite noble: the InRelease file expired on Thu, 02 May 2024 15:10:33 UTC (its Valid-Until): the mirror is out of date, or replays an old file; cut anyway with --ignore=release-dates"
    );
    assert_eq!(
        cache_files(&env.cache())
            .iter()
            .filter(|file| file.starts_with("sha256-v1/"))
            .count(),
        0
    );
    options.archives.ignore_release_dates = true;
    cut_ok(&release, &HELLO_ALL, &options);
    assert_tree(&env.root(), &hello_tree());
    drop(server);

    archive.set_release_dates("Fri, 01 Jan 2100 00:00:00 UTC", "");
    let server = archive.server().start();
    let env = Env::new();
    assert_eq!(
        cut_err(&release, &HELLO_ALL, &env.options(&[("ubuntu", &server)])),
        "archive \"ubuntu\" suite noble: the InRelease file is dated Fri, 01 Jan 2100 00:00:00 UTC, in the future: check this machine's clock, or cut anyway with --ignore=release-dates"
    );
}
