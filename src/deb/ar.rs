//! Members of a Unix `ar` archive, the container of a `.deb`, read as a stream.
//!
//! The format: the 8-byte magic `!<arch>\n`, then per member a 60-byte header (name 16, mtime
//! 12, uid 6, gid 6, mode 8, decimal size 10, terminator `` `\n ``) and the body, padded with one
//! byte to an even length. Names end in spaces, and GNU `ar` adds a `/`; BSD `ar` writes
//! `#1/<len>` and puts the real name in the first `<len>` bytes of the body.
//!
//! Only the name and the size matter to a `.deb` (dpkg ignores the rest too), so mtime, owner and
//! mode are not parsed. GNU symbol tables (`/`) and long-name tables (`//`) are returned as
//! ordinary members under those names, and GNU long names stay unresolved (`/123`): a `.deb`
//! has none of them, and resolving one would mean holding the table in memory.

use std::io::{self, Read};

use super::{lossy, DebError};

const MAGIC: &[u8; 8] = b"!<arch>\n";
const HEADER_LEN: usize = 60;
const TERMINATOR: &[u8; 2] = b"`\n";
const NAME_FIELD: std::ops::Range<usize> = 0..16;
const SIZE_FIELD: std::ops::Range<usize> = 48..58;
const TERMINATOR_FIELD: std::ops::Range<usize> = 58..60;

/// Longest BSD long name read into memory; the name length is attacker-chosen, and no real
/// member name comes near this.
const MAX_BSD_NAME: u64 = 4096;

/// Reads the members of an `ar` archive one after the other.
///
/// Not an [`Iterator`]: a member's body is read straight from the underlying reader, so it
/// borrows the archive until the next call to [`ArReader::next_member`], which skips whatever
/// of the previous body was left unread.
pub(crate) struct ArReader<R> {
    inner: R,
    /// Bytes consumed from `inner`, for error offsets.
    offset: u64,
    /// The member most recently returned, whose body may be partly unread.
    current: MemberInfo,
    /// Unread bytes of the current body.
    remaining: u64,
    /// Whether a padding byte follows the current body.
    padded: bool,
    /// Set when the current body ended before its declared size; sticky, because the bytes
    /// that follow are not where the headers say they are.
    truncated: bool,
}

/// What a member header said, plus where it was.
#[derive(Debug, Default)]
struct MemberInfo {
    name: Vec<u8>,
    /// Size of the body, after taking out a BSD long name.
    size: u64,
    header_offset: u64,
}

/// One member, readable until the next call to [`ArReader::next_member`].
pub(crate) struct Member<'a, R> {
    archive: &'a mut ArReader<R>,
}

impl<R: Read> ArReader<R> {
    /// Checks the magic and positions the reader before the first member header.
    pub(crate) fn new(mut inner: R) -> Result<Self, DebError> {
        let mut magic = [0u8; MAGIC.len()];
        let found = read_full(&mut inner, &mut magic)
            .map_err(|source| DebError::Io { offset: 0, source })?;
        if found < MAGIC.len() || &magic != MAGIC {
            return Err(DebError::BadMagic {
                found: lossy(&magic[..found]),
            });
        }
        Ok(Self {
            inner,
            offset: MAGIC.len() as u64,
            current: MemberInfo::default(),
            remaining: 0,
            padded: false,
            truncated: false,
        })
    }

    /// Moves to the next member, skipping the rest of the current one; `None` at the end.
    pub(crate) fn next_member(&mut self) -> Result<Option<Member<'_, R>>, DebError> {
        self.finish_member()?;

        let header_offset = self.offset;
        let mut header = [0u8; HEADER_LEN];
        let found = read_full(&mut self.inner, &mut header).map_err(|source| DebError::Io {
            offset: header_offset,
            source,
        })?;
        self.offset += found as u64;
        if found == 0 {
            return Ok(None);
        }
        if found < HEADER_LEN {
            return Err(DebError::TruncatedHeader {
                offset: header_offset,
                found,
            });
        }
        if &header[TERMINATOR_FIELD] != TERMINATOR {
            return Err(DebError::BadHeaderTerminator {
                offset: header_offset + TERMINATOR_FIELD.start as u64,
                found: lossy(&header[TERMINATOR_FIELD]),
            });
        }
        let raw_name = trim_end(&header[NAME_FIELD], b' ');
        let total_size = parse_decimal(&header[SIZE_FIELD]).ok_or_else(|| DebError::BadSize {
            offset: header_offset + SIZE_FIELD.start as u64,
            name: lossy(raw_name),
            found: lossy(trim_end(&header[SIZE_FIELD], b' ')),
        })?;

        self.current = MemberInfo {
            name: Vec::new(),
            size: total_size,
            header_offset,
        };
        self.remaining = total_size;
        self.padded = total_size % 2 == 1;

        self.current.name = match raw_name.strip_prefix(b"#1/") {
            Some(length) => self.read_bsd_name(length, header_offset)?,
            // `/` and `//` are GNU's symbol and name tables, not names with a slash added.
            None if raw_name != b"/" && raw_name != b"//" => {
                raw_name.strip_suffix(b"/").unwrap_or(raw_name).to_vec()
            }
            None => raw_name.to_vec(),
        };
        Ok(Some(Member { archive: self }))
    }

    /// Reads a BSD long name out of the start of the body; the body then starts after it.
    fn read_bsd_name(
        &mut self,
        length_field: &[u8],
        header_offset: u64,
    ) -> Result<Vec<u8>, DebError> {
        let bad = |problem| DebError::BadBsdName {
            offset: header_offset,
            found: lossy(length_field),
            problem,
        };
        let length = parse_decimal(length_field).ok_or_else(|| bad("not a decimal number"))?;
        if length > self.remaining {
            return Err(bad("longer than the member"));
        }
        if length > MAX_BSD_NAME {
            return Err(bad("longer than 4096 bytes"));
        }
        let mut name = Vec::new();
        // Through `Member::read`, so a name cut short by the end of the file is a truncation.
        let read = Member { archive: self }.take(length).read_to_end(&mut name);
        read.map_err(|source| self.read_error(source))?;
        // BSD `ar` pads the name with NULs to keep the body aligned.
        let name = trim_end(&name, 0).to_vec();
        self.current.size = self.remaining;
        Ok(name)
    }

    /// The member most recently returned by [`ArReader::next_member`], again, its body
    /// continuing where reading stopped. Lets a caller pick a member in a loop and read it
    /// afterwards, which the borrow checker refuses when the member itself leaves the loop.
    pub(crate) fn member(&mut self) -> Member<'_, R> {
        Member { archive: self }
    }

    /// Skips the unread rest of the current member and its padding.
    pub(crate) fn finish_member(&mut self) -> Result<(), DebError> {
        if self.truncated {
            return Err(self.truncation());
        }
        if self.remaining > 0 {
            let skipped = io::copy(&mut Member { archive: self }, &mut io::sink());
            skipped.map_err(|source| self.read_error(source))?;
        }
        if self.padded {
            self.padded = false;
            let mut pad = [0u8; 1];
            // A missing pad after the last member is tolerated: the next header read sees a
            // clean end of file either way.
            let found = read_full(&mut self.inner, &mut pad).map_err(|source| DebError::Io {
                offset: self.offset,
                source,
            })?;
            self.offset += found as u64;
        }
        Ok(())
    }

    /// The error for the current member's body ending early, if it did; callers check this
    /// first after a failure downstream, since a decompressor or tar reader reports the same
    /// event in its own, less precise words.
    pub(crate) fn truncation_error(&self) -> Option<DebError> {
        self.truncated.then(|| self.truncation())
    }

    fn truncation(&self) -> DebError {
        DebError::TruncatedMember {
            name: lossy(&self.current.name),
            offset: self.current.header_offset,
            size: self.current.size,
            found: self.current.size - self.remaining,
        }
    }

    /// The error for a failed body read: the truncation if that was it.
    pub(crate) fn read_error(&self, source: io::Error) -> DebError {
        self.truncation_error().unwrap_or(DebError::Io {
            offset: self.offset,
            source,
        })
    }

    /// Bytes consumed from the underlying reader so far.
    #[cfg(test)]
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }
}

impl<R> Member<'_, R> {
    /// The name with GNU's trailing `/` or BSD's `#1/` indirection resolved.
    pub(crate) fn name(&self) -> &[u8] {
        &self.archive.current.name
    }

    #[cfg(test)]
    /// The size of the body as the header declares it (less a BSD long name).
    pub(crate) fn size(&self) -> u64 {
        self.archive.current.size
    }
}

impl<R: Read> Read for Member<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let archive = &mut *self.archive;
        if archive.truncated {
            return Err(truncated_io_error());
        }
        if archive.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(archive.remaining)
            .map_or(buf.len(), |remaining| remaining.min(buf.len()));
        let found = archive.inner.read(&mut buf[..want])?;
        if found == 0 {
            archive.truncated = true;
            return Err(truncated_io_error());
        }
        archive.offset += found as u64;
        archive.remaining -= found as u64;
        Ok(found)
    }
}

/// The `io::Error` a body read fails with when the file ends early; the precise
/// [`DebError::TruncatedMember`] comes from [`ArReader::truncation_error`].
fn truncated_io_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "ar member ends before its declared size",
    )
}

/// Reads until `buf` is full or the reader is exhausted; returns how much was read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

fn trim_end(bytes: &[u8], pad: u8) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|&byte| byte != pad)
        .map_or(0, |last| last + 1);
    &bytes[..end]
}

/// Digits then optional space padding, as `ar` writes numbers; anything else is malformed.
fn parse_decimal(field: &[u8]) -> Option<u64> {
    let digits = trim_end(field, b' ');
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |value, &digit| {
        value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })
}
