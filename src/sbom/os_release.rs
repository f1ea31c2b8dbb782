//! The root's `os-release`: which distribution its packages come from, for package URLs
//! (`distro=ubuntu-24.04`) and for scanners, which read it to pick their vulnerability data.

use std::collections::BTreeMap;

use crate::extract::root::{Root, RootError};

/// Where os-release is looked for, in the order systemd's documentation gives.
const LOCATIONS: [&str; 2] = ["/etc/os-release", "/usr/lib/os-release"];

/// The fields of os-release kerf uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OsRelease {
    /// The in-root path it was read from.
    pub(crate) path: String,
    /// `ID`, e.g. `ubuntu`, `debian`.
    pub(crate) id: String,
    /// `ID_LIKE`, split on spaces.
    pub(crate) id_like: Vec<String>,
    /// `VERSION_ID`, e.g. `24.04`, `13`; absent on Debian testing and unstable.
    pub(crate) version_id: Option<String>,
    /// `VERSION_CODENAME`, e.g. `noble`.
    pub(crate) codename: Option<String>,
    pub(crate) pretty_name: Option<String>,
}

/// Why os-release could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OsReleaseError {
    #[error(transparent)]
    Root(#[from] RootError),
    #[error(transparent)]
    File(#[from] std::io::Error),
    #[error("{path} in the root: line {line}: expected KEY=VALUE, found {found:?}")]
    Syntax {
        path: String,
        line: usize,
        found: String,
    },
    #[error("{path} in the root has no ID= line, so the distribution is unknown")]
    NoId { path: String },
}

/// Whether the root has an os-release a scanner would find.
pub(crate) fn exists(root: &Root) -> bool {
    LOCATIONS.iter().any(|path| {
        root.lookup(path)
            .ok()
            .flatten()
            .is_some_and(|found| found.metadata.is_file())
    })
}

/// The root's os-release (links followed inside the root), `None` when it has none.
pub(crate) fn read(root: &Root) -> Result<Option<OsRelease>, OsReleaseError> {
    for path in LOCATIONS {
        let Some(found) = root.lookup(path)? else {
            continue;
        };
        if !found.metadata.is_file() {
            continue;
        }
        let text = fs_err::read_to_string(&found.host)?;
        return parse(path, &text).map(Some);
    }
    Ok(None)
}

/// Parses os-release text: `KEY=VALUE` lines, values optionally in single or double quotes,
/// comments and blank lines skipped.
pub(crate) fn parse(path: &str, text: &str) -> Result<OsRelease, OsReleaseError> {
    let mut fields: BTreeMap<&str, String> = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .filter(|(key, _)| {
                !key.is_empty()
                    && key.bytes().all(|byte| {
                        byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'_'
                    })
            })
            .ok_or_else(|| OsReleaseError::Syntax {
                path: path.to_owned(),
                line: index + 1,
                found: line.chars().take(120).collect(),
            })?;
        fields.insert(key, unquote(value));
    }
    let id = fields
        .remove("ID")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| OsReleaseError::NoId {
            path: path.to_owned(),
        })?;
    Ok(OsRelease {
        path: path.to_owned(),
        id,
        id_like: fields
            .remove("ID_LIKE")
            .map(|like| like.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
        version_id: fields
            .remove("VERSION_ID")
            .filter(|value| !value.is_empty()),
        codename: fields
            .remove("VERSION_CODENAME")
            .filter(|value| !value.is_empty()),
        pretty_name: fields
            .remove("PRETTY_NAME")
            .filter(|value| !value.is_empty()),
    })
}

/// A shell-style value: quotes removed, backslash escapes inside double quotes resolved.
fn unquote(value: &str) -> String {
    let value = value.trim();
    if let Some(inner) = value
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
    {
        return inner.to_owned();
    }
    let Some(inner) = value
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return value.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl OsRelease {
    /// The purl namespace: the vendor whose archive the packages come from. Derivatives that
    /// say `ID_LIKE=ubuntu` or `debian` use their parent's.
    pub(crate) fn namespace(&self) -> &str {
        for candidate in std::iter::once(&self.id).chain(&self.id_like) {
            if candidate == "ubuntu" || candidate == "debian" {
                return candidate;
            }
        }
        &self.id
    }

    /// The purl `distro` qualifier: `ubuntu-24.04`, `debian-13`; the codename, or the ID
    /// alone, when there is no version.
    pub(crate) fn distro(&self) -> String {
        match (&self.version_id, &self.codename) {
            (Some(version), _) => format!("{}-{version}", self.id),
            (None, Some(codename)) => format!("{}-{codename}", self.id),
            (None, None) => self.id.clone(),
        }
    }

    /// The version to show for the operating system: `VERSION_ID`, else the codename.
    pub(crate) fn version(&self) -> Option<&str> {
        self.version_id.as_deref().or(self.codename.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ubuntu_and_debian_files() {
        let ubuntu = parse(
            "/etc/os-release",
            "PRETTY_NAME=\"Ubuntu 24.04.3 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nVERSION_CODENAME=noble\nID=ubuntu\nID_LIKE=debian\n# a comment\n\nUBUNTU_CODENAME=noble\n",
        )
        .unwrap();
        assert_eq!(ubuntu.id, "ubuntu");
        assert_eq!(ubuntu.id_like, ["debian"]);
        assert_eq!(ubuntu.namespace(), "ubuntu");
        assert_eq!(ubuntu.distro(), "ubuntu-24.04");
        assert_eq!(ubuntu.pretty_name.as_deref(), Some("Ubuntu 24.04.3 LTS"));

        let mint = parse(
            "/etc/os-release",
            "ID=linuxmint\nID_LIKE='ubuntu debian'\nVERSION_ID=\"22\"\n",
        )
        .unwrap();
        assert_eq!(
            (mint.namespace(), mint.distro().as_str()),
            ("ubuntu", "linuxmint-22")
        );

        let sid = parse(
            "/usr/lib/os-release",
            "ID=debian\nPRETTY_NAME=\"Debian \\\"sid\\\"\"\n",
        )
        .unwrap();
        assert_eq!(
            (sid.namespace(), sid.distro().as_str()),
            ("debian", "debian")
        );
        assert_eq!(sid.pretty_name.as_deref(), Some("Debian \"sid\""));
        assert_eq!(sid.version(), None);
    }

    #[test]
    fn bad_lines_and_a_missing_id_are_errors() {
        let error = parse("/etc/os-release", "ID=ubuntu\nthis is not a field\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "/etc/os-release in the root: line 2: expected KEY=VALUE, found \"this is not a field\""
        );
        let error = parse("/usr/lib/os-release", "NAME=x\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "/usr/lib/os-release in the root has no ID= line, so the distribution is unknown"
        );
    }
}
