//! End-to-end tests of the release format's features through [`cut`](super::cut): the three
//! `format` versions with their spellings of essentials, `arch:` on paths and essentials for
//! every arch kerf knows, `prefer`, `hint`, v1's `default` and `v2-archives`, an ignored `pro`
//! archive, and the content options in their less common spellings.
//!
//! They use the signed loopback archive and the root helpers of `super::tests`, and check exact
//! trees, exact manifests (read back from the zstd jsonwall) and exact error messages.

use std::path::Path;

use super::tests::{
    assert_tree, cut_err, cut_ok, d, f, l, load_release, only, public_key_yaml, release, sha, tree,
    Env, TestArchive,
};
use super::CutOptions;
use crate::deb::testdeb::TestEntry;
use crate::release::{Arch, Release};
use crate::transport::http::testserver::TestServer;

/// Options for a cut of `env` for `arch`.
fn options_for(env: &Env, servers: &[(&str, &TestServer)], arch: Arch) -> CutOptions {
    let mut options = env.options(servers);
    options.archives.arch = arch;
    options
}

/// The records of the manifest a cut wrote at `/var/lib/chisel/manifest.wall`, one per line.
fn manifest_lines(root: &Path) -> Vec<String> {
    let compressed = fs_err::read(root.join("var/lib/chisel/manifest.wall")).expect("the manifest");
    let text =
        String::from_utf8(zstd::decode_all(compressed.as_slice()).expect("zstd")).expect("UTF-8");
    text.lines().map(str::to_owned).collect()
}

/// The tree line of the manifest file itself (its content is checked by `manifest_lines`).
fn manifest_file_line(root: &Path) -> String {
    let bytes = fs_err::read(root.join("var/lib/chisel/manifest.wall")).expect("the manifest");
    format!(
        "f 0644 {} {} /var/lib/chisel/manifest.wall",
        bytes.len(),
        sha(&bytes)
    )
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

fn triplet(arch: &str) -> &'static str {
    Arch::parse(arch).expect("a known arch").triplet()
}

// ---------------------------------------------------------------------------------------------
// Formats v1, v2 and v3: one release, three spellings of its essentials.

const FOO_CONF: &str = "foo = 1\n";

/// `libfoo` and `app` for amd64 and arm64, and `extra` for all arches.
fn formats_archive() -> TestArchive {
    let mut archive = TestArchive::new(&["noble"]).with_arches(&["amd64", "arm64"]);
    for arch in ["amd64", "arm64"] {
        let lib = format!("./usr/lib/{}/", triplet(arch));
        archive
            .add_for(
                "noble",
                "main",
                arch,
                "libfoo",
                "1.0",
                &[
                    TestEntry::dir("./", 0o755),
                    TestEntry::dir("./etc/", 0o755),
                    TestEntry::file("./etc/foo.conf", 0o644, FOO_CONF),
                    TestEntry::dir("./usr/", 0o755),
                    TestEntry::dir("./usr/lib/", 0o755),
                    TestEntry::dir(&lib, 0o755),
                    TestEntry::file(
                        format!("{lib}libfoo.so.1"),
                        0o644,
                        format!("libfoo for {arch}\n"),
                    ),
                    TestEntry::dir("./usr/share/", 0o755),
                    TestEntry::dir("./usr/share/doc/", 0o755),
                    TestEntry::dir("./usr/share/doc/libfoo/", 0o755),
                    TestEntry::file("./usr/share/doc/libfoo/copyright", 0o644, "libfoo (c)\n"),
                ],
            )
            .add_for(
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
        "extra",
        "1.0",
        &[
            TestEntry::dir("./", 0o755),
            TestEntry::dir("./usr/", 0o755),
            TestEntry::dir("./usr/share/", 0o755),
            TestEntry::dir("./usr/share/extra/", 0o750),
            TestEntry::file("./usr/share/extra/x86", 0o644, "x86 extra\n"),
            TestEntry::file("./usr/share/extra/arm", 0o644, "arm extra\n"),
        ],
    );
    archive
}

const EXTRA: &str = r"
    package: extra
    slices:
      x86:
        contents:
          /usr/share/extra/x86:
      arm:
        contents:
          /usr/share/extra/arm:
";

/// v1: lists at package and slice level, and the arch-limited essentials in a slice's
/// `v3-essential` map.
const LIBFOO_V1: &str = r"
    package: libfoo
    essential:
      - libfoo_copyright
    slices:
      libs:
        essential:
          - libfoo_config
        contents:
          /usr/lib/*-linux-*/libfoo.so.1:
      config:
        contents:
          /etc/foo.conf:
      copyright:
        contents:
          /usr/share/doc/libfoo/copyright:
";

const APP_V1: &str = r"
    package: app
    slices:
      bins:
        essential:
          - libfoo_libs
        v3-essential:
          extra_x86: {arch: amd64}
          extra_arm: {arch: [arm64, armhf]}
        contents:
          /usr/bin/app:
";

/// v2: the package-level essentials in `v3-essential` maps instead.
const LIBFOO_V2: &str = r"
    package: libfoo
    v3-essential:
      libfoo_copyright: {}
    slices:
      libs:
        essential:
          - libfoo_config
        contents:
          /usr/lib/*-linux-*/libfoo.so.1:
      config:
        contents:
          /etc/foo.conf:
      copyright:
        contents:
          /usr/share/doc/libfoo/copyright:
";

const APP_V2: &str = r"
    package: app
    v3-essential:
      extra_x86: {arch: amd64}
      extra_arm: {arch: [arm64, armhf]}
    slices:
      bins:
        essential:
          - libfoo_libs
        contents:
          /usr/bin/app:
";

/// v3: `essential` is a map, its values empty, null or an `arch` scalar or list.
const LIBFOO_V3: &str = r"
    package: libfoo
    essential:
      libfoo_copyright:
    slices:
      libs:
        essential:
          libfoo_config: {}
        contents:
          /usr/lib/*-linux-*/libfoo.so.1:
      config:
        contents:
          /etc/foo.conf:
      copyright:
        contents:
          /usr/share/doc/libfoo/copyright:
";

const APP_V3: &str = r"
    package: app
    slices:
      bins:
        essential:
          libfoo_libs:
          extra_x86: {arch: amd64}
          extra_arm: {arch: [arm64, armhf]}
        contents:
          /usr/bin/app:
";

/// What `app_bins` cuts to for `arch` (amd64 or arm64).
fn formats_tree(arch: &str) -> Vec<String> {
    let lib = format!("/usr/lib/{}/", triplet(arch));
    let extra = if arch == "amd64" {
        f(0o644, "x86 extra\n", "/usr/share/extra/x86")
    } else {
        f(0o644, "arm extra\n", "/usr/share/extra/arm")
    };
    vec![
        d(0o755, "/etc/"),
        f(0o644, FOO_CONF, "/etc/foo.conf"),
        d(0o755, "/usr/"),
        d(0o755, "/usr/bin/"),
        f(0o755, &format!("app for {arch}\n"), "/usr/bin/app"),
        d(0o755, "/usr/lib/"),
        d(0o755, &lib),
        f(
            0o644,
            &format!("libfoo for {arch}\n"),
            &format!("{lib}libfoo.so.1"),
        ),
        d(0o755, "/usr/share/"),
        d(0o755, "/usr/share/doc/"),
        d(0o755, "/usr/share/doc/libfoo/"),
        f(0o644, "libfoo (c)\n", "/usr/share/doc/libfoo/copyright"),
        d(0o750, "/usr/share/extra/"),
        extra,
    ]
}

/// Every slice's essentials with their arches, as `pkg_slice: essential[arch,...]` lines.
fn essentials(release: &Release) -> Vec<String> {
    let mut lines = Vec::new();
    for package in release.packages.values() {
        for slice in package.slices.values() {
            for (essential, info) in &slice.essential {
                let arches: Vec<&str> = info.arch.0.iter().map(|arch| arch.as_str()).collect();
                lines.push(format!(
                    "{}: {essential}[{}]",
                    slice.key(),
                    arches.join(",")
                ));
            }
        }
    }
    lines
}

#[test]
fn one_release_in_each_format_cuts_to_the_same_tree() {
    let archive = formats_archive();
    let server = archive.server().start();
    let releases: Vec<(&str, Release)> = [
        ("v1", LIBFOO_V1, APP_V1),
        ("v2", LIBFOO_V2, APP_V2),
        ("v3", LIBFOO_V3, APP_V3),
    ]
    .into_iter()
    .map(|(format, libfoo, app)| {
        let release = release(
            format,
            &[only("ubuntu", &archive)],
            &[("libfoo", libfoo), ("app", app), ("extra", EXTRA)],
        );
        (format, release)
    })
    .collect();

    // The three spellings load to the same essentials; package-level ones reach every slice of
    // the package but their own.
    let expected = [
        "app_bins: extra_arm[arm64,armhf]",
        "app_bins: extra_x86[amd64]",
        "app_bins: libfoo_libs[]",
        "libfoo_config: libfoo_copyright[]",
        "libfoo_libs: libfoo_config[]",
        "libfoo_libs: libfoo_copyright[]",
    ];
    for (format, release) in &releases {
        assert_eq!(essentials(release), expected, "format {format}");
    }

    for (format, release) in &releases {
        for arch in [Arch::Amd64, Arch::Arm64] {
            let env = Env::new();
            let options = options_for(&env, &[("ubuntu", &server)], arch);

            let summary = cut_ok(release, &["app_bins"], &options);

            assert_eq!(
                tree(&env.root()),
                formats_tree(arch.as_str()),
                "format {format}, arch {arch}"
            );
            // app_bins, libfoo_{libs,config,copyright} and the one extra slice of this arch.
            assert_eq!(
                (summary.packages, summary.slices),
                (3, 5),
                "format {format}, arch {arch}"
            );
            env.assert_nothing_outside_the_root();
        }
    }
    // Each arch's packages came from that arch's index, once per cut.
    for arch in ["amd64", "arm64"] {
        assert_eq!(server.hits(&archive.deb_path_for("app", "1.0", arch)), 3);
        assert_eq!(server.hits(&archive.deb_path_for("libfoo", "1.0", arch)), 3);
        assert_eq!(
            server.hits(&format!("/dists/noble/main/binary-{arch}/Packages.gz")),
            3
        );
    }
    assert_eq!(server.hits(&archive.deb_path_for("extra", "1.0", "all")), 6);
}

// ---------------------------------------------------------------------------------------------
// `arch:` on paths, for every arch.

const SIXTY_FOUR: [&str; 5] = ["amd64", "arm64", "ppc64el", "riscv64", "s390x"];

/// `hello` for each of the seven arches, differing by arch (a 64-bit arch has `/usr/lib64/`, a
/// 32-bit one `/usr/lib32/`), and `hello-doc` for all.
fn arch_archive() -> TestArchive {
    let arches: Vec<&str> = Arch::ALL.iter().map(|arch| arch.as_str()).collect();
    let mut archive = TestArchive::new(&["noble"]).with_arches(&arches);
    for arch in Arch::ALL {
        let name = arch.as_str();
        let lib = format!("./usr/lib/{}/", arch.triplet());
        let mut entries = vec![
            TestEntry::dir("./", 0o755),
            TestEntry::dir("./usr/", 0o755),
            TestEntry::dir("./usr/bin/", 0o755),
            TestEntry::file("./usr/bin/hello", 0o755, format!("hello for {name}\n")),
            TestEntry::dir("./usr/lib/", 0o755),
            TestEntry::dir(&lib, 0o755),
            TestEntry::file(
                format!("{lib}libhello.so.1"),
                0o644,
                format!("libhello for {name}\n"),
            ),
        ];
        if SIXTY_FOUR.contains(&name) {
            entries.push(TestEntry::dir("./usr/lib64/", 0o755));
            entries.push(TestEntry::file(
                "./usr/lib64/ld.so",
                0o755,
                format!("ld.so for {name}\n"),
            ));
        } else {
            entries.push(TestEntry::dir("./usr/lib32/", 0o750));
            entries.push(TestEntry::file(
                "./usr/lib32/ld.so",
                0o755,
                format!("ld.so for {name}\n"),
            ));
        }
        archive.add_for("noble", "main", name, "hello", "1.0", &entries);
    }
    archive.add_for(
        "noble",
        "main",
        "all",
        "hello-doc",
        "1.0",
        &[
            TestEntry::dir("./", 0o755),
            TestEntry::dir("./usr/", 0o755),
            TestEntry::dir("./usr/share/", 0o755),
            TestEntry::dir("./usr/share/doc/", 0o755),
            TestEntry::dir("./usr/share/doc/hello/", 0o755),
            TestEntry::file("./usr/share/doc/hello/README", 0o644, "read me\n"),
        ],
    );
    archive
}

const HELLO_DOC: &str = r"
    package: hello-doc
    slices:
      docs:
        contents:
          /usr/share/doc/hello/README:
";

/// Every kind of entry limited by `arch:`: copies, a glob, a symlink, a made directory, and a
/// text file per arch; scalars and lists.
fn arch_slices() -> String {
    let mut yaml = "\
package: hello
essential:
  hello-doc_docs:
slices:
  all:
    contents:
      /usr/bin/hello:
      /usr/bin/hello-s390x: {copy: /usr/bin/hello, arch: s390x}
      /usr/lib/*-linux-*/libhello.so.1:
      /usr/lib64/ld.so: {arch: [amd64, arm64, ppc64el, riscv64, s390x]}
      /usr/lib32/*: {arch: [i386, armhf]}
      /lib64: {symlink: usr/lib64, arch: [amd64, arm64, ppc64el, riscv64, s390x]}
      /var/lib/thirty-two/: {make: true, mode: 0700, arch: [i386, armhf]}
"
    .to_owned();
    for arch in Arch::ALL {
        yaml.push_str(&format!(
            "      /etc/arch/{arch}: {{text: \"{arch}\\n\", arch: {arch}}}\n"
        ));
    }
    yaml
}

fn arch_tree(arch: Arch) -> Vec<String> {
    let name = arch.as_str();
    let sixty_four = SIXTY_FOUR.contains(&name);
    let lib = format!("/usr/lib/{}/", arch.triplet());
    let mut lines = vec![
        d(0o755, "/etc/"),
        d(0o755, "/etc/arch/"),
        f(0o644, &format!("{name}\n"), &format!("/etc/arch/{name}")),
    ];
    if sixty_four {
        lines.push(l("usr/lib64", "/lib64"));
    }
    lines.extend([
        d(0o755, "/usr/"),
        d(0o755, "/usr/bin/"),
        f(0o755, &format!("hello for {name}\n"), "/usr/bin/hello"),
    ]);
    if arch == Arch::S390x {
        lines.push(f(0o755, "hello for s390x\n", "/usr/bin/hello-s390x"));
    }
    lines.extend([
        d(0o755, "/usr/lib/"),
        d(0o755, &lib),
        f(
            0o644,
            &format!("libhello for {name}\n"),
            &format!("{lib}libhello.so.1"),
        ),
    ]);
    let ld_so = format!("ld.so for {name}\n");
    if sixty_four {
        lines.extend([
            d(0o755, "/usr/lib64/"),
            f(0o755, &ld_so, "/usr/lib64/ld.so"),
        ]);
    } else {
        lines.extend([
            d(0o750, "/usr/lib32/"),
            f(0o755, &ld_so, "/usr/lib32/ld.so"),
        ]);
    }
    lines.extend([
        d(0o755, "/usr/share/"),
        d(0o755, "/usr/share/doc/"),
        d(0o755, "/usr/share/doc/hello/"),
        f(0o644, "read me\n", "/usr/share/doc/hello/README"),
    ]);
    if !sixty_four {
        lines.extend([
            d(0o755, "/var/"),
            d(0o755, "/var/lib/"),
            d(0o700, "/var/lib/thirty-two/"),
        ]);
    }
    lines
}

#[test]
fn path_arch_filters_give_each_arch_exactly_its_tree() {
    let archive = arch_archive();
    let server = archive.server().start();
    let slices = arch_slices();
    let release = release(
        "v3",
        &[only("ubuntu", &archive)],
        &[("hello", &slices), ("hello-doc", HELLO_DOC)],
    );

    for arch in Arch::ALL {
        let env = Env::new();
        let options = options_for(&env, &[("ubuntu", &server)], arch);

        let summary = cut_ok(&release, &["hello_all"], &options);

        assert_eq!(tree(&env.root()), arch_tree(arch), "arch {arch}");
        assert_eq!((summary.packages, summary.slices), (2, 2), "arch {arch}");
        // Only this arch's index and package were fetched for it.
        assert_eq!(
            server.hits(&format!("/dists/noble/main/binary-{arch}/Packages.gz")),
            1,
            "arch {arch}"
        );
        assert_eq!(
            server.hits(&archive.deb_path_for("hello", "1.0", arch.as_str())),
            1,
            "arch {arch}"
        );
        env.assert_nothing_outside_the_root();
    }
    // The arch-all package is in every arch's index.
    assert_eq!(
        server.hits(&archive.deb_path_for("hello-doc", "1.0", "all")),
        7
    );
}

/// A suite whose InRelease does not list the arch is skipped without fetching an index, as in
/// chisel, so its packages are not found.
#[test]
fn a_suite_without_the_arch_is_skipped() {
    let archive = formats_archive();
    let server = archive.server().start();
    let release = release(
        "v3",
        &[only("ubuntu", &archive)],
        &[("libfoo", LIBFOO_V3), ("app", APP_V3), ("extra", EXTRA)],
    );
    let env = Env::new();

    let error = cut_err(
        &release,
        &["app_bins"],
        &options_for(&env, &[("ubuntu", &server)], Arch::Riscv64),
    );

    assert_eq!(error, "cannot find package \"libfoo\" in archive(s) ubuntu");
    let paths: Vec<String> = server
        .requests()
        .iter()
        .map(|request| request.path.clone())
        .collect();
    assert_eq!(paths, ["/dists/noble/InRelease"]);
}

// ---------------------------------------------------------------------------------------------
// `prefer`.

/// Three packages that ship `/usr/bin/ls` and an `/etc/motd` text, chained by `prefer`:
/// toybox → busybox → coreutils; each gives `/etc/` its own mode. `base-files` holds the
/// manifest.
fn prefer_archive() -> TestArchive {
    let mut archive = TestArchive::new(&["noble"]);
    for (name, etc_mode, program) in [
        ("coreutils", 0o751, "cat"),
        ("busybox", 0o700, "busybox"),
        ("toybox", 0o711, "toybox"),
    ] {
        archive.add(
            "noble",
            name,
            "1.0",
            &[
                TestEntry::dir("./", 0o755),
                TestEntry::dir("./etc/", etc_mode),
                TestEntry::dir("./usr/", 0o755),
                TestEntry::dir("./usr/bin/", 0o755),
                TestEntry::file("./usr/bin/ls", 0o755, format!("ls from {name}\n")),
                TestEntry::file(
                    format!("./usr/bin/{program}"),
                    0o755,
                    format!("{program} from {name}\n"),
                ),
            ],
        );
    }
    archive.add(
        "noble",
        "base-files",
        "1.0",
        &[
            TestEntry::dir("./", 0o755),
            TestEntry::dir("./var/", 0o755),
            TestEntry::dir("./var/lib/", 0o755),
        ],
    );
    archive
}

const PREFER_SLICES: [(&str, &str); 4] = [
    (
        "coreutils",
        r#"
            package: coreutils
            slices:
              bins:
                contents:
                  /usr/bin/cat:
                  /usr/bin/ls:
                  /etc/motd: {text: "coreutils\n"}
        "#,
    ),
    (
        "busybox",
        r#"
            package: busybox
            slices:
              bins:
                contents:
                  /usr/bin/busybox:
                  /usr/bin/ls: {prefer: coreutils}
                  /etc/motd: {text: "busybox\n", prefer: coreutils}
        "#,
    ),
    (
        "toybox",
        r#"
            package: toybox
            slices:
              bins:
                contents:
                  /usr/bin/toybox:
                  /usr/bin/ls: {prefer: busybox}
                  /etc/motd: {text: "toybox\n", prefer: busybox}
        "#,
    ),
    (
        "base-files",
        r"
            package: base-files
            slices:
              chisel:
                contents:
                  /var/lib/chisel/**: {generate: manifest}
        ",
    ),
];

/// The tree when `packages` are selected and `winner` provides `/usr/bin/ls` and `/etc/motd`.
fn prefer_tree(packages: &[&str], winner: &str) -> Vec<String> {
    let etc_mode = match winner {
        "coreutils" => 0o751,
        "busybox" => 0o700,
        _ => 0o711,
    };
    let mut programs: Vec<(&str, String)> = packages
        .iter()
        .map(|&package| {
            let program = match package {
                "coreutils" => "cat",
                other => other,
            };
            (program, format!("{program} from {package}\n"))
        })
        .collect();
    programs.push(("ls", format!("ls from {winner}\n")));
    programs.sort();
    let mut lines = vec![
        d(etc_mode, "/etc/"),
        f(0o644, &format!("{winner}\n"), "/etc/motd"),
        d(0o755, "/usr/"),
        d(0o755, "/usr/bin/"),
    ];
    for (program, content) in programs {
        lines.push(f(0o755, &content, &format!("/usr/bin/{program}")));
    }
    lines
}

#[test]
fn prefer_installs_the_preferred_packages_content_and_the_manifest_credits_it_alone() {
    let archive = prefer_archive();
    let server = archive.server().start();
    let release = release("v3", &[only("ubuntu", &archive)], &PREFER_SLICES);
    let env = Env::new();

    cut_ok(
        &release,
        &[
            "toybox_bins",
            "busybox_bins",
            "coreutils_bins",
            "base-files_chisel",
        ],
        &env.options(&[("ubuntu", &server)]),
    );

    let mut expected = prefer_tree(&["busybox", "coreutils", "toybox"], "coreutils");
    expected.extend([
        d(0o755, "/var/"),
        d(0o755, "/var/lib/"),
        d(0o755, "/var/lib/chisel/"),
        manifest_file_line(&env.root()),
    ]);
    assert_tree(&env.root(), &expected);

    let package = |name: &str| {
        format!(
            "{{\"kind\":\"package\",\"name\":\"{name}\",\"version\":\"1.0\",\"sha256\":\"{}\",\"arch\":\"amd64\"}}",
            sha(&archive.package(name, "1.0").deb)
        )
    };
    let file = |path: &str, content: &str, mode: &str, slice: &str| {
        format!(
            "{{\"kind\":\"path\",\"path\":\"{path}\",\"mode\":\"{mode}\",\"slices\":[\"{slice}\"],\"sha256\":\"{}\",\"size\":{}}}",
            sha(content.as_bytes()),
            content.len()
        )
    };
    let content = |slice: &str, path: &str| {
        format!("{{\"kind\":\"content\",\"slice\":\"{slice}\",\"path\":\"{path}\"}}")
    };
    let expected = [
        "{\"jsonwall\":\"1.0\",\"schema\":\"1.0\",\"count\":21}".to_owned(),
        content("base-files_chisel", "/var/lib/chisel/manifest.wall"),
        content("busybox_bins", "/usr/bin/busybox"),
        content("coreutils_bins", "/etc/motd"),
        content("coreutils_bins", "/usr/bin/cat"),
        content("coreutils_bins", "/usr/bin/ls"),
        content("toybox_bins", "/usr/bin/toybox"),
        package("base-files"),
        package("busybox"),
        package("coreutils"),
        package("toybox"),
        file("/etc/motd", "coreutils\n", "0644", "coreutils_bins"),
        file(
            "/usr/bin/busybox",
            "busybox from busybox\n",
            "0755",
            "busybox_bins",
        ),
        file("/usr/bin/cat", "cat from coreutils\n", "0755", "coreutils_bins"),
        file("/usr/bin/ls", "ls from coreutils\n", "0755", "coreutils_bins"),
        file(
            "/usr/bin/toybox",
            "toybox from toybox\n",
            "0755",
            "toybox_bins",
        ),
        "{\"kind\":\"path\",\"path\":\"/var/lib/chisel/manifest.wall\",\"mode\":\"0644\",\"slices\":[\"base-files_chisel\"]}".to_owned(),
        "{\"kind\":\"slice\",\"name\":\"base-files_chisel\"}".to_owned(),
        "{\"kind\":\"slice\",\"name\":\"busybox_bins\"}".to_owned(),
        "{\"kind\":\"slice\",\"name\":\"coreutils_bins\"}".to_owned(),
        "{\"kind\":\"slice\",\"name\":\"toybox_bins\"}".to_owned(),
    ];
    assert_lines(&manifest_lines(&env.root()), &expected);
    env.assert_nothing_outside_the_root();
}

/// The winner is the selected package furthest along the chain; a package that prefers one
/// that is not selected keeps the path.
#[test]
fn prefer_falls_back_to_the_selected_packages_of_the_chain() {
    let archive = prefer_archive();
    let server = archive.server().start();
    let release = release("v3", &[only("ubuntu", &archive)], &PREFER_SLICES);

    for (packages, winner) in [
        (&["busybox", "toybox"][..], "busybox"),
        (&["busybox"][..], "busybox"),
        (&["toybox"][..], "toybox"),
        // busybox, in the middle of the chain, is not selected.
        (&["coreutils", "toybox"][..], "coreutils"),
        (&["coreutils"][..], "coreutils"),
    ] {
        let env = Env::new();
        let slices: Vec<String> = packages
            .iter()
            .map(|package| format!("{package}_bins"))
            .collect();
        let slices: Vec<&str> = slices.iter().map(String::as_str).collect();

        cut_ok(&release, &slices, &env.options(&[("ubuntu", &server)]));

        assert_eq!(
            tree(&env.root()),
            prefer_tree(packages, winner),
            "{packages:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// `hint`.

fn note_archive() -> TestArchive {
    let mut archive = TestArchive::new(&["noble"]);
    archive.add(
        "noble",
        "note",
        "1.0",
        &[
            TestEntry::dir("./", 0o755),
            TestEntry::dir("./usr/", 0o755),
            TestEntry::dir("./usr/share/", 0o755),
            TestEntry::dir("./usr/share/note/", 0o755),
            TestEntry::file("./usr/share/note/a", 0o644, "a\n"),
        ],
    );
    archive
}

const NOTE_WITH_HINTS: &str = r#"
    package: note
    slices:
      data:
        hint: "Forty characters of hint, exactly: done!"
        contents:
          /usr/share/note/a:
          /etc/note: {text: "note\n"}
      manifest:
        hint: Where the manifest goes
        contents:
          /var/lib/chisel/**: {generate: manifest}
"#;

const NOTE_WITHOUT_HINTS: &str = r#"
    package: note
    slices:
      data:
        contents:
          /usr/share/note/a:
          /etc/note: {text: "note\n"}
      manifest:
        contents:
          /var/lib/chisel/**: {generate: manifest}
"#;

#[test]
fn hints_change_nothing_in_the_cut() {
    let archive = note_archive();
    let server = archive.server().start();
    let with = release(
        "v3",
        &[only("ubuntu", &archive)],
        &[("note", NOTE_WITH_HINTS)],
    );
    let without = release(
        "v3",
        &[only("ubuntu", &archive)],
        &[("note", NOTE_WITHOUT_HINTS)],
    );
    let data = crate::release::SliceKey::new("note", "data");
    assert_eq!(
        with.slice(&data).expect("note_data").hint,
        "Forty characters of hint, exactly: done!"
    );
    assert_eq!(with.slice(&data).expect("note_data").hint.len(), 40);
    assert_eq!(without.slice(&data).expect("note_data").hint, "");

    let (with_env, without_env) = (Env::new(), Env::new());
    let slices = ["note_data", "note_manifest"];
    let with_summary = cut_ok(&with, &slices, &with_env.options(&[("ubuntu", &server)]));
    let without_summary = cut_ok(
        &without,
        &slices,
        &without_env.options(&[("ubuntu", &server)]),
    );

    let expected = [
        d(0o755, "/etc/"),
        f(0o644, "note\n", "/etc/note"),
        d(0o755, "/usr/"),
        d(0o755, "/usr/share/"),
        d(0o755, "/usr/share/note/"),
        f(0o644, "a\n", "/usr/share/note/a"),
        d(0o755, "/var/"),
        d(0o755, "/var/lib/"),
        d(0o755, "/var/lib/chisel/"),
        manifest_file_line(&without_env.root()),
    ];
    assert_tree(&without_env.root(), &expected);
    // The same bytes everywhere, the manifest's included.
    assert_eq!(tree(&with_env.root()), tree(&without_env.root()));
    assert_eq!(
        manifest_lines(&with_env.root()),
        manifest_lines(&without_env.root())
    );
    assert_eq!(with_summary, without_summary);
}

// ---------------------------------------------------------------------------------------------
// v1 archives: `default`, `v2-archives`, and an archive dropped for its `pro` value.

/// One archive of a hand-written `chisel.yaml`, with `extra` lines (already indented).
fn archive_yaml(name: &str, extra: &str) -> String {
    format!(
        "  {name}:\n    version: 24.04\n    suites: [noble]\n    components: [main]\n    public-keys: [{name}-key]\n{extra}"
    )
}

const MAINTENANCE: &str = "maintenance:\n  standard: 2024-04-25\n  end-of-life: 2036-04-29\n";

fn data_slice(name: &str, pin: Option<&str>) -> String {
    let pin = pin.map_or(String::new(), |archive| format!("archive: {archive}\n"));
    format!(
        "package: {name}\n{pin}slices:\n  data:\n    contents:\n      /usr/share/{name}/version:\n"
    )
}

fn version_entries(name: &str, content: &str) -> Vec<TestEntry> {
    vec![
        TestEntry::dir("./", 0o755),
        TestEntry::dir("./usr/", 0o755),
        TestEntry::dir("./usr/share/", 0o755),
        TestEntry::dir(format!("./usr/share/{name}/"), 0o755),
        TestEntry::file(format!("./usr/share/{name}/version"), 0o644, content),
    ]
}

fn version_in(env: &Env, name: &str) -> String {
    fs_err::read_to_string(env.root().join(format!("usr/share/{name}/version")))
        .expect("the version file")
}

/// In v1 without priorities, the `default` archive is the only one used unless a package pins
/// another; archives may also come from `v2-archives`; an archive with an unknown `pro` value
/// is dropped with a notice and never contacted.
#[test]
fn v1_default_and_v2_archives_choose_the_archive() {
    let mut ubuntu = TestArchive::new(&["noble"]);
    ubuntu.add(
        "noble",
        "shared",
        "1.0",
        &version_entries("shared", "ubuntu\n"),
    );
    let mut other = TestArchive::new(&["noble"]);
    // A higher version does not matter: the default archive wins.
    other
        .add(
            "noble",
            "shared",
            "9.0",
            &version_entries("shared", "other\n"),
        )
        .add(
            "noble",
            "pinned",
            "1.0",
            &version_entries("pinned", "other\n"),
        )
        .add(
            "noble",
            "orphan",
            "1.0",
            &version_entries("orphan", "other\n"),
        );
    let mut bogus = TestArchive::new(&["noble"]);
    bogus.add(
        "noble",
        "shared",
        "1.0",
        &version_entries("shared", "bogus\n"),
    );
    let servers = [
        ("ubuntu", ubuntu.server().start()),
        ("other", other.server().start()),
        ("bogus", bogus.server().start()),
    ];
    let servers: Vec<(&str, &TestServer)> = servers
        .iter()
        .map(|(name, server)| (*name, server))
        .collect();
    let (other_server, bogus_server) = (servers[1].1, servers[2].1);

    let chisel_yaml = format!(
        "format: v1\n{MAINTENANCE}archives:\n{}{}v2-archives:\n{}public-keys:\n{}{}{}",
        archive_yaml("ubuntu", "    default: true\n"),
        archive_yaml("bogus", "    pro: esm-everything\n"),
        archive_yaml("other", ""),
        public_key_yaml("ubuntu-key", &ubuntu),
        public_key_yaml("other-key", &other),
        public_key_yaml("bogus-key", &bogus),
    );
    let release = load_release(
        &chisel_yaml,
        &[
            ("shared", &data_slice("shared", None)),
            ("pinned", &data_slice("pinned", Some("other"))),
            ("orphan", &data_slice("orphan", None)),
        ],
    );
    assert_eq!(
        release.notices,
        ["Archive \"bogus\" ignored: invalid pro value: \"esm-everything\""]
    );
    let priorities: Vec<(&str, i32)> = release
        .archives
        .values()
        .map(|archive| (archive.name.as_str(), archive.priority))
        .collect();
    assert_eq!(priorities, [("other", -1), ("ubuntu", 1)]);

    let env = Env::new();
    cut_ok(
        &release,
        &["shared_data", "pinned_data"],
        &env.options(&servers),
    );
    assert_eq!(version_in(&env, "shared"), "ubuntu\n");
    assert_eq!(version_in(&env, "pinned"), "other\n");
    assert_eq!(server_debs(other_server), [other.deb_path("pinned", "1.0")]);

    // Unpinned, a package only the non-default archive has is not found there, and that
    // archive is not even opened.
    let other_requests = other_server.requests().len();
    let env = Env::new();
    assert_eq!(
        cut_err(&release, &["orphan_data"], &env.options(&servers)),
        "cannot find package \"orphan\" in archive(s) ubuntu"
    );
    assert_eq!(other_server.requests().len(), other_requests);
    assert!(bogus_server.requests().is_empty());
}

/// The `.deb`s a server was asked for.
fn server_debs(server: &TestServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .filter(|request| request.path.starts_with("/pool/"))
        .map(|request| request.path.clone())
        .collect()
}

/// With priorities, `default` is ignored.
#[test]
fn v1_default_is_ignored_when_archives_have_priorities() {
    let mut high = TestArchive::new(&["noble"]);
    high.add(
        "noble",
        "shared",
        "1.0",
        &version_entries("shared", "high\n"),
    );
    let mut low = TestArchive::new(&["noble"]);
    low.add(
        "noble",
        "shared",
        "1.0",
        &version_entries("shared", "low\n"),
    );
    let (high_server, low_server) = (high.server().start(), low.server().start());
    let chisel_yaml = format!(
        "format: v1\n{MAINTENANCE}archives:\n{}{}public-keys:\n{}{}",
        archive_yaml("high", "    priority: 20\n"),
        archive_yaml("low", "    priority: 10\n    default: true\n"),
        public_key_yaml("high-key", &high),
        public_key_yaml("low-key", &low),
    );
    let release = load_release(&chisel_yaml, &[("shared", &data_slice("shared", None))]);
    let env = Env::new();

    cut_ok(
        &release,
        &["shared_data"],
        &env.options(&[("high", &high_server), ("low", &low_server)]),
    );

    assert_eq!(version_in(&env, "shared"), "high\n");
    assert_eq!(server_debs(&low_server), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// Content options in their less common spellings.

const SPELL_SLICES: &str = r#"
    package: spell
    slices:
      all:
        contents:
          /usr/bin/tool:
          /usr/bin/same: {copy: /usr/bin/same}
          /usr/bin/private: {mode: 0700}
          /usr/share/spell/: {make: false}
          /etc/empty: {text: ""}
          /var/run/: {symlink: /run}
      manifest:
        contents:
          /var/lib/chisel/**: {generate: manifest}
"#;

/// A null entry and `copy:` naming the path itself copy it; `mode:` on a copy is applied (chisel
/// ignores it, SPEC §9 #9); `make: false` is a copy, and copying a directory copies the entry
/// alone; `text: ""` is an empty file; a symlink declared with a trailing slash is a symlink,
/// recorded without the slash; the package gives the parent of a symlink its mode.
#[test]
fn content_options_in_their_rarer_spellings() {
    let mut archive = TestArchive::new(&["noble"]);
    archive.add(
        "noble",
        "spell",
        "1.0",
        &[
            TestEntry::dir("./", 0o755),
            TestEntry::dir("./usr/", 0o755),
            TestEntry::dir("./usr/bin/", 0o755),
            TestEntry::file("./usr/bin/tool", 0o755, "tool\n"),
            TestEntry::file("./usr/bin/same", 0o755, "same\n"),
            TestEntry::file("./usr/bin/private", 0o755, "private\n"),
            TestEntry::dir("./usr/share/", 0o755),
            TestEntry::dir("./usr/share/spell/", 0o750),
            TestEntry::file("./usr/share/spell/data", 0o644, "data\n"),
            TestEntry::dir("./var/", 0o711),
        ],
    );
    let server = archive.server().start();
    let release = release(
        "v3",
        &[only("ubuntu", &archive)],
        &[("spell", SPELL_SLICES)],
    );
    let env = Env::new();

    cut_ok(
        &release,
        &["spell_all", "spell_manifest"],
        &env.options(&[("ubuntu", &server)]),
    );

    assert_tree(
        &env.root(),
        &[
            d(0o755, "/etc/"),
            f(0o644, "", "/etc/empty"),
            d(0o755, "/usr/"),
            d(0o755, "/usr/bin/"),
            f(0o700, "private\n", "/usr/bin/private"),
            f(0o755, "same\n", "/usr/bin/same"),
            f(0o755, "tool\n", "/usr/bin/tool"),
            d(0o755, "/usr/share/"),
            d(0o750, "/usr/share/spell/"),
            d(0o711, "/var/"),
            d(0o755, "/var/lib/"),
            d(0o755, "/var/lib/chisel/"),
            manifest_file_line(&env.root()),
            l("/run", "/var/run"),
        ],
    );
    let file = |path: &str, content: &str, mode: &str| {
        format!(
            "{{\"kind\":\"path\",\"path\":\"{path}\",\"mode\":\"{mode}\",\"slices\":[\"spell_all\"],\"sha256\":\"{}\",\"size\":{}}}",
            sha(content.as_bytes()),
            content.len()
        )
    };
    let content = |slice: &str, path: &str| {
        format!("{{\"kind\":\"content\",\"slice\":\"{slice}\",\"path\":\"{path}\"}}")
    };
    let expected = [
        "{\"jsonwall\":\"1.0\",\"schema\":\"1.0\",\"count\":18}".to_owned(),
        content("spell_all", "/etc/empty"),
        content("spell_all", "/usr/bin/private"),
        content("spell_all", "/usr/bin/same"),
        content("spell_all", "/usr/bin/tool"),
        content("spell_all", "/usr/share/spell/"),
        content("spell_all", "/var/run"),
        content("spell_manifest", "/var/lib/chisel/manifest.wall"),
        format!(
            "{{\"kind\":\"package\",\"name\":\"spell\",\"version\":\"1.0\",\"sha256\":\"{}\",\"arch\":\"amd64\"}}",
            sha(&archive.package("spell", "1.0").deb)
        ),
        // An empty file has a hash but no size.
        format!(
            "{{\"kind\":\"path\",\"path\":\"/etc/empty\",\"mode\":\"0644\",\"slices\":[\"spell_all\"],\"sha256\":\"{}\"}}",
            sha(b"")
        ),
        file("/usr/bin/private", "private\n", "0700"),
        file("/usr/bin/same", "same\n", "0755"),
        file("/usr/bin/tool", "tool\n", "0755"),
        "{\"kind\":\"path\",\"path\":\"/usr/share/spell/\",\"mode\":\"0750\",\"slices\":[\"spell_all\"]}".to_owned(),
        "{\"kind\":\"path\",\"path\":\"/var/lib/chisel/manifest.wall\",\"mode\":\"0644\",\"slices\":[\"spell_manifest\"]}".to_owned(),
        "{\"kind\":\"path\",\"path\":\"/var/run\",\"mode\":\"0777\",\"slices\":[\"spell_all\"],\"link\":\"/run\"}".to_owned(),
        "{\"kind\":\"slice\",\"name\":\"spell_all\"}".to_owned(),
        "{\"kind\":\"slice\",\"name\":\"spell_manifest\"}".to_owned(),
    ];
    assert_lines(&manifest_lines(&env.root()), &expected);
    env.assert_nothing_outside_the_root();
}
