//! From a package's `data.tar` entries and the selection to files in the root.
//!
//! Per package, in selection order: every entry whose path a selected slice copies (or whose
//! path matches a selected glob) is created with the package's mode; parent directories the
//! package itself lists get the package's mode, others 0755. After all packages, the content
//! slices define themselves (`text`, `make`, `symlink`) is created in path order, parents
//! first, with exactly the declared modes.

pub(crate) mod root;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;

pub(crate) use crate::deb::TarOwner;
use crate::glob::{glob_match, Glob};
use crate::release::{PathKind, SliceKey, Until};
use crate::resolve::Selection;
use root::{RelPath, Root, RootError};

/// What a `data.tar` entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Directory,
    File,
    Symlink(String),
    HardLink(String),
    /// Devices, fifos and the like: never installed.
    Other(char),
}

/// One entry of a package's `data.tar`, its name as a slice would write it: `/usr/bin/x`, and
/// `/usr/bin/` for a directory.
pub(crate) struct DataEntry<'a> {
    pub(crate) path: String,
    pub(crate) kind: EntryKind,
    pub(crate) mode: u32,
    /// Owner, group and mtime from the tar header, for an image layer.
    pub(crate) owner: TarOwner,
    pub(crate) content: &'a mut dyn Read,
}

/// The one function that turns a tar member name (of a package's `data.tar`, or a hard link's
/// target) into a path: chisel only considers names starting with `./`; returns the path with
/// its leading `.` removed, or `None` for anything else (and for `./` itself).
/// [`root::RelPath::new`] then refuses what could leave the root.
pub(crate) fn entry_path(name: &str) -> Option<String> {
    let path = name.strip_prefix('.')?;
    (path.starts_with('/') && path.len() > 1).then(|| path.to_owned())
}

/// A `.deb`'s `data.tar` entry as extraction sees it, or `None` for a name chisel ignores (see
/// [`entry_path`]). Names and link targets that are not UTF-8 are read lossily.
pub(crate) fn data_entry<'a>(entry: &'a mut crate::deb::DataEntry<'_>) -> Option<DataEntry<'a>> {
    let path = entry_path(&String::from_utf8_lossy(entry.name()))?;
    let kind = match entry.kind() {
        crate::deb::EntryKind::Directory => EntryKind::Directory,
        crate::deb::EntryKind::File => EntryKind::File,
        crate::deb::EntryKind::Symlink { target } => {
            EntryKind::Symlink(String::from_utf8_lossy(target).into_owned())
        }
        crate::deb::EntryKind::HardLink { target } => {
            EntryKind::HardLink(String::from_utf8_lossy(target).into_owned())
        }
        crate::deb::EntryKind::Other(kind) => EntryKind::Other(*kind),
    };
    let mode = entry.mode();
    let owner = entry.owner().clone();
    Some(DataEntry {
        path,
        kind,
        mode,
        owner,
        content: entry,
    })
}

/// Why a package could not be extracted.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExtractError {
    #[error("cannot extract from package \"{package}\": no content at {}", list(.paths))]
    Missing { package: String, paths: Vec<String> },
    #[error("cannot extract from package \"{package}\": {} at {path} is not supported (only files, directories and links are installed)", kind_name(*.kind))]
    Unsupported {
        package: String,
        path: String,
        kind: char,
    },
    #[error("cannot extract from package \"{package}\": path {path} would leave the root")]
    Escape { package: String, path: String },
    #[error("cannot extract from package \"{package}\": cannot create hard link {path}: no content at {target}")]
    LinkTarget {
        package: String,
        path: String,
        target: String,
    },
    #[error("cannot extract from package \"{package}\": {source}")]
    Root { package: String, source: RootError },
    #[error("cannot read package \"{package}\": {reason}")]
    Read { package: String, reason: String },
}

impl ExtractError {
    /// Whether the package or the release is at fault (exit status 1), as opposed to the
    /// machine: writing into the root is the machine's business.
    pub(crate) fn is_user_error(&self) -> bool {
        match self {
            ExtractError::Missing { .. }
            | ExtractError::Unsupported { .. }
            | ExtractError::Escape { .. }
            | ExtractError::LinkTarget { .. }
            | ExtractError::Read { .. } => true,
            ExtractError::Root { .. } => false,
        }
    }
}

/// What a tar type flag kerf does not install is, for messages.
fn kind_name(kind: char) -> String {
    match kind {
        '3' => "a character device".to_owned(),
        '4' => "a block device".to_owned(),
        '6' => "a fifo".to_owned(),
        other => format!("an entry of tar type '{}'", other.escape_default()),
    }
}

fn list(paths: &[String]) -> String {
    match paths {
        [one] => one.clone(),
        many => format!(
            ":\n{}",
            many.iter()
                .map(|path| format!("- {path}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

/// One thing the root now holds because of the cut, for the report and the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Installed {
    /// As slices spell it: directories end in `/`.
    pub(crate) path: String,
    pub(crate) mode: u32,
    pub(crate) kind: InstalledKind,
    pub(crate) slices: BTreeSet<SliceKey>,
    /// As the package's tar header gave it; `None` for what the slices create (root's).
    pub(crate) owner: Option<TarOwner>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum InstalledKind {
    Directory,
    File {
        /// The final size, after any mutate script.
        size: u64,
        /// As the package or the slice gave it.
        sha256: String,
        /// Set when a mutate script changed the content.
        final_sha256: Option<String>,
    },
    Symlink {
        target: String,
    },
}

/// Where an entry goes: its path in the root and the slices that asked for it.
#[derive(Clone, Debug)]
struct Target {
    path: String,
    slices: BTreeSet<SliceKey>,
    /// A mode the slice declared, applied over the package's (chisel ignores it).
    mode: u32,
}

/// Visits a package's `data.tar` entries in archive order.
pub(crate) type Visitor<'v> = dyn FnMut(DataEntry<'_>) -> Result<(), ExtractError> + 'v;

/// Walks a package's `data.tar`, calling the visitor for each entry; callable more than once.
pub(crate) type EntrySource<'s> = dyn FnMut(&mut Visitor<'_>) -> Result<(), ExtractError> + 's;

/// Hard links waiting for their target: target path → (link path, slices, mode).
type PendingLinks = BTreeMap<String, Vec<(String, BTreeSet<SliceKey>, u32)>>;

/// What one package must provide.
#[derive(Debug, Default)]
pub(crate) struct PackagePlan {
    /// Source path in the package → targets.
    copies: BTreeMap<String, Vec<Target>>,
    /// Glob → the glob compiled, and its slices; a match is installed at its own path.
    globs: BTreeMap<String, (Glob, BTreeSet<SliceKey>)>,
    /// Parents of the content slices create themselves: taken from the package when present,
    /// so they get its mode, and never required.
    parents: BTreeSet<String>,
}

impl PackagePlan {
    /// The plan of `package` within `selection`.
    pub(crate) fn new(selection: &Selection<'_>, package: &str) -> PackagePlan {
        let mut plan = PackagePlan::default();
        for selected in selection
            .paths()
            .filter(|selected| selected.slice.package == package)
        {
            let key = selected.slice.key();
            match selected.info.kind {
                PathKind::Copy => {
                    let source = if selected.info.info.is_empty() {
                        selected.path
                    } else {
                        &selected.info.info
                    };
                    let targets = plan.copies.entry(source.to_owned()).or_default();
                    if let Some(target) = targets
                        .iter_mut()
                        .find(|target| target.path == selected.path)
                    {
                        target.slices.insert(key);
                    } else {
                        targets.push(Target {
                            path: selected.path.to_owned(),
                            slices: BTreeSet::from([key]),
                            mode: selected.info.mode,
                        });
                    }
                }
                PathKind::Glob => {
                    plan.globs
                        .entry(selected.path.to_owned())
                        .or_insert_with(|| (Glob::new(selected.path), BTreeSet::new()))
                        .1
                        .insert(key);
                }
                PathKind::Generate => {
                    // The generated file goes in the directory the `/**` names.
                    plan.parents
                        .insert(selected.path.trim_end_matches("**").to_owned());
                }
                PathKind::Text | PathKind::Make | PathKind::Symlink => {
                    let trimmed = selected.path.trim_end_matches('/');
                    if let Some((parent, _)) = trimmed.rsplit_once('/') {
                        if !parent.is_empty() {
                            plan.parents.insert(format!("{parent}/"));
                        }
                    }
                }
            }
        }
        plan
    }

    fn is_empty(&self) -> bool {
        self.copies.is_empty() && self.globs.is_empty() && self.parents.is_empty()
    }
}

/// Extracts one package's wanted entries. `entries` iterates the package's `data.tar`; it is
/// called a second time only when hard links need content from later in the archive.
pub(crate) fn extract_package(
    package: &str,
    plan: &PackagePlan,
    root: &Root,
    entries: &mut EntrySource<'_>,
    installed: &mut BTreeMap<String, Installed>,
) -> Result<(), ExtractError> {
    if plan.is_empty() {
        return Ok(());
    }
    let root_error = |source| ExtractError::Root {
        package: package.to_owned(),
        source,
    };
    let mut tar_dirs: HashMap<String, u32> = HashMap::new();
    let mut made_parents: BTreeSet<String> = BTreeSet::new();
    let mut matched: BTreeSet<String> = BTreeSet::new();
    // Hard links whose target is not in the root yet: target → links to create.
    let mut pending_links = PendingLinks::new();

    entries(&mut |entry| {
        if entry.kind == EntryKind::Directory {
            tar_dirs.insert(entry.path.clone(), entry.mode);
        }
        let mut targets: Vec<Target> = plan.copies.get(&entry.path).cloned().unwrap_or_default();
        if !targets.is_empty() {
            matched.insert(entry.path.clone());
        }
        for (pattern, (glob, slices)) in &plan.globs {
            if glob.matches(&entry.path) {
                matched.insert(pattern.clone());
                match targets.iter_mut().find(|target| target.path == entry.path) {
                    Some(target) => target.slices.extend(slices.iter().cloned()),
                    None => targets.push(Target {
                        path: entry.path.clone(),
                        slices: slices.clone(),
                        mode: 0,
                    }),
                }
            }
        }
        let optional_parent = targets.is_empty() && plan.parents.contains(&entry.path);
        if targets.is_empty() && !optional_parent {
            return Ok(());
        }
        if optional_parent {
            targets.push(Target {
                path: entry.path.clone(),
                slices: BTreeSet::new(),
                mode: 0,
            });
        }
        // One entry may feed several targets: read its content once.
        let mut buffered: Option<Vec<u8>> = None;
        if targets.len() > 1 && entry.kind == EntryKind::File {
            let mut bytes = Vec::new();
            entry
                .content
                .read_to_end(&mut bytes)
                .map_err(|error| ExtractError::Read {
                    package: package.to_owned(),
                    reason: format!("{}: {error}", entry.path),
                })?;
            buffered = Some(bytes);
        }
        for target in targets {
            let rel = RelPath::new(&target.path).ok_or_else(|| ExtractError::Escape {
                package: package.to_owned(),
                path: target.path.clone(),
            })?;
            for ancestor in rel.ancestors() {
                let dir = format!("{}/", ancestor.as_str());
                if made_parents.insert(dir.clone())
                    && root.metadata(&ancestor).map_err(root_error)?.is_none()
                {
                    let mode = tar_dirs.get(&dir).copied().unwrap_or(0o755);
                    root.make_dir(&ancestor, mode, false).map_err(root_error)?;
                }
            }
            let mut owner = entry.owner.clone();
            let mut mode = if target.mode != 0 {
                target.mode
            } else {
                entry.mode
            };
            let kind = match &entry.kind {
                EntryKind::Directory => {
                    root.make_dir(&rel, mode, true).map_err(root_error)?;
                    InstalledKind::Directory
                }
                EntryKind::File => {
                    let written = match &buffered {
                        Some(bytes) => root.write_file(&rel, &mut bytes.as_slice(), mode),
                        None => root.write_file(&rel, entry.content, mode),
                    }
                    .map_err(root_error)?;
                    InstalledKind::File {
                        size: written.size,
                        sha256: written.sha256,
                        final_sha256: None,
                    }
                }
                EntryKind::Symlink(link) => {
                    root.symlink(&rel, link).map_err(root_error)?;
                    InstalledKind::Symlink {
                        target: link.clone(),
                    }
                }
                EntryKind::HardLink(link) => {
                    let Some(link_path) = entry_path(link).and_then(|path| RelPath::new(&path))
                    else {
                        return Err(ExtractError::LinkTarget {
                            package: package.to_owned(),
                            path: target.path.clone(),
                            target: link.clone(),
                        });
                    };
                    if let Some((existing, existing_mode, existing_owner)) = installed
                        .get(&link_path.as_str().to_owned())
                        .map(|item| (item.kind.clone(), item.mode, item.owner.clone()))
                    {
                        root.hard_link(&rel, &link_path).map_err(root_error)?;
                        // One inode: the link has the mode and owner of what it links to.
                        mode = existing_mode;
                        if let Some(existing_owner) = existing_owner {
                            owner = existing_owner;
                        }
                        existing
                    } else {
                        pending_links
                            .entry(link_path.as_str().to_owned())
                            .or_default()
                            .push((target.path.clone(), target.slices.clone(), mode));
                        continue;
                    }
                }
                EntryKind::Other(kind) => {
                    return Err(ExtractError::Unsupported {
                        package: package.to_owned(),
                        path: entry.path.clone(),
                        kind: *kind,
                    });
                }
            };
            if !target.slices.is_empty() {
                let owner = Some(owner.clone());
                record(installed, &target.path, (mode, owner), kind, &target.slices);
            }
        }
        Ok(())
    })?;

    if !pending_links.is_empty() {
        resolve_pending_links(package, root, entries, &mut pending_links, installed)?;
    }

    let mut missing: Vec<String> = plan
        .copies
        .keys()
        .chain(plan.globs.keys())
        .filter(|wanted| !matched.contains(*wanted))
        .cloned()
        .collect();
    if !missing.is_empty() {
        missing.sort();
        return Err(ExtractError::Missing {
            package: package.to_owned(),
            paths: missing,
        });
    }
    Ok(())
}

/// The second pass for hard links whose target came later in the archive (or was not
/// selected): the first link gets the content, the others link to it.
fn resolve_pending_links(
    package: &str,
    root: &Root,
    entries: &mut EntrySource<'_>,
    pending: &mut PendingLinks,
    installed: &mut BTreeMap<String, Installed>,
) -> Result<(), ExtractError> {
    let root_error = |source| ExtractError::Root {
        package: package.to_owned(),
        source,
    };
    entries(&mut |entry| {
        let Some(links) = pending.remove(entry.path.as_str()) else {
            return Ok(());
        };
        let mut first: Option<(RelPath, InstalledKind)> = None;
        // The links share one inode with the file they name, so they take its mode.
        let mode = entry.mode;
        for (path, slices, _) in links {
            let rel = RelPath::new(&path).ok_or_else(|| ExtractError::Escape {
                package: package.to_owned(),
                path: path.clone(),
            })?;
            let kind = match &first {
                None => {
                    let written = root
                        .write_file(&rel, entry.content, mode)
                        .map_err(root_error)?;
                    let kind = InstalledKind::File {
                        size: written.size,
                        sha256: written.sha256,
                        final_sha256: None,
                    };
                    first = Some((rel, kind.clone()));
                    kind
                }
                Some((first, kind)) => {
                    root.hard_link(&rel, first).map_err(root_error)?;
                    kind.clone()
                }
            };
            record(
                installed,
                &path,
                (mode, Some(entry.owner.clone())),
                kind,
                &slices,
            );
        }
        Ok(())
    })?;
    if let Some((target, links)) = pending.iter().next() {
        return Err(ExtractError::LinkTarget {
            package: package.to_owned(),
            path: links
                .first()
                .map(|(path, _, _)| path.clone())
                .unwrap_or_default(),
            target: target.clone(),
        });
    }
    Ok(())
}

/// `(mode, owner)`: the last writer of a path decides both.
fn record(
    installed: &mut BTreeMap<String, Installed>,
    path: &str,
    (mode, owner): (u32, Option<TarOwner>),
    kind: InstalledKind,
    slices: &BTreeSet<SliceKey>,
) {
    let entry = installed
        .entry(path.to_owned())
        .or_insert_with(|| Installed {
            path: path.to_owned(),
            mode,
            kind: kind.clone(),
            slices: BTreeSet::new(),
            owner: None,
        });
    entry.mode = mode;
    entry.owner = owner;
    entry.kind = kind;
    entry.slices.extend(slices.iter().cloned());
}

/// Creates the `text`, `make` and `symlink` content of the selection, once per path, in path
/// order so parents come before children, with exactly the declared modes.
pub(crate) fn create_content(
    selection: &Selection<'_>,
    root: &Root,
    installed: &mut BTreeMap<String, Installed>,
) -> Result<(), ExtractError> {
    let mut wanted: BTreeMap<&str, (&crate::release::PathInfo, BTreeSet<SliceKey>)> =
        BTreeMap::new();
    for selected in selection.paths() {
        if matches!(
            selected.info.kind,
            PathKind::Text | PathKind::Make | PathKind::Symlink
        ) {
            wanted
                .entry(selected.path)
                .or_insert_with(|| (selected.info, BTreeSet::new()))
                .1
                .insert(selected.slice.key());
        }
    }
    for (path, (info, slices)) in wanted {
        let package = slices
            .iter()
            .next()
            .map(|key| key.package.clone())
            .unwrap_or_default();
        let root_error = |source| ExtractError::Root {
            package: package.clone(),
            source,
        };
        let rel = RelPath::new(path).ok_or_else(|| ExtractError::Escape {
            package: package.clone(),
            path: path.to_owned(),
        })?;
        for ancestor in rel.ancestors() {
            if root.metadata(&ancestor).map_err(root_error)?.is_none() {
                root.make_dir(&ancestor, 0o755, false).map_err(root_error)?;
            }
        }
        let (mode, kind) = match info.kind {
            PathKind::Text => {
                let mode = if info.mode != 0 { info.mode } else { 0o644 };
                let written = root
                    .write_file(&rel, &mut info.info.as_bytes(), mode)
                    .map_err(root_error)?;
                (
                    mode,
                    InstalledKind::File {
                        size: written.size,
                        sha256: written.sha256,
                        final_sha256: None,
                    },
                )
            }
            PathKind::Make => {
                let mode = if info.mode != 0 { info.mode } else { 0o755 };
                root.make_dir(&rel, mode, true).map_err(root_error)?;
                (mode, InstalledKind::Directory)
            }
            _ => {
                root.symlink(&rel, &info.info).map_err(root_error)?;
                (
                    0o777,
                    InstalledKind::Symlink {
                        target: info.info.clone(),
                    },
                )
            }
        };
        record(installed, path, (mode, None), kind, &slices);
    }
    Ok(())
}

/// Removes the paths every selected slice listing them marks `until: mutate`, after the
/// scripts ran: files first, then directories deepest first, a directory that is not empty
/// being kept. Removed paths leave `installed`, so the manifest does not list them.
pub(crate) fn remove_until_mutate(
    selection: &Selection<'_>,
    root: &Root,
    installed: &mut BTreeMap<String, Installed>,
) -> Result<(), ExtractError> {
    let until_of = |slice: &crate::release::Slice, path: &str| -> Option<Until> {
        if let Some(info) = slice.contents.get(path) {
            return Some(info.until);
        }
        // A glob's match is credited to the glob's entry.
        slice
            .contents
            .iter()
            .find(|(pattern, info)| info.kind == PathKind::Glob && glob_match(pattern, path))
            .map(|(_, info)| info.until)
    };
    let mut doomed: Vec<String> = installed
        .values()
        .filter(|item| {
            !item.slices.is_empty()
                && item.slices.iter().all(|key| {
                    selection
                        .slices
                        .iter()
                        .find(|slice| &slice.key() == key)
                        .and_then(|slice| until_of(slice, &item.path))
                        == Some(Until::Mutate)
                })
        })
        .map(|item| item.path.clone())
        .collect();
    // Files before directories, deeper directories before their parents.
    doomed.sort_by_key(|path| {
        (
            path.ends_with('/'),
            std::cmp::Reverse(path.matches('/').count()),
        )
    });
    for path in doomed {
        let Some(rel) = RelPath::new(&path) else {
            continue;
        };
        let owner = installed
            .get(&path)
            .and_then(|item| item.slices.iter().next())
            .map(|key| key.package.clone())
            .unwrap_or_default();
        let is_dir = matches!(
            installed.get(&path).map(|item| &item.kind),
            Some(InstalledKind::Directory)
        );
        let removed = match root.remove(&rel) {
            Ok(()) => true,
            // A directory something else still lives in stays, as in chisel.
            Err(_) if is_dir => false,
            Err(source) => {
                return Err(ExtractError::Root {
                    package: owner,
                    source,
                })
            }
        };
        if removed {
            installed.remove(&path);
        }
    }
    Ok(())
}
