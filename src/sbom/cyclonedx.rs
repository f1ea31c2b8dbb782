//! CycloneDX 1.6 JSON.
//!
//! One `operating-system` component for the distribution, then one `library` component per
//! Debian package (its purl as `bom-ref` and `purl`, the `.deb`'s SHA-256 as its hash, its
//! slices as `kerf:slice` properties), each with its files as `file` sub-components carrying
//! their SHA-256, so a scanner can tell which part of a package is really in the image.

use serde::Serialize;

use super::{content_digest, rfc3339, Inventory};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom<'a> {
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: Metadata,
    components: Vec<Component<'a>>,
}

#[derive(Serialize)]
struct Metadata {
    timestamp: String,
    tools: Tools,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<Tool>,
}

#[derive(Serialize)]
struct Tool {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Component<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref")]
    bom_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier: Option<Supplier>,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<License<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    components: Vec<Component<'a>>,
}

#[derive(Serialize)]
struct Supplier {
    name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    contact: Vec<Contact>,
}

#[derive(Serialize)]
struct Contact {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    email: String,
}

#[derive(Serialize)]
struct Hash<'a> {
    alg: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct License<'a> {
    expression: &'a str,
}

#[derive(Serialize)]
struct Property {
    name: &'static str,
    value: String,
}

/// A supplier from a `Maintainer:` value, `Name <email>`.
fn supplier(maintainer: Option<&str>) -> Option<Supplier> {
    let maintainer = maintainer.map(str::trim).filter(|text| !text.is_empty())?;
    Some(match maintainer.split_once('<') {
        Some((name, email)) => Supplier {
            name: name.trim().to_owned(),
            contact: vec![Contact {
                name: Some(name.trim().to_owned()),
                email: email.trim_end_matches('>').trim().to_owned(),
            }],
        },
        None => Supplier {
            name: maintainer.to_owned(),
            contact: Vec::new(),
        },
    })
}

/// The BOM's bytes: pretty-printed JSON with a final newline.
pub(crate) fn render(inventory: &Inventory) -> Result<Vec<u8>, serde_json::Error> {
    let os = &inventory.os;
    let mut components = vec![Component {
        kind: "operating-system",
        bom_ref: format!("os:{}", os.distro()),
        supplier: None,
        name: &os.id,
        version: os.version(),
        description: os.pretty_name.clone(),
        hashes: Vec::new(),
        licenses: Vec::new(),
        purl: None,
        properties: Vec::new(),
        components: Vec::new(),
    }];
    for package in &inventory.packages {
        let mut properties: Vec<Property> = package
            .slices
            .iter()
            .map(|slice| Property {
                name: "kerf:slice",
                value: slice.to_string(),
            })
            .collect();
        if let Some((name, version)) = &package.source {
            properties.push(Property {
                name: "kerf:source-name",
                value: name.clone(),
            });
            properties.push(Property {
                name: "kerf:source-version",
                value: version.clone(),
            });
        }
        let files = package
            .files
            .iter()
            .map(|path| {
                let file = &inventory.files[path];
                Component {
                    kind: "file",
                    bom_ref: format!("{}#{path}", package.purl),
                    supplier: None,
                    name: path,
                    version: None,
                    description: None,
                    hashes: vec![Hash {
                        alg: "SHA-256",
                        content: &file.sha256,
                    }],
                    licenses: Vec::new(),
                    purl: None,
                    properties: file
                        .slices
                        .iter()
                        .filter(|slice| slice.package == package.name)
                        .map(|slice| Property {
                            name: "kerf:slice",
                            value: slice.to_string(),
                        })
                        .collect(),
                    components: Vec::new(),
                }
            })
            .collect();
        components.push(Component {
            kind: "library",
            bom_ref: package.purl.clone(),
            supplier: supplier(package.maintainer.as_deref()),
            name: &package.name,
            version: Some(&package.version),
            description: None,
            hashes: vec![Hash {
                alg: "SHA-256",
                content: &package.sha256,
            }],
            licenses: package
                .license
                .as_deref()
                .map(|expression| License { expression })
                .into_iter()
                .collect(),
            purl: Some(&package.purl),
            properties,
            components: files,
        });
    }
    let bom = Bom {
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: serial_number(&content_digest(inventory)),
        version: 1,
        metadata: Metadata {
            timestamp: rfc3339(inventory.created),
            tools: Tools {
                components: vec![Tool {
                    kind: "application",
                    name: "kerf",
                    version: env!("CARGO_PKG_VERSION"),
                }],
            },
        },
        components,
    };
    let mut bytes = serde_json::to_vec_pretty(&bom)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// A `urn:uuid:` made from the content's digest (shaped as a version 8 UUID, RFC 9562): the
/// same root gives the same serial number.
fn serial_number(digest: &str) -> String {
    let hex: Vec<char> = digest.chars().take(32).collect();
    let mut hex: Vec<char> = if hex.len() == 32 { hex } else { vec!['0'; 32] };
    hex[12] = '8';
    // The variant bits 10xx: 8, 9, a or b.
    let variant = hex[16].to_digit(16).unwrap_or(0) & 0x3 | 0x8;
    hex[16] = char::from_digit(variant, 16).unwrap_or('8');
    let text: String = hex.into_iter().collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &text[0..8],
        &text[8..12],
        &text[12..16],
        &text[16..20],
        &text[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_serial_number_is_a_uuid_made_from_the_digest() {
        let digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            serial_number(digest),
            "urn:uuid:01234567-89ab-8def-8123-456789abcdef"
        );
    }

    #[test]
    fn suppliers_come_from_the_maintainer_field() {
        let found = supplier(Some(
            "Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>",
        ))
        .expect("a supplier");
        assert_eq!(found.name, "Ubuntu Developers");
        assert_eq!(
            found.contact[0].email,
            "ubuntu-devel-discuss@lists.ubuntu.com"
        );
        assert!(supplier(Some("  ")).is_none());
    }
}
