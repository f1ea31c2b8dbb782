//! The command line: the only module that knows clap, prints, and picks exit codes.
//!
//! Exit status: 0 success, 1 the user's input (or an archive) said no, 2 an unexpected failure.

mod args;
mod explain;
mod extension;
mod image;
mod lock;
mod printer;
mod sbom;
mod settings;

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::Parser as _;

use crate::bundled;
use crate::catalog::{CatalogError, ReleaseSource};
use crate::cut::CutError;
use crate::release::{Arch, Release, ReleaseErrors, SliceKey};
use crate::resolve::SelectError;
use args::{Args, CheckArgs, Command, CutArgs, DraftArgs, ReleaseArg};
use settings::parse_arch;

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

/// The process environment, for the settings step.
fn process_env(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name)
}

/// `kerf draft`: prints each package's draft, or writes it with `--out`.
fn draft(args: &DraftArgs) -> Result<ExitCode> {
    let settings = settings::archive_settings(&args.archives, &process_env)?;
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
    let catalog =
        settings::catalog_settings(Some(&settings.cache_dir), settings.offline, &process_env)?;
    let release = release_source(&args.release)?.load_remembered(&catalog)?;
    settings::check_against(&settings, &release)?;
    let reporter = printer::reporter(args.quiet, args.verbose > 0);
    printer::trace(args.verbose > 1);
    let drafts = crate::draft::draft(&release, &args.packages, &settings, reporter.as_ref());
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

/// 1 when the user's input is at fault, 2 for anything unexpected.
fn exit_status(error: &anyhow::Error) -> u8 {
    let user = error.chain().any(|cause| {
        cause.is::<ReleaseErrors>()
            || cause.is::<SelectError>()
            || cause.is::<UsageError>()
            || cause
                .downcast_ref::<crate::oci::ImageError>()
                .is_some_and(crate::oci::ImageError::is_user_error)
            || cause
                .downcast_ref::<crate::accounts::AccountError>()
                .is_some_and(crate::accounts::AccountError::is_user_error)
            || cause
                .downcast_ref::<CutError>()
                .is_some_and(CutError::is_user_error)
            || cause
                .downcast_ref::<CatalogError>()
                .is_some_and(CatalogError::is_user_error)
            || cause
                .downcast_ref::<crate::draft::DraftError>()
                .is_some_and(crate::draft::DraftError::is_user_error)
            || cause
                .downcast_ref::<crate::sbom::SbomError>()
                .is_some_and(crate::sbom::SbomError::is_user_error)
            || cause
                .downcast_ref::<crate::lock::LockError>()
                .is_some_and(crate::lock::LockError::is_user_error)
            || cause
                .downcast_ref::<crate::lock::make::MakeError>()
                .is_some_and(crate::lock::make::MakeError::is_user_error)
            || cause
                .downcast_ref::<crate::verify::VerifyError>()
                .is_some_and(crate::verify::VerifyError::is_user_error)
            || cause
                .downcast_ref::<crate::explain::ExplainError>()
                .is_some_and(crate::explain::ExplainError::is_user_error)
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
        Command::Lock(args) => lock::lock(&args),
        Command::Verify(args) => lock::verify(&args),
        Command::Tree(args) => explain::run_tree(&args),
        Command::Report(args) => explain::run_report(&args),
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

/// What `--release` names, or the release of this machine when it names none.
fn release_source(arg: &ReleaseArg) -> Result<ReleaseSource, CatalogError> {
    match &arg.release {
        Some(name) => ReleaseSource::resolve(name),
        None => ReleaseSource::infer(Path::new("/etc/os-release")),
    }
}

/// Loads the release named by `--release`, with every check.
fn load_release(arg: &ReleaseArg) -> Result<Release> {
    let catalog = settings::catalog_settings(None, false, &process_env)?;
    Ok(release_source(arg)?.load(&catalog)?)
}

/// Whether a cut needs the whole release, not only the part its slices reach: to extend a root
/// cut before (the slices its manifest lists, and where any of the release's manifest slices
/// would have put one), to upgrade one or write a delta, and to check the root (which slices
/// provide what it lacks).
fn needs_whole_release(args: &CutArgs) -> bool {
    args.check
        || args.extend.upgrade
        || args.extend.delta.is_some()
        || args.root.as_deref().is_some_and(|root| {
            fs_err::read_dir(root).is_ok_and(|mut entries| entries.next().is_some())
        })
}

/// What to add to "not found" when the release is a bundled one: which release that was, how
/// big it is, and where the upstream catalogue is.
fn bundled_miss_hint(source: &ReleaseSource, release: &Release) -> String {
    let ReleaseSource::Bundled(bundled) = source else {
        return String::new();
    };
    let mut hint = format!(
        "\nhint: this is kerf's bundled release {}, with {} packages",
        bundled.name,
        release.packages.len()
    );
    if bundled.name.starts_with("ubuntu-") {
        hint.push_str(&format!(
            "; the upstream catalogue is --release {}{}",
            crate::catalog::CHISEL_RELEASES,
            bundled.name
        ));
    }
    hint
}

fn info(release_arg: &ReleaseArg, queries: &[String]) -> Result<ExitCode> {
    let source = release_source(release_arg)?;
    let catalog = settings::catalog_settings(None, false, &process_env)?;
    let release = source.load(&catalog)?;
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
        "no slice definitions found for: {}{}",
        names.join(", "),
        bundled_miss_hint(&source, &release)
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
    let mut text = format!("kerf {}\n", env!("CARGO_PKG_VERSION"));
    if bundled::releases().is_empty() {
        text.push_str("bundled releases: none\n");
    } else {
        text.push_str("bundled releases:\n");
    }
    for release in bundled::releases() {
        let summary = release
            .summary()
            .with_context(|| format!("the bundled release {} does not load", release.name))?;
        text.push_str(&format!(
            "  {}: {} packages, {} slices\n",
            release.name, summary.packages, summary.slices
        ));
    }
    write_stdout(&text)?;
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

/// Slice names as given on the command line, each once.
fn slice_keys(names: &[String]) -> Result<Vec<SliceKey>, UsageError> {
    let mut slices = Vec::new();
    for name in names {
        let key = SliceKey::parse(name).ok_or_else(|| {
            UsageError(format!(
                "invalid slice reference: \"{name}\" (expected PACKAGE_SLICE, e.g. libc6_libs)"
            ))
        })?;
        if !slices.contains(&key) {
            slices.push(key);
        }
    }
    Ok(slices)
}

fn cut(args: &CutArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let mut slices = slice_keys(&args.slices)?;
    let sbom_format = args
        .sbom
        .as_deref()
        .map(sbom::format_from_name)
        .transpose()?;
    let extras = image::extras(args, &process_env)?;
    let mut options = settings::cut_options(args, extras.arches.first().copied(), &process_env)?;
    let catalog = settings::catalog_settings(
        Some(&options.archives.cache_dir),
        options.archives.offline,
        &process_env,
    )?;
    let (source, release) = match &args.locked {
        None => {
            let source = release_source(&args.release)?;
            let release = if needs_whole_release(args) {
                source.load_remembered(&catalog)?
            } else {
                source.load_reaching(&catalog, &slices)?
            };
            (source, release)
        }
        Some(path) => {
            let locked = lock::locked_cut(args, path, &slices, &catalog)?;
            if let Some(arch) = locked.arch {
                options.archives.arch = arch;
            }
            options.locked = Some(locked.lock);
            slices = locked.slices;
            (locked.source, locked.release)
        }
    };
    settings::check_against(&options.archives, &release)?;
    let failure = |error: CutError| -> anyhow::Error {
        match error {
            CutError::Select(
                error @ (SelectError::UnknownPackage { .. } | SelectError::UnknownSlice { .. }),
            ) => UsageError(format!("{error}{}", bundled_miss_hint(&source, &release))).into(),
            other => other.into(),
        }
    };
    if let Some(spec) = &extras.image {
        let job = image::Job {
            args,
            slices: &slices,
            release: &release,
            options: &options,
            extras: &extras,
            spec,
        };
        let status = image::cut_image(&job, &failure)?;
        // The image's root is kept only when given (--sbom without one is refused before).
        if let (Some(root), Some(path), Some(format)) = (&args.root, &args.sbom, sbom_format) {
            sbom::write(root, format, Some(path))?;
        }
        return Ok(status);
    }
    let root = &options.root;
    let reporter = printer::reporter(args.quiet, args.verbose > 0);
    printer::trace(args.verbose > 1);
    let summary = crate::cut::cut(&release, &slices, &options, reporter.as_ref());
    reporter.finish();
    let summary = summary.map_err(failure)?;
    crate::accounts::apply(root, &extras.accounts)?;
    if !args.quiet {
        #[expect(clippy::print_stderr, reason = "the summary goes to stderr")]
        {
            eprintln!(
                "Cut {} slices of {} packages into {}: {} paths, {} in files, {} downloaded, {:.2} s",
                summary.slices,
                summary.packages,
                root.display(),
                summary.paths,
                human_bytes(summary.bytes),
                human_bytes(summary.downloaded),
                started.elapsed().as_secs_f64()
            );
            eprint!("{}", explain::largest_packages(&summary));
            for line in extension::summary_lines(
                summary.extension.as_ref(),
                summary.delta.as_ref(),
                args.extend.upgrade,
            ) {
                eprintln!("{line}");
            }
        }
    }
    if let (Some(path), Some(format)) = (&args.sbom, sbom_format) {
        sbom::write(root, format, Some(path))?;
    }
    if args.check {
        return check_root(root, Some(&release), Some(options.archives.arch));
    }
    Ok(ExitCode::SUCCESS)
}
