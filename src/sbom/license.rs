//! A package's licence, from its `/usr/share/doc/<package>/copyright`, when the file says it
//! plainly: a machine-readable (DEP-5) file whose `Files: *` paragraph names a licence, or a
//! choice of licences, that SPDX has an identifier for. Anything else (free-form text, a
//! licence SPDX does not list, a file a slice did not install) is NOASSERTION: a guess would
//! be worse than saying nothing.

use crate::archive::control::paragraphs;

/// DEP-5 short names (compared without regard to case) and the SPDX identifiers they mean.
const SPDX_NAMES: [(&str, &str); 32] = [
    ("Apache-2.0", "Apache-2.0"),
    ("BSD-2-clause", "BSD-2-Clause"),
    ("BSD-3-clause", "BSD-3-Clause"),
    ("BSD-4-clause", "BSD-4-Clause"),
    ("CC0-1.0", "CC0-1.0"),
    ("curl", "curl"),
    ("Expat", "MIT"),
    ("MIT", "MIT"),
    ("GPL-1", "GPL-1.0-only"),
    ("GPL-1+", "GPL-1.0-or-later"),
    ("GPL-2", "GPL-2.0-only"),
    ("GPL-2+", "GPL-2.0-or-later"),
    ("GPL-3", "GPL-3.0-only"),
    ("GPL-3+", "GPL-3.0-or-later"),
    ("LGPL-2", "LGPL-2.0-only"),
    ("LGPL-2+", "LGPL-2.0-or-later"),
    ("LGPL-2.1", "LGPL-2.1-only"),
    ("LGPL-2.1+", "LGPL-2.1-or-later"),
    ("LGPL-3", "LGPL-3.0-only"),
    ("LGPL-3+", "LGPL-3.0-or-later"),
    ("AGPL-3", "AGPL-3.0-only"),
    ("AGPL-3+", "AGPL-3.0-or-later"),
    ("ISC", "ISC"),
    ("MPL-1.1", "MPL-1.1"),
    ("MPL-2.0", "MPL-2.0"),
    ("OpenSSL", "OpenSSL"),
    ("PSF-2", "PSF-2.0"),
    ("Python-2.0", "Python-2.0"),
    ("Zlib", "Zlib"),
    ("X11", "X11"),
    ("BSL-1.0", "BSL-1.0"),
    ("Unicode-DFS-2016", "Unicode-DFS-2016"),
];

/// The SPDX licence expression the copyright file states for the package as a whole, if it
/// states one plainly.
pub(crate) fn declared(copyright: &str) -> Option<String> {
    let mut stanzas = paragraphs(copyright);
    let header = stanzas.next()?.ok()?;
    if !header
        .get("Format")
        .is_some_and(|format| format.contains("copyright-format"))
    {
        return None;
    }
    for stanza in stanzas {
        let stanza = stanza.ok()?;
        let covers_all = stanza
            .get("Files")
            .is_some_and(|files| files.split_whitespace().any(|pattern| pattern == "*"));
        if covers_all {
            let license = stanza.field("License")?;
            return expression(license.first_line());
        }
    }
    // No `Files: *` paragraph: the header's own `License:` covers the package, if it has one.
    expression(header.field("License")?.first_line())
}

/// `GPL-2+ or Artistic`-style short names as an SPDX expression, if every name is known and
/// they are joined by one kind of operator.
fn expression(names: &str) -> Option<String> {
    let words: Vec<&str> = names.split_whitespace().collect();
    let mut out: Vec<&str> = Vec::new();
    let mut operator: Option<&str> = None;
    for (index, word) in words.iter().enumerate() {
        if !index.is_multiple_of(2) {
            let spdx = match word.to_ascii_lowercase().as_str() {
                "or" => "OR",
                "and" => "AND",
                _ => return None,
            };
            if operator.is_some_and(|seen| seen != spdx) {
                // `A or B and C` needs precedence rules DEP-5 leaves to prose.
                return None;
            }
            operator = Some(spdx);
            out.push(spdx);
        } else {
            let (_, spdx) = SPDX_NAMES
                .iter()
                .find(|(short, _)| short.eq_ignore_ascii_case(word))?;
            out.push(spdx);
        }
    }
    if out.is_empty() || words.len().is_multiple_of(2) {
        return None;
    }
    Some(out.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORMAT: &str =
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n";

    #[test]
    fn the_files_star_paragraph_gives_the_licence() {
        let text = format!(
            "{FORMAT}Upstream-Name: openssl\n\nFiles: *\nCopyright: 1998-2024 The OpenSSL Project\nLicense: Apache-2.0\n\nFiles: debian/*\nLicense: GPL-2+\n\nLicense: Apache-2.0\n Apache License text...\n"
        );
        assert_eq!(declared(&text).as_deref(), Some("Apache-2.0"));
        let text = format!("{FORMAT}\nFiles: debian/* *\nLicense: GPL-2+ or Artistic-2.0\n");
        assert_eq!(declared(&text), None, "Artistic-2.0 is not in the table");
        let text = format!("{FORMAT}\nFiles: *\nLicense: gpl-2+ or expat\n");
        assert_eq!(declared(&text).as_deref(), Some("GPL-2.0-or-later OR MIT"));
        let text = format!("{FORMAT}License: LGPL-2.1+\n\nFiles: src/*\nLicense: GPL-3\n");
        assert_eq!(declared(&text).as_deref(), Some("LGPL-2.1-or-later"));
    }

    #[test]
    fn anything_not_plain_is_no_assertion() {
        assert_eq!(
            declared("This is the Ubuntu prepackaged version of bash.\n\nCopyright (C) 1987 FSF\n"),
            None
        );
        assert_eq!(
            declared(&format!(
                "{FORMAT}\nFiles: *\nLicense: GPL-2+ or MIT and BSD-3-clause\n"
            )),
            None
        );
        assert_eq!(
            declared(&format!("{FORMAT}\nFiles: *\nLicense: public-domain\n")),
            None
        );
        assert_eq!(
            declared(&format!("{FORMAT}\nFiles: *\nLicense: MIT or\n")),
            None
        );
        assert_eq!(declared(""), None);
    }
}
