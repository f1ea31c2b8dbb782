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
