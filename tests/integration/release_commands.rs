//! `info`, `find` and `lint` run as a user would, on small releases and on the corpus.

use crate::harness::{chisel_yaml, kerf, TestDir};
use crate::with_shared;

const BRANCHES: [&str; 3] = ["ubuntu-24.04", "ubuntu-25.10", "ubuntu-26.04"];

fn small_release() -> TestDir {
    let dir = TestDir::new();
    dir.write("rel/chisel.yaml", &chisel_yaml("v1"))
        .write(
            "rel/slices/mypkg.yaml",
            "package: mypkg\nessential:\n  - mypkg_copyright\nslices:\n  bins:\n    hint: The tools\n    contents:\n      /usr/bin/tool:\n  copyright:\n    contents:\n      /usr/share/doc/mypkg/copyright:\n",
        )
        .write("rel/slices/sub/other.yaml", "package: other\nslices:\n  data:\n    contents:\n      /etc/other.conf: {text: \"a\\n\", mode: 0600}\n");
    dir
}

#[test]
fn info_prints_definitions_then_fails_on_unknown_names() {
    let dir = small_release();
    let run = kerf(
        dir.path(),
        &[
            "info",
            "--release",
            "./rel",
            "mypkg_bins",
            "nosuch_slice",
            "other",
            "nopkg",
        ],
    );
    assert_eq!(
        run.stdout,
        "package: mypkg\nslices:\n    bins:\n        hint: The tools\n        essential:\n            mypkg_copyright: {}\n        contents:\n            /usr/bin/tool: {}\n---\npackage: other\nslices:\n    data:\n        contents:\n            /etc/other.conf: {mode: 0600, text: \"a\\n\"}\n"
    );
    run.fails_with(
        1,
        "error: no slice definitions found for: \"nosuch_slice\", \"nopkg\"\n",
    );
}

#[test]
fn find_lists_matches_and_fails_on_none() {
    let dir = small_release();
    let run = kerf(dir.path(), &["find", "--release", "rel/", "mypk"]);
    assert_eq!(
        run.success(),
        "Slice            Hint\nmypkg_bins       The tools\nmypkg_copyright  -\n"
    );
    let run = kerf(dir.path(), &["find", "--release", "rel/", "zzzzzz"]);
    run.fails_with(1, "error: no matching slices for \"zzzzzz\"\n");
}

#[test]
fn lint_reports_every_problem_with_its_file_and_line() {
    let dir = small_release();
    dir.write(
        "rel/slices/broken.yaml",
        "package: broken\nslices:\n  bins:\n    contents:\n      /usr/bin/ok:\n      relative/path:\n",
    )
    .write(
        "rel/slices/needy.yaml",
        "package: needy\nslices:\n  bins:\n    essential:\n      - nosuch_slice\n    contents:\n      /usr/bin/tool:\n",
    );
    let run = kerf(dir.path(), &["lint", "--release", "./rel"]);
    run.fails_with(
        1,
        "error: invalid release ./rel: 3 problems\n  \
         slices/broken.yaml:6:7: slice broken_bins has invalid content path: relative/path\n  \
         slices/mypkg.yaml:5: slices mypkg_bins and needy_bins conflict on /usr/bin/tool\n  \
         slices/needy.yaml:3: needy_bins requires nosuch_slice, but slice is missing\n",
    );
}

#[test]
fn unknown_release_names_what_was_tried() {
    let dir = TestDir::new();
    let run = kerf(dir.path(), &["lint", "--release", "nosuch-1.0"]);
    run.fails_with(
        1,
        "error: unknown release \"nosuch-1.0\": it is not a directory, nor a release bundled into kerf (bundled: debian-13, ubuntu-24.04, ubuntu-26.04)\n",
    );
    let run = kerf(dir.path(), &["lint", "--release", "./missing"]);
    assert_eq!(run.status, 1);
    assert!(run.stderr.starts_with("error: invalid release ./missing: cannot read release definition ./missing/chisel.yaml: "), "{}", run.stderr);
}

#[test]
fn bad_flags_exit_1() {
    let dir = TestDir::new();
    let run = kerf(dir.path(), &["info"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr.contains("required arguments were not provided"),
        "{}",
        run.stderr
    );
    assert_eq!(kerf(dir.path(), &["--help"]).status, 0);
}

#[test]
fn lint_accepts_every_corpus_branch() {
    with_shared!(shared => {
        for branch in BRANCHES {
            let release = shared.join("corpus/chisel-releases").join(branch);
            let run = kerf(&shared, &["lint", "--release", release.to_str().unwrap()]);
            let out = run.success();
            assert!(out.starts_with("ok: "), "{branch}: {out}");
        }
    });
}

#[test]
fn info_matches_the_reference_on_every_corpus_branch() {
    with_shared!(shared => {
        for branch in BRANCHES {
            let release = shared.join("corpus/chisel-releases").join(branch);
            // In the byte order of the file names, as the reference was made.
            let mut files: Vec<String> = fs_err::read_dir(release.join("slices"))
                .unwrap()
                .map(|entry| entry.unwrap().file_name().into_string().unwrap())
                .collect();
            files.sort();
            let packages: Vec<String> = files.iter().filter_map(|name| name.strip_suffix(".yaml").map(str::to_owned)).collect();
            let mut args = vec!["info", "--release", release.to_str().unwrap()];
            args.extend(packages.iter().map(String::as_str));
            let run = kerf(&shared, &args);
            let expected = fs_err::read_to_string(shared.join("fixtures/expected/info").join(format!("{branch}.yaml"))).unwrap();
            assert!(run.success() == expected, "{branch}: info output differs from the reference");
        }
    });
}
