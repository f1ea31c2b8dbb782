//! End-to-end tests of `cut --oci-layout` through [`crate::oci::cut_image`]: the layer's exact
//! entries (owners from the packages' tar headers, not the disk), the config, tags in an
//! existing layout, the archive form, multi-arch indexes, and bad destinations that leave
//! nothing behind. They use the signed loopback archive of `super::tests`.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use super::tests::{Env, Quiet};
use crate::accounts::{Accounts, GroupSpec, UserSpec};
use crate::oci::json::{Descriptor, Index};
use crate::oci::{
    cut_image, Compression, Destination, ImageJob, ImageSpec, ImageSummary, RunSettings, Tag,
};
use crate::release::{Arch, Release, SliceKey};
use crate::testing::archive::{only, release, TestArchive};
use crate::testing::deb::TestEntry;
use crate::testing::server::TestServer;

/// The test archive's InRelease `Date`, Thu, 25 Apr 2024 15:10:33 UTC: the default epoch.
const EPOCH: u64 = 1_714_057_833;
/// The mtime of every entry of the test packages.
const DEB_MTIME: u64 = 1_700_000_000;

/// `login`: a setgid binary of group `shadow`, a hard link to it, a symlink, and a setgid
/// directory of group `mail`, as Debian ships them.
fn login_archive() -> TestArchive {
    let mut archive = TestArchive::new(&["noble"]);
    archive.add(
        "noble",
        "login",
        "1.0",
        &[
            TestEntry::dir("./", 0o755),
            TestEntry::dir("./etc/", 0o755),
            TestEntry::file("./etc/login.defs", 0o644, "UMASK 022\n"),
            TestEntry::dir("./usr/", 0o755),
            TestEntry::dir("./usr/bin/", 0o755),
            TestEntry::file("./usr/bin/chage", 0o2755, "chage\n").owned_by(0, 42, "root", "shadow"),
            TestEntry::hard_link("./usr/bin/expiry", "./usr/bin/chage"),
            TestEntry::symlink("./usr/bin/sg", "newgrp"),
            TestEntry::dir("./var/", 0o755),
            TestEntry::dir("./var/mail/", 0o2775).owned_by(0, 8, "root", "mail"),
        ],
    );
    archive
}

const LOGIN_SLICES: &str = r#"
    package: login
    slices:
      bins:
        contents:
          /etc/login.defs:
          /usr/bin/chage:
          /usr/bin/expiry:
          /usr/bin/sg:
          /var/mail/:
          /etc/motd: {text: "hello\n"}
          /run/lock/: {make: true, mode: 01777}
"#;

fn login_release(archive: &TestArchive) -> Release {
    release("v1", &[only("ubuntu", archive)], &[("login", LOGIN_SLICES)])
}

fn spec(destination: Destination, tag: Option<&str>) -> ImageSpec {
    ImageSpec {
        destination,
        tag: tag.map(|tag| Tag::parse(tag).expect("a valid tag")),
        compression: Compression::Gzip,
        run: RunSettings {
            entrypoint: Some(vec!["/usr/bin/chage".to_owned()]),
            cmd: Some(vec!["--help".to_owned()]),
            ..RunSettings::default()
        },
        epoch: None,
    }
}

fn app_user() -> Accounts {
    Accounts {
        users: vec![UserSpec::parse("app:1000:1000").expect("a valid user")],
        groups: vec![GroupSpec::parse("staff:50").expect("a valid group")],
    }
}

/// Runs `cut_image` for `slices` with `arches`, into `root` (or a temporary one).
#[expect(
    clippy::too_many_arguments,
    reason = "each test spells out the job it runs"
)]
fn run_image(
    release: &Release,
    slices: &[&str],
    env: &Env,
    server: &TestServer,
    arches: &[Arch],
    root: Option<&Path>,
    accounts: &Accounts,
    spec: &ImageSpec,
) -> Result<ImageSummary, String> {
    let keys: Vec<SliceKey> = slices
        .iter()
        .map(|name| SliceKey::parse(name).expect("a slice name"))
        .collect();
    let options = env.options(&[("ubuntu", server)]);
    let job = ImageJob {
        release,
        slices: &keys,
        options: &options,
        arches,
        root,
        accounts,
        spec,
    };
    cut_image(&job, &Quiet).map_err(|error| error.to_string())
}

fn read_blob(layout: &Path, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
    fs_err::read(layout.join("blobs/sha256").join(hex)).expect("the blob")
}

fn read_json(layout: &Path, digest: &str) -> serde_json::Value {
    serde_json::from_slice(&read_blob(layout, digest)).expect("JSON")
}

/// The layer of the manifest `digest`, one line per entry: type, mode, uid:gid, names, mtime,
/// size, name, link target.
fn layer_lines(layout: &Path, manifest: &str) -> Vec<String> {
    let manifest = read_json(layout, manifest);
    let layer = &manifest["layers"][0];
    let compressed = read_blob(layout, layer["digest"].as_str().expect("digest"));
    assert_eq!(layer["size"].as_u64(), Some(compressed.len() as u64));
    let plain = match layer["mediaType"].as_str().expect("media type") {
        "application/vnd.oci.image.layer.v1.tar+gzip" => {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(compressed.as_slice())
                .read_to_end(&mut plain)
                .expect("gzip");
            plain
        }
        "application/vnd.oci.image.layer.v1.tar+zstd" => {
            zstd::decode_all(compressed.as_slice()).expect("zstd")
        }
        other => panic!("unexpected layer type {other}"),
    };
    let config = read_json(
        layout,
        manifest["config"]["digest"].as_str().expect("digest"),
    );
    assert_eq!(
        config["rootfs"]["diff_ids"][0].as_str(),
        Some(format!("sha256:{}", crate::digest::sha256_hex(&plain)).as_str())
    );
    let mut archive = tar::Archive::new(plain.as_slice());
    let mut lines = Vec::new();
    for entry in archive.entries().expect("tar") {
        let mut entry = entry.expect("entry");
        let header = entry.header().clone();
        let kind = match header.entry_type() {
            tar::EntryType::Directory => "d",
            tar::EntryType::Regular => "f",
            tar::EntryType::Symlink => "l",
            tar::EntryType::Link => "h",
            other => panic!("unexpected entry type {other:?}"),
        };
        let mut content = String::new();
        entry.read_to_string(&mut content).expect("content");
        let target = header
            .link_name()
            .expect("link name")
            .map(|target| format!(" -> {}", target.display()))
            .unwrap_or_default();
        lines.push(format!(
            "{kind} {:04o} {}:{} {}:{} {} {:?} {}{target}",
            header.mode().expect("mode"),
            header.uid().expect("uid"),
            header.gid().expect("gid"),
            header.username().expect("user").unwrap_or_default(),
            header.groupname().expect("group").unwrap_or_default(),
            header.mtime().expect("mtime"),
            content,
            String::from_utf8_lossy(&entry.path_bytes()),
        ));
    }
    lines
}

/// What the login image's layer holds, with `app` added: owners as the package says, setgid
/// bits kept, what kerf made root's, every time clamped to the epoch.
fn login_layer() -> Vec<String> {
    let epoch = EPOCH;
    let deb = DEB_MTIME;
    let passwd = "app:x:1000:1000::/home/app:/usr/sbin/nologin\n";
    let group = "staff:x:50:\napp:x:1000:\n";
    [
        format!("d 0755 0:0 root:root {epoch} \"\" etc/"),
        format!("f 0644 0:0 root:root {epoch} {group:?} etc/group"),
        format!("f 0644 0:0 root:root {deb} \"UMASK 022\\n\" etc/login.defs"),
        format!("f 0644 0:0 root:root {epoch} \"hello\\n\" etc/motd"),
        format!("f 0644 0:0 root:root {epoch} {passwd:?} etc/passwd"),
        format!("d 0755 0:0 root:root {epoch} \"\" home/"),
        format!("d 0755 1000:1000 app:app {epoch} \"\" home/app/"),
        format!("d 0755 0:0 root:root {epoch} \"\" run/"),
        format!("d 1777 0:0 root:root {epoch} \"\" run/lock/"),
        format!("d 0755 0:0 root:root {epoch} \"\" usr/"),
        format!("d 0755 0:0 root:root {epoch} \"\" usr/bin/"),
        format!("f 2755 0:42 root:shadow {deb} \"chage\\n\" usr/bin/chage"),
        format!("h 2755 0:42 root:shadow {deb} \"\" usr/bin/expiry -> usr/bin/chage"),
        format!("l 0777 0:0 root:root {deb} \"\" usr/bin/sg -> newgrp"),
        format!("d 0755 0:0 root:root {epoch} \"\" var/"),
        format!("d 2775 0:8 root:mail {deb} \"\" var/mail/"),
    ]
    .into_iter()
    .collect()
}

#[track_caller]
fn assert_lines(actual: &[String], expected: &[String]) {
    assert!(
        actual == expected,
        "the lines differ\n--- expected\n{}\n--- actual\n{}",
        expected.join("\n"),
        actual.join("\n")
    );
}

#[test]
fn the_layer_has_the_packages_owners_exact_modes_and_clamped_times() {
    let archive = login_archive();
    let server = archive.server().start();
    let release = login_release(&archive);
    let env = Env::new();
    let layout = env.root().with_file_name("image");

    let summary = run_image(
        &release,
        &["login_bins"],
        &env,
        &server,
        &[Arch::Amd64],
        None,
        &app_user(),
        &spec(Destination::Layout(layout.clone()), Some("test")),
    )
    .expect("the image");

    assert_eq!(summary.epoch, EPOCH);
    assert_lines(&layer_lines(&layout, &summary.top.digest), &login_layer());
    let manifest = read_json(&layout, &summary.top.digest);
    let config = read_json(
        &layout,
        manifest["config"]["digest"].as_str().expect("digest"),
    );
    assert_eq!(
        config["config"],
        serde_json::json!({
            "User": "1000:1000",
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Entrypoint": ["/usr/bin/chage"],
            "Cmd": ["--help"],
        })
    );
    assert_eq!(config["created"], "2024-04-25T15:10:33Z");
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(
        config["history"],
        serde_json::json!([{"created": "2024-04-25T15:10:33Z", "created_by": "kerf cut login_bins"}])
    );
    assert_eq!(
        fs_err::read_to_string(layout.join("oci-layout")).expect("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#
    );
    assert_eq!(
        fs_err::read_to_string(layout.join("index.json")).expect("index"),
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}},"annotations":{{"org.opencontainers.image.ref.name":"test"}}}}]}}"#,
            summary.top.digest, summary.top.size
        )
    );
    // Three blobs (layer, config, manifest), no temporary file, nothing beside the layout;
    // all readable by anyone, as the layout directory is.
    assert_eq!(blob_names(&layout).len(), 3);
    let mode = |path: &Path| {
        std::os::unix::fs::PermissionsExt::mode(
            &fs_err::metadata(path).expect("metadata").permissions(),
        ) & 0o7777
    };
    assert_eq!(mode(&layout), 0o755);
    assert_eq!(mode(&layout.join("index.json")), 0o644);
    for name in blob_names(&layout) {
        assert_eq!(mode(&layout.join("blobs/sha256").join(name)), 0o644);
    }
    assert_eq!(
        super::tests::names(layout.parent().expect("parent")),
        ["cache", "image", "outside"]
    );
}

fn blob_names(layout: &Path) -> Vec<String> {
    super::tests::names(&layout.join("blobs/sha256"))
}

#[test]
fn the_layer_ignores_who_owns_the_files_on_disk() {
    let archive = login_archive();
    let server = archive.server().start();
    let release = login_release(&archive);
    let env = Env::new();
    let first = env.root().with_file_name("first");
    let summary = run_image(
        &release,
        &["login_bins"],
        &env,
        &server,
        &[Arch::Amd64],
        Some(&env.root()),
        &app_user(),
        &spec(Destination::Layout(first.clone()), None),
    )
    .expect("the image");
    // As a user who is not in group `shadow` would have it: setgid bits dropped, every file
    // the user's.
    let chage = env.root().join("usr/bin/chage");
    fs_err::set_permissions(&chage, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    if rustix::process::geteuid().is_root() {
        for entry in walk(&env.root()) {
            std::os::unix::fs::lchown(&entry, Some(4242), Some(4242)).expect("chown");
        }
    }
    let (_, cut, _) = &summary.images[0];
    let users = crate::accounts::apply(&env.root(), &app_user()).expect("accounts again");
    let known = crate::oci::known_paths(&cut.installed, &users);
    let second = env.root().with_file_name("second");
    let staging =
        crate::oci::Staging::prepare(&Destination::Layout(second.clone())).expect("a new layout");
    let descriptor = crate::oci::write_image(
        &staging,
        &crate::oci::ImageInput {
            root: &env.root(),
            known: &known,
            platform: crate::oci::platform(Arch::Amd64),
            epoch: summary.epoch,
            user: Some("1000:1000".to_owned()),
            created_by: "kerf cut login_bins",
        },
        &spec(Destination::Layout(second.clone()), None),
    )
    .expect("the second image");
    staging
        .finish(None, descriptor.clone())
        .expect("the layout");

    assert_eq!(descriptor, summary.top);
    assert_eq!(blob_names(&first), blob_names(&second));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs_err::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if fs_err::symlink_metadata(&path).expect("lstat").is_dir() {
            found.extend(walk(&path));
        }
        found.push(path);
    }
    found
}

#[test]
fn the_same_cut_gives_the_same_bytes_with_another_cache() {
    let archive = login_archive();
    let server = archive.server().start();
    let release = login_release(&archive);
    let mut layouts = Vec::new();
    let mut envs = Vec::new();
    for _ in 0..2 {
        let env = Env::new();
        let layout = env.root().with_file_name("image");
        run_image(
            &release,
            &["login_bins"],
            &env,
            &server,
            &[Arch::Amd64],
            None,
            &app_user(),
            &spec(Destination::Layout(layout.clone()), Some("test")),
        )
        .expect("the image");
        layouts.push(layout);
        envs.push(env);
    }
    assert_eq!(tree_bytes(&layouts[0]), tree_bytes(&layouts[1]));
}

/// Every file of a directory with its bytes.
fn tree_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walk(dir)
        .into_iter()
        .filter(|path| path.is_file())
        .map(|path| {
            (
                path.strip_prefix(dir)
                    .expect("inside")
                    .display()
                    .to_string(),
                fs_err::read(&path).expect("read"),
            )
        })
        .collect()
}

fn index_of(layout: &Path) -> Index {
    serde_json::from_slice(&fs_err::read(layout.join("index.json")).expect("index"))
        .expect("an index")
}

fn tags(index: &Index) -> Vec<(String, String)> {
    index
        .manifests
        .iter()
        .map(|descriptor: &Descriptor| {
            (
                descriptor.tag().unwrap_or("-").to_owned(),
                descriptor.digest.clone(),
            )
        })
        .collect()
}

#[test]
fn an_existing_layout_keeps_its_other_tags_and_a_tag_moves() {
    let archive = login_archive();
    let server = archive.server().start();
    let release = login_release(&archive);
    let env = Env::new();
    let layout = env.root().with_file_name("image");
    let image = |tag: Option<&str>, cmd: &str| {
        let mut spec = spec(Destination::Layout(layout.clone()), tag);
        spec.run.cmd = Some(vec![cmd.to_owned()]);
        run_image(
            &release,
            &["login_bins"],
            &env,
            &server,
            &[Arch::Amd64],
            None,
            &Accounts::default(),
            &spec,
        )
        .expect("the image")
        .top
        .digest
    };

    let one = image(Some("one"), "a");
    let two = image(Some("two"), "b");
    assert_eq!(
        tags(&index_of(&layout)),
        [
            ("one".to_owned(), one.clone()),
            ("two".to_owned(), two.clone())
        ]
    );
    let moved = image(Some("one"), "c");
    let untagged = image(None, "d");
    // Twice untagged: listed once.
    assert_eq!(image(None, "d"), untagged);
    assert_eq!(
        tags(&index_of(&layout)),
        [
            ("two".to_owned(), two),
            ("one".to_owned(), moved),
            ("-".to_owned(), untagged)
        ]
    );
    // One layer shared by all, a config and a manifest each.
    assert_eq!(blob_names(&layout).len(), 1 + 4 * 2);
}

#[test]
fn an_oci_archive_is_the_layout_as_one_tar_and_zstd_is_offered() {
    let archive = login_archive();
    let server = archive.server().start();
    let release = login_release(&archive);
    let env = Env::new();
    let file = env.root().with_file_name("image.tar");
    let mut spec = spec(Destination::Archive(file.clone()), Some("zstd"));
    spec.compression = Compression::Zstd;
    spec.epoch = Some(1_000_000_000);

    let summary = run_image(
        &release,
        &["login_bins"],
        &env,
        &server,
        &[Arch::Amd64],
        None,
        &app_user(),
        &spec,
    )
    .expect("the image");

    let unpacked = env.root().with_file_name("unpacked");
    let bytes = fs_err::read(&file).expect("the archive");
    let mut names = Vec::new();
    for entry in tar::Archive::new(bytes.as_slice()).entries().expect("tar") {
        let mut entry = entry.expect("entry");
        names.push(String::from_utf8_lossy(&entry.path_bytes()).into_owned());
        assert_eq!(entry.header().mtime().expect("mtime"), 0);
        if entry.header().entry_type().is_file() {
            let target = unpacked.join(entry.path().expect("path"));
            fs_err::create_dir_all(target.parent().expect("parent")).expect("mkdir");
            entry.unpack(&target).expect("unpack");
        }
    }
    let mut blobs: Vec<String> = blob_names(&unpacked)
        .into_iter()
        .map(|name| format!("blobs/sha256/{name}"))
        .collect();
    blobs.sort();
    let mut expected = vec![
        "oci-layout".to_owned(),
        "index.json".to_owned(),
        "blobs/".to_owned(),
        "blobs/sha256/".to_owned(),
    ];
    expected.extend(blobs.clone());
    assert_eq!(names, expected);
    assert_eq!(blobs.len(), 3);
    assert_eq!(
        tags(&index_of(&unpacked)),
        [("zstd".to_owned(), summary.top.digest.clone())]
    );
    // Times clamp to SOURCE_DATE_EPOCH: the package's 1700000000 is later, so it is cut down.
    let lines = layer_lines(&unpacked, &summary.top.digest);
    assert_eq!(
        lines[11],
        "f 2755 0:42 root:shadow 1000000000 \"chage\\n\" usr/bin/chage"
    );
    assert_eq!(summary.epoch, 1_000_000_000);
    // Nothing left beside the archive.
    assert_eq!(
        super::tests::names(file.parent().expect("parent")),
        ["cache", "image.tar", "outside", "unpacked"]
    );
}

/// `app` for amd64 and arm64 (each its own content), and `base` for all arches.
fn multi_archive() -> TestArchive {
    let mut archive = TestArchive::new(&["noble"]).with_arches(&["amd64", "arm64"]);
    for arch in ["amd64", "arm64"] {
        archive.add_for(
            "noble",
            "main",
            arch,
            "app",
            "1.0",
            &[
                TestEntry::dir("./", 0o755),
                TestEntry::dir("./usr/", 0o755),
                TestEntry::dir("./usr/bin/", 0o755),
                TestEntry::file("./usr/bin/app", 0o755, format!("app for {arch}\n")),
            ],
        );
    }
    archive.add_for(
        "noble",
        "main",
        "all",
        "base",
        "1.0",
        &[
            TestEntry::dir("./", 0o755),
            TestEntry::dir("./etc/", 0o755),
            TestEntry::file("./etc/os-release", 0o644, "ID=test\n"),
        ],
    );
    archive
}

const MULTI_SLICES: [(&str, &str); 2] = [
    (
        "app",
        "package: app\nslices:\n  bins:\n    essential: [base_conf]\n    contents:\n      /usr/bin/app:\n",
    ),
    ("base", "package: base\nslices:\n  conf:\n    contents:\n      /etc/os-release:\n"),
];

#[test]
fn several_arches_give_an_index_with_one_manifest_per_platform() {
    let archive = multi_archive();
    let server = archive.server().start();
    let release = release("v1", &[only("ubuntu", &archive)], &MULTI_SLICES);
    let env = Env::new();
    let layout = env.root().with_file_name("image");

    let summary = run_image(
        &release,
        &["app_bins"],
        &env,
        &server,
        &[Arch::Amd64, Arch::Arm64],
        None,
        &Accounts::default(),
        &spec(Destination::Layout(layout.clone()), Some("multi")),
    )
    .expect("the image");

    let index = index_of(&layout);
    assert_eq!(
        tags(&index),
        [("multi".to_owned(), summary.top.digest.clone())]
    );
    assert_eq!(
        index.manifests[0].media_type,
        "application/vnd.oci.image.index.v1+json"
    );
    let inner = read_json(&layout, &summary.top.digest);
    let platforms: Vec<String> = inner["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|manifest| manifest["platform"].to_string())
        .collect();
    assert_eq!(
        platforms,
        [
            r#"{"architecture":"amd64","os":"linux"}"#,
            r#"{"architecture":"arm64","os":"linux","variant":"v8"}"#
        ]
    );
    for (position, arch) in ["amd64", "arm64"].iter().enumerate() {
        let manifest = inner["manifests"][position]["digest"]
            .as_str()
            .expect("digest");
        let lines = layer_lines(&layout, manifest);
        assert_eq!(
            lines,
            [
                format!("d 0755 0:0 root:root {EPOCH} \"\" etc/"),
                format!("f 0644 0:0 root:root {DEB_MTIME} \"ID=test\\n\" etc/os-release"),
                format!("d 0755 0:0 root:root {EPOCH} \"\" usr/"),
                format!("d 0755 0:0 root:root {EPOCH} \"\" usr/bin/"),
                format!("f 0755 0:0 root:root {DEB_MTIME} \"app for {arch}\\n\" usr/bin/app"),
            ]
        );
        let config = read_json(
            &layout,
            read_json(&layout, manifest)["config"]["digest"]
                .as_str()
                .expect("digest"),
        );
        assert_eq!(config["architecture"], *arch);
    }
    // Two layers, two configs, two manifests, the index.
    assert_eq!(blob_names(&layout).len(), 7);
}

#[test]
fn an_arch_the_archive_lacks_fails_and_leaves_nothing() {
    let archive = multi_archive();
    let server = archive.server().start();
    let release = release("v1", &[only("ubuntu", &archive)], &MULTI_SLICES);
    let env = Env::new();
    let layout = env.root().with_file_name("image");

    let error = run_image(
        &release,
        &["app_bins"],
        &env,
        &server,
        &[Arch::Amd64, Arch::Riscv64],
        None,
        &Accounts::default(),
        &spec(Destination::Layout(layout.clone()), Some("multi")),
    )
    .unwrap_err();

    assert_eq!(
        error,
        "no suite of the release's archives publishes architecture riscv64 (their InRelease files do not list it)"
    );
    assert_eq!(
        super::tests::names(layout.parent().expect("parent")),
        ["cache", "outside"]
    );
}

#[test]
fn bad_destinations_are_refused_before_the_cut_and_keep_what_was_there() {
    let archive = login_archive();
    let server = archive.server().start();
    let release = login_release(&archive);
    let env = Env::new();
    let base = env.root().with_file_name("outside");
    let attempt = |destination: Destination| {
        run_image(
            &release,
            &["login_bins"],
            &env,
            &server,
            &[Arch::Amd64],
            None,
            &Accounts::default(),
            &spec(destination, Some("test")),
        )
        .unwrap_err()
    };

    let not_layout = base.join("not-a-layout");
    fs_err::create_dir(&not_layout).expect("mkdir");
    fs_err::write(not_layout.join("notes.txt"), "mine\n").expect("write");
    assert_eq!(
        attempt(Destination::Layout(not_layout.clone())),
        format!(
            "invalid --oci-layout {}: it is not empty and has no oci-layout file",
            not_layout.display()
        )
    );
    let file = base.join("file");
    fs_err::write(&file, "x").expect("write");
    assert_eq!(
        attempt(Destination::Layout(file.clone())),
        format!(
            "invalid --oci-layout {}: it exists and is not a directory",
            file.display()
        )
    );
    assert_eq!(
        attempt(Destination::Layout(file.join("image"))),
        format!(
            "invalid --oci-layout {}/image: {} is not a directory",
            file.display(),
            file.display()
        )
    );
    assert_eq!(
        attempt(Destination::Archive(not_layout.clone())),
        format!(
            "invalid --oci-archive {}: it is a directory",
            not_layout.display()
        )
    );
    let broken = base.join("broken");
    fs_err::create_dir(&broken).expect("mkdir");
    fs_err::write(
        broken.join("oci-layout"),
        r#"{"imageLayoutVersion":"2.0.0"}"#,
    )
    .expect("write");
    assert_eq!(
        attempt(Destination::Layout(broken.clone())),
        format!(
            "invalid --oci-layout {}: its oci-layout file says {{\"imageLayoutVersion\":\"2.0.0\"}}, expected {{\"imageLayoutVersion\":\"1.0.0\"}}",
            broken.display()
        )
    );
    // No request was made, nothing was added.
    assert!(server.requests().is_empty());
    assert_eq!(super::tests::names(&not_layout), ["notes.txt"]);
    assert_eq!(super::tests::names(&broken), ["oci-layout"]);
    assert_eq!(
        super::tests::names(&base),
        ["broken", "file", "not-a-layout"]
    );
}

#[test]
fn a_failed_cut_leaves_an_existing_layout_as_it_was() {
    let archive = login_archive();
    let server = archive.server().start();
    let release = login_release(&archive);
    let env = Env::new();
    let layout = env.root().with_file_name("image");
    run_image(
        &release,
        &["login_bins"],
        &env,
        &server,
        &[Arch::Amd64],
        None,
        &Accounts::default(),
        &spec(Destination::Layout(layout.clone()), Some("test")),
    )
    .expect("the image");
    let before = tree_bytes(&layout);

    let error = run_image(
        &release,
        &["login_bins"],
        &env,
        &server,
        &[Arch::Amd64],
        None,
        &Accounts {
            users: vec![UserSpec::parse("app:1000:42").expect("a user")],
            groups: vec![
                GroupSpec::parse("shadow:42").expect("a group"),
                GroupSpec::parse("other:42").expect("a group"),
            ],
        },
        &spec(Destination::Layout(layout.clone()), Some("test")),
    )
    .unwrap_err();

    assert_eq!(
        error,
        "GID 42 is already group \"shadow\" in /etc/group; cannot give it to \"other\""
    );
    assert_eq!(tree_bytes(&layout), before);
    assert_eq!(
        super::tests::names(layout.parent().expect("parent")),
        ["cache", "image", "outside"]
    );
}

#[test]
fn a_path_below_a_symlinked_directory_keeps_its_owner_and_mode() {
    let mut archive = TestArchive::new(&["noble"]);
    archive
        .add(
            "noble",
            "base",
            "1.0",
            &[
                TestEntry::dir("./", 0o755),
                TestEntry::symlink("./lib64", "usr/lib64"),
                TestEntry::dir("./usr/", 0o755),
                TestEntry::dir("./usr/lib64/", 0o755),
            ],
        )
        .add(
            "noble",
            "loader",
            "1.0",
            &[
                TestEntry::dir("./", 0o755),
                TestEntry::dir("./lib64/", 0o755),
                TestEntry::file("./lib64/ld.so", 0o4755, "ld\n").owned_by(0, 42, "root", "shadow"),
            ],
        );
    let server = archive.server().start();
    let release = release(
        "v1",
        &[only("ubuntu", &archive)],
        &[
            ("base", "package: base\nslices:\n  links:\n    contents:\n      /lib64:\n      /usr/lib64/:\n"),
            (
                "loader",
                "package: loader\nslices:\n  libs:\n    essential: [base_links]\n    contents:\n      /lib64/ld.so:\n",
            ),
        ],
    );
    let env = Env::new();
    let layout = env.root().with_file_name("image");
    let summary = run_image(
        &release,
        &["loader_libs"],
        &env,
        &server,
        &[Arch::Amd64],
        None,
        &Accounts::default(),
        &spec(Destination::Layout(layout.clone()), None),
    )
    .expect("the image");

    assert_lines(
        &layer_lines(&layout, &summary.top.digest),
        &[
            format!("l 0777 0:0 root:root {DEB_MTIME} \"\" lib64 -> usr/lib64"),
            format!("d 0755 0:0 root:root {EPOCH} \"\" usr/"),
            format!("d 0755 0:0 root:root {DEB_MTIME} \"\" usr/lib64/"),
            format!("f 4755 0:42 root:shadow {DEB_MTIME} \"ld\\n\" usr/lib64/ld.so"),
        ],
    );
}
