//! The manifest chisel writes for `generate: manifest` paths: a zstd-compressed "jsonwall"
//! file, one JSON record per line, sorted bytewise, so tools that read chisel's manifests (and
//! binary-search them by prefix) read kerf's.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::archive::select::ChosenPackage;
use crate::extract::root::{RelPath, Root, RootError};
use crate::extract::{Installed, InstalledKind};
use crate::release::{Generate, PathKind, SliceKey};
use crate::report::Reporter;
use crate::resolve::Selection;

/// Why a manifest could not be written: always this machine's fault (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("cannot write the manifest {path}: {reason}")]
pub(crate) struct ManifestError {
    path: String,
    reason: String,
}

/// A package as the manifest records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ManifestPackage {
    pub(crate) name: String,
    pub(crate) version: String,
    /// Of the .deb.
    pub(crate) sha256: String,
    /// The index's Architecture, which may be `all`.
    pub(crate) arch: String,
}

/// A path as the manifest records it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ManifestPath {
    /// Directories end in `/`.
    pub(crate) path: String,
    pub(crate) mode: u32,
    pub(crate) slices: BTreeSet<SliceKey>,
    pub(crate) sha256: Option<String>,
    /// Set only when a mutate script changed the content.
    pub(crate) final_sha256: Option<String>,
    pub(crate) size: u64,
    pub(crate) link: Option<String>,
    /// Hard-link group number, from 1; 0 for none.
    pub(crate) inode: u64,
}

/// Everything one manifest lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub(crate) packages: Vec<ManifestPackage>,
    pub(crate) slices: BTreeSet<SliceKey>,
    pub(crate) paths: BTreeMap<String, ManifestPath>,
}

impl Manifest {
    /// The jsonwall text: a header with the record count (plus one), then the records sorted
    /// as whole lines. Field order is part of the format, because readers search by prefix.
    pub(crate) fn to_jsonwall(&self) -> String {
        let mut records: Vec<String> = Vec::new();
        for path in self.paths.values() {
            for slice in &path.slices {
                records.push(format!(
                    "{{\"kind\":\"content\",\"slice\":{},\"path\":{}}}",
                    json(&slice.to_string()),
                    json(&path.path)
                ));
            }
        }
        for package in &self.packages {
            records.push(format!(
                "{{\"kind\":\"package\",\"name\":{},\"version\":{},\"sha256\":{},\"arch\":{}}}",
                json(&package.name),
                json(&package.version),
                json(&package.sha256),
                json(&package.arch)
            ));
        }
        for path in self.paths.values() {
            let mut record = format!(
                "{{\"kind\":\"path\",\"path\":{},\"mode\":\"0{:o}\",\"slices\":[{}]",
                json(&path.path),
                // chisel records permission bits and sticky, not setuid or setgid.
                path.mode & 0o1777,
                path.slices
                    .iter()
                    .map(|slice| json(&slice.to_string()))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            if let Some(sha256) = &path.sha256 {
                let _ = write!(record, ",\"sha256\":{}", json(sha256));
            }
            if let Some(final_sha256) = &path.final_sha256 {
                let _ = write!(record, ",\"final_sha256\":{}", json(final_sha256));
            }
            if path.size > 0 {
                let _ = write!(record, ",\"size\":{}", path.size);
            }
            if let Some(link) = path.link.as_ref().filter(|link| !link.is_empty()) {
                let _ = write!(record, ",\"link\":{}", json(link));
            }
            if path.inode > 0 {
                let _ = write!(record, ",\"inode\":{}", path.inode);
            }
            record.push('}');
            records.push(record);
        }
        for slice in &self.slices {
            records.push(format!(
                "{{\"kind\":\"slice\",\"name\":{}}}",
                json(&slice.to_string())
            ));
        }
        records.sort();
        let mut out = format!(
            "{{\"jsonwall\":\"1.0\",\"schema\":\"1.0\",\"count\":{}}}\n",
            records.len() + 1
        );
        for record in records {
            out.push_str(&record);
            out.push('\n');
        }
        out
    }

    /// The compressed file: one zstd frame with a checksum, as chisel writes it.
    pub(crate) fn to_bytes(&self) -> std::io::Result<Vec<u8>> {
        let text = self.to_jsonwall();
        let mut encoder = zstd::stream::Encoder::new(Vec::new(), 3)?;
        encoder.include_checksum(true)?;
        std::io::Write::write_all(&mut encoder, text.as_bytes())?;
        encoder.finish()
    }
}

/// Hard-link groups among the installed files: path → group number, from 1, numbered in path
/// order. A group is what the root holds as one inode under several installed paths.
fn hard_link_groups(root: &Root, installed: &BTreeMap<String, Installed>) -> BTreeMap<String, u64> {
    use std::os::unix::fs::MetadataExt as _;
    let mut by_inode: BTreeMap<(u64, u64), Vec<&str>> = BTreeMap::new();
    for item in installed.values() {
        if !matches!(item.kind, InstalledKind::File { .. }) {
            continue;
        }
        let Some(rel) = RelPath::new(&item.path) else {
            continue;
        };
        if let Ok(Some(metadata)) = root.metadata(&rel) {
            if metadata.nlink() > 1 {
                by_inode
                    .entry((metadata.dev(), metadata.ino()))
                    .or_default()
                    .push(&item.path);
            }
        }
    }
    let mut groups: Vec<Vec<&str>> = by_inode
        .into_values()
        .filter(|paths| paths.len() > 1)
        .collect();
    groups.sort();
    let mut numbers = BTreeMap::new();
    for (index, paths) in groups.iter().enumerate() {
        for path in paths {
            numbers.insert((*path).to_owned(), index as u64 + 1);
        }
    }
    numbers
}

impl ManifestPackage {
    /// A package that went into a root, with the SHA-256 of its `.deb` (which the archive
    /// may not sign: kerf computes it while it verifies the file).
    pub(crate) fn new(package: &ChosenPackage, sha256: String) -> ManifestPackage {
        ManifestPackage {
            name: package.info.name.clone(),
            version: package.info.version.clone(),
            sha256,
            arch: package.info.arch.clone(),
        }
    }
}

/// Writes `manifest.wall` for every selected `generate: manifest` path: the selection's
/// slices, `packages`, and every path in `installed`.
pub(crate) fn write_manifests(
    selection: &Selection<'_>,
    packages: &[ManifestPackage],
    root: &Root,
    installed: &BTreeMap<String, Installed>,
    reporter: &dyn Reporter,
) -> Result<(), ManifestError> {
    let locations: BTreeSet<String> = selection
        .slices
        .iter()
        .flat_map(|slice| slice.contents.iter())
        .filter(|(_, info)| {
            info.kind == PathKind::Generate && info.generate == Some(Generate::Manifest)
        })
        .map(|(path, _)| format!("{}manifest.wall", path.trim_end_matches("**")))
        .collect();
    if locations.is_empty() {
        return Ok(());
    }
    let mut manifest = Manifest {
        packages: packages.to_vec(),
        slices: selection.slices.iter().map(|slice| slice.key()).collect(),
        paths: BTreeMap::new(),
    };
    let hard_link_groups = hard_link_groups(root, installed);
    for item in installed.values() {
        let mut path = ManifestPath {
            path: item.path.clone(),
            mode: item.mode,
            slices: item.slices.clone(),
            ..ManifestPath::default()
        };
        match &item.kind {
            InstalledKind::Directory => {
                if !path.path.ends_with('/') {
                    path.path.push('/');
                }
            }
            InstalledKind::File {
                size,
                sha256,
                final_sha256,
            } => {
                path.sha256 = Some(sha256.clone());
                path.final_sha256 = final_sha256.clone();
                path.size = *size;
                path.inode = hard_link_groups.get(&item.path).copied().unwrap_or(0);
            }
            InstalledKind::Symlink { target } => {
                path.path = path.path.trim_end_matches('/').to_owned();
                path.link = Some(target.clone());
                path.mode = 0o777;
            }
        }
        manifest.paths.insert(path.path.clone(), path);
    }
    let generating: BTreeMap<String, BTreeSet<SliceKey>> = selection
        .slices
        .iter()
        .flat_map(|slice| {
            slice
                .contents
                .iter()
                .filter(|(_, info)| info.kind == PathKind::Generate)
                .map(move |(path, _)| {
                    (
                        format!("{}manifest.wall", path.trim_end_matches("**")),
                        slice.key(),
                    )
                })
        })
        .fold(BTreeMap::new(), |mut map, (path, key)| {
            map.entry(path).or_insert_with(BTreeSet::new).insert(key);
            map
        });
    for (location, slices) in &generating {
        manifest.paths.insert(
            location.clone(),
            ManifestPath {
                path: location.clone(),
                mode: 0o644,
                slices: slices.clone(),
                ..ManifestPath::default()
            },
        );
    }
    let bytes = manifest.to_bytes().map_err(|error| ManifestError {
        path: locations.iter().cloned().collect::<Vec<_>>().join(", "),
        reason: format!("cannot compress: {error}"),
    })?;
    for location in &locations {
        reporter.step(&format!("Generating manifest at {location}..."));
        let rel = RelPath::new(location).ok_or_else(|| ManifestError {
            path: location.clone(),
            reason: "not a plain path".to_owned(),
        })?;
        let root_error = |error: RootError| ManifestError {
            path: location.clone(),
            reason: error.to_string(),
        };
        for ancestor in rel.ancestors() {
            if root.metadata(&ancestor).map_err(root_error)?.is_none() {
                root.make_dir(&ancestor, 0o755, false).map_err(root_error)?;
            }
        }
        root.write_file(&rel, &mut bytes.as_slice(), 0o644)
            .map_err(root_error)?;
    }
    Ok(())
}

/// A JSON string as Go's encoding/json writes it, which also escapes `<`, `>`, `&`, U+2028 and
/// U+2029.
fn json(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_sorted_lines_with_chisels_field_order() {
        let key = |text: &str| SliceKey::parse(text).unwrap();
        let mut manifest = Manifest::default();
        manifest.packages.push(ManifestPackage {
            name: "base-files".to_owned(),
            version: "13ubuntu10.5".to_owned(),
            sha256: "87e8".to_owned(),
            arch: "amd64".to_owned(),
        });
        manifest.slices.insert(key("base-files_bin"));
        manifest.slices.insert(key("base-files_tmp"));
        manifest.paths.insert(
            "/bin".to_owned(),
            ManifestPath {
                path: "/bin".to_owned(),
                mode: 0o777,
                slices: BTreeSet::from([key("base-files_bin")]),
                link: Some("usr/bin".to_owned()),
                ..ManifestPath::default()
            },
        );
        manifest.paths.insert(
            "/tmp/".to_owned(),
            ManifestPath {
                path: "/tmp/".to_owned(),
                mode: 0o1777,
                slices: BTreeSet::from([key("base-files_tmp")]),
                ..ManifestPath::default()
            },
        );
        manifest.paths.insert(
            "/etc/group".to_owned(),
            ManifestPath {
                path: "/etc/group".to_owned(),
                mode: 0o4644,
                slices: BTreeSet::from([key("base-files_bin")]),
                sha256: Some("8f2a".to_owned()),
                final_sha256: Some("0cc1".to_owned()),
                size: 434,
                ..ManifestPath::default()
            },
        );
        assert_eq!(
            manifest.to_jsonwall(),
            "{\"jsonwall\":\"1.0\",\"schema\":\"1.0\",\"count\":10}\n\
{\"kind\":\"content\",\"slice\":\"base-files_bin\",\"path\":\"/bin\"}\n\
{\"kind\":\"content\",\"slice\":\"base-files_bin\",\"path\":\"/etc/group\"}\n\
{\"kind\":\"content\",\"slice\":\"base-files_tmp\",\"path\":\"/tmp/\"}\n\
{\"kind\":\"package\",\"name\":\"base-files\",\"version\":\"13ubuntu10.5\",\"sha256\":\"87e8\",\"arch\":\"amd64\"}\n\
{\"kind\":\"path\",\"path\":\"/bin\",\"mode\":\"0777\",\"slices\":[\"base-files_bin\"],\"link\":\"usr/bin\"}\n\
{\"kind\":\"path\",\"path\":\"/etc/group\",\"mode\":\"0644\",\"slices\":[\"base-files_bin\"],\"sha256\":\"8f2a\",\"final_sha256\":\"0cc1\",\"size\":434}\n\
{\"kind\":\"path\",\"path\":\"/tmp/\",\"mode\":\"01777\",\"slices\":[\"base-files_tmp\"]}\n\
{\"kind\":\"slice\",\"name\":\"base-files_bin\"}\n\
{\"kind\":\"slice\",\"name\":\"base-files_tmp\"}\n"
        );
        let bytes = manifest.to_bytes().unwrap();
        assert_eq!(
            zstd::decode_all(bytes.as_slice()).unwrap(),
            manifest.to_jsonwall().into_bytes()
        );
    }

    #[test]
    fn json_escapes_like_go() {
        assert_eq!(
            json("a<b>&\"\\\n\u{1}\u{2028}"),
            "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\u0001\\u2028\""
        );
    }
}
