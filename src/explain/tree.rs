//! The essential closure of some slices as a tree, and the chains that lead to one slice.

use std::collections::{BTreeMap, BTreeSet};

use super::ExplainError;
use crate::glob::{fuzzy_match, glob_match};
use crate::manifest::Manifest;
use crate::release::{Arch, PathKind, Release, Slice, SliceKey};
use crate::resolve::{select, Selection};

/// How many close names an unknown name gets.
const SUGGESTIONS: usize = 5;

/// One mention of a slice in the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Node {
    pub(crate) key: SliceKey,
    pub(crate) mention: Mention,
    /// Its essentials for the architecture, by name; empty for a repeated mention.
    pub(crate) children: Vec<Node>,
}

/// Whether this is where the slice is shown with its essentials, or a later mention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mention {
    First,
    /// Shown before under this slice (`None`: among the requested slices).
    Seen {
        under: Option<SliceKey>,
    },
}

/// The essentials of `slice` for `arch`, by name.
fn essentials(slice: &Slice, arch: Arch) -> impl Iterator<Item = &SliceKey> {
    slice
        .essential
        .iter()
        .filter(move |(_, info)| info.arch.allows(arch))
        .map(|(key, _)| key)
}

fn slice_of<'r>(release: &'r Release, key: &SliceKey) -> Option<&'r Slice> {
    release
        .packages
        .get(&key.package)
        .and_then(|package| package.slices.get(&key.slice))
}

/// The closure of `requested` for `arch` as a tree: requested slices at the top in the order
/// given, each slice under the first slice (depth first, essentials by name) that needs it,
/// later mentions marked as seen. Unknown slices and essential loops are the selection's errors.
pub(crate) fn tree(
    release: &Release,
    arch: Arch,
    requested: &[SliceKey],
) -> Result<Vec<Node>, ExplainError> {
    select(release, requested, arch)?;
    let mut placed: BTreeMap<SliceKey, Option<SliceKey>> = BTreeMap::new();
    let mut top = Vec::with_capacity(requested.len());
    for key in requested {
        top.push(place(release, arch, key, None, &mut placed));
    }
    Ok(top)
}

fn place(
    release: &Release,
    arch: Arch,
    key: &SliceKey,
    parent: Option<&SliceKey>,
    placed: &mut BTreeMap<SliceKey, Option<SliceKey>>,
) -> Node {
    if let Some(under) = placed.get(key) {
        return Node {
            key: key.clone(),
            mention: Mention::Seen {
                under: under.clone(),
            },
            children: Vec::new(),
        };
    }
    placed.insert(key.clone(), parent.cloned());
    // The selection succeeded, so every essential exists and there is no loop.
    let children = slice_of(release, key)
        .map(|slice| {
            essentials(slice, arch)
                .map(|essential| place(release, arch, essential, Some(key), placed))
                .collect()
        })
        .unwrap_or_default();
    Node {
        key: key.clone(),
        mention: Mention::First,
        children,
    }
}

/// What `--why` was asked about, resolved to the selected slices it stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// As the user wrote it.
    pub(crate) name: String,
    /// For a path: the slices that install it, by name. For a package: its selected slices.
    /// For a slice: itself.
    pub(crate) slices: Vec<SliceKey>,
    pub(crate) kind: TargetKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TargetKind {
    Slice,
    Package,
    Path,
}

/// Resolves `name` (a slice, a package, or an absolute path) against `selection`. Paths are
/// looked up in `manifest` when there is one (what the root really holds), else in what the
/// selected slices declare (a glob counts when it matches the path).
pub(crate) fn target(
    selection: &Selection<'_>,
    requested: &[SliceKey],
    manifest: Option<&Manifest>,
    name: &str,
) -> Result<Target, ExplainError> {
    let selected: BTreeSet<SliceKey> = selection.slices.iter().map(|slice| slice.key()).collect();
    if name.starts_with('/') {
        return path_target(selection, &selected, manifest, name);
    }
    let release = selection.release;
    let (kind, in_release): (TargetKind, Vec<SliceKey>) = match SliceKey::parse(name) {
        Some(key) => (
            TargetKind::Slice,
            slice_of(release, &key).map(|_| key).into_iter().collect(),
        ),
        None => (
            TargetKind::Package,
            release
                .packages
                .get(name)
                .map(|package| package.slices.values().map(Slice::key).collect())
                .unwrap_or_default(),
        ),
    };
    if in_release.is_empty() {
        return Err(ExplainError::UnknownName {
            name: name.to_owned(),
            suggestions: close_slices(release, &selected, name),
        });
    }
    let slices: Vec<SliceKey> = in_release
        .into_iter()
        .filter(|key| selected.contains(key))
        .collect();
    if slices.is_empty() {
        return Err(ExplainError::NotNeeded {
            name: name.to_owned(),
            requested: requested.iter().map(ToString::to_string).collect(),
        });
    }
    Ok(Target {
        name: name.to_owned(),
        slices,
        kind,
    })
}

/// Close names as `kerf find` matches them (one edit, the whole `pkg_slice` when the name has
/// an underscore, else the package): from the selection first, else from the whole release.
fn close_slices(release: &Release, selected: &BTreeSet<SliceKey>, name: &str) -> Vec<String> {
    let matches = |key: &SliceKey| {
        if name.contains('_') {
            fuzzy_match(name, &key.to_string())
        } else {
            fuzzy_match(name, &key.package)
        }
    };
    let mut found: Vec<String> = selected
        .iter()
        .filter(|key| matches(key))
        .map(|key| {
            if name.contains('_') {
                key.to_string()
            } else {
                key.package.clone()
            }
        })
        .collect();
    if found.is_empty() {
        found = release
            .packages
            .values()
            .flat_map(|package| package.slices.values())
            .map(Slice::key)
            .filter(|key| matches(key))
            .map(|key| {
                if name.contains('_') {
                    key.to_string()
                } else {
                    key.package
                }
            })
            .collect();
    }
    found.sort();
    found.dedup();
    found.truncate(SUGGESTIONS);
    found
}

fn path_target(
    selection: &Selection<'_>,
    selected: &BTreeSet<SliceKey>,
    manifest: Option<&Manifest>,
    path: &str,
) -> Result<Target, ExplainError> {
    let trimmed = path.trim_end_matches('/');
    let as_dir = format!("{trimmed}/");
    let mut owners: BTreeSet<SliceKey> = BTreeSet::new();
    let mut known: BTreeSet<&str> = BTreeSet::new();
    match manifest {
        Some(manifest) => {
            for candidate in [trimmed, as_dir.as_str()] {
                if let Some(record) = manifest.paths.get(candidate) {
                    owners.extend(
                        record
                            .slices
                            .iter()
                            .filter(|key| selected.contains(key))
                            .cloned(),
                    );
                }
            }
            known.extend(manifest.paths.keys().map(String::as_str));
        }
        None => {
            for entry in selection.paths() {
                let declared = entry.path;
                let hit = if entry.info.kind == PathKind::Glob {
                    glob_match(declared, trimmed) || glob_match(declared, &as_dir)
                } else {
                    declared == trimmed || declared == as_dir
                };
                if hit {
                    owners.insert(entry.slice.key());
                }
                known.insert(declared);
            }
        }
    }
    if owners.is_empty() {
        return Err(ExplainError::UnknownPath {
            path: path.to_owned(),
            suggestions: close_paths(&known, trimmed),
        });
    }
    Ok(Target {
        name: path.to_owned(),
        slices: owners.into_iter().collect(),
        kind: TargetKind::Path,
    })
}

/// Paths within one edit of `path`, else those with its file name.
fn close_paths(known: &BTreeSet<&str>, path: &str) -> Vec<String> {
    let bare = |candidate: &&str| candidate.trim_end_matches('/').to_owned();
    let mut found: Vec<String> = known
        .iter()
        .filter(|candidate| fuzzy_match(path, candidate.trim_end_matches('/')))
        .map(bare)
        .collect();
    if found.is_empty() {
        let file_name = path.rsplit('/').next().unwrap_or(path);
        if !file_name.is_empty() {
            found = known
                .iter()
                .filter(|candidate| {
                    candidate.trim_end_matches('/').rsplit('/').next() == Some(file_name)
                })
                .map(bare)
                .collect();
        }
    }
    found.sort();
    found.dedup();
    found.truncate(SUGGESTIONS);
    found
}

/// The chains of essentials from the requested slices to one slice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Chains {
    /// For each requested slice that leads to the target, in the order given, its shortest
    /// chain (ties go to essentials by name): from the requested slice to the target.
    pub(crate) shortest: Vec<Vec<SliceKey>>,
    /// How many chains there are in all, counted exactly (saturating).
    pub(crate) total: u64,
}

/// The chains `requested → essential → ... → target` for `arch`; a requested target is a
/// chain of one. The closure has no loop (the selection checked), so the chains are finite,
/// but a large closure has many (the libraries of a Python cut are reached in a hundred
/// ways): they are counted, and the shortest from each requested slice is given.
pub(crate) fn chains(
    release: &Release,
    arch: Arch,
    requested: &[SliceKey],
    target: &SliceKey,
) -> Chains {
    let mut counts: BTreeMap<SliceKey, u64> = BTreeMap::new();
    let mut found = Chains {
        shortest: Vec::new(),
        total: 0,
    };
    let mut seen_tops = BTreeSet::new();
    for top in requested {
        if !seen_tops.insert(top) {
            continue;
        }
        let count = count_chains(release, arch, top, target, &mut counts);
        found.total = found.total.saturating_add(count);
        if count > 0 {
            found
                .shortest
                .push(shortest_chain(release, arch, top, target));
        }
    }
    found
}

fn count_chains(
    release: &Release,
    arch: Arch,
    from: &SliceKey,
    target: &SliceKey,
    counts: &mut BTreeMap<SliceKey, u64>,
) -> u64 {
    if from == target {
        return 1;
    }
    if let Some(&count) = counts.get(from) {
        return count;
    }
    let mut count: u64 = 0;
    if let Some(slice) = slice_of(release, from) {
        for essential in essentials(slice, arch) {
            count = count.saturating_add(count_chains(release, arch, essential, target, counts));
        }
    }
    counts.insert(from.clone(), count);
    count
}

/// Breadth first, essentials by name: the first chain found is the shortest, and of those the
/// first by name at each step.
fn shortest_chain(
    release: &Release,
    arch: Arch,
    from: &SliceKey,
    target: &SliceKey,
) -> Vec<SliceKey> {
    let mut came_from: BTreeMap<&SliceKey, &SliceKey> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([from]);
    let mut reached = from == target;
    while let Some(key) = queue.pop_front() {
        if reached {
            break;
        }
        let Some(slice) = slice_of(release, key) else {
            continue;
        };
        for essential in essentials(slice, arch) {
            if essential == from || came_from.contains_key(essential) {
                continue;
            }
            came_from.insert(essential, key);
            if essential == target {
                reached = true;
                break;
            }
            queue.push_back(essential);
        }
    }
    let mut chain = vec![target.clone()];
    let mut at = target;
    while at != from {
        match came_from.get(at) {
            Some(previous) => {
                chain.push((*previous).clone());
                at = previous;
            }
            // Not reached: the caller counted at least one chain, so this does not happen.
            None => break,
        }
    }
    chain.reverse();
    chain
}
