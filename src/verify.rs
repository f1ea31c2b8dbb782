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
        if recorded.inode != 0 {
            let inode = (metadata.dev(), metadata.ino());
            match groups.get(&recorded.inode) {
                None => {
                    groups.insert(recorded.inode, (path.clone(), inode));
                }
                Some((first, seen)) if *seen != inode => {
                    findings.push(Finding {
                        path: path.clone(),
                        problem: Problem::HardLink {
                            expected: first.clone(),
                        },
                    });
                    continue;
                }
                Some(_) => {}
            }
        }
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;
    use crate::release::SliceKey;

    fn path(path: &str, mode: u32, content: Option<&str>, link: Option<&str>) -> ManifestPath {
        ManifestPath {
            path: path.to_owned(),
            mode,
            slices: BTreeSet::from([SliceKey::new("hello", "data")]),
            sha256: content.map(|text| crate::digest::sha256_hex(text.as_bytes())),
            final_sha256: None,
            size: content.map_or(0, |text| text.len() as u64),
            link: link.map(str::to_owned),
            inode: 0,
        }
    }

    /// A root as a cut leaves it, with its manifest.
    fn root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let at = |relative: &str| dir.path().join(relative);
        for (relative, mode) in [
            ("etc", 0o755),
            ("usr/bin", 0o755),
            ("var/lib/chisel", 0o755),
        ] {
            fs_err::create_dir_all(at(relative)).unwrap();
            fs_err::set_permissions(at(relative), std::fs::Permissions::from_mode(mode)).unwrap();
        }
        fs_err::write(at("etc/hello.conf"), "greeting = hi\n").unwrap();
        fs_err::write(at("usr/bin/hello"), "#!/bin/sh\necho hi\n").unwrap();
        fs_err::set_permissions(at("usr/bin/hello"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        fs_err::hard_link(at("usr/bin/hello"), at("usr/bin/hi")).unwrap();
        fs_err::os::unix::fs::symlink("hello", at("usr/bin/hey")).unwrap();
        let mut hello = path("/usr/bin/hello", 0o755, Some("#!/bin/sh\necho hi\n"), None);
        hello.inode = 1;
        let mut hi = path("/usr/bin/hi", 0o755, Some("#!/bin/sh\necho hi\n"), None);
        hi.inode = 1;
        let mut conf = path("/etc/hello.conf", 0o644, Some("greeting = hello\n"), None);
        // A mutate script rewrote it.
        conf.final_sha256 = Some(crate::digest::sha256_hex(b"greeting = hi\n"));
        conf.size = 14;
        let manifest = Manifest {
            packages: vec![crate::manifest::ManifestPackage {
                name: "hello".to_owned(),
                version: "1.0-1".to_owned(),
                sha256: "ab".repeat(32),
                arch: "amd64".to_owned(),
            }],
            slices: BTreeSet::from([SliceKey::new("hello", "data")]),
            paths: [
                path("/etc/", 0o755, None, None),
                conf,
                path("/usr/bin/", 0o755, None, None),
                hello,
                hi,
                path("/usr/bin/hey", 0o777, None, Some("hello")),
                path("/var/lib/chisel/manifest.wall", 0o644, None, None),
            ]
            .into_iter()
            .map(|recorded| (recorded.path.clone(), recorded))
            .collect(),
        };
        fs_err::write(
            at("var/lib/chisel/manifest.wall"),
            manifest.to_bytes().unwrap(),
        )
        .unwrap();
        dir
    }

    fn findings(dir: &Path) -> Vec<String> {
        verify(dir, crate::manifest::DEFAULT_PATH)
            .unwrap()
            .findings
            .iter()
            .map(|finding| format!("{}: {}", finding.path, finding.problem))
            .collect()
    }

    #[test]
    fn an_untouched_root_is_intact() {
        let dir = root();
        let report = verify(dir.path(), crate::manifest::DEFAULT_PATH).unwrap();
        assert_eq!(report.checked, 7);
        assert_eq!(report.findings, []);
    }

    #[test]
    fn every_kind_of_change_is_named() {
        let dir = root();
        let at = |relative: &str| dir.path().join(relative);
        fs_err::remove_file(at("usr/bin/hi")).unwrap();
        fs_err::copy(at("usr/bin/hello"), at("usr/bin/hi")).unwrap();
        fs_err::write(at("etc/hello.conf"), "greeting = yo\n").unwrap();
        fs_err::remove_file(at("usr/bin/hey")).unwrap();
        fs_err::os::unix::fs::symlink("/bin/sh", at("usr/bin/hey")).unwrap();
        fs_err::set_permissions(at("usr/bin/hello"), std::fs::Permissions::from_mode(0o4755))
            .unwrap();
        fs_err::write(at("usr/bin/extra"), "").unwrap();
        fs_err::create_dir(at("etc/extra.d")).unwrap();
        fs_err::create_dir_all(at("var/lib/dpkg/status.d")).unwrap();

        assert_eq!(
            findings(dir.path()),
            [
                "/etc/extra.d/: extra: not in the manifest".to_owned(),
                format!(
                    "/etc/hello.conf: content changed: SHA-256 {}, the manifest records {}",
                    crate::digest::sha256_hex(b"greeting = yo\n"),
                    crate::digest::sha256_hex(b"greeting = hi\n")
                ),
                "/usr/bin/extra: extra: not in the manifest".to_owned(),
                "/usr/bin/hello: mode 4755, the manifest records 0755".to_owned(),
                "/usr/bin/hey: links to /bin/sh, the manifest records hello".to_owned(),
                "/usr/bin/hi: no longer a hard link of /usr/bin/hello (the manifest groups them)"
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn missing_paths_and_changed_kinds_are_named() {
        let dir = root();
        let at = |relative: &str| dir.path().join(relative);
        fs_err::remove_file(at("usr/bin/hey")).unwrap();
        fs_err::remove_file(at("etc/hello.conf")).unwrap();
        fs_err::create_dir(at("etc/hello.conf")).unwrap();
        assert_eq!(
            findings(dir.path()),
            [
                "/etc/hello.conf: is a directory, the manifest records a file",
                "/usr/bin/hey: missing",
            ]
        );
    }

    #[test]
    fn a_root_without_a_manifest_says_which_slice_writes_one() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            verify(dir.path(), crate::manifest::DEFAULT_PATH)
                .unwrap_err()
                .to_string(),
            format!(
                "{} has no manifest at /var/lib/chisel/manifest.wall: kerf verify checks a root against the manifest a `generate: manifest` slice writes; cut base-files_chisel into the root",
                dir.path().display()
            )
        );
    }
}
