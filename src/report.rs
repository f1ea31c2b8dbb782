//! Progress, for the command line to show as it likes. Library code never prints: every stage
//! that has something to say takes a `&dyn Reporter`.

use crate::release::SliceKey;

/// What a long job tells whoever watches it. Every method has a silent default.
pub(crate) trait Reporter: Sync {
    /// A step worth a line in a build log.
    fn step(&self, _text: &str) {}
    /// Something the user should know that does not stop the job.
    fn warning(&self, _text: &str) {}
    /// A download of `total` bytes starts.
    fn download_started(&self, _name: &str, _total: u64) {}
    /// `done` of the download's bytes have arrived.
    fn download_progress(&self, _name: &str, _done: u64) {}
    fn download_finished(&self, _name: &str) {}
    /// A line a slice's mutate script printed.
    fn script_printed(&self, _slice: &SliceKey, _text: &str) {}
}
