//! Proves that every well-formed snapshot survives the wire: JSON out and back in gives the
//! same snapshot, and the JSON it writes is valid under the published schema.

use proptest::prelude::*;
use sitrep_snapshot::{Snapshot, arbitrary, json_schema};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn json_round_trip_gives_the_same_snapshot(snapshot in arbitrary::snapshot()) {
        let json = serde_json::to_string(&snapshot).expect("serializes");
        let read: Snapshot = serde_json::from_str(&json).expect("deserializes");
        prop_assert_eq!(&read, &snapshot);

        let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        let schema = json_schema();
        let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
        let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
        prop_assert!(errors.is_empty(), "{:?}", errors);
    }
}

/// One of the floats serde_json reads one bit off without its `float_roundtrip` feature (the
/// snapshot crate turns it on). Every test build here has that feature anyway, through
/// jsonschema, so this pins the value rather than catching a regression on its own.
#[test]
fn a_float_keeps_every_bit_through_json() {
    let loss_percent = 21.291890726713458_f64;
    let json = serde_json::to_string(&loss_percent).expect("serializes");
    let read: f64 = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(read.to_bits(), loss_percent.to_bits(), "{json}");
}
