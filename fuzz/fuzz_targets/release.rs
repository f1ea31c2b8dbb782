//! The release loader: `chisel.yaml`, a NUL byte, then `slices/fuzz.yaml`; or a slice file alone.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kerf::fuzzing::release(data));
