//! `kerf sbom`: a software bill of materials for a cut root, in SPDX 2.3 or CycloneDX 1.6 JSON.
//!
//! It is made from what the root says about itself, so it works for roots cut by kerf or by
//! chisel: the manifest (`/var/lib/chisel/manifest.wall`, written for a `generate: manifest`
//! slice) gives the packages with the SHA-256 of their `.deb`, the slices and the files with
//! their hashes; `os-release` gives the distribution for the package URLs; the stanzas in
//! `/var/lib/dpkg/status.d/` (`cut --dpkg-status`), when there, give each package's maintainer
//! and source package; a machine-readable copyright file gives its licence.
//!
//! The output is deterministic: packages and files are sorted, identifiers are numbered in that
//! order, and the only time in it is the creation time, `SOURCE_DATE_EPOCH` when the caller has
//! it, else the time the manifest was written.

pub(crate) mod cyclonedx;
pub(crate) mod license;
pub(crate) mod os_release;
pub(crate) mod spdx;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use sha1::{Digest as _, Sha1};

use crate::archive::control::paragraphs;
use crate::digest::hex;
use crate::dpkg_status::STATUS_DIR;
use crate::extract::root::{Root, RootError};
use crate::manifest::{Manifest, ReadError};
use crate::release::SliceKey;
use os_release::{OsRelease, OsReleaseError};

/// Where chisel's releases, and kerf's, put the manifest (`base-files_chisel`).
pub(crate) const MANIFEST_PATH: &str = crate::manifest::DEFAULT_PATH;

/// Files hashed at once.
const HASH_THREADS: usize = 4;

/// The two formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    SpdxJson,
    CycloneDxJson,
}

impl Format {
    /// The format a file name asks for: `*.spdx.json` or `*.cdx.json`.
    pub(crate) fn from_file_name(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?;
        if name.ends_with(".spdx.json") {
            Some(Format::SpdxJson)
        } else if name.ends_with(".cdx.json") {
            Some(Format::CycloneDxJson)
        } else {
            None
        }
    }
}

/// Why no SBOM could be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SbomError {
    #[error("{} has no manifest at {MANIFEST_PATH}: kerf sbom reads the manifest a cut writes for a `generate: manifest` slice; cut base-files_chisel (in the bundled ubuntu-24.04 release and in chisel-releases) into the root too, or, if scanners are all you need, cut with --dpkg-status to write {STATUS_DIR}", root.display())]
    NoManifest { root: PathBuf },
    #[error(transparent)]
    Manifest(#[from] ReadError),
    #[error("{} has no /etc/os-release or /usr/lib/os-release, so the distribution of its packages is unknown (the package URLs need it): cut base-files_release-info into the root too", root.display())]
    NoOsRelease { root: PathBuf },
    #[error(transparent)]
    OsRelease(#[from] OsReleaseError),
    #[error(transparent)]
    Root(#[from] RootError),
    /// From `fs_err`, whose message names the path.
    #[error(transparent)]
    File(#[from] std::io::Error),
    #[error("{}: the manifest lists {path} as a regular file, but the root has no regular file there: the root changed after the cut (cut it again)", root.display())]
    MissingFile { root: PathBuf, path: String },
    #[error("{STATUS_DIR}/{package} in the root: {reason}")]
    Stanza { package: String, reason: String },
    #[error("cannot serialise the SBOM: {0}")]
    Json(serde_json::Error),
}

impl SbomError {
    /// Whether the root is at fault (exit status 1) rather than the machine.
    pub(crate) fn is_user_error(&self) -> bool {
        !matches!(
            self,
            SbomError::File(_) | SbomError::Root(_) | SbomError::Json(_)
        )
    }
}

/// Everything an SBOM says, sorted, format aside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Inventory {
    pub(crate) os: OsRelease,
    /// Seconds since the epoch.
    pub(crate) created: i64,
    /// By name.
    pub(crate) packages: Vec<Package>,
    /// Regular files, by path.
    pub(crate) files: BTreeMap<String, File>,
}

/// One Debian package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) arch: String,
    /// Of the `.deb`.
    pub(crate) sha256: String,
    pub(crate) purl: String,
    /// The source package and its version, when the stanza names them.
    pub(crate) source: Option<(String, String)>,
    /// The `Maintainer:` field of the stanza.
    pub(crate) maintainer: Option<String>,
    /// An SPDX licence expression, when the copyright file states one plainly.
    pub(crate) license: Option<String>,
    pub(crate) slices: BTreeSet<SliceKey>,
    /// Paths of the regular files its slices installed.
    pub(crate) files: BTreeSet<String>,
}

/// One regular file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct File {
    /// The final content's, as the manifest gives it.
    pub(crate) sha256: String,
    /// Of the file on disk: SPDX requires a SHA-1 for every file, and the manifest has none.
    pub(crate) sha1: String,
    pub(crate) slices: BTreeSet<SliceKey>,
}

/// Reads the root at `dir` into an inventory; `created` is `SOURCE_DATE_EPOCH` if the caller
/// has one.
pub(crate) fn inventory(dir: &Path, created: Option<i64>) -> Result<Inventory, SbomError> {
    let root = Root::open(dir)?;
    let manifest_host = match root.lookup(MANIFEST_PATH)? {
        Some(found) if found.metadata.is_file() => found.host,
        _ => {
            return Err(SbomError::NoManifest {
                root: dir.to_owned(),
            })
        }
    };
    let manifest = Manifest::read_file(&manifest_host)?;
    let os = os_release::read(&root)?.ok_or_else(|| SbomError::NoOsRelease {
        root: dir.to_owned(),
    })?;
    let created = match created {
        Some(seconds) => seconds,
        None => modified_seconds(&manifest_host)?,
    };

    let mut files: BTreeMap<String, File> = BTreeMap::new();
    let mut package_files: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for path in manifest.paths.values() {
        let Some(sha256) = path.final_sha256.as_ref().or(path.sha256.as_ref()) else {
            continue;
        };
        // A symlink's record has neither hash nor size, but a hard-link group of symlinks
        // copies its link: not a regular file either.
        if path.link.as_ref().is_some_and(|link| !link.is_empty()) {
            continue;
        }
        for slice in &path.slices {
            package_files
                .entry(slice.package.as_str())
                .or_default()
                .insert(path.path.clone());
        }
        files.insert(
            path.path.clone(),
            File {
                sha256: sha256.clone(),
                sha1: String::new(),
                slices: path.slices.clone(),
            },
        );
    }
    let paths: Vec<String> = files.keys().cloned().collect();
    let sha1s = sha1_files(&root, dir, &paths)?;
    for (path, sha1) in paths.iter().zip(sha1s) {
        if let Some(file) = files.get_mut(path) {
            file.sha1 = sha1;
        }
    }

    let mut packages = Vec::with_capacity(manifest.packages.len());
    for record in &manifest.packages {
        let stanza = read_stanza(&root, &record.name)?;
        let license = read_license(&root, &record.name)?;
        packages.push(Package {
            purl: purl(&os, &record.name, &record.version, &record.arch),
            name: record.name.clone(),
            version: record.version.clone(),
            arch: record.arch.clone(),
            sha256: record.sha256.clone(),
            source: stanza.as_ref().map(|stanza| stanza.source(record)),
            maintainer: stanza.and_then(|stanza| stanza.maintainer),
            license,
            slices: manifest
                .slices
                .iter()
                .filter(|slice| slice.package == record.name)
                .cloned()
                .collect(),
            files: package_files
                .remove(record.name.as_str())
                .unwrap_or_default(),
        });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Inventory {
        os,
        created,
        packages,
        files,
    })
}

/// The SBOM's bytes in `format`.
pub(crate) fn render(inventory: &Inventory, format: Format) -> Result<Vec<u8>, SbomError> {
    match format {
        Format::SpdxJson => spdx::render(inventory),
        Format::CycloneDxJson => cyclonedx::render(inventory),
    }
    .map_err(SbomError::Json)
}

/// Writes `bytes` to `path` through a temporary file beside it and a rename, so that a reader
/// never sees half an SBOM, and a failed run leaves the old one.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), std::io::Error> {
    use std::io::Write as _;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.kerf-tmp"));
    let result = (|| {
        let mut file = fs_err::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs_err::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = fs_err::remove_file(&temporary);
    }
    result
}

/// `pkg:deb/<namespace>/<name>@<version>?arch=<arch>&distro=<distro>`, each part
/// percent-encoded as the purl specification asks (an epoch's `:` and a `+` included).
pub(crate) fn purl(os: &OsRelease, name: &str, version: &str, arch: &str) -> String {
    format!(
        "pkg:deb/{}/{}@{}?arch={}&distro={}",
        percent_encode(os.namespace()),
        percent_encode(name),
        percent_encode(version),
        percent_encode(arch),
        percent_encode(&os.distro())
    )
}

/// Percent-encodes everything but ASCII letters, digits and `.-_~`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The fields of a `status.d` stanza the SBOM uses.
struct Stanza {
    maintainer: Option<String>,
    source: Option<String>,
}

impl Stanza {
    /// The source package and version: `Source: name (version)`, `Source: name` (same
    /// version as the binary), or none (same name too).
    fn source(&self, package: &crate::manifest::ManifestPackage) -> (String, String) {
        crate::archive::control::source_package(
            self.source.as_deref(),
            &package.name,
            &package.version,
        )
    }
}

/// The package's stanza in `status.d`, if the root has one.
fn read_stanza(root: &Root, package: &str) -> Result<Option<Stanza>, SbomError> {
    let path = format!("{STATUS_DIR}/{package}");
    let Some(found) = root.lookup(&path)? else {
        return Ok(None);
    };
    if !found.metadata.is_file() {
        return Ok(None);
    }
    let text = fs_err::read_to_string(&found.host)?;
    let fail = |reason: String| SbomError::Stanza {
        package: package.to_owned(),
        reason,
    };
    let paragraph = paragraphs(&text)
        .next()
        .ok_or_else(|| fail("is empty".to_owned()))?
        .map_err(|error| fail(error.to_string()))?;
    if paragraph.get("Package").as_deref() != Some(package) {
        return Err(fail(format!(
            "is the stanza of package {:?}",
            paragraph.get("Package").unwrap_or_default()
        )));
    }
    Ok(Some(Stanza {
        maintainer: paragraph.get("Maintainer").map(|value| value.into_owned()),
        source: paragraph.get("Source").map(|value| value.into_owned()),
    }))
}

/// The licence `/usr/share/doc/<package>/copyright` states, if the root has that file.
fn read_license(root: &Root, package: &str) -> Result<Option<String>, SbomError> {
    let Some(found) = root.lookup(&format!("/usr/share/doc/{package}/copyright"))? else {
        return Ok(None);
    };
    if !found.metadata.is_file() {
        return Ok(None);
    }
    let bytes = fs_err::read(&found.host)?;
    Ok(String::from_utf8(bytes)
        .ok()
        .and_then(|text| license::declared(&text)))
}

/// When the file was last written, in seconds since the epoch.
fn modified_seconds(path: &Path) -> Result<i64, SbomError> {
    use std::os::unix::fs::MetadataExt as _;
    Ok(fs_err::metadata(path)?.mtime())
}

/// SHA-1 of each path, in order, read from the root on a few threads.
fn sha1_files(root: &Root, dir: &Path, paths: &[String]) -> Result<Vec<String>, SbomError> {
    let chunk = paths.len().div_ceil(HASH_THREADS).max(1);
    let parts = std::thread::scope(|scope| {
        let workers: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|path| sha1_of(root, dir, path))
                        .collect::<Result<Vec<_>, SbomError>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect::<Vec<_>>()
    });
    let mut sums = Vec::with_capacity(paths.len());
    for part in parts {
        sums.extend(part?);
    }
    Ok(sums)
}

/// The SHA-1 of the regular file at `path` in the root (its parents' links followed inside the
/// root, its own not).
fn sha1_of(root: &Root, dir: &Path, path: &str) -> Result<String, SbomError> {
    let missing = || SbomError::MissingFile {
        root: dir.to_owned(),
        path: path.to_owned(),
    };
    let rel = crate::extract::root::RelPath::new(path).ok_or_else(missing)?;
    let host = root.host_path(&rel)?;
    match fs_err::symlink_metadata(&host) {
        Ok(metadata) if metadata.is_file() => {}
        Ok(_) => return Err(missing()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
        Err(error) => return Err(error.into()),
    }
    let mut file = fs_err::File::open(&host)?;
    let mut hasher = Sha1::new();
    let mut buffer = vec![0u8; 256 << 10];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex(&hasher.finalize()))
}

/// `2024-04-25T12:00:00Z`.
pub(crate) fn rfc3339(seconds: i64) -> String {
    crate::clock::Timestamp::from_unix(seconds).rfc3339()
}

/// A stable identifier made from the SBOM's content: the same root gives the same one.
pub(crate) fn content_digest(inventory: &Inventory) -> String {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    hasher.update(inventory.os.distro().as_bytes());
    for package in &inventory.packages {
        for part in [&package.purl, &package.sha256] {
            hasher.update(part.as_bytes());
            hasher.update(b"\n");
        }
    }
    for (path, file) in &inventory.files {
        for part in [path, &file.sha256] {
            hasher.update(part.as_bytes());
            hasher.update(b"\n");
        }
    }
    hex(&hasher.finalize())
}

#[cfg(test)]
mod tests;
