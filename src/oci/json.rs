//! The OCI documents kerf writes and reads: descriptors, the image config, the manifest, the
//! index. Struct fields serialise in declaration order and maps are sorted, so the same image
//! always gives the same bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub(crate) const MEDIA_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const MEDIA_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const MEDIA_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub(crate) const MEDIA_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub(crate) const MEDIA_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// The annotation an image layout names an image by (`oci:DIR:TAG`).
pub(crate) const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The platform of an image, as the index and the config say it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Platform {
    pub(crate) architecture: String,
    pub(crate) os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) variant: Option<String>,
}

/// A pointer to a blob. Unknown fields of an existing layout's index are kept as they are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Descriptor {
    #[serde(rename = "mediaType")]
    pub(crate) media_type: String,
    pub(crate) digest: String,
    pub(crate) size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) annotations: BTreeMap<String, String>,
    #[serde(flatten)]
    pub(crate) other: BTreeMap<String, serde_json::Value>,
}

impl Descriptor {
    pub(crate) fn new(media_type: &str, digest_hex: &str, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.to_owned(),
            digest: format!("sha256:{digest_hex}"),
            size,
            platform: None,
            annotations: BTreeMap::new(),
            other: BTreeMap::new(),
        }
    }

    /// The tag this descriptor carries in an index, if any.
    pub(crate) fn tag(&self) -> Option<&str> {
        self.annotations.get(REF_NAME).map(String::as_str)
    }
}

/// `index.json`, or an image index blob.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Index {
    #[serde(rename = "schemaVersion")]
    pub(crate) schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub(crate) media_type: Option<String>,
    #[serde(default)]
    pub(crate) manifests: Vec<Descriptor>,
    #[serde(flatten)]
    pub(crate) other: BTreeMap<String, serde_json::Value>,
}

impl Index {
    pub(crate) fn new(manifests: Vec<Descriptor>) -> Index {
        Index {
            schema_version: 2,
            media_type: Some(MEDIA_INDEX.to_owned()),
            manifests,
            other: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Manifest {
    #[serde(rename = "schemaVersion")]
    pub(crate) schema_version: u32,
    #[serde(rename = "mediaType")]
    pub(crate) media_type: &'static str,
    pub(crate) config: Descriptor,
    pub(crate) layers: Vec<Descriptor>,
}

/// The image config.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Config {
    pub(crate) created: String,
    pub(crate) architecture: String,
    pub(crate) os: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) variant: Option<String>,
    pub(crate) config: RunConfig,
    pub(crate) rootfs: RootFs,
    pub(crate) history: Vec<History>,
}

/// How a container of the image runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct RunConfig {
    #[serde(rename = "User", skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<String>,
    #[serde(rename = "Env", skip_serializing_if = "Vec::is_empty")]
    pub(crate) env: Vec<String>,
    #[serde(rename = "Entrypoint", skip_serializing_if = "Option::is_none")]
    pub(crate) entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd", skip_serializing_if = "Option::is_none")]
    pub(crate) cmd: Option<Vec<String>>,
    #[serde(rename = "WorkingDir", skip_serializing_if = "Option::is_none")]
    pub(crate) working_dir: Option<String>,
    #[serde(rename = "Labels", skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct RootFs {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) diff_ids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct History {
    pub(crate) created: String,
    pub(crate) created_by: String,
}

/// RFC 3339 in UTC, `1970-01-01T00:00:00Z`, for seconds since the epoch.
pub(crate) fn rfc3339(seconds: u64) -> String {
    crate::clock::Timestamp::from_unix(i64::try_from(seconds).unwrap_or(i64::MAX)).rfc3339()
}

/// Serialises a document as the bytes of its blob.
pub(crate) fn to_bytes(value: &impl Serialize) -> Vec<u8> {
    // Plain structs, maps with string keys and strings cannot fail to serialise.
    serde_json::to_vec(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_keeps_fields_it_does_not_know() {
        let text = r#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:ab","size":3,"annotations":{"org.opencontainers.image.ref.name":"old"},"artifactType":"x/y"}],"annotations":{"a":"b"}}"#;
        let index: Index = serde_json::from_str(text).unwrap();
        assert_eq!(index.manifests[0].tag(), Some("old"));
        assert_eq!(
            String::from_utf8(to_bytes(&index)).unwrap(),
            r#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:ab","size":3,"annotations":{"org.opencontainers.image.ref.name":"old"},"artifactType":"x/y"}],"annotations":{"a":"b"}}"#
        );
    }
}
