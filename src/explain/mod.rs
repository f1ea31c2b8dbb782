//! Why a root holds what it holds, and what each part costs: `kerf tree`, `kerf tree --why`,
//! `kerf report`, and the largest packages in the summary of a cut.
//!
//! Sizes come from what a cut installed: the manifest of a cut root (`base-files_chisel`), or
//! the record of a cut kerf has just made. Each regular file counts once, for one slice (the
//! first of the slices that list it, by name), so slices add up to their packages and packages
//! to the root. The shape (which slice needed which) comes from the release: the essential
//! closure of the requested slices, for one architecture.

pub(crate) mod footprint;
pub(crate) mod report;
pub(crate) mod tree;

use std::path::{Path, PathBuf};

use crate::extract::root::{Root, RootError};
use crate::manifest::{Manifest, ReadError};
use crate::release::SliceKey;
use crate::resolve::SelectError;
use crate::sbom::MANIFEST_PATH;

/// Why a root or a question about it could not be explained.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExplainError {
    #[error("{} has no manifest at {MANIFEST_PATH}: kerf reads the sizes and slices of a root from the manifest a cut writes for a `generate: manifest` slice; cut base-files_chisel (in the bundled releases and in chisel-releases) into the root too", root.display())]
    NoManifest { root: PathBuf },
    #[error(transparent)]
    Manifest(#[from] ReadError),
    #[error(transparent)]
    Root(#[from] RootError),
    #[error(transparent)]
    Select(#[from] SelectError),
    #[error("--why {name}: no slice or package of that name in the release{}", suggest(.suggestions))]
    UnknownName {
        name: String,
        suggestions: Vec<String>,
    },
    #[error("--why {name}: it is in the release, but none of the requested slices ({}) needs it", requested.join(", "))]
    NotNeeded {
        name: String,
        requested: Vec<String>,
    },
    #[error("--why {path}: no selected slice installs that path{}", suggest(.suggestions))]
    UnknownPath {
        path: String,
        suggestions: Vec<String>,
    },
    #[error("{} was not cut with {} (its manifest does not list {}); leave out --root to measure slices the root does not hold", root.display(), missing.join(", "), if missing.len() == 1 { "it" } else { "them" })]
    NotInRoot { root: PathBuf, missing: Vec<String> },
    #[error("the root's manifest lists no slice; nothing to show (was it cut with slices that install nothing?)")]
    NothingRequested,
    #[error(transparent)]
    OsRelease(#[from] crate::sbom::os_release::OsReleaseError),
    #[error("cannot serialise the report's data: {0}")]
    Json(#[from] serde_json::Error),
    /// From `fs_err`, whose message names the path.
    #[error(transparent)]
    File(#[from] std::io::Error),
}

impl ExplainError {
    /// Whether the user's input is at fault (exit status 1) rather than the machine.
    pub(crate) fn is_user_error(&self) -> bool {
        !matches!(
            self,
            ExplainError::Root(_) | ExplainError::Json(_) | ExplainError::File(_)
        )
    }
}

fn suggest(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!(" (did you mean {one}?)"),
        many => format!(" (did you mean one of {}?)", many.join(", ")),
    }
}

/// The manifest of the cut root at `dir`, or an error naming the slice that writes it.
pub(crate) fn read_manifest(dir: &Path) -> Result<(Root, Manifest), ExplainError> {
    let root = Root::open(dir)?;
    let host = match root.lookup(MANIFEST_PATH)? {
        Some(found) if found.metadata.is_file() => found.host,
        _ => {
            return Err(ExplainError::NoManifest {
                root: dir.to_owned(),
            })
        }
    };
    let manifest = Manifest::read_file(&host)?;
    Ok((root, manifest))
}

/// The slices of `slices` that no other of them needs: what was asked for, as far as the root
/// can tell (a slice asked for that another one also needs is implied anyway).
pub(crate) fn top_level<'s>(
    release: &crate::release::Release,
    slices: impl Iterator<Item = &'s SliceKey> + Clone,
) -> Vec<SliceKey> {
    let mut needed = std::collections::BTreeSet::new();
    for key in slices.clone() {
        if let Some(slice) = release
            .packages
            .get(&key.package)
            .and_then(|package| package.slices.get(&key.slice))
        {
            needed.extend(slice.essential.keys().filter(|essential| *essential != key));
        }
    }
    let mut top: Vec<SliceKey> = slices
        .filter(|key| !needed.contains(key))
        .cloned()
        .collect();
    top.sort();
    top.dedup();
    top
}

#[cfg(test)]
mod tests;
