//! Fuzzes `edid::parse` (the bytes sysfs, the Windows registry or IOKit hand over): only a
//! 128-byte block with the header and a zero checksum is accepted, and what it decodes
//! survives the wire.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sitrep_probes::edid::{self, EdidError};

fuzz_target!(|data: &[u8]| {
    match edid::parse(data) {
        Ok(monitor) => {
            let block = &data[..128];
            assert_eq!(block[..8], [0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]);
            assert_eq!(block.iter().fold(0u8, |sum, b| sum.wrapping_add(*b)), 0);
            assert_eq!(monitor.pnp_id.chars().count(), 3);
            sitrep_fuzz::survives_the_wire(&monitor);
        }
        Err(EdidError::TooShort { length }) => assert!(length < 128 && length == data.len()),
        Err(EdidError::BadHeader | EdidError::BadChecksum { .. }) => assert!(data.len() >= 128),
    }
});
