//! `kerf find`: fuzzy search over slice names, in chisel's output format.

use crate::glob::fuzzy_match;
use crate::release::{Release, Slice};

/// The slices matching every term, sorted by `pkg_slice`.
///
/// A term starting with `_` is compared with the slice name, a term containing `_` elsewhere
/// with the whole `pkg_slice`, any other term with the package name; each comparison allows one
/// edit, with `*` and `?` as wildcards.
pub fn find<'r>(release: &'r Release, terms: &[String]) -> Vec<&'r Slice> {
    let mut found: Vec<(String, &Slice)> = release
        .packages
        .values()
        .flat_map(|package| package.slices.values())
        .filter(|slice| terms.iter().all(|term| term_matches(term, slice)))
        .map(|slice| (slice.key().to_string(), slice))
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found.into_iter().map(|(_, slice)| slice).collect()
}

fn term_matches(term: &str, slice: &Slice) -> bool {
    if let Some(name) = term.strip_prefix('_') {
        fuzzy_match(name, &slice.name)
    } else if term.contains('_') {
        fuzzy_match(term, &slice.key().to_string())
    } else {
        fuzzy_match(term, &slice.package)
    }
}

/// The results as chisel's tab writer lays them out: a `Slice`/`Hint` header, columns padded to
/// the widest cell plus two spaces, `-` for an empty hint.
pub fn render(slices: &[&Slice]) -> String {
    let rows: Vec<(String, &str)> = slices
        .iter()
        .map(|slice| {
            (
                slice.key().to_string(),
                if slice.hint.is_empty() {
                    "-"
                } else {
                    slice.hint.as_str()
                },
            )
        })
        .collect();
    let width = rows
        .iter()
        .map(|(name, _)| name.chars().count())
        .chain(std::iter::once("Slice".len()))
        .max()
        .unwrap_or(0)
        .max(5);
    let mut out = format!("{:width$}  Hint\n", "Slice");
    for (name, hint) in rows {
        out.push_str(&format!("{name:width$}  {hint}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::{find, render};
    use crate::release::{load_files, Release, SourceFile};

    fn chisel_yaml() -> String {
        crate::testing::release::chisel_yaml("v1")
    }

    /// One definition file per `(package, [(slice, hint)])`; each slice has one path of its own.
    fn release(packages: &[(&str, &[(&str, &str)])]) -> Release {
        let mut files = vec![SourceFile {
            path: "chisel.yaml".to_owned(),
            bytes: Cow::Owned(chisel_yaml().into_bytes()),
        }];
        for (package, slices) in packages {
            let mut text = format!("package: {package}\nslices:\n");
            for (slice, hint) in *slices {
                text.push_str(&format!("    {slice}:\n"));
                if !hint.is_empty() {
                    text.push_str(&format!("        hint: {hint}\n"));
                }
                text.push_str(&format!(
                    "        contents:\n            /usr/share/{package}/{slice}:\n"
                ));
            }
            files.push(SourceFile {
                path: format!("slices/{package}.yaml"),
                bytes: Cow::Owned(text.into_bytes()),
            });
        }
        load_files("test-release", &files).unwrap_or_else(|errors| panic!("{errors}"))
    }

    fn sample() -> Release {
        release(&[
            (
                "openssl",
                &[
                    ("bins", "The openssl command"),
                    ("config", ""),
                    ("data", ""),
                ],
            ),
            ("libssl3t64", &[("libs", "")]),
            ("libisl23", &[("libs", "")]),
            ("libnsl2", &[("libs", "")]),
            ("ca-certificates", &[("bins", ""), ("data", "CA bundle")]),
            (
                "ca-certificates-java",
                &[("bins", ""), ("data-with-certs", "")],
            ),
            ("jq", &[("bins", "Command-line JSON processor")]),
        ])
    }

    /// The `pkg_slice` names found for `terms`, in output order.
    fn search(release: &Release, terms: &[&str]) -> Vec<String> {
        let terms: Vec<String> = terms.iter().map(|term| (*term).to_owned()).collect();
        find(release, &terms)
            .iter()
            .map(|slice| slice.key().to_string())
            .collect()
    }

    #[test]
    fn a_plain_term_is_a_package_name() {
        let release = sample();
        assert_eq!(
            search(&release, &["openssl"]),
            ["openssl_bins", "openssl_config", "openssl_data"]
        );
        // Slice names are not looked at: no package is called anything like `libs`.
        assert!(search(&release, &["libs"]).is_empty());
    }

    #[test]
    fn a_leading_underscore_term_is_a_slice_name() {
        let release = sample();
        assert_eq!(
            search(&release, &["_libs"]),
            ["libisl23_libs", "libnsl2_libs", "libssl3t64_libs"]
        );
        assert_eq!(
            search(&release, &["_data"]),
            ["ca-certificates_data", "openssl_data"]
        );
        assert_eq!(search(&release, &["_config"]), ["openssl_config"]);
        // Package names are not looked at.
        assert!(search(&release, &["_openssl"]).is_empty());
    }

    #[test]
    fn a_term_with_an_inner_underscore_is_a_whole_reference() {
        let release = sample();
        assert_eq!(search(&release, &["openssl_bins"]), ["openssl_bins"]);
        assert_eq!(search(&release, &["openssl_bin"]), ["openssl_bins"]);
        assert_eq!(search(&release, &["jq_bins"]), ["jq_bins"]);
        assert_eq!(
            search(&release, &["ca-certificates_da*"]),
            ["ca-certificates_data"]
        );
        // The `_` may be the one edit: it becomes the `-` of `ca-certificates-java`.
        assert_eq!(
            search(&release, &["ca-certificates_*"]),
            [
                "ca-certificates-java_bins",
                "ca-certificates-java_data-with-certs",
                "ca-certificates_bins",
                "ca-certificates_data"
            ]
        );
        // Two edits away.
        assert!(search(&release, &["openssl_bi"]).is_empty());
    }

    #[test]
    fn stars_absorb_any_run_and_question_marks_one_character() {
        let release = sample();
        // One substitution lets `libssl*` reach `libisl23` and `libnsl2` too.
        assert_eq!(
            search(&release, &["libssl*"]),
            ["libisl23_libs", "libnsl2_libs", "libssl3t64_libs"]
        );
        assert_eq!(
            search(&release, &["ca-cert*"]),
            [
                "ca-certificates-java_bins",
                "ca-certificates-java_data-with-certs",
                "ca-certificates_bins",
                "ca-certificates_data"
            ]
        );
        assert_eq!(
            search(&release, &["ca**java"]),
            [
                "ca-certificates-java_bins",
                "ca-certificates-java_data-with-certs"
            ]
        );
        assert_eq!(
            search(&release, &["*_data*"]),
            [
                "ca-certificates-java_data-with-certs",
                "ca-certificates_data",
                "openssl_data"
            ]
        );
        assert_eq!(search(&release, &["?q"]), ["jq_bins"]);
        assert_eq!(
            search(&release, &["op?nss?"]),
            ["openssl_bins", "openssl_config", "openssl_data"]
        );
        assert_eq!(search(&release, &["_?ins", "j?"]), ["jq_bins"]);
        // `?` is exactly one character: `??` against `jq` is exact, `????` is two edits off.
        assert_eq!(search(&release, &["??"]), ["jq_bins"]);
        assert!(search(&release, &["????"]).is_empty());
    }

    #[test]
    fn one_edit_is_allowed_per_term() {
        let release = sample();
        let openssl = ["openssl_bins", "openssl_config", "openssl_data"];
        // Deletion, insertion and substitution.
        assert_eq!(search(&release, &["opensl"]), openssl);
        assert_eq!(search(&release, &["opensssl"]), openssl);
        assert_eq!(search(&release, &["openssk"]), openssl);
        // Two edits are too many.
        assert!(search(&release, &["opnsl"]).is_empty());
        assert!(search(&release, &["openssxx"]).is_empty());
        assert_eq!(search(&release, &["_bin"]).len(), 4);
        assert_eq!(search(&release, &["_dat"]).len(), 2);
    }

    #[test]
    fn all_terms_must_match() {
        let release = sample();
        assert_eq!(
            search(&release, &["ca-cert*", "_data"]),
            ["ca-certificates_data"]
        );
        assert_eq!(search(&release, &["openssl", "_bins"]), ["openssl_bins"]);
        assert_eq!(
            search(&release, &["openssl", "openssl_config", "_config"]),
            ["openssl_config"]
        );
        assert!(search(&release, &["openssl", "_libs"]).is_empty());
        // No terms at all: everything matches.
        assert_eq!(search(&release, &[]).len(), 11);
    }

    #[test]
    fn config_as_a_package_term_matches_nothing() {
        let release = sample();
        assert!(search(&release, &["config"]).is_empty());
        assert_eq!(search(&release, &["_config"]), ["openssl_config"]);
    }

    #[test]
    fn results_are_sorted_by_reference_bytes() {
        let release = release(&[
            ("ab", &[("zzz", ""), ("aaa", "")]),
            ("ab-c", &[("bbb", "")]),
            ("ab.c", &[("bbb", "")]),
            ("abc", &[("aaa", "")]),
            ("ab1", &[("aaa", "")]),
        ]);
        // `-` < `.` < `1` < `_` < `c` in bytes, even though `ab` is a prefix of the others.
        assert_eq!(
            search(&release, &["ab*"]),
            ["ab-c_bbb", "ab.c_bbb", "ab1_aaa", "ab_aaa", "ab_zzz", "abc_aaa"]
        );
    }

    #[test]
    fn render_lays_out_like_chisels_tab_writer() {
        let release = sample();
        let found = find(&release, &["ca-cert*".to_owned()]);
        assert_eq!(
            render(&found),
            "\
Slice                                 Hint
ca-certificates-java_bins             -
ca-certificates-java_data-with-certs  -
ca-certificates_bins                  -
ca-certificates_data                  CA bundle
"
        );
        let found = find(&release, &["jq".to_owned()]);
        assert_eq!(
            render(&found),
            "\
Slice    Hint
jq_bins  Command-line JSON processor
"
        );
        let found = find(&release, &["openssl".to_owned()]);
        assert_eq!(
            render(&found),
            "\
Slice           Hint
openssl_bins    The openssl command
openssl_config  -
openssl_data    -
"
        );
    }

    #[test]
    fn render_keeps_the_header_at_least_five_wide() {
        let release = release(&[("ab", &[("cde", "")])]);
        let found = find(&release, &["ab".to_owned()]);
        // `ab_cde` is 6 wide, so the header pads to it.
        assert_eq!(render(&found), "Slice   Hint\nab_cde  -\n");
        // With nothing found, only the header (the command prints a message instead).
        assert_eq!(render(&[]), "Slice  Hint\n");
    }
}
