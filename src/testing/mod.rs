//! Test helpers, one of each, shared by the unit tests and the integration tests (which see this
//! module through the `testing` feature that the dev-dependency on kerf turns on).
//!
//! - [`server`]: the loopback HTTP server, scripted (with faults) or serving a directory;
//! - [`release`]: the test key and `chisel.yaml` writing, releases loaded from text;
//! - `deb`: tiny `.deb`s, normal or hostile;
//! - `key`: generated OpenPGP keys and signed `InRelease` files;
//! - `archive`: signed apt archives in memory, and releases that use them.
//!
//! `deb`, `key` and `archive` are for the unit tests only: their interfaces speak the crate's
//! own types (`deb::Compression`, `openpgp::PublicKey`), which are not public.

#[cfg(test)]
pub(crate) mod archive;
#[cfg(test)]
pub(crate) mod deb;
#[cfg(test)]
pub(crate) mod key;
pub mod release;
pub mod server;
