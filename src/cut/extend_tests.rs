//! Cutting into a root that has a manifest: the union, the delta, `--upgrade`, and the
//! manifests kerf refuses to extend. A small signed archive on loopback, as in `tests.rs`.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;

use super::{Delta, ExtendOptions, Extension, Upgrade};
use crate::cut::tests::{cut_err, cut_ok, hello_entries, names, tree, Env, HELLO_SLICES};
use crate::cut::CutOptions;
use crate::release::{Release, SliceKey};
use crate::testing::archive::{only, release, TestArchive};
use crate::testing::deb::{ar, compress, control_tar, data_tar, Compression, TestEntry};
use crate::testing::server::TestServer;

const WALL: &str = "var/lib/chisel/manifest.wall";

const BASE_SLICES: &str = r"
    package: base-files
    slices:
      chisel:
        contents:
          /var/lib/chisel/**: {generate: manifest}
";

const LIBC_SLICES: &str = r"
    package: libc6
    slices:
      libs:
        contents:
          /usr/lib/libc.so.6:
          /usr/lib/ld.so:
      config:
        contents:
          /etc/ld.so.conf:
";

const TOOL_SLICES: &str = r"
    package: tool
    slices:
      bins:
        essential:
          libc6_libs: {}
          libc6_config: {}
        contents:
          /usr/bin/tool2:
";

fn base_entries() -> Vec<TestEntry> {
    vec![
        TestEntry::dir("./", 0o755),
        TestEntry::dir("./var/", 0o755),
        TestEntry::dir("./var/lib/", 0o755),
    ]
}

fn libc_entries(libc: &str) -> Vec<TestEntry> {
    vec![
        TestEntry::dir("./", 0o755),
        TestEntry::dir("./etc/", 0o755),
        TestEntry::file(
            "./etc/ld.so.conf",
            0o644,
            "include /etc/ld.so.conf.d/*.conf\n",
        ),
        TestEntry::dir("./usr/", 0o755),
        TestEntry::dir("./usr/lib/", 0o755),
        TestEntry::file("./usr/lib/libc.so.6", 0o755, libc),
        TestEntry::file("./usr/lib/ld.so", 0o755, "the loader\n"),
    ]
}

fn tool_entries() -> Vec<TestEntry> {
    vec![
        TestEntry::dir("./", 0o755),
        TestEntry::dir("./usr/", 0o755),
        TestEntry::dir("./usr/bin/", 0o755),
        TestEntry::file("./usr/bin/tool2", 0o755, "#!/bin/sh\necho tool2\n"),
    ]
}

/// A `.deb` whose control file names it (`status.d` checks that).
fn deb(name: &str, version: &str, entries: &[TestEntry]) -> Vec<u8> {
    let control = format!(
        "Package: {name}\nVersion: {version}\nArchitecture: amd64\nMaintainer: Kerf Tests <tests@example.invalid>\nDescription: a test package\n"
    );
    ar(&[
        ("debian-binary", b"2.0\n"),
        (
            "control.tar.gz",
            &compress(&control_tar(&control), Compression::Gz),
        ),
        (
            "data.tar.gz",
            &compress(&data_tar(entries), Compression::Gz),
        ),
    ])
}

/// Adds a package built by [`deb`].
fn add(archive: &mut TestArchive, suite: &str, name: &str, version: &str, entries: &[TestEntry]) {
    archive.add_deb(suite, name, version, deb(name, version, entries));
}

/// noble and noble-updates with base-files, hello, libc6 2.39-1 and tool.
fn archive() -> TestArchive {
    let mut archive = TestArchive::new(&["noble", "noble-updates"]);
    add(&mut archive, "noble", "base-files", "13", &base_entries());
    add(&mut archive, "noble", "hello", "1.0-1", &hello_entries());
    add(
        &mut archive,
        "noble",
        "libc6",
        "2.39-1",
        &libc_entries("libc 1\n"),
    );
    add(&mut archive, "noble", "tool", "1.0", &tool_entries());
    archive
}

fn release_of(archive: &TestArchive) -> Release {
    release(
        "v3",
        &[only("ubuntu", archive)],
        &[
            ("base-files", BASE_SLICES),
            ("hello", HELLO_SLICES),
            ("libc6", LIBC_SLICES),
            ("tool", TOOL_SLICES),
        ],
    )
}

const A: [&str; 4] = [
    "base-files_chisel",
    "hello_libs",
    "hello_base",
    "libc6_libs",
];
const B: [&str; 3] = ["hello_bins", "hello_config", "tool_bins"];

fn key(name: &str) -> SliceKey {
    SliceKey::parse(name).expect("a slice name")
}

fn options(env: &Env, server: &TestServer, extend: ExtendOptions) -> CutOptions {
    let mut options = env.options(&[("ubuntu", server)]);
    options.dpkg_status = true;
    options.extend = extend;
    options
}

fn inode(root: &Path, path: &str) -> (u64, i64, i64) {
    let metadata = fs_err::symlink_metadata(root.join(path)).expect("lstat");
    (metadata.ino(), metadata.mtime(), metadata.mtime_nsec())
}

/// The decompressed manifest of a root.
fn manifest(root: &Path) -> String {
    let bytes = fs_err::read(root.join(WALL)).expect("the manifest");
    String::from_utf8(zstd::decode_all(bytes.as_slice()).expect("zstd")).expect("UTF-8")
}

/// Copies `from` onto `to` as `cp -a from/. to/` does: directories merged (their modes set),
/// files and links replaced, hard links kept.
fn lay_over(from: &Path, to: &Path) {
    let mut linked: std::collections::BTreeMap<u64, std::path::PathBuf> = Default::default();
    for name in names(from) {
        let (source, target) = (from.join(&name), to.join(&name));
        let metadata = fs_err::symlink_metadata(&source).expect("lstat");
        let mode = std::fs::Permissions::from_mode(metadata.mode() & 0o7777);
        if metadata.is_dir() {
            if !target.is_dir() {
                fs_err::create_dir(&target).expect("mkdir");
            }
            fs_err::set_permissions(&target, mode).expect("chmod");
            lay_over(&source, &target);
            continue;
        }
        if fs_err::symlink_metadata(&target).is_ok() {
            fs_err::remove_file(&target).expect("rm");
        }
        if metadata.file_type().is_symlink() {
            let link = fs_err::read_link(&source).expect("readlink");
            fs_err::os::unix::fs::symlink(link, &target).expect("ln -s");
        } else if let Some(first) = linked.get(&metadata.ino()) {
            fs_err::hard_link(first, &target).expect("ln");
        } else {
            fs_err::copy(&source, &target).expect("cp");
            fs_err::set_permissions(&target, mode).expect("chmod");
            linked.insert(metadata.ino(), target);
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    fs_err::create_dir(to).expect("mkdir");
    lay_over(from, to);
}

#[test]
fn an_extended_root_and_its_delta_equal_one_cut_of_the_union() {
    let archive = archive();
    let server = archive.server().start();
    let release = release_of(&archive);
    let env = Env::new();
    let root = env.root();
    let first = cut_ok(
        &release,
        &A,
        &options(&env, &server, ExtendOptions::default()),
    );
    assert_eq!(
        first.extension, None,
        "a new root has no manifest to extend"
    );
    let before = root.with_file_name("before");
    copy_tree(&root, &before);
    let libc = inode(&root, "usr/lib/libc.so.6");
    let libx = inode(&root, "usr/lib/x86_64-linux-gnu/libx.so.1");

    let delta = root.with_file_name("delta");
    let extend = ExtendOptions {
        delta: Some(delta.clone()),
        ..ExtendOptions::default()
    };
    let summary = cut_ok(&release, &B, &options(&env, &server, extend));

    let union = Env::new();
    let union_slices: Vec<&str> = A.iter().chain(&B).copied().collect();
    cut_ok(
        &release,
        &union_slices,
        &options(&union, &server, ExtendOptions::default()),
    );
    // The tree (manifest and status.d included) and the manifest's records are one cut's.
    assert_eq!(tree(&root), tree(&union.root()));
    assert_eq!(manifest(&root), manifest(&union.root()));
    assert!(manifest(&root).contains("{\"kind\":\"slice\",\"name\":\"tool_bins\"}"));
    // libc6 was not touched; hello was (new slices of it), yet its unchanged file stays.
    assert_eq!(inode(&root, "usr/lib/libc.so.6"), libc);
    assert_eq!(inode(&root, "usr/lib/x86_64-linux-gnu/libx.so.1"), libx);

    assert_eq!(
        summary.extension,
        Some(Extension {
            manifest: "/var/lib/chisel/manifest.wall".to_owned(),
            kept: 4,
            added: vec![
                key("hello_bins"),
                key("hello_config"),
                key("libc6_config"),
                key("tool_bins"),
            ],
            upgraded: vec![],
            behind: vec![],
            removed: vec![],
        })
    );
    // The delta holds what was created or changed, and the parents on the way.
    let delta_files: Vec<String> = tree(&delta)
        .into_iter()
        .filter(|line| !line.starts_with("d "))
        .map(|line| line.rsplit(' ').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        delta_files,
        [
            "/etc/conf",
            "/etc/copied",
            "/etc/ld.so.conf",
            "/etc/secret",
            "/opt/data/note",
            "/usr/bin/alias",
            "/usr/bin/hl-a",
            "/usr/bin/hl-b",
            "/usr/bin/su-tool",
            "/usr/bin/tool",
            "/usr/bin/tool-link",
            "/usr/bin/tool2",
            "/var/lib/chisel/manifest.wall",
            // hello's stanza is the same: written only when it changes.
            "/var/lib/dpkg/status.d/hello.md5sums",
            "/var/lib/dpkg/status.d/libc6.md5sums",
            "/var/lib/dpkg/status.d/tool",
            "/var/lib/dpkg/status.d/tool.md5sums",
        ]
    );
    // Its directories have the root's modes: new ones, those whose entries changed, and those
    // the manifest does not describe (parents made on the way, which a killed cut may have
    // made: laid over the old root again, they change nothing).
    let delta_dirs: Vec<String> = tree(&delta)
        .into_iter()
        .filter(|line| line.starts_with("d "))
        .collect();
    assert_eq!(
        delta_dirs,
        [
            "d 0750 - - /etc/",
            "d 0700 - - /opt/",
            "d 0710 - - /opt/data/",
            "d 0755 - - /srv/",
            "d 0751 - - /usr/",
            "d 0755 - - /usr/bin/",
            "d 0755 - - /usr/lib/",
            "d 0755 - - /usr/lib/x86_64-linux-gnu/",
            "d 0755 - - /var/",
            "d 0755 - - /var/lib/",
            "d 0755 - - /var/lib/chisel/",
            "d 0755 - - /var/lib/dpkg/",
            "d 0755 - - /var/lib/dpkg/status.d/",
            "d 02775 - - /var/shared/",
        ]
    );
    assert_eq!(
        summary.delta,
        Some(Delta {
            dir: delta.clone(),
            // 17 files and links, and the 14 directories.
            paths: 31
        })
    );
    // Hard links stay hard links in the delta.
    assert_eq!(
        inode(&delta, "usr/bin/tool").0,
        inode(&delta, "usr/bin/tool-link").0
    );
    // The old root with the delta laid over it is the union.
    lay_over(&delta, &before);
    assert_eq!(tree(&before), tree(&union.root()));

    // Cutting the same slices again changes nothing, and says none were added.
    let again = cut_ok(
        &release,
        &B,
        &options(&env, &server, ExtendOptions::default()),
    );
    assert_eq!(tree(&root), tree(&union.root()));
    assert_eq!(
        again.extension.map(|extension| extension.added),
        Some(vec![])
    );
}

/// The root the upgrade tests start from.
const UPGRADED: [&str; 3] = ["base-files_chisel", "libc6_libs", "hello_libs"];

#[test]
fn upgrade_rewrites_only_the_package_that_moved() {
    let mut archive = archive();
    let release = release_of(&archive);
    let env = Env::new();
    let root = env.root();
    {
        let server = archive.server().start();
        cut_ok(
            &release,
            &UPGRADED,
            &options(&env, &server, ExtendOptions::default()),
        );
    }
    let before_tree = tree(&root);
    let before_manifest = manifest(&root);
    let libx = inode(&root, "usr/lib/x86_64-linux-gnu/libx.so.1");
    let loader = inode(&root, "usr/lib/ld.so");

    // -updates gains a newer libc6: only libc.so.6 differs in it.
    add(
        &mut archive,
        "noble-updates",
        "libc6",
        "2.39-1ubuntu0.1",
        &libc_entries("libc 1, fixed\n"),
    );
    let server = archive.server().start();

    // Without --upgrade, a new slice of libc6 cannot come from the newer version.
    let error = cut_err(
        &release,
        &["libc6_config"],
        &options(&env, &server, ExtendOptions::default()),
    );
    assert_eq!(error, "package libc6 is 2.39-1 in the root and 2.39-1ubuntu0.1 in the archive: slice libc6_config cannot be added from another version of the package than the root's; add it with --upgrade, which moves the root's packages to the archive's versions");
    assert_eq!(tree(&root), before_tree, "nothing was written");

    let summary = cut_ok(
        &release,
        &[],
        &options(
            &env,
            &server,
            ExtendOptions {
                upgrade: true,
                ..ExtendOptions::default()
            },
        ),
    );
    let extension = summary.extension.expect("an extension");
    assert_eq!(
        extension.upgraded,
        [Upgrade {
            package: "libc6".to_owned(),
            from: "2.39-1".to_owned(),
            to: "2.39-1ubuntu0.1".to_owned(),
            slices: vec![key("libc6_libs")],
        }]
    );
    // Only libc.so.6, libc6's stanza and md5sums, and the manifest changed.
    let after_tree = tree(&root);
    let changed: Vec<&str> = after_tree
        .iter()
        .filter(|line| !before_tree.contains(line))
        .map(|line| line.rsplit(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(
        changed,
        [
            "/usr/lib/libc.so.6",
            "/var/lib/chisel/manifest.wall",
            "/var/lib/dpkg/status.d/libc6",
            "/var/lib/dpkg/status.d/libc6.md5sums",
        ]
    );
    assert_eq!(after_tree.len(), before_tree.len());
    assert_eq!(inode(&root, "usr/lib/x86_64-linux-gnu/libx.so.1"), libx);
    assert_eq!(inode(&root, "usr/lib/ld.so"), loader);
    let after_manifest = manifest(&root);
    let manifest_changes: Vec<&str> = after_manifest
        .lines()
        .filter(|line| !before_manifest.lines().any(|old| old == *line))
        .collect();
    assert_eq!(manifest_changes.len(), 2, "{manifest_changes:?}");
    assert!(manifest_changes[0]
        .starts_with("{\"kind\":\"package\",\"name\":\"libc6\",\"version\":\"2.39-1ubuntu0.1\","));
    assert!(manifest_changes[1].starts_with(
        "{\"kind\":\"path\",\"path\":\"/usr/lib/libc.so.6\",\"mode\":\"0755\",\"slices\":[\"libc6_libs\"],\"sha256\":\""
    ));

    // The upgraded root is what a new cut from today's archive gives.
    let fresh = Env::new();
    cut_ok(
        &release,
        &UPGRADED,
        &options(&fresh, &server, ExtendOptions::default()),
    );
    assert_eq!(tree(&root), tree(&fresh.root()));
    // Upgrading again finds nothing to do.
    let again = cut_ok(
        &release,
        &[],
        &options(
            &env,
            &server,
            ExtendOptions {
                upgrade: true,
                ..ExtendOptions::default()
            },
        ),
    );
    assert_eq!(again.extension.expect("an extension").upgraded, []);
    assert_eq!(tree(&root), after_tree);
}

#[test]
fn a_package_left_behind_is_reported_not_moved() {
    let mut archive = archive();
    let release = release_of(&archive);
    let env = Env::new();
    {
        let server = archive.server().start();
        cut_ok(
            &release,
            &["base-files_chisel", "libc6_libs"],
            &options(&env, &server, ExtendOptions::default()),
        );
    }
    add(
        &mut archive,
        "noble-updates",
        "libc6",
        "2.39-1ubuntu0.1",
        &libc_entries("libc 1, fixed\n"),
    );
    let server = archive.server().start();
    let libc = fs_err::read_to_string(env.root().join("usr/lib/libc.so.6")).expect("libc");
    let summary = cut_ok(
        &release,
        &["hello_libs"],
        &options(&env, &server, ExtendOptions::default()),
    );
    assert_eq!(
        summary.extension.expect("an extension").behind,
        [(
            "libc6".to_owned(),
            "2.39-1".to_owned(),
            "2.39-1ubuntu0.1".to_owned()
        )]
    );
    assert_eq!(
        fs_err::read_to_string(env.root().join("usr/lib/libc.so.6")).expect("libc"),
        libc
    );
    assert!(manifest(&env.root()).contains("\"name\":\"libc6\",\"version\":\"2.39-1\","));
}

/// Replaces the root's manifest by `text`, compressed.
fn write_manifest(root: &Path, text: &str) {
    fs_err::write(
        root.join(WALL),
        zstd::encode_all(text.as_bytes(), 3).expect("zstd"),
    )
    .expect("write the manifest");
}

#[test]
fn manifests_kerf_cannot_extend_stop_the_cut_before_any_write() {
    let archive = archive();
    let server = archive.server().start();
    let release = release_of(&archive);
    let env = Env::new();
    let root = env.root();
    cut_ok(
        &release,
        &["base-files_chisel", "libc6_libs"],
        &options(&env, &server, ExtendOptions::default()),
    );
    let good = manifest(&root);
    let wall = root.join(WALL);
    let force = ExtendOptions {
        force_manifest: true,
        ..ExtendOptions::default()
    };
    let cases = [
        (
            "garbage\n".to_owned(),
            format!("the root's manifest cannot be read: {}: line 1: expected the jsonwall header {{\"jsonwall\":\"1.0\",\"schema\":\"1.0\",\"count\":N}}, found \"garbage\"; --force-manifest starts a new manifest that lists only this cut", wall.display()),
        ),
        (
            good.replace("\"arch\":\"amd64\"", "\"arch\":\"arm64\""),
            "the root's manifest /var/lib/chisel/manifest.wall lists package base-files for architecture arm64, and this cut is for amd64: the root was cut for another architecture; --force-manifest starts a new manifest that lists only this cut".to_owned(),
        ),
        (
            good.replace("libc6_libs", "libc6_lib"),
            "the root's manifest /var/lib/chisel/manifest.wall lists slice libc6_lib, which this release does not define: the root was cut from another release; --force-manifest starts a new manifest that lists only this cut".to_owned(),
        ),
        (
            good.replace("\"version\":\"2.39-1\"", "\"version\":\"2.42-0ubuntu1\""),
            "the root's manifest /var/lib/chisel/manifest.wall lists package libc6 2.42-0ubuntu1, newer than the 2.39-1 the release's archives offer: the root was cut from another release; --force-manifest starts a new manifest that lists only this cut".to_owned(),
        ),
    ];
    for (text, expected) in cases {
        write_manifest(&root, &text);
        let before = tree(&root);
        let error = cut_err(
            &release,
            &["tool_bins"],
            &options(&env, &server, ExtendOptions::default()),
        );
        assert_eq!(error, expected);
        assert_eq!(tree(&root), before, "nothing was written: {expected}");
    }
    // --force-manifest starts a new one, for this cut alone.
    cut_ok(
        &release,
        &["base-files_chisel", "tool_bins"],
        &options(&env, &server, force),
    );
    let new = manifest(&root);
    assert!(new.contains("{\"kind\":\"slice\",\"name\":\"tool_bins\"}"));
    assert!(!new.contains("libc6_lib\""), "{new}");

    // --upgrade needs a manifest.
    let bare = Env::new();
    let error = cut_err(
        &release,
        &[],
        &options(
            &bare,
            &server,
            ExtendOptions {
                upgrade: true,
                ..ExtendOptions::default()
            },
        ),
    );
    assert_eq!(
        error,
        format!("--upgrade needs the root's manifest (/var/lib/chisel/manifest.wall), and {} has none: cut base-files_chisel into a root to upgrade it later", bare.root().display())
    );
}

#[test]
fn upgrade_from_a_lock_moves_to_the_locked_versions_without_reading_an_index() {
    let mut archive = archive();
    let release = release_of(&archive);
    let env = Env::new();
    let root = env.root();
    {
        let server = archive.server().start();
        cut_ok(
            &release,
            &UPGRADED,
            &options(&env, &server, ExtendOptions::default()),
        );
    }
    add(
        &mut archive,
        "noble-updates",
        "libc6",
        "2.39-1ubuntu0.1",
        &libc_entries("libc 1, fixed\n"),
    );
    // The lock is made (elsewhere, later) from the archive with the newer libc6.
    let lock = {
        let server = archive.server().start();
        let maker = Env::new();
        let keys: Vec<SliceKey> = UPGRADED.iter().map(|name| key(name)).collect();
        crate::lock::make::make(
            &release,
            &crate::lock::make::ReleaseIdentity {
                source: "./release".to_owned(),
                digest: format!("sha256:{}", "0".repeat(64)),
            },
            &keys,
            std::slice::from_ref(&maker.options(&[("ubuntu", &server)]).archives),
            &crate::cut::tests::Quiet,
        )
        .unwrap()
    };
    // Only the pool is served: the upgrade reads the lock, not the indexes.
    let pool = archive
        .files_under("")
        .into_iter()
        .filter(|(path, _)| path.starts_with("/pool/"))
        .fold(
            TestServer::builder().max_connections(1000),
            |builder, (path, body)| {
                builder.route(&path, crate::testing::server::Reply::Serve(body))
            },
        )
        .start();
    let mut upgrade = options(
        &env,
        &pool,
        ExtendOptions {
            upgrade: true,
            ..ExtendOptions::default()
        },
    );
    upgrade.locked = Some(std::sync::Arc::new(crate::lock::apply::LockFile {
        path: "kerf.lock".into(),
        lock,
    }));

    let summary = cut_ok(&release, &[], &upgrade);

    assert_eq!(
        summary.extension.expect("an extension").upgraded,
        [Upgrade {
            package: "libc6".to_owned(),
            from: "2.39-1".to_owned(),
            to: "2.39-1ubuntu0.1".to_owned(),
            slices: vec![key("libc6_libs")],
        }]
    );
    assert_eq!(
        fs_err::read_to_string(root.join("usr/lib/libc.so.6")).unwrap(),
        "libc 1, fixed\n"
    );
    let paths: Vec<String> = pool
        .requests()
        .into_iter()
        .map(|request| request.path)
        .collect();
    assert_eq!(
        paths,
        ["/pool/main/l/libc6/libc6_2.39-1ubuntu0.1_amd64.deb"]
    );
}
