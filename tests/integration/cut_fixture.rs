//! `cut` for real: the fixture mirror (a byte-for-byte part of the Ubuntu 24.04 archive) served
//! on loopback, the root compared with the reference listing line for line.

use std::path::Path;
use std::process::Command;

use crate::harness::{chisel_yaml, kerf, treesum, Run, StaticServer, TestDir};
use crate::with_shared;

pub(crate) const SMALL: [&str; 3] = ["base-files_base", "libc6_libs", "openssl_bins"];

/// `kerf cut` of `slices` from the 24.04 corpus branch into `root`, with `extra` flags.
pub(crate) fn cut(
    shared: &Path,
    url: &str,
    root: &Path,
    cache: &Path,
    extra: &[&str],
    slices: &[&str],
) -> Run {
    let release = shared.join("corpus/chisel-releases/ubuntu-24.04");
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
    args.extend_from_slice(extra);
    args.extend_from_slice(slices);
    kerf(shared, &args)
}

/// Asserts that two listings are equal, showing where they part as `-expected` / `+actual`.
#[track_caller]
fn assert_same_listing(actual: &str, expected: &str, what: &str) {
    if actual == expected {
        return;
    }
    panic!(
        "{what}: the tree differs from the reference (-expected +actual):\n{}",
        line_diff(expected, actual, 40)
    );
}

/// A unified-style diff of two texts by lines (longest common subsequence), at most `limit`
/// changed lines, each hunk with a line of context on either side.
fn line_diff(old: &str, new: &str, limit: usize) -> String {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    // common[i][j]: length of the longest common subsequence of old[i..] and new[j..].
    let mut common = vec![vec![0u32; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            common[i][j] = if old[i] == new[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            ops.push((' ', old[i]));
            i += 1;
            j += 1;
        } else if i < old.len() && (j == new.len() || common[i + 1][j] >= common[i][j + 1]) {
            ops.push(('-', old[i]));
            i += 1;
        } else {
            ops.push(('+', new[j]));
            j += 1;
        }
    }
    let changed = |at: usize| ops.get(at).is_some_and(|(op, _)| *op != ' ');
    let mut out = String::new();
    let mut shown = 0;
    let mut skipped = false;
    for (at, (op, line)) in ops.iter().enumerate() {
        let near = changed(at) || changed(at + 1) || (at > 0 && changed(at - 1));
        if !near {
            skipped = true;
            continue;
        }
        if skipped && !out.is_empty() {
            out.push_str("...\n");
        }
        skipped = false;
        if *op != ' ' {
            shown += 1;
            if shown > limit {
                out.push_str("... (more differences)\n");
                break;
            }
        }
        out.push_str(&format!("{op}{line}\n"));
    }
    out
}

/// Whether this process runs as root: a directory it creates is owned by its effective user.
fn running_as_root(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    fs_err::metadata(dir).is_ok_and(|metadata| metadata.uid() == 0)
}

#[test]
fn small_cut_matches_the_reference() {
    with_shared!(shared => {
        let server = StaticServer::serve(&shared.join("fixtures/noble-mirror"));
        let dir = TestDir::new();
        let (root, cache) = (dir.path().join("rootfs"), dir.path().join("cache"));
        let expected = fs_err::read_to_string(shared.join("fixtures/expected/small.treesum"))
            .expect("cannot read expected/small.treesum");

        cut(&shared, &server.url(), &root, &cache, &[], &SMALL).success();
        assert_same_listing(&treesum(&root), &expected, "small cut");

        let chroot = Path::new("/usr/sbin/chroot");
        if running_as_root(dir.path()) && chroot.exists() {
            let output = Command::new(chroot)
                .arg(&root)
                .arg("/usr/bin/openssl")
                .arg("version")
                .output()
                .expect("cannot run chroot");
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            if stderr.contains("Operation not permitted") {
                // uid 0 without CAP_SYS_CHROOT, as in some containers.
                #[expect(clippy::print_stderr, reason = "a skipped check says why")]
                {
                    eprintln!("skipping the chroot check: {stderr}");
                }
            } else {
                assert!(
                    output.status.success() && stdout.starts_with("OpenSSL 3.0.13 "),
                    "chroot ROOT /usr/bin/openssl version: {}\nstdout: {stdout}\nstderr: {stderr}",
                    output.status
                );
            }
        }

        // The same cut from the cache alone: the same tree, and not one request.
        let requests = server.requests();
        let offline_root = dir.path().join("rootfs-offline");
        cut(&shared, &server.url(), &offline_root, &cache, &["--offline"], &SMALL).success();
        assert_eq!(server.requests(), requests, "an --offline cut made requests");
        assert_same_listing(&treesum(&offline_root), &expected, "offline cut");
    });
}

#[test]
fn cut_fails_cleanly_on_missing_package() {
    with_shared!(shared => {
        // hello is in the noble index, but its .deb is not in the fixture mirror.
        let server = StaticServer::serve(&shared.join("fixtures/noble-mirror"));
        let dir = TestDir::new();
        let root = dir.path().join("rootfs");
        let run = cut(&shared, &server.url(), &root, &dir.path().join("cache"), &["-q"], &["hello_copyright"]);
        run.fails_with(
            1,
            &format!(
                "error: cannot fetch {}ubuntu/pool/main/h/hello/hello_2.10-3build1_amd64.deb: not found (HTTP 404)\n",
                server.url()
            ),
        );
        // Nothing was written: the root exists, empty.
        let entries: Vec<_> = fs_err::read_dir(&root)
            .expect("the root is created before any download")
            .collect();
        assert!(entries.is_empty(), "the failed cut left {entries:?} in the root");
    });
}

#[test]
fn cut_refuses_bad_arguments_before_any_work() {
    let dir = TestDir::new();
    dir.write("rel/chisel.yaml", &chisel_yaml("v1")).write(
        "rel/slices/mypkg.yaml",
        "package: mypkg\nslices:\n  bins:\n    contents:\n      /usr/bin/tool:\n",
    );
    dir.write("a-file", "not a directory\n");
    // Nothing listens on the discard port; none of these cuts gets as far as the network.
    let cut = |archive: &str, root: &str, slice: &str| {
        kerf(
            dir.path(),
            &[
                "cut",
                "--release",
                "./rel",
                "--root",
                root,
                "--cache-dir",
                "cache",
                "--archive-url",
                archive,
                slice,
            ],
        )
    };
    let url = "ubuntu=http://127.0.0.1:9/ubuntu/";

    cut("ubuntu=ftp://mirror.example/ubuntu/", "rootfs", "mypkg_bins").fails_with(
        1,
        "error: invalid --archive-url \"ubuntu=ftp://mirror.example/ubuntu/\": expected NAME=http://..., NAME=https://... or NAME=file:///...\n",
    );
    cut("http://mirror.example/ubuntu/", "rootfs", "mypkg_bins").fails_with(
        1,
        "error: invalid --archive-url \"http://mirror.example/ubuntu/\": expected NAME=http://..., NAME=https://... or NAME=file:///...\n",
    );
    cut("nosuch=http://127.0.0.1:9/", "rootfs", "mypkg_bins").fails_with(
        1,
        "error: --archive-url names archive \"nosuch\", which the release does not define (it has ubuntu)\n",
    );
    cut(url, "rootfs", "mypkg").fails_with(
        1,
        "error: invalid slice reference: \"mypkg\" (expected PACKAGE_SLICE, e.g. libc6_libs)\n",
    );
    cut(url, "rootfs", "mypkg_Bins").fails_with(
        1,
        "error: invalid slice reference: \"mypkg_Bins\" (expected PACKAGE_SLICE, e.g. libc6_libs)\n",
    );
    cut(url, "a-file", "mypkg_bins").fails_with(
        1,
        "error: invalid --root a-file: it exists and is not a directory\n",
    );
    assert!(
        !dir.path().join("rootfs").exists(),
        "a refused cut created its root"
    );
    // A root below a regular file cannot be created: an error of the machine, said plainly.
    let run = cut(url, "a-file/rootfs", "mypkg_bins");
    run.fails_with(
        2,
        "error: cannot create the root directory a-file/rootfs: Not a directory (os error 20)\n",
    );
}

#[test]
fn static_server_serves_files_and_refuses_the_rest() {
    use std::io::{Read as _, Write as _};

    let dir = TestDir::new();
    dir.write("www/dists/a b+c~1.txt", "hello\n")
        .write("secret", "no\n");
    let server = StaticServer::serve(&dir.path().join("www"));
    let address = server
        .url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    // Two requests on one connection, then one that closes it.
    stream
        .write_all(b"GET /dists/a%20b+c~1.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /../secret HTTP/1.1\r\nHost: x\r\n\r\nGET /dists/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert_eq!(
        answer,
        "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nContent-Type: application/octet-stream\r\nConnection: keep-alive\r\n\r\nhello\n\
         HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\n\r\nnot found\n\
         HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nnot found\n"
    );
    assert_eq!(server.requests(), 3);
}

#[test]
fn treesum_matches_treesum_py() {
    with_shared!(shared => {
        let dir = TestDir::new();
        let root = dir.path().join("root");
        dir.write("root/b/z", "z\n")
            .write("root/b/a-b/x", "")
            .write("root/a.txt", "text\n")
            .write("root/B", "upper\n")
            .write("root/b-c/y", "y\n");
        fs_err::create_dir(root.join("empty")).unwrap();
        fs_err::os::unix::fs::symlink("b", root.join("link-to-dir")).unwrap();
        fs_err::os::unix::fs::symlink("/nowhere", root.join("b/dangling")).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        fs_err::set_permissions(root.join("empty"), std::fs::Permissions::from_mode(0o2775)).unwrap();
        fs_err::set_permissions(root.join("a.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
        let python = Command::new("python3")
            .arg(shared.join("treesum.py"))
            .arg(&root)
            .output();
        let Ok(python) = python else {
            #[expect(clippy::print_stderr, reason = "a skipped check says why")]
            {
                eprintln!("skipping: python3 is not installed");
            }
            return;
        };
        assert!(python.status.success(), "{}", String::from_utf8_lossy(&python.stderr));
        assert_eq!(treesum(&root), String::from_utf8(python.stdout).unwrap());
    });
}

#[test]
fn line_diff_shows_where_listings_part() {
    let old = "a\nb\nc\nd\ne\nf\ng\n";
    let new = "a\nb\nC\nd\ne\nf\ng\nh\n";
    assert_eq!(line_diff(old, new, 40), " b\n-c\n+C\n d\n...\n g\n+h\n");
    assert_eq!(
        line_diff("x\n", "y\nz\n", 1),
        "-x\n... (more differences)\n"
    );
}
