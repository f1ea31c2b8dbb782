//! `kerf lock`, `kerf lock --check`, `kerf verify`, and what `kerf cut --locked` reads before
//! it cuts.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;

use super::args::{ArchiveArgs, CutArgs, IgnoreArg, LockArgs, VerifyArgs};
use super::{count, process_env, settings, write_stdout, UsageError};
use crate::archive::archives::ArchiveSettings;
use crate::catalog::ReleaseSource;
use crate::lock::apply::LockFile;
use crate::lock::make::ReleaseIdentity;
use crate::lock::Lock;
use crate::release::{Arch, Release, SliceKey};

/// `kerf lock`: resolve and write the lock, or with `--check` tell whether one is current.
pub(super) fn lock(args: &LockArgs) -> Result<ExitCode> {
    if let Some(path) = &args.check {
        return check(args, path);
    }
    let slices = super::slice_keys(&args.slices)?;
    let arches = arch_list(&args.archives)?;
    let all = settings_per_arch(args, &arches)?;
    let catalog =
        settings::catalog_settings(Some(&all[0].cache_dir), all[0].offline, &process_env)?;
    let source = super::release_source(&args.release)?;
    let (release, identity) = source.load_identified(&catalog)?;
    settings::check_against(&all[0], &release)?;
    let reporter = super::printer::reporter(args.quiet, args.verbose > 0);
    super::printer::trace(args.verbose > 1);
    let made = crate::lock::make::make(&release, &identity, &slices, &all, reporter.as_ref());
    reporter.finish();
    let lock = made?;
    lock.write_file(&args.output)?;
    if !args.quiet {
        let packages: usize = lock.arches.values().map(|arch| arch.packages.len()).sum();
        let names: Vec<&str> = lock.arches.keys().map(String::as_str).collect();
        #[expect(clippy::print_stderr, reason = "the summary goes to stderr")]
        {
            eprintln!(
                "Locked {} of release {} for {}: {} into {}",
                count(lock.slices.len(), "slice", "slices"),
                lock.release.source,
                names.join(", "),
                count(packages, "package", "packages"),
                args.output.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `kerf lock --check FILE`: 0 when every locked package is the newest the archives have, 1
/// with the list otherwise.
fn check(args: &LockArgs, path: &Path) -> Result<ExitCode> {
    let lock = Lock::read_file(path)?;
    let arches = match &args.archives.arch {
        Some(_) => arch_list(&args.archives)?,
        None => lock.arch_list(),
    };
    let all = settings_per_arch(args, &arches)?;
    let catalog =
        settings::catalog_settings(Some(&all[0].cache_dir), all[0].offline, &process_env)?;
    let (source, _) = locked_source(args.release.release.as_deref(), &lock)?;
    let (release, identity) = source.load_identified(&catalog)?;
    same_release(path, &lock, &identity)?;
    settings::check_against(&all[0], &release)?;
    let reporter = super::printer::reporter(args.quiet, args.verbose > 0);
    super::printer::trace(args.verbose > 1);
    let newer = crate::lock::make::newer(&release, &lock, &all, reporter.as_ref());
    reporter.finish();
    let newer = newer?;
    if newer.is_empty() {
        if !args.quiet {
            #[expect(clippy::print_stderr, reason = "the verdict goes to stderr")]
            {
                eprintln!(
                    "{} is current: no locked package has a newer version in the archives",
                    path.display()
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = String::new();
    for found in &newer {
        text.push_str(&format!(
            "{} ({}): {} -> {} in {} {}{}\n",
            found.name,
            found.arch,
            found.locked,
            found.available,
            found.archive,
            found.suite,
            if found.is_security() {
                " (security)"
            } else {
                ""
            }
        ));
    }
    write_stdout(&text)?;
    if !args.quiet {
        #[expect(clippy::print_stderr, reason = "the verdict goes to stderr")]
        {
            eprintln!(
                "{} is out of date: {} newer; make it again with kerf lock",
                path.display(),
                count(
                    newer.len(),
                    "package has a version",
                    "packages have versions"
                )
            );
        }
    }
    Ok(ExitCode::from(1))
}

/// The architectures of `--arch A,B`, else this machine's.
fn arch_list(args: &ArchiveArgs) -> Result<Vec<Arch>, UsageError> {
    let Some(list) = &args.arch else {
        return Ok(vec![Arch::host().ok_or_else(|| {
            UsageError("cannot infer the architecture of this machine; give --arch".to_owned())
        })?]);
    };
    let mut arches = Vec::new();
    for name in list.split(',') {
        let arch = settings::parse_arch(name)?;
        if arches.contains(&arch) {
            return Err(UsageError(format!(
                "invalid --arch {list}: {arch} is named twice"
            )));
        }
        arches.push(arch);
    }
    Ok(arches)
}

/// One archive settings value per architecture.
fn settings_per_arch(args: &LockArgs, arches: &[Arch]) -> Result<Vec<ArchiveSettings>> {
    arches
        .iter()
        .map(|arch| {
            let one = ArchiveArgs {
                arch: Some(arch.as_str().to_owned()),
                ..args.archives.clone()
            };
            let mut settings = settings::archive_settings(&one, &process_env)?;
            settings.jobs = args.jobs;
            settings.ignore_release_dates |= args.ignore.contains(&IgnoreArg::ReleaseDates);
            Ok(settings)
        })
        .collect()
}

/// The release a lock is used with: `--release` when given, else the lock's own source.
fn locked_source(
    given: Option<&str>,
    lock: &Lock,
) -> Result<(ReleaseSource, bool), crate::catalog::CatalogError> {
    match given {
        Some(name) => Ok((ReleaseSource::resolve(name)?, true)),
        None => Ok((ReleaseSource::resolve(&lock.release.source)?, false)),
    }
}

/// The release's files are those the lock was made from.
fn same_release(path: &Path, lock: &Lock, identity: &ReleaseIdentity) -> Result<(), UsageError> {
    if identity.digest == lock.release.digest {
        return Ok(());
    }
    Err(UsageError(format!(
        "{}: release.digest: the lock was made from release {} with digest {}, but release {} now has digest {}: its files changed; make the lock again with kerf lock",
        path.display(),
        lock.release.source,
        lock.release.digest,
        identity.source,
        identity.digest
    )))
}

/// What `cut --locked FILE` cuts: the lock's release, slices and architecture.
pub(super) struct LockedCut {
    pub(super) lock: Arc<LockFile>,
    pub(super) release: Release,
    pub(super) source: ReleaseSource,
    pub(super) slices: Vec<SliceKey>,
    /// The architecture to cut when `--arch` names none.
    pub(super) arch: Option<Arch>,
}

/// Reads the lock of `cut --locked` and the release it names, and checks the command line
/// against it: the release's files, the slices named (if any) and `--arch`.
pub(super) fn locked_cut(
    args: &CutArgs,
    path: &Path,
    named: &[SliceKey],
    catalog: &crate::catalog::CatalogSettings,
) -> Result<LockedCut> {
    let lock = Lock::read_file(path)?;
    let (source, _) = locked_source(args.release.release.as_deref(), &lock)?;
    let (release, identity) = source.load_identified(catalog)?;
    same_release(path, &lock, &identity)?;
    let slices = lock.slice_keys();
    if !named.is_empty() {
        let mut sorted: Vec<String> = named.iter().map(ToString::to_string).collect();
        sorted.sort();
        sorted.dedup();
        if sorted != lock.slices {
            return Err(UsageError(format!(
                "{}: slices: the lock is for {}, not {}; cut without naming slices, or make a lock for these with kerf lock",
                path.display(),
                lock.slices.join(" "),
                sorted.join(" ")
            ))
            .into());
        }
    }
    let arch = match &args.archives.arch {
        Some(_) => None,
        None => Some(default_arch(path, &lock)?),
    };
    Ok(LockedCut {
        lock: Arc::new(LockFile {
            path: path.to_owned(),
            lock,
        }),
        release,
        source,
        slices,
        arch,
    })
}

/// A lock of one architecture cuts that one; of several, this machine's if it is among them.
fn default_arch(path: &Path, lock: &Lock) -> Result<Arch, UsageError> {
    let arches = lock.arch_list();
    if let [only] = arches.as_slice() {
        return Ok(*only);
    }
    Arch::host()
        .filter(|host| arches.contains(host))
        .ok_or_else(|| {
            let names: Vec<&str> = arches.iter().map(|arch| arch.as_str()).collect();
            UsageError(format!(
                "{}: the lock has architectures {}; choose one (or several, for an image) with --arch",
                path.display(),
                names.join(", ")
            ))
        })
}

/// `kerf verify --root DIR`.
pub(super) fn verify(args: &VerifyArgs) -> Result<ExitCode> {
    let report = crate::verify::verify(&args.root, &args.manifest)?;
    if report.findings.is_empty() {
        #[expect(clippy::print_stderr, reason = "the verdict goes to stderr")]
        {
            eprintln!(
                "{} is intact: {} as its manifest records",
                args.root.display(),
                count(report.checked, "path", "paths")
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let text: String = report
        .findings
        .iter()
        .map(|finding| format!("{}: {}\n", finding.path, finding.problem))
        .collect();
    write_stdout(&text)?;
    #[expect(clippy::print_stderr, reason = "the verdict goes to stderr")]
    {
        eprintln!(
            "{} differs from its manifest: {} of {}",
            args.root.display(),
            count(report.findings.len(), "finding", "findings"),
            count(report.checked, "recorded path", "recorded paths")
        );
    }
    Ok(ExitCode::from(1))
}
