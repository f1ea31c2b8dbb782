//! The OCI image layout on disk (`oci-layout`, `index.json`, `blobs/sha256/`), and the same as
//! one tar file (`--oci-archive`).
//!
//! Nothing half-written is ever left under a final name: blobs are written to temporary files
//! beside their place and renamed once complete and hashed; `index.json` is replaced by a
//! rename, last. A new layout, or an archive, is built in a temporary directory next to its
//! destination and renamed (or packed) into place at the end, so a failed run leaves nothing.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use super::json::{self, Descriptor, Index, REF_NAME};
use super::tar::{TarHeader, TarKind, TarWriter};
use super::{OciError, Tag};

/// The content of the `oci-layout` file.
const LAYOUT_FILE: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;

/// Where the image goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Destination {
    /// An image layout directory: created, or an existing one updated.
    Layout(PathBuf),
    /// A tar file of a new image layout.
    Archive(PathBuf),
}

/// A layout being written: blobs go into `dir`, which is the destination itself when an
/// existing layout is updated, else a temporary directory.
#[derive(Debug)]
pub(crate) struct Staging {
    destination: Destination,
    dir: PathBuf,
    /// The temporary directory, removed on drop unless it became the layout.
    temporary: Option<tempfile::TempDir>,
    /// The index of the existing layout, or an empty one.
    index: Index,
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> OciError {
    let path = path.to_owned();
    move |source| OciError::Io {
        action,
        path,
        source,
    }
}

impl Staging {
    /// Checks the destination and gets ready to write, before any cut: an existing directory
    /// must be an image layout (or empty), and the place must be writable.
    pub(crate) fn prepare(destination: &Destination) -> Result<Staging, OciError> {
        Staging::check(destination).map_err(|error| match error {
            OciError::Io {
                action,
                path,
                source,
            } => OciError::Unusable {
                action,
                path,
                source,
            },
            other => other,
        })
    }

    fn check(destination: &Destination) -> Result<Staging, OciError> {
        let (target, is_layout) = match destination {
            Destination::Layout(dir) => (dir, true),
            Destination::Archive(file) => (file, false),
        };
        if is_layout && target.is_dir() && !is_empty_dir(target)? {
            return Staging::existing(destination.clone(), target);
        }
        if is_layout && target.exists() && !target.is_dir() {
            return Err(OciError::NotALayout {
                dir: target.clone(),
                reason: "it exists and is not a directory".to_owned(),
            });
        }
        if !is_layout && target.is_dir() {
            return Err(OciError::ArchivePath {
                path: target.clone(),
                reason: "it is a directory".to_owned(),
            });
        }
        let parent = parent_of(target);
        if !parent.is_dir() {
            let reason = format!("{} is not a directory", parent.display());
            return Err(if is_layout {
                OciError::NotALayout {
                    dir: target.clone(),
                    reason,
                }
            } else {
                OciError::ArchivePath {
                    path: target.clone(),
                    reason,
                }
            });
        }
        let temporary = tempfile::Builder::new()
            .prefix(".kerf-oci-")
            .tempdir_in(&parent)
            .map_err(io_error("create a temporary directory in", &parent))?;
        let dir = temporary.path().to_owned();
        // A temporary directory is private (0700); the layout it becomes is not.
        fs_err::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .map_err(io_error("set the mode of", &dir))?;
        let blobs = dir.join("blobs/sha256");
        fs_err::create_dir_all(&blobs).map_err(io_error("create", &blobs))?;
        Ok(Staging {
            destination: destination.clone(),
            dir,
            temporary: Some(temporary),
            index: Index {
                media_type: Some(json::MEDIA_INDEX.to_owned()),
                ..Index::new(Vec::new())
            },
        })
    }

    /// An existing layout: its `oci-layout` and `index.json` must read, and it must take a file.
    fn existing(destination: Destination, dir: &Path) -> Result<Staging, OciError> {
        let not_layout = |reason: String| OciError::NotALayout {
            dir: dir.to_owned(),
            reason,
        };
        let marker = dir.join("oci-layout");
        let text = fs_err::read_to_string(&marker).map_err(|error| {
            not_layout(if error.kind() == io::ErrorKind::NotFound {
                "it is not empty and has no oci-layout file".to_owned()
            } else {
                format!("cannot read its oci-layout file: {error}")
            })
        })?;
        let version: serde_json::Value = serde_json::from_str(&text)
            .map_err(|error| not_layout(format!("its oci-layout file is not JSON: {error}")))?;
        if version
            .get("imageLayoutVersion")
            .and_then(|value| value.as_str())
            != Some("1.0.0")
        {
            return Err(not_layout(format!(
                "its oci-layout file says {}, expected {LAYOUT_FILE}",
                text.trim()
            )));
        }
        let index_path = dir.join("index.json");
        let index_text =
            fs_err::read(&index_path).map_err(|error| not_layout(error.to_string()))?;
        let index: Index = serde_json::from_slice(&index_text)
            .map_err(|error| not_layout(format!("its index.json cannot be read: {error}")))?;
        let blobs = dir.join("blobs/sha256");
        fs_err::create_dir_all(&blobs).map_err(io_error("create", &blobs))?;
        // Writable? A temporary file says so now rather than after the cut.
        tempfile::Builder::new()
            .prefix(".kerf-")
            .tempfile_in(&blobs)
            .map_err(io_error("write into", &blobs))?;
        Ok(Staging {
            destination,
            dir: dir.to_owned(),
            temporary: None,
            index,
        })
    }

    /// Writes one blob with `write`, which returns its digest (hex); the blob is renamed to that
    /// name only when complete.
    pub(crate) fn write_blob<T>(
        &self,
        write: impl FnOnce(&mut dyn Write) -> Result<(T, String), OciError>,
    ) -> Result<T, OciError> {
        let blobs = self.dir.join("blobs/sha256");
        let temporary = tempfile::Builder::new()
            .prefix(".kerf-")
            .tempfile_in(&blobs)
            .map_err(io_error("write into", &blobs))?;
        let path = temporary.path().to_owned();
        let mut out = BufWriter::new(temporary);
        let (value, digest) = write(&mut out)?;
        let temporary = out
            .into_inner()
            .map_err(|error| io_error("write", &path)(error.into_error()))?;
        temporary
            .as_file()
            .sync_all()
            .map_err(io_error("write", &path))?;
        let target = blobs.join(&digest);
        readable(&temporary, &path)?;
        temporary
            .persist(&target)
            .map_err(|error| io_error("rename a blob to", &target)(error.error))?;
        Ok(value)
    }

    /// Writes bytes as a blob; returns its digest (hex).
    pub(crate) fn put_blob(&self, bytes: &[u8]) -> Result<String, OciError> {
        let digest = crate::digest::sha256_hex(bytes);
        self.write_blob(|out| {
            out.write_all(bytes)
                .map_err(io_error("write", Path::new(&digest)))?;
            Ok(((), digest.clone()))
        })?;
        Ok(digest)
    }

    /// Points `tag` (if any) at `image` in the index, keeping every other tag, and puts the
    /// layout (or the archive) in place.
    pub(crate) fn finish(mut self, tag: Option<&Tag>, image: Descriptor) -> Result<(), OciError> {
        update_index(&mut self.index, tag, image);
        let index_bytes = json::to_bytes(&self.index);
        write_file_atomically(&self.dir, "index.json", &index_bytes)?;
        write_file_atomically(&self.dir, "oci-layout", LAYOUT_FILE.as_bytes())?;
        match (&self.destination, self.temporary.take()) {
            (_, None) => Ok(()),
            (Destination::Layout(dir), Some(temporary)) => {
                let staged = temporary.keep();
                // Over an empty directory, rename replaces it; anything else there now stops it.
                fs_err::rename(&staged, dir).map_err(|error| {
                    let _ = fs_err::remove_dir_all(&staged);
                    OciError::Io {
                        action: "move the new layout to",
                        path: dir.clone(),
                        source: error,
                    }
                })
            }
            (Destination::Archive(file), Some(temporary)) => {
                pack(temporary.path(), file)?;
                Ok(())
            }
        }
    }
}

/// Replaces the descriptor that had `tag` (the tag moves to the new image) and adds the new
/// one; without a tag the image is added unless the index already lists it untagged.
pub(crate) fn update_index(index: &mut Index, tag: Option<&Tag>, mut image: Descriptor) {
    match tag {
        Some(tag) => {
            index
                .manifests
                .retain(|existing| existing.tag() != Some(tag.as_str()));
            image
                .annotations
                .insert(REF_NAME.to_owned(), tag.as_str().to_owned());
        }
        None => {
            if index
                .manifests
                .iter()
                .any(|existing| existing.digest == image.digest && existing.tag().is_none())
            {
                return;
            }
        }
    }
    index.manifests.push(image);
}

/// Temporary files are private (0600); what they become is for anyone to read, as a file
/// written with the usual umask would be.
fn readable(temporary: &tempfile::NamedTempFile, path: &Path) -> Result<(), OciError> {
    fs_err::set_permissions(temporary.path(), std::fs::Permissions::from_mode(0o644))
        .map_err(io_error("set the mode of", path))
}

fn is_empty_dir(dir: &Path) -> Result<bool, OciError> {
    Ok(fs_err::read_dir(dir)
        .map_err(io_error("read", dir))?
        .next()
        .is_none())
}

/// The directory `path` goes into (`.` for a bare name).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Writes `name` in `dir` through a temporary file and a rename.
fn write_file_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), OciError> {
    let target = dir.join(name);
    let mut temporary = tempfile::Builder::new()
        .prefix(".kerf-")
        .tempfile_in(dir)
        .map_err(io_error("write into", dir))?;
    temporary
        .write_all(bytes)
        .and_then(|()| temporary.as_file().sync_all())
        .map_err(io_error("write", &target))?;
    readable(&temporary, &target)?;
    temporary
        .persist(&target)
        .map_err(|error| io_error("rename a file to", &target)(error.error))?;
    Ok(())
}

/// Packs the layout in `dir` into the tar `file` (through a temporary file and a rename):
/// `oci-layout`, `index.json`, then `blobs/sha256/` with its blobs sorted, owned by root, with
/// mtime 0, as `skopeo copy oci-archive:` and `podman load` read it.
fn pack(dir: &Path, file: &Path) -> Result<(), OciError> {
    let parent = parent_of(file);
    let temporary = tempfile::Builder::new()
        .prefix(".kerf-")
        .tempfile_in(&parent)
        .map_err(io_error("write into", &parent))?;
    let mut tar = TarWriter::new(BufWriter::new(temporary));
    let header = |name: &str, kind: TarKind, mode: u32| TarHeader {
        name: name.as_bytes().to_vec(),
        kind,
        mode,
        uid: 0,
        gid: 0,
        user: "root".to_owned(),
        group: "root".to_owned(),
        mtime: 0,
    };
    let write_error = io_error("write", file);
    let mut entries: BTreeMap<String, PathBuf> = BTreeMap::new();
    for item in fs_err::read_dir(dir.join("blobs/sha256")).map_err(io_error("read", dir))? {
        let item = item.map_err(io_error("read", dir))?;
        let name = item.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            entries.insert(name, item.path());
        }
    }
    let append = |tar: &mut TarWriter<_>, name: &str, path: Option<&Path>| {
        let Some(path) = path else {
            return tar
                .append(&header(name, TarKind::Directory, 0o755), &mut io::empty())
                .map_err(io_error("write", file));
        };
        let size = fs_err::metadata(path)
            .map_err(io_error("read", path))?
            .len();
        let mut content = fs_err::File::open(path).map_err(io_error("read", path))?;
        tar.append(&header(name, TarKind::File { size }, 0o644), &mut content)
            .map_err(io_error("write", file))
    };
    append(&mut tar, "oci-layout", Some(&dir.join("oci-layout")))?;
    append(&mut tar, "index.json", Some(&dir.join("index.json")))?;
    append(&mut tar, "blobs/", None)?;
    append(&mut tar, "blobs/sha256/", None)?;
    for (name, path) in &entries {
        append(&mut tar, &format!("blobs/sha256/{name}"), Some(path))?;
    }
    let out = tar.finish().map_err(write_error)?;
    let temporary = out
        .into_inner()
        .map_err(|error| io_error("write", file)(error.into_error()))?;
    temporary
        .as_file()
        .sync_all()
        .map_err(io_error("write", file))?;
    readable(&temporary, file)?;
    temporary
        .persist(file)
        .map_err(|error| io_error("rename a file to", file)(error.error))?;
    Ok(())
}
