//! The `.deb` reader: ar members, decompression, `data.tar` entries, the `control` file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kerf::fuzzing::deb(data));
