//! Making a lock (`kerf lock`) and telling whether one is current (`kerf lock --check`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{Lock, LockedArch, LockedPackage, LockedRelease, LockedSuite, LOCK_VERSION};
use crate::archive::archives::{ArchiveSettings, Archives, VerifiedDeb, Wanted};
use crate::archive::error::ArchiveError;
use crate::archive::select::ChosenPackage;
use crate::archive::version::Version;
use crate::digest::Algorithm;
use crate::release::{Release, SliceKey};
use crate::report::Reporter;
use crate::resolve::{select, SelectError};

/// Which release a lock is made from, as the catalog loaded it.
#[derive(Clone, Debug)]
pub(crate) struct ReleaseIdentity {
    /// As `--release` takes it, with a fetched branch's commit.
    pub(crate) source: String,
    /// `sha256:` of its files.
    pub(crate) digest: String,
}

/// Why a lock could not be made or checked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MakeError {
    #[error(transparent)]
    Select(#[from] SelectError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("no suite of the release's archives publishes architecture {0} (their InRelease files do not list it)")]
    NoSuiteForArch(String),
    #[error("package \"{package}\": {}: cannot read its control file: {reason}", deb.display())]
    Control {
        package: String,
        deb: PathBuf,
        reason: String,
    },
}

impl MakeError {
    /// Whether the input or the archive said no (exit status 1).
    pub(crate) fn is_user_error(&self) -> bool {
        match self {
            MakeError::Select(_) | MakeError::NoSuiteForArch(_) | MakeError::Control { .. } => true,
            MakeError::Archive(error) => error.is_user_error(),
        }
    }
}

/// Resolves `slices` for every architecture of `settings` (one settings value per
/// architecture) as a cut would, fetches every package through the cache (its SHA-256 and
/// source package are read from the verified file), and returns the lock.
pub(crate) fn make(
    release: &Release,
    identity: &ReleaseIdentity,
    slices: &[SliceKey],
    settings: &[ArchiveSettings],
    reporter: &dyn Reporter,
) -> Result<Lock, MakeError> {
    let mut arches = BTreeMap::new();
    for settings in settings {
        arches.insert(
            settings.arch.as_str().to_owned(),
            lock_arch(release, slices, settings, reporter)?,
        );
    }
    let mut slices: Vec<String> = slices.iter().map(ToString::to_string).collect();
    slices.sort();
    slices.dedup();
    Ok(Lock {
        version: LOCK_VERSION,
        release: LockedRelease {
            source: identity.source.clone(),
            digest: identity.digest.clone(),
        },
        slices,
        arches,
    })
}

/// The suites read and the packages chosen for one architecture.
fn lock_arch(
    release: &Release,
    slices: &[SliceKey],
    settings: &ArchiveSettings,
    reporter: &dyn Reporter,
) -> Result<LockedArch, MakeError> {
    let selection = select(release, slices, settings.arch)?;
    let packages = selection.packages();
    let archives = Archives::open(release, settings, Wanted::ForPackages(&packages), reporter)?;
    if archives
        .opened()
        .iter()
        .all(|opened| opened.indexes.is_empty())
    {
        return Err(MakeError::NoSuiteForArch(settings.arch.as_str().to_owned()));
    }
    let chosen = packages
        .iter()
        .map(|name| archives.choose(name))
        .collect::<Result<Vec<_>, _>>()?;
    let mut locked = Vec::with_capacity(chosen.len());
    archives.fetch_in_order(&chosen, &mut |package, deb| -> Result<(), MakeError> {
        locked.push(locked_package(package, deb)?);
        Ok(())
    })?;
    locked.sort_by(|a, b| a.name.cmp(&b.name));
    let snapshot = settings.snapshot.map(|id| id.to_string());
    let suites = archives
        .suite_records()
        .into_iter()
        .map(|record| LockedSuite {
            snapshot: snapshot
                .clone()
                .filter(|_| !settings.archive_urls.contains_key(&record.archive)),
            archive: record.archive,
            suite: record.suite,
            url: record.live_url,
            date: record.date,
            inrelease_sha256: record.inrelease_sha256,
        })
        .collect();
    Ok(LockedArch {
        suites,
        packages: locked,
    })
}

/// What the lock records of a fetched package: the index's facts, the file's SHA-256, and the
/// source package its control file names.
fn locked_package(
    package: &ChosenPackage,
    mut deb: VerifiedDeb,
) -> Result<LockedPackage, MakeError> {
    let info = &package.info;
    let path = deb.path.clone();
    let control_error = |reason: String| MakeError::Control {
        package: info.name.clone(),
        deb: path.clone(),
        reason,
    };
    let reader = deb
        .reader()
        .map_err(|error| control_error(error.to_string()))?;
    let control = crate::deb::DebReader::new(reader)
        .and_then(crate::deb::DebReader::control)
        .map_err(|error| control_error(error.to_string()))?;
    let paragraph = crate::archive::control::paragraphs(&control)
        .next()
        .transpose()
        .map_err(|error| control_error(error.to_string()))?
        .ok_or_else(|| control_error("it has no stanza".to_owned()))?;
    let named = paragraph.get("Package").unwrap_or_default();
    if named != info.name {
        return Err(control_error(format!(
            "it is package \"{named}\", but the index lists it as \"{}\"",
            info.name
        )));
    }
    let (source, source_version) = crate::archive::control::source_package(
        paragraph.get("Source").as_deref(),
        &info.name,
        &info.version,
    );
    Ok(LockedPackage {
        name: info.name.clone(),
        version: info.version.clone(),
        arch: info.arch.clone(),
        archive: package.archive.clone(),
        suite: package.suite.clone(),
        component: package.component.clone(),
        filename: info.filename.clone(),
        size: info.size,
        sha256: deb.sha256.clone(),
        sha512: (info.digest.algorithm() == Algorithm::Sha512).then(|| info.digest.to_string()),
        source,
        source_version,
    })
}

/// A locked package the archive now has a newer version of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Newer {
    pub(crate) arch: String,
    pub(crate) name: String,
    pub(crate) locked: String,
    pub(crate) available: String,
    pub(crate) archive: String,
    pub(crate) suite: String,
}

impl Newer {
    /// Whether the newer version is a security update (a `-security` suite, or a security
    /// archive such as Debian's).
    pub(crate) fn is_security(&self) -> bool {
        self.suite.ends_with("-security") || self.archive.contains("security")
    }
}

/// Re-resolves the lock's slices against the archives (one settings value per architecture of
/// the lock) and lists the locked packages that have a newer version there: security updates
/// first, then by architecture and name.
pub(crate) fn newer(
    release: &Release,
    lock: &Lock,
    settings: &[ArchiveSettings],
    reporter: &dyn Reporter,
) -> Result<Vec<Newer>, MakeError> {
    let slices = lock.slice_keys();
    let mut found = Vec::new();
    for settings in settings {
        let arch = settings.arch.as_str();
        let Some(locked) = lock.arches.get(arch) else {
            continue;
        };
        let selection = select(release, &slices, settings.arch)?;
        let packages = selection.packages();
        let archives = Archives::open(release, settings, Wanted::ForPackages(&packages), reporter)?;
        for package in &locked.packages {
            let chosen = archives.choose(&package.name)?;
            let (Ok(now), Ok(then)) = (
                Version::parse(&chosen.info.version),
                Version::parse(&package.version),
            ) else {
                continue;
            };
            if now > then {
                found.push(Newer {
                    arch: arch.to_owned(),
                    name: package.name.clone(),
                    locked: package.version.clone(),
                    available: chosen.info.version.clone(),
                    archive: chosen.archive.clone(),
                    suite: chosen.suite.clone(),
                });
            }
        }
    }
    found.sort_by(|a, b| {
        (!a.is_security(), &a.arch, &a.name).cmp(&(!b.is_security(), &b.arch, &b.name))
    });
    Ok(found)
}
