//! Mutate scripts through the real binary: the large fixture cut (whose CA bundle a script
//! builds) against the reference, the cut root put to work in a chroot, and hostile scripts
//! stopped by the child process's limits.

use std::path::Path;
use std::process::Command;

use crate::harness::{kerf, treesum, Run, StaticServer, TestDir};
use crate::with_shared;

const LARGE: [&str; 18] = [
    "base-files_base",
    "base-files_release-info",
    "ca-certificates_data",
    "tzdata_zoneinfo",
    "libc6_libs",
    "libssl3t64_libs",
    "openssl_bins",
    "python3.12_standard",
    "coreutils_bins",
    "bash_bins",
    "dash_bins",
    "busybox_bins",
    "curl_bins",
    "grep_bins",
    "sed_bins",
    "tar_bins",
    "gzip_bins",
    // Repeated on purpose: a slice named twice is cut once.
    "openssl_bins",
];

fn cut(release: &Path, url: &str, root: &Path, cache: &Path, slices: &[&str]) -> Run {
    let archive = format!("ubuntu={url}ubuntu/");
    let mut args = vec![
        "cut",
        "--release",
        release.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
        "--archive-url",
        &archive,
    ];
    args.extend_from_slice(slices);
    kerf(root.parent().unwrap(), &args)
}

/// Runs `args` in a chroot of `root`: `None` when this process may not chroot (not root, or
/// root without CAP_SYS_CHROOT), with the reason on stderr.
pub(crate) fn in_chroot(
    root: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> Option<(bool, String)> {
    use std::os::unix::fs::MetadataExt as _;
    let chroot = Path::new("/usr/sbin/chroot");
    let is_root = fs_err::metadata(root).is_ok_and(|metadata| metadata.uid() == 0);
    let skip = |why: &str| {
        #[expect(clippy::print_stderr, reason = "a skipped check says why")]
        {
            eprintln!("skipping the chroot checks: {why}");
        }
        None
    };
    if !is_root || !chroot.exists() {
        return skip("not root, or no chroot");
    }
    let output = Command::new(chroot)
        .arg(root)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env.iter().copied())
        .output()
        .expect("cannot run chroot");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if stderr.contains("Operation not permitted") && stderr.contains("chroot") {
        return skip(&stderr);
    }
    let text = format!("{}{stderr}", String::from_utf8_lossy(&output.stdout));
    Some((output.status.success(), text))
}

/// A command run in the cut root, and the start of what it must print.
struct ChrootCheck {
    env: &'static [(&'static str, &'static str)],
    args: &'static [&'static str],
    prints: &'static str,
}

/// The issue's checks of the large root: a shell, Python with its native modules, curl, the CA
/// bundle the ca-certificates script builds, and time zones.
const CHROOT_CHECKS: [ChrootCheck; 5] = [
    ChrootCheck {
        env: &[],
        args: &["/usr/bin/bash", "-c", "echo $((6 * 7))"],
        prints: "42\n",
    },
    ChrootCheck {
        env: &[],
        args: &[
            "/usr/bin/python3.12",
            "-c",
            "import ssl, sqlite3, json; print(json.dumps([1]))",
        ],
        prints: "[1]\n",
    },
    ChrootCheck {
        env: &[],
        args: &["/usr/bin/curl", "--version"],
        prints: "curl 8.5.0 ",
    },
    ChrootCheck {
        env: &[],
        args: &[
            "/usr/bin/openssl",
            "x509",
            "-in",
            "/etc/ssl/certs/ca-certificates.crt",
            "-noout",
            "-subject",
        ],
        prints: "subject=CN = ACCVRAIZ1, OU = PKIACCV, O = ACCV, C = ES\n",
    },
    ChrootCheck {
        env: &[("TZ", "Asia/Tokyo")],
        args: &["/usr/bin/date", "-d", "@0", "+%H:%M %Z"],
        prints: "09:00 JST\n",
    },
];

#[test]
fn large_cut_matches_the_reference_and_works_in_a_chroot() {
    with_shared!(shared => {
        let server = StaticServer::serve(&shared.join("fixtures/noble-mirror"));
        let dir = TestDir::new();
        let (root, cache) = (dir.path().join("rootfs"), dir.path().join("cache"));
        let release = shared.join("corpus/chisel-releases/ubuntu-24.04");
        let expected = fs_err::read_to_string(shared.join("fixtures/expected/large.treesum"))
            .expect("cannot read expected/large.treesum");

        cut(&release, &server.url(), &root, &cache, &LARGE).success();
        let actual = treesum(&root);
        assert!(
            actual == expected,
            "the large cut differs from the reference:\n{}",
            differing_lines(&expected, &actual)
        );

        for check in CHROOT_CHECKS {
            let Some((ok, output)) = in_chroot(&root, check.env, check.args) else {
                break;
            };
            assert!(ok && output.starts_with(check.prints), "{:?}: {output}", check.args);
        }
    });
}

/// The lines only one of the two listings has.
fn differing_lines(expected: &str, actual: &str) -> String {
    let expected_lines: std::collections::BTreeSet<&str> = expected.lines().collect();
    let actual_lines: std::collections::BTreeSet<&str> = actual.lines().collect();
    let mut out = String::new();
    for line in expected_lines.difference(&actual_lines).take(20) {
        out.push_str(&format!("-{line}\n"));
    }
    for line in actual_lines.difference(&expected_lines).take(20) {
        out.push_str(&format!("+{line}\n"));
    }
    out
}

/// A release of the 24.04 archive (its chisel.yaml read from the corpus at run time) with one
/// package of slices written here.
fn release_with(shared: &Path, dir: &Path, slices: &str) -> std::path::PathBuf {
    let release = dir.join("release");
    fs_err::create_dir_all(release.join("slices")).expect("mkdir");
    fs_err::copy(
        shared.join("corpus/chisel-releases/ubuntu-24.04/chisel.yaml"),
        release.join("chisel.yaml"),
    )
    .expect("cannot copy chisel.yaml");
    fs_err::write(release.join("slices/base-files.yaml"), slices).expect("write");
    release
}

const HOSTILE: &str = "\
package: base-files
slices:
  write-other:
    contents:
      /etc/issue:
      /etc/issue.net: {mutable: true}
    mutate: |
      content.write(\"/etc/issue.net\", \"fine\\n\")
      content.write(\"/etc/issue\", \"owned\\n\")
  read-outside:
    contents:
      /etc/issue:
    mutate: |
      content.read(\"/etc/shadow\")
  loop:
    contents:
      /etc/issue:
    mutate: |
      for i in range(2147483647):
          for j in range(2147483647):
              pass
  memory:
    contents:
      /etc/issue:
    mutate: |
      s = \"x\"
      for i in range(64):
          s = s + s
  through-link:
    contents:
      /etc/issue:
      /etc/os-release: {mutable: true}
    mutate: |
      content.write(\"/etc/os-release\", \"ID=owned\\n\")
";

#[test]
fn hostile_scripts_fail_with_their_slice_and_leave_nothing_half_written() {
    with_shared!(shared => {
        let server = StaticServer::serve(&shared.join("fixtures/noble-mirror"));
        let dir = TestDir::new();
        let release = release_with(&shared, dir.path(), HOSTILE);
        let cache = dir.path().join("cache");
        let cases = [
            (
                "base-files_write-other",
                "error: slice base-files_write-other: mutate:2:1: cannot write file which is not mutable: /etc/issue\n",
            ),
            (
                "base-files_read-outside",
                "error: slice base-files_read-outside: mutate:1:1: cannot read file which is not selected: /etc/shadow\n",
            ),
            (
                "base-files_loop",
                "error: slice base-files_loop: the script took more than 50000000 steps (calls and loop iterations) and was stopped\n",
            ),
            (
                "base-files_memory",
                "error: slice base-files_memory: the script ran out of memory (the limit is 3072 MiB) and was stopped\n",
            ),
            (
                "base-files_through-link",
                "error: slice base-files_through-link: mutate:1:1: cannot write file which is not mutable: /usr/lib/os-release\n",
            ),
        ];
        for (slice, expected) in cases {
            let root = dir.path().join(slice);
            let run = cut(&release, &server.url(), &root, &cache, &["-q", slice]);
            run.fails_with(1, expected);
            let issue = fs_err::read_to_string(root.join("etc/issue")).unwrap_or_default();
            assert!(issue.starts_with("Ubuntu 24.04"), "{slice}: /etc/issue is {issue:?}");
            let leftovers: Vec<String> = treesum(&root)
                .lines()
                .filter(|line| line.contains(".kerf-"))
                .map(str::to_owned)
                .collect();
            assert_eq!(leftovers, Vec::<String>::new(), "{slice}");
        }
        // The one write before the failure happened, whole.
        assert_eq!(
            fs_err::read_to_string(dir.path().join("base-files_write-other/etc/issue.net"))
                .expect("issue.net"),
            "fine\n"
        );
    });
}

/// The corpus' second ca-certificates script writes the list of certificates it finds into
/// `/etc/ca-certificates.conf`, one `mozilla/<name>` per line in listing order.
#[test]
fn the_ca_certificates_conf_script_lists_the_certificates() {
    with_shared!(shared => {
        let server = StaticServer::serve(&shared.join("fixtures/noble-mirror"));
        let dir = TestDir::new();
        let (root, cache) = (dir.path().join("rootfs"), dir.path().join("cache"));
        let release = shared.join("corpus/chisel-releases/ubuntu-24.04");
        cut(&release, &server.url(), &root, &cache, &["ca-certificates_data-with-certs"]).success();
        let mut names: Vec<String> =
            fs_err::read_dir(root.join("usr/share/ca-certificates/mozilla"))
                .expect("the certificates")
                .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
        names.sort();
        assert_eq!(names.len(), 120, "the certificates of ca-certificates 20260816ubuntu0.24.04.2");
        let expected: Vec<String> = names.iter().map(|name| format!("mozilla/{name}")).collect();
        assert_eq!(
            fs_err::read_to_string(root.join("etc/ca-certificates.conf")).expect("the conf"),
            expected.join("\n")
        );
    });
}
