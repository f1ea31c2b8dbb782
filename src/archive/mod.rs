//! Talking to apt archives: signed InRelease files, Packages indexes, package choice.

pub(crate) mod cache;
pub(crate) mod control;
pub(crate) mod credentials;
pub(crate) mod dns;
pub(crate) mod fetch;
pub(crate) mod index;
pub(crate) mod inrelease;
pub(crate) mod select;
pub(crate) mod version;
