use std::collections::BTreeMap;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::footprint::{Footprint, Usage};
use super::report::{render_for_test, ReleaseInfo};
use super::top_level;
use super::tree::{chains, target, tree, Mention, Node, TargetKind};
use crate::manifest::{Manifest, ManifestPackage, ManifestPath};
use crate::release::{Arch, Release, SliceKey};
use crate::resolve::select;
use crate::testing::release::{chisel_yaml, dedent, load};

fn key(text: &str) -> SliceKey {
    SliceKey::parse(text).expect("a valid slice name")
}

fn keys(texts: &[&str]) -> Vec<SliceKey> {
    texts.iter().map(|text| key(text)).collect()
}

/// app_bins needs app_config and libx_libs (and liby_libs on arm64 only); app_config needs
/// libx_libs; tool_bins needs libx_libs; liby_libs needs libx_libs.
fn release() -> Release {
    let app = dedent(
        "
        package: app
        slices:
          bins:
            essential:
              app_config:
              libx_libs:
              liby_libs: {arch: arm64}
            contents:
              /usr/bin/app:
              /usr/share/doc/app/copyright:
          config:
            essential:
              libx_libs:
            contents:
              /etc/app.conf:
              /usr/share/doc/app/copyright:
        ",
    );
    let libx = dedent(
        "
        package: libx
        slices:
          libs:
            contents:
              /usr/lib/libx.so.1:
              /usr/lib/libx/**:
        ",
    );
    let liby = dedent(
        "
        package: liby
        slices:
          libs:
            essential:
              libx_libs:
            contents:
              /usr/lib/liby.so.1:
        ",
    );
    let tool = dedent(
        "
        package: tool
        slices:
          bins:
            essential:
              libx_libs:
            contents:
              /usr/bin/tool:
        ",
    );
    load(&[
        ("chisel.yaml", &chisel_yaml("v3")),
        ("slices/app.yaml", &app),
        ("slices/libx.yaml", &libx),
        ("slices/liby.yaml", &liby),
        ("slices/tool.yaml", &tool),
    ])
}

fn first(name: &str, children: Vec<Node>) -> Node {
    Node {
        key: key(name),
        mention: Mention::First,
        children,
    }
}

fn seen(name: &str, under: Option<&str>) -> Node {
    Node {
        key: key(name),
        mention: Mention::Seen {
            under: under.map(key),
        },
        children: Vec::new(),
    }
}

#[test]
fn each_slice_sits_under_the_first_slice_that_needs_it() {
    let release = release();
    let got = tree(&release, Arch::Amd64, &keys(&["app_bins", "tool_bins"])).unwrap();
    assert_eq!(
        got,
        vec![
            first(
                "app_bins",
                vec![
                    first("app_config", vec![first("libx_libs", vec![])]),
                    seen("libx_libs", Some("app_config")),
                ]
            ),
            first("tool_bins", vec![seen("libx_libs", Some("app_config"))]),
        ]
    );
    // An essential for arm64 only is in the arm64 tree; a requested slice met again says so.
    let got = tree(&release, Arch::Arm64, &keys(&["libx_libs", "app_bins"])).unwrap();
    assert_eq!(
        got,
        vec![
            first("libx_libs", vec![]),
            first(
                "app_bins",
                vec![
                    first("app_config", vec![seen("libx_libs", None)]),
                    seen("libx_libs", None),
                    first("liby_libs", vec![seen("libx_libs", None)]),
                ]
            ),
        ]
    );
}

#[test]
fn an_unknown_requested_slice_is_the_selections_error() {
    let release = release();
    let error = tree(&release, Arch::Amd64, &keys(&["app_bin"])).unwrap_err();
    assert_eq!(
        error.to_string(),
        "slice app_bin not found (did you mean app_bins?)"
    );
}

#[test]
fn chains_are_counted_and_the_shortest_from_each_requested_slice_given() {
    let release = release();
    let got = chains(
        &release,
        Arch::Amd64,
        &keys(&["app_bins", "tool_bins"]),
        &key("libx_libs"),
    );
    // app_bins → libx_libs, app_bins → app_config → libx_libs, tool_bins → libx_libs.
    assert_eq!(got.total, 3);
    assert_eq!(
        got.shortest,
        vec![
            keys(&["app_bins", "libx_libs"]),
            keys(&["tool_bins", "libx_libs"])
        ]
    );
    // On arm64 app_bins also reaches it through liby_libs; a requested target is a chain of one.
    let got = chains(
        &release,
        Arch::Arm64,
        &keys(&["libx_libs", "app_bins"]),
        &key("libx_libs"),
    );
    assert_eq!(got.total, 4);
    assert_eq!(
        got.shortest,
        vec![keys(&["libx_libs"]), keys(&["app_bins", "libx_libs"])]
    );
    let got = chains(
        &release,
        Arch::Arm64,
        &keys(&["tool_bins", "app_bins"]),
        &key("liby_libs"),
    );
    assert_eq!(got.total, 1);
    assert_eq!(got.shortest, vec![keys(&["app_bins", "liby_libs"])]);
}

#[test]
fn why_names_resolve_to_selected_slices_or_say_what_is_close() {
    let release = release();
    let requested = keys(&["app_bins", "tool_bins"]);
    let selection = select(&release, &requested, Arch::Amd64).unwrap();
    let resolve = |name: &str| target(&selection, &requested, None, name);

    let found = resolve("libx").unwrap();
    assert_eq!(
        (found.kind, found.slices),
        (TargetKind::Package, keys(&["libx_libs"]))
    );
    let found = resolve("/usr/share/doc/app/copyright").unwrap();
    assert_eq!(
        (found.kind, found.slices),
        (TargetKind::Path, keys(&["app_bins", "app_config"]))
    );
    // A glob the slice declares counts.
    let found = resolve("/usr/lib/libx/plugins/a.so").unwrap();
    assert_eq!(found.slices, keys(&["libx_libs"]));

    let message = |name: &str| resolve(name).unwrap_err().to_string();
    assert_eq!(
        message("libx_lib"),
        "--why libx_lib: no slice or package of that name in the release (did you mean libx_libs?)"
    );
    // Close names in the closure come first (liby is in the release, not in the closure)...
    assert_eq!(
        message("libz"),
        "--why libz: no slice or package of that name in the release (did you mean libx?)"
    );
    // ...else the release's.
    assert_eq!(
        message("liby_lib"),
        "--why liby_lib: no slice or package of that name in the release (did you mean liby_libs?)"
    );
    assert_eq!(
        message("liby_libs"),
        "--why liby_libs: it is in the release, but none of the requested slices (app_bins, tool_bins) needs it"
    );
    assert_eq!(
        message("/usr/bin/ap"),
        "--why /usr/bin/ap: no selected slice installs that path (did you mean /usr/bin/app?)"
    );
    assert_eq!(
        message("/bin/tool"),
        "--why /bin/tool: no selected slice installs that path (did you mean /usr/bin/tool?)"
    );
    assert_eq!(
        message("/nowhere"),
        "--why /nowhere: no selected slice installs that path"
    );
}

fn path(name: &str, size: u64, slices: &[&str]) -> (String, ManifestPath) {
    let regular = !name.ends_with('/');
    (
        name.to_owned(),
        ManifestPath {
            path: name.to_owned(),
            mode: if regular { 0o644 } else { 0o755 },
            slices: slices.iter().map(|slice| key(slice)).collect(),
            sha256: regular.then(|| "ab".repeat(32)),
            final_sha256: None,
            size,
            link: None,
            inode: 0,
        },
    )
}

fn package(name: &str, version: &str) -> ManifestPackage {
    ManifestPackage {
        name: name.to_owned(),
        version: version.to_owned(),
        sha256: "cd".repeat(32),
        arch: "amd64".to_owned(),
    }
}

/// A root of app_bins and tool_bins as a manifest lists it.
fn manifest() -> Manifest {
    let mut paths: BTreeMap<String, ManifestPath> = [
        path("/usr/", 0, &["app_bins", "libx_libs", "tool_bins"]),
        path("/usr/bin/app", 100, &["app_bins"]),
        path("/usr/bin/tool", 7, &["tool_bins"]),
        path(
            "/usr/share/doc/app/copyright",
            10,
            &["app_config", "app_bins"],
        ),
        path("/etc/app.conf", 5, &["app_config"]),
        path("/usr/lib/libx.so.1", 1000, &["libx_libs"]),
        path("/usr/lib/libx/empty", 0, &["libx_libs"]),
    ]
    .into_iter()
    .collect();
    let (name, mut link) = path("/usr/lib/libx.so", 0, &["libx_libs"]);
    link.sha256 = None;
    link.link = Some("libx.so.1".to_owned());
    paths.insert(name, link);
    Manifest {
        packages: vec![
            package("app", "1.0-1"),
            package("libx", "2:3.4-1ubuntu1"),
            package("tool", "0.1"),
        ],
        slices: keys(&["app_bins", "app_config", "libx_libs", "tool_bins"])
            .into_iter()
            .collect(),
        paths,
    }
}

#[test]
fn a_file_counts_once_for_the_first_of_its_slices() {
    let footprint = Footprint::from_manifest(&manifest());
    assert_eq!(
        footprint.total,
        Usage {
            bytes: 1122,
            files: 6
        }
    );
    assert_eq!(
        footprint.by_slice,
        BTreeMap::from([
            (
                key("app_bins"),
                Usage {
                    bytes: 110,
                    files: 2
                }
            ),
            (key("app_config"), Usage { bytes: 5, files: 1 }),
            (
                key("libx_libs"),
                Usage {
                    bytes: 1000,
                    files: 2
                }
            ),
            (key("tool_bins"), Usage { bytes: 7, files: 1 }),
        ])
    );
    assert_eq!(
        footprint.largest_packages(2),
        vec![
            (
                "libx",
                Usage {
                    bytes: 1000,
                    files: 2
                }
            ),
            (
                "app",
                Usage {
                    bytes: 115,
                    files: 3
                }
            )
        ]
    );
    // 1000 / 1122 = 89.13%; 7 / 1122 = 0.62%.
    assert_eq!(footprint.permille(1000), 891);
    assert_eq!(footprint.permille(7), 6);
    assert_eq!(Footprint::default().permille(0), 0);
}

#[test]
fn the_requested_slices_are_those_no_other_needs() {
    let release = release();
    let manifest = manifest();
    assert_eq!(
        top_level(&release, manifest.slices.iter()),
        keys(&["app_bins", "tool_bins"])
    );
}

fn csp_hash(text: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

/// The text between the first `open` and the next `close` after it.
fn between<'t>(text: &'t str, open: &str, close: &str) -> &'t str {
    let start = text
        .find(open)
        .unwrap_or_else(|| panic!("no {open} in the page"))
        + open.len();
    let end = text[start..].find(close).expect("the element is closed") + start;
    &text[start..end]
}

#[test]
fn the_report_is_one_page_that_loads_nothing() {
    let release = release();
    let mut manifest = manifest();
    // A hostile name from a package must stay text.
    let (name, record) = path(
        "/usr/share/app/</script><img src=http://example.invalid/x>",
        3,
        &["app_bins"],
    );
    manifest.paths.insert(name, record);
    let page = render_for_test(
        "root & <more>",
        &manifest,
        Some(ReleaseInfo {
            name: "./release",
            release: &release,
        }),
    );
    assert!(page.contains("<title>kerf report: root &amp; &lt;more&gt;</title>"));
    assert!(
        !page.contains("<img"),
        "markup from a path reached the page"
    );
    assert_eq!(
        page.matches("</script>").count(),
        2,
        "one script, one data block"
    );
    // The policy allows exactly the page's own style and script, by hash, and nothing else.
    let style = between(&page, "<style>", "</style>");
    let script = between(&page, "<script>", "</script>");
    let policy = between(
        &page,
        "http-equiv=\"Content-Security-Policy\" content=\"",
        "\"",
    );
    assert_eq!(
        policy,
        format!(
            "default-src 'none'; script-src {}; style-src {}; img-src 'none'; font-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'",
            csp_hash(script),
            csp_hash(style)
        )
    );
    assert!(
        !page.contains("src=\"") && !page.contains("href="),
        "the page refers to another file"
    );
    // The treemap's data: all the bytes, largest package first, the hostile name escaped.
    let data: serde_json::Value = serde_json::from_str(between(
        &page,
        "<script type=\"application/json\" id=\"kerf-data\">",
        "</script>",
    ))
    .unwrap();
    assert_eq!(data["total"], 1125);
    assert_eq!(data["packages"][0]["name"], "libx");
    assert_eq!(
        data["packages"][1]["slices"][0]["files"][2][0],
        "/usr/share/app/</script><img src=http://example.invalid/x>"
    );
    // The tables: versions, slices, files, bytes and shares.
    assert!(page.contains(
        "<tr><td>libx</td><td>2:3.4-1ubuntu1</td><td>amd64</td><td>libs</td><td class=\"n\">2</td><td class=\"n\">1,000</td><td class=\"n\">88.9%</td></tr>"
    ));
    assert!(page.contains(
        "<tr><td>app</td><td>1.0-1</td><td>amd64</td><td>bins, config</td><td class=\"n\">4</td><td class=\"n\">118</td><td class=\"n\">10.5%</td></tr>"
    ));
    assert!(page.contains("<li><code>app_bins</code></li>\n<li><code>tool_bins</code></li>\n</ul>"));
    assert!(page.contains(
        "<tr><td>ubuntu</td><td>24.04</td><td>noble</td><td>main</td><td class=\"n\">0</td></tr>"
    ));
    assert!(page.contains("<dt>Bytes in regular files</dt><dd id=\"total-bytes\">1,125</dd>"));
}

#[test]
fn a_root_without_a_manifest_names_the_slice_to_add() {
    let dir = tempfile::tempdir().unwrap();
    let error = super::read_manifest(dir.path()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{} has no manifest at /var/lib/chisel/manifest.wall: kerf reads the sizes and slices of a root from the manifest a cut writes for a `generate: manifest` slice; cut base-files_chisel (in the bundled releases and in chisel-releases) into the root too",
            dir.path().display()
        )
    );
    assert!(error.is_user_error());
}
