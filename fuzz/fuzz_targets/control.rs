//! deb822 control data and `Packages` indexes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kerf::fuzzing::control(data));
