//! Release-wide rules: pinned archives, essentials (existence and loops), `prefer` chains, and
//! path conflicts between slices, globs included.
//!
//! chisel compares every glob with every path of the release, which takes it 12 to 19 seconds on
//! a real release. Here paths are sorted by their literal prefix (the text before the first
//! wildcard): a glob can only overlap paths whose literal prefix starts with its own, and those
//! form one contiguous run of the sorted list.

use std::collections::{BTreeMap, BTreeSet};

use super::error::{ErrorKind, Location, ReleaseError};
use super::format::ChiselYaml;
use super::model::{Package, PathInfo, PathKind, SliceKey};
use crate::glob::{glob_match, globs_overlap, is_glob};

/// One slice's entry for a path.
#[derive(Clone, Copy)]
struct Entry<'a> {
    package: &'a Package,
    slice: &'a str,
    line: u32,
    info: &'a PathInfo,
}

impl Entry<'_> {
    fn key(&self) -> SliceKey {
        SliceKey::new(&self.package.name, self.slice)
    }

    fn location(&self) -> Location {
        Location::at(&self.package.path, self.line, 0)
    }
}

pub(crate) fn validate(
    chisel: &ChiselYaml,
    packages: &BTreeMap<String, Package>,
) -> Vec<ReleaseError> {
    let mut errors = Vec::new();
    for package in packages.values() {
        if let Some(archive) = &package.archive {
            if !chisel.archives.contains_key(archive) {
                errors.push(ReleaseError::new(
                    Location::file(&package.path),
                    ErrorKind::UndefinedArchive(archive.clone()),
                ));
            }
        }
    }
    check_essentials(packages, &mut errors);

    let mut by_path: BTreeMap<&str, Vec<Entry<'_>>> = BTreeMap::new();
    for package in packages.values() {
        for slice in package.slices.values() {
            for (path, info) in &slice.contents {
                by_path.entry(path.as_str()).or_default().push(Entry {
                    package,
                    slice: &slice.name,
                    line: slice.line,
                    info,
                });
            }
        }
    }
    for (path, entries) in &by_path {
        let chains = check_prefers(path, entries, packages, &mut errors);
        check_same_path(path, entries, &chains, &mut errors);
    }
    check_glob_overlaps(&by_path, &mut errors);
    errors
}

/// Every essential must exist, and essentials may not form a loop (arch is ignored for both).
fn check_essentials(packages: &BTreeMap<String, Package>, errors: &mut Vec<ReleaseError>) {
    let mut nodes: Vec<SliceKey> = Vec::new();
    let mut index: BTreeMap<SliceKey, usize> = BTreeMap::new();
    for package in packages.values() {
        for slice in package.slices.values() {
            index.insert(slice.key(), nodes.len());
            nodes.push(slice.key());
        }
    }
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for package in packages.values() {
        for slice in package.slices.values() {
            let from = index[&slice.key()];
            for essential in slice.essential.keys() {
                match index.get(essential) {
                    Some(&to) => edges[from].push(to),
                    None => errors.push(ReleaseError::new(
                        Location::at(&package.path, slice.line, 0),
                        ErrorKind::MissingEssential {
                            slice: slice.key().to_string(),
                            essential: essential.to_string(),
                        },
                    )),
                }
            }
        }
    }
    for component in strongly_connected(&edges) {
        if component.len() > 1 {
            let mut names: Vec<String> = component
                .iter()
                .map(|&node| nodes[node].to_string())
                .collect();
            names.sort();
            errors.push(ReleaseError::global(ErrorKind::EssentialLoop(
                names.join(", "),
            )));
        }
    }
}

/// Tarjan's algorithm without recursion, so a hostile release with a very long essential chain
/// cannot overflow the stack. Components come out in reverse topological order.
pub(crate) fn strongly_connected(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNVISITED: usize = usize::MAX;
    let count = edges.len();
    let mut order = vec![UNVISITED; count];
    let mut low = vec![0; count];
    let mut on_stack = vec![false; count];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut next = 0;
    for root in 0..count {
        if order[root] != UNVISITED {
            continue;
        }
        // Each frame is (node, index of the next edge to follow).
        let mut frames = vec![(root, 0)];
        order[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(frame) = frames.last_mut() {
            let (node, edge) = *frame;
            if let Some(&target) = edges[node].get(edge) {
                frame.1 += 1;
                if order[target] == UNVISITED {
                    order[target] = next;
                    low[target] = next;
                    next += 1;
                    stack.push(target);
                    on_stack[target] = true;
                    frames.push((target, 0));
                } else if on_stack[target] {
                    low[node] = low[node].min(order[target]);
                }
                continue;
            }
            frames.pop();
            if let Some(&(parent, _)) = frames.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == order[node] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

/// Checks the `prefer` relationships on one path and returns, for each package providing it, the
/// package at the end of its chain. Packages with the same chain end are linked and may share
/// the path; an empty map means the path has no prefer at all.
fn check_prefers<'a>(
    path: &str,
    entries: &[Entry<'a>],
    packages: &BTreeMap<String, Package>,
    errors: &mut Vec<ReleaseError>,
) -> BTreeMap<&'a str, String> {
    let mut prefers: BTreeMap<&str, &str> = BTreeMap::new();
    let mut any = false;
    for entry in entries {
        let Some(preferred) = entry.info.prefer.as_deref() else {
            continue;
        };
        any = true;
        let package = entry.package.name.as_str();
        let Some(target) = packages.get(preferred) else {
            errors.push(ReleaseError::new(
                entry.location(),
                ErrorKind::UndefinedPrefer {
                    slice: entry.key().to_string(),
                    path: path.to_owned(),
                    package: preferred.to_owned(),
                },
            ));
            continue;
        };
        if !target
            .slices
            .values()
            .any(|slice| slice.contents.contains_key(path))
        {
            errors.push(ReleaseError::new(
                entry.location(),
                ErrorKind::PreferMissingPath {
                    package: package.to_owned(),
                    preferred: preferred.to_owned(),
                    path: path.to_owned(),
                },
            ));
            continue;
        }
        if let Some(previous) = prefers.insert(package, preferred) {
            if previous != preferred {
                let (first, second) = ordered(previous, preferred);
                errors.push(ReleaseError::new(
                    entry.location(),
                    ErrorKind::ConflictingPrefers {
                        package: package.to_owned(),
                        path: path.to_owned(),
                        first: first.to_owned(),
                        second: second.to_owned(),
                    },
                ));
            }
        }
    }
    if !any {
        return BTreeMap::new();
    }

    let mut preferred_by: BTreeMap<&str, &str> = BTreeMap::new();
    for (&package, &preferred) in &prefers {
        if let Some(other) = preferred_by.insert(preferred, package) {
            let (first, second) = ordered(other, package);
            errors.push(ReleaseError::global(ErrorKind::DoublePreferred {
                first: first.to_owned(),
                second: second.to_owned(),
                preferred: preferred.to_owned(),
                path: path.to_owned(),
            }));
        }
    }

    let providers: BTreeSet<&str> = entries
        .iter()
        .map(|entry| entry.package.name.as_str())
        .collect();
    let mut chain_ends = BTreeMap::new();
    for &provider in &providers {
        let mut current = provider;
        let mut seen = BTreeSet::from([provider]);
        while let Some(&next) = prefers.get(current) {
            if !seen.insert(next) {
                errors.push(ReleaseError::global(ErrorKind::PreferLoop {
                    package: provider.to_owned(),
                    path: path.to_owned(),
                }));
                return BTreeMap::new();
            }
            current = next;
        }
        chain_ends.insert(provider, current.to_owned());
    }
    let mut ends = chain_ends.iter();
    if let Some((first, first_end)) = ends.next() {
        if let Some((second, _)) = ends.find(|(_, end)| *end != first_end) {
            errors.push(ReleaseError::global(ErrorKind::NoPreferRelationship {
                first: (*first).to_owned(),
                second: (*second).to_owned(),
                path: path.to_owned(),
            }));
        }
    }
    chain_ends
}

fn ordered<'a>(a: &'a str, b: &'a str) -> (&'a str, &'a str) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Two slices listing the same path must agree on it; extracted content from two packages always
/// conflicts, since it cannot be compared without downloading both.
fn check_same_path(
    path: &str,
    entries: &[Entry<'_>],
    chains: &BTreeMap<&str, String>,
    errors: &mut Vec<ReleaseError>,
) {
    if entries.len() < 2 {
        return;
    }
    let mut sorted: Vec<&Entry<'_>> = entries.iter().collect();
    sorted.sort_by_key(|entry| (entry.package.name.as_str(), entry.slice));
    for (position, first) in sorted.iter().enumerate() {
        for second in &sorted[position + 1..] {
            let same_package = first.package.name == second.package.name;
            if !same_package {
                let linked = chains.get(first.package.name.as_str()).is_some()
                    && chains.get(first.package.name.as_str())
                        == chains.get(second.package.name.as_str());
                if linked {
                    continue;
                }
            }
            let extracted = matches!(first.info.kind, PathKind::Copy | PathKind::Glob);
            if !first.info.same_content(second.info) || (extracted && !same_package) {
                errors.push(ReleaseError::new(
                    first.location(),
                    ErrorKind::PathConflict {
                        first: first.key().to_string(),
                        second: second.key().to_string(),
                        path: path.to_owned(),
                    },
                ));
            }
        }
    }
}

/// Globs and generate paths may not overlap any other path, except that a package's globs may
/// overlap its own extracted paths.
fn check_glob_overlaps(by_path: &BTreeMap<&str, Vec<Entry<'_>>>, errors: &mut Vec<ReleaseError>) {
    let index = PathTrie::new(by_path.keys().copied());
    let mut candidates = Vec::new();
    let mut memo = SegmentMemo::new();
    for &glob in by_path.keys().filter(|path| is_glob(path)) {
        candidates.clear();
        index.candidates(glob, &mut memo, &mut candidates);
        candidates.sort_unstable();
        candidates.dedup();
        for &other in &candidates {
            // A pair of globs is found from both sides; check it once.
            if other == glob || (is_glob(other) && other < glob) {
                continue;
            }
            check_overlap(glob, &by_path[glob], other, &by_path[other], errors);
        }
    }
}

/// Children of a trie node that a wildcard segment may match, remembered because many globs
/// share a segment such as `*-linux-*` at the same place.
type SegmentMemo<'a> = std::collections::HashMap<(usize, &'a str), Vec<usize>>;

/// The release's paths split at `/` into a tree, so that a glob is compared only with the paths
/// whose every segment could match its own. `*` and `?` never match `/`, so without `**` two
/// paths can only overlap segment by segment; a `**` falls back to the whole subtree below it.
struct PathTrie<'a> {
    nodes: Vec<TrieNode<'a>>,
}

#[derive(Default)]
struct TrieNode<'a> {
    literal: BTreeMap<&'a str, usize>,
    /// Children whose segment has a wildcard.
    wildcard: Vec<(&'a str, usize)>,
    /// Paths that end at this node.
    paths: Vec<&'a str>,
}

impl<'a> PathTrie<'a> {
    fn new(paths: impl Iterator<Item = &'a str>) -> Self {
        let mut trie = PathTrie {
            nodes: vec![TrieNode::default()],
        };
        for path in paths {
            let mut node = 0;
            for segment in path.split('/') {
                node = trie.child(node, segment);
            }
            trie.nodes[node].paths.push(path);
        }
        trie
    }

    fn child(&mut self, node: usize, segment: &'a str) -> usize {
        let existing = if is_glob(segment) {
            self.nodes[node]
                .wildcard
                .iter()
                .find(|(other, _)| *other == segment)
                .map(|&(_, child)| child)
        } else {
            self.nodes[node].literal.get(segment).copied()
        };
        if let Some(child) = existing {
            return child;
        }
        let child = self.nodes.len();
        self.nodes.push(TrieNode::default());
        if is_glob(segment) {
            self.nodes[node].wildcard.push((segment, child));
        } else {
            self.nodes[node].literal.insert(segment, child);
        }
        child
    }

    /// Paths that may overlap `glob`: a superset, to be confirmed by `globs_overlap`.
    fn candidates<'g>(&self, glob: &'g str, memo: &mut SegmentMemo<'g>, found: &mut Vec<&'a str>) {
        let segments: Vec<&str> = glob.split('/').collect();
        let mut frontier = vec![(0_usize, 0_usize)];
        while let Some((node, depth)) = frontier.pop() {
            let Some(&segment) = segments.get(depth) else {
                found.extend_from_slice(&self.nodes[node].paths);
                continue;
            };
            if segment.contains("**") {
                self.subtree(node, found);
                continue;
            }
            let here = &self.nodes[node];
            if !is_glob(segment) {
                if let Some(&child) = here.literal.get(segment) {
                    frontier.push((child, depth + 1));
                }
            }
            let matching = memo.entry((node, segment)).or_insert_with(|| {
                let literal = here
                    .literal
                    .iter()
                    .filter(|(name, _)| is_glob(segment) && glob_match(segment, name))
                    .map(|(_, &child)| child);
                let wildcard = here
                    .wildcard
                    .iter()
                    .filter(|(name, _)| !name.contains("**") && globs_overlap(segment, name))
                    .map(|&(_, child)| child);
                literal.chain(wildcard).collect()
            });
            frontier.extend(matching.iter().map(|&child| (child, depth + 1)));
            for &(name, child) in &here.wildcard {
                if name.contains("**") {
                    self.subtree(child, found);
                }
            }
        }
    }

    fn subtree(&self, node: usize, found: &mut Vec<&'a str>) {
        let mut pending = vec![node];
        while let Some(node) = pending.pop() {
            let here = &self.nodes[node];
            found.extend_from_slice(&here.paths);
            pending.extend(here.literal.values().copied());
            pending.extend(here.wildcard.iter().map(|&(_, child)| child));
        }
    }
}

fn check_overlap(
    glob: &str,
    glob_entries: &[Entry<'_>],
    other: &str,
    other_entries: &[Entry<'_>],
    errors: &mut Vec<ReleaseError>,
) {
    let mut overlaps: Option<bool> = None;
    for first in glob_entries {
        for second in other_entries {
            if allowed_overlap(first, second) && allowed_overlap(second, first) {
                continue;
            }
            if !*overlaps.get_or_insert_with(|| globs_overlap(glob, other)) {
                return;
            }
            let ((first, first_path), (second, second_path)) =
                if (first.package.name.as_str(), first.slice, glob)
                    <= (second.package.name.as_str(), second.slice, other)
                {
                    ((first, glob), (second, other))
                } else {
                    ((second, other), (first, glob))
                };
            errors.push(ReleaseError::new(
                first.location(),
                ErrorKind::GlobConflict {
                    first: first.key().to_string(),
                    second: second.key().to_string(),
                    first_path: first_path.to_owned(),
                    second_path: second_path.to_owned(),
                },
            ));
        }
    }
}

/// Whether `entry` may overlap `other` from its side: only a glob or copy of one package may meet
/// another glob or copy of the same package.
fn allowed_overlap(entry: &Entry<'_>, other: &Entry<'_>) -> bool {
    // One package per name: the same package is the same reference (no name compared, for
    // each of the many pairs a `**` glob brings).
    std::ptr::eq(entry.package, other.package)
        && matches!(entry.info.kind, PathKind::Glob | PathKind::Copy)
        && matches!(other.info.kind, PathKind::Glob | PathKind::Copy)
}

#[cfg(test)]
mod tests {
    use super::strongly_connected;

    #[test]
    fn components_find_loops() {
        let edges = vec![vec![1], vec![2], vec![0], vec![0], vec![]];
        let mut components: Vec<Vec<usize>> = strongly_connected(&edges)
            .into_iter()
            .map(|mut component| {
                component.sort_unstable();
                component
            })
            .collect();
        components.sort();
        assert_eq!(components, vec![vec![0, 1, 2], vec![3], vec![4]]);
    }

    #[test]
    fn components_survive_long_chains() {
        let edges: Vec<Vec<usize>> = (0..200_000)
            .map(|node| if node == 0 { vec![] } else { vec![node - 1] })
            .collect();
        assert_eq!(strongly_connected(&edges).len(), 200_000);
    }
}
