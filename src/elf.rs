//! A small, bounds-checked reader of the few ELF fields `kerf check` needs: the header (class,
//! byte order, machine), the interpreter (`PT_INTERP`) and, from the dynamic section
//! (`PT_DYNAMIC`), the `DT_NEEDED` libraries and the `DT_RPATH`/`DT_RUNPATH` search paths.
//!
//! ELF32 and ELF64, little- and big-endian. Files are hostile input: every offset and size is
//! checked against the file's length before anything is read, nothing is allocated that is
//! larger than a fixed cap (or the file), and a malformed file gives an [`ElfError`], never a
//! panic.

use fs_err::File;
use std::fmt;
use std::io;
use std::os::unix::fs::FileExt as _;

/// The first four bytes of every ELF file.
pub(crate) const MAGIC: &[u8; 4] = b"\x7fELF";

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;

const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;
const DT_RPATH: u64 = 15;
const DT_RUNPATH: u64 = 29;

/// `e_phnum` saying the real count is elsewhere (in section 0); no dynamic object uses it.
const PN_XNUM: u16 = 0xffff;
/// ARM's hard-float ABI flag in `e_flags`.
const EF_ARM_ABI_FLOAT_HARD: u32 = 0x400;

/// The longest interpreter path, library name or search path read (the kernel's `PATH_MAX`).
const MAX_STRING: u64 = 4096;
/// The largest dynamic section read: real ones are a few hundred bytes.
const MAX_DYNAMIC: u64 = 1 << 20;
/// The most `DT_NEEDED` entries accepted in one file: real ones have a few dozen.
const MAX_NEEDED: usize = 1024;

/// 32- or 64-bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Class {
    Elf32,
    Elf64,
}

/// Byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Endian {
    Little,
    Big,
}

/// What the dynamic loader compares before it accepts a library for an object: class, byte
/// order and machine (and `flags`, kept to tell ARM's hard-float ABI apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Kind {
    pub(crate) class: Class,
    pub(crate) endian: Endian,
    pub(crate) machine: u16,
    pub(crate) flags: u32,
}

impl Kind {
    /// Whether ld.so would load a library of kind `other` into an object of this kind.
    pub(crate) fn accepts(self, other: Kind) -> bool {
        self.class == other.class && self.endian == other.endian && self.machine == other.machine
    }

    /// The GNU multiarch triplet of this kind's libraries, when it is a Debian architecture.
    pub(crate) fn triplet(self) -> Option<&'static str> {
        let is64 = self.class == Class::Elf64;
        let little = self.endian == Endian::Little;
        Some(match self.machine {
            62 if is64 => "x86_64-linux-gnu",
            62 => "x86_64-linux-gnux32",
            3 => "i386-linux-gnu",
            183 if little => "aarch64-linux-gnu",
            40 if self.flags & EF_ARM_ABI_FLOAT_HARD != 0 => "arm-linux-gnueabihf",
            40 => "arm-linux-gnueabi",
            21 if little => "powerpc64le-linux-gnu",
            21 => "powerpc64-linux-gnu",
            20 => "powerpc-linux-gnu",
            243 if is64 => "riscv64-linux-gnu",
            22 if is64 => "s390x-linux-gnu",
            258 if is64 => "loongarch64-linux-gnu",
            _ => return None,
        })
    }

    /// The Ubuntu architecture of this kind, if it is one of the seven.
    pub(crate) fn arch(self) -> Option<crate::release::Arch> {
        use crate::release::Arch;
        let is64 = self.class == Class::Elf64;
        let little = self.endian == Endian::Little;
        match self.machine {
            62 if is64 => Some(Arch::Amd64),
            183 if little => Some(Arch::Arm64),
            40 if self.flags & EF_ARM_ABI_FLOAT_HARD != 0 => Some(Arch::Armhf),
            3 => Some(Arch::I386),
            21 if little => Some(Arch::Ppc64el),
            243 if is64 => Some(Arch::Riscv64),
            22 if is64 => Some(Arch::S390x),
            _ => None,
        }
    }
}

impl fmt::Display for Kind {
    /// `ELF64 LSB x86-64`, the way `file` names them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let class = match self.class {
            Class::Elf32 => "ELF32",
            Class::Elf64 => "ELF64",
        };
        let endian = match self.endian {
            Endian::Little => "LSB",
            Endian::Big => "MSB",
        };
        let machine = match self.machine {
            3 => "i386",
            8 => "MIPS",
            20 => "PowerPC",
            21 => "PowerPC64",
            22 => "S/390",
            40 => "ARM",
            62 => "x86-64",
            183 => "AArch64",
            243 => "RISC-V",
            258 => "LoongArch",
            other => return write!(f, "{class} {endian} machine {other}"),
        };
        write!(f, "{class} {endian} {machine}")
    }
}

/// What `kerf check` reads from an ELF file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ElfInfo {
    pub(crate) kind: Kind,
    /// The `PT_INTERP` path, if any.
    pub(crate) interpreter: Option<String>,
    /// The `DT_NEEDED` names, in the file's order, without repeats.
    pub(crate) needed: Vec<String>,
    pub(crate) rpath: Option<String>,
    pub(crate) runpath: Option<String>,
}

/// Why a file that starts like an ELF file could not be read as one.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ElfError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("truncated: the file has {size} bytes, too few for {what} ({length} bytes at offset {offset})")]
    Truncated {
        what: &'static str,
        offset: u64,
        length: u64,
        size: u64,
    },
    #[error("unknown ELF class {0} (expected 1 or 2)")]
    BadClass(u8),
    #[error("unknown ELF byte order {0} (expected 1 or 2)")]
    BadEndian(u8),
    #[error("program header entries of {found} bytes (expected {expected})")]
    BadEntrySize { found: u16, expected: u16 },
    #[error("an extended program header count (PN_XNUM), which kerf does not read")]
    ExtendedCount,
    #[error("{what} of {length} bytes, more than the {limit} kerf reads")]
    TooLarge {
        what: &'static str,
        length: u64,
        limit: u64,
    },
    #[error("more than {MAX_NEEDED} DT_NEEDED entries")]
    TooManyNeeded,
    #[error("an empty interpreter path")]
    EmptyInterpreter,
    #[error("DT_NEEDED or a search path but no DT_STRTAB")]
    NoStringTable,
    #[error("DT_STRTAB address {0:#x} is in no loaded segment")]
    UnmappedStringTable(u64),
    #[error("string offset {offset} is past the string table ({size} bytes)")]
    StringPastTable { offset: u64, size: u64 },
    #[error("a string at offset {0} with no NUL within {MAX_STRING} bytes")]
    UnterminatedString(u64),
}

/// Random access to a file's bytes, so that only the parts the parser needs are read.
pub(crate) trait Source {
    fn size(&self) -> u64;
    /// Fills `buf` from `offset`; the caller has checked that the range is inside `size`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

impl Source for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let bytes = start
            .checked_add(buf.len())
            .and_then(|end| self.get(start..end))
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(bytes);
        Ok(())
    }
}

/// An open file and its length.
pub(crate) struct FileSource {
    pub(crate) file: File,
    pub(crate) size: u64,
}

impl Source for FileSource {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.file().read_exact_at(buf, offset)
    }
}

/// Reads `length` bytes at `offset`, after checking they are inside the file and below `limit`.
fn read(
    source: &(impl Source + ?Sized),
    what: &'static str,
    offset: u64,
    length: u64,
    limit: u64,
) -> Result<Vec<u8>, ElfError> {
    if length > limit {
        return Err(ElfError::TooLarge {
            what,
            length,
            limit,
        });
    }
    let size = source.size();
    if offset.checked_add(length).is_none_or(|end| end > size) {
        return Err(ElfError::Truncated {
            what,
            offset,
            length,
            size,
        });
    }
    // `length <= limit`, a small constant, so this fits in memory and in usize.
    let mut buf = vec![0; usize::try_from(length).unwrap_or(0)];
    source.read_exact_at(&mut buf, offset)?;
    Ok(buf)
}

/// Fixed-width fields of one byte order.
#[derive(Clone, Copy)]
struct Fields {
    class: Class,
    endian: Endian,
}

impl Fields {
    fn u16(self, bytes: &[u8], at: usize) -> u16 {
        let raw = [bytes[at], bytes[at + 1]];
        match self.endian {
            Endian::Little => u16::from_le_bytes(raw),
            Endian::Big => u16::from_be_bytes(raw),
        }
    }

    fn u32(self, bytes: &[u8], at: usize) -> u32 {
        let mut raw = [0; 4];
        raw.copy_from_slice(&bytes[at..at + 4]);
        match self.endian {
            Endian::Little => u32::from_le_bytes(raw),
            Endian::Big => u32::from_be_bytes(raw),
        }
    }

    fn u64(self, bytes: &[u8], at: usize) -> u64 {
        let mut raw = [0; 8];
        raw.copy_from_slice(&bytes[at..at + 8]);
        match self.endian {
            Endian::Little => u64::from_le_bytes(raw),
            Endian::Big => u64::from_be_bytes(raw),
        }
    }

    /// An address-sized field: 4 bytes in ELF32, 8 in ELF64.
    fn word(self, bytes: &[u8], at: usize) -> u64 {
        match self.class {
            Class::Elf32 => u64::from(self.u32(bytes, at)),
            Class::Elf64 => self.u64(bytes, at),
        }
    }
}

/// One program header, the fields used.
struct Segment {
    kind: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

/// The header's fields, read from its first bytes; `None` when they are not `\x7fELF`.
pub(crate) fn read_kind(source: &(impl Source + ?Sized)) -> Result<Option<Kind>, ElfError> {
    if source.size() < 4 || read(source, "the magic number", 0, 4, 4)? != MAGIC {
        return Ok(None);
    }
    let (_, kind, _) = header(source)?;
    Ok(Some(kind))
}

/// The ELF header: its byte layout, its kind, and its bytes.
fn header(source: &(impl Source + ?Sized)) -> Result<(Fields, Kind, Vec<u8>), ElfError> {
    let ident = read(source, "the ELF identification", 0, 16, 16)?;
    let class = match ident[4] {
        1 => Class::Elf32,
        2 => Class::Elf64,
        other => return Err(ElfError::BadClass(other)),
    };
    let endian = match ident[5] {
        1 => Endian::Little,
        2 => Endian::Big,
        other => return Err(ElfError::BadEndian(other)),
    };
    let size = match class {
        Class::Elf32 => 52,
        Class::Elf64 => 64,
    };
    let bytes = read(source, "the ELF header", 0, size, size)?;
    let fields = Fields { class, endian };
    let flags_at = match class {
        Class::Elf32 => 36,
        Class::Elf64 => 48,
    };
    let kind = Kind {
        class,
        endian,
        machine: fields.u16(&bytes, 18),
        flags: fields.u32(&bytes, flags_at),
    };
    Ok((fields, kind, bytes))
}

/// Reads what `kerf check` needs from an ELF file (which must start with [`MAGIC`]).
pub(crate) fn parse(source: &(impl Source + ?Sized)) -> Result<ElfInfo, ElfError> {
    let (fields, kind, header) = header(source)?;
    let mut info = ElfInfo {
        kind,
        interpreter: None,
        needed: Vec::new(),
        rpath: None,
        runpath: None,
    };
    let (phoff, phentsize, phnum, entry_size) = match kind.class {
        Class::Elf32 => (
            fields.word(&header, 28),
            fields.u16(&header, 42),
            fields.u16(&header, 44),
            32u16,
        ),
        Class::Elf64 => (
            fields.word(&header, 32),
            fields.u16(&header, 54),
            fields.u16(&header, 56),
            56u16,
        ),
    };
    if phnum == 0 {
        // Relocatable objects and the like: nothing is loaded, nothing to resolve.
        return Ok(info);
    }
    if phnum == PN_XNUM {
        return Err(ElfError::ExtendedCount);
    }
    if phentsize != entry_size {
        return Err(ElfError::BadEntrySize {
            found: phentsize,
            expected: entry_size,
        });
    }
    let table_size = u64::from(phnum) * u64::from(entry_size);
    let table = read(
        source,
        "the program headers",
        phoff,
        table_size,
        u64::from(PN_XNUM) * 56,
    )?;
    let segments: Vec<Segment> = table
        .chunks_exact(usize::from(entry_size))
        .map(|entry| match kind.class {
            Class::Elf32 => Segment {
                kind: fields.u32(entry, 0),
                offset: fields.word(entry, 4),
                vaddr: fields.word(entry, 8),
                filesz: fields.word(entry, 16),
            },
            Class::Elf64 => Segment {
                kind: fields.u32(entry, 0),
                offset: fields.word(entry, 8),
                vaddr: fields.word(entry, 16),
                filesz: fields.word(entry, 32),
            },
        })
        .collect();

    if let Some(interp) = segments.iter().find(|segment| segment.kind == PT_INTERP) {
        let bytes = read(
            source,
            "the interpreter path",
            interp.offset,
            interp.filesz,
            MAX_STRING,
        )?;
        let path = bytes.split(|&byte| byte == 0).next().unwrap_or_default();
        if path.is_empty() {
            return Err(ElfError::EmptyInterpreter);
        }
        info.interpreter = Some(String::from_utf8_lossy(path).into_owned());
    }

    let Some(dynamic) = segments.iter().find(|segment| segment.kind == PT_DYNAMIC) else {
        return Ok(info);
    };
    let bytes = read(
        source,
        "the dynamic section",
        dynamic.offset,
        dynamic.filesz,
        MAX_DYNAMIC,
    )?;
    let entry = match kind.class {
        Class::Elf32 => 8,
        Class::Elf64 => 16,
    };
    let half = entry / 2;
    let (mut needed, mut rpath, mut runpath) = (Vec::new(), None, None);
    let (mut strtab, mut strsz) = (None, None);
    for chunk in bytes.chunks_exact(entry) {
        let tag = fields.word(chunk, 0);
        let value = fields.word(chunk, half);
        match tag {
            DT_NULL => break,
            DT_NEEDED => {
                if needed.len() == MAX_NEEDED {
                    return Err(ElfError::TooManyNeeded);
                }
                needed.push(value);
            }
            DT_STRTAB => strtab = Some(value),
            DT_STRSZ => strsz = Some(value),
            DT_RPATH => rpath = Some(value),
            DT_RUNPATH => runpath = Some(value),
            _ => {}
        }
    }
    if needed.is_empty() && rpath.is_none() && runpath.is_none() {
        return Ok(info);
    }
    let address = strtab.ok_or(ElfError::NoStringTable)?;
    let table = segments
        .iter()
        .filter(|segment| segment.kind == PT_LOAD)
        .find_map(|segment| {
            let within = address.checked_sub(segment.vaddr)?;
            (within < segment.filesz).then(|| segment.offset.checked_add(within))?
        })
        .ok_or(ElfError::UnmappedStringTable(address))?;
    let string = |offset: u64| string_at(source, table, strsz, offset);
    for offset in needed {
        let name = string(offset)?;
        if !info.needed.contains(&name) {
            info.needed.push(name);
        }
    }
    info.rpath = rpath.map(string).transpose()?;
    info.runpath = runpath.map(string).transpose()?;
    Ok(info)
}

/// The NUL-terminated string at `offset` in the string table at file offset `table`.
fn string_at(
    source: &(impl Source + ?Sized),
    table: u64,
    table_size: Option<u64>,
    offset: u64,
) -> Result<String, ElfError> {
    if let Some(size) = table_size {
        if offset >= size {
            return Err(ElfError::StringPastTable { offset, size });
        }
    }
    let start = table.checked_add(offset).ok_or(ElfError::Truncated {
        what: "a string",
        offset: table,
        length: offset,
        size: source.size(),
    })?;
    // Read no further than the string table, the file and the longest string allowed.
    let mut length = source.size().saturating_sub(start).min(MAX_STRING + 1);
    if let Some(size) = table_size {
        length = length.min(size - offset);
    }
    if length == 0 {
        return Err(ElfError::Truncated {
            what: "a string",
            offset: start,
            length: 1,
            size: source.size(),
        });
    }
    let bytes = read(source, "a string", start, length, MAX_STRING + 1)?;
    let end = bytes
        .iter()
        .position(|&byte| byte == 0)
        .ok_or(ElfError::UnterminatedString(offset))?;
    Ok(String::from_utf8_lossy(&bytes[..end]).into_owned())
}
