//! Tests of `kerf check` on tiny ELF images built here, byte by byte, in temporary roots.

use fs_err::os::unix::fs::symlink;
use std::os::unix::fs::PermissionsExt as _;

use rand::{Rng as _, SeedableRng as _};

use super::{check, render, substitute, CheckOptions, Report};
use crate::elf::{self, Class, ElfError, ElfInfo, Endian, Kind};
use crate::release::Arch;

const X86_64: u16 = 62;
const I386: u16 = 3;
const AARCH64: u16 = 183;
const PPC64: u16 = 21;
/// Where the test images are loaded.
const BASE: u64 = 0x40_0000;

/// A minimal ELF image: one `PT_LOAD` covering the whole file, an optional `PT_INTERP`, and a
/// `PT_DYNAMIC` with `DT_NEEDED`, `DT_RPATH`, `DT_RUNPATH`, `DT_STRTAB` and `DT_STRSZ` when
/// there is anything to put in it.
#[derive(Clone)]
struct TestElf {
    class: Class,
    endian: Endian,
    machine: u16,
    interpreter: Option<String>,
    needed: Vec<String>,
    rpath: Option<String>,
    runpath: Option<String>,
}

/// Where the parts of a [`TestElf`] image are, to corrupt them in tests.
struct Layout {
    phoff: usize,
    dynamic: usize,
    strtab: usize,
}

impl TestElf {
    fn new(class: Class, endian: Endian, machine: u16) -> TestElf {
        TestElf {
            class,
            endian,
            machine,
            interpreter: None,
            needed: Vec::new(),
            rpath: None,
            runpath: None,
        }
    }

    /// A 64-bit little-endian x86-64 library.
    fn x86_64() -> TestElf {
        TestElf::new(Class::Elf64, Endian::Little, X86_64)
    }

    /// An x86-64 program with the usual interpreter.
    fn program() -> TestElf {
        TestElf::x86_64().interpreter("/lib64/ld-linux-x86-64.so.2")
    }

    fn interpreter(mut self, path: &str) -> TestElf {
        self.interpreter = Some(path.to_owned());
        self
    }

    fn needs(mut self, names: &[&str]) -> TestElf {
        self.needed
            .extend(names.iter().map(|name| (*name).to_owned()));
        self
    }

    fn rpath(mut self, path: &str) -> TestElf {
        self.rpath = Some(path.to_owned());
        self
    }

    fn runpath(mut self, path: &str) -> TestElf {
        self.runpath = Some(path.to_owned());
        self
    }

    fn bytes(&self) -> Vec<u8> {
        self.build().0
    }

    fn build(&self) -> (Vec<u8>, Layout) {
        let is64 = self.class == Class::Elf64;
        let word = if is64 { 8 } else { 4 };
        let (ehsize, phentsize) = if is64 { (64, 56) } else { (52, 32) };
        let has_dynamic = !self.needed.is_empty() || self.rpath.is_some() || self.runpath.is_some();
        let phnum = 1 + usize::from(self.interpreter.is_some()) + usize::from(has_dynamic);

        let interp_off = ehsize + phnum * phentsize;
        let interp: Vec<u8> = self
            .interpreter
            .as_ref()
            .map(|path| [path.as_bytes(), b"\0"].concat())
            .unwrap_or_default();
        let strtab_off = interp_off + interp.len();
        let mut strtab = vec![0u8];
        let mut string = |text: &str| {
            let offset = strtab.len() as u64;
            strtab.extend_from_slice(text.as_bytes());
            strtab.push(0);
            offset
        };
        let mut entries: Vec<(u64, u64)> = Vec::new();
        for name in &self.needed {
            entries.push((1, string(name)));
        }
        if let Some(path) = &self.rpath {
            entries.push((15, string(path)));
        }
        if let Some(path) = &self.runpath {
            entries.push((29, string(path)));
        }
        entries.push((5, BASE + strtab_off as u64));
        entries.push((10, strtab.len() as u64));
        entries.push((0, 0));
        let dynamic_off = (strtab_off + strtab.len()).next_multiple_of(8);
        let dynamic_size = if has_dynamic {
            entries.len() * 2 * word
        } else {
            0
        };
        let total = dynamic_off + dynamic_size;

        let mut out = Out {
            bytes: Vec::new(),
            endian: self.endian,
            is64,
        };
        out.bytes.extend_from_slice(b"\x7fELF");
        out.bytes.push(if is64 { 2 } else { 1 });
        out.bytes
            .push(if self.endian == Endian::Little { 1 } else { 2 });
        out.bytes.push(1);
        out.bytes.resize(16, 0);
        out.u16(3); // ET_DYN
        out.u16(self.machine);
        out.u32(1);
        out.word(0); // entry
        out.word(ehsize as u64); // phoff
        out.word(0); // shoff
        out.u32(0); // flags
        out.u16(ehsize as u16);
        out.u16(phentsize as u16);
        out.u16(phnum as u16);
        out.u16(0);
        out.u16(0);
        out.u16(0);
        assert_eq!(out.bytes.len(), ehsize);

        out.segment(1, 0, BASE, total as u64);
        if !interp.is_empty() {
            out.segment(
                3,
                interp_off as u64,
                BASE + interp_off as u64,
                interp.len() as u64,
            );
        }
        if has_dynamic {
            out.segment(
                2,
                dynamic_off as u64,
                BASE + dynamic_off as u64,
                dynamic_size as u64,
            );
        }
        out.bytes.extend_from_slice(&interp);
        out.bytes.extend_from_slice(&strtab);
        out.bytes.resize(dynamic_off, 0);
        if has_dynamic {
            for (tag, value) in entries {
                out.word(tag);
                out.word(value);
            }
        }
        assert_eq!(out.bytes.len(), total);
        (
            out.bytes,
            Layout {
                phoff: ehsize,
                dynamic: dynamic_off,
                strtab: strtab_off,
            },
        )
    }
}

/// Writes fields in one byte order and class.
struct Out {
    bytes: Vec<u8>,
    endian: Endian,
    is64: bool,
}

impl Out {
    fn u16(&mut self, value: u16) {
        self.bytes.extend_from_slice(&match self.endian {
            Endian::Little => value.to_le_bytes(),
            Endian::Big => value.to_be_bytes(),
        });
    }

    fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&match self.endian {
            Endian::Little => value.to_le_bytes(),
            Endian::Big => value.to_be_bytes(),
        });
    }

    fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&match self.endian {
            Endian::Little => value.to_le_bytes(),
            Endian::Big => value.to_be_bytes(),
        });
    }

    fn word(&mut self, value: u64) {
        if self.is64 {
            self.u64(value);
        } else {
            self.u32(u32::try_from(value).expect("a 32-bit value"));
        }
    }

    fn segment(&mut self, kind: u32, offset: u64, vaddr: u64, size: u64) {
        if self.is64 {
            self.u32(kind);
            self.u32(4); // flags
            self.u64(offset);
            self.u64(vaddr);
            self.u64(vaddr);
            self.u64(size);
            self.u64(size);
            self.u64(8);
        } else {
            self.u32(kind);
            self.word(offset);
            self.word(vaddr);
            self.word(vaddr);
            self.word(size);
            self.word(size);
            self.u32(4);
            self.u32(8);
        }
    }
}

/// Overwrites the little-endian u64 at `at`.
fn put_u64(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

fn put_u16(bytes: &mut [u8], at: usize, value: u16) {
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

fn parse(bytes: &[u8]) -> Result<ElfInfo, ElfError> {
    elf::parse(bytes)
}

fn parse_error(bytes: &[u8]) -> String {
    parse(bytes).expect_err("a malformed image").to_string()
}

#[test]
fn parses_every_class_and_byte_order() {
    for (class, endian, machine) in [
        (Class::Elf64, Endian::Little, X86_64),
        (Class::Elf64, Endian::Big, PPC64),
        (Class::Elf32, Endian::Little, I386),
        (Class::Elf32, Endian::Big, 8),
    ] {
        let image = TestElf::new(class, endian, machine)
            .interpreter("/lib/ld.so.1")
            .needs(&["libc.so.6", "libm.so.6", "libc.so.6"])
            .rpath("/opt/r")
            .runpath("$ORIGIN/../lib:/opt/x")
            .bytes();
        let info = parse(&image).unwrap();
        assert_eq!(
            info,
            ElfInfo {
                kind: Kind {
                    class,
                    endian,
                    machine,
                    flags: 0
                },
                interpreter: Some("/lib/ld.so.1".to_owned()),
                needed: vec!["libc.so.6".to_owned(), "libm.so.6".to_owned()],
                rpath: Some("/opt/r".to_owned()),
                runpath: Some("$ORIGIN/../lib:/opt/x".to_owned()),
            },
            "{class:?} {endian:?}"
        );
        assert_eq!(elf::read_kind(image.as_slice()).unwrap(), Some(info.kind));
    }
    // A static program: no interpreter, no dynamic section.
    let info = parse(&TestElf::x86_64().bytes()).unwrap();
    assert_eq!((info.interpreter, info.needed.len()), (None, 0));
    assert_eq!(elf::read_kind(&b"#!/bin/sh\n"[..]).unwrap(), None);
    assert_eq!(
        TestElf::new(Class::Elf32, Endian::Little, I386)
            .bytes()
            .get(..52)
            .map(|header| elf::read_kind(header).unwrap().unwrap().to_string()),
        Some("ELF32 LSB i386".to_owned())
    );
}

#[test]
fn refuses_malformed_images_with_the_reason() {
    let (good, layout) = TestElf::program().needs(&["libc.so.6"]).build();

    assert_eq!(
        parse_error(&good[..40]),
        "truncated: the file has 40 bytes, too few for the ELF header (64 bytes at offset 0)"
    );
    assert_eq!(
        parse_error(&good[..100]),
        "truncated: the file has 100 bytes, too few for the program headers (168 bytes at offset 64)"
    );

    let mut bad = good.clone();
    bad[4] = 7;
    assert_eq!(parse_error(&bad), "unknown ELF class 7 (expected 1 or 2)");
    let mut bad = good.clone();
    bad[5] = 0;
    assert_eq!(
        parse_error(&bad),
        "unknown ELF byte order 0 (expected 1 or 2)"
    );

    // An absurd program header offset.
    let mut bad = good.clone();
    put_u64(&mut bad, 32, u64::MAX - 8);
    assert_eq!(
        parse_error(&bad),
        format!(
            "truncated: the file has {} bytes, too few for the program headers (168 bytes at offset 18446744073709551607)",
            good.len()
        )
    );
    let mut bad = good.clone();
    put_u16(&mut bad, 54, 40);
    assert_eq!(
        parse_error(&bad),
        "program header entries of 40 bytes (expected 56)"
    );
    let mut bad = good.clone();
    put_u16(&mut bad, 56, 0xffff);
    assert_eq!(
        parse_error(&bad),
        "an extended program header count (PN_XNUM), which kerf does not read"
    );
    // A huge program header count: checked against the file, nothing allocated.
    let mut bad = good.clone();
    put_u16(&mut bad, 56, 0xfffe);
    assert_eq!(
        parse_error(&bad),
        format!(
            "truncated: the file has {} bytes, too few for the program headers (3669904 bytes at offset 64)",
            good.len()
        )
    );

    // The dynamic segment (the third program header) claiming a terabyte.
    let dynamic_header = layout.phoff + 2 * 56;
    let mut bad = good.clone();
    put_u64(&mut bad, dynamic_header + 32, 1 << 40);
    assert_eq!(
        parse_error(&bad),
        "the dynamic section of 1099511627776 bytes, more than the 1048576 kerf reads"
    );
    // ... or starting past the end of the file.
    let mut bad = good.clone();
    put_u64(&mut bad, dynamic_header + 8, 1 << 40);
    assert!(parse_error(&bad).starts_with("truncated: "));

    // The interpreter (second program header) with a size past the end of the file.
    let mut bad = good.clone();
    put_u64(&mut bad, layout.phoff + 56 + 32, 4000);
    assert!(parse_error(&bad).starts_with("truncated: "));
    let mut bad = good.clone();
    bad[layout.strtab - 28] = 0; // the interpreter's first byte (28 = its length + NUL)
    assert_eq!(parse_error(&bad), "an empty interpreter path");

    // DT_NEEDED's string offset (the first dynamic entry's value) past DT_STRSZ.
    let mut bad = good.clone();
    put_u64(&mut bad, layout.dynamic + 8, 5000);
    assert_eq!(
        parse_error(&bad),
        "string offset 5000 is past the string table (11 bytes)"
    );
    // DT_STRTAB (the second entry) at an address no segment loads.
    let mut bad = good.clone();
    put_u64(&mut bad, layout.dynamic + 24, 0x10);
    assert_eq!(
        parse_error(&bad),
        "DT_STRTAB address 0x10 is in no loaded segment"
    );
    let mut bad = good.clone();
    put_u64(&mut bad, layout.dynamic + 24, u64::MAX);
    assert_eq!(
        parse_error(&bad),
        "DT_STRTAB address 0xffffffffffffffff is in no loaded segment"
    );
    // No DT_STRTAB at all (turned into a tag nobody reads).
    let mut bad = good.clone();
    put_u64(&mut bad, layout.dynamic + 16, 0x7000_0000);
    assert_eq!(
        parse_error(&bad),
        "DT_NEEDED or a search path but no DT_STRTAB"
    );

    let long = "x".repeat(5000);
    assert_eq!(
        parse_error(&TestElf::x86_64().needs(&[&long]).bytes()),
        "a string at offset 1 with no NUL within 4096 bytes"
    );
    let many: Vec<String> = (0..1025).map(|n| format!("l{n}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(
        parse_error(&TestElf::x86_64().needs(&many).bytes()),
        "more than 1024 DT_NEEDED entries"
    );
    // Exactly at the limits is fine.
    let longest = "y".repeat(4096);
    assert_eq!(
        parse(&TestElf::x86_64().needs(&[&longest]).bytes())
            .unwrap()
            .needed,
        vec![longest]
    );
    assert_eq!(
        parse(&TestElf::x86_64().needs(&many[..1024]).bytes())
            .unwrap()
            .needed
            .len(),
        1024
    );
}

#[test]
fn never_panics_on_truncated_or_corrupted_images() {
    let images = [
        TestElf::program()
            .needs(&["libc.so.6", "libssl.so.3"])
            .runpath("$ORIGIN")
            .bytes(),
        TestElf::new(Class::Elf32, Endian::Big, PPC64)
            .interpreter("/lib/ld.so.1")
            .needs(&["libc.so.6"])
            .rpath("/x")
            .bytes(),
    ];
    for image in &images {
        for length in 0..image.len() {
            let _ = parse(&image[..length]);
            let _ = elf::read_kind(&image[..length]);
        }
    }
    let mut random = rand::rngs::StdRng::seed_from_u64(5);
    for _ in 0..20_000 {
        let mut image = images[random.gen_range(0..images.len())].clone();
        for _ in 0..random.gen_range(1..8) {
            let at = random.gen_range(4..image.len());
            image[at] = random.gen();
        }
        let _ = parse(&image);
    }
}

#[test]
fn substitutes_dynamic_string_tokens_as_glibc() {
    let value = |name: &str| match name {
        "ORIGIN" => Some("/opt/app/bin".to_owned()),
        "LIB" => Some("lib/x86_64-linux-gnu".to_owned()),
        _ => None,
    };
    for (entry, expanded) in [
        ("$ORIGIN/../lib", "/opt/app/bin/../lib"),
        ("${ORIGIN}/../lib", "/opt/app/bin/../lib"),
        ("$ORIGIN", "/opt/app/bin"),
        ("/usr/$LIB/x", "/usr/lib/x86_64-linux-gnu/x"),
        ("/a${LIB}b", "/alib/x86_64-linux-gnub"),
        // Not tokens: kept as written.
        ("$ORIGINAL/lib", "$ORIGINAL/lib"),
        ("$ORIGIN-x", "$ORIGIN-x"),
        ("${FOO}/x", "${FOO}/x"),
        ("${ORIGIN", "${ORIGIN"),
        ("$", "$"),
        ("/a/$/b", "/a/$/b"),
    ] {
        assert_eq!(substitute(entry, value), expanded, "{entry}");
    }
}

/// A root in a temporary directory (itself at `root/` below it, so a link that escaped the
/// root would find what the test leaves beside it).
struct TestRoot {
    dir: tempfile::TempDir,
}

impl TestRoot {
    fn new() -> TestRoot {
        let dir = tempfile::tempdir().unwrap();
        fs_err::create_dir(dir.path().join("root")).unwrap();
        TestRoot { dir }
    }

    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("root")
    }

    fn host(&self, path: &str) -> std::path::PathBuf {
        self.path().join(path.trim_start_matches('/'))
    }

    fn file(&self, path: &str, bytes: &[u8], mode: u32) -> &TestRoot {
        let host = self.host(path);
        fs_err::create_dir_all(host.parent().unwrap()).unwrap();
        fs_err::write(&host, bytes).unwrap();
        fs_err::set_permissions(&host, std::fs::Permissions::from_mode(mode)).unwrap();
        self
    }

    fn elf(&self, path: &str, image: &TestElf) -> &TestRoot {
        self.file(path, &image.bytes(), 0o755)
    }

    fn link(&self, path: &str, target: &str) -> &TestRoot {
        let host = self.host(path);
        fs_err::create_dir_all(host.parent().unwrap()).unwrap();
        symlink(target, host).unwrap();
        self
    }

    fn dir(&self, path: &str) -> &TestRoot {
        fs_err::create_dir_all(self.host(path)).unwrap();
        self
    }

    /// A usr-merged base with glibc's loader and libc for x86-64, as base-files and libc6 lay
    /// them out.
    fn with_libc(&self) -> &TestRoot {
        self.link("/lib", "usr/lib")
            .link("/lib64", "usr/lib64")
            .link("/bin", "usr/bin")
            .dir("/usr/bin")
            .elf(
                "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                &TestElf::x86_64(),
            )
            .link(
                "/usr/lib64/ld-linux-x86-64.so.2",
                "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            )
            .elf(
                "/usr/lib/x86_64-linux-gnu/libc.so.6",
                &TestElf::x86_64()
                    .interpreter("/lib64/ld-linux-x86-64.so.2")
                    .needs(&["ld-linux-x86-64.so.2"]),
            )
    }

    fn check(&self) -> Report {
        check(&self.path(), &CheckOptions::default()).unwrap()
    }
}

/// The report as the CLI prints it, with the counts.
fn text(report: &Report) -> String {
    format!(
        "{}{} ELF, {} scripts\n",
        render(report),
        report.elf_files,
        report.scripts
    )
}

#[test]
fn a_complete_root_has_nothing_missing() {
    let root = TestRoot::new();
    root.with_libc()
        .elf("/usr/bin/app", &TestElf::program().needs(&["libc.so.6"]));
    // Through the /bin -> usr/bin link: the same file, seen once.
    assert_eq!(text(&root.check()), "3 ELF, 0 scripts\n");
}

#[test]
fn reports_missing_interpreters_and_libraries_sorted() {
    let root = TestRoot::new();
    root.link("/lib", "usr/lib")
        .elf("/usr/lib/x86_64-linux-gnu/libc.so.6", &TestElf::x86_64())
        .elf(
            "/usr/bin/zeta",
            &TestElf::program().needs(&["libz.so.1", "libc.so.6", "liba.so.2"]),
        )
        .elf(
            "/usr/bin/alpha",
            &TestElf::x86_64()
                .interpreter("/lib/ld-musl-x86_64.so.1")
                .needs(&["libc.so.6"]),
        )
        .elf(
            "/usr/lib/x86_64-linux-gnu/libplugin.so",
            &TestElf::x86_64().needs(&["libc.so.6", "/opt/abs/libx.so"]),
        );
    assert_eq!(
        text(&root.check()),
        "/usr/bin/alpha: needs interpreter /lib/ld-musl-x86_64.so.1, not found\n\
         /usr/bin/zeta: needs interpreter /lib64/ld-linux-x86-64.so.2, not found\n\
         /usr/bin/zeta: needs library liba.so.2, not found\n\
         /usr/bin/zeta: needs library libz.so.1, not found\n\
         /usr/lib/x86_64-linux-gnu/libplugin.so: needs library /opt/abs/libx.so, not found\n\
         4 ELF, 0 scripts\n"
    );
}

#[test]
fn follows_rpath_runpath_and_origin() {
    let root = TestRoot::new();
    root.with_libc()
        .elf("/opt/app/lib/libapp.so.1", &TestElf::x86_64())
        .elf("/opt/rpath/libr.so.1", &TestElf::x86_64())
        .link("/opt/app/bin", "../app/real-bin")
        // $ORIGIN is the directory the file really is in.
        .elf(
            "/opt/app/real-bin/tool",
            &TestElf::program()
                .needs(&["libc.so.6", "libapp.so.1"])
                .runpath("$ORIGIN/../lib"),
        )
        .elf(
            "/opt/app/real-bin/braced",
            &TestElf::program()
                .needs(&["libapp.so.1", "libr.so.1"])
                .rpath("/nowhere:${ORIGIN}/../lib:/opt/rpath"),
        )
        // With a RUNPATH, the RPATH is ignored.
        .elf(
            "/opt/app/real-bin/both",
            &TestElf::program()
                .needs(&["libr.so.1", "libapp.so.1"])
                .rpath("/opt/rpath")
                .runpath("$ORIGIN/../lib"),
        )
        // Relative and unknown-token entries lead nowhere.
        .elf(
            "/opt/app/real-bin/relative",
            &TestElf::program()
                .needs(&["libapp.so.1"])
                .runpath("../lib:$ORIGINX/../lib:${NOPE}/lib"),
        );
    assert_eq!(
        text(&root.check()),
        "/opt/app/real-bin/both: needs library libr.so.1, not found\n\
         /opt/app/real-bin/relative: needs library libapp.so.1, not found\n\
         8 ELF, 0 scripts\n"
    );
}

#[test]
fn expands_lib_and_platform() {
    let root = TestRoot::new();
    root.with_libc()
        .elf(
            "/opt/p/lib/x86_64-linux-gnu/liblib.so.1",
            &TestElf::x86_64(),
        )
        .elf("/opt/q/haswell/libplat.so.1", &TestElf::x86_64())
        .dir("/opt/q/aaa")
        .elf(
            "/usr/bin/app",
            &TestElf::program()
                .needs(&["liblib.so.1", "libplat.so.1", "libnone.so.1"])
                .runpath("/opt/p/$LIB:/opt/q/$PLATFORM:/opt/none/${PLATFORM}"),
        );
    assert_eq!(
        text(&root.check()),
        "/usr/bin/app: needs library libnone.so.1, not found\n5 ELF, 0 scripts\n"
    );
}

#[test]
fn reads_ld_so_conf_and_its_includes() {
    let conf_dirs = |root: &TestRoot| {
        root.with_libc()
            .elf("/opt/one/libone.so.1", &TestElf::x86_64())
            .elf("/opt/two/libtwo.so.1", &TestElf::x86_64())
            .elf("/opt/three/libthree.so.1", &TestElf::x86_64())
            .elf(
                "/usr/bin/app",
                &TestElf::program().needs(&["libone.so.1", "libtwo.so.1", "libthree.so.1"]),
            );
    };

    // Without /etc/ld.so.conf: Debian's, which includes ld.so.conf.d/*.conf.
    let root = TestRoot::new();
    conf_dirs(&root);
    root.file(
        "/etc/ld.so.conf.d/x86_64-linux-gnu.conf",
        b"# comment\n/opt/one/\n\n/opt/two=libc6 # old style\n",
        0o644,
    )
    .file("/etc/ld.so.conf.d/.hidden.conf", b"/opt/three\n", 0o644)
    .file(
        "/etc/ld.so.conf.d/three.conf.disabled",
        b"/opt/three\n",
        0o644,
    );
    assert_eq!(
        text(&root.check()),
        "/usr/bin/app: needs library libthree.so.1, not found\n6 ELF, 0 scripts\n"
    );

    // With one: its own lines, relative includes, several patterns on a line, include loops.
    let root = TestRoot::new();
    conf_dirs(&root);
    root.file(
        "/etc/ld.so.conf",
        b"include conf.d/*.conf other/?.conf\nhwcap 0 nosegneg\n",
        0o644,
    )
    .file(
        "/etc/conf.d/a.conf",
        b"/opt/one\ninclude /etc/ld.so.conf\n",
        0o644,
    )
    .file("/etc/other/b.conf", b"include b.conf\n/opt/three\n", 0o644)
    .file("/etc/ld.so.conf.d/two.conf", b"/opt/two\n", 0o644);
    assert_eq!(
        text(&root.check()),
        "/usr/bin/app: needs library libtwo.so.1, not found\n6 ELF, 0 scripts\n"
    );
}

#[test]
fn skips_libraries_of_another_class_or_machine() {
    let root = TestRoot::new();
    root.with_libc()
        .elf(
            "/usr/lib/x86_64-linux-gnu/libwrong.so.1",
            &TestElf::new(Class::Elf32, Endian::Little, I386),
        )
        .elf(
            "/usr/lib/libwrong.so.1",
            &TestElf::new(Class::Elf64, Endian::Little, AARCH64),
        )
        .file("/usr/lib64/libwrong.so.1", b"INPUT(-lfoo)\n", 0o644)
        // A right one further down the path is found.
        .elf(
            "/usr/lib/x86_64-linux-gnu/libok.so.1",
            &TestElf::new(Class::Elf32, Endian::Little, I386),
        )
        .elf("/usr/lib/libok.so.1", &TestElf::x86_64())
        .elf(
            "/usr/bin/app",
            &TestElf::program().needs(&["libwrong.so.1", "libok.so.1"]),
        )
        // A 32-bit program is not served by a 64-bit loader, and its libraries are searched
        // for in i386 directories only.
        .elf(
            "/usr/bin/app32",
            &TestElf::new(Class::Elf32, Endian::Little, I386)
                .interpreter("/lib64/ld-linux-x86-64.so.2")
                .needs(&["libc.so.6"]),
        );
    assert_eq!(
        text(&root.check()),
        "/usr/bin/app: needs library libwrong.so.1, not found\n\
         \x20 skipped /usr/lib/x86_64-linux-gnu/libwrong.so.1: ELF32 LSB i386, not ELF64 LSB x86-64\n\
         \x20 skipped /usr/lib64/libwrong.so.1: not an ELF file\n\
         \x20 skipped /usr/lib/libwrong.so.1: ELF64 LSB AArch64, not ELF64 LSB x86-64\n\
         /usr/bin/app32: needs interpreter /lib64/ld-linux-x86-64.so.2, not found\n\
         \x20 skipped /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2: ELF64 LSB x86-64, not ELF32 LSB i386\n\
         /usr/bin/app32: needs library libc.so.6, not found\n\
         8 ELF, 0 scripts\n"
    );
}

#[test]
fn symlinks_resolve_inside_the_root_and_loops_are_skipped() {
    let root = TestRoot::new();
    // A real library beside the root, where an escaping link would lead.
    fs_err::create_dir_all(root.dir.path().join("outside")).unwrap();
    fs_err::write(
        root.dir.path().join("outside/libesc.so.1"),
        TestElf::x86_64().bytes(),
    )
    .unwrap();
    let outside = root.dir.path().join("outside/libesc.so.1");
    root.with_libc()
        .link("/usr/lib/x86_64-linux-gnu/libloop.so.1", "libloop.so.2")
        .link(
            "/usr/lib/x86_64-linux-gnu/libloop.so.2",
            "/lib/x86_64-linux-gnu/libloop.so.1",
        )
        .link(
            "/usr/lib/x86_64-linux-gnu/libesc.so.1",
            "../../../../../../../../outside/libesc.so.1",
        )
        .link("/usr/lib/libesc.so.1", outside.to_str().unwrap())
        .link("/usr/lib/x86_64-linux-gnu/libdangling.so.1", "libgone.so.1")
        // A chain through absolute and relative links that stays inside.
        .elf("/opt/real/libchain.so.1", &TestElf::x86_64())
        .link("/opt/hop", "/opt/real")
        .link(
            "/usr/lib/x86_64-linux-gnu/libchain.so.1",
            "../../../opt/hop/./libchain.so.1",
        )
        .elf(
            "/usr/bin/app",
            &TestElf::program().needs(&[
                "libloop.so.1",
                "libesc.so.1",
                "libdangling.so.1",
                "libchain.so.1",
            ]),
        );
    assert_eq!(
        text(&root.check()),
        "/usr/bin/app: needs library libdangling.so.1, not found\n\
         /usr/bin/app: needs library libesc.so.1, not found\n\
         /usr/bin/app: needs library libloop.so.1, not found\n\
         \x20 skipped /usr/lib/x86_64-linux-gnu/libloop.so.1: more than 40 levels of symlinks\n\
         4 ELF, 0 scripts\n"
    );
}

#[test]
fn checks_executable_scripts() {
    let root = TestRoot::new();
    root.with_libc()
        .elf("/usr/bin/sh", &TestElf::program().needs(&["libc.so.6"]))
        .link("/usr/bin/env", "sh")
        .file("/usr/bin/ok", b"#!/bin/sh\necho\n", 0o755)
        .file("/usr/bin/spaced", b"#!  /bin/sh  -e  \n", 0o755)
        .file("/usr/bin/perlish", b"#!/usr/bin/perl -w\n", 0o755)
        .file("/usr/bin/crlf", b"#!/bin/sh\r\n", 0o755)
        .file("/usr/bin/py", b"#!/usr/bin/env python3\n", 0o755)
        .file(
            "/usr/bin/py-opts",
            b"#!/usr/bin/env -S -u X A=b sh -e\n",
            0o755,
        )
        .file("/usr/bin/env-path", b"#!/usr/bin/env /opt/tool\n", 0o755)
        .file("/usr/bin/noexec", b"#!/usr/bin/sh-data\n", 0o755)
        .file("/usr/bin/sh-data", b"data", 0o644)
        .file("/usr/bin/empty", b"#!\n", 0o755)
        // Not executable: the kernel never reads its #! line.
        .file(
            "/usr/lib/python3/module.py",
            b"#! /usr/local/bin/python\n",
            0o644,
        );
    assert_eq!(
        text(&root.check()),
        "note: /usr/bin/empty: skipped, its #! line names no interpreter\n\
         /usr/bin/crlf: needs interpreter /bin/sh\\r, not found\n\
         /usr/bin/env-path: needs command /opt/tool (run by /usr/bin/env), not found\n\
         /usr/bin/noexec: needs interpreter /usr/bin/sh-data, not found\n\
         \x20 skipped /usr/bin/sh-data: not executable\n\
         /usr/bin/perlish: needs interpreter /usr/bin/perl, not found\n\
         /usr/bin/py: needs command python3 (run by /usr/bin/env), not found\n\
         3 ELF, 9 scripts\n"
    );
}

#[test]
fn malformed_elf_files_are_noted_and_skipped() {
    let root = TestRoot::new();
    let image = TestElf::program().needs(&["libc.so.6"]).bytes();
    root.with_libc()
        .file("/usr/bin/short", &image[..100], 0o755)
        .file("/usr/lib/x86_64-linux-gnu/libtiny.so", b"\x7fELF", 0o644)
        .file("/usr/bin/\x1b[31mred", &image[..40], 0o755);
    assert_eq!(
        text(&root.check()),
        "note: /usr/bin/\\u{1b}[31mred: skipped, not a valid ELF file: truncated: the file has 40 bytes, too few for the ELF header (64 bytes at offset 0)\n\
         note: /usr/bin/short: skipped, not a valid ELF file: truncated: the file has 100 bytes, too few for the program headers (168 bytes at offset 64)\n\
         note: /usr/lib/x86_64-linux-gnu/libtiny.so: skipped, not a valid ELF file: truncated: the file has 4 bytes, too few for the ELF identification (16 bytes at offset 0)\n\
         5 ELF, 0 scripts\n"
    );
}

#[test]
fn names_the_slices_that_provide_what_is_missing() {
    let release = crate::release::testing::load(&[
        ("chisel.yaml", &crate::release::testing::chisel_yaml("v1")),
        (
            "slices/libfoo1.yaml",
            "package: libfoo1\nslices:\n  libs:\n    contents:\n      /usr/lib/*-linux-*/libfoo.so.1*:\n  arm:\n    contents:\n      /usr/lib/aarch64-linux-gnu/libfoo.so.1: {arch: arm64}\n",
        ),
        (
            "slices/foo-compat.yaml",
            "package: foo-compat\nslices:\n  link:\n    contents:\n      /lib/x86_64-linux-gnu/libfoo.so.1: {symlink: libfoo.so.1.2.3, arch: amd64}\n  docs:\n    contents:\n      /usr/share/doc/foo-compat/copyright:\n",
        ),
        (
            "slices/ld.yaml",
            "package: ld\nslices:\n  loader:\n    contents:\n      /usr/lib*/ld-linux-*.so.*:\n",
        ),
        (
            "slices/perl-base.yaml",
            "package: perl-base\nslices:\n  bins:\n    contents:\n      /usr/bin/perl:\n",
        ),
    ]);
    let root = TestRoot::new();
    root.link("/lib", "usr/lib")
        .elf(
            "/usr/bin/app",
            &TestElf::program().needs(&["libfoo.so.1", "libbar.so.1"]),
        )
        .file("/usr/bin/script", b"#!/bin/perl\n", 0o755);
    let report = check(
        &root.path(),
        &CheckOptions {
            arch: None,
            release: Some(&release),
        },
    )
    .unwrap();
    assert_eq!(
        text(&report),
        "/usr/bin/app: needs interpreter /lib64/ld-linux-x86-64.so.2, not found\n\
         \x20 provided by: ld_loader\n\
         /usr/bin/app: needs library libbar.so.1, not found\n\
         \x20 provided by: no slice of the release\n\
         /usr/bin/app: needs library libfoo.so.1, not found\n\
         \x20 provided by: foo-compat_link, libfoo1_libs\n\
         /usr/bin/script: needs interpreter /bin/perl, not found\n\
         \x20 provided by: perl-base_bins\n\
         1 ELF, 1 scripts\n"
    );
    // Given an architecture, paths limited to others do not count.
    let report = check(
        &root.path(),
        &CheckOptions {
            arch: Some(Arch::Arm64),
            release: Some(&release),
        },
    )
    .unwrap();
    assert!(
        render(&report).contains("libfoo.so.1, not found\n  provided by: libfoo1_libs\n"),
        "{}",
        render(&report)
    );
}

#[test]
fn a_missing_root_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let error = check(&dir.path().join("none"), &CheckOptions::default()).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot open the root directory "),
        "{error}"
    );
    fs_err::write(dir.path().join("file"), "").unwrap();
    let error = check(&dir.path().join("file"), &CheckOptions::default()).unwrap_err();
    assert!(error.to_string().ends_with(": not a directory"), "{error}");
}

#[test]
fn an_unreadable_file_is_an_io_error() {
    use std::os::unix::fs::MetadataExt as _;
    let root = TestRoot::new();
    root.file("/usr/bin/secret", b"\x7fELF", 0o000);
    if fs_err::metadata(root.path()).unwrap().uid() == 0 {
        // Permissions do not stop root: nothing to test.
        return;
    }
    let error = check(&root.path(), &CheckOptions::default()).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot open /usr/bin/secret in the root "),
        "{error}"
    );
}
