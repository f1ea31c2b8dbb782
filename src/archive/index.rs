//! The signed `InRelease` body and the `Packages` indexes it vouches for.
//!
//! A `Packages` index runs to 73 MB for Ubuntu's universe, yet a cut needs a handful of its
//! stanzas. It is read as a stream, one paragraph at a time, and reduced to a compact sorted
//! table of the six fields kerf uses; that table is what the cache keeps, so a warm cut reads a
//! few megabytes and parses nothing.

use std::collections::BTreeMap;
use std::io::BufRead;

use crate::digest::{Algorithm, Digest, DigestError};

use super::control::{classify_line, paragraphs, parse_file_list, ControlError, LineKind};

use super::version::Version;

/// Why an `InRelease` body or a `Packages` index was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IndexError {
    #[error("cannot parse the InRelease file of suite {suite}: {source}")]
    ReleaseSyntax { suite: String, source: ControlError },
    #[error("the InRelease file of suite {suite} has no {field} field")]
    ReleaseField { suite: String, field: &'static str },
    #[error("the InRelease file of suite {suite} lists neither SHA512 nor SHA256 digests (MD5Sum and SHA1 are not trusted)")]
    NoTrustedDigests { suite: String },
    #[error("the InRelease file of suite {suite} gives {path} an invalid digest: {source}")]
    ReleaseDigest {
        suite: String,
        path: String,
        source: DigestError,
    },
    #[error("the InRelease file is for suite {found:?}, not {expected:?} (a mirror serving the wrong file, or a replay)")]
    WrongSuite { expected: String, found: String },
    #[error("the InRelease file expired on {until} (its Valid-Until): the mirror is out of date, or replays an old file; cut anyway with --ignore=release-dates")]
    Expired { until: String },
    #[error("the InRelease file is dated {date}, in the future: check this machine's clock, or cut anyway with --ignore=release-dates")]
    FromTheFuture { date: String },
    #[error("cannot read the Packages index {what}: {source}")]
    Read {
        what: String,
        source: std::io::Error,
    },
    #[error("cannot parse the Packages index {what}: line {line} is not a field: {content:?}")]
    Syntax {
        what: String,
        line: usize,
        content: String,
    },
    #[error(
        "the Packages index {what} has a stanza for {package:?} without a valid {field} field"
    )]
    Stanza {
        what: String,
        package: String,
        field: &'static str,
    },
}

/// What a verified `InRelease` says about its suite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ReleaseInfo {
    pub(crate) suite: String,
    pub(crate) codename: String,
    pub(crate) label: String,
    pub(crate) date: String,
    pub(crate) valid_until: Option<String>,
    pub(crate) architectures: Vec<String>,
    pub(crate) components: Vec<String>,
    /// Path below `dists/<suite>/` → its size and strongest signed digest.
    pub(crate) files: BTreeMap<String, SignedFile>,
    /// `Acquire-By-Hash: yes`: indexes are also published under `by-hash/<ALGO>/<digest>`,
    /// which stay valid while the archive publishes the next ones.
    pub(crate) by_hash: bool,
}

/// A file an InRelease lists: its size and the strongest digest it gives for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SignedFile {
    pub(crate) size: u64,
    pub(crate) digest: Digest,
}

impl ReleaseInfo {
    /// Parses a verified InRelease body and checks that it is for `suite`: apt clients that skip
    /// this check can be fed another suite's (or an old) signed file.
    pub(crate) fn parse(text: &str, suite: &str) -> Result<ReleaseInfo, IndexError> {
        let syntax = |source| IndexError::ReleaseSyntax {
            suite: suite.to_owned(),
            source,
        };
        let paragraph = paragraphs(text)
            .next()
            .transpose()
            .map_err(syntax)?
            .ok_or_else(|| IndexError::ReleaseField {
                suite: suite.to_owned(),
                field: "Suite",
            })?;
        let field = |name: &'static str| paragraph.get(name).map(|value| value.trim().to_owned());
        let required = |name: &'static str| {
            field(name).ok_or_else(|| IndexError::ReleaseField {
                suite: suite.to_owned(),
                field: name,
            })
        };
        let found_suite = required("Suite")?;
        let codename = field("Codename").unwrap_or_default();
        // A codename names a suite too (Debian's `bookworm` is Suite `stable`), but Ubuntu's
        // pockets share their release's codename: `noble-updates` says `Codename: noble`, and
        // must not pass for `noble` (a replay the Packages digests would only catch later).
        let pocket_of_it = found_suite.starts_with(&format!("{suite}-"));
        if found_suite != suite && (codename != suite || pocket_of_it) {
            return Err(IndexError::WrongSuite {
                expected: suite.to_owned(),
                found: found_suite,
            });
        }
        let words = |value: Option<String>| -> Vec<String> {
            value
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        };
        // The strongest list the file signs; MD5Sum and SHA1 are never trusted.
        let mut files = BTreeMap::new();
        for algorithm in Algorithm::STRONGEST_FIRST.iter().rev() {
            let Some(list) = field(algorithm.field()) else {
                continue;
            };
            for entry in parse_file_list(&list).map_err(syntax)? {
                let digest = Digest::from_hex(*algorithm, entry.digest).map_err(|source| {
                    IndexError::ReleaseDigest {
                        suite: suite.to_owned(),
                        path: entry.path.to_owned(),
                        source,
                    }
                })?;
                files.insert(
                    entry.path.to_owned(),
                    SignedFile {
                        size: entry.size,
                        digest,
                    },
                );
            }
        }
        if files.is_empty() {
            return Err(IndexError::NoTrustedDigests {
                suite: suite.to_owned(),
            });
        }
        Ok(ReleaseInfo {
            suite: found_suite,
            codename,
            label: field("Label").unwrap_or_default(),
            date: field("Date").unwrap_or_default(),
            valid_until: field("Valid-Until"),
            architectures: words(field("Architectures")),
            components: words(field("Components")),
            files,
            by_hash: field("Acquire-By-Hash")
                .is_some_and(|value| value.eq_ignore_ascii_case("yes")),
        })
    }
}

/// How far in the future a `Date` may be before it is refused: clocks drift.
const CLOCK_SKEW_SECONDS: i64 = 600;

impl ReleaseInfo {
    /// Whether the suite carries `component`. Debian's security archive lists its components
    /// as `updates/main`, `updates/contrib`..., a name left from its old layout, while its
    /// indexes are at `main/...` and sources (apt's and a release's) say `main`: that counts.
    pub(crate) fn has_component(&self, component: &str) -> bool {
        self.components
            .iter()
            .any(|listed| listed == component || listed.strip_prefix("updates/") == Some(component))
    }

    /// Refuses a file past its `Valid-Until`, or dated in the future, at `now` (seconds since
    /// the epoch), as apt does: an attacker or a stale mirror replaying an old signed file is
    /// caught by the first, a broken clock by the second. Dates that do not parse are not
    /// judged.
    pub(crate) fn check_dates(&self, now: i64) -> Result<(), IndexError> {
        if let Some(until) = &self.valid_until {
            if parse_release_date(until).is_some_and(|until| until < now) {
                return Err(IndexError::Expired {
                    until: until.clone(),
                });
            }
        }
        if parse_release_date(&self.date).is_some_and(|date| date > now + CLOCK_SKEW_SECONDS) {
            return Err(IndexError::FromTheFuture {
                date: self.date.clone(),
            });
        }
        Ok(())
    }
}

/// Seconds since the epoch of a Release-file date (RFC 2822, as apt writes it:
/// `Sat, 21 Nov 2026  9:52:04 UTC`), or `None`.
pub(crate) fn parse_release_date(text: &str) -> Option<i64> {
    let mut words = text.split_whitespace().peekable();
    if words.peek().is_some_and(|word| word.ends_with(',')) {
        words.next();
    }
    let day: u8 = words.next()?.parse().ok()?;
    let month = match words.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u16 = words.next()?.parse().ok()?;
    let date = crate::release::Date::parse(&format!("{year:04}-{month:02}-{day:02}"))?;
    let mut clock = words.next()?.split(':');
    let mut part = |limit: i64| -> Option<i64> {
        let value: i64 = clock.next()?.parse().ok()?;
        (0..limit).contains(&value).then_some(value)
    };
    let (hours, minutes, seconds) = (part(24)?, part(60)?, part(61)?);
    let offset = match words.next().unwrap_or("UTC") {
        "UTC" | "GMT" | "Z" => 0,
        zone => {
            let (sign, digits) = match zone.split_at_checked(1)? {
                ("+", digits) => (1, digits),
                ("-", digits) => (-1, digits),
                _ => return None,
            };
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hours: i64 = digits[..2].parse().ok()?;
            let minutes: i64 = digits[2..].parse().ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    Some(date.days_since_epoch() * 86_400 + hours * 3600 + minutes * 60 + seconds - offset)
}

/// One package as an index lists it, reduced to what a cut needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PackageInfo {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) arch: String,
    /// Path of the .deb below the archive's base URL.
    pub(crate) filename: String,
    pub(crate) size: u64,
    /// The strongest digest the stanza gives (SHA512, else SHA256).
    pub(crate) digest: Digest,
}

/// A `Packages` index as a sorted table, one line per package:
/// `name \t version \t arch \t filename \t size \t digest`, the digest's length telling its
/// algorithm. Lookups binary-search the text: in memory when the index was parsed in this run,
/// else in the cache's file, a few lines at a time (a cut looks up a handful of the 60 000
/// names of Ubuntu's universe: reading its 16 MB table whole was most of a warm cut's I/O).
#[derive(Debug)]
pub(crate) struct PackageIndex {
    table: Table,
}

#[derive(Debug)]
enum Table {
    Text(String),
    Stored(StoredTable),
}

/// A table in the cache, read where a lookup needs it.
#[derive(Debug)]
struct StoredTable {
    file: fs_err::File,
    len: u64,
}

/// Bytes read around a probe of a stored table: a few table lines (about 250 bytes each with a
/// SHA-512), doubled while the line is longer.
const PROBE_WINDOW: u64 = 1024;

impl StoredTable {
    /// The whole line around byte `at` (`at < len`): its start, its end (the `\n`, or `len`), and
    /// its text.
    fn line_around(&self, at: u64) -> std::io::Result<(u64, u64, String)> {
        self.read_line_around(at).map_err(|error| {
            std::io::Error::new(
                error.kind(),
                format!("{}: {error}", self.file.path().display()),
            )
        })
    }

    fn read_line_around(&self, at: u64) -> std::io::Result<(u64, u64, String)> {
        use std::os::unix::fs::FileExt as _;
        let mut window = PROBE_WINDOW;
        loop {
            let from = at.saturating_sub(window / 2);
            let to = (at + window / 2).min(self.len);
            let mut bytes = vec![0; (to - from) as usize];
            self.file.file().read_exact_at(&mut bytes, from)?;
            let offset = (at - from) as usize;
            let start = match memchr::memrchr(b'\n', &bytes[..offset]) {
                Some(newline) => Some(from + newline as u64 + 1),
                None => (from == 0).then_some(0),
            };
            let end = match memchr::memchr(b'\n', &bytes[offset..]) {
                Some(newline) => Some(at + newline as u64),
                None => (to == self.len).then_some(self.len),
            };
            if let (Some(start), Some(end)) = (start, end) {
                let line = bytes[(start - from) as usize..(end - from) as usize].to_vec();
                let line = String::from_utf8(line).map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("the line at byte {start} is not UTF-8"),
                    )
                })?;
                return Ok((start, end, line));
            }
            window *= 2;
        }
    }
}

impl PackageIndex {
    /// Reads a decompressed `Packages` stream paragraph by paragraph. When a name appears twice,
    /// the higher version is kept (chisel keeps the later stanza).
    ///
    /// Only six fields matter, so lines are scanned as bytes and every other field (most of a
    /// 73 MB index is descriptions) is skipped without being decoded or copied. Table lines are
    /// appended to one buffer as stanzas end; the archive's indexes come sorted by name, and
    /// then that buffer is the table, else it is sorted once at the end.
    pub(crate) fn read(mut input: impl BufRead, what: &str) -> Result<PackageIndex, IndexError> {
        let mut reading = Reading {
            what,
            text: String::new(),
            lines: Vec::new(),
            fields: StanzaFields::default(),
            line_number: 0,
        };
        // Lines are taken from the reader's buffer where they lie whole; only a line split
        // between two buffers is copied, to be joined.
        let mut split = Vec::new();
        loop {
            let buffer = input.fill_buf().map_err(|source| IndexError::Read {
                what: what.to_owned(),
                source,
            })?;
            if buffer.is_empty() {
                if !split.is_empty() {
                    reading.line(&split)?;
                }
                reading.end_stanza()?;
                break;
            }
            let Some(end) = memchr::memchr(b'\n', buffer) else {
                split.extend_from_slice(buffer);
                let taken = buffer.len();
                input.consume(taken);
                continue;
            };
            if split.is_empty() {
                reading.line(&buffer[..=end])?;
            } else {
                split.extend_from_slice(&buffer[..=end]);
                reading.line(&split)?;
                split.clear();
            }
            input.consume(end + 1);
        }
        let Reading {
            text, mut lines, ..
        } = reading;
        let name = |line: &TableLine| &text[line.start..line.start + line.name_len];
        let version = |line: &TableLine| {
            let rest = &text[line.start + line.name_len + 1..line.end];
            Version::parse(rest.split('\t').next().unwrap_or_default()).ok()
        };
        if lines.windows(2).all(|pair| name(&pair[0]) < name(&pair[1])) {
            return Ok(PackageIndex::text(text));
        }
        if lines
            .windows(2)
            .all(|pair| name(&pair[0]) <= name(&pair[1]))
        {
            return Ok(PackageIndex::text(keep_best_in_place(text, &lines)));
        }
        // Highest version first within a name, then keep the first of each name.
        lines.sort_by(|a, b| {
            name(a)
                .cmp(name(b))
                .then_with(|| version(b).cmp(&version(a)))
        });
        lines.dedup_by(|later, kept| name(later) == name(kept));
        let mut table = String::with_capacity(lines.iter().map(|line| line.end - line.start).sum());
        for line in &lines {
            table.push_str(&text[line.start..line.end]);
        }
        Ok(PackageIndex::text(table))
    }

    fn text(table: String) -> PackageIndex {
        PackageIndex {
            table: Table::Text(table),
        }
    }

    /// The compact form, to keep in the cache: `None` for a table read from the cache.
    pub(crate) fn as_bytes(&self) -> Option<&[u8]> {
        match &self.table {
            Table::Text(text) => Some(text.as_bytes()),
            Table::Stored(_) => None,
        }
    }

    /// Reloads the compact form; `None` when it is not one (a damaged cache entry).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn from_cached(bytes: Vec<u8>) -> Option<PackageIndex> {
        let table = String::from_utf8(bytes).ok()?;
        let well_formed = table.is_empty() || table.ends_with('\n');
        well_formed.then_some(PackageIndex::text(table))
    }

    /// The compact form kept in the cache as `file`, looked up in place; `None` when it cannot
    /// be one (it does not end a line: a damaged cache entry). A line that is not UTF-8 is
    /// found when a lookup reads it.
    pub(crate) fn from_stored(file: fs_err::File) -> std::io::Result<Option<PackageIndex>> {
        use std::os::unix::fs::FileExt as _;
        let len = file.metadata()?.len();
        if len > 0 {
            let mut last = [0u8];
            file.file().read_exact_at(&mut last, len - 1)?;
            if last != *b"\n" {
                return Ok(None);
            }
        }
        Ok(Some(PackageIndex {
            table: Table::Stored(StoredTable { file, len }),
        }))
    }

    /// How many packages the table lists (a table in the cache is counted as a parsed one).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn len(&self) -> usize {
        match &self.table {
            Table::Text(text) => text.lines().count(),
            Table::Stored(stored) => {
                use std::os::unix::fs::FileExt as _;
                let mut bytes = vec![0; stored.len as usize];
                stored
                    .file
                    .file()
                    .read_exact_at(&mut bytes, 0)
                    .expect("a test's table is readable");
                bytes.iter().filter(|&&byte| byte == b'\n').count()
            }
        }
    }

    /// The entry for `name`, by binary search over the sorted lines. Only a table in the cache
    /// can fail to be read.
    pub(crate) fn get(&self, name: &str) -> std::io::Result<Option<PackageInfo>> {
        let (mut low, mut high) = match &self.table {
            Table::Text(text) => (0, text.len() as u64),
            Table::Stored(stored) => (0, stored.len),
        };
        while low < high {
            let middle = low + (high - low) / 2;
            let (start, end, line) = match &self.table {
                Table::Text(text) => {
                    let (start, end, line) = text_line_around(text, middle as usize);
                    (start as u64, end as u64, std::borrow::Cow::Borrowed(line))
                }
                Table::Stored(stored) => {
                    let (start, end, line) = stored.line_around(middle)?;
                    (start, end, std::borrow::Cow::Owned(line))
                }
            };
            let key = line.split('\t').next().unwrap_or_default();
            match key.cmp(name) {
                std::cmp::Ordering::Equal => return Ok(parse_line(&line)),
                std::cmp::Ordering::Less => low = end + 1,
                std::cmp::Ordering::Greater => high = start,
            }
        }
        Ok(None)
    }
}

/// The whole line of `text` around byte `at`: its start, its end (the `\n`, or the end of the
/// text), and the line.
fn text_line_around(text: &str, at: usize) -> (usize, usize, &str) {
    let bytes = text.as_bytes();
    let start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |newline| newline + 1);
    let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |newline| start + newline);
    (start, end, &text[start..end])
}

/// The table of sorted `lines` whose names repeat (an archive's index listing two versions of a
/// package): of each run of one name, the line of the highest version (the first of equals) is
/// kept, moved down over the others within `text` itself. Ubuntu's universe index is sorted this
/// way; a second 16 MB buffer is not needed for the few names it gives twice.
fn keep_best_in_place(text: String, lines: &[TableLine]) -> String {
    let name = |line: &TableLine| line.start..line.start + line.name_len;
    let version = |text: &[u8], line: &TableLine| {
        let rest = &text[line.start + line.name_len + 1..line.end];
        let field = rest.split(|&byte| byte == b'\t').next().unwrap_or_default();
        Version::parse(std::str::from_utf8(field).ok()?).ok()
    };
    let mut bytes = text.into_bytes();
    let mut written = 0;
    let mut at = 0;
    while at < lines.len() {
        // Every line from `at` on still lies where it was read: each copy below ends before
        // the next run's first line.
        let first = name(&lines[at]);
        let mut best = at;
        let mut next = at + 1;
        while next < lines.len() && bytes[name(&lines[next])] == bytes[first.clone()] {
            if version(&bytes, &lines[next]) > version(&bytes, &lines[best]) {
                best = next;
            }
            next += 1;
        }
        let line = &lines[best];
        bytes.copy_within(line.start..line.end, written);
        written += line.end - line.start;
        at = next;
    }
    bytes.truncate(written);
    String::from_utf8(bytes).expect("whole lines of a String")
}

fn parse_line(line: &str) -> Option<PackageInfo> {
    let mut fields = line.split('\t');
    Some(PackageInfo {
        name: fields.next()?.to_owned(),
        version: fields.next()?.to_owned(),
        arch: fields.next()?.to_owned(),
        filename: fields.next()?.to_owned(),
        size: fields.next()?.parse().ok()?,
        digest: table_digest(fields.next()?)?,
    })
}

/// A table's digest column: 64 hex digits are SHA-256, 128 are SHA-512.
fn table_digest(hex: &str) -> Option<Digest> {
    let algorithm = match hex.len() {
        64 => Algorithm::Sha256,
        128 => Algorithm::Sha512,
        _ => return None,
    };
    Digest::from_hex(algorithm, hex).ok()
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A `Packages` stream being read into table lines.
struct Reading<'a> {
    what: &'a str,
    /// Table lines, in the order their stanzas come.
    text: String,
    lines: Vec<TableLine>,
    fields: StanzaFields,
    line_number: usize,
}

impl Reading<'_> {
    /// One line of the stream, with its line ending if it has one.
    fn line(&mut self, line: &[u8]) -> Result<(), IndexError> {
        self.line_number += 1;
        let bytes = trim_line_end(line);
        match classify_line(bytes) {
            Ok(LineKind::Blank) => self.end_stanza(),
            Ok(LineKind::Comment | LineKind::Continuation) => Ok(()),
            Ok(LineKind::Field { name, value }) => {
                if let Some(field) = Field::named(name) {
                    self.fields.set(field, value);
                }
                Ok(())
            }
            Err(_) => Err(IndexError::Syntax {
                what: self.what.to_owned(),
                line: self.line_number,
                content: String::from_utf8_lossy(&bytes[..bytes.len().min(120)]).into_owned(),
            }),
        }
    }

    /// The stanza read so far is complete (a blank line, or the end of the stream).
    fn end_stanza(&mut self) -> Result<(), IndexError> {
        let start = self.text.len();
        if let Some(name_len) = self.fields.take(self.what, &mut self.text)? {
            self.lines.push(TableLine {
                start,
                end: self.text.len(),
                name_len,
            });
        }
        Ok(())
    }
}

/// Where a table line lies in the buffer being filled, and how long its name is.
struct TableLine {
    start: usize,
    end: usize,
    name_len: usize,
}

/// The fields of a stanza that a table line is made of.
#[derive(Clone, Copy)]
enum Field {
    Package,
    Version,
    Architecture,
    Filename,
    Size,
    Sha256,
    Sha512,
}

impl Field {
    const ALL: [(Field, &'static [u8]); 7] = [
        (Field::Package, b"Package"),
        (Field::Version, b"Version"),
        (Field::Architecture, b"Architecture"),
        (Field::Filename, b"Filename"),
        (Field::Size, b"Size"),
        (Field::Sha256, b"SHA256"),
        (Field::Sha512, b"SHA512"),
    ];

    /// The field a line names (field names are case-insensitive), if it is one of these.
    fn named(name: &[u8]) -> Option<Field> {
        // Most lines are other fields: their length alone rules them out.
        if !matches!(name.len(), 4 | 6 | 7 | 8 | 12) {
            return None;
        }
        Field::ALL
            .iter()
            .find(|(_, known)| name.eq_ignore_ascii_case(known))
            .map(|(field, _)| *field)
    }
}

/// The fields of the stanza being read: their values side by side in one buffer kept from
/// stanza to stanza, so reading a stanza allocates nothing.
#[derive(Default)]
struct StanzaFields {
    values: Vec<u8>,
    /// Byte range in `values` of each [`Field`], by its position in [`Field::ALL`]; a field
    /// given twice keeps its last value.
    ranges: [Option<(usize, usize)>; 7],
}

impl StanzaFields {
    fn set(&mut self, field: Field, value: &[u8]) {
        let start = self.values.len();
        self.values.extend_from_slice(value);
        self.ranges[field as usize] = Some((start, self.values.len()));
    }

    fn get(&self, field: Field) -> Option<std::borrow::Cow<'_, str>> {
        let (start, end) = self.ranges[field as usize]?;
        let value = &self.values[start..end];
        // The common case, valid UTF-8, is checked the fast way.
        Some(match std::str::from_utf8(value) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(value),
        })
    }

    /// Appends the finished stanza's table line to `table`, checked, and starts the next
    /// stanza; the length of the line's name, or `None` when there was no stanza or it has no
    /// file to fetch.
    fn take(&mut self, what: &str, table: &mut String) -> Result<Option<usize>, IndexError> {
        let taken = self.line(what, table);
        self.values.clear();
        self.ranges = [None; 7];
        taken
    }

    fn line(&self, what: &str, table: &mut String) -> Result<Option<usize>, IndexError> {
        let Some(name) = self.get(Field::Package) else {
            return Ok(None);
        };
        let invalid = |field| IndexError::Stanza {
            what: what.to_owned(),
            package: name.clone().into_owned(),
            field,
        };
        let Some(filename) = self
            .get(Field::Filename)
            .filter(|filename| !filename.is_empty())
        else {
            return Ok(None);
        };
        // These values end up in URLs, cache paths and tables: refuse anything odd.
        let clean = |value: &str| {
            !value.is_empty() && !value.contains(['\t', '\n']) && !value.contains("..")
        };
        if !clean(&name) || !clean(&filename) || filename.starts_with('/') {
            return Err(invalid("Package or Filename"));
        }
        let version = self.get(Field::Version).ok_or_else(|| invalid("Version"))?;
        Version::parse(&version).map_err(|_| invalid("Version"))?;
        let arch = self
            .get(Field::Architecture)
            .filter(|arch| clean(arch))
            .ok_or_else(|| invalid("Architecture"))?;
        let size: u64 = self
            .get(Field::Size)
            .and_then(|size| size.parse().ok())
            .ok_or_else(|| invalid("Size"))?;
        // The strongest digest given; one that is given but malformed is an error, not a
        // reason to fall back to a weaker one.
        let (digest, algorithm) = match (self.get(Field::Sha512), self.get(Field::Sha256)) {
            (Some(hex), _) => (hex, Algorithm::Sha512),
            (None, Some(hex)) => (hex, Algorithm::Sha256),
            (None, None) => return Err(invalid("SHA512 or SHA256")),
        };
        let digits = match algorithm {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        };
        if digest.len() != digits || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(algorithm.field()));
        }
        for part in [&*name, &*version, &*arch, &*filename] {
            table.push_str(part);
            table.push('\t');
        }
        table.push_str(itoa(size, &mut [0; 20]));
        table.push('\t');
        // Lowercase, as the digest prints (the lookup reads it back with `Digest::from_hex`).
        if digest.bytes().any(|byte| byte.is_ascii_uppercase()) {
            table.push_str(&digest.to_ascii_lowercase());
        } else {
            table.push_str(&digest);
        }
        table.push('\n');
        Ok(Some(name.len()))
    }
}

/// `value` in decimal, written into `buffer`.
fn itoa(mut value: u64, buffer: &mut [u8; 20]) -> &str {
    let mut at = buffer.len();
    loop {
        at -= 1;
        buffer[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    std::str::from_utf8(&buffer[at..]).expect("ASCII digits")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKAGES: &str = "Package: zlib1g\nVersion: 1:1.3.dfsg-3.1ubuntu2\nArchitecture: amd64\nFilename: pool/main/z/zlib/zlib1g_1.3.dfsg-3.1ubuntu2_amd64.deb\nSize: 100\nSHA256: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nDescription: compression\n long text\n .\n more\n\n\
Package: base-files\nVersion: 13ubuntu10\nArchitecture: amd64\nFilename: pool/main/b/base-files/base-files_13ubuntu10_amd64.deb\nSize: 70000\nSHA256: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n\n\n\
Package: base-files\nVersion: 13ubuntu10.1\nArchitecture: amd64\nFilename: pool/main/b/base-files/base-files_13ubuntu10.1_amd64.deb\nSize: 70001\nSHA256: cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\n\n\
Package: base-files\nVersion: 13ubuntu9\nArchitecture: amd64\nFilename: pool/main/b/base-files/base-files_13ubuntu9_amd64.deb\nSize: 60000\nSHA256: dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\n";

    #[test]
    fn a_component_is_found_under_the_security_archives_updates_prefix() {
        // The head of trixie-security's real InRelease.
        let text = "Origin: Debian\nSuite: stable-security\nCodename: trixie-security\n\
                    Components: updates/main updates/contrib updates/non-free-firmware updates/non-free\n\
                    SHA256:\n 1111111111111111111111111111111111111111111111111111111111111111 1 main/binary-amd64/Packages\n";
        let info = ReleaseInfo::parse(text, "trixie-security").unwrap();
        assert!(info.has_component("main") && info.has_component("non-free-firmware"));
        assert!(info.has_component("updates/main"));
        assert!(!info.has_component("universe") && !info.has_component("updates"));
        let ubuntu = ReleaseInfo::parse(
            "Suite: noble\nComponents: main universe\nSHA256:\n \
             1111111111111111111111111111111111111111111111111111111111111111 1 main/binary-amd64/Packages\n",
            "noble",
        )
        .unwrap();
        assert!(ubuntu.has_component("universe") && !ubuntu.has_component("updates/main"));
    }

    #[test]
    fn a_pocket_does_not_pass_for_its_release_by_codename() {
        let text = |suite: &str, codename: &str| {
            format!("Suite: {suite}\nCodename: {codename}\nSHA256:\n 1111111111111111111111111111111111111111111111111111111111111111 1 main/binary-amd64/Packages\n")
        };
        assert!(ReleaseInfo::parse(&text("noble", "noble"), "noble").is_ok());
        assert!(ReleaseInfo::parse(&text("stable", "bookworm"), "bookworm").is_ok());
        assert!(ReleaseInfo::parse(
            &text("stable-updates", "bookworm-updates"),
            "bookworm-updates"
        )
        .is_ok());
        assert_eq!(
            ReleaseInfo::parse(&text("noble-updates", "noble"), "noble").unwrap_err().to_string(),
            "the InRelease file is for suite \"noble-updates\", not \"noble\" (a mirror serving the wrong file, or a replay)"
        );
        assert!(
            ReleaseInfo::parse(&text("bookworm-updates", "bookworm-updates"), "bookworm").is_err()
        );
        // Debian's pockets: either name matches, and a pocket never passes for its release.
        assert!(ReleaseInfo::parse(
            &text("stable-security", "trixie-security"),
            "trixie-security"
        )
        .is_ok());
        assert!(ReleaseInfo::parse(&text("stable", "trixie"), "stable").is_ok());
        assert_eq!(
            ReleaseInfo::parse(&text("stable-updates", "trixie-updates"), "trixie")
                .unwrap_err()
                .to_string(),
            "the InRelease file is for suite \"stable-updates\", not \"trixie\" (a mirror serving the wrong file, or a replay)"
        );
    }

    #[test]
    fn release_dates_parse_as_apt_writes_them() {
        assert_eq!(
            parse_release_date("Sat, 21 Nov 2026  9:52:04 UTC"),
            Some(1_795_254_724)
        );
        assert_eq!(
            parse_release_date("Thu, 01 Jan 1970 01:00:00 +0100"),
            Some(0)
        );
        assert_eq!(
            parse_release_date("Thu, 01 Jan 1970 00:00:00 -0030"),
            Some(1800)
        );
        for bad in [
            "",
            "yesterday",
            "Sat, 31 Feb 2026 00:00:00 UTC",
            "Sat, 1 Foo 2026 0:0:0 UTC",
            "Sat, 1 Jan 2026 25:00:00 UTC",
            "Sat, 1 Jan 2026 0:00:00 EST",
        ] {
            assert_eq!(parse_release_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn expired_and_future_release_files_are_refused() {
        let text = |extra: &str| {
            format!("Suite: noble\nDate: Sat, 21 Nov 2026  9:52:04 UTC\n{extra}SHA256:\n 1111111111111111111111111111111111111111111111111111111111111111 1 main/binary-amd64/Packages\n")
        };
        let date = 1_795_254_724;
        let plain = ReleaseInfo::parse(&text(""), "noble").unwrap();
        assert!(plain.check_dates(date).is_ok());
        assert!(plain.check_dates(date - 600).is_ok(), "ten minutes of skew");
        assert_eq!(
            plain.check_dates(date - 601).unwrap_err().to_string(),
            "the InRelease file is dated Sat, 21 Nov 2026  9:52:04 UTC, in the future: check this machine's clock, or cut anyway with --ignore=release-dates"
        );
        let valid = ReleaseInfo::parse(
            &text("Valid-Until: Sat, 28 Nov 2026 09:52:04 UTC\n"),
            "noble",
        )
        .unwrap();
        assert!(valid.check_dates(date + 7 * 86_400).is_ok());
        assert_eq!(
            valid.check_dates(date + 7 * 86_400 + 1).unwrap_err().to_string(),
            "the InRelease file expired on Sat, 28 Nov 2026 09:52:04 UTC (its Valid-Until): the mirror is out of date, or replays an old file; cut anyway with --ignore=release-dates"
        );
    }

    #[test]
    fn index_keeps_the_highest_version_and_finds_every_name() {
        let index = PackageIndex::read(PACKAGES.as_bytes(), "test").unwrap();
        assert_eq!(index.len(), 2);
        let base = index.get("base-files").unwrap().unwrap();
        assert_eq!(base.version, "13ubuntu10.1");
        assert_eq!(base.size, 70001);
        let zlib = index.get("zlib1g").unwrap().unwrap();
        assert_eq!(zlib.digest.to_string(), "a".repeat(64));
        assert_eq!(
            zlib.filename,
            "pool/main/z/zlib/zlib1g_1.3.dfsg-3.1ubuntu2_amd64.deb"
        );
        assert_eq!(index.get("base").unwrap(), None);
        assert_eq!(index.get("zzz").unwrap(), None);
        assert_eq!(index.get("aaa").unwrap(), None);
        let reloaded = PackageIndex::from_cached(index.as_bytes().unwrap().to_vec()).unwrap();
        assert_eq!(reloaded.get("base-files").unwrap(), Some(base));
    }

    #[test]
    fn table_lines_are_normalised_whatever_the_stanza_spells() {
        // Field names in any case, a size with leading zeros, an upper-case SHA512 next to a
        // SHA256 (the stronger wins), a field given twice (the last wins), CRLF line ends.
        let text = format!(
            "package: b\r\nVERSION: 0.9\r\nVersion: 1.0\r\narchitecture: all\r\nfilename: pool/b.deb\r\nsize: 0070\r\nSHA256: {}\r\nsha512: {}\r\n\r\nPackage: a\nVersion: 2\nArchitecture: all\nFilename: pool/a.deb\nSize: 1\nSHA256: {}\n",
            "1".repeat(64),
            "AB".repeat(64),
            "C".repeat(64),
        );
        let index = PackageIndex::read(text.as_bytes(), "main").unwrap();
        assert_eq!(
            index.as_bytes().unwrap(),
            format!(
                "a\t2\tall\tpool/a.deb\t1\t{}\nb\t1.0\tall\tpool/b.deb\t70\t{}\n",
                "c".repeat(64),
                "ab".repeat(64)
            )
            .as_bytes()
        );
        assert_eq!(
            index.get("b").unwrap().unwrap().digest.algorithm(),
            Algorithm::Sha512
        );
        let bad = "Package: c\nVersion: 1\nArchitecture: all\nFilename: pool/c.deb\nSize: 1\nSHA512: abcd\nSHA256: ".to_owned()
            + &"d".repeat(64)
            + "\n";
        assert_eq!(
            PackageIndex::read(bad.as_bytes(), "main")
                .unwrap_err()
                .to_string(),
            "the Packages index main has a stanza for \"c\" without a valid SHA512 field"
        );
    }

    #[test]
    fn lines_split_between_buffers_read_as_whole_ones() {
        let whole = PackageIndex::read(PACKAGES.as_bytes(), "test").unwrap();
        assert_eq!(whole.len(), 2);
        // Buffers that cut lines everywhere, and a last line without its newline.
        for text in [PACKAGES, PACKAGES.trim_end()] {
            for capacity in [1, 2, 7, 64, 255] {
                let reader = std::io::BufReader::with_capacity(capacity, text.as_bytes());
                assert_eq!(
                    PackageIndex::read(reader, "test").unwrap().as_bytes(),
                    whole.as_bytes(),
                    "{capacity}"
                );
            }
        }
        let broken = format!("{PACKAGES}\n\nPackage: x\nnot a field\n");
        let reader = std::io::BufReader::with_capacity(3, broken.as_bytes());
        assert_eq!(
            PackageIndex::read(reader, "main").unwrap_err().to_string(),
            format!(
                "cannot parse the Packages index main: line {} is not a field: \"not a field\"",
                PACKAGES.lines().count() + 4
            )
        );
    }

    #[test]
    fn a_sorted_index_that_lists_a_name_twice_keeps_its_highest_version() {
        let stanza = |name: &str, version: &str, digit: char| {
            format!(
                "Package: {name}\nVersion: {version}\nArchitecture: all\nFilename: pool/{name}_{version}.deb\nSize: 1\nSHA256: {}\n\n",
                digit.to_string().repeat(64)
            )
        };
        let stanzas = [
            stanza("a", "1", '1'),
            stanza("b", "1.0", '2'),
            stanza("b", "2.0", '3'),
            stanza("b", "2.0", '4'),
            stanza("b", "1.5", '5'),
            stanza("c", "1", '6'),
            stanza("c", "0.9", '7'),
        ];
        let sorted = PackageIndex::read(stanzas.concat().as_bytes(), "test").unwrap();
        let line = |name: &str, version: &str, digit: char| {
            format!(
                "{name}\t{version}\tall\tpool/{name}_{version}.deb\t1\t{}\n",
                digit.to_string().repeat(64)
            )
        };
        // Of equal versions, the first listed.
        assert_eq!(
            String::from_utf8(sorted.as_bytes().unwrap().to_vec()).unwrap(),
            [
                line("a", "1", '1'),
                line("b", "2.0", '3'),
                line("c", "1", '6')
            ]
            .concat()
        );
        // The same stanzas unsorted take the other way to the same table.
        let mut shuffled = stanzas.clone();
        shuffled.swap(0, 5);
        let unsorted = PackageIndex::read(shuffled.concat().as_bytes(), "test").unwrap();
        assert_eq!(unsorted.as_bytes(), sorted.as_bytes());
    }

    #[test]
    fn index_lookup_over_many_names() {
        let mut text = String::new();
        for i in 0..500 {
            text.push_str(&format!(
                "Package: pkg{i:03}\nVersion: 1.{i}\nArchitecture: all\nFilename: pool/p{i}.deb\nSize: {i}\nSHA256: {}\n\n",
                "e".repeat(64)
            ));
        }
        let index = PackageIndex::read(text.as_bytes(), "test").unwrap();
        for i in 0..500 {
            assert_eq!(index.get(&format!("pkg{i:03}")).unwrap().unwrap().size, i);
        }
        assert_eq!(index.get("pkg5000").unwrap(), None);
    }

    fn stored_table(bytes: &[u8]) -> std::io::Result<Option<PackageIndex>> {
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, bytes).unwrap();
        PackageIndex::from_stored(fs_err::File::from_parts(file, "table"))
    }

    #[test]
    fn a_stored_table_finds_what_the_parsed_one_finds() {
        // Names whose file names run from short to 5 000 bytes: some lines are longer than the
        // window a probe reads first, at the start, the middle and the end of the table.
        let mut text = String::new();
        for i in 0..300 {
            let long = "x".repeat(if i % 7 == 0 { 5_000 } else { i % 50 });
            text.push_str(&format!(
                "Package: pkg{i:03}\nVersion: 1.{i}\nArchitecture: all\nFilename: pool/{long}{i}.deb\nSize: {i}\nSHA512: {}\n\n",
                "f".repeat(128)
            ));
        }
        let parsed = PackageIndex::read(text.as_bytes(), "test").unwrap();
        let table = parsed.as_bytes().unwrap();
        let stored = stored_table(table).unwrap().unwrap();
        assert_eq!(stored.as_bytes(), None, "not written to the cache again");
        assert_eq!(stored.len(), 300);
        for i in 0..300 {
            let name = format!("pkg{i:03}");
            let found = stored.get(&name).unwrap().unwrap();
            assert_eq!(Some(&found), parsed.get(&name).unwrap().as_ref());
            assert_eq!(found.size, i);
        }
        for absent in ["", "a", "pkg", "pkg0000", "pkg150a", "pkg299x", "zzz"] {
            assert_eq!(stored.get(absent).unwrap(), None, "{absent}");
        }
        // One line alone, and no line at all.
        let first = &table[..=table.iter().position(|&byte| byte == b'\n').unwrap()];
        let one = stored_table(first).unwrap().unwrap();
        assert_eq!(one.get("pkg000").unwrap().unwrap().size, 0);
        assert_eq!(one.get("pkg001").unwrap(), None);
        assert_eq!(
            stored_table(b"").unwrap().unwrap().get("pkg000").unwrap(),
            None
        );
    }

    #[test]
    fn a_damaged_stored_table_is_refused_or_named() {
        // Cut short: not a table (the caller parses the index again).
        assert!(stored_table(b"a\t1\tall\tpool/a.deb\t1\t")
            .unwrap()
            .is_none());
        // A line that is not text fails the lookup that reads it.
        let mut table = format!("a\t1\tall\tpool/a.deb\t1\t{}\n", "e".repeat(64)).into_bytes();
        table.extend_from_slice(b"b\xff\t1\tall\tpool/b.deb\t1\t");
        table.extend_from_slice(format!("{}\n", "e".repeat(64)).as_bytes());
        let damaged = stored_table(&table).unwrap().unwrap();
        assert_eq!(
            damaged.get("b").unwrap_err().to_string(),
            "table: the line at byte 86 is not UTF-8"
        );
    }

    #[test]
    fn index_refuses_stanzas_that_could_escape() {
        let bad = "Package: evil\nVersion: 1\nArchitecture: amd64\nFilename: pool/../../etc/passwd\nSize: 1\nSHA256: aaaa\n";
        let error = PackageIndex::read(bad.as_bytes(), "main").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the Packages index main has a stanza for \"evil\" without a valid Package or Filename field"
        );
        let bad = "Package: short\nVersion: 1\nArchitecture: amd64\nFilename: pool/s.deb\nSize: 1\nSHA256: abc\n";
        let error = PackageIndex::read(bad.as_bytes(), "main").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the Packages index main has a stanza for \"short\" without a valid SHA256 field"
        );
    }

    #[test]
    fn index_reports_lines_that_are_not_fields_and_tolerates_crlf() {
        let text = "Package: a\r\nVersion: 1\r\nArchitecture: all\r\nFilename: pool/a.deb\r\nSize: 3\r\nSHA256: ".to_owned()
            + &"f".repeat(64)
            + "\r\n\r\nPackage: b\nthis is not a field\n";
        let error = PackageIndex::read(text.as_bytes(), "main").unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot parse the Packages index main: line 9 is not a field: \"this is not a field\""
        );
        let index =
            PackageIndex::read(&text.as_bytes()[..text.find("Package: b").unwrap()], "main")
                .unwrap();
        assert_eq!(index.get("a").unwrap().unwrap().filename, "pool/a.deb");
    }

    #[test]
    fn release_info_checks_the_suite() {
        let text = "Origin: Ubuntu\nLabel: Ubuntu\nSuite: noble-security\nCodename: noble\nDate: Sat, 21 Nov 2026  9:52:04 UTC\nArchitectures: amd64 arm64\nComponents: main universe\nSHA256:\n 1111111111111111111111111111111111111111111111111111111111111111 6526018 main/binary-amd64/Packages\n";
        let info = ReleaseInfo::parse(text, "noble-security").unwrap();
        assert_eq!(info.components, vec!["main", "universe"]);
        let signed = &info.files["main/binary-amd64/Packages"];
        assert_eq!(
            (signed.digest.to_string(), signed.size),
            ("1".repeat(64), 6_526_018)
        );
        let error = ReleaseInfo::parse(text, "noble-updates").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the InRelease file is for suite \"noble-security\", not \"noble-updates\" (a mirror serving the wrong file, or a replay)"
        );
    }
}
