//! From slice names to the ordered set of slices a cut installs: the essential closure for one
//! architecture, a deterministic order, and which package owns each path where `prefer` decides.

use std::collections::{BTreeMap, BTreeSet};

use crate::release::{Arch, Generate, PathInfo, PathKind, Release, Slice, SliceKey};

/// Why a selection cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("slices of package \"{package}\" not found{}", suggest(.suggestions))]
    UnknownPackage {
        package: String,
        suggestions: Vec<String>,
    },
    #[error("slice {key} not found{}", suggest(.suggestions))]
    UnknownSlice {
        key: SliceKey,
        suggestions: Vec<String>,
    },
    #[error("slice {key} has invalid 'generate' for path {path}: \"{value}\"")]
    InvalidGenerate {
        key: SliceKey,
        path: String,
        value: String,
    },
    #[error("essential loop detected: {0}")]
    EssentialLoop(String),
}

fn suggest(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!(" (did you mean {one}?)"),
        many => format!(" (did you mean one of {}?)", many.join(", ")),
    }
}

/// The slices a cut installs, essentials before the slices that need them.
#[derive(Debug)]
pub struct Selection<'r> {
    pub release: &'r Release,
    pub arch: Arch,
    pub slices: Vec<&'r Slice>,
    /// For paths that several selected packages provide through a `prefer` chain: the package
    /// whose entries are used. The other packages' entries for the path are skipped entirely.
    pub prefer_winners: BTreeMap<String, String>,
}

/// One content entry that the selection really installs (after `arch` and `prefer`).
#[derive(Clone, Copy, Debug)]
pub struct SelectedPath<'r> {
    pub slice: &'r Slice,
    pub path: &'r str,
    pub info: &'r PathInfo,
}

impl<'r> Selection<'r> {
    /// The packages of the selection in the order they are first needed.
    pub fn packages(&self) -> Vec<&'r str> {
        let mut seen = BTreeSet::new();
        self.slices
            .iter()
            .filter(|slice| seen.insert(slice.package.as_str()))
            .map(|slice| slice.package.as_str())
            .collect()
    }

    /// Every entry installed for this arch, in selection order then path order.
    pub fn paths(&self) -> impl Iterator<Item = SelectedPath<'r>> + '_ {
        self.slices.iter().flat_map(move |slice| {
            slice
                .contents
                .iter()
                .filter(move |(path, info)| {
                    info.arch.allows(self.arch)
                        && self
                            .prefer_winners
                            .get(path.as_str())
                            .is_none_or(|winner| winner == &slice.package)
                })
                .map(move |(path, info)| SelectedPath {
                    slice,
                    path: path.as_str(),
                    info,
                })
        })
    }
}

/// Resolves `requested` (and their essentials, transitively) for `arch`.
pub fn select<'r>(
    release: &'r Release,
    requested: &[SliceKey],
    arch: Arch,
) -> Result<Selection<'r>, SelectError> {
    let mut wanted: BTreeMap<&SliceKey, &'r Slice> = BTreeMap::new();
    let mut pending: Vec<&SliceKey> = Vec::new();
    for key in requested {
        let slice = find_slice(release, key)?;
        pending.push(key);
        wanted.insert(key, slice);
    }
    while let Some(key) = pending.pop() {
        let slice = wanted[key];
        for (essential, info) in &slice.essential {
            if !info.arch.allows(arch) || wanted.contains_key(essential) {
                continue;
            }
            let found = find_slice(release, essential)?;
            wanted.insert(essential, found);
            pending.push(essential);
        }
    }

    let slices = order(&wanted, arch)?;
    for slice in &slices {
        for (path, info) in &slice.contents {
            if let Some(Generate::Unknown(value)) = &info.generate {
                if info.arch.allows(arch) {
                    return Err(SelectError::InvalidGenerate {
                        key: slice.key(),
                        path: path.clone(),
                        value: value.clone(),
                    });
                }
            }
        }
    }
    let prefer_winners = prefer_winners(release, &slices, arch);
    Ok(Selection {
        release,
        arch,
        slices,
        prefer_winners,
    })
}

fn find_slice<'r>(release: &'r Release, key: &SliceKey) -> Result<&'r Slice, SelectError> {
    let Some(package) = release.packages.get(&key.package) else {
        return Err(SelectError::UnknownPackage {
            package: key.package.clone(),
            suggestions: close_names(&key.package, release.packages.keys()),
        });
    };
    package
        .slices
        .get(&key.slice)
        .ok_or_else(|| SelectError::UnknownSlice {
            key: key.clone(),
            suggestions: close_names(&key.slice, package.slices.keys())
                .into_iter()
                .map(|slice| SliceKey::new(&key.package, slice).to_string())
                .collect(),
        })
}

/// Names within two edits of `name`, closest first, at most three.
fn close_names<'a>(name: &str, candidates: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut scored: Vec<(usize, &String)> = candidates
        .filter_map(|candidate| {
            let distance = edit_distance(name, candidate);
            (distance <= 2).then_some((distance, candidate))
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(3)
        .map(|(_, name)| name.clone())
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// Topological order, essentials first, ties broken by name so every run gives the same order
/// (chisel walks essentials in Go map order, which is random).
fn order<'r>(
    wanted: &BTreeMap<&SliceKey, &'r Slice>,
    arch: Arch,
) -> Result<Vec<&'r Slice>, SelectError> {
    let mut waiting_on: BTreeMap<&SliceKey, usize> = BTreeMap::new();
    let mut needed_by: BTreeMap<&SliceKey, Vec<&SliceKey>> = BTreeMap::new();
    for (&key, slice) in wanted {
        let essentials: Vec<&SliceKey> = slice
            .essential
            .iter()
            .filter(|(essential, info)| info.arch.allows(arch) && wanted.contains_key(essential))
            .map(|(essential, _)| essential)
            .collect();
        waiting_on.insert(key, essentials.len());
        for essential in essentials {
            needed_by.entry(essential).or_default().push(key);
        }
    }
    let mut ready: BTreeSet<&SliceKey> = waiting_on
        .iter()
        .filter(|(_, &count)| count == 0)
        .map(|(&key, _)| key)
        .collect();
    let mut ordered = Vec::with_capacity(wanted.len());
    while let Some(key) = ready.pop_first() {
        ordered.push(wanted[key]);
        for &dependent in needed_by.get(key).map(Vec::as_slice).unwrap_or_default() {
            let count = waiting_on
                .get_mut(dependent)
                .expect("every wanted slice is counted");
            *count -= 1;
            if *count == 0 {
                ready.insert(dependent);
            }
        }
    }
    if ordered.len() < wanted.len() {
        let placed: BTreeSet<SliceKey> = ordered.iter().map(|slice| slice.key()).collect();
        let looped: Vec<String> = wanted
            .keys()
            .filter(|key| !placed.contains(key))
            .map(ToString::to_string)
            .collect();
        return Err(SelectError::EssentialLoop(looped.join(", ")));
    }
    Ok(ordered)
}

/// For each path provided by several selected packages linked by `prefer`, the package that wins:
/// the selected one furthest along the chain.
fn prefer_winners(release: &Release, slices: &[&Slice], arch: Arch) -> BTreeMap<String, String> {
    let mut providers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut with_prefer: BTreeSet<&str> = BTreeSet::new();
    for slice in slices {
        for (path, info) in &slice.contents {
            if !info.arch.allows(arch) || matches!(info.kind, PathKind::Glob | PathKind::Generate) {
                continue;
            }
            providers.entry(path).or_default().insert(&slice.package);
            if info.prefer.is_some() {
                with_prefer.insert(path);
            }
        }
    }
    let mut winners = BTreeMap::new();
    for path in with_prefer {
        let selected = &providers[path];
        // The chain is defined over all of the release's slices, not only the selected ones.
        let prefers = prefer_map(release, path);
        let winner = selected.iter().find(|&&candidate| {
            let mut current = candidate;
            let mut steps = 0;
            while let Some(&next) = prefers.get(current) {
                if selected.contains(next) || steps > prefers.len() {
                    return false;
                }
                current = next;
                steps += 1;
            }
            true
        });
        if let Some(winner) = winner {
            winners.insert(path.to_owned(), (*winner).to_owned());
        }
    }
    winners
}

fn prefer_map<'r>(release: &'r Release, path: &str) -> BTreeMap<&'r str, &'r str> {
    let mut prefers = BTreeMap::new();
    for package in release.packages.values() {
        for slice in package.slices.values() {
            if let Some(preferred) = slice
                .contents
                .get(path)
                .and_then(|info| info.prefer.as_deref())
            {
                prefers.insert(package.name.as_str(), preferred);
            }
        }
    }
    prefers
}

#[cfg(test)]
mod selection_tests;

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("openssl", "openssl"), 0);
        assert_eq!(edit_distance("opensl", "openssl"), 1);
        assert_eq!(edit_distance("libc", "libc6"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
