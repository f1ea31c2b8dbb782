//! `kerf check`: whether every program in a root finds, inside the root, what it needs to start.
//!
//! For every ELF file (regular files of any mode): its interpreter (`PT_INTERP`) and each
//! `DT_NEEDED` library, searched as glibc's ld.so would search them but inside the root:
//! `DT_RPATH` (only when there is no `DT_RUNPATH`), then `DT_RUNPATH`, then the directories of
//! `/etc/ld.so.conf` (what `ldconfig` would put in the cache), then the multiarch and default
//! directories. A library counts only if it is an ELF file of the same class, byte order and
//! machine, as ld.so skips the others. For every executable script: its `#!` interpreter, and
//! for `#!/usr/bin/env X`, the command `X` on the default `PATH`.
//!
//! Each object is checked on its own: the search paths of the program that loads a library
//! (an executable's `DT_RPATH` applies to its libraries' needs too) are not known here.
//!
//! Paths are resolved with [`Root::lookup`], as a process chrooted into the root would see them.
//! Nothing here prints: [`check`] returns a [`Report`] and [`render`] lays it out.

#[cfg(test)]
mod tests;

use fs_err as fs;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::{self, Read as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use crate::elf::{self, ElfError, ElfInfo, FileSource, Kind, MAGIC};
use crate::extract::root::{Root, RootError};
use crate::glob::{glob_match, is_glob};
use crate::release::{Arch, PathKind, Release, SliceKey};

/// How many bytes of a file are read to tell an ELF file or a script: the kernel reads this
/// much of a `#!` line (`BINPRM_BUF_SIZE`).
const HEAD: usize = 256;
/// The largest `ld.so.conf` file read.
const MAX_CONF: u64 = 1 << 20;
/// How deep `include` lines of `ld.so.conf` may nest.
const MAX_INCLUDE_DEPTH: usize = 16;
/// The most names a `$PLATFORM` or an `include` glob expands to.
const MAX_EXPANSION: usize = 256;
/// The `PATH` a container gets when its image sets none (Docker's and Debian's default), where
/// `#!/usr/bin/env X` finds `X`.
const DEFAULT_PATH: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];
/// Top-level directories that usr-merged systems keep under `/usr` (`/lib -> usr/lib`).
const MERGED: [&str; 6] = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/// What [`check`] is told besides the root.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CheckOptions<'a> {
    /// The architecture whose slices may provide what is missing, and whose multiarch
    /// directories are searched for ELF files of a machine kerf does not know; by default each
    /// ELF file's own.
    pub(crate) arch: Option<Arch>,
    /// A release to name the slices that could provide what is missing.
    pub(crate) release: Option<&'a Release>,
}

/// What a file needs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Needed {
    /// The `PT_INTERP` of an ELF file, or the `#!` interpreter of a script.
    Interpreter(String),
    /// The command a script runs through `env` (whose path is `env`).
    Command { name: String, env: String },
    /// A `DT_NEEDED` library.
    Library(String),
}

/// Something a file needs that is not in the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Missing {
    /// The in-root path of the file that needs it.
    pub(crate) file: String,
    pub(crate) needed: Needed,
    /// What was found under the names searched but cannot serve, and why (a library of another
    /// class, a symlink loop): in-root path and reason.
    pub(crate) skipped: Vec<(String, String)>,
    /// The slices of the release that could provide it; `None` when no release was given.
    pub(crate) provided_by: Option<Vec<SliceKey>>,
}

/// A file that was not checked, and why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Note {
    pub(crate) file: String,
    pub(crate) message: String,
}

/// The outcome of a check: what was checked, what is missing (sorted by file, then
/// interpreter before commands before libraries, then name), and the files skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Report {
    pub(crate) elf_files: usize,
    pub(crate) scripts: usize,
    pub(crate) missing: Vec<Missing>,
    pub(crate) notes: Vec<Note>,
}

/// Why a check could not be done.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CheckError {
    #[error(transparent)]
    Root(#[from] RootError),
    #[error("cannot {action} {path} in the root {root}: {source}")]
    Io {
        action: &'static str,
        path: String,
        root: PathBuf,
        source: io::Error,
    },
}

/// Checks every ELF file and executable script in the root at `dir`.
pub(crate) fn check(dir: &Path, options: &CheckOptions<'_>) -> Result<Report, CheckError> {
    let root = Root::open(dir)?;
    let mut checker = Checker {
        conf_dirs: Vec::new(),
        root: &root,
        options,
        probes: HashMap::new(),
        report: Report::default(),
    };
    checker.conf_dirs = checker.ld_so_conf()?;
    for (path, host, mode) in checker.regular_files()? {
        checker.check_file(&path, &host, mode)?;
    }
    let mut report = checker.report;
    report
        .missing
        .sort_by(|a, b| (&a.file, &a.needed).cmp(&(&b.file, &b.needed)));
    report.notes.sort();
    Ok(report)
}

/// The report as lines: notes first, then each missing item with what was skipped and, given a
/// release, the slices that provide it. Names from the root are escaped if they hold control
/// characters.
pub(crate) fn render(report: &Report) -> String {
    let mut out = String::new();
    for note in &report.notes {
        let _ = writeln!(
            out,
            "note: {}: {}",
            printable(&note.file),
            printable(&note.message)
        );
    }
    for missing in &report.missing {
        let what = match &missing.needed {
            Needed::Interpreter(path) => format!("interpreter {}", printable(path)),
            Needed::Command { name, env } => {
                format!("command {} (run by {})", printable(name), printable(env))
            }
            Needed::Library(name) => format!("library {}", printable(name)),
        };
        let _ = writeln!(out, "{}: needs {what}, not found", printable(&missing.file));
        for (path, reason) in &missing.skipped {
            let _ = writeln!(out, "  skipped {}: {}", printable(path), printable(reason));
        }
        match &missing.provided_by {
            None => {}
            Some(slices) if slices.is_empty() => {
                out.push_str("  provided by: no slice of the release\n");
            }
            Some(slices) => {
                let names: Vec<String> = slices.iter().map(ToString::to_string).collect();
                let _ = writeln!(out, "  provided by: {}", names.join(", "));
            }
        }
    }
    out
}

/// `text` with control characters escaped, so a hostile name cannot rewrite the terminal.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_debug().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// What is at a path searched for, as far as the check cares.
#[derive(Clone, Debug)]
enum Probe {
    Missing,
    /// Resolving the path met more symlinks than the kernel follows: the path, its directory
    /// resolved (so that `/lib/x` and `/usr/lib/x` are one).
    Loop(String),
    Directory,
    /// A regular file: its in-root path, symlinks resolved; whether it is executable; its ELF
    /// kind, `None` when it is no ELF file, or why its header is unreadable.
    File {
        path: String,
        executable: bool,
        kind: Result<Option<Kind>, String>,
    },
}

/// What a search needs of the file it finds.
#[derive(Clone, Copy)]
enum Want {
    /// A library for an object of this kind.
    Library(Kind),
    /// An ELF interpreter for an object of this kind: also executable.
    ElfInterpreter(Kind),
    /// Any executable file (a script's interpreter, a command).
    Executable,
}

struct Checker<'a> {
    root: &'a Root,
    options: &'a CheckOptions<'a>,
    /// The directories `ld.so.conf` names, in order.
    conf_dirs: Vec<String>,
    /// Every path probed so far.
    probes: HashMap<String, Probe>,
    report: Report,
}

impl Checker<'_> {
    fn io(&self, action: &'static str, path: &str) -> impl FnOnce(io::Error) -> CheckError {
        let (path, root) = (path.to_owned(), self.root.dir().to_owned());
        move |source| CheckError::Io {
            action,
            path,
            root,
            source,
        }
    }

    /// Every regular file below the root (symlinks are not followed), as (in-root path, host
    /// path, mode), sorted by path.
    fn regular_files(&self) -> Result<Vec<(String, PathBuf, u32)>, CheckError> {
        let mut files = Vec::new();
        let mut pending = vec![(String::new(), self.root.dir().to_owned())];
        while let Some((dir, host)) = pending.pop() {
            let display = if dir.is_empty() { "/" } else { dir.as_str() };
            let entries = fs::read_dir(&host).map_err(self.io("list", display))?;
            for entry in entries {
                let entry = entry.map_err(self.io("list", display))?;
                let path = format!("{dir}/{}", entry.file_name().to_string_lossy());
                let kind = entry.file_type().map_err(self.io("inspect", &path))?;
                if kind.is_dir() {
                    pending.push((path, entry.path()));
                } else if kind.is_file() {
                    let metadata = entry.metadata().map_err(self.io("inspect", &path))?;
                    files.push((path, entry.path(), metadata.permissions().mode()));
                }
            }
        }
        files.sort();
        Ok(files)
    }

    fn check_file(&mut self, path: &str, host: &Path, mode: u32) -> Result<(), CheckError> {
        let file = fs::File::open(host).map_err(self.io("open", path))?;
        let size = file.metadata().map_err(self.io("inspect", path))?.len();
        let mut head = Vec::with_capacity(HEAD);
        (&file)
            .take(HEAD as u64)
            .read_to_end(&mut head)
            .map_err(self.io("read", path))?;
        if head.starts_with(MAGIC) {
            self.report.elf_files += 1;
            match elf::parse(&FileSource { file, size }) {
                Ok(info) => self.check_elf(path, &info)?,
                Err(ElfError::Io(source)) => return Err(self.io("read", path)(source)),
                Err(error) => self.report.notes.push(Note {
                    file: path.to_owned(),
                    message: format!("skipped, not a valid ELF file: {error}"),
                }),
            }
        } else if head.starts_with(b"#!") && mode & 0o111 != 0 {
            self.report.scripts += 1;
            self.check_script(path, &head)?;
        }
        Ok(())
    }

    fn check_elf(&mut self, path: &str, info: &ElfInfo) -> Result<(), CheckError> {
        let arch = self.options.arch.or_else(|| info.kind.arch());
        if let Some(interpreter) = &info.interpreter {
            let candidates = vec![absolute(interpreter)];
            self.require(
                path,
                Needed::Interpreter(interpreter.clone()),
                &candidates,
                Want::ElfInterpreter(info.kind),
                arch,
            )?;
        }
        if info.needed.is_empty() {
            return Ok(());
        }
        let dirs = self.search_dirs(path, info)?;
        for name in &info.needed {
            let candidates: Vec<String> = if name.contains('/') {
                vec![absolute(name)]
            } else {
                dirs.iter().map(|dir| join(dir, name)).collect()
            };
            self.require(
                path,
                Needed::Library(name.clone()),
                &candidates,
                Want::Library(info.kind),
                arch,
            )?;
        }
        Ok(())
    }

    fn check_script(&mut self, path: &str, head: &[u8]) -> Result<(), CheckError> {
        let line = &head[2..];
        let line = line
            .iter()
            .position(|&byte| byte == b'\n')
            .map_or(line, |end| &line[..end]);
        let line = String::from_utf8_lossy(line);
        let line = line
            .trim_start_matches([' ', '\t'])
            .trim_end_matches([' ', '\t']);
        let (interpreter, argument) = line
            .split_once([' ', '\t'])
            .map_or((line, ""), |(first, rest)| {
                (first, rest.trim_start_matches([' ', '\t']))
            });
        if interpreter.is_empty() {
            self.report.notes.push(Note {
                file: path.to_owned(),
                message: "skipped, its #! line names no interpreter".to_owned(),
            });
            return Ok(());
        }
        let found = self.require(
            path,
            Needed::Interpreter(interpreter.to_owned()),
            &[absolute(interpreter)],
            Want::Executable,
            self.options.arch,
        )?;
        if !found || interpreter.rsplit('/').next() != Some("env") {
            return Ok(());
        }
        let Some(command) = env_command(argument) else {
            return Ok(());
        };
        let candidates: Vec<String> = if command.contains('/') {
            vec![absolute(command)]
        } else {
            DEFAULT_PATH.iter().map(|dir| join(dir, command)).collect()
        };
        self.require(
            path,
            Needed::Command {
                name: command.to_owned(),
                env: interpreter.to_owned(),
            },
            &candidates,
            Want::Executable,
            self.options.arch,
        )?;
        Ok(())
    }

    /// Searches `candidates` in order for a file that serves as `want`; records what is
    /// missing when none does. Returns whether one was found.
    fn require(
        &mut self,
        file: &str,
        needed: Needed,
        candidates: &[String],
        want: Want,
        arch: Option<Arch>,
    ) -> Result<bool, CheckError> {
        let mut skipped: Vec<(String, String)> = Vec::new();
        for candidate in candidates {
            let probe = self.probe(candidate)?;
            let (path, reason) = match probe {
                Probe::Missing | Probe::Directory => continue,
                Probe::Loop(path) => (path, "more than 40 levels of symlinks".to_owned()),
                Probe::File {
                    path,
                    executable,
                    kind,
                } => match unusable(want, executable, &kind) {
                    None => return Ok(true),
                    Some(reason) => (path, reason),
                },
            };
            if !skipped.iter().any(|(seen, _)| *seen == path) {
                skipped.push((path, reason));
            }
        }
        let provided_by = self
            .options
            .release
            .map(|release| providers(release, candidates, arch));
        self.report.missing.push(Missing {
            file: file.to_owned(),
            needed,
            skipped,
            provided_by,
        });
        Ok(false)
    }

    /// What is at `path` in the root, every symlink followed; remembered.
    fn probe(&mut self, path: &str) -> Result<Probe, CheckError> {
        if let Some(probe) = self.probes.get(path) {
            return Ok(probe.clone());
        }
        let probe = match self.root.lookup(path) {
            Err(RootError::TooManyLinks { .. }) => {
                let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
                let dir = match self.root.lookup(if dir.is_empty() { "/" } else { dir }) {
                    Ok(Some(found)) => found.path,
                    _ => dir.to_owned(),
                };
                Probe::Loop(join(&dir, name))
            }
            Err(error) => return Err(error.into()),
            Ok(None) => Probe::Missing,
            Ok(Some(found)) if found.metadata.is_dir() => Probe::Directory,
            Ok(Some(found)) if !found.metadata.is_file() => Probe::Missing,
            Ok(Some(found)) => {
                let file = fs::File::open(&found.host).map_err(self.io("open", &found.path))?;
                let size = found.metadata.len();
                let kind = match elf::read_kind(&FileSource { file, size }) {
                    Ok(kind) => Ok(kind),
                    Err(ElfError::Io(source)) => return Err(self.io("read", &found.path)(source)),
                    Err(error) => Err(error.to_string()),
                };
                Probe::File {
                    path: found.path,
                    executable: found.metadata.permissions().mode() & 0o111 != 0,
                    kind,
                }
            }
        };
        self.probes.insert(path.to_owned(), probe.clone());
        Ok(probe)
    }

    /// The directories searched for the libraries of the ELF file at `path`, in ld.so's order,
    /// without repeats.
    fn search_dirs(&mut self, path: &str, info: &ElfInfo) -> Result<Vec<String>, CheckError> {
        let origin = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let origin = if origin.is_empty() { "/" } else { origin };
        let triplet = info
            .kind
            .triplet()
            .or_else(|| self.options.arch.map(Arch::triplet));
        let lib = triplet.map_or_else(|| "lib".to_owned(), |triplet| format!("lib/{triplet}"));
        let mut dirs: Vec<String> = Vec::new();
        let mut entries: Vec<String> = Vec::new();
        if info.runpath.is_none() {
            entries.extend(
                info.rpath
                    .iter()
                    .flat_map(|list| list.split(':'))
                    .map(str::to_owned),
            );
        }
        entries.extend(
            info.runpath
                .iter()
                .flat_map(|list| list.split(':'))
                .map(str::to_owned),
        );
        for entry in &entries {
            for dir in self.expand(entry, origin, &lib)? {
                push_dir(&mut dirs, dir);
            }
        }
        for dir in &self.conf_dirs {
            push_dir(&mut dirs, dir.clone());
        }
        if let Some(triplet) = triplet {
            push_dir(&mut dirs, format!("/lib/{triplet}"));
            push_dir(&mut dirs, format!("/usr/lib/{triplet}"));
        }
        let defaults: &[&str] = match (info.kind.class, info.kind.machine) {
            (elf::Class::Elf64, _) => &["/lib64", "/usr/lib64", "/lib", "/usr/lib"],
            (elf::Class::Elf32, 62) => &["/libx32", "/usr/libx32", "/lib", "/usr/lib"],
            (elf::Class::Elf32, _) => &["/lib32", "/usr/lib32", "/lib", "/usr/lib"],
        };
        for dir in defaults {
            push_dir(&mut dirs, (*dir).to_owned());
        }
        Ok(dirs)
    }

    /// A `DT_RPATH`/`DT_RUNPATH` entry with `$ORIGIN`, `$LIB` and `$PLATFORM` (or `${...}`)
    /// replaced. `$PLATFORM` is what the kernel says the CPU is, unknown here: it stands for
    /// each directory that exists at its place. Relative entries (relative to the working
    /// directory of whoever runs the program) are dropped.
    fn expand(&mut self, entry: &str, origin: &str, lib: &str) -> Result<Vec<String>, CheckError> {
        // A NUL cannot occur in an ELF string, so it marks where `$PLATFORM` goes.
        let text = substitute(entry, |name| match name {
            "ORIGIN" => Some(origin.to_owned()),
            "LIB" => Some(lib.to_owned()),
            "PLATFORM" => Some("\0".to_owned()),
            _ => None,
        });
        if !text.starts_with('/') {
            return Ok(Vec::new());
        }
        let Some(at) = text.find('\0') else {
            return Ok(vec![text]);
        };
        let parent = text[..at].rsplit_once('/').map_or("", |(dir, _)| dir);
        let mut dirs = Vec::new();
        for name in self.list(if parent.is_empty() { "/" } else { parent })? {
            dirs.push(text.replace('\0', &name));
        }
        Ok(dirs)
    }

    /// The names in the directory at `path` in the root (sorted, at most [`MAX_EXPANSION`]);
    /// none when it is not a directory.
    fn list(&self, path: &str) -> Result<Vec<String>, CheckError> {
        let found = match self.root.lookup(path) {
            Ok(Some(found)) if found.metadata.is_dir() => found,
            Ok(_) | Err(RootError::TooManyLinks { .. }) => return Ok(Vec::new()),
            Err(error) => return Err(error.into()),
        };
        let entries = fs::read_dir(&found.host).map_err(self.io("list", &found.path))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(self.io("list", &found.path))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        names.truncate(MAX_EXPANSION);
        Ok(names)
    }

    /// The directories `/etc/ld.so.conf` names, `include` lines followed; without the file,
    /// Debian's, which includes `/etc/ld.so.conf.d/*.conf`.
    fn ld_so_conf(&self) -> Result<Vec<String>, CheckError> {
        let mut dirs = Vec::new();
        let mut seen = BTreeSet::new();
        match self.read_conf("/etc/ld.so.conf")? {
            Some(text) => {
                seen.insert("/etc/ld.so.conf".to_owned());
                self.parse_conf(&text, "/etc", 0, &mut seen, &mut dirs)?;
            }
            None => {
                self.parse_conf(
                    "include /etc/ld.so.conf.d/*.conf",
                    "/etc",
                    0,
                    &mut seen,
                    &mut dirs,
                )?;
            }
        }
        Ok(dirs)
    }

    fn parse_conf(
        &self,
        text: &str,
        base: &str,
        depth: usize,
        seen: &mut BTreeSet<String>,
        dirs: &mut Vec<String>,
    ) -> Result<(), CheckError> {
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if let Some(patterns) = line
                .strip_prefix("include")
                .filter(|rest| rest.starts_with([' ', '\t']))
            {
                if depth == MAX_INCLUDE_DEPTH {
                    continue;
                }
                for pattern in patterns.split_whitespace() {
                    let pattern = if pattern.starts_with('/') {
                        pattern.to_owned()
                    } else {
                        join(base, pattern)
                    };
                    for file in self.glob(&pattern)? {
                        if !seen.insert(file.clone()) {
                            continue;
                        }
                        if let Some(text) = self.read_conf(&file)? {
                            let base = file.rsplit_once('/').map_or("/", |(dir, _)| dir);
                            self.parse_conf(&text, base, depth + 1, seen, dirs)?;
                        }
                    }
                }
            } else if line.is_empty() || line.starts_with("hwcap") {
                continue;
            } else {
                // An old `DIR=TYPE` line names DIR; trailing slashes do not matter.
                let dir = line.split('=').next().unwrap_or_default().trim_end();
                let dir = dir.trim_end_matches('/');
                if dir.starts_with('/') {
                    push_dir(dirs, dir.to_owned());
                }
            }
        }
        Ok(())
    }

    /// The text of the regular file at `path` in the root, if there is one.
    fn read_conf(&self, path: &str) -> Result<Option<String>, CheckError> {
        let found = match self.root.lookup(path) {
            Ok(Some(found)) if found.metadata.is_file() => found,
            Ok(_) | Err(RootError::TooManyLinks { .. }) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let file = fs::File::open(&found.host).map_err(self.io("open", &found.path))?;
        let mut bytes = Vec::new();
        file.take(MAX_CONF)
            .read_to_end(&mut bytes)
            .map_err(self.io("read", &found.path))?;
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// The paths in the root matching `pattern`, whose components may hold `*` and `?` (as
    /// glob(3): sorted, hidden names only for a pattern starting with a dot).
    fn glob(&self, pattern: &str) -> Result<Vec<String>, CheckError> {
        let mut paths = vec![String::new()];
        for part in pattern.split('/').filter(|part| !part.is_empty()) {
            if !is_glob(part) {
                for path in &mut paths {
                    path.push('/');
                    path.push_str(part);
                }
                continue;
            }
            let mut next = Vec::new();
            for path in &paths {
                for name in self.list(if path.is_empty() { "/" } else { path })? {
                    if glob_match(part, &name) && (part.starts_with('.') || !name.starts_with('.'))
                    {
                        next.push(format!("{path}/{name}"));
                    }
                }
            }
            next.truncate(MAX_EXPANSION);
            paths = next;
        }
        paths.retain(|path| !path.is_empty());
        Ok(paths)
    }
}

/// Why a file found does not serve as `want`, or `None` when it does.
fn unusable(want: Want, executable: bool, kind: &Result<Option<Kind>, String>) -> Option<String> {
    let wanted = match want {
        Want::Library(wanted) => wanted,
        Want::ElfInterpreter(wanted) if executable => wanted,
        Want::ElfInterpreter(_) | Want::Executable if !executable => {
            return Some("not executable".to_owned())
        }
        Want::ElfInterpreter(_) | Want::Executable => return None,
    };
    match kind {
        Err(error) => Some(format!("not a valid ELF file: {error}")),
        Ok(None) => Some("not an ELF file".to_owned()),
        Ok(Some(kind)) if wanted.accepts(*kind) => None,
        Ok(Some(kind)) => Some(format!("{kind}, not {wanted}")),
    }
}

/// The command `env ARGUMENT` runs: the first word that is neither an option nor a
/// `NAME=VALUE` assignment (`-S` splits the rest into words, as the kernel passes it whole).
fn env_command(argument: &str) -> Option<&str> {
    let mut words = argument.split_whitespace();
    while let Some(word) = words.next() {
        if let Some(option) = word.strip_prefix('-') {
            // The options that take a separate value.
            if matches!(option, "u" | "C" | "-unset" | "-chdir") {
                words.next();
            }
            continue;
        }
        if word.contains('=') {
            continue;
        }
        return Some(word);
    }
    None
}

/// `text` with each `$NAME` or `${NAME}` that `value` knows replaced. As in glibc, a bare
/// `$NAME` counts only when followed by `/` or the end; anything else stays as written.
fn substitute(text: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
            match braced.split_once('}') {
                Some((name, tail)) => (name, tail),
                None => ("", after),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let (name, tail) = after.split_at(end);
            if tail.is_empty() || tail.starts_with('/') {
                (name, tail)
            } else {
                ("", after)
            }
        };
        match value(name).filter(|_| !name.is_empty()) {
            Some(replacement) => {
                out.push_str(&replacement);
                rest = tail;
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The slices of `release` with a content path matching one of `candidates` or its other
/// usr-merged name (`/lib/x` and `/usr/lib/x`), for `arch` (any when `None`), sorted.
fn providers(release: &Release, candidates: &[String], arch: Option<Arch>) -> Vec<SliceKey> {
    let mut paths: Vec<String> = Vec::new();
    for candidate in candidates {
        for path in [Some(candidate.clone()), merged_alias(candidate)]
            .into_iter()
            .flatten()
        {
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
    }
    let mut found = Vec::new();
    for package in release.packages.values() {
        for slice in package.slices.values() {
            let provides = slice.contents.iter().any(|(pattern, info)| {
                matches!(
                    info.kind,
                    PathKind::Copy | PathKind::Glob | PathKind::Symlink | PathKind::Text
                ) && arch.is_none_or(|arch| info.arch.allows(arch))
                    && paths.iter().any(|path| glob_match(pattern, path))
            });
            if provides {
                found.push(slice.key());
            }
        }
    }
    found
}

/// `/lib/x` for `/usr/lib/x` and the other way round, for the directories usr-merge links.
fn merged_alias(path: &str) -> Option<String> {
    let (top, rest) = path.strip_prefix('/')?.split_once('/')?;
    if top == "usr" {
        let (top, _) = rest.split_once('/')?;
        MERGED.contains(&top).then(|| format!("/{rest}"))
    } else {
        MERGED.contains(&top).then(|| format!("/usr{path}"))
    }
}

/// A path from a file (an interpreter, a library name with a `/`), made absolute: a process in
/// the root would resolve a relative one from its working directory, taken to be `/`.
fn absolute(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

fn join(dir: &str, name: &str) -> String {
    format!("{}/{name}", dir.trim_end_matches('/'))
}

/// Adds `dir` (trailing slashes dropped) unless it is there already.
fn push_dir(dirs: &mut Vec<String>, dir: String) {
    let trimmed = dir.trim_end_matches('/');
    let dir = if trimmed.is_empty() { "/" } else { trimmed };
    if !dirs.iter().any(|known| known == dir) {
        dirs.push(dir.to_owned());
    }
}
