//! What a new user meets first: help with examples, completions, man pages, and the two levels
//! of verbosity.

use kerf::testing::server::TestServer;

use crate::harness::{kerf, TestDir};

#[test]
fn every_command_shows_an_example_in_its_help() {
    let dir = TestDir::new();
    let top = kerf(dir.path(), &["--help"]);
    assert!(
        top.success().contains("Examples:\n  kerf cut --release"),
        "{}",
        top.stdout
    );
    for command in [
        "cut",
        "info",
        "find",
        "lint",
        "check",
        "draft",
        "sbom",
        "tree",
        "report",
        "lock",
        "verify",
        "completions",
        "man",
        "version",
    ] {
        let run = kerf(dir.path(), &[command, "--help"]);
        let help = run.success();
        assert!(
            help.contains(&format!("\n  kerf {command}")),
            "`kerf {command} --help` shows no example:\n{help}"
        );
    }
}

#[test]
fn completions_and_man_pages_come_from_the_same_definitions() {
    let dir = TestDir::new();
    let bash = kerf(dir.path(), &["completions", "bash"]);
    let script = bash.success();
    assert!(script.starts_with("_kerf() {"), "{script}");
    for word in ["cut", "draft", "--archive-url", "--release"] {
        assert!(script.contains(word), "bash completion lacks {word}");
    }
    assert!(kerf(dir.path(), &["completions", "fish"])
        .success()
        .contains("complete -c kerf"));
    kerf(dir.path(), &["completions", "tcsh"]).fails_with(
        1,
        "error: invalid value 'tcsh' for '<SHELL>'\n  [possible values: bash, elvish, fish, powershell, zsh]\n\n  tip: a similar value exists: 'zsh'\n\nFor more information, try '--help'.\n",
    );

    let page = kerf(dir.path(), &["man"]);
    // The title line names the program and section 1 (chisel's overwrites a letter, SPEC §9).
    assert!(page.success().contains("\n.TH kerf 1 "), "{}", page.stdout);

    let out = dir.path().join("man1");
    fs_err::create_dir(&out).expect("mkdir");
    kerf(dir.path(), &["man", "--out", out.to_str().unwrap()]).success();
    let mut names: Vec<String> = fs_err::read_dir(&out)
        .expect("pages")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "kerf-check.1",
            "kerf-completions.1",
            "kerf-cut.1",
            "kerf-draft.1",
            "kerf-find.1",
            "kerf-info.1",
            "kerf-lint.1",
            "kerf-lock.1",
            "kerf-man.1",
            "kerf-report.1",
            "kerf-sbom.1",
            "kerf-tree.1",
            "kerf-verify.1",
            "kerf-version.1",
            "kerf.1",
        ]
    );
    let cut = fs_err::read_to_string(out.join("kerf-cut.1")).expect("kerf-cut.1");
    assert!(
        cut.contains(".TH kerf-cut 1 ") && cut.contains("\\-\\-archive\\-url"),
        "{cut}"
    );
}

/// `-v` shows each step; `-vv` adds each request and cache hit; neither writes escape codes
/// when stderr is not a terminal (a build log).
#[test]
fn verbosity_levels_in_a_build_log() {
    crate::with_shared!(shared => {
        let server = TestServer::serve_dir(&shared.join("fixtures/noble-mirror"));
        let dir = TestDir::new();
        let release = shared.join("corpus/chisel-releases/ubuntu-24.04");
        let archive = format!("ubuntu={}ubuntu/", server.url("/"));
        let cut = |root: &str, flag: &str| {
            let root = dir.path().join(root);
            let cache = dir.path().join("cache");
            kerf(dir.path(), &[
                "cut", flag, "--arch", "amd64", "--release", release.to_str().unwrap(),
                "--root", root.to_str().unwrap(), "--cache-dir", cache.to_str().unwrap(),
                "--archive-url", &archive, "base-files_base",
            ])
        };
        let verbose = cut("one", "-v");
        verbose.success();
        assert!(verbose.stderr.contains("\nExtracting files from package \"base-files\"...\n"), "{}", verbose.stderr);
        assert!(!verbose.stderr.contains("DEBUG"), "{}", verbose.stderr);
        let debug = cut("two", "-vv");
        debug.success();
        let inrelease = format!("DEBUG GET {}ubuntu/dists/noble/InRelease\n", server.url("/"));
        assert!(debug.stderr.contains(&inrelease), "{}", debug.stderr);
        assert!(debug.stderr.contains("DEBUG cache hit: "), "{}", debug.stderr);
        for run in [&verbose, &debug] {
            assert!(!run.stderr.contains('\u{1b}'), "escape codes in a build log:\n{}", run.stderr);
        }
    });
}
