//! The command line: the only module that knows clap, prints, and picks exit codes.
//!
//! Exit status: 0 success, 1 the user's input (or an archive) said no, 2 an unexpected failure.

mod args;
mod printer;
mod sbom;

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::Parser as _;

use crate::bundled;
use crate::cut::{CutError, CutOptions};
use crate::release::{self, Release, ReleaseErrors};
use crate::release::{Arch, SliceKey};
use crate::resolve::SelectError;
use args::{ArchiveArgs, Args, CheckArgs, Command, CutArgs, DraftArgs, ReleaseArg};

/// A mistake in what the user asked for: exit status 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Runs kerf with the process's arguments.
pub fn main() -> ExitCode {
    let mut args = std::env::args_os();
    if args
        .nth(1)
        .is_some_and(|first| first == crate::mutate::child::WORKER_ARG)
    {
        // kerf started by itself to run mutate scripts under limits.
        return ExitCode::from(crate::mutate::child::worker_main());
    }
    run(std::env::args_os())
}

/// Runs kerf with `args` (the first is the program name), printing results and errors.
#[expect(clippy::print_stderr, reason = "the CLI reports errors on stderr")]
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args = match Args::try_parse_from(args) {
        Ok(args) => args,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match execute(args.command) {
        Ok(code) => code,
        Err(error) => {
            if is_broken_pipe(&error) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", render_error(&error));
            ExitCode::from(exit_status(&error))
        }
    }
}

/// The error and its causes, each cause added only when the message does not already say it
/// (many errors here include their cause's text in their own).
fn render_error(error: &anyhow::Error) -> String {
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|error| error.kind() == std::io::ErrorKind::BrokenPipe)
}

/// The release and the options for reaching its archives, from `--release` and the archive
/// flags, checked before any work; the root, jobs and `--ignore` are left at their defaults.
fn archive_options(release: &ReleaseArg, args: &ArchiveArgs) -> Result<(Release, CutOptions)> {
    let arch = match &args.arch {
        Some(name) => parse_arch(name)?,
        None => Arch::host().ok_or_else(|| {
            UsageError("cannot infer the architecture of this machine; give --arch".to_owned())
        })?,
    };
    let mut archive_urls = std::collections::BTreeMap::new();
    for pair in &args.archive_urls {
        let (name, url) = pair
            .split_once('=')
            .filter(|(name, url)| !name.is_empty() && (url.starts_with("http://") || url.starts_with("https://")))
            .ok_or_else(|| UsageError(format!("invalid --archive-url \"{pair}\": expected NAME=http://... or NAME=https://...")))?;
        archive_urls.insert(name.to_owned(), url.to_owned());
    }
    let cache_dir = match &args.cache_dir {
        Some(dir) => dir.clone(),
        None => default_cache_dir()?,
    };
    let release = load_release_for_cut(release, &cache_dir)?;
    for name in archive_urls.keys() {
        if !release.archives.contains_key(name) {
            let names: Vec<&str> = release.archives.keys().map(String::as_str).collect();
            return Err(UsageError(format!("--archive-url names archive \"{name}\", which the release does not define (it has {})", names.join(", "))).into());
        }
    }
    let options = CutOptions {
        root: std::path::PathBuf::new(),
        arch,
        cache_dir,
        archive_urls,
        offline: args.offline,
        jobs: 4,
        fetch: crate::archive::fetch::FetchOptions::default(),
        ignore: std::collections::BTreeSet::new(),
        auth_dir: crate::archive::credentials::auth_dir(|name| std::env::var_os(name)),
        scripts: script_runner()?,
        script_limits: crate::mutate::Limits::default(),
        dpkg_status: false,
    };
    Ok((release, options))
}

/// `kerf draft`: prints each package's draft, or writes it with `--out`.
fn draft(args: &DraftArgs) -> Result<ExitCode> {
    let (release, options) = archive_options(&args.release, &args.archives)?;
    if let Some(out) = &args.out {
        if !out.is_dir() {
            return Err(
                UsageError(format!("invalid --out {}: not a directory", out.display())).into(),
            );
        }
        if !args.force {
            for package in &args.packages {
                let path = out.join(format!("{package}.yaml"));
                if path.exists() {
                    return Err(UsageError(format!(
                        "{} exists; give --force to replace it",
                        path.display()
                    ))
                    .into());
                }
            }
        }
    }
    let reporter = printer::reporter(args.quiet, args.verbose > 0);
    printer::trace(args.verbose > 1);
    let drafts = crate::draft::draft(&release, &args.packages, &options, reporter.as_ref());
    reporter.finish();
    let drafts = drafts?;
    let mut stdout = std::io::stdout().lock();
    for (index, (package, text)) in drafts.iter().enumerate() {
        match &args.out {
            Some(out) => {
                let path = out.join(format!("{package}.yaml"));
                fs_err::write(&path, text)?;
                if !args.quiet {
                    #[expect(clippy::print_stderr, reason = "what was written goes to stderr")]
                    {
                        eprintln!("Wrote {}", path.display());
                    }
                }
            }
            None => {
                if index > 0 {
                    stdout.write_all(b"\n")?;
                }
                stdout.write_all(text.as_bytes())?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The scripts run in a child kerf: this very executable. Where it cannot be found (no `/proc`
/// in a bare chroot), cuts without scripts still work; one with scripts says why it cannot.
fn script_runner() -> Result<crate::mutate::child::Runner> {
    Ok(match std::env::current_exe() {
        Ok(exe) => crate::mutate::child::Runner::Child(exe),
        Err(error) => crate::mutate::child::Runner::Unavailable(format!(
            "cannot find kerf's own executable to run them in ({error}; is /proc mounted?)"
        )),
    })
}

/// 1 when the user's input is at fault, 2 for anything unexpected.
fn exit_status(error: &anyhow::Error) -> u8 {
    let user = error.chain().any(|cause| {
        cause.is::<ReleaseErrors>()
            || cause.is::<SelectError>()
            || cause.is::<UsageError>()
            || cause
                .downcast_ref::<CutError>()
                .is_some_and(CutError::is_user_error)
            || cause
                .downcast_ref::<crate::draft::DraftError>()
                .is_some_and(crate::draft::DraftError::is_user_error)
            || cause
                .downcast_ref::<crate::sbom::SbomError>()
                .is_some_and(crate::sbom::SbomError::is_user_error)
    });
    if user {
        1
    } else {
        2
    }
}

fn execute(command: Command) -> Result<ExitCode> {
    match command {
        Command::Cut(args) => cut(&args),
        Command::Info { release, queries } => info(&release, &queries),
        Command::Find { release, terms } => find(&release, &terms),
        Command::Lint { release } => lint(&release),
        Command::Draft(args) => draft(&args),
        Command::Check(args) => check(&args),
        Command::Sbom(args) => sbom::run(&args),
        Command::Version => version(),
        Command::Completions { shell } => completions(shell),
        Command::Man { out } => man(out.as_deref()),
    }
}

fn write_stdout(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// Loads the release named by `--release`: a directory, or a bundled release's name.
fn load_release(arg: &ReleaseArg) -> Result<Release> {
    let (origin, files) = release_files(arg)?;
    Ok(release::load_files(&origin, &files)?)
}

/// Loads the release for a cut. A release whose exact files passed every check before (as
/// the cache remembers under their fingerprint) gets only each file's own checks: the
/// release-wide ones are most of the time a warm cut would spend on it.
fn load_release_for_cut(arg: &ReleaseArg, cache_dir: &Path) -> Result<Release> {
    let (origin, files) = release_files(arg)?;
    let cache = crate::archive::cache::Cache::open(cache_dir)?;
    let key = format!("release-checked-{}", release::fingerprint(&files));
    if cache.get_keyed(&key)?.is_some() {
        return Ok(release::load_files_with(
            &origin,
            &files,
            release::Checks::FilesOnly,
        )?);
    }
    let loaded = release::load_files(&origin, &files)?;
    cache.put_keyed(&key, b"")?;
    Ok(loaded)
}

/// The files of the release named by `--release`: a directory, or a bundled release's name.
fn release_files(arg: &ReleaseArg) -> Result<(String, Vec<release::SourceFile>)> {
    let name = match &arg.release {
        Some(name) => name.clone(),
        None => infer_release_name()?,
    };
    let path = arg.as_path().unwrap_or_else(|| name.clone().into());
    let looks_like_path = name.contains('/') || name == "." || name == "..";
    if !looks_like_path {
        if let Some(bundled) = bundled::find(bundled::releases(), &name) {
            return Ok((name, bundled.source_files()));
        }
    }
    if looks_like_path || path.is_dir() {
        return Ok((path.display().to_string(), release::read_dir(&path)?));
    }
    Err(UsageError(format!(
        "unknown release \"{name}\": it is not a directory, nor a release bundled into kerf ({})",
        bundled_names()
    ))
    .into())
}

fn bundled_names() -> String {
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

/// The release of the machine kerf runs on, e.g. `ubuntu-24.04`, from /etc/os-release.
fn infer_release_name() -> Result<String> {
    let path = Path::new("/etc/os-release");
    let text = std::fs::read_to_string(path).map_err(|error| {
        UsageError(format!(
            "cannot infer the release from {}: {error}; give --release",
            path.display()
        ))
    })?;
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
            .map(|value| value.trim_matches('"').to_owned())
    };
    match (field("ID"), field("VERSION_ID")) {
        (Some(id), Some(version)) => Ok(format!("{}-{version}", id.to_lowercase())),
        _ => Err(UsageError(format!(
            "cannot infer the release: {} has no ID and VERSION_ID; give --release",
            path.display()
        ))
        .into()),
    }
}

fn info(release: &ReleaseArg, queries: &[String]) -> Result<ExitCode> {
    let release = load_release(release)?;
    let output = crate::info::info(&release, queries);
    write_stdout(&output.text)?;
    if output.not_found.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let names: Vec<String> = output
        .not_found
        .iter()
        .map(|name| format!("{name:?}"))
        .collect();
    Err(UsageError(format!(
        "no slice definitions found for: {}",
        names.join(", ")
    ))
    .into())
}

fn find(release: &ReleaseArg, terms: &[String]) -> Result<ExitCode> {
    let release = load_release(release)?;
    let found = crate::find::find(&release, terms);
    if found.is_empty() {
        return Err(UsageError(format!("no matching slices for \"{}\"", terms.join(" "))).into());
    }
    write_stdout(&crate::find::render(&found))?;
    Ok(ExitCode::SUCCESS)
}

fn lint(release_arg: &ReleaseArg) -> Result<ExitCode> {
    let started = Instant::now();
    let release = load_release(release_arg)?;
    let slices: usize = release
        .packages
        .values()
        .map(|package| package.slices.len())
        .sum();
    let paths: usize = release
        .packages
        .values()
        .flat_map(|package| package.slices.values())
        .map(|slice| slice.contents.len())
        .sum();
    let mut report = String::new();
    for notice in &release.notices {
        report.push_str(&format!("note: {notice}\n"));
    }
    report.push_str(&format!(
        "ok: {} packages, {slices} slices, {paths} paths, no problems ({} ms)\n",
        release.packages.len(),
        started.elapsed().as_millis()
    ));
    write_stdout(&report).context("cannot write the report")?;
    Ok(ExitCode::SUCCESS)
}

/// An `--arch` value.
fn parse_arch(name: &str) -> Result<Arch, UsageError> {
    Arch::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Arch::ALL.iter().map(|arch| arch.as_str()).collect();
        UsageError(format!(
            "invalid package architecture: {name} (expected one of {})",
            names.join(", ")
        ))
    })
}

fn check(args: &CheckArgs) -> Result<ExitCode> {
    let arch = args.arch.as_deref().map(parse_arch).transpose()?;
    if !args.root.is_dir() {
        return Err(UsageError(format!(
            "invalid --root {}: it is not a directory",
            args.root.display()
        ))
        .into());
    }
    let release = match &args.release {
        Some(name) => Some(load_release(&ReleaseArg {
            release: Some(name.clone()),
        })?),
        None => None,
    };
    check_root(&args.root, release.as_ref(), arch)
}

/// Checks the root, prints the report on stdout and the verdict: `ok: ...` on stdout, or an
/// error (exit status 1) when something is missing.
fn check_root(root: &Path, release: Option<&Release>, arch: Option<Arch>) -> Result<ExitCode> {
    let options = crate::check::CheckOptions { arch, release };
    let report = crate::check::check(root, &options)
        .with_context(|| format!("cannot check the root {}", root.display()))?;
    let checked = format!(
        "{}, {} checked",
        count(report.elf_files, "ELF file", "ELF files"),
        count(report.scripts, "script", "scripts")
    );
    let mut text = crate::check::render(&report);
    if report.missing.is_empty() {
        text.push_str(&format!("ok: {checked}, nothing missing\n"));
        write_stdout(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    write_stdout(&text)?;
    Err(UsageError(format!("{} missing ({checked})", report.missing.len())).into())
}

/// `1 script`, `2 scripts`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The completion script for `shell`, from the same definitions clap parses with.
fn completions(shell: clap_complete::Shell) -> Result<ExitCode> {
    use clap::CommandFactory as _;
    let mut command = Args::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "kerf", &mut script);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&script)?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The man pages, from the same definitions: `kerf.1` on stdout, or every page into `out`.
fn man(out: Option<&Path>) -> Result<ExitCode> {
    use clap::CommandFactory as _;
    let command = Args::command();
    let Some(out) = out else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command).render(&mut page)?;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&page)?;
        stdout.flush()?;
        return Ok(ExitCode::SUCCESS);
    };
    if !out.is_dir() {
        return Err(UsageError(format!("invalid --out {}: not a directory", out.display())).into());
    }
    let mut pages = vec![("kerf".to_owned(), command.clone())];
    for sub in command.get_subcommands() {
        let name = format!("kerf-{}", sub.get_name());
        pages.push((name.clone(), sub.clone().name(name)));
    }
    for (name, page) in pages {
        let mut text = Vec::new();
        clap_mangen::Man::new(page).render(&mut text)?;
        fs_err::write(out.join(format!("{name}.1")), text)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn version() -> Result<ExitCode> {
    write_stdout(&format!(
        "kerf {}\nbundled releases: {}\n",
        env!("CARGO_PKG_VERSION"),
        {
            let names: Vec<&str> = bundled::releases()
                .iter()
                .map(|release| release.name)
                .collect();
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        }
    ))?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn human_bytes(bytes: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "an approximate size for people")]
    let value = bytes as f64;
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", value / f64::from(1 << 20))
    } else if bytes >= 1 << 10 {
        format!("{:.1} KiB", value / f64::from(1 << 10))
    } else {
        format!("{bytes} B")
    }
}

fn default_cache_dir() -> Result<std::path::PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|dir| !dir.is_empty()) {
        return Ok(std::path::PathBuf::from(dir).join("kerf"));
    }
    if let Some(home) = std::env::var_os("HOME").filter(|home| !home.is_empty()) {
        return Ok(std::path::PathBuf::from(home).join(".cache/kerf"));
    }
    Err(UsageError("no cache directory: set --cache-dir, XDG_CACHE_HOME or HOME".to_owned()).into())
}

fn cut(args: &CutArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let mut slices = Vec::new();
    for name in &args.slices {
        let key = SliceKey::parse(name).ok_or_else(|| {
            UsageError(format!(
                "invalid slice reference: \"{name}\" (expected PACKAGE_SLICE, e.g. libc6_libs)"
            ))
        })?;
        if !slices.contains(&key) {
            slices.push(key);
        }
    }
    // Before any work: the root is created if missing, but something else in its place is the
    // user's mistake, better said plainly than as an error of mkdir.
    if let Ok(metadata) = std::fs::metadata(&args.root) {
        if !metadata.is_dir() {
            return Err(UsageError(format!(
                "invalid --root {}: it exists and is not a directory",
                args.root.display()
            ))
            .into());
        }
    }
    let sbom_format = args
        .sbom
        .as_deref()
        .map(sbom::format_from_name)
        .transpose()?;
    let (release, mut options) = archive_options(&args.release, &args.archives)?;
    options.root = args.root.clone();
    options.dpkg_status = args.dpkg_status;
    options.jobs = args.jobs;
    options.ignore = args
        .ignore
        .iter()
        .map(|ignore| match ignore {
            args::IgnoreArg::Unstable => crate::cut::Ignore::Unstable,
            args::IgnoreArg::Unmaintained => crate::cut::Ignore::Unmaintained,
            args::IgnoreArg::ReleaseDates => crate::cut::Ignore::ReleaseDates,
        })
        .collect();
    let reporter = printer::reporter(args.quiet, args.verbose > 0);
    printer::trace(args.verbose > 1);
    let summary = crate::cut::cut(&release, &slices, &options, reporter.as_ref());
    reporter.finish();
    let summary = summary?;
    if !args.quiet {
        #[expect(clippy::print_stderr, reason = "the summary goes to stderr")]
        {
            eprintln!(
                "Cut {} slices of {} packages into {}: {} paths, {} in files, {} downloaded, {:.2} s",
                summary.slices,
                summary.packages,
                args.root.display(),
                summary.paths,
                human_bytes(summary.bytes),
                human_bytes(summary.downloaded),
                started.elapsed().as_secs_f64()
            );
        }
    }
    if let (Some(path), Some(format)) = (&args.sbom, sbom_format) {
        sbom::write(&args.root, format, Some(path))?;
    }
    if args.check {
        return check_root(&args.root, Some(&release), Some(options.arch));
    }
    Ok(ExitCode::SUCCESS)
}
