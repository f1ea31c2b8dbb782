//! Extending a root that was already cut: its manifest says what is there, so a later cut
//! treats those slices as selected, writes only what the union changes, and rewrites the
//! manifest for the union. The same model upgrades a root (`--upgrade`) and writes the change
//! alone as a directory to lay over the old root (`--delta`).
//!
//! A cut works per package: a package is *touched* when the cut adds a slice of it, or when
//! `--upgrade` finds another version of it than the root's. Touched packages go through the
//! whole pipeline (every selected slice of them is extracted again, their scripts run, their
//! `until: mutate` paths go); the others are not fetched, and their manifest records are kept.
//! Extraction leaves a file that is already there with the same content alone (see
//! [`Root::write_file`]), so an unchanged file is not rewritten.
//!
//! Interruption: before the first write, the manifest loses the records of the paths the cut
//! may change (renamed into place), so at every moment it describes only files that are there
//! as it says; the final manifest is the cut's last write. A rerun reads that reduced manifest:
//! its slices and packages are still listed, so it does the same work again and completes it.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use crate::archive::select::ChosenPackage;
use crate::archive::version::Version;
use crate::extract::root::{RelPath, Root, RootError};
use crate::extract::{Installed, InstalledKind};
use crate::manifest::{Manifest, ManifestPackage, ManifestPath, ReadError};
use crate::release::{Arch, Generate, PathKind, Release, SliceKey};
use crate::resolve::Selection;

/// What the user asked about an existing root, validated before any I/O.
#[derive(Clone, Debug, Default)]
pub(crate) struct ExtendOptions {
    /// Ignore the root's manifest (unreadable, or of another release or architecture) and
    /// write a new one that lists this cut alone.
    pub(crate) force_manifest: bool,
    /// Move the root's packages to the versions the archive offers now.
    pub(crate) upgrade: bool,
    /// Also write what this cut created or changed here (a directory made whole, then renamed).
    pub(crate) delta: Option<PathBuf>,
}

/// Why a root cannot be extended (or a delta written).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExtendError {
    #[error("the root's manifest cannot be read: {source}; --force-manifest starts a new manifest that lists only this cut")]
    Unreadable { source: ReadError },
    #[error("the root's manifest {manifest} lists slice {slice}, which this release does not define: the root was cut from another release; --force-manifest starts a new manifest that lists only this cut")]
    UnknownSlice { manifest: String, slice: SliceKey },
    #[error("the root's manifest {manifest} lists package {package} for architecture {found}, and this cut is for {expected}: the root was cut for another architecture; --force-manifest starts a new manifest that lists only this cut")]
    OtherArch {
        manifest: String,
        package: String,
        found: String,
        expected: String,
    },
    #[error("the root's manifest {manifest} lists package {package} {installed}, newer than the {offered} the release's archives offer: the root was cut from another release; --force-manifest starts a new manifest that lists only this cut")]
    Newer {
        manifest: String,
        package: String,
        installed: String,
        offered: String,
    },
    #[error("package {package} is {installed} in the root and {offered} in the archive: slice {slice} cannot be added from another version of the package than the root's; add it with --upgrade, which moves the root's packages to the archive's versions")]
    VersionMoved {
        package: String,
        installed: String,
        offered: String,
        slice: SliceKey,
    },
    #[error("--upgrade needs the root's manifest ({expected}), and {} has none: cut base-files_chisel into a root to upgrade it later", root.display())]
    NothingToUpgrade { root: PathBuf, expected: String },
    #[error("cannot write the delta {}: {reason}", path.display())]
    Delta { path: PathBuf, reason: String },
    #[error(transparent)]
    Root(#[from] RootError),
}

impl ExtendError {
    /// Whether the user's root or flags are at fault (exit status 1).
    pub(crate) fn is_user_error(&self) -> bool {
        match self {
            ExtendError::Unreadable { .. }
            | ExtendError::UnknownSlice { .. }
            | ExtendError::OtherArch { .. }
            | ExtendError::Newer { .. }
            | ExtendError::VersionMoved { .. }
            | ExtendError::NothingToUpgrade { .. } => true,
            ExtendError::Delta { .. } | ExtendError::Root(_) => false,
        }
    }
}

/// Boxed: the facts these errors carry would make every cut's result large.
impl From<ExtendError> for super::CutError {
    fn from(error: ExtendError) -> super::CutError {
        super::CutError::Extend(Box::new(error))
    }
}

/// The manifest a root already has.
#[derive(Clone, Debug)]
pub(crate) struct Previous {
    /// Its in-root path.
    pub(crate) location: String,
    pub(crate) manifest: Manifest,
}

/// Where the release's `generate: manifest` slices write the manifest, in path order.
fn manifest_locations(release: &Release) -> BTreeSet<String> {
    release
        .packages
        .values()
        .flat_map(|package| package.slices.values())
        .flat_map(|slice| slice.contents.iter())
        .filter(|(_, info)| {
            info.kind == PathKind::Generate && info.generate == Some(Generate::Manifest)
        })
        .map(|(path, _)| format!("{}manifest.wall", path.trim_end_matches("**")))
        .collect()
}

/// Reads the manifest of the root at `dir`, if it has one where the release's manifest slices
/// put it, and checks that this release and architecture can extend it. `None`: no manifest
/// (or `--force-manifest`), so the cut is a plain one.
pub(crate) fn read_previous(
    release: &Release,
    dir: &Path,
    options: &ExtendOptions,
    arch: Arch,
) -> Result<Option<Previous>, ExtendError> {
    let locations = manifest_locations(release);
    let found = if dir.is_dir() {
        let root = Root::open(dir)?;
        let mut found = None;
        for location in &locations {
            if let Some(file) = root
                .lookup(location)?
                .filter(|file| file.metadata.is_file())
            {
                found = Some((location.clone(), file.host));
                break;
            }
        }
        found
    } else {
        None
    };
    let Some((location, host)) = found else {
        if options.upgrade {
            return Err(ExtendError::NothingToUpgrade {
                root: dir.to_owned(),
                expected: locations.into_iter().collect::<Vec<_>>().join(", "),
            });
        }
        return Ok(None);
    };
    if options.force_manifest {
        return Ok(None);
    }
    let manifest =
        Manifest::read_file(&host).map_err(|source| ExtendError::Unreadable { source })?;
    for slice in &manifest.slices {
        let defined = release
            .packages
            .get(&slice.package)
            .is_some_and(|package| package.slices.contains_key(&slice.slice));
        if !defined {
            return Err(ExtendError::UnknownSlice {
                manifest: location,
                slice: slice.clone(),
            });
        }
    }
    for package in &manifest.packages {
        if package.arch != "all" && package.arch != arch.as_str() {
            return Err(ExtendError::OtherArch {
                manifest: location,
                package: package.name.clone(),
                found: package.arch.clone(),
                expected: arch.as_str().to_owned(),
            });
        }
    }
    Ok(Some(Previous { location, manifest }))
}

/// The slices a cut selects: those the root's manifest lists, then the new ones.
pub(crate) fn requested(previous: Option<&Previous>, new: &[SliceKey]) -> Vec<SliceKey> {
    let mut all: Vec<SliceKey> = previous
        .map(|previous| previous.manifest.slices.iter().cloned().collect())
        .unwrap_or_default();
    for key in new {
        if !all.contains(key) {
            all.push(key.clone());
        }
    }
    all
}

/// A package `--upgrade` moved to another version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Upgrade {
    pub(crate) package: String,
    pub(crate) from: String,
    pub(crate) to: String,
    /// Its selected slices, all extracted again.
    pub(crate) slices: Vec<SliceKey>,
}

/// What an extension did, for the summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Extension {
    /// The manifest that was read and rewritten.
    pub(crate) manifest: String,
    /// Slices the root had.
    pub(crate) kept: usize,
    /// Slices this cut added (the new ones and their essentials).
    pub(crate) added: Vec<SliceKey>,
    pub(crate) upgraded: Vec<Upgrade>,
    /// Packages the archive has another version of, left as they are (no `--upgrade`):
    /// (package, root's version, archive's version).
    pub(crate) behind: Vec<(String, String, String)>,
    /// Paths that were the root's and are no longer any selected slice's (an upgraded package
    /// that dropped them): removed from the root, and not expressible in a delta.
    pub(crate) removed: Vec<String>,
}

/// The delta directory a cut wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Delta {
    pub(crate) dir: PathBuf,
    /// Paths written into it (ancestors made for them not counted).
    pub(crate) paths: usize,
}

/// What a cut does to a root: which packages it works on, from what the root had.
pub(crate) struct Plan {
    previous: Option<Previous>,
    touched: BTreeSet<String>,
    added: Vec<SliceKey>,
    upgraded: Vec<Upgrade>,
    behind: Vec<(String, String, String)>,
    /// Paths of the previous manifest that no selected slice installs any more.
    stale: Vec<String>,
    /// With `--delta`: what the root held before the cut, to find what it created or changed.
    before: Option<BTreeMap<String, Stamp>>,
}

impl Plan {
    /// Decides which packages the cut touches. `chosen` are the packages of the whole
    /// selection, as the package source (the archives) offers them.
    pub(crate) fn new(
        previous: Option<Previous>,
        selection: &Selection<'_>,
        chosen: &[ChosenPackage],
        options: &ExtendOptions,
    ) -> Result<Plan, ExtendError> {
        let mut plan = Plan {
            touched: chosen
                .iter()
                .map(|package| package.info.name.clone())
                .collect(),
            previous: None,
            added: Vec::new(),
            upgraded: Vec::new(),
            behind: Vec::new(),
            stale: Vec::new(),
            before: None,
        };
        let Some(previous) = previous else {
            return Ok(plan);
        };
        plan.touched.clear();
        let had = &previous.manifest.slices;
        plan.added = selection
            .slices
            .iter()
            .map(|slice| slice.key())
            .filter(|key| !had.contains(key))
            .collect();
        plan.touched = plan.added.iter().map(|key| key.package.clone()).collect();
        let installed: BTreeMap<&str, &ManifestPackage> = previous
            .manifest
            .packages
            .iter()
            .map(|package| (package.name.as_str(), package))
            .collect();
        for package in chosen {
            let name = package.info.name.as_str();
            let Some(old) = installed.get(name) else {
                continue;
            };
            let offered = &package.info.version;
            if &old.version == offered {
                continue;
            }
            let newer = match (Version::parse(&old.version), Version::parse(offered)) {
                (Ok(old), Ok(offered)) => old > offered,
                _ => false,
            };
            if newer {
                return Err(ExtendError::Newer {
                    manifest: previous.location.clone(),
                    package: name.to_owned(),
                    installed: old.version.clone(),
                    offered: offered.clone(),
                });
            }
            if options.upgrade {
                plan.touched.insert(name.to_owned());
                plan.upgraded.push(Upgrade {
                    package: name.to_owned(),
                    from: old.version.clone(),
                    to: offered.clone(),
                    slices: selection
                        .slices
                        .iter()
                        .filter(|slice| slice.package == name)
                        .map(|slice| slice.key())
                        .collect(),
                });
            } else if let Some(slice) = plan.added.iter().find(|key| key.package == name) {
                return Err(ExtendError::VersionMoved {
                    package: name.to_owned(),
                    installed: old.version.clone(),
                    offered: offered.clone(),
                    slice: slice.clone(),
                });
            } else {
                plan.behind
                    .push((name.to_owned(), old.version.clone(), offered.clone()));
            }
        }
        plan.previous = Some(previous);
        Ok(plan)
    }

    /// The part of `selection` the cut works on: the slices of the touched packages.
    pub(crate) fn selection<'r>(&self, selection: &Selection<'r>) -> Selection<'r> {
        Selection {
            release: selection.release,
            arch: selection.arch,
            slices: selection
                .slices
                .iter()
                .copied()
                .filter(|slice| self.touched.contains(&slice.package))
                .collect(),
            prefer_winners: selection.prefer_winners.clone(),
        }
    }

    /// The touched packages among `chosen`, in its order.
    pub(crate) fn packages(&self, chosen: &[ChosenPackage]) -> Vec<ChosenPackage> {
        chosen
            .iter()
            .filter(|package| self.touched.contains(&package.info.name))
            .cloned()
            .collect()
    }

    /// The touched packages' scripts among `scripts`.
    pub(crate) fn scripts(
        &self,
        scripts: Vec<crate::mutate::Script>,
    ) -> Vec<crate::mutate::Script> {
        scripts
            .into_iter()
            .filter(|script| self.touched.contains(&script.slice.package))
            .collect()
    }

    fn is_touched(&self, key: &SliceKey) -> bool {
        self.touched.contains(&key.package)
    }

    /// Before the first write into the root: the manifest loses the records of the paths the
    /// cut may rewrite, so that, whenever the cut is stopped, it lists only what is there as
    /// it says. With `--delta`, what `status.d` holds is noted.
    pub(crate) fn prepare(
        &mut self,
        root: &Root,
        options: &ExtendOptions,
    ) -> Result<(), ExtendError> {
        if options.delta.is_some() {
            self.before = Some(stamps(root)?);
        }
        let Some(previous) = &self.previous else {
            return Ok(());
        };
        let mut reduced = previous.manifest.clone();
        reduced
            .paths
            .retain(|_, record| !record.slices.iter().any(|key| self.is_touched(key)));
        if reduced.paths.len() == previous.manifest.paths.len() {
            return Ok(());
        }
        let rel = rel_path(&previous.location)?;
        let bytes = reduced.to_bytes().map_err(|error| RootError::Io {
            action: "compress",
            path: previous.location.clone(),
            root: root.dir().to_owned(),
            source: error,
        })?;
        root.replace_file(&rel, &bytes, 0o644)?;
        Ok(())
    }

    /// The root's content after the cut: what the touched packages installed now, and the
    /// previous manifest's records of everything else (modes as they are on disk).
    pub(crate) fn merge(
        &mut self,
        root: &Root,
        mut installed: BTreeMap<String, Installed>,
    ) -> Result<BTreeMap<String, Installed>, ExtendError> {
        let Some(previous) = &self.previous else {
            return Ok(installed);
        };
        let by_spelling: BTreeMap<String, String> = installed
            .iter()
            .map(|(key, item)| (manifest_spelling(item), key.clone()))
            .collect();
        for record in previous.manifest.paths.values() {
            if is_generated(record) {
                continue;
            }
            let kept: BTreeSet<SliceKey> = record
                .slices
                .iter()
                .filter(|key| !self.is_touched(key))
                .cloned()
                .collect();
            if let Some(item) = by_spelling
                .get(&record.path)
                .and_then(|key| installed.get_mut(key))
            {
                item.slices.extend(kept);
                continue;
            }
            if kept.is_empty() {
                self.stale.push(record.path.clone());
                continue;
            }
            let item = installed_from_record(root, record, kept)?;
            installed.insert(record.path.clone(), item);
        }
        Ok(installed)
    }

    /// Removes the paths no selected slice installs any more (a package `--upgrade` moved to a
    /// version without them): files and links, and directories left empty.
    pub(crate) fn remove_stale(&self, root: &Root) -> Result<(), ExtendError> {
        let mut stale = self.stale.clone();
        // Files before directories, deeper directories before their parents.
        stale.sort_by_key(|path| {
            (
                path.ends_with('/'),
                std::cmp::Reverse(path.matches('/').count()),
            )
        });
        for path in &stale {
            let rel = rel_path(path)?;
            if root.metadata(&rel)?.is_none() {
                continue;
            }
            match root.remove(&rel) {
                Ok(()) => {}
                // A directory something else still lives in stays.
                Err(_) if path.ends_with('/') => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    /// The manifest's packages: the previous ones this cut did not touch, and the touched ones
    /// as they are now.
    pub(crate) fn manifest_packages(&self, touched: Vec<ManifestPackage>) -> Vec<ManifestPackage> {
        let Some(previous) = &self.previous else {
            return touched;
        };
        let mut packages: Vec<ManifestPackage> = previous
            .manifest
            .packages
            .iter()
            .filter(|package| !self.touched.contains(&package.name))
            .cloned()
            .collect();
        packages.extend(touched);
        packages.sort_by(|a, b| a.name.cmp(&b.name));
        packages
    }

    /// After the final manifest: the delta, when asked for, and what the summary says.
    pub(crate) fn finish(
        self,
        root: &Root,
        installed: &BTreeMap<String, Installed>,
        manifests: &BTreeSet<String>,
        options: &ExtendOptions,
    ) -> Result<(Option<Extension>, Option<Delta>), ExtendError> {
        let delta = match &options.delta {
            Some(dir) => {
                // What differs from the manifest read at the start (a rerun after a kill
                // finds there what the killed cut wrote), the manifests, and whatever this
                // run created or changed on disk (status.d, parents made on the way).
                let mut changed: BTreeSet<String> = installed
                    .values()
                    .filter(|item| {
                        let previous = self.previous.as_ref().and_then(|previous| {
                            previous.manifest.paths.get(&manifest_spelling(item))
                        });
                        previous.is_none_or(|record| !same_record(record, item))
                    })
                    .map(|item| item.path.clone())
                    .chain(manifests.iter().cloned())
                    .collect();
                // Directories the manifest does not describe may have been made by a cut that
                // was killed before this one (a parent whose only content `until: mutate`
                // removed): laying them over the old root again is harmless.
                let described = |path: &str| {
                    self.previous
                        .as_ref()
                        .is_some_and(|previous| previous.manifest.paths.contains_key(path))
                };
                let before = self.before.unwrap_or_default();
                for (path, stamp) in stamps(root)? {
                    let undescribed_dir = stamp.is_dir && !described(&path);
                    if undescribed_dir || before.get(&path) != Some(&stamp) {
                        changed.insert(path);
                    }
                }
                Some(write_delta(root, dir, &changed)?)
            }
            None => None,
        };
        let extension = self.previous.map(|previous| Extension {
            manifest: previous.location,
            kept: previous.manifest.slices.len(),
            added: self.added,
            upgraded: self.upgraded,
            behind: self.behind,
            removed: self.stale,
        });
        Ok((extension, delta))
    }
}

fn rel_path(path: &str) -> Result<RelPath, ExtendError> {
    RelPath::new(path).ok_or_else(|| {
        ExtendError::Root(RootError::Io {
            action: "find",
            path: path.to_owned(),
            root: PathBuf::new(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a plain path"),
        })
    })
}

/// The path as the manifest spells it: directories end in `/`, links never do.
fn manifest_spelling(item: &Installed) -> String {
    match item.kind {
        InstalledKind::Directory if !item.path.ends_with('/') => format!("{}/", item.path),
        InstalledKind::Symlink { .. } => item.path.trim_end_matches('/').to_owned(),
        _ => item.path.clone(),
    }
}

/// The record of a generated file (the manifest itself): no content of its own to keep.
fn is_generated(record: &ManifestPath) -> bool {
    !record.path.ends_with('/') && record.sha256.is_none() && record.link.is_none()
}

/// Whether the manifest record says what `item` is.
fn same_record(record: &ManifestPath, item: &Installed) -> bool {
    match &item.kind {
        InstalledKind::Directory => record.path.ends_with('/') && record.mode == item.mode & 0o1777,
        InstalledKind::Symlink { target } => record.link.as_deref() == Some(target.as_str()),
        InstalledKind::File {
            size,
            sha256,
            final_sha256,
        } => {
            record.mode == item.mode & 0o1777
                && record.sha256.as_deref() == Some(sha256.as_str())
                && record.final_sha256 == *final_sha256
                && record.size == *size
        }
    }
}

/// A previous manifest's record as the cut's model of the root; the mode is the disk's (the
/// manifest leaves out setuid and setgid).
fn installed_from_record(
    root: &Root,
    record: &ManifestPath,
    slices: BTreeSet<SliceKey>,
) -> Result<Installed, ExtendError> {
    let rel = rel_path(&record.path)?;
    let on_disk = root
        .metadata(&rel)?
        .map(|metadata| metadata.mode() & 0o7777);
    let (mode, kind) = if record.path.ends_with('/') {
        (on_disk.unwrap_or(record.mode), InstalledKind::Directory)
    } else if let Some(target) = record.link.as_ref().filter(|link| !link.is_empty()) {
        (
            0o777,
            InstalledKind::Symlink {
                target: target.clone(),
            },
        )
    } else {
        (
            on_disk.unwrap_or(record.mode),
            InstalledKind::File {
                size: record.size,
                sha256: record.sha256.clone().unwrap_or_default(),
                final_sha256: record.final_sha256.clone(),
            },
        )
    };
    Ok(Installed {
        path: record.path.clone(),
        mode,
        kind,
        slices,
        owner: None,
    })
}

/// What identifies an entry's state on disk: a write or a change of mode changes its ctime.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Stamp {
    is_dir: bool,
    inode: (u64, u64),
    size: u64,
    mode: u32,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

/// Every entry of the root (links not followed), by in-root path, directories ending in `/`.
fn stamps(root: &Root) -> Result<BTreeMap<String, Stamp>, ExtendError> {
    let mut stamps = BTreeMap::new();
    let mut pending = vec![(root.dir().to_owned(), String::new())];
    let read_error = |path: &Path, error: std::io::Error| ExtendError::Delta {
        path: path.to_owned(),
        reason: format!("cannot read the root: {error}"),
    };
    while let Some((dir, inside)) = pending.pop() {
        for entry in fs_err::read_dir(&dir).map_err(|error| read_error(&dir, error))? {
            let entry = entry.map_err(|error| read_error(&dir, error))?;
            let path = entry.path();
            let metadata =
                fs_err::symlink_metadata(&path).map_err(|error| read_error(&path, error))?;
            let name = format!("{inside}/{}", entry.file_name().to_string_lossy());
            let key = if metadata.is_dir() {
                pending.push((path, name.clone()));
                // As manifests spell directories.
                format!("{name}/")
            } else {
                name
            };
            stamps.insert(
                key,
                Stamp {
                    is_dir: metadata.is_dir(),
                    inode: (metadata.dev(), metadata.ino()),
                    size: metadata.len(),
                    mode: metadata.mode(),
                    mtime: (metadata.mtime(), metadata.mtime_nsec()),
                    ctime: (metadata.ctime(), metadata.ctime_nsec()),
                },
            );
        }
    }
    Ok(stamps)
}

/// Writes `paths` of `root` into the directory `dir`, each where the root really has it
/// (symlinked parents followed, as a layer over the old root needs), with the root's modes,
/// its parents with theirs, hard links kept. Built beside `dir` and renamed to it.
fn write_delta(root: &Root, dir: &Path, paths: &BTreeSet<String>) -> Result<Delta, ExtendError> {
    let fail = |reason: String| ExtendError::Delta {
        path: dir.to_owned(),
        reason,
    };
    let parent = match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    fs_err::create_dir_all(&parent).map_err(|error| fail(error.to_string()))?;
    let building = tempfile::Builder::new()
        .prefix(".kerf-delta-")
        .tempdir_in(&parent)
        .map_err(|error| {
            fail(format!(
                "cannot create a directory in {}: {error}",
                parent.display()
            ))
        })?;
    let delta = Root::create(building.path())?;
    // (device, inode) of a file with several links → where its first link went in the delta.
    let mut linked: BTreeMap<(u64, u64), RelPath> = BTreeMap::new();
    let mut written = 0;
    for path in paths {
        let rel = rel_path(path)?;
        let host = root.host_path(&rel)?;
        let Ok(metadata) = fs_err::symlink_metadata(&host) else {
            // Gone since (an `until: mutate` path): nothing to lay over.
            continue;
        };
        let resolved = host
            .strip_prefix(root.dir())
            .ok()
            .and_then(|inside| RelPath::new(&inside.to_string_lossy()))
            .ok_or_else(|| fail(format!("{path} resolves outside the root")))?;
        for ancestor in resolved.ancestors() {
            if delta.metadata(&ancestor)?.is_none() {
                let mode = root
                    .metadata(&ancestor)?
                    .map_or(0o755, |metadata| metadata.mode() & 0o7777);
                delta.make_dir(&ancestor, mode, true)?;
            }
        }
        let mode = metadata.mode() & 0o7777;
        let kind = metadata.file_type();
        if kind.is_dir() {
            delta.make_dir(&resolved, mode, true)?;
        } else if kind.is_symlink() {
            let target = fs_err::read_link(&host).map_err(|error| fail(error.to_string()))?;
            delta.symlink(&resolved, &target.to_string_lossy())?;
        } else if kind.is_file() {
            let inode = (metadata.dev(), metadata.ino());
            match linked.get(&inode) {
                Some(first) if metadata.nlink() > 1 => delta.hard_link(&resolved, first)?,
                _ => {
                    let mut file =
                        fs_err::File::open(&host).map_err(|error| fail(error.to_string()))?;
                    delta.write_file(&resolved, &mut file, mode)?;
                    if metadata.nlink() > 1 {
                        linked.insert(inode, resolved.clone());
                    }
                }
            }
        } else {
            continue;
        }
        written += 1;
    }
    // The directory itself gets the mode of the root's top, which a layer lays over `/`.
    let top = fs_err::metadata(root.dir()).map_err(|error| fail(error.to_string()))?;
    fs_err::set_permissions(
        building.path(),
        std::os::unix::fs::PermissionsExt::from_mode(top.mode() & 0o7777),
    )
    .map_err(|error| fail(error.to_string()))?;
    let kept = building.keep();
    if fs_err::symlink_metadata(dir).is_ok() {
        // Only an empty directory is accepted there (checked with the flags).
        fs_err::remove_dir(dir).map_err(|error| fail(error.to_string()))?;
    }
    fs_err::rename(&kept, dir).map_err(|error| fail(error.to_string()))?;
    Ok(Delta {
        dir: dir.to_owned(),
        paths: written,
    })
}

#[cfg(test)]
#[path = "extend_tests.rs"]
mod tests;
