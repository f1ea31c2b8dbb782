//! The layer: the cut root as one tar stream, compressed, hashed while it is written.
//!
//! What the disk cannot be trusted with comes from what the cut recorded ([`KnownPath`]):
//! owner and group as the package's tar header gave them, and the exact mode (a setgid bit the
//! kernel dropped because the user running kerf is not in that group is still set here).
//! Paths kerf did not record (parents it made, files of an earlier run) are root's, with their
//! mode on disk. Every mtime is the package's, clamped to the epoch; anything else gets the
//! epoch. Entries are sorted by name, so the same root gives the same bytes.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufReader, Write};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::tar::{TarHeader, TarKind, TarWriter};
use super::{Compression, KnownPath, OciError};

/// A layer as written: the digest and size of the compressed blob, and the digest of the
/// uncompressed tar (the config's `diff_id`), both lowercase hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LayerBlob {
    pub(crate) digest: String,
    pub(crate) size: u64,
    pub(crate) diff_id: String,
}

/// One path of the root, found on disk.
struct Found {
    /// The member name: relative, directories ending in `/`.
    name: Vec<u8>,
    host: PathBuf,
    metadata: std::fs::Metadata,
}

/// gzip's level: the default. On the large cut's 65 MB layer it costs about 1 s of CPU, run
/// alongside the reading of the root; the fastest level (1) saves 0.7 s of it but makes the
/// blob 27% larger (31.6 MB instead of 24.9 MB), which every pull pays again.
const GZIP_LEVEL: u32 = 6;
/// zstd's default level: smaller than gzip's default, and faster than gzip's fastest.
const ZSTD_LEVEL: i32 = 3;
/// The tar stream goes from the thread that reads the root to the one that compresses it in
/// chunks of this size, at most [`CHUNKS_IN_FLIGHT`] at a time: memory stays well under 1 MiB.
const CHUNK: usize = 64 << 10;
const CHUNKS_IN_FLIGHT: usize = 8;

/// Writes the layer of `root` to `out`, compressed as asked. One thread reads the root and
/// writes the tar (hashing it for the `diff_id`), this one compresses it (hashing the blob).
pub(crate) fn write_layer(
    root: &Path,
    known: &BTreeMap<String, KnownPath>,
    epoch: u64,
    compression: Compression,
    out: &mut dyn Write,
) -> Result<LayerBlob, OciError> {
    let mut entries = Vec::new();
    collect(root, &[], &mut entries)?;
    entries.sort_by(|a, b| a.name.cmp(&b.name));

    let write_error = |source: io::Error| OciError::Io {
        action: "write the layer of",
        path: root.to_owned(),
        source,
    };
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<u8>>(CHUNKS_IN_FLIGHT);
    std::thread::scope(|scope| {
        let producer = scope.spawn(|| write_tar(&entries, known, epoch, root, sender));
        let compressed = compress(&receiver, compression, out);
        // A failed compressor stops the producer (its next send fails): its error is the cause.
        drop(receiver);
        let produced = producer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let (digest, size) = compressed.map_err(write_error)?;
        let diff_id = produced?;
        Ok(LayerBlob {
            digest: crate::digest::hex(&digest),
            size,
            diff_id: crate::digest::hex(&diff_id),
        })
    })
}

/// Compresses the chunks as they come; returns the blob's digest and size.
fn compress(
    chunks: &std::sync::mpsc::Receiver<Vec<u8>>,
    compression: Compression,
    out: &mut dyn Write,
) -> io::Result<(Vec<u8>, u64)> {
    let mut compressed = HashingWriter::new(out);
    let mut encoder: Box<dyn FinishWrite + '_> = match compression {
        Compression::Gzip => Box::new(flate2::write::GzEncoder::new(
            &mut compressed,
            flate2::Compression::new(GZIP_LEVEL),
        )),
        Compression::Zstd => Box::new(zstd::stream::write::Encoder::new(
            &mut compressed,
            ZSTD_LEVEL,
        )?),
    };
    for chunk in chunks {
        encoder.write_all(&chunk)?;
    }
    encoder.finish_stream()?;
    let (_, digest, size) = compressed.finish_counted();
    Ok((digest, size))
}

/// Writes the tar of `entries` into chunks sent to the compressor; returns its digest.
fn write_tar(
    entries: &[Found],
    known: &BTreeMap<String, KnownPath>,
    epoch: u64,
    root: &Path,
    sender: std::sync::mpsc::SyncSender<Vec<u8>>,
) -> Result<Vec<u8>, OciError> {
    let write_error = |source: io::Error| OciError::Io {
        action: "write the layer of",
        path: root.to_owned(),
        source,
    };
    let mut tar = TarWriter::new(HashingWriter::new(ChunkSender {
        chunk: Vec::with_capacity(CHUNK),
        sender,
    }));
    // First entry of each inode with several links, by (device, inode).
    let mut first_links: HashMap<(u64, u64), Vec<u8>> = HashMap::new();
    for entry in entries {
        let header = header_of(entry, known, epoch, &mut first_links)?;
        let read_error = |source| OciError::Io {
            action: "read",
            path: entry.host.clone(),
            source,
        };
        if let TarKind::File { .. } = header.kind {
            let file = fs_err::File::open(&entry.host).map_err(read_error)?;
            tar.append(&header, &mut BufReader::new(file))
                .map_err(read_error)?;
        } else {
            tar.append(&header, &mut io::empty()).map_err(write_error)?;
        }
    }
    let plain = tar.finish().map_err(write_error)?;
    let (mut chunks, diff_id) = plain.finish();
    chunks.send_chunk().map_err(write_error)?;
    Ok(diff_id)
}

/// Collects written bytes into chunks and sends each full one to the compressor.
struct ChunkSender {
    chunk: Vec<u8>,
    sender: std::sync::mpsc::SyncSender<Vec<u8>>,
}

impl ChunkSender {
    fn send_chunk(&mut self) -> io::Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
        self.sender
            .send(chunk)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the compressor stopped"))
    }
}

impl Write for ChunkSender {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.chunk.len();
        let taken = buf.len().min(room);
        self.chunk.extend_from_slice(&buf[..taken]);
        if self.chunk.len() == CHUNK {
            self.send_chunk()?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Walks `dir` (the root, then each directory below it), collecting every entry.
fn collect(dir: &Path, prefix: &[u8], found: &mut Vec<Found>) -> Result<(), OciError> {
    let read_error = |path: &Path| {
        let path = path.to_owned();
        move |source| OciError::Io {
            action: "read",
            path,
            source,
        }
    };
    for child in fs_err::read_dir(dir).map_err(read_error(dir))? {
        let child = child.map_err(read_error(dir))?;
        let host = child.path();
        let metadata = fs_err::symlink_metadata(&host).map_err(read_error(&host))?;
        let mut name = prefix.to_vec();
        name.extend_from_slice(child.file_name().as_bytes());
        if metadata.is_dir() {
            name.push(b'/');
            collect(&host, &name, found)?;
        }
        found.push(Found {
            name,
            host,
            metadata,
        });
    }
    Ok(())
}

/// The header of one entry: kind from the disk, mode and owner from what the cut recorded.
fn header_of(
    entry: &Found,
    known: &BTreeMap<String, KnownPath>,
    epoch: u64,
    first_links: &mut HashMap<(u64, u64), Vec<u8>>,
) -> Result<TarHeader, OciError> {
    let file_type = entry.metadata.file_type();
    let kind = if file_type.is_dir() {
        TarKind::Directory
    } else if file_type.is_symlink() {
        let target = fs_err::read_link(&entry.host).map_err(|source| OciError::Io {
            action: "read the link",
            path: entry.host.clone(),
            source,
        })?;
        TarKind::Symlink {
            target: target.as_os_str().as_bytes().to_vec(),
        }
    } else if file_type.is_file() {
        let inode = (entry.metadata.dev(), entry.metadata.ino());
        match first_links.get(&inode) {
            Some(first) if entry.metadata.nlink() > 1 => TarKind::HardLink {
                target: first.clone(),
            },
            _ => {
                if entry.metadata.nlink() > 1 {
                    first_links.insert(inode, entry.name.clone());
                }
                TarKind::File {
                    size: entry.metadata.len(),
                }
            }
        }
    } else {
        return Err(OciError::Unsupported {
            path: entry.host.clone(),
        });
    };
    let key = format!(
        "/{}",
        String::from_utf8_lossy(&entry.name).trim_end_matches('/')
    );
    let recorded = known.get(&key);
    let mode = match (&kind, recorded) {
        (TarKind::Symlink { .. }, _) => 0o777,
        (_, Some(recorded)) => recorded.mode,
        (_, None) => entry.metadata.mode() & 0o7777,
    };
    let (uid, gid, user, group, mtime) = match recorded {
        Some(recorded) => (
            recorded.uid,
            recorded.gid,
            recorded.user.clone(),
            recorded.group.clone(),
            recorded.mtime.map_or(epoch, |mtime| mtime.min(epoch)),
        ),
        None => (0, 0, "root".to_owned(), "root".to_owned(), epoch),
    };
    Ok(TarHeader {
        name: entry.name.clone(),
        kind,
        mode,
        uid,
        gid,
        user,
        group,
        mtime,
    })
}

/// A compressor that must be told the stream ended.
trait FinishWrite: Write {
    fn finish_stream(self: Box<Self>) -> io::Result<()>;
}

impl<W: Write> FinishWrite for flate2::write::GzEncoder<W> {
    fn finish_stream(self: Box<Self>) -> io::Result<()> {
        (*self).finish().map(drop)
    }
}

impl<W: Write> FinishWrite for zstd::stream::write::Encoder<'_, W> {
    fn finish_stream(self: Box<Self>) -> io::Result<()> {
        (*self).finish().map(drop)
    }
}

/// Hashes (SHA-256) and counts what passes through.
pub(crate) struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// The inner writer and the digest of everything written.
    pub(crate) fn finish(self) -> (W, Vec<u8>) {
        (self.inner, self.hasher.finalize().to_vec())
    }

    /// The inner writer, the digest and the byte count.
    pub(crate) fn finish_counted(self) -> (W, Vec<u8>, u64) {
        let count = self.count;
        let (inner, digest) = self.finish();
        (inner, digest, count)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.count += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
