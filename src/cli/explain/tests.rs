use std::collections::BTreeMap;

use super::*;
use crate::explain::tree::Target;
use crate::extract::{Installed, InstalledKind};

fn key(text: &str) -> SliceKey {
    SliceKey::parse(text).expect("a valid slice name")
}

fn file(path: &str, size: u64, slices: &[&str]) -> (String, Installed) {
    (
        path.to_owned(),
        Installed {
            path: path.to_owned(),
            mode: 0o644,
            kind: InstalledKind::File {
                size,
                sha256: String::new(),
                final_sha256: None,
            },
            slices: slices.iter().map(|slice| key(slice)).collect(),
            owner: None,
        },
    )
}

fn installed() -> BTreeMap<String, Installed> {
    let mut installed: BTreeMap<String, Installed> = [
        file("/usr/bin/app", 3 << 20, &["app_bins"]),
        file("/usr/lib/libx.so.1", 1 << 20, &["libx_libs"]),
        file("/etc/app.conf", 2048, &["app_config"]),
        file("/usr/bin/tool", 512, &["tool_bins"]),
        file("/usr/share/a", 10, &["aa_data"]),
        file("/usr/share/b", 10, &["bb_data"]),
    ]
    .into_iter()
    .collect();
    installed.insert(
        "/usr/".to_owned(),
        Installed {
            path: "/usr/".to_owned(),
            mode: 0o755,
            kind: InstalledKind::Directory,
            slices: [key("app_bins")].into_iter().collect(),
            owner: None,
        },
    );
    installed
}

fn summary() -> CutSummary {
    CutSummary {
        packages: 6,
        slices: 6,
        paths: 7,
        bytes: 0,
        downloaded: 0,
        installed: installed(),
        release_date: None,
        extension: None,
        delta: None,
    }
}

#[test]
fn the_summary_names_the_five_largest_packages_with_their_share() {
    // Ties (aa and bb, 10 bytes each) go by name; the sixth package is left out.
    assert_eq!(
        largest_packages(&summary()),
        "Largest packages: app 3.0 MiB (75.0%), libx 1.0 MiB (25.0%), tool 512 B (0.0%), aa 10 B (0.0%), bb 10 B (0.0%)\n"
    );
    let empty = CutSummary {
        installed: BTreeMap::new(),
        ..summary()
    };
    assert_eq!(largest_packages(&empty), "");
}

#[test]
fn the_tree_shows_branches_sizes_and_repeated_mentions() {
    let first = |name: &str, children: Vec<Node>| Node {
        key: key(name),
        mention: Mention::First,
        children,
    };
    let seen = |name: &str, under: Option<&str>| Node {
        key: key(name),
        mention: Mention::Seen {
            under: under.map(key),
        },
        children: Vec::new(),
    };
    let nodes = vec![
        first(
            "app_bins",
            vec![
                first("app_config", vec![first("libx_libs", vec![])]),
                seen("libx_libs", Some("app_config")),
            ],
        ),
        first("tool_bins", vec![seen("app_bins", None)]),
    ];
    let footprint = Footprint::from_installed(&installed());
    assert_eq!(
        render_tree(&nodes, &footprint),
        "\
app_bins              3.0 MiB
├── app_config        2.0 KiB
│   └── libx_libs     1.0 MiB
└── libx_libs (seen under app_config)
tool_bins               512 B
└── app_bins (requested, shown above)
"
    );
    let slices = [
        "app_bins",
        "app_config",
        "libx_libs",
        "tool_bins",
        "aa_data",
        "bb_data",
    ]
    .iter()
    .map(|name| key(name))
    .collect();
    assert_eq!(
        render_packages(&slices, &footprint),
        "\
package             slices   files        size   share
app                      2       2     3.0 MiB   75.0%
libx                     1       1     1.0 MiB   25.0%
tool                     1       1       512 B    0.0%
aa                       1       1        10 B    0.0%
bb                       1       1        10 B    0.0%
total (5 packages)       6       6     4.0 MiB  100.0%  (4196884 bytes)
"
    );
}

#[test]
fn why_prints_what_the_name_stands_for_then_the_chains() {
    let release = crate::testing::release::load(&[
        (
            "chisel.yaml",
            &crate::testing::release::chisel_yaml("v1"),
        ),
        (
            "slices/app.yaml",
            "package: app\nslices:\n  bins:\n    essential: [libx_libs]\n    contents:\n      /usr/bin/app:\n",
        ),
        (
            "slices/libx.yaml",
            "package: libx\nslices:\n  libs:\n    contents:\n      /usr/lib/libx.so.1:\n",
        ),
    ]);
    let requested = vec![key("libx_libs"), key("app_bins")];
    let target = Target {
        name: "/usr/lib/libx.so.1".to_owned(),
        slices: vec![key("libx_libs")],
        kind: TargetKind::Path,
    };
    assert_eq!(
        render_why(&release, Arch::Amd64, &requested, &target),
        "\
/usr/lib/libx.so.1 is installed by libx_libs
libx_libs is needed by 2 of the 2 requested slices (2 chains in all); the shortest from each:
  libx_libs (requested)
  app_bins → libx_libs
"
    );
}
