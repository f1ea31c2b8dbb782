//! Snapshots of archives: the archive as it was at a moment, from Ubuntu's and Debian's snapshot
//! services. A snapshot keeps its InRelease files as they were signed, so signatures check as
//! always; their `Valid-Until` has passed by design and is not judged.

use std::fmt;

use crate::clock::{Civil, Timestamp};
use crate::release::{Arch, Archive, Pro};

/// A snapshot's name: a moment in UTC, `YYYYMMDDTHHMMSSZ`, as both services spell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SnapshotId(Timestamp);

/// Why a snapshot ID was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid snapshot ID \"{given}\": expected a moment in UTC as YYYYMMDDTHHMMSSZ, e.g. 20261201T000000Z{reason}")]
pub(crate) struct SnapshotIdError {
    given: String,
    /// Empty, or a `; …` clause that says what is wrong beyond the form.
    reason: String,
}

impl SnapshotId {
    /// Parses `YYYYMMDDTHHMMSSZ`, refusing dates that do not exist.
    pub(crate) fn parse(text: &str) -> Result<SnapshotId, SnapshotIdError> {
        let fail = |reason: &str| SnapshotIdError {
            given: text.to_owned(),
            reason: reason.to_owned(),
        };
        let bytes = text.as_bytes();
        let shaped = bytes.len() == 16
            && bytes[8] == b'T'
            && bytes[15] == b'Z'
            && bytes[..8].iter().all(u8::is_ascii_digit)
            && bytes[9..15].iter().all(u8::is_ascii_digit);
        if !shaped {
            return Err(fail(""));
        }
        let number = |range: std::ops::Range<usize>| -> i64 {
            text[range].parse().expect("checked to be digits")
        };
        let date = crate::release::Date::parse(&format!(
            "{}-{}-{}",
            &text[0..4],
            &text[4..6],
            &text[6..8]
        ))
        .ok_or_else(|| fail("; that date does not exist"))?;
        let (hour, minute, second) = (number(9..11), number(11..13), number(13..15));
        if hour > 23 || minute > 59 || second > 59 {
            return Err(fail("; that time of day does not exist"));
        }
        let seconds = date.days_since_epoch() * 86_400 + hour * 3600 + minute * 60 + second;
        Ok(SnapshotId(Timestamp::from_unix(seconds)))
    }

    /// The snapshot of the archive at `moment` (to the second).
    pub(crate) fn at(moment: Timestamp) -> SnapshotId {
        SnapshotId(moment)
    }
}

impl fmt::Display for SnapshotId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Civil {
            year,
            month,
            day,
            hour,
            minute,
            second,
        } = self.0.civil();
        write!(
            formatter,
            "{year:04}{month:02}{day:02}T{hour:02}{minute:02}{second:02}Z"
        )
    }
}

/// Where the snapshot services live; tests point them at loopback servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SnapshotUrls {
    /// Ubuntu's archive (amd64, i386), ending in `/`: the snapshot is `<this>ID/`.
    pub(crate) ubuntu: String,
    /// Ubuntu's ports archive (every other architecture), ending in `/`.
    pub(crate) ubuntu_ports: String,
    /// Debian's service, ending in `/`: the snapshot of archive `debian` is `<this>debian/ID/`.
    pub(crate) debian: String,
}

/// Why an archive has no snapshot.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NoSnapshot {
    #[error("archive \"{archive}\" is an Ubuntu Pro archive, which has no snapshot service; cut without --snapshot")]
    Pro { archive: String },
    #[error("archive \"{archive}\" is at {url}, which no snapshot service kerf knows mirrors (Ubuntu's archive and Debian's archives are); give its URL at that moment with --archive-url {archive}=URL")]
    Unknown { archive: String, url: String },
}

impl SnapshotUrls {
    /// The public services.
    pub(crate) fn public() -> SnapshotUrls {
        SnapshotUrls {
            ubuntu: "https://snapshot.ubuntu.com/ubuntu/".to_owned(),
            ubuntu_ports: "https://snapshot.ubuntu.com/ubuntu-ports/".to_owned(),
            debian: "https://snapshot.debian.org/archive/".to_owned(),
        }
    }
}

impl SnapshotUrls {
    /// The archive's base URL in snapshot `id`. Ubuntu's public archive is the archive without
    /// a `url:` (kerf's defaults); a Debian archive is one whose URL's last path segment names
    /// a Debian archive (`…/debian/`, `…/debian-security/`, `…/debian-ports/`, …), which is how
    /// Debian's service names them.
    pub(crate) fn base_for(
        &self,
        id: SnapshotId,
        archive: &Archive,
        arch: Arch,
    ) -> Result<String, NoSnapshot> {
        if archive.pro != Pro::None {
            return Err(NoSnapshot::Pro {
                archive: archive.name.clone(),
            });
        }
        let Some(url) = &archive.url else {
            let service = if matches!(arch, Arch::Amd64 | Arch::I386) {
                &self.ubuntu
            } else {
                &self.ubuntu_ports
            };
            return Ok(format!("{service}{id}/"));
        };
        let last = url.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        let debian = last.starts_with("debian")
            && last
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte == b'-');
        if !debian {
            return Err(NoSnapshot::Unknown {
                archive: archive.name.clone(),
                url: url.clone(),
            });
        }
        Ok(format!("{}{last}/{id}/", self.debian))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(url: Option<&str>, pro: Pro) -> Archive {
        Archive {
            name: "main".to_owned(),
            version: "1".to_owned(),
            suites: vec![],
            components: vec![],
            public_keys: vec![],
            priority: 0,
            pro,
            url: url.map(str::to_owned),
        }
    }

    #[test]
    fn ids_read_and_print_the_same() {
        let id = SnapshotId::parse("20261201T000000Z").unwrap();
        assert_eq!(id.to_string(), "20261201T000000Z");
        assert_eq!(
            SnapshotId::parse("20240229T235959Z").unwrap().to_string(),
            "20240229T235959Z"
        );
        assert_eq!(
            SnapshotId::at(Timestamp::from_unix(1_714_000_000)).to_string(),
            "20240424T230640Z"
        );
    }

    #[test]
    fn ids_in_another_form_are_refused_with_the_form() {
        for bad in [
            "2026-12-01",
            "20261201",
            "20261201T000000",
            "20261201t000000z",
            "20261201T000000ZZ",
            "",
        ] {
            assert_eq!(
                SnapshotId::parse(bad).unwrap_err().to_string(),
                format!("invalid snapshot ID \"{bad}\": expected a moment in UTC as YYYYMMDDTHHMMSSZ, e.g. 20261201T000000Z")
            );
        }
        assert_eq!(
            SnapshotId::parse("20250229T000000Z").unwrap_err().to_string(),
            "invalid snapshot ID \"20250229T000000Z\": expected a moment in UTC as YYYYMMDDTHHMMSSZ, e.g. 20261201T000000Z; that date does not exist"
        );
        assert_eq!(
            SnapshotId::parse("20261201T246000Z").unwrap_err().to_string(),
            "invalid snapshot ID \"20261201T246000Z\": expected a moment in UTC as YYYYMMDDTHHMMSSZ, e.g. 20261201T000000Z; that time of day does not exist"
        );
    }

    #[test]
    fn each_archive_has_its_service() {
        let id = SnapshotId::parse("20261201T000000Z").unwrap();
        let urls = SnapshotUrls::public();
        assert_eq!(
            urls.base_for(id, &archive(None, Pro::None), Arch::Amd64),
            Ok("https://snapshot.ubuntu.com/ubuntu/20261201T000000Z/".to_owned())
        );
        assert_eq!(
            urls.base_for(id, &archive(None, Pro::None), Arch::Arm64),
            Ok("https://snapshot.ubuntu.com/ubuntu-ports/20261201T000000Z/".to_owned())
        );
        assert_eq!(
            urls.base_for(
                id,
                &archive(
                    Some("http://security.debian.org/debian-security"),
                    Pro::None
                ),
                Arch::Arm64
            ),
            Ok("https://snapshot.debian.org/archive/debian-security/20261201T000000Z/".to_owned())
        );
        assert_eq!(
            urls
                .base_for(id, &archive(None, Pro::EsmInfra), Arch::Amd64)
                .unwrap_err()
                .to_string(),
            "archive \"main\" is an Ubuntu Pro archive, which has no snapshot service; cut without --snapshot"
        );
        assert_eq!(
            urls
                .base_for(id, &archive(Some("https://mirror.example/repo/"), Pro::None), Arch::Amd64)
                .unwrap_err()
                .to_string(),
            "archive \"main\" is at https://mirror.example/repo/, which no snapshot service kerf knows mirrors (Ubuntu's archive and Debian's archives are); give its URL at that moment with --archive-url main=URL"
        );
    }
}
