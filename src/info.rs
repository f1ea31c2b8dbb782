//! `kerf info`: slice definitions printed in chisel's exact output format.
//!
//! chisel marshals its definitions with go-yaml (4-space indent), so its output follows that
//! library's rules: map keys in go-yaml's "natural" order, contents as flow maps, and each string
//! in the first style that reads back as the same string. Those rules are written out here so the
//! bytes match.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::release::{EssentialInfo, Package, PathInfo, PathKind, Release, Slice, SliceKey, Until};

/// What `info` found for its arguments: the text to print, and the arguments that named nothing.
#[derive(Debug, PartialEq, Eq)]
pub struct InfoOutput {
    pub text: String,
    pub not_found: Vec<String>,
}

/// Renders the packages and slices named by `queries`, one YAML document per package in the
/// order each package was first named. A whole package wins over single slices of it.
pub fn info(release: &Release, queries: &[String]) -> InfoOutput {
    enum Wanted<'a> {
        Whole,
        Slices(Vec<&'a str>),
    }
    let mut order: Vec<&Package> = Vec::new();
    let mut wanted: BTreeMap<&str, Wanted<'_>> = BTreeMap::new();
    let mut not_found = Vec::new();
    for query in queries {
        let found = if query.contains('_') {
            SliceKey::parse(query).and_then(|key| {
                let package = release.packages.get(&key.package)?;
                let (name, _) = package.slices.get_key_value(&key.slice)?;
                Some((package, Some(name.as_str())))
            })
        } else {
            release
                .packages
                .get(query.as_str())
                .map(|package| (package, None))
        };
        let Some((package, slice)) = found else {
            not_found.push(query.clone());
            continue;
        };
        let entry = wanted.entry(&package.name).or_insert_with(|| {
            order.push(package);
            Wanted::Slices(Vec::new())
        });
        match (slice, entry) {
            (None, entry) => *entry = Wanted::Whole,
            (Some(slice), Wanted::Slices(slices)) if !slices.contains(&slice) => slices.push(slice),
            _ => {}
        }
    }

    let mut text = String::new();
    for (index, package) in order.iter().enumerate() {
        if index > 0 {
            text.push_str("---\n");
        }
        let slices: Vec<&Slice> = match &wanted[package.name.as_str()] {
            Wanted::Whole => package.slices.values().collect(),
            Wanted::Slices(names) => names.iter().map(|name| &package.slices[*name]).collect(),
        };
        render_package(&mut text, package, slices);
    }
    InfoOutput { text, not_found }
}

fn render_package(out: &mut String, package: &Package, mut slices: Vec<&Slice>) {
    let _ = writeln!(out, "package: {}", scalar(&package.name, false));
    if let Some(archive) = &package.archive {
        let _ = writeln!(out, "archive: {}", scalar(archive, false));
    }
    if slices.is_empty() {
        out.push_str("slices: {}\n");
        return;
    }
    out.push_str("slices:\n");
    slices.sort_by(|a, b| go_key_order(&a.name, &b.name));
    for slice in slices {
        render_slice(out, slice);
    }
}

fn render_slice(out: &mut String, slice: &Slice) {
    let name = scalar(&slice.name, false);
    if slice.hint.is_empty()
        && slice.essential.is_empty()
        && slice.contents.is_empty()
        && slice.mutate.is_empty()
    {
        let _ = writeln!(out, "    {name}: {{}}");
        return;
    }
    let _ = writeln!(out, "    {name}:");
    if !slice.hint.is_empty() {
        let _ = writeln!(out, "        hint: {}", scalar(&slice.hint, false));
    }
    if !slice.essential.is_empty() {
        out.push_str("        essential:\n");
        let mut essentials: Vec<(String, &EssentialInfo)> = slice
            .essential
            .iter()
            .map(|(key, info)| (key.to_string(), info))
            .collect();
        essentials.sort_by(|a, b| go_key_order(&a.0, &b.0));
        for (key, info) in essentials {
            let value = if info.arch.is_empty() {
                "{}".to_owned()
            } else {
                format!("{{arch: {}}}", arch_list(&info.arch.0))
            };
            let _ = writeln!(out, "            {}: {value}", scalar(&key, false));
        }
    }
    if !slice.contents.is_empty() {
        out.push_str("        contents:\n");
        let mut paths: Vec<(&String, &PathInfo)> = slice.contents.iter().collect();
        paths.sort_by(|a, b| go_key_order(a.0, b.0));
        for (path, info) in paths {
            let _ = writeln!(
                out,
                "            {}: {}",
                scalar(path, false),
                path_options(info)
            );
        }
    }
    if !slice.mutate.is_empty() {
        out.push_str("        mutate: ");
        literal_block(out, &slice.mutate, 12);
    }
}

fn arch_list(arches: &[crate::release::Arch]) -> String {
    match arches {
        [one] => one.as_str().to_owned(),
        many => format!(
            "[{}]",
            many.iter()
                .map(|arch| arch.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A content entry as chisel prints it: a flow map with keys in chisel's field order.
fn path_options(info: &PathInfo) -> String {
    let mut fields: Vec<String> = Vec::new();
    if info.kind == PathKind::Make {
        fields.push("make: true".to_owned());
    }
    if info.mode != 0 {
        fields.push(format!("mode: 0{:o}", info.mode));
    }
    if info.kind == PathKind::Copy && !info.info.is_empty() {
        fields.push(format!("copy: {}", scalar(&info.info, true)));
    }
    if info.kind == PathKind::Text {
        fields.push(format!("text: {}", scalar(&info.info, true)));
    }
    if info.kind == PathKind::Symlink {
        fields.push(format!("symlink: {}", scalar(&info.info, true)));
    }
    if info.mutable {
        fields.push("mutable: true".to_owned());
    }
    if info.until == Until::Mutate {
        fields.push("until: mutate".to_owned());
    }
    if !info.arch.is_empty() {
        fields.push(format!("arch: {}", arch_list(&info.arch.0)));
    }
    if let Some(generate) = &info.generate {
        fields.push(format!("generate: {}", scalar(generate.as_str(), true)));
    }
    if let Some(prefer) = &info.prefer {
        fields.push(format!("prefer: {}", scalar(prefer, true)));
    }
    format!("{{{}}}", fields.join(", "))
}

/// A multi-line string as a literal block (`|`), with go-yaml's chomping and indentation
/// indicators.
fn literal_block(out: &mut String, text: &str, indent: usize) {
    out.push('|');
    if text.starts_with([' ', '\n']) {
        // The indentation can't be inferred from the first line: say it.
        let _ = write!(out, "{}", 4);
    }
    if !text.ends_with('\n') {
        out.push('-');
    } else if text.ends_with("\n\n") || text == "\n" {
        out.push('+');
    }
    out.push('\n');
    let body = text.strip_suffix('\n').unwrap_or(text);
    for line in body.split('\n') {
        if !line.is_empty() {
            out.push_str(&" ".repeat(indent));
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// go-yaml's order of map keys: runs of digits compare as numbers, and a letter sorts after a
/// non-letter unless the strings have just been equal on a digit.
pub(crate) fn go_key_order(a: &str, b: &str) -> Ordering {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut after_digit = false;
    for i in 0..a.len().min(b.len()) {
        if a[i] == b[i] {
            after_digit = a[i].is_ascii_digit();
            continue;
        }
        let a_letter = a[i].is_alphabetic();
        let b_letter = b[i].is_alphabetic();
        if a_letter && b_letter {
            return a[i].cmp(&b[i]);
        }
        if a_letter || b_letter {
            // `true` means a sorts first.
            let a_first = if after_digit { a_letter } else { b_letter };
            return if a_first {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let mut a_number: u128 = 0;
        let mut b_number: u128 = 0;
        if a[i] == '0' || b[i] == '0' {
            // A zero after a non-zero digit is in the middle of a number, not a leading zero.
            if a[..i]
                .iter()
                .rev()
                .take_while(|c| c.is_ascii_digit())
                .any(|&c| c != '0')
            {
                a_number = 1;
                b_number = 1;
            }
        }
        let mut a_end = i;
        while a_end < a.len() && a[a_end].is_ascii_digit() {
            a_number = a_number
                .saturating_mul(10)
                .saturating_add(u128::from(a[a_end] as u8 - b'0'));
            a_end += 1;
        }
        let mut b_end = i;
        while b_end < b.len() && b[b_end].is_ascii_digit() {
            b_number = b_number
                .saturating_mul(10)
                .saturating_add(u128::from(b[b_end] as u8 - b'0'));
            b_end += 1;
        }
        if a_number != b_number {
            return a_number.cmp(&b_number);
        }
        if a_end != b_end {
            return a_end.cmp(&b_end);
        }
        return a[i].cmp(&b[i]);
    }
    a.len().cmp(&b.len())
}

/// A string scalar in the style go-yaml would choose: plain when it reads back as the same
/// string, else single-quoted, else double-quoted. `flow` is true inside `{...}`.
pub(crate) fn scalar(value: &str, flow: bool) -> String {
    if value.contains('\n') || needs_double_quotes(value) || !resolves_to_string(value) {
        return double_quoted(value);
    }
    if plain_allowed(value, flow) {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', "''"))
    }
}

/// Characters go-yaml will not write inside single quotes.
fn needs_double_quotes(value: &str) -> bool {
    value.chars().any(|c| {
        let printable = matches!(c, '\t' | ' '..='~' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
            && c != '\u{FEFF}';
        !printable
    })
}

/// Whether YAML would read the plain text back as a string (and not null, a bool, a number or a
/// timestamp). go-yaml also quotes YAML 1.1 booleans and sexagesimal numbers.
fn resolves_to_string(value: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    const SPECIAL: &[&str] = &[
        "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", ".inf",
        ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN",
        ".NAN", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off",
        "Off", "OFF", "<<",
    ];
    if SPECIAL.contains(&value) {
        return false;
    }
    !(is_int(value) || is_float(value) || is_base60(value) || is_timestamp(value))
}

fn is_int(value: &str) -> bool {
    let unsigned = value.strip_prefix(['+', '-']).unwrap_or(value);
    let digits = unsigned.replace('_', "");
    let (radix, body) = if let Some(rest) = digits.strip_prefix("0x") {
        (16, rest)
    } else if let Some(rest) = digits.strip_prefix("0o") {
        (8, rest)
    } else if let Some(rest) = digits.strip_prefix("0b") {
        (2, rest)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits.as_str())
    };
    !body.is_empty() && body.chars().all(|c| c.is_digit(radix))
}

fn is_float(value: &str) -> bool {
    let unsigned = value.strip_prefix(['+', '-']).unwrap_or(value);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            whole.chars().all(|c| c.is_ascii_digit())
                && fraction.chars().all(|c| c.is_ascii_digit())
                && !(whole.is_empty() && fraction.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.chars().all(|c| c.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|exponent| {
        let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

fn is_base60(value: &str) -> bool {
    let unsigned = value.strip_prefix(['+', '-']).unwrap_or(value);
    let (whole, _) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let mut parts = whole.split(':');
    let first = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    !rest.is_empty()
        && first.starts_with(|c: char| c.is_ascii_digit())
        && first.chars().all(|c| c.is_ascii_digit() || c == '_')
        && rest.iter().all(|part| {
            (1..=2).contains(&part.len())
                && part.chars().all(|c| c.is_ascii_digit())
                && part < &"60"
        })
}

fn is_timestamp(value: &str) -> bool {
    let date = value.split(['T', 't', ' ']).next().unwrap_or_default();
    let parts: Vec<&str> = date.split('-').collect();
    parts.len() == 3
        && parts[0].len() == 4
        && parts.iter().all(|part| {
            !part.is_empty() && part.len() <= 4 && part.chars().all(|c| c.is_ascii_digit())
        })
}

/// go-yaml's test for writing a string plain: no indicator at the start, no `: ` or ` #`, no
/// leading or trailing space, and inside a flow map none of `,[]{}?:`.
fn plain_allowed(value: &str, flow: bool) -> bool {
    let chars: Vec<char> = value.chars().collect();
    let Some(&first) = chars.first() else {
        return false;
    };
    if first == ' ' || chars.last() == Some(&' ') {
        return false;
    }
    let followed_by_space = |i: usize| chars.get(i + 1).is_none_or(|&c| c == ' ' || c == '\t');
    for (i, &c) in chars.iter().enumerate() {
        let (flow_indicator, block_indicator) = if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => (true, true),
                '?' | ':' => (true, followed_by_space(i)),
                '-' => (followed_by_space(i), followed_by_space(i)),
                _ => (false, false),
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => (true, false),
                ':' => (true, followed_by_space(i)),
                '#' => {
                    let after_space = chars[i - 1] == ' ' || chars[i - 1] == '\t';
                    (after_space, after_space)
                }
                _ => (false, false),
            }
        };
        if block_indicator || (flow && flow_indicator) {
            return false;
        }
        if c == '\t' {
            return false;
        }
    }
    true
}

fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{feff}' => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_is_go_yamls() {
        let mut keys = vec![
            "b10",
            "b9",
            "a",
            "/usr/lib/x",
            "/usr/lib/libx",
            "a1",
            "a_b",
            "ab",
            "a-b",
        ];
        keys.sort_by(|a, b| go_key_order(a, b));
        assert_eq!(
            keys,
            vec![
                "/usr/lib/libx",
                "/usr/lib/x",
                "a",
                "a-b",
                "a_b",
                "a1",
                "ab",
                "b9",
                "b10"
            ]
        );
    }

    #[test]
    fn scalars_pick_go_yamls_style() {
        assert_eq!(scalar("", true), "\"\"");
        assert_eq!(scalar("DUMMY", true), "DUMMY");
        assert_eq!(scalar("a\nb", true), "\"a\\nb\"");
        assert_eq!(scalar("0644", true), "\"0644\"");
        assert_eq!(scalar("yes", true), "\"yes\"");
        assert_eq!(scalar("a, b", true), "'a, b'");
        assert_eq!(scalar("a, b", false), "a, b");
        assert_eq!(
            scalar("Add shell to login shells", false),
            "Add shell to login shells"
        );
        assert_eq!(scalar("it's", false), "it's");
        assert_eq!(scalar("*x", false), "'*x'");
        assert_eq!(scalar("/usr/lib/*-linux-*/", false), "/usr/lib/*-linux-*/");
        assert_eq!(scalar("a: b", false), "'a: b'");
        assert_eq!(scalar("1:30", false), "\"1:30\"");
        assert_eq!(scalar("2024-04-25", false), "\"2024-04-25\"");
    }

    #[test]
    fn literal_blocks_chomp_like_go_yaml() {
        let mut out = String::new();
        literal_block(&mut out, "a\n  b\n", 4);
        assert_eq!(out, "|\n    a\n      b\n");
        out.clear();
        literal_block(&mut out, "a\n\nb", 4);
        assert_eq!(out, "|-\n    a\n\n    b\n");
    }

    fn chisel_yaml() -> String {
        crate::release::testing::chisel_yaml("v3")
    }

    const BASE_FILES: &str = "\
package: base-files
essential:
    base-files_copyright: {}
slices:
    copyright:
        contents:
            /usr/share/doc/base-files/copyright:
    bins:
        hint: Base binaries
        essential:
            libc6_libs: {arch: amd64}
            libc6_config: {arch: [arm64, riscv64]}
        contents:
            /usr/local/lib/python3.13/: {make: true, mode: 02775}
            /usr/lib/x: {mode: 0600, copy: /usr/lib/y, arch: riscv64}
            /etc/empty: {text: \"\", mutable: true}
            /usr/bin/z: {symlink: ../x, until: mutate}
            /bin/plain: {}
            /bin/same: {copy: /bin/same}
            /bin/null:
            /usr/lib/*-linux-*/libz.so*: {arch: [amd64, arm64]}
        mutate: |
            content.write(\"/etc/empty\", \"x\")
            if True:
                pass
";

    const LIBC6: &str = "\
package: libc6
archive: ubuntu
slices:
    libs:
        contents:
            /usr/lib/libc.so.6:
    config:
        hint: Configuration
        contents:
            /etc/ld.so.conf: {text: \"include /etc/ld.so.conf.d/*.conf\\n\"}
    empty: {}
";

    const LIBC6_WHOLE: &str = "\
package: libc6
archive: ubuntu
slices:
    config:
        hint: Configuration
        contents:
            /etc/ld.so.conf: {text: \"include /etc/ld.so.conf.d/*.conf\\n\"}
    empty: {}
    libs:
        contents:
            /usr/lib/libc.so.6: {}
";

    const BASE_FILES_WHOLE: &str = "\
package: base-files
slices:
    bins:
        hint: Base binaries
        essential:
            base-files_copyright: {}
            libc6_config: {arch: [arm64, riscv64]}
            libc6_libs: {arch: amd64}
        contents:
            /bin/null: {}
            /bin/plain: {}
            /bin/same: {}
            /etc/empty: {text: \"\", mutable: true}
            /usr/bin/z: {symlink: ../x, until: mutate}
            /usr/lib/*-linux-*/libz.so*: {arch: [amd64, arm64]}
            /usr/lib/x: {mode: 0600, copy: /usr/lib/y, arch: riscv64}
            /usr/local/lib/python3.13/: {make: true, mode: 02775}
        mutate: |
            content.write(\"/etc/empty\", \"x\")
            if True:
                pass
    copyright:
        contents:
            /usr/share/doc/base-files/copyright: {}
";

    fn release() -> Release {
        crate::release::testing::load(&[
            ("chisel.yaml", &chisel_yaml()),
            ("slices/base-files.yaml", BASE_FILES),
            ("slices/libc6.yaml", LIBC6),
        ])
    }

    fn run(release: &Release, queries: &[&str]) -> InfoOutput {
        let queries: Vec<String> = queries.iter().map(|query| (*query).to_owned()).collect();
        info(release, &queries)
    }

    fn found(text: &str) -> InfoOutput {
        InfoOutput {
            text: text.to_owned(),
            not_found: Vec::new(),
        }
    }

    #[test]
    fn a_whole_package_prints_every_slice_sorted() {
        let release = release();
        assert_eq!(run(&release, &["libc6"]), found(LIBC6_WHOLE));
        assert_eq!(run(&release, &["base-files"]), found(BASE_FILES_WHOLE));
    }

    #[test]
    fn packages_come_in_order_of_first_appearance() {
        let release = release();
        let text = format!("{LIBC6_WHOLE}---\n{BASE_FILES_WHOLE}");
        assert_eq!(run(&release, &["libc6", "base-files"]), found(&text));
        let text = format!("{BASE_FILES_WHOLE}---\n{LIBC6_WHOLE}");
        assert_eq!(run(&release, &["base-files", "libc6"]), found(&text));
        // A slice names its package's place too; later mentions don't move it.
        let output = run(
            &release,
            &["libc6_libs", "base-files_copyright", "libc6_config"],
        );
        assert_eq!(
            output.text,
            "\
package: libc6
archive: ubuntu
slices:
    config:
        hint: Configuration
        contents:
            /etc/ld.so.conf: {text: \"include /etc/ld.so.conf.d/*.conf\\n\"}
    libs:
        contents:
            /usr/lib/libc.so.6: {}
---
package: base-files
slices:
    copyright:
        contents:
            /usr/share/doc/base-files/copyright: {}
"
        );
        assert!(output.not_found.is_empty());
    }

    #[test]
    fn duplicates_are_collapsed() {
        let release = release();
        assert_eq!(
            run(&release, &["libc6", "libc6", "libc6_libs"]),
            found(LIBC6_WHOLE)
        );
        assert_eq!(
            run(&release, &["libc6_libs", "libc6_libs"]).text,
            "package: libc6\narchive: ubuntu\nslices:\n    libs:\n        contents:\n            /usr/lib/libc.so.6: {}\n"
        );
    }

    #[test]
    fn a_whole_package_wins_over_its_slices() {
        let release = release();
        assert_eq!(run(&release, &["libc6_libs", "libc6"]), found(LIBC6_WHOLE));
        assert_eq!(run(&release, &["libc6", "libc6_libs"]), found(LIBC6_WHOLE));
        assert_eq!(
            run(
                &release,
                &["libc6_empty", "base-files", "libc6", "libc6_libs"]
            ),
            found(&format!("{LIBC6_WHOLE}---\n{BASE_FILES_WHOLE}"))
        );
    }

    #[test]
    fn not_found_lists_arguments_in_order() {
        let release = release();
        let output = run(
            &release,
            &[
                "nosuch_slice",
                "libc6_libs",
                "a_b",
                "nopkg",
                "x_y",
                "libc6_nosuch",
                "libs",
                "Libc6",
                "libc6_libs_x",
                "nopkg",
            ],
        );
        assert_eq!(
            output,
            InfoOutput {
                text: "package: libc6\narchive: ubuntu\nslices:\n    libs:\n        contents:\n            /usr/lib/libc.so.6: {}\n".to_owned(),
                not_found: [
                    "nosuch_slice",
                    "a_b",
                    "nopkg",
                    "x_y",
                    "libc6_nosuch",
                    "libs",
                    "Libc6",
                    "libc6_libs_x",
                    "nopkg",
                ]
                .map(String::from)
                .to_vec(),
            }
        );
        // Nothing found at all: no text.
        assert_eq!(
            run(&release, &["a_b", "x_y"]),
            InfoOutput {
                text: String::new(),
                not_found: vec!["a_b".to_owned(), "x_y".to_owned()],
            }
        );
    }

    #[test]
    fn package_essentials_are_merged_into_slices_but_not_their_own() {
        let release = release();
        let output = run(&release, &["base-files_copyright", "base-files_bins"]);
        assert_eq!(output, found(BASE_FILES_WHOLE));
        // Never shown at package level.
        assert!(!output
            .text
            .lines()
            .any(|line| line.starts_with("essential")));
    }

    #[test]
    fn a_slice_with_nothing_prints_an_empty_map() {
        let release = release();
        assert_eq!(
            run(&release, &["libc6_empty"]).text,
            "package: libc6\narchive: ubuntu\nslices:\n    empty: {}\n"
        );
    }

    #[test]
    fn content_options_print_in_chisels_field_order() {
        let release = release();
        let text = run(&release, &["base-files_bins"]).text;
        for line in [
            "            /usr/local/lib/python3.13/: {make: true, mode: 02775}\n",
            "            /usr/lib/x: {mode: 0600, copy: /usr/lib/y, arch: riscv64}\n",
            "            /etc/empty: {text: \"\", mutable: true}\n",
            "            /usr/bin/z: {symlink: ../x, until: mutate}\n",
            "            /bin/same: {}\n",
            "            libc6_libs: {arch: amd64}\n",
            "            libc6_config: {arch: [arm64, riscv64]}\n",
            "        mutate: |\n            content.write(\"/etc/empty\", \"x\")\n            if True:\n                pass\n",
        ] {
            assert!(text.contains(line), "{line:?} not in:\n{text}");
        }
    }

    #[test]
    fn v1_essentials_print_as_maps_too() {
        let chisel = chisel_yaml().replace("format: v3", "format: v1");
        let tool = "\
package: tool
essential: [tool_copyright]
slices:
    bins:
        essential: [libc6_libs]
        v3-essential:
            libc6_config: {arch: arm64}
    copyright:
        contents:
            /usr/share/doc/tool/copyright:
";
        let libc6 = "package: libc6\nslices:\n    libs: {}\n    config: {}\n";
        let release = crate::release::testing::load(&[
            ("chisel.yaml", &chisel),
            ("slices/tool.yaml", tool),
            ("slices/libc6.yaml", libc6),
        ]);
        assert_eq!(
            run(&release, &["tool"]),
            found(
                "\
package: tool
slices:
    bins:
        essential:
            libc6_config: {arch: arm64}
            libc6_libs: {}
            tool_copyright: {}
    copyright:
        contents:
            /usr/share/doc/tool/copyright: {}
"
            )
        );
    }

    /// The reference implementation's output for every package of each corpus branch, in the
    /// order of `ls slices/`.
    #[test]
    #[expect(clippy::print_stderr, reason = "a skipped test says why")]
    fn corpus_info_matches_chisel() {
        let shared = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared"));
        let corpus = shared.join("corpus/chisel-releases");
        if !corpus.is_dir() {
            eprintln!("skipped: no corpus at {}", corpus.display());
            return;
        }
        for branch in ["ubuntu-24.04", "ubuntu-25.10", "ubuntu-26.04"] {
            let dir = corpus.join(branch);
            let expected_path = shared.join(format!("fixtures/expected/info/{branch}.yaml"));
            if !dir.is_dir() || !expected_path.is_file() {
                eprintln!("skipped {branch}: corpus branch or expected output missing");
                continue;
            }
            let release = crate::release::load_dir(&dir)
                .unwrap_or_else(|errors| panic!("{branch}: {errors}"));
            let mut names: Vec<std::ffi::OsString> = fs_err::read_dir(dir.join("slices"))
                .expect("slices directory")
                .map(|entry| entry.expect("directory entry").file_name())
                .collect();
            names.sort();
            let packages: Vec<String> = names
                .iter()
                .filter_map(|name| name.to_str()?.strip_suffix(".yaml").map(str::to_owned))
                .collect();
            let output = info(&release, &packages);
            assert!(
                output.not_found.is_empty(),
                "{branch}: {:?}",
                output.not_found
            );
            let expected = fs_err::read_to_string(&expected_path).expect("expected output");
            if output.text != expected {
                let line = output
                    .text
                    .lines()
                    .zip(expected.lines())
                    .position(|(got, want)| got != want)
                    .unwrap_or_else(|| output.text.lines().count().min(expected.lines().count()));
                let around = |text: &str| {
                    text.lines()
                        .skip(line.saturating_sub(3))
                        .take(6)
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                panic!(
                    "{branch}: output differs at line {}\n--- got:\n{}\n--- expected:\n{}",
                    line + 1,
                    around(&output.text),
                    around(&expected)
                );
            }
        }
    }
}
