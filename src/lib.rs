//! kerf cuts slices of Debian and Ubuntu packages into a root filesystem.
//!
//! It reads chisel's slice-definition format (chisel-releases, formats v1 to v3), so an existing
//! release works unchanged.
//!
//! # Goals
//!
//! - **Compatible**: the same release files, slice names and `info`/`find` output as chisel.
//! - **Fast**: validating a whole release takes well under a second, not chisel's 12 seconds.
//! - **Exact**: every rule is checked up front, and every problem is reported with the file and
//!   line it comes from.
//!
//! # A tour, stage by stage
//!
//! | stage | module | main types |
//! |---|---|---|
//! | read and validate a release | [`release`] | [`release::Release`], [`release::Slice`], [`release::PathInfo`] |
//! | choose slices for a cut | [`resolve`] | [`resolve::Selection`] |
//! | print definitions and search | [`info`], [`find`] | |
//! | check that a root's programs find their interpreters and libraries | `check` | |
//! | explain a root: the closure as a tree, why a slice is there, an HTML report | `explain` | |
//! | the command line | [`cli`] | |

#![deny(unsafe_code)]

pub(crate) mod accounts;
pub(crate) mod archive;
pub mod bundled;
pub(crate) mod cache;
pub(crate) mod catalog;
pub(crate) mod check;
pub mod cli;
pub(crate) mod clock;
pub(crate) mod cut;
pub(crate) mod deb;
pub(crate) mod digest;
pub(crate) mod dpkg_status;
pub(crate) mod draft;
pub(crate) mod elf;
pub(crate) mod explain;
pub(crate) mod extract;
pub mod find;
/// Entry points for the fuzz targets in `fuzz/`; not API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod glob;
pub mod info;
pub(crate) mod lock;
pub(crate) mod manifest;
pub(crate) mod mutate;
pub(crate) mod oci;
pub(crate) mod openpgp;
pub(crate) mod readahead;
pub mod release;
pub(crate) mod report;
pub mod resolve;
pub(crate) mod sbom;
/// Test helpers shared by the unit and integration tests; not API.
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;
pub(crate) mod transport;
pub(crate) mod verify;
