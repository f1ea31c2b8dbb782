//! A deterministic tar writer: ustar headers, with a PAX extended header only for what ustar
//! cannot hold (names and link targets over 100 bytes, ids over 2097151, user and group names
//! over 31 bytes, files of 8 GiB or more). The same entries always give the same bytes: no
//! access times, no device numbers, no host user ever looked up.

use std::io::{self, Read, Write};

const BLOCK: usize = 512;
/// The largest value an 8-byte octal field (7 digits and a NUL) holds.
const MAX_ID: u64 = 0o7_777_777;
/// The largest value a 12-byte octal field (11 digits and a NUL) holds.
const MAX_SIZE: u64 = 0o77_777_777_777;

/// What an entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TarKind {
    Directory,
    /// A regular file of this many bytes; the content follows the header.
    File {
        size: u64,
    },
    Symlink {
        target: Vec<u8>,
    },
    /// A hard link to an earlier entry of the same archive, by its name.
    HardLink {
        target: Vec<u8>,
    },
}

impl TarKind {
    fn flag(&self) -> u8 {
        match self {
            TarKind::File { .. } => b'0',
            TarKind::HardLink { .. } => b'1',
            TarKind::Symlink { .. } => b'2',
            TarKind::Directory => b'5',
        }
    }
}

/// One entry's header fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TarHeader {
    /// The member name, e.g. `usr/bin/` or `etc/passwd`.
    pub(crate) name: Vec<u8>,
    pub(crate) kind: TarKind,
    /// Permission bits, setuid, setgid and sticky included.
    pub(crate) mode: u32,
    pub(crate) uid: u64,
    pub(crate) gid: u64,
    pub(crate) user: String,
    pub(crate) group: String,
    pub(crate) mtime: u64,
}

/// Writes tar members to `out`, one after the other; [`TarWriter::finish`] ends the archive.
pub(crate) struct TarWriter<W: Write> {
    out: W,
}

impl<W: Write> TarWriter<W> {
    pub(crate) fn new(out: W) -> Self {
        Self { out }
    }

    /// Appends an entry. A file's content is read from `content`, which must yield exactly the
    /// size the header declares: a file that shrank or grew while being written would make a
    /// corrupt archive, so that is an error.
    pub(crate) fn append(&mut self, header: &TarHeader, content: &mut dyn Read) -> io::Result<()> {
        let records = pax_records(header);
        if !records.is_empty() {
            let mut pax_name = b"PaxHeaders/".to_vec();
            pax_name.extend_from_slice(&header.name);
            let pax = TarHeader {
                name: pax_name,
                kind: TarKind::File {
                    size: records.len() as u64,
                },
                mode: 0o644,
                uid: 0,
                gid: 0,
                user: String::new(),
                group: String::new(),
                mtime: header.mtime,
            };
            self.out.write_all(&ustar_block(&pax, b'x'))?;
            self.out.write_all(&records)?;
            self.pad(records.len() as u64)?;
        }
        self.out
            .write_all(&ustar_block(header, header.kind.flag()))?;
        if let TarKind::File { size } = header.kind {
            let copied = io::copy(&mut content.take(size), &mut self.out)?;
            let mut probe = [0_u8; 1];
            if copied != size || content.read(&mut probe)? != 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "{} changed size while it was written: {size} bytes expected",
                        String::from_utf8_lossy(&header.name)
                    ),
                ));
            }
            self.pad(size)?;
        }
        Ok(())
    }

    /// Writes the two zero blocks that end an archive and hands back the output.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&[0; 2 * BLOCK])?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn pad(&mut self, size: u64) -> io::Result<()> {
        let rest = (size % BLOCK as u64) as usize;
        if rest != 0 {
            self.out.write_all(&[0; BLOCK][..BLOCK - rest])?;
        }
        Ok(())
    }
}

/// The PAX records `header` needs, in a fixed order; empty when ustar holds it all.
fn pax_records(header: &TarHeader) -> Vec<u8> {
    let mut records = Vec::new();
    if header.name.len() > 100 {
        records.extend(pax_record("path", &header.name));
    }
    if let TarKind::Symlink { target } | TarKind::HardLink { target } = &header.kind {
        if target.len() > 100 {
            records.extend(pax_record("linkpath", target));
        }
    }
    if header.uid > MAX_ID {
        records.extend(pax_record("uid", header.uid.to_string().as_bytes()));
    }
    if header.gid > MAX_ID {
        records.extend(pax_record("gid", header.gid.to_string().as_bytes()));
    }
    if header.user.len() > 31 {
        records.extend(pax_record("uname", header.user.as_bytes()));
    }
    if header.group.len() > 31 {
        records.extend(pax_record("gname", header.group.as_bytes()));
    }
    if let TarKind::File { size } = header.kind {
        if size > MAX_SIZE {
            records.extend(pax_record("size", size.to_string().as_bytes()));
        }
    }
    records
}

/// One `<length> <key>=<value>\n` record; the length counts its own digits.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let rest = key.len() + value.len() + 3;
    let mut length = rest + 1;
    while length != rest + length.to_string().len() {
        length = rest + length.to_string().len();
    }
    let mut record = format!("{length} {key}=").into_bytes();
    record.extend_from_slice(value);
    record.push(b'\n');
    record
}

/// The 512-byte ustar header; fields too long for it are cut (a PAX record says them whole).
fn ustar_block(header: &TarHeader, flag: u8) -> [u8; BLOCK] {
    let mut block = [0_u8; BLOCK];
    put_bytes(&mut block[0..100], &header.name);
    put_octal(&mut block[100..108], u64::from(header.mode & 0o7777));
    put_octal(&mut block[108..116], clamp(header.uid));
    put_octal(&mut block[116..124], clamp(header.gid));
    let size = match header.kind {
        TarKind::File { size } if size <= MAX_SIZE => size,
        _ => 0,
    };
    put_octal(&mut block[124..136], size);
    put_octal(&mut block[136..148], header.mtime.min(MAX_SIZE));
    block[156] = flag;
    if let TarKind::Symlink { target } | TarKind::HardLink { target } = &header.kind {
        put_bytes(&mut block[157..257], target);
    }
    block[257..263].copy_from_slice(b"ustar\0");
    block[263..265].copy_from_slice(b"00");
    put_bytes(&mut block[265..296], header.user.as_bytes());
    put_bytes(&mut block[297..328], header.group.as_bytes());
    put_octal(&mut block[329..337], 0);
    put_octal(&mut block[337..345], 0);
    // The checksum is computed with its own field as eight spaces.
    block[148..156].copy_from_slice(b"        ");
    let sum: u64 = block.iter().map(|&byte| u64::from(byte)).sum();
    let digits = format!("{sum:06o}\0 ");
    block[148..156].copy_from_slice(digits.as_bytes());
    block
}

/// An id too large for its field is written as 0, with the real one in a PAX record.
fn clamp(id: u64) -> u64 {
    if id > MAX_ID {
        0
    } else {
        id
    }
}

fn put_bytes(field: &mut [u8], value: &[u8]) {
    let length = value.len().min(field.len());
    field[..length].copy_from_slice(&value[..length]);
}

/// Zero-padded octal, NUL-terminated, filling the field.
fn put_octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}");
    field[..width].copy_from_slice(&text.as_bytes()[text.len() - width..]);
    field[width] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, kind: TarKind, mode: u32) -> TarHeader {
        TarHeader {
            name: name.as_bytes().to_vec(),
            kind,
            mode,
            uid: 0,
            gid: 42,
            user: "root".to_owned(),
            group: "shadow".to_owned(),
            mtime: 1_700_000_000,
        }
    }

    fn field(block: &[u8], range: std::ops::Range<usize>) -> String {
        String::from_utf8_lossy(&block[range]).into_owned()
    }

    #[test]
    fn a_file_header_has_exact_ustar_fields_and_padding() {
        let mut writer = TarWriter::new(Vec::new());
        writer
            .append(
                &header("usr/bin/chage", TarKind::File { size: 5 }, 0o2755),
                &mut &b"hello"[..],
            )
            .unwrap();
        let bytes = writer.finish().unwrap();
        assert_eq!(bytes.len(), 512 + 512 + 1024);
        assert_eq!(field(&bytes, 0..13), "usr/bin/chage");
        assert_eq!(field(&bytes, 100..108), "0002755\0");
        assert_eq!(field(&bytes, 108..116), "0000000\0");
        assert_eq!(field(&bytes, 116..124), "0000052\0");
        assert_eq!(field(&bytes, 124..136), "00000000005\0");
        assert_eq!(field(&bytes, 136..148), "14524770400\0");
        assert_eq!(bytes[156], b'0');
        assert_eq!(field(&bytes, 257..265), "ustar\u{0}00");
        assert_eq!(field(&bytes, 265..269), "root");
        assert_eq!(field(&bytes, 297..303), "shadow");
        let sum: u64 = bytes[..512]
            .iter()
            .enumerate()
            .map(|(at, &byte)| u64::from(if (148..156).contains(&at) { b' ' } else { byte }))
            .sum();
        assert_eq!(field(&bytes, 148..156), format!("{sum:06o}\0 "));
        assert_eq!(&bytes[512..517], b"hello");
        assert!(bytes[517..].iter().all(|&byte| byte == 0));
        // The tar crate reads it back as written.
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut entries = archive.entries().unwrap();
        let mut entry = entries.next().unwrap().unwrap();
        assert_eq!(entry.header().mode().unwrap(), 0o2755);
        assert_eq!(entry.header().groupname().unwrap(), Some("shadow"));
        let mut content = String::new();
        entry.read_to_string(&mut content).unwrap();
        assert_eq!(content, "hello");
    }

    #[test]
    fn long_names_and_large_ids_go_into_one_pax_header() {
        let long = format!("usr/share/{}/x", "d".repeat(120));
        let mut entry = header(
            &long,
            TarKind::Symlink {
                target: b"../y".to_vec(),
            },
            0o777,
        );
        entry.uid = 3_000_000;
        let mut writer = TarWriter::new(Vec::new());
        writer.append(&entry, &mut io::empty()).unwrap();
        let bytes = writer.finish().unwrap();
        let records = format!("{}{}", pax_record_text("path", &long), "15 uid=3000000\n");
        assert_eq!(bytes[156], b'x');
        assert_eq!(field(&bytes, 124..136), format!("{:011o}\0", records.len()));
        assert_eq!(field(&bytes, 512..512 + records.len()), records);
        assert_eq!(bytes.len(), 512 + 512 + 512 + 1024);
        assert_eq!(bytes[1024 + 156], b'2');
        assert_eq!(field(&bytes, 1024 + 108..1024 + 116), "0000000\0");
        assert_eq!(field(&bytes, 1024 + 157..1024 + 161), "../y");
        let mut archive = tar::Archive::new(&bytes[..]);
        let read = archive.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(read.path_bytes().as_ref(), long.as_bytes());
        // The header field says 0; a reader takes the PAX record over it.
        assert_eq!(read.header().uid().unwrap(), 3_000_000);
    }

    fn pax_record_text(key: &str, value: &str) -> String {
        String::from_utf8(pax_record(key, value.as_bytes())).unwrap()
    }

    #[test]
    fn pax_record_lengths_count_themselves() {
        assert_eq!(pax_record_text("uid", "3000000"), "15 uid=3000000\n");
        // 98 bytes and two digits would be 100, which has three digits: 101.
        let value = "v".repeat(91);
        assert_eq!(
            pax_record_text("path", &value),
            format!("101 path={value}\n")
        );
    }

    #[test]
    fn a_file_that_changes_size_is_an_error() {
        let mut writer = TarWriter::new(Vec::new());
        let error = writer
            .append(
                &header("etc/x", TarKind::File { size: 10 }, 0o644),
                &mut &b"short"[..],
            )
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "etc/x changed size while it was written: 10 bytes expected"
        );
    }
}
