//! `info`, `find` and `lint` run as a user would, on small releases and on the corpus.

use crate::harness::{chisel_yaml, kerf, kerf_with, StaticServer, TestDir};
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
        "error: unknown release \"nosuch-1.0\": it is not a directory, nor a release bundled into kerf (bundled: ubuntu-24.04)\n",
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

/// A gzip tarball of `dir` as GitHub serves a branch: one top folder, and a global header whose
/// `comment` names the commit.
fn github_tarball(dir: &std::path::Path, top: &str, commit: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let record = format!("comment={commit}");
    let pax = format!("{} {record}\n", record.len() + 4);
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::XGlobalHeader);
    header.set_size(pax.len() as u64);
    header.set_path("pax_global_header").expect("a short name");
    header.set_cksum();
    builder
        .append(&header, pax.as_bytes())
        .expect("tar in memory");
    builder
        .append_dir_all(top, dir)
        .expect("the corpus branch is readable");
    let tar = builder.into_inner().expect("tar in memory");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut encoder, &tar).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

#[test]
fn a_chisel_releases_branch_prints_what_its_checkout_prints() {
    with_shared!(shared => {
        let checkout = shared.join("corpus/chisel-releases/ubuntu-24.04");
        let dir = TestDir::new();
        let commit = "4f6c5a0e9d2b7c1a8e3f5d6b9a0c1e2f3a4b5c6d";
        let www = dir.path().join("www/refs/heads");
        fs_err::create_dir_all(&www).expect("mkdir www");
        fs_err::write(
            www.join("ubuntu-24.04.tar.gz"),
            github_tarball(&checkout, "chisel-releases-ubuntu-24.04", commit),
        )
        .expect("write the tarball");
        let server = StaticServer::serve(&dir.path().join("www"));
        let base = server.url();
        let env = [
            ("KERF_CHISEL_RELEASES_URL", base.as_str()),
            ("KERF_CACHE_DIR", "cache"),
        ];
        let expected = kerf(
            dir.path(),
            &["info", "--release", &checkout.display().to_string(), "openssl_bins"],
        );
        let fetched = kerf_with(
            dir.path(),
            &env,
            &["info", "--release", "chisel-releases:ubuntu-24.04", "openssl_bins"],
        );
        assert_eq!(fetched.success(), expected.success());

        let missing = kerf_with(
            dir.path(),
            &env,
            &["info", "--release", "chisel-releases:ubuntu-24.04", "nosuch_slice"],
        );
        missing.fails_with(1, "error: no slice definitions found for: \"nosuch_slice\"\n");
        kerf_with(
            dir.path(),
            &env,
            &["lint", "--release", "chisel-releases:ubuntu-99.04"],
        )
        .fails_with(
            1,
            &format!("error: chisel-releases has no branch \"ubuntu-99.04\": {base}refs/heads/ubuntu-99.04.tar.gz was not found (HTTP 404)\n"),
        );
    });
}

#[test]
fn a_miss_in_a_bundled_release_says_which_release_and_where_the_catalogue_is() {
    let dir = TestDir::new();
    let hint = "hint: this is kerf's bundled release ubuntu-24.04, with 64 packages; the upstream catalogue is --release chisel-releases:ubuntu-24.04\n";
    kerf(
        dir.path(),
        &["info", "--release", "ubuntu-24.04", "nodejs_bins"],
    )
    .fails_with(
        1,
        &format!("error: no slice definitions found for: \"nodejs_bins\"\n{hint}"),
    );
    kerf_with(
        dir.path(),
        &[("KERF_CACHE_DIR", "cache")],
        &[
            "cut",
            "--release",
            "ubuntu-24.04",
            "--root",
            "rootfs",
            "nodejs_bins",
        ],
    )
    .fails_with(
        1,
        &format!("error: slices of package \"nodejs\" not found\n{hint}"),
    );
}
