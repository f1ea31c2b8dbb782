//! Not a copy of chisel-releases.
//!
//! The chisel-releases corpus is AGPL material the project may read but not copy. The slice
//! files of kerf's bundled releases were written from the packages' contents; this test keeps
//! it so. Each bundled release is compared with the corpus branch nearest to it (its own
//! Ubuntu version; for Debian 13, which the corpus has no branch of, the Ubuntu 26.04 branch of
//! the same OpenSSL 3.5 and glibc era). For each file of the release whose name a file of that
//! branch also has (chisel.yaml, and the slice file of the same package):
//!
//! 1. the two are not byte-identical;
//! 2. they are not identical once comments and all whitespace are dropped (a copy with its
//!    comments stripped or re-indented);
//! 3. they share no comment: no comment line of ours, trimmed, is a comment line of theirs;
//! 4. slice files only: few of our "substantive" lines appear in their file. Lines are
//!    compared after trimming, collapsing runs of blanks and dropping trailing comments.
//!    Set aside first are the lines every description of the package has, whoever writes
//!    it: bare keys (`slices:`, `contents:`, `essential:` and the slice names, which are
//!    the interface kept on purpose so the same command lines work with either release),
//!    `package: NAME` and `mutate: |`. What remains (each path entry with its options, each
//!    essential entry, script and text lines) carries the author's choices of what to
//!    include and how to write it. A copy shares nearly all of those lines; independent
//!    files share only what the format forces to be spelled the same (measured when the
//!    releases were written: at most 1 line per file, the `generate: manifest` line). The
//!    bound, at most 2 lines or a tenth of the substantive lines (whichever is larger),
//!    leaves room for coincidence and still fails on any copied block. chisel.yaml is exempt
//!    from this one: it is almost all facts that must be equal (support dates, suites,
//!    components, and the archive key itself).

use std::collections::BTreeSet;
use std::path::Path;

use crate::bundled_release::{file_names, release_dir};
use crate::with_shared;

/// Each bundled release, the corpus branch it is compared with, and how many of its files
/// at least have a namesake there (so that a moved corpus cannot make the test vacuous).
const PAIRS: [(&str, &str, usize); 3] = [
    ("ubuntu-24.04", "ubuntu-24.04", 65),
    ("ubuntu-26.04", "ubuntu-26.04", 75),
    ("debian-13", "ubuntu-26.04", 9),
];

/// The lines of a file with comments and blank lines dropped, each trimmed, its runs of
/// whitespace made one space and a trailing ` # comment` removed.
fn code_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let line = match line.find(" #") {
                Some(at) => &line[..at],
                None => line,
            };
            line.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}

/// The text of each comment line, `#` and surrounding blanks removed, empty ones skipped.
fn comment_lines(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(str::trim)
        .filter_map(|line| line.strip_prefix('#'))
        .map(|comment| comment.trim_start_matches('#').trim().to_owned())
        .filter(|comment| !comment.is_empty())
        .collect()
}

/// A line any slice file of the package has: a key with no value, `package: NAME`, or the
/// start of a script.
fn is_structural(line: &str) -> bool {
    let bare_key = line.strip_suffix(':').is_some_and(|key| {
        key.starts_with(|c: char| c.is_ascii_lowercase())
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.+".contains(c))
    });
    bare_key || line.starts_with("package: ") || line == "mutate: |"
}

#[test]
fn no_file_of_a_bundled_release_is_a_copy_of_the_corpus() {
    with_shared!(shared => {
        for (release, branch, at_least) in PAIRS {
            not_a_copy(&shared, release, branch, at_least);
        }
    });
}

fn not_a_copy(shared: &Path, release: &str, branch: &str, at_least: usize) {
    let corpus = shared.join("corpus/chisel-releases").join(branch);
    let ours = release_dir(release);
    let mut pairs = vec![("chisel.yaml".to_owned(), corpus.join("chisel.yaml"))];
    for name in file_names(&ours.join("slices")) {
        let theirs = corpus.join("slices").join(&name);
        if theirs.is_file() {
            pairs.push((format!("slices/{name}"), theirs));
        }
    }
    assert!(
        pairs.len() >= at_least,
        "{release}: only {} files have a namesake in the corpus's {branch}, expected {at_least}",
        pairs.len()
    );

    for (name, theirs) in pairs {
        let what = format!("{release}/{name}");
        let ours = fs_err::read_to_string(ours.join(&name)).expect("cannot read our file");
        let theirs = fs_err::read_to_string(&theirs).expect("cannot read the corpus file");

        assert_ne!(ours, theirs, "{what} is byte-identical to the corpus's");
        assert_ne!(
            squeezed(&ours),
            squeezed(&theirs),
            "{what} is the corpus's file without comments and whitespace"
        );
        let shared_comments: Vec<String> = comment_lines(&ours)
            .intersection(&comment_lines(&theirs))
            .cloned()
            .collect();
        assert!(
            shared_comments.is_empty(),
            "{what} shares comments with the corpus's: {shared_comments:?}"
        );

        if name == "chisel.yaml" {
            continue;
        }
        let their_lines: BTreeSet<String> = code_lines(&theirs).into_iter().collect();
        let substantive: Vec<String> = code_lines(&ours)
            .into_iter()
            .filter(|line| !is_structural(line))
            .collect();
        let common: Vec<&String> = substantive
            .iter()
            .filter(|line| their_lines.contains(*line))
            .collect();
        let bound = (substantive.len() / 10).max(2);
        assert!(
            common.len() <= bound,
            "{what}: {} of its {} substantive lines are in the corpus's file, more than \
             {bound}: {common:?}",
            common.len(),
            substantive.len()
        );
    }
}

/// A file's code with comments and every blank removed: what rule 2 compares.
fn squeezed(text: &str) -> String {
    code_lines(text).concat().split_whitespace().collect()
}

#[test]
fn the_copy_rules_see_a_copy() {
    // A corpus-like file, and the same with its comment dropped and its blanks changed: one
    // rule or another catches each disguise.
    let original = concat!(
        "package: demo\n\n# Why this path.\nslices:\n  bins:\n    essential:\n",
        "      - libc6_libs\n    contents:\n      /usr/bin/demo:\n",
        "      /usr/share/demo/data: {until: mutate}\n",
    );
    let stripped = concat!(
        "package: demo\nslices:\n  bins:\n    essential:\n    - libc6_libs\n",
        "    contents:\n      /usr/bin/demo:\n      /usr/share/demo/data:   {until: mutate}\n",
    );
    assert_eq!(squeezed(original), squeezed(stripped));
    assert_eq!(
        comment_lines("# Why this path.\n  #   Why this path.  \n#\n##\n"),
        BTreeSet::from(["Why this path.".to_owned()])
    );
    let substantive: Vec<String> = code_lines(stripped)
        .into_iter()
        .filter(|line| !is_structural(line))
        .collect();
    assert_eq!(
        substantive,
        [
            "- libc6_libs",
            "/usr/bin/demo:",
            "/usr/share/demo/data: {until: mutate}"
        ]
    );
    assert!(is_structural("data-with-certs:") && is_structural("package: libc6"));
    assert!(is_structural("mutate: |") && !is_structural("mutate: print(1)"));
    assert!(!is_structural("/usr/bin/x:") && !is_structural("text: \"\""));
}
