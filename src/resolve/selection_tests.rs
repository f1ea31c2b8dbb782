//! Selection: essentials, arch filtering, order and prefer, on small releases written here.

use std::borrow::Cow;

use super::{select, SelectError, Selection};
use crate::release::{load_files, Arch, EssentialInfo, Release, SliceKey, SourceFile};

/// Removes the common indentation of a multi-line literal and its first (empty) line, so the
/// YAML below can be indented with the code.
fn dedent(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    text.lines()
        .map(|line| line.get(indent..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn chisel_yaml(format: &str) -> String {
    crate::testing::release::chisel_yaml(format)
}

/// Loads a release of the given format from slice definition files (each starting with
/// `package: <name>`), panicking with the release's own report if it is invalid.
fn release(format: &str, packages: &[&str]) -> Release {
    let mut files = vec![SourceFile {
        path: "chisel.yaml".to_owned(),
        bytes: Cow::Owned(chisel_yaml(format).into_bytes()),
    }];
    for text in packages {
        let text = dedent(text);
        let name = text
            .lines()
            .find_map(|line| line.strip_prefix("package: "))
            .expect("each package text starts with its name")
            .to_owned();
        files.push(SourceFile {
            path: format!("slices/{name}.yaml"),
            bytes: Cow::Owned(text.into_bytes()),
        });
    }
    load_files("test-release", &files).unwrap_or_else(|errors| panic!("{errors}"))
}

fn keys(references: &[&str]) -> Vec<SliceKey> {
    references
        .iter()
        .map(|reference| SliceKey::parse(reference).expect("valid reference"))
        .collect()
}

fn selected<'r>(release: &'r Release, references: &[&str], arch: Arch) -> Selection<'r> {
    select(release, &keys(references), arch).unwrap_or_else(|error| panic!("{error}"))
}

/// The selection's slices as `pkg_slice` strings, in order.
fn names(selection: &Selection<'_>) -> Vec<String> {
    selection
        .slices
        .iter()
        .map(|slice| slice.key().to_string())
        .collect()
}

fn select_error(release: &Release, references: &[&str], arch: Arch) -> SelectError {
    match select(release, &keys(references), arch) {
        Ok(selection) => panic!("selected {:?}", names(&selection)),
        Err(error) => error,
    }
}

/// `top_bins` needs `left_libs` and `right_libs`, which both need `base_libs`; `base_data` and
/// `top_data` hang off the side.
fn diamond() -> Release {
    release(
        "v1",
        &[
            "
            package: top
            slices:
                bins:
                    essential: [right_libs, left_libs]
                    contents:
                        /usr/bin/top:
                data:
                    contents:
                        /usr/share/top/data:
            ",
            "
            package: left
            slices:
                libs:
                    essential: [base_libs]
                    contents:
                        /usr/lib/libleft.so:
            ",
            "
            package: right
            slices:
                libs:
                    essential: [base_libs]
                    contents:
                        /usr/lib/libright.so:
            ",
            "
            package: base
            slices:
                libs:
                    contents:
                        /usr/lib/libbase.so:
                data:
                    contents:
                        /usr/share/base/data:
            ",
        ],
    )
}

#[test]
fn requested_slices_are_always_included() {
    let release = diamond();
    let selection = selected(&release, &["base_data"], Arch::Amd64);
    assert_eq!(names(&selection), ["base_data"]);
    assert_eq!(selection.arch, Arch::Amd64);
    assert!(selection.prefer_winners.is_empty());
    // A slice that is also an essential of another requested slice appears once.
    let selection = selected(&release, &["base_libs", "left_libs"], Arch::Amd64);
    assert_eq!(names(&selection), ["base_libs", "left_libs"]);
}

#[test]
fn essentials_are_followed_transitively() {
    let release = diamond();
    let selection = selected(&release, &["top_bins"], Arch::Amd64);
    assert_eq!(
        names(&selection),
        ["base_libs", "left_libs", "right_libs", "top_bins"]
    );
    // Other slices of the same packages are not pulled in.
    assert!(!names(&selection).contains(&"base_data".to_owned()));
    assert!(!names(&selection).contains(&"top_data".to_owned()));
}

#[test]
fn diamond_order_is_essentials_first_then_by_name() {
    let release = diamond();
    let selection = selected(
        &release,
        &["top_data", "top_bins", "base_data"],
        Arch::Amd64,
    );
    assert_eq!(
        names(&selection),
        [
            "base_data",
            "base_libs",
            "left_libs",
            "right_libs",
            "top_bins",
            "top_data"
        ]
    );
    assert_eq!(selection.packages(), ["base", "left", "right", "top"]);
}

/// chisel walks a slice's essentials in Go map order, so a slice with several essentials gets a
/// different order from run to run; kerf's is a fixed topological order with ties by name.
#[test]
fn order_is_deterministic_where_chisels_is_random() {
    let release = release(
        "v1",
        &[
            "
            package: app
            slices:
                bins:
                    essential: [zeta_libs, alpha_libs, mid_libs, alpha_config]
            ",
            "
            package: alpha
            slices:
                libs:
                    essential: [zeta_data]
                config:
                    contents:
                        /etc/alpha.conf:
            ",
            "
            package: mid
            slices:
                libs:
                    contents:
                        /usr/lib/libmid.so:
            ",
            "
            package: zeta
            slices:
                libs:
                    contents:
                        /usr/lib/libzeta.so:
                data:
                    contents:
                        /usr/share/zeta/data:
            ",
        ],
    );
    let expected = [
        "alpha_config",
        "mid_libs",
        "zeta_data",
        "alpha_libs",
        "zeta_libs",
        "app_bins",
    ];
    for _ in 0..20 {
        let selection = selected(&release, &["app_bins"], Arch::Amd64);
        assert_eq!(names(&selection), expected);
        // Each package is listed once, where it is first needed.
        assert_eq!(selection.packages(), ["alpha", "mid", "zeta", "app"]);
    }
    // The order does not depend on the order of the request either.
    let selection = selected(
        &release,
        &["zeta_libs", "app_bins", "mid_libs"],
        Arch::Amd64,
    );
    assert_eq!(names(&selection), expected);
}

#[test]
fn every_slice_comes_after_its_essentials() {
    let release = diamond();
    let selection = selected(&release, &["top_bins", "top_data"], Arch::Amd64);
    let order = names(&selection);
    for (index, slice) in selection.slices.iter().enumerate() {
        for essential in slice.essential.keys() {
            let position = order
                .iter()
                .position(|name| name == &essential.to_string())
                .expect("essential is selected");
            assert!(position < index, "{essential} after {}", slice.key());
        }
    }
}

#[test]
fn duplicates_in_the_request_are_harmless() {
    let release = diamond();
    let once = names(&selected(&release, &["top_bins", "base_data"], Arch::Amd64));
    let twice = names(&selected(
        &release,
        &[
            "base_data",
            "top_bins",
            "top_bins",
            "base_data",
            "left_libs",
        ],
        Arch::Amd64,
    ));
    assert_eq!(once, twice);
}

fn v3_release() -> Release {
    release(
        "v3",
        &[
            "
            package: app
            essential:
                app_copyright: {}
            slices:
                bins:
                    essential:
                        libc6_libs:
                        arm-only_libs: {arch: [arm64]}
                        multi_libs: {arch: [arm64, riscv64]}
                    contents:
                        /usr/bin/app:
                copyright:
                    contents:
                        /usr/share/doc/app/copyright:
            ",
            "
            package: libc6
            slices:
                libs:
                    contents:
                        /usr/lib/libc.so.6:
            ",
            "
            package: arm-only
            slices:
                libs:
                    essential:
                        libc6_libs: {}
                    contents:
                        /usr/lib/libarm.so:
            ",
            "
            package: multi
            slices:
                libs:
                    contents:
                        /usr/lib/libmulti.so:
            ",
        ],
    )
}

#[test]
fn v3_arch_specific_essentials_follow_the_target_arch() {
    let release = v3_release();
    assert_eq!(
        names(&selected(&release, &["app_bins"], Arch::Amd64)),
        ["app_copyright", "libc6_libs", "app_bins"]
    );
    assert_eq!(
        names(&selected(&release, &["app_bins"], Arch::Arm64)),
        [
            "app_copyright",
            "libc6_libs",
            "arm-only_libs",
            "multi_libs",
            "app_bins"
        ]
    );
    assert_eq!(
        names(&selected(&release, &["app_bins"], Arch::Riscv64)),
        ["app_copyright", "libc6_libs", "multi_libs", "app_bins"]
    );
    // Asked for by name, an arch-limited essential is selected whatever the arch.
    assert_eq!(
        names(&selected(
            &release,
            &["app_bins", "arm-only_libs"],
            Arch::Amd64
        )),
        ["app_copyright", "libc6_libs", "app_bins", "arm-only_libs"]
    );
}

#[test]
fn v1_v3_essential_is_arch_filtered_too() {
    let release = release(
        "v1",
        &[
            "
            package: app
            slices:
                bins:
                    essential: [libc6_libs]
                    v3-essential:
                        arm-only_libs: {arch: arm64}
            ",
            "
            package: libc6
            slices:
                libs:
                    contents:
                        /usr/lib/libc.so.6:
            ",
            "
            package: arm-only
            slices:
                libs:
                    contents:
                        /usr/lib/libarm.so:
            ",
        ],
    );
    assert_eq!(
        names(&selected(&release, &["app_bins"], Arch::Amd64)),
        ["libc6_libs", "app_bins"]
    );
    assert_eq!(
        names(&selected(&release, &["app_bins"], Arch::Arm64)),
        ["arm-only_libs", "libc6_libs", "app_bins"]
    );
}

#[test]
fn package_level_essentials_apply_to_every_slice_but_their_own() {
    let release = v3_release();
    // The copyright slice names itself at package level: it has no essential of its own.
    assert_eq!(
        names(&selected(&release, &["app_copyright"], Arch::Amd64)),
        ["app_copyright"]
    );
    let v1 = release_with_package_essential();
    assert_eq!(
        names(&selected(&v1, &["tool_bins"], Arch::Amd64)),
        ["base_libs", "tool_copyright", "tool_bins"]
    );
    assert_eq!(
        names(&selected(&v1, &["tool_copyright"], Arch::Amd64)),
        ["base_libs", "tool_copyright"]
    );
}

fn release_with_package_essential() -> Release {
    release(
        "v1",
        &[
            "
            package: tool
            essential: [tool_copyright, base_libs]
            slices:
                bins:
                    contents:
                        /usr/bin/tool:
                copyright:
                    contents:
                        /usr/share/doc/tool/copyright:
            ",
            "
            package: base
            slices:
                libs:
                    contents:
                        /usr/lib/libbase.so:
            ",
        ],
    )
}

#[test]
fn packages_are_listed_in_order_of_first_need() {
    let release = diamond();
    let selection = selected(
        &release,
        &["top_bins", "base_data", "top_data"],
        Arch::Amd64,
    );
    assert_eq!(
        names(&selection),
        [
            "base_data",
            "base_libs",
            "left_libs",
            "right_libs",
            "top_bins",
            "top_data"
        ]
    );
    assert_eq!(selection.packages(), ["base", "left", "right", "top"]);
    let selection = selected(&release, &["left_libs"], Arch::Amd64);
    assert_eq!(selection.packages(), ["base", "left"]);
}

fn typo_release() -> Release {
    release(
        "v1",
        &[
            "
            package: openssl
            slices:
                bins:
                    contents:
                        /usr/bin/openssl:
                config:
                    contents:
                        /etc/ssl/openssl.cnf:
            ",
            "
            package: libc6
            slices:
                libs:
                    contents:
                        /usr/lib/libc.so.6:
            ",
        ],
    )
}

#[test]
fn unknown_package_suggests_a_close_name() {
    let release = typo_release();
    let error = select_error(&release, &["openssk_bins"], Arch::Amd64);
    assert_eq!(
        error.to_string(),
        "slices of package \"openssk\" not found (did you mean openssl?)"
    );
    assert_eq!(
        error,
        SelectError::UnknownPackage {
            package: "openssk".to_owned(),
            suggestions: vec!["openssl".to_owned()],
        }
    );
    // Nothing close: no suggestion at all.
    assert_eq!(
        select_error(&release, &["libc6_libs", "zzzzzz_bins"], Arch::Amd64).to_string(),
        "slices of package \"zzzzzz\" not found"
    );
}

#[test]
fn unknown_slice_names_the_close_slice() {
    let release = typo_release();
    assert_eq!(
        select_error(&release, &["openssl_binz"], Arch::Amd64).to_string(),
        "slice openssl_binz not found (did you mean openssl_bins?)"
    );
    assert_eq!(
        select_error(&release, &["openssl_docs"], Arch::Amd64).to_string(),
        "slice openssl_docs not found"
    );
    assert_eq!(
        select_error(&release, &["openssl_bin"], Arch::Amd64),
        SelectError::UnknownSlice {
            key: SliceKey::new("openssl", "bin"),
            suggestions: vec!["openssl_bins".to_owned()],
        }
    );
}

#[test]
fn several_close_names_are_listed_closest_first() {
    let release = release(
        "v1",
        &[
            "
            package: libfoo
            slices:
                libs:
                    contents:
                        /usr/lib/libfoo.so:
            ",
            "
            package: libfo
            slices:
                libs:
                    contents:
                        /usr/lib/libfo.so:
            ",
            "
            package: libbar
            slices:
                libs:
                    contents:
                        /usr/lib/libbar.so:
            ",
        ],
    );
    assert_eq!(
        select_error(&release, &["libfoo1_libs"], Arch::Amd64).to_string(),
        "slices of package \"libfoo1\" not found (did you mean one of libfoo, libfo?)"
    );
}

fn generate_release() -> Release {
    release(
        "v1",
        &["
            package: app
            slices:
                bins:
                    contents:
                        /usr/bin/app:
                manifest:
                    contents:
                        /var/lib/app/**: {generate: foo}
                uses-manifest:
                    essential: [app_manifest]
                    contents:
                        /usr/bin/app-extra:
            "],
    )
}

#[test]
fn invalid_generate_fails_only_when_selected() {
    let release = generate_release();
    // It loaded, and selecting another slice of the package is fine.
    assert_eq!(
        names(&selected(&release, &["app_bins"], Arch::Amd64)),
        ["app_bins"]
    );
    let expected = "slice app_manifest has invalid 'generate' for path /var/lib/app/**: \"foo\"";
    assert_eq!(
        select_error(&release, &["app_manifest"], Arch::Amd64).to_string(),
        expected
    );
    // Selected as an essential, it fails the same way.
    assert_eq!(
        select_error(&release, &["app_bins", "app_uses-manifest"], Arch::Amd64).to_string(),
        expected
    );
}

#[test]
fn a_valid_generate_selects() {
    let release = release(
        "v1",
        &["
            package: app
            slices:
                manifest:
                    contents:
                        /var/lib/app/**: {generate: manifest}
            "],
    );
    let selection = selected(&release, &["app_manifest"], Arch::Amd64);
    let paths: Vec<&str> = selection.paths().map(|entry| entry.path).collect();
    assert_eq!(paths, ["/var/lib/app/**"]);
}

#[test]
fn an_essential_loop_is_reported() {
    // Validation refuses loops when loading, so make one by hand.
    let mut release = diamond();
    release
        .packages
        .get_mut("base")
        .and_then(|package| package.slices.get_mut("libs"))
        .expect("base_libs")
        .essential
        .insert(SliceKey::new("top", "bins"), EssentialInfo::default());
    let error = select_error(&release, &["top_bins", "base_data"], Arch::Amd64);
    assert_eq!(
        error.to_string(),
        "essential loop detected: base_libs, left_libs, right_libs, top_bins"
    );
}

#[test]
fn paths_follow_the_target_arch() {
    let release = release(
        "v1",
        &[
            "
            package: app
            slices:
                bins:
                    essential: [libc6_libs]
                    contents:
                        /usr/bin/app:
                        /usr/bin/amd: {arch: amd64}
                        /usr/bin/arm: {arch: [arm64, riscv64]}
                        /etc/app.conf: {text: hello, arch: [i386, amd64]}
            ",
            "
            package: libc6
            slices:
                libs:
                    contents:
                        /usr/lib/libc.so.6:
                        /usr/lib/ld64.so: {arch: [arm64]}
            ",
        ],
    );
    let paths = |arch| {
        let selection = selected(&release, &["app_bins"], arch);
        selection
            .paths()
            .map(|entry| format!("{} {}", entry.slice.key(), entry.path))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        paths(Arch::Amd64),
        [
            "libc6_libs /usr/lib/libc.so.6",
            "app_bins /etc/app.conf",
            "app_bins /usr/bin/amd",
            "app_bins /usr/bin/app",
        ]
    );
    assert_eq!(
        paths(Arch::Arm64),
        [
            "libc6_libs /usr/lib/ld64.so",
            "libc6_libs /usr/lib/libc.so.6",
            "app_bins /usr/bin/app",
            "app_bins /usr/bin/arm",
        ]
    );
    assert_eq!(
        paths(Arch::S390x),
        ["libc6_libs /usr/lib/libc.so.6", "app_bins /usr/bin/app"]
    );
    let selection = selected(&release, &["app_bins"], Arch::Amd64);
    let conf = selection
        .paths()
        .find(|entry| entry.path == "/etc/app.conf")
        .expect("listed");
    assert_eq!(conf.info.info, "hello");
}

/// `p1` prefers `p2`, which prefers `p3`, for `/usr/bin/tool`; each also has a path of its own.
fn prefer_chain() -> Release {
    release(
        "v1",
        &[
            "
            package: p1
            slices:
                bins:
                    contents:
                        /usr/bin/tool: {prefer: p2}
                        /usr/share/p1/data:
            ",
            "
            package: p2
            slices:
                bins:
                    contents:
                        /usr/bin/tool: {prefer: p3}
                        /usr/share/p2/data:
            ",
            "
            package: p3
            slices:
                bins:
                    contents:
                        /usr/bin/tool:
                        /usr/share/p3/data:
            ",
        ],
    )
}

/// The winner for `/usr/bin/tool`, and every installed path as `pkg_slice path`.
fn prefer_outcome(release: &Release, references: &[&str]) -> (Option<String>, Vec<String>) {
    let selection = selected(release, references, Arch::Amd64);
    let winner = selection.prefer_winners.get("/usr/bin/tool").cloned();
    let paths = selection
        .paths()
        .map(|entry| format!("{} {}", entry.slice.key(), entry.path))
        .collect();
    (winner, paths)
}

#[test]
fn prefer_chain_winner_is_the_last_selected_package() {
    let release = prefer_chain();
    let (winner, paths) = prefer_outcome(&release, &["p1_bins", "p2_bins", "p3_bins"]);
    assert_eq!(winner.as_deref(), Some("p3"));
    assert_eq!(
        paths,
        [
            "p1_bins /usr/share/p1/data",
            "p2_bins /usr/share/p2/data",
            "p3_bins /usr/bin/tool",
            "p3_bins /usr/share/p3/data",
        ]
    );

    // The request order changes nothing.
    let (winner, _) = prefer_outcome(&release, &["p3_bins", "p1_bins", "p2_bins"]);
    assert_eq!(winner.as_deref(), Some("p3"));
}

#[test]
fn prefer_chain_without_its_end_stops_at_the_last_selected() {
    let release = prefer_chain();
    let (winner, paths) = prefer_outcome(&release, &["p1_bins", "p2_bins"]);
    assert_eq!(winner.as_deref(), Some("p2"));
    assert_eq!(
        paths,
        [
            "p1_bins /usr/share/p1/data",
            "p2_bins /usr/bin/tool",
            "p2_bins /usr/share/p2/data",
        ]
    );
}

#[test]
fn prefer_chain_skips_unselected_links() {
    let release = prefer_chain();
    // p1 gives way to p3 through p2, even though p2 is not selected.
    let (winner, paths) = prefer_outcome(&release, &["p1_bins", "p3_bins"]);
    assert_eq!(winner.as_deref(), Some("p3"));
    assert_eq!(
        paths,
        [
            "p1_bins /usr/share/p1/data",
            "p3_bins /usr/bin/tool",
            "p3_bins /usr/share/p3/data",
        ]
    );
    // Alone, a package that prefers another still provides the path.
    let (winner, paths) = prefer_outcome(&release, &["p1_bins"]);
    assert_eq!(winner.as_deref(), Some("p1"));
    assert_eq!(
        paths,
        ["p1_bins /usr/bin/tool", "p1_bins /usr/share/p1/data"]
    );
    // The end of the chain alone needs no decision.
    let (winner, paths) = prefer_outcome(&release, &["p3_bins"]);
    assert_eq!(winner, None);
    assert_eq!(
        paths,
        ["p3_bins /usr/bin/tool", "p3_bins /usr/share/p3/data"]
    );
}
