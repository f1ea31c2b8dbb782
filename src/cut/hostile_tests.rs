//! Hostile packages beyond the escapes of tests.rs: special files, names no path can have,
//! duplicate entries, and a symlink that a later entry turns into a directory. Each is refused
//! with the package and path named, or confined to the root.

use super::tests::{assert_tree, cut_err, cut_ok, d, f, hostile, l, Env};
use crate::deb::testdeb::TestEntry;

#[test]
fn device_nodes_and_fifos_are_never_created() {
    let cases = [
        (
            TestEntry::char_device("./dev/null", 0o666, 1, 3),
            "/dev/null",
            "a character device",
        ),
        (
            TestEntry::block_device("./dev/sda", 0o660, 8, 0),
            "/dev/sda",
            "a block device",
        ),
        (TestEntry::fifo("./run/pipe", 0o600), "/run/pipe", "a fifo"),
    ];
    for (entry, path, kind) in cases {
        let (archive, release) = hostile(
            "evil-special",
            &[TestEntry::dir("./", 0o755), entry],
            &["/**:"],
        );
        let server = archive.server().start();
        let env = Env::new();
        assert_eq!(
            cut_err(&release, &["evil-special_all"], &env.options(&[("ubuntu", &server)])),
            format!(
                "cannot extract from package \"evil-special\": {kind} at {path} is not supported (only files, directories and links are installed)"
            )
        );
        let special = env.root().join(path.trim_start_matches('/'));
        assert!(
            fs_err::symlink_metadata(&special).is_err(),
            "{path} was created"
        );
        env.assert_nothing_outside_the_root();
    }
}

#[test]
fn names_with_control_characters_are_refused() {
    for name in ["./etc/bad\nname", "./etc/bell\u{7}"] {
        let (archive, release) = hostile(
            "evil-name",
            &[
                TestEntry::dir("./", 0o755),
                TestEntry::dir("./etc/", 0o755),
                TestEntry::file(name, 0o644, "x"),
            ],
            &["/etc/**:"],
        );
        let server = archive.server().start();
        let env = Env::new();
        assert_eq!(
            cut_err(
                &release,
                &["evil-name_all"],
                &env.options(&[("ubuntu", &server)])
            ),
            format!(
                "cannot extract from package \"evil-name\": path {} would leave the root",
                name.trim_start_matches('.')
            )
        );
        assert_tree(&env.root(), &[d(0o755, "/etc/")]);
    }
}

#[test]
fn a_duplicate_entry_is_written_once_more_and_the_last_one_wins() {
    let (archive, release) = hostile(
        "evil-dup",
        &[
            TestEntry::dir("./", 0o755),
            TestEntry::dir("./etc/", 0o755),
            TestEntry::file("./etc/conf", 0o4755, "first\n"),
            TestEntry::file("./etc/conf", 0o644, "second\n"),
        ],
        &["/etc/conf:"],
    );
    let server = archive.server().start();
    let env = Env::new();
    cut_ok(
        &release,
        &["evil-dup_all"],
        &env.options(&[("ubuntu", &server)]),
    );
    // As tar and dpkg do: the later entry replaces the earlier, mode included.
    assert_tree(
        &env.root(),
        &[d(0o755, "/etc/"), f(0o644, "second\n", "/etc/conf")],
    );
}

#[test]
fn a_symlink_turned_into_a_directory_mid_archive_stays_inside_the_root() {
    let outside = tempfile::tempdir().expect("outside directory");
    let target = outside.path().to_string_lossy().into_owned();
    let (archive, release) = hostile(
        "evil-swap",
        &[
            TestEntry::dir("./", 0o755),
            // First a link pointing at a host directory, then a directory of the same name,
            // then a file below it: the file must land in the root's directory.
            TestEntry::symlink("./data", &target),
            TestEntry::dir("./data/", 0o750),
            TestEntry::file("./data/file", 0o644, "inside\n"),
            // And the reverse: a directory, then a link of the same name, then a file through
            // it, which resolves inside the root.
            TestEntry::dir("./other/", 0o755),
            TestEntry::symlink("./other", "/data"),
            TestEntry::file("./other/second", 0o644, "second\n"),
        ],
        &["/data/**:", "/data:", "/other:", "/other/**:"],
    );
    let server = archive.server().start();
    let env = Env::new();
    cut_ok(
        &release,
        &["evil-swap_all"],
        &env.options(&[("ubuntu", &server)]),
    );
    assert_tree(
        &env.root(),
        &[
            d(0o750, "/data/"),
            f(0o644, "inside\n", "/data/file"),
            f(0o644, "second\n", "/data/second"),
            l("/data", "/other"),
        ],
    );
    assert_eq!(
        fs_err::read_dir(outside.path()).expect("outside").count(),
        0,
        "nothing may be written through the link to the host"
    );
}

/// A root that holds an earlier cut: cutting the same selection again gives the same tree (no
/// file of the first cut is lost or doubled), and cutting another selection adds to it without
/// touching what only the first cut installed.
#[test]
fn cutting_again_into_a_cut_root_keeps_what_is_there() {
    use super::tests::{hello_archive, hello_tree, only, release, tree, HELLO_SLICES};
    let archive = hello_archive();
    let server = archive.server().start();
    let release = release(
        "v3",
        &[only("ubuntu", &archive)],
        &[("hello", HELLO_SLICES)],
    );
    let env = Env::new();
    let options = env.options(&[("ubuntu", &server)]);

    cut_ok(&release, &["hello_config"], &options);
    let first = tree(&env.root());
    let conf = env.root().join("etc/conf");
    let inode = |path: &std::path::Path| {
        use std::os::unix::fs::MetadataExt as _;
        fs_err::metadata(path).expect("stat").ino()
    };
    let before = inode(&conf);
    cut_ok(&release, &["hello_config"], &options);
    assert_eq!(
        tree(&env.root()),
        first,
        "the same cut again changes nothing"
    );

    cut_ok(
        &release,
        &["hello_bins", "hello_libs", "hello_base"],
        &options,
    );
    assert_tree(&env.root(), &hello_tree());
    // The first cut's file is rewritten in place by its own re-cut, never replaced by another
    // slice's content.
    assert_eq!(inode(&conf), before);
}

/// Eight cuts at once, each of a different selection into its own root, sharing one empty
/// cache: every one succeeds with the tree it gets alone, and the cache holds each file once.
#[test]
fn concurrent_cuts_share_one_cache() {
    use super::tests::{cache_files, hello_archive, only, release, tree, HELLO_SLICES};
    let archive = hello_archive();
    let server = archive.server().start();
    let release = release(
        "v3",
        &[only("ubuntu", &archive)],
        &[("hello", HELLO_SLICES)],
    );
    let selections: [&[&str]; 8] = [
        &["hello_bins"],
        &["hello_libs"],
        &["hello_config"],
        &["hello_base"],
        &["hello_bins", "hello_libs"],
        &["hello_config", "hello_base"],
        &["hello_bins", "hello_config", "hello_base"],
        &["hello_bins", "hello_libs", "hello_config", "hello_base"],
    ];
    // Each selection alone, in a cache of its own.
    let alone: Vec<Vec<String>> = selections
        .iter()
        .map(|slices| {
            let env = Env::new();
            cut_ok(&release, slices, &env.options(&[("ubuntu", &server)]));
            tree(&env.root())
        })
        .collect();
    let shared = Env::new();
    let envs: Vec<Env> = selections.iter().map(|_| Env::new()).collect();
    std::thread::scope(|scope| {
        for ((slices, env), expected) in selections.iter().zip(&envs).zip(&alone) {
            let options = super::CutOptions {
                root: env.root(),
                ..shared.options(&[("ubuntu", &server)])
            };
            let release = &release;
            scope.spawn(move || {
                cut_ok(release, slices, &options);
                assert_eq!(&tree(&env.root()), expected, "{slices:?}");
            });
        }
    });
    let blobs: Vec<String> = cache_files(&shared.cache())
        .into_iter()
        .filter(|file| file.starts_with("sha256-v1/"))
        .collect();
    // InRelease is kept by key; the blobs are Packages.gz and the one .deb, once each.
    assert_eq!(blobs.len(), 2, "{blobs:?}");
}
