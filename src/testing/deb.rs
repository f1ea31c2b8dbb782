//! Builders for small `.deb`s, normal or hostile, for this crate's tests.
use std::io::Write;

use tar::{EntryType, Header};

pub(crate) use crate::deb::Compression;

/// The control file of every package [`build_deb`] makes.
pub(crate) const CONTROL: &str = "Package: kerf-test\nVersion: 1.0-1\nArchitecture: all\n\
    Maintainer: kerf <kerf@example.invalid>\nDescription: a package built by the tests\n";

/// A fixed mtime, so archives are byte-for-byte reproducible.
const MTIME: u64 = 1_700_000_000;

/// One `data.tar` entry. Names and link targets are raw bytes written as given, with no
/// checks, so tests can make hostile ones (`./../x`, NULs, absolute paths).
#[derive(Clone, Debug)]
pub(crate) struct TestEntry {
    pub(crate) name: Vec<u8>,
    pub(crate) kind: TestKind,
    pub(crate) mode: u32,
    /// Spell the name and link target in a PAX header rather than the ustar fields and
    /// GNU long-name entries.
    pub(crate) pax: bool,
    /// uid, gid, user and group names; root's when `None`.
    pub(crate) owner: Option<(u64, u64, &'static str, &'static str)>,
}

#[derive(Clone, Debug)]
pub(crate) enum TestKind {
    Directory,
    File(Vec<u8>),
    Symlink(Vec<u8>),
    HardLink(Vec<u8>),
    CharDevice { major: u32, minor: u32 },
    BlockDevice { major: u32, minor: u32 },
    Fifo,
}

impl TestEntry {
    fn new(name: impl AsRef<[u8]>, kind: TestKind, mode: u32) -> Self {
        Self {
            name: name.as_ref().to_vec(),
            kind,
            mode,
            pax: false,
            owner: None,
        }
    }

    pub(crate) fn dir(name: impl AsRef<[u8]>, mode: u32) -> Self {
        Self::new(name, TestKind::Directory, mode)
    }

    pub(crate) fn file(name: impl AsRef<[u8]>, mode: u32, content: impl AsRef<[u8]>) -> Self {
        Self::new(name, TestKind::File(content.as_ref().to_vec()), mode)
    }

    pub(crate) fn symlink(name: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Self {
        Self::new(name, TestKind::Symlink(target.as_ref().to_vec()), 0o777)
    }

    pub(crate) fn hard_link(name: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Self {
        Self::new(name, TestKind::HardLink(target.as_ref().to_vec()), 0o644)
    }

    pub(crate) fn char_device(name: impl AsRef<[u8]>, mode: u32, major: u32, minor: u32) -> Self {
        Self::new(name, TestKind::CharDevice { major, minor }, mode)
    }

    pub(crate) fn block_device(name: impl AsRef<[u8]>, mode: u32, major: u32, minor: u32) -> Self {
        Self::new(name, TestKind::BlockDevice { major, minor }, mode)
    }

    pub(crate) fn fifo(name: impl AsRef<[u8]>, mode: u32) -> Self {
        Self::new(name, TestKind::Fifo, mode)
    }

    /// Owned by `uid:gid` (`user`, `group`) rather than root.
    pub(crate) fn owned_by(
        mut self,
        uid: u64,
        gid: u64,
        user: &'static str,
        group: &'static str,
    ) -> Self {
        self.owner = Some((uid, gid, user, group));
        self
    }

    pub(crate) fn with_pax_names(mut self) -> Self {
        self.pax = true;
        self
    }
}

/// A `.deb` holding `entries` in a `data.tar` compressed as asked, and [`CONTROL`] in a
/// `control.tar.gz`, laid out as dpkg-deb does.
pub(crate) fn build_deb(entries: &[TestEntry], compression: Compression) -> Vec<u8> {
    let control = compress(&control_tar(CONTROL), Compression::Gz);
    let data = compress(&data_tar(entries), compression);
    let data_name = format!("data.tar{}", compression.suffix());
    ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", &control),
        (&data_name, &data),
    ])
}

/// A `control.tar` as dpkg-deb writes it: `./` and `./control`.
pub(crate) fn control_tar(control: &str) -> Vec<u8> {
    data_tar(&[
        TestEntry::dir("./", 0o755),
        TestEntry::file("./control", 0o644, control),
    ])
}

/// An uncompressed tarball of `entries`, GNU format, owned by root.
pub(crate) fn data_tar(entries: &[TestEntry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        append(&mut builder, entry);
    }
    builder.into_inner().expect("finishing a tar in memory")
}

fn append(builder: &mut tar::Builder<Vec<u8>>, entry: &TestEntry) {
    let (entry_type, content, link): (EntryType, &[u8], &[u8]) = match &entry.kind {
        TestKind::Directory => (EntryType::Directory, b"", b""),
        TestKind::File(content) => (EntryType::Regular, content, b""),
        TestKind::Symlink(target) => (EntryType::Symlink, b"", target),
        TestKind::HardLink(target) => (EntryType::Link, b"", target),
        TestKind::CharDevice { .. } => (EntryType::Char, b"", b""),
        TestKind::BlockDevice { .. } => (EntryType::Block, b"", b""),
        TestKind::Fifo => (EntryType::Fifo, b"", b""),
    };
    if entry.pax {
        let mut records = pax_record("path", &entry.name);
        if !link.is_empty() {
            records.extend(pax_record("linkpath", link));
        }
        let header = metadata_header(EntryType::XHeader, b"./PaxHeaders/entry", records.len());
        builder
            .append(&header, &records[..])
            .expect("tar in memory");
    } else {
        // GNU tar keeps the first 100 bytes in the header too; readers must prefer the
        // long entry.
        if entry.name.len() > 100 {
            append_long(builder, EntryType::GNULongName, &entry.name);
        }
        if link.len() > 100 {
            append_long(builder, EntryType::GNULongLink, link);
        }
    }
    let mut header = Header::new_gnu();
    set_field(&mut header.as_old_mut().name, &entry.name);
    set_field(&mut header.as_old_mut().linkname, link);
    header.set_entry_type(entry_type);
    header.set_mode(entry.mode);
    header.set_size(content.len() as u64);
    header.set_mtime(MTIME);
    let (uid, gid, user, group) = entry.owner.unwrap_or((0, 0, "root", "root"));
    header.set_uid(uid);
    header.set_gid(gid);
    header.set_username(user).expect("short name");
    header.set_groupname(group).expect("short name");
    if let TestKind::CharDevice { major, minor } | TestKind::BlockDevice { major, minor } =
        entry.kind
    {
        header.set_device_major(major).expect("GNU header");
        header.set_device_minor(minor).expect("GNU header");
    }
    header.set_cksum();
    builder.append(&header, content).expect("tar in memory");
}

/// Copies as much of `value` as fits, unterminated when it fills the field, as tar does.
fn set_field(field: &mut [u8], value: &[u8]) {
    let length = value.len().min(field.len());
    field[..length].copy_from_slice(&value[..length]);
}

fn metadata_header(entry_type: EntryType, name: &[u8], size: usize) -> Header {
    let mut header = Header::new_gnu();
    set_field(&mut header.as_old_mut().name, name);
    header.set_entry_type(entry_type);
    header.set_mode(0o644);
    header.set_size(size as u64);
    header.set_mtime(MTIME);
    header.set_cksum();
    header
}

/// A GNU `L` or `K` entry: the name, NUL-terminated, as the body of `././@LongLink`.
pub(crate) fn append_long(
    builder: &mut tar::Builder<Vec<u8>>,
    entry_type: EntryType,
    value: &[u8],
) {
    let mut body = value.to_vec();
    body.push(0);
    let header = metadata_header(entry_type, b"././@LongLink", body.len());
    builder.append(&header, &body[..]).expect("tar in memory");
}

/// One `<length> <key>=<value>\n` record, where the length counts itself.
pub(crate) fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let rest = key.len() + value.len() + 3; // space, '=', newline
    let mut length = rest + 1;
    while length != rest + length.to_string().len() {
        length = rest + length.to_string().len();
    }
    let mut record = format!("{length} {key}=").into_bytes();
    record.extend_from_slice(value);
    record.push(b'\n');
    record
}

pub(crate) fn compress(bytes: &[u8], compression: Compression) -> Vec<u8> {
    match compression {
        Compression::None => bytes.to_vec(),
        Compression::Gz => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(bytes).expect("in memory");
            encoder.finish().expect("in memory")
        }
        Compression::Xz => {
            // Level 1: a 1 MiB dictionary keeps the encoder quick and small.
            let mut encoder = liblzma::write::XzEncoder::new(Vec::new(), 1);
            encoder.write_all(bytes).expect("in memory");
            encoder.finish().expect("in memory")
        }
        Compression::Zst => zstd::encode_all(bytes, 3).expect("in memory"),
    }
}

/// An `ar` archive with the names as given (add a `/` for GNU style); names longer than
/// 16 bytes or containing a space are written BSD style.
pub(crate) fn ar(members: &[(&str, &[u8])]) -> Vec<u8> {
    write_ar(members, false)
}

/// An `ar` archive with every name written BSD style, `#1/<length>`.
pub(crate) fn ar_bsd(members: &[(&str, &[u8])]) -> Vec<u8> {
    write_ar(members, true)
}

fn write_ar(members: &[(&str, &[u8])], bsd: bool) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    for (name, data) in members {
        let bsd = bsd || name.len() > 16 || name.contains(' ');
        let (field, inline_name) = if bsd {
            (format!("#1/{}", name.len()), name.as_bytes())
        } else {
            ((*name).to_owned(), &b""[..])
        };
        let size = inline_name.len() + data.len();
        writeln!(
            out,
            "{field:<16}{:<12}{:<6}{:<6}{:<8}{size:<10}`",
            MTIME, 0, 0, 100_644
        )
        .expect("in memory");
        out.extend_from_slice(inline_name);
        out.extend_from_slice(data);
        if size % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}
