//! The download cache: verified files addressed by their SHA-256, and parsed
//! indexes under keys chosen by the caller.
//!
//! Layout (bump a bucket's version whenever its format changes):
//!
//! ```text
//! <root>/CACHEDIR.TAG          so backup tools skip the cache
//! <root>/.gitignore            `*`, so a cache inside a checkout is never committed
//! <root>/.lock                 see [`Cache::lock`]
//! <root>/sha256-v1/ab/ab12…    verified blobs: .debs, indexes, compressed or not
//! <root>/index-v1/<key>        caller-keyed entries, e.g. parsed Packages indexes
//! ```
//!
//! Trust: the cut runs what comes out of here, so a file someone else could
//! have written is never used. Directories are 0755 and files 0644, set
//! explicitly whatever the umask; a hit must be a regular file owned by us
//! (or root) that neither group nor others can write, else it is a miss.
//!
//! Writes go to a temporary file in the destination directory and are
//! renamed into place, so a reader never sees a partial file, and several
//! kerf processes may insert the same blob at once: the last rename wins and
//! replaces an identical file. A crashed writer leaves only `.*.tmp-*` files,
//! which [`Cache::open`] removes once they are an hour old.
//!
//! Durability: blobs are not fsynced. A power cut can leave a renamed blob
//! empty or torn; the size check on every hit catches the usual outcome
//! (an empty file), [`Verify::Full`] or hashing on use catches the rest, and
//! the file is fetched again. One fsync per .deb would cost more than it
//! saves on the container filesystems kerf mostly runs on. Keyed entries
//! have no hash to check them against, so they are fsynced; there are few.

use std::fmt;
use std::fs::Permissions;
use std::io::{self, BufWriter, Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use fs_err::os::unix::fs::OpenOptionsExt;
use sha2::{Digest as _, Sha256};

use super::fetch::Sink;

/// Content-addressed blobs. Bump on any change of naming or content.
const BLOB_BUCKET: &str = "sha256-v1";
/// Caller-keyed entries. Bump when the meaning of keys changes; callers
/// version their own formats inside the key.
const KEYED_BUCKET: &str = "index-v1";

const LOCK_FILE: &str = ".lock";
const DIR_MODE: u32 = 0o755;
const FILE_MODE: u32 = 0o644;
/// Temporary files older than this are taken to be a crashed writer's.
const STALE_AFTER: Duration = Duration::from_secs(60 * 60);
const MAX_KEY_LEN: usize = 128;

const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by kerf.\n\
# For information about cache directory tags, see https://bford.info/cachedir/\n";

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Digest([u8; 32]);

/// Text that is not a SHA-256 digest in hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid SHA-256 digest {input:?}: expected 64 hexadecimal digits")]
pub(crate) struct DigestError {
    /// The offending text, shortened if long.
    input: String,
}

impl Digest {
    /// Exactly 64 hexadecimal digits, in either case.
    pub(crate) fn from_hex(hex: &str) -> Result<Digest, DigestError> {
        let error = || DigestError {
            input: hex.chars().take(80).collect(),
        };
        if hex.len() != 64 {
            return Err(error());
        }
        let mut bytes = [0; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
            let high = hex_value(pair[0]).ok_or_else(error)?;
            let low = hex_value(pair[1]).ok_or_else(error)?;
            *byte = high << 4 | low;
        }
        Ok(Digest(bytes))
    }

    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Digest {
        Digest(bytes)
    }

    /// The digest of `data`.
    pub(crate) fn of(data: &[u8]) -> Digest {
        Digest(Sha256::digest(data).into())
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

impl std::str::FromStr for Digest {
    type Err = DigestError;

    fn from_str(hex: &str) -> Result<Digest, DigestError> {
        Digest::from_hex(hex)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

/// Why the cache could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CacheError {
    #[error("cannot use the cache at {}", root.display())]
    Io {
        root: PathBuf,
        #[source]
        source: io::Error,
    },
    /// What was written is not what the caller said it would be. Nothing was
    /// stored.
    #[error("{what}: SHA-256 mismatch: expected {expected}, got {actual}{}", size_note(*expected_size, *actual_size))]
    HashMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
        expected_size: Option<u64>,
        actual_size: u64,
    },
    #[error("invalid cache key {key:?}: expected 1 to 128 characters among a-z, 0-9 and -")]
    InvalidKey { key: String },
    #[error(
        "refusing to use the cache: {} is writable by others (mode {mode:04o}) and not owned by you",
        path.display()
    )]
    Insecure { path: PathBuf, mode: u32 },
}

fn size_note(expected: Option<u64>, actual: u64) -> String {
    match expected {
        Some(expected) if expected != actual => {
            format!(" (size {actual} bytes instead of {expected})")
        }
        _ => String::new(),
    }
}

/// What fails an [`Cache::insert_with`]: the cache, or the closure that
/// produced the data.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InsertError<E> {
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Source(E),
}

/// How much a cache hit is checked before it is handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Ownership, permissions and size: one `stat`. Enough against other
    /// users and against the usual torn write; a same-size corruption gets
    /// through, so a caller that reads the whole file anyway should hash it
    /// while reading.
    Size,
    /// All of the above, and the file is hashed again.
    Full,
}

/// The cache directory. Cheap to share between threads.
#[derive(Debug)]
pub(crate) struct Cache {
    root: PathBuf,
    /// Whose files we trust besides root's, learnt from a file we created,
    /// since std has no getuid.
    uid: u32,
}

/// A lock on the cache directory, released when dropped.
#[derive(Debug)]
pub(crate) struct CacheLock {
    _file: fs_err::File,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh name for a temporary file beside `final_name`. The pid and a
/// process-wide counter make it unique across processes and threads.
fn temp_name(final_name: &str) -> String {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(".{final_name}.tmp-{}-{n}", std::process::id())
}

fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

impl Cache {
    /// Opens the cache at `dir`, creating it and its layout if needed, and
    /// removes the leftovers of crashed writers when no other kerf is using
    /// the cache. The directory must be writable.
    pub(crate) fn open(dir: impl Into<PathBuf>) -> Result<Cache, CacheError> {
        let root = dir.into();
        let io_error = |source| CacheError::Io {
            root: root.clone(),
            source,
        };
        if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs_err::create_dir_all(parent).map_err(io_error)?;
        }
        let created = create_dir(&root).map_err(io_error)?;
        let cache = Cache {
            uid: own_uid(&root).map_err(io_error)?,
            root: root.clone(),
        };
        if !created {
            cache.check_dir(&root)?;
        }
        cache.ensure_dir(&root.join(BLOB_BUCKET))?;
        cache.ensure_dir(&root.join(KEYED_BUCKET))?;
        for (name, content) in [("CACHEDIR.TAG", CACHEDIR_TAG), (".gitignore", "*\n")] {
            if fs_err::symlink_metadata(root.join(name)).is_err() {
                cache.write_atomic(&root, name, content.as_bytes(), false)?;
            }
        }
        if let Some(_exclusive) = cache.try_lock_exclusive()? {
            cache.remove_stale_temp_files();
        }
        Ok(cache)
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with this digest lives, whether or not it is there.
    pub(crate) fn blob_path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.to_string();
        self.root.join(BLOB_BUCKET).join(&hex[..2]).join(hex)
    }

    /// The stored blob with this digest, if there is one that passes the
    /// checks of `verify` and has `expected_size` bytes when that is given.
    /// A blob that fails them is a miss; the next insert replaces it.
    pub(crate) fn get(
        &self,
        digest: &Digest,
        expected_size: Option<u64>,
        verify: Verify,
    ) -> Option<PathBuf> {
        let path = self.blob_path(digest);
        let metadata = fs_err::symlink_metadata(&path).ok()?;
        if !self.trusted_file(&metadata) {
            return None;
        }
        if expected_size.is_some_and(|size| size != metadata.len()) {
            return None;
        }
        if verify == Verify::Full && hash_file(&path).ok()? != *digest {
            return None;
        }
        Some(path)
    }

    /// Stores the bytes that `write` produces as the blob `expected`.
    ///
    /// The data goes to a temporary file in the blob's directory and is
    /// hashed on the way. Only if its digest (and size, when given) is the
    /// expected one is it made 0644 and renamed into place; otherwise the
    /// temporary file is removed and [`CacheError::HashMismatch`] names
    /// `what` (a URL, say) and both digests. If `write` fails or panics, the
    /// temporary file is removed too. The writer is a [`Sink`], so a
    /// download can restart it between attempts.
    pub(crate) fn insert_with<E>(
        &self,
        what: &str,
        expected: &Digest,
        expected_size: Option<u64>,
        write: impl FnOnce(&mut BlobWriter) -> Result<(), E>,
    ) -> Result<PathBuf, InsertError<E>> {
        let _shared = self.lock()?;
        let final_path = self.blob_path(expected);
        let directory = final_path
            .parent()
            .expect("a blob path has a directory")
            .to_owned();
        self.ensure_dir(&directory)?;
        let final_name = expected.to_string();
        let (temp, file) =
            TempFile::create(&directory, &final_name).map_err(|e| self.io_error(e))?;
        let mut writer = BlobWriter {
            file: BufWriter::with_capacity(64 * 1024, file),
            hasher: Sha256::new(),
            written: 0,
        };
        write(&mut writer).map_err(InsertError::Source)?;
        writer.file.flush().map_err(|e| self.io_error(e))?;
        let BlobWriter {
            file,
            hasher,
            written,
        } = writer;
        drop(file);
        let actual = Digest(hasher.finalize().into());
        let size_ok = expected_size.is_none_or(|size| size == written);
        if actual != *expected || !size_ok {
            return Err(CacheError::HashMismatch {
                what: what.to_owned(),
                expected: *expected,
                actual,
                expected_size,
                actual_size: written,
            }
            .into());
        }
        temp.persist(&final_path).map_err(|e| self.io_error(e))?;
        Ok(final_path)
    }

    /// Stores `bytes` under `key` in the keyed bucket, replacing any entry.
    pub(crate) fn put_keyed(&self, key: &str, bytes: &[u8]) -> Result<PathBuf, CacheError> {
        let path = self.keyed_path(key)?;
        let _shared = self.lock()?;
        self.write_atomic(&self.root.join(KEYED_BUCKET), key, bytes, true)?;
        Ok(path)
    }

    /// The entry stored under `key`, if there is a trustworthy one. Entries
    /// carry no checksum here: a caller that needs one puts it in its format.
    pub(crate) fn get_keyed(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let path = self.keyed_path(key)?;
        match fs_err::symlink_metadata(&path) {
            Ok(metadata) if self.trusted_file(&metadata) => {}
            Ok(_) => return Ok(None),
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(self.io_error(error)),
        }
        match fs_err::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(self.io_error(error)),
        }
    }

    /// A shared lock on the cache, blocking while another process holds an
    /// exclusive one. Inserts hold it while their temporary file exists, so
    /// that the clean-up in [`Cache::open`], which needs the exclusive lock,
    /// never removes a file that is still being written. A caller may hold
    /// it for a whole run to keep other kerf processes from cleaning up.
    pub(crate) fn lock(&self) -> Result<CacheLock, CacheError> {
        let file = self.open_lock_file()?;
        file.lock_shared().map_err(|e| self.io_error(e))?;
        Ok(CacheLock { _file: file })
    }

    /// The exclusive lock, if nobody holds any lock: for maintenance that
    /// removes files (the stale-file clean-up, a future prune). Locks are
    /// per open file, not per process: inserting while holding this lock
    /// would wait for it forever.
    pub(crate) fn try_lock_exclusive(&self) -> Result<Option<CacheLock>, CacheError> {
        let file = self.open_lock_file()?;
        match file.try_lock() {
            Ok(()) => Ok(Some(CacheLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(error)) => Err(self.io_error(error)),
        }
    }

    fn open_lock_file(&self) -> Result<fs_err::File, CacheError> {
        let path = self.root.join(LOCK_FILE);
        let file = fs_err::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(FILE_MODE)
            .open(&path)
            .map_err(|e| self.io_error(e))?;
        Ok(file)
    }

    fn keyed_path(&self, key: &str) -> Result<PathBuf, CacheError> {
        let valid = !key.is_empty()
            && key.len() <= MAX_KEY_LEN
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(CacheError::InvalidKey {
                key: key.chars().take(MAX_KEY_LEN + 8).collect(),
            });
        }
        Ok(self.root.join(KEYED_BUCKET).join(key))
    }

    fn io_error(&self, source: io::Error) -> CacheError {
        CacheError::Io {
            root: self.root.clone(),
            source,
        }
    }

    /// Creates `path` as a 0755 directory, or checks that the existing one
    /// cannot be written by other users, tightening it if it is ours.
    fn ensure_dir(&self, path: &Path) -> Result<(), CacheError> {
        if create_dir(path).map_err(|e| self.io_error(e))? {
            Ok(())
        } else {
            self.check_dir(path)
        }
    }

    fn check_dir(&self, path: &Path) -> Result<(), CacheError> {
        let metadata = fs_err::metadata(path).map_err(|e| self.io_error(e))?;
        if !metadata.is_dir() {
            return Err(self.io_error(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a directory", path.display()),
            )));
        }
        let mode = metadata.mode() & 0o7777;
        if mode & 0o022 != 0 {
            if metadata.uid() != self.uid {
                return Err(CacheError::Insecure {
                    path: path.to_owned(),
                    mode,
                });
            }
            fs_err::set_permissions(path, Permissions::from_mode(DIR_MODE))
                .map_err(|e| self.io_error(e))?;
        }
        Ok(())
    }

    fn trusted_file(&self, metadata: &std::fs::Metadata) -> bool {
        metadata.file_type().is_file()
            && metadata.mode() & 0o022 == 0
            && (metadata.uid() == self.uid || metadata.uid() == 0)
    }

    /// Writes `name` in `directory` through a temporary file.
    fn write_atomic(
        &self,
        directory: &Path,
        name: &str,
        bytes: &[u8],
        sync: bool,
    ) -> Result<(), CacheError> {
        let (temp, mut file) = TempFile::create(directory, name).map_err(|e| self.io_error(e))?;
        file.write_all(bytes).map_err(|e| self.io_error(e))?;
        if sync {
            file.sync_all().map_err(|e| self.io_error(e))?;
        }
        drop(file);
        temp.persist(&directory.join(name))
            .map_err(|e| self.io_error(e))
    }

    /// Removes the temporary files of writers that died an hour or more
    /// ago. Best effort: a file that cannot be removed now will be next
    /// time.
    fn remove_stale_temp_files(&self) {
        let now = SystemTime::now();
        let mut directories = vec![self.root.clone(), self.root.join(KEYED_BUCKET)];
        if let Ok(entries) = fs_err::read_dir(self.root.join(BLOB_BUCKET)) {
            directories.extend(entries.flatten().map(|entry| entry.path()));
        }
        for directory in directories {
            let Ok(entries) = fs_err::read_dir(&directory) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                if !name.to_str().is_some_and(is_temp_name) {
                    continue;
                }
                let stale = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|modified| {
                        now.duration_since(modified)
                            .is_ok_and(|age| age >= STALE_AFTER)
                    });
                if stale {
                    let _ = fs_err::remove_file(entry.path());
                }
            }
        }
    }
}

/// Creates a directory with mode 0755 exactly; false if it already existed.
fn create_dir(path: &Path) -> io::Result<bool> {
    // The umask can only take bits away from 0755, so the directory is never
    // more open than that, even before the chmod.
    match std::fs::DirBuilder::new().mode(DIR_MODE).create(path) {
        Ok(()) => {
            fs_err::set_permissions(path, Permissions::from_mode(DIR_MODE))?;
            Ok(true)
        }
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(io::Error::new(
            error.kind(),
            format!("failed to create directory `{}`: {error}", path.display()),
        )),
    }
}

/// Who we are, from the owner of a file we create: std has no getuid, and
/// the cache directory may belong to someone else.
fn own_uid(root: &Path) -> io::Result<u32> {
    let (temp, file) = TempFile::create(root, "uid-probe")?;
    let uid = file.metadata()?.uid();
    drop(temp);
    Ok(uid)
}

/// The writer handed to [`Cache::insert_with`]: a temporary file that hashes
/// what it is given and can start over.
pub(crate) struct BlobWriter {
    file: BufWriter<fs_err::File>,
    hasher: Sha256,
    written: u64,
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Sink for BlobWriter {
    fn restart(&mut self) -> io::Result<()> {
        self.file.flush()?;
        let file = self.file.get_mut();
        file.set_len(0)?;
        file.rewind()?;
        self.hasher = Sha256::new();
        self.written = 0;
        Ok(())
    }
}

/// A temporary file that removes itself unless persisted, whatever way the
/// insert ends (error, mismatch, panic).
struct TempFile {
    path: PathBuf,
    persisted: bool,
}

impl TempFile {
    fn create(directory: &Path, final_name: &str) -> io::Result<(TempFile, fs_err::File)> {
        let path = directory.join(temp_name(final_name));
        let file = fs_err::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&path)?;
        let temp = TempFile {
            path,
            persisted: false,
        };
        Ok((temp, file))
    }

    /// Makes the file 0644, whatever the umask did, and renames it to
    /// `destination`.
    fn persist(mut self, destination: &Path) -> io::Result<()> {
        fs_err::set_permissions(&self.path, Permissions::from_mode(FILE_MODE))?;
        fs_err::rename(&self.path, destination)?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs_err::remove_file(&self.path);
        }
    }
}

fn hash_file(path: &Path) -> io::Result<Digest> {
    let mut file = fs_err::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(Digest(hasher.finalize().into()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::fetch::testserver::{Reply, TestServer};
    use super::super::fetch::{FetchOptions, Fetcher, ProxySettings};
    use super::*;

    fn open_temp() -> (tempfile::TempDir, Cache) {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = Cache::open(dir.path().join("cache")).expect("open cache");
        (dir, cache)
    }

    fn insert(cache: &Cache, bytes: &[u8]) -> Result<PathBuf, InsertError<io::Error>> {
        cache.insert_with(
            "test data",
            &Digest::of(bytes),
            Some(bytes.len() as u64),
            |w| w.write_all(bytes),
        )
    }

    fn mode(path: &Path) -> u32 {
        fs_err::symlink_metadata(path).unwrap().mode() & 0o7777
    }

    /// Every path under `dir`, relative, directories marked with a `/`.
    fn listing(dir: &Path) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let mut pending = vec![dir.to_owned()];
        while let Some(current) = pending.pop() {
            for entry in fs_err::read_dir(&current).unwrap() {
                let path = entry.unwrap().path();
                let relative = path.strip_prefix(dir).unwrap().display().to_string();
                if path.is_dir() {
                    found.insert(format!("{relative}/"));
                    pending.push(path);
                } else {
                    found.insert(relative);
                }
            }
        }
        found
    }

    const HELLO: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn digest_hex_round_trip() {
        let digest = Digest::from_hex(HELLO).unwrap();
        assert_eq!(digest, Digest::of(b"hello"));
        assert_eq!(digest.to_string(), HELLO);
        assert_eq!(Digest::from_hex(&HELLO.to_uppercase()).unwrap(), digest);
        assert_eq!(HELLO.parse::<Digest>().unwrap(), digest);
        assert_eq!(format!("{digest:?}"), format!("Digest({HELLO})"));
        assert_eq!(Digest::from_bytes(*digest.as_bytes()), digest);
        for bad in [
            "",
            &HELLO[1..],
            &format!("{HELLO}0"),
            &HELLO.replace('c', "g"),
            "é",
        ] {
            let error = Digest::from_hex(bad).unwrap_err();
            assert!(error.to_string().contains("expected 64 hexadecimal digits"));
        }
    }

    #[test]
    fn open_lays_out_the_cache() {
        let (_dir, cache) = open_temp();
        let root = cache.root();
        let tag = fs_err::read_to_string(root.join("CACHEDIR.TAG")).unwrap();
        assert!(tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55\n# "));
        assert_eq!(
            fs_err::read_to_string(root.join(".gitignore")).unwrap(),
            "*\n"
        );
        assert_eq!(
            listing(root),
            BTreeSet::from(
                [
                    ".gitignore",
                    ".lock",
                    "CACHEDIR.TAG",
                    "index-v1/",
                    "sha256-v1/"
                ]
                .map(String::from)
            )
        );
        for dir in ["", "sha256-v1", "index-v1"] {
            assert_eq!(mode(&root.join(dir)), 0o755, "{dir}");
        }
        for file in ["CACHEDIR.TAG", ".gitignore"] {
            assert_eq!(mode(&root.join(file)), 0o644, "{file}");
        }
        // Opening again changes nothing.
        Cache::open(root).unwrap();
        assert_eq!(listing(root).len(), 5);
    }

    #[test]
    fn insert_then_get() {
        let (_dir, cache) = open_temp();
        let digest = Digest::of(b"hello");
        assert_eq!(cache.get(&digest, None, Verify::Size), None);
        let path = insert(&cache, b"hello").unwrap();
        assert_eq!(path, cache.root().join(format!("sha256-v1/2c/{HELLO}")));
        assert_eq!(fs_err::read(&path).unwrap(), b"hello");
        assert_eq!(
            cache.get(&digest, Some(5), Verify::Size),
            Some(path.clone())
        );
        assert_eq!(cache.get(&digest, None, Verify::Full), Some(path.clone()));
        assert_eq!(cache.get(&digest, Some(6), Verify::Size), None);
        // Inserting again is harmless.
        assert_eq!(insert(&cache, b"hello").unwrap(), path);
    }

    #[test]
    fn stored_files_and_directories_have_exact_modes() {
        let (_dir, cache) = open_temp();
        let path = insert(&cache, b"hello").unwrap();
        assert_eq!(mode(&path), 0o644);
        assert_eq!(mode(path.parent().unwrap()), 0o755);
        let keyed = cache.put_keyed("noble-main-amd64", b"parsed").unwrap();
        assert_eq!(mode(&keyed), 0o644);
    }

    #[test]
    fn a_mismatch_stores_nothing_and_names_both_digests() {
        let (_dir, cache) = open_temp();
        let expected = Digest::of(b"hello");
        let error = cache
            .insert_with("http://archive/pool/h.deb", &expected, Some(5), |w| {
                w.write_all(b"jello")
            })
            .unwrap_err();
        let InsertError::Cache(error) = error else {
            panic!("{error:?}")
        };
        let actual = Digest::of(b"jello");
        assert_eq!(
            error.to_string(),
            format!("http://archive/pool/h.deb: SHA-256 mismatch: expected {HELLO}, got {actual}")
        );
        let error = cache
            .insert_with("x", &expected, Some(5), |w| w.write_all(b"hell"))
            .unwrap_err();
        assert!(
            error.to_string().ends_with("(size 4 bytes instead of 5)"),
            "{error}"
        );
        // The right content but the wrong expected size is refused as well.
        let error = cache
            .insert_with("x", &expected, Some(6), |w| w.write_all(b"hello"))
            .unwrap_err();
        assert!(matches!(
            error,
            InsertError::Cache(CacheError::HashMismatch { .. })
        ));
        assert_eq!(
            listing(&cache.root().join("sha256-v1")),
            BTreeSet::from(["2c/".to_owned()])
        );
        assert_eq!(cache.get(&expected, None, Verify::Size), None);
    }

    #[test]
    fn a_failing_or_panicking_writer_leaves_nothing_behind() {
        let (_dir, cache) = open_temp();
        let digest = Digest::of(b"hello");
        let error = cache
            .insert_with("x", &digest, None, |w| {
                w.write_all(b"he")?;
                Err(io::Error::other("network went away"))
            })
            .unwrap_err();
        assert!(
            matches!(error, InsertError::Source(ref e) if e.to_string() == "network went away")
        );
        let panicked = std::panic::catch_unwind(|| {
            let _ = cache.insert_with("x", &digest, None, |w| -> Result<(), io::Error> {
                w.write_all(b"he")?;
                panic!("writer panicked");
            });
        });
        assert!(panicked.is_err());
        assert_eq!(
            listing(&cache.root().join("sha256-v1")),
            BTreeSet::from(["2c/".to_owned()])
        );
    }

    #[test]
    fn restart_discards_what_was_written() {
        let (_dir, cache) = open_temp();
        let path = cache
            .insert_with("x", &Digest::of(b"hello"), Some(5), |w| {
                w.write_all(b"garbage that is long")?;
                w.restart()?;
                w.write_all(b"hello")
            })
            .unwrap();
        assert_eq!(fs_err::read(path).unwrap(), b"hello");
    }

    #[test]
    fn untrusted_hits_are_misses() {
        let (_dir, cache) = open_temp();
        let digest = Digest::of(b"hello");
        let path = insert(&cache, b"hello").unwrap();
        fs_err::set_permissions(&path, Permissions::from_mode(0o666)).unwrap();
        assert_eq!(cache.get(&digest, Some(5), Verify::Size), None);
        fs_err::remove_file(&path).unwrap();
        let elsewhere = cache.root().join("hello-elsewhere");
        fs_err::write(&elsewhere, b"hello").unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        assert_eq!(cache.get(&digest, Some(5), Verify::Size), None);
        // An insert replaces the bad entry.
        insert(&cache, b"hello").unwrap();
        assert_eq!(cache.get(&digest, Some(5), Verify::Full), Some(path));
    }

    #[test]
    fn full_verification_catches_same_size_corruption() {
        let (_dir, cache) = open_temp();
        let digest = Digest::of(b"hello");
        let path = insert(&cache, b"hello").unwrap();
        fs_err::write(&path, b"jello").unwrap();
        assert_eq!(cache.get(&digest, Some(5), Verify::Size), Some(path));
        assert_eq!(cache.get(&digest, Some(5), Verify::Full), None);
    }

    #[test]
    fn open_tightens_our_own_open_directories() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cache");
        Cache::open(&root).unwrap();
        for sub in ["", "sha256-v1", "index-v1"] {
            fs_err::set_permissions(root.join(sub), Permissions::from_mode(0o777)).unwrap();
        }
        Cache::open(&root).unwrap();
        for sub in ["", "sha256-v1", "index-v1"] {
            assert_eq!(mode(&root.join(sub)), 0o755, "{sub}");
        }
    }

    #[test]
    fn concurrent_inserts_of_one_blob_all_succeed() {
        let (_dir, cache) = open_temp();
        let content: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
        let digest = Digest::of(&content);
        let paths: Vec<PathBuf> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        cache.insert_with("x", &digest, Some(content.len() as u64), |w| {
                            content
                                .chunks(4096)
                                .try_for_each(|chunk| w.write_all(chunk))
                        })
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().unwrap().unwrap())
                .collect()
        });
        assert!(paths.iter().all(|path| *path == paths[0]));
        let hex = digest.to_string();
        assert_eq!(
            listing(&cache.root().join("sha256-v1")),
            BTreeSet::from([format!("{}/", &hex[..2]), format!("{}/{hex}", &hex[..2])])
        );
        assert_eq!(
            cache.get(&digest, None, Verify::Full),
            Some(paths[0].clone())
        );
    }

    #[test]
    fn keyed_entries() {
        let (_dir, cache) = open_temp();
        assert_eq!(cache.get_keyed("noble-main").unwrap(), None);
        cache.put_keyed("noble-main", b"one").unwrap();
        cache.put_keyed("noble-main", b"two").unwrap();
        assert_eq!(
            cache.get_keyed("noble-main").unwrap().as_deref(),
            Some(&b"two"[..])
        );
        let longest = "a".repeat(128);
        cache.put_keyed(&longest, b"x").unwrap();
        assert_eq!(
            listing(&cache.root().join("index-v1")),
            BTreeSet::from(["noble-main".to_owned(), longest])
        );
    }

    #[test]
    fn invalid_keys_are_refused() {
        let (_dir, cache) = open_temp();
        for key in [
            "",
            "Noble",
            "..",
            "../sha256-v1/x",
            "a/b",
            "a.b",
            ".lock",
            "a b",
            "a\0b",
            &"a".repeat(129),
        ] {
            let error = cache.put_keyed(key, b"x").unwrap_err();
            assert!(
                matches!(error, CacheError::InvalidKey { .. }),
                "{key:?}: {error:?}"
            );
            assert!(matches!(
                cache.get_keyed(key),
                Err(CacheError::InvalidKey { .. })
            ));
        }
        assert!(listing(&cache.root().join("index-v1")).is_empty());
    }

    #[test]
    fn stale_temporary_files_are_removed_on_open() {
        let (_dir, cache) = open_temp();
        let root = cache.root().to_owned();
        let bucket = root.join("sha256-v1/ab");
        fs_err::create_dir(&bucket).unwrap();
        let two_hours_ago = SystemTime::now() - Duration::from_secs(2 * 60 * 60);
        let make = |path: PathBuf, old: bool| {
            let file = fs_err::File::create(&path).unwrap();
            if old {
                file.set_modified(two_hours_ago).unwrap();
            }
            path
        };
        let stale = [
            make(bucket.join(".abcd.tmp-1-1"), true),
            make(root.join("index-v1/.key.tmp-1-2"), true),
        ];
        let kept = [
            make(bucket.join(".abce.tmp-1-3"), false),
            make(bucket.join("abcf"), true),
        ];

        // Someone else using the cache: no clean-up.
        {
            let _other = cache.lock().unwrap();
            Cache::open(&root).unwrap();
            assert!(stale.iter().all(|path| path.exists()));
        }

        Cache::open(&root).unwrap();
        for path in &stale {
            assert!(!path.exists(), "{}", path.display());
        }
        for path in &kept {
            assert!(path.exists(), "{}", path.display());
        }
    }

    #[test]
    fn locks_exclude_each_other() {
        let (_dir, cache) = open_temp();
        let shared = cache.lock().unwrap();
        let also_shared = cache.lock().unwrap();
        assert!(cache.try_lock_exclusive().unwrap().is_none());
        drop((shared, also_shared));
        let exclusive = cache.try_lock_exclusive().unwrap();
        assert!(exclusive.is_some());
        assert!(cache.try_lock_exclusive().unwrap().is_none());
    }

    #[test]
    fn a_download_retried_midway_is_stored_whole() {
        let (_dir, cache) = open_temp();
        let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let server = TestServer::builder()
            .sequence(
                "/pool/a.deb",
                [
                    Reply::DropAfter(content.clone(), 100_000),
                    Reply::Serve(content.clone()),
                ],
            )
            .start();
        let fetcher = Fetcher::new(FetchOptions {
            backoff_base: Duration::from_millis(5),
            proxies: ProxySettings::none(),
            ..FetchOptions::default()
        })
        .unwrap();
        let url = server.url("/pool/a.deb");
        let digest = Digest::of(&content);
        let path = cache
            .insert_with(&url, &digest, Some(content.len() as u64), |w| {
                fetcher.fetch_to(&url, None, w, &|_, _| {}).map(drop)
            })
            .unwrap();
        assert_eq!(fs_err::read(path).unwrap(), content);
        assert_eq!(server.hits("/pool/a.deb"), 2);
    }
}
