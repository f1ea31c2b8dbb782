//! `kerf draft`: a first slice definition file for a package, from its real contents.
//!
//! The package's entries are sorted into the usual slices (`bins`, `libs`, `config`, `data`,
//! `copyright`); multiarch directories become `*-linux-*` globs and large directories `/**`
//! globs. Each slice's essentials come from what its files need: the ELF interpreter and
//! `DT_NEEDED` libraries, and `#!` interpreters, looked up first in the package itself, then
//! in the release's other packages (following their symlinks, so `/lib64/...` finds the slice
//! that makes `/lib64` and the one that ships the file), then in the archive, by trying the
//! package names a library's soname suggests and looking inside them. What cannot be found
//! is left as a `TODO` comment. The result is a draft for a maintainer, who edits it.

mod layout;
mod render;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;

use crate::archive::archives::{ArchiveSettings, Archives, VerifiedDeb, Wanted};
use crate::archive::error::ArchiveError;
use crate::elf::{self, ElfInfo};
use crate::glob::glob_match;
use crate::release::{Arch, PathKind, Release, SliceKey};
use crate::report::Reporter;

pub(crate) use layout::Category;
pub(crate) use render::render;

/// One entry of a package's `data.tar`, as a slice would name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// `/usr/bin/x`; directories end in `/`.
    pub(crate) path: String,
    pub(crate) kind: EntryKind,
    /// What an ELF file needs, or a script's `#!` interpreter.
    pub(crate) needs: Needs,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Directory,
    File,
    Symlink(String),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    pub(crate) interpreter: Option<String>,
    pub(crate) libraries: Vec<String>,
    /// RUNPATH or RPATH entries, `$ORIGIN` already replaced.
    pub(crate) search: Vec<String>,
}

/// Why a draft could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DraftError {
    #[error("cannot read package \"{package}\": {reason}")]
    Read { package: String, reason: String },
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

impl DraftError {
    /// Whether the input or the archive said no, as opposed to a failure of the machine.
    pub(crate) fn is_user_error(&self) -> bool {
        match self {
            DraftError::Read { .. } => true,
            DraftError::Archive(error) => error.is_user_error(),
        }
    }
}

/// Drafts each of `packages` from the release's archives: (package, file text), in order.
pub(crate) fn draft(
    release: &Release,
    packages: &[String],
    settings: &ArchiveSettings,
    reporter: &dyn Reporter,
) -> Result<Vec<(String, String)>, DraftError> {
    let skip: BTreeSet<String> = packages.iter().cloned().collect();
    let index = ReleaseIndex::new(release, &skip, settings.arch);
    let archives = Archives::open(release, settings, Wanted::All, reporter)?;
    // Every package first: the drafts may need each other (libssl3t64 for openssl).
    let mut read = Vec::new();
    for name in packages {
        let chosen = archives.choose(name)?;
        let entries = read_entries(name, archives.fetch(&chosen)?)?;
        read.push((chosen, entries));
    }
    let mut drafted = BTreeMap::new();
    for (chosen, entries) in &read {
        let placed = layout::place(&chosen.info.name, entries, settings.arch);
        for entry in entries {
            if let Some(category) = placed.category_of(&entry.path) {
                drafted.insert(
                    entry.path.clone(),
                    SliceKey::new(&chosen.info.name, category.name()),
                );
            }
        }
    }
    let providers = ArchiveProviders {
        drafted,
        index: &index,
        archives: &archives,
        arch: settings.arch,
        found: RefCell::new(BTreeMap::new()),
        failure: RefCell::new(None),
    };
    let mut drafts = Vec::new();
    for (chosen, entries) in &read {
        let name = &chosen.info.name;
        let origin = format!(
            "{} {} ({}), archive {} {}/{}",
            chosen.info.name,
            chosen.info.version,
            chosen.info.arch,
            chosen.archive,
            chosen.suite,
            chosen.component
        );
        reporter.step(&format!("Drafting slices of package \"{name}\"..."));
        let proposed = propose(name, &origin, entries, settings.arch, &providers);
        if let Some(error) = providers.failure.borrow_mut().take() {
            return Err(error.into());
        }
        drafts.push((name.clone(), render(&proposed, release.format)));
    }
    Ok(drafts)
}

/// The release first, then the archive's packages, found by the names a soname suggests.
struct ArchiveProviders<'a> {
    /// The paths of the packages being drafted → the slice the draft puts them in.
    drafted: BTreeMap<String, SliceKey>,
    index: &'a ReleaseIndex<'a>,
    archives: &'a Archives<'a>,
    arch: Arch,
    /// Soname → the package found to ship it, or none.
    found: RefCell<BTreeMap<String, Option<String>>>,
    /// An archive failure met while looking: [`Providers`] answers only found or not, so it is
    /// kept here and reported after the package's draft.
    failure: RefCell<Option<ArchiveError>>,
}

impl Providers for ArchiveProviders<'_> {
    fn in_release(&self, path: &str) -> Option<Vec<SliceKey>> {
        let merged = format!("/usr{path}");
        [path, merged.as_str()]
            .iter()
            .find_map(|path| self.drafted.get(*path))
            .map(|key| vec![key.clone()])
            .or_else(|| self.index.resolve(path))
    }

    fn in_archive(&self, soname: &str) -> Option<String> {
        if let Some(found) = self.found.borrow().get(soname) {
            return found.clone();
        }
        let mut found = None;
        for candidate in package_candidates(soname) {
            let Ok(chosen) = self.archives.choose(&candidate) else {
                continue;
            };
            let deb = match self.archives.fetch(&chosen) {
                Ok(deb) => deb,
                Err(error) => {
                    self.failure.borrow_mut().get_or_insert(error);
                    break;
                }
            };
            let Ok(entries) = read_entries(&candidate, deb) else {
                continue;
            };
            let ships = entries.iter().any(|entry| {
                entry.path.rsplit_once('/').is_some_and(|(dir, name)| {
                    name == soname && layout::is_library_dir(dir, self.arch)
                })
            });
            if ships {
                found = Some(candidate);
                break;
            }
        }
        self.found
            .borrow_mut()
            .insert(soname.to_owned(), found.clone());
        found
    }
}

/// The packages that may ship `soname`, by Debian's library package naming (`libfoo.so.3` in
/// `libfoo3`, `libfoo2.so.1` in `libfoo2-1`, with the `t64` transition suffix), glibc's
/// libraries in `libc6`, and zlib's historical name.
fn package_candidates(soname: &str) -> Vec<String> {
    const GLIBC: [&str; 14] = [
        "libc",
        "libm",
        "libpthread",
        "libdl",
        "librt",
        "libresolv",
        "libutil",
        "libanl",
        "libmvec",
        "libnsl",
        "libthread_db",
        "libBrokenLocale",
        "libnss_files",
        "libnss_dns",
    ];
    let Some((base, version)) = soname.split_once(".so.") else {
        return Vec::new();
    };
    if base.starts_with("ld-linux") || base.starts_with("ld64") || GLIBC.contains(&base) {
        return vec!["libc6".to_owned()];
    }
    if base == "libz" {
        return vec!["zlib1g".to_owned()];
    }
    let major = version.split('.').next().unwrap_or(version);
    let name = base.to_lowercase().replace('_', "-");
    let joined = if name.ends_with(|c: char| c.is_ascii_digit()) {
        format!("{name}-{major}")
    } else {
        format!("{name}{major}")
    };
    vec![format!("{joined}t64"), joined]
}

/// Reads a `.deb`'s entries, with the needs of its ELF files and scripts. ELF files are read
/// whole (up to 512 MiB each) because their dynamic section can be anywhere.
pub(crate) fn read_entries(package: &str, mut deb: VerifiedDeb) -> Result<Vec<Entry>, DraftError> {
    let error = |reason: String| DraftError::Read {
        package: package.to_owned(),
        reason,
    };
    let path = deb.path.display().to_string();
    let file = deb.reader().map_err(|e| error(format!("{path}: {e}")))?;
    let reader = crate::deb::DebReader::new(file).map_err(|e| error(e.to_string()))?;
    let mut entries = Vec::new();
    reader
        .for_each_entry(
            |mut entry: crate::deb::DataEntry<'_>| -> Result<(), ReadFailure> {
                let name = String::from_utf8_lossy(entry.name()).into_owned();
                let Some(path) = crate::extract::entry_path(&name) else {
                    return Ok(());
                };
                let kind = match entry.kind() {
                    crate::deb::EntryKind::Directory => EntryKind::Directory,
                    crate::deb::EntryKind::Symlink { target } => {
                        EntryKind::Symlink(String::from_utf8_lossy(target).into_owned())
                    }
                    crate::deb::EntryKind::File | crate::deb::EntryKind::HardLink { .. } => {
                        EntryKind::File
                    }
                    crate::deb::EntryKind::Other(_) => return Ok(()),
                };
                let mut needs = Needs::default();
                if kind == EntryKind::File && entry.size() > 4 {
                    let mut head = [0u8; 4];
                    let mut read = 0;
                    while read < 4 {
                        match entry.read(&mut head[read..]) {
                            Ok(0) => break,
                            Ok(n) => read += n,
                            Err(e) => return Err(ReadFailure::from(e)),
                        }
                    }
                    if head == *b"\x7fELF" && entry.size() <= 512 << 20 {
                        let mut bytes = head.to_vec();
                        entry.read_to_end(&mut bytes)?;
                        if let Ok(info) = elf::parse(bytes.as_slice()) {
                            needs = elf_needs(&path, &info);
                        }
                    } else if head.starts_with(b"#!") && entry.mode() & 0o111 != 0 {
                        let mut line = head[2..].to_vec();
                        let mut limited = (&mut entry).take(256);
                        limited.read_to_end(&mut line)?;
                        needs.interpreter = script_interpreter(&line);
                    }
                }
                entries.push(Entry { path, kind, needs });
                Ok(())
            },
        )
        .map_err(|e| error(e.0))?;
    Ok(entries)
}

/// What reading a package's entries met, as text for [`DraftError::Read`].
struct ReadFailure(String);

impl From<crate::deb::DebError> for ReadFailure {
    fn from(error: crate::deb::DebError) -> Self {
        ReadFailure(error.to_string())
    }
}

impl From<std::io::Error> for ReadFailure {
    fn from(error: std::io::Error) -> Self {
        ReadFailure(error.to_string())
    }
}

fn elf_needs(path: &str, info: &ElfInfo) -> Needs {
    let origin = path.rsplit_once('/').map_or("/", |(dir, _)| dir);
    let search = info
        .runpath
        .as_deref()
        .or(info.rpath.as_deref())
        .unwrap_or_default()
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| dir.replace("${ORIGIN}", origin).replace("$ORIGIN", origin))
        .collect();
    Needs {
        interpreter: info.interpreter.clone(),
        libraries: info.needed.clone(),
        search,
    }
}

/// The program a `#!` line runs: its first word, or for `/usr/bin/env X`, `X` as a bare name.
fn script_interpreter(line: &[u8]) -> Option<String> {
    let line = line.split(|byte| *byte == b'\n').next()?;
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let program = words.next()?.trim_end_matches('\r');
    if program.ends_with("/env") {
        return words
            .find(|word| !word.starts_with('-') && !word.contains('='))
            .map(str::to_owned);
    }
    program.starts_with('/').then(|| program.to_owned())
}

/// Why a slice needs an essential, for the comment beside it: what is needed → by which files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Reasons(pub(crate) BTreeMap<String, BTreeSet<String>>);

impl Reasons {
    fn add(&mut self, wanted: &str, file: &str) {
        self.0
            .entry(wanted.to_owned())
            .or_default()
            .insert(file.to_owned());
    }
}

/// One proposed slice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DraftSlice {
    /// Path → `arch` restriction (empty for all arches).
    pub(crate) contents: BTreeMap<String, Vec<Arch>>,
    pub(crate) essential: BTreeMap<SliceKey, Reasons>,
    /// Needs nothing was found for.
    pub(crate) unresolved: Reasons,
}

/// The proposed definition of one package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Draft {
    pub(crate) package: String,
    /// `name version (arch), archive suite/component`, for the header.
    pub(crate) origin: String,
    pub(crate) slices: BTreeMap<Category, DraftSlice>,
}

/// Where a needed file can come from outside the package: the release, then the archive.
pub(crate) trait Providers {
    /// The slices of the release that make `path` exist (the symlinks on its way, and the slice
    /// that ships what it resolves to), or `None` when no slice ships it.
    fn in_release(&self, path: &str) -> Option<Vec<SliceKey>>;
    /// A package of the archive that ships a file named `soname` in a library directory.
    fn in_archive(&self, soname: &str) -> Option<String>;
}

/// The draft of `package` from its `entries`, for `arch`.
pub(crate) fn propose(
    package: &str,
    origin: &str,
    entries: &[Entry],
    arch: Arch,
    providers: &dyn Providers,
) -> Draft {
    let mut slices: BTreeMap<Category, DraftSlice> = BTreeMap::new();
    let placed = layout::place(package, entries, arch);
    for (path, (category, arches)) in &placed.paths {
        slices
            .entry(*category)
            .or_default()
            .contents
            .insert(path.clone(), arches.clone());
    }
    // The package's own files by path, and its libraries by file name.
    let own_paths: BTreeMap<&str, Category> = entries
        .iter()
        .filter(|entry| entry.kind != EntryKind::Directory)
        .filter_map(|entry| Some((entry.path.as_str(), placed.category_of(&entry.path)?)))
        .collect();
    let own_libraries: BTreeMap<&str, Category> = own_paths
        .iter()
        .filter_map(|(path, category)| {
            let (dir, name) = path.rsplit_once('/')?;
            layout::is_library_dir(dir, arch).then_some((name, *category))
        })
        .collect();
    for entry in entries {
        let Some(category) = placed.category_of(&entry.path) else {
            continue;
        };
        let file = entry.path.as_str();
        let mut wants: Vec<(String, Need)> = Vec::new();
        if let Some(interpreter) = &entry.needs.interpreter {
            wants.push((interpreter.clone(), Need::Program));
        }
        for library in &entry.needs.libraries {
            wants.push((library.clone(), Need::Library(&entry.needs.search)));
        }
        for (wanted, need) in wants {
            let slice = slices.entry(category).or_default();
            if let Some(own) = need.own(&wanted, &own_libraries, &own_paths) {
                if own != category {
                    slice
                        .essential
                        .entry(SliceKey::new(package, own.name()))
                        .or_default()
                        .add(&wanted, file);
                }
                continue;
            }
            match need.provided(&wanted, arch, providers) {
                Some(keys) => {
                    for key in keys {
                        if key.package == package {
                            continue;
                        }
                        slice.essential.entry(key).or_default().add(&wanted, file);
                    }
                }
                None => slice.unresolved.add(&wanted, file),
            }
        }
    }
    Draft {
        package: package.to_owned(),
        origin: origin.to_owned(),
        slices,
    }
}

/// What kind of thing a file needs.
enum Need<'a> {
    /// An interpreter: an absolute path, or a bare command name run through `env`.
    Program,
    /// A library soname, with the file's own search path.
    Library(&'a [String]),
}

/// Directories a command run through `env` is looked for in.
const COMMAND_DIRS: [&str; 4] = ["/usr/bin", "/usr/sbin", "/bin", "/sbin"];

impl Need<'_> {
    /// The package's own slice that provides `wanted`, if it does.
    fn own(
        &self,
        wanted: &str,
        own_libraries: &BTreeMap<&str, Category>,
        own_paths: &BTreeMap<&str, Category>,
    ) -> Option<Category> {
        match self {
            Need::Library(_) => own_libraries.get(wanted).copied(),
            Need::Program => self
                .program_paths(wanted)
                .iter()
                .find_map(|path| own_paths.get(path.as_str()).copied()),
        }
    }

    fn program_paths(&self, wanted: &str) -> Vec<String> {
        if wanted.starts_with('/') {
            vec![wanted.to_owned()]
        } else {
            COMMAND_DIRS
                .iter()
                .map(|dir| format!("{dir}/{wanted}"))
                .collect()
        }
    }

    /// The slices outside the package that provide `wanted`.
    fn provided(
        &self,
        wanted: &str,
        arch: Arch,
        providers: &dyn Providers,
    ) -> Option<Vec<SliceKey>> {
        let candidates = match self {
            Need::Program => self.program_paths(wanted),
            Need::Library(search) => search
                .iter()
                .map(String::as_str)
                .chain(layout::library_dirs(arch).iter().map(String::as_str))
                .map(|dir| format!("{}/{wanted}", dir.trim_end_matches('/')))
                .collect(),
        };
        if let Some(found) = candidates
            .iter()
            .find_map(|path| providers.in_release(path))
        {
            return Some(found);
        }
        match self {
            Need::Library(_) => providers
                .in_archive(wanted)
                .map(|package| vec![SliceKey::new(&package, Category::Libs.name())]),
            Need::Program => None,
        }
    }
}

/// The release's content, indexed for "which slices make this path exist".
pub(crate) struct ReleaseIndex<'r> {
    /// Literal paths (directories without their `/`) → slices and, for symlinks, the target.
    literal: BTreeMap<String, Vec<(SliceKey, Option<&'r str>)>>,
    globs: Vec<(&'r str, SliceKey)>,
}

impl<'r> ReleaseIndex<'r> {
    /// Every slice of `release` except those of `skip` (the packages being drafted), for
    /// `arch`.
    pub(crate) fn new(release: &'r Release, skip: &BTreeSet<String>, arch: Arch) -> Self {
        let mut literal: BTreeMap<String, Vec<(SliceKey, Option<&'r str>)>> = BTreeMap::new();
        let mut globs = Vec::new();
        for package in release.packages.values() {
            if skip.contains(&package.name) {
                continue;
            }
            for slice in package.slices.values() {
                for (path, info) in &slice.contents {
                    if !info.arch.allows(arch) {
                        continue;
                    }
                    let key = slice.key();
                    match info.kind {
                        PathKind::Glob => globs.push((path.as_str(), key)),
                        PathKind::Generate => {}
                        PathKind::Symlink => literal
                            .entry(path.trim_end_matches('/').to_owned())
                            .or_default()
                            .push((key, Some(info.info.as_str()))),
                        _ => literal
                            .entry(path.trim_end_matches('/').to_owned())
                            .or_default()
                            .push((key, None)),
                    }
                }
            }
        }
        ReleaseIndex { literal, globs }
    }

    /// The slices that ship exactly `path` (no symlink followed); the first one by name.
    fn shipping(&self, path: &str) -> Option<SliceKey> {
        if let Some(found) = self.literal.get(path) {
            return found.iter().map(|(key, _)| key.clone()).min();
        }
        self.globs
            .iter()
            .filter(|(glob, _)| glob_match(glob, path))
            .map(|(_, key)| key.clone())
            .min()
    }

    /// A symlink some slice makes at exactly `path`: the slice and the target.
    fn symlink(&self, path: &str) -> Option<(SliceKey, &'r str)> {
        self.literal
            .get(path)?
            .iter()
            .find_map(|(key, target)| target.map(|target| (key.clone(), target)))
    }

    /// The slices that make `path` exist: those of the symlinks on its way and of the file.
    /// On a merged-/usr system `/lib64/x` is `/usr/lib64/x`; releases often copy the `/lib64`
    /// link from base-files rather than declare it, so that alias is tried too, with the slice
    /// that ships the top-level link.
    pub(crate) fn resolve(&self, path: &str) -> Option<Vec<SliceKey>> {
        if let Some(found) = self.follow(path) {
            return Some(found);
        }
        let top = path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default();
        let merged = ["bin", "sbin", "lib"].contains(&top) || top.starts_with("lib");
        if !merged || !path[1..].contains('/') {
            return None;
        }
        let mut found = self.follow(&format!("/usr{path}"))?;
        if let Some(link) = self.shipping(&format!("/{top}")) {
            if !found.contains(&link) {
                found.insert(0, link);
            }
        }
        Some(found)
    }

    /// Follows `path` through the release's symlinks, component by component.
    fn follow(&self, path: &str) -> Option<Vec<SliceKey>> {
        let mut needed = Vec::new();
        let mut pending: Vec<String> = path
            .split('/')
            .filter(|part| !part.is_empty())
            .rev()
            .map(str::to_owned)
            .collect();
        let mut current = String::new();
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            match part.as_str() {
                "." => continue,
                ".." => {
                    if let Some((parent, _)) = current.rsplit_once('/') {
                        current = parent.to_owned();
                    }
                    continue;
                }
                _ => {}
            }
            let next = format!("{current}/{part}");
            if let Some((key, target)) = self.symlink(&next) {
                hops += 1;
                if hops > 40 {
                    return None;
                }
                if !needed.contains(&key) {
                    needed.push(key);
                }
                if target.starts_with('/') {
                    current.clear();
                }
                pending.extend(
                    target
                        .split('/')
                        .filter(|part| !part.is_empty())
                        .rev()
                        .map(str::to_owned),
                );
                continue;
            }
            current = next;
        }
        // A slice may list the path as written (`/lib64/ld-linux-x86-64.so.2`) rather than where
        // the symlinks lead.
        let shipping = self
            .shipping(&current)
            .or_else(|| self.shipping(path.trim_end_matches('/')))?;
        if !needed.contains(&shipping) {
            needed.push(shipping);
        }
        Some(needed)
    }
}

#[cfg(test)]
mod tests;
