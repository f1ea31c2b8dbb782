use super::*;

const CONTROL: &str = "Package: hello\nVersion: 2.10-3build1\nArchitecture: amd64\nMaintainer: Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>\nSource: hello (2.10-3)\nInstalled-Size: 112\nDepends: libc6 (>= 2.34)\nDescription: example package\n This is a test.\n .\n Second paragraph.\n";

fn package(name: &str, version: &str, files: &[&str]) -> CutPackage {
    CutPackage {
        name: name.to_owned(),
        version: version.to_owned(),
        control: format!("Package: {name}\nVersion: {version}\nArchitecture: all\n"),
        files: files.iter().map(|path| (*path).to_owned()).collect(),
        known_md5: BTreeMap::new(),
    }
}

/// A root holding `files` (path, content).
fn root_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Root) {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let host = dir.path().join(path.trim_start_matches('/'));
        fs_err::create_dir_all(host.parent().unwrap()).unwrap();
        fs_err::write(host, content).unwrap();
    }
    let root = Root::open(dir.path()).unwrap();
    (dir, root)
}

fn read(dir: &tempfile::TempDir, name: &str) -> String {
    fs_err::read_to_string(dir.path().join("var/lib/dpkg/status.d").join(name)).unwrap()
}

fn names(dir: &tempfile::TempDir) -> Vec<String> {
    let mut names: Vec<String> = fs_err::read_dir(dir.path().join("var/lib/dpkg/status.d"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn the_stanza_is_the_control_file_with_dpkgs_status_line() {
    let hello = CutPackage {
        name: "hello".to_owned(),
        version: "2.10-3build1".to_owned(),
        control: format!("{CONTROL}\n\n"),
        files: BTreeSet::new(),
        known_md5: BTreeMap::new(),
    };
    assert_eq!(
        stanza(&hello).unwrap(),
        "Package: hello\nStatus: install ok installed\nVersion: 2.10-3build1\nArchitecture: amd64\nMaintainer: Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>\nSource: hello (2.10-3)\nInstalled-Size: 112\nDepends: libc6 (>= 2.34)\nDescription: example package\n This is a test.\n .\n Second paragraph.\n"
    );
}

#[test]
fn a_control_file_that_disagrees_with_the_index_is_refused() {
    let mut hello = CutPackage {
        name: "hello".to_owned(),
        version: "2.10-3build2".to_owned(),
        control: CONTROL.to_owned(),
        files: BTreeSet::new(),
        known_md5: BTreeMap::new(),
    };
    assert_eq!(
        stanza(&hello).unwrap_err().to_string(),
        "package \"hello\": its control file says Version \"2.10-3build1\", the archive's index says \"2.10-3build2\""
    );
    hello.version = "2.10-3build1".to_owned();
    hello.control = format!("{CONTROL}\nPackage: other\n");
    assert_eq!(
        stanza(&hello).unwrap_err().to_string(),
        "package \"hello\": its control file has 2 stanzas, expected exactly one"
    );
    hello.control = format!("{CONTROL}Status: purge ok not-installed\n");
    assert_eq!(
        stanza(&hello).unwrap_err().to_string(),
        "package \"hello\": its control file has a Status field, which no package's control file has"
    );
    hello.control = "Package hello\n".to_owned();
    assert!(stanza(&hello)
        .unwrap_err()
        .to_string()
        .starts_with("package \"hello\": its control file, line 1: "));
}

#[test]
fn stanzas_and_md5sums_are_written_for_each_package() {
    let (dir, root) = root_with(&[
        ("/usr/bin/a", "a\n"),
        ("/etc/a.conf", ""),
        ("/usr/bin/b", "b\n"),
    ]);
    let written = update(
        &root,
        &[
            package("pkg-a", "1.0", &["/usr/bin/a", "/etc/a.conf"]),
            package("pkg-b", "2:3.0+dfsg", &["/usr/bin/b"]),
        ],
    )
    .unwrap();
    assert_eq!(
        written,
        Written {
            packages: 2,
            files: 3
        }
    );
    assert_eq!(
        names(&dir),
        ["pkg-a", "pkg-a.md5sums", "pkg-b", "pkg-b.md5sums"]
    );
    assert_eq!(
        read(&dir, "pkg-a"),
        "Package: pkg-a\nStatus: install ok installed\nVersion: 1.0\nArchitecture: all\n"
    );
    // md5("") and md5("a\n"), paths without the leading slash, sorted.
    assert_eq!(
        read(&dir, "pkg-a.md5sums"),
        "d41d8cd98f00b204e9800998ecf8427e  etc/a.conf\n60b725f10c9c85c70d97880dfe8191b3  usr/bin/a\n"
    );
    assert_eq!(
        read(&dir, "pkg-b.md5sums"),
        "3b5d5c3712955042212316173ccf37be  usr/bin/b\n"
    );
}

#[test]
fn a_later_cut_keeps_status_d_true_to_the_root() {
    let (dir, root) = root_with(&[
        ("/usr/bin/a", "a\n"),
        ("/etc/a.conf", ""),
        ("/usr/bin/b", "b\n"),
    ]);
    update(
        &root,
        &[
            package("pkg-a", "1.0", &["/usr/bin/a", "/etc/a.conf"]),
            package("pkg-b", "1.0", &["/usr/bin/b"]),
        ],
    )
    .unwrap();
    assert!(present(&root));
    // Between the cuts: a file changes, another goes, a third becomes a symlink.
    fs_err::write(dir.path().join("etc/a.conf"), "changed\n").unwrap();
    fs_err::remove_file(dir.path().join("usr/bin/b")).unwrap();
    fs_err::remove_file(dir.path().join("usr/bin/a")).unwrap();
    fs_err::os::unix::fs::symlink("b", dir.path().join("usr/bin/a")).unwrap();
    fs_err::write(dir.path().join("usr/bin/c"), "c\n").unwrap();
    // The second cut takes a new package and a newer pkg-a with one more file.
    let written = update(
        &root,
        &[
            package("pkg-c", "1.0", &["/usr/bin/c"]),
            package("pkg-a", "1.1", &["/usr/bin/c"]),
        ],
    )
    .unwrap();
    assert_eq!(
        written,
        Written {
            packages: 3,
            files: 3
        }
    );
    assert_eq!(
        names(&dir),
        [
            "pkg-a",
            "pkg-a.md5sums",
            "pkg-b",
            "pkg-b.md5sums",
            "pkg-c",
            "pkg-c.md5sums"
        ]
    );
    assert!(read(&dir, "pkg-a").contains("\nVersion: 1.1\n"));
    assert!(
        read(&dir, "pkg-b").contains("\nVersion: 1.0\n"),
        "kept from the first cut"
    );
    // md5("changed\n") and md5("c\n"); /usr/bin/a is a symlink now, not listed.
    assert_eq!(
        read(&dir, "pkg-a.md5sums"),
        "ec1bebaea2c042beb68f7679ddd106a4  etc/a.conf\n2cd6ee2c70b0bde53fbe6cac3c8b8bb1  usr/bin/c\n"
    );
    assert_eq!(read(&dir, "pkg-b.md5sums"), "");
    assert_eq!(
        read(&dir, "pkg-c.md5sums"),
        "2cd6ee2c70b0bde53fbe6cac3c8b8bb1  usr/bin/c\n"
    );
}

#[test]
fn a_malformed_md5sums_file_is_named_with_its_line() {
    let (dir, root) = root_with(&[(
        "/var/lib/dpkg/status.d/pkg-a.md5sums",
        "d41d8cd98f00b204e9800998ecf8427e  etc/a.conf\nnot a line\n",
    )]);
    let error = update(&root, &[package("pkg-b", "1.0", &[])]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "/var/lib/dpkg/status.d/pkg-a.md5sums: line 2: expected \"MD5SUM  PATH\" (32 hex digits, two spaces, a path), found \"not a line\""
    );
    // Nothing was written for pkg-b.
    assert_eq!(names(&dir), ["pkg-a.md5sums"]);
}

#[test]
fn the_packages_own_md5sums_are_used_where_given() {
    let (dir, root) = root_with(&[("/usr/bin/a", "a\n"), ("/usr/bin/b", "b\n")]);
    let mut pkg = package("pkg-a", "1.0", &["/usr/bin/a", "/usr/bin/b"]);
    // As dpkg does, the package's list is taken as it is: only /usr/bin/b is hashed here.
    pkg.known_md5.insert(
        "/usr/bin/a".to_owned(),
        "0123456789abcdef0123456789abcdef".to_owned(),
    );
    update(&root, &[pkg]).unwrap();
    assert_eq!(
        read(&dir, "pkg-a.md5sums"),
        "0123456789abcdef0123456789abcdef  usr/bin/a\n3b5d5c3712955042212316173ccf37be  usr/bin/b\n"
    );
    assert_eq!(
        parse_package_md5sums("60B725F10C9C85C70D97880DFE8191B3  usr/bin/a\nbad line\nd41d8cd98f00b204e9800998ecf8427e  ./etc/x\n"),
        BTreeMap::from([
            ("/etc/x".to_owned(), "d41d8cd98f00b204e9800998ecf8427e".to_owned()),
            ("/usr/bin/a".to_owned(), "60b725f10c9c85c70d97880dfe8191b3".to_owned()),
        ])
    );
}
