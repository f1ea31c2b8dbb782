//! `kerf cut`: the pipeline, from a selection to a verified root.
//!
//! select → open the archives ([`Archives`]) → choose each package → fetch them, verified,
//! while extracting in selection order → create the content slices define → run the mutate
//! scripts → write manifests. Each step belongs to its own module; this one only orders them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::archive::archives::{ArchiveSettings, Archives, VerifiedDeb, Wanted};
use crate::archive::error::ArchiveError;
use crate::archive::select::ChosenPackage;
use crate::cache::CacheError;
use crate::deb::{DebError, DebReader};
use crate::extract::root::{Root, RootError};
use crate::extract::{
    create_content, data_entry, extract_package, remove_until_mutate, ExtractError, Installed,
    InstalledKind, PackagePlan, Visitor,
};
use crate::lock::apply::{LockFile, LockedCutError, LockedPlan};
use crate::manifest::{write_manifests, ManifestError, ManifestPackage};
use crate::mutate::child::{Job, Listener, Runner};
use crate::mutate::{Limits, MutateError};
use crate::release::{Release, SliceKey};
use crate::report::Reporter;
use crate::resolve::{select, SelectError, Selection};
use crate::transport::http::FetchError;

/// How to cut: validated settings, built before any I/O.
#[derive(Clone, Debug)]
pub(crate) struct CutOptions {
    pub(crate) root: PathBuf,
    /// What to do with the manifest of a root that was cut before (`--upgrade`, `--delta`).
    pub(crate) extend: extend::ExtendOptions,
    /// How the archives are reached; the architecture and the clock are there too.
    pub(crate) archives: ArchiveSettings,
    /// Cut a release in development (`unstable`) or out of maintenance (`unmaintained`) anyway.
    pub(crate) ignore: BTreeSet<Ignore>,
    /// Where the slices' mutate scripts run, and within which limits.
    pub(crate) scripts: Runner,
    pub(crate) script_limits: Limits,
    /// Write `/var/lib/dpkg/status.d/` for scanners (also done when the root already has one).
    pub(crate) dpkg_status: bool,
    /// Take the packages from this lock instead of the archives' indexes.
    pub(crate) locked: Option<Arc<LockFile>>,
}

/// A maintenance condition the user chose to ignore (`--ignore`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Ignore {
    Unstable,
    Unmaintained,
}

/// What the cut did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CutSummary {
    pub(crate) packages: usize,
    pub(crate) slices: usize,
    /// Paths the slices installed (files, directories and links).
    pub(crate) paths: usize,
    /// Bytes of regular files written.
    pub(crate) bytes: u64,
    /// Bytes downloaded (zero on a warm cut).
    pub(crate) downloaded: u64,
    /// What the cut installed, with the owners the packages gave (for an image layer).
    pub(crate) installed: BTreeMap<String, Installed>,
    /// The newest `Date` of the InRelease files read (seconds since the epoch): the default
    /// `SOURCE_DATE_EPOCH` of an image.
    pub(crate) release_date: Option<i64>,
    /// What a cut into a root that had a manifest kept, added and upgraded.
    pub(crate) extension: Option<extend::Extension>,
    /// The delta written with `--delta`.
    pub(crate) delta: Option<extend::Delta>,
}

/// Why a cut stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CutError {
    #[error(transparent)]
    Select(#[from] SelectError),
    #[error(transparent)]
    Root(#[from] RootError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error("this release is in the \"unstable\" maintenance status (its standard support starts {0}); cut it anyway with --ignore=unstable")]
    Unstable(String),
    #[error("no archive has \"maintained\" maintenance status (the release's standard support ended {0}); consider the Ubuntu Pro archives, or cut it anyway with --ignore=unmaintained")]
    Unmaintained(String),
    #[error("no suite of the release's archives publishes architecture {0} (their InRelease files do not list it)")]
    NoSuiteForArch(String),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Mutate(#[from] MutateError),
    #[error(transparent)]
    DpkgStatus(#[from] crate::dpkg_status::StatusError),
    #[error(transparent)]
    Locked(Box<LockedCutError>),
    #[error(transparent)]
    Extend(Box<extend::ExtendError>),
}

impl CutError {
    /// Whether the input or the archive said no (exit status 1), as opposed to a failure of the
    /// machine (exit status 2).
    pub(crate) fn is_user_error(&self) -> bool {
        match self {
            CutError::Select(_)
            | CutError::Unstable(_)
            | CutError::Unmaintained(_)
            | CutError::NoSuiteForArch(_) => true,
            CutError::Archive(error) => error.is_user_error(),
            CutError::Extract(error) => error.is_user_error(),
            CutError::Mutate(error) => error.is_user_error(),
            CutError::DpkgStatus(error) => error.is_user_error(),
            CutError::Locked(error) => error.is_user_error(),
            CutError::Extend(error) => error.is_user_error(),
            CutError::Root(_) | CutError::Manifest(_) => false,
        }
    }
}

/// Cuts `slices` of `release` into `options.root`.
pub(crate) fn cut(
    release: &Release,
    slices: &[SliceKey],
    options: &CutOptions,
    reporter: &dyn Reporter,
) -> Result<CutSummary, CutError> {
    let started = Instant::now();
    // A root cut before: its slices count as selected (see `extend`).
    let previous = extend::read_previous(
        release,
        &options.root,
        &options.extend,
        options.archives.arch,
    )?;
    let requested = extend::requested(previous.as_ref(), slices);
    let selection = select(release, &requested, options.archives.arch)?;
    let scripts = crate::mutate::scripts(&selection);
    // A syntax error is found before anything is downloaded.
    for script in &scripts {
        crate::mutate::engine::parse(&script.source).map_err(|failure| MutateError::Script {
            slice: script.slice.clone(),
            failure,
        })?;
    }
    let today = options.archives.now.days();
    let maintenance = &release.maintenance;
    if maintenance.is_unstable(today) {
        let standard = maintenance.standard.to_string();
        if !options.ignore.contains(&Ignore::Unstable) {
            return Err(CutError::Unstable(standard));
        }
        reporter.warning(&format!("This release is in the \"unstable\" maintenance status (standard support starts {standard})"));
    }
    // The root is checked before any download (chisel finds a missing root last).
    let root = Root::create(&options.root)?;
    let packages = selection.packages();
    let (archives, locked) = match options.locked.as_deref() {
        None => {
            let archives = Archives::open(
                release,
                &options.archives,
                Wanted::ForPackages(&packages),
                reporter,
            )?;
            if archives
                .opened()
                .iter()
                .all(|opened| opened.indexes.is_empty())
            {
                return Err(CutError::NoSuiteForArch(
                    options.archives.arch.as_str().to_owned(),
                ));
            }
            (archives, None)
        }
        Some(lock) => {
            let plan = lock.plan(release, &packages, &options.archives)?;
            let names = plan
                .chosen
                .iter()
                .map(|package| package.archive.as_str())
                .collect();
            let archives = Archives::for_locked(
                release,
                &options.archives,
                &names,
                plan.fallbacks.clone(),
                reporter,
            )?;
            (archives, Some(plan))
        }
    };
    let locked_pros = locked.iter().flat_map(|plan| {
        plan.chosen
            .iter()
            .filter_map(|package| release.archives.get(&package.archive))
            .map(|archive| archive.pro)
    });
    if !locked_pros
        .chain(archives.opened().iter().map(|opened| opened.archive.pro))
        .any(|pro| maintenance.is_maintained(pro, today))
    {
        let ended = maintenance
            .expanded
            .unwrap_or(maintenance.end_of_life)
            .to_string();
        if !options.ignore.contains(&Ignore::Unmaintained) {
            return Err(CutError::Unmaintained(ended));
        }
        reporter.warning(&format!(
            "No archive has \"maintained\" maintenance status (standard support ended {ended})"
        ));
    }

    let chosen = match &locked {
        None => packages
            .iter()
            .map(|name| archives.choose(name))
            .collect::<Result<Vec<_>, _>>()?,
        Some(lock_plan) => lock_plan.chosen.clone(),
    };
    // What the cut works on: every package, or, in a root cut before, those it adds slices of
    // or upgrades.
    let mut plan = extend::Plan::new(previous, &selection, &chosen, &options.extend)?;
    let work = plan.selection(&selection);
    let work_packages = plan.packages(&chosen);
    plan.prepare(&root, &options.extend)?;
    let mut installed: BTreeMap<String, Installed> = BTreeMap::new();
    let mut in_manifest = Vec::with_capacity(chosen.len());
    let mut debs: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut extract = |package: &ChosenPackage, deb: VerifiedDeb| -> Result<(), CutError> {
        debs.insert(package.info.name.clone(), deb.path.clone());
        reporter.step(&format!(
            "Extracting files from package \"{}\"...",
            package.info.name
        ));
        let package_plan = PackagePlan::new(&work, &package.info.name);
        in_manifest.push(ManifestPackage::new(package, deb.sha256.clone()));
        extract_from_deb(package, &package_plan, &root, deb, &mut installed)?;
        Ok(())
    };
    match &locked {
        None => archives.fetch_in_order(&work_packages, &mut extract)?,
        Some(lock_plan) => {
            // Every package is fetched and checked against the lock before the first file is
            // written: a lock that does not match what the archive serves leaves the root as
            // it was.
            let fetched = fetch_locked(&archives, lock_plan, &work_packages)?;
            for (package, deb) in work_packages.iter().zip(fetched) {
                extract(package, deb)?;
            }
        }
    }
    create_content(&work, &root, &mut installed)?;
    let mut installed = plan.merge(&root, installed)?;
    run_scripts(
        &selection,
        &plan.scripts(scripts),
        options,
        &mut installed,
        reporter,
    )?;
    remove_until_mutate(&work, &root, &mut installed)?;
    plan.remove_stale(&root)?;
    if options.dpkg_status || crate::dpkg_status::present(&root) {
        crate::dpkg_status::write_for_cut(
            &root,
            &work,
            &work_packages,
            &debs,
            &installed,
            reporter,
        )?;
    }
    // Last: the manifest says the cut is complete.
    let in_manifest = plan.manifest_packages(in_manifest);
    let manifests = write_manifests(&selection, &in_manifest, &root, &installed, reporter)?;
    let (extension, delta) = plan.finish(&root, &installed, &manifests, &options.extend)?;

    let bytes = installed
        .values()
        .map(|item| match item.kind {
            InstalledKind::File { size, .. } => size,
            _ => 0,
        })
        .sum();
    reporter.step(&format!("Done in {:.2} s", started.elapsed().as_secs_f64()));
    Ok(CutSummary {
        packages: chosen.len(),
        slices: selection.slices.len(),
        paths: installed.len(),
        bytes,
        downloaded: archives.downloaded(),
        release_date: match &locked {
            None => archives.newest_release_date(),
            Some(lock_plan) => lock_plan.release_date(),
        },
        installed,
        extension,
        delta,
    })
}

/// Fetches `packages` (locked ones, as `plan` gives them), in order, each checked against the
/// lock.
fn fetch_locked(
    archives: &Archives<'_>,
    plan: &LockedPlan<'_>,
    packages: &[ChosenPackage],
) -> Result<Vec<VerifiedDeb>, CutError> {
    let mut fetched = Vec::with_capacity(packages.len());
    let outcome = archives.fetch_in_order(packages, &mut |package, deb| -> Result<(), CutError> {
        plan.check(package, &deb)?;
        fetched.push(deb);
        Ok(())
    });
    // The archive's own words are kept when the lock says nothing more.
    let named = match &outcome {
        Err(CutError::Archive(ArchiveError::Fetch(FetchError::NotFound { url }))) => plan.gone(url),
        Err(CutError::Archive(ArchiveError::Cache(CacheError::HashMismatch {
            what,
            expected,
            actual,
            ..
        }))) => plan.mismatch(what, expected, actual),
        _ => None,
    };
    match (named, outcome) {
        (Some(error), _) => Err(error.into()),
        (None, Err(error)) => Err(error),
        (None, Ok(())) => Ok(fetched),
    }
}

impl From<LockedCutError> for CutError {
    fn from(error: LockedCutError) -> CutError {
        CutError::Locked(Box::new(error))
    }
}

/// The package's name is filled in by `extract_from_deb`, which knows it.
impl From<DebError> for ExtractError {
    fn from(error: DebError) -> ExtractError {
        ExtractError::Read {
            package: String::new(),
            reason: error.to_string(),
        }
    }
}

/// Runs the extraction of one package over its verified .deb (read again for a second pass).
fn extract_from_deb(
    package: &ChosenPackage,
    plan: &PackagePlan,
    root: &Root,
    mut deb: VerifiedDeb,
    installed: &mut BTreeMap<String, Installed>,
) -> Result<(), ExtractError> {
    let name = package.info.name.as_str();
    let read_error = |reason: String| ExtractError::Read {
        package: name.to_owned(),
        reason,
    };
    let path = deb.path.display().to_string();
    let mut entries = |visit: &mut Visitor<'_>| -> Result<(), ExtractError> {
        let reader = deb
            .reader()
            .map_err(|error| read_error(format!("{path}: {error}")))?;
        let reader = DebReader::new(reader).map_err(|error| read_error(error.to_string()))?;
        reader
            .for_each_entry(
                |mut entry: crate::deb::DataEntry<'_>| -> Result<(), ExtractError> {
                    match data_entry(&mut entry) {
                        Some(entry) => visit(entry),
                        None => Ok(()),
                    }
                },
            )
            .map_err(|error| match error {
                ExtractError::Read {
                    package: empty,
                    reason,
                } if empty.is_empty() => read_error(reason),
                other => other,
            })
    };
    extract_package(name, plan, root, &mut entries, installed)
}

/// Runs the selection's mutate scripts over the root, then records the final size and hash of
/// every file they changed.
fn run_scripts(
    selection: &Selection<'_>,
    scripts: &[crate::mutate::Script],
    options: &CutOptions,
    installed: &mut BTreeMap<String, Installed>,
    reporter: &dyn Reporter,
) -> Result<(), CutError> {
    if scripts.is_empty() {
        return Ok(());
    }
    let mutable: BTreeSet<String> = selection
        .paths()
        .filter(|selected| selected.info.mutable)
        .map(|selected| selected.path.to_owned())
        .collect();
    struct Relay<'r>(&'r dyn Reporter);
    impl Listener for Relay<'_> {
        fn started(&self, slice: &SliceKey) {
            self.0
                .step(&format!("Running the mutate script of slice {slice}..."));
        }
        fn printed(&self, slice: &SliceKey, text: &str) {
            self.0.script_printed(slice, text);
        }
    }
    let job = Job {
        root: &options.root,
        created: installed.keys().cloned().collect(),
        mutable,
        scripts,
        limits: &options.script_limits,
    };
    let changes = crate::mutate::child::run(&options.scripts, job, &Relay(reporter))?;
    for (path, written) in changes {
        if let Some(Installed {
            kind:
                InstalledKind::File {
                    size,
                    sha256,
                    final_sha256,
                },
            ..
        }) = installed.get_mut(&path)
        {
            *size = written.size;
            *final_sha256 = (written.sha256 != *sha256).then_some(written.sha256);
        }
    }
    Ok(())
}

pub(crate) mod extend;

#[cfg(test)]
mod archive_tests;
#[cfg(test)]
mod fault_tests;
#[cfg(test)]
mod format_tests;
#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod image_tests;
#[cfg(test)]
mod lock_tests;
#[cfg(test)]
mod scanner_tests;
#[cfg(test)]
mod script_tests;
#[cfg(test)]
mod tests;
