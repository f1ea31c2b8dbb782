//! Cuts from archives published the ways archives are published today: SHA-512 only, indexes
//! by hash, `.xz` or plain indexes, and digests kerf must not trust.

use super::tests::{
    assert_tree, cache_files, cut_err, cut_ok, hello_entries, hello_tree, sha, Env, HELLO_ALL,
    HELLO_SLICES,
};
use super::CutOptions;
use crate::digest::{Algorithm, Digest};
use crate::release::Release;
use crate::testing::archive::{only, release, TestArchive};
use crate::testing::server::Reply;

fn hello(archive: TestArchive) -> (TestArchive, Release) {
    let mut archive = archive;
    archive.add("noble", "hello", "1.0-1", &hello_entries());
    let release = release(
        "v1",
        &[only("ubuntu", &archive)],
        &[("hello", HELLO_SLICES)],
    );
    (archive, release)
}

const INDEX_DIR: &str = "/dists/noble/main/binary-amd64";

/// The signed `Packages.gz` of an archive published by hash, and its by-hash server path.
fn by_hash_index(archive: &TestArchive) -> (Vec<u8>, String) {
    let signed = archive.packages_in_form("noble", "main", ".gz");
    let path = format!("{INDEX_DIR}/by-hash/SHA256/{}", sha(&signed));
    (signed, path)
}

#[test]
fn an_archive_that_signs_only_sha512_is_cut_and_cached_under_sha512() {
    let (archive, release) = hello(TestArchive::new(&["noble"]).with_digests(&[Algorithm::Sha512]));
    let server = archive.server().start();
    let env = Env::new();
    cut_ok(&release, &HELLO_ALL, &env.options(&[("ubuntu", &server)]));
    assert_tree(&env.root(), &hello_tree());

    let deb = &archive.package("hello", "1.0-1").deb;
    let gz = archive.packages_in_form("noble", "main", ".gz");
    let blob = |bytes: &[u8]| {
        let hex = Digest::of(Algorithm::Sha512, bytes).to_string();
        format!("sha512-v1/{}/{hex}", &hex[..2])
    };
    // Each blob's SHA-256 is recorded beside it, so a warm cut checks it with SHA-256 alone.
    let mut expected = vec![
        "index-v1/inrelease-*".to_owned(),
        "index-v1/inrelease-text-*".to_owned(),
        "index-v1/packages-v2-*".to_owned(),
        "index-v1/sha256-of-v1-*".to_owned(),
        "index-v1/sha256-of-v1-*".to_owned(),
        blob(&gz),
        blob(deb),
    ];
    expected.sort();
    assert_eq!(cache_files(&env.cache()), expected);
}

#[test]
fn the_strongest_digest_decides_and_a_wrong_one_is_not_excused_by_a_right_weaker_one() {
    let (archive, release) =
        hello(TestArchive::new(&["noble"]).with_digests(&[Algorithm::Sha256, Algorithm::Sha512]));
    // The index lists both digests of the .deb; the server sends other bytes of the same size
    // whose SHA-256 cannot match either, so the SHA-512 check is the one that speaks.
    let deb_path = archive.deb_path("hello", "1.0-1");
    let good = archive.package("hello", "1.0-1").deb.clone();
    let mut bad = good.clone();
    *bad.last_mut().expect("a .deb has bytes") ^= 1;
    let server = archive
        .server()
        .route(&deb_path, Reply::Serve(bad.clone()))
        .start();
    let env = Env::new();
    let message = cut_err(&release, &HELLO_ALL, &env.options(&[("ubuntu", &server)]));
    assert_eq!(
        message,
        format!(
            "{}: SHA-512 mismatch: expected {}, got {}",
            server.url(&deb_path),
            Digest::of(Algorithm::Sha512, &good),
            Digest::of(Algorithm::Sha512, &bad)
        )
    );
}

#[test]
fn indexes_come_by_hash_while_the_plain_path_already_holds_the_next_one() {
    let (archive, release) = hello(TestArchive::new(&["noble"]).with_by_hash());
    let signed = archive.packages_in_form("noble", "main", ".gz");
    let by_hash = format!("{INDEX_DIR}/by-hash/SHA256/{}", Digest::sha256(&signed));
    // Mid-publish: the plain path already serves the next index, which this InRelease does
    // not sign.
    let (next, _) = hello(TestArchive::new(&["noble"]));
    let server = archive
        .server()
        .route(
            &format!("{INDEX_DIR}/Packages.gz"),
            Reply::Serve(next.packages_in_form("noble", "main", ".gz")),
        )
        .start();
    let env = Env::new();
    cut_ok(&release, &HELLO_ALL, &env.options(&[("ubuntu", &server)]));
    assert_tree(&env.root(), &hello_tree());
    assert_eq!(server.hits(&by_hash), 1);
    assert_eq!(server.hits(&format!("{INDEX_DIR}/Packages.gz")), 0);
}

#[test]
fn a_mirror_without_by_hash_falls_back_to_the_plain_path() {
    let (archive, release) = hello(TestArchive::new(&["noble"]).with_by_hash());
    let (_, by_hash) = by_hash_index(&archive);
    let server = archive.server().route(&by_hash, Reply::Status(404)).start();
    let env = Env::new();
    cut_ok(&release, &HELLO_ALL, &env.options(&[("ubuntu", &server)]));
    assert_tree(&env.root(), &hello_tree());
    assert_eq!(server.hits(&by_hash), 1);
    assert_eq!(server.hits(&format!("{INDEX_DIR}/Packages.gz")), 1);
}

#[test]
fn a_truncated_by_hash_file_is_refused_and_never_cached() {
    let (archive, release) = hello(TestArchive::new(&["noble"]).with_by_hash());
    let (signed, by_hash) = by_hash_index(&archive);
    let truncated = signed[..signed.len() / 2].to_vec();
    let server = archive
        .server()
        .route(&by_hash, Reply::Serve(truncated.clone()))
        .start();
    let env = Env::new();
    let message = cut_err(&release, &HELLO_ALL, &env.options(&[("ubuntu", &server)]));
    assert_eq!(
        message,
        format!(
            "{}: SHA-256 mismatch: expected {}, got {} (size {} bytes instead of {})",
            server.url(&by_hash),
            sha(&signed),
            sha(&truncated),
            truncated.len(),
            signed.len()
        )
    );
    assert!(
        cache_files(&env.cache())
            .iter()
            .all(|file| file.starts_with("index-v1/")),
        "{:?}",
        cache_files(&env.cache())
    );
}

#[test]
fn an_xz_only_or_plain_only_suite_is_read() {
    for form in [".xz", ""] {
        let (archive, release) = hello(TestArchive::new(&["noble"]).with_index_forms(&[form]));
        let server = archive.server().start();
        let env = Env::new();
        cut_ok(&release, &HELLO_ALL, &env.options(&[("ubuntu", &server)]));
        assert_tree(&env.root(), &hello_tree());
        assert_eq!(
            server.hits(&format!("{INDEX_DIR}/Packages{form}")),
            1,
            "form {form:?}"
        );
    }
}

#[test]
fn an_inrelease_with_only_weak_digests_is_refused() {
    let (archive, release) = hello(TestArchive::new(&["noble"]).with_digests(&[]));
    let server = archive.server().start();
    let env = Env::new();
    assert_eq!(
        cut_err(&release, &HELLO_ALL, &env.options(&[("ubuntu", &server)])),
        "archive \"ubuntu\" suite noble: the InRelease file of suite noble lists neither SHA512 nor SHA256 digests (MD5Sum and SHA1 are not trusted)"
    );
}

/// Options for a release that names no URL: Ubuntu's main archive and old-releases are these
/// two servers.
fn with_default_places(
    env: &Env,
    main: &crate::testing::server::TestServer,
    old: &crate::testing::server::TestServer,
) -> super::CutOptions {
    let mut options = env.options(&[]);
    options.archives.default_urls = crate::archive::select::DefaultUrls {
        archive: main.url("/ubuntu/"),
        ports: main.url("/ports/"),
        old_releases: old.url("/ubuntu/"),
    };
    options
}

#[test]
fn a_release_missing_where_its_dates_say_is_found_in_the_other_place_and_remembered() {
    let (archive, release) = hello(TestArchive::new(&["noble"]));
    let main = crate::testing::server::TestServer::builder()
        .max_connections(100)
        .start();
    // old-releases serves the archive below /ubuntu/.
    let old = archive
        .files_under("/ubuntu")
        .into_iter()
        .fold(
            crate::testing::server::TestServer::builder().max_connections(100),
            |builder, (path, body)| builder.route(&path, Reply::Serve(body)),
        )
        .start();
    let env = Env::new();
    let options = with_default_places(&env, &main, &old);
    cut_ok(&release, &HELLO_ALL, &options);
    assert_tree(&env.root(), &hello_tree());
    assert_eq!(main.hits("/ubuntu/dists/noble/InRelease"), 1);
    assert_eq!(old.hits("/ubuntu/dists/noble/InRelease"), 1);

    // The next cut asks old-releases first.
    let again = super::CutOptions {
        root: env.cache().with_file_name("again"),
        ..options
    };
    cut_ok(&release, &HELLO_ALL, &again);
    assert_eq!(main.hits("/ubuntu/dists/noble/InRelease"), 1);
    assert_eq!(old.hits("/ubuntu/dists/noble/InRelease"), 2);
}

#[test]
fn a_release_in_neither_place_names_both() {
    let (_archive, release) = hello(TestArchive::new(&["noble"]));
    let main = crate::testing::server::TestServer::builder().start();
    let old = crate::testing::server::TestServer::builder().start();
    let env = Env::new();
    let options = with_default_places(&env, &main, &old);
    assert_eq!(
        cut_err(&release, &HELLO_ALL, &options),
        format!(
            "archive \"ubuntu\" suite noble: not found where the release should be, nor in the other place:\n\
             - cannot fetch {}: not found (HTTP 404)\n\
             - cannot fetch {}: not found (HTTP 404)\n\
             give its URL with --archive-url ubuntu=URL",
            main.url("/ubuntu/dists/noble/InRelease"),
            old.url("/ubuntu/dists/noble/InRelease")
        )
    );
}

#[test]
fn a_cached_package_that_changed_on_disk_is_fetched_again_never_extracted() {
    for digests in [vec![Algorithm::Sha256], vec![Algorithm::Sha512]] {
        let (archive, release) = hello(TestArchive::new(&["noble"]).with_digests(&digests));
        let server = archive.server().start();
        let env = Env::new();
        let options = env.options(&[("ubuntu", &server)]);
        cut_ok(&release, &HELLO_ALL, &options);

        // Rot one byte of the cached .deb in place: same size, same owner, same mode.
        let deb = &archive.package("hello", "1.0-1").deb;
        let digest = Digest::of(digests[0], deb).to_string();
        let blob = env.cache().join(format!(
            "{}-v1/{}/{digest}",
            digests[0].field().to_lowercase(),
            &digest[..2]
        ));
        let mut bytes = fs_err::read(&blob).expect("the cached .deb");
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs_err::write(&blob, &bytes).expect("rot the cached .deb");

        let again = super::CutOptions {
            root: env.cache().with_file_name("again"),
            ..options
        };
        cut_ok(&release, &HELLO_ALL, &again);
        assert_tree(&again.root, &hello_tree());
        assert_eq!(
            server.hits(&archive.deb_path("hello", "1.0-1")),
            2,
            "{digests:?}: fetched again"
        );
        assert_eq!(
            fs_err::read(&blob).expect("the cached .deb"),
            *deb,
            "{digests:?}"
        );
    }
}

#[test]
fn an_archive_in_a_local_directory_is_read_through_a_file_url() {
    let (archive, release) = hello(TestArchive::new(&["noble"]).with_index_forms(&[".xz"]));
    let env = Env::new();
    let mirror = env.cache().with_file_name("mirror");
    for (path, body) in archive.files_under("") {
        let file = mirror.join(path.trim_start_matches('/'));
        fs_err::create_dir_all(file.parent().expect("a file has a directory")).expect("mkdir");
        fs_err::write(&file, body).expect("write the mirror");
    }
    let mut options = env.options(&[]);
    options
        .archives
        .archive_urls
        .insert("ubuntu".to_owned(), format!("file://{}/", mirror.display()));
    cut_ok(&release, &HELLO_ALL, &options);
    assert_tree(&env.root(), &hello_tree());

    // A missing file is named like a 404.
    let deb_path = archive.deb_path("hello", "1.0-1");
    fs_err::remove_file(mirror.join(deb_path.trim_start_matches('/'))).expect("rm");
    let empty = Env::new();
    let mut options = empty.options(&[]);
    options
        .archives
        .archive_urls
        .insert("ubuntu".to_owned(), format!("file://{}/", mirror.display()));
    assert_eq!(
        cut_err(&release, &HELLO_ALL, &options),
        format!(
            "cannot fetch file://{}{deb_path}: not found (HTTP 404)",
            mirror.display()
        )
    );
}

#[test]
fn a_warm_cut_keeps_the_stored_inrelease_and_a_new_one_replaces_it() {
    use std::os::unix::fs::MetadataExt as _;
    let (mut archive, release) = hello(TestArchive::new(&["noble"]));
    let env = Env::new();
    // The stored InRelease: its inode (a rewrite renames a new file into place) and bytes.
    let stored = || {
        let dir = env.cache().join("index-v1");
        let names: Vec<_> = fs_err::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.starts_with("inrelease-") && !name.starts_with("inrelease-text-"))
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let path = dir.join(&names[0]);
        (
            fs_err::metadata(&path).unwrap().ino(),
            fs_err::read(&path).unwrap(),
        )
    };
    // One server, whose InRelease changes after two cuts (a newer Date, the same indexes).
    let old = archive.inrelease("noble");
    archive.set_release_dates("Sun, 01 Jan 2023 00:00:00 UTC", "");
    let new = archive.inrelease("noble");
    assert_ne!(old, new);
    let server = archive
        .server()
        .sequence(
            "/dists/noble/InRelease",
            [old.clone(), old.clone(), new.clone()].map(|text| Reply::Serve(text.into_bytes())),
        )
        .start();
    let options = env.options(&[("ubuntu", &server)]);
    cut_ok(&release, &HELLO_ALL, &options);
    let first = stored();
    assert_eq!(first.1, old.as_bytes());
    let again = |root: &str| {
        let options = CutOptions {
            root: env.root().with_file_name(root),
            ..options.clone()
        };
        cut_ok(&release, &HELLO_ALL, &options);
    };
    again("warm");
    assert_eq!(stored(), first, "the same file is not written again");
    again("newer");
    let replaced = stored();
    assert_eq!(replaced.1, new.as_bytes());
    assert_ne!(replaced.0, first.0, "written anew");
    assert_eq!(server.hits("/dists/noble/InRelease"), 3);
}

#[test]
fn an_index_whose_download_starts_over_midway_is_parsed_from_the_stored_file() {
    // The index is parsed while it downloads; the first connection drops halfway, so what the
    // parser was handed (half a file, then the whole file again) is thrown away, and the
    // stored file, whole and verified, is parsed instead.
    let (archive, release) = hello(TestArchive::new(&["noble"]));
    let gz = archive.packages_in_form("noble", "main", ".gz");
    let path = format!("{INDEX_DIR}/Packages.gz");
    let server = archive
        .server()
        .sequence(
            &path,
            [Reply::DropAfter(gz.clone(), gz.len() / 2), Reply::Serve(gz)],
        )
        .start();
    let env = Env::new();
    cut_ok(&release, &HELLO_ALL, &env.options(&[("ubuntu", &server)]));
    assert_tree(&env.root(), &hello_tree());
    assert_eq!(server.hits(&path), 2);
}
