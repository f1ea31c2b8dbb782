use std::io::{self, Read};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::ar::ArReader;
use super::testdeb::{ar, ar_bsd, build_deb, compress, control_tar, data_tar, TestEntry, CONTROL};
use super::*;
use crate::digest::HashingReader;

/// Builders for small `.deb`s, normal or hostile, for this crate's tests.
pub(crate) mod testdeb {
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

        pub(crate) fn char_device(
            name: impl AsRef<[u8]>,
            mode: u32,
            major: u32,
            minor: u32,
        ) -> Self {
            Self::new(name, TestKind::CharDevice { major, minor }, mode)
        }

        pub(crate) fn block_device(
            name: impl AsRef<[u8]>,
            mode: u32,
            major: u32,
            minor: u32,
        ) -> Self {
            Self::new(name, TestKind::BlockDevice { major, minor }, mode)
        }

        pub(crate) fn fifo(name: impl AsRef<[u8]>, mode: u32) -> Self {
            Self::new(name, TestKind::Fifo, mode)
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
        header.set_uid(0);
        header.set_gid(0);
        header.set_username("root").expect("short name");
        header.set_groupname("root").expect("short name");
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
}

/// An entry as the tests compare it.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    name: String,
    kind: EntryKind,
    mode: u32,
    content: Vec<u8>,
}

fn seen(name: impl Into<String>, kind: EntryKind, mode: u32, content: &[u8]) -> Seen {
    Seen {
        name: name.into(),
        kind,
        mode,
        content: content.to_vec(),
    }
}

fn read_entries(deb: &[u8]) -> Result<Vec<Seen>, DebError> {
    let mut all = Vec::new();
    for_each_entry(deb, |mut entry: DataEntry<'_>| {
        let mut content = Vec::new();
        entry
            .read_to_end(&mut content)
            .map_err(|source| DebError::Tar {
                member: "test".to_owned(),
                source,
            })?;
        assert_eq!(content.len() as u64, entry.size(), "{entry:?}");
        all.push(Seen {
            name: lossy(entry.name()),
            kind: entry.kind().clone(),
            mode: entry.mode(),
            content,
        });
        Ok(())
    })?;
    Ok(all)
}

fn error_of<T: std::fmt::Debug>(result: Result<T, DebError>) -> String {
    result.expect_err("should fail").to_string()
}

const LONG_DIR: &str =
    "./usr/share/a-directory-whose-name-is-long/another-directory-whose-name-is-long/and-one-more/";

fn long_name() -> String {
    format!("{LONG_DIR}file-with-a-long-name")
}

/// Exactly 100 bytes: fills the ustar name field with no NUL after it.
fn hundred_byte_name() -> String {
    let name = format!("./{}", "n".repeat(98));
    assert_eq!(name.len(), 100);
    name
}

fn sample_entries() -> Vec<TestEntry> {
    vec![
        TestEntry::dir("./", 0o755),
        TestEntry::dir("./usr/", 0o755),
        TestEntry::dir("./usr/bin/", 0o755),
        TestEntry::file("./usr/bin/tool", 0o755, "#!/bin/sh\necho tool\n"),
        TestEntry::file("./usr/bin/su", 0o4755, "setuid"),
        TestEntry::file("./usr/bin/wall", 0o2755, "setgid"),
        TestEntry::dir("./var/mail/", 0o2775),
        TestEntry::dir("./tmp/", 0o1777),
        TestEntry::symlink("./usr/bin/alias", "tool"),
        TestEntry::hard_link("./usr/bin/tool2", "./usr/bin/tool"),
        TestEntry::char_device("./dev/null", 0o666, 1, 3),
        TestEntry::block_device("./dev/loop0", 0o660, 7, 0),
        TestEntry::fifo("./run/initctl", 0o600),
        TestEntry::file(long_name(), 0o644, "deep"),
        TestEntry::symlink("./usr/lib/far", long_name()),
        TestEntry::hard_link("./usr/lib/far-hard", long_name()),
        TestEntry::file(hundred_byte_name(), 0o644, "full field"),
        TestEntry::file("relative/no-dot", 0o600, "x"),
        TestEntry::file("./empty", 0o644, ""),
    ]
}

fn sample_seen() -> Vec<Seen> {
    vec![
        seen("./", EntryKind::Directory, 0o755, b""),
        seen("./usr/", EntryKind::Directory, 0o755, b""),
        seen("./usr/bin/", EntryKind::Directory, 0o755, b""),
        seen(
            "./usr/bin/tool",
            EntryKind::File,
            0o755,
            b"#!/bin/sh\necho tool\n",
        ),
        seen("./usr/bin/su", EntryKind::File, 0o4755, b"setuid"),
        seen("./usr/bin/wall", EntryKind::File, 0o2755, b"setgid"),
        seen("./var/mail/", EntryKind::Directory, 0o2775, b""),
        seen("./tmp/", EntryKind::Directory, 0o1777, b""),
        seen(
            "./usr/bin/alias",
            EntryKind::Symlink {
                target: b"tool".to_vec(),
            },
            0o777,
            b"",
        ),
        seen(
            "./usr/bin/tool2",
            EntryKind::HardLink {
                target: b"./usr/bin/tool".to_vec(),
            },
            0o644,
            b"",
        ),
        seen("./dev/null", EntryKind::Other('3'), 0o666, b""),
        seen("./dev/loop0", EntryKind::Other('4'), 0o660, b""),
        seen("./run/initctl", EntryKind::Other('6'), 0o600, b""),
        seen(long_name(), EntryKind::File, 0o644, b"deep"),
        seen(
            "./usr/lib/far",
            EntryKind::Symlink {
                target: long_name().into_bytes(),
            },
            0o777,
            b"",
        ),
        seen(
            "./usr/lib/far-hard",
            EntryKind::HardLink {
                target: long_name().into_bytes(),
            },
            0o644,
            b"",
        ),
        seen(hundred_byte_name(), EntryKind::File, 0o644, b"full field"),
        seen("relative/no-dot", EntryKind::File, 0o600, b"x"),
        seen("./empty", EntryKind::File, 0o644, b""),
    ]
}

fn round_trip(compression: Compression) {
    assert!(long_name().len() > 100);
    let deb = build_deb(&sample_entries(), compression);
    assert_eq!(read_entries(&deb).unwrap(), sample_seen());
    assert_eq!(control(&deb[..]).unwrap(), CONTROL);
}

#[test]
fn round_trip_uncompressed() {
    round_trip(Compression::None);
}

#[test]
fn round_trip_gz() {
    round_trip(Compression::Gz);
}

#[test]
fn round_trip_xz() {
    round_trip(Compression::Xz);
}

#[test]
fn round_trip_zst() {
    round_trip(Compression::Zst);
}

#[test]
fn pax_path_and_linkpath_replace_the_header_names() {
    let entries = [
        TestEntry::file(long_name(), 0o644, "deep").with_pax_names(),
        TestEntry::symlink("./usr/lib/far", long_name()).with_pax_names(),
        TestEntry::file("./after", 0o644, "plain"),
    ];
    let deb = build_deb(&entries, Compression::Zst);
    assert_eq!(
        read_entries(&deb).unwrap(),
        [
            seen(long_name(), EntryKind::File, 0o644, b"deep"),
            seen(
                "./usr/lib/far",
                EntryKind::Symlink {
                    target: long_name().into_bytes()
                },
                0o777,
                b""
            ),
            // The PAX header applies to one entry only.
            seen("./after", EntryKind::File, 0o644, b"plain"),
        ]
    );
}

#[test]
fn control_is_found_in_every_compression() {
    for compression in [
        Compression::None,
        Compression::Gz,
        Compression::Xz,
        Compression::Zst,
    ] {
        let control_tar = compress(&control_tar("Package: x\n"), compression);
        let control_name = format!("control.tar{}", compression.suffix());
        let data = compress(&data_tar(&[]), Compression::Gz);
        let deb = ar(&[
            ("debian-binary", b"2.0\n"),
            (&control_name, &control_tar),
            ("data.tar.gz", &data),
        ]);
        assert_eq!(
            control(&deb[..]).unwrap(),
            "Package: x\n",
            "{compression:?}"
        );
    }
}

#[test]
fn control_errors() {
    let data = compress(&data_tar(&[]), Compression::Gz);
    let no_control_tar = ar(&[("debian-binary", b"2.0\n"), ("data.tar.gz", &data)]);
    assert_eq!(error_of(control(&no_control_tar[..])), "no control payload");

    let empty = compress(&data_tar(&[TestEntry::dir("./", 0o755)]), Compression::Gz);
    let no_control_file = ar(&[("debian-binary", b"2.0\n"), ("control.tar.gz", &empty)]);
    assert_eq!(
        error_of(control(&no_control_file[..])),
        "control.tar.gz has no control file"
    );

    let latin1 = compress(
        &data_tar(&[TestEntry::file(
            "./control",
            0o644,
            b"Maintainer: J\xf6rg\n",
        )]),
        Compression::Gz,
    );
    let not_utf8 = ar(&[("debian-binary", b"2.0\n"), ("control.tar.gz", &latin1)]);
    assert_eq!(
        error_of(control(&not_utf8[..])),
        "control file is not valid UTF-8"
    );
}

#[test]
fn bz2_and_lzma_data_members_are_refused_by_name() {
    for extension in ["bz2", "lzma"] {
        let data_name = format!("data.tar.{extension}");
        let deb = ar(&[
            ("debian-binary", b"2.0\n"),
            (
                "control.tar.gz",
                &compress(&control_tar(CONTROL), Compression::Gz),
            ),
            (&data_name, b"BZh91AY&SY not really"),
        ]);
        assert_eq!(
            error_of(read_entries(&deb)),
            format!("unsupported data.tar compression {extension}")
        );
    }
}

#[test]
fn the_first_data_member_wins() {
    let first = compress(
        &data_tar(&[TestEntry::file("./first", 0o644, "1")]),
        Compression::Xz,
    );
    let second = compress(
        &data_tar(&[TestEntry::file("./second", 0o644, "2")]),
        Compression::Gz,
    );
    let deb = ar(&[
        ("debian-binary", b"2.0\n"),
        ("_gpgorigin", b"signature"),
        ("data.tarball", b"not a payload"),
        ("data.tar.xz", &first),
        ("data.tar.gz", &second),
    ]);
    assert_eq!(
        read_entries(&deb).unwrap(),
        [seen("./first", EntryKind::File, 0o644, b"1")]
    );
}

#[test]
fn missing_data_member() {
    let deb = ar(&[
        ("debian-binary", b"2.0\n"),
        (
            "control.tar.gz",
            &compress(&control_tar(CONTROL), Compression::Gz),
        ),
    ]);
    assert_eq!(error_of(read_entries(&deb)), "no data payload");
}

#[test]
fn debian_binary_must_come_first_and_say_2() {
    let data = compress(&data_tar(&[]), Compression::Gz);
    let wrong_first = ar(&[("data.tar.gz", &data), ("debian-binary", b"2.0\n")]);
    assert_eq!(
        error_of(read_entries(&wrong_first)),
        "first ar member is \"data.tar.gz\", expected \"debian-binary\""
    );
    let version_3 = ar(&[("debian-binary", b"3.0\nmore"), ("data.tar.gz", &data)]);
    assert_eq!(
        error_of(read_entries(&version_3)),
        "unsupported .deb format version \"3.0\", expected 2.x"
    );
    assert_eq!(
        error_of(read_entries(b"!<arch>\n")),
        "ar archive is empty, expected a \"debian-binary\" member first"
    );
}

#[test]
fn bad_magic() {
    assert_eq!(
        error_of(read_entries(b"PK\x03\x04 zip file")),
        r#"not an ar archive: expected "!<arch>\n" at offset 0, found "PK\u{3}\u{4} zip""#
    );
    assert_eq!(
        error_of(read_entries(b"!<ar")),
        r#"not an ar archive: expected "!<arch>\n" at offset 0, found "!<ar""#
    );
    assert_eq!(
        error_of(read_entries(b"!<thin>\n")),
        r#"not an ar archive: expected "!<arch>\n" at offset 0, found "!<thin>\n""#
    );
}

#[test]
fn truncated_header() {
    let deb = build_deb(&[], Compression::Gz);
    // magic (8), debian-binary header (60) and body (4): the next header starts at 72.
    assert_eq!(
        error_of(read_entries(&deb[..72 + 20])),
        "ar header at offset 72 is truncated: expected 60 bytes, found 20"
    );
}

#[test]
fn bad_header_terminator() {
    let mut deb = build_deb(&[], Compression::Gz);
    deb[72 + 58] = b'\'';
    assert_eq!(
        error_of(read_entries(&deb)),
        r#"ar header field at offset 130 should be "`\n", found "'\n""#
    );
}

#[test]
fn non_numeric_size() {
    let mut deb = build_deb(&[], Compression::Gz);
    deb[72 + 48..72 + 58].copy_from_slice(b"12x4      ");
    assert_eq!(
        error_of(read_entries(&deb)),
        r#"ar member "control.tar.gz" has a malformed size at offset 120: expected a decimal number, found "12x4""#
    );
    deb[72 + 48..72 + 58].copy_from_slice(b"          ");
    assert_eq!(
        error_of(read_entries(&deb)),
        r#"ar member "control.tar.gz" has a malformed size at offset 120: expected a decimal number, found """#
    );
    deb[72 + 48..72 + 58].copy_from_slice(b" 12       ");
    assert!(error_of(read_entries(&deb)).contains("malformed size"));
}

/// Offset of the header of the last member of a [`build_deb`] package, and the size of its body.
fn last_member(deb: &[u8]) -> (usize, usize) {
    let control_size: usize = std::str::from_utf8(&deb[72 + 48..72 + 58])
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let offset = 72 + 60 + control_size + control_size % 2;
    let size = std::str::from_utf8(&deb[offset + 48..offset + 58])
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (offset, size)
}

#[test]
fn a_data_member_shorter_than_its_header_says_is_truncated() {
    // Big enough that every compressor's output outgrows the 100 bytes cut off.
    let content: Vec<u8> = (0..20_000u32).flat_map(|n| n.to_le_bytes()).collect();
    for compression in [
        Compression::None,
        Compression::Gz,
        Compression::Xz,
        Compression::Zst,
    ] {
        let deb = build_deb(&[TestEntry::file("./blob", 0o644, &content)], compression);
        let (offset, size) = last_member(&deb);
        let cut = &deb[..offset + 60 + size - 100];
        let expected = format!(
            "ar member \"data.tar{}\" at offset {offset} is truncated: header says {size} bytes, found {}",
            compression.suffix(),
            size - 100
        );
        assert_eq!(error_of(read_entries(cut)), expected, "{compression:?}");
        // The same when the visitor never reads and the tar reader skips.
        let skipped = for_each_entry(cut, |_: DataEntry<'_>| Ok::<_, DebError>(()));
        assert_eq!(error_of(skipped), expected, "{compression:?}");
    }
}

#[test]
fn a_size_running_past_the_end_is_found_after_the_tarball_ends() {
    // The tarball is intact; only the header lies, claiming bytes after it.
    let mut deb = build_deb(&[TestEntry::file("./a", 0o644, "a")], Compression::Gz);
    let (offset, size) = last_member(&deb);
    let claimed = size + 1000;
    deb[offset + 48..offset + 58].copy_from_slice(format!("{claimed:<10}").as_bytes());
    let padded = size % 2;
    assert_eq!(
        error_of(read_entries(&deb)),
        format!(
            "ar member \"data.tar.gz\" at offset {offset} is truncated: header says {claimed} bytes, found {}",
            size + padded
        )
    );
}

#[test]
fn a_truncated_skipped_member_is_reported_too() {
    let deb = build_deb(&[], Compression::Gz);
    let control_size: usize = std::str::from_utf8(&deb[72 + 48..72 + 58])
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        error_of(read_entries(&deb[..72 + 60 + 10])),
        format!("ar member \"control.tar.gz\" at offset 72 is truncated: header says {control_size} bytes, found 10")
    );
}

#[test]
fn ar_names_gnu_and_bsd() {
    let archive = ar(&[
        ("debian-binary/", b"2.0\n"),
        ("a name with spaces", b"odd"),
        ("/", b"symbols"),
        ("//", b"names"),
        ("plain", b"xy"),
    ]);
    let mut reader = ArReader::new(&archive[..]).unwrap();
    let mut found = Vec::new();
    while let Some(mut member) = reader.next_member().unwrap() {
        let name = lossy(member.name());
        let size = member.size();
        let mut body = Vec::new();
        member.read_to_end(&mut body).unwrap();
        found.push((name, size, lossy(&body)));
    }
    assert_eq!(reader.offset(), archive.len() as u64);
    let expected = [
        ("debian-binary", 4, "2.0\n"),
        ("a name with spaces", 3, "odd"),
        ("/", 7, "symbols"),
        ("//", 5, "names"),
        ("plain", 2, "xy"),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(name, size, body)| ((*name).to_owned(), *size, (*body).to_owned()))
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn a_deb_with_bsd_names_and_gnu_slashes_reads_the_same() {
    let control = compress(&control_tar(CONTROL), Compression::Gz);
    let data = compress(&data_tar(&sample_entries()), Compression::Zst);
    let bsd = ar_bsd(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", &control),
        ("data.tar.zst", &data),
    ]);
    assert_eq!(read_entries(&bsd).unwrap(), sample_seen());
    assert_eq!(super::control(&bsd[..]).unwrap(), CONTROL);
    let gnu = ar(&[
        ("debian-binary/", b"2.0\n"),
        ("control.tar.gz/", &control),
        ("data.tar.zst/", &data),
    ]);
    assert_eq!(read_entries(&gnu).unwrap(), sample_seen());
}

#[test]
fn bsd_name_errors() {
    let mut archive = ar_bsd(&[("name", b"body")]);
    // The field now claims a 9-byte name in an 8-byte member.
    archive[8..24].copy_from_slice(b"#1/9            ");
    let mut reader = ArReader::new(&archive[..]).unwrap();
    assert_eq!(
        error_of(reader.next_member().map(|_| ())),
        "ar member at offset 8 has a malformed BSD name length \"9\": longer than the member"
    );
    archive[8..24].copy_from_slice(b"#1/x            ");
    let mut reader = ArReader::new(&archive[..]).unwrap();
    assert_eq!(
        error_of(reader.next_member().map(|_| ())),
        "ar member at offset 8 has a malformed BSD name length \"x\": not a decimal number"
    );
}

#[test]
fn odd_members_are_padded_and_a_missing_last_pad_is_tolerated() {
    let archive = ar(&[("one", b"a"), ("two", b"bcd")]);
    assert_eq!(archive.last(), Some(&b'\n'));
    let unpadded = &archive[..archive.len() - 1];
    for bytes in [&archive[..], unpadded] {
        let mut reader = ArReader::new(bytes).unwrap();
        let mut names = Vec::new();
        // Bodies left unread: skipping must honour the padding too.
        while let Some(member) = reader.next_member().unwrap() {
            names.push(lossy(member.name()));
        }
        assert_eq!(names, ["one", "two"]);
    }
}

#[test]
fn a_decompression_bomb_stops_at_the_limit_quickly() {
    const LIMIT: u64 = 1 << 20;
    // 64 MiB of zeros, streamed into zstd so the test never holds it.
    let mut builder = tar::Builder::new(zstd::Encoder::new(Vec::new(), 1).unwrap());
    let mut header = tar::Header::new_gnu();
    header.set_path("./zeros").unwrap();
    header.set_size(64 << 20);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    builder
        .append(&header, io::repeat(0).take(64 << 20))
        .unwrap();
    let data = builder.into_inner().unwrap().finish().unwrap();
    assert!(data.len() < 64 << 10, "compressed to {} bytes", data.len());
    let deb = ar(&[("debian-binary", b"2.0\n"), ("data.tar.zst", &data)]);

    let expected = "data.tar expands past the limit of 1048576 bytes";
    let start = Instant::now();
    // Skipping the content still counts.
    let skipping = DebReader::new(&deb[..])
        .unwrap()
        .with_expansion_limit(LIMIT)
        .for_each_entry(|_: DataEntry<'_>| Ok::<_, DebError>(()));
    assert_eq!(error_of(skipping), expected);
    // Reading it: the visitor sees an I/O error, but the limit is what gets reported.
    let reading = DebReader::new(&deb[..])
        .unwrap()
        .with_expansion_limit(LIMIT)
        .for_each_entry(|mut entry: DataEntry<'_>| {
            io::copy(&mut entry, &mut io::sink()).map_err(|source| DebError::Tar {
                member: "visitor".to_owned(),
                source,
            })?;
            Ok(())
        });
    assert_eq!(error_of(reading), expected);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn the_limit_is_inclusive() {
    let tar = data_tar(&[TestEntry::file("./a", 0o644, "a")]);
    let deb = build_deb(&[TestEntry::file("./a", 0o644, "a")], Compression::Gz);
    let with_limit = |limit| {
        DebReader::new(&deb[..])
            .unwrap()
            .with_expansion_limit(limit)
            .for_each_entry(|_: DataEntry<'_>| Ok::<_, DebError>(()))
    };
    // The tar reader stops at the end-of-archive block, before the record padding.
    let used = 3 * 512;
    assert!(tar.len() >= used);
    with_limit(used as u64).unwrap();
    assert_eq!(
        error_of(with_limit(used as u64 - 1)),
        format!("data.tar expands past the limit of {} bytes", used - 1)
    );
}

#[test]
fn visitor_errors_come_back_unchanged() {
    #[derive(Debug, PartialEq)]
    enum Mine {
        Stop(String),
        Deb(String),
    }
    impl From<DebError> for Mine {
        fn from(error: DebError) -> Self {
            Self::Deb(error.to_string())
        }
    }
    let deb = build_deb(&sample_entries(), Compression::Gz);
    let mut visited = 0;
    let result = for_each_entry(&deb[..], |entry: DataEntry<'_>| {
        visited += 1;
        if entry.name() == b"./usr/bin/su" {
            return Err(Mine::Stop(lossy(entry.name())));
        }
        Ok(())
    });
    assert_eq!(result, Err(Mine::Stop("./usr/bin/su".to_owned())));
    assert_eq!(visited, 5);
    assert_eq!(
        for_each_entry(&b"junk"[..], |_: DataEntry<'_>| Ok(())),
        Err(Mine::Deb(
            r#"not an ar archive: expected "!<arch>\n" at offset 0, found "junk""#.to_owned()
        ))
    );
}

/// A `.deb` whose `data.tar` is exactly `tar`, uncompressed.
fn deb_with_tar(tar: &[u8]) -> Vec<u8> {
    ar(&[("debian-binary", b"2.0\n"), ("data.tar", tar)])
}

#[test]
fn metadata_entries_must_describe_something() {
    let mut builder = tar::Builder::new(Vec::new());
    testdeb::append_long(&mut builder, tar::EntryType::GNULongName, b"./dangling");
    let tar = builder.into_inner().unwrap();
    assert_eq!(
        error_of(read_entries(&deb_with_tar(&tar))),
        r#"data.tar entry "././@LongLink": metadata entry at the end of the archive describes nothing"#
    );

    let mut builder = tar::Builder::new(Vec::new());
    testdeb::append_long(&mut builder, tar::EntryType::GNULongName, b"./one");
    testdeb::append_long(&mut builder, tar::EntryType::GNULongName, b"./two");
    let tar = builder.into_inner().unwrap();
    assert_eq!(
        error_of(read_entries(&deb_with_tar(&tar))),
        r#"data.tar entry "././@LongLink": two metadata entries of one kind for one entry"#
    );
}

#[test]
fn oversized_metadata_entries_are_refused_before_reading() {
    let mut builder = tar::Builder::new(Vec::new());
    testdeb::append_long(
        &mut builder,
        tar::EntryType::GNULongName,
        &vec![b'a'; 2 << 20],
    );
    let tar = builder.into_inner().unwrap();
    assert_eq!(
        error_of(read_entries(&deb_with_tar(&tar))),
        r#"data.tar entry "././@LongLink": metadata entry longer than 1 MiB"#
    );
}

#[test]
fn pax_headers_we_cannot_honour_are_refused() {
    // `Header::set_path` drops the `./`, hence the bare names below.
    let pax_tar = |records: Vec<u8>| {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_path("./PaxHeaders/x").unwrap();
        header.set_entry_type(tar::EntryType::XHeader);
        header.set_size(records.len() as u64);
        header.set_cksum();
        builder.append(&header, &records[..]).unwrap();
        let mut header = tar::Header::new_gnu();
        header.set_path("./x").unwrap();
        header.set_mode(0o644);
        header.set_size(1);
        header.set_cksum();
        builder.append(&header, &b"x"[..]).unwrap();
        deb_with_tar(&builder.into_inner().unwrap())
    };
    assert_eq!(
        error_of(read_entries(&pax_tar(testdeb::pax_record("size", b"2")))),
        r#"data.tar entry "x": PAX size differs from the tar header"#
    );
    assert_eq!(
        error_of(read_entries(&pax_tar(testdeb::pax_record(
            "GNU.sparse.major",
            b"1"
        )))),
        r#"data.tar entry "x": sparse files are not supported"#
    );
    // Agreeing sizes and keys nobody needs are fine.
    let mut records = testdeb::pax_record("size", b"1");
    records.extend(testdeb::pax_record("mtime", b"1700000000.5"));
    assert_eq!(
        read_entries(&pax_tar(records)).unwrap(),
        [seen("x", EntryKind::File, 0o644, b"x")]
    );
}

#[test]
fn pax_global_headers_are_not_entries() {
    let mut builder = tar::Builder::new(Vec::new());
    let records = testdeb::pax_record("comment", b"made by a test");
    let mut header = tar::Header::new_ustar();
    header.set_path("pax_global_header").unwrap();
    header.set_entry_type(tar::EntryType::XGlobalHeader);
    header.set_size(records.len() as u64);
    header.set_cksum();
    builder.append(&header, &records[..]).unwrap();
    let mut header = tar::Header::new_ustar();
    header.set_path("./x").unwrap();
    header.set_mode(0o100_640);
    header.set_size(0);
    header.set_cksum();
    builder.append(&header, io::empty()).unwrap();
    let deb = deb_with_tar(&builder.into_inner().unwrap());
    // Also: file type bits in the mode field are dropped.
    assert_eq!(
        read_entries(&deb).unwrap(),
        [seen("x", EntryKind::File, 0o640, b"")]
    );
}

#[test]
fn a_malformed_mode_field_is_named() {
    let mut tar = data_tar(&[TestEntry::file("./x", 0o644, "x")]);
    tar[100..108].copy_from_slice(b"0o644\0\0\0");
    // Keep the checksum right so only the mode is wrong.
    let mut header = tar::Header::new_old();
    header.as_mut_bytes().copy_from_slice(&tar[..512]);
    header.set_cksum();
    tar[..512].copy_from_slice(header.as_bytes());
    assert_eq!(
        error_of(read_entries(&deb_with_tar(&tar))),
        r#"data.tar entry "./x" has a malformed mode field "0o644\0\0\0""#
    );
}

#[test]
fn corrupt_compressed_data_is_a_tar_error_naming_the_member() {
    let deb = build_deb(&sample_entries(), Compression::Gz);
    let (offset, _) = last_member(&deb);
    let mut corrupt = deb.clone();
    // Past the 10-byte gzip header, into the deflate stream.
    for byte in &mut corrupt[offset + 60 + 12..offset + 60 + 40] {
        *byte ^= 0x55;
    }
    let message = error_of(read_entries(&corrupt));
    assert!(
        message.starts_with("cannot read data.tar.gz: "),
        "{message}"
    );
}

/// Every prefix and many single-byte corruptions of small packages: errors are fine, panics and
/// hangs are not.
#[test]
fn no_panics_on_mangled_input() {
    for compression in [
        Compression::None,
        Compression::Gz,
        Compression::Xz,
        Compression::Zst,
    ] {
        let deb = build_deb(&sample_entries(), compression);
        // The uncompressed package is mostly tar padding; sample it rather than spend seconds.
        let step = (deb.len() / 1500).max(1);
        for end in (0..deb.len()).step_by(step) {
            let _ = read_entries(&deb[..end]);
            let _ = control(&deb[..end]);
        }
        let mut mangled = deb.clone();
        for position in (0..deb.len()).step_by(7 * step) {
            for flip in [0x01, 0x80, 0xff] {
                mangled[position] ^= flip;
                let _ = read_entries(&mangled);
                mangled[position] ^= flip;
            }
        }
    }
}

#[test]
fn hashing_reader_matches_known_digests() {
    let mut reader = HashingReader::new(&b"abc"[..], sha256_only());
    io::copy(&mut reader, &mut io::sink()).unwrap();
    let (digest, bytes) = parts(reader.finish());
    assert_eq!(bytes, 3);
    assert_eq!(
        hex(&digest),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let (empty, bytes) = parts(HashingReader::new(io::empty(), sha256_only()).finish());
    assert_eq!(bytes, 0);
    assert_eq!(
        hex(&empty),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn hashing_a_deb_while_reading_it() {
    let deb = build_deb(&sample_entries(), Compression::Xz);
    let mut reader = HashingReader::new(&deb[..], sha256_only());
    for_each_entry(&mut reader, |_: DataEntry<'_>| Ok::<_, DebError>(())).unwrap();
    io::copy(&mut reader, &mut io::sink()).unwrap();
    let (digest, bytes) = parts(reader.finish());
    assert_eq!(bytes, deb.len() as u64);
    assert_eq!(digest, <[u8; 32]>::from(Sha256::digest(&deb)));
}

/// The digest kernel's hashing reader, as these tests use it (it moved there from this module).
fn sha256_only() -> crate::digest::Hasher {
    crate::digest::Hasher::new(&[crate::digest::Algorithm::Sha256])
}

/// (SHA-256, bytes read), as the reader here used to give them.
fn parts(hashes: crate::digest::Hashes) -> ([u8; 32], u64) {
    let digest = hashes
        .get(crate::digest::Algorithm::Sha256)
        .expect("asked for SHA-256");
    let bytes: [u8; 32] = digest.as_bytes().try_into().expect("32 bytes");
    (bytes, hashes.size)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Finds `<name>_*.deb` anywhere under `dir`.
fn find_deb(dir: &std::path::Path, name: &str) -> Option<std::path::PathBuf> {
    let prefix = format!("{name}_");
    for entry in fs_err::read_dir(dir).ok()? {
        let path = entry.ok()?.path();
        if path.is_dir() {
            if let Some(found) = find_deb(&path, name) {
                return Some(found);
            }
        } else if path.extension().is_some_and(|extension| extension == "deb")
            && path
                .file_name()
                .and_then(|file| file.to_str())
                .is_some_and(|file| file.starts_with(&prefix))
        {
            return Some(path);
        }
    }
    None
}

#[test]
#[expect(clippy::print_stderr, reason = "the skip notice is the point")]
fn real_noble_packages() {
    let pool = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/noble-mirror/ubuntu/pool"
    ));
    if !pool.is_dir() {
        eprintln!("skipping: {} absent", pool.display());
        return;
    }
    let expectations = [
        ("base-files", "./etc/os-release"),
        ("libc6", "./usr/lib/x86_64-linux-gnu/libc.so.6"),
        ("openssl", "./usr/bin/openssl"),
    ];
    for (package, wanted) in expectations {
        let path = find_deb(pool, package)
            .unwrap_or_else(|| panic!("no {package}_*.deb under {}", pool.display()));
        let bytes = fs_err::read(&path).unwrap();

        let text = control(&bytes[..]).unwrap();
        assert!(
            text.lines()
                .any(|line| line == format!("Package: {package}")),
            "{text}"
        );

        let mut names = Vec::new();
        let mut content_bytes = 0;
        let mut reader = HashingReader::new(&bytes[..], sha256_only());
        for_each_entry(&mut reader, |mut entry: DataEntry<'_>| {
            let copied = io::copy(&mut entry, &mut io::sink()).map_err(|source| DebError::Tar {
                member: "visitor".to_owned(),
                source,
            })?;
            assert_eq!(copied, entry.size(), "{entry:?}");
            content_bytes += copied;
            names.push((lossy(entry.name()), entry.kind().clone()));
            Ok::<_, DebError>(())
        })
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        io::copy(&mut reader, &mut io::sink()).unwrap();
        let (digest, length) = parts(reader.finish());
        assert_eq!(length, bytes.len() as u64);
        assert_eq!(digest, <[u8; 32]>::from(Sha256::digest(&bytes)));

        assert!(
            names.iter().any(|(name, _)| name == wanted),
            "{package}: no {wanted}"
        );
        assert!(
            names.iter().all(|(name, _)| name.starts_with("./")),
            "{package}"
        );
        assert!(content_bytes > 0);
    }
}
