//! Writing below the root directory, and nowhere else.
//!
//! Every path is resolved the way a process chrooted into the root would see it: symlinks met
//! on the way are followed, but `..` stops at the root and an absolute target starts again from
//! the root. So base-files' `/lib -> usr/lib` works as on a real system, while a link that
//! points at `/etc` or `../../..` can never lead a write out of the root (chisel follows such
//! links on the host).
//!
//! std's filesystem calls are used here, not fs-err's: every error is given the in-root path
//! by [`Root`] itself, and the host path fs-err would add only repeats it, in a form the user
//! did not write.
#![expect(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "errors here name the in-root path themselves (see the module doc)"
)]

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{symlink, DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// How many symlinks one resolution may follow, as the kernel's limit.
const MAX_LINKS: usize = 40;

/// A path inside the root: absolute-looking (`/usr/bin/x`), no `.` or `..` or empty components.
/// This is the only way a tar name or a slice path becomes something kerf writes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct RelPath(String);

impl RelPath {
    /// Cleans an in-root path (a slice's, or a package's once [`super::entry_path`] made it
    /// one): drops `.` parts and a trailing `/`, refuses NUL, control characters, `..` and
    /// empty names. `None` for anything that is not a plain path.
    pub(crate) fn new(path: &str) -> Option<RelPath> {
        let mut clean = String::with_capacity(path.len() + 1);
        for part in path.split('/') {
            match part {
                "" | "." => {}
                ".." => return None,
                part if part.chars().any(|c| c == '\0' || c.is_control()) => return None,
                part => {
                    clean.push('/');
                    clean.push_str(part);
                }
            }
        }
        if clean.is_empty() {
            return None;
        }
        Some(RelPath(clean))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn parent(&self) -> Option<RelPath> {
        let (parent, _) = self.0.rsplit_once('/')?;
        (!parent.is_empty()).then(|| RelPath(parent.to_owned()))
    }

    /// Every ancestor, outermost first (`/a`, `/a/b` for `/a/b/c`).
    pub(crate) fn ancestors(&self) -> Vec<RelPath> {
        let mut ancestors = Vec::new();
        let mut current = self.parent();
        while let Some(path) = current {
            current = path.parent();
            ancestors.push(path);
        }
        ancestors.reverse();
        ancestors
    }

    fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|part| !part.is_empty())
    }
}

/// Why something could not be written below the root.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RootError {
    #[error("cannot {action} {path} in the root {root}: {source}")]
    Io {
        action: &'static str,
        path: String,
        root: PathBuf,
        source: io::Error,
    },
    #[error("cannot {action} the root directory {root}: {source}")]
    RootDir {
        action: &'static str,
        root: PathBuf,
        source: io::Error,
    },
    #[error("cannot resolve {path} in the root: more than {MAX_LINKS} symlinks")]
    TooManyLinks { path: String },
    #[error("cannot create {path}: {parent} is not a directory")]
    NotADirectory { path: String, parent: String },
}

/// The root directory of a cut.
#[derive(Debug)]
pub(crate) struct Root {
    dir: PathBuf,
}

/// How a walk treats a name that is not there, or not a directory although more follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Walk {
    /// Resolving where to create something: a missing name is taken as it is (it will be
    /// created), a non-directory on the way is an error.
    Parent,
    /// Looking up what exists: either ends the walk with nothing found.
    Lookup,
}

/// What [`Root::lookup`] found: the in-root path with every symlink resolved, where that is on
/// the host, and what is there (never a symlink).
#[derive(Debug)]
pub(crate) struct Found {
    pub(crate) path: String,
    pub(crate) host: PathBuf,
    pub(crate) metadata: std::fs::Metadata,
}

impl Root {
    /// Opens an existing root directory, for reading.
    pub(crate) fn open(dir: &Path) -> Result<Root, RootError> {
        let canonical = fs::canonicalize(dir).map_err(|source| RootError::RootDir {
            action: "open",
            root: dir.to_owned(),
            source,
        })?;
        if !canonical.is_dir() {
            return Err(RootError::RootDir {
                action: "open",
                root: dir.to_owned(),
                source: io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        Ok(Root { dir: canonical })
    }

    /// Opens (creating if needed) the root directory.
    pub(crate) fn create(dir: &Path) -> Result<Root, RootError> {
        fs::create_dir_all(dir).map_err(|source| RootError::RootDir {
            action: "create",
            root: dir.to_owned(),
            source,
        })?;
        let dir = fs::canonicalize(dir).map_err(|source| RootError::RootDir {
            action: "open",
            root: dir.to_owned(),
            source,
        })?;
        Ok(Root { dir })
    }

    /// The root's directory on the host.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn io(&self, action: &'static str, path: &RelPath) -> impl FnOnce(io::Error) -> RootError + '_ {
        let path = path.as_str().to_owned();
        move |source| RootError::Io {
            action,
            path,
            root: self.dir.clone(),
            source,
        }
    }

    /// Where `path` really is on the host: every symlink before the last component is followed
    /// inside the root; the last component itself is not followed.
    pub(crate) fn host_path(&self, path: &RelPath) -> Result<PathBuf, RootError> {
        let resolved = self.resolve_parent(path)?;
        Ok(self.dir.join(resolved.trim_start_matches('/')))
    }

    /// The in-root path of `path`'s parent with symlinks resolved, joined with the last name.
    fn resolve_parent(&self, path: &RelPath) -> Result<String, RootError> {
        let mut components: Vec<&str> = path.components().collect();
        let last = components.pop().unwrap_or_default();
        // A walk that is not `Walk::Lookup` goes on through missing names and never gives `None`.
        let resolved = self
            .walk(path.as_str(), &components, Walk::Parent)?
            .unwrap_or_default();
        Ok(format!("{resolved}/{last}"))
    }

    /// Follows `components` from the root as a chrooted process would: symlinks are followed
    /// (an absolute target starts again at the root), `..` goes up but never above the root.
    /// Returns the in-root path reached (`""` is the root itself), or `None` for a lookup that
    /// meets a missing name or a non-directory it would have to go through.
    fn walk(
        &self,
        path: &str,
        components: &[&str],
        mode: Walk,
    ) -> Result<Option<String>, RootError> {
        let mut resolved = String::new();
        let mut pending: Vec<String> = components
            .iter()
            .rev()
            .map(|part| (*part).to_owned())
            .collect();
        let mut links = 0;
        while let Some(part) = pending.pop() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    // `..` at the root stays at the root, as in a chroot.
                    if let Some(at) = resolved.rfind('/') {
                        resolved.truncate(at);
                    }
                    continue;
                }
                _ => {}
            }
            let candidate = format!("{resolved}/{part}");
            let host = self.dir.join(candidate.trim_start_matches('/'));
            match fs::symlink_metadata(&host) {
                Ok(metadata) if metadata.file_type().is_symlink() => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(RootError::TooManyLinks {
                            path: path.to_owned(),
                        });
                    }
                    let target = fs::read_link(&host).map_err(|source| RootError::Io {
                        action: "read the link",
                        path: path.to_owned(),
                        root: self.dir.clone(),
                        source,
                    })?;
                    let target = target.to_string_lossy().into_owned();
                    if target.starts_with('/') {
                        resolved.clear();
                    }
                    pending.extend(target.split('/').rev().map(str::to_owned));
                }
                Ok(metadata) if !metadata.is_dir() => match mode {
                    Walk::Parent => {
                        return Err(RootError::NotADirectory {
                            path: path.to_owned(),
                            parent: candidate,
                        })
                    }
                    // Anything after a non-directory, even a trailing `/`, is ENOTDIR.
                    Walk::Lookup if !pending.is_empty() => return Ok(None),
                    Walk::Lookup => resolved = candidate,
                },
                Ok(_) => resolved = candidate,
                Err(_) if mode == Walk::Lookup => return Ok(None),
                Err(_) => resolved = candidate,
            }
        }
        Ok(Some(resolved))
    }

    /// Where `path` (absolute or not, `..` allowed) leads inside the root with every symlink
    /// followed, the last one too, and what is there; `None` when nothing is.
    pub(crate) fn lookup(&self, path: &str) -> Result<Option<Found>, RootError> {
        let components: Vec<&str> = path.split('/').collect();
        let Some(resolved) = self.walk(path, &components, Walk::Lookup)? else {
            return Ok(None);
        };
        let host = self.dir.join(resolved.trim_start_matches('/'));
        match fs::symlink_metadata(&host) {
            Ok(metadata) => Ok(Some(Found {
                path: if resolved.is_empty() {
                    "/".to_owned()
                } else {
                    resolved
                },
                host,
                metadata,
            })),
            Err(_) => Ok(None),
        }
    }

    /// What is at `path` (not following a final symlink), if anything.
    pub(crate) fn metadata(&self, path: &RelPath) -> Result<Option<std::fs::Metadata>, RootError> {
        let host = self.host_path(path)?;
        match fs::symlink_metadata(&host) {
            Ok(metadata) => Ok(Some(metadata)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(self.io("inspect", path)(error)),
        }
    }

    /// Creates a directory with exactly `mode` (setgid and sticky included), or, when one is
    /// there already, leaves it as it is unless `force_mode`.
    pub(crate) fn make_dir(
        &self,
        path: &RelPath,
        mode: u32,
        force_mode: bool,
    ) -> Result<(), RootError> {
        let host = self.host_path(path)?;
        match fs::symlink_metadata(&host) {
            Ok(metadata) if metadata.is_dir() => {
                if force_mode && metadata.permissions().mode() & 0o7777 != mode {
                    fs::set_permissions(&host, std::fs::Permissions::from_mode(mode))
                        .map_err(self.io("set the mode of", path))?;
                }
                return Ok(());
            }
            Ok(_) => self.remove(path)?,
            Err(_) => {}
        }
        std::fs::DirBuilder::new()
            .mode(mode)
            .create(&host)
            .map_err(self.io("create the directory", path))?;
        // mkdir applies the umask and drops setgid; say the mode again.
        fs::set_permissions(&host, std::fs::Permissions::from_mode(mode))
            .map_err(self.io("set the mode of", path))
    }

    /// Writes a regular file with exactly `mode`, replacing whatever was at the path (a symlink
    /// there is replaced, not written through). Returns the size and SHA-256 of what was written.
    /// A regular file already there with the same content is left alone (only its mode is
    /// set), so a cut that extends a root rewrites nothing it does not change.
    pub(crate) fn write_file(
        &self,
        path: &RelPath,
        content: &mut dyn Read,
        mode: u32,
    ) -> Result<Written, RootError> {
        let host = self.host_path(path)?;
        // The start of the new content, read to compare it with what is there.
        let mut head: Vec<u8> = Vec::new();
        if let Ok(metadata) = fs::symlink_metadata(&host) {
            if !metadata.is_file() || metadata.nlink() > 1 {
                // Never write through a link into another file.
                self.remove(path)?;
            } else {
                // One byte more than the file holds tells a longer content apart.
                (&mut *content)
                    .take(metadata.len() + 1)
                    .read_to_end(&mut head)
                    .map_err(self.io("write", path))?;
                if head.len() as u64 == metadata.len()
                    && fs::read(&host).is_ok_and(|existing| existing == head)
                {
                    if metadata.permissions().mode() & 0o7777 != mode {
                        fs::set_permissions(&host, std::fs::Permissions::from_mode(mode))
                            .map_err(self.io("set the mode of", path))?;
                    }
                    return Ok(Written {
                        size: head.len() as u64,
                        sha256: crate::digest::sha256_hex(&head),
                    });
                }
            }
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&host)
            .map_err(self.io("create the file", path))?;
        let mut hashing = HashingWriter::new(&mut file, Hasher::new(&[Algorithm::Sha256]));
        let size = io::copy(&mut head.as_slice().chain(content), &mut hashing)
            .map_err(self.io("write", path))?;
        let sha256 = hashing.finish().1.sha256_hex().expect("asked for SHA-256");
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(self.io("set the mode of", path))?;
        Ok(Written { size, sha256 })
    }

    /// Replaces the file at `path` whole: the content goes to a temporary file beside it,
    /// which is renamed over it, so a reader (or a cut killed half-way) sees the old file or the
    /// new one, never part of one. The temporary name is fixed (`.NAME.kerf-new`), so what a
    /// killed cut left there is replaced, and renamed away, by the next.
    pub(crate) fn replace_file(
        &self,
        path: &RelPath,
        content: &[u8],
        mode: u32,
    ) -> Result<(), RootError> {
        use std::io::Write as _;
        let host = self.host_path(path)?;
        let name = host
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temporary = host.with_file_name(format!(".{name}.kerf-new"));
        // Whatever is there (a killed cut's file, or a link planted to write through) goes
        // first, and the new file is created exclusively: nothing outside the root is written.
        match fs::remove_file(&temporary) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                return Err(self.io("remove the temporary file for", path)(error));
            }
            _ => {}
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)
            .map_err(self.io("create a temporary file for", path))?;
        file.write_all(content)
            .and_then(|()| file.set_permissions(std::fs::Permissions::from_mode(mode)))
            .and_then(|()| file.sync_all())
            .map_err(self.io("write", path))?;
        if fs::symlink_metadata(&host).is_ok_and(|metadata| metadata.is_dir()) {
            self.remove(path)?;
        }
        fs::rename(&temporary, &host).map_err(self.io("replace", path))
    }

    /// Creates a symlink; an existing one with the same target is kept.
    pub(crate) fn symlink(&self, path: &RelPath, target: &str) -> Result<(), RootError> {
        let host = self.host_path(path)?;
        if let Ok(metadata) = fs::symlink_metadata(&host) {
            if metadata.file_type().is_symlink()
                && fs::read_link(&host).is_ok_and(|existing| existing == Path::new(target))
            {
                return Ok(());
            }
            self.remove(path)?;
        }
        symlink(target, &host).map_err(self.io("create the symlink", path))
    }

    /// Makes `path` a hard link to `existing`, both inside the root.
    pub(crate) fn hard_link(&self, path: &RelPath, existing: &RelPath) -> Result<(), RootError> {
        let source = self.host_path(existing)?;
        let host = self.host_path(path)?;
        if fs::symlink_metadata(&host).is_ok() {
            self.remove(path)?;
        }
        fs::hard_link(&source, &host).map_err(self.io("create the hard link", path))
    }

    /// Removes a file, a symlink or an empty directory.
    pub(crate) fn remove(&self, path: &RelPath) -> Result<(), RootError> {
        let host = self.host_path(path)?;
        let metadata = fs::symlink_metadata(&host).map_err(self.io("remove", path))?;
        if metadata.is_dir() {
            fs::remove_dir(&host).map_err(self.io("remove", path))
        } else {
            fs::remove_file(&host).map_err(self.io("remove", path))
        }
    }
}

use std::os::unix::fs::MetadataExt as _;

use crate::digest::{Algorithm, Hasher, HashingWriter};

/// The size and SHA-256 (lowercase hex) of a file kerf wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) size: u64,
    pub(crate) sha256: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(path: &str) -> RelPath {
        RelPath::new(path).unwrap()
    }

    #[test]
    fn rel_paths_are_clean() {
        assert_eq!(rel("./usr/bin/").as_str(), "/usr/bin");
        assert_eq!(rel("/a//b/./c").as_str(), "/a/b/c");
        assert_eq!(RelPath::new("./../etc/passwd"), None);
        assert_eq!(RelPath::new("/a/../b"), None);
        assert_eq!(RelPath::new("./"), None);
        assert_eq!(RelPath::new("a\0b"), None);
        assert_eq!(RelPath::new("a\nb"), None);
        assert_eq!(rel("/a/b/c").ancestors(), vec![rel("/a"), rel("/a/b")]);
    }

    #[test]
    fn links_are_followed_inside_the_root_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::create(&dir.path().join("root")).unwrap();
        root.make_dir(&rel("/usr"), 0o755, false).unwrap();
        root.make_dir(&rel("/usr/lib"), 0o755, false).unwrap();
        root.symlink(&rel("/lib"), "usr/lib").unwrap();
        root.write_file(&rel("/lib/x.so"), &mut &b"x"[..], 0o644)
            .unwrap();
        assert!(root.dir().join("usr/lib/x.so").is_file());

        // Links that point out of the root lead back into it.
        root.symlink(&rel("/escape"), "/tmp-outside").unwrap();
        root.symlink(&rel("/up"), "../../../../..").unwrap();
        root.make_dir(&rel("/tmp-outside"), 0o755, false).unwrap();
        root.write_file(&rel("/escape/a"), &mut &b"a"[..], 0o600)
            .unwrap();
        assert!(root.dir().join("tmp-outside/a").is_file());
        root.write_file(&rel("/up/b"), &mut &b"b"[..], 0o644)
            .unwrap();
        assert!(root.dir().join("b").is_file());
        assert!(!dir.path().join("b").exists());

        // A final symlink is replaced, not written through.
        fs::write(dir.path().join("host-file"), "host").unwrap();
        symlink(dir.path().join("host-file"), root.dir().join("trap")).unwrap();
        root.write_file(&rel("/trap"), &mut &b"mine"[..], 0o644)
            .unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("host-file")).unwrap(),
            "host"
        );
        assert_eq!(fs::read_to_string(root.dir().join("trap")).unwrap(), "mine");
    }

    #[test]
    fn link_loops_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::create(dir.path()).unwrap();
        root.symlink(&rel("/a"), "b").unwrap();
        root.symlink(&rel("/b"), "a").unwrap();
        let error = root
            .write_file(&rel("/a/x"), &mut &b""[..], 0o644)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot resolve /a/x in the root: more than 40 symlinks"
        );
    }

    #[test]
    fn lookups_follow_every_link_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::create(&dir.path().join("root")).unwrap();
        fs::create_dir_all(root.dir().join("usr/lib/x")).unwrap();
        fs::write(root.dir().join("usr/lib/x/libz.so.1.3"), "z").unwrap();
        fs::write(dir.path().join("outside"), "host").unwrap();
        root.symlink(&rel("/lib"), "usr/lib").unwrap();
        root.symlink(&rel("/usr/lib/x/libz.so.1"), "libz.so.1.3")
            .unwrap();
        root.symlink(&rel("/abs"), "/lib/x/libz.so.1").unwrap();
        root.symlink(&rel("/up"), "../../../../outside").unwrap();
        root.symlink(&rel("/loop"), "loop").unwrap();
        let found = |path: &str| root.lookup(path).unwrap().map(|found| found.path);

        assert_eq!(
            found("/lib/x/libz.so.1").as_deref(),
            Some("/usr/lib/x/libz.so.1.3")
        );
        assert_eq!(found("abs").as_deref(), Some("/usr/lib/x/libz.so.1.3"));
        assert_eq!(
            found("/lib/x/../x/./libz.so.1").as_deref(),
            Some("/usr/lib/x/libz.so.1.3")
        );
        assert_eq!(found("/../../lib").as_deref(), Some("/usr/lib"));
        assert_eq!(found("/").as_deref(), Some("/"));
        // `..` stops at the root: nothing outside is ever reached.
        assert_eq!(found("/up"), None);
        assert_eq!(found("/missing/.."), None);
        // A file is not a directory, even with only a `/` after it.
        assert_eq!(found("/abs/"), None);
        assert_eq!(found("/abs/x"), None);
        let error = root.lookup("/loop").unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot resolve /loop in the root: more than 40 symlinks"
        );
        let missing = Root::open(&dir.path().join("none")).unwrap_err();
        assert!(missing
            .to_string()
            .starts_with("cannot open the root directory"));
    }

    #[test]
    fn a_replaced_file_never_writes_through_a_link_at_its_temporary_name() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::write(&outside, "host file\n").unwrap();
        let root = Root::create(&dir.path().join("root")).unwrap();
        fs::create_dir_all(dir.path().join("root/var/lib/chisel")).unwrap();
        std::os::unix::fs::symlink(
            &outside,
            dir.path()
                .join("root/var/lib/chisel/.manifest.wall.kerf-new"),
        )
        .unwrap();

        root.replace_file(&rel("/var/lib/chisel/manifest.wall"), b"new\n", 0o644)
            .unwrap();

        assert_eq!(fs::read_to_string(&outside).unwrap(), "host file\n");
        assert_eq!(
            fs::read_to_string(dir.path().join("root/var/lib/chisel/manifest.wall")).unwrap(),
            "new\n"
        );
        assert!(!dir
            .path()
            .join("root/var/lib/chisel/.manifest.wall.kerf-new")
            .exists());
    }

    #[test]
    fn modes_are_exact() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::create(dir.path()).unwrap();
        root.make_dir(&rel("/s"), 0o2775, false).unwrap();
        root.make_dir(&rel("/t"), 0o1777, false).unwrap();
        root.write_file(&rel("/u"), &mut &b""[..], 0o4755).unwrap();
        let mode = |name: &str| {
            fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777
        };
        assert_eq!((mode("s"), mode("t"), mode("u")), (0o2775, 0o1777, 0o4755));
        root.make_dir(&rel("/s"), 0o700, false).unwrap();
        assert_eq!(mode("s"), 0o2775);
        root.make_dir(&rel("/s"), 0o700, true).unwrap();
        assert_eq!(mode("s"), 0o700);
    }
}
