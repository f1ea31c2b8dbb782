//! The download cache: verified files addressed by their digest, and derived
//! data (verified InRelease text, parsed indexes) under typed keys.
//!
//! Layout (bump a bucket's version whenever its format changes):
//!
//! ```text
//! <root>/CACHEDIR.TAG          so backup tools skip the cache
//! <root>/.gitignore            `*`, so a cache inside a checkout is never committed
//! <root>/.lock                 see [`Cache::lock`]
//! <root>/sha256-v1/ab/ab12…    verified blobs: .debs, indexes, compressed or not
//! <root>/sha512-v1/ab/ab12…    the same, from archives that sign SHA-512 only
//! <root>/index-v1/<key>        keyed entries (see [`CacheKey`]), e.g. parsed Packages indexes
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

use std::fs::Permissions;
use std::io::{self, BufWriter, Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use fs_err::os::unix::fs::OpenOptionsExt;

use crate::digest::{sha256_hex, Algorithm, Digest, Hasher, HashingWriter};
use crate::transport::http::Sink;

/// Content-addressed blobs, one bucket per algorithm. Bump on any change of
/// naming or content.
fn blob_bucket(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::Sha256 => "sha256-v1",
        Algorithm::Sha512 => "sha512-v1",
    }
}
/// Keyed entries. Bump when the meaning of keys changes; each [`CacheKey`]
/// versions its own format inside the key.
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
    #[error("{what}: {} mismatch: expected {expected}, got {actual}{}", expected.algorithm().name(), size_note(*expected_size, *actual_size))]
    HashMismatch {
        what: String,
        // Boxed: a SHA-512 digest would make every cache result 200 bytes wide.
        expected: Box<Digest>,
        actual: Box<Digest>,
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

impl CacheError {
    /// A download that is not what the archive signed is the archive's fault
    /// (exit status 1); the rest are the machine's.
    pub(crate) fn is_user_error(&self) -> bool {
        match self {
            CacheError::HashMismatch { .. } => true,
            CacheError::Io { .. } | CacheError::InvalidKey { .. } | CacheError::Insecure { .. } => {
                false
            }
        }
    }
}

/// What the cache stores besides blobs, each kind with its own versioned
/// name, so callers never spell a key. Every key is a hash of what it stands
/// for: a changed input is a different entry, never a stale one.
#[derive(Clone, Copy, Debug)]
pub(crate) enum CacheKey<'a> {
    /// The bytes of a suite's InRelease file, as last verified, for `--offline`.
    InRelease { url: &'a str },
    /// The signed text of an InRelease file, once its signature verified with
    /// these keys: a warm run checks no signature again.
    VerifiedInRelease {
        inrelease: &'a Digest,
        key_fingerprints: &'a [String],
    },
    /// A component's Packages index, parsed, for the InRelease that signed it.
    ParsedPackages {
        inrelease: &'a Digest,
        component: &'a str,
        arch: &'a str,
    },
    /// A release whose exact files passed every release-wide check.
    CheckedRelease { fingerprint: &'a str },
    /// The SHA-256 of a blob stored under another digest, recorded when that digest was
    /// checked.
    Sha256Of { digest: &'a Digest },
    /// A release tarball as last fetched from `url` (a branch of chisel-releases), for
    /// `--offline`.
    ReleaseTarball { url: &'a str },
    /// Where Ubuntu's public archive answered for a release version whose expected place is
    /// `expected` (the main archive, or old-releases past its end of life).
    ArchiveHome { expected: &'a str, version: &'a str },
}

impl CacheKey<'_> {
    fn name(&self) -> String {
        match self {
            CacheKey::InRelease { url } => format!("inrelease-{}", sha256_hex(url.as_bytes())),
            CacheKey::VerifiedInRelease {
                inrelease,
                key_fingerprints,
            } => {
                let mut identity = inrelease.to_string();
                for fingerprint in *key_fingerprints {
                    identity.push(' ');
                    identity.push_str(fingerprint);
                }
                format!("inrelease-text-{}", sha256_hex(identity.as_bytes()))
            }
            CacheKey::ParsedPackages {
                inrelease,
                component,
                arch,
            } => format!(
                "packages-v2-{}",
                sha256_hex(format!("{inrelease} {component} {arch}").as_bytes())
            ),
            CacheKey::CheckedRelease { fingerprint } => format!("release-checked-{fingerprint}"),
            CacheKey::Sha256Of { digest } => {
                format!("sha256-of-v1-{}", sha256_hex(digest.to_string().as_bytes()))
            }
            CacheKey::ReleaseTarball { url } => {
                format!("release-tarball-v1-{}", sha256_hex(url.as_bytes()))
            }
            CacheKey::ArchiveHome { expected, version } => format!(
                "archive-home-v1-{}",
                sha256_hex(format!("{expected} {version}").as_bytes())
            ),
        }
    }
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
        // The SHA-512 bucket is made by the first insert that needs it.
        cache.ensure_dir(&root.join(blob_bucket(Algorithm::Sha256)))?;
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

    #[cfg(test)]
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with this digest lives, whether or not it is there.
    pub(crate) fn blob_path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.to_string();
        self.root
            .join(blob_bucket(digest.algorithm()))
            .join(&hex[..2])
            .join(hex)
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
        if verify == Verify::Full && hash_file(&path, digest.algorithm()).ok()? != *digest {
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
        if let Some(bucket) = directory.parent() {
            self.ensure_dir(bucket)?;
        }
        self.ensure_dir(&directory)?;
        let final_name = expected.to_string();
        let (temp, file) =
            TempFile::create(&directory, &final_name).map_err(|e| self.io_error(e))?;
        let mut writer = BlobWriter {
            file: HashingWriter::new(
                BufWriter::with_capacity(64 * 1024, file),
                Hasher::with_sha256(expected.algorithm()),
            ),
            algorithm: expected.algorithm(),
        };
        write(&mut writer).map_err(InsertError::Source)?;
        writer.file.flush().map_err(|e| self.io_error(e))?;
        let (file, hashes) = writer.file.finish();
        drop(file);
        let written = hashes.size;
        let actual = hashes
            .get(expected.algorithm())
            .expect("the writer hashes with the expected algorithm");
        let size_ok = expected_size.is_none_or(|size| size == written);
        if actual != *expected || !size_ok {
            return Err(CacheError::HashMismatch {
                what: what.to_owned(),
                expected: Box::new(*expected),
                actual: Box::new(actual),
                expected_size,
                actual_size: written,
            }
            .into());
        }
        temp.persist(&final_path).map_err(|e| self.io_error(e))?;
        if let Some(sha256) = hashes.get(Algorithm::Sha256) {
            self.remember_sha256(expected, &sha256);
        }
        Ok(final_path)
    }

    /// Stores `bytes` under `key`, replacing any entry.
    pub(crate) fn put_keyed(
        &self,
        key: &CacheKey<'_>,
        bytes: &[u8],
    ) -> Result<PathBuf, CacheError> {
        self.put_named(&key.name(), bytes)
    }

    /// The entry stored under `key`, if there is a trustworthy one.
    pub(crate) fn get_keyed(&self, key: &CacheKey<'_>) -> Result<Option<Vec<u8>>, CacheError> {
        self.get_named(&key.name())
    }

    /// The SHA-256 the blob `digest` had when its own digest was last checked: the digest
    /// itself for a SHA-256 blob, else what [`Cache::remember_sha256`] recorded, if anything.
    pub(crate) fn known_sha256(&self, digest: &Digest) -> Option<Digest> {
        if digest.algorithm() == Algorithm::Sha256 {
            return Some(*digest);
        }
        let recorded = self.get_keyed(&CacheKey::Sha256Of { digest }).ok()??;
        let hex = String::from_utf8(recorded).ok()?;
        Digest::from_hex(Algorithm::Sha256, hex.trim()).ok()
    }

    /// Records the SHA-256 of the blob `digest` after its own digest was checked. Best effort:
    /// without the record the next use checks the stronger digest again.
    pub(crate) fn remember_sha256(&self, digest: &Digest, sha256: &Digest) {
        if digest.algorithm() == Algorithm::Sha256 {
            return;
        }
        let _ = self.put_keyed(
            &CacheKey::Sha256Of { digest },
            sha256.to_string().as_bytes(),
        );
    }

    /// Removes the blob with this digest, if it is there: a hit that failed
    /// its check on use. Best effort: the next insert replaces it anyway.
    pub(crate) fn evict(&self, digest: &Digest) {
        let _ = fs_err::remove_file(self.blob_path(digest));
    }

    /// Stores `bytes` under `key` in the keyed bucket, replacing any entry.
    fn put_named(&self, key: &str, bytes: &[u8]) -> Result<PathBuf, CacheError> {
        let path = self.keyed_path(key)?;
        let _shared = self.lock()?;
        self.write_atomic(&self.root.join(KEYED_BUCKET), key, bytes, true)?;
        Ok(path)
    }

    /// The entry stored under `key`, opened to be read in place, if there is a trustworthy one.
    pub(crate) fn open_keyed(
        &self,
        key: &CacheKey<'_>,
    ) -> Result<Option<fs_err::File>, CacheError> {
        self.open_named(&key.name())
    }

    /// The entry stored under `key`, if there is a trustworthy one. Entries
    /// carry no checksum here: a caller that needs one puts it in its format.
    fn get_named(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let Some(mut file) = self.open_named(key)? else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|error| self.io_error(error))?;
        Ok(Some(bytes))
    }

    fn open_named(&self, key: &str) -> Result<Option<fs_err::File>, CacheError> {
        let path = self.keyed_path(key)?;
        match fs_err::symlink_metadata(&path) {
            Ok(metadata) if self.trusted_file(&metadata) => {}
            Ok(_) => return Ok(None),
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(self.io_error(error)),
        }
        match fs_err::File::open(&path) {
            Ok(file) => Ok(Some(file)),
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
        for algorithm in Algorithm::STRONGEST_FIRST {
            if let Ok(entries) = fs_err::read_dir(self.root.join(blob_bucket(algorithm))) {
                directories.extend(entries.flatten().map(|entry| entry.path()));
            }
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
    #[expect(
        clippy::disallowed_types,
        reason = "mkdir with its mode, so the directory is never more open than asked; the error is given its path here"
    )]
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
    file: HashingWriter<BufWriter<fs_err::File>>,
    algorithm: Algorithm,
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Sink for BlobWriter {
    fn restart(&mut self) -> io::Result<()> {
        self.file.flush()?;
        let file = self.file.get_mut().get_mut();
        file.set_len(0)?;
        file.rewind()?;
        self.file.reset(Hasher::with_sha256(self.algorithm));
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

fn hash_file(path: &Path, algorithm: Algorithm) -> io::Result<Digest> {
    let mut file = fs_err::File::open(path)?;
    let mut hasher = Hasher::new(&[algorithm]);
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher
        .finish()
        .get(algorithm)
        .expect("the hasher computes what it was asked for"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::testing::server::{Reply, TestServer};
    use crate::transport::http::{FetchOptions, Fetcher, ProxySettings};

    fn open_temp() -> (tempfile::TempDir, Cache) {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = Cache::open(dir.path().join("cache")).expect("open cache");
        (dir, cache)
    }

    fn insert(cache: &Cache, bytes: &[u8]) -> Result<PathBuf, InsertError<io::Error>> {
        cache.insert_with(
            "test data",
            &Digest::sha256(bytes),
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
        let digest = Digest::sha256(b"hello");
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
        let keyed = cache.put_named("noble-main-amd64", b"parsed").unwrap();
        assert_eq!(mode(&keyed), 0o644);
    }

    #[test]
    fn a_mismatch_stores_nothing_and_names_both_digests() {
        let (_dir, cache) = open_temp();
        let expected = Digest::sha256(b"hello");
        let error = cache
            .insert_with("http://archive/pool/h.deb", &expected, Some(5), |w| {
                w.write_all(b"jello")
            })
            .unwrap_err();
        let InsertError::Cache(error) = error else {
            panic!("{error:?}")
        };
        let actual = Digest::sha256(b"jello");
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
        let digest = Digest::sha256(b"hello");
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
            .insert_with("x", &Digest::sha256(b"hello"), Some(5), |w| {
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
        let digest = Digest::sha256(b"hello");
        let path = insert(&cache, b"hello").unwrap();
        fs_err::set_permissions(&path, Permissions::from_mode(0o666)).unwrap();
        assert_eq!(cache.get(&digest, Some(5), Verify::Size), None);
        fs_err::remove_file(&path).unwrap();
        let elsewhere = cache.root().join("hello-elsewhere");
        fs_err::write(&elsewhere, b"hello").unwrap();
        fs_err::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        assert_eq!(cache.get(&digest, Some(5), Verify::Size), None);
        // An insert replaces the bad entry.
        insert(&cache, b"hello").unwrap();
        assert_eq!(cache.get(&digest, Some(5), Verify::Full), Some(path));
    }

    #[test]
    fn full_verification_catches_same_size_corruption() {
        let (_dir, cache) = open_temp();
        let digest = Digest::sha256(b"hello");
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
        let digest = Digest::sha256(&content);
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
        assert_eq!(cache.get_named("noble-main").unwrap(), None);
        cache.put_named("noble-main", b"one").unwrap();
        cache.put_named("noble-main", b"two").unwrap();
        assert_eq!(
            cache.get_named("noble-main").unwrap().as_deref(),
            Some(&b"two"[..])
        );
        let longest = "a".repeat(128);
        cache.put_named(&longest, b"x").unwrap();
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
            let error = cache.put_named(key, b"x").unwrap_err();
            assert!(
                matches!(error, CacheError::InvalidKey { .. }),
                "{key:?}: {error:?}"
            );
            assert!(matches!(
                cache.get_named(key),
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
        let digest = Digest::sha256(&content);
        let path = cache
            .insert_with(&url, &digest, Some(content.len() as u64), |w| {
                fetcher.fetch_to(&url, None, w, &|_, _| {}).map(drop)
            })
            .unwrap();
        assert_eq!(fs_err::read(path).unwrap(), content);
        assert_eq!(server.hits("/pool/a.deb"), 2);
    }
}
