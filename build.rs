//! Embeds every release under `slices/<name>/` into the binary, so an installed kerf can cut
//! `--release <name>` with no checkout around it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let slices = root.join("slices");
    println!("cargo:rerun-if-changed={}", slices.display());

    let mut releases = Vec::new();
    if let Ok(entries) = fs_err::read_dir(&slices) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() && path.join("chisel.yaml").is_file() {
                releases.push(path);
            }
        }
    }
    releases.sort();

    let mut code = String::from("pub(crate) static RELEASES: &[BundledRelease] = &[\n");
    for release in &releases {
        let name = release
            .file_name()
            .and_then(|name| name.to_str())
            .expect("release names are UTF-8");
        let mut files = Vec::new();
        collect(release, release, &mut files);
        files.sort();
        writeln!(code, "    BundledRelease {{ name: {name:?}, files: &[").unwrap();
        for (relative, absolute) in files {
            println!("cargo:rerun-if-changed={}", absolute.display());
            writeln!(
                code,
                "        ({relative:?}, include_bytes!({:?})),",
                absolute.display().to_string()
            )
            .unwrap();
        }
        code.push_str("    ] },\n");
    }
    code.push_str("];\n");
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("bundled.rs");
    fs_err::write(out, code).expect("cannot write bundled.rs");
}

/// `chisel.yaml` and every `.yaml` under `slices/`, named relative to the release.
fn collect(release: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.is_dir() {
            collect(release, &path, files);
        } else if path
            .extension()
            .is_some_and(|extension| extension == "yaml")
        {
            let relative = path
                .strip_prefix(release)
                .expect("below the release")
                .to_string_lossy()
                .replace('\\', "/");
            if relative == "chisel.yaml" || relative.starts_with("slices/") {
                files.push((relative, path));
            }
        }
    }
}
