//! `kerf verify`: is a root still what its manifest says it is?
//!
//! Every path the manifest records must be there with its type, mode, size, content (the
//! `final_sha256` where a mutate script changed the file) or link target, and paths in one
//! hard-link group must still share an inode. Under every recorded directory, whatever the
//! manifest does not record is extra. The manifest files themselves (they cannot hold their own
//! digest) are checked for presence only, and `/var/lib/dpkg/status.d/`, which `cut
//! --dpkg-status` writes beside the manifest, is not counted as extra.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::digest::{Algorithm, Hasher};
use crate::extract::root::{RelPath, Root, RootError};
use crate::manifest::{Manifest, ManifestPath, ReadError};

/// One way the root differs from its manifest.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Finding {
    pub(crate) path: String,
    pub(crate) problem: Problem,
}

/// How a path differs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, thiserror::Error)]
pub(crate) enum Problem {
    #[error("missing")]
    Missing,
    #[error("is a {found}, the manifest records a {expected}")]
    Kind {
        expected: &'static str,
        found: &'static str,
    },
    #[error("mode {found:04o}, the manifest records {expected:04o}")]
    Mode { expected: u32, found: u32 },
    #[error("{found} bytes, the manifest records {expected}")]
    Size { expected: u64, found: u64 },
    #[error("content changed: SHA-256 {found}, the manifest records {expected}")]
    Content { expected: String, found: String },
    #[error("links to {found}, the manifest records {expected}")]
    Link { expected: String, found: String },
    #[error("no longer a hard link of {expected} (the manifest groups them)")]
    HardLink { expected: String },
    #[error("extra: not in the manifest")]
    Extra,
}

/// What `verify` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Report {
    /// Paths the manifest records.
    pub(crate) checked: usize,
    pub(crate) findings: Vec<Finding>,
}

/// Why a root could not be verified at all.
#[derive(Debug, thiserror::Error)]
pub(crate) enum VerifyError {
    #[error("{} has no manifest at {manifest}: kerf verify checks a root against the manifest a `generate: manifest` slice writes; cut base-files_chisel into the root", root.display())]
    NoManifest { root: PathBuf, manifest: String },
    #[error(transparent)]
    Manifest(#[from] ReadError),
    #[error(transparent)]
    Root(#[from] RootError),
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl VerifyError {
    /// Whether the user's input is at fault (exit status 1) rather than the machine.
    pub(crate) fn is_user_error(&self) -> bool {
        match self {
            VerifyError::NoManifest { .. } | VerifyError::Manifest(_) => true,
            VerifyError::Root(_) | VerifyError::Read { .. } => false,
        }
    }
}

/// Checks the root at `dir` against its manifest at `manifest` (a path in the root).
pub(crate) fn verify(dir: &Path, manifest: &str) -> Result<Report, VerifyError> {
    let root = Root::open(dir)?;
    let found = root
        .lookup(manifest)?
        .filter(|found| found.metadata.is_file())
        .ok_or_else(|| VerifyError::NoManifest {
            root: dir.to_owned(),
            manifest: manifest.to_owned(),
        })?;
    let manifest = Manifest::read_file(&found.host)?;
    let generated: BTreeSet<&str> = manifest
        .paths
        .keys()
        .filter(|path| path.ends_with("/manifest.wall"))
        .map(String::as_str)
        .collect();
    let mut findings = Vec::new();
    // Manifest inode group → the first path of the group and its host inode.
    let mut groups: BTreeMap<u64, (String, (u64, u64))> = BTreeMap::new();
    for (path, recorded) in &manifest.paths {
        let Some(relative) = RelPath::new(path.trim_end_matches('/')) else {
            continue;
        };
        let Some(metadata) = root.metadata(&relative)? else {
            findings.push(Finding {
                path: path.clone(),
                problem: Problem::Missing,
            });
            continue;
        };
        let problem = if generated.contains(path.as_str()) {
            None
        } else {
            check_path(&root, &relative, recorded, &metadata)?
        };
        if let Some(problem) = problem {
            findings.push(Finding {
                path: path.clone(),
                problem,
            });
            continue;
        }
        if recorded.inode != 0 {
            let inode = (metadata.dev(), metadata.ino());
            match groups.get(&recorded.inode) {
                None => {
                    groups.insert(recorded.inode, (path.clone(), inode));
                }
                Some((first, seen)) if *seen != inode => findings.push(Finding {
                    path: path.clone(),
                    problem: Problem::HardLink {
                        expected: first.clone(),
                    },
                }),
                Some(_) => {}
            }
        }
    }
    findings.extend(extras(&root, &manifest)?);
    findings.sort();
    Ok(Report {
        checked: manifest.paths.len(),
        findings,
    })
}

/// What differs at one recorded path that exists.
fn check_path(
    root: &Root,
    relative: &RelPath,
    recorded: &ManifestPath,
    metadata: &std::fs::Metadata,
) -> Result<Option<Problem>, VerifyError> {
    let expected = if recorded.path.ends_with('/') {
        "directory"
    } else if recorded.link.is_some() {
        "symlink"
    } else {
        "file"
    };
    let file_type = metadata.file_type();
    let found = if file_type.is_dir() {
        "directory"
    } else if file_type.is_symlink() {
        "symlink"
    } else if file_type.is_file() {
        "file"
    } else {
        "special file"
    };
    if expected != found {
        return Ok(Some(Problem::Kind { expected, found }));
    }
    let host = root.host_path(relative)?;
    if let Some(link) = &recorded.link {
        let target = fs_err::read_link(&host).map_err(|source| VerifyError::Read {
            path: host.clone(),
            source,
        })?;
        let target = target.to_string_lossy().into_owned();
        return Ok((target != *link).then(|| Problem::Link {
            expected: link.clone(),
            found: target,
        }));
    }
    let mode = metadata.permissions().mode() & 0o7777;
    if mode != recorded.mode {
        return Ok(Some(Problem::Mode {
            expected: recorded.mode,
            found: mode,
        }));
    }
    if found == "directory" {
        return Ok(None);
    }
    if metadata.len() != recorded.size {
        return Ok(Some(Problem::Size {
            expected: recorded.size,
            found: metadata.len(),
        }));
    }
    let Some(expected) = recorded.final_sha256.as_ref().or(recorded.sha256.as_ref()) else {
        return Ok(None);
    };
    let actual = sha256_of(&host)?;
    Ok((actual != *expected).then(|| Problem::Content {
        expected: expected.clone(),
        found: actual,
    }))
}

fn sha256_of(path: &Path) -> Result<String, VerifyError> {
    let read_error = |source| VerifyError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = fs_err::File::open(path).map_err(read_error)?;
    let mut hasher = Hasher::new(&[Algorithm::Sha256]);
    let mut buffer = vec![0; 256 << 10];
    loop {
        let read = file.read(&mut buffer).map_err(read_error)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finish().sha256_hex().expect("asked for SHA-256"))
}

/// The entries of recorded directories that the manifest does not record: neither a path of
/// it nor a directory on the way to one.
fn extras(root: &Root, manifest: &Manifest) -> Result<Vec<Finding>, VerifyError> {
    let mut known: BTreeSet<String> = BTreeSet::new();
    for path in manifest.paths.keys() {
        let trimmed = path.trim_end_matches('/');
        known.insert(trimmed.to_owned());
        let mut at = trimmed;
        while let Some((parent, _)) = at.rsplit_once('/') {
            if parent.is_empty() || !known.insert(parent.to_owned()) {
                break;
            }
            at = parent;
        }
    }
    let mut found = Vec::new();
    for path in manifest.paths.keys().filter(|path| path.ends_with('/')) {
        let dir = path.trim_end_matches('/');
        let Some(relative) = RelPath::new(dir) else {
            continue;
        };
        let host = root.host_path(&relative)?;
        let Ok(entries) = fs_err::read_dir(&host) else {
            continue;
        };
        for entry in entries {
            let entry = entry.map_err(|source| VerifyError::Read {
                path: host.clone(),
                source,
            })?;
            let child = format!("{dir}/{}", entry.file_name().to_string_lossy());
            // What `cut --dpkg-status` adds beside what the manifest records.
            let status_dir = format!("{}/", crate::dpkg_status::STATUS_DIR);
            let is_status = status_dir.starts_with(&format!("{child}/"));
            if known.contains(&child) || is_status {
                continue;
            }
            let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
            found.push(Finding {
                path: if is_dir { format!("{child}/") } else { child },
                problem: Problem::Extra,
            });
        }
    }
    Ok(found)
}
