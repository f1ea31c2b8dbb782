//! A draft as a slice definition file, in the release's format.

use std::fmt::Write as _;

use super::{Category, Draft, Reasons};
use crate::release::Format;

/// Reasons shown beside an essential; more are counted.
const SHOWN_REASONS: usize = 2;

/// The slice definition file of `draft`, for a release of `format`.
pub(crate) fn render(draft: &Draft, format: Format) -> String {
    let map_essentials = format == Format::V3;
    let mut out = String::new();
    let _ = writeln!(out, "# Drafted by `kerf draft` from {}.", draft.origin);
    out.push_str(
        "# Review before use: keep the slices and paths an image needs, check every essential,\n\
         # and resolve the TODOs.\n",
    );
    let _ = writeln!(out, "package: {}", draft.package);
    let has_copyright = draft.slices.contains_key(&Category::Copyright);
    if has_copyright {
        out.push_str("\n# Every slice carries the package's copyright.\nessential:\n");
        let key = format!("{}_copyright", draft.package);
        essential_line(&mut out, "  ", &key, None, map_essentials);
    }
    out.push_str("\nslices:\n");
    let mut first = true;
    for (category, slice) in &draft.slices {
        if !first {
            out.push('\n');
        }
        first = false;
        let _ = writeln!(out, "  {}:", category.name());
        for (wanted, files) in &slice.unresolved.0 {
            let _ = writeln!(
                out,
                "    # TODO: no slice or package found for {wanted}, needed by {}",
                files_text(files)
            );
        }
        if !slice.essential.is_empty() {
            out.push_str("    essential:\n");
            for (key, reasons) in &slice.essential {
                essential_line(
                    &mut out,
                    "      ",
                    &key.to_string(),
                    Some(reasons),
                    map_essentials,
                );
            }
        }
        out.push_str("    contents:\n");
        for (path, arches) in &slice.contents {
            let options = match arches.as_slice() {
                [] => String::new(),
                [arch] => format!(" {{arch: {arch}}}"),
                many => format!(
                    " {{arch: [{}]}}",
                    many.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            let _ = writeln!(out, "      {}:{options}", yaml_key(path));
        }
    }
    out
}

fn essential_line(out: &mut String, indent: &str, key: &str, reasons: Option<&Reasons>, map: bool) {
    let entry = if map {
        format!("{indent}{key}: {{}}")
    } else {
        format!("{indent}- {key}")
    };
    match reasons {
        Some(reasons) if !reasons.0.is_empty() => {
            let wanted: Vec<String> = reasons
                .0
                .iter()
                .map(|(wanted, files)| format!("{wanted} for {}", files_text(files)))
                .collect();
            let _ = writeln!(out, "{entry}  # {}", wanted.join("; "));
        }
        _ => {
            let _ = writeln!(out, "{entry}");
        }
    }
}

/// The first files that need something, and how many more do.
fn files_text(files: &std::collections::BTreeSet<String>) -> String {
    let mut shown: Vec<String> = files.iter().take(SHOWN_REASONS).cloned().collect();
    let more = files.len().saturating_sub(SHOWN_REASONS);
    if more > 0 {
        shown.push(format!("{more} more"));
    }
    shown.join(", ")
}

/// A path as a YAML key: plain when that reads back the same, single-quoted otherwise.
fn yaml_key(path: &str) -> String {
    let plain = path.starts_with('/')
        && path.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '/' | '.' | '_' | '-' | '+' | '*' | '?' | '@' | '~' | '=' | '^'
                )
        });
    if plain {
        path.to_owned()
    } else {
        format!("'{}'", path.replace('\'', "''"))
    }
}
