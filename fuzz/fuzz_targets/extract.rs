//! A `data.tar` extracted into a temporary root by a slice that takes every path; nothing may
//! land outside the root.
//!
//! The input is a tar archive whose header checksums are recomputed before use, so that the
//! fuzzer's mutations reach names, types and link targets instead of failing the checksum.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// `$TMPDIR/kerf-fuzz-extract-<pid>/scratch`, created empty once per process.
fn scratch() -> &'static Path {
    static SCRATCH: OnceLock<PathBuf> = OnceLock::new();
    SCRATCH.get_or_init(|| {
        let base = std::env::temp_dir().join(format!("kerf-fuzz-extract-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let scratch = base.join("scratch");
        std::fs::create_dir_all(&scratch).expect("creating the scratch directory");
        scratch
    })
}

/// Rewrites the checksum of every header it can find by following the size fields.
fn repair_checksums(tar: &mut [u8]) {
    let mut at = 0usize;
    while let Some(header) = at.checked_add(512).and_then(|end| tar.get_mut(at..end)) {
        if header.iter().all(|&byte| byte == 0) {
            break;
        }
        header[148..156].fill(b' ');
        let sum: u32 = header.iter().map(|&byte| u32::from(byte)).sum();
        header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        let Some(size) = octal(&header[124..136]) else {
            break;
        };
        let Some(next) = size
            .div_ceil(512)
            .checked_mul(512)
            .and_then(|body| body.checked_add(at as u64 + 512))
            .and_then(|next| usize::try_from(next).ok())
        else {
            break;
        };
        at = next;
    }
}

fn octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?;
    let digits = text.trim_matches(|c: char| c == ' ' || c == '\0');
    u64::from_str_radix(digits, 8).ok()
}

fuzz_target!(|data: &[u8]| {
    let mut tar = data.to_vec();
    repair_checksums(&mut tar);
    kerf::fuzzing::extract(&tar, scratch());
});
