//! Where a release comes from: a directory, a release bundled into the binary, or a branch of
//! Canonical's chisel-releases fetched as a tarball (`chisel-releases:BRANCH[@COMMIT]`); and
//! the memo of releases whose exact files already passed every check, so a warm cut validates
//! only what changed.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::bundled;
use crate::cache::{Cache, CacheError, CacheKey};
use crate::lock::make::ReleaseIdentity;
use crate::release::{self, Release, ReleaseErrors, SliceKey, SourceFile};
use crate::transport::http::{FetchError, FetchOptions, Fetcher};

/// The prefix of a `--release` that names a branch of chisel-releases.
pub(crate) const CHISEL_RELEASES: &str = "chisel-releases:";

/// Where branches of chisel-releases are fetched from, unless `KERF_CHISEL_RELEASES_URL` says
/// otherwise: GitHub's archive layout (`refs/heads/BRANCH.tar.gz`, `COMMIT.tar.gz`).
pub(crate) const DEFAULT_CHISEL_RELEASES_URL: &str =
    "https://github.com/canonical/chisel-releases/archive/";

/// The largest release tarball accepted (a chisel-releases branch is about 1 MB).
const MAX_TARBALL_BYTES: u64 = 64 << 20;
/// The most a release tarball may expand to.
const MAX_RELEASE_BYTES: u64 = 256 << 20;

/// What fetching a release needs, from the settings step.
#[derive(Clone, Debug)]
pub(crate) struct CatalogSettings {
    pub(crate) cache_dir: PathBuf,
    /// Use the copy in the cache; fail rather than touch the network.
    pub(crate) offline: bool,
    /// Ends in `/`.
    pub(crate) chisel_releases_url: String,
    pub(crate) fetch: FetchOptions,
}

/// What `--release` names, decided before anything is read.
#[derive(Clone, Debug)]
pub(crate) enum ReleaseSource {
    /// A release bundled into this binary, by name.
    Bundled(&'static bundled::BundledRelease),
    /// A release directory (`chisel.yaml` plus `slices/`).
    Dir(PathBuf),
    /// A branch of chisel-releases, at its newest commit or at `commit`.
    ChiselReleases {
        branch: String,
        commit: Option<String>,
    },
}

/// Why a release could not be found or read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CatalogError {
    #[error(
        "unknown release \"{name}\": it is not a directory, nor a release bundled into kerf ({})",
        bundled_names()
    )]
    Unknown { name: String },
    #[error("cannot infer the release from {}: {reason}; give --release", path.display())]
    Infer { path: PathBuf, reason: String },
    #[error(transparent)]
    Release(#[from] ReleaseErrors),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("invalid --release \"{value}\": expected chisel-releases:BRANCH or chisel-releases:BRANCH@COMMIT (a branch name, and a commit of 7 to 40 hexadecimal digits)")]
    BadChiselReleases { value: String },
    #[error("chisel-releases has no {what}: {url} was not found (HTTP 404)")]
    NoSuchBranch { what: String, url: String },
    #[error("cannot fetch the release {origin}: {source}")]
    Fetch {
        origin: String,
        source: Box<FetchError>,
    },
    #[error("offline: the release {origin} is not in the cache; fetch it once without --offline")]
    NotCached { origin: String },
    #[error("the release tarball {url} is not usable: {reason}")]
    Tarball { url: String, reason: String },
}

impl CatalogError {
    /// Whether the user's input is at fault (exit status 1).
    pub(crate) fn is_user_error(&self) -> bool {
        match self {
            CatalogError::Unknown { .. }
            | CatalogError::Infer { .. }
            | CatalogError::Release(_)
            | CatalogError::BadChiselReleases { .. }
            | CatalogError::NoSuchBranch { .. }
            | CatalogError::NotCached { .. }
            | CatalogError::Tarball { .. } => true,
            CatalogError::Fetch { source, .. } => source.is_user_error(),
            CatalogError::Cache(error) => error.is_user_error(),
        }
    }
}

impl ReleaseSource {
    /// The release `name` stands for: a path when it looks like one or is a directory, else a
    /// bundled release.
    pub(crate) fn resolve(name: &str) -> Result<ReleaseSource, CatalogError> {
        if let Some(reference) = name.strip_prefix(CHISEL_RELEASES) {
            return parse_chisel_releases(name, reference);
        }
        let looks_like_path = name.contains('/') || name == "." || name == "..";
        if !looks_like_path {
            if let Some(bundled) = bundled::find(bundled::releases(), name) {
                return Ok(ReleaseSource::Bundled(bundled));
            }
        }
        let path = PathBuf::from(name);
        if looks_like_path || path.is_dir() {
            return Ok(ReleaseSource::Dir(path));
        }
        Err(CatalogError::Unknown {
            name: name.to_owned(),
        })
    }

    /// The release of the machine kerf runs on, `<ID>-<VERSION_ID>` from `os_release` (the
    /// text of `/etc/os-release`).
    pub(crate) fn infer(os_release: &Path) -> Result<ReleaseSource, CatalogError> {
        let infer_error = |reason: String| CatalogError::Infer {
            path: os_release.to_owned(),
            reason,
        };
        // fs-err's message names the path again; the inner error is what went wrong.
        let text = fs_err::read_to_string(os_release).map_err(|error| {
            infer_error(
                std::error::Error::source(&error)
                    .map_or_else(|| error.to_string(), ToString::to_string),
            )
        })?;
        let field = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
                .map(|value| value.trim_matches('"').to_owned())
        };
        match (field("ID"), field("VERSION_ID")) {
            (Some(id), Some(version)) => {
                ReleaseSource::resolve(&format!("{}-{version}", id.to_lowercase()))
            }
            _ => Err(infer_error("it has no ID and VERSION_ID".to_owned())),
        }
    }

    /// How errors name the release: its bundled name, its path, or `chisel-releases:BRANCH`.
    pub(crate) fn origin(&self) -> String {
        match self {
            ReleaseSource::Bundled(bundled) => bundled.name.to_owned(),
            ReleaseSource::Dir(path) => path.display().to_string(),
            ReleaseSource::ChiselReleases {
                branch,
                commit: None,
            } => format!("{CHISEL_RELEASES}{branch}"),
            ReleaseSource::ChiselReleases {
                branch,
                commit: Some(commit),
            } => format!("{CHISEL_RELEASES}{branch}@{commit}"),
        }
    }

    /// The release's files, and how to name them in messages (a fetched branch is named with
    /// the commit its tarball says it is).
    pub(crate) fn files(
        &self,
        settings: &CatalogSettings,
    ) -> Result<(String, Vec<SourceFile>), CatalogError> {
        match self {
            ReleaseSource::Bundled(bundled) => Ok((self.origin(), bundled.source_files())),
            ReleaseSource::Dir(path) => Ok((self.origin(), release::read_dir(path)?)),
            ReleaseSource::ChiselReleases { branch, commit } => {
                fetch_chisel_releases(&self.origin(), branch, commit.as_deref(), settings)
            }
        }
    }

    /// Loads the release with every check.
    pub(crate) fn load(&self, settings: &CatalogSettings) -> Result<Release, CatalogError> {
        let (origin, files) = self.files(settings)?;
        Ok(release::load_files(&origin, &files)?)
    }

    /// Loads the whole release. A release whose exact files passed every check before (as the
    /// cache remembers under their fingerprint) gets only each file's own checks: the
    /// release-wide ones are most of the time a warm load would spend on it.
    pub(crate) fn load_remembered(
        &self,
        settings: &CatalogSettings,
    ) -> Result<Release, CatalogError> {
        Ok(self.load_identified(settings)?.0)
    }

    /// Like [`ReleaseSource::load_remembered`], with what a lock records of the release: its
    /// source as `--release` takes it (a fetched branch with its commit) and a digest of its
    /// files.
    pub(crate) fn load_identified(
        &self,
        settings: &CatalogSettings,
    ) -> Result<(Release, ReleaseIdentity), CatalogError> {
        self.load_scoped(settings, None)
    }

    /// The release for a cut of `requested`: a release that passed every check before is
    /// parsed only as far as those slices reach (see [`release::load_files_reaching`]); one
    /// seen for the first time is parsed and checked whole.
    pub(crate) fn load_reaching(
        &self,
        settings: &CatalogSettings,
        requested: &[SliceKey],
    ) -> Result<Release, CatalogError> {
        Ok(self.load_scoped(settings, Some(requested))?.0)
    }

    fn load_scoped(
        &self,
        settings: &CatalogSettings,
        requested: Option<&[SliceKey]>,
    ) -> Result<(Release, ReleaseIdentity), CatalogError> {
        let (origin, files) = self.files(settings)?;
        // Hashed once: the lock's digest, and the memo's key derived from it.
        let content = release::content_digest(&files);
        let release = Self::load_checked(&origin, &files, &content, settings, requested)?;
        let identity = ReleaseIdentity {
            source: origin,
            digest: format!("sha256:{content}"),
        };
        Ok((release, identity))
    }

    fn load_checked(
        origin: &str,
        files: &[SourceFile],
        content_digest: &str,
        settings: &CatalogSettings,
        requested: Option<&[SliceKey]>,
    ) -> Result<Release, CatalogError> {
        let cache = Cache::open(&settings.cache_dir)?;
        let fingerprint = release::fingerprint_of(content_digest);
        let key = CacheKey::CheckedRelease {
            fingerprint: &fingerprint,
        };
        if cache.get_keyed(&key)?.is_some() {
            return Ok(match requested {
                Some(requested) => release::load_files_reaching(origin, files, requested)?,
                None => release::load_files_with(origin, files, release::Checks::FilesOnly)?,
            });
        }
        let loaded = release::load_files(origin, files)?;
        cache.put_keyed(&key, b"")?;
        Ok(loaded)
    }
}

/// The bundled releases' names, for messages.
pub(crate) fn bundled_names() -> String {
    let names: Vec<&str> = bundled::releases()
        .iter()
        .map(|release| release.name)
        .collect();
    if names.is_empty() {
        "this kerf bundles none".to_owned()
    } else {
        format!("bundled: {}", names.join(", "))
    }
}

/// `BRANCH` or `BRANCH@COMMIT`, after `chisel-releases:`.
fn parse_chisel_releases(value: &str, reference: &str) -> Result<ReleaseSource, CatalogError> {
    let bad = || CatalogError::BadChiselReleases {
        value: value.to_owned(),
    };
    let (branch, commit) = match reference.split_once('@') {
        Some((branch, commit)) => (branch, Some(commit)),
        None => (reference, None),
    };
    // A branch name goes into a URL path: letters, digits and `._-/` only, no `..`.
    let branch_ok = !branch.is_empty()
        && !branch.contains("..")
        && !branch.starts_with('/')
        && branch
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-' | b'/'));
    let commit_ok = commit.is_none_or(|commit| {
        (7..=40).contains(&commit.len()) && commit.bytes().all(|byte| byte.is_ascii_hexdigit())
    });
    if !branch_ok || !commit_ok {
        return Err(bad());
    }
    Ok(ReleaseSource::ChiselReleases {
        branch: branch.to_owned(),
        commit: commit.map(str::to_ascii_lowercase),
    })
}

/// The files of a chisel-releases branch: its tarball fetched (or, offline, the copy the cache
/// kept from the last fetch), read in memory; nothing is unpacked on disk.
fn fetch_chisel_releases(
    origin: &str,
    branch: &str,
    commit: Option<&str>,
    settings: &CatalogSettings,
) -> Result<(String, Vec<SourceFile>), CatalogError> {
    let url = match commit {
        Some(commit) => format!("{}{commit}.tar.gz", settings.chisel_releases_url),
        None => format!("{}refs/heads/{branch}.tar.gz", settings.chisel_releases_url),
    };
    let cache = Cache::open(&settings.cache_dir)?;
    let key = CacheKey::ReleaseTarball { url: &url };
    let (tar_commit, files) = if settings.offline {
        let tarball = cache
            .get_keyed(&key)?
            .ok_or_else(|| CatalogError::NotCached {
                origin: origin.to_owned(),
            })?;
        read_release_tarball(&url, &tarball)?
    } else {
        let fetcher =
            Fetcher::new(settings.fetch.clone()).map_err(|source| CatalogError::Fetch {
                origin: origin.to_owned(),
                source: Box::new(source),
            })?;
        let bytes =
            fetcher
                .get_bytes(&url, None, MAX_TARBALL_BYTES)
                .map_err(|source| match source {
                    FetchError::NotFound { url } => CatalogError::NoSuchBranch {
                        what: match commit {
                            Some(commit) => format!("commit \"{commit}\""),
                            None => format!("branch \"{branch}\""),
                        },
                        url,
                    },
                    source => CatalogError::Fetch {
                        origin: origin.to_owned(),
                        source: Box::new(source),
                    },
                })?;
        // Read before it is kept: a tarball that is not a release never enters the cache.
        let read = read_release_tarball(&url, &bytes)?;
        cache.put_keyed(&key, &bytes)?;
        read
    };
    let named = match (commit, tar_commit) {
        (None, Some(found)) => format!("{origin}@{found}"),
        _ => origin.to_owned(),
    };
    Ok((named, files))
}

/// The release inside a GitHub-style tarball (one top folder holding `chisel.yaml` and
/// `slices/`), and the commit its global header names. Paths that leave the folder and links
/// that point out of it are refused; links inside it are read through.
fn read_release_tarball(
    url: &str,
    tarball: &[u8],
) -> Result<(Option<String>, Vec<SourceFile>), CatalogError> {
    let bad = |reason: String| CatalogError::Tarball {
        url: url.to_owned(),
        reason,
    };
    if !tarball.starts_with(&[0x1f, 0x8b]) {
        return Err(bad(
            "it is not gzip-compressed (a .tar.gz was expected)".to_owned()
        ));
    }
    let decoder = flate2::read::GzDecoder::new(tarball).take(MAX_RELEASE_BYTES);
    let mut archive = tar::Archive::new(decoder);
    let mut commit = None;
    let mut top: Option<String> = None;
    let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut links: BTreeMap<String, String> = BTreeMap::new();
    let entries = archive
        .entries()
        .map_err(|error| bad(format!("not a gzip-compressed tar archive: {error}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|error| bad(format!("cannot read an entry: {error}")))?;
        let kind = entry.header().entry_type();
        if kind == tar::EntryType::XGlobalHeader {
            // GitHub puts `comment=<commit>` in the archive's global header.
            if let Ok(Some(extensions)) = entry.pax_extensions() {
                for extension in extensions.flatten() {
                    if extension.key() == Ok("comment") {
                        commit = extension.value().ok().map(str::to_owned);
                    }
                }
            }
            continue;
        }
        let raw = entry.path_bytes().into_owned();
        let name =
            String::from_utf8(raw).map_err(|_| bad("an entry name is not UTF-8".to_owned()))?;
        let inside = release_path(&name)
            .ok_or_else(|| bad(format!("entry {name:?} leaves the release folder")))?;
        let (folder, path) = inside;
        match &top {
            None => top = Some(folder.clone()),
            Some(top) if *top != folder => {
                return Err(bad(format!(
                    "entries in two top folders, {top:?} and {folder:?}"
                )))
            }
            Some(_) => {}
        }
        let Some(path) = path else { continue };
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut bytes = Vec::new();
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|error| bad(format!("cannot read {path}: {error}")))?;
                contents.insert(path, bytes);
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry
                    .link_name()
                    .ok()
                    .flatten()
                    .map(|target| target.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let resolved = if kind == tar::EntryType::Link {
                    release_path(&target).and_then(|(_, path)| path)
                } else {
                    resolve_symlink(&path, &target)
                };
                let resolved = resolved.ok_or_else(|| {
                    bad(format!(
                        "{path} is a link to {target:?}, outside the release folder"
                    ))
                })?;
                links.insert(path, resolved);
            }
            _ => {}
        }
    }
    for (path, target) in links {
        if let Some(bytes) = contents.get(&target).cloned() {
            contents.insert(path, bytes);
        }
    }
    let mut files = Vec::new();
    let chisel_yaml = contents.remove("chisel.yaml").ok_or_else(|| {
        bad(format!(
            "it holds no chisel.yaml in its top folder{}: it is not a release",
            top.map(|top| format!(" {top:?}")).unwrap_or_default()
        ))
    })?;
    files.push(SourceFile {
        path: "chisel.yaml".to_owned(),
        bytes: Cow::Owned(chisel_yaml),
    });
    for (path, bytes) in contents {
        if path.starts_with("slices/") && path.ends_with(".yaml") {
            files.push(SourceFile {
                path,
                bytes: Cow::Owned(bytes),
            });
        }
    }
    Ok((commit, files))
}

/// A tar name as (top folder, path inside it): `None` for a name that climbs out or is
/// absolute; the path is `None` for the folder itself.
fn release_path(name: &str) -> Option<(String, Option<String>)> {
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            part => parts.push(part),
        }
    }
    if name.starts_with('/') || parts.is_empty() {
        return None;
    }
    let folder = parts.remove(0).to_owned();
    Some((folder, (!parts.is_empty()).then(|| parts.join("/"))))
}

/// A symlink's target, relative to the release folder: `None` when it leaves it.
fn resolve_symlink(path: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = path.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

    /// A gzip tarball as GitHub makes them: a global header naming the commit, then `entries`
    /// ((name, content or link target, kind)).
    fn tarball(entries: &[(&str, &str, tar::EntryType)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let record = format!("comment={COMMIT}");
        let pax = format!("{} {record}\n", record.len() + 4);
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::XGlobalHeader);
        header.set_size(pax.len() as u64);
        header.set_path("pax_global_header").unwrap();
        header.set_cksum();
        builder.append(&header, pax.as_bytes()).unwrap();
        for (name, content, kind) in entries {
            // Names and link targets go in raw: the tar crate refuses to write `..`, which is
            // what some of these tests are about.
            let mut header = tar::Header::new_old();
            header.set_entry_type(*kind);
            header.set_mode(0o644);
            let old = header.as_old_mut();
            old.name[..name.len()].copy_from_slice(name.as_bytes());
            let body = match kind {
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    old.linkname[..content.len()].copy_from_slice(content.as_bytes());
                    ""
                }
                _ => content,
            };
            header.set_size(body.len() as u64);
            header.set_cksum();
            builder.append(&header, body.as_bytes()).unwrap();
        }
        let tar = builder.into_inner().unwrap();
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&tar).unwrap();
        encoder.finish().unwrap()
    }

    /// (name, content or link target, kind) of one tar entry.
    type Entry = (&'static str, &'static str, tar::EntryType);

    const FILE: tar::EntryType = tar::EntryType::Regular;
    const DIR: tar::EntryType = tar::EntryType::Directory;

    fn release_entries() -> Vec<Entry> {
        vec![
            ("top/", "", DIR),
            ("top/chisel.yaml", "format: v1\n", FILE),
            ("top/slices/", "", DIR),
            ("top/slices/a.yaml", "package: a\n", FILE),
            ("top/README.md", "not part of a release\n", FILE),
        ]
    }

    fn paths(files: &[SourceFile]) -> Vec<&str> {
        files.iter().map(|file| file.path.as_str()).collect()
    }

    #[test]
    fn references_are_parsed_and_bad_ones_refused() {
        let parsed = ReleaseSource::resolve("chisel-releases:ubuntu-24.04@ABCDEF0").unwrap();
        assert_eq!(parsed.origin(), "chisel-releases:ubuntu-24.04@abcdef0");
        for bad in [
            "chisel-releases:",
            "chisel-releases:../x",
            "chisel-releases:a b",
            "chisel-releases:main@xyz1234",
            "chisel-releases:main@abc",
        ] {
            assert_eq!(
                ReleaseSource::resolve(bad).unwrap_err().to_string(),
                format!("invalid --release \"{bad}\": expected chisel-releases:BRANCH or chisel-releases:BRANCH@COMMIT (a branch name, and a commit of 7 to 40 hexadecimal digits)")
            );
        }
    }

    #[test]
    fn a_tarball_gives_the_release_files_and_its_commit() {
        let mut entries = release_entries();
        entries.push((
            "top/slices/b.yaml",
            "../slices/a.yaml",
            tar::EntryType::Symlink,
        ));
        let (commit, files) = read_release_tarball("u", &tarball(&entries)).unwrap();
        assert_eq!(commit.as_deref(), Some(COMMIT));
        assert_eq!(
            paths(&files),
            ["chisel.yaml", "slices/a.yaml", "slices/b.yaml"]
        );
        assert_eq!(&*files[2].bytes, b"package: a\n");
    }

    #[test]
    fn hostile_or_foreign_tarballs_are_refused() {
        let cases: Vec<(Vec<Entry>, &str)> =
            vec![
            (
                vec![("top/chisel.yaml", "x", FILE), ("top/../../etc/x", "x", FILE)],
                "entry \"top/../../etc/x\" leaves the release folder",
            ),
            (
                vec![
                    ("top/chisel.yaml", "x", FILE),
                    ("top/slices/evil.yaml", "../../../etc/passwd", tar::EntryType::Symlink),
                ],
                "slices/evil.yaml is a link to \"../../../etc/passwd\", outside the release folder",
            ),
            (
                vec![("top/chisel.yaml", "x", FILE), ("other/y", "x", FILE)],
                "entries in two top folders, \"top\" and \"other\"",
            ),
            (
                vec![("top/README.md", "x", FILE)],
                "it holds no chisel.yaml in its top folder \"top\": it is not a release",
            ),
        ];
        for (entries, reason) in cases {
            assert_eq!(
                read_release_tarball("http://x/t.tar.gz", &tarball(&entries))
                    .unwrap_err()
                    .to_string(),
                format!("the release tarball http://x/t.tar.gz is not usable: {reason}")
            );
        }
        assert_eq!(
            read_release_tarball("u", b"not gzip").unwrap_err().to_string(),
            "the release tarball u is not usable: it is not gzip-compressed (a .tar.gz was expected)"
        );
    }

    #[test]
    fn a_branch_is_fetched_kept_for_offline_use_and_a_missing_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        fs_err::create_dir_all(site.join("refs/heads")).unwrap();
        fs_err::write(
            site.join("refs/heads/ubuntu-24.04.tar.gz"),
            tarball(&release_entries()),
        )
        .unwrap();
        let settings = CatalogSettings {
            cache_dir: dir.path().join("cache"),
            offline: false,
            chisel_releases_url: format!("file://{}/", site.display()),
            fetch: FetchOptions::default(),
        };
        let source = ReleaseSource::resolve("chisel-releases:ubuntu-24.04").unwrap();
        let (origin, files) = source.files(&settings).unwrap();
        assert_eq!(origin, format!("chisel-releases:ubuntu-24.04@{COMMIT}"));
        assert_eq!(paths(&files), ["chisel.yaml", "slices/a.yaml"]);

        fs_err::remove_dir_all(&site).unwrap();
        let offline = CatalogSettings {
            offline: true,
            ..settings.clone()
        };
        assert_eq!(source.files(&offline).unwrap().1.len(), 2);

        let missing = ReleaseSource::resolve("chisel-releases:ubuntu-99.04").unwrap();
        assert_eq!(
            missing.files(&settings).unwrap_err().to_string(),
            format!(
                "chisel-releases has no branch \"ubuntu-99.04\": file://{}/refs/heads/ubuntu-99.04.tar.gz was not found (HTTP 404)",
                site.display()
            )
        );
        assert_eq!(
            missing.files(&offline).unwrap_err().to_string(),
            "offline: the release chisel-releases:ubuntu-99.04 is not in the cache; fetch it once without --offline"
        );
    }
}
