//! The `.deb` container, read as a stream from any [`Read`], with no filesystem access.
//!
//! A `.deb` is an `ar` archive ([`ar`]): `debian-binary` first (the format version, `2.0`), then
//! `control.tar*` (package metadata), then `data.tar*` (the files). Both tarballs are compressed
//! as their member's suffix says: none, `.gz`, `.xz` or `.zst`.
//!
//! Everything here treats the package as hostile: sizes come from headers but are never trusted
//! for allocation, a body that ends early is reported as truncated rather than as whatever the
//! decompressor makes of it, and the total a tarball may expand to is capped (a few kilobytes of
//! zstd can expand to terabytes). Entry names and link targets are handed out as raw bytes:
//! turning them into paths in a root is the caller's job, and the caller's risk.

pub(crate) mod ar;
#[cfg(test)]
mod tests;

use std::io::{self, BufRead, BufReader, Read};

use tar::{EntryType, PaxExtensions};

use ar::ArReader;

use crate::readahead::{read_ahead, Ahead};

/// How far a `data.tar` or `control.tar` may expand unless the caller says otherwise; the
/// largest Ubuntu packages unpack to a few hundred megabytes.
pub(crate) const DEFAULT_EXPANSION_LIMIT: u64 = 4 << 30;

/// Cap on the `control` file, far above any real one (tens of kilobytes at most).
const CONTROL_FILE_LIMIT: u64 = 1 << 20;

/// Cap on the `md5sums` file: a line per file, and the largest packages ship tens of thousands.
const MD5SUMS_FILE_LIMIT: u64 = 16 << 20;

/// Cap on GNU long-name and PAX header entries, which must be held in memory; real names stay
/// under `PATH_MAX` (4096).
const TAR_METADATA_LIMIT: u64 = 1 << 20;

/// Memory the xz decoder may use. `xz -9` needs 65 MiB; a stream declaring a larger dictionary
/// would otherwise make liblzma allocate whatever it asks for.
const XZ_MEMORY_LIMIT: u64 = 256 << 20;

/// `debian-binary` holds `2.0\n`; reading more than this of it is pointless.
const VERSION_LIMIT: u64 = 64;

/// Why a `.deb` could not be read. Names and other bytes from the package are quoted with
/// control characters escaped, since they may be hostile.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DebError {
    #[error("not an ar archive: expected \"!<arch>\\n\" at offset 0, found {found:?}")]
    BadMagic { found: String },
    #[error("ar header at offset {offset} is truncated: expected 60 bytes, found {found}")]
    TruncatedHeader { offset: u64, found: usize },
    #[error("ar header field at offset {offset} should be \"`\\n\", found {found:?}")]
    BadHeaderTerminator { offset: u64, found: String },
    #[error(
        "ar member {name:?} has a malformed size at offset {offset}: expected a decimal number, found {found:?}"
    )]
    BadSize {
        offset: u64,
        name: String,
        found: String,
    },
    #[error("ar member at offset {offset} has a malformed BSD name length {found:?}: {problem}")]
    BadBsdName {
        offset: u64,
        found: String,
        problem: &'static str,
    },
    #[error("ar member {name:?} at offset {offset} is truncated: header says {size} bytes, found {found}")]
    TruncatedMember {
        name: String,
        offset: u64,
        size: u64,
        found: u64,
    },
    #[error("cannot read ar archive at offset {offset}: {}", chain(.source))]
    Io { offset: u64, source: io::Error },
    #[error("ar archive is empty, expected a \"debian-binary\" member first")]
    Empty,
    #[error("first ar member is {found:?}, expected \"debian-binary\"")]
    NotDebianBinary { found: String },
    #[error("unsupported .deb format version {found:?}, expected 2.x")]
    BadFormatVersion { found: String },
    #[error("unsupported {archive} compression {compression}")]
    UnsupportedCompression {
        archive: &'static str,
        compression: String,
    },
    #[error("no data payload")]
    NoDataPayload,
    #[error("no control payload")]
    NoControlPayload,
    #[error("{member} has no control file")]
    NoControlFile { member: String },
    #[error("control file is {size} bytes, more than the limit of {limit}")]
    ControlTooLarge { size: u64, limit: u64 },
    #[error("control file is not valid UTF-8")]
    ControlNotUtf8,
    #[error("{archive} expands past the limit of {limit} bytes")]
    TooLarge { archive: &'static str, limit: u64 },
    #[error("cannot read {member}: {}", chain(.source))]
    Tar { member: String, source: io::Error },
    #[error("{member} entry {entry:?} has a malformed mode field {found:?}")]
    BadMode {
        member: String,
        entry: String,
        found: String,
    },
    #[error("{member} entry {entry:?}: {problem}")]
    BadEntry {
        member: String,
        entry: String,
        problem: &'static str,
    },
}

/// An `io::Error`'s message with its causes: the tar crate wraps the interesting error in one
/// whose own message is only "failed to iterate over archive".
fn chain(error: &io::Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(error) = cause {
        text.push_str(": ");
        text.push_str(&error.to_string());
        cause = error.source();
    }
    text
}

/// Bytes from the package as text for an error message; quote it with `{:?}`.
fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// How a tarball member is compressed, from its name's suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gz,
    Xz,
    Zst,
}

impl Compression {
    /// The suffix after `data.tar` or `control.tar`.
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Gz => ".gz",
            Self::Xz => ".xz",
            Self::Zst => ".zst",
        }
    }

    /// Whether `name` is the member `stem` (`data.tar`, `control.tar`) and how it is compressed;
    /// `None` for other members, an error for a compression we cannot read.
    fn of_member(name: &[u8], stem: &'static str) -> Option<Result<Self, DebError>> {
        let suffix = name.strip_prefix(stem.as_bytes())?;
        let known = [Self::None, Self::Gz, Self::Xz, Self::Zst];
        if let Some(found) = known
            .into_iter()
            .find(|known| known.suffix().as_bytes() == suffix)
        {
            return Some(Ok(found));
        }
        // `data.tarball` is some other member; `data.tar.bz2` is this one, unreadable.
        let extension = suffix.strip_prefix(b".")?;
        Some(Err(DebError::UnsupportedCompression {
            archive: stem,
            compression: lossy(extension),
        }))
    }
}

/// What a `data.tar` entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Directory,
    File,
    Symlink {
        target: Vec<u8>,
    },
    /// `target` is another entry's name, spelled as in the archive (usually `./…`).
    HardLink {
        target: Vec<u8>,
    },
    /// The tar type flag of anything else: `'3'` char device, `'4'` block device, `'6'` fifo,
    /// `'S'` GNU sparse file (dpkg refuses those too, and reading one as a plain file would
    /// dodge the expansion limit, since tar synthesises the holes).
    Other(char),
}

/// One entry of a `data.tar`, valid during one call of the visitor.
pub(crate) struct DataEntry<'a> {
    name: Vec<u8>,
    kind: EntryKind,
    mode: u32,
    size: u64,
    owner: TarOwner,
    content: &'a mut dyn Read,
}

/// Who owns an entry and when it was last changed, as its tar header (and PAX `uid`, `gid`,
/// `uname`, `gname`, `mtime`) says: what an image layer records instead of the disk's owner.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TarOwner {
    pub(crate) uid: u64,
    pub(crate) gid: u64,
    pub(crate) user: String,
    pub(crate) group: String,
    /// Seconds since the epoch; fractions and negative times are dropped.
    pub(crate) mtime: u64,
}

impl DataEntry<'_> {
    /// The name as stored, after GNU long names and PAX `path`: usually `./usr/bin/x`, with a
    /// trailing `/` on directories. Not validated in any way.
    pub(crate) fn name(&self) -> &[u8] {
        &self.name
    }

    pub(crate) fn kind(&self) -> &EntryKind {
        &self.kind
    }

    /// Permission bits including setuid, setgid and sticky (`0o7777` at most); file type bits
    /// some writers add are dropped, since [`Self::kind`] says that.
    pub(crate) fn mode(&self) -> u32 {
        self.mode
    }

    /// Bytes of content the header declares; what [`Read`] yields for a file.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Owner, group and mtime from the header.
    pub(crate) fn owner(&self) -> &TarOwner {
        &self.owner
    }
}

impl std::fmt::Debug for DataEntry<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DataEntry")
            .field("name", &lossy(&self.name))
            .field("kind", &self.kind)
            .field("mode", &format_args!("{:#o}", self.mode))
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// The content. Reading is optional: whatever is left unread is skipped (and still counts
/// against the expansion limit).
impl Read for DataEntry<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.content.read(buf)
    }
}

/// Reads one `.deb`: checks `debian-binary` on construction, then either walks the `data.tar`
/// entries or returns the `control` file. One pass over the input each, so reading both means
/// reading the package twice.
pub(crate) struct DebReader<R> {
    archive: ArReader<R>,
    limit: u64,
}

impl<R: Read + Send> DebReader<R> {
    /// Reads up to the end of `debian-binary`, which must be the first member and say `2.x`.
    pub(crate) fn new(reader: R) -> Result<Self, DebError> {
        let mut archive = ArReader::new(reader)?;
        let member = archive.next_member()?.ok_or(DebError::Empty)?;
        if member.name() != b"debian-binary" {
            return Err(DebError::NotDebianBinary {
                found: lossy(member.name()),
            });
        }
        let mut version = Vec::new();
        if let Err(source) = member.take(VERSION_LIMIT).read_to_end(&mut version) {
            return Err(archive.read_error(source));
        }
        if !version.starts_with(b"2.") {
            let first_line = version
                .split(|&byte| byte == b'\n')
                .next()
                .unwrap_or_default();
            return Err(DebError::BadFormatVersion {
                found: lossy(first_line),
            });
        }
        Ok(Self {
            archive,
            limit: DEFAULT_EXPANSION_LIMIT,
        })
    }

    #[cfg(any(test, feature = "fuzzing"))]
    /// Caps how many bytes a tarball may decompress to (default [`DEFAULT_EXPANSION_LIMIT`]).
    pub(crate) fn with_expansion_limit(mut self, limit: u64) -> Self {
        self.limit = limit;
        self
    }

    /// Calls `visit` for each entry of the first `data.tar*` member, in archive order, then skips
    /// the rest of that member so its full length is checked. Members after it are not read:
    /// a caller hashing the whole file must drain the underlying reader afterwards.
    ///
    /// If the input ended early or expanded past the limit, that error is returned even when it
    /// reached `visit` first (through [`DataEntry`]'s `read`), since it is the real cause.
    pub(crate) fn for_each_entry<E, F>(self, mut visit: F) -> Result<(), E>
    where
        E: From<DebError>,
        F: FnMut(DataEntry<'_>) -> Result<(), E>,
    {
        let Self { mut archive, limit } = self;
        let (member, compression) =
            find_payload(&mut archive, "data.tar", DebError::NoDataPayload)?;
        let walked = with_tar(
            &mut archive,
            &member,
            compression,
            "data.tar",
            limit,
            |tar| walk(tar, &member, &mut visit),
        );
        walked.map_err(|stop| match stop {
            Stop::Visitor(error) => error,
            Stop::Deb(error) => E::from(error),
        })
    }

    /// The text of the `control` file in `control.tar*`.
    pub(crate) fn control(self) -> Result<String, DebError> {
        Ok(self.control_files(false)?.0)
    }

    /// The `control` file and, when the package has one, the `md5sums` file (dpkg copies it to
    /// its database as the package's file list), in one pass over `control.tar*`.
    pub(crate) fn control_and_md5sums(self) -> Result<(String, Option<String>), DebError> {
        self.control_files(true)
    }

    fn control_files(self, md5sums: bool) -> Result<(String, Option<String>), DebError> {
        let Self { mut archive, limit } = self;
        let (member, compression) =
            find_payload(&mut archive, "control.tar", DebError::NoControlPayload)?;
        let mut control = None;
        let mut sums = None;
        let walked = with_tar(
            &mut archive,
            &member,
            compression,
            "control.tar",
            limit,
            |tar| {
                walk(tar, &member, &mut |mut entry: DataEntry<'_>| {
                    if entry.kind != EntryKind::File {
                        return Ok(());
                    }
                    let (slot, cap) = match entry.name() {
                        b"./control" | b"control" => (&mut control, CONTROL_FILE_LIMIT),
                        b"./md5sums" | b"md5sums" if md5sums => (&mut sums, MD5SUMS_FILE_LIMIT),
                        _ => return Ok(()),
                    };
                    if slot.is_some() {
                        return Ok(());
                    }
                    if entry.size > cap {
                        if cap == MD5SUMS_FILE_LIMIT {
                            // Only an aid: without it, every file is hashed from the disk.
                            return Ok(());
                        }
                        return Err(DebError::ControlTooLarge {
                            size: entry.size,
                            limit: cap,
                        });
                    }
                    let mut text = Vec::new();
                    let read = entry.by_ref().take(cap).read_to_end(&mut text);
                    read.map_err(|source| DebError::Tar {
                        member: member.clone(),
                        source,
                    })?;
                    *slot = Some(text);
                    Ok(())
                })
            },
        );
        walked.map_err(|stop| match stop {
            Stop::Visitor(error) | Stop::Deb(error) => error,
        })?;
        let control = control.ok_or(DebError::NoControlFile { member })?;
        let control = String::from_utf8(control).map_err(|_| DebError::ControlNotUtf8)?;
        // A file list that is not UTF-8 (a package with Latin-1 file names) is not used.
        let sums = sums.and_then(|bytes| String::from_utf8(bytes).ok());
        Ok((control, sums))
    }
}

#[cfg(test)]
/// Walks the `data.tar` entries of the `.deb` in `reader`; see [`DebReader::for_each_entry`].
pub(crate) fn for_each_entry<R, E, F>(reader: R, visit: F) -> Result<(), E>
where
    R: Read + Send,
    E: From<DebError>,
    F: FnMut(DataEntry<'_>) -> Result<(), E>,
{
    DebReader::new(reader)?.for_each_entry(visit)
}

#[cfg(test)]
/// The `control` file of the `.deb` in `reader`; see [`DebReader::control`].
pub(crate) fn control(reader: impl Read + Send) -> Result<String, DebError> {
    DebReader::new(reader)?.control()
}

/// Skips to the first member called `stem` plus a compression suffix; returns its name and
/// compression. Anything else on the way is skipped, as dpkg skips `_`-prefixed members and
/// chisel skips everything.
fn find_payload<R: Read>(
    archive: &mut ArReader<R>,
    stem: &'static str,
    missing: DebError,
) -> Result<(String, Compression), DebError> {
    loop {
        let Some(member) = archive.next_member()? else {
            return Err(missing);
        };
        if let Some(compression) = Compression::of_member(member.name(), stem) {
            return Ok((lossy(member.name()), compression?));
        }
    }
}

/// Why a walk stopped: the visitor's own error, or something wrong with the package.
enum Stop<E> {
    Visitor(E),
    Deb(DebError),
}

type TarReader<'a> = Limited<&'a mut Ahead>;

/// Runs `f` over the current member as a tarball, then makes sure the member is complete.
/// The member is decompressed on a thread of its own ([`crate::readahead`]) while `f` reads
/// the entries: for a cut, decompressing and writing files take two cores instead of one.
///
/// When `f` fails, a truncated member or a tripped expansion limit replaces its error: both
/// surface downstream as a vague decompression, tar or visitor error.
fn with_tar<R: Read + Send, T, E>(
    archive: &mut ArReader<R>,
    member: &str,
    compression: Compression,
    stream: &'static str,
    limit: u64,
    f: impl FnOnce(&mut tar::Archive<TarReader<'_>>) -> Result<T, Stop<E>>,
) -> Result<T, Stop<E>> {
    let body = BufReader::new(archive.member());
    let result = match Decoder::new(body, compression) {
        Ok(decoder) => read_ahead(
            decoder,
            |_: &[u8]| {},
            |ahead| {
                let mut tar = tar::Archive::new(Limited::new(ahead, limit, stream));
                let result = f(&mut tar);
                let exceeded = tar.into_inner().exceeded;
                result.map_err(|stop| (stop, exceeded))
            },
        ),
        Err(source) => Err((
            Stop::Deb(DebError::Tar {
                member: member.to_owned(),
                source,
            }),
            false,
        )),
    };
    match result {
        Ok(value) => {
            archive.finish_member().map_err(Stop::Deb)?;
            Ok(value)
        }
        Err((stop, exceeded)) => {
            let cause = archive.truncation_error().or_else(|| {
                exceeded.then_some(DebError::TooLarge {
                    archive: stream,
                    limit,
                })
            });
            Err(cause.map_or(stop, Stop::Deb))
        }
    }
}

/// Metadata entries that describe the next real entry.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<Vec<u8>>,
    /// Header name of the latest of them, to name in an error.
    header_name: Vec<u8>,
}

/// Calls `visit` for each real entry of `tar`, applying GNU long names and PAX headers.
///
/// The tar crate can do that itself, but it reads those entries whole into memory, whatever
/// their size; in raw mode they come to us and are capped. The cost: a PAX `size` cannot be
/// applied (the crate has already decided how much to skip), so one that disagrees with the
/// header is refused.
fn walk<R: Read, E>(
    tar: &mut tar::Archive<R>,
    member: &str,
    visit: &mut dyn FnMut(DataEntry<'_>) -> Result<(), E>,
) -> Result<(), Stop<E>> {
    let tar_error = |source| {
        Stop::Deb(DebError::Tar {
            member: member.to_owned(),
            source,
        })
    };
    let bad_entry = |entry: &[u8], problem| {
        Stop::Deb(DebError::BadEntry {
            member: member.to_owned(),
            entry: lossy(entry),
            problem,
        })
    };
    let mut pending = Pending::default();
    for entry in tar.entries().map_err(tar_error)?.raw(true) {
        let mut entry = entry.map_err(tar_error)?;
        let entry_type = entry.header().entry_type();
        let slot = match entry_type {
            EntryType::GNULongName => Some(&mut pending.long_name),
            EntryType::GNULongLink => Some(&mut pending.long_link),
            EntryType::XHeader => Some(&mut pending.pax),
            _ => None,
        };
        if let Some(slot) = slot {
            if slot.is_some() {
                return Err(bad_entry(
                    &entry.path_bytes(),
                    "two metadata entries of one kind for one entry",
                ));
            }
            if entry.size() > TAR_METADATA_LIMIT {
                return Err(bad_entry(
                    &entry.path_bytes(),
                    "metadata entry longer than 1 MiB",
                ));
            }
            let mut value = Vec::new();
            entry.read_to_end(&mut value).map_err(tar_error)?;
            *slot = Some(value);
            pending.header_name = entry.path_bytes().into_owned();
            continue;
        }
        if entry_type == EntryType::XGlobalHeader {
            // Defaults for all later entries (mtime, owner, charset): nothing a slice uses.
            continue;
        }

        let Pending {
            long_name,
            long_link,
            pax,
            header_name: _,
        } = std::mem::take(&mut pending);
        let mut pax_path = None;
        let mut pax_link = None;
        let mut owner = header_owner(entry.header());
        for extension in PaxExtensions::new(pax.as_deref().unwrap_or_default()) {
            let extension =
                extension.map_err(|_| bad_entry(&entry.path_bytes(), "malformed PAX header"))?;
            match extension.key_bytes() {
                b"path" => pax_path = Some(extension.value_bytes().to_vec()),
                b"linkpath" => pax_link = Some(extension.value_bytes().to_vec()),
                b"uid" | b"gid" | b"uname" | b"gname" | b"mtime" => {
                    owner.apply_pax(extension.key_bytes(), extension.value_bytes());
                }
                b"size" if parse_u64(extension.value_bytes()) != Some(entry.size()) => {
                    return Err(bad_entry(
                        &entry.path_bytes(),
                        "PAX size differs from the tar header",
                    ));
                }
                key if key.starts_with(b"GNU.sparse.") => {
                    return Err(bad_entry(
                        &entry.path_bytes(),
                        "sparse files are not supported",
                    ));
                }
                _ => {}
            }
        }
        // GNU tar reads long names as C strings: the name ends at the first NUL.
        let until_nul = |bytes: Vec<u8>| match bytes.iter().position(|&byte| byte == 0) {
            Some(end) => bytes[..end].to_vec(),
            None => bytes,
        };
        let name = long_name
            .map(until_nul)
            .or(pax_path)
            .unwrap_or_else(|| entry.path_bytes().into_owned());
        let target = || {
            long_link
                .map(until_nul)
                .or(pax_link)
                .or_else(|| entry.link_name_bytes().map(|target| target.into_owned()))
                .unwrap_or_default()
        };
        let kind = match entry_type {
            EntryType::Regular | EntryType::Continuous => EntryKind::File,
            EntryType::Directory => EntryKind::Directory,
            EntryType::Symlink => EntryKind::Symlink { target: target() },
            EntryType::Link => EntryKind::HardLink { target: target() },
            other => EntryKind::Other(char::from(other.as_byte())),
        };
        let mode = entry.header().mode().map_err(|_| {
            Stop::Deb(DebError::BadMode {
                member: member.to_owned(),
                entry: lossy(&name),
                found: lossy(&entry.header().as_old().mode),
            })
        })?;
        let size = entry.size();
        visit(DataEntry {
            name,
            kind,
            mode: mode & 0o7777,
            size,
            owner,
            content: &mut entry,
        })
        .map_err(Stop::Visitor)?;
    }
    if pending.long_name.is_some() || pending.long_link.is_some() || pending.pax.is_some() {
        return Err(bad_entry(
            &pending.header_name,
            "metadata entry at the end of the archive describes nothing",
        ));
    }
    Ok(())
}

/// The ustar (or GNU) owner fields; a field that does not parse counts as 0 or empty, since
/// nothing but an image layer reads them.
fn header_owner(header: &tar::Header) -> TarOwner {
    let name = |bytes: Option<&[u8]>| bytes.map(lossy).unwrap_or_default();
    TarOwner {
        uid: header.uid().unwrap_or(0),
        gid: header.gid().unwrap_or(0),
        user: name(header.username_bytes()),
        group: name(header.groupname_bytes()),
        mtime: header.mtime().unwrap_or(0),
    }
}

impl TarOwner {
    /// A PAX record overriding a header field (ids above 2097151 and long names need one).
    fn apply_pax(&mut self, key: &[u8], value: &[u8]) {
        match key {
            b"uid" => self.uid = parse_u64(value).unwrap_or(self.uid),
            b"gid" => self.gid = parse_u64(value).unwrap_or(self.gid),
            b"uname" => self.user = lossy(value),
            b"gname" => self.group = lossy(value),
            b"mtime" => {
                let seconds = value.split(|&byte| byte == b'.').next().unwrap_or_default();
                self.mtime = parse_u64(seconds).unwrap_or(self.mtime);
            }
            _ => {}
        }
    }
}

fn parse_u64(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// A decompressor chosen by member suffix.
enum Decoder<R: BufRead> {
    Plain(R),
    Gz(flate2::bufread::MultiGzDecoder<R>),
    Xz(liblzma::bufread::XzDecoder<R>),
    Zst(zstd::Decoder<'static, R>),
}

impl<R: BufRead> Decoder<R> {
    fn new(reader: R, compression: Compression) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Self::Plain(reader),
            // Multi-member, like `gzip -d` and dpkg: a concatenation is one stream.
            Compression::Gz => Self::Gz(flate2::bufread::MultiGzDecoder::new(reader)),
            Compression::Xz => {
                let stream = liblzma::stream::Stream::new_stream_decoder(
                    XZ_MEMORY_LIMIT,
                    liblzma::stream::CONCATENATED,
                )?;
                Self::Xz(liblzma::bufread::XzDecoder::new_stream(reader, stream))
            }
            // zstd's default window cap (128 MiB) already bounds the decoder's memory.
            Compression::Zst => Self::Zst(zstd::Decoder::with_buffer(reader)?),
        })
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(reader) => reader.read(buf),
            Self::Gz(reader) => reader.read(buf),
            Self::Xz(reader) => reader.read(buf),
            Self::Zst(reader) => reader.read(buf),
        }
    }
}

/// Fails once more than `limit` bytes have come through; remembers that it did, so the caller
/// can report the limit whoever saw the error first.
struct Limited<R> {
    inner: R,
    limit: u64,
    read: u64,
    exceeded: bool,
    stream: &'static str,
}

impl<R> Limited<R> {
    fn new(inner: R, limit: u64, stream: &'static str) -> Self {
        Self {
            inner,
            limit,
            read: 0,
            exceeded: false,
            stream,
        }
    }

    fn error(&self) -> io::Error {
        io::Error::other(DebError::TooLarge {
            archive: self.stream,
            limit: self.limit,
        })
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.exceeded {
            return Err(self.error());
        }
        // One byte past the limit is allowed through to tell "exactly the limit" from "more".
        let allowed = (self.limit - self.read).saturating_add(1);
        let want = usize::try_from(allowed).map_or(buf.len(), |allowed| allowed.min(buf.len()));
        let found = self.inner.read(&mut buf[..want])?;
        self.read += found as u64;
        if self.read > self.limit {
            self.exceeded = true;
            return Err(self.error());
        }
        Ok(found)
    }
}
