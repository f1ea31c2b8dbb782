//! Loading and validation of small releases written in the tests, one rule at a time.
//!
//! Each test builds a release in memory from hand-written YAML and asserts the exact messages,
//! location prefix included. The numbers in the test names' comments refer to SPEC §10.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{
    load_dir, load_files, read_dir, Arch, ArchSet, Archive, Date, EssentialInfo, Format, Generate,
    Maintenance, PathInfo, PathKind, Pro, Release, ReleaseErrors, SliceKey, SourceFile, Until,
};
use crate::testing::release::{TEST_KEY_ARMOR, TEST_KEY_ID};

// ---------------------------------------------------------------------------------------------
// Helpers.

/// Strips the common indentation of a snippet that starts with a newline, so that YAML can be
/// indented along with the code. Text that does not start with a newline is used byte for byte.
fn dedent(text: &str) -> String {
    let Some(body) = text.strip_prefix('\n') else {
        return text.to_owned();
    };
    let indent = body
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for line in body.lines() {
        out.push_str(line.get(indent..).unwrap_or(""));
        out.push('\n');
    }
    out
}

fn source(path: &str, text: &str) -> SourceFile {
    SourceFile {
        path: path.to_owned(),
        bytes: Cow::Owned(dedent(text).into_bytes()),
    }
}

fn files(chisel_yaml: &str, slices: &[(&str, &str)]) -> Vec<SourceFile> {
    let mut files = vec![source("chisel.yaml", chisel_yaml)];
    files.extend(slices.iter().map(|(path, text)| source(path, text)));
    files
}

/// Loads a release made of `chisel.yaml` and the given slice files (path, YAML).
fn release(chisel_yaml: &str, slices: &[(&str, &str)]) -> Result<Release, ReleaseErrors> {
    load_files("test-release", &files(chisel_yaml, slices))
}

/// Every error of a failed load, rendered as the user sees it; empty when the release loaded.
fn errors(result: Result<Release, ReleaseErrors>) -> Vec<String> {
    match result {
        Ok(_) => Vec::new(),
        Err(errors) => errors.errors.iter().map(ToString::to_string).collect(),
    }
}

#[track_caller]
fn loaded(result: Result<Release, ReleaseErrors>) -> Release {
    match result {
        Ok(release) => release,
        Err(errors) => panic!("the release should load, but:\n{errors}"),
    }
}

/// `armor` as the body of a YAML literal block indented by `indent` spaces.
fn armor_block(armor: &str, indent: usize) -> String {
    armor
        .lines()
        .map(|line| format!("{}{line}\n", " ".repeat(indent)))
        .collect()
}

/// The default `public-keys` block; appended at the end of chisel.yaml so that it does not
/// move the line numbers of what comes before.
fn public_keys() -> String {
    format!(
        "public-keys:\n  test-key:\n    id: {TEST_KEY_ID}\n    armor: |\n{}",
        armor_block(TEST_KEY_ARMOR, 6)
    )
}

/// `text` (a chisel.yaml without keys) followed by the default `public-keys` block.
fn with_keys(text: &str) -> String {
    dedent(text) + &public_keys()
}

/// A minimal valid chisel.yaml of the given format: one archive `ubuntu`, one key, and a
/// maintenance block.
fn chisel_yaml(format: &str) -> String {
    format!("format: {format}\n")
        + &with_keys(
            "
            maintenance:
              standard: 2024-04-25
              expanded: 2029-05-31
              legacy: 2034-04-25
              end-of-life: 2036-04-29
            archives:
              ubuntu:
                version: 24.04
                suites: [noble, noble-updates]
                components: [main, universe]
                public-keys: [test-key]
            ",
        )
}

fn v1() -> String {
    chisel_yaml("v1")
}

fn v2() -> String {
    chisel_yaml("v2")
}

fn v3() -> String {
    chisel_yaml("v3")
}

/// A chisel.yaml whose archives are one line each: archive `n` (from 0) is on line `6 + n`, and
/// its name starts at column 3. `extra` is added inside the archive's flow mapping.
fn chisel_archives(format: &str, archives: &[(&str, &str)]) -> String {
    let mut text = format!(
        "format: {format}\nmaintenance:\n  standard: 2024-04-25\n  end-of-life: 2036-04-29\narchives:\n"
    );
    for (name, extra) in archives {
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(", {extra}")
        };
        text.push_str(&format!(
            "  {name}: {{version: 24.04, suites: [noble], components: [main], public-keys: [test-key]{extra}}}\n"
        ));
    }
    text + &public_keys()
}

/// The priority of each archive of a release that loaded.
fn priorities(result: Result<Release, ReleaseErrors>) -> Vec<(String, i32)> {
    loaded(result)
        .archives
        .values()
        .map(|archive| (archive.name.clone(), archive.priority))
        .collect()
}

/// A simple valid package with one slice and one copied path.
const MYPKG: (&str, &str) = (
    "slices/mypkg.yaml",
    "
    package: mypkg
    slices:
      myslice:
        hint: My tool
        contents:
          /usr/bin/mytool:
    ",
);

fn date(text: &str) -> Date {
    Date::parse(text).unwrap()
}

fn key(text: &str) -> SliceKey {
    SliceKey::parse(text).unwrap()
}

fn copy() -> PathInfo {
    PathInfo {
        kind: PathKind::Copy,
        info: String::new(),
        mode: 0,
        mutable: false,
        until: Until::None,
        arch: ArchSet::default(),
        generate: None,
        prefer: None,
    }
}

fn path_info(kind: PathKind, info: &str) -> PathInfo {
    PathInfo {
        kind,
        info: info.to_owned(),
        ..copy()
    }
}

/// The contents of one slice of a release that loaded.
fn contents(release: &Release, slice: &str) -> BTreeMap<String, PathInfo> {
    release.slice(&key(slice)).unwrap().contents.clone()
}

fn essentials(release: &Release, slice: &str) -> Vec<(String, Vec<Arch>)> {
    release
        .slice(&key(slice))
        .unwrap()
        .essential
        .iter()
        .map(|(key, info)| (key.to_string(), info.arch.0.clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// A release that loads.

#[test]
fn minimal_release_loads_in_every_format() {
    for (chisel, format) in [(v1(), Format::V1), (v2(), Format::V2), (v3(), Format::V3)] {
        let got = loaded(release(&chisel, &[MYPKG]));
        assert_eq!(got.format, format);
        assert_eq!(
            got.maintenance,
            Maintenance {
                standard: date("2024-04-25"),
                expanded: Some(date("2029-05-31")),
                legacy: Some(date("2034-04-25")),
                end_of_life: date("2036-04-29"),
            }
        );
        assert_eq!(
            got.archives.values().collect::<Vec<_>>(),
            [&Archive {
                name: "ubuntu".to_owned(),
                version: "24.04".to_owned(),
                suites: vec!["noble".to_owned(), "noble-updates".to_owned()],
                components: vec!["main".to_owned(), "universe".to_owned()],
                public_keys: vec!["test-key".to_owned()],
                priority: 0,
                pro: Pro::None,
                url: None,
            }]
        );
        let key = &got.public_keys["test-key"];
        assert_eq!(key.name, "test-key");
        assert_eq!(key.id, TEST_KEY_ID);
        assert_eq!(key.armor, TEST_KEY_ARMOR);
        assert_eq!(got.notices, Vec::<String>::new());

        let package = &got.packages["mypkg"];
        assert_eq!(package.name, "mypkg");
        assert_eq!(package.path, "slices/mypkg.yaml");
        assert_eq!(package.archive, None);
        let slice = &package.slices["myslice"];
        assert_eq!(
            (slice.package.as_str(), slice.name.as_str(), slice.line),
            ("mypkg", "myslice", 3)
        );
        assert_eq!(slice.hint, "My tool");
        assert_eq!(slice.mutate, "");
        assert!(slice.essential.is_empty());
        assert_eq!(
            slice.contents,
            BTreeMap::from([("/usr/bin/mytool".to_owned(), copy())])
        );
    }
}

#[test]
fn release_errors_render_with_origin_and_count() {
    let one = release("format: v9\n", &[]).unwrap_err();
    assert_eq!(
        one.to_string(),
        "invalid release test-release: chisel.yaml: unknown format \"v9\" (expected v1, v2 or v3)"
    );
    let two = release(
        &v1(),
        &[
            ("slices/a.yaml", "package: a\n"),
            ("slices/B.yaml", "package: b\n"),
        ],
    )
    .unwrap_err();
    assert_eq!(
        two.to_string(),
        "invalid release test-release: 2 problems\n  \
         slices/B.yaml: invalid slice definition filename: \"B.yaml\" (expected a package name and .yaml)\n  \
         slices/a.yaml: invalid slice definition filename: \"a.yaml\" (expected a package name and .yaml)"
    );
}

#[test]
fn missing_chisel_yaml_is_reported() {
    let result = load_files("test-release", &[source("slices/mypkg.yaml", MYPKG.1)]);
    assert_eq!(
        errors(result),
        ["cannot read release definition chisel.yaml: not found"]
    );
}

#[test]
fn non_utf8_files_are_reported() {
    let mut bad = source("slices/mypkg.yaml", "package: mypkg\n");
    bad.bytes = Cow::Owned(b"package: my\xffpkg\n".to_vec());
    let result = load_files("test-release", &[source("chisel.yaml", &v1()), bad]);
    assert_eq!(
        errors(result),
        ["slices/mypkg.yaml: cannot read slices/mypkg.yaml: not valid UTF-8 at byte 11"]
    );
}

#[test]
fn load_dir_reads_yaml_files_recursively_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs_err::create_dir_all(root.join("slices/sub/.hidden")).unwrap();
    fs_err::write(root.join("chisel.yaml"), v1()).unwrap();
    let package = |name: &str, path: &str| {
        format!("package: {name}\nslices:\n  myslice:\n    contents:\n      /{name}/{path}:\n")
    };
    fs_err::write(root.join("slices/aaa.yaml"), package("aaa", "x")).unwrap();
    fs_err::write(root.join("slices/sub/bbb.yaml"), package("bbb", "x")).unwrap();
    fs_err::write(
        root.join("slices/sub/.hidden/ccc.yaml"),
        package("ccc", "x"),
    )
    .unwrap();
    // Other extensions are not slice definitions, even `.yml`.
    fs_err::write(root.join("slices/ddd.yml"), "not: [yaml").unwrap();
    fs_err::write(root.join("slices/README.md"), "# notes").unwrap();

    let read = read_dir(root).unwrap();
    let paths: Vec<&str> = read.iter().map(|file| file.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "chisel.yaml",
            "slices/aaa.yaml",
            "slices/sub/.hidden/ccc.yaml",
            "slices/sub/bbb.yaml"
        ]
    );
    let got = load_dir(root).unwrap();
    let packages: Vec<(&str, &str)> = got
        .packages
        .values()
        .map(|package| (package.name.as_str(), package.path.as_str()))
        .collect();
    assert_eq!(
        packages,
        [
            ("aaa", "slices/aaa.yaml"),
            ("bbb", "slices/sub/bbb.yaml"),
            ("ccc", "slices/sub/.hidden/ccc.yaml")
        ]
    );

    // The same package in two folders names both files, in sorted order.
    fs_err::write(root.join("slices/sub/aaa.yaml"), package("aaa", "y")).unwrap();
    assert_eq!(
        errors(load_dir(root)),
        ["slices/sub/aaa.yaml: package \"aaa\" slices defined more than once: slices/aaa.yaml and slices/sub/aaa.yaml"]
    );
}

// ---------------------------------------------------------------------------------------------
// chisel.yaml (SPEC §2).

#[test]
fn unknown_format_is_rejected() {
    // 1
    for (format, shown) in [
        ("format: chisel-v1\n", "chisel-v1"),
        ("format: v4\n", "v4"),
        ("format: V1\n", "V1"),
        ("archives: {}\n", ""),
    ] {
        assert_eq!(
            errors(release(format, &[])),
            [format!(
                "chisel.yaml: unknown format \"{shown}\" (expected v1, v2 or v3)"
            )]
        );
    }
}

#[test]
fn no_archives_is_rejected() {
    // 2
    let without = with_keys(
        "
        format: v1
        maintenance:
          standard: 2024-04-25
          end-of-life: 2036-04-29
        ",
    );
    assert_eq!(
        errors(release(&without, &[])),
        ["chisel.yaml: no archives defined"]
    );
    let empty = with_keys(
        "
        format: v1
        maintenance:
          standard: 2024-04-25
          end-of-life: 2036-04-29
        archives: {}
        v2-archives: {}
        ",
    );
    assert_eq!(
        errors(release(&empty, &[])),
        ["chisel.yaml: no archives defined"]
    );
}

#[test]
fn version_is_kept_as_literal_text() {
    let chisel = with_keys(
        "
        format: v3
        maintenance:
          standard: 2024-10-10
          end-of-life: 2025-07-10
        archives:
          ubuntu:
            version: 24.10
            suites: [oracular]
            components: [main]
            public-keys: [test-key]
        ",
    );
    let got = loaded(release(&chisel, &[]));
    assert_eq!(got.archives["ubuntu"].version, "24.10");
}

#[test]
fn archive_missing_fields_are_rejected() {
    let chisel = with_keys(
        "
        format: v1
        maintenance:
          standard: 2024-04-25
          end-of-life: 2036-04-29
        archives:
          no-version:
            suites: [noble]
            components: [main]
            public-keys: [test-key]
            priority: 1
          no-suites:
            version: 24.04
            suites: []
            components: [main]
            public-keys: [test-key]
            priority: 2
          no-components:
            version: 24.04
            suites: [noble]
            public-keys: [test-key]
            priority: 3
          no-keys:
            version: 24.04
            suites: [noble]
            components: [main]
            priority: 4
          ubuntu:
            version: 24.04
            suites: [noble]
            components: [main]
            public-keys: [test-key]
            priority: 5
        ",
    );
    assert_eq!(
        errors(release(&chisel, &[])),
        [
            "chisel.yaml:6:3: archive \"no-version\" missing version field",
            "chisel.yaml:11:3: archive \"no-suites\" missing suites field",
            "chisel.yaml:17:3: archive \"no-components\" missing components field",
            "chisel.yaml:22:3: archive \"no-keys\" missing public-keys field",
        ]
    );
}

#[test]
fn undefined_public_key_name_is_rejected() {
    // 25 (armor decoding and the key ID check are not implemented yet)
    let chisel = with_keys(
        "
        format: v2
        maintenance:
          standard: 2024-04-25
          end-of-life: 2036-04-29
        archives:
          ubuntu:
            version: 24.04
            suites: [noble]
            components: [main]
            public-keys: [test-key, other-key]
        ",
    );
    assert_eq!(
        errors(release(&chisel, &[])),
        ["chisel.yaml:6:3: archive \"ubuntu\" refers to undefined public key \"other-key\""]
    );
}

#[test]
fn public_key_without_id_or_armor_is_rejected() {
    let chisel = dedent(
        "
        format: v1
        maintenance:
          standard: 2024-04-25
          end-of-life: 2036-04-29
        archives:
          ubuntu:
            version: 24.04
            suites: [noble]
            components: [main]
            public-keys: [no-id, no-armor]
        public-keys:
          no-id:
            armor: x
          no-armor:
            id: 871920D1991BC93C
        ",
    );
    assert_eq!(
        errors(release(&chisel, &[])),
        [
            "chisel.yaml:6:3: archive \"ubuntu\" refers to undefined public key \"no-armor\"",
            "chisel.yaml:6:3: archive \"ubuntu\" refers to undefined public key \"no-id\"",
            "chisel.yaml:12:3: public key \"no-id\" missing id or armor field",
            "chisel.yaml:14:3: public key \"no-armor\" missing id or armor field",
        ]
    );
}

#[test]
fn priorities_must_all_be_set_or_all_unset() {
    // 21: mixing set and unset; the alphabetically first archive without one is named.
    let chisel = chisel_archives(
        "v1",
        &[
            ("ubuntu", "priority: 10"),
            ("zzz", ""),
            ("other", ""),
            ("aaa", "priority: 20"),
        ],
    );
    assert_eq!(
        errors(release(&chisel, &[])),
        ["chisel.yaml:8:3: archive \"other\" is missing the priority setting"]
    );
    // Several archives, neither priorities nor a default.
    let chisel = chisel_archives("v1", &[("ubuntu", ""), ("other", "")]);
    assert_eq!(
        errors(release(&chisel, &[])),
        ["chisel.yaml: archive \"other\" is missing the priority setting"]
    );
    // A single archive without priority is fine and gets 0.
    let chisel = chisel_archives("v3", &[("ubuntu", "")]);
    assert_eq!(
        priorities(release(&chisel, &[])),
        [("ubuntu".to_owned(), 0)]
    );
}

#[test]
fn priorities_must_be_nonzero_within_range_and_distinct() {
    // 21
    for bad in ["0", "10000", "-1001", "1001", "99999999999"] {
        let chisel = chisel_archives("v2", &[("ubuntu", &format!("priority: {bad}"))]);
        assert_eq!(
            errors(release(&chisel, &[])),
            [format!(
                "chisel.yaml:6:3: archive \"ubuntu\" has invalid priority value of {bad} \
                 (expected a non-zero integer from -1000 to 1000)"
            )]
        );
    }
    let chisel = chisel_archives(
        "v2",
        &[
            ("ubuntu", "priority: 1000"),
            ("other", "priority: -1000"),
            ("third", "priority: -1"),
        ],
    );
    assert_eq!(
        priorities(release(&chisel, &[])),
        [
            ("other".to_owned(), -1000),
            ("third".to_owned(), -1),
            ("ubuntu".to_owned(), 1000)
        ]
    );
    let chisel = chisel_archives(
        "v2",
        &[
            ("ubuntu", "priority: 10"),
            ("zzz", "priority: 10"),
            ("aaa", "priority: 10"),
            ("mmm", "priority: 5"),
        ],
    );
    assert_eq!(
        errors(release(&chisel, &[])),
        [
            "chisel.yaml: archives \"aaa\" and \"ubuntu\" have the same priority value of 10",
            "chisel.yaml: archives \"ubuntu\" and \"zzz\" have the same priority value of 10",
        ]
    );
}

#[test]
fn v1_default_gets_plus_one_and_the_others_minus_n_by_name() {
    // 22
    let chisel = chisel_archives(
        "v1",
        &[
            ("zeta", ""),
            ("ubuntu", "default: true"),
            ("alpha", ""),
            ("mid", "default: false"),
        ],
    );
    assert_eq!(
        priorities(release(&chisel, &[])),
        [
            ("alpha".to_owned(), -1),
            ("mid".to_owned(), -2),
            ("ubuntu".to_owned(), 1),
            ("zeta".to_owned(), -4),
        ]
    );
    // With priorities, `default` is ignored.
    let chisel = chisel_archives(
        "v1",
        &[
            ("ubuntu", "priority: 20"),
            ("other", "priority: 30, default: true"),
        ],
    );
    assert_eq!(
        priorities(release(&chisel, &[])),
        [("other".to_owned(), 30), ("ubuntu".to_owned(), 20)]
    );
    // A lone default archive keeps priority 0.
    let chisel = chisel_archives("v1", &[("ubuntu", "default: true")]);
    assert_eq!(
        priorities(release(&chisel, &[])),
        [("ubuntu".to_owned(), 0)]
    );
}

#[test]
fn two_defaults_are_rejected() {
    // 23
    let chisel = chisel_archives(
        "v1",
        &[
            ("zzz", "default: true"),
            ("ubuntu", "default: true"),
            ("aaa", ""),
        ],
    );
    assert_eq!(
        errors(release(&chisel, &[])),
        ["chisel.yaml: more than one default archive: ubuntu, zzz"]
    );
}

#[test]
fn default_is_obsolete_since_v2() {
    // 23
    for format in ["v2", "v3"] {
        let chisel = chisel_archives(
            format,
            &[("ubuntu", "default: true"), ("other", "default: false")],
        );
        assert_eq!(
            errors(release(&chisel, &[])),
            [
                "chisel.yaml:6:3: archive \"ubuntu\" has 'default' field which is obsolete since format v2",
                "chisel.yaml:7:3: archive \"other\" has 'default' field which is obsolete since format v2",
            ]
        );
    }
}

const V2_ARCHIVES: &str = "
    maintenance:
      standard: 2024-04-25
      end-of-life: 2036-04-29
    archives:
      ubuntu:
        version: 24.04
        suites: [noble]
        components: [main]
        public-keys: [test-key]
        priority: 10
    v2-archives:
      esm-apps:
        pro: esm-apps
        version: 24.04
        suites: [noble-apps-security]
        components: [main]
        public-keys: [test-key]
        priority: 16
";

#[test]
fn v2_archives_are_merged_in_v1() {
    let chisel = format!("format: v1\n{}", with_keys(V2_ARCHIVES));
    let got = loaded(release(&chisel, &[]));
    assert_eq!(
        got.archives["esm-apps"],
        Archive {
            name: "esm-apps".to_owned(),
            version: "24.04".to_owned(),
            suites: vec!["noble-apps-security".to_owned()],
            components: vec!["main".to_owned()],
            public_keys: vec!["test-key".to_owned()],
            priority: 16,
            pro: Pro::EsmApps,
            url: None,
        }
    );
    assert_eq!(got.archives["ubuntu"].priority, 10);
    assert_eq!(got.archives.len(), 2);
}

#[test]
fn v2_archives_are_obsolete_since_v2() {
    // 23
    for format in ["v2", "v3"] {
        let chisel = format!("format: {format}\n{}", with_keys(V2_ARCHIVES));
        assert_eq!(
            errors(release(&chisel, &[])),
            ["chisel.yaml: v2-archives is obsolete since format v2"]
        );
    }
}

#[test]
fn archive_in_both_maps_is_defined_twice() {
    // 23
    let chisel = with_keys(
        "
        format: v1
        maintenance:
          standard: 2024-04-25
          end-of-life: 2036-04-29
        archives:
          ubuntu:
            version: 24.04
            suites: [noble]
            components: [main]
            public-keys: [test-key]
        v2-archives:
          ubuntu:
            version: 24.04
            suites: [noble]
            components: [main]
            public-keys: [test-key]
        ",
    );
    assert_eq!(
        errors(release(&chisel, &[])),
        ["chisel.yaml:12:3: archive \"ubuntu\" defined twice"]
    );
}

#[test]
fn invalid_pro_value_drops_the_archive_with_a_notice() {
    // 24, 28
    let chisel = chisel_archives(
        "v1",
        &[
            ("ubuntu", "priority: 10"),
            ("bogus", "priority: 20, pro: esm-everything"),
            ("fips", "priority: -1, pro: fips"),
            ("fips-updates", "priority: -2, pro: fips-updates"),
            ("esm-apps", "priority: -3, pro: esm-apps"),
            ("esm-infra", "priority: -4, pro: esm-infra"),
            ("plain", "priority: -5, pro: ''"),
        ],
    );
    let got = loaded(release(&chisel, &[]));
    assert_eq!(
        got.notices,
        ["Archive \"bogus\" ignored: invalid pro value: \"esm-everything\""]
    );
    let pro: Vec<(&str, Pro)> = got
        .archives
        .values()
        .map(|archive| (archive.name.as_str(), archive.pro))
        .collect();
    assert_eq!(
        pro,
        [
            ("esm-apps", Pro::EsmApps),
            ("esm-infra", Pro::EsmInfra),
            ("fips", Pro::Fips),
            ("fips-updates", Pro::FipsUpdates),
            ("plain", Pro::None),
            ("ubuntu", Pro::None),
        ]
    );

    // A dropped archive is not there to pin; nor is any other undefined one (28).
    let pinned = |archive: &str| {
        format!(
            "package: mypkg\narchive: {archive}\nslices:\n  myslice:\n    contents:\n      /x:\n"
        )
    };
    for archive in ["bogus", "nowhere"] {
        let text = pinned(archive);
        assert_eq!(
            errors(super::load_files(
                "test-release",
                &[
                    source("chisel.yaml", &chisel),
                    source("slices/mypkg.yaml", &text)
                ]
            )),
            [format!(
                "slices/mypkg.yaml: package refers to undefined archive \"{archive}\""
            )]
        );
    }
    let text = pinned("fips");
    let got = loaded(load_files(
        "test-release",
        &[
            source("chisel.yaml", &chisel),
            source("slices/mypkg.yaml", &text),
        ],
    ));
    assert_eq!(got.packages["mypkg"].archive.as_deref(), Some("fips"));
}

#[test]
fn archive_url_extension_must_be_http() {
    let chisel = chisel_archives(
        "v1",
        &[
            (
                "ubuntu",
                "priority: 1, url: 'http://deb.debian.org/debian/'",
            ),
            (
                "mirror",
                "priority: 2, url: 'https://mirror.example/ubuntu/'",
            ),
        ],
    );
    let got = loaded(release(&chisel, &[]));
    assert_eq!(
        got.archives["ubuntu"].url.as_deref(),
        Some("http://deb.debian.org/debian/")
    );
    assert_eq!(
        got.archives["mirror"].url.as_deref(),
        Some("https://mirror.example/ubuntu/")
    );
    let chisel = chisel_archives("v1", &[("ubuntu", "url: 'ftp://example/'")]);
    assert_eq!(
        errors(release(&chisel, &[])),
        ["chisel.yaml:6:3: archive \"ubuntu\" has invalid url \"ftp://example/\" (expected http:// or https://)"]
    );
}

fn with_maintenance(maintenance: &str) -> String {
    format!(
        "format: v1\n{maintenance}archives:\n  ubuntu: {{version: 24.04, suites: [noble], components: [main], public-keys: [test-key]}}\n"
    ) + &public_keys()
}

#[test]
fn maintenance_needs_standard_and_end_of_life() {
    // 26
    assert_eq!(
        errors(release(
            &with_maintenance("maintenance:\n  end-of-life: 2036-04-29\n"),
            &[]
        )),
        ["chisel.yaml: cannot parse maintenance: \"standard\" is unset"]
    );
    assert_eq!(
        errors(release(
            &with_maintenance("maintenance:\n  standard: 2024-04-25\n"),
            &[]
        )),
        ["chisel.yaml: cannot parse maintenance: \"end-of-life\" is unset"]
    );
    assert_eq!(
        errors(release(&with_maintenance("maintenance: {}\n"), &[])),
        ["chisel.yaml: cannot parse maintenance: \"standard\" is unset"]
    );
}

#[test]
fn maintenance_dates_must_be_iso() {
    // 26
    for (key, value) in [
        ("standard", "25-04-2024"),
        ("standard", "2024-4-25"),
        ("end-of-life", "2036-02-30"),
        ("expanded", "April 2029"),
        ("legacy", "2034-04-25T00:00:00Z"),
    ] {
        let mut fields = BTreeMap::from([
            ("standard", "2024-04-25"),
            ("expanded", "2029-05-31"),
            ("legacy", "2034-04-25"),
            ("end-of-life", "2036-04-29"),
        ]);
        fields.insert(key, value);
        let block: String = fields
            .iter()
            .map(|(key, value)| format!("  {key}: {value}\n"))
            .collect();
        assert_eq!(
            errors(release(
                &with_maintenance(&format!("maintenance:\n{block}")),
                &[]
            )),
            [format!(
                "chisel.yaml: cannot parse maintenance: expected format for \"{key}\" is YYYY-MM-DD, got \"{value}\""
            )]
        );
    }
    let got = loaded(release(
        &with_maintenance("maintenance:\n  standard: 2024-02-29\n  end-of-life: 2036-04-29\n"),
        &[],
    ));
    assert_eq!(
        got.maintenance,
        Maintenance {
            standard: date("2024-02-29"),
            expanded: None,
            legacy: None,
            end_of_life: date("2036-04-29"),
        }
    );
}

#[test]
fn maintenance_defaults_come_from_the_ubuntu_archive_version() {
    // 26: no maintenance block: the table is looked up by the `ubuntu` archive's version.
    let chisel = |name: &str, version: &str| {
        format!(
            "format: v1\narchives:\n  {name}: {{version: {version}, suites: [noble], components: [main], public-keys: [test-key]}}\n"
        ) + &public_keys()
    };
    let got = loaded(release(&chisel("ubuntu", "24.04"), &[]));
    assert_eq!(
        got.maintenance,
        Maintenance {
            standard: date("2024-04-25"),
            expanded: Some(date("2029-05-31")),
            legacy: Some(date("2034-04-25")),
            end_of_life: date("2036-04-29"),
        }
    );
    let got = loaded(release(&chisel("ubuntu", "24.10"), &[]));
    assert_eq!(
        got.maintenance,
        Maintenance {
            standard: date("2024-10-10"),
            expanded: None,
            legacy: None,
            end_of_life: date("2025-07-10"),
        }
    );
    for (name, version) in [("ubuntu", "30.04"), ("ubuntu", "24.4"), ("noble", "24.04")] {
        assert_eq!(
            errors(release(&chisel(name, version), &[])),
            ["chisel.yaml: cannot parse maintenance: \"standard\" is unset"],
            "{name} {version}"
        );
    }
}

#[test]
fn unknown_fields_are_ignored_everywhere() {
    // 27
    let chisel = with_keys(
        "
        format: v3
        future-top-level: {anything: [1, 2]}
        maintenance:
          standard: 2024-04-25
          end-of-life: 2036-04-29
          future-phase: 2040-01-01
        archives:
          ubuntu:
            version: 24.04
            suites: [noble]
            components: [main]
            public-keys: [test-key]
            future-archive-field: yes
        ",
    ) + "    future-key-field: 1\n";
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        future-package-field: [a, b]
        essential:
          mypkg_copyright: {arch: amd64, future-essential-field: 1}
        slices:
          copyright:
            future-slice-field: {x: y}
            contents:
              /usr/share/doc/mypkg/copyright: {future-path-field: 3}
          bins:
            contents:
              /usr/bin/mytool: {mode: 0755, future: true}
        ",
    );
    let got = loaded(release(&chisel, &[package]));
    assert_eq!(
        essentials(&got, "mypkg_bins"),
        [("mypkg_copyright".to_owned(), vec![Arch::Amd64])]
    );
    assert_eq!(
        contents(&got, "mypkg_bins")["/usr/bin/mytool"],
        PathInfo {
            mode: 0o755,
            ..copy()
        }
    );
    assert_eq!(got.public_keys["test-key"].id, TEST_KEY_ID);
}

#[test]
fn chisel_yaml_syntax_and_type_errors() {
    let duplicate = with_keys(
        "
        format: v1
        maintenance:
          standard: 2024-04-25
          end-of-life: 2036-04-29
        archives:
          ubuntu:
            version: 24.04
            version: 24.10
            suites: [noble]
            components: [main]
            public-keys: [test-key]
        ",
    );
    assert_eq!(
        errors(release(&duplicate, &[])),
        ["chisel.yaml:8:5: cannot parse release definition: duplicate mapping key `version` is not allowed here"]
    );
    assert_eq!(
        errors(release("format: v1\narchives: [\n", &[])),
        ["chisel.yaml:2:11: cannot parse release definition: expected mapping start"]
    );
    assert_eq!(
        errors(release(
            "format: v1\narchives:\n  ubuntu: {priority: high}\n",
            &[]
        )),
        ["chisel.yaml:3:22: cannot parse release definition: invalid i64"]
    );
}

// ---------------------------------------------------------------------------------------------
// Slice definition files (SPEC §3).

#[test]
fn file_stem_must_match_package_field() {
    // 3
    let other = (
        "slices/mypkg.yaml",
        "package: other\nslices:\n  myslice:\n    hint: x\n",
    );
    let missing = (
        "slices/sub/nopkg.yaml",
        "slices:\n  myslice:\n    hint: x\n",
    );
    assert_eq!(
        errors(release(&v1(), &[other, missing])),
        [
            "slices/mypkg.yaml: filename and 'package' field (\"other\") disagree",
            "slices/sub/nopkg.yaml: filename and 'package' field (\"\") disagree",
        ]
    );
}

#[test]
fn package_defined_twice_names_both_paths() {
    // 4
    let first = ("slices/mypkg.yaml", MYPKG.1);
    let second = ("slices/sub/dir/mypkg.yaml", MYPKG.1);
    assert_eq!(
        errors(release(&v2(), &[first, second])),
        ["slices/sub/dir/mypkg.yaml: package \"mypkg\" slices defined more than once: slices/mypkg.yaml and slices/sub/dir/mypkg.yaml"]
    );
}

#[test]
fn slice_and_file_names_follow_the_naming_rules() {
    // 5
    let bad_slices = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          cc:
          a-b:
          abc-:
          1abc:
          Abc:
          ab_c:
          good-one:
          abc:
        ",
    );
    assert_eq!(
        errors(release(&v1(), &[bad_slices])),
        [
            "slices/mypkg.yaml:3:3: invalid slice name \"cc\" (must start with a-z, len >= 3, only a-z / 0-9 / -)",
            "slices/mypkg.yaml:4:3: invalid slice name \"a-b\" (must start with a-z, len >= 3, only a-z / 0-9 / -)",
            "slices/mypkg.yaml:5:3: invalid slice name \"abc-\" (must start with a-z, len >= 3, only a-z / 0-9 / -)",
            "slices/mypkg.yaml:6:3: invalid slice name \"1abc\" (must start with a-z, len >= 3, only a-z / 0-9 / -)",
            "slices/mypkg.yaml:7:3: invalid slice name \"Abc\" (must start with a-z, len >= 3, only a-z / 0-9 / -)",
            "slices/mypkg.yaml:8:3: invalid slice name \"ab_c\" (must start with a-z, len >= 3, only a-z / 0-9 / -)",
        ]
    );

    let files = ["a", "A1", "Mypkg", "my_pkg", "-ab", "ab-", "a--b", "my pkg"];
    for stem in files {
        let path = format!("slices/{stem}.yaml");
        assert_eq!(
            errors(release(&v1(), &[(&path, "package: x\n")])),
            [format!(
                "{path}: invalid slice definition filename: \"{stem}.yaml\" (expected a package name and .yaml)"
            )]
        );
    }
    // Two characters are enough for a package; `+` and `.` are allowed.
    let got = loaded(release(
        &v1(),
        &[
            ("slices/jq.yaml", "package: jq\nslices:\n  bins:\n"),
            ("slices/g++.yaml", "package: g++\nslices:\n  bins:\n"),
            ("slices/1.2a.yaml", "package: 1.2a\n"),
        ],
    ));
    assert_eq!(
        got.packages.keys().collect::<Vec<_>>(),
        ["1.2a", "g++", "jq"]
    );
    assert!(got.packages["jq"].slices["bins"].contents.is_empty());
}

#[test]
fn hints_are_at_most_40_printable_characters() {
    // 6; kerf counts characters where chisel counts bytes (SPEC §9 #12).
    let hint = |hint: &str| {
        format!(
            "package: mypkg\nslices:\n  myslice:\n    hint: {}\n",
            serde_quote(hint)
        )
    };
    for good in [
        "x".repeat(40),
        "é".repeat(40),
        "Tools, and more: (c) 2024 — ok!".to_owned(),
        String::new(),
    ] {
        let text = hint(&good);
        let got = loaded(release(&v1(), &[("slices/mypkg.yaml", &text)]));
        assert_eq!(got.packages["mypkg"].slices["myslice"].hint, good);
    }
    for (bad, shown) in [
        ("x".repeat(41), "x".repeat(41)),
        ("a\nb".to_owned(), "a\nb".to_owned()),
        ("a\tb".to_owned(), "a\tb".to_owned()),
        ("a\u{a0}b".to_owned(), "a\u{a0}b".to_owned()),
        ("bell\u{7}".to_owned(), "bell\u{7}".to_owned()),
    ] {
        let text = hint(&bad);
        assert_eq!(
            errors(release(&v1(), &[("slices/mypkg.yaml", &text)])),
            [format!(
                "slices/mypkg.yaml:3:3: slice mypkg_myslice has invalid hint \"{shown}\" \
                 (must be len <= 40, printable, with no other whitespace than spaces)"
            )]
        );
    }
}

/// A YAML double-quoted scalar for `text`.
fn serde_quote(text: &str) -> String {
    let mut out = String::from('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[test]
fn content_paths_must_be_absolute_and_clean() {
    // 7
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          myslice:
            contents:
              ./foo/:
              /foo/../:
              foo:
              /:
              /a//b:
              /a/./b:
              /a/b//:
              /a/b/:
              /a/b:
        ",
    );
    let invalid = |line: u32, path: &str| {
        format!("slices/mypkg.yaml:{line}:7: slice mypkg_myslice has invalid content path: {path}")
    };
    assert_eq!(
        errors(release(&v1(), &[package])),
        [
            invalid(5, "./foo/"),
            invalid(6, "/foo/../"),
            invalid(7, "foo"),
            invalid(8, "/"),
            invalid(9, "/a//b"),
            invalid(10, "/a/./b"),
            invalid(11, "/a/b//"),
        ]
    );
}

#[test]
fn make_needs_a_trailing_slash() {
    // 7
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          myslice:
            contents:
              /etc/mydir: {make: true}
              /etc/other: {make: false}
              /etc/made/: {make: true, mode: 01777}
        ",
    );
    assert_eq!(
        errors(release(&v1(), &[package])),
        ["slices/mypkg.yaml:5:7: slice mypkg_myslice path /etc/mydir must end in / for 'make' to be valid"]
    );
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          myslice:
            contents:
              /etc/other: {make: false}
              /etc/made/: {make: true, mode: 01777}
        ",
    );
    let got = loaded(release(&v1(), &[package]));
    assert_eq!(
        contents(&got, "mypkg_myslice"),
        BTreeMap::from([
            ("/etc/other".to_owned(), copy()),
            (
                "/etc/made/".to_owned(),
                PathInfo {
                    mode: 0o1777,
                    ..path_info(PathKind::Make, "")
                }
            ),
        ])
    );
}

#[test]
fn every_kind_of_content_is_read() {
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          myslice:
            contents:
              /usr/bin/plain:
              /usr/bin/null-options: {}
              /usr/bin/copied: {copy: /usr/bin/original}
              /usr/bin/same-copy: {copy: /usr/bin/same-copy}
              /etc/dir/: {make: true}
              /etc/text: {text: \"hello\\n\", mode: 0600, mutable: true}
              /etc/empty: {text: \"\"}
              /usr/bin/link: {symlink: ../lib/target}
              /usr/lib/*.so.*: {until: mutate, arch: [amd64, arm64]}
              /var/lib/kerf/**: {generate: manifest, arch: s390x}
              /var/lib/other/**: {generate: sbom}
              /lib64/ld.so: {arch: amd64}
            mutate: |
              content.write(\"/etc/text\", \"x\")
        ",
    );
    let got = loaded(release(&v3(), &[package]));
    let slice = got.slice(&key("mypkg_myslice")).unwrap();
    assert_eq!(slice.mutate, "content.write(\"/etc/text\", \"x\")\n");
    assert_eq!(
        slice.contents,
        BTreeMap::from([
            ("/usr/bin/plain".to_owned(), copy()),
            ("/usr/bin/null-options".to_owned(), copy()),
            (
                "/usr/bin/copied".to_owned(),
                path_info(PathKind::Copy, "/usr/bin/original")
            ),
            // `copy` equal to the path is the same as no option.
            ("/usr/bin/same-copy".to_owned(), copy()),
            ("/etc/dir/".to_owned(), path_info(PathKind::Make, "")),
            (
                "/etc/text".to_owned(),
                PathInfo {
                    mode: 0o600,
                    mutable: true,
                    ..path_info(PathKind::Text, "hello\n")
                }
            ),
            // An empty text is a text, not "no option".
            ("/etc/empty".to_owned(), path_info(PathKind::Text, "")),
            (
                "/usr/bin/link".to_owned(),
                path_info(PathKind::Symlink, "../lib/target")
            ),
            (
                "/usr/lib/*.so.*".to_owned(),
                PathInfo {
                    until: Until::Mutate,
                    arch: ArchSet(vec![Arch::Amd64, Arch::Arm64]),
                    ..path_info(PathKind::Glob, "")
                }
            ),
            (
                "/var/lib/kerf/**".to_owned(),
                PathInfo {
                    arch: ArchSet(vec![Arch::S390x]),
                    generate: Some(Generate::Manifest),
                    ..path_info(PathKind::Generate, "")
                }
            ),
            // An unknown generate value loads; it only fails when the slice is selected (16).
            (
                "/var/lib/other/**".to_owned(),
                PathInfo {
                    generate: Some(Generate::Unknown("sbom".to_owned())),
                    ..path_info(PathKind::Generate, "")
                }
            ),
            (
                "/lib64/ld.so".to_owned(),
                PathInfo {
                    arch: ArchSet(vec![Arch::Amd64]),
                    ..copy()
                }
            ),
        ])
    );
}

#[test]
fn scalars_are_read_as_their_literal_text() {
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          myslice:
            hint: 2024
            contents:
              /etc/octal: {text: 0755}
              /etc/float: {text: 1.10}
              /etc/bool: {text: yes}
              /etc/null: {text: ~}
              /usr/bin/link: {symlink: 1.0}
        ",
    );
    let got = loaded(release(&v1(), &[package]));
    assert_eq!(got.slice(&key("mypkg_myslice")).unwrap().hint, "2024");
    assert_eq!(
        contents(&got, "mypkg_myslice"),
        BTreeMap::from([
            ("/etc/octal".to_owned(), path_info(PathKind::Text, "0755")),
            ("/etc/float".to_owned(), path_info(PathKind::Text, "1.10")),
            ("/etc/bool".to_owned(), path_info(PathKind::Text, "yes")),
            // A null text is no text at all: the path is copied.
            ("/etc/null".to_owned(), copy()),
            (
                "/usr/bin/link".to_owned(),
                path_info(PathKind::Symlink, "1.0")
            ),
        ])
    );
}

#[test]
fn copy_equal_to_the_path_is_the_same_as_none() {
    // So the two slices agree on the path and may share it.
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          one:
            contents:
              /usr/bin/tool: {copy: /usr/bin/tool}
          two:
            contents:
              /usr/bin/tool:
        ",
    );
    let got = loaded(release(&v1(), &[package]));
    assert_eq!(contents(&got, "mypkg_one"), contents(&got, "mypkg_two"));
}

#[test]
fn mode_is_a_yaml_integer() {
    let package = |mode: &str| {
        format!("package: mypkg\nslices:\n  myslice:\n    contents:\n      /etc/dir/: {{make: true, mode: {mode}}}\n")
    };
    for (mode, expected) in [
        ("0755", 0o755),
        ("0o755", 0o755),
        ("755", 755),
        ("04755", 0o4755),
        ("0", 0),
        ("0x1ed", 0o755),
    ] {
        let text = package(mode);
        let got = loaded(release(&v1(), &[("slices/mypkg.yaml", &text)]));
        assert_eq!(
            contents(&got, "mypkg_myslice")["/etc/dir/"].mode,
            expected,
            "{mode}"
        );
    }
    for (mode, error) in [
        ("'0755'", "slices/mypkg.yaml:5:31: cannot parse package \"mypkg\" slice definitions: invalid type: string \"0755\", expected an integer file mode such as 0644"),
        ("-1", "slices/mypkg.yaml:5:37: cannot parse package \"mypkg\" slice definitions: negative file mode -1"),
        ("0o17777", "slices/mypkg.yaml:5:7: slice mypkg_myslice has invalid mode for path /etc/dir/: 0o17777 (expected at most 07777)"),
        ("10000", "slices/mypkg.yaml:5:7: slice mypkg_myslice has invalid mode for path /etc/dir/: 0o23420 (expected at most 07777)"),
    ] {
        let text = package(mode);
        assert_eq!(
            errors(release(&v1(), &[("slices/mypkg.yaml", &text)])),
            [error],
            "{mode}"
        );
    }
}

#[test]
fn a_path_has_one_kind() {
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          myslice:
            contents:
              /a: {text: x, symlink: /b}
              /b/: {make: true, copy: /c/}
              /c: {make: true, text: x, symlink: y, copy: /d}
        ",
    );
    assert_eq!(
        errors(release(&v1(), &[package])),
        [
            "slices/mypkg.yaml:5:7: conflict in slice mypkg_myslice definition for path /a: text, symlink",
            "slices/mypkg.yaml:6:7: conflict in slice mypkg_myslice definition for path /b/: make, copy",
            "slices/mypkg.yaml:7:7: conflict in slice mypkg_myslice definition for path /c: make, text, symlink, copy",
        ]
    );
}

#[test]
fn globs_allow_only_until_and_arch() {
    // 8
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          myslice:
            contents:
              /a/*: {text: x}
              /b/*: {mode: 0644}
              /c/*: {mutable: true}
              /d/*: {prefer: other}
              /e/*: {copy: /e/x}
              /f/*/: {make: true}
              /g/?: {symlink: /x}
              /h/**: {until: mutate, arch: amd64}
              /i/*: {until: mutate, arch: [amd64, i386]}
              /j/?x: {mutable: false, make: false}
        ",
    );
    let invalid = |line: u32, path: &str| {
        format!("slices/mypkg.yaml:{line}:7: slice mypkg_myslice path {path} has invalid wildcard options (only 'until' and 'arch' apply to globs)")
    };
    let other = ("slices/other.yaml", "package: other\n");
    assert_eq!(
        errors(release(&v1(), &[package, other])),
        [
            invalid(5, "/a/*"),
            invalid(6, "/b/*"),
            invalid(7, "/c/*"),
            invalid(8, "/d/*"),
            invalid(9, "/e/*"),
            invalid(10, "/f/*/"),
            invalid(11, "/g/?"),
        ]
    );
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          myslice:
            contents:
              /h/**: {until: mutate, arch: amd64}
              /i/*: {until: mutate, arch: [amd64, i386]}
              /j/?x: {mutable: false, make: false}
        ",
    );
    let got = loaded(release(&v1(), &[package]));
    assert_eq!(
        contents(&got, "mypkg_myslice")["/i/*"],
        PathInfo {
            until: Until::Mutate,
            arch: ArchSet(vec![Arch::Amd64, Arch::I386]),
            ..path_info(PathKind::Glob, "")
        }
    );
}

#[test]
fn mutable_must_be_a_regular_file() {
    // 9
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          myslice:
            contents:
              /usr/share/dir/: {mutable: true}
              /etc/made/: {make: true, mutable: true}
              /usr/bin/link: {symlink: target, mutable: true}
              /etc/file: {mutable: true}
              /etc/text: {text: x, mutable: true}
              /etc/copied: {copy: /etc/orig, mutable: true}
        ",
    );
    let invalid = |line: u32, path: &str| {
        format!(
            "slices/mypkg.yaml:{line}:7: slice mypkg_myslice mutable is not a regular file: {path}"
        )
    };
    assert_eq!(
        errors(release(&v1(), &[package])),
        [
            invalid(5, "/usr/share/dir/"),
            invalid(6, "/etc/made/"),
            invalid(7, "/usr/bin/link"),
        ]
    );
}

#[test]
fn until_and_arch_values_are_checked() {
    // 9
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          myslice:
            contents:
              /a: {until: mutated}
              /b: {until: [mutate]}
        ",
    );
    assert_eq!(
        errors(release(&v1(), &[package])),
        ["slices/mypkg.yaml:6:19: cannot parse package \"mypkg\" slice definitions: expected string scalar"]
    );
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          myslice:
            contents:
              /a: {until: mutated}
              /c: {arch: aarch64}
              /d: {arch: [amd64, x86_64, arm64, i686]}
              /e/*: {until: never}
              /f: {until: '', arch: []}
        ",
    );
    assert_eq!(
        errors(release(&v1(), &[package])),
        [
            "slices/mypkg.yaml:5:7: slice mypkg_myslice has invalid 'until' for path /a: \"mutated\" (expected mutate)",
            "slices/mypkg.yaml:6:7: slice mypkg_myslice has invalid 'arch' for path /c: \"aarch64\"",
            "slices/mypkg.yaml:7:7: slice mypkg_myslice has invalid 'arch' for path /d: \"i686\"",
            "slices/mypkg.yaml:7:7: slice mypkg_myslice has invalid 'arch' for path /d: \"x86_64\"",
            "slices/mypkg.yaml:8:7: slice mypkg_myslice has invalid 'until' for path /e/*: \"never\" (expected mutate)",
        ]
    );
}

#[test]
fn generate_paths_end_in_double_star_and_take_only_arch() {
    // 16
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          myslice:
            contents:
              /var/lib/a: {generate: manifest}
              /var/lib/b/*: {generate: manifest}
              /var/lib/c*/**: {generate: manifest}
              /var/lib/d?/**: {generate: manifest}
              /var/lib/e/**/: {generate: manifest}
              /var/lib/f/**: {generate: manifest, mode: 0644}
              /var/lib/g/**: {generate: manifest, mutable: true}
              /var/lib/h/**: {generate: manifest, until: mutate}
              /var/lib/i/**: {generate: manifest, prefer: other}
              /var/lib/j/**: {generate: manifest, text: x}
              /var/lib/k/**: {generate: manifest, make: true}
              /var/lib/l/**: {generate: manifest, symlink: x}
              /var/lib/m/**: {generate: manifest, copy: /x}
        ",
    );
    let other = ("slices/other.yaml", "package: other\n");
    let no_star = |line: u32, path: &str| {
        format!("slices/mypkg.yaml:{line}:7: slice mypkg_myslice has invalid generate path: {path} does not end with /**")
    };
    let wildcard = |line: u32, path: &str| {
        format!("slices/mypkg.yaml:{line}:7: slice mypkg_myslice has invalid generate path: {path} contains wildcard characters in addition to trailing **")
    };
    let options = |line: u32, path: &str| {
        format!("slices/mypkg.yaml:{line}:7: slice mypkg_myslice path {path} has invalid generate options (only 'arch' may go with 'generate')")
    };
    assert_eq!(
        errors(release(&v1(), &[package, other])),
        [
            no_star(5, "/var/lib/a"),
            no_star(6, "/var/lib/b/*"),
            wildcard(7, "/var/lib/c*/**"),
            wildcard(8, "/var/lib/d?/**"),
            no_star(9, "/var/lib/e/**/"),
            options(10, "/var/lib/f/**"),
            options(11, "/var/lib/g/**"),
            options(12, "/var/lib/h/**"),
            options(13, "/var/lib/i/**"),
            options(14, "/var/lib/j/**"),
            options(15, "/var/lib/k/**"),
            options(16, "/var/lib/l/**"),
            options(17, "/var/lib/m/**"),
        ]
    );
}

#[test]
fn slice_yaml_duplicate_keys_are_rejected() {
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          myslice:
            contents:
              /x:
              /x: {text: y}
        ",
    );
    assert_eq!(
        errors(release(&v1(), &[package])),
        ["slices/mypkg.yaml:6:7: cannot parse package \"mypkg\" slice definitions: duplicate mapping key `/x` is not allowed here"]
    );
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          myslice:
            hint: a
          myslice:
            hint: b
        ",
    );
    assert_eq!(
        errors(release(&v1(), &[package])),
        ["slices/mypkg.yaml:5:3: cannot parse package \"mypkg\" slice definitions: duplicate mapping key `myslice` is not allowed here"]
    );
}

#[test]
fn slice_yaml_syntax_errors_have_line_and_column() {
    let cases = [
        (
            "package: mypkg\nslices:\n  myslice:\n    contents:\n      /x: {text: \"unclosed}\n",
            "slices/mypkg.yaml:5:18: cannot parse package \"mypkg\" slice definitions: unclosed quote",
        ),
        (
            "package: mypkg\nslices:\n  myslice:\n    contents:\n      /x: {text: x\n",
            "slices/mypkg.yaml:5:11: cannot parse package \"mypkg\" slice definitions: unclosed bracket '{'",
        ),
        (
            "package: mypkg\nslices:\n  myslice:\n\tcontents:\n",
            "slices/mypkg.yaml:4:2: cannot parse package \"mypkg\" slice definitions: tabs disallowed within this context (block indentation)",
        ),
        (
            "package: mypkg\nslices:\n  myslice:\n    contents:\n      /x: *nowhere\n",
            "slices/mypkg.yaml:5:11: cannot parse package \"mypkg\" slice definitions: reference to unknown value",
        ),
        (
            "package: mypkg\nslices:\n  myslice:\n    hint: a\n   bad: b\n",
            "slices/mypkg.yaml:5:4: cannot parse package \"mypkg\" slice definitions: while parsing a block mapping, did not find expected key",
        ),
    ];
    let got: Vec<(&str, Vec<String>)> = cases
        .iter()
        .map(|(text, _)| {
            (
                *text,
                errors(release(&v1(), &[("slices/mypkg.yaml", text)])),
            )
        })
        .collect();
    let expected: Vec<(&str, Vec<String>)> = cases
        .iter()
        .map(|(text, error)| (*text, vec![(*error).to_owned()]))
        .collect();
    assert_eq!(got, expected);
    // Type errors are reported the same way.
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          myslice:
            contents: [/x, /y]
        ",
    );
    assert_eq!(
        errors(release(&v1(), &[package])),
        ["slices/mypkg.yaml:4:15: cannot parse package \"mypkg\" slice definitions: expected mapping start"]
    );
}

#[test]
fn a_leading_bom_is_accepted() {
    let package = (
        "slices/mypkg.yaml",
        "\u{feff}package: mypkg\nslices:\n  myslice:\n    contents:\n      /x:\n",
    );
    let chisel = format!("\u{feff}{}", v1());
    let got = loaded(release(&chisel, &[package]));
    assert_eq!(
        contents(&got, "mypkg_myslice"),
        BTreeMap::from([("/x".to_owned(), copy())])
    );
}

#[test]
fn only_the_first_yaml_document_is_read() {
    for second in [
        "package: other\nslices:\n  another:\n",
        "just a scalar\n",
        "package: [not, a, string]\n",
        "slices: 5\n",
    ] {
        let text =
            format!("package: mypkg\nslices:\n  myslice:\n    contents:\n      /x:\n---\n{second}");
        let got = loaded(release(&v1(), &[("slices/mypkg.yaml", &text)]));
        assert_eq!(
            got.packages["mypkg"].slices.keys().collect::<Vec<_>>(),
            ["myslice"],
            "{second}"
        );
        let chisel = format!("{}---\n{second}", v1());
        let got = loaded(release(&chisel, &[]));
        assert_eq!(got.archives.len(), 1);
    }
}

// ---------------------------------------------------------------------------------------------
// Essentials (SPEC §2.5, §3.2, §4.1 item 4).

const OTHER: (&str, &str) = (
    "slices/other.yaml",
    "
    package: other
    slices:
      libs:
        contents:
          /usr/lib/libother.so.1:
      data:
        contents:
          /usr/share/other/:
    ",
);

#[test]
fn v1_and_v2_essentials_are_lists() {
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        essential:
          - mypkg_copyright
        slices:
          copyright:
            contents:
              /usr/share/doc/mypkg/copyright:
          bins:
            essential:
              - other_libs
            contents:
              /usr/bin/mytool:
        ",
    );
    for chisel in [v1(), v2()] {
        let got = loaded(release(&chisel, &[package, OTHER]));
        assert_eq!(
            essentials(&got, "mypkg_bins"),
            [
                ("mypkg_copyright".to_owned(), vec![]),
                ("other_libs".to_owned(), vec![])
            ]
        );
        // The package-level essential is not added to the slice it names.
        assert_eq!(essentials(&got, "mypkg_copyright"), []);
    }
}

#[test]
fn v3_essentials_are_maps_with_optional_arch() {
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        essential:
          mypkg_copyright:
        slices:
          copyright:
            contents:
              /usr/share/doc/mypkg/copyright:
          bins:
            essential:
              other_libs: {arch: amd64}
              other_data: {arch: [arm64, riscv64]}
            contents:
              /usr/bin/mytool:
          conf:
            essential: {}
        ",
    );
    let got = loaded(release(&v3(), &[package, OTHER]));
    assert_eq!(
        essentials(&got, "mypkg_bins"),
        [
            ("mypkg_copyright".to_owned(), vec![]),
            ("other_data".to_owned(), vec![Arch::Arm64, Arch::Riscv64]),
            ("other_libs".to_owned(), vec![Arch::Amd64]),
        ]
    );
    assert_eq!(
        essentials(&got, "mypkg_conf"),
        [("mypkg_copyright".to_owned(), vec![])]
    );
    assert_eq!(essentials(&got, "mypkg_copyright"), []);
    assert_eq!(
        got.slice(&key("mypkg_bins"))
            .unwrap()
            .essential
            .get(&key("other_libs")),
        Some(&EssentialInfo {
            arch: ArchSet(vec![Arch::Amd64])
        })
    );
}

#[test]
fn v3_essential_is_merged_in_v1_and_v2() {
    // 20
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        essential:
          - mypkg_copyright
        v3-essential:
          other_libs: {arch: amd64}
        slices:
          copyright:
            contents:
              /usr/share/doc/mypkg/copyright:
          bins:
            essential:
              - mypkg_conf
            v3-essential:
              other_data: {arch: [arm64]}
          conf:
            v3-essential:
        ",
    );
    for chisel in [v1(), v2()] {
        let got = loaded(release(&chisel, &[package, OTHER]));
        assert_eq!(
            essentials(&got, "mypkg_bins"),
            [
                ("mypkg_conf".to_owned(), vec![]),
                ("mypkg_copyright".to_owned(), vec![]),
                ("other_data".to_owned(), vec![Arch::Arm64]),
                ("other_libs".to_owned(), vec![Arch::Amd64]),
            ]
        );
        assert_eq!(
            essentials(&got, "mypkg_copyright"),
            [("other_libs".to_owned(), vec![Arch::Amd64])]
        );
    }
}

#[test]
fn essential_shapes_are_checked_per_format() {
    // 20
    let lists = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        essential:
          - other_libs
        slices:
          bins:
            essential:
              - other_data
        ",
    );
    assert_eq!(
        errors(release(&v3(), &[lists, OTHER])),
        [
            "slices/mypkg.yaml: package \"mypkg\" essential expects a map",
            "slices/mypkg.yaml: slice mypkg_bins essential expects a map",
        ]
    );
    let maps = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        essential:
          other_libs:
        slices:
          bins:
            essential:
              other_data: {arch: amd64}
        ",
    );
    for chisel in [v1(), v2()] {
        assert_eq!(
            errors(release(&chisel, &[maps, OTHER])),
            [
                "slices/mypkg.yaml: package \"mypkg\" essential expects a list",
                "slices/mypkg.yaml: slice mypkg_bins essential expects a list",
            ]
        );
    }
    let v3_essential = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        v3-essential:
          other_libs:
        slices:
          bins:
            v3-essential:
              other_data: {arch: amd64}
        ",
    );
    assert_eq!(
        errors(release(&v3(), &[v3_essential, OTHER])),
        [
            "slices/mypkg.yaml: package \"mypkg\" has v3-essential, which is obsolete since format v3",
            "slices/mypkg.yaml: slice mypkg_bins has v3-essential, which is obsolete since format v3",
        ]
    );
    let v3_essential_list = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        v3-essential:
          - other_libs
        slices:
          bins:
        ",
    );
    assert_eq!(
        errors(release(&v1(), &[v3_essential_list, OTHER])),
        ["slices/mypkg.yaml: package \"mypkg\" v3-essential: essential expects a map"]
    );
    let scalar = (
        "slices/mypkg.yaml",
        "package: mypkg\nessential: other_libs\n",
    );
    assert_eq!(
        errors(release(&v1(), &[scalar, OTHER])),
        ["slices/mypkg.yaml:2:1: cannot parse package \"mypkg\" slice definitions: invalid type: string \"other_libs\", expected a list or map of slice references"]
    );
}

#[test]
fn essential_references_must_be_valid() {
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        essential:
          - not-a-reference
        slices:
          bins:
            essential:
              - mypkg_ab
              - My_bins
              - other_libs_x
        ",
    );
    let invalid = |line: u32, reference: &str| {
        format!("slices/mypkg.yaml:{line}:9: package \"mypkg\" has invalid essential slice reference: \"{reference}\"")
    };
    assert_eq!(
        errors(release(&v1(), &[package, OTHER])),
        [
            "slices/mypkg.yaml:3:5: package \"mypkg\" has invalid essential slice reference: \"not-a-reference\"".to_owned(),
            invalid(7, "mypkg_ab"),
            invalid(8, "My_bins"),
            invalid(9, "other_libs_x"),
        ]
    );
}

#[test]
fn essential_arches_are_validated() {
    // kerf validates them where chisel does not (SPEC §9 #12).
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          bins:
            essential:
              other_libs: {arch: aarch64}
              other_data: {arch: [amd64, x86_64]}
        ",
    );
    assert_eq!(
        errors(release(&v3(), &[package, OTHER])),
        [
            "slices/mypkg.yaml:5:7: slice mypkg_bins has invalid arch \"aarch64\" for essential other_libs",
            "slices/mypkg.yaml:6:7: slice mypkg_bins has invalid arch \"x86_64\" for essential other_data",
        ]
    );
}

#[test]
fn package_essential_naming_own_slice_is_skipped_but_slice_naming_itself_is_an_error() {
    // 18
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        essential:
          - mypkg_bins
        slices:
          bins:
            contents:
              /usr/bin/mytool:
          libs:
            essential:
              - mypkg_libs
        ",
    );
    assert_eq!(
        errors(release(&v1(), &[package])),
        ["slices/mypkg.yaml:10:9: cannot add slice to itself as essential mypkg_libs"]
    );
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        essential:
          mypkg_bins: {arch: amd64}
        slices:
          bins:
          libs:
        ",
    );
    let got = loaded(release(&v3(), &[package]));
    assert_eq!(essentials(&got, "mypkg_bins"), []);
    assert_eq!(
        essentials(&got, "mypkg_libs"),
        [("mypkg_bins".to_owned(), vec![Arch::Amd64])]
    );
}

#[test]
fn repeated_essentials_are_rejected() {
    // 19
    let within_list = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          bins:
            essential:
              - other_libs
              - other_libs
        ",
    );
    assert_eq!(
        errors(release(&v1(), &[within_list, OTHER])),
        ["slices/mypkg.yaml:6:9: slice mypkg_bins repeats other_libs in essential fields"]
    );
    let package_level = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        essential:
          - other_libs
        v3-essential:
          other_libs: {arch: amd64}
        slices:
          bins:
        ",
    );
    assert_eq!(
        errors(release(&v2(), &[package_level, OTHER])),
        ["slices/mypkg.yaml:5:3: package \"mypkg\" repeats other_libs in essential fields"]
    );
    let slice_level = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        essential:
          - other_libs
        slices:
          bins:
            essential:
              - other_libs
        ",
    );
    assert_eq!(
        errors(release(&v1(), &[slice_level, OTHER])),
        ["slices/mypkg.yaml:3:5: slice mypkg_bins repeats other_libs in essential fields"]
    );
    let v3_duplicate_key = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          bins:
            essential:
              other_libs:
              other_libs: {arch: amd64}
        ",
    );
    assert_eq!(
        errors(release(&v3(), &[v3_duplicate_key, OTHER])),
        ["slices/mypkg.yaml:6:7: cannot parse package \"mypkg\" slice definitions: duplicate mapping key `other_libs` is not allowed here"]
    );
}

#[test]
fn missing_essentials_are_reported() {
    // 17
    let package = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        essential:
          - nopkg_copyright
        slices:
          bins:
            essential:
              - other_nothing
              - other_libs
          libs:
        ",
    );
    assert_eq!(
        errors(release(&v1(), &[package, OTHER])),
        [
            "slices/mypkg.yaml:5: mypkg_bins requires nopkg_copyright, but slice is missing",
            "slices/mypkg.yaml:5: mypkg_bins requires other_nothing, but slice is missing",
            "slices/mypkg.yaml:9: mypkg_libs requires nopkg_copyright, but slice is missing",
        ]
    );
}

#[test]
fn essential_loops_are_reported_with_sorted_names() {
    // 17
    let within = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          zzz:
            essential: [mypkg_yyy]
          yyy:
            essential: [mypkg_zzz]
          aaa:
            essential: [mypkg_zzz]
        ",
    );
    let across = [
        (
            "slices/ccc.yaml",
            "package: ccc\nslices:\n  loop:\n    essential: [aaa_loop]\n",
        ),
        (
            "slices/aaa.yaml",
            "package: aaa\nslices:\n  loop:\n    essential: [bbb_loop]\n",
        ),
        (
            "slices/bbb.yaml",
            "package: bbb\nslices:\n  loop:\n    essential: [ccc_loop]\n",
        ),
    ];
    let mut files = vec![within];
    files.extend(across);
    assert_eq!(
        errors(release(&v1(), &files)),
        [
            "essential loop detected: aaa_loop, bbb_loop, ccc_loop",
            "essential loop detected: mypkg_yyy, mypkg_zzz",
        ]
    );
    // Arch is ignored when looking for loops.
    let arch = (
        "slices/mypkg.yaml",
        "
        package: mypkg
        slices:
          one:
            essential: {mypkg_two: {arch: amd64}}
          two:
            essential: {mypkg_one: {arch: arm64}}
        ",
    );
    assert_eq!(
        errors(release(&v3(), &[arch])),
        ["essential loop detected: mypkg_one, mypkg_two"]
    );
}

// ---------------------------------------------------------------------------------------------
// Path conflicts (SPEC §4.1).

fn package_with(name: &str, slices: &[(&str, &str)]) -> String {
    let mut text = format!("package: {name}\nslices:\n");
    for (slice, contents) in slices {
        text.push_str(&format!("  {slice}:\n    contents:\n"));
        for line in contents.lines() {
            text.push_str(&format!("      {line}\n"));
        }
    }
    text
}

/// Loads a v1 release of packages given as (name, [(slice, contents lines)]).
fn packages(packages: &[(&str, &[(&str, &str)])]) -> Result<Release, ReleaseErrors> {
    let texts: Vec<(String, String)> = packages
        .iter()
        .map(|(name, slices)| (format!("slices/{name}.yaml"), package_with(name, slices)))
        .collect();
    let slices: Vec<(&str, &str)> = texts
        .iter()
        .map(|(path, text)| (path.as_str(), text.as_str()))
        .collect();
    release(&v1(), &slices)
}

#[test]
fn same_path_with_different_content_in_one_package_conflicts() {
    // 10
    assert_eq!(
        errors(packages(&[(
            "mypkg",
            &[
                ("one", "/usr/bin/tool: {copy: /usr/bin/tool-a}"),
                ("two", "/usr/bin/tool: {copy: /usr/bin/tool-b}"),
            ]
        )])),
        ["slices/mypkg.yaml:3: slices mypkg_one and mypkg_two conflict on /usr/bin/tool"]
    );
    // Identical copies may be shared across slices of one package.
    loaded(packages(&[(
        "mypkg",
        &[
            ("one", "/usr/bin/tool: {copy: /usr/bin/tool-a}\n/usr/bin/x:"),
            ("two", "/usr/bin/tool: {copy: /usr/bin/tool-a}\n/usr/bin/x:"),
            ("three", "/usr/bin/x: {until: mutate, arch: amd64}"),
        ],
    )]));
    // Mode and mutability are compared.
    assert_eq!(
        errors(packages(&[(
            "mypkg",
            &[
                (
                    "one",
                    "/etc/dir/: {make: true, mode: 0700}\n/etc/f: {text: x}"
                ),
                (
                    "two",
                    "/etc/dir/: {make: true}\n/etc/f: {text: x, mutable: true}"
                ),
            ]
        )])),
        [
            "slices/mypkg.yaml:3: slices mypkg_one and mypkg_two conflict on /etc/dir/",
            "slices/mypkg.yaml:3: slices mypkg_one and mypkg_two conflict on /etc/f",
        ]
    );
}

#[test]
fn same_copied_path_in_two_packages_conflicts_even_when_identical() {
    // 10
    assert_eq!(
        errors(packages(&[
            ("bbb", &[("myslice", "/usr/bin/tool:")]),
            ("aaa", &[("myslice", "/usr/bin/tool:")]),
        ])),
        ["slices/aaa.yaml:3: slices aaa_myslice and bbb_myslice conflict on /usr/bin/tool"]
    );
    assert_eq!(
        errors(packages(&[
            (
                "aaa",
                &[("myslice", "/usr/bin/tool: {copy: /x, mode: 0755}")]
            ),
            (
                "bbb",
                &[("myslice", "/usr/bin/tool: {copy: /x, mode: 0755}")]
            ),
        ])),
        ["slices/aaa.yaml:3: slices aaa_myslice and bbb_myslice conflict on /usr/bin/tool"]
    );
}

#[test]
fn identical_text_symlink_and_make_entries_are_shared_across_packages() {
    // 11
    let shared = "/etc/conf: {text: same}\n/usr/bin/link: {symlink: /usr/bin/x}\n/var/dir/: {make: true, mode: 0700}";
    let got = loaded(packages(&[
        ("aaa", &[("one", shared), ("two", shared)]),
        (
            "bbb",
            &[(
                "three",
                "/etc/conf: {text: same, until: mutate}\n/usr/bin/link: {symlink: /usr/bin/x, arch: amd64}\n/var/dir/: {make: true, mode: 0700}",
            )],
        ),
    ]));
    assert_eq!(got.packages.len(), 2);
    // But a different text conflicts.
    assert_eq!(
        errors(packages(&[
            ("aaa", &[("one", "/etc/conf: {text: same}")]),
            ("bbb", &[("one", "/etc/conf: {text: other}")]),
        ])),
        ["slices/aaa.yaml:3: slices aaa_one and bbb_one conflict on /etc/conf"]
    );
}

#[test]
fn overlapping_globs_of_two_packages_conflict() {
    // 12
    assert_eq!(
        errors(packages(&[
            ("aaa", &[("myslice", "/file/f*obar:")]),
            ("bbb", &[("myslice", "/file/foob*r:")]),
        ])),
        ["slices/aaa.yaml:3: slices aaa_myslice and bbb_myslice conflict on /file/f*obar and /file/foob*r"]
    );
    assert_eq!(
        errors(packages(&[
            ("aaa", &[("myslice", "/file/foob*r:")]),
            ("bbb", &[("myslice", "/file/f*obar:")]),
        ])),
        ["slices/aaa.yaml:3: slices aaa_myslice and bbb_myslice conflict on /file/foob*r and /file/f*obar"]
    );
    assert_eq!(
        errors(packages(&[
            ("aaa", &[("myslice", "/file/*:")]),
            ("bbb", &[("myslice", "/file/*:")]),
        ])),
        ["slices/aaa.yaml:3: slices aaa_myslice and bbb_myslice conflict on /file/*"]
    );
    // A glob against a plain path, a text or a symlink of another package.
    assert_eq!(
        errors(packages(&[
            ("aaa", &[("myslice", "/usr/lib/**:")]),
            (
                "bbb",
                &[("myslice", "/usr/lib/x/y:\n/usr/lib/t: {text: t}\n/usr/bin/no:")]
            ),
        ])),
        [
            "slices/aaa.yaml:3: slices aaa_myslice and bbb_myslice conflict on /usr/lib/** and /usr/lib/t",
            "slices/aaa.yaml:3: slices aaa_myslice and bbb_myslice conflict on /usr/lib/** and /usr/lib/x/y",
        ]
    );
    // Globs that cannot match the same path do not conflict.
    loaded(packages(&[
        ("aaa", &[("myslice", "/file/a*:\n/dir/*/x:")]),
        ("bbb", &[("myslice", "/file/b*:\n/dir/x:")]),
    ]));
}

#[test]
fn overlapping_globs_inside_one_package_are_accepted() {
    // 13
    let got = loaded(packages(&[(
        "mypkg",
        &[
            ("one", "/file/f*obar:\n/file/**:"),
            (
                "two",
                "/file/foob*r:\n/file/foobar:\n/file/x: {copy: /file/y}",
            ),
        ],
    )]));
    assert_eq!(contents(&got, "mypkg_one").len(), 2);
}

#[test]
fn a_glob_conflicts_with_a_text_path_of_its_own_package() {
    // 14
    assert_eq!(
        errors(packages(&[(
            "mypkg",
            &[
                ("one", "/file/*:"),
                ("two", "/file/text: {text: x}\n/file/dir/: {make: true}"),
                ("three", "/file/link: {symlink: x}"),
            ]
        )])),
        [
            "slices/mypkg.yaml:3: slices mypkg_one and mypkg_three conflict on /file/* and /file/link",
            "slices/mypkg.yaml:3: slices mypkg_one and mypkg_two conflict on /file/* and /file/text",
        ]
    );
}

#[test]
fn generate_paths_conflict_with_anything_under_them() {
    // 15
    assert_eq!(
        errors(packages(&[(
            "mypkg",
            &[(
                "myslice",
                "/var/lib/kerf/**: {generate: manifest}\n/var/lib/kerf/other:"
            )]
        )])),
        ["slices/mypkg.yaml:3: slices mypkg_myslice and mypkg_myslice conflict on /var/lib/kerf/** and /var/lib/kerf/other"]
    );
    assert_eq!(
        errors(packages(&[
            ("aaa", &[("myslice", "/var/lib/kerf/**: {generate: manifest}")]),
            ("bbb", &[("myslice", "/var/lib/kerf/sub/**: {generate: manifest}")]),
        ])),
        ["slices/aaa.yaml:3: slices aaa_myslice and bbb_myslice conflict on /var/lib/kerf/** and /var/lib/kerf/sub/**"]
    );
    assert_eq!(
        errors(packages(&[
            ("aaa", &[("myslice", "/var/lib/kerf/**: {generate: manifest}")]),
            ("bbb", &[("myslice", "/var/lib/*/x:")]),
        ])),
        ["slices/aaa.yaml:3: slices aaa_myslice and bbb_myslice conflict on /var/lib/kerf/** and /var/lib/*/x"]
    );
}

#[test]
fn identical_generate_paths_in_two_packages_are_accepted() {
    // 16
    let got = loaded(packages(&[
        (
            "aaa",
            &[("manifest", "/var/lib/kerf/**: {generate: manifest}")],
        ),
        (
            "bbb",
            &[(
                "manifest",
                "/var/lib/kerf/**: {generate: manifest, arch: amd64}",
            )],
        ),
    ]));
    assert_eq!(
        contents(&got, "aaa_manifest")["/var/lib/kerf/**"].generate,
        Some(Generate::Manifest)
    );
}

// ---------------------------------------------------------------------------------------------
// Prefer (SPEC §4.2).

#[test]
fn prefer_own_package_is_rejected() {
    // 29
    assert_eq!(
        errors(packages(&[(
            "mypkg",
            &[("myslice", "/usr/bin/tool: {prefer: mypkg}")]
        )])),
        ["slices/mypkg.yaml:5:7: slice mypkg_myslice cannot 'prefer' its own package for path /usr/bin/tool"]
    );
}

#[test]
fn prefer_undefined_package_is_rejected() {
    // 29
    assert_eq!(
        errors(packages(&[(
            "mypkg",
            &[("myslice", "/usr/bin/tool: {prefer: nopkg}")]
        )])),
        ["slices/mypkg.yaml:3: slice mypkg_myslice 'prefer' refers to undefined package \"nopkg\" for path /usr/bin/tool"]
    );
}

#[test]
fn prefer_target_must_contain_the_path() {
    // 29
    assert_eq!(
        errors(packages(&[
            ("p1", &[("myslice", "/usr/bin/tool: {prefer: p2}")]),
            ("p2", &[("myslice", "/usr/bin/other:")]),
        ])),
        ["slices/p1.yaml:3: package p1 prefers package \"p2\" which does not contain path /usr/bin/tool"]
    );
}

#[test]
fn conflicting_prefers_in_one_package_are_rejected() {
    // 29
    assert_eq!(
        errors(packages(&[
            (
                "p1",
                &[
                    ("one", "/usr/bin/tool: {text: x, prefer: p2}"),
                    ("two", "/usr/bin/tool: {text: x, prefer: p3}"),
                ]
            ),
            ("p2", &[("myslice", "/usr/bin/tool: {text: x}")]),
            ("p3", &[("myslice", "/usr/bin/tool: {text: x}")]),
        ])),
        [
            "package \"p1\" and \"p2\" conflict on /usr/bin/tool without prefer relationship",
            "slices/p1.yaml:6: package \"p1\" has conflicting prefers for /usr/bin/tool: p2 != p3",
        ]
    );
}

#[test]
fn two_packages_preferring_one_are_rejected() {
    // 29
    assert_eq!(
        errors(packages(&[
            ("p1", &[("myslice", "/usr/bin/tool: {prefer: p3}")]),
            ("p2", &[("myslice", "/usr/bin/tool: {prefer: p3}")]),
            ("p3", &[("myslice", "/usr/bin/tool:")]),
        ])),
        ["packages \"p1\" and \"p2\" cannot both prefer \"p3\" for /usr/bin/tool"]
    );
}

#[test]
fn prefer_loops_are_rejected() {
    // 29
    assert_eq!(
        errors(packages(&[
            ("p1", &[("myslice", "/usr/bin/tool: {text: x, prefer: p2}")]),
            ("p2", &[("myslice", "/usr/bin/tool: {text: x, prefer: p3}")]),
            ("p3", &[("myslice", "/usr/bin/tool: {text: x, prefer: p1}")]),
        ])),
        ["package \"p1\" is part of a prefer loop on /usr/bin/tool"]
    );
}

#[test]
fn unrelated_provider_of_a_preferred_path_is_rejected() {
    // 29: even when it provides the same text.
    assert_eq!(
        errors(packages(&[
            ("p1", &[("myslice", "/etc/conf: {text: x, prefer: p2}")]),
            ("p2", &[("myslice", "/etc/conf: {text: x}")]),
            ("p3", &[("myslice", "/etc/conf: {text: x}")]),
        ])),
        ["package \"p1\" and \"p3\" conflict on /etc/conf without prefer relationship"]
    );
}

#[test]
fn a_prefer_chain_links_its_packages() {
    // 30: P1 → P2 → P3 loads, whatever each provides; who wins is decided at cut time.
    let got = loaded(packages(&[
        (
            "p1",
            &[(
                "myslice",
                "/usr/bin/tool: {prefer: p2}\n/etc/conf: {text: one, prefer: p2}",
            )],
        ),
        (
            "p2",
            &[
                ("myslice", "/usr/bin/tool: {prefer: p3}"),
                ("other", "/etc/conf: {text: two, prefer: p3}"),
            ],
        ),
        (
            "p3",
            &[(
                "myslice",
                "/usr/bin/tool: {copy: /usr/bin/tool3}\n/etc/conf: {symlink: x}",
            )],
        ),
    ]));
    assert_eq!(
        contents(&got, "p1_myslice")["/usr/bin/tool"]
            .prefer
            .as_deref(),
        Some("p2")
    );
    assert_eq!(
        contents(&got, "p2_myslice")["/usr/bin/tool"]
            .prefer
            .as_deref(),
        Some("p3")
    );
    assert_eq!(contents(&got, "p3_myslice")["/usr/bin/tool"].prefer, None);
    // A glob overlapping a path of a prefer chain is still a conflict.
    assert_eq!(
        errors(packages(&[
            ("p1", &[("myslice", "/usr/bin/tool: {prefer: p2}")]),
            ("p2", &[("myslice", "/usr/bin/tool:\n/usr/bin/t*:")]),
        ])),
        ["slices/p1.yaml:3: slices p1_myslice and p2_myslice conflict on /usr/bin/tool and /usr/bin/t*"]
    );
}

// ---------------------------------------------------------------------------------------------
// Several problems at once.

#[test]
fn every_error_is_reported_and_sorted() {
    let files = [
        (
            "slices/zzz.yaml",
            "package: zzz\nslices:\n  bins:\n    hint: \"a\\tb\"\n    contents:\n      relative:\n",
        ),
        (
            "slices/aaa.yaml",
            "package: aaa\nslices:\n  bins:\n    essential: [bbb_bins]\n    contents:\n      /usr/bin/x:\n",
        ),
        (
            "slices/bbb.yaml",
            "package: bbb\nslices:\n  bins:\n    essential: [aaa_bins, ccc_nothing]\n    contents:\n      /usr/bin/x:\n      /usr/bin/*:\n",
        ),
        ("slices/Bad.yaml", "package: bad\n"),
        ("slices/ccc.yaml", "package: ccc\nslices:\n  c:\n"),
    ];
    assert_eq!(
        errors(release(&v1(), &files)),
        [
            "essential loop detected: aaa_bins, bbb_bins",
            "slices/Bad.yaml: invalid slice definition filename: \"Bad.yaml\" (expected a package name and .yaml)",
            "slices/aaa.yaml:3: slices aaa_bins and bbb_bins conflict on /usr/bin/x",
            "slices/aaa.yaml:3: slices aaa_bins and bbb_bins conflict on /usr/bin/x and /usr/bin/*",
            "slices/bbb.yaml:3: bbb_bins requires ccc_nothing, but slice is missing",
            "slices/ccc.yaml:3:3: invalid slice name \"c\" (must start with a-z, len >= 3, only a-z / 0-9 / -)",
            "slices/zzz.yaml:3:3: slice zzz_bins has invalid hint \"a\tb\" (must be len <= 40, printable, with no other whitespace than spaces)",
            "slices/zzz.yaml:6:7: slice zzz_bins has invalid content path: relative",
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Robustness: mangled copies of real slice definitions.

/// The 24.04 branch of chisel-releases, when the shared corpus is next to the project.
const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/corpus/chisel-releases/ubuntu-24.04"
);

#[expect(clippy::print_stderr, reason = "a skipped test says why")]
fn skip(test: &str, reason: &str) {
    eprintln!("skipping {test}: {reason}");
}

/// xorshift64: a tiny deterministic generator, so every run tries the same mutations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }
    }
}

/// Bytes that mean something to YAML, or to a text decoder.
const NOISE: [&str; 24] = [
    ":", "-", "[", "]", "{", "}", "*", "&", "!", "|", ">", "%", "@", "\t", "\n", " ", "\"", "'",
    "\u{feff}", "\0", "#", "? ", "---\n", "...\n",
];

fn split_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|&byte| byte == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// Where values start: just after each `": "`.
fn value_starts(bytes: &[u8]) -> Vec<usize> {
    bytes
        .windows(2)
        .enumerate()
        .filter(|(_, pair)| pair == b": ")
        .map(|(index, _)| index + 2)
        .collect()
}

/// Replaces the rest of the line from `start` with `with`.
fn replace_value(bytes: &mut Vec<u8>, start: usize, with: &[u8]) {
    let end = bytes[start..]
        .iter()
        .position(|&byte| byte == b'\n')
        .map_or(bytes.len(), |offset| start + offset);
    bytes.splice(start..end, with.iter().copied());
}

/// One random mutation of `bytes`, and its name.
fn mutate(bytes: &mut Vec<u8>, rng: &mut Rng) -> &'static str {
    let len = bytes.len();
    match rng.below(10) {
        0 => {
            let start = rng.below(len);
            let count = 1 + rng.below((len - start).min(64));
            bytes.drain(start..(start + count).min(len));
            "delete a byte range"
        }
        1 => {
            let mut lines = split_lines(bytes);
            let line = rng.below(lines.len());
            if let Some(copy) = lines.get(line).cloned() {
                lines.insert(line, copy);
            }
            *bytes = lines.concat();
            "duplicate a line"
        }
        2 => {
            let mut lines = split_lines(bytes);
            let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
            if a < lines.len() && b < lines.len() {
                lines.swap(a, b);
            }
            *bytes = lines.concat();
            "swap two lines"
        }
        3 => {
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(bytes.len() + 1);
                let noise = NOISE[rng.below(NOISE.len())].as_bytes();
                bytes.splice(at..at, noise.iter().copied());
            }
            "insert YAML noise"
        }
        4 => {
            bytes.truncate(rng.below(len));
            "truncate"
        }
        5 => {
            let mut lines = split_lines(bytes);
            let line = rng.below(lines.len());
            if let Some(text) = lines.get_mut(line) {
                match rng.below(3) {
                    0 => {
                        let spaces = 1 + rng.below(3);
                        text.splice(0..0, std::iter::repeat_n(b' ', spaces));
                    }
                    1 => {
                        let indent = text.iter().take_while(|&&byte| byte == b' ').count();
                        text.drain(..indent.min(1 + rng.below(3)));
                    }
                    _ => text.insert(0, b'\t'),
                }
            }
            *bytes = lines.concat();
            "change indentation"
        }
        6 => {
            let starts = value_starts(bytes);
            if !starts.is_empty() {
                let start = starts[rng.below(starts.len())];
                replace_value(bytes, start, b"*alias");
            }
            "replace a value with an unknown alias"
        }
        7 => {
            let starts = value_starts(bytes);
            if starts.len() >= 2 {
                let first = rng.below(starts.len() - 1);
                let second = first + 1 + rng.below(starts.len() - first - 1);
                // The later one first, so the earlier position stays valid.
                replace_value(bytes, starts[second], b"*anchor");
                bytes.splice(starts[first]..starts[first], b"&anchor ".iter().copied());
            }
            "add an anchor and an alias"
        }
        8 => {
            let starts = value_starts(bytes);
            let at = if starts.is_empty() {
                rng.below(len + 1)
            } else {
                starts[rng.below(starts.len())]
            };
            let mut nested = vec![b'['; 200];
            if rng.below(2) == 0 {
                nested.extend(std::iter::repeat_n(b']', 200));
            }
            replace_value(bytes, at.min(bytes.len()), &nested);
            "nest lists 200 deep"
        }
        _ => {
            let starts = value_starts(bytes);
            if !starts.is_empty() {
                let start = starts[rng.below(starts.len())];
                let values: [&[u8]; 8] = [
                    b"",
                    b"~",
                    b"99999999999999999999999",
                    b"-0o7",
                    b"!!binary aGVsbG8=",
                    b"{a: [b, {c: d}]}",
                    b"\"\\u00e9\\x00\"",
                    b"|\n  block\n",
                ];
                replace_value(bytes, start, values[rng.below(values.len())]);
            }
            "replace a value"
        }
    }
}

#[test]
fn mangled_corpus_files_never_panic() {
    let dir = std::path::Path::new(CORPUS);
    if !dir.join("chisel.yaml").is_file() {
        skip(
            "mangled_corpus_files_never_panic",
            &format!("no corpus at {CORPUS}"),
        );
        return;
    }
    let corpus = read_dir(dir).unwrap();
    let (chisel, slices) = corpus.split_first().unwrap();
    assert_eq!(chisel.path, "chisel.yaml");
    // A debug build takes a while to compare hundreds of globs, so files with many are left
    // out (25 of 605).
    let slices: Vec<&SourceFile> = slices
        .iter()
        .filter(|file| file.bytes.iter().filter(|&&byte| byte == b'*').count() <= 30)
        .collect();
    let step = (slices.len() / 40).max(1);
    // Each case is a small release: chisel.yaml and one slice file, one of which is mangled
    // (the corpus chisel.yaml in the first case, the slice file in the others). A debug build
    // is slow at YAML (the corpus chisel.yaml alone, with its armored keys, takes milliseconds),
    // so the slice files are loaded with the small chisel.yaml of these tests.
    let mut cases: Vec<[SourceFile; 2]> = vec![[chisel.clone(), slices[0].clone()]];
    for &slice in slices.iter().step_by(step).take(40) {
        cases.push([source("chisel.yaml", &v1()), slice.clone()]);
    }

    let mut failures = Vec::new();
    let mut outcomes = [0_usize; 2];
    for (case, files) in cases.iter().enumerate() {
        let target = usize::from(case > 0);
        for round in 0..25_u64 {
            let seed = 0x9e37_79b9_7f4a_7c15 ^ ((case as u64) << 32 | round);
            let mut rng = Rng::new(seed);
            let mut files = files.clone();
            let mut bytes = files[target].bytes.to_vec();
            let mutation = mutate(&mut bytes, &mut rng);
            files[target].bytes = Cow::Owned(bytes);
            let path = files[target].path.clone();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let result = load_files("mangled", &files);
                if let Err(errors) = &result {
                    assert!(!errors.errors.is_empty(), "an error without errors");
                    assert!(errors.errors.is_sorted(), "errors not sorted");
                    let _ = errors.to_string();
                }
                result.is_ok()
            }));
            match result {
                Ok(ok) => outcomes[usize::from(!ok)] += 1,
                Err(_) => failures.push(format!("{path}: {mutation} (seed {seed:#x})")),
            }
        }
    }
    assert_eq!(failures, Vec::<String>::new(), "loading panicked");
    // The mutations must exercise both outcomes to mean anything.
    assert!(outcomes[0] > 0 && outcomes[1] > 0, "{outcomes:?}");
}

/// SPEC §10 item 25: the armour must decode to exactly one public key with the declared ID.
#[test]
fn public_keys_are_decoded_and_their_ids_checked() {
    let release_with_key = |id: &str, armor: &str| {
        let chisel = format!(
            "format: v1\nmaintenance:\n  standard: 2024-04-25\n  end-of-life: 2036-04-29\n\
             archives:\n  ubuntu:\n    version: 24.04\n    components: [main]\n    suites: [noble]\n    public-keys: [k]\n\
             public-keys:\n  k:\n    id: {id}\n    armor: |\n{}",
            armor_block(armor, 6)
        );
        errors(release(&chisel, &[]))
    };
    assert_eq!(
        release_with_key(TEST_KEY_ID, TEST_KEY_ARMOR),
        Vec::<String>::new()
    );
    assert_eq!(
        release_with_key("0123456789ABCDEF", TEST_KEY_ARMOR),
        ["chisel.yaml:12:3: public key \"k\" armor has incorrect ID: expected \"0123456789ABCDEF\", got \"1A0E304BEEDCF2EB\""]
    );
    assert_eq!(
        release_with_key(&TEST_KEY_ID.to_lowercase(), TEST_KEY_ARMOR),
        ["chisel.yaml:12:3: public key \"k\" armor has incorrect ID: expected \"1a0e304beedcf2eb\", got \"1A0E304BEEDCF2EB\""]
    );
    assert_eq!(
        release_with_key(TEST_KEY_ID, "-----BEGIN PGP PUBLIC KEY BLOCK-----\nnot base64 at all\n-----END PGP PUBLIC KEY BLOCK-----"),
        ["chisel.yaml:12:3: cannot decode public key \"k\": cannot decode armored data"]
    );
    let two = format!("{TEST_KEY_ARMOR}{TEST_KEY_ARMOR}");
    assert_eq!(
        release_with_key(TEST_KEY_ID, &two),
        ["chisel.yaml:12:3: cannot decode public key \"k\": armored data contains more than one public key"]
    );
}

/// `Checks::FilesOnly` skips the release-wide rules but not a file's own; the fingerprint
/// changes with any byte of any file.
#[test]
fn files_only_checks_skip_release_wide_rules_and_fingerprints_follow_content() {
    use super::{fingerprint, load_files_with, Checks};
    let chisel = chisel_yaml("v1");
    let conflicting = [
        (
            "slices/aa.yaml",
            "package: aa\nslices:\n  bins:\n    contents:\n      /usr/bin/x:\n",
        ),
        (
            "slices/bb.yaml",
            "package: bb\nslices:\n  bins:\n    contents:\n      /usr/bin/x:\n",
        ),
    ];
    let release_files = files(&chisel, &conflicting);
    assert_eq!(
        errors(load_files_with("test-release", &release_files, Checks::All)),
        ["slices/aa.yaml:3: slices aa_bins and bb_bins conflict on /usr/bin/x"]
    );
    assert!(load_files_with("test-release", &release_files, Checks::FilesOnly).is_ok());
    let broken = files(
        &chisel,
        &[(
            "slices/aa.yaml",
            "package: aa\nslices:\n  bins:\n    contents:\n      usr/bin/x:\n",
        )],
    );
    assert_eq!(
        errors(load_files_with("test-release", &broken, Checks::FilesOnly)),
        ["slices/aa.yaml:5:7: slice aa_bins has invalid content path: usr/bin/x"]
    );

    let first = fingerprint(&release_files);
    assert_eq!(first.len(), 64);
    assert_eq!(first, fingerprint(&files(&chisel, &conflicting)));
    let edited = files(
        &chisel,
        &[
            conflicting[0],
            (
                "slices/bb.yaml",
                "package: bb\nslices:\n  bins:\n    contents:\n      /usr/bin/y:\n",
            ),
        ],
    );
    assert_ne!(first, fingerprint(&edited));
}

// ---------------------------------------------------------------------------------------------
// Hostile YAML: a billion laughs and deep nesting end with a clear error, fast and small.

#[test]
fn an_alias_bomb_is_refused_by_size() {
    let mut text = String::from("package: bomb\na: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut previous = 'a';
    for name in 'b'..='j' {
        let refs = vec![format!("*{previous}"); 10].join(", ");
        text.push_str(&format!("{name}: &{name} [{refs}]\n"));
        previous = name;
    }
    text.push_str("slices:\n  one:\n    contents:\n      /x:\n");
    let started = std::time::Instant::now();
    let errors = errors(load_files(
        "test-release",
        &[
            source("chisel.yaml", &v1()),
            SourceFile {
                path: "slices/bomb.yaml".to_owned(),
                bytes: Cow::Owned(text.into_bytes()),
            },
        ],
    ));
    assert_eq!(
        errors,
        ["slices/bomb.yaml:7:12: cannot parse package \"bomb\" slice definitions: YAML document too large or too complex: limits breached: Nodes { nodes: 250001 } (defined at line 6, column 7) (used at line 7, column 12)"]
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn deep_nesting_is_refused_without_exhausting_the_stack() {
    let flow = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let maps = format!("{}1{}", "{a: ".repeat(100_000), "}".repeat(100_000));
    let slice = |package: &str, value: &str| {
        format!("package: {package}\nextra: {value}\nslices:\n  one:\n    contents:\n      /{package}:\n")
    };
    let errors = errors(load_files(
        "test-release",
        &[
            source("chisel.yaml", &v1()),
            SourceFile {
                path: "slices/deep.yaml".to_owned(),
                bytes: Cow::Owned(slice("deep", &flow).into_bytes()),
            },
            SourceFile {
                path: "slices/deeper.yaml".to_owned(),
                bytes: Cow::Owned(slice("deeper", &maps).into_bytes()),
            },
        ],
    ));
    assert_eq!(
        errors,
        [
            "slices/deep.yaml:2:263: cannot parse package \"deep\" slice definitions: recursion limit exceeded",
            "slices/deeper.yaml:2:260: cannot parse package \"deeper\" slice definitions: YAML document too large or too complex: limits breached: Depth { depth: 65 }",
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// A remembered release parsed as far as a cut reaches.

/// Six packages: `aa_bins` needs `bb_libs` (a slice's essential), which needs `cc_data` (the
/// package's); `dd` and `ee` are unrelated, `ee` mentioning `prefer` in a comment only; `ff`
/// prefers `aa` for a path.
fn reaching_files() -> Vec<SourceFile> {
    files(
        &chisel_yaml("v3"),
        &[
            (
                "slices/aa.yaml",
                "
                package: aa
                slices:
                  bins:
                    essential:
                      bb_libs:
                    contents:
                      /usr/bin/aa:
                      /usr/bin/shared:
                  other:
                    essential:
                      dd_data:
                    contents:
                      /usr/bin/aa-other:
                ",
            ),
            (
                "slices/sub/bb.yaml",
                "
                package: bb
                essential:
                  cc_data:
                slices:
                  libs:
                    contents:
                      /usr/lib/libbb.so.1:
                ",
            ),
            (
                "slices/cc.yaml",
                "
                package: cc
                slices:
                  data:
                    contents:
                      /usr/share/cc/**:
                ",
            ),
            (
                "slices/dd.yaml",
                "
                package: dd
                slices:
                  data:
                    contents:
                      /usr/share/dd/**:
                ",
            ),
            (
                "slices/ee.yaml",
                "
                # the preferred way to say it
                package: ee
                slices:
                  data:
                    contents:
                      /usr/share/ee/**:
                ",
            ),
            (
                "slices/ff.yaml",
                "
                package: ff
                slices:
                  bins:
                    contents:
                      /usr/bin/shared: {prefer: aa}
                ",
            ),
        ],
    )
}

#[test]
fn a_remembered_release_is_parsed_as_far_as_the_cut_reaches() {
    use super::load_files_reaching;
    let files = reaching_files();
    let whole = loaded(load_files("test-release", &files));
    let reached = |requested: &[&str]| {
        let requested: Vec<SliceKey> = requested
            .iter()
            .map(|key| SliceKey::parse(key).expect("a slice key"))
            .collect();
        loaded(load_files_reaching("test-release", &files, &requested))
    };

    let release = reached(&["aa_bins"]);
    // The essentials' packages, transitively, and the files that mention `prefer`; not `dd`,
    // which only a slice the cut does not select needs.
    assert_eq!(
        release.packages.keys().collect::<Vec<_>>(),
        ["aa", "bb", "cc", "ee", "ff"]
    );
    for (name, package) in &release.packages {
        assert_eq!(package, &whole.packages[name], "{name}");
    }
    assert_eq!(release.archives, whole.archives);
    assert_eq!(release.public_keys, whole.public_keys);
    assert_eq!(release.maintenance, whole.maintenance);

    assert_eq!(
        reached(&["dd_data", "cc_data"])
            .packages
            .keys()
            .collect::<Vec<_>>(),
        ["cc", "dd", "ee", "ff"]
    );
    // A package or a slice the release lacks: the whole release, for the full error message.
    assert_eq!(reached(&["aa_bins", "zz_bins"]), whole);
    assert_eq!(reached(&["aa_nothing"]), whole);
}

/// Whichever packages a cut selects along a `prefer` chain (acme → busybox → coreutils), the
/// reached release picks the same owner of each path as the whole release: the chain's files
/// are always parsed, busybox here although it spells `prefer` with an escape (without it, acme
/// would look like the end of its chain and win over coreutils).
#[test]
fn a_reached_release_resolves_prefer_chains_as_the_whole_one() {
    use super::load_files_reaching;
    let chain = files(
        &chisel_yaml("v3"),
        &[
            (
                "slices/coreutils.yaml",
                "
                package: coreutils
                slices:
                  bins:
                    contents:
                      /usr/bin/ls:
                ",
            ),
            (
                "slices/busybox.yaml",
                "
                package: busybox
                slices:
                  bins:
                    contents:
                      /usr/bin/ls: {\"pref\\x65r\": coreutils}
                ",
            ),
            (
                "slices/acme.yaml",
                "
                package: acme
                slices:
                  bins:
                    contents:
                      /usr/bin/ls: {prefer: busybox}
                ",
            ),
        ],
    );
    let whole = loaded(load_files("test-release", &chain));
    for selected in [
        &["coreutils_bins", "acme_bins"][..],
        &["acme_bins"],
        &["busybox_bins", "acme_bins"],
        &["coreutils_bins"],
    ] {
        let requested: Vec<SliceKey> = selected
            .iter()
            .map(|key| SliceKey::parse(key).expect("a slice key"))
            .collect();
        let reached = loaded(load_files_reaching("test-release", &chain, &requested));
        let winners = |release| {
            crate::resolve::select(release, &requested, Arch::Amd64)
                .expect("selects")
                .prefer_winners
        };
        assert_eq!(winners(&reached), winners(&whole), "{selected:?}");
    }
}
