//! Bytes and regular files per slice, per package and for the whole root.

use std::collections::{BTreeMap, BTreeSet};

use crate::extract::{Installed, InstalledKind};
use crate::manifest::Manifest;
use crate::release::SliceKey;

/// What a part of a root costs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Usage {
    /// Bytes of regular files.
    pub(crate) bytes: u64,
    /// Regular files.
    pub(crate) files: usize,
}

impl Usage {
    fn add(&mut self, bytes: u64) {
        self.bytes += bytes;
        self.files += 1;
    }
}

/// One regular file of a root and the slice it is counted for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RootFile {
    pub(crate) path: String,
    pub(crate) size: u64,
    /// The first, by name, of the slices that list the file.
    pub(crate) owner: SliceKey,
}

/// The regular files of a root, each counted once, and their sums.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Footprint {
    /// By path.
    pub(crate) files: Vec<RootFile>,
    pub(crate) by_slice: BTreeMap<SliceKey, Usage>,
    pub(crate) by_package: BTreeMap<String, Usage>,
    pub(crate) total: Usage,
}

impl Footprint {
    /// From a root's manifest: a regular file is a path with a hash and no link target (a
    /// hard-link group of symlinks copies its link), sized as the manifest says (the final
    /// size, after any mutate script).
    pub(crate) fn from_manifest(manifest: &Manifest) -> Footprint {
        Footprint::new(manifest.paths.values().filter_map(|path| {
            let regular = (path.final_sha256.is_some() || path.sha256.is_some())
                && path.link.as_ref().is_none_or(String::is_empty);
            regular.then_some((path.path.as_str(), path.size, &path.slices))
        }))
    }

    /// From the record of a cut kerf has just made.
    pub(crate) fn from_installed(installed: &BTreeMap<String, Installed>) -> Footprint {
        Footprint::new(installed.values().filter_map(|item| match item.kind {
            InstalledKind::File { size, .. } => Some((item.path.as_str(), size, &item.slices)),
            InstalledKind::Directory | InstalledKind::Symlink { .. } => None,
        }))
    }

    fn new<'a>(files: impl Iterator<Item = (&'a str, u64, &'a BTreeSet<SliceKey>)>) -> Footprint {
        let mut footprint = Footprint::default();
        for (path, size, slices) in files {
            // A file no slice lists cannot be explained; a manifest or a cut never has one.
            let Some(owner) = slices.first() else {
                continue;
            };
            footprint
                .by_slice
                .entry(owner.clone())
                .or_default()
                .add(size);
            footprint
                .by_package
                .entry(owner.package.clone())
                .or_default()
                .add(size);
            footprint.total.add(size);
            footprint.files.push(RootFile {
                path: path.to_owned(),
                size,
                owner: owner.clone(),
            });
        }
        footprint.files.sort_by(|a, b| a.path.cmp(&b.path));
        footprint
    }

    /// What `key` contributes (nothing when it installed no regular file).
    pub(crate) fn slice(&self, key: &SliceKey) -> Usage {
        self.by_slice.get(key).copied().unwrap_or_default()
    }

    /// The `count` packages with the most bytes, largest first, ties by name.
    pub(crate) fn largest_packages(&self, count: usize) -> Vec<(&str, Usage)> {
        let mut packages: Vec<(&str, Usage)> = self
            .by_package
            .iter()
            .map(|(name, usage)| (name.as_str(), *usage))
            .collect();
        packages.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(b.0)));
        packages.truncate(count);
        packages
    }

    /// `part` as a share of the root, in tenths of a percent (`1000` is all of it), rounded
    /// to nearest; an empty root has no share to give.
    pub(crate) fn permille(&self, part: u64) -> u64 {
        if self.total.bytes == 0 {
            return 0;
        }
        let total = u128::from(self.total.bytes);
        let scaled = (u128::from(part) * 1000 + total / 2) / total;
        u64::try_from(scaled).unwrap_or(1000)
    }
}
