//! What a script's `content` calls do to the root (SPEC §6.4): which paths may be read, listed
//! and written, how symlinks are followed (inside the root, each hop checked again), and how a
//! write replaces a file whole, so a failure never leaves half a file.

use fs_err as fs;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

use super::ContentHost;
use crate::digest::sha256_hex;
use crate::extract::root::{RelPath, Root};

/// Symlink hops followed for one call before giving up, as the kernel does.
const MAX_HOPS: usize = 40;

/// The size and SHA-256 of a file a script wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) size: u64,
    pub(crate) sha256: String,
}

/// The root as the scripts of one cut see it.
pub(crate) struct RootHost {
    root: Root,
    /// Paths the selection created, and their parents: files and links as `/a/b`,
    /// directories as `/a/`.
    known: BTreeSet<String>,
    /// Paths the scripts may write.
    mutable: BTreeSet<String>,
    /// Reads larger than this are refused rather than loaded.
    max_read: u64,
    changes: RefCell<BTreeMap<String, Written>>,
}

/// Which rule a path is checked against.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

impl RootHost {
    /// `created` are the paths the cut installed (directories ending in `/`); their parents
    /// are known too.
    pub(crate) fn new<'p>(
        root: Root,
        created: impl IntoIterator<Item = &'p str>,
        mutable: BTreeSet<String>,
        max_read: u64,
    ) -> RootHost {
        let mut known = BTreeSet::new();
        for path in created {
            known.insert(path.to_owned());
            let mut rest = path.trim_end_matches('/');
            while let Some((parent, _)) = rest.rsplit_once('/') {
                known.insert(format!("{parent}/"));
                rest = parent;
            }
        }
        RootHost {
            root,
            known,
            mutable,
            max_read,
            changes: RefCell::new(BTreeMap::new()),
        }
    }

    /// The files the scripts wrote so far, by their path in the root.
    pub(crate) fn changes(&self) -> BTreeMap<String, Written> {
        self.changes.borrow().clone()
    }

    fn check(&self, path: &str, access: Access) -> Result<(), String> {
        if access == Access::Write {
            return if self.mutable.contains(path) {
                Ok(())
            } else {
                Err(format!("cannot write file which is not mutable: {path}"))
            };
        }
        if self.known.contains(path) {
            return Ok(());
        }
        Err(match path.strip_suffix('/') {
            Some(file) if self.known.contains(file) => {
                format!("content is not a directory: {file}")
            }
            Some(_) => format!("cannot list directory which is not selected: {path}"),
            None if self.known.contains(&format!("{path}/")) => {
                format!("content is not a file: {path}")
            }
            None => format!("cannot read file which is not selected: {path}"),
        })
    }

    /// Checks `path` and follows it while it is a symlink, checking each hop: the in-root path
    /// of what is really there (or of nothing, when it does not exist).
    fn real_path(&self, path: &str, access: Access) -> Result<String, String> {
        let mut current = path.to_owned();
        for _ in 0..MAX_HOPS {
            self.check(&current, access)?;
            let Some(rel) = RelPath::new(current.trim_end_matches('/')) else {
                // The root itself.
                return Ok(current);
            };
            let metadata = self
                .root
                .metadata(&rel)
                .map_err(|error| format!("{current}: {error}"))?;
            if !metadata.is_some_and(|found| found.file_type().is_symlink()) {
                return Ok(current);
            }
            let host = self
                .root
                .host_path(&rel)
                .map_err(|error| format!("{current}: {error}"))?;
            let target = fs::read_link(&host)
                .map_err(|error| format!("readlink {current}: {}", os_message(&error)))?;
            let target = target.to_string_lossy();
            let joined = if target.starts_with('/') {
                target.into_owned()
            } else {
                let parent = current
                    .trim_end_matches('/')
                    .rsplit_once('/')
                    .map_or("", |(parent, _)| parent);
                format!("{parent}/{target}")
            };
            let trailing = if current.ends_with('/') { "/" } else { "" };
            current = clean(&joined);
            if current != "/" {
                current.push_str(trailing);
            }
        }
        Err(format!("too many levels of symbolic links: {path}"))
    }

    fn rel(path: &str) -> Result<RelPath, String> {
        RelPath::new(path.trim_end_matches('/')).ok_or_else(|| {
            format!("content path is the root directory or not a plain path: {path}")
        })
    }
}

impl ContentHost for RootHost {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        let clean = absolute(path)?;
        let real = self.real_path(&clean, Access::Read)?;
        let host = self
            .root
            .host_path(&Self::rel(&real)?)
            .map_err(|error| format!("{path}: {error}"))?;
        let file = fs::File::open(&host)
            .map_err(|error| format!("open {path}: {}", os_message(&error)))?;
        let metadata = file
            .metadata()
            .map_err(|error| format!("read {path}: {}", os_message(&error)))?;
        if metadata.is_dir() {
            return Err(format!("read {path}: is a directory"));
        }
        if metadata.len() > self.max_read {
            return Err(format!(
                "read {path}: the file has {} bytes, more than a script may read ({} MiB)",
                metadata.len(),
                self.max_read >> 20
            ));
        }
        let mut bytes = Vec::new();
        file.take(self.max_read + 1)
            .read_to_end(&mut bytes)
            .map_err(|error| format!("read {path}: {}", os_message(&error)))?;
        Ok(bytes)
    }

    fn write(&self, path: &str, data: &[u8]) -> Result<(), String> {
        let clean = absolute(path)?;
        let real = self.real_path(&clean, Access::Write)?;
        let rel = Self::rel(&real)?;
        let host = self
            .root
            .host_path(&rel)
            .map_err(|error| format!("{path}: {error}"))?;
        let mode = match fs::symlink_metadata(&host) {
            Ok(metadata) if metadata.is_file() && metadata.nlink() > 1 => {
                return Err(format!("cannot mutate a hard link: {clean}"));
            }
            Ok(metadata) if metadata.is_file() => metadata.permissions().mode() & 0o7777,
            Ok(_) => return Err(format!("open {path}: is a directory")),
            Err(_) => 0o644,
        };
        let written = replace_file(&host, data, mode)
            .map_err(|error| format!("write {path}: {}", os_message(&error)))?;
        self.changes.borrow_mut().insert(real, written);
        Ok(())
    }

    fn list(&self, path: &str) -> Result<Vec<String>, String> {
        let mut clean = absolute(path)?;
        if !clean.ends_with('/') {
            clean.push('/');
        }
        let real = self.real_path(&clean, Access::Read)?;
        let dir = match RelPath::new(real.trim_end_matches('/')) {
            Some(rel) => self
                .root
                .host_path(&rel)
                .map_err(|error| format!("{clean}: {error}"))?,
            None => self.root.dir().to_owned(),
        };
        let entries =
            fs::read_dir(&dir).map_err(|error| format!("open {clean}: {}", os_message(&error)))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|error| format!("read {clean}: {}", os_message(&error)))?;
            let name = entry.file_name().into_string().map_err(|name| {
                format!(
                    "cannot list {clean}: the name {} is not UTF-8 text",
                    name.to_string_lossy()
                )
            })?;
            let is_dir = entry
                .file_type()
                .map_err(|error| format!("read {clean}: {}", os_message(&error)))?
                .is_dir();
            names.push((name, is_dir));
        }
        names.sort();
        Ok(names
            .into_iter()
            .map(|(name, is_dir)| if is_dir { format!("{name}/") } else { name })
            .collect())
    }
}

/// The path cleaned as Go's `filepath.Clean` does, keeping a trailing `/`; relative paths are
/// refused with chisel's message.
pub(super) fn absolute(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err(format!("content path must be absolute, got: {path}"));
    }
    let mut cleaned = clean(path);
    if path.ends_with('/') && cleaned != "/" {
        cleaned.push('/');
    }
    Ok(cleaned)
}

/// `/`-rooted lexical cleaning: no empty, `.` or `..` components, `..` stopping at the root.
pub(super) fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The OS's description of an error without Rust's "(os error N)" suffix, as Go prints it.
fn os_message(error: &io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_lowercase(),
        None => text,
    }
}

/// Writes `data` to a new file beside `host` and renames it over `host`, so the path holds
/// either the old content or the new, never a part.
fn replace_file(host: &std::path::Path, data: &[u8], mode: u32) -> io::Result<Written> {
    let name = host
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = host.with_file_name(format!(".{name}.kerf-{}", std::process::id()));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)?;
        file.write_all(data)?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.sync_data()?;
        fs::rename(&temporary, host)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result?;
    Ok(Written {
        size: data.len() as u64,
        sha256: sha256_hex(data),
    })
}
