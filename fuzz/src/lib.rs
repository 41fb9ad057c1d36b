//! What the fuzz targets share: splitting an input into a choice and the rest, and the property
//! every parser's output must keep, that it survives the snapshot's wire format.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The first byte picks one of `count` parsers; the rest is that parser's input.
pub fn choice(data: &[u8], count: u8) -> Option<(u8, &[u8])> {
    let (first, rest) = data.split_first()?;
    Some((first % count, rest))
}

/// `value` as JSON and back is `value` again: what a parser returns can be sent to the
/// collector and read there unchanged (a NaN, for one, would come back as `null`).
pub fn survives_the_wire<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let json = serde_json::to_vec(value).expect("a parsed value serializes");
    let back: T = serde_json::from_slice(&json).unwrap_or_else(|error| {
        panic!(
            "{value:?} does not decode from its own JSON {}: {error}",
            String::from_utf8_lossy(&json)
        )
    });
    assert_eq!(&back, value, "JSON round trip changed the value");
}

/// The `N` documents of a tool run that gives several (one per PowerShell query, or one per
/// macOS tool), cut apart by the marker line the Windows readers use; input without `N` of
/// them is the first document alone and the others are empty, as when their queries failed.
pub fn documents<const N: usize>(text: &str) -> [&str; N] {
    let found =
        sitrep_probes::parse::windows::split_documents(text, N).unwrap_or_else(|| vec![text]);
    std::array::from_fn(|index| found.get(index).copied().unwrap_or_default())
}

/// When the recorded Windows and macOS outputs of the seed corpus were taken: the parsers
/// judge ages (last update, job age) against it.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_732_617_612, 0).unwrap_or_default()
}
