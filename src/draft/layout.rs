//! Which slice each of a package's paths goes to, and how the paths are written: multiarch
//! directories as `*-linux-*`, directories full of one slice's files as `/**`.

use std::collections::BTreeMap;

use super::{Entry, EntryKind};
use crate::release::Arch;

/// The slices a draft proposes, in the order they are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Category {
    Bins,
    Libs,
    Config,
    Data,
    Copyright,
}

impl Category {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Category::Bins => "bins",
            Category::Libs => "libs",
            Category::Config => "config",
            Category::Data => "data",
            Category::Copyright => "copyright",
        }
    }
}

/// Documentation and development files: left out of every slice.
const LEFT_OUT: [&str; 12] = [
    "/usr/share/doc/",
    "/usr/share/man/",
    "/usr/share/info/",
    "/usr/share/lintian/",
    "/usr/share/bug/",
    "/usr/share/doc-base/",
    "/usr/share/bash-completion/",
    "/usr/share/zsh/",
    "/usr/share/menu/",
    "/usr/share/pkgconfig/",
    "/usr/include/",
    "/usr/lib/debug/",
];

const BIN_DIRS: [&str; 6] = [
    "/usr/bin",
    "/usr/sbin",
    "/bin",
    "/sbin",
    "/usr/games",
    "/usr/libexec",
];

/// Where the dynamic loader looks for libraries by default on `arch`. The `/usr` ones come
/// first: on a merged-/usr system they hold the same files, and a slice that lists a library
/// under `/usr` then needs no `/lib` link to be found.
pub(crate) fn library_dirs(arch: Arch) -> Vec<String> {
    let triplet = arch.triplet();
    vec![
        format!("/usr/lib/{triplet}"),
        "/usr/lib".to_owned(),
        "/usr/lib64".to_owned(),
        format!("/lib/{triplet}"),
        "/lib".to_owned(),
        "/lib64".to_owned(),
    ]
}

pub(crate) fn is_library_dir(dir: &str, arch: Arch) -> bool {
    library_dirs(arch).iter().any(|known| known == dir)
}

/// The slice a path of `package` belongs in, or `None` to leave it out.
fn category_of_path(package: &str, entry: &Entry, arch: Arch) -> Option<Category> {
    let path = entry.path.as_str();
    if entry.kind == EntryKind::Directory {
        return None;
    }
    if path == format!("/usr/share/doc/{package}/copyright") {
        return Some(Category::Copyright);
    }
    if LEFT_OUT.iter().any(|prefix| path.starts_with(prefix)) {
        return None;
    }
    let (dir, name) = path.rsplit_once('/')?;
    if BIN_DIRS.contains(&dir) {
        return Some(Category::Bins);
    }
    if path.starts_with("/etc/") {
        return Some(Category::Config);
    }
    if name.ends_with(".a") || name.ends_with(".la") || dir.ends_with("/pkgconfig") {
        return None;
    }
    let triplet_dir = format!("/usr/lib/{}/", arch.triplet());
    let lib_triplet_dir = format!("/lib/{}/", arch.triplet());
    if is_library_dir(dir, arch) {
        let versioned = name.contains(".so.") || name.starts_with("ld-linux");
        return match (&entry.kind, versioned, name.ends_with(".so")) {
            (_, true, _) => Some(Category::Libs),
            // The unversioned link is for the compiler: a -dev package's.
            (EntryKind::Symlink(_), false, true) => None,
            (_, false, true) => Some(Category::Libs),
            _ => Some(Category::Data),
        };
    }
    if path.starts_with(&triplet_dir) || path.starts_with(&lib_triplet_dir) {
        // Plugins and modules in a subdirectory of the multiarch directory.
        return Some(Category::Libs);
    }
    Some(Category::Data)
}

/// Where every placed entry went.
pub(crate) struct Placed {
    /// Path as written (globs included) → slice and `arch` restriction.
    pub(crate) paths: BTreeMap<String, (Category, Vec<Arch>)>,
    /// Entry path → slice.
    by_entry: BTreeMap<String, Category>,
}

impl Placed {
    pub(crate) fn category_of(&self, path: &str) -> Option<Category> {
        self.by_entry.get(path).copied()
    }
}

/// A directory with at least this many files, all of one slice, is written as `dir/**`.
const COLLAPSE_AT: usize = 6;

/// Places every entry of `package`.
pub(crate) fn place(package: &str, entries: &[Entry], arch: Arch) -> Placed {
    let by_entry: BTreeMap<String, Category> = entries
        .iter()
        .filter_map(|entry| Some((entry.path.clone(), category_of_path(package, entry, arch)?)))
        .collect();
    // Per directory: the slices of the files below it (None for a left-out file) and how many.
    let mut below: BTreeMap<String, (BTreeMap<Option<Category>, usize>, usize)> = BTreeMap::new();
    for entry in entries
        .iter()
        .filter(|entry| entry.kind != EntryKind::Directory)
    {
        let category = by_entry.get(&entry.path).copied();
        let mut dir = entry.path.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            if parent.is_empty() {
                break;
            }
            let counts = below.entry(format!("{parent}/")).or_default();
            *counts.0.entry(category).or_default() += 1;
            counts.1 += 1;
            dir = parent;
        }
    }
    let collapsible = |dir: &str| -> Option<Category> {
        // Never `/usr/**` or `/usr/share/**`: three levels at least.
        if dir.matches('/').count() < 4 || dir.starts_with("/etc/") && dir.matches('/').count() < 3
        {
            return None;
        }
        // A library directory is shared by many packages: name the files.
        if is_library_dir(dir.trim_end_matches('/'), arch) {
            return None;
        }
        let (counts, files) = below.get(dir)?;
        match counts.keys().collect::<Vec<_>>().as_slice() {
            [Some(category)] if *files >= COLLAPSE_AT && *category != Category::Bins => {
                Some(*category)
            }
            _ => None,
        }
    };
    let mut paths = BTreeMap::new();
    let mut collapsed: Vec<String> = Vec::new();
    for entry in entries
        .iter()
        .filter(|entry| entry.kind != EntryKind::Directory)
    {
        let Some(category) = by_entry.get(&entry.path).copied() else {
            continue;
        };
        if collapsed
            .iter()
            .any(|dir| entry.path.starts_with(dir.as_str()))
        {
            continue;
        }
        // The outermost directory that can be collapsed, if any.
        let mut written = entry.path.clone();
        let mut prefix = String::new();
        for part in entry.path.trim_start_matches('/').split('/') {
            prefix.push('/');
            prefix.push_str(part);
            let dir = format!("{prefix}/");
            if dir.len() < entry.path.len() && collapsible(&dir) == Some(category) {
                collapsed.push(dir.clone());
                written = format!("{dir}**");
                break;
            }
        }
        let arches = arch_limited(&written, arch);
        paths.insert(multiarch(&written, arch), (category, arches));
    }
    Placed { paths, by_entry }
}

/// The multiarch directory written as a glob, so the path works on every arch.
fn multiarch(path: &str, arch: Arch) -> String {
    path.replace(&format!("/{}/", arch.triplet()), "/*-linux-*/")
}

/// Paths that exist only on this arch (`/lib64`, a loader named after the CPU) get `arch:`.
fn arch_limited(path: &str, arch: Arch) -> Vec<Arch> {
    let cpu = arch.triplet().split('-').next().unwrap_or_default();
    let cpu_dashed = cpu.replace('_', "-");
    let name = path.rsplit('/').next().unwrap_or_default();
    if path.starts_with("/lib64/")
        || path.starts_with("/usr/lib64/")
        || name.contains(cpu)
        || name.contains(&cpu_dashed)
    {
        vec![arch]
    } else {
        Vec::new()
    }
}
