//! A cut from a lock (`kerf cut --locked`): the packages come from the lock, not from indexes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::{Lock, LockedArch, LockedPackage};
use crate::archive::archives::{base_form, ArchiveSettings, VerifiedDeb};
use crate::archive::index::PackageInfo;
use crate::archive::select::ChosenPackage;
use crate::archive::snapshot::SnapshotId;
use crate::digest::{Algorithm, Digest};
use crate::release::{Arch, Release};

/// A lock read from a file, named by its path in errors.
#[derive(Clone, Debug)]
pub(crate) struct LockFile {
    pub(crate) path: PathBuf,
    pub(crate) lock: Lock,
}

/// A download that is not what the lock's digest says.
#[derive(Debug, thiserror::Error)]
#[error("{}: arches.{arch}.packages ({package}).{}: {url} has {} {actual}, but the lock says {expected}; the lock was edited or is for another file: make it again with kerf lock", lock.display(), algorithm.field().to_lowercase(), algorithm.name())]
pub(crate) struct DigestMismatch {
    lock: PathBuf,
    arch: String,
    package: String,
    url: String,
    algorithm: Algorithm,
    expected: String,
    actual: String,
}

/// Why a cut cannot take its packages from the lock.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LockedCutError {
    #[error("{}: it locks architecture {locked}, not {arch}; make a lock for both with kerf lock --arch {locked},{arch}", lock.display())]
    Arch {
        lock: PathBuf,
        arch: String,
        locked: String,
    },
    #[error("{}: the slices select packages the lock does not have for {arch} ({}) or the lock has packages they do not select ({}); make the lock again with kerf lock", lock.display(), list(missing), list(extra))]
    Packages {
        lock: PathBuf,
        arch: String,
        missing: Vec<String>,
        extra: Vec<String>,
    },
    #[error("{}: package \"{package}\" comes from archive \"{archive}\", which the release does not define", lock.display())]
    Archive {
        lock: PathBuf,
        package: String,
        archive: String,
    },
    #[error(transparent)]
    Digest(Box<DigestMismatch>),
    #[error("package \"{package}\" {version} is no longer at {url} (HTTP 404): the archive has dropped that version since the lock was made. Cut from the archive as it was then with --snapshot {suggested} (its InRelease was dated {date}), or make a new lock with kerf lock")]
    Gone {
        package: String,
        version: String,
        url: String,
        date: String,
        suggested: SnapshotId,
    },
    #[error(transparent)]
    NoSnapshot(#[from] crate::archive::snapshot::NoSnapshot),
}

impl LockedCutError {
    /// All are the lock's or the archive's doing (exit status 1).
    pub(crate) fn is_user_error(&self) -> bool {
        match self {
            LockedCutError::Arch { .. }
            | LockedCutError::Packages { .. }
            | LockedCutError::Archive { .. }
            | LockedCutError::Digest(_)
            | LockedCutError::Gone { .. }
            | LockedCutError::NoSnapshot(_) => true,
        }
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// What a locked cut of one architecture takes: each package with the URL it is fetched from,
/// and per archive the base URL to try when that one has lost a package.
#[derive(Debug)]
pub(crate) struct LockedPlan<'l> {
    lock: &'l LockFile,
    arch: Arch,
    pub(crate) chosen: Vec<ChosenPackage>,
    pub(crate) fallbacks: BTreeMap<String, String>,
}

impl LockFile {
    /// The lock's packages for a cut of `packages` (the selection's) for `settings.arch`. A
    /// package is fetched from `--archive-url`'s URL for its archive, else from `--snapshot`'s,
    /// else from the URL the lock recorded; when the lock was made from a snapshot, that
    /// snapshot is the fallback.
    pub(crate) fn plan(
        &self,
        release: &Release,
        packages: &[&str],
        settings: &ArchiveSettings,
    ) -> Result<LockedPlan<'_>, LockedCutError> {
        let arch = settings.arch;
        let locked = self.for_arch(arch)?;
        self.same_packages(arch, locked, packages)?;
        let mut chosen = Vec::with_capacity(packages.len());
        let mut fallbacks = BTreeMap::new();
        for package in &locked.packages {
            let archive =
                release
                    .archives
                    .get(&package.archive)
                    .ok_or_else(|| LockedCutError::Archive {
                        lock: self.path.clone(),
                        package: package.name.clone(),
                        archive: package.archive.clone(),
                    })?;
            let suite = locked
                .suites
                .iter()
                .find(|suite| suite.archive == package.archive && suite.suite == package.suite)
                .expect("checked when the lock was read");
            let urls = &settings.snapshot_urls;
            let base = match (settings.archive_urls.get(&archive.name), settings.snapshot) {
                (Some(url), _) => base_form(url),
                (None, Some(id)) => urls.base_for(id, archive, arch)?,
                (None, None) => suite.url.clone(),
            };
            if let (Some(id), None) = (&suite.snapshot, settings.snapshot) {
                let id = SnapshotId::parse(id).expect("checked when the lock was read");
                fallbacks.insert(archive.name.clone(), urls.base_for(id, archive, arch)?);
            }
            chosen.push(chosen_package(package, &base));
        }
        // In the selection's order, which is the order files are extracted in.
        let order: BTreeMap<&str, usize> = packages
            .iter()
            .enumerate()
            .map(|(index, name)| (*name, index))
            .collect();
        chosen.sort_by_key(|package| order.get(package.info.name.as_str()).copied());
        Ok(LockedPlan {
            lock: self,
            arch,
            chosen,
            fallbacks,
        })
    }

    fn for_arch(&self, arch: Arch) -> Result<&LockedArch, LockedCutError> {
        self.lock
            .arches
            .get(arch.as_str())
            .ok_or_else(|| LockedCutError::Arch {
                lock: self.path.clone(),
                arch: arch.as_str().to_owned(),
                locked: self
                    .lock
                    .arches
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(","),
            })
    }

    fn same_packages(
        &self,
        arch: Arch,
        locked: &LockedArch,
        packages: &[&str],
    ) -> Result<(), LockedCutError> {
        let wanted: BTreeSet<&str> = packages.iter().copied().collect();
        let have: BTreeSet<&str> = locked
            .packages
            .iter()
            .map(|package| package.name.as_str())
            .collect();
        if wanted == have {
            return Ok(());
        }
        Err(LockedCutError::Packages {
            lock: self.path.clone(),
            arch: arch.as_str().to_owned(),
            missing: wanted
                .difference(&have)
                .map(|name| (*name).to_owned())
                .collect(),
            extra: have
                .difference(&wanted)
                .map(|name| (*name).to_owned())
                .collect(),
        })
    }
}

impl LockedPlan<'_> {
    /// The downloaded file has the SHA-256 the lock records (the fetch checked the lock's
    /// strongest digest; when that is SHA-512, this checks the other one too).
    pub(crate) fn check(
        &self,
        package: &ChosenPackage,
        deb: &VerifiedDeb,
    ) -> Result<(), LockedCutError> {
        let expected = self
            .locked(&package.info.name)
            .map(|locked| locked.sha256.as_str())
            .unwrap_or_default();
        if deb.sha256 == expected {
            return Ok(());
        }
        Err(LockedCutError::Digest(Box::new(DigestMismatch {
            lock: self.lock.path.clone(),
            arch: self.arch.as_str().to_owned(),
            package: package.info.name.clone(),
            url: package.url.clone(),
            algorithm: Algorithm::Sha256,
            expected: expected.to_owned(),
            actual: deb.sha256.clone(),
        })))
    }

    /// The error for a download from `url` that is not what the lock's digest says.
    pub(crate) fn mismatch(
        &self,
        url: &str,
        expected: &Digest,
        actual: &Digest,
    ) -> Option<LockedCutError> {
        let package = self.package_at(url)?;
        Some(LockedCutError::Digest(Box::new(DigestMismatch {
            lock: self.lock.path.clone(),
            arch: self.arch.as_str().to_owned(),
            package: package.info.name.clone(),
            url: url.to_owned(),
            algorithm: expected.algorithm(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        })))
    }

    /// The package fetched from `url`, first place or fallback.
    fn package_at(&self, url: &str) -> Option<&ChosenPackage> {
        self.chosen.iter().find(|package| {
            package.url == url
                || self
                    .fallbacks
                    .get(&package.archive)
                    .is_some_and(|base| format!("{base}{}", package.info.filename) == url)
        })
    }

    /// The error for a package no place has any more (`url` was not found).
    pub(crate) fn gone(&self, url: &str) -> Option<LockedCutError> {
        let package = self.package_at(url)?;
        let locked = self.locked(&package.info.name)?;
        let suites = &self.lock.lock.arches.get(self.arch.as_str())?.suites;
        let newest = suites
            .iter()
            .filter(|suite| suite.archive == locked.archive)
            .filter_map(|suite| {
                let date = crate::archive::index::parse_release_date(&suite.date)?;
                Some((date, suite.date.clone()))
            })
            .max()?;
        // The archive publishes a little after it signs: an hour later, the files are there.
        let suggested = SnapshotId::at(crate::clock::Timestamp::from_unix(newest.0 + 3600));
        Some(LockedCutError::Gone {
            package: locked.name.clone(),
            version: locked.version.clone(),
            url: package.url.clone(),
            date: newest.1,
            suggested,
        })
    }

    /// The newest `Date` of the suites the lock read, as an image's default date.
    pub(crate) fn release_date(&self) -> Option<i64> {
        self.lock
            .lock
            .arches
            .get(self.arch.as_str())?
            .suites
            .iter()
            .filter_map(|suite| crate::archive::index::parse_release_date(&suite.date))
            .max()
    }

    fn locked(&self, name: &str) -> Option<&LockedPackage> {
        self.lock
            .lock
            .arches
            .get(self.arch.as_str())?
            .packages
            .iter()
            .find(|package| package.name == name)
    }
}

/// The package as the fetch takes it: verified by its strongest locked digest.
fn chosen_package(package: &LockedPackage, base: &str) -> ChosenPackage {
    let digest = match &package.sha512 {
        Some(sha512) => Digest::from_hex(Algorithm::Sha512, sha512),
        None => Digest::from_hex(Algorithm::Sha256, &package.sha256),
    }
    .expect("checked when the lock was read");
    ChosenPackage {
        archive: package.archive.clone(),
        suite: package.suite.clone(),
        component: package.component.clone(),
        url: format!("{base}{}", package.filename),
        info: PackageInfo {
            name: package.name.clone(),
            version: package.version.clone(),
            arch: package.arch.clone(),
            filename: package.filename.clone(),
            size: package.size,
            digest,
        },
    }
}
