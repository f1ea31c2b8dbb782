//! Why a release's archives could not be opened, or a package not chosen or fetched.

use std::path::PathBuf;

use super::credentials::CredentialsError;
use super::index::IndexError;
use super::select::SelectPackageError;
use crate::cache::CacheError;
use crate::openpgp::VerifyError;
use crate::transport::http::FetchError;

/// A failure of the archive layer. Each variant says itself whose fault it is
/// ([`ArchiveError::is_user_error`]); there is no catch-all.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ArchiveError {
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("archive \"{archive}\": {url}: {source}")]
    Verify {
        archive: String,
        url: String,
        source: VerifyError,
    },
    #[error("archive \"{archive}\": {url}: decompressed Packages has {algorithm} {actual}, InRelease says {expected}")]
    IndexDigest {
        archive: String,
        url: String,
        algorithm: &'static str,
        expected: String,
        actual: String,
    },
    #[error("archive \"{archive}\": cannot use public key \"{key}\": {reason}")]
    Key {
        archive: String,
        key: String,
        reason: String,
    },
    #[error("archive \"{archive}\" suite {suite}: {source}")]
    Index {
        archive: String,
        suite: String,
        // Boxed: the largest of the causes, it would widen every archive result.
        source: Box<IndexError>,
    },
    #[error("archive \"{archive}\" suite {suite}: {problem}")]
    Suite {
        archive: String,
        suite: String,
        problem: String,
    },
    #[error(transparent)]
    Package(#[from] SelectPackageError),
    #[error("offline: {0} is not in the cache; run the cut once without --offline")]
    NotCached(String),
    #[error("archive \"{archive}\": {source}")]
    Credentials {
        archive: String,
        source: CredentialsError,
    },
    #[error("archive \"{archive}\" suite {suite}: not found where the release should be, nor in the other place:\n{}\ngive its URL with --archive-url {archive}=URL", tried.iter().map(|line| format!("- {line}")).collect::<Vec<_>>().join("\n"))]
    Nowhere {
        archive: String,
        suite: String,
        /// What each place said, in the order tried.
        tried: Vec<String>,
    },
    #[error(transparent)]
    NoSnapshot(#[from] super::snapshot::NoSnapshot),
    #[error("no archive could be opened: every archive of the release was skipped")]
    NoArchive,
    #[error("cannot read the cached file {path}: {reason}")]
    CachedFile { path: PathBuf, reason: String },
}

impl ArchiveError {
    /// Whether the input or the archive said no (exit status 1), as opposed to a failure of the
    /// machine (exit status 2).
    pub(crate) fn is_user_error(&self) -> bool {
        match self {
            ArchiveError::Cache(error) => error.is_user_error(),
            ArchiveError::Fetch(error) => error.is_user_error(),
            ArchiveError::Verify { .. }
            | ArchiveError::IndexDigest { .. }
            | ArchiveError::Key { .. }
            | ArchiveError::Index { .. }
            | ArchiveError::Suite { .. }
            | ArchiveError::Package(_)
            | ArchiveError::NotCached(_)
            | ArchiveError::Credentials { .. }
            | ArchiveError::Nowhere { .. }
            | ArchiveError::NoSnapshot(_)
            | ArchiveError::NoArchive => true,
            ArchiveError::CachedFile { .. } => false,
        }
    }
}
