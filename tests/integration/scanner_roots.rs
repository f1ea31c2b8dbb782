//! Roots that scanners can read: `cut --dpkg-status` (distroless-style `status.d` stanzas and
//! md5sums) and `kerf sbom` (SPDX 2.3, CycloneDX 1.6), checked against the fixture mirror and,
//! when installed, the formats' own validators (`pyspdxtools` from spdx-tools, and
//! cyclonedx-python-lib's strict JSON validator; `.ci/run` installs both in a virtualenv and
//! names it in `KERF_SBOM_VENV`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use md5::{Digest as _, Md5};

use crate::cut_fixture::{cut, SMALL};
use crate::harness::{kerf, Run, TestDir};
use crate::with_shared;
use kerf::testing::release::chisel_yaml;
use kerf::testing::server::TestServer;

/// The fixture's large cut, and the slice that writes the manifest.
pub(crate) const LARGE: [&str; 18] = [
    "base-files_base",
    "base-files_release-info",
    "base-files_chisel",
    "ca-certificates_data",
    "tzdata_zoneinfo",
    "libc6_libs",
    "libssl3t64_libs",
    "openssl_bins",
    "python3.12_standard",
    "coreutils_bins",
    "bash_bins",
    "dash_bins",
    "busybox_bins",
    "curl_bins",
    "grep_bins",
    "sed_bins",
    "tar_bins",
    "gzip_bins",
];

/// `kerf sbom` with SOURCE_DATE_EPOCH set.
fn sbom(root: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_kerf"))
        .arg("sbom")
        .arg("--root")
        .arg(root)
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1714000000")
        .output()
        .expect("cannot run kerf");
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The packages of the root's manifest: name → (version, arch).
fn manifest_packages(root: &Path) -> BTreeMap<String, (String, String)> {
    let wall = fs_err::read(root.join("var/lib/chisel/manifest.wall")).expect("the manifest");
    let text = String::from_utf8(zstd::decode_all(wall.as_slice()).expect("zstd")).expect("UTF-8");
    text.lines()
        .filter(|line| line.starts_with(r#"{"kind":"package","#))
        .map(|line| {
            let record: serde_json::Value = serde_json::from_str(line).expect("a JSON record");
            let field = |name: &str| record[name].as_str().expect("a string field").to_owned();
            (field("name"), (field("version"), field("arch")))
        })
        .collect()
}

/// The regular files the manifest lists.
fn manifest_files(root: &Path) -> BTreeSet<String> {
    let wall = fs_err::read(root.join("var/lib/chisel/manifest.wall")).expect("the manifest");
    let text = String::from_utf8(zstd::decode_all(wall.as_slice()).expect("zstd")).expect("UTF-8");
    text.lines()
        .filter(|line| line.starts_with(r#"{"kind":"path","#) && line.contains(r#""sha256":"#))
        .map(|line| {
            let record: serde_json::Value = serde_json::from_str(line).expect("a JSON record");
            record["path"].as_str().expect("a path").to_owned()
        })
        .collect()
}

/// The purl the issue asks for, built here independently of kerf's code.
fn expected_purl(name: &str, version: &str, arch: &str) -> String {
    let encoded: String = version
        .bytes()
        .map(|byte| match byte {
            b'+' => "%2B".to_owned(),
            b':' => "%3A".to_owned(),
            byte => char::from(byte).to_string(),
        })
        .collect();
    let name = name.replace('+', "%2B");
    format!("pkg:deb/ubuntu/{name}@{encoded}?arch={arch}&distro=ubuntu-24.04")
}

/// Checks `status.d` against the root: a stanza with the exact version for every package of
/// the manifest, and md5sums lines that match the files on disk, covering every regular file
/// the manifest lists. Returns the number of md5sums lines checked.
fn assert_status_d_matches(root: &Path) -> usize {
    let status = root.join("var/lib/dpkg/status.d");
    let mut checked = 0;
    let mut listed = BTreeSet::new();
    for (name, (version, arch)) in manifest_packages(root) {
        let stanza = fs_err::read_to_string(status.join(&name))
            .unwrap_or_else(|error| panic!("no stanza for {name}: {error}"));
        let mut lines = stanza.lines();
        assert_eq!(lines.next(), Some(format!("Package: {name}").as_str()));
        assert_eq!(lines.next(), Some("Status: install ok installed"), "{name}");
        assert!(
            stanza
                .lines()
                .any(|line| line == format!("Version: {version}")),
            "{name}: the stanza does not say Version: {version}:\n{stanza}"
        );
        assert!(
            stanza
                .lines()
                .any(|line| line == format!("Architecture: {arch}")),
            "{name}: the stanza does not say Architecture: {arch}"
        );
        let md5sums = fs_err::read_to_string(status.join(format!("{name}.md5sums")))
            .unwrap_or_else(|error| panic!("no md5sums for {name}: {error}"));
        for line in md5sums.lines() {
            let (sum, path) = line
                .split_once("  ")
                .unwrap_or_else(|| panic!("{name}.md5sums: bad line {line:?}"));
            let content = fs_err::read(root.join(path))
                .unwrap_or_else(|error| panic!("{name}.md5sums lists {path}: {error}"));
            let actual: String = Md5::digest(&content)
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            assert_eq!(sum, actual, "{name}.md5sums: {path}");
            listed.insert(format!("/{path}"));
            checked += 1;
        }
    }
    let files = manifest_files(root);
    let unlisted: Vec<&String> = files.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "regular files in no md5sums: {unlisted:?}"
    );
    checked
}

/// The virtualenv with the validators: `KERF_SBOM_VENV`, else none (the checks then skip). A
/// variable that names a virtualenv without them is a broken CI, not a reason to skip.
fn validators() -> Option<PathBuf> {
    let venv = PathBuf::from(std::env::var_os("KERF_SBOM_VENV")?);
    assert!(
        venv.join("bin/pyspdxtools").exists() && venv.join("bin/python").exists(),
        "KERF_SBOM_VENV={} has no bin/pyspdxtools or bin/python",
        venv.display()
    );
    Some(venv)
}

/// Runs the two validators on the two documents; `false` (with a message) when they are absent.
fn validate(spdx: &Path, cyclonedx: &Path) -> bool {
    let Some(venv) = validators() else {
        #[expect(clippy::print_stderr, reason = "a skipped check says so")]
        {
            eprintln!("skipping the SBOM validators: KERF_SBOM_VENV names no virtualenv with spdx-tools and cyclonedx-python-lib (.ci/run makes one)");
        }
        return false;
    };
    let output = Command::new(venv.join("bin/pyspdxtools"))
        .arg("-i")
        .arg(spdx)
        .output()
        .expect("cannot run pyspdxtools");
    assert!(
        output.status.success(),
        "pyspdxtools -i refuses the SPDX document:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let script = "import sys\n\
from cyclonedx.schema import SchemaVersion\n\
from cyclonedx.validation.json import JsonStrictValidator\n\
error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())\n\
if error is not None:\n    sys.exit('invalid: ' + str(error.data.message))\n\
print('valid')\n";
    let output = Command::new(venv.join("bin/python"))
        .arg("-c")
        .arg(script)
        .arg(cyclonedx)
        .output()
        .expect("cannot run python");
    assert!(
        output.status.success(),
        "the CycloneDX 1.6 strict validator refuses the BOM:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    true
}

#[test]
fn a_large_cut_with_dpkg_status_is_readable_by_scanners() {
    with_shared!(shared => {
        let server = TestServer::serve_dir(&shared.join("fixtures/noble-mirror"));
        let dir = TestDir::new();
        let (root, cache) = (dir.path().join("rootfs"), dir.path().join("cache"));

        // A small cut first, then the large one into the same root without the flag: the root
        // has status.d, so the second cut keeps it up to date.
        let mut small = SMALL.to_vec();
        small.extend(["base-files_release-info", "base-files_chisel"]);
        cut(&shared, &server.url("/"), &root, &cache, &["-q", "--dpkg-status"], &small).success();
        let small_lines = assert_status_d_matches(&root);
        let small_packages = manifest_packages(&root);

        let spdx_path = dir.path().join("root.spdx.json");
        let sbom_flag = spdx_path.to_str().unwrap();
        cut(&shared, &server.url("/"), &root, &cache, &["-q", "--sbom", sbom_flag], &LARGE).success();
        let lines = assert_status_d_matches(&root);
        assert!(lines > small_lines, "{lines} md5sums lines after the large cut");
        let packages = manifest_packages(&root);
        assert_eq!(packages.len(), 64, "the large cut's packages");
        // Every stanza is a package of one of the two cuts, and the small cut's are all there.
        let stanzas: BTreeSet<String> = fs_err::read_dir(root.join("var/lib/dpkg/status.d"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| !name.ends_with(".md5sums"))
            .collect();
        let union: BTreeSet<String> = packages.keys().chain(small_packages.keys()).cloned().collect();
        assert_eq!(stanzas, union);
        // The script-written CA bundle is listed with the hash of what the script wrote
        // (assert_status_d_matches checked every line against the disk).
        let ca = fs_err::read_to_string(root.join("var/lib/dpkg/status.d/ca-certificates.md5sums")).unwrap();
        assert!(ca.lines().any(|line| line.ends_with("  etc/ssl/certs/ca-certificates.crt")), "{ca}");

        // Both formats, and the SPDX document `cut --sbom` wrote is the one `kerf sbom` writes.
        let cdx_path = dir.path().join("root.cdx.json");
        sbom(&root, &["-o", cdx_path.to_str().unwrap()]).success();
        let spdx_again = sbom(&root, &["--format", "spdx-json"]);
        let cut_spdx = fs_err::read_to_string(&spdx_path).unwrap();
        assert_eq!(spdx_again.success().len(), cut_spdx.len());
        let spdx: serde_json::Value = serde_json::from_str(spdx_again.success()).unwrap();
        let cdx_text = fs_err::read_to_string(&cdx_path).unwrap();
        let cdx: serde_json::Value = serde_json::from_str(&cdx_text).unwrap();
        assert_eq!(spdx["creationInfo"]["created"], "2024-04-24T23:06:40Z");
        assert_eq!(cdx["metadata"]["timestamp"], "2024-04-24T23:06:40Z");
        // The same root gives the same bytes.
        sbom(&root, &["-o", cdx_path.to_str().unwrap()]).success();
        assert_eq!(fs_err::read_to_string(&cdx_path).unwrap(), cdx_text);

        let spdx_purls: BTreeMap<String, String> = spdx["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|package| {
                let purl = package["externalRefs"][0]["referenceLocator"].as_str()?;
                Some((package["name"].as_str().unwrap().to_owned(), purl.to_owned()))
            })
            .collect();
        let cdx_purls: BTreeMap<String, String> = cdx["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|component| {
                let purl = component["purl"].as_str()?;
                Some((component["name"].as_str().unwrap().to_owned(), purl.to_owned()))
            })
            .collect();
        let expected: BTreeMap<String, String> = packages
            .iter()
            .map(|(name, (version, arch))| (name.clone(), expected_purl(name, version, arch)))
            .collect();
        assert_eq!(spdx_purls, expected);
        assert_eq!(cdx_purls, expected);
        assert!(expected.values().any(|purl| purl.contains("%3A")), "an epoch, encoded");
        // Every file of the manifest is in the SPDX document.
        assert_eq!(
            spdx["files"].as_array().unwrap().len(),
            manifest_files(&root).len()
        );

        let spdx_file = dir.path().join("checked.spdx.json");
        fs_err::write(&spdx_file, spdx_again.success()).unwrap();
        validate(&spdx_file, &cdx_path);

        // Without base-files_release-info there is no os-release: the cut says so.
        let bare = dir.path().join("bare");
        let run = cut(&shared, &server.url("/"), &bare, &cache, &["--dpkg-status"], &SMALL);
        run.success();
        assert!(
            run.stderr.contains("warning: the root has no /etc/os-release: scanners need it to know the distribution of the packages in /var/lib/dpkg/status.d (cut base-files_release-info too)\n"),
            "{}",
            run.stderr
        );
        assert!(bare.join("var/lib/dpkg/status.d/openssl").is_file());
    });
}

#[test]
fn sbom_explains_roots_it_cannot_read_and_writes_nothing() {
    let dir = TestDir::new();
    let root = dir.path().join("rootfs");
    fs_err::create_dir(&root).unwrap();
    let output = dir.path().join("out.spdx.json");
    let run = sbom(&root, &["-o", output.to_str().unwrap()]);
    run.fails_with(
        1,
        &format!("error: {} has no manifest at /var/lib/chisel/manifest.wall: kerf sbom reads the manifest a cut writes for a `generate: manifest` slice; cut base-files_chisel (in the bundled ubuntu-24.04 release and in chisel-releases) into the root too, or, if scanners are all you need, cut with --dpkg-status to write /var/lib/dpkg/status.d\n", root.display()),
    );
    // A manifest cut short: the line is named, and no output appears.
    dir.write(
        "rootfs/usr/lib/os-release",
        "ID=ubuntu\nVERSION_ID=\"24.04\"\n",
    );
    let text = "{\"jsonwall\":\"1.0\",\"schema\":\"1.0\",\"count\":5}\n\
{\"kind\":\"package\",\"name\":\"hello\",\"version\":\"1\",\"sha256\":\"ab\",\"arch\":\"amd64\"}\n\
{\"kind\":\"path\",\"path\":\"/usr/bin/hello\",\"mode\":\"0755\",\"slices\":[\"hello_bins\"],\"sha256\":\"ab\"";
    let wall = root.join("var/lib/chisel/manifest.wall");
    fs_err::create_dir_all(wall.parent().unwrap()).unwrap();
    fs_err::write(&wall, zstd::encode_all(text.as_bytes(), 3).unwrap()).unwrap();
    let run = sbom(&root, &["-o", output.to_str().unwrap()]);
    run.fails_with(
        1,
        &format!("error: {}: line 3: not a manifest record (EOF while parsing an object at line 1 column 90); found \"{{\\\"kind\\\":\\\"path\\\",\\\"path\\\":\\\"/usr/bin/hello\\\",\\\"mode\\\":\\\"0755\\\",\\\"slices\\\":[\\\"hello_bins\\\"],\\\"sha256\\\":\\\"ab\\\"\"\n", wall.display()),
    );
    assert!(!output.exists(), "a failed sbom left {}", output.display());
    let leftovers: Vec<_> = fs_err::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .filter(|name| name.to_string_lossy().contains("kerf-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn cut_refuses_an_sbom_name_without_a_format_before_any_work() {
    let dir = TestDir::new();
    dir.write("rel/chisel.yaml", &chisel_yaml("v1")).write(
        "rel/slices/mypkg.yaml",
        "package: mypkg\nslices:\n  bins:\n    contents:\n      /usr/bin/tool:\n",
    );
    kerf(
        dir.path(),
        &[
            "cut",
            "--release",
            "./rel",
            "--root",
            "rootfs",
            "--archive-url",
            "ubuntu=http://127.0.0.1:9/ubuntu/",
            "--sbom",
            "root.json",
            "mypkg_bins",
        ],
    )
    .fails_with(
        1,
        "error: invalid --sbom root.json: the name must end in .spdx.json (SPDX) or .cdx.json (CycloneDX)\n",
    );
    assert!(!dir.path().join("rootfs").exists());
}
