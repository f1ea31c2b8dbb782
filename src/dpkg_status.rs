//! `/var/lib/dpkg/status.d/`: the package database of a distroless root, so that scanners see
//! what a cut installed.
//!
//! A chiselled root has no `/var/lib/dpkg/status`, and most scanners read nothing else. Google's
//! distroless images solved this with one file per package in `status.d/`: the package's own
//! control stanza with `Status: install ok installed`, which Trivy, Syft and Grype read, and
//! `status.d/<package>.md5sums`, which Trivy reads to learn which files belong to which package.
//! kerf writes both for every package a cut took files from.
//!
//! The md5sums list the regular files the root holds from that package with their content as it
//! is on disk. A file extracted unchanged from that path of that package alone takes the MD5 of
//! the package's own `md5sums` (dpkg copies that list the same way, and it saves reading back
//! and hashing tens of megabytes); anything else is hashed from the disk: a file a mutate script
//! rewrote, one a slice made or copied from another path, a conffile (packages leave those out
//! of their list), a file several packages claim. Re-cutting
//! into the same root keeps the directory true to the root: the stanzas of packages this cut did
//! not take are kept, every listed file is hashed again, and files no longer there are dropped.
//! Each file is written under a temporary name and renamed, so a reader never sees half of one.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufReader, Read as _};
use std::path::{Path, PathBuf};

use md5::{Digest as _, Md5};

use crate::archive::control::{paragraphs, ControlError};
use crate::archive::select::ChosenPackage;
use crate::deb::DebError;
use crate::digest::hex;
use crate::extract::root::{RelPath, Root, RootError};
use crate::extract::{Installed, InstalledKind};
use crate::release::valid_package_name;
use crate::release::PathKind;
use crate::report::Reporter;
use crate::resolve::Selection;

/// Where the stanzas go, as distroless puts them.
pub(crate) const STATUS_DIR: &str = "/var/lib/dpkg/status.d";

/// The line dpkg writes for an installed package.
const STATUS_LINE: &str = "Status: install ok installed";

/// Files hashed at once; reading back a large cut's 60 MB is I/O and MD5 on two cores.
const HASH_THREADS: usize = 4;

/// What a cut installed from one package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CutPackage {
    pub(crate) name: String,
    /// As the archive's index gives it; the control file must agree.
    pub(crate) version: String,
    /// The package's `control` file, as in its `.deb`.
    pub(crate) control: String,
    /// In-root paths (`/usr/bin/x`) of the regular files the cut installed from it.
    pub(crate) files: BTreeSet<String>,
    /// MD5s of some of `files`, from the package's own `md5sums` (what dpkg copies into its
    /// database): for files the cut extracted unchanged from that very path of this package
    /// alone. The rest are hashed from the disk.
    pub(crate) known_md5: BTreeMap<String, String>,
}

/// What [`update`] left in `status.d`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Written {
    /// Packages with a stanza, this cut's and earlier cuts'.
    pub(crate) packages: usize,
    /// md5sums lines over all packages.
    pub(crate) files: usize,
}

/// Why `status.d` could not be written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StatusError {
    #[error("package \"{package}\": cannot read the control file of {}: {source}", deb.display())]
    Deb {
        package: String,
        deb: PathBuf,
        source: DebError,
    },
    #[error("package \"{package}\": its control file {problem}")]
    Control { package: String, problem: String },
    #[error("package \"{package}\": its control file, {source}")]
    ControlSyntax {
        package: String,
        source: ControlError,
    },
    #[error("package \"{package}\": its control file says {field} {found:?}, the archive's index says {expected:?}")]
    Mismatch {
        package: String,
        field: &'static str,
        found: String,
        expected: String,
    },
    #[error("{path}: line {line}: expected \"MD5SUM  PATH\" (32 hex digits, two spaces, a path), found {found:?}")]
    Md5sums {
        path: String,
        line: usize,
        found: String,
    },
    #[error("{STATUS_DIR}: {source}")]
    Root {
        #[from]
        source: RootError,
    },
    /// From `fs_err`, whose message names the path.
    #[error(transparent)]
    File(#[from] std::io::Error),
    #[error("{}: {problem}", path.display())]
    NotADirectory {
        path: PathBuf,
        problem: &'static str,
    },
}

/// The package's control file and md5sums file, read from its `.deb` (the `control.tar` comes
/// before the data, so this reads only the start of the file).
pub(crate) fn read_control(
    package: &str,
    deb: &Path,
) -> Result<(String, Option<String>), StatusError> {
    let fail = |source| StatusError::Deb {
        package: package.to_owned(),
        deb: deb.to_owned(),
        source,
    };
    let file = fs_err::File::open(deb)?;
    crate::deb::DebReader::new(BufReader::new(file))
        .and_then(crate::deb::DebReader::control_and_md5sums)
        .map_err(fail)
}

/// Whether the root already has a `status.d`: a later cut keeps it up to date even without
/// `--dpkg-status`, since a stale package list is worse than none.
pub(crate) fn present(root: &Root) -> bool {
    RelPath::new(STATUS_DIR)
        .and_then(|rel| root.metadata(&rel).ok().flatten())
        .is_some_and(|metadata| metadata.is_dir())
}

/// Writes the stanza and md5sums of every package in `packages`, and brings those of packages
/// already in `status.d` in step with the root.
pub(crate) fn update(root: &Root, packages: &[CutPackage]) -> Result<Written, StatusError> {
    let mut stanzas: BTreeMap<String, String> = BTreeMap::new();
    let mut listed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for package in packages {
        stanzas.insert(package.name.clone(), stanza(package)?);
    }
    let dir = ensure_dir(root)?;
    let existing = read_existing(&dir)?;
    for (name, entry) in existing {
        if let Some(text) = entry.stanza {
            stanzas.entry(name.clone()).or_insert(text);
        }
        listed.entry(name).or_default().extend(entry.files);
    }
    for package in packages {
        listed
            .entry(package.name.clone())
            .or_default()
            .extend(package.files.iter().cloned());
    }
    let mut known: BTreeMap<&str, &str> = BTreeMap::new();
    for package in packages {
        for (path, sum) in &package.known_md5 {
            known.insert(path, sum);
        }
    }
    let unknown: BTreeSet<&str> = listed
        .values()
        .flatten()
        .map(String::as_str)
        .filter(|path| !known.contains_key(path))
        .collect();
    let mut sums: BTreeMap<&str, String> = hash_files(root, &unknown)?;
    for (path, sum) in known {
        sums.insert(path, sum.to_owned());
    }

    let mut written = Written::default();
    for (name, stanza) in &stanzas {
        let mut md5sums = String::new();
        if let Some(files) = listed.get(name) {
            for path in files {
                if let Some(sum) = sums.get(path.as_str()) {
                    md5sums.push_str(sum);
                    md5sums.push_str("  ");
                    md5sums.push_str(path.trim_start_matches('/'));
                    md5sums.push('\n');
                    written.files += 1;
                }
            }
        }
        write_if_changed(&dir, name, stanza.as_bytes())?;
        write_if_changed(&dir, &format!("{name}.md5sums"), md5sums.as_bytes())?;
        written.packages += 1;
    }
    Ok(written)
}

/// The control stanza with dpkg's status line after `Package:`, checked against the index.
fn stanza(package: &CutPackage) -> Result<String, StatusError> {
    let name = package.name.as_str();
    let problem = |problem: &str| StatusError::Control {
        package: name.to_owned(),
        problem: problem.to_owned(),
    };
    if !valid_package_name(name) {
        return Err(problem(
            "belongs to a package whose name is not a valid file name",
        ));
    }
    let parsed = paragraphs(&package.control)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| StatusError::ControlSyntax {
            package: name.to_owned(),
            source,
        })?;
    let [paragraph] = parsed.as_slice() else {
        return Err(problem(&format!(
            "has {} stanzas, expected exactly one",
            parsed.len()
        )));
    };
    for (field, expected) in [("Package", name), ("Version", package.version.as_str())] {
        let found = paragraph.get(field).unwrap_or_default();
        if found != expected {
            return Err(StatusError::Mismatch {
                package: name.to_owned(),
                field,
                found: found.into_owned(),
                expected: expected.to_owned(),
            });
        }
    }
    if paragraph.get("Status").is_some() {
        return Err(problem(
            "has a Status field, which no package's control file has",
        ));
    }
    // The text as the package wrote it, comments and blank lines aside, with the status line
    // where dpkg puts it.
    let mut out = String::with_capacity(package.control.len() + STATUS_LINE.len() + 1);
    for line in package.control.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        out.push_str(line.trim_end_matches('\r'));
        out.push('\n');
        if line
            .split_once(':')
            .is_some_and(|(field, _)| field.eq_ignore_ascii_case("Package"))
        {
            out.push_str(STATUS_LINE);
            out.push('\n');
        }
    }
    Ok(out)
}

/// `status.d` on the host, created (with its parents, 0755) if missing.
fn ensure_dir(root: &Root) -> Result<PathBuf, StatusError> {
    let rel = RelPath::new(STATUS_DIR).ok_or_else(|| StatusError::Control {
        package: String::new(),
        problem: "path is not plain".to_owned(),
    })?;
    for path in rel.ancestors().into_iter().chain([rel.clone()]) {
        match root.metadata(&path)? {
            Some(metadata) if metadata.is_dir() => {}
            // A symlink (`/var/lib -> ...`) is followed by the next lookup; anything else is
            // replaced by nothing here: `host_path` reports it.
            Some(_) => {}
            None => root.make_dir(&path, 0o755, false)?,
        }
    }
    let found = root
        .lookup(STATUS_DIR)?
        .filter(|found| found.metadata.is_dir())
        .ok_or_else(|| StatusError::NotADirectory {
            path: root.dir().join(STATUS_DIR.trim_start_matches('/')),
            problem: "is not a directory, so no package stanzas can be written there",
        })?;
    Ok(found.host)
}

/// What an earlier cut left for one package.
#[derive(Default)]
struct Existing {
    stanza: Option<String>,
    files: BTreeSet<String>,
}

/// The stanzas and md5sums already in `status.d`, by package. Names that are not a package's
/// (and leftover temporary files, which start with a dot) are left alone.
fn read_existing(dir: &Path) -> Result<BTreeMap<String, Existing>, StatusError> {
    let mut existing: BTreeMap<String, Existing> = BTreeMap::new();
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let path = entry.path();
        if !entry.file_type()?.is_file() {
            continue;
        }
        if let Some(name) = file_name.strip_suffix(".md5sums") {
            if !valid_package_name(name) {
                continue;
            }
            let text = fs_err::read_to_string(&path)?;
            let files = parse_md5sums(&text).map_err(|(line, found)| StatusError::Md5sums {
                path: format!("{STATUS_DIR}/{file_name}"),
                line,
                found,
            })?;
            existing.entry(name.to_owned()).or_default().files = files;
        } else if valid_package_name(&file_name) {
            let text = fs_err::read_to_string(&path)?;
            existing.entry(file_name).or_default().stanza = Some(text);
        }
    }
    Ok(existing)
}

/// The in-root paths (`/usr/bin/x`) an md5sums file lists; on a bad line, its number and text.
fn parse_md5sums(text: &str) -> Result<BTreeSet<String>, (usize, String)> {
    let mut files = BTreeSet::new();
    for (index, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let parsed = line
            .split_once("  ")
            .filter(|(sum, path)| {
                sum.len() == 32
                    && sum.bytes().all(|byte| byte.is_ascii_hexdigit())
                    && !path.is_empty()
            })
            .and_then(|(_, path)| RelPath::new(path));
        match parsed {
            Some(path) => files.insert(path.as_str().to_owned()),
            None => return Err((index + 1, line.chars().take(120).collect())),
        };
    }
    Ok(files)
}

/// A package's own `md5sums` as in-root path → MD5; lines that are not `MD5  PATH` are left
/// out (their files are then hashed from the disk).
fn parse_package_md5sums(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let (sum, path) = line.split_once("  ")?;
            let valid = sum.len() == 32 && sum.bytes().all(|byte| byte.is_ascii_hexdigit());
            let path = RelPath::new(path).filter(|_| valid)?;
            Some((path.as_str().to_owned(), sum.to_ascii_lowercase()))
        })
        .collect()
}

/// MD5 (lowercase hex) of each path that is a regular file in the root now; paths that are not
/// (removed, or replaced by a link or a directory) are left out.
fn hash_files<'p>(
    root: &Root,
    paths: &BTreeSet<&'p str>,
) -> Result<BTreeMap<&'p str, String>, StatusError> {
    let paths: Vec<&str> = paths.iter().copied().collect();
    let chunk = paths.len().div_ceil(HASH_THREADS).max(1);
    let results = std::thread::scope(|scope| {
        let workers: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|path| Ok((*path, md5_of(root, path)?)))
                        .collect::<Result<Vec<_>, StatusError>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect::<Vec<_>>()
    });
    let mut sums = BTreeMap::new();
    for part in results {
        for (path, sum) in part? {
            if let Some(sum) = sum {
                sums.insert(path, sum);
            }
        }
    }
    Ok(sums)
}

/// The MD5 of the regular file at `path` in the root, `None` if it is not one.
fn md5_of(root: &Root, path: &str) -> Result<Option<String>, StatusError> {
    let Some(rel) = RelPath::new(path) else {
        return Ok(None);
    };
    let host = root.host_path(&rel)?;
    match fs_err::symlink_metadata(&host) {
        Ok(metadata) if metadata.is_file() => {}
        Ok(_) => return Ok(None),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    }
    let mut file = fs_err::File::open(&host)?;
    let mut hasher = Md5::new();
    let mut buffer = vec![0u8; 256 << 10];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(Some(hex(&hasher.finalize())))
}

/// Writes `dir/name` through a temporary file and a rename, unless it already holds `content`.
fn write_if_changed(dir: &Path, name: &str, content: &[u8]) -> Result<(), StatusError> {
    let path = dir.join(name);
    if fs_err::read(&path).is_ok_and(|existing| existing == content) {
        return Ok(());
    }
    let temporary = dir.join(format!(".{name}.kerf-tmp"));
    {
        use fs_err::os::unix::fs::OpenOptionsExt as _;
        use std::io::Write as _;
        let mut file = fs_err::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&temporary)?;
        file.write_all(content)?;
    }
    fs_err::rename(&temporary, &path)?;
    Ok(())
}

impl StatusError {
    /// Whether the package (that is, the archive) is at fault (exit status 1) rather than the
    /// machine.
    pub(crate) fn is_user_error(&self) -> bool {
        matches!(
            self,
            StatusError::Deb { .. }
                | StatusError::Control { .. }
                | StatusError::ControlSyntax { .. }
                | StatusError::Mismatch { .. }
                | StatusError::Md5sums { .. }
        )
    }
}

/// The cut's hook: the packages the cut took files from, each with its control file (from the
/// `.deb` in the cache, `debs`) and its regular files, written into `status.d`.
pub(crate) fn write_for_cut(
    root: &Root,
    selection: &Selection<'_>,
    chosen: &[ChosenPackage],
    debs: &BTreeMap<String, PathBuf>,
    installed: &BTreeMap<String, Installed>,
    reporter: &dyn Reporter,
) -> Result<Written, StatusError> {
    reporter.step(&format!("Writing package stanzas at {STATUS_DIR}..."));
    // Paths whose content is not the package's file at that path: made by the slice, or
    // copied from another path.
    let made: BTreeSet<&str> = selection
        .paths()
        .filter(|selected| match selected.info.kind {
            PathKind::Copy => !selected.info.info.is_empty() && selected.info.info != selected.path,
            PathKind::Glob => false,
            _ => true,
        })
        .map(|selected| selected.path)
        .collect();
    let mut files: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    // Files whose content is, unchanged, the package's own file at that path: (package, path).
    let mut as_shipped: BTreeSet<(&str, &str)> = BTreeSet::new();
    for item in installed.values() {
        let InstalledKind::File { final_sha256, .. } = &item.kind else {
            continue;
        };
        let owners: BTreeSet<&str> = item
            .slices
            .iter()
            .map(|slice| slice.package.as_str())
            .collect();
        for owner in &owners {
            files.entry(owner).or_default().insert(item.path.clone());
        }
        if let ([owner], None, false) = (
            owners.iter().copied().collect::<Vec<_>>().as_slice(),
            final_sha256,
            made.contains(item.path.as_str()),
        ) {
            as_shipped.insert((owner, item.path.as_str()));
        }
    }
    let mut packages = Vec::with_capacity(chosen.len());
    for package in chosen {
        let name = package.info.name.as_str();
        let Some(deb) = debs.get(name) else {
            continue;
        };
        let (control, md5sums) = read_control(name, deb)?;
        let known_md5 = md5sums
            .as_deref()
            .map(parse_package_md5sums)
            .unwrap_or_default()
            .into_iter()
            .filter(|(path, _)| as_shipped.contains(&(name, path.as_str())))
            .collect();
        packages.push(CutPackage {
            name: name.to_owned(),
            version: package.info.version.clone(),
            control,
            files: files.remove(name).unwrap_or_default(),
            known_md5,
        });
    }
    if !crate::sbom::os_release::exists(root) {
        reporter.warning(&format!(
            "the root has no /etc/os-release: scanners need it to know the distribution of the packages in {STATUS_DIR} (cut base-files_release-info too)"
        ));
    }
    update(root, &packages)
}

#[cfg(test)]
mod tests;
