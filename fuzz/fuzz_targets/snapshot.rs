//! Fuzzes the snapshot decoder (`serde_json::from_slice::<Snapshot>`, what the collector runs on
//! every upload): never a panic, and a snapshot that decodes encodes to JSON that decodes to an
//! equal snapshot, floats included.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sitrep_snapshot::Snapshot;

fuzz_target!(|data: &[u8]| {
    if let Ok(snapshot) = serde_json::from_slice::<Snapshot>(data) {
        sitrep_fuzz::survives_the_wire(&snapshot);
    }
});
