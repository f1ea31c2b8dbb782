//! deb822 control data (Packages indexes, Release/InRelease bodies, a .deb's
//! `control` file), parsed without copying: Packages indexes run to tens of
//! megabytes, so fields borrow from the input and only multi-line values are
//! joined into an owned `String`, and only when asked for.
//!
//! Syntax accepted (Debian Policy §5.1, as apt and dpkg read it):
//! - paragraphs are separated by one or more blank lines, where a line that is
//!   empty or holds only spaces and tabs counts as blank;
//! - `Name: value`, where the name is printable ASCII without spaces or `:`
//!   and does not start with `-` (nor `#`, which starts a comment);
//! - continuation lines start with a space or tab; the value of a multi-line
//!   field is its first line followed by `\n` plus each continuation line
//!   minus its single leading space/tab (a ` .` line becomes `.`, nothing
//!   more: interpreting it is up to the field's consumer);
//! - lines starting with `#` are comments and are skipped anywhere, even
//!   between continuation lines;
//! - `\r\n` line endings are tolerated and a final newline is optional.
//!
//! Only the first line of a value is trimmed; continuation lines keep any
//! trailing whitespace.

use std::borrow::Cow;

/// Longest part of an offending line quoted in an error, so a corrupt
/// multi-megabyte "line" does not end up in a log message whole.
const SNIPPET_CHARS: usize = 120;

/// Why control data could not be read; line numbers are 1-based and offending
/// lines are quoted with control characters escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ControlError {
    #[error(
        "line {line}: {problem}; expected `Name: value`, a continuation line or a blank line, found {content:?}"
    )]
    MalformedLine {
        line: usize,
        problem: &'static str,
        content: String,
    },
    #[error("line {line}: continuation line before any field: {content:?}")]
    ContinuationWithoutField { line: usize, content: String },
    #[error("line {line}: duplicate field {name:?} (first given on line {first_line})")]
    DuplicateField {
        line: usize,
        name: String,
        first_line: usize,
    },
    #[error("malformed file list entry {content:?}: expected {expected}")]
    FileEntry {
        content: String,
        expected: &'static str,
    },
}

/// A binary package's source package and its version, from its `Source:` field: `name
/// (version)`, `name` (the binary's own version), or no field (the binary's own name too).
pub(crate) fn source_package(field: Option<&str>, name: &str, version: &str) -> (String, String) {
    let Some(source) = field.map(str::trim).filter(|source| !source.is_empty()) else {
        return (name.to_owned(), version.to_owned());
    };
    match source.split_once(' ') {
        Some((source, own)) => (
            source.to_owned(),
            own.trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .to_owned(),
        ),
        None => (source.to_owned(), version.to_owned()),
    }
}

/// Iterates over the paragraphs of deb822 text; see [`Paragraphs`].
pub(crate) fn paragraphs(text: &str) -> Paragraphs<'_> {
    Paragraphs {
        text,
        pos: 0,
        line: 1,
    }
}

/// Iterator returned by [`paragraphs`]. After an error it skips the rest of
/// the broken paragraph and carries on with the next one, so a caller may
/// either stop at the first error (`collect::<Result<Vec<_>, _>>()`) or
/// report and skip bad stanzas.
#[derive(Debug, Clone)]
pub(crate) struct Paragraphs<'a> {
    text: &'a str,
    /// Byte offset of the next unread line.
    pos: usize,
    /// 1-based number of the next unread line.
    line: usize,
}

/// One field of a paragraph. The value is kept as its raw pieces so that
/// reading a paragraph never allocates per field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    name: &'a str,
    /// First-line value, trimmed.
    first: &'a str,
    /// Raw text from the line after the field's first line to the end of its
    /// last continuation line (may contain comment lines); empty if the field
    /// is single-line.
    continuation: &'a str,
    line: usize,
}

/// One deb822 paragraph (a stanza): its fields in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Paragraph<'a> {
    line: usize,
    fields: Vec<Field<'a>>,
}

/// One `<digest> <size> <path>` line of a Release file's `MD5Sum`, `SHA1`,
/// `SHA256` or `SHA512` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileEntry<'a> {
    pub(crate) digest: &'a str,
    pub(crate) size: u64,
    pub(crate) path: &'a str,
}

impl<'a> Field<'a> {
    /// The name as written in the file (lookups ignore case, this does not).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn name(&self) -> &'a str {
        self.name
    }

    /// The full value; borrowed unless the field spans several lines.
    pub(crate) fn value(&self) -> Cow<'a, str> {
        if self.continuation.is_empty() {
            return Cow::Borrowed(self.first);
        }
        let mut out = String::with_capacity(self.first.len() + self.continuation.len() + 1);
        out.push_str(self.first);
        for raw in self.continuation.split('\n') {
            let line = strip_cr(raw);
            if line.starts_with('#') {
                continue;
            }
            out.push('\n');
            // Every non-comment line here starts with one ASCII space or tab.
            out.push_str(line.get(1..).unwrap_or(""));
        }
        Cow::Owned(out)
    }

    /// Only the first line of the value, e.g. a package's short description,
    /// without building the full multi-line value.
    pub(crate) fn first_line(&self) -> &'a str {
        self.first
    }

    #[cfg(any(test, feature = "fuzzing"))]
    /// Whether [`Field::value`] will have to allocate.
    pub(crate) fn is_multiline(&self) -> bool {
        !self.continuation.is_empty()
    }

    #[cfg(any(test, feature = "fuzzing"))]
    /// 1-based line of the field's name, for error messages about its value.
    pub(crate) fn line(&self) -> usize {
        self.line
    }
}

impl<'a> Paragraph<'a> {
    #[cfg(any(test, feature = "fuzzing"))]
    /// 1-based line of the paragraph's first field, for error messages.
    pub(crate) fn line(&self) -> usize {
        self.line
    }

    /// The value of field `name`, matched case-insensitively as deb822
    /// requires.
    pub(crate) fn get(&self, name: &str) -> Option<Cow<'a, str>> {
        self.field(name).map(Field::value)
    }

    /// Like [`Paragraph::get`] but keeps the field's line number at hand.
    pub(crate) fn field(&self, name: &str) -> Option<&Field<'a>> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    #[cfg(any(test, feature = "fuzzing"))]
    /// All fields in file order.
    pub(crate) fn fields(&self) -> std::slice::Iter<'_, Field<'a>> {
        self.fields.iter()
    }
}

/// A line with its terminator (`\n` or `\r\n`) removed.
struct Line<'a> {
    text: &'a str,
    number: usize,
    /// Byte offset just past `text` in the whole input.
    end: usize,
}

enum Kind<'a> {
    Blank,
    Comment,
    Continuation,
    Field { name: &'a str, value: &'a str },
}

fn strip_cr(line: &str) -> &str {
    line.strip_suffix('\r').unwrap_or(line)
}

fn is_space_or_tab(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Quotes at most [`SNIPPET_CHARS`] characters of `line`.
fn snippet(line: &str) -> String {
    match line.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

/// What one line of deb822 text is (its terminator already removed): the one grammar of
/// lines, shared by [`paragraphs`] and the byte scanner of Packages indexes
/// ([`super::index::PackageIndex::read`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineKind<'a> {
    Blank,
    Comment,
    Continuation,
    /// The value's first line, trimmed of spaces and tabs.
    Field {
        name: &'a [u8],
        value: &'a [u8],
    },
}

/// Classifies a line, or says what is wrong with it.
pub(crate) fn classify_line(text: &[u8]) -> Result<LineKind<'_>, &'static str> {
    let Some(&first) = text.first() else {
        return Ok(LineKind::Blank);
    };
    if is_space_or_tab(first) {
        return Ok(if text.iter().copied().all(is_space_or_tab) {
            LineKind::Blank
        } else {
            LineKind::Continuation
        });
    }
    if first == b'#' {
        return Ok(LineKind::Comment);
    }
    let Some(colon) = text.iter().position(|&byte| byte == b':') else {
        return Err("no ':' after the field name");
    };
    let name = &text[..colon];
    if name.is_empty() {
        return Err("empty field name");
    }
    if first == b'-' {
        return Err("field name starts with '-'");
    }
    if !name.iter().all(u8::is_ascii_graphic) {
        return Err("field name contains whitespace, control or non-ASCII characters");
    }
    let value = &text[colon + 1..];
    let start = value
        .iter()
        .position(|&b| !is_space_or_tab(b))
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| !is_space_or_tab(b))
        .map_or(start, |at| at + 1);
    Ok(LineKind::Field {
        name,
        value: &value[start..end],
    })
}

/// [`classify_line`] over text: the name is ASCII and the value's ends are ASCII, so both
/// stay text.
fn classify(text: &str) -> Result<Kind<'_>, &'static str> {
    Ok(match classify_line(text.as_bytes())? {
        LineKind::Blank => Kind::Blank,
        LineKind::Comment => Kind::Comment,
        LineKind::Continuation => Kind::Continuation,
        LineKind::Field { name, value } => {
            let name_end = name.len();
            let value_start = value.as_ptr() as usize - text.as_ptr() as usize;
            Kind::Field {
                name: &text[..name_end],
                value: &text[value_start..value_start + value.len()],
            }
        }
    })
}

impl<'a> Paragraphs<'a> {
    fn next_line(&mut self) -> Option<Line<'a>> {
        let rest = self.text.get(self.pos..).filter(|r| !r.is_empty())?;
        let (raw, consumed) = match rest.find('\n') {
            Some(nl) => (&rest[..nl], nl + 1),
            None => (rest, rest.len()),
        };
        let text = strip_cr(raw);
        let line = Line {
            text,
            number: self.line,
            end: self.pos + text.len(),
        };
        self.pos += consumed;
        self.line += 1;
        Some(line)
    }

    /// Skips to just past the next blank line (or the end of input).
    fn skip_paragraph(&mut self) {
        while let Some(line) = self.next_line() {
            if matches!(classify(line.text), Ok(Kind::Blank)) {
                break;
            }
        }
    }

    fn fail(&mut self, error: ControlError) -> Option<Result<Paragraph<'a>, ControlError>> {
        self.skip_paragraph();
        Some(Err(error))
    }
}

impl<'a> Iterator for Paragraphs<'a> {
    type Item = Result<Paragraph<'a>, ControlError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut fields: Vec<Field<'a>> = Vec::new();
        // Offset where the last field's continuation text would begin.
        let mut continuation_start = 0;
        while let Some(line) = self.next_line() {
            match classify(line.text) {
                Ok(Kind::Blank) if fields.is_empty() => {}
                Ok(Kind::Blank) => break,
                Ok(Kind::Comment) => {}
                Ok(Kind::Continuation) => match fields.last_mut() {
                    Some(field) => {
                        field.continuation = &self.text[continuation_start..line.end];
                    }
                    None => {
                        return self.fail(ControlError::ContinuationWithoutField {
                            line: line.number,
                            content: snippet(line.text),
                        });
                    }
                },
                Ok(Kind::Field { name, value }) => {
                    if let Some(previous) =
                        fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
                    {
                        let error = ControlError::DuplicateField {
                            line: line.number,
                            name: name.to_owned(),
                            first_line: previous.line,
                        };
                        return self.fail(error);
                    }
                    if fields.is_empty() {
                        // A Packages stanza has ~20 fields; skip the 4→8→16 regrowth.
                        fields.reserve(16);
                    }
                    fields.push(Field {
                        name,
                        first: value,
                        continuation: "",
                        line: line.number,
                    });
                    continuation_start = self.pos;
                }
                Err(problem) => {
                    return self.fail(ControlError::MalformedLine {
                        line: line.number,
                        problem,
                        content: snippet(line.text),
                    });
                }
            }
        }
        let line = fields.first()?.line;
        Some(Ok(Paragraph { line, fields }))
    }
}

impl std::iter::FusedIterator for Paragraphs<'_> {}

/// Parses the value of a Release file's checksum field (`SHA256` etc.): one
/// `<hex digest> <size> <path>` entry per line, whitespace-separated. Blank
/// lines, including the customary empty first line, are skipped.
pub(crate) fn parse_file_list(value: &str) -> Result<Vec<FileEntry<'_>>, ControlError> {
    let mut entries = Vec::new();
    for line in value.lines() {
        let mut columns = line.split_ascii_whitespace();
        let Some(digest) = columns.next() else {
            continue;
        };
        let bad = |expected| ControlError::FileEntry {
            content: snippet(line),
            expected,
        };
        let (Some(size), Some(path), None) = (columns.next(), columns.next(), columns.next())
        else {
            return Err(bad(
                "exactly three whitespace-separated columns: <hex digest> <size> <path>",
            ));
        };
        if !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("a hexadecimal digest in the first column"));
        }
        let size = if size.bytes().all(|b| b.is_ascii_digit()) {
            size.parse::<u64>().ok()
        } else {
            None
        }
        .ok_or_else(|| bad("a decimal size in bytes (at most 2^64-1) in the second column"))?;
        entries.push(FileEntry { digest, size, path });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(text: &str) -> Vec<Paragraph<'_>> {
        paragraphs(text)
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_else(|e| panic!("unexpected error: {e}"))
    }

    fn only_error(text: &str) -> ControlError {
        let results: Vec<_> = paragraphs(text).collect();
        let errors: Vec<_> = results.into_iter().filter_map(Result::err).collect();
        assert_eq!(errors.len(), 1, "expected exactly one error: {errors:?}");
        errors.into_iter().next().unwrap()
    }

    const PACKAGES_STANZA: &str = "\
Package: libc6
Architecture: amd64
Version: 2.39-0ubuntu8
Multi-Arch: same
Priority: optional
Section: libs
Source: glibc
Origin: Ubuntu
Maintainer: Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>
Original-Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Bugs: https://bugs.launchpad.net/ubuntu/+filebug
Installed-Size: 13061
Depends: libgcc-s1
Recommends: libidn2-0 (>= 2.0.5~)
Suggests: glibc-doc, debconf | debconf-2.0, libc-l10n, locales, libnss-nis, libnss-nisplus
Breaks: busybox (<< 1.30.1-6), fakeroot (<< 1.25.3-1.1ubuntu2~), libgcc-s1 (<< 14-20240315-1ubuntu1)
Filename: pool/main/g/glibc/libc6_2.39-0ubuntu8_amd64.deb
Size: 3263818
MD5sum: 9fc16e1ce76b1e9c1ebfd2ec7d51ad5f
SHA1: 0ab4a4c3c2a46e2b9c42fbd16fc34b2a5e64d20a
SHA256: 4b8c5b9a6e0f3e2c1d7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e
SHA512: 1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988
Homepage: https://www.gnu.org/software/libc/libc.html
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system. This package includes shared versions of the standard C library
 and the standard math library, as well as many others.
 .
 This is the glibc from the Ubuntu archive.
Task: minimal, server-minimal
Description-md5: fc3001b0b90a1c8e6690b283a619d57f
";

    #[test]
    fn packages_stanza() {
        let all = parse_all(PACKAGES_STANZA);
        assert_eq!(all.len(), 1);
        let p = &all[0];
        assert_eq!(p.line(), 1);
        assert_eq!(p.fields().count(), 26);
        let expect = [
            ("Package", "libc6"),
            ("Architecture", "amd64"),
            ("Version", "2.39-0ubuntu8"),
            ("Multi-Arch", "same"),
            ("Priority", "optional"),
            ("Section", "libs"),
            ("Source", "glibc"),
            ("Origin", "Ubuntu"),
            (
                "Maintainer",
                "Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>",
            ),
            ("Installed-Size", "13061"),
            ("Depends", "libgcc-s1"),
            (
                "Filename",
                "pool/main/g/glibc/libc6_2.39-0ubuntu8_amd64.deb",
            ),
            ("Size", "3263818"),
            ("MD5sum", "9fc16e1ce76b1e9c1ebfd2ec7d51ad5f"),
            (
                "SHA256",
                "4b8c5b9a6e0f3e2c1d7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e",
            ),
            ("Task", "minimal, server-minimal"),
        ];
        for (name, value) in expect {
            let got = p.get(name).unwrap_or_else(|| panic!("missing {name}"));
            assert!(matches!(got, Cow::Borrowed(_)), "{name} should borrow");
            assert_eq!(got, value, "{name}");
        }
        assert_eq!(p.get("SHA512").unwrap().len(), 128);

        let description = p.field("Description").unwrap();
        assert!(description.is_multiline());
        assert_eq!(description.line(), 24);
        assert_eq!(description.first_line(), "GNU C Library: Shared libraries");
        let value = description.value();
        assert!(matches!(value, Cow::Owned(_)));
        assert_eq!(
            value,
            "GNU C Library: Shared libraries\n\
             Contains the standard libraries that are used by nearly all programs on\n\
             the system. This package includes shared versions of the standard C library\n\
             and the standard math library, as well as many others.\n\
             .\n\
             This is the glibc from the Ubuntu archive."
        );

        // Field names are case-insensitive; the stored name keeps its case.
        assert_eq!(p.get("package").unwrap(), "libc6");
        assert_eq!(p.get("MD5SUM").unwrap(), "9fc16e1ce76b1e9c1ebfd2ec7d51ad5f");
        assert_eq!(p.field("md5sum").unwrap().name(), "MD5sum");
        assert_eq!(p.get("Conflicts"), None);

        let names: Vec<&str> = p.fields().map(Field::name).collect();
        assert_eq!(&names[..3], ["Package", "Architecture", "Version"]);
        assert_eq!(names.last(), Some(&"Description-md5"));
    }

    #[test]
    fn several_paragraphs_and_blank_lines() {
        let text = "\n\n  \nPackage: a\nVersion: 1\n\n\n\t\n \nPackage: b\nVersion: 2\n\n\n";
        let all = parse_all(text);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].line(), 4);
        assert_eq!(all[0].get("Package").unwrap(), "a");
        assert_eq!(all[0].get("Version").unwrap(), "1");
        assert_eq!(all[1].line(), 10);
        assert_eq!(all[1].get("Package").unwrap(), "b");
        assert_eq!(all[1].field("Version").unwrap().line(), 11);
    }

    #[test]
    fn empty_and_blank_inputs_have_no_paragraphs() {
        assert_eq!(paragraphs("").count(), 0);
        assert_eq!(paragraphs("\n\n \t\n").count(), 0);
        assert_eq!(paragraphs("# only a comment\n\n# another\n").count(), 0);
    }

    #[test]
    fn crlf_line_endings() {
        let text = "Package: a\r\nDescription: short\r\n long\r\n .\r\n\r\nPackage: b\r\n";
        let all = parse_all(text);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].get("Package").unwrap(), "a");
        assert_eq!(all[0].get("Description").unwrap(), "short\nlong\n.");
        assert_eq!(all[1].get("Package").unwrap(), "b");
        assert_eq!(all[1].line(), 6);
    }

    #[test]
    fn no_final_newline() {
        let all = parse_all("Package: a\n\nPackage: b\nDepends: c,\n d");
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].get("Depends").unwrap(), "c,\nd");
        let one = parse_all("Package: z");
        assert_eq!(one[0].get("Package").unwrap(), "z");
        let crlf = parse_all("Package: y\r");
        assert_eq!(crlf[0].get("Package").unwrap(), "y");
    }

    #[test]
    fn values_are_trimmed_and_colons_kept() {
        let all = parse_all("A:value\nB:   spaced \t\nC:\nD: x: y:z\nE: \t\n");
        let p = &all[0];
        assert_eq!(p.get("A").unwrap(), "value");
        assert_eq!(p.get("B").unwrap(), "spaced");
        assert_eq!(p.get("C").unwrap(), "");
        assert_eq!(p.get("D").unwrap(), "x: y:z");
        assert_eq!(p.get("E").unwrap(), "");
    }

    #[test]
    fn continuation_lines_lose_one_leading_blank_only() {
        let text = "F: first\n  two spaces\n\ttab\n \tspace-tab\n .\n  .\n trailing \n";
        let all = parse_all(text);
        assert_eq!(
            all[0].get("F").unwrap(),
            "first\n two spaces\ntab\n\tspace-tab\n.\n .\ntrailing "
        );
    }

    #[test]
    fn comments_are_skipped_everywhere() {
        let text = "\
# leading comment
Package: a
# between fields
Description: one
# between continuation lines
 two
 three
# after the last continuation line
Version: 1
# trailing comment

# a comment-only stanza is no stanza

Package: b
";
        let all = parse_all(text);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].line(), 2);
        assert_eq!(all[0].get("Description").unwrap(), "one\ntwo\nthree");
        assert_eq!(all[0].get("Version").unwrap(), "1");
        assert_eq!(all[0].fields().count(), 3);
        assert_eq!(all[1].line(), 14);
    }

    #[test]
    fn comment_only_after_field_keeps_it_single_line() {
        let all = parse_all("A: 1\n# note\nB: 2\n");
        let a = all[0].field("A").unwrap();
        assert!(!a.is_multiline());
        assert!(matches!(a.value(), Cow::Borrowed("1")));
    }

    #[test]
    fn unusual_but_valid_field_names() {
        let all = parse_all("X-Cargo-Built-Using: foo\nPython-Version: 3\nA.b_c+d: e\n");
        assert_eq!(all[0].get("x-cargo-built-using").unwrap(), "foo");
        assert_eq!(all[0].get("A.b_c+d").unwrap(), "e");
    }

    #[test]
    fn error_malformed_line() {
        let err = only_error("Package: a\nthis is not a field\nVersion: 1\n");
        assert_eq!(
            err,
            ControlError::MalformedLine {
                line: 2,
                problem: "no ':' after the field name",
                content: "this is not a field".into(),
            }
        );
        assert_eq!(
            err.to_string(),
            "line 2: no ':' after the field name; expected `Name: value`, a continuation line \
             or a blank line, found \"this is not a field\""
        );
    }

    #[test]
    fn error_messages_for_bad_names_escape_control_characters() {
        let cases: &[(&str, &str)] = &[
            (
                "Bad Name: x\n",
                "line 1: field name contains whitespace, control or non-ASCII characters; \
                 expected `Name: value`, a continuation line or a blank line, found \"Bad Name: x\"",
            ),
            (
                "A: 1\nB\u{1b}[0m: x\r\n",
                "line 2: field name contains whitespace, control or non-ASCII characters; \
                 expected `Name: value`, a continuation line or a blank line, \
                 found \"B\\u{1b}[0m: x\"",
            ),
            (
                "A: 1\n\n-----BEGIN PGP SIGNATURE-----\n",
                "line 3: no ':' after the field name; expected `Name: value`, a continuation \
                 line or a blank line, found \"-----BEGIN PGP SIGNATURE-----\"",
            ),
            (
                "-Name: x\n",
                "line 1: field name starts with '-'; expected `Name: value`, a continuation \
                 line or a blank line, found \"-Name: x\"",
            ),
            (
                ": value\n",
                "line 1: empty field name; expected `Name: value`, a continuation line or a \
                 blank line, found \": value\"",
            ),
            (
                "Ünicode: x\n",
                "line 1: field name contains whitespace, control or non-ASCII characters; \
                 expected `Name: value`, a continuation line or a blank line, found \"Ünicode: x\"",
            ),
        ];
        for &(text, message) in cases {
            assert_eq!(only_error(text).to_string(), message, "{text:?}");
        }
    }

    #[test]
    fn error_quotes_at_most_a_snippet() {
        let long = "x".repeat(10_000);
        match only_error(&long) {
            ControlError::MalformedLine { content, .. } => {
                assert_eq!(content.chars().count(), SNIPPET_CHARS + 1);
                assert!(content.ends_with('…'));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn error_continuation_before_any_field() {
        let err = only_error(" orphan\nPackage: a\n");
        assert_eq!(
            err.to_string(),
            "line 1: continuation line before any field: \" orphan\""
        );
        // After a comment the paragraph still has no field.
        let err = only_error("\n# c\n\tcontinued\n");
        assert_eq!(
            err,
            ControlError::ContinuationWithoutField {
                line: 3,
                content: "\tcontinued".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "line 3: continuation line before any field: \"\\tcontinued\""
        );
    }

    #[test]
    fn error_duplicate_field() {
        let err = only_error("Package: a\nVersion: 1\npackage: b\n");
        assert_eq!(
            err,
            ControlError::DuplicateField {
                line: 3,
                name: "package".into(),
                first_line: 1,
            }
        );
        assert_eq!(
            err.to_string(),
            "line 3: duplicate field \"package\" (first given on line 1)"
        );
        // The same name in different paragraphs is fine.
        assert_eq!(parse_all("Package: a\n\nPackage: b\n").len(), 2);
    }

    #[test]
    fn iteration_resumes_after_a_broken_paragraph() {
        let text = "Package: a\n\nPackage: b\nbroken\n continued\nVersion: 2\n\nPackage: c\n";
        let results: Vec<_> = paragraphs(text).collect();
        assert_eq!(results.len(), 3);
        assert_eq!(results[0].as_ref().unwrap().get("Package").unwrap(), "a");
        assert!(matches!(
            results[1],
            Err(ControlError::MalformedLine { line: 4, .. })
        ));
        let c = results[2].as_ref().unwrap();
        assert_eq!(c.get("Package").unwrap(), "c");
        assert_eq!(c.line(), 8);
        // Stopping at the first error is the collect-into-Result idiom.
        assert!(paragraphs(text).collect::<Result<Vec<_>, _>>().is_err());
    }

    #[test]
    fn whitespace_only_line_ends_a_paragraph_even_mid_field() {
        // Policy allows treating such lines as separators; the continuation
        // that follows then has no field to belong to.
        let text = "Description: a\n \n b\n";
        let results: Vec<_> = paragraphs(text).collect();
        assert_eq!(results.len(), 2);
        assert_eq!(
            results[0].as_ref().unwrap().get("Description").unwrap(),
            "a"
        );
        assert!(matches!(
            results[1],
            Err(ControlError::ContinuationWithoutField { line: 3, .. })
        ));
    }

    const RELEASE: &str = "\
Origin: Ubuntu
Suite: noble
SHA256:
 0b4e6f7c2f1d0a6a0c1c5b3e6f2d4a8b9c7e1f0a2b3c4d5e6f708192a3b4c5d6        829119597 Contents-amd64
 9ae6a4e2f0c1d7b38e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d          7165069 main/binary-amd64/Packages
 E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855                0 main/debian-installer/binary-amd64/Packages
Acquire-By-Hash: yes
";

    #[test]
    fn release_file_list() {
        let all = parse_all(RELEASE);
        let p = &all[0];
        assert_eq!(p.get("Suite").unwrap(), "noble");
        assert_eq!(p.get("Acquire-By-Hash").unwrap(), "yes");
        let value = p.get("SHA256").unwrap();
        assert!(value.starts_with('\n'), "first line is empty");
        let entries = parse_file_list(&value).unwrap();
        assert_eq!(
            entries,
            [
                FileEntry {
                    digest: "0b4e6f7c2f1d0a6a0c1c5b3e6f2d4a8b9c7e1f0a2b3c4d5e6f708192a3b4c5d6",
                    size: 829_119_597,
                    path: "Contents-amd64",
                },
                FileEntry {
                    digest: "9ae6a4e2f0c1d7b38e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d",
                    size: 7_165_069,
                    path: "main/binary-amd64/Packages",
                },
                FileEntry {
                    digest: "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                    size: 0,
                    path: "main/debian-installer/binary-amd64/Packages",
                },
            ]
        );
    }

    #[test]
    fn file_list_tolerates_blank_lines_and_crlf() {
        let entries = parse_file_list("\r\nab 1 a\r\n\r\n\tcd\t2\tb/c\n").unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].digest, "cd");
        assert_eq!(entries[1].size, 2);
        assert_eq!(entries[1].path, "b/c");
        assert_eq!(parse_file_list("").unwrap(), []);
    }

    #[test]
    fn file_list_errors() {
        let cases: &[(&str, &str)] = &[
            (
                "\nabc 12",
                "malformed file list entry \"abc 12\": expected exactly three \
                 whitespace-separated columns: <hex digest> <size> <path>",
            ),
            (
                "\nabc 12 a b",
                "malformed file list entry \"abc 12 a b\": expected exactly three \
                 whitespace-separated columns: <hex digest> <size> <path>",
            ),
            (
                "\nxyz 12 main/Packages",
                "malformed file list entry \"xyz 12 main/Packages\": expected a hexadecimal \
                 digest in the first column",
            ),
            (
                "\nabc -1 main/Packages",
                "malformed file list entry \"abc -1 main/Packages\": expected a decimal size \
                 in bytes (at most 2^64-1) in the second column",
            ),
            (
                "\nabc +1 main/Packages",
                "malformed file list entry \"abc +1 main/Packages\": expected a decimal size \
                 in bytes (at most 2^64-1) in the second column",
            ),
            (
                "\nabc 18446744073709551616 p",
                "malformed file list entry \"abc 18446744073709551616 p\": expected a decimal \
                 size in bytes (at most 2^64-1) in the second column",
            ),
        ];
        for &(value, message) in cases {
            let err = parse_file_list(value).expect_err(value);
            assert_eq!(err.to_string(), message, "{value:?}");
        }
    }

    /// The body of a clearsigned message: after the armour header block's
    /// blank line, up to the signature.
    fn clearsigned_body(text: &str) -> &str {
        let start = text
            .find("-----BEGIN PGP SIGNED MESSAGE-----")
            .expect("clearsign header");
        let after_header = &text[start..];
        let blank = after_header
            .find("\n\n")
            .or_else(|| after_header.find("\r\n\r\n"))
            .expect("blank line after armour headers");
        let body = &after_header[blank..];
        let end = body
            .find("\n-----BEGIN PGP SIGNATURE-----")
            .expect("signature");
        body[..end].trim_start_matches(['\r', '\n'])
    }

    #[test]
    #[expect(clippy::print_stderr, reason = "the skip notice is the point")]
    fn real_noble_inrelease_fixture() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/fixtures/noble-mirror/ubuntu/dists/noble/InRelease"
        );
        let Ok(text) = fs_err::read_to_string(path) else {
            eprintln!("skipping: {path} absent");
            return;
        };
        let body = clearsigned_body(&text);
        let all = parse_all(body);
        assert_eq!(all.len(), 1, "InRelease body is one paragraph");
        let release = &all[0];
        assert_eq!(release.line(), 1);
        assert_eq!(release.get("Suite").unwrap(), "noble");
        let sha256 = release.get("SHA256").expect("SHA256 field");
        let entries = parse_file_list(&sha256).unwrap();
        let packages = entries
            .iter()
            .find(|e| e.path == "main/binary-amd64/Packages")
            .expect("main/binary-amd64/Packages listed");
        assert_eq!(packages.digest.len(), 64);
        assert!(packages.digest.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(packages.size > 0);
    }
}
