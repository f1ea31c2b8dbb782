//! Talking to apt archives: signed InRelease files, Packages indexes, package choice.

pub(crate) mod control;
pub(crate) mod index;
pub(crate) mod inrelease;
pub(crate) mod version;
