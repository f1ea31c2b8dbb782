//! `cut`'s image output (`--oci-layout`, `--oci-archive`) and accounts (`--user`, `--group`):
//! the flags checked into an [`ImageSpec`] and [`Accounts`] before any work, then the run.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;

use super::args::{CompressionArg, CutArgs, ImageArgs};
use super::settings::Env;
use super::UsageError;
use crate::accounts::{Accounts, GroupSpec, UserSpec};
use crate::cut::{CutError, CutOptions};
use crate::oci::{Compression, Destination, ImageError, ImageJob, ImageSpec, RunSettings, Tag};
use crate::release::{Arch, Release, SliceKey};

/// The environment variable that fixes the image's time.
const EPOCH_VARIABLE: &str = "SOURCE_DATE_EPOCH";

/// What `cut` was asked for beyond the root.
pub(super) struct Extras {
    /// `None` without --oci-layout and --oci-archive.
    pub(super) image: Option<ImageSpec>,
    pub(super) accounts: Accounts,
    /// Every `--arch` given; several only with an image.
    pub(super) arches: Vec<Arch>,
}

/// Checks the image and account flags, `--arch` and `SOURCE_DATE_EPOCH`: part of the settings
/// step, before any I/O.
pub(super) fn extras(args: &CutArgs, env: Env<'_>) -> Result<Extras, UsageError> {
    let image_args = &args.image;
    let mut accounts = Accounts::default();
    if let Some(user) = &image_args.user {
        accounts.users.push(UserSpec::parse(user).map_err(usage)?);
    }
    for group in &image_args.group {
        accounts
            .groups
            .push(GroupSpec::parse(group).map_err(usage)?);
    }
    let arches = match &args.archives.arch {
        Some(list) => list
            .split(',')
            .map(super::settings::parse_arch)
            .collect::<Result<Vec<Arch>, UsageError>>()?,
        None => Vec::new(),
    };
    let destination = match (&image_args.oci_layout, &image_args.oci_archive) {
        (Some(dir), _) => Some(Destination::Layout(dir.clone())),
        (None, Some(file)) => Some(Destination::Archive(file.clone())),
        (None, None) => None,
    };
    let mut unique = arches.clone();
    unique.sort_by_key(|arch| arch.as_str());
    unique.dedup();
    if unique.len() != arches.len() {
        return Err(UsageError(format!(
            "invalid --arch {}: an architecture is named twice",
            args.archives.arch.as_deref().unwrap_or_default()
        )));
    }
    if arches.len() > 1 {
        if destination.is_none() {
            return Err(UsageError(
                "several architectures need --oci-layout or --oci-archive (a root holds one)"
                    .to_owned(),
            ));
        }
        if args.root.is_some() {
            return Err(UsageError(
                "--root takes one architecture; with several, each is cut into a temporary root"
                    .to_owned(),
            ));
        }
    }
    if destination.is_some() && args.root.is_none() && args.sbom.is_some() {
        return Err(UsageError(
            "--sbom describes a root: with --oci-layout or --oci-archive, give --root too (the root is kept)"
                .to_owned(),
        ));
    }
    let Some(destination) = destination else {
        // clap requires --root then; said again for a caller that did not go through clap.
        if args.root.is_none() {
            return Err(UsageError(
                "--root is required without --oci-layout or --oci-archive".to_owned(),
            ));
        }
        return Ok(Extras {
            image: None,
            accounts,
            arches,
        });
    };
    let tag = image_args
        .tag
        .as_deref()
        .map(Tag::parse)
        .transpose()
        .map_err(usage)?;
    let epoch = match env(EPOCH_VARIABLE).filter(|value| !value.is_empty()) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .and_then(|text| text.parse::<u64>().ok())
                .ok_or_else(|| {
                    UsageError(format!(
                        "invalid {EPOCH_VARIABLE} {value:?}: expected whole seconds since 1970-01-01"
                    ))
                })?,
        ),
    };
    let image = ImageSpec {
        destination,
        tag,
        compression: match image_args.oci_compression {
            CompressionArg::Gzip => Compression::Gzip,
            CompressionArg::Zstd => Compression::Zstd,
        },
        run: run_settings(image_args)?,
        epoch,
    };
    Ok(Extras {
        image: Some(image),
        accounts,
        arches,
    })
}

fn usage(error: impl std::fmt::Display) -> UsageError {
    UsageError(error.to_string())
}

fn run_settings(args: &ImageArgs) -> Result<RunSettings, UsageError> {
    let pair = |option: &str, text: &str| -> Result<(String, String), UsageError> {
        match text.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
            _ => Err(UsageError(format!(
                "invalid --{option} \"{text}\": expected KEY=VALUE with a non-empty KEY"
            ))),
        }
    };
    let mut env = Vec::new();
    for text in &args.env {
        pair("env", text)?;
        env.push(text.clone());
    }
    let mut labels = BTreeMap::new();
    for text in &args.label {
        let (key, value) = pair("label", text)?;
        labels.insert(key, value);
    }
    if let Some(dir) = &args.workdir {
        if !dir.starts_with('/') {
            return Err(UsageError(format!(
                "invalid --workdir \"{dir}\": expected an absolute path"
            )));
        }
    }
    let list = |values: &Vec<String>| (!values.is_empty()).then(|| values.clone());
    Ok(RunSettings {
        entrypoint: list(&args.entrypoint),
        cmd: list(&args.cmd),
        env,
        workdir: args.workdir.clone(),
        labels,
    })
}

/// A cut that ends as an image, with its settings checked.
pub(super) struct Job<'a> {
    pub(super) args: &'a CutArgs,
    pub(super) slices: &'a [SliceKey],
    pub(super) release: &'a Release,
    /// For the first architecture; the image writer sets the root and the arch of each.
    pub(super) options: &'a CutOptions,
    pub(super) extras: &'a Extras,
    pub(super) spec: &'a ImageSpec,
}

/// Cuts and writes the image; prints what was written. `failure` words a cut's error.
pub(super) fn cut_image(
    job: &Job<'_>,
    failure: &dyn Fn(CutError) -> anyhow::Error,
) -> Result<ExitCode> {
    let started = Instant::now();
    let Job {
        args,
        slices,
        release,
        options,
        extras,
        spec,
    } = *job;
    let arches = if extras.arches.is_empty() {
        vec![options.archives.arch]
    } else {
        extras.arches.clone()
    };
    let image_job = ImageJob {
        release,
        slices,
        options,
        arches: &arches,
        root: args.root.as_deref(),
        accounts: &extras.accounts,
        spec,
    };
    let reporter = super::printer::reporter(args.quiet, args.verbose > 0);
    super::printer::trace(args.verbose > 1);
    let summary = crate::oci::cut_image(&image_job, reporter.as_ref());
    reporter.finish();
    let summary = summary.map_err(|error| match error {
        ImageError::Cut(error) => failure(error),
        other => other.into(),
    })?;
    if !args.quiet {
        let place = match &spec.destination {
            Destination::Layout(dir) => format!("the layout {}", dir.display()),
            Destination::Archive(file) => format!("the archive {}", file.display()),
        };
        let tag = spec
            .tag
            .as_ref()
            .map(|tag| format!(" as {}", tag.as_str()))
            .unwrap_or_default();
        let platforms: Vec<&str> = summary
            .images
            .iter()
            .map(|(arch, _, _)| arch.as_str())
            .collect();
        #[expect(clippy::print_stderr, reason = "the summary goes to stderr")]
        {
            eprintln!(
                "Wrote image {} ({}) into {place}{tag}, SOURCE_DATE_EPOCH {}: {:.2} s",
                summary.top.digest,
                platforms.join(", "),
                summary.epoch,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use clap::Parser as _;

    use super::*;
    use crate::cli::args::{Args, Command};

    fn cut_args(flags: &[&str]) -> CutArgs {
        let mut argv = vec!["kerf", "cut", "--release", "debian-13"];
        argv.extend_from_slice(flags);
        argv.push("openssl_bins");
        match Args::try_parse_from(argv).expect("the flags parse").command {
            Command::Cut(args) => args,
            other => panic!("not a cut: {other:?}"),
        }
    }

    fn epoch(value: &'static str) -> impl Fn(&str) -> Option<OsString> {
        move |name| (name == EPOCH_VARIABLE).then(|| OsString::from(value))
    }

    #[test]
    fn source_date_epoch_and_the_architectures_are_settings() {
        let image = ["--oci-layout", "img", "--arch", "arm64,amd64"];
        let checked = extras(&cut_args(&image), &epoch("1796428800")).unwrap();
        assert_eq!(checked.arches, [Arch::Arm64, Arch::Amd64]);
        assert_eq!(checked.image.unwrap().epoch, Some(1_796_428_800));
        // Empty is unset, as for other tools that read it.
        let checked = extras(&cut_args(&image), &epoch("")).unwrap();
        assert_eq!(checked.image.unwrap().epoch, None);
        assert_eq!(
            extras(&cut_args(&image), &epoch("yesterday"))
                .err()
                .unwrap()
                .to_string(),
            "invalid SOURCE_DATE_EPOCH \"yesterday\": expected whole seconds since 1970-01-01"
        );
        assert_eq!(
            extras(&cut_args(&["--oci-layout", "img", "--sbom", "r.spdx.json"]), &epoch(""))
                .err()
                .unwrap()
                .to_string(),
            "--sbom describes a root: with --oci-layout or --oci-archive, give --root too (the root is kept)"
        );
        // Without an image it is not read.
        let plain = extras(&cut_args(&["--root", "r"]), &epoch("yesterday")).unwrap();
        assert!(plain.image.is_none());
    }
}
