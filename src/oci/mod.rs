//! OCI images without a daemon: `kerf cut --oci-layout DIR` (or `--oci-archive FILE.tar`).
//!
//! One image per architecture, of one layer holding the cut root, and its config; with several
//! architectures, an image index over them. The image depends only on what was cut, never on
//! who ran kerf: owners and modes come from the packages' tar headers as extraction recorded
//! them ([`KnownPath`]), never from the disk, entries are sorted, and every time (mtimes,
//! `created`, history) is clamped to one epoch: `SOURCE_DATE_EPOCH`, by default the newest
//! InRelease `Date` of the cut. The same inputs give the same bytes, as root or not.
//!
//! - [`tar`]: the deterministic tar writer;
//! - [`layer`]: the root as a compressed layer, hashed while streamed (memory stays flat);
//! - [`json`]: config, manifest, index, descriptors;
//! - [`layout`]: the layout on disk, updated with temporary names and renames, or packed.
//!
//! The end-to-end tests (cuts from a signed test archive into images) are in
//! `cut/image_tests.rs`, beside the cut tests whose archive they use.

pub(crate) mod json;
mod layer;
pub(crate) mod layout;
mod tar;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::accounts::{AccountError, Accounts, AddedUser};
use crate::cut::{CutError, CutOptions, CutSummary};
use crate::extract::{Installed, InstalledKind};
use crate::release::{Arch, Release, SliceKey};
use crate::report::Reporter;
use json::{Descriptor, Platform};
pub(crate) use layout::{Destination, Staging};

/// The PATH an image gets unless `--env PATH=...` says otherwise: Debian's and Ubuntu's.
const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Why an image could not be written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OciError {
    #[error("invalid --oci-layout {dir}: {reason}")]
    NotALayout { dir: PathBuf, reason: String },
    #[error("invalid --oci-archive {path}: {reason}")]
    ArchivePath { path: PathBuf, reason: String },
    #[error("invalid --tag \"{tag}\": a tag is 1 to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'")]
    Tag { tag: String },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The destination cannot be written (found before the cut).
    #[error("cannot {action} {path}: {source}")]
    Unusable {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot put {path} into the layer: only files, directories and symlinks can be")]
    Unsupported { path: PathBuf },
}

impl OciError {
    /// Whether what the user gave is at fault (exit status 1).
    pub(crate) fn is_user_error(&self) -> bool {
        match self {
            OciError::NotALayout { .. }
            | OciError::ArchivePath { .. }
            | OciError::Tag { .. }
            | OciError::Unusable { .. } => true,
            OciError::Io { .. } | OciError::Unsupported { .. } => false,
        }
    }
}

/// Why `cut --oci-layout` stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ImageError {
    #[error(transparent)]
    Cut(#[from] CutError),
    #[error(transparent)]
    Oci(#[from] OciError),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("cannot create a temporary root for {arch}: {source}")]
    TemporaryRoot {
        arch: String,
        source: std::io::Error,
    },
}

impl ImageError {
    pub(crate) fn is_user_error(&self) -> bool {
        match self {
            ImageError::Cut(error) => error.is_user_error(),
            ImageError::Oci(error) => error.is_user_error(),
            ImageError::Account(error) => error.is_user_error(),
            ImageError::TemporaryRoot { .. } => false,
        }
    }
}

/// How the layer is compressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Compression {
    #[default]
    Gzip,
    Zstd,
}

impl Compression {
    fn media_type(self) -> &'static str {
        match self {
            Compression::Gzip => json::MEDIA_LAYER_GZIP,
            Compression::Zstd => json::MEDIA_LAYER_ZSTD,
        }
    }
}

/// A checked image tag (what `oci:DIR:TAG` names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tag(String);

impl Tag {
    /// The tag grammar of image references: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    pub(crate) fn parse(text: &str) -> Result<Tag, OciError> {
        let valid = !text.is_empty()
            && text.len() <= 128
            && !text.starts_with(['.', '-'])
            && text
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-'));
        if valid {
            Ok(Tag(text.to_owned()))
        } else {
            Err(OciError::Tag {
                tag: text.to_owned(),
            })
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the cut knows of one path of the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KnownPath {
    pub(crate) mode: u32,
    pub(crate) uid: u64,
    pub(crate) gid: u64,
    pub(crate) user: String,
    pub(crate) group: String,
    /// The package's mtime; `None` for what kerf made itself (it gets the epoch).
    pub(crate) mtime: Option<u64>,
}

/// The known paths of a cut, by in-root path without a trailing `/`: what extraction recorded
/// (root's for what the slices create), and each added user's home, owned by the user.
pub(crate) fn known_paths(
    installed: &BTreeMap<String, Installed>,
    users: &[AddedUser],
) -> BTreeMap<String, KnownPath> {
    let mut known = BTreeMap::new();
    for item in installed.values() {
        let path = item.path.trim_end_matches('/').to_owned();
        let mode = match item.kind {
            InstalledKind::Symlink { .. } => 0o777,
            _ => item.mode,
        };
        let recorded = match &item.owner {
            Some(owner) => KnownPath {
                mode,
                uid: owner.uid,
                gid: owner.gid,
                user: owner.user.clone(),
                group: owner.group.clone(),
                mtime: Some(owner.mtime),
            },
            None => root_owned(mode),
        };
        known.insert(path, recorded);
    }
    for user in users {
        known.insert(
            user.home.clone(),
            KnownPath {
                mode: 0o755,
                uid: u64::from(user.uid),
                gid: u64::from(user.gid),
                user: user.name.clone(),
                group: user.group.clone(),
                mtime: None,
            },
        );
    }
    known
}

/// Re-keys the known paths by where they really are in the root: a slice path below a
/// symlinked directory (`/lib64/ld-linux-x86-64.so.2` with `/lib64 -> usr/lib64`) is found at
/// its target when the root is walked.
fn resolve_through_links(
    root_dir: &Path,
    known: BTreeMap<String, KnownPath>,
) -> Result<BTreeMap<String, KnownPath>, OciError> {
    let root = crate::extract::root::Root::open(root_dir).map_err(|error| OciError::Io {
        action: "open the root",
        path: root_dir.to_owned(),
        source: std::io::Error::other(error.to_string()),
    })?;
    let mut through_links = Vec::new();
    let mut resolved = BTreeMap::new();
    for (path, recorded) in known {
        let real = crate::extract::root::RelPath::new(&path)
            .and_then(|rel| root.host_path(&rel).ok())
            .and_then(|host| {
                host.strip_prefix(root.dir())
                    .ok()
                    .map(|inside| format!("/{}", inside.display()))
            })
            .unwrap_or_else(|| path.clone());
        if real == path {
            resolved.insert(real, recorded);
        } else {
            through_links.push((real, recorded));
        }
    }
    // A path recorded as itself wins over one reached through a link.
    for (real, recorded) in through_links {
        resolved.entry(real).or_insert(recorded);
    }
    Ok(resolved)
}

fn root_owned(mode: u32) -> KnownPath {
    KnownPath {
        mode,
        uid: 0,
        gid: 0,
        user: "root".to_owned(),
        group: "root".to_owned(),
        mtime: None,
    }
}

/// The OCI platform of a Debian architecture.
pub(crate) fn platform(arch: Arch) -> Platform {
    let (architecture, variant) = match arch.as_str() {
        "amd64" => ("amd64", None),
        "arm64" => ("arm64", Some("v8")),
        "armhf" => ("arm", Some("v7")),
        "i386" => ("386", None),
        "ppc64el" => ("ppc64le", None),
        other => (other, None),
    };
    Platform {
        architecture: architecture.to_owned(),
        os: "linux".to_owned(),
        variant: variant.map(str::to_owned),
    }
}

/// How containers of the image run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RunSettings {
    pub(crate) entrypoint: Option<Vec<String>>,
    pub(crate) cmd: Option<Vec<String>>,
    /// `KEY=VALUE`, in the order given.
    pub(crate) env: Vec<String>,
    pub(crate) workdir: Option<String>,
    pub(crate) labels: BTreeMap<String, String>,
}

/// Everything about the image but the cut itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ImageSpec {
    pub(crate) destination: Destination,
    pub(crate) tag: Option<Tag>,
    pub(crate) compression: Compression,
    pub(crate) run: RunSettings,
    /// `SOURCE_DATE_EPOCH`; `None`: the newest InRelease `Date` of the cut.
    pub(crate) epoch: Option<u64>,
}

/// A cut that ends as an image.
pub(crate) struct ImageJob<'a> {
    pub(crate) release: &'a Release,
    pub(crate) slices: &'a [SliceKey],
    /// The cut's options; `root` and `arch` are set per architecture.
    pub(crate) options: &'a CutOptions,
    pub(crate) arches: &'a [Arch],
    /// Where to cut (one architecture only); `None`: a temporary directory, removed after.
    pub(crate) root: Option<&'a Path>,
    pub(crate) accounts: &'a Accounts,
    pub(crate) spec: &'a ImageSpec,
}

/// What was written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ImageSummary {
    /// Per architecture: the cut's summary and the image's manifest descriptor.
    pub(crate) images: Vec<(Arch, CutSummary, Descriptor)>,
    /// What the tag points at: the manifest, or the index over several.
    pub(crate) top: Descriptor,
    pub(crate) epoch: u64,
}

/// Cuts each architecture, adds the accounts, and writes the image: the destination is
/// checked first, every cut runs before anything is written, and the index goes last.
pub(crate) fn cut_image(
    job: &ImageJob<'_>,
    reporter: &dyn Reporter,
) -> Result<ImageSummary, ImageError> {
    let staging = Staging::prepare(&job.spec.destination)?;
    let mut cuts = Vec::new();
    for &arch in job.arches {
        let (root, temporary) = match job.root {
            Some(root) => (root.to_owned(), None),
            None => {
                let dir = tempfile::Builder::new()
                    .prefix(&format!("kerf-root-{}-", arch.as_str()))
                    .tempdir()
                    .map_err(|source| ImageError::TemporaryRoot {
                        arch: arch.as_str().to_owned(),
                        source,
                    })?;
                (dir.path().to_owned(), Some(dir))
            }
        };
        if job.arches.len() > 1 {
            reporter.step(&format!("Cutting for {}...", arch.as_str()));
        }
        let mut options = job.options.clone();
        options.root.clone_from(&root);
        options.archives.arch = arch;
        let summary = crate::cut::cut(job.release, job.slices, &options, reporter)?;
        let users = crate::accounts::apply(&root, job.accounts)?;
        cuts.push((arch, root, temporary, summary, users));
    }
    let epoch = job.spec.epoch.unwrap_or_else(|| {
        cuts.iter()
            .filter_map(|(_, _, _, summary, _)| summary.release_date)
            .max()
            .map_or(0, |date| u64::try_from(date).unwrap_or(0))
    });
    let created_by = format!(
        "kerf cut {}",
        job.slices
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut images = Vec::new();
    for (arch, root, _temporary, summary, users) in cuts {
        reporter.step(&format!("Writing the image layer for {}...", arch.as_str()));
        let known = resolve_through_links(&root, known_paths(&summary.installed, &users))?;
        let user = users
            .first()
            .map(|user| format!("{}:{}", user.uid, user.gid));
        let descriptor = write_image(
            &staging,
            &ImageInput {
                root: &root,
                known: &known,
                platform: platform(arch),
                epoch,
                user,
                created_by: &created_by,
            },
            job.spec,
        )?;
        images.push((arch, summary, descriptor));
    }
    let top = match images.as_slice() {
        [(_, _, only)] => only.clone(),
        _ => write_index(
            &staging,
            images
                .iter()
                .map(|(_, _, descriptor)| descriptor.clone())
                .collect(),
        )?,
    };
    staging.finish(job.spec.tag.as_ref(), top.clone())?;
    Ok(ImageSummary { images, top, epoch })
}

/// One architecture's image.
pub(crate) struct ImageInput<'a> {
    pub(crate) root: &'a Path,
    pub(crate) known: &'a BTreeMap<String, KnownPath>,
    pub(crate) platform: Platform,
    pub(crate) epoch: u64,
    /// The config's `User`.
    pub(crate) user: Option<String>,
    pub(crate) created_by: &'a str,
}

/// Writes the layer, the config and the manifest; returns the manifest's descriptor.
pub(crate) fn write_image(
    staging: &Staging,
    input: &ImageInput<'_>,
    spec: &ImageSpec,
) -> Result<Descriptor, OciError> {
    let layer = staging.write_blob(|out| {
        let blob = layer::write_layer(input.root, input.known, input.epoch, spec.compression, out)?;
        let digest = blob.digest.clone();
        Ok((blob, digest))
    })?;
    let created = json::rfc3339(input.epoch);
    let mut env = Vec::new();
    if !spec.run.env.iter().any(|pair| pair.starts_with("PATH=")) {
        env.push(DEFAULT_PATH.to_owned());
    }
    env.extend(spec.run.env.iter().cloned());
    let config = json::Config {
        created: created.clone(),
        architecture: input.platform.architecture.clone(),
        os: input.platform.os.clone(),
        variant: input.platform.variant.clone(),
        config: json::RunConfig {
            user: input.user.clone(),
            env,
            entrypoint: spec.run.entrypoint.clone(),
            cmd: spec.run.cmd.clone(),
            working_dir: spec.run.workdir.clone(),
            labels: spec.run.labels.clone(),
        },
        rootfs: json::RootFs {
            kind: "layers",
            diff_ids: vec![format!("sha256:{}", layer.diff_id)],
        },
        history: vec![json::History {
            created,
            created_by: input.created_by.to_owned(),
        }],
    };
    let config_bytes = json::to_bytes(&config);
    let config_digest = staging.put_blob(&config_bytes)?;
    let manifest = json::Manifest {
        schema_version: 2,
        media_type: json::MEDIA_MANIFEST,
        config: Descriptor::new(
            json::MEDIA_CONFIG,
            &config_digest,
            config_bytes.len() as u64,
        ),
        layers: vec![Descriptor::new(
            spec.compression.media_type(),
            &layer.digest,
            layer.size,
        )],
    };
    let manifest_bytes = json::to_bytes(&manifest);
    let manifest_digest = staging.put_blob(&manifest_bytes)?;
    Ok(Descriptor {
        platform: Some(input.platform.clone()),
        ..Descriptor::new(
            json::MEDIA_MANIFEST,
            &manifest_digest,
            manifest_bytes.len() as u64,
        )
    })
}

/// Writes an image index over `manifests`; returns its descriptor.
pub(crate) fn write_index(
    staging: &Staging,
    manifests: Vec<Descriptor>,
) -> Result<Descriptor, OciError> {
    let bytes = json::to_bytes(&json::Index::new(manifests));
    let digest = staging.put_blob(&bytes)?;
    Ok(Descriptor::new(
        json::MEDIA_INDEX,
        &digest,
        bytes.len() as u64,
    ))
}
