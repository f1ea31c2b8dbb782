//! Moving bytes: the HTTP client (proxies, redirects, retries, limits), its DNS resolver for
//! the static binary, and `file://` directories. Nothing here knows what an archive is.

pub(crate) mod dns;
pub(crate) mod file;
pub(crate) mod http;
