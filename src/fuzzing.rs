//! Entry points for the fuzz targets in `fuzz/`, built only with the `fuzzing` feature.
//!
//! Each function runs one reader of hostile input over the fuzzer's bytes the way kerf itself
//! runs it, and checks what must hold whatever the input. An error from the reader is a normal
//! outcome (its message is still rendered, since formatting hostile bytes is part of the job); a
//! panic, a hang or a broken invariant (an `assert!` here) is a finding.
//!
//! Nothing here is API: the internals stay `pub(crate)`, these wrappers are the only way in.

use fs_err as fs;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::sync::OnceLock;

use crate::archive::control::{paragraphs, parse_file_list};
use crate::archive::index::{parse_release_date, PackageIndex, ReleaseInfo};
use crate::deb::{DebError, DebReader, EntryKind};
use crate::extract::root::{RelPath, Root};
use crate::extract::{data_entry, entry_path, extract_package, ExtractError, PackagePlan, Visitor};
use crate::openpgp::{verify_clearsigned, PublicKey};
use crate::release::{load_files, Arch, Release, SliceKey, SourceFile};
use crate::testing::release::public_keys_block;

/// How far a fuzzed tarball may expand: far below kerf's own limit, so that a small input that
/// inflates a lot costs milliseconds, not seconds (the limit itself is what is exercised).
const EXPANSION_LIMIT: u64 = 16 << 20;

/// The suite an `InRelease` input must name to be parsed further.
const SUITE: &str = "fuzz";

/// "Now" for the date checks, fixed so that a finding replays the same way tomorrow.
const NOW: i64 = 1_800_000_000;

/// A minimal valid `chisel.yaml` (no maintenance block, unlike the tests' own).
fn chisel_yaml() -> String {
    format!(
        "format: v1\narchives:\n  ubuntu:\n    version: 24.04\n    components: [main]\n    \
         suites: [noble]\n    public-keys: [test-key]\n{}",
        public_keys_block()
    )
}

/// The release loader, as `kerf lint` runs it: `chisel.yaml`, a NUL byte, then
/// `slices/fuzz.yaml` (so its `package:` must be `fuzz`); an input without a NUL is the slice
/// file alone, with a minimal valid `chisel.yaml`. A release that loads is then rendered by
/// `info` and each of its slices is selected for every architecture.
pub fn release(input: &[u8]) {
    let (chisel, slice) = match input.iter().position(|&byte| byte == 0) {
        Some(at) => (input[..at].to_vec(), &input[at + 1..]),
        None => (chisel_yaml().into_bytes(), input),
    };
    let files = [
        SourceFile {
            path: "chisel.yaml".to_owned(),
            bytes: Cow::Owned(chisel),
        },
        SourceFile {
            path: "slices/fuzz.yaml".to_owned(),
            bytes: Cow::Owned(slice.to_vec()),
        },
    ];
    let release = match load_files("fuzz", &files) {
        Ok(release) => release,
        Err(errors) => {
            assert!(!errors.errors.is_empty(), "a failed load names no error");
            let _ = errors.to_string();
            return;
        }
    };
    let names: Vec<String> = release.packages.keys().cloned().collect();
    let _ = crate::info::info(&release, &names);
    for package in release.packages.values() {
        for slice in package.slices.values() {
            for arch in Arch::ALL {
                if let Err(error) = crate::resolve::select(&release, &[slice.key()], arch) {
                    let _ = error.to_string();
                }
            }
        }
    }
}

/// deb822 control data and `Packages` indexes: every paragraph and field of the input, each
/// value as a `Release` file list, then the input as a `Packages` index, whose table must find
/// every package it holds and survive the cache's round trip.
pub fn control(input: &[u8]) {
    if let Ok(text) = std::str::from_utf8(input) {
        // Each paragraph, good or bad, takes at least one line.
        let most = text.lines().count() + 1;
        let mut count = 0;
        for paragraph in paragraphs(text) {
            count += 1;
            assert!(count <= most, "more paragraphs than lines");
            let paragraph = match paragraph {
                Ok(paragraph) => paragraph,
                Err(error) => {
                    let _ = error.to_string();
                    continue;
                }
            };
            let _ = paragraph.line();
            for field in paragraph.fields() {
                let value = field.value();
                assert!(value.starts_with(field.first_line()));
                assert_eq!(paragraph.get(field.name()).as_deref(), Some(&*value));
                let _ = (field.is_multiline(), field.line());
                if let Err(error) = parse_file_list(&value) {
                    let _ = error.to_string();
                }
            }
        }
    }

    let index = match PackageIndex::read(input, "fuzz") {
        Ok(index) => index,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    let table =
        std::str::from_utf8(index.as_bytes().expect("parsed just now")).expect("the table is text");
    // The same lookups in the form the cache keeps, read in place from a file.
    let mut stored = tempfile::tempfile().expect("a temporary file");
    std::io::Write::write_all(&mut stored, table.as_bytes()).expect("a temporary file");
    let stored = PackageIndex::from_stored(fs_err::File::from_parts(stored, "fuzz table"))
        .expect("a temporary file")
        .expect("the table ends a line");
    let mut previous: Option<&str> = None;
    for line in table.split_terminator('\n') {
        let name = line.split('\t').next().unwrap_or_default();
        assert!(
            previous.is_none_or(|previous| previous < name),
            "table not sorted or not unique at {name:?}"
        );
        previous = Some(name);
        let found = index.get(name).expect("in memory");
        assert_eq!(found.as_ref().map(|info| info.name.as_str()), Some(name));
        assert_eq!(stored.get(name).expect("a temporary file"), found);
    }
    assert_eq!(index.len(), table.split_terminator('\n').count());
    assert_eq!(stored.len(), index.len());
    let reloaded = PackageIndex::from_cached(table.as_bytes().to_vec()).expect("a table");
    assert_eq!(reloaded.as_bytes(), Some(table.as_bytes()));
}

/// A public key for [`inrelease`], decoded once.
pub struct InReleaseKey(PublicKey);

impl InReleaseKey {
    /// Decodes an ASCII-armoured public key.
    pub fn from_armor(armor: &str) -> InReleaseKey {
        InReleaseKey(PublicKey::from_armor("fuzz", armor).expect("a valid fuzz key"))
    }
}

/// An `InRelease` file: verified with `key` (mutated inputs fail there, at the end of the
/// parse), its text parsed as suite `fuzz` when it verifies; the input is also parsed as an
/// unsigned body, so the body parser is reached whatever the signature, and as an armoured
/// public key when it holds one.
pub fn inrelease(input: &[u8], key: &InReleaseKey) {
    match verify_clearsigned(input, &[&key.0]) {
        Ok(verified) => {
            let _ = (verified.key_id(), verified.signer_key_id());
            release_info(verified.text());
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
    if let Ok(text) = std::str::from_utf8(input) {
        release_info(text);
        if text.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----") {
            match PublicKey::from_armor("fuzz", text) {
                Ok(key) => {
                    let _ = (key.key_id(), key.fingerprint(), key.signing_subkey_ids());
                }
                Err(error) => {
                    let _ = error.to_string();
                }
            }
        }
    }
}

fn release_info(text: &str) {
    match ReleaseInfo::parse(text, SUITE) {
        Ok(info) => {
            assert!(info.suite == SUITE || info.codename == SUITE);
            let _ = parse_release_date(&info.date);
            if let Err(error) = info.check_dates(NOW) {
                let _ = error.to_string();
            }
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
}

/// A `.deb`: its `data.tar` entries, each read to its end, then its `control` file. A walk that
/// succeeds must have delivered every byte each file entry's header promised.
pub fn deb(input: &[u8]) {
    if let Ok(reader) = DebReader::new(input) {
        let mut short = None;
        let walked = reader.with_expansion_limit(EXPANSION_LIMIT).for_each_entry(
            |mut entry| -> Result<(), DebError> {
                let _ = format!("{entry:?}");
                let (size, is_file) = (entry.size(), *entry.kind() == EntryKind::File);
                let read =
                    io::copy(&mut entry, &mut io::sink()).map_err(|source| DebError::Tar {
                        member: "data.tar".to_owned(),
                        source,
                    })?;
                if is_file && read != size && short.is_none() {
                    short = Some((String::from_utf8_lossy(entry.name()).into_owned(), read));
                }
                Ok(())
            },
        );
        match walked {
            Ok(()) => assert!(
                short.is_none(),
                "the walk succeeded but an entry came short: {short:?}"
            ),
            Err(error) => {
                let _ = error.to_string();
            }
        }
    }
    if let Ok(reader) = DebReader::new(input) {
        if let Err(error) = reader.with_expansion_limit(EXPANSION_LIMIT).control() {
            let _ = error.to_string();
        }
    }
}

/// A tar member name through [`entry_path`] and [`RelPath::new`], the only ways a name from a
/// package becomes a path kerf writes.
pub fn tar_path(input: &[u8]) {
    let name = String::from_utf8_lossy(input);
    if let Some(path) = entry_path(&name) {
        assert!(path.len() > 1 && format!(".{path}") == name);
    }
    for candidate in [Some(name.clone().into_owned()), entry_path(&name)]
        .into_iter()
        .flatten()
    {
        let Some(rel) = RelPath::new(&candidate) else {
            continue;
        };
        let clean = rel.as_str();
        assert!(clean.starts_with('/') && !clean.ends_with('/'), "{clean:?}");
        for part in clean[1..].split('/') {
            assert!(!matches!(part, "" | "." | ".."), "{clean:?}");
            assert!(!part.chars().any(char::is_control), "{clean:?}");
        }
        assert_eq!(RelPath::new(clean).as_ref(), Some(&rel), "not idempotent");
        let mut outer = String::new();
        for ancestor in rel.ancestors() {
            assert!(ancestor.as_str().starts_with(&format!("{outer}/")));
            assert!(clean.starts_with(&format!("{}/", ancestor.as_str())));
            outer = ancestor.as_str().to_owned();
        }
    }
}

/// The release [`extract`] cuts from: one slice, `fuzz_all`, that takes every path.
fn extract_release() -> &'static Release {
    static RELEASE: OnceLock<Release> = OnceLock::new();
    RELEASE.get_or_init(|| {
        let files = [
            SourceFile {
                path: "chisel.yaml".to_owned(),
                bytes: Cow::Owned(chisel_yaml().into_bytes()),
            },
            SourceFile {
                path: "slices/fuzz.yaml".to_owned(),
                bytes: Cow::Borrowed(
                    b"package: fuzz\nslices:\n  all:\n    contents:\n      /**:\n",
                ),
            },
        ];
        load_files("fuzz", &files).unwrap_or_else(|errors| panic!("{errors}"))
    })
}

/// A `.deb` holding `data_tar` as its uncompressed `data.tar`.
fn deb_around(data_tar: &[u8]) -> Vec<u8> {
    let mut deb = b"!<arch>\n".to_vec();
    for (name, body) in [("debian-binary", &b"2.0\n"[..]), ("data.tar", data_tar)] {
        deb.extend_from_slice(
            format!(
                "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                0,
                0,
                0,
                "100644",
                body.len()
            )
            .as_bytes(),
        );
        deb.extend_from_slice(body);
        if body.len() % 2 == 1 {
            deb.push(b'\n');
        }
    }
    deb
}

/// Extracts `data_tar` as a cut does, with a slice that takes every path, into a root at
/// `scratch/root`, then checks that everything written is inside that root: `scratch` holds the
/// root alone, the root is still a directory, nothing in it is a device or fifo, and no file in
/// it is hard-linked to one outside it. `scratch` must be an empty directory whose parent holds
/// nothing else either; it is empty again afterwards. Returns how many paths were installed.
pub fn extract(data_tar: &[u8], scratch: &Path) -> usize {
    let release = extract_release();
    let selection = crate::resolve::select(release, &[SliceKey::new("fuzz", "all")], Arch::Amd64)
        .expect("the fuzz slice selects");
    let plan = PackagePlan::new(&selection, "fuzz");
    let root_dir = scratch.join("root");
    let root = Root::create(&root_dir).expect("creating the root");
    let deb = deb_around(data_tar);
    let mut entries = |visit: &mut Visitor<'_>| -> Result<(), ExtractError> {
        DebReader::new(deb.as_slice())?
            .with_expansion_limit(EXPANSION_LIMIT)
            .for_each_entry(|mut entry| match data_entry(&mut entry) {
                Some(entry) => visit(entry),
                None => Ok(()),
            })
    };
    let mut installed = BTreeMap::new();
    if let Err(error) = extract_package("fuzz", &plan, &root, &mut entries, &mut installed) {
        let _ = error.to_string();
    }
    check_confined(scratch, &root_dir);
    make_removable(&root_dir);
    fs::remove_dir_all(&root_dir).expect("removing the root");
    installed.len()
}

fn check_confined(scratch: &Path, root_dir: &Path) {
    let parent = scratch.parent().expect("scratch has a parent");
    for (dir, only) in [(parent, scratch), (scratch, root_dir)] {
        let names: Vec<_> = fs::read_dir(dir)
            .expect("listing the scratch directory")
            .map(|entry| entry.expect("reading the scratch directory").path())
            .collect();
        assert_eq!(names, [only], "something was written outside the root");
    }
    let metadata = fs::symlink_metadata(root_dir).expect("the root is there");
    assert!(metadata.is_dir(), "the root was replaced");
    // Inode → (links inside the root, link count).
    let mut links: HashMap<(u64, u64), (u64, u64)> = HashMap::new();
    let mut pending = vec![root_dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).expect("listing the root") {
            let path = entry.expect("reading the root").path();
            let metadata = fs::symlink_metadata(&path).expect("inspecting the root");
            let kind = metadata.file_type();
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                let seen = links
                    .entry((metadata.dev(), metadata.ino()))
                    .or_insert((0, metadata.nlink()));
                seen.0 += 1;
            } else {
                assert!(kind.is_symlink(), "{} is a special file", path.display());
            }
        }
    }
    for (inside, count) in links.values() {
        assert_eq!(
            inside, count,
            "a file in the root is linked to one outside it"
        );
    }
}

/// Gives every directory below `dir` an owner-writable mode, so that a non-root user can
/// remove what a package created with mode 0.
fn make_removable(dir: &Path) {
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let _ = fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                pending.push(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed seeds of a fuzz target, by file name.
    fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/seeds")
            .join(target);
        let mut seeds: Vec<(String, Vec<u8>)> = fs::read_dir(&dir)
            .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
            .map(|entry| {
                let path = entry.expect("listing the seeds").path();
                let name = path
                    .file_name()
                    .expect("a name")
                    .to_string_lossy()
                    .into_owned();
                (name, fs::read(&path).expect("reading a seed"))
            })
            .collect();
        seeds.sort();
        assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
        seeds
    }

    fn fuzz_key() -> InReleaseKey {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/data/fuzz-key.asc");
        InReleaseKey::from_armor(&fs::read_to_string(path).expect("reading the fuzz key"))
    }

    #[test]
    fn committed_seeds_run_clean() {
        let key = fuzz_key();
        for (_, seed) in seeds("release") {
            release(&seed);
        }
        for (_, seed) in seeds("control") {
            control(&seed);
        }
        for (_, seed) in seeds("inrelease") {
            inrelease(&seed, &key);
        }
        for (_, seed) in seeds("tar_path") {
            tar_path(&seed);
        }
    }

    #[test]
    fn release_seeds_load() {
        for (name, seed) in seeds("release") {
            if name == "aliases" {
                continue;
            }
            let (chisel, slice) = match seed.iter().position(|&byte| byte == 0) {
                Some(at) => (seed[..at].to_vec(), seed[at + 1..].to_vec()),
                None => (chisel_yaml().into_bytes(), seed.clone()),
            };
            let files = [
                SourceFile {
                    path: "chisel.yaml".to_owned(),
                    bytes: Cow::Owned(chisel),
                },
                SourceFile {
                    path: "slices/fuzz.yaml".to_owned(),
                    bytes: Cow::Owned(slice),
                },
            ];
            if let Err(errors) = load_files("fuzz", &files) {
                panic!("seed {name}: {errors}");
            }
        }
    }

    #[test]
    fn the_signed_seed_verifies_with_the_fuzz_key() {
        let (_, signed) = seeds("inrelease")
            .into_iter()
            .find(|(name, _)| name == "signed")
            .expect("a signed seed");
        let verified = verify_clearsigned(&signed, &[&fuzz_key().0]).expect("the seed verifies");
        let info = ReleaseInfo::parse(verified.text(), SUITE).expect("the body parses");
        assert_eq!(info.files.len(), 1);
    }

    /// A tar entry with its name exactly as given (the tar crate's own setters drop `./`).
    fn append(tar: &mut tar::Builder<Vec<u8>>, name: &str, kind: tar::EntryType, link: &str) {
        let data = if kind == tar::EntryType::Regular {
            &b"hello\n"[..]
        } else {
            &[]
        };
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(0o755);
        header.set_entry_type(kind);
        header.set_cksum();
        tar.append(&header, data).expect("building the tar");
    }

    #[test]
    fn extract_installs_a_plain_tar() {
        let mut tar = tar::Builder::new(Vec::new());
        append(&mut tar, "./usr/", tar::EntryType::Directory, "");
        append(&mut tar, "./usr/bin/", tar::EntryType::Directory, "");
        append(&mut tar, "./usr/bin/hello", tar::EntryType::Regular, "");
        append(&mut tar, "./usr/bin/hi", tar::EntryType::Symlink, "hello");
        append(
            &mut tar,
            "./usr/bin/hey",
            tar::EntryType::Link,
            "./usr/bin/hello",
        );
        let data_tar = tar.into_inner().expect("finishing the tar");
        let base = tempfile::tempdir().expect("a temporary directory");
        let scratch = base.path().join("scratch");
        fs::create_dir(&scratch).expect("creating the scratch directory");
        assert_eq!(extract(&data_tar, &scratch), 5);
        assert_eq!(fs::read_dir(&scratch).expect("listing").count(), 0);
    }

    #[test]
    #[should_panic(expected = "something was written outside the root")]
    fn the_confinement_check_sees_a_stray_file() {
        let base = tempfile::tempdir().expect("a temporary directory");
        let scratch = base.path().join("scratch");
        let root = scratch.join("root");
        fs::create_dir_all(&root).expect("creating the root");
        fs::write(scratch.join("escaped"), "out").expect("writing the stray file");
        check_confined(&scratch, &root);
    }

    #[test]
    #[should_panic(expected = "linked to one outside it")]
    fn the_confinement_check_sees_a_hard_link_out() {
        let base = tempfile::tempdir().expect("a temporary directory");
        let scratch = base.path().join("scratch");
        let root = scratch.join("root");
        fs::create_dir_all(&root).expect("creating the root");
        let outside = tempfile::NamedTempFile::new_in(std::env::temp_dir()).expect("a file");
        fs::hard_link(outside.path(), root.join("link")).expect("linking");
        check_confined(&scratch, &root);
    }
}
