use super::*;
use crate::manifest::{ManifestPackage, ManifestPath};

fn key(text: &str) -> SliceKey {
    SliceKey::parse(text).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex(&sha2::Sha256::digest(bytes))
}

/// A small cut root: zlib1g (an epoch in its version) with a library and its copyright file,
/// base-files with os-release (reached through the `/etc/os-release` link, as in Ubuntu) and
/// the manifest; `status.d` for zlib1g only.
fn sample_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, content: &[u8]| {
        let host = dir.path().join(path.trim_start_matches('/'));
        fs_err::create_dir_all(host.parent().unwrap()).unwrap();
        fs_err::write(host, content).unwrap();
    };
    let library = b"\x7fELF pretend library";
    let copyright = b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: Zlib\n";
    let os_release = b"PRETTY_NAME=\"Ubuntu 24.04.3 LTS\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\nVERSION_CODENAME=noble\n";
    write("/usr/lib/x86_64-linux-gnu/libz.so.1.3", library);
    write("/usr/share/doc/zlib1g/copyright", copyright);
    write("/usr/lib/os-release", os_release);
    fs_err::create_dir_all(dir.path().join("etc")).unwrap();
    fs_err::os::unix::fs::symlink("../usr/lib/os-release", dir.path().join("etc/os-release"))
        .unwrap();
    write(
        "/var/lib/dpkg/status.d/zlib1g",
        b"Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.3.dfsg-3.1ubuntu2.1\nMaintainer: Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>\nSource: zlib (1:1.3.dfsg-3.1ubuntu2.1)\n",
    );

    let mut manifest = Manifest::default();
    for (name, version, sha256) in [
        ("zlib1g", "1:1.3.dfsg-3.1ubuntu2.1", "aa11"),
        ("base-files", "13ubuntu10.3", "bb22"),
    ] {
        manifest.packages.push(ManifestPackage {
            name: name.to_owned(),
            version: version.to_owned(),
            sha256: sha256.to_owned(),
            arch: "amd64".to_owned(),
        });
    }
    for slice in [
        "zlib1g_libs",
        "zlib1g_copyright",
        "base-files_release-info",
        "base-files_chisel",
    ] {
        manifest.slices.insert(key(slice));
    }
    let mut file = |path: &str, slice: &str, content: &[u8]| {
        manifest.paths.insert(
            path.to_owned(),
            ManifestPath {
                path: path.to_owned(),
                mode: 0o644,
                slices: BTreeSet::from([key(slice)]),
                sha256: Some(sha256_hex(content)),
                size: content.len() as u64,
                ..ManifestPath::default()
            },
        );
    };
    file(
        "/usr/lib/x86_64-linux-gnu/libz.so.1.3",
        "zlib1g_libs",
        library,
    );
    file(
        "/usr/share/doc/zlib1g/copyright",
        "zlib1g_copyright",
        copyright,
    );
    file("/usr/lib/os-release", "base-files_release-info", os_release);
    manifest.paths.insert(
        "/etc/os-release".to_owned(),
        ManifestPath {
            path: "/etc/os-release".to_owned(),
            mode: 0o777,
            slices: BTreeSet::from([key("base-files_release-info")]),
            link: Some("../usr/lib/os-release".to_owned()),
            ..ManifestPath::default()
        },
    );
    manifest.paths.insert(
        MANIFEST_PATH.to_owned(),
        ManifestPath {
            path: MANIFEST_PATH.to_owned(),
            mode: 0o644,
            slices: BTreeSet::from([key("base-files_chisel")]),
            ..ManifestPath::default()
        },
    );
    write(MANIFEST_PATH, &manifest.to_bytes().unwrap());
    dir
}

#[test]
fn the_inventory_has_every_package_with_its_purl_slices_and_files() {
    let dir = sample_root();
    let inventory = inventory(dir.path(), Some(1_714_000_000)).unwrap();
    assert_eq!(inventory.os.distro(), "ubuntu-24.04");
    assert_eq!(inventory.created, 1_714_000_000);
    let names: Vec<&str> = inventory.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["base-files", "zlib1g"]);
    let zlib = &inventory.packages[1];
    assert_eq!(
        zlib.purl,
        "pkg:deb/ubuntu/zlib1g@1%3A1.3.dfsg-3.1ubuntu2.1?arch=amd64&distro=ubuntu-24.04"
    );
    assert_eq!(
        zlib.source,
        Some(("zlib".to_owned(), "1:1.3.dfsg-3.1ubuntu2.1".to_owned()))
    );
    assert_eq!(
        zlib.maintainer.as_deref(),
        Some("Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>")
    );
    assert_eq!(zlib.license.as_deref(), Some("Zlib"));
    assert_eq!(
        zlib.slices,
        BTreeSet::from([key("zlib1g_copyright"), key("zlib1g_libs")])
    );
    assert_eq!(
        zlib.files,
        BTreeSet::from([
            "/usr/lib/x86_64-linux-gnu/libz.so.1.3".to_owned(),
            "/usr/share/doc/zlib1g/copyright".to_owned()
        ])
    );
    // No stanza for base-files: no maintainer or source, and no copyright file: no licence.
    let base = &inventory.packages[0];
    assert_eq!(
        (
            base.maintainer.as_ref(),
            base.source.as_ref(),
            base.license.as_ref()
        ),
        (None, None, None)
    );
    assert_eq!(
        base.files,
        BTreeSet::from(["/usr/lib/os-release".to_owned()])
    );
    // Symlinks and the manifest itself are not files; SHA-1 comes from the disk.
    let paths: Vec<&str> = inventory.files.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        [
            "/usr/lib/os-release",
            "/usr/lib/x86_64-linux-gnu/libz.so.1.3",
            "/usr/share/doc/zlib1g/copyright"
        ]
    );
    // sha1("\x7fELF pretend library"), by `sha1sum`.
    assert_eq!(
        inventory.files["/usr/lib/x86_64-linux-gnu/libz.so.1.3"].sha1,
        "0f354bb2983b5c2e8d29d3b72bb7847ee6e6a4b4"
    );
}

#[test]
fn the_same_root_gives_the_same_bytes() {
    let dir = sample_root();
    for format in [Format::SpdxJson, Format::CycloneDxJson] {
        let first = render(&inventory(dir.path(), Some(1_714_000_000)).unwrap(), format).unwrap();
        let second = render(&inventory(dir.path(), Some(1_714_000_000)).unwrap(), format).unwrap();
        assert_eq!(first, second, "{format:?}");
        let text = String::from_utf8(first).unwrap();
        assert!(
            text.contains("2024-04-24T23:06:40Z"),
            "{format:?}: the creation time"
        );
        assert!(text.contains(
            "pkg:deb/ubuntu/zlib1g@1%3A1.3.dfsg-3.1ubuntu2.1?arch=amd64&distro=ubuntu-24.04"
        ));
    }
    // Without SOURCE_DATE_EPOCH, the manifest's time: still the same bytes for the same root.
    let first = render(&inventory(dir.path(), None).unwrap(), Format::SpdxJson).unwrap();
    let second = render(&inventory(dir.path(), None).unwrap(), Format::SpdxJson).unwrap();
    assert_eq!(first, second);
}

#[test]
fn the_spdx_document_ties_packages_to_files() {
    let dir = sample_root();
    let bytes = render(&inventory(dir.path(), Some(0)).unwrap(), Format::SpdxJson).unwrap();
    let document: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(document["spdxVersion"], "SPDX-2.3");
    assert_eq!(document["creationInfo"]["created"], "1970-01-01T00:00:00Z");
    let zlib = &document["packages"][2];
    assert_eq!(zlib["SPDXID"], "SPDXRef-Package-2-zlib1g");
    assert_eq!(zlib["licenseDeclared"], "Zlib");
    assert_eq!(zlib["checksums"][0]["checksumValue"], "aa11");
    assert_eq!(
        zlib["sourceInfo"],
        "built from the Debian source package zlib 1:1.3.dfsg-3.1ubuntu2.1"
    );
    let annotations: Vec<&str> = zlib["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|annotation| annotation["comment"].as_str().unwrap())
        .collect();
    assert_eq!(
        annotations,
        ["kerf:slice=zlib1g_copyright", "kerf:slice=zlib1g_libs"]
    );
    let contains: Vec<(&str, &str)> = document["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|relationship| relationship["spdxElementId"] == "SPDXRef-Package-2-zlib1g")
        .map(|relationship| {
            (
                relationship["relationshipType"].as_str().unwrap(),
                relationship["relatedSpdxElement"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        contains,
        [
            ("CONTAINS", "SPDXRef-File-2"),
            ("CONTAINS", "SPDXRef-File-3")
        ]
    );
    assert_eq!(
        document["files"][1]["fileName"],
        "./usr/lib/x86_64-linux-gnu/libz.so.1.3"
    );
    assert_eq!(document["files"][1]["comment"], "slices: zlib1g_libs");
}

#[test]
fn the_cyclonedx_bom_nests_files_in_their_package() {
    let dir = sample_root();
    let bytes = render(
        &inventory(dir.path(), Some(0)).unwrap(),
        Format::CycloneDxJson,
    )
    .unwrap();
    let bom: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(bom["specVersion"], "1.6");
    assert_eq!(bom["components"][0]["type"], "operating-system");
    assert_eq!(bom["components"][0]["name"], "ubuntu");
    assert_eq!(bom["components"][0]["version"], "24.04");
    let zlib = &bom["components"][2];
    assert_eq!(zlib["bom-ref"], zlib["purl"]);
    assert_eq!(zlib["licenses"][0]["expression"], "Zlib");
    assert_eq!(zlib["supplier"]["name"], "Ubuntu Developers");
    let properties: Vec<(&str, &str)> = zlib["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|property| {
            (
                property["name"].as_str().unwrap(),
                property["value"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        properties,
        [
            ("kerf:slice", "zlib1g_copyright"),
            ("kerf:slice", "zlib1g_libs"),
            ("kerf:source-name", "zlib"),
            ("kerf:source-version", "1:1.3.dfsg-3.1ubuntu2.1")
        ]
    );
    let library = &zlib["components"][0];
    assert_eq!(library["type"], "file");
    assert_eq!(library["name"], "/usr/lib/x86_64-linux-gnu/libz.so.1.3");
    assert_eq!(
        library["hashes"][0]["content"],
        sha256_hex(b"\x7fELF pretend library")
    );
}

#[test]
fn a_root_without_a_manifest_or_os_release_says_what_to_cut() {
    let dir = sample_root();
    fs_err::remove_file(dir.path().join("usr/lib/os-release")).unwrap();
    assert_eq!(
        inventory(dir.path(), None).unwrap_err().to_string(),
        format!("{} has no /etc/os-release or /usr/lib/os-release, so the distribution of its packages is unknown (the package URLs need it): cut base-files_release-info into the root too", dir.path().display())
    );
    fs_err::remove_file(dir.path().join(MANIFEST_PATH.trim_start_matches('/'))).unwrap();
    assert_eq!(
        inventory(dir.path(), None).unwrap_err().to_string(),
        format!("{} has no manifest at /var/lib/chisel/manifest.wall: kerf sbom reads the manifest a cut writes for a `generate: manifest` slice; cut base-files_chisel (in the bundled ubuntu-24.04 release and in chisel-releases) into the root too, or, if scanners are all you need, cut with --dpkg-status to write /var/lib/dpkg/status.d", dir.path().display())
    );
}

#[test]
fn a_file_the_manifest_lists_must_be_there() {
    let dir = sample_root();
    fs_err::remove_file(dir.path().join("usr/share/doc/zlib1g/copyright")).unwrap();
    assert_eq!(
        inventory(dir.path(), None).unwrap_err().to_string(),
        format!("{}: the manifest lists /usr/share/doc/zlib1g/copyright as a regular file, but the root has no regular file there: the root changed after the cut (cut it again)", dir.path().display())
    );
}

#[test]
fn formats_follow_the_file_name() {
    assert_eq!(
        Format::from_file_name(Path::new("out/root.spdx.json")),
        Some(Format::SpdxJson)
    );
    assert_eq!(
        Format::from_file_name(Path::new("root.cdx.json")),
        Some(Format::CycloneDxJson)
    );
    assert_eq!(Format::from_file_name(Path::new("root.json")), None);
}
