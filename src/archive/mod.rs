//! Talking to apt archives: signed InRelease files, Packages indexes, package choice, and the
//! façade ([`Archives`]) that opens a release's archives and fetches its packages.
//!
//! The bytes travel through [`crate::transport`] (HTTP, `file://`) into [`crate::cache`]; this
//! module owns what they mean to apt.

pub(crate) mod archives;
pub(crate) mod control;
pub(crate) mod credentials;
pub(crate) mod decode;
pub(crate) mod error;
pub(crate) mod index;
pub(crate) mod select;
pub(crate) mod snapshot;
pub(crate) mod version;
