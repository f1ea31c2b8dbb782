//! Signed apt archives in memory: [`TestArchive`] builds the `InRelease`, `Packages` and `.deb`
//! files of a few suites and serves them on loopback, and [`release`] writes a release whose
//! archives point at them, verified by their keys.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write as _;

use crate::digest::{Algorithm, Digest};
use crate::release::Release;
use crate::testing::deb::{build_deb, Compression, TestEntry};
use crate::testing::key::TestKey;
use crate::testing::release::load_release;
use crate::testing::server::{Builder, Reply, TestServer};

/// One package of a [`TestArchive`].
pub(crate) struct TestPackage {
    name: String,
    version: String,
    /// The `Architecture` field: a deb arch, or `all` (listed in every arch's index).
    arch: String,
    pub(crate) deb: Vec<u8>,
}

impl TestPackage {
    /// Below the archive's base URL, as the `Filename` field gives it.
    fn filename(&self) -> String {
        format!(
            "pool/main/{}/{}/{}_{}_{}.deb",
            &self.name[..1],
            self.name,
            self.name,
            self.version,
            self.arch
        )
    }
}

/// An apt archive in memory, for amd64 unless [`TestArchive::with_arches`] says otherwise:
/// every suite has every component for every arch, each with a `binary-<arch>/Packages.gz`
/// listing the packages added for that arch (and those of arch `all`), and a
/// `dists/<suite>/InRelease` signed with the archive's own key whose `Architectures` are the
/// archive's arches.
pub(crate) struct TestArchive {
    pub(crate) key: TestKey,
    suites: Vec<String>,
    components: Vec<String>,
    arches: Vec<String>,
    /// (suite, component) → packages, in the order they were added.
    packages: BTreeMap<(String, String), Vec<TestPackage>>,
    /// Signed InRelease files, made once: a signature's bytes (and even its length) change
    /// from one signing to the next.
    signed: RefCell<BTreeMap<String, String>>,
    /// A `Date:` and extra lines for the InRelease files, instead of the fixed date.
    release_dates: Option<(String, String)>,
    /// The digest fields of the Packages stanzas and the InRelease files.
    digests: Vec<Algorithm>,
    /// The forms each index is published in: `.gz`, `.xz` and `` (plain).
    index_forms: Vec<&'static str>,
    /// `Acquire-By-Hash: yes`, with every index also under `by-hash/<ALGO>/<digest>`.
    by_hash: bool,
}

impl TestArchive {
    /// An archive with these suites and the single component `main`.
    pub(crate) fn new(suites: &[&str]) -> TestArchive {
        TestArchive::with_components(suites, &["main"])
    }

    pub(crate) fn with_components(suites: &[&str], components: &[&str]) -> TestArchive {
        TestArchive {
            key: TestKey::generate("kerf-test"),
            suites: suites.iter().map(|suite| (*suite).to_owned()).collect(),
            components: components.iter().map(|c| (*c).to_owned()).collect(),
            arches: vec!["amd64".to_owned()],
            packages: BTreeMap::new(),
            signed: RefCell::default(),
            release_dates: None,
            digests: vec![Algorithm::Sha256],
            index_forms: vec![".gz"],
            by_hash: false,
        }
    }

    /// The arches the archive carries (`amd64` alone by default), in the order given.
    pub(crate) fn with_arches(mut self, arches: &[&str]) -> TestArchive {
        self.arches = arches.iter().map(|arch| (*arch).to_owned()).collect();
        self.signed.get_mut().clear();
        self
    }

    /// Lists these digests (in this order) in Packages stanzas and InRelease files, instead of
    /// SHA256 alone.
    pub(crate) fn with_digests(mut self, digests: &[Algorithm]) -> TestArchive {
        self.digests = digests.to_vec();
        self.signed.get_mut().clear();
        self
    }

    /// Publishes each index in these forms (`.gz`, `.xz`, `` for plain) instead of `.gz` alone.
    pub(crate) fn with_index_forms(mut self, forms: &[&'static str]) -> TestArchive {
        self.index_forms = forms.to_vec();
        self.signed.get_mut().clear();
        self
    }

    /// Says `Acquire-By-Hash: yes` and serves every index under `by-hash/` too.
    pub(crate) fn with_by_hash(mut self) -> TestArchive {
        self.by_hash = true;
        self.signed.get_mut().clear();
        self
    }

    /// Adds an amd64 package built from `entries` (a gzipped `data.tar`) to `suite`'s `main`.
    pub(crate) fn add(
        &mut self,
        suite: &str,
        name: &str,
        version: &str,
        entries: &[TestEntry],
    ) -> &mut Self {
        self.add_to(suite, "main", name, version, entries)
    }

    pub(crate) fn add_to(
        &mut self,
        suite: &str,
        component: &str,
        name: &str,
        version: &str,
        entries: &[TestEntry],
    ) -> &mut Self {
        self.add_for(suite, component, "amd64", name, version, entries)
    }

    /// Adds a package for `arch` (a deb arch, or `all` for every arch's index).
    pub(crate) fn add_for(
        &mut self,
        suite: &str,
        component: &str,
        arch: &str,
        name: &str,
        version: &str,
        entries: &[TestEntry],
    ) -> &mut Self {
        assert!(
            self.suites.iter().any(|s| s == suite),
            "unknown suite {suite}"
        );
        self.signed.get_mut().clear();
        self.packages
            .entry((suite.to_owned(), component.to_owned()))
            .or_default()
            .push(TestPackage {
                name: name.to_owned(),
                version: version.to_owned(),
                arch: arch.to_owned(),
                deb: build_deb(entries, Compression::Gz),
            });
        self
    }

    /// Adds an amd64 package to `suite`'s `main` whose `.deb` is `deb`, as given (its own
    /// control file, where [`TestArchive::add`] writes the test one).
    pub(crate) fn add_deb(
        &mut self,
        suite: &str,
        name: &str,
        version: &str,
        deb: Vec<u8>,
    ) -> &mut Self {
        self.signed.get_mut().clear();
        self.packages
            .entry((suite.to_owned(), "main".to_owned()))
            .or_default()
            .push(TestPackage {
                name: name.to_owned(),
                version: version.to_owned(),
                arch: "amd64".to_owned(),
                deb,
            });
        self
    }

    /// The package `name` at `version`, of whatever arch was added first.
    pub(crate) fn package(&self, name: &str, version: &str) -> &TestPackage {
        self.packages
            .values()
            .flatten()
            .find(|package| package.name == name && package.version == version)
            .unwrap_or_else(|| panic!("no package {name} {version}"))
    }

    /// The package `name` at `version` for `arch` (or `all`).
    pub(crate) fn package_for(&self, name: &str, version: &str, arch: &str) -> &TestPackage {
        self.packages
            .values()
            .flatten()
            .find(|package| {
                package.name == name && package.version == version && package.arch == arch
            })
            .unwrap_or_else(|| panic!("no package {name} {version} {arch}"))
    }

    /// The server path of a package's `.deb`.
    pub(crate) fn deb_path(&self, name: &str, version: &str) -> String {
        format!("/{}", self.package(name, version).filename())
    }

    /// The server path of the `.deb` of a package for `arch` (or `all`).
    pub(crate) fn deb_path_for(&self, name: &str, version: &str, arch: &str) -> String {
        format!("/{}", self.package_for(name, version, arch).filename())
    }

    /// The uncompressed amd64 `Packages` index of one suite and component.
    pub(crate) fn packages_index(&self, suite: &str, component: &str) -> String {
        self.packages_index_for(suite, component, "amd64")
    }

    /// The uncompressed `binary-<arch>/Packages` index of one suite and component: the
    /// packages added for `arch` and for `all`.
    fn packages_index_for(&self, suite: &str, component: &str, arch: &str) -> String {
        let key = (suite.to_owned(), component.to_owned());
        let mut text = String::new();
        for package in self
            .packages
            .get(&key)
            .into_iter()
            .flatten()
            .filter(|package| package.arch == arch || package.arch == "all")
        {
            text.push_str(&format!(
                "Package: {}\nArchitecture: {}\nVersion: {}\nFilename: {}\nSize: {}\n",
                package.name,
                package.arch,
                package.version,
                package.filename(),
                package.deb.len(),
            ));
            for algorithm in &self.digests {
                text.push_str(&format!(
                    "{}: {}\n",
                    algorithm.field(),
                    Digest::of(*algorithm, &package.deb)
                ));
            }
            text.push('\n');
        }
        text
    }

    pub(crate) fn packages_gz(&self, suite: &str, component: &str) -> Vec<u8> {
        self.packages_gz_for(suite, component, "amd64")
    }

    fn packages_gz_for(&self, suite: &str, component: &str, arch: &str) -> Vec<u8> {
        gzip(self.packages_index_for(suite, component, arch).as_bytes())
    }

    /// The amd64 index of one suite and component in one published form (`.gz`, `.xz`, ``).
    pub(crate) fn packages_in_form(&self, suite: &str, component: &str, form: &str) -> Vec<u8> {
        self.index_file(suite, component, "amd64", form)
    }

    fn index_file(&self, suite: &str, component: &str, arch: &str, form: &str) -> Vec<u8> {
        let plain = self.packages_index_for(suite, component, arch).into_bytes();
        match form {
            ".gz" => gzip(&plain),
            ".xz" => {
                let mut encoder = liblzma::write::XzEncoder::new(Vec::new(), 6);
                encoder.write_all(&plain).expect("xz in memory");
                encoder.finish().expect("xz in memory")
            }
            "" => plain,
            other => panic!("no index form {other:?}"),
        }
    }

    /// Replaces the `Date:` of every suite's InRelease and adds `extra` lines (e.g.
    /// `Valid-Until: ...\n`) after it.
    pub(crate) fn set_release_dates(&mut self, date: &str, extra: &str) -> &mut Self {
        self.release_dates = Some((date.to_owned(), extra.to_owned()));
        self.signed.get_mut().clear();
        self
    }

    /// The body of `dists/<suite>/InRelease`, before signing.
    pub(crate) fn release_body(&self, suite: &str) -> String {
        let codename = suite.split('-').next().unwrap_or(suite);
        let mut digests = String::new();
        for algorithm in &self.digests {
            digests.push_str(&format!("{}:\n", algorithm.field()));
            for component in &self.components {
                for arch in &self.arches {
                    let path = format!("{component}/binary-{arch}/Packages");
                    // The plain index is always listed, as archives do, published or not.
                    let mut forms = vec![""];
                    forms.extend(self.index_forms.iter().filter(|form| !form.is_empty()));
                    for form in forms {
                        let bytes = self.index_file(suite, component, arch, form);
                        digests.push_str(&format!(
                            " {} {} {path}{form}\n",
                            Digest::of(*algorithm, &bytes),
                            bytes.len()
                        ));
                    }
                }
            }
        }
        let by_hash = if self.by_hash {
            "Acquire-By-Hash: yes\n"
        } else {
            ""
        };
        let (date, extra) = self
            .release_dates
            .clone()
            .unwrap_or_else(|| ("Thu, 25 Apr 2024 15:10:33 UTC".to_owned(), String::new()));
        format!(
            "Origin: Ubuntu\nLabel: Ubuntu\nSuite: {suite}\nCodename: {codename}\n\
             Date: {date}\n{extra}{by_hash}Architectures: {}\n\
             Components: {}\nDescription: kerf test archive\n{digests}",
            self.arches.join(" "),
            self.components.join(" "),
        )
    }

    pub(crate) fn inrelease(&self, suite: &str) -> String {
        self.signed
            .borrow_mut()
            .entry(suite.to_owned())
            .or_insert_with(|| self.key.sign(&self.release_body(suite)))
            .clone()
    }

    /// Every file of the archive by server path (`/dists/...`, `/pool/...`).
    fn files(&self) -> BTreeMap<String, Vec<u8>> {
        let mut files = BTreeMap::new();
        for suite in &self.suites {
            files.insert(
                format!("/dists/{suite}/InRelease"),
                self.inrelease(suite).into_bytes(),
            );
            for component in &self.components {
                for arch in &self.arches {
                    let dir = format!("/dists/{suite}/{component}/binary-{arch}");
                    for form in &self.index_forms {
                        let bytes = self.index_file(suite, component, arch, form);
                        if self.by_hash {
                            for algorithm in &self.digests {
                                files.insert(
                                    format!(
                                        "{dir}/by-hash/{}/{}",
                                        algorithm.field(),
                                        Digest::of(*algorithm, &bytes)
                                    ),
                                    bytes.clone(),
                                );
                            }
                        }
                        files.insert(format!("{dir}/Packages{form}"), bytes);
                    }
                }
            }
        }
        for package in self.packages.values().flatten() {
            files.insert(format!("/{}", package.filename()), package.deb.clone());
        }
        files
    }

    /// Every file of the archive by server path, below `prefix` (e.g. `/ubuntu`).
    pub(crate) fn files_under(&self, prefix: &str) -> BTreeMap<String, Vec<u8>> {
        self.files()
            .into_iter()
            .map(|(path, body)| (format!("{prefix}{path}"), body))
            .collect()
    }

    /// A server for the archive, not started yet: add routes to override files, then `start()`.
    pub(crate) fn server(&self) -> Builder {
        self.files().into_iter().fold(
            TestServer::builder().max_connections(1000),
            |builder, (path, body)| builder.route(&path, Reply::Serve(body)),
        )
    }
}

/// How a release uses one [`TestArchive`]: its name, and a priority if it has one.
pub(crate) struct ArchiveRef<'a> {
    pub(crate) name: &'a str,
    pub(crate) archive: &'a TestArchive,
    pub(crate) priority: Option<i32>,
}

pub(crate) fn only<'a>(name: &'a str, archive: &'a TestArchive) -> ArchiveRef<'a> {
    ArchiveRef {
        name,
        archive,
        priority: None,
    }
}

/// A release of `format` using these archives (every suite and component of each, verified by
/// its key) and these slice definition files, as (package, YAML) pairs.
pub(crate) fn release(
    format: &str,
    archives: &[ArchiveRef<'_>],
    slices: &[(&str, &str)],
) -> Release {
    let mut yaml = format!(
        "format: {format}\nmaintenance:\n  standard: 2024-04-25\n  end-of-life: 2036-04-29\narchives:\n"
    );
    for archive in archives {
        yaml.push_str(&format!(
            "  {}:\n    version: 24.04\n    suites: [{}]\n    components: [{}]\n    public-keys: [{}-key]\n",
            archive.name,
            archive.archive.suites.join(", "),
            archive.archive.components.join(", "),
            archive.name,
        ));
        if let Some(priority) = archive.priority {
            yaml.push_str(&format!("    priority: {priority}\n"));
        }
    }
    yaml.push_str("public-keys:\n");
    for archive in archives {
        yaml.push_str(&public_key_yaml(
            &format!("{}-key", archive.name),
            archive.archive,
        ));
    }
    load_release(&yaml, slices)
}

/// The entry for the key of `archive`, named `name`, in a `public-keys` map.
pub(crate) fn public_key_yaml(name: &str, archive: &TestArchive) -> String {
    let key = &archive.key;
    let mut yaml = format!("  {name}:\n    id: {}\n    armor: |\n", key.key_id());
    for line in key.public_armor().lines() {
        yaml.push_str(&format!("      {line}\n"));
    }
    yaml
}

/// `data` gzipped.
pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}
