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
    after_help = "Examples:\n  kerf info --release ./chisel-releases openssl_bins\n  kerf find --release ./chisel-releases 'libssl*'\n  kerf lint --release ./chisel-releases"
)]
pub(crate) struct Args {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print slice definitions, in chisel's format
    #[command(after_help = "Example:\n  kerf info --release ./chisel-releases openssl_bins libc6")]
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
    /// Print kerf's version and the releases bundled into it
    Version,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ReleaseArg {
    /// A release directory (chisel.yaml and slices/), or the name of a bundled release
    #[arg(long, value_name = "DIR_OR_NAME")]
    pub(crate) release: Option<String>,
}

impl ReleaseArg {
    /// A path-like value is always a directory; a bare name may be either.
    pub(crate) fn as_path(&self) -> Option<PathBuf> {
        self.release.as_ref().map(PathBuf::from)
    }
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
    fn info_needs_a_query() {
        assert!(Args::try_parse_from(["kerf", "info"]).is_err());
    }
}
