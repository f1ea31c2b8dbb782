//! Arguments and environment → validated settings, before anything touches the disk or the
//! network. What is wrong with the command line is said here, once, with the flag's name;
//! the commands then run on complete values and never look at a raw flag again.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::PathBuf;

use super::args::{ArchiveArgs, CutArgs, IgnoreArg};
use super::UsageError;
use crate::archive::archives::ArchiveSettings;
use crate::archive::select::DefaultUrls;
use crate::archive::snapshot::{SnapshotId, SnapshotUrls};
use crate::catalog::{CatalogSettings, DEFAULT_CHISEL_RELEASES_URL};
use crate::clock::Timestamp;
use crate::cut::{CutOptions, Ignore};
use crate::release::{Arch, Release};
use crate::transport::http::FetchOptions;

/// The process environment, or a test's.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// The environment variable that sets the moment every date is judged at, in seconds since
/// 1970 (to reproduce a run of another day, or to read an archive copy past its
/// `Valid-Until` as it was then).
pub(crate) const NOW_VARIABLE: &str = "KERF_NOW";

/// The environment variables that say where the snapshot services are: Ubuntu's archive,
/// Ubuntu's ports archive, and Debian's service (`<URL><archive>/<ID>/`).
pub(crate) const SNAPSHOT_VARIABLES: [&str; 3] = [
    "KERF_SNAPSHOT_URL",
    "KERF_SNAPSHOT_PORTS_URL",
    "KERF_DEBIAN_SNAPSHOT_URL",
];

/// The environment variable that says where branches of chisel-releases are fetched from.
pub(crate) const CHISEL_RELEASES_VARIABLE: &str = "KERF_CHISEL_RELEASES_URL";

/// How releases named `chisel-releases:BRANCH` are fetched: with the cache of `--cache-dir`
/// (else the default one) and `--offline`, when the command has those flags.
pub(crate) fn catalog_settings(
    cache_dir: Option<&std::path::Path>,
    offline: bool,
    env: Env<'_>,
) -> Result<CatalogSettings, UsageError> {
    let cache_dir = match cache_dir {
        Some(dir) => dir.to_owned(),
        None => match env("KERF_CACHE_DIR").filter(|dir| !dir.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => default_cache_dir(env)?,
        },
    };
    let mut url = match env(CHISEL_RELEASES_VARIABLE) {
        None => DEFAULT_CHISEL_RELEASES_URL.to_owned(),
        Some(value) => value
            .to_str()
            .filter(|url| is_archive_url(url))
            .map(str::to_owned)
            .ok_or_else(|| {
                UsageError(format!(
                    "invalid {CHISEL_RELEASES_VARIABLE} {value:?}: expected an http://, https:// or file:/// URL"
                ))
            })?,
    };
    if !url.ends_with('/') {
        url.push('/');
    }
    Ok(CatalogSettings {
        cache_dir,
        offline,
        chisel_releases_url: url,
        fetch: FetchOptions::default(),
    })
}

/// How the archives are reached, from the archive flags and the environment.
pub(crate) fn archive_settings(
    args: &ArchiveArgs,
    env: Env<'_>,
) -> Result<ArchiveSettings, UsageError> {
    let arch = match &args.arch {
        Some(name) => parse_arch(name)?,
        None => Arch::host().ok_or_else(|| {
            UsageError("cannot infer the architecture of this machine; give --arch".to_owned())
        })?,
    };
    let mut archive_urls = BTreeMap::new();
    for pair in &args.archive_urls {
        let (name, url) = pair
            .split_once('=')
            .filter(|(name, url)| !name.is_empty() && is_archive_url(url))
            .ok_or_else(|| {
                UsageError(format!(
                    "invalid --archive-url \"{pair}\": expected NAME=http://..., NAME=https://... or NAME=file:///..."
                ))
            })?;
        archive_urls.insert(name.to_owned(), url.to_owned());
    }
    let cache_dir = match &args.cache_dir {
        Some(dir) => dir.clone(),
        None => default_cache_dir(env)?,
    };
    let snapshot = args
        .snapshot
        .as_deref()
        .map(SnapshotId::parse)
        .transpose()
        .map_err(|error| UsageError(format!("--snapshot: {error}")))?;
    Ok(ArchiveSettings {
        arch,
        cache_dir,
        archive_urls,
        offline: args.offline,
        jobs: 4,
        fetch: FetchOptions::default(),
        auth_dir: crate::archive::credentials::auth_dir(|name| env(name)),
        // A snapshot keeps its InRelease files as they were signed: their Valid-Until has
        // passed by design.
        ignore_release_dates: snapshot.is_some(),
        now: now(env)?,
        default_urls: DefaultUrls::ubuntu(),
        snapshot,
        snapshot_urls: snapshot_urls(env)?,
    })
}

/// Everything a cut needs, from its flags and the environment, for `arch` (the first of
/// `--arch`, checked by the image flags' step; `None`: this machine's). The root is checked for
/// what can be said without creating it: something that is not a directory in its place.
/// Without `--root` (an image cut into temporary roots) `root` is empty: the image writer sets
/// it per architecture.
pub(crate) fn cut_options(
    args: &CutArgs,
    arch: Option<Arch>,
    env: Env<'_>,
) -> Result<CutOptions, UsageError> {
    if let Some(root) = &args.root {
        if fs_err::metadata(root).is_ok_and(|metadata| !metadata.is_dir()) {
            return Err(UsageError(format!(
                "invalid --root {}: it exists and is not a directory",
                root.display()
            )));
        }
    }
    let one_arch = ArchiveArgs {
        arch: arch.map(|arch| arch.as_str().to_owned()),
        ..args.archives.clone()
    };
    let mut archives = archive_settings(&one_arch, env)?;
    archives.jobs = args.jobs;
    archives.ignore_release_dates |= args.ignore.contains(&IgnoreArg::ReleaseDates);
    let ignore: BTreeSet<Ignore> = args
        .ignore
        .iter()
        .filter_map(|ignore| match ignore {
            IgnoreArg::Unstable => Some(Ignore::Unstable),
            IgnoreArg::Unmaintained => Some(Ignore::Unmaintained),
            IgnoreArg::ReleaseDates => None,
        })
        .collect();
    Ok(CutOptions {
        root: args.root.clone().unwrap_or_default(),
        extend: super::extension::options(args)?,
        archives,
        ignore,
        scripts: script_runner(),
        script_limits: crate::mutate::Limits::default(),
        dpkg_status: args.dpkg_status,
        locked: None,
    })
}

/// The checks that need the release: `--archive-url` must name one of its archives.
pub(crate) fn check_against(
    settings: &ArchiveSettings,
    release: &Release,
) -> Result<(), UsageError> {
    for name in settings.archive_urls.keys() {
        if !release.archives.contains_key(name) {
            let names: Vec<&str> = release.archives.keys().map(String::as_str).collect();
            return Err(UsageError(format!(
                "--archive-url names archive \"{name}\", which the release does not define (it has {})",
                names.join(", ")
            )));
        }
    }
    Ok(())
}

/// The snapshot services, from the environment or the public ones.
fn snapshot_urls(env: Env<'_>) -> Result<SnapshotUrls, UsageError> {
    let public = SnapshotUrls::public();
    let [ubuntu, ports, debian] = SNAPSHOT_VARIABLES;
    let mut urls = [
        (ubuntu, public.ubuntu),
        (ports, public.ubuntu_ports),
        (debian, public.debian),
    ];
    for (name, url) in &mut urls {
        let Some(value) = env(name).filter(|value| !value.is_empty()) else {
            continue;
        };
        let given = value
            .to_str()
            .filter(|given| is_archive_url(given))
            .ok_or_else(|| {
                UsageError(format!(
                    "invalid {name} {value:?}: expected an http://, https:// or file:/// URL"
                ))
            })?;
        *url = crate::archive::archives::base_form(given);
    }
    let [(_, ubuntu), (_, ubuntu_ports), (_, debian)] = urls;
    Ok(SnapshotUrls {
        ubuntu,
        ubuntu_ports,
        debian,
    })
}

fn is_archive_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://") || url.starts_with("file:///")
}

/// An `--arch` value.
pub(crate) fn parse_arch(name: &str) -> Result<Arch, UsageError> {
    Arch::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Arch::ALL.iter().map(|arch| arch.as_str()).collect();
        UsageError(format!(
            "invalid package architecture: {name} (expected one of {})",
            names.join(", ")
        ))
    })
}

/// `$XDG_CACHE_HOME/kerf`, else `~/.cache/kerf`.
fn default_cache_dir(env: Env<'_>) -> Result<PathBuf, UsageError> {
    if let Some(dir) = env("XDG_CACHE_HOME").filter(|dir| !dir.is_empty()) {
        return Ok(PathBuf::from(dir).join("kerf"));
    }
    if let Some(home) = env("HOME").filter(|home| !home.is_empty()) {
        return Ok(PathBuf::from(home).join(".cache/kerf"));
    }
    Err(UsageError(
        "no cache directory: set --cache-dir, XDG_CACHE_HOME or HOME".to_owned(),
    ))
}

/// The system clock, or `KERF_NOW`.
fn now(env: Env<'_>) -> Result<Timestamp, UsageError> {
    let Some(value) = env(NOW_VARIABLE) else {
        return Ok(Timestamp::now());
    };
    value
        .to_str()
        .and_then(|text| text.parse::<i64>().ok())
        .filter(|seconds| *seconds >= 0)
        .map(Timestamp::from_unix)
        .ok_or_else(|| {
            UsageError(format!(
                "invalid {NOW_VARIABLE} {value:?}: expected seconds since 1970-01-01 UTC, e.g. 1796515200"
            ))
        })
}

/// The scripts run in a child kerf: this very executable. Where it cannot be found (no `/proc`
/// in a bare chroot), cuts without scripts still work; one with scripts says why it cannot.
pub(crate) fn script_runner() -> crate::mutate::child::Runner {
    match std::env::current_exe() {
        Ok(exe) => crate::mutate::child::Runner::Child(exe),
        Err(error) => crate::mutate::child::Runner::Unavailable(format!(
            "cannot find kerf's own executable to run them in ({error}; is /proc mounted?)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(urls: &[&str]) -> ArchiveArgs {
        ArchiveArgs {
            arch: Some("arm64".to_owned()),
            cache_dir: None,
            archive_urls: urls.iter().map(|url| (*url).to_owned()).collect(),
            offline: false,
            snapshot: None,
        }
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        }
    }

    #[test]
    fn the_environment_gives_the_cache_and_the_clock() {
        let env = env_of(&[("HOME", "/home/ana"), (NOW_VARIABLE, "1796515200")]);
        let settings = archive_settings(&args(&["ubuntu=file:///srv/mirror/"]), &env).unwrap();
        assert_eq!(settings.arch, Arch::Arm64);
        assert_eq!(settings.cache_dir, PathBuf::from("/home/ana/.cache/kerf"));
        assert_eq!(settings.now, Timestamp::from_unix(1_796_515_200));
        assert_eq!(
            settings.archive_urls,
            BTreeMap::from([("ubuntu".to_owned(), "file:///srv/mirror/".to_owned())])
        );
        let env = env_of(&[("XDG_CACHE_HOME", "/cache"), ("HOME", "/home/ana")]);
        let settings = archive_settings(&args(&[]), &env).unwrap();
        assert_eq!(settings.cache_dir, PathBuf::from("/cache/kerf"));
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        let env = env_of(&[("HOME", "/home/ana"), (NOW_VARIABLE, "yesterday")]);
        assert_eq!(
            archive_settings(&args(&[]), &env).unwrap_err().to_string(),
            "invalid KERF_NOW \"yesterday\": expected seconds since 1970-01-01 UTC, e.g. 1796515200"
        );
        let env = env_of(&[("HOME", "/home/ana")]);
        assert_eq!(
            archive_settings(&args(&["ubuntu=file:relative"]), &env)
                .unwrap_err()
                .to_string(),
            "invalid --archive-url \"ubuntu=file:relative\": expected NAME=http://..., NAME=https://... or NAME=file:///..."
        );
        assert_eq!(
            archive_settings(&args(&[]), &env_of(&[]))
                .unwrap_err()
                .to_string(),
            "no cache directory: set --cache-dir, XDG_CACHE_HOME or HOME"
        );
    }
}
