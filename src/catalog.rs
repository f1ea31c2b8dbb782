//! Where a release comes from: a directory, or a release bundled into the binary; and the memo
//! of releases whose exact files already passed every check, so a warm cut validates only what
//! changed.

use std::path::{Path, PathBuf};

use crate::bundled;
use crate::cache::{Cache, CacheError, CacheKey};
use crate::release::{self, Release, ReleaseErrors, SourceFile};

/// What `--release` names, decided before anything is read.
#[derive(Clone, Debug)]
pub(crate) enum ReleaseSource {
    /// A release bundled into this binary, by name.
    Bundled(&'static bundled::BundledRelease),
    /// A release directory (`chisel.yaml` plus `slices/`).
    Dir(PathBuf),
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
}

impl CatalogError {
    /// Whether the user's input is at fault (exit status 1).
    pub(crate) fn is_user_error(&self) -> bool {
        match self {
            CatalogError::Unknown { .. }
            | CatalogError::Infer { .. }
            | CatalogError::Release(_) => true,
            CatalogError::Cache(error) => error.is_user_error(),
        }
    }
}

impl ReleaseSource {
    /// The release `name` stands for: a path when it looks like one or is a directory, else a
    /// bundled release.
    pub(crate) fn resolve(name: &str) -> Result<ReleaseSource, CatalogError> {
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

    /// How errors name the release: its bundled name or its path.
    pub(crate) fn origin(&self) -> String {
        match self {
            ReleaseSource::Bundled(bundled) => bundled.name.to_owned(),
            ReleaseSource::Dir(path) => path.display().to_string(),
        }
    }

    /// The release's files.
    pub(crate) fn files(&self) -> Result<Vec<SourceFile>, CatalogError> {
        match self {
            ReleaseSource::Bundled(bundled) => Ok(bundled.source_files()),
            ReleaseSource::Dir(path) => Ok(release::read_dir(path)?),
        }
    }

    /// Loads the release with every check.
    pub(crate) fn load(&self) -> Result<Release, CatalogError> {
        Ok(release::load_files(&self.origin(), &self.files()?)?)
    }

    /// Loads the release for a cut. A release whose exact files passed every check before (as
    /// the cache remembers under their fingerprint) gets only each file's own checks: the
    /// release-wide ones are most of the time a warm cut would spend on it.
    pub(crate) fn load_remembered(&self, cache_dir: &Path) -> Result<Release, CatalogError> {
        let files = self.files()?;
        let cache = Cache::open(cache_dir)?;
        let fingerprint = release::fingerprint(&files);
        let key = CacheKey::CheckedRelease {
            fingerprint: &fingerprint,
        };
        if cache.get_keyed(&key)?.is_some() {
            return Ok(release::load_files_with(
                &self.origin(),
                &files,
                release::Checks::FilesOnly,
            )?);
        }
        let loaded = release::load_files(&self.origin(), &files)?;
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
