//! Which archive, suite and component a package comes from.
//!
//! Archives are tried by descending priority (negative priorities only when a package pins the
//! archive); the first archive that lists the package wins, and within it the highest version
//! across its suites and components, the earlier suite and component on a tie.

use super::index::{PackageIndex, PackageInfo};
use super::version::Version;
use crate::release::{Archive, Pro};

/// An archive whose indexes are loaded, in the order its suites and components are listed.
#[derive(Debug)]
pub(crate) struct OpenedArchive {
    pub(crate) archive: Archive,
    /// Base URL, ending in `/`.
    pub(crate) base_url: String,
    /// (suite, component, index), in chisel.yaml order.
    pub(crate) indexes: Vec<(String, String, PackageIndex)>,
}

/// A package chosen for the cut, with where to get it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChosenPackage {
    pub(crate) archive: String,
    pub(crate) suite: String,
    pub(crate) component: String,
    pub(crate) url: String,
    pub(crate) info: PackageInfo,
}

/// Why no package could be chosen.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SelectPackageError {
    #[error("cannot find package \"{package}\" in archive(s) {archives}")]
    NotFound { package: String, archives: String },
    #[error("cannot look up package \"{package}\" in the {component} index of {suite} kept in the cache: {reason}")]
    Unreadable {
        package: String,
        suite: String,
        component: String,
        reason: String,
    },
}

/// Chooses `package` among `archives`; `pinned` is the package's `archive:` field.
pub(crate) fn choose(
    archives: &[OpenedArchive],
    package: &str,
    pinned: Option<&str>,
) -> Result<ChosenPackage, SelectPackageError> {
    let mut candidates: Vec<&OpenedArchive> = archives
        .iter()
        .filter(|opened| match pinned {
            Some(name) => opened.archive.name == name,
            None => opened.archive.priority >= 0,
        })
        .collect();
    candidates.sort_by(|a, b| {
        b.archive
            .priority
            .cmp(&a.archive.priority)
            .then_with(|| a.archive.name.cmp(&b.archive.name))
    });
    for opened in &candidates {
        let mut best: Option<(Version, &str, &str, PackageInfo)> = None;
        for (suite, component, index) in &opened.indexes {
            let info = match index.get(package) {
                Ok(Some(info)) => info,
                Ok(None) => continue,
                Err(error) => {
                    return Err(SelectPackageError::Unreadable {
                        package: package.to_owned(),
                        suite: suite.clone(),
                        component: component.clone(),
                        reason: error.to_string(),
                    })
                }
            };
            let Ok(version) = Version::parse(&info.version) else {
                continue;
            };
            if best.as_ref().is_none_or(|(current, ..)| version > *current) {
                best = Some((version, suite, component, info));
            }
        }
        if let Some((_, suite, component, info)) = best {
            return Ok(ChosenPackage {
                archive: opened.archive.name.clone(),
                suite: suite.to_owned(),
                component: component.to_owned(),
                url: format!("{}{}", opened.base_url, info.filename),
                info,
            });
        }
    }
    let names: Vec<&str> = candidates
        .iter()
        .map(|opened| opened.archive.name.as_str())
        .collect();
    Err(SelectPackageError::NotFound {
        package: package.to_owned(),
        archives: if names.is_empty() {
            "(none)".to_owned()
        } else {
            names.join(", ")
        },
    })
}

/// Where Ubuntu's public archive lives when a release and the command line name no URL. Tests
/// point these at loopback servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DefaultUrls {
    /// amd64 and i386.
    pub(crate) archive: String,
    /// Every other arch.
    pub(crate) ports: String,
    /// Releases past their end of life, every arch.
    pub(crate) old_releases: String,
}

impl DefaultUrls {
    pub(crate) fn ubuntu() -> DefaultUrls {
        DefaultUrls {
            archive: "http://archive.ubuntu.com/ubuntu/".to_owned(),
            ports: "http://ports.ubuntu.com/ubuntu-ports/".to_owned(),
            old_releases: "http://old-releases.ubuntu.com/ubuntu/".to_owned(),
        }
    }

    /// The archive's default base URL: Ubuntu's archive for amd64 and i386, the ports archive
    /// for the other arches, old-releases once the release has reached its end of life, and the
    /// ESM hosts for Pro archives.
    pub(crate) fn base_for(
        &self,
        archive: &Archive,
        arch: crate::release::Arch,
        old_release: bool,
    ) -> String {
        match archive.pro {
            Pro::Fips => "https://esm.ubuntu.com/fips/ubuntu/".to_owned(),
            Pro::FipsUpdates => "https://esm.ubuntu.com/fips-updates/ubuntu/".to_owned(),
            Pro::EsmApps => "https://esm.ubuntu.com/apps/ubuntu/".to_owned(),
            Pro::EsmInfra => "https://esm.ubuntu.com/infra/ubuntu/".to_owned(),
            Pro::None if old_release => self.old_releases.clone(),
            Pro::None => self.current(arch).to_owned(),
        }
    }

    /// The public archive's other place: where a release may still be (or already be) when it
    /// is not where its end-of-life date says. Ubuntu leaves releases on the main archive for
    /// a while after their end of life, so both are tried. Pro archives have no other place.
    pub(crate) fn other_base(
        &self,
        archive: &Archive,
        arch: crate::release::Arch,
        old_release: bool,
    ) -> Option<String> {
        match archive.pro {
            Pro::None if old_release => Some(self.current(arch).to_owned()),
            Pro::None => Some(self.old_releases.clone()),
            Pro::Fips | Pro::FipsUpdates | Pro::EsmApps | Pro::EsmInfra => None,
        }
    }

    fn current(&self, arch: crate::release::Arch) -> &str {
        use crate::release::Arch;
        if matches!(arch, Arch::Amd64 | Arch::I386) {
            &self.archive
        } else {
            &self.ports
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(entries: &[(&str, &str)]) -> PackageIndex {
        let mut text = String::new();
        for (name, version) in entries {
            text.push_str(&format!(
                "Package: {name}\nVersion: {version}\nArchitecture: amd64\nFilename: pool/{name}_{version}.deb\nSize: 1\nSHA256: {}\n\n",
                "a".repeat(64)
            ));
        }
        PackageIndex::read(text.as_bytes(), "test").unwrap()
    }

    fn archive(
        name: &str,
        priority: i32,
        suites: Vec<(&str, &str, PackageIndex)>,
    ) -> OpenedArchive {
        OpenedArchive {
            archive: Archive {
                name: name.to_owned(),
                version: "24.04".to_owned(),
                suites: vec![],
                components: vec![],
                public_keys: vec![],
                priority,
                pro: Pro::None,
                url: None,
            },
            base_url: format!("http://{name}/"),
            indexes: suites
                .into_iter()
                .map(|(s, c, i)| (s.to_owned(), c.to_owned(), i))
                .collect(),
        }
    }

    #[test]
    fn highest_version_across_suites_wins_within_an_archive() {
        let archives = vec![archive(
            "ubuntu",
            10,
            vec![
                ("noble", "main", index(&[("libc6", "2.39-0ubuntu8")])),
                (
                    "noble-security",
                    "main",
                    index(&[("libc6", "2.39-0ubuntu8.3")]),
                ),
                (
                    "noble-updates",
                    "main",
                    index(&[("libc6", "2.39-0ubuntu8.2")]),
                ),
            ],
        )];
        let chosen = choose(&archives, "libc6", None).unwrap();
        assert_eq!(
            (chosen.suite.as_str(), chosen.info.version.as_str()),
            ("noble-security", "2.39-0ubuntu8.3")
        );
        assert_eq!(chosen.url, "http://ubuntu/pool/libc6_2.39-0ubuntu8.3.deb");
    }

    #[test]
    fn default_urls_follow_arch_age_and_pro() {
        use crate::release::Arch;
        let mut plain = archive("ubuntu", 10, vec![]).archive;
        assert_eq!(
            DefaultUrls::ubuntu().base_for(&plain, Arch::Amd64, false),
            "http://archive.ubuntu.com/ubuntu/"
        );
        assert_eq!(
            DefaultUrls::ubuntu().base_for(&plain, Arch::I386, false),
            "http://archive.ubuntu.com/ubuntu/"
        );
        assert_eq!(
            DefaultUrls::ubuntu().base_for(&plain, Arch::Arm64, false),
            "http://ports.ubuntu.com/ubuntu-ports/"
        );
        assert_eq!(
            DefaultUrls::ubuntu().base_for(&plain, Arch::Riscv64, true),
            "http://old-releases.ubuntu.com/ubuntu/"
        );
        plain.pro = Pro::EsmApps;
        assert_eq!(
            DefaultUrls::ubuntu().base_for(&plain, Arch::Amd64, true),
            "https://esm.ubuntu.com/apps/ubuntu/"
        );
        plain.pro = Pro::FipsUpdates;
        assert_eq!(
            DefaultUrls::ubuntu().base_for(&plain, Arch::S390x, false),
            "https://esm.ubuntu.com/fips-updates/ubuntu/"
        );
    }

    #[test]
    fn priority_decides_across_archives_and_pins_override() {
        let archives = vec![
            archive("low", 1, vec![("s", "main", index(&[("pkg", "9.0")]))]),
            archive("high", 20, vec![("s", "main", index(&[("pkg", "1.0")]))]),
            archive(
                "hidden",
                -5,
                vec![("s", "main", index(&[("pkg", "99"), ("only-hidden", "1")]))],
            ),
        ];
        assert_eq!(choose(&archives, "pkg", None).unwrap().archive, "high");
        assert_eq!(
            choose(&archives, "pkg", Some("low")).unwrap().archive,
            "low"
        );
        assert_eq!(
            choose(&archives, "only-hidden", Some("hidden"))
                .unwrap()
                .archive,
            "hidden"
        );
        assert_eq!(
            choose(&archives, "only-hidden", None)
                .unwrap_err()
                .to_string(),
            "cannot find package \"only-hidden\" in archive(s) high, low"
        );
        assert_eq!(
            choose(&archives, "only-hidden", Some("low"))
                .unwrap_err()
                .to_string(),
            "cannot find package \"only-hidden\" in archive(s) low"
        );
    }
}
