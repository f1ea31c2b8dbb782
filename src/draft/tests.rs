//! Drafts from synthetic package contents: where paths go, how they are written, which
//! essentials are found where, and the exact file text.

use std::collections::BTreeMap;

use super::*;
use crate::release::Format;
use crate::testing::release::{chisel_yaml, load};

fn file(path: &str) -> Entry {
    Entry {
        path: path.to_owned(),
        kind: EntryKind::File,
        needs: Needs::default(),
    }
}

fn elf(path: &str, interpreter: Option<&str>, libraries: &[&str]) -> Entry {
    Entry {
        path: path.to_owned(),
        kind: EntryKind::File,
        needs: Needs {
            interpreter: interpreter.map(str::to_owned),
            libraries: libraries.iter().map(|name| (*name).to_owned()).collect(),
            search: Vec::new(),
        },
    }
}

fn link(path: &str, target: &str) -> Entry {
    Entry {
        path: path.to_owned(),
        kind: EntryKind::Symlink(target.to_owned()),
        needs: Needs::default(),
    }
}

fn dir(path: &str) -> Entry {
    Entry {
        path: path.to_owned(),
        kind: EntryKind::Directory,
        needs: Needs::default(),
    }
}

/// A release with base-files (the `/lib64` link, copied from the package as releases do),
/// libc6 and libfoo3t64.
fn release() -> Release {
    load(&[
        ("chisel.yaml", &chisel_yaml("v1")),
        (
            "slices/base-files.yaml",
            "package: base-files\nslices:\n  lib:\n    contents:\n      /lib64: {arch: amd64}\n      /lib:\n",
        ),
        (
            "slices/libc6.yaml",
            "package: libc6\nslices:\n  libs:\n    contents:\n      /usr/lib/*-linux-*/libc.so.*:\n      /usr/lib64/ld-linux-x86-64.so.2: {arch: amd64}\n",
        ),
        (
            "slices/libfoo3t64.yaml",
            "package: libfoo3t64\nslices:\n  libs:\n    contents:\n      /usr/lib/*-linux-*/libfoo.so.3*:\n",
        ),
        (
            "slices/sh.yaml",
            "package: sh\nslices:\n  bins:\n    contents:\n      /usr/bin/dash:\n      /usr/bin/sh: {symlink: dash}\n",
        ),
    ])
}

/// The release, then a fixed answer for the archive.
struct Fake<'r> {
    index: ReleaseIndex<'r>,
    archive: BTreeMap<&'static str, &'static str>,
}

impl Providers for Fake<'_> {
    fn in_release(&self, path: &str) -> Option<Vec<SliceKey>> {
        self.index.resolve(path)
    }

    fn in_archive(&self, soname: &str) -> Option<String> {
        self.archive
            .get(soname)
            .map(|package| (*package).to_owned())
    }
}

fn tool_entries() -> Vec<Entry> {
    let mut entries = vec![
        dir("/usr/"),
        dir("/usr/bin/"),
        elf(
            "/usr/bin/tool",
            Some("/lib64/ld-linux-x86-64.so.2"),
            &[
                "libc.so.6",
                "libfoo.so.3",
                "libtool.so.1",
                "libbar.so.2",
                "libgone.so.9",
            ],
        ),
        Entry {
            needs: Needs {
                interpreter: Some("/usr/bin/sh".to_owned()),
                ..Needs::default()
            },
            ..file("/usr/bin/tool-wrapper")
        },
        elf(
            "/usr/lib/x86_64-linux-gnu/libtool.so.1.0",
            None,
            &["libc.so.6"],
        ),
        link("/usr/lib/x86_64-linux-gnu/libtool.so.1", "libtool.so.1.0"),
        // The compiler's link: a -dev package's business.
        link("/usr/lib/x86_64-linux-gnu/libtool.so", "libtool.so.1"),
        file("/usr/lib/x86_64-linux-gnu/libtool.a"),
        file("/usr/lib/x86_64-linux-gnu/tool/plugin.so"),
        file("/etc/tool/tool.conf"),
        file("/usr/share/doc/tool/copyright"),
        file("/usr/share/doc/tool/changelog.gz"),
        file("/usr/share/man/man1/tool.1.gz"),
        file("/usr/share/my weird/file:name"),
    ];
    for zone in ["a", "b", "c", "d", "e", "f"] {
        entries.push(file(&format!("/usr/share/tool/zones/{zone}")));
    }
    entries
}

#[test]
fn a_draft_places_paths_and_finds_essentials_in_the_package_release_and_archive() {
    let release = release();
    let providers = Fake {
        index: ReleaseIndex::new(&release, &BTreeSet::from(["tool".to_owned()]), Arch::Amd64),
        archive: BTreeMap::from([("libbar.so.2", "libbar2")]),
    };
    let draft = propose(
        "tool",
        "tool 1.0-1 (amd64), archive ubuntu noble/main",
        &tool_entries(),
        Arch::Amd64,
        &providers,
    );
    let expected = "\
# Drafted by `kerf draft` from tool 1.0-1 (amd64), archive ubuntu noble/main.
# Review before use: keep the slices and paths an image needs, check every essential,
# and resolve the TODOs.
package: tool

# Every slice carries the package's copyright.
essential:
  - tool_copyright

slices:
  bins:
    # TODO: no slice or package found for libgone.so.9, needed by /usr/bin/tool
    essential:
      - base-files_lib  # /lib64/ld-linux-x86-64.so.2 for /usr/bin/tool
      - libbar2_libs  # libbar.so.2 for /usr/bin/tool
      - libc6_libs  # /lib64/ld-linux-x86-64.so.2 for /usr/bin/tool; libc.so.6 for /usr/bin/tool
      - libfoo3t64_libs  # libfoo.so.3 for /usr/bin/tool
      - sh_bins  # /usr/bin/sh for /usr/bin/tool-wrapper
      - tool_libs  # libtool.so.1 for /usr/bin/tool
    contents:
      /usr/bin/tool:
      /usr/bin/tool-wrapper:

  libs:
    essential:
      - libc6_libs  # libc.so.6 for /usr/lib/x86_64-linux-gnu/libtool.so.1.0
    contents:
      /usr/lib/*-linux-*/libtool.so.1:
      /usr/lib/*-linux-*/libtool.so.1.0:
      /usr/lib/*-linux-*/tool/plugin.so:

  config:
    contents:
      /etc/tool/tool.conf:

  data:
    contents:
      '/usr/share/my weird/file:name':
      /usr/share/tool/**:

  copyright:
    contents:
      /usr/share/doc/tool/copyright:
";
    assert_eq!(render(&draft, Format::V1), expected);

    // The same in format v3: essentials as maps.
    let v3 = render(&draft, Format::V3);
    assert!(v3.contains("essential:\n  tool_copyright: {}\n"), "{v3}");
    assert!(
        v3.contains("      libbar2_libs: {}  # libbar.so.2 for /usr/bin/tool\n"),
        "{v3}"
    );

    // Both load as part of the release (the draft's own slices replacing nothing).
    for (format, text) in [("v1", render(&draft, Format::V1)), ("v3", v3)] {
        let mut files = vec![("chisel.yaml".to_owned(), chisel_yaml(format))];
        files.push(("slices/tool.yaml".to_owned(), text));
        for package in ["base-files", "libc6", "libfoo3t64", "sh", "libbar2"] {
            files.push((
                format!("slices/{package}.yaml"),
                format!("package: {package}\nslices:\n  libs: {{}}\n  bins: {{}}\n  lib: {{}}\n"),
            ));
        }
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(path, text)| (path.as_str(), text.as_str()))
            .collect();
        let loaded = load(&files);
        assert_eq!(loaded.packages["tool"].slices.len(), 5, "{format}");
    }
}

#[test]
fn paths_only_on_this_arch_get_an_arch_option() {
    let release = release();
    let providers = Fake {
        index: ReleaseIndex::new(&release, &BTreeSet::new(), Arch::Amd64),
        archive: BTreeMap::new(),
    };
    let entries = [
        file("/usr/lib64/ld-linux-x86-64.so.2"),
        file("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
        file("/usr/lib/x86_64-linux-gnu/libc.so.6"),
    ];
    let draft = propose("libc", "libc", &entries, Arch::Amd64, &providers);
    let contents: Vec<(String, Vec<Arch>)> = draft.slices[&Category::Libs]
        .contents
        .clone()
        .into_iter()
        .collect();
    assert_eq!(
        contents,
        [
            (
                "/usr/lib/*-linux-*/ld-linux-x86-64.so.2".to_owned(),
                vec![Arch::Amd64]
            ),
            ("/usr/lib/*-linux-*/libc.so.6".to_owned(), vec![]),
            (
                "/usr/lib64/ld-linux-x86-64.so.2".to_owned(),
                vec![Arch::Amd64]
            ),
        ]
    );
}

#[test]
fn the_release_index_follows_symlinks_and_the_merged_usr_alias() {
    let release = release();
    let index = ReleaseIndex::new(&release, &BTreeSet::new(), Arch::Amd64);
    let keys = |path: &str| {
        index
            .resolve(path)
            .map(|keys| keys.iter().map(ToString::to_string).collect::<Vec<_>>())
    };
    assert_eq!(keys("/usr/bin/sh"), Some(vec!["sh_bins".to_owned()]));
    assert_eq!(
        keys("/lib64/ld-linux-x86-64.so.2"),
        Some(vec!["base-files_lib".to_owned(), "libc6_libs".to_owned()])
    );
    assert_eq!(
        keys("/usr/lib/x86_64-linux-gnu/libfoo.so.3.1"),
        Some(vec!["libfoo3t64_libs".to_owned()])
    );
    assert_eq!(keys("/usr/bin/missing"), None);
    // Not on arm64: /lib64 and the loader are amd64 only.
    let arm = ReleaseIndex::new(&release, &BTreeSet::new(), Arch::Arm64);
    assert_eq!(arm.resolve("/lib64/ld-linux-x86-64.so.2"), None);
}

#[test]
fn package_names_are_guessed_from_sonames() {
    assert_eq!(package_candidates("libssl.so.3"), ["libssl3t64", "libssl3"]);
    assert_eq!(
        package_candidates("libpcre2-8.so.0"),
        ["libpcre2-8-0t64", "libpcre2-8-0"]
    );
    assert_eq!(package_candidates("libm.so.6"), ["libc6"]);
    assert_eq!(package_candidates("ld-linux-x86-64.so.2"), ["libc6"]);
    assert_eq!(package_candidates("libz.so.1"), ["zlib1g"]);
    assert_eq!(package_candidates("libfoo.so"), Vec::<String>::new());
}

#[test]
fn script_interpreters_are_read_from_the_first_line() {
    assert_eq!(
        script_interpreter(b"/bin/sh -e\nrest").as_deref(),
        Some("/bin/sh")
    );
    assert_eq!(
        script_interpreter(b" /usr/bin/env -S python3 -u\n").as_deref(),
        Some("python3")
    );
    assert_eq!(
        script_interpreter(b"/usr/bin/env LANG=C perl\n").as_deref(),
        Some("perl")
    );
    assert_eq!(
        script_interpreter(b"/bin/bash\r\n").as_deref(),
        Some("/bin/bash")
    );
    assert_eq!(script_interpreter(b"perl\n"), None);
    assert_eq!(script_interpreter(b""), None);
}
