//! `cut` with `dpkg_status`: the stanzas and md5sums of `status.d`, from a package built here
//! with its own control file, and kept in step by a later cut.

use md5::{Digest as _, Md5};

use super::tests::*;
use crate::testing::archive::{only, release, TestArchive};
use crate::testing::deb::{ar, compress, data_tar, Compression, TestEntry};

const CONTROL: &str = "Package: hello\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: Kerf Tests <tests@example.invalid>\nSource: hello-src (0.9)\nDescription: the test package\n with a second line\n";

/// The package's own md5sums: right for /usr/bin/tool, and wrong on purpose for the paths the
/// slices make themselves (a text file) or copy from elsewhere: those must be hashed from the
/// disk, never taken from the list.
const MD5SUMS: &str = "2e8bb5a9a8a4d5e4a0b6ac4b3f7e6b8a  etc/secret\n2e8bb5a9a8a4d5e4a0b6ac4b3f7e6b8a  etc/copied\nTOOL_MD5  usr/bin/tool\n";

fn hello_deb(control: &str) -> Vec<u8> {
    let md5sums = MD5SUMS.replace("TOOL_MD5", md5_line(TOOL, "").trim_end());
    let control_tar = data_tar(&[
        TestEntry::dir("./", 0o755),
        TestEntry::file("./control", 0o644, control),
        TestEntry::file("./md5sums", 0o644, md5sums.as_str()),
    ]);
    ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", &compress(&control_tar, Compression::Gz)),
        (
            "data.tar.gz",
            &compress(&data_tar(&hello_entries()), Compression::Gz),
        ),
    ])
}

fn md5_line(content: &str, path: &str) -> String {
    let sum: String = Md5::digest(content.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("{sum}  {path}\n")
}

#[test]
fn dpkg_status_gives_the_stanza_and_md5sums_of_each_package() {
    let mut archive = TestArchive::new(&["noble"]);
    archive.add_deb("noble", "hello", "1.0-1", hello_deb(CONTROL));
    let server = archive.server().start();
    let release = release(
        "v1",
        &[only("ubuntu", &archive)],
        &[("hello", HELLO_SLICES)],
    );
    let env = Env::new();
    let mut options = env.options(&[("ubuntu", &server)]);
    options.dpkg_status = true;

    cut_ok(&release, &["hello_bins", "hello_base"], &options);
    let status = env.root().join("var/lib/dpkg/status.d");
    assert_eq!(names(&status), ["hello", "hello.md5sums"]);
    assert_eq!(
        fs_err::read_to_string(status.join("hello")).unwrap(),
        "Package: hello\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: Kerf Tests <tests@example.invalid>\nSource: hello-src (0.9)\nDescription: the test package\n with a second line\n"
    );
    // Regular files only (not /usr/bin/alias, a symlink), hard links each listed.
    let bins = [
        md5_line("real\n", "usr/bin/hl-a"),
        md5_line("real\n", "usr/bin/hl-b"),
        md5_line("setuid\n", "usr/bin/su-tool"),
        md5_line(TOOL, "usr/bin/tool"),
        md5_line(TOOL, "usr/bin/tool-link"),
    ]
    .concat();
    assert_eq!(
        fs_err::read_to_string(status.join("hello.md5sums")).unwrap(),
        bins
    );

    // A second cut without the flag, into the same root, with more of the package: the root
    // has status.d, so it is kept up to date, text files of the slice included.
    options.dpkg_status = false;
    cut_ok(&release, &["hello_config", "hello_libs"], &options);
    let all = [
        md5_line(CONF, "etc/conf"),
        md5_line(CONF, "etc/copied"),
        md5_line("s3cret\n", "etc/secret"),
        md5_line("note\n", "opt/data/note"),
        bins,
        md5_line("libx\n", "usr/lib/x86_64-linux-gnu/libx.so.1"),
    ]
    .concat();
    assert_eq!(
        fs_err::read_to_string(status.join("hello.md5sums")).unwrap(),
        all
    );
    env.assert_nothing_outside_the_root();
}

#[test]
fn a_control_file_that_names_another_version_stops_the_cut() {
    let mut archive = TestArchive::new(&["noble"]);
    archive.add_deb(
        "noble",
        "hello",
        "1.0-1",
        hello_deb(&CONTROL.replace("1.0-1", "1.0-2")),
    );
    let server = archive.server().start();
    let release = release(
        "v1",
        &[only("ubuntu", &archive)],
        &[("hello", HELLO_SLICES)],
    );
    let env = Env::new();
    let mut options = env.options(&[("ubuntu", &server)]);
    options.dpkg_status = true;
    assert_eq!(
        cut_err(&release, &["hello_bins"], &options),
        "package \"hello\": its control file says Version \"1.0-2\", the archive's index says \"1.0-1\""
    );
    assert!(!env.root().join("var/lib/dpkg/status.d/hello").exists());
}
