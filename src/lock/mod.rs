//! Lock files: a cut's every input pinned, so the same lock cuts the same root tomorrow.
//!
//! `kerf lock` resolves slices as a cut does and writes what it found ([`Lock`]): the release and
//! a digest of its files; per architecture, every suite read (its InRelease `Date` and SHA-256)
//! and every package chosen (version, pool path, size and digests, source package). `kerf cut
//! --locked` reads no index: it fetches each `.deb` by its pool path and checks it against the
//! lock's digests, which came from a verified chain when the lock was made.
//!
//! The file is JSON, pretty-printed with a fixed field order and sorted lists, so a lock diffs
//! well in review: a package update changes its own few lines. Its `version` says which format it
//! is; a kerf refuses a version it does not know rather than guess.

pub(crate) mod apply;
pub(crate) mod make;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::archive::snapshot::SnapshotId;
use crate::release::{Arch, SliceKey};

/// The format version this kerf writes and reads.
pub(crate) const LOCK_VERSION: u64 = 1;

/// The default lock file name, in the current directory.
pub(crate) const DEFAULT_LOCK_FILE: &str = "kerf.lock";

/// The largest lock file read (a lock of every slice of a release is well under a megabyte).
const MAX_LOCK_BYTES: u64 = 64 << 20;

/// A lock file's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Lock {
    pub(crate) version: u64,
    pub(crate) release: LockedRelease,
    /// The slices asked for, as `PACKAGE_SLICE`, sorted.
    pub(crate) slices: Vec<String>,
    /// Per architecture (`amd64`, …), what a cut for it reads.
    pub(crate) arches: BTreeMap<String, LockedArch>,
}

/// Which release the lock was made from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct LockedRelease {
    /// As `--release` takes it: a bundled name, a path, or `chisel-releases:BRANCH@COMMIT`.
    pub(crate) source: String,
    /// `sha256:` of the release's files (names and contents).
    pub(crate) digest: String,
}

/// What a cut for one architecture reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct LockedArch {
    /// The suites read, in the release's order.
    pub(crate) suites: Vec<LockedSuite>,
    /// The packages chosen, sorted by name.
    pub(crate) packages: Vec<LockedPackage>,
}

/// One suite of one archive, as it was read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct LockedSuite {
    pub(crate) archive: String,
    pub(crate) suite: String,
    /// The archive's base URL (without a snapshot), ending in `/`.
    pub(crate) url: String,
    /// The InRelease file's `Date:`.
    pub(crate) date: String,
    pub(crate) inrelease_sha256: String,
    /// The snapshot it was read from, `YYYYMMDDTHHMMSSZ`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) snapshot: Option<String>,
}

/// One package, as the cut takes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct LockedPackage {
    pub(crate) name: String,
    pub(crate) version: String,
    /// The index's `Architecture:` (`all` for architecture-independent packages).
    pub(crate) arch: String,
    pub(crate) archive: String,
    pub(crate) suite: String,
    pub(crate) component: String,
    /// The pool path below the archive's base URL.
    pub(crate) filename: String,
    pub(crate) size: u64,
    pub(crate) sha256: String,
    /// Where the archive signs SHA-512.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sha512: Option<String>,
    pub(crate) source: String,
    pub(crate) source_version: String,
}

/// Why a lock file cannot be used. Every variant names the file; what is wrong inside it is
/// named by line or by field.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LockError {
    #[error("cannot read the lock file {}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    #[error("{}: line {line}, column {column}: {reason}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("{}: written by a newer kerf (lock version {found}); this kerf reads version {LOCK_VERSION}: upgrade kerf, or make the lock again with this one", path.display())]
    Future { path: PathBuf, found: u64 },
    #[error("{}: {field}{}: {reason}", path.display(), line.map(|line| format!(" (line {line})")).unwrap_or_default())]
    Field {
        path: PathBuf,
        /// Where in the document, as `arches.amd64.packages[3].sha256`.
        field: String,
        line: Option<usize>,
        reason: String,
    },
    #[error("cannot write the lock file {}: {reason}", path.display())]
    Write { path: PathBuf, reason: String },
}

impl LockError {
    /// Whether the user's input is at fault (exit status 1): all but a failing disk.
    pub(crate) fn is_user_error(&self) -> bool {
        match self {
            LockError::Read { .. }
            | LockError::Syntax { .. }
            | LockError::Future { .. }
            | LockError::Field { .. } => true,
            LockError::Write { .. } => false,
        }
    }
}

impl Lock {
    /// Reads and checks the lock file at `path`.
    pub(crate) fn read_file(path: &Path) -> Result<Lock, LockError> {
        use std::io::Read as _;
        let read_error = |reason: String| LockError::Read {
            path: path.to_owned(),
            reason,
        };
        // The path is named once, by this error, not again by the system's words.
        let file = fs_err::File::open(path).map_err(|error| {
            read_error(match error.kind() {
                std::io::ErrorKind::NotFound => {
                    "it does not exist (make one with kerf lock)".to_owned()
                }
                std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
                _ => error.to_string(),
            })
        })?;
        let mut bytes = Vec::new();
        file.take(MAX_LOCK_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|error| read_error(error.to_string()))?;
        if bytes.len() as u64 > MAX_LOCK_BYTES {
            return Err(read_error(format!(
                "it is larger than {MAX_LOCK_BYTES} bytes; a lock file is far smaller"
            )));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| read_error("it is not UTF-8 text (a kerf.lock is JSON)".to_owned()))?;
        Lock::parse(&text, path)
    }

    /// Parses and checks lock text; `path` names it in errors.
    pub(crate) fn parse(text: &str, path: &Path) -> Result<Lock, LockError> {
        let syntax = |error: serde_json::Error| {
            let reason = match error.classify() {
                serde_json::error::Category::Eof => {
                    "the file ends in the middle of the document; it was cut short".to_owned()
                }
                _ => strip_position(&error.to_string()),
            };
            LockError::Syntax {
                path: path.to_owned(),
                line: error.line(),
                column: error.column(),
                reason,
            }
        };
        // The version first: a newer format is named as such, not as its first unknown field.
        let value: serde_json::Value = serde_json::from_str(text).map_err(syntax)?;
        let field = |field: &str, reason: String| LockError::Field {
            path: path.to_owned(),
            field: field.to_owned(),
            line: line_of_key(text, field),
            reason,
        };
        let Some(object) = value.as_object() else {
            return Err(field(
                "(document)",
                "expected a JSON object, as `kerf lock` writes".to_owned(),
            ));
        };
        match object.get("version").map(serde_json::Value::as_u64) {
            None => {
                return Err(LockError::Field {
                    path: path.to_owned(),
                    field: "version".to_owned(),
                    line: None,
                    reason: "missing; a kerf lock file starts with \"version\": 1".to_owned(),
                })
            }
            Some(None) => {
                return Err(field(
                    "version",
                    "expected a whole number, e.g. 1".to_owned(),
                ))
            }
            Some(Some(found)) if found > LOCK_VERSION => {
                return Err(LockError::Future {
                    path: path.to_owned(),
                    found,
                })
            }
            Some(Some(found)) if found < 1 => {
                return Err(field("version", format!("{found} is not a lock version")))
            }
            Some(Some(_)) => {}
        }
        let lock: Lock = serde_json::from_str(text).map_err(syntax)?;
        lock.check(text, path)?;
        Ok(lock)
    }

    /// The checks a well-formed document must pass to be cut from: names, versions, digests
    /// and paths in their forms, and every package's archive and suite among those read.
    fn check(&self, text: &str, path: &Path) -> Result<(), LockError> {
        let fail = |field: String, value: &str, reason: String| LockError::Field {
            path: path.to_owned(),
            line: line_of_value(text, value),
            field,
            reason,
        };
        if !self
            .release
            .digest
            .strip_prefix("sha256:")
            .is_some_and(is_sha256)
        {
            return Err(fail(
                "release.digest".to_owned(),
                &self.release.digest,
                "expected sha256: and 64 hexadecimal digits".to_owned(),
            ));
        }
        if self.release.source.is_empty() {
            return Err(fail(
                "release.source".to_owned(),
                "",
                "empty; expected a bundled release name, a path or chisel-releases:BRANCH@COMMIT"
                    .to_owned(),
            ));
        }
        if self.slices.is_empty() {
            return Err(fail(
                "slices".to_owned(),
                "",
                "empty; a lock locks at least one slice".to_owned(),
            ));
        }
        for (index, slice) in self.slices.iter().enumerate() {
            if SliceKey::parse(slice).is_none() {
                return Err(fail(
                    format!("slices[{index}]"),
                    slice,
                    format!("\"{slice}\" is not a slice name (expected PACKAGE_SLICE)"),
                ));
            }
        }
        if self.arches.is_empty() {
            return Err(fail(
                "arches".to_owned(),
                "",
                "empty; a lock locks at least one architecture".to_owned(),
            ));
        }
        for (arch, locked) in &self.arches {
            if Arch::parse(arch).is_none() {
                return Err(fail(
                    format!("arches.{arch}"),
                    arch,
                    format!("\"{arch}\" is not an architecture kerf knows"),
                ));
            }
            locked.check(arch, &fail)?;
        }
        Ok(())
    }

    /// The slices the lock was made for.
    pub(crate) fn slice_keys(&self) -> Vec<SliceKey> {
        self.slices
            .iter()
            .filter_map(|slice| SliceKey::parse(slice))
            .collect()
    }

    /// The architectures locked.
    pub(crate) fn arch_list(&self) -> Vec<Arch> {
        self.arches
            .keys()
            .filter_map(|arch| Arch::parse(arch))
            .collect()
    }

    /// The lock's text: pretty JSON with a final newline.
    pub(crate) fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Writes the lock to `path` through a temporary file in the same directory, so a reader
    /// sees the old lock or the new one, never half of one.
    pub(crate) fn write_file(&self, path: &Path) -> Result<(), LockError> {
        use std::io::Write as _;
        let fail = |error: std::io::Error| LockError::Write {
            path: path.to_owned(),
            reason: error.to_string(),
        };
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let mut temporary = tempfile::Builder::new()
            .prefix(".kerf-lock-")
            .tempfile_in(dir)
            .map_err(fail)?;
        temporary
            .write_all(self.to_text().as_bytes())
            .map_err(fail)?;
        temporary.as_file().sync_all().map_err(fail)?;
        temporary.persist(path).map_err(|error| fail(error.error))?;
        Ok(())
    }
}

impl LockedArch {
    fn check(
        &self,
        arch: &str,
        fail: &dyn Fn(String, &str, String) -> LockError,
    ) -> Result<(), LockError> {
        let mut suites: BTreeSet<(&str, &str)> = BTreeSet::new();
        for (index, suite) in self.suites.iter().enumerate() {
            let at = |name: &str| format!("arches.{arch}.suites[{index}].{name}");
            if !is_name(&suite.archive) {
                return Err(fail(
                    at("archive"),
                    &suite.archive,
                    "expected an archive name".to_owned(),
                ));
            }
            if !is_name(&suite.suite) {
                return Err(fail(
                    at("suite"),
                    &suite.suite,
                    "expected a suite name".to_owned(),
                ));
            }
            if !is_base_url(&suite.url) {
                return Err(fail(
                    at("url"),
                    &suite.url,
                    "expected an http://, https:// or file:/// URL ending in /".to_owned(),
                ));
            }
            if crate::archive::index::parse_release_date(&suite.date).is_none() {
                return Err(fail(
                    at("date"),
                    &suite.date,
                    "expected an InRelease date, e.g. Thu, 25 Apr 2024 15:10:33 UTC".to_owned(),
                ));
            }
            if !is_sha256(&suite.inrelease_sha256) {
                return Err(fail(
                    at("inrelease-sha256"),
                    &suite.inrelease_sha256,
                    "expected 64 hexadecimal digits".to_owned(),
                ));
            }
            if let Some(snapshot) = &suite.snapshot {
                SnapshotId::parse(snapshot)
                    .map_err(|error| fail(at("snapshot"), snapshot, error.to_string()))?;
            }
            suites.insert((&suite.archive, &suite.suite));
        }
        let mut names = BTreeSet::new();
        for (index, package) in self.packages.iter().enumerate() {
            let at =
                |name: &str| format!("arches.{arch}.packages[{index}] ({}).{name}", package.name);
            if !is_name(&package.name) {
                return Err(fail(
                    format!("arches.{arch}.packages[{index}].name"),
                    &package.name,
                    "expected a package name".to_owned(),
                ));
            }
            if !names.insert(package.name.as_str()) {
                return Err(fail(
                    at("name"),
                    &package.name,
                    "the package is locked twice".to_owned(),
                ));
            }
            if crate::archive::version::Version::parse(&package.version).is_err() {
                return Err(fail(
                    at("version"),
                    &package.version,
                    "expected a Debian version".to_owned(),
                ));
            }
            if package.arch != arch && package.arch != "all" {
                return Err(fail(
                    at("arch"),
                    &package.arch,
                    format!("expected {arch} or all"),
                ));
            }
            if !suites.contains(&(package.archive.as_str(), package.suite.as_str())) {
                return Err(fail(
                    at("suite"),
                    &package.suite,
                    format!(
                        "archive \"{}\" suite \"{}\" is not among the lock's suites for {arch}",
                        package.archive, package.suite
                    ),
                ));
            }
            if !is_name(&package.component) {
                return Err(fail(
                    at("component"),
                    &package.component,
                    "expected a component name".to_owned(),
                ));
            }
            if !is_pool_path(&package.filename) {
                return Err(fail(
                    at("filename"),
                    &package.filename,
                    "expected a relative path in the archive ending in .deb, without .. or //"
                        .to_owned(),
                ));
            }
            if package.size == 0 {
                return Err(fail(
                    at("size"),
                    "0",
                    "expected the .deb's size in bytes".to_owned(),
                ));
            }
            if !is_sha256(&package.sha256) {
                return Err(fail(
                    at("sha256"),
                    &package.sha256,
                    "expected 64 hexadecimal digits".to_owned(),
                ));
            }
            if let Some(sha512) = &package.sha512 {
                if !is_hex(sha512, 128) {
                    return Err(fail(
                        at("sha512"),
                        sha512,
                        "expected 128 hexadecimal digits".to_owned(),
                    ));
                }
            }
            if !is_name(&package.source) {
                return Err(fail(
                    at("source"),
                    &package.source,
                    "expected a source package name".to_owned(),
                ));
            }
            if crate::archive::version::Version::parse(&package.source_version).is_err() {
                return Err(fail(
                    at("source-version"),
                    &package.source_version,
                    "expected a Debian version".to_owned(),
                ));
            }
        }
        Ok(())
    }
}

fn is_hex(text: &str, length: usize) -> bool {
    text.len() == length
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

fn is_sha256(text: &str) -> bool {
    is_hex(text, 64)
}

/// Package, archive, suite and component names: what apt allows, no spaces or slashes.
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'+' | b'-' | b'_'))
}

fn is_base_url(url: &str) -> bool {
    (url.starts_with("http://") || url.starts_with("https://") || url.starts_with("file:///"))
        && url.ends_with('/')
        && !url.contains(char::is_whitespace)
}

/// A pool path stays below the base URL: relative, no `..`, no empty segment, a `.deb`.
fn is_pool_path(path: &str) -> bool {
    path.ends_with(".deb")
        && !path.starts_with('/')
        && !path.contains("://")
        && path
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
        && !path.contains(|c: char| c.is_whitespace() || c == '?' || c == '#' || c == '\\')
}

/// serde_json appends " at line L column C" to its messages; the error names them itself.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// The line (from 1) where `"value"` first appears as a JSON string, if it does.
fn line_of_value(text: &str, value: &str) -> Option<usize> {
    if value.is_empty() {
        return None;
    }
    let quoted = serde_json::to_string(value).ok()?;
    let at = text.find(&quoted).or_else(|| text.find(value))?;
    Some(text[..at].matches('\n').count() + 1)
}

/// The line where a top-level key (the last segment of `field`) first appears.
fn line_of_key(text: &str, field: &str) -> Option<usize> {
    let key = field.rsplit('.').next()?;
    let at = text.find(&format!("\"{key}\""))?;
    Some(text[..at].matches('\n').count() + 1)
}
