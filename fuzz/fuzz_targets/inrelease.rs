//! `InRelease` files, verified with a fixed key (`data/fuzz-key.asc`, whose secret half was
//! thrown away once the seed was signed), and their bodies.
#![no_main]

use std::sync::OnceLock;

use kerf::fuzzing::InReleaseKey;
use libfuzzer_sys::fuzz_target;

fn key() -> &'static InReleaseKey {
    static KEY: OnceLock<InReleaseKey> = OnceLock::new();
    KEY.get_or_init(|| InReleaseKey::from_armor(include_str!("../data/fuzz-key.asc")))
}

fuzz_target!(|data: &[u8]| kerf::fuzzing::inrelease(data, key()));
