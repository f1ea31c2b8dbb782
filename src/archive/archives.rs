//! The façade over a release's archives: open them (InRelease verified against the release's
//! keys, Packages indexes verified against InRelease, credentials for Pro archives), choose a
//! package across them, and fetch packages into the cache, verified, one at a time or many in
//! order. `cut`, `draft` and whatever else needs packages go through [`Archives`]; none of them
//! knows a URL layout, a cache key or a digest field.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufReader, Seek as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::credentials::{find_credentials, CredentialsError};
use super::decode::{parse_compressed, Compression, Copying, IndexCopy};
use super::error::ArchiveError;
use super::index::{PackageIndex, ReleaseInfo};
use super::select::{choose, ChosenPackage, DefaultUrls, OpenedArchive};
use super::snapshot::{SnapshotId, SnapshotUrls};
use crate::cache::{Cache, CacheKey, InsertError, Verify};
use crate::clock::Timestamp;
use crate::digest::{Algorithm, Digest, Hasher, HashingReader};
use crate::openpgp::{verify_clearsigned, PublicKey};
use crate::release::{Arch, Archive, Pro, Release};
use crate::report::Reporter;
use crate::transport::http::{BasicAuth, FetchError, FetchOptions, Fetcher, Sink};

/// The largest InRelease file accepted (Ubuntu's are about 100 KiB).
const MAX_INRELEASE_BYTES: u64 = 64 << 20;

/// How the archives are reached: everything the archive layer needs, validated by the caller
/// before any I/O.
#[derive(Clone, Debug)]
pub(crate) struct ArchiveSettings {
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
    /// Accept an InRelease past its `Valid-Until`, or dated in the future (a snapshot mirror, a
    /// machine with a wrong clock).
    pub(crate) ignore_release_dates: bool,
    /// The moment every date is judged at.
    pub(crate) now: Timestamp,
    /// Where Ubuntu's public archive lives, for archives no URL is given for.
    pub(crate) default_urls: DefaultUrls,
    /// Read every archive (but those `archive_urls` names) as it was at this moment.
    pub(crate) snapshot: Option<SnapshotId>,
    /// Where the snapshot services are.
    pub(crate) snapshot_urls: SnapshotUrls,
}

/// One suite as it was read: what a lock records of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SuiteRecord {
    pub(crate) archive: String,
    pub(crate) suite: String,
    /// The archive's base URL without the snapshot: where it lives today.
    pub(crate) live_url: String,
    /// The InRelease `Date:` field, as written.
    pub(crate) date: String,
    pub(crate) inrelease_sha256: String,
}

/// Which archives to open.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Wanted<'a> {
    /// Those a cut of these packages may take from: every archive of non-negative priority,
    /// and those the packages pin.
    ForPackages(&'a [&'a str]),
    /// Every archive any package of the release may take from (`kerf draft`, which looks up
    /// packages it does not know in advance).
    All,
}

/// A package's `.deb`, verified against the archive's digest and open for reading.
#[derive(Debug)]
pub(crate) struct VerifiedDeb {
    pub(crate) file: fs_err::File,
    /// Where it lives in the cache.
    pub(crate) path: PathBuf,
    /// Its SHA-256 in hex, whatever digest the archive signs: the manifest records this one.
    pub(crate) sha256: String,
}

impl VerifiedDeb {
    /// The file from its start, for one more pass over it.
    pub(crate) fn reader(&mut self) -> std::io::Result<BufReader<&mut fs_err::File>> {
        self.file.rewind()?;
        Ok(BufReader::new(&mut self.file))
    }
}

/// A base URL as the archive layer joins paths to it: ending in `/`.
pub(crate) fn base_form(url: &str) -> String {
    if url.ends_with('/') {
        url.to_owned()
    } else {
        format!("{url}/")
    }
}

/// Whether a failure means the file is not at that place (so another place may have it).
fn is_elsewhere(error: &ArchiveError) -> bool {
    match error {
        ArchiveError::Fetch(FetchError::NotFound { .. }) | ArchiveError::NotCached(_) => true,
        ArchiveError::Fetch(FetchError::Transport { problem, .. }) => {
            *problem == crate::transport::http::Problem::HostNotFound
        }
        _ => false,
    }
}

/// The Basic auth of each opened Pro archive, by archive name. Plain archives have none, so no
/// request to them ever carries credentials.
type ArchiveCredentials = BTreeMap<String, BasicAuth>;

/// The indexes of one suite: (suite, component, index).
type SuiteIndexes = Vec<(String, String, PackageIndex)>;

/// A release's archives, opened and verified.
pub(crate) struct Archives<'a> {
    release: &'a Release,
    settings: &'a ArchiveSettings,
    reporter: &'a dyn Reporter,
    cache: Cache,
    fetcher: Fetcher,
    opened: Vec<OpenedArchive>,
    credentials: ArchiveCredentials,
    /// Archive name → the base URL that answered for it, when it was not given.
    homes: Mutex<BTreeMap<String, String>>,
    downloaded: AtomicU64,
    /// The newest InRelease `Date` read, `i64::MIN` before any.
    newest_release_date: AtomicI64,
    /// The suites read, as they were.
    suites: Mutex<Vec<SuiteRecord>>,
    /// Archive name → a second base URL for its packages, tried when the first has lost one
    /// (a locked cut's snapshot).
    fallbacks: BTreeMap<String, String>,
}

impl<'a> Archives<'a> {
    /// Opens the archives `wanted` asks for, their suites in parallel.
    ///
    /// A Pro archive is opened only when the auth directory has credentials for its base URL
    /// (whatever that URL is, the default ESM host or an override); they go with every request
    /// to that archive. Without them the archive is skipped with chisel's warning.
    pub(crate) fn open(
        release: &'a Release,
        settings: &'a ArchiveSettings,
        wanted: Wanted<'_>,
        reporter: &'a dyn Reporter,
    ) -> Result<Archives<'a>, ArchiveError> {
        let mut archives = Archives::unopened(release, settings, reporter)?;
        let pinned: BTreeSet<&str> = match wanted {
            Wanted::ForPackages(packages) => packages
                .iter()
                .filter_map(|name| release.packages.get(*name)?.archive.as_deref())
                .collect(),
            Wanted::All => release
                .packages
                .values()
                .filter_map(|package| package.archive.as_deref())
                .collect(),
        };
        archives.open_wanted(&pinned)?;
        Ok(archives)
    }

    /// The archives of a locked cut: no index is read; packages are fetched by the URLs the
    /// lock gives, and when the archive has lost one, from `fallbacks` (archive name → base
    /// URL) before failing. `archives` are the names the lock uses: the Pro ones among them get
    /// their credentials, as when they are opened.
    pub(crate) fn for_locked(
        release: &'a Release,
        settings: &'a ArchiveSettings,
        archives: &BTreeSet<&str>,
        fallbacks: BTreeMap<String, String>,
        reporter: &'a dyn Reporter,
    ) -> Result<Archives<'a>, ArchiveError> {
        let mut opened = Archives::unopened(release, settings, reporter)?;
        opened.fallbacks = fallbacks;
        for name in archives {
            let Some(archive) = release.archives.get(*name) else {
                continue;
            };
            if archive.pro == Pro::None {
                continue;
            }
            let found = find_credentials(&settings.auth_dir, &opened.base_url(archive))
                .map_err(|source| ArchiveError::Credentials {
                    archive: archive.name.clone(),
                    source,
                })?
                .ok_or_else(|| ArchiveError::Credentials {
                    archive: archive.name.clone(),
                    source: CredentialsError::Missing {
                        url: opened.base_url(archive),
                    },
                })?;
            opened.credentials.insert(archive.name.clone(), found);
        }
        Ok(opened)
    }

    fn unopened(
        release: &'a Release,
        settings: &'a ArchiveSettings,
        reporter: &'a dyn Reporter,
    ) -> Result<Archives<'a>, ArchiveError> {
        Ok(Archives {
            release,
            settings,
            reporter,
            cache: Cache::open(&settings.cache_dir)?,
            fetcher: Fetcher::new(settings.fetch.clone())?,
            opened: Vec::new(),
            credentials: ArchiveCredentials::new(),
            homes: Mutex::new(BTreeMap::new()),
            downloaded: AtomicU64::new(0),
            newest_release_date: AtomicI64::new(i64::MIN),
            suites: Mutex::new(Vec::new()),
            fallbacks: BTreeMap::new(),
        })
    }

    /// The suites read so far, in the release's order of archives and suites.
    pub(crate) fn suite_records(&self) -> Vec<SuiteRecord> {
        let mut records = self.suites.lock().expect("suites lock").clone();
        let order = |record: &SuiteRecord| {
            let archive = self.release.archives.get(&record.archive);
            (
                record.archive.clone(),
                archive.and_then(|archive| {
                    archive
                        .suites
                        .iter()
                        .position(|suite| *suite == record.suite)
                }),
            )
        };
        records.sort_by_key(order);
        records
    }

    /// The archives that were opened, with their indexes.
    pub(crate) fn opened(&self) -> &[OpenedArchive] {
        &self.opened
    }

    /// Bytes downloaded so far (zero on a warm run).
    pub(crate) fn downloaded(&self) -> u64 {
        self.downloaded.load(Ordering::Relaxed)
    }

    /// The newest `Date` of the InRelease files read, in seconds since the epoch: what an
    /// image made of the cut is dated by default.
    pub(crate) fn newest_release_date(&self) -> Option<i64> {
        Some(self.newest_release_date.load(Ordering::Relaxed)).filter(|date| *date != i64::MIN)
    }

    /// The package a cut would take: by priority, the release's pin, and version.
    pub(crate) fn choose(&self, name: &str) -> Result<ChosenPackage, ArchiveError> {
        let pin = self
            .release
            .packages
            .get(name)
            .and_then(|package| package.archive.as_deref());
        Ok(choose(&self.opened, name, pin)?)
    }

    /// The package's `.deb`, from the cache or downloaded into it, verified in full before it
    /// is handed out: a cached file that rotted or was altered since it was stored is dropped
    /// and fetched again, so nothing unverified reaches a root.
    pub(crate) fn fetch(&self, package: &ChosenPackage) -> Result<VerifiedDeb, ArchiveError> {
        let digest = package.info.digest;
        let size = Some(package.info.size);
        if let Some(path) = self.cache.get(&digest, size, Verify::Size) {
            let opened = self.open_verified(&path, &digest)?;
            if let Some(verified) = opened {
                tracing::debug!("cache hit: {} is {}", package.url, path.display());
                return Ok(verified);
            }
            tracing::debug!(
                "{}: the cached copy no longer matches; fetching it again",
                path.display()
            );
            self.cache.evict(&digest);
        }
        let mut urls = vec![package.url.clone()];
        if let Some(fallback) = self.fallbacks.get(&package.archive) {
            let url = format!("{fallback}{}", package.info.filename);
            if url != package.url {
                urls.push(url);
            }
        }
        let path = self.download_from(
            &urls,
            &digest,
            size,
            &package.info.name,
            self.credentials.get(&package.archive),
            None,
        )?;
        // Hashed on its way into the cache a moment ago, which recorded its SHA-256 too: it is
        // opened, not hashed again (unless that record could not be kept).
        let Some(sha256) = self.cache.known_sha256(&digest) else {
            return self
                .open_verified(&path, &digest)?
                .ok_or_else(|| ArchiveError::CachedFile {
                    path,
                    reason: "it changed on disk right after it was verified".to_owned(),
                });
        };
        let file = fs_err::File::open(&path).map_err(|error| ArchiveError::CachedFile {
            path: path.clone(),
            reason: error.to_string(),
        })?;
        Ok(VerifiedDeb {
            file,
            path,
            sha256: sha256.to_string(),
        })
    }

    /// Fetches every package, `jobs` at a time, and hands each verified file to `ready` in the
    /// order of `packages` as soon as it and every package before it are there: whatever
    /// `ready` does overlaps the downloads still running. The first error stops new downloads.
    pub(crate) fn fetch_in_order<E: From<ArchiveError> + Send>(
        &self,
        packages: &[ChosenPackage],
        ready: &mut dyn FnMut(&ChosenPackage, VerifiedDeb) -> Result<(), E>,
    ) -> Result<(), E> {
        let next = AtomicUsize::new(0);
        let workers = self.settings.jobs.clamp(1, 16).min(packages.len().max(1));
        let (sender, receiver) =
            std::sync::mpsc::channel::<(usize, Result<VerifiedDeb, ArchiveError>)>();
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let sender = sender.clone();
                let next = &next;
                scope.spawn(move || loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(package) = packages.get(index) else {
                        break;
                    };
                    if sender.send((index, self.fetch(package))).is_err() {
                        break;
                    }
                });
            }
            drop(sender);
            let mut arrived: BTreeMap<usize, VerifiedDeb> = BTreeMap::new();
            let mut done = 0;
            let outcome = (|| {
                for (index, result) in &receiver {
                    arrived.insert(index, result?);
                    while let Some(deb) = arrived.remove(&done) {
                        ready(&packages[done], deb)?;
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

    /// Opens a cached file and hashes it whole through the same handle that will be read: the
    /// file if it has `digest`, else none.
    ///
    /// SHA-256 is what the manifest records, so it is computed anyway; when the archive signs
    /// another digest, the SHA-256 the file had when that digest was last checked (kept by the
    /// cache beside the blob) stands for it, so a warm cut hashes once, with the hardware's
    /// SHA-256, instead of twice.
    fn open_verified(
        &self,
        path: &Path,
        digest: &Digest,
    ) -> Result<Option<VerifiedDeb>, ArchiveError> {
        let cached_error = |error: std::io::Error| ArchiveError::CachedFile {
            path: path.to_owned(),
            reason: error.to_string(),
        };
        let known = self.cache.known_sha256(digest);
        let mut file = fs_err::File::open(path).map_err(cached_error)?;
        let hasher = match known {
            Some(_) => Hasher::new(&[Algorithm::Sha256]),
            None => Hasher::with_sha256(digest.algorithm()),
        };
        let mut hashing =
            HashingReader::new(BufReader::with_capacity(256 << 10, &mut file), hasher);
        std::io::copy(&mut hashing, &mut std::io::sink()).map_err(cached_error)?;
        let hashes = hashing.finish();
        let sha256 = hashes.get(Algorithm::Sha256).expect("asked for SHA-256");
        let verified = match known {
            Some(expected) => sha256 == expected,
            None => hashes.get(digest.algorithm()) == Some(*digest),
        };
        if !verified {
            return Ok(None);
        }
        if known.is_none() {
            self.cache.remember_sha256(digest, &sha256);
        }
        file.rewind().map_err(cached_error)?;
        Ok(Some(VerifiedDeb {
            file,
            path: path.to_owned(),
            sha256: sha256.to_string(),
        }))
    }

    /// The archive's base URL: the one the command line or the release gives, else the one
    /// that answered for it in this run, else the default place.
    fn base_url(&self, archive: &Archive) -> String {
        if let Some(given) = self.given_url(archive) {
            return given;
        }
        if let Some(home) = self.homes.lock().expect("homes lock").get(&archive.name) {
            return home.clone();
        }
        self.settings
            .default_urls
            .base_for(archive, self.settings.arch, self.past_end_of_life())
    }

    /// The URL the command line, the snapshot or the release gives for the archive, ending in
    /// `/`. (An archive with no snapshot is refused when it is opened.)
    fn given_url(&self, archive: &Archive) -> Option<String> {
        self.named_url(archive, true)
    }

    /// The URL `--archive-url` gives for the archive, else the snapshot's (when `snapshot`
    /// says to look), else the release's `url:`, ending in `/`.
    fn named_url(&self, archive: &Archive, snapshot: bool) -> Option<String> {
        let in_snapshot = || {
            let id = self.settings.snapshot.filter(|_| snapshot)?;
            let urls = &self.settings.snapshot_urls;
            urls.base_for(id, archive, self.settings.arch).ok()
        };
        let url = self
            .settings
            .archive_urls
            .get(&archive.name)
            .cloned()
            .or_else(in_snapshot)
            .or_else(|| archive.url.clone())?;
        Some(base_form(&url))
    }

    /// Where to look for the archive, in order: a given URL alone; for Ubuntu's public archive,
    /// the place that answered last time or the one its end-of-life date says, then the other
    /// (releases stay on the main archive for a while after their end of life).
    fn candidate_bases(&self, archive: &Archive) -> Vec<String> {
        if let Some(given) = self.given_url(archive) {
            return vec![given];
        }
        let defaults = &self.settings.default_urls;
        let (arch, old) = (self.settings.arch, self.past_end_of_life());
        let expected = defaults.base_for(archive, arch, old);
        let mut bases = vec![expected.clone()];
        bases.extend(defaults.other_base(archive, arch, old));
        let remembered = self
            .cache
            .get_keyed(&CacheKey::ArchiveHome {
                expected: &expected,
                version: &archive.version,
            })
            .ok()
            .flatten()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        if let Some(at) = remembered.and_then(|home| bases.iter().position(|base| *base == home)) {
            bases.swap(0, at);
        }
        bases
    }

    /// The InRelease file of `suite` and the base URL it came from: the first candidate that
    /// has it (from the cache when offline). Only a place that does not have it (404, or a
    /// host that does not resolve) makes kerf try the next; any other failure stops.
    fn find_inrelease(
        &self,
        archive: &Archive,
        suite: &str,
        auth: Option<&BasicAuth>,
    ) -> Result<(String, Vec<u8>), ArchiveError> {
        let bases = self.candidate_bases(archive);
        let mut misses = Vec::new();
        for base in &bases {
            let url = format!("{base}dists/{suite}/InRelease");
            let found = if self.settings.offline {
                self.cache
                    .get_keyed(&CacheKey::InRelease { url: &url })?
                    .ok_or_else(|| ArchiveError::NotCached(url.clone()))
            } else {
                tracing::debug!("GET {url}");
                self.fetcher
                    .get_bytes(&url, auth, MAX_INRELEASE_BYTES)
                    .map_err(ArchiveError::from)
            };
            match found {
                Ok(bytes) => {
                    if !self.settings.offline {
                        self.downloaded
                            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    }
                    return Ok((base.clone(), bytes));
                }
                Err(error) if bases.len() > 1 && is_elsewhere(&error) => {
                    misses.push(error.to_string());
                }
                Err(error) => return Err(error),
            }
        }
        Err(ArchiveError::Nowhere {
            archive: archive.name.clone(),
            suite: suite.to_owned(),
            tried: misses,
        })
    }

    /// Remembers where the archive answered, for the rest of this run and for the next ones.
    fn remember_home(&self, archive: &Archive, base: &str) {
        if self.given_url(archive).is_some() {
            return;
        }
        self.homes
            .lock()
            .expect("homes lock")
            .insert(archive.name.clone(), base.to_owned());
        let expected = self.settings.default_urls.base_for(
            archive,
            self.settings.arch,
            self.past_end_of_life(),
        );
        let key = CacheKey::ArchiveHome {
            expected: &expected,
            version: &archive.version,
        };
        if let Err(error) = self.cache.put_keyed(&key, base.as_bytes()) {
            tracing::debug!(
                "cannot remember where archive {} answered: {error}",
                archive.name
            );
        }
    }

    /// Where the archive lives today, whatever the snapshot: the URL the command line or the
    /// release gives, else the one that answered, else the default place.
    pub(crate) fn live_base(&self, archive: &Archive) -> String {
        if let Some(url) = self.named_url(archive, false) {
            return url;
        }
        if self.settings.snapshot.is_none() {
            return self.base_url(archive);
        }
        self.settings
            .default_urls
            .base_for(archive, self.settings.arch, self.past_end_of_life())
    }

    /// Whether the release's end of life has passed: Ubuntu then moves it to old-releases.
    fn past_end_of_life(&self) -> bool {
        self.settings.now.days() > self.release.maintenance.end_of_life.days_since_epoch()
    }

    fn open_wanted(&mut self, pinned: &BTreeSet<&str>) -> Result<(), ArchiveError> {
        let mut wanted: Vec<&Archive> = Vec::new();
        for archive in self.release.archives.values() {
            if archive.priority < 0 && !pinned.contains(archive.name.as_str()) {
                continue;
            }
            if archive.pro != Pro::None {
                let found = find_credentials(&self.settings.auth_dir, &self.base_url(archive))
                    .map_err(|source: CredentialsError| ArchiveError::Credentials {
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
                self.credentials.insert(archive.name.clone(), found);
            }
            if let Some(id) = self.settings.snapshot {
                if !self.settings.archive_urls.contains_key(&archive.name) {
                    let urls = &self.settings.snapshot_urls;
                    urls.base_for(id, archive, self.settings.arch)?;
                }
            }
            wanted.push(archive);
        }
        let jobs: Vec<(&Archive, &String)> = wanted
            .iter()
            .flat_map(|archive| archive.suites.iter().map(move |suite| (*archive, suite)))
            .collect();
        let this = &*self;
        let results: Vec<Result<SuiteIndexes, ArchiveError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = jobs
                .iter()
                .map(|(archive, suite)| {
                    let auth = this.credentials.get(&archive.name);
                    scope.spawn(move || this.open_suite(archive, suite, auth))
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
            return Err(ArchiveError::NoArchive);
        }
        self.opened = opened;
        Ok(())
    }

    /// `auth` is the archive's Basic auth, for a Pro archive.
    fn open_suite(
        &self,
        archive: &Archive,
        suite: &str,
        auth: Option<&BasicAuth>,
    ) -> Result<SuiteIndexes, ArchiveError> {
        let index_error = |source| ArchiveError::Index {
            archive: archive.name.clone(),
            suite: suite.to_owned(),
            source: Box::new(source),
        };
        self.reporter.step(&format!(
            "Fetching {} {} {suite} suite details...",
            archive.name, archive.version
        ));
        let (base, bytes) = self.find_inrelease(archive, suite, auth)?;
        let url = format!("{base}dists/{suite}/InRelease");
        let stored = CacheKey::InRelease { url: &url };

        let inrelease_digest = Digest::sha256(&bytes);
        let text = self.verified_text(archive, &url, &bytes, &inrelease_digest)?;
        // Only a verified file is kept, for later offline cuts; the same file kept by an
        // earlier run is not written again (each write ends with an fsync: 20 ms on a warm cut).
        if !self.settings.offline && self.cache.get_keyed(&stored)?.as_deref() != Some(&bytes[..]) {
            self.cache.put_keyed(&stored, &bytes)?;
        }
        let info = ReleaseInfo::parse(&text, suite).map_err(index_error)?;
        if let Some(date) = crate::archive::index::parse_release_date(&info.date) {
            self.newest_release_date.fetch_max(date, Ordering::Relaxed);
        }
        self.suites.lock().expect("suites lock").push(SuiteRecord {
            archive: archive.name.clone(),
            suite: suite.to_owned(),
            live_url: self.live_base(archive),
            date: info.date.clone(),
            inrelease_sha256: inrelease_digest.to_string(),
        });
        if !self.settings.ignore_release_dates {
            info.check_dates(self.settings.now.unix())
                .map_err(index_error)?;
        }
        self.remember_home(archive, &base);
        let arch = self.settings.arch.as_str();
        if !info.architectures.is_empty() && !info.architectures.iter().any(|listed| listed == arch)
        {
            // The suite does not carry this architecture at all.
            return Ok(Vec::new());
        }
        if let Some(component) = archive
            .components
            .iter()
            .find(|component| !info.has_component(component))
        {
            return Err(ArchiveError::Suite {
                archive: archive.name.clone(),
                suite: suite.to_owned(),
                problem: format!("archive has no component \"{component}\""),
            });
        }
        // Every component at once: a suite's big index (universe) need not wait for its small
        // one, and the other suites' indexes share the cores meanwhile.
        let opened: Vec<Result<PackageIndex, ArchiveError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = archive
                .components
                .iter()
                .map(|component| {
                    let (base, info, digest) = (&base, &info, &inrelease_digest);
                    scope.spawn(move || {
                        self.open_index(archive, base, suite, component, info, digest, auth)
                    })
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
        archive
            .components
            .iter()
            .zip(opened)
            .map(|(component, index)| Ok((suite.to_owned(), component.clone(), index?)))
            .collect()
    }

    /// The signed text of an InRelease file, verified against the archive's keys. The text of a
    /// file verified before is remembered under the file's digest and the keys' fingerprints, so
    /// a warm run checks no signature again for the same bytes and keys.
    fn verified_text(
        &self,
        archive: &Archive,
        url: &str,
        bytes: &[u8],
        digest: &Digest,
    ) -> Result<String, ArchiveError> {
        let mut keys = Vec::new();
        for name in &archive.public_keys {
            let definition = &self.release.public_keys[name];
            let key = PublicKey::from_armor(name, &definition.armor).map_err(|error| {
                ArchiveError::Key {
                    archive: archive.name.clone(),
                    key: name.clone(),
                    reason: error.to_string(),
                }
            })?;
            keys.push(key);
        }
        let fingerprints: Vec<String> = keys.iter().map(PublicKey::fingerprint).collect();
        let memo = CacheKey::VerifiedInRelease {
            inrelease: digest,
            key_fingerprints: &fingerprints,
        };
        if let Some(text) = self.cache.get_keyed(&memo)? {
            if let Ok(text) = String::from_utf8(text) {
                tracing::debug!("{url}: verified before (same bytes, same keys)");
                return Ok(text);
            }
        }
        let key_refs: Vec<&PublicKey> = keys.iter().collect();
        let verified =
            verify_clearsigned(bytes, &key_refs).map_err(|source| ArchiveError::Verify {
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
    #[expect(
        clippy::too_many_arguments,
        reason = "one index of one suite: each argument names which"
    )]
    fn open_index(
        &self,
        archive: &Archive,
        base: &str,
        suite: &str,
        component: &str,
        info: &ReleaseInfo,
        inrelease_digest: &Digest,
        auth: Option<&BasicAuth>,
    ) -> Result<PackageIndex, ArchiveError> {
        let arch = self.settings.arch.as_str();
        let index_error = |source| ArchiveError::Index {
            archive: archive.name.clone(),
            suite: suite.to_owned(),
            source: Box::new(source),
        };
        let key = CacheKey::ParsedPackages {
            inrelease: inrelease_digest,
            component,
            arch,
        };
        if let Some(file) = self.cache.open_keyed(&key)? {
            let path = file.path().to_owned();
            let stored =
                PackageIndex::from_stored(file).map_err(|error| ArchiveError::CachedFile {
                    path,
                    reason: error.to_string(),
                })?;
            if let Some(index) = stored {
                tracing::debug!(
                    "{component} index of {suite}: parsed before, taken from the cache"
                );
                return Ok(index);
            }
        }
        let plain_path = format!("{component}/binary-{arch}/Packages");
        // The smallest form the suite lists: Debian's pockets publish `.xz` only, a flat
        // archive may publish the plain file only.
        let (path, compression, signed) = [
            (".gz", Compression::Gzip),
            (".xz", Compression::Xz),
            ("", Compression::None),
        ]
        .into_iter()
        .find_map(|(extension, compression)| {
            let path = format!("{plain_path}{extension}");
            let signed = info.files.get(&path)?.clone();
            Some((path, compression, signed))
        })
        .ok_or_else(|| ArchiveError::Suite {
            archive: archive.name.clone(),
            suite: suite.to_owned(),
            problem: format!(
                "none of {plain_path}.gz, {plain_path}.xz or {plain_path} is in the InRelease digests"
            ),
        })?;
        let url = format!("{base}dists/{suite}/{path}");
        // By hash first: that file cannot change under us while the archive publishes the next
        // index; the plain path is the fallback for a mirror that lacks it.
        let mut urls = Vec::with_capacity(2);
        if info.by_hash {
            urls.push(format!(
                "{base}dists/{suite}/{component}/binary-{arch}/by-hash/{}/{}",
                signed.digest.algorithm().field(),
                signed.digest
            ));
        }
        urls.push(url.clone());
        self.reporter.step(&format!(
            "Fetching index for {} {} {suite} {component} component...",
            archive.name, archive.version
        ));
        // The decompressed index is checked too, when the suite signs it: a compressor bug or
        // a crafted stream that decompresses differently is caught, not parsed into the cut.
        let plain = info
            .files
            .get(&plain_path)
            .filter(|_| compression != Compression::None);
        let algorithm = plain.map_or(Algorithm::Sha256, |plain| plain.digest.algorithm());
        let name = format!("{suite}/{path}");
        let size = Some(signed.size);
        let parse_stored = |blob: &Path| {
            let file = fs_err::File::open(blob).map_err(|error| ArchiveError::CachedFile {
                path: blob.to_owned(),
                reason: error.to_string(),
            })?;
            parse_compressed(file, compression, algorithm, &url).map_err(index_error)
        };
        let (index, hashes) = match self.cache.get(&signed.digest, size, Verify::Size) {
            Some(blob) => parse_stored(&blob)?,
            None if self.settings.offline => {
                // Not cached: this says so, naming the URL.
                parse_stored(&self.download_from(
                    &urls,
                    &signed.digest,
                    size,
                    &name,
                    auth,
                    None,
                )?)?
            }
            // Parsed while it downloads; the parse counts only once the file is stored, that is
            // once its digest is the signed one, and only if the download never started over.
            None => {
                let (mut copy, received) = IndexCopy::new();
                let (fetched, whole, parsed) = std::thread::scope(|scope| {
                    let parser =
                        scope.spawn(|| parse_compressed(received, compression, algorithm, &url));
                    let fetched = self.download_from(
                        &urls,
                        &signed.digest,
                        size,
                        &name,
                        auth,
                        Some(&mut copy),
                    );
                    let whole = copy.finish();
                    let parsed = parser
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    (fetched, whole, parsed)
                });
                let blob = fetched?;
                if whole {
                    parsed.map_err(index_error)?
                } else {
                    parse_stored(&blob)?
                }
            }
        };
        let actual = hashes.get(algorithm).expect("asked for it");
        if let Some(plain) = plain.filter(|plain| plain.digest != actual) {
            return Err(ArchiveError::IndexDigest {
                archive: archive.name.clone(),
                url,
                algorithm: algorithm.name(),
                expected: plain.digest.to_string(),
                actual: actual.to_string(),
            });
        }
        if let Some(table) = index.as_bytes() {
            self.cache.put_keyed(&key, table)?;
        }
        Ok(index)
    }

    /// Downloads the first of `urls` that is found into the cache as the blob `digest`, as
    /// [`Archives::download`] does: each is tried in turn while the previous one is not found
    /// (HTTP 404). Every byte goes to `copy` too, when there is one (an index parsed while it
    /// downloads).
    fn download_from(
        &self,
        urls: &[String],
        digest: &Digest,
        size: Option<u64>,
        name: &str,
        auth: Option<&BasicAuth>,
        mut copy: Option<&mut IndexCopy>,
    ) -> Result<PathBuf, ArchiveError> {
        let mut result = Err(ArchiveError::NoArchive);
        for url in urls {
            if let Some(copy) = copy.as_deref_mut() {
                copy.restart();
            }
            result = self.download(url, digest, size, name, auth, copy.as_deref_mut());
            match &result {
                Err(ArchiveError::Fetch(FetchError::NotFound { .. })) => {
                    tracing::debug!("{url}: not found, trying the next place");
                }
                _ => break,
            }
        }
        result
    }

    /// Downloads `url` into the cache as the blob `digest`, hashed (with SHA-256 too) on the
    /// way in; fails offline. Every byte goes to `copy` too, when there is one.
    fn download(
        &self,
        url: &str,
        digest: &Digest,
        size: Option<u64>,
        name: &str,
        auth: Option<&BasicAuth>,
        mut copy: Option<&mut IndexCopy>,
    ) -> Result<PathBuf, ArchiveError> {
        if self.settings.offline {
            return Err(ArchiveError::NotCached(url.to_owned()));
        }
        tracing::debug!("GET {url} ({} bytes expected)", size.unwrap_or(0));
        self.reporter.download_started(name, size.unwrap_or(0));
        let result = self.cache.insert_with(url, digest, size, |writer| {
            let mut copying;
            let sink: &mut dyn Sink = match copy.as_mut() {
                Some(copy) => {
                    copying = Copying { sink: writer, copy };
                    &mut copying
                }
                None => writer,
            };
            self.fetcher
                .fetch_to(url, auth, sink, &|done, _| {
                    self.reporter.download_progress(name, done)
                })
                .map(|bytes| {
                    self.downloaded.fetch_add(bytes, Ordering::Relaxed);
                })
        });
        self.reporter.download_finished(name);
        result.map_err(|error| match error {
            InsertError::Source(error) => ArchiveError::from(error),
            InsertError::Cache(error) => ArchiveError::from(error),
        })
    }
}
