//! SPDX 2.3 JSON.
//!
//! The document describes the operating system (a package with purpose `OPERATING-SYSTEM`),
//! which contains one package per Debian package (its purl as an external reference, the
//! `.deb`'s SHA-256 as its checksum), each of which contains its files (SHA-256 from the
//! manifest, SHA-1 as SPDX requires). SPDX has no properties: the slices a package was cut
//! with are annotations on it, and a file's slices are its comment.

use serde::Serialize;

use super::{content_digest, rfc3339, Inventory};

const NOASSERTION: &str = "NOASSERTION";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    packages: Vec<Package<'a>>,
    files: Vec<File<'a>>,
    relationships: Vec<Relationship>,
}

#[derive(Serialize)]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Package<'a> {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<&'a str>,
    supplier: String,
    download_location: &'static str,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    package_verification_code: Option<VerificationCode>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    license_concluded: &'static str,
    license_declared: &'a str,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef<'a>>,
    primary_package_purpose: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    annotations: Vec<Annotation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerificationCode {
    package_verification_code_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum<'a> {
    algorithm: &'static str,
    checksum_value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef<'a> {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Annotation {
    annotation_date: String,
    annotation_type: &'static str,
    annotator: String,
    comment: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct File<'a> {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    file_name: String,
    checksums: Vec<Checksum<'a>>,
    license_concluded: &'static str,
    copyright_text: &'static str,
    comment: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

/// `kerf-<version>`, the creator and annotator of everything in the document.
fn tool() -> String {
    format!("Tool: kerf-{}", env!("CARGO_PKG_VERSION"))
}

/// An SPDX supplier from a `Maintainer:` value, `Name <email>`.
fn supplier(maintainer: Option<&str>) -> String {
    let Some(maintainer) = maintainer.map(str::trim).filter(|text| !text.is_empty()) else {
        return NOASSERTION.to_owned();
    };
    match maintainer.split_once('<') {
        Some((name, email)) => format!(
            "Organization: {} ({})",
            name.trim(),
            email.trim_end_matches('>').trim()
        ),
        None => format!("Organization: {maintainer}"),
    }
}

/// The document's bytes: pretty-printed JSON with a final newline.
pub(crate) fn render(inventory: &Inventory) -> Result<Vec<u8>, serde_json::Error> {
    let created = rfc3339(inventory.created);
    let os = &inventory.os;
    let distro = os.distro();
    let file_ids: std::collections::BTreeMap<&str, String> = inventory
        .files
        .keys()
        .enumerate()
        .map(|(index, path)| (path.as_str(), format!("SPDXRef-File-{}", index + 1)))
        .collect();
    let os_id = "SPDXRef-OperatingSystem".to_owned();
    let mut packages = vec![Package {
        spdx_id: os_id.clone(),
        name: &os.id,
        version_info: os.version(),
        supplier: NOASSERTION.to_owned(),
        download_location: NOASSERTION,
        files_analyzed: false,
        package_verification_code: None,
        checksums: Vec::new(),
        source_info: None,
        license_concluded: NOASSERTION,
        license_declared: NOASSERTION,
        copyright_text: NOASSERTION,
        external_refs: Vec::new(),
        primary_package_purpose: "OPERATING-SYSTEM",
        annotations: Vec::new(),
    }];
    let mut relationships = vec![Relationship {
        spdx_element_id: "SPDXRef-DOCUMENT".to_owned(),
        relationship_type: "DESCRIBES",
        related_spdx_element: os_id.clone(),
    }];
    for (index, package) in inventory.packages.iter().enumerate() {
        let id = format!("SPDXRef-Package-{}-{}", index + 1, id_safe(&package.name));
        relationships.push(Relationship {
            spdx_element_id: os_id.clone(),
            relationship_type: "CONTAINS",
            related_spdx_element: id.clone(),
        });
        for path in &package.files {
            relationships.push(Relationship {
                spdx_element_id: id.clone(),
                relationship_type: "CONTAINS",
                related_spdx_element: file_ids[path.as_str()].clone(),
            });
        }
        let source_info = package.source.as_ref().map(|(name, version)| {
            format!("built from the Debian source package {name} {version}")
        });
        packages.push(Package {
            spdx_id: id,
            name: &package.name,
            version_info: Some(&package.version),
            supplier: supplier(package.maintainer.as_deref()),
            download_location: NOASSERTION,
            files_analyzed: true,
            package_verification_code: Some(VerificationCode {
                package_verification_code_value: verification_code(
                    package
                        .files
                        .iter()
                        .map(|path| inventory.files[path].sha1.as_str()),
                ),
            }),
            checksums: vec![Checksum {
                algorithm: "SHA256",
                checksum_value: &package.sha256,
            }],
            source_info,
            license_concluded: NOASSERTION,
            license_declared: package.license.as_deref().unwrap_or(NOASSERTION),
            copyright_text: NOASSERTION,
            external_refs: vec![ExternalRef {
                reference_category: "PACKAGE-MANAGER",
                reference_type: "purl",
                reference_locator: &package.purl,
            }],
            primary_package_purpose: "LIBRARY",
            annotations: package
                .slices
                .iter()
                .map(|slice| Annotation {
                    annotation_date: created.clone(),
                    annotation_type: "OTHER",
                    annotator: tool(),
                    comment: format!("kerf:slice={slice}"),
                })
                .collect(),
        });
    }
    let files = inventory
        .files
        .iter()
        .map(|(path, file)| File {
            spdx_id: file_ids[path.as_str()].clone(),
            file_name: format!(".{path}"),
            checksums: vec![
                Checksum {
                    algorithm: "SHA1",
                    checksum_value: &file.sha1,
                },
                Checksum {
                    algorithm: "SHA256",
                    checksum_value: &file.sha256,
                },
            ],
            license_concluded: NOASSERTION,
            copyright_text: NOASSERTION,
            comment: format!(
                "slices: {}",
                file.slices
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
        .collect();
    let document = Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: format!("kerf root {distro}"),
        document_namespace: format!(
            "https://kerf.invalid/spdx/{distro}/{}",
            content_digest(inventory)
        ),
        creation_info: CreationInfo {
            created,
            creators: vec![tool()],
        },
        packages,
        files,
        relationships,
    };
    let mut bytes = serde_json::to_vec_pretty(&document)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Letters, digits, `.` and `-` only, as SPDX identifiers allow; the index before it keeps two
/// names that differ only in other characters apart.
fn id_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// SPDX's package verification code: the SHA-1 of the files' SHA-1s, sorted and concatenated.
fn verification_code<'a>(sha1s: impl Iterator<Item = &'a str>) -> String {
    use sha1::Digest as _;
    let mut sorted: Vec<&str> = sha1s.collect();
    sorted.sort_unstable();
    let mut hasher = sha1::Sha1::new();
    for sha1 in sorted {
        hasher.update(sha1.as_bytes());
    }
    crate::digest::hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppliers_come_from_the_maintainer_field() {
        assert_eq!(
            supplier(Some(
                "Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>"
            )),
            "Organization: Ubuntu Developers (ubuntu-devel-discuss@lists.ubuntu.com)"
        );
        assert_eq!(supplier(Some("GNU Project")), "Organization: GNU Project");
        assert_eq!(supplier(None), "NOASSERTION");
    }

    #[test]
    fn the_verification_code_is_the_sha1_of_the_sorted_sha1s() {
        // SHA-1 of "" is da39a3ee...; of "bbb" + "aaa" sorted as "aaabbb":
        assert_eq!(
            verification_code(std::iter::empty()),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert_eq!(
            verification_code(["bbb", "aaa"].into_iter()),
            verification_code(["aaabbb"].into_iter())
        );
        assert_eq!(id_safe("libstdc++6"), "libstdc--6");
    }
}
