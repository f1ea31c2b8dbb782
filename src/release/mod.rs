//! Releases: `chisel.yaml` plus slice definition files, read into a validated [`Release`].

mod error;
mod format;
mod load;
mod model;
mod validate;

pub use error::{ErrorKind, Location, ReleaseError, ReleaseErrors};
pub use load::{
    content_digest, fingerprint, fingerprint_of, load_dir, load_files, load_files_reaching,
    load_files_with, read_dir, Checks, SourceFile,
};
pub use model::*;

#[cfg(test)]
mod tests;
