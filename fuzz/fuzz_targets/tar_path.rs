//! A tar member name on its way to a path in the root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kerf::fuzzing::tar_path(data));
