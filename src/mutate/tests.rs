//! Scripts against real roots in temporary directories: the `content` API, its path rules and
//! messages, the dialect, and the limits.

use fs_err as fs;
use fs_err::os::unix::fs::symlink;
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use super::host::{absolute, clean};
use super::*;
use crate::extract::root::Root;

/// A root holding `files` (path, content), directories `dirs` and symlinks `links`
/// (path, target).
struct TestRoot {
    dir: tempfile::TempDir,
    created: Vec<String>,
}

impl TestRoot {
    fn new(files: &[(&str, &str)], links: &[(&str, &str)]) -> TestRoot {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut created = Vec::new();
        for (path, content) in files {
            let host = dir.path().join(path.trim_start_matches('/'));
            if path.ends_with('/') {
                fs::create_dir_all(&host).expect("directory");
            } else {
                fs::create_dir_all(host.parent().expect("parent")).expect("parent");
                fs::write(&host, content).expect("file");
                fs::set_permissions(&host, std::fs::Permissions::from_mode(0o644)).expect("mode");
            }
            created.push((*path).to_owned());
        }
        for (path, target) in links {
            let host = dir.path().join(path.trim_start_matches('/'));
            fs::create_dir_all(host.parent().expect("parent")).expect("parent");
            symlink(target, &host).expect("symlink");
            created.push((*path).to_owned());
        }
        TestRoot { dir, created }
    }

    fn host(&self, mutable: &[&str]) -> RootHost {
        RootHost::new(
            Root::create(self.dir.path()).expect("root"),
            self.created.iter().map(String::as_str),
            mutable.iter().map(|path| (*path).to_owned()).collect(),
            1 << 20,
        )
    }

    fn read(&self, path: &str) -> String {
        fs::read_to_string(self.dir.path().join(path.trim_start_matches('/'))).expect("readable")
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn key() -> SliceKey {
    SliceKey::new("pkg", "slice")
}

/// Runs `source` as slice `pkg_slice`; the error as the cut shows it, and what it printed.
fn run_with(
    host: &RootHost,
    source: &str,
    limits: &Limits,
) -> (Result<Changes, String>, Vec<String>) {
    let printed = std::cell::RefCell::new(Vec::new());
    let scripts = [Script {
        slice: key(),
        source: source.to_owned(),
    }];
    let result = run_in_process(
        &scripts,
        host,
        limits,
        &|_, text| printed.borrow_mut().push(text.to_owned()),
        &|_| {},
    )
    .map_err(|error| error.to_string());
    (result, printed.into_inner())
}

fn run(host: &RootHost, source: &str) -> Result<Changes, String> {
    run_with(host, source, &Limits::default()).0
}

fn fails(host: &RootHost, source: &str) -> String {
    run(host, source).expect_err("the script fails")
}

fn sha(text: &str) -> String {
    crate::digest::sha256_hex(text.as_bytes())
}

#[test]
fn paths_are_cleaned_like_go_and_keep_a_trailing_slash() {
    assert_eq!(clean("/a/./b//c/../d"), "/a/b/d");
    assert_eq!(clean("/../../x"), "/x");
    assert_eq!(clean("/"), "/");
    assert_eq!(absolute("/a/b/").as_deref(), Ok("/a/b/"));
    assert_eq!(absolute("//").as_deref(), Ok("/"));
    assert_eq!(absolute("/a/../").as_deref(), Ok("/"));
    assert_eq!(
        absolute("a/b"),
        Err("content path must be absolute, got: a/b".to_owned())
    );
}

#[test]
fn a_script_reads_lists_and_writes_a_mutable_file() {
    let root = TestRoot::new(
        &[
            ("/certs/b.crt", "BBB\n"),
            ("/certs/a.crt", "AAA\n"),
            ("/certs/sub/", ""),
            ("/etc/bundle.crt", "old"),
        ],
        &[],
    );
    let host = root.host(&["/etc/bundle.crt"]);
    let changes = run(
        &host,
        "names = content.list('/certs')\n\
         print(names)\n\
         certs = [content.read('/certs/' + name) for name in names if not name.endswith('/')]\n\
         content.write(path='/etc/bundle.crt', data=''.join(certs))\n",
    )
    .expect("the script runs");
    assert_eq!(root.read("/etc/bundle.crt"), "AAA\nBBB\n");
    assert_eq!(
        changes,
        Changes::from([(
            "/etc/bundle.crt".to_owned(),
            Written {
                size: 8,
                sha256: sha("AAA\nBBB\n")
            }
        )])
    );
    let (_, printed) = run_with(&host, "print(content.list('/certs/'))", &Limits::default());
    assert_eq!(printed, ["[\"a.crt\", \"b.crt\", \"sub/\"]"]);
}

#[test]
fn list_shows_entries_no_slice_selected() {
    let root = TestRoot::new(&[("/d/selected", "x")], &[]);
    fs::write(root.path().join("d/stray"), "y").expect("stray file");
    let host = root.host(&[]);
    let (result, printed) = run_with(&host, "print(content.list('/d'))", &Limits::default());
    result.expect("lists");
    assert_eq!(printed, ["[\"selected\", \"stray\"]"]);
}

#[test]
fn paths_outside_the_selection_are_refused_with_chisels_messages() {
    let root = TestRoot::new(&[("/etc/a", "a"), ("/etc/dir/f", "f")], &[]);
    fs::write(root.path().join("etc/unlisted"), "u").expect("unlisted file");
    let host = root.host(&["/etc/a"]);
    let cases = [
        (
            "content.read('/etc/unlisted')",
            "slice pkg_slice: mutate:1:1: cannot read file which is not selected: /etc/unlisted",
        ),
        (
            "content.read('/etc/dir')",
            "slice pkg_slice: mutate:1:1: content is not a file: /etc/dir",
        ),
        (
            "content.list('/etc/a')",
            "slice pkg_slice: mutate:1:1: content is not a directory: /etc/a",
        ),
        (
            "content.list('/usr')",
            "slice pkg_slice: mutate:1:1: cannot list directory which is not selected: /usr/",
        ),
        (
            "content.write('/etc/dir/f', 'x')",
            "slice pkg_slice: mutate:1:1: cannot write file which is not mutable: /etc/dir/f",
        ),
        (
            "content.write('/etc/unlisted', 'x')",
            "slice pkg_slice: mutate:1:1: cannot write file which is not mutable: /etc/unlisted",
        ),
        (
            "content.write('/etc/', 'x')",
            "slice pkg_slice: mutate:1:1: cannot write file which is not mutable: /etc/",
        ),
        (
            "x = 1\ncontent.read('etc/a')",
            "slice pkg_slice: mutate:2:1: content path must be absolute, got: etc/a",
        ),
        (
            "content.write('/etc/a', 1)",
            "slice pkg_slice: mutate:1:1: Type of parameter `data` doesn't match, expected `str`, actual `int (repr: 1)`",
        ),
    ];
    for (script, expected) in cases {
        assert_eq!(fails(&host, script), expected, "script: {script}");
    }
    assert_eq!(root.read("/etc/unlisted"), "u");
    assert_eq!(root.read("/etc/dir/f"), "f");
}

#[test]
fn a_write_keeps_the_mode_and_replaces_the_file_whole() {
    let root = TestRoot::new(&[("/etc/conf", "old")], &[]);
    let host_path = root.path().join("etc/conf");
    fs::set_permissions(&host_path, std::fs::Permissions::from_mode(0o600)).expect("mode");
    let host = root.host(&["/etc/conf"]);
    run(&host, "content.write('/etc/conf', 'new content')").expect("writes");
    assert_eq!(root.read("/etc/conf"), "new content");
    let mode = fs::metadata(&host_path)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o600);
    // No temporary file is left beside it.
    let names: Vec<String> = fs::read_dir(root.path().join("etc"))
        .expect("dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, ["conf"]);
}

#[test]
fn a_hard_link_is_not_mutated() {
    let root = TestRoot::new(&[("/a/one", "same")], &[]);
    fs::hard_link(root.path().join("a/one"), root.path().join("a/two")).expect("link");
    let mut created = root.created.clone();
    created.push("/a/two".to_owned());
    let host = RootHost::new(
        Root::create(root.path()).expect("root"),
        created.iter().map(String::as_str),
        BTreeSet::from(["/a/two".to_owned()]),
        1 << 20,
    );
    assert_eq!(
        fails(&host, "content.write('/a/two', 'x')"),
        "slice pkg_slice: mutate:1:1: cannot mutate a hard link: /a/two"
    );
    assert_eq!(root.read("/a/one"), "same");
}

#[test]
fn symlinks_are_followed_inside_the_root_and_every_hop_is_checked() {
    let root = TestRoot::new(
        &[("/etc/real", "real"), ("/etc/other", "other")],
        &[
            ("/etc/link", "real"),
            ("/etc/to-other", "/etc/other"),
            // Climbs above the root: lands on /etc/real inside it.
            ("/etc/climb", "../../../../etc/real"),
        ],
    );
    // A file on the host that a link with an absolute target must never reach.
    let outside = tempfile::NamedTempFile::new().expect("outside file");
    fs::write(outside.path(), "host").expect("write outside");
    let escape = outside.path().to_string_lossy().into_owned();
    symlink(&escape, root.path().join("etc/escape")).expect("escape link");
    let mut created = root.created.clone();
    created.push("/etc/escape".to_owned());
    let host = RootHost::new(
        Root::create(root.path()).expect("root"),
        created.iter().map(String::as_str),
        [
            "/etc/link",
            "/etc/real",
            "/etc/to-other",
            "/etc/climb",
            "/etc/escape",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect(),
        1 << 20,
    );
    let changes = run(&host, "content.write('/etc/link', 'via link')").expect("writes");
    assert_eq!(root.read("/etc/real"), "via link");
    assert!(changes.contains_key("/etc/real"));
    assert!(fs::symlink_metadata(root.path().join("etc/link"))
        .expect("link")
        .file_type()
        .is_symlink());
    run(&host, "content.write('/etc/climb', 'climbed')").expect("writes inside the root");
    assert_eq!(root.read("/etc/real"), "climbed");
    // The second hop, /etc/other, is not mutable.
    assert_eq!(
        fails(&host, "content.write('/etc/to-other', 'x')"),
        "slice pkg_slice: mutate:1:1: cannot write file which is not mutable: /etc/other"
    );
    // The absolute target is taken inside the root, where nothing is selected.
    let message = fails(&host, "content.write('/etc/escape', 'pwned')");
    assert_eq!(
        message,
        format!("slice pkg_slice: mutate:1:1: cannot write file which is not mutable: {escape}")
    );
    assert_eq!(fs::read_to_string(outside.path()).expect("outside"), "host");
}

#[test]
fn a_file_that_is_not_utf8_is_refused() {
    let root = TestRoot::new(&[("/bin/tool", "")], &[]);
    fs::write(root.path().join("bin/tool"), b"\x7fELF\xff\xfe").expect("binary");
    assert_eq!(
        fails(&root.host(&[]), "content.read('/bin/tool')"),
        "slice pkg_slice: mutate:1:1: cannot read file which is not UTF-8 text: /bin/tool"
    );
}

#[test]
fn the_dialect_refuses_what_chisels_refuses() {
    let root = TestRoot::new(&[], &[]);
    let host = root.host(&[]);
    let cases = [
        (
            "load('x.star', 'y')",
            "`load` is not allowed in this dialect",
        ),
        (
            "while True:\n    pass",
            "cannot use reserved keyword `while`",
        ),
        ("s = set([1])", "Variable `set` not found"),
        ("a = 1\nprint(f'{a}')", "f-strings"),
        ("x = (\n", "mutate:2:1: Parse error"),
    ];
    for (script, expected) in cases {
        let message = fails(&host, script);
        assert!(
            message.starts_with("slice pkg_slice: mutate:") && message.contains(expected),
            "script {script:?} gave {message:?}"
        );
    }
    // Top-level loops and re-assignment are allowed, as in chisel's dialect.
    let (result, printed) = run_with(
        &host,
        "x = 1\nx = 2\nfor i in range(3):\n    x += i\nif x:\n    print(x)\n",
        &Limits::default(),
    );
    result.expect("runs");
    assert_eq!(printed, ["5"]);
}

#[test]
fn runaway_scripts_are_stopped_by_their_limits() {
    let root = TestRoot::new(&[], &[]);
    let host = root.host(&[]);
    let forever = "for i in range(2147483647):\n    for j in range(2147483647):\n        pass\n";
    let steps = Limits {
        ticks: 100_000,
        ..Limits::default()
    };
    assert_eq!(
        run_with(&host, forever, &steps).0.expect_err("stopped"),
        "slice pkg_slice: the script took more than 100000 steps (calls and loop iterations) and was stopped"
    );
    let time = Limits {
        ticks: u64::MAX,
        time: Duration::from_millis(300),
        ..Limits::default()
    };
    let started = Instant::now();
    let message = run_with(&host, forever, &time).0.expect_err("stopped");
    assert_eq!(
        message,
        "slice pkg_slice: the script ran for more than 0.3 s and was stopped"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    let recursion = "def f(n):\n    return f(n + 1)\nf(0)\n";
    assert_eq!(
        fails(&host, recursion),
        "slice pkg_slice: mutate:2:12: Starlark call stack overflow"
    );
    let grow = "l = []\nfor i in range(2147483647):\n    l.append('x' * 1000 + str(i))\n";
    let heap = Limits {
        heap: 16 << 20,
        ..Limits::default()
    };
    let message = run_with(&host, grow, &heap).0.expect_err("stopped");
    assert!(
        message.starts_with("slice pkg_slice: Heap memory limit of 16777216 bytes exceeded"),
        "{message}"
    );
}

#[test]
fn a_syntax_error_in_a_later_script_stops_before_any_script_runs() {
    let root = TestRoot::new(&[("/f", "before")], &[]);
    let host = root.host(&["/f"]);
    let scripts = [
        Script {
            slice: SliceKey::new("a", "first"),
            source: "content.write('/f', 'after')".to_owned(),
        },
        Script {
            slice: SliceKey::new("b", "second"),
            source: "x = = 1".to_owned(),
        },
    ];
    let error = run_in_process(&scripts, &host, &Limits::default(), &|_, _| {}, &|_| {})
        .expect_err("fails");
    assert!(
        error
            .to_string()
            .starts_with("slice b_second: mutate:1:5: Parse error"),
        "{error}"
    );
    assert_eq!(root.read("/f"), "before");
}

/// Every `mutate` of every corpus branch parses in kerf's dialect.
#[test]
fn every_corpus_script_parses() {
    let Some(corpus) = crate::release::testing::corpus_dir() else {
        return;
    };
    let mut parsed = 0;
    for branch in ["ubuntu-24.04", "ubuntu-25.10", "ubuntu-26.04"] {
        let release = crate::release::load_dir(&corpus.join(branch)).expect("branch loads");
        for package in release.packages.values() {
            for slice in package.slices.values() {
                if slice.mutate.is_empty() {
                    continue;
                }
                if let Err(error) = engine::parse(&slice.mutate) {
                    panic!("{branch} {}: {error}", slice.key());
                }
                parsed += 1;
            }
        }
    }
    assert_eq!(parsed, 24);
}
