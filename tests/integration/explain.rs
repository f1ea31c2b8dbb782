//! `kerf tree`, `kerf tree --why`, `kerf report` and the largest packages of a cut's summary,
//! on the fixture mirror (the Ubuntu 24.04 archive) with the corpus's ubuntu-24.04 branch. The
//! report of the large cut is opened in headless Chromium when it is installed (Debian's
//! `chromium`; `.ci/run` installs it): the page must log nothing, load nothing, and draw a
//! treemap whose areas add up to the root's size.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kerf::testing::server::TestServer;

use crate::cut_fixture::{cut, SMALL};
use crate::harness::{kerf, treesum, TestDir};
use crate::scanner_roots::LARGE;
use crate::with_shared;

fn release(shared: &Path) -> String {
    shared
        .join("corpus/chisel-releases/ubuntu-24.04")
        .to_str()
        .expect("a UTF-8 path")
        .to_owned()
}

/// `kerf tree --release <corpus 24.04> ARGS...`.
fn tree(shared: &Path, args: &[&str]) -> crate::harness::Run {
    let release = release(shared);
    let mut all = vec!["tree", "--release", release.as_str(), "--arch", "amd64"];
    all.extend_from_slice(args);
    kerf(shared, &all)
}

#[test]
fn tree_of_the_small_cut_measures_the_packages_through_the_cache() {
    with_shared!(shared => {
        let server = TestServer::serve_dir(&shared.join("fixtures/noble-mirror"));
        let dir = TestDir::new();
        let cache = dir.path().join("cache");
        let archive = format!("ubuntu={}", server.url("/ubuntu/"));
        let mut args = vec!["-q", "--cache-dir", cache.to_str().unwrap(), "--archive-url", &archive];
        args.extend_from_slice(&SMALL);
        let run = tree(&shared, &args);
        assert_eq!(
            run.success(),
            "\
base-files_base                      0 B
├── base-files_bin                   0 B
│   └── base-files_copyright     1.2 KiB
├── base-files_copyright (seen under base-files_bin)
├── base-files_etc                   0 B
│   └── base-files_copyright (seen under base-files_bin)
├── base-files_home                  0 B
│   └── base-files_copyright (seen under base-files_bin)
├── base-files_lib                   0 B
│   └── base-files_copyright (seen under base-files_bin)
├── base-files_tmp                   0 B
│   └── base-files_copyright (seen under base-files_bin)
└── base-files_var                   0 B
    └── base-files_copyright (seen under base-files_bin)
libc6_libs                       4.6 MiB
├── base-files_lib (seen under base-files_base)
└── libc6_copyright             25.8 KiB
openssl_bins                   988.5 KiB
├── libc6_config                   100 B
│   └── libc6_copyright (seen under libc6_libs)
├── libc6_libs (requested, shown above)
├── libssl3t64_libs            909.9 KiB
│   ├── libc6_libs (requested, shown above)
│   ├── libssl3t64_copyright     2.5 KiB
│   └── libssl3t64_libcrypto     5.1 MiB
│       ├── libc6_libs (requested, shown above)
│       └── libssl3t64_copyright (seen under libssl3t64_libs)
├── openssl_config              12.0 KiB
│   └── openssl_copyright            0 B
│       └── libssl3t64_copyright (seen under libssl3t64_libs)
├── openssl_copyright (seen under openssl_config)
└── openssl_data                     0 B
    └── openssl_copyright (seen under openssl_config)

package             slices   files        size   share
libssl3t64               3       7     6.0 MiB   51.5%
libc6                    3      22     4.6 MiB   40.0%
openssl                  4       3  1000.5 KiB    8.4%
base-files               8       1     1.2 KiB    0.0%
total (4 packages)      18      33    11.6 MiB  100.0%  (12125590 bytes)
"
        );
        // The same bytes as the real cut's regular files.
        let root = dir.path().join("rootfs");
        let run = cut(&shared, &server.url("/"), &root, &cache, &["-q"], &SMALL);
        run.success();
        assert_eq!(regular_bytes(&root, &[]), 12_125_590);
    });
}

#[test]
fn why_libssl_is_in_the_large_cut() {
    with_shared!(shared => {
        // No download: the chains come from the release alone.
        let mut args = vec!["--why", "libssl3t64_libs"];
        args.extend_from_slice(&LARGE);
        assert_eq!(
            tree(&shared, &args).success(),
            "\
libssl3t64_libs is needed by 4 of the 18 requested slices (151 chains in all); the shortest from each:
  libssl3t64_libs (requested)
  openssl_bins → libssl3t64_libs
  python3.12_standard → libpython3.12-stdlib_core → libpython3.12-minimal_libs → libssl3t64_libs
  curl_bins → libcurl4t64_libs → libssl3t64_libs
"
        );
        let run = tree(&shared, &[
            "--why", "/usr/lib/x86_64-linux-gnu/libssl.so.3", "openssl_bins", "python3.12_standard",
        ]);
        assert_eq!(
            run.success(),
            "\
/usr/lib/x86_64-linux-gnu/libssl.so.3 is installed by libssl3t64_libs
libssl3t64_libs is needed by 2 of the 2 requested slices (145 chains in all); the shortest from each:
  openssl_bins → libssl3t64_libs
  python3.12_standard → libpython3.12-stdlib_core → libpython3.12-minimal_libs → libssl3t64_libs
"
        );
    });
}

#[test]
fn why_says_what_is_unknown_and_what_is_close() {
    with_shared!(shared => {
        let run = tree(&shared, &["--why", "libssl3t64_lib", "openssl_bins"]);
        run.fails_with(1, "error: --why libssl3t64_lib: no slice or package of that name in the release (did you mean libssl3t64_libs?)\n");
        let run = tree(&shared, &["--why", "opensl", "openssl_bins"]);
        run.fails_with(1, "error: --why opensl: no slice or package of that name in the release (did you mean openssl?)\n");
        let run = tree(&shared, &["--why", "bash_bins", "openssl_bins"]);
        run.fails_with(1, "error: --why bash_bins: it is in the release, but none of the requested slices (openssl_bins) needs it\n");
        let run = tree(&shared, &["--why", "/usr/bin/opensl", "openssl_bins"]);
        run.fails_with(1, "error: --why /usr/bin/opensl: no selected slice installs that path (did you mean /usr/bin/openssl?)\n");
        let run = tree(&shared, &["--why", "openssl_bins", "openssl_binz"]);
        run.fails_with(1, "error: slice openssl_binz not found (did you mean openssl_bins?)\n");
    });
}

#[test]
fn a_root_without_a_manifest_names_the_slice_to_add() {
    with_shared!(shared => {
        let dir = TestDir::new();
        let root = dir.path().join("rootfs");
        fs_err::create_dir(&root).unwrap();
        let expected = format!(
            "error: {} has no manifest at /var/lib/chisel/manifest.wall: kerf reads the sizes and slices of a root from the manifest a cut writes for a `generate: manifest` slice; cut base-files_chisel (in the bundled releases and in chisel-releases) into the root too\n",
            root.display()
        );
        tree(&shared, &["--root", root.to_str().unwrap()]).fails_with(1, &expected);
        let output = dir.path().join("report.html");
        kerf(&shared, &["report", "--root", root.to_str().unwrap(), "-o", output.to_str().unwrap()])
            .fails_with(1, &expected);
        assert!(!output.exists(), "a report was written for a root without a manifest");
    });
}

/// The bytes of the regular files below `root`, as `treesum` lists them, except `skip`.
fn regular_bytes(root: &Path, skip: &[&str]) -> u64 {
    treesum(root)
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.splitn(5, ' ').collect();
            (fields[0] == "f" && !skip.contains(&fields[4]))
                .then(|| fields[2].parse::<u64>().expect("a size"))
        })
        .sum()
}

#[test]
fn the_large_cut_summary_tree_and_report() {
    with_shared!(shared => {
        let server = TestServer::serve_dir(&shared.join("fixtures/noble-mirror"));
        let dir = TestDir::new();
        let (root, cache) = (dir.path().join("rootfs"), dir.path().join("cache"));
        let run = cut(&shared, &server.url("/"), &root, &cache, &[], &LARGE);
        run.success();
        let largest: Vec<&str> = run.stderr.lines().filter(|line| line.starts_with("Largest")).collect();
        assert_eq!(
            largest,
            ["Largest packages: libpython3.12-stdlib 8.6 MiB (14.1%), python3.12-minimal 7.7 MiB (12.6%), libssl3t64 6.0 MiB (9.8%), coreutils 5.4 MiB (8.8%), libpython3.12-minimal 4.9 MiB (8.0%)"]
        );
        // What the root holds, but for the manifest (which cannot list its own size).
        let root_bytes = regular_bytes(&root, &["/var/lib/chisel/manifest.wall"]);
        assert_eq!(root_bytes, 64_020_514);

        let mut args = vec!["--root", root.to_str().unwrap()];
        args.extend_from_slice(&LARGE);
        let text = tree(&shared, &args).success().to_owned();
        let expected = fs_err::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/explain/large-tree.txt"),
        )
        .unwrap();
        assert_eq!(text, expected, "kerf tree --root of the large cut");
        assert!(text.ends_with(&format!("100.0%  ({root_bytes} bytes)\n")));
        // A slice the root was not cut with has no size there.
        let run = tree(&shared, &["--root", root.to_str().unwrap(), "openssl_bins", "jq_bins"]);
        run.fails_with(1, &format!(
            "error: {} was not cut with jq_bins, jq_copyright, libjq1_copyright, libjq1_libs, libonig5_copyright, libonig5_libs (its manifest does not list them); leave out --root to measure slices the root does not hold\n",
            root.display()
        ));
        // Without SLICE, the root's own top-level slices: the same closure and bytes.
        let text = tree(&shared, &["--root", root.to_str().unwrap()]).success().to_owned();
        assert!(text.ends_with("total (64 packages)       223    1355    61.1 MiB  100.0%  (64020514 bytes)\n"), "{text}");

        let page = dir.path().join("report.html");
        let release = release(&shared);
        kerf(&shared, &[
            "report", "--root", root.to_str().unwrap(), "--release", &release,
            "-o", page.to_str().unwrap(),
        ])
        .success();
        let html = fs_err::read_to_string(&page).unwrap();
        assert!(html.contains("<p>Ubuntu 24.04.5 LTS</p>"));
        assert!(html.contains("<dt>Bytes in regular files</dt><dd id=\"total-bytes\">64,020,514</dd>"));
        assert!(html.contains("<tr><td>openssl</td><td>3.0.13-0ubuntu3.16</td><td>amd64</td><td>bins, config, copyright, data</td><td class=\"n\">3</td><td class=\"n\">1,024,533</td><td class=\"n\">1.6%</td></tr>"), "the package table");
        browser_checks(&page, dir.path(), root_bytes);
    });
}

/// Chromium, when installed.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|candidate| candidate.is_file())
}

/// Runs headless Chromium on `page` with `extra` flags, with a profile of its own and no name
/// resolving; returns stdout and stderr. Stopped after two minutes.
fn run_chromium(chromium: &Path, page: &Path, work: &Path, extra: &[&str]) -> (String, String) {
    let url = format!("file://{}", page.display());
    let out = work.join("chromium.out");
    let err = work.join("chromium.err");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!(
            "--user-data-dir={}",
            work.join("profile").display()
        ))
        .args(extra)
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(fs_err::File::create(&out).unwrap().into_parts().0)
        .stderr(fs_err::File::create(&err).unwrap().into_parts().0)
        .spawn()
        .expect("cannot start chromium");
    let started = Instant::now();
    loop {
        if child
            .try_wait()
            .expect("cannot wait for chromium")
            .is_some()
        {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish within two minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (
        fs_err::read_to_string(&out).unwrap(),
        fs_err::read_to_string(&err).unwrap(),
    )
}

/// The `data-*` attributes the page's script wrote on `#kerf-check`.
fn page_check(dom: &str) -> BTreeMap<String, String> {
    let start = dom
        .find("<output id=\"kerf-check\"")
        .expect("the page has #kerf-check");
    let tag = &dom[start..start + dom[start..].find('>').expect("the tag ends")];
    tag.split(" data-")
        .skip(1)
        .filter_map(|pair| {
            let (name, value) = pair.split_once("=\"")?;
            Some((name.to_owned(), value.split('"').next()?.to_owned()))
        })
        .collect()
}

/// What the page logged to its console (Chromium logs each message as a `CONSOLE` line).
fn console_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| line.contains(":CONSOLE"))
        .collect()
}

fn number(check: &BTreeMap<String, String>, name: &str) -> f64 {
    check
        .get(name)
        .unwrap_or_else(|| panic!("#kerf-check has no data-{name}: {check:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("data-{name} is not a number: {check:?}"))
}

fn browser_checks(page: &Path, work: &Path, root_bytes: u64) {
    let Some(chromium) = chromium() else {
        #[expect(clippy::print_stderr, reason = "a skipped check says why")]
        {
            eprintln!("skipping the browser checks: chromium is not installed (apt-get install chromium; .ci/run does)");
        }
        return;
    };
    let (dom, stderr) = run_chromium(&chromium, page, work, &["--dump-dom"]);
    let check = page_check(&dom);
    assert_eq!(
        check.get("laid-out").map(String::as_str),
        Some("true"),
        "{check:?}"
    );
    assert_eq!(
        console_lines(&stderr),
        Vec::<&str>::new(),
        "the page logged to its console"
    );
    assert_eq!(check["resources"], "0", "the page loaded something: {dom}");
    assert_eq!(check["violations"], "0", "the page tried to load something");
    // Every byte of the root is in the picture, and the rectangles fill it exactly, each in
    // proportion to its file.
    assert_eq!(check["total-bytes"], root_bytes.to_string());
    assert_eq!(check["leaf-bytes"], root_bytes.to_string());
    assert_eq!(check["leaves"], "1355");
    let canvas = number(&check, "canvas-area");
    assert!(
        (number(&check, "leaf-area") - canvas).abs() < canvas * 1e-9,
        "{check:?}"
    );
    assert!(
        number(&check, "max-area-error") < canvas * 1e-9,
        "{check:?}"
    );

    // The same checks catch a page that reaches out: a copy with an image from the network.
    let html = fs_err::read_to_string(page).unwrap();
    let reaching = work.join("reaching.html");
    fs_err::write(
        &reaching,
        html.replacen(
            "<footer>",
            "<img src=\"http://127.0.0.1:9/kerf-test.png\"><footer>",
            1,
        ),
    )
    .unwrap();
    let (dom, stderr) = run_chromium(&chromium, &reaching, work, &["--dump-dom"]);
    let check = page_check(&dom);
    assert_eq!(check["violations"], "1", "{check:?}");
    assert!(
        !console_lines(&stderr).is_empty(),
        "the refused image was not logged: {stderr}"
    );

    // It prints: Chromium's print to PDF, with no header or footer of its own, makes a PDF.
    let pdf = work.join("report.pdf");
    run_chromium(
        &chromium,
        page,
        work,
        &[
            "--no-pdf-header-footer",
            &format!("--print-to-pdf={}", pdf.display()),
        ],
    );
    let bytes = fs_err::read(&pdf).expect("chromium printed no PDF");
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");

    // A screenshot, as the README shows it.
    let png = work.join("report.png");
    run_chromium(
        &chromium,
        page,
        work,
        &[
            "--hide-scrollbars",
            "--window-size=1100,1500",
            &format!("--screenshot={}", png.display()),
        ],
    );
    let bytes = fs_err::read(&png).expect("chromium wrote no screenshot");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (1100, 1500));
}
