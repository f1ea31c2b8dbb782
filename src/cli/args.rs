//! The command line, as clap reads it. Nothing here touches the filesystem.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "kerf",
    version,
    about = "Cut slices of Debian and Ubuntu packages into a root filesystem",
    long_about = "kerf reads chisel's slice definitions (chisel-releases, formats v1 to v3) and \
                  installs only the files a slice declares, plus the slices it needs.",
    after_help = "Examples:\n  kerf cut --release ./chisel-releases --root ./rootfs base-files_base libc6_libs openssl_bins\n  kerf info --release ./chisel-releases openssl_bins\n  kerf find --release ./chisel-releases 'libssl*'\n  kerf lint --release ./chisel-releases"
)]
pub(crate) struct Args {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once per run; cut's many flags are worth no box"
)]
pub(crate) enum Command {
    /// Cut slices into a root filesystem: fetch, verify and extract
    #[command(
        after_help = "Examples:\n  kerf cut --release ./chisel-releases --root ./rootfs base-files_base libc6_libs openssl_bins\n  kerf cut --release ./chisel-releases --root /rootfs --archive-url ubuntu=http://mirror.example/ubuntu/ openssl_bins\n  kerf cut --release ubuntu-24.04 --root /rootfs --dpkg-status --sbom /rootfs.spdx.json base-files_base base-files_release-info base-files_chisel openssl_bins\n  kerf cut --release ubuntu-24.04 --oci-layout ./image --tag latest --entrypoint /usr/bin/openssl --cmd version --user app:1000:1000 base-files_base libc6_libs openssl_bins\n  kerf cut --release ubuntu-24.04 --arch amd64,arm64 --oci-archive ./openssl.tar --tag 3 openssl_bins\n  kerf cut --locked kerf.lock --root ./rootfs\n  kerf cut --release ubuntu-24.04 --snapshot 20261201T000000Z --root ./rootfs openssl_bins\n  kerf cut --release ubuntu-24.04 --root /rootfs --delta /delta openssl_bins ca-certificates_data\n  kerf cut --release ubuntu-24.04 --root /rootfs --upgrade\n  kerf cut --locked kerf.lock --root /rootfs --upgrade\n\nA root that has a manifest (base-files_chisel) is extended: the slices it lists count as\nselected, and the manifest is rewritten for all of them."
    )]
    Cut(CutArgs),
    /// Print slice definitions, in chisel's format
    #[command(
        after_help = "Examples:\n  kerf info --release ./chisel-releases openssl_bins libc6\n  kerf info --release chisel-releases:ubuntu-24.04 openssl_bins"
    )]
    Info {
        #[command(flatten)]
        release: ReleaseArg,
        /// Packages (`openssl`) or slices (`openssl_bins`) to show
        #[arg(required = true, value_name = "PKG_OR_SLICE")]
        queries: Vec<String>,
    },
    /// Search slice names: `pkg`, `_slice` or `pkg_slice` terms, with `*` and `?`, one typo allowed
    #[command(after_help = "Example:\n  kerf find --release ./chisel-releases 'ca-cert*' _data")]
    Find {
        #[command(flatten)]
        release: ReleaseArg,
        /// Terms that must all match
        #[arg(required = true, value_name = "QUERY")]
        terms: Vec<String>,
    },
    /// Validate a whole release: every file, every path conflict
    #[command(after_help = "Example:\n  kerf lint --release ./chisel-releases")]
    Lint {
        #[command(flatten)]
        release: ReleaseArg,
    },
    /// Check that every ELF file and script in a root finds its interpreter and libraries there
    #[command(
        after_help = "Examples:\n  kerf check --root ./rootfs\n  kerf check --root ./rootfs --release ./chisel-releases\n\nExit status: 0 nothing is missing, 1 something is (listed on stdout), 2 the root could not be read."
    )]
    Check(CheckArgs),
    /// Propose a slice definition file for packages, from their real contents
    #[command(
        after_help = "Examples:\n  kerf draft --release ./chisel-releases libxml2\n  kerf draft --release ./chisel-releases --out ./chisel-releases/slices libxml2 xz-utils\n\nEach package's files are sorted into bins, libs, config, data and copyright slices; each\nslice's essentials are the slices (of the release, or of the archive's packages) that provide\nthe libraries and interpreters its files need. What cannot be found is left as a TODO comment.\nThe result passes `kerf lint` once added to the release; review it before use."
    )]
    Draft(DraftArgs),
    /// Write a software bill of materials (SPDX 2.3 or CycloneDX 1.6 JSON) for a cut root
    #[command(
        after_help = "Examples:\n  kerf sbom --root ./rootfs > rootfs.spdx.json\n  kerf sbom --root ./rootfs --format cyclonedx-json -o rootfs.cdx.json\n\nThe root needs the manifest a `generate: manifest` slice writes (base-files_chisel) and an\nos-release (base-files_release-info). Packages come from the manifest, with their maintainer\nand source package from /var/lib/dpkg/status.d when `cut --dpkg-status` wrote it. The same\nroot gives the same bytes: the creation time is SOURCE_DATE_EPOCH, else when the manifest\nwas written."
    )]
    Sbom(SbomArgs),
    /// Show the essential closure of slices as a tree, with what each slice and package costs
    #[command(
        after_help = "Examples:\n  kerf tree --release ubuntu-24.04 openssl_bins python3.12_standard\n  kerf tree --release ubuntu-24.04 --root ./rootfs\n  kerf tree --release ubuntu-24.04 --why libssl3t64_libs openssl_bins python3.12_standard\n  kerf tree --release ubuntu-24.04 --root ./rootfs --why /usr/lib/x86_64-linux-gnu/libssl.so.3\n\nEach slice is shown under the first slice that needs it (essentials by name); a later\nmention says where it was shown. Sizes are the bytes of the regular files each slice\ninstalls (a file several slices list counts once, for the first by name): from the root's\nmanifest with --root (then SLICE defaults to the slices the root was cut with), else from a\ncut into a temporary directory (packages through the cache)."
    )]
    Tree(TreeArgs),
    /// Write a self-contained HTML report of a cut root: a treemap, its packages and slices
    #[command(
        after_help = "Examples:\n  kerf report --root ./rootfs -o report.html\n  kerf report --root ./rootfs --release ubuntu-24.04 -o report.html\n\nThe page needs nothing but itself (no network, no external script or font) and prints\ncleanly. The root needs the manifest a `generate: manifest` slice writes (base-files_chisel).\nWith --release it also tells the requested slices from their essentials and names the\nrelease's archives."
    )]
    Report(ReportArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(
        after_help = "Examples:\n  kerf completions bash > /etc/bash_completion.d/kerf\n  kerf completions zsh > \"${fpath[1]}/_kerf\"\n  kerf completions fish > ~/.config/fish/completions/kerf.fish"
    )]
    Completions {
        /// The shell to complete in
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print kerf's man page (roff), or write one page per command into a directory
    #[command(
        after_help = "Examples:\n  kerf man | man -l -\n  kerf man --out /usr/local/share/man/man1"
    )]
    Man {
        /// Write kerf.1 and kerf-COMMAND.1 here instead of printing kerf.1
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Pin a cut: resolve slices as a cut does and write every package, version and digest
    #[command(
        after_help = "Examples:\n  kerf lock --release ubuntu-24.04 --arch amd64,arm64 base-files_base libc6_libs openssl_bins\n  kerf lock --release ubuntu-24.04 --snapshot 20261201T000000Z -o noble.lock openssl_bins\n  kerf lock --check kerf.lock\n\nThe lock (default ./kerf.lock, JSON, \"version\": 1) records the release and a digest of its\nfiles, every suite read (InRelease Date and SHA-256) and, per architecture, every package:\nversion, pool path, size, SHA-256 (and SHA-512), source package. Cut from it with\n`kerf cut --locked kerf.lock --root DIR`.\n\nWith --check, exit status 0: every locked package is the newest the archives have; 1: some have\nnewer versions (listed, security updates first) or the lock cannot be used; 2: kerf failed."
    )]
    Lock(LockArgs),
    /// Check a cut root against its manifest: every recorded path, nothing extra
    #[command(
        after_help = "Examples:\n  kerf verify --root ./rootfs\n  kerf verify --root ./rootfs --manifest /var/lib/chisel/manifest.wall\n\nEvery path the manifest records must exist with its type, mode, size and SHA-256 (the final\none where a mutate script changed it) or link target; entries of recorded directories that\nthe manifest does not record are extra. Works on roots cut by chisel too.\n\nExit status: 0 the root is intact, 1 something is missing, changed or extra (listed on\nstdout) or there is no manifest, 2 the root could not be read."
    )]
    Verify(VerifyArgs),
    /// Print kerf's version and the releases bundled into it
    #[command(after_help = "Example:\n  kerf version")]
    Version,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// The root directory to check
    #[arg(long, value_name = "DIR")]
    pub(crate) root: PathBuf,
    /// A release directory or bundled release, to name the slices that provide what is missing
    #[arg(long, value_name = "DIR_OR_NAME")]
    pub(crate) release: Option<String>,
    /// The architecture of the release's slices to name (amd64, arm64, ...); default: that of
    /// the ELF file needing the missing library
    #[arg(long, value_name = "ARCH")]
    pub(crate) arch: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SbomArgs {
    /// The cut root to describe
    #[arg(long, value_name = "DIR")]
    pub(crate) root: PathBuf,
    /// The output format [default: from the --output name (.spdx.json, .cdx.json), else spdx-json]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(crate) format: Option<SbomFormatArg>,
    /// Write the SBOM here (through a temporary file) instead of to stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct TreeArgs {
    #[command(flatten)]
    pub(crate) release: ReleaseArg,
    #[command(flatten)]
    pub(crate) archives: ArchiveArgs,
    /// Read the sizes from this cut root's manifest instead of cutting the slices
    #[arg(long, value_name = "DIR")]
    pub(crate) root: Option<PathBuf>,
    /// Print the chains of essentials that lead from the requested slices to this slice,
    /// package, or absolute path
    #[arg(long, value_name = "SLICE_OR_PATH")]
    pub(crate) why: Option<String>,
    /// Print no progress while the packages are fetched
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
    /// The requested slices, as PACKAGE_SLICE (with --root: default the root's)
    #[arg(value_name = "SLICE", required_unless_present = "root")]
    pub(crate) slices: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// The cut root to describe
    #[arg(long, value_name = "DIR")]
    pub(crate) root: PathBuf,
    /// Write the HTML page here (through a temporary file)
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: PathBuf,
    /// The release the root was cut from, to tell requested slices from essentials
    #[arg(long, value_name = "DIR_OR_NAME")]
    pub(crate) release: Option<String>,
}

/// The values of `kerf sbom --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SbomFormatArg {
    /// SPDX 2.3, JSON
    SpdxJson,
    /// CycloneDX 1.6, JSON
    CyclonedxJson,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CutArgs {
    #[command(flatten)]
    pub(crate) release: ReleaseArg,
    /// The root directory to cut into; created if missing, other files in it are left alone.
    /// Optional with --oci-layout or --oci-archive (a temporary root is used)
    #[arg(long, value_name = "DIR", required_unless_present_any = ["oci_layout", "oci_archive"])]
    pub(crate) root: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) archives: ArchiveArgs,
    /// How many downloads to run at once
    #[arg(long, short = 'j', default_value_t = 4, value_name = "N")]
    pub(crate) jobs: usize,
    /// Cut anyway a release that is in development (unstable) or out of maintenance
    /// (unmaintained), or from an InRelease past its Valid-Until or dated in the future
    /// (release-dates); repeatable
    #[arg(long, value_name = "CONDITION", value_enum)]
    pub(crate) ignore: Vec<IgnoreArg>,
    /// Print only errors
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Print every step; twice (-vv) also every request, cache hit and script run
    #[arg(long, short = 'v', action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// After the cut, check the root as `kerf check` does; exit 1 if something is missing
    #[arg(long)]
    pub(crate) check: bool,
    /// Write /var/lib/dpkg/status.d/ (a stanza and md5sums per package) so that scanners see
    /// the packages; a root that has it keeps it up to date on later cuts
    #[arg(long)]
    pub(crate) dpkg_status: bool,
    /// After the cut, write an SBOM of the root here: SPDX for *.spdx.json, CycloneDX for
    /// *.cdx.json (see `kerf sbom`)
    #[arg(long, value_name = "FILE")]
    pub(crate) sbom: Option<PathBuf>,
    /// Cut exactly what this lock file (from `kerf lock`) pins: its release, slices and
    /// packages, fetched by pool path and checked against its digests; no index is read
    #[arg(long, value_name = "FILE")]
    pub(crate) locked: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) extend: ExtendArgs,
    // Last: its help heading would also head the options after it.
    #[command(flatten)]
    pub(crate) image: ImageArgs,
    /// Slices to cut, as PACKAGE_SLICE (with --locked: the lock's, which these must match)
    #[arg(required_unless_present_any = ["locked", "upgrade"], value_name = "SLICE")]
    pub(crate) slices: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct LockArgs {
    #[command(flatten)]
    pub(crate) release: ReleaseArg,
    #[command(flatten)]
    pub(crate) archives: ArchiveArgs,
    /// Write the lock here
    #[arg(long, short = 'o', value_name = "FILE", default_value = crate::lock::DEFAULT_LOCK_FILE, conflicts_with = "check")]
    pub(crate) output: PathBuf,
    /// Instead of writing a lock, tell whether this one is current: exit 1 and list the locked
    /// packages the archives have newer versions of
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = crate::lock::DEFAULT_LOCK_FILE)]
    pub(crate) check: Option<PathBuf>,
    /// How many downloads to run at once
    #[arg(long, short = 'j', default_value_t = 4, value_name = "N")]
    pub(crate) jobs: usize,
    /// Read an InRelease past its Valid-Until or dated in the future anyway (release-dates)
    #[arg(long, value_name = "CONDITION", value_enum)]
    pub(crate) ignore: Vec<IgnoreArg>,
    /// Print only errors
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Print every step; twice (-vv) also every request and cache hit
    #[arg(long, short = 'v', action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Slices to lock, as PACKAGE_SLICE
    #[arg(
        required_unless_present = "check",
        conflicts_with = "check",
        value_name = "SLICE"
    )]
    pub(crate) slices: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The root directory to verify
    #[arg(long, value_name = "DIR")]
    pub(crate) root: PathBuf,
    /// Where the manifest is inside the root
    #[arg(long, value_name = "PATH", default_value = crate::manifest::DEFAULT_PATH)]
    pub(crate) manifest: String,
}

/// `cut` into a root cut before: its manifest is read, extended and kept true.
#[derive(Debug, clap::Args)]
pub(crate) struct ExtendArgs {
    /// Move the slices the root's manifest lists to the archive's current versions, rewriting
    /// only what changed (slices given as well are added)
    #[arg(long, requires = "root", conflicts_with = "force_manifest")]
    pub(crate) upgrade: bool,
    /// Also write the paths this cut created or changed, and the rewritten manifest, into DIR
    /// (new, or empty), with the same modes: `COPY DIR /` over the old root gives the new one
    #[arg(long, value_name = "DIR", requires = "root")]
    pub(crate) delta: Option<PathBuf>,
    /// Start a new manifest that lists only this cut when the root's cannot be extended
    /// (unreadable, or from another release or architecture)
    #[arg(long)]
    pub(crate) force_manifest: bool,
}

/// `cut`'s image output and accounts.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Image (OCI) and accounts")]
#[command(group(clap::ArgGroup::new("oci").args(["oci_layout", "oci_archive"])))]
pub(crate) struct ImageArgs {
    /// Write an OCI image of the cut to this image layout directory (created; an existing
    /// layout gains the image, its other tags kept)
    #[arg(long, value_name = "DIR")]
    pub(crate) oci_layout: Option<PathBuf>,
    /// Write the OCI image layout as one tar file, as `skopeo copy oci-archive:` and `podman
    /// load` take it
    #[arg(long, value_name = "FILE.tar")]
    pub(crate) oci_archive: Option<PathBuf>,
    /// The image's name in the layout (`oci:DIR:TAG`); an image that had it loses it
    #[arg(long, value_name = "TAG", requires = "oci")]
    pub(crate) tag: Option<String>,
    /// How the layer is compressed
    #[arg(long, value_name = "ALGORITHM", value_enum, default_value_t = CompressionArg::Gzip, requires = "oci")]
    pub(crate) oci_compression: CompressionArg,
    /// The image's entrypoint; repeat for its arguments (`--entrypoint /bin/sh --entrypoint -c`)
    #[arg(long, value_name = "ARG", allow_hyphen_values = true, requires = "oci")]
    pub(crate) entrypoint: Vec<String>,
    /// The image's command (arguments of the entrypoint); repeatable
    #[arg(long, value_name = "ARG", allow_hyphen_values = true, requires = "oci")]
    pub(crate) cmd: Vec<String>,
    /// An environment variable of the image, KEY=VALUE; repeatable. PATH defaults to
    /// /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    #[arg(long, value_name = "KEY=VALUE", requires = "oci")]
    pub(crate) env: Vec<String>,
    /// The image's working directory (absolute)
    #[arg(long, value_name = "DIR", requires = "oci")]
    pub(crate) workdir: Option<String>,
    /// A label of the image, KEY=VALUE; repeatable
    #[arg(long, value_name = "KEY=VALUE", requires = "oci")]
    pub(crate) label: Vec<String>,
    /// Add this user to the root's /etc/passwd and /etc/group (created when absent), with
    /// /home/NAME owned by it; the image runs as it. IDs default to the first free from 1000
    #[arg(long, value_name = "NAME[:UID[:GID]]")]
    pub(crate) user: Option<String>,
    /// Add this group to the root's /etc/group; repeatable
    #[arg(long, value_name = "NAME:GID")]
    pub(crate) group: Vec<String>,
}

/// The values of `--oci-compression`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum CompressionArg {
    Gzip,
    Zstd,
}

/// Where packages come from: shared by `cut` and `draft`.
#[derive(Clone, Debug, clap::Args)]
pub(crate) struct ArchiveArgs {
    /// Target architecture (amd64, arm64, armhf, i386, ppc64el, riscv64, s390x); default: this
    /// machine's. `cut --oci-layout` takes several, comma-separated, for a multi-platform image
    #[arg(long, value_name = "ARCH")]
    pub(crate) arch: Option<String>,
    /// Where downloads and indexes are kept [default: $XDG_CACHE_HOME/kerf or ~/.cache/kerf]
    #[arg(long, value_name = "DIR", env = "KERF_CACHE_DIR")]
    pub(crate) cache_dir: Option<PathBuf>,
    /// Base URL of an archive, overriding the release's: NAME=URL (repeatable; or
    /// KERF_ARCHIVE_URL="NAME=URL,NAME=URL")
    #[arg(
        long = "archive-url",
        value_name = "NAME=URL",
        env = "KERF_ARCHIVE_URL",
        value_delimiter = ','
    )]
    pub(crate) archive_urls: Vec<String>,
    /// Use only the cache; fail instead of touching the network
    #[arg(long)]
    pub(crate) offline: bool,
    /// Read the archives as they were at this moment (UTC, YYYYMMDDTHHMMSSZ) from Ubuntu's and
    /// Debian's snapshot services [env: KERF_SNAPSHOT_URL for Ubuntu's]
    #[arg(long, value_name = "ID")]
    pub(crate) snapshot: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DraftArgs {
    #[command(flatten)]
    pub(crate) release: ReleaseArg,
    #[command(flatten)]
    pub(crate) archives: ArchiveArgs,
    /// Write DIR/PACKAGE.yaml for each package instead of printing the drafts
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// With --out, replace files that exist
    #[arg(long, requires = "out")]
    pub(crate) force: bool,
    /// Print only errors
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Print every step; twice (-vv) also every request, cache hit and script run
    #[arg(long, short = 'v', action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Packages to draft slice definitions for
    #[arg(required = true, value_name = "PACKAGE")]
    pub(crate) packages: Vec<String>,
}

/// The values of `--ignore`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum IgnoreArg {
    Unstable,
    Unmaintained,
    /// An InRelease past its Valid-Until or dated in the future
    ReleaseDates,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ReleaseArg {
    /// A release directory (chisel.yaml and slices/), the name of a bundled release, or a
    /// branch of Canonical's chisel-releases: chisel-releases:BRANCH[@COMMIT]
    #[arg(long, value_name = "DIR_OR_NAME")]
    pub(crate) release: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn info_takes_release_and_queries() {
        let args =
            Args::try_parse_from(["kerf", "info", "--release", "./rel", "a_bcd", "pkg"]).unwrap();
        let Command::Info { release, queries } = args.command else {
            panic!("expected info");
        };
        assert_eq!(release.release.as_deref(), Some("./rel"));
        assert_eq!(queries, vec!["a_bcd", "pkg"]);
        let args = Args::try_parse_from(["kerf", "info", "pkg", "--release=x"]).unwrap();
        assert!(matches!(args.command, Command::Info { .. }));
    }

    #[test]
    fn check_takes_root_release_and_arch() {
        let args = Args::try_parse_from([
            "kerf",
            "check",
            "--root",
            "r",
            "--release",
            "./rel",
            "--arch",
            "arm64",
        ])
        .unwrap();
        let Command::Check(check) = args.command else {
            panic!("expected check");
        };
        assert_eq!(check.root, PathBuf::from("r"));
        assert_eq!(check.release.as_deref(), Some("./rel"));
        assert_eq!(check.arch.as_deref(), Some("arm64"));
        assert!(Args::try_parse_from(["kerf", "check"]).is_err());
        let args =
            Args::try_parse_from(["kerf", "cut", "--root", "r", "--check", "a_bcd"]).unwrap();
        assert!(matches!(args.command, Command::Cut(cut) if cut.check));
    }

    #[test]
    fn info_needs_a_query() {
        assert!(Args::try_parse_from(["kerf", "info"]).is_err());
    }
}
