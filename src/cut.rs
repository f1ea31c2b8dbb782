//! `kerf cut`: the whole pipeline, from a selection to a verified root.
//!
//! select → open archives (InRelease verified against the release's keys, Packages indexes
//! verified against InRelease) → choose each package → download (parallel, into the
//! content-addressed cache, hash checked while streaming) → extract in selection order →
//! create the content slices define → write manifests.

// A cut fails once, so the size of its error type costs nothing worth boxing for.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufReader;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use sha2::{Digest as _, Sha256};

use crate::archive::cache::{Cache, CacheError, Digest, InsertError, Verify};
use crate::archive::credentials::{find_credentials, CredentialsError};
use crate::archive::fetch::{BasicAuth, FetchError, FetchOptions, Fetcher};
use crate::archive::index::{IndexError, PackageIndex, ReleaseInfo};
use crate::archive::inrelease::{verify_clearsigned, PublicKey, VerifyError};
use crate::archive::select::{
    choose, default_base_url, ChosenPackage, OpenedArchive, SelectPackageError,
};
use crate::deb::{DebError, DebReader, HashingReader};
use crate::extract::root::{RelPath, Root, RootError};
use crate::extract::{
    create_content, data_entry, extract_package, remove_until_mutate, ExtractError, Installed,
    InstalledKind, PackagePlan, Visitor,
};
use crate::manifest::{Manifest, ManifestPackage, ManifestPath};
use crate::mutate::child::{Job, Listener, Runner};
use crate::mutate::{Limits, MutateError};
use crate::release::{Arch, Archive, Generate, PathKind, Pro, Release, SliceKey};
use crate::resolve::{select, SelectError, Selection};

/// How to cut.
#[derive(Clone, Debug)]
pub(crate) struct CutOptions {
    pub(crate) root: PathBuf,
    pub(crate) arch: Arch,
    pub(crate) cache_dir: PathBuf,
    /// Base URL per archive name, overriding `url:` and the defaults.
    pub(crate) archive_urls: BTreeMap<String, String>,
    /// Use only what the cache holds; fail rather than touch the network.
    pub(crate) offline: bool,
    /// Downloads at once.
    pub(crate) jobs: usize,
    /// Timeouts, retries and proxies of the HTTP client.
    pub(crate) fetch: FetchOptions,
    /// Where the credentials of Ubuntu Pro archives are looked for (SPEC §5.5).
    pub(crate) auth_dir: PathBuf,
    /// Cut a release in development (`unstable`) or out of maintenance (`unmaintained`) anyway.
    pub(crate) ignore: BTreeSet<Ignore>,
    /// Where the slices' mutate scripts run, and within which limits.
    pub(crate) scripts: Runner,
    pub(crate) script_limits: Limits,
    /// Write `/var/lib/dpkg/status.d/` for scanners (also done when the root already has one).
    pub(crate) dpkg_status: bool,
}

/// A maintenance condition the user chose to ignore (`--ignore`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Ignore {
    Unstable,
    Unmaintained,
    /// An InRelease past its `Valid-Until`, or dated in the future (a snapshot mirror, a
    /// machine with a wrong clock).
    ReleaseDates,
}

/// What the cut did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CutSummary {
    pub(crate) packages: usize,
    pub(crate) slices: usize,
    /// Paths the slices installed (files, directories and links).
    pub(crate) paths: usize,
    /// Bytes of regular files written.
    pub(crate) bytes: u64,
    /// Bytes downloaded (zero on a warm cut).
    pub(crate) downloaded: u64,
}

/// Progress, for the command line to show as it likes. Library code never prints.
pub(crate) trait Reporter: Sync {
    /// A step worth a line in a build log.
    fn step(&self, _text: &str) {}
    /// Something the user should know that does not stop the cut.
    fn warning(&self, _text: &str) {}
    /// A download of `total` bytes starts.
    fn download_started(&self, _name: &str, _total: u64) {}
    /// `done` of the download's bytes have arrived.
    fn download_progress(&self, _name: &str, _done: u64) {}
    fn download_finished(&self, _name: &str) {}
    /// A line a slice's mutate script printed.
    fn script_printed(&self, _slice: &SliceKey, _text: &str) {}
}

/// Why a cut stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CutError {
    #[error(transparent)]
    Select(#[from] SelectError),
    #[error(transparent)]
    Root(#[from] RootError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("archive \"{archive}\": {url}: {source}")]
    Verify {
        archive: String,
        url: String,
        source: VerifyError,
    },
    #[error("archive \"{archive}\": {url}: decompressed Packages has SHA-256 {actual}, InRelease says {expected}")]
    IndexDigest {
        archive: String,
        url: String,
        expected: String,
        actual: String,
    },
    #[error("archive \"{archive}\": cannot use public key \"{key}\": {reason}")]
    Key {
        archive: String,
        key: String,
        reason: String,
    },
    #[error("archive \"{archive}\" suite {suite}: {source}")]
    Index {
        archive: String,
        suite: String,
        source: IndexError,
    },
    #[error("archive \"{archive}\" suite {suite}: {problem}")]
    Suite {
        archive: String,
        suite: String,
        problem: String,
    },
    #[error(transparent)]
    Package(#[from] SelectPackageError),
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error("offline: {0} is not in the cache; run the cut once without --offline")]
    NotCached(String),
    #[error("archive \"{archive}\": {source}")]
    Credentials {
        archive: String,
        source: CredentialsError,
    },
    #[error("no archive could be opened: every archive of the release was skipped")]
    NoArchive,
    #[error("cannot read the cached file {path}: {reason}")]
    CachedFile { path: PathBuf, reason: String },
    #[error("this release is in the \"unstable\" maintenance status (its standard support starts {0}); cut it anyway with --ignore=unstable")]
    Unstable(String),
    #[error("no archive has \"maintained\" maintenance status (the release's standard support ended {0}); consider the Ubuntu Pro archives, or cut it anyway with --ignore=unmaintained")]
    Unmaintained(String),
    #[error("{url}: the index gives an invalid SHA-256: {reason}")]
    BadDigest { url: String, reason: String },
    #[error("cannot write the manifest {path}: {reason}")]
    Manifest { path: String, reason: String },
    #[error(transparent)]
    Mutate(#[from] MutateError),
    #[error(transparent)]
    DpkgStatus(#[from] crate::dpkg_status::StatusError),
}

impl CutError {
    /// Whether the input or the archive said no (exit status 1), as opposed to a failure of the
    /// machine (exit status 2).
    pub(crate) fn is_user_error(&self) -> bool {
        match self {
            CutError::Cache(error) => matches!(error, CacheError::HashMismatch { .. }),
            CutError::Root(_) | CutError::CachedFile { .. } | CutError::Manifest { .. } => false,
            CutError::Mutate(error) => matches!(error, MutateError::Script { .. }),
            CutError::DpkgStatus(error) => error.is_user_error(),
            _ => true,
        }
    }
}

/// Cuts `slices` of `release` into `options.root`.
pub(crate) fn cut(
    release: &Release,
    slices: &[SliceKey],
    options: &CutOptions,
    reporter: &dyn Reporter,
) -> Result<CutSummary, CutError> {
    let started = Instant::now();
    let selection = select(release, slices, options.arch)?;
    let scripts = crate::mutate::scripts(&selection);
    // A syntax error is found before anything is downloaded.
    for script in &scripts {
        crate::mutate::engine::parse(&script.source).map_err(|failure| {
            CutError::Mutate(MutateError::Script {
                slice: script.slice.clone(),
                failure,
            })
        })?;
    }
    let today = crate::release::today();
    let maintenance = &release.maintenance;
    if maintenance.is_unstable(today) {
        let standard = maintenance.standard.to_string();
        if !options.ignore.contains(&Ignore::Unstable) {
            return Err(CutError::Unstable(standard));
        }
        reporter.warning(&format!("This release is in the \"unstable\" maintenance status (standard support starts {standard})"));
    }
    // The root is checked before any download (chisel finds a missing root last).
    let root = Root::create(&options.root)?;
    let cache = Cache::open(&options.cache_dir).map_err(CutError::from)?;
    let fetcher = Fetcher::new(options.fetch.clone()).map_err(CutError::from)?;
    let context = Context {
        release,
        options,
        cache: &cache,
        fetcher: &fetcher,
        reporter,
        downloaded: std::sync::atomic::AtomicU64::new(0),
    };

    let packages = selection.packages();
    let pinned: BTreeSet<&str> = packages
        .iter()
        .filter_map(|name| release.packages.get(*name)?.archive.as_deref())
        .collect();
    let (archives, credentials) = context.open_archives(&pinned)?;
    if !archives
        .iter()
        .any(|opened| maintenance.is_maintained(opened.archive.pro, today))
    {
        let ended = maintenance
            .expanded
            .unwrap_or(maintenance.end_of_life)
            .to_string();
        if !options.ignore.contains(&Ignore::Unmaintained) {
            return Err(CutError::Unmaintained(ended));
        }
        reporter.warning(&format!(
            "No archive has \"maintained\" maintenance status (standard support ended {ended})"
        ));
    }

    let mut chosen = Vec::new();
    for name in &packages {
        let pin = release
            .packages
            .get(*name)
            .and_then(|package| package.archive.as_deref());
        chosen.push(choose(&archives, name, pin)?);
    }
    let mut installed: BTreeMap<String, Installed> = BTreeMap::new();
    let mut debs: BTreeMap<String, PathBuf> = BTreeMap::new();
    context.download_in_order(&chosen, &credentials, &mut |package, deb| {
        debs.insert(package.info.name.clone(), deb.to_owned());
        reporter.step(&format!(
            "Extracting files from package \"{}\"...",
            package.info.name
        ));
        let plan = PackagePlan::new(&selection, &package.info.name);
        extract_from_deb(package, &plan, &root, deb, &mut installed)?;
        Ok(())
    })?;
    create_content(&selection, &root, &mut installed)?;
    run_scripts(&selection, &scripts, options, &mut installed, reporter)?;
    remove_until_mutate(&selection, &root, &mut installed)?;
    write_manifests(&selection, &chosen, &root, &installed, reporter)?;
    if options.dpkg_status || crate::dpkg_status::present(&root) {
        crate::dpkg_status::write_for_cut(&root, &selection, &chosen, &debs, &installed, reporter)?;
    }

    let bytes = installed
        .values()
        .map(|item| match item.kind {
            InstalledKind::File { size, .. } => size,
            _ => 0,
        })
        .sum();
    reporter.step(&format!("Done in {:.2} s", started.elapsed().as_secs_f64()));
    Ok(CutSummary {
        packages: chosen.len(),
        slices: selection.slices.len(),
        paths: installed.len(),
        bytes,
        downloaded: context.downloaded.into_inner(),
    })
}

/// The release's archives, opened and verified, for commands that need packages without
/// cutting them (`kerf draft`).
pub(crate) struct ArchiveAccess<'a> {
    context: &'a Context<'a>,
    archives: Vec<OpenedArchive>,
    credentials: ArchiveCredentials,
}

impl ArchiveAccess<'_> {
    /// The package the archives would give a cut: by priority, pin and version.
    pub(crate) fn choose(&self, name: &str) -> Result<ChosenPackage, CutError> {
        let pin = self
            .context
            .release
            .packages
            .get(name)
            .and_then(|package| package.archive.as_deref());
        Ok(choose(&self.archives, name, pin)?)
    }

    /// The package's `.deb` in the cache, downloaded and verified if it was not there.
    pub(crate) fn fetch(&self, package: &ChosenPackage) -> Result<PathBuf, CutError> {
        self.context.fetch_blob(
            &package.url,
            &package.info.sha256,
            Some(package.info.size),
            &package.info.name,
            self.credentials.get(&package.archive),
        )
    }
}

/// Opens every archive of `release` as a cut would (signatures and digests checked, the cache
/// used) and hands them to `work`.
pub(crate) fn with_archives<T>(
    release: &Release,
    options: &CutOptions,
    reporter: &dyn Reporter,
    work: impl FnOnce(&ArchiveAccess<'_>) -> Result<T, CutError>,
) -> Result<T, CutError> {
    let cache = Cache::open(&options.cache_dir).map_err(CutError::from)?;
    let fetcher = Fetcher::new(options.fetch.clone()).map_err(CutError::from)?;
    let context = Context {
        release,
        options,
        cache: &cache,
        fetcher: &fetcher,
        reporter,
        downloaded: std::sync::atomic::AtomicU64::new(0),
    };
    let pinned: BTreeSet<&str> = release
        .packages
        .values()
        .filter_map(|package| package.archive.as_deref())
        .collect();
    let (archives, credentials) = context.open_archives(&pinned)?;
    work(&ArchiveAccess {
        context: &context,
        archives,
        credentials,
    })
}

/// The indexes of one suite: (suite, component, index).
type SuiteIndexes = Vec<(String, String, PackageIndex)>;

/// The Basic auth of each opened Pro archive, by archive name. Plain archives have none, so no
/// request to them ever carries credentials.
type ArchiveCredentials = BTreeMap<String, BasicAuth>;

struct Context<'a> {
    release: &'a Release,
    options: &'a CutOptions,
    cache: &'a Cache,
    fetcher: &'a Fetcher,
    reporter: &'a dyn Reporter,
    downloaded: std::sync::atomic::AtomicU64,
}

/// What the InRelease of one suite is stored under for `--offline` use.
fn inrelease_key(url: &str) -> String {
    format!(
        "inrelease-{}",
        crate::extract::root::hex(&Sha256::digest(url.as_bytes()))
    )
}

impl Context<'_> {
    fn base_url(&self, archive: &Archive) -> String {
        let url = self
            .options
            .archive_urls
            .get(&archive.name)
            .cloned()
            .or_else(|| archive.url.clone())
            .unwrap_or_else(|| {
                default_base_url(archive, self.options.arch, self.past_end_of_life())
            });
        if url.ends_with('/') {
            url
        } else {
            format!("{url}/")
        }
    }

    /// Whether the release's end of life has passed: Ubuntu then moves it to old-releases.
    fn past_end_of_life(&self) -> bool {
        let today = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_secs() / 86_400).unwrap_or(i64::MAX)
            });
        today > self.release.maintenance.end_of_life.days_since_epoch()
    }

    /// Opens every archive that could provide a package: those with a non-negative priority
    /// and those a selected package pins. Suites are opened in parallel.
    ///
    /// A Pro archive is opened only when the auth directory has credentials for its base URL
    /// (whatever that URL is, the default ESM host or an override); they are returned by
    /// archive name, for every request to that archive. Without them the archive is skipped
    /// with chisel's warning.
    fn open_archives(
        &self,
        pinned: &BTreeSet<&str>,
    ) -> Result<(Vec<OpenedArchive>, ArchiveCredentials), CutError> {
        let mut wanted: Vec<&Archive> = Vec::new();
        let mut credentials = ArchiveCredentials::new();
        for archive in self.release.archives.values() {
            if archive.priority < 0 && !pinned.contains(archive.name.as_str()) {
                continue;
            }
            if archive.pro != Pro::None {
                let found = find_credentials(&self.options.auth_dir, &self.base_url(archive))
                    .map_err(|source| CutError::Credentials {
                        archive: archive.name.clone(),
                        source,
                    })?;
                let Some(found) = found else {
                    self.reporter.warning(&format!(
                        "Archive \"{}\" ignored: credentials not found",
                        archive.name
                    ));
                    continue;
                };
                credentials.insert(archive.name.clone(), found);
            }
            wanted.push(archive);
        }
        let jobs: Vec<(&Archive, &String)> = wanted
            .iter()
            .flat_map(|archive| archive.suites.iter().map(move |suite| (*archive, suite)))
            .collect();
        let credentials_ref = &credentials;
        let results: Vec<Result<SuiteIndexes, CutError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = jobs
                .iter()
                .map(|(archive, suite)| {
                    let auth = credentials_ref.get(&archive.name);
                    scope.spawn(move || self.open_suite(archive, suite, auth))
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        let mut opened: Vec<OpenedArchive> = Vec::new();
        for ((archive, _), result) in jobs.iter().zip(results) {
            let indexes = result?;
            match opened
                .iter_mut()
                .find(|opened| opened.archive.name == archive.name)
            {
                Some(existing) => existing.indexes.extend(indexes),
                None => opened.push(OpenedArchive {
                    archive: (*archive).clone(),
                    base_url: self.base_url(archive),
                    indexes,
                }),
            }
        }
        if opened.is_empty() {
            return Err(CutError::NoArchive);
        }
        Ok((opened, credentials))
    }

    /// `auth` is the archive's Basic auth, for a Pro archive.
    fn open_suite(
        &self,
        archive: &Archive,
        suite: &str,
        auth: Option<&BasicAuth>,
    ) -> Result<SuiteIndexes, CutError> {
        let base = self.base_url(archive);
        let url = format!("{base}dists/{suite}/InRelease");
        let index_error = |source| CutError::Index {
            archive: archive.name.clone(),
            suite: suite.to_owned(),
            source,
        };
        self.reporter.step(&format!(
            "Fetching {} {} {suite} suite details...",
            archive.name, archive.version
        ));
        let bytes = if self.options.offline {
            self.cache
                .get_keyed(&inrelease_key(&url))?
                .ok_or_else(|| CutError::NotCached(url.clone()))?
        } else {
            tracing::debug!("GET {url}");
            let bytes = self.fetcher.get_bytes(&url, auth, 64 << 20)?;
            self.downloaded
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
            bytes
        };

        let inrelease_digest = crate::extract::root::hex(&Sha256::digest(&bytes));
        let text = self.verified_text(archive, &url, &bytes, &inrelease_digest)?;
        if !self.options.offline {
            // Only a verified file is kept, for later offline cuts.
            self.cache.put_keyed(&inrelease_key(&url), &bytes)?;
        }
        let info = ReleaseInfo::parse(&text, suite).map_err(index_error)?;
        if !self.options.ignore.contains(&Ignore::ReleaseDates) {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| {
                    i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
                });
            info.check_dates(now).map_err(index_error)?;
        }
        let arch = self.options.arch.as_str();
        if !info.architectures.is_empty() && !info.architectures.iter().any(|listed| listed == arch)
        {
            // The suite does not carry this architecture at all.
            return Ok(Vec::new());
        }
        let mut indexes = Vec::new();
        for component in &archive.components {
            if !info.components.iter().any(|listed| listed == component) {
                return Err(CutError::Suite {
                    archive: archive.name.clone(),
                    suite: suite.to_owned(),
                    problem: format!("archive has no component \"{component}\""),
                });
            }
            let index =
                self.open_index(archive, suite, component, &info, &inrelease_digest, auth)?;
            indexes.push((suite.to_owned(), component.clone(), index));
        }
        Ok(indexes)
    }

    /// The signed text of an InRelease file, verified against the archive's keys. The text of a
    /// file verified before is remembered under the file's digest and the keys' fingerprints, so
    /// a warm cut checks no signature again for the same bytes and keys.
    fn verified_text(
        &self,
        archive: &Archive,
        url: &str,
        bytes: &[u8],
        digest: &str,
    ) -> Result<String, CutError> {
        let mut keys = Vec::new();
        let mut identity = digest.to_owned();
        for name in &archive.public_keys {
            let definition = &self.release.public_keys[name];
            let key =
                PublicKey::from_armor(name, &definition.armor).map_err(|error| CutError::Key {
                    archive: archive.name.clone(),
                    key: name.clone(),
                    reason: error.to_string(),
                })?;
            identity.push(' ');
            identity.push_str(&key.fingerprint());
            keys.push(key);
        }
        let memo = format!(
            "inrelease-text-{}",
            crate::extract::root::hex(&Sha256::digest(identity.as_bytes()))
        );
        if let Some(text) = self.cache.get_keyed(&memo)? {
            if let Ok(text) = String::from_utf8(text) {
                tracing::debug!("{url}: verified before (same bytes, same keys)");
                return Ok(text);
            }
        }
        let key_refs: Vec<&PublicKey> = keys.iter().collect();
        let verified = verify_clearsigned(bytes, &key_refs).map_err(|source| CutError::Verify {
            archive: archive.name.clone(),
            url: url.to_owned(),
            source,
        })?;
        let text = verified.into_text();
        self.cache.put_keyed(&memo, text.as_bytes())?;
        Ok(text)
    }

    /// The component's package index: the parsed table from the cache when this InRelease was
    /// seen before, else `Packages.gz` fetched, checked against InRelease and parsed.
    fn open_index(
        &self,
        archive: &Archive,
        suite: &str,
        component: &str,
        info: &ReleaseInfo,
        inrelease_digest: &str,
        auth: Option<&BasicAuth>,
    ) -> Result<PackageIndex, CutError> {
        let base = self.base_url(archive);
        let arch = self.options.arch.as_str();
        let index_error = |source| CutError::Index {
            archive: archive.name.clone(),
            suite: suite.to_owned(),
            source,
        };
        let key_source = format!("{inrelease_digest} {component} {arch}");
        let key = format!(
            "packages-v1-{}",
            crate::extract::root::hex(&Sha256::digest(key_source.as_bytes()))
        );
        if let Some(bytes) = self.cache.get_keyed(&key)? {
            if let Some(index) = PackageIndex::from_cached(bytes) {
                tracing::debug!(
                    "{component} index of {suite}: parsed before, taken from the cache"
                );
                return Ok(index);
            }
        }
        let plain_path = format!("{component}/binary-{arch}/Packages");
        let gz_path = format!("{plain_path}.gz");
        let missing = |path: &str| CutError::Suite {
            archive: archive.name.clone(),
            suite: suite.to_owned(),
            problem: format!("{path} is missing from the InRelease digests"),
        };
        let (gz_digest, gz_size) = info.sha256.get(&gz_path).ok_or_else(|| missing(&gz_path))?;
        let (plain_digest, _) = info
            .sha256
            .get(&plain_path)
            .ok_or_else(|| missing(&plain_path))?;
        let url = format!("{base}dists/{suite}/{gz_path}");
        self.reporter.step(&format!(
            "Fetching index for {} {} {suite} {component} component...",
            archive.name, archive.version
        ));
        let blob = self.fetch_blob(
            &url,
            gz_digest,
            Some(*gz_size),
            &format!("{suite}/{gz_path}"),
            auth,
        )?;

        let cached_error = |error: std::io::Error| CutError::CachedFile {
            path: blob.clone(),
            reason: error.to_string(),
        };
        let file = std::fs::File::open(&blob).map_err(cached_error)?;
        let mut hashing = HashingReader::new(flate2::read::GzDecoder::new(BufReader::new(file)));
        let index = PackageIndex::read(BufReader::new(&mut hashing), &url).map_err(index_error)?;
        std::io::copy(&mut hashing, &mut std::io::sink()).map_err(cached_error)?;
        let actual = crate::extract::root::hex(&hashing.finish().0);
        if actual != *plain_digest {
            return Err(CutError::IndexDigest {
                archive: archive.name.clone(),
                url,
                expected: plain_digest.clone(),
                actual,
            });
        }
        self.cache.put_keyed(&key, index.as_bytes())?;
        Ok(index)
    }

    /// The blob with this digest from the cache, or downloaded into it, sending `auth` (the
    /// Basic auth of the Pro archive it comes from) with the request.
    fn fetch_blob(
        &self,
        url: &str,
        digest: &str,
        size: Option<u64>,
        name: &str,
        auth: Option<&BasicAuth>,
    ) -> Result<PathBuf, CutError> {
        let digest = Digest::from_hex(digest).map_err(|error| CutError::BadDigest {
            url: url.to_owned(),
            reason: error.to_string(),
        })?;
        if let Some(path) = self.cache.get(&digest, size, Verify::Size) {
            tracing::debug!("cache hit: {url} is {}", path.display());
            return Ok(path);
        }
        if self.options.offline {
            return Err(CutError::NotCached(url.to_owned()));
        }
        tracing::debug!("GET {url} ({} bytes expected)", size.unwrap_or(0));
        self.reporter.download_started(name, size.unwrap_or(0));
        let result = self.cache.insert_with(url, &digest, size, |writer| {
            self.fetcher
                .fetch_to(url, auth, writer, &|done, _| {
                    self.reporter.download_progress(name, done)
                })
                .map(|bytes| {
                    self.downloaded.fetch_add(bytes, Ordering::Relaxed);
                })
        });
        self.reporter.download_finished(name);
        result.map_err(|error| match error {
            InsertError::Source(error) => CutError::from(error),
            InsertError::Cache(error) => CutError::from(error),
        })
    }

    /// Downloads every package, `jobs` at a time, each with the credentials of its archive;
    /// returns their cached paths in input order.
    /// Downloads every package, `jobs` at a time, and hands each cached file to `ready` in the
    /// order of `packages` as soon as it and every package before it are there: extraction
    /// overlaps the downloads that are still running. The first error stops new downloads.
    fn download_in_order(
        &self,
        packages: &[ChosenPackage],
        credentials: &ArchiveCredentials,
        ready: &mut dyn FnMut(&ChosenPackage, &std::path::Path) -> Result<(), CutError>,
    ) -> Result<(), CutError> {
        let next = AtomicUsize::new(0);
        let workers = self.options.jobs.clamp(1, 16).min(packages.len().max(1));
        let (sender, receiver) = std::sync::mpsc::channel::<(usize, Result<PathBuf, CutError>)>();
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let sender = sender.clone();
                let next = &next;
                scope.spawn(move || loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(package) = packages.get(index) else {
                        break;
                    };
                    let result = self.fetch_blob(
                        &package.url,
                        &package.info.sha256,
                        Some(package.info.size),
                        &package.info.name,
                        credentials.get(&package.archive),
                    );
                    if sender.send((index, result)).is_err() {
                        break;
                    }
                });
            }
            drop(sender);
            let mut arrived: BTreeMap<usize, PathBuf> = BTreeMap::new();
            let mut done = 0;
            let outcome = (|| {
                for (index, result) in &receiver {
                    arrived.insert(index, result?);
                    while let Some(path) = arrived.remove(&done) {
                        ready(&packages[done], &path)?;
                        done += 1;
                    }
                }
                Ok(())
            })();
            if outcome.is_err() {
                // Stop handing out work; running downloads finish and are dropped.
                next.store(packages.len(), Ordering::Relaxed);
            }
            outcome
        })
    }
}

/// The package's name is filled in by `extract_from_deb`, which knows it.
impl From<DebError> for ExtractError {
    fn from(error: DebError) -> ExtractError {
        ExtractError::Read {
            package: String::new(),
            reason: error.to_string(),
        }
    }
}

/// Runs the extraction of one package over its cached .deb (read again for a second pass).
///
/// The cache hands out a hit after a size check only; the package is hashed here as it is read,
/// so a cached file that changed since it was verified is caught before its content is trusted
/// any further (chisel never re-hashes a hit).
fn extract_from_deb(
    package: &ChosenPackage,
    plan: &PackagePlan,
    root: &Root,
    deb: &std::path::Path,
    installed: &mut BTreeMap<String, Installed>,
) -> Result<(), ExtractError> {
    let name = package.info.name.as_str();
    let read_error = |reason: String| ExtractError::Read {
        package: name.to_owned(),
        reason,
    };
    let mut passes = 0;
    let mut entries = |visit: &mut Visitor<'_>| -> Result<(), ExtractError> {
        passes += 1;
        let file = std::fs::File::open(deb)
            .map_err(|error| read_error(format!("{}: {error}", deb.display())))?;
        let mut hashing = HashingReader::new(BufReader::new(file));
        let reader = DebReader::new(&mut hashing).map_err(|error| read_error(error.to_string()))?;
        let walked = reader
            .for_each_entry(
                |mut entry: crate::deb::DataEntry<'_>| -> Result<(), ExtractError> {
                    match data_entry(&mut entry) {
                        Some(entry) => visit(entry),
                        None => Ok(()),
                    }
                },
            )
            .map_err(|error| match error {
                ExtractError::Read {
                    package: empty,
                    reason,
                } if empty.is_empty() => read_error(reason),
                other => other,
            });
        walked?;
        if passes > 1 {
            return Ok(());
        }
        std::io::copy(&mut hashing, &mut std::io::sink())
            .map_err(|error| read_error(format!("{}: {error}", deb.display())))?;
        let (digest, _) = hashing.finish();
        let actual = crate::extract::root::hex(&digest);
        if actual != package.info.sha256 {
            return Err(ExtractError::Corrupt {
                package: name.to_owned(),
                path: deb.display().to_string(),
                expected: package.info.sha256.clone(),
                actual,
            });
        }
        Ok(())
    };
    extract_package(name, plan, root, &mut entries, installed)
}

/// Runs the selection's mutate scripts over the root, then records the final size and hash of
/// every file they changed.
fn run_scripts(
    selection: &Selection<'_>,
    scripts: &[crate::mutate::Script],
    options: &CutOptions,
    installed: &mut BTreeMap<String, Installed>,
    reporter: &dyn Reporter,
) -> Result<(), CutError> {
    if scripts.is_empty() {
        return Ok(());
    }
    let mutable: BTreeSet<String> = selection
        .paths()
        .filter(|selected| selected.info.mutable)
        .map(|selected| selected.path.to_owned())
        .collect();
    struct Relay<'r>(&'r dyn Reporter);
    impl Listener for Relay<'_> {
        fn started(&self, slice: &SliceKey) {
            self.0
                .step(&format!("Running the mutate script of slice {slice}..."));
        }
        fn printed(&self, slice: &SliceKey, text: &str) {
            self.0.script_printed(slice, text);
        }
    }
    let job = Job {
        root: &options.root,
        created: installed.keys().cloned().collect(),
        mutable,
        scripts,
        limits: &options.script_limits,
    };
    let changes = crate::mutate::child::run(&options.scripts, job, &Relay(reporter))?;
    for (path, written) in changes {
        if let Some(Installed {
            kind:
                InstalledKind::File {
                    size,
                    sha256,
                    final_sha256,
                },
            ..
        }) = installed.get_mut(&path)
        {
            *size = written.size;
            *final_sha256 = (written.sha256 != *sha256).then_some(written.sha256);
        }
    }
    Ok(())
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

/// Writes `manifest.wall` for every selected `generate: manifest` path.
fn write_manifests(
    selection: &Selection<'_>,
    packages: &[ChosenPackage],
    root: &Root,
    installed: &BTreeMap<String, Installed>,
    reporter: &dyn Reporter,
) -> Result<(), CutError> {
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
        packages: packages
            .iter()
            .map(|package| ManifestPackage {
                name: package.info.name.clone(),
                version: package.info.version.clone(),
                sha256: package.info.sha256.clone(),
                arch: package.info.arch.clone(),
            })
            .collect(),
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
    let bytes = manifest.to_bytes().map_err(|error| CutError::Manifest {
        path: locations.iter().cloned().collect::<Vec<_>>().join(", "),
        reason: format!("cannot compress: {error}"),
    })?;
    for location in &locations {
        reporter.step(&format!("Generating manifest at {location}..."));
        let rel = RelPath::new(location).ok_or_else(|| CutError::Manifest {
            path: location.clone(),
            reason: "not a plain path".to_owned(),
        })?;
        let root_error = |error: RootError| CutError::Manifest {
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

#[cfg(test)]
mod fault_tests;
#[cfg(test)]
mod format_tests;
#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod scanner_tests;
#[cfg(test)]
mod script_tests;
#[cfg(test)]
mod tests;
