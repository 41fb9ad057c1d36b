//! Fuzzes the collector's ingest body path: `RawBody::decode` (identity, zstd or gzip, picked
//! by the first byte, under a small decompressed limit) then `ingest::prepare`. Never a panic,
//! never more than the limit, every refusal the client's fault (413 or 400 for the body, 400,
//! 403 or 422 for the snapshot), and what `prepare` keeps decompresses back to the JSON it
//! parsed, as the store reads it.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sitrep_collector::Limits;
use sitrep_collector::error::ApiError;
use sitrep_collector::ingest::body::{Encoding, RawBody};
use sitrep_collector::ingest::prepare;
use uuid::Uuid;

/// Small enough that the fuzzer reaches it with a compressed body of a few bytes.
const MAX_DECOMPRESSED: u64 = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some((encoding, rest)) = sitrep_fuzz::choice(data, 3) else {
        return;
    };
    let encoding = [Encoding::Identity, Encoding::Zstd, Encoding::Gzip][usize::from(encoding)];
    let limits = Limits {
        max_body_bytes: MAX_DECOMPRESSED,
        max_decompressed_bytes: MAX_DECOMPRESSED,
        ..Limits::default()
    };
    let raw = RawBody {
        encoding,
        bytes: Bytes::copy_from_slice(rest),
    };
    let zstd = raw.zstd_frames();
    let json = match raw.decode(limits) {
        Ok(json) => json,
        Err(ApiError::PayloadTooLarge {
            stage: "decompressed",
            ..
        }) => return,
        Err(ApiError::MalformedBody(_)) if encoding != Encoding::Identity => return,
        Err(other) => panic!("{encoding:?} body refused with {other:?}"),
    };
    assert!(json.len() as u64 <= MAX_DECOMPRESSED);
    if encoding == Encoding::Identity {
        assert_eq!(json, rest);
    }
    let agent_id = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0001);
    let received_at = sitrep_fuzz::now();
    match prepare(&json, zstd, agent_id, received_at) {
        Ok(row) => {
            assert_eq!(row.agent_id, agent_id);
            assert_eq!(row.body_bytes, json.len() as u64);
            // As `Store::snapshot_json` reads it back.
            let stored = zstd::bulk::decompress(&row.body_zstd, json.len())
                .expect("the stored body decompresses");
            assert_eq!(stored, json);
        }
        Err(
            ApiError::MalformedJson(_)
            | ApiError::Unprocessable { .. }
            | ApiError::UnsupportedSchemaVersion { .. }
            | ApiError::Forbidden(_),
        ) => {}
        Err(other) => panic!("snapshot refused with {other:?}"),
    }
});
