//! Request bodies within limits: the content type is JSON, the encoding is identity, zstd or
//! gzip, the bytes as sent stay under `max_body_bytes` (never buffered beyond it), and decoding
//! streams into a buffer that stops at `max_decompressed_bytes`, so a decompression bomb costs
//! at most that much memory and never its full output. The whole body must arrive within
//! `body_read_timeout`, so a client dribbling it cannot hold its request open.

use std::io::Read;

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::Limits;
use crate::error::ApiError;

/// Largest zstd window accepted (2^23 = 8 MiB), as RFC 9659 asks of HTTP zstd decoders: a frame
/// asking for more would make the decoder allocate that much whatever the output cap.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// Read size while decoding.
const CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Zstd,
    Gzip,
}

/// A JSON body as received, not decoded yet.
#[derive(Debug)]
pub struct RawBody {
    pub encoding: Encoding,
    pub bytes: Bytes,
}

impl RawBody {
    /// Checks the headers and reads the body, refusing it as soon as it passes the limit.
    pub async fn read(request: Request, limits: Limits) -> Result<RawBody, ApiError> {
        let (parts, body) = request.into_parts();
        check_content_type(&parts.headers)?;
        let encoding = encoding(&parts.headers)?;
        let too_large = ApiError::PayloadTooLarge {
            stage: "as sent",
            limit: limits.max_body_bytes,
        };
        let declared = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|length| length > limits.max_body_bytes) {
            return Err(too_large);
        }
        let cap = usize::try_from(limits.max_body_bytes).unwrap_or(usize::MAX);
        let collected =
            tokio::time::timeout(limits.body_read_timeout, Limited::new(body, cap).collect())
                .await
                .map_err(|_| ApiError::RequestTimeout(limits.body_read_timeout))?;
        let bytes = match collected {
            Ok(collected) => collected.to_bytes(),
            Err(error) if error.is::<LengthLimitError>() => return Err(too_large),
            Err(error) => {
                return Err(ApiError::MalformedBody(format!(
                    "reading the body failed: {error}"
                )));
            }
        };
        Ok(RawBody { encoding, bytes })
    }

    /// The body's length as sent.
    pub fn received_bytes(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The body as sent when it is zstd: once [`RawBody::decode`] has accepted it, the store can
    /// keep these bytes instead of compressing the JSON again.
    pub fn zstd_frames(&self) -> Option<Bytes> {
        (self.encoding == Encoding::Zstd).then(|| self.bytes.clone())
    }

    /// The decoded body, at most `limits.max_decompressed_bytes` long. CPU-bound: call it off the
    /// async workers (`spawn_blocking`).
    pub fn decode(self, limits: Limits) -> Result<Bytes, ApiError> {
        let cap = usize::try_from(limits.max_decompressed_bytes).unwrap_or(usize::MAX);
        let too_large = || ApiError::PayloadTooLarge {
            stage: "decompressed",
            limit: limits.max_decompressed_bytes,
        };
        let decoded = match self.encoding {
            Encoding::Identity if self.bytes.len() > cap => return Err(too_large()),
            Encoding::Identity => return Ok(self.bytes),
            Encoding::Zstd => {
                let mut decoder = zstd::stream::read::Decoder::with_buffer(&self.bytes[..])
                    .map_err(ApiError::internal)?;
                decoder
                    .window_log_max(ZSTD_WINDOW_LOG_MAX)
                    .map_err(ApiError::internal)?;
                read_capped(decoder, cap, "zstd")
            }
            // Several gzip members in a row are one valid body (RFC 1952), so read them all.
            Encoding::Gzip => read_capped(
                flate2::bufread::MultiGzDecoder::new(&self.bytes[..]),
                cap,
                "gzip",
            ),
        };
        match decoded {
            Ok(bytes) => Ok(Bytes::from(bytes)),
            Err(Capped::TooLarge) => Err(too_large()),
            Err(Capped::Corrupt(message)) => Err(ApiError::MalformedBody(message)),
        }
    }
}

enum Capped {
    TooLarge,
    Corrupt(String),
}

/// Reads `reader` to its end into a buffer that never grows past `cap`.
fn read_capped(mut reader: impl Read, cap: usize, format: &str) -> Result<Vec<u8>, Capped> {
    let mut out = Vec::new();
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let read = match reader.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(Capped::Corrupt(format!("invalid {format} data: {error}"))),
        };
        if out.len() + read > cap {
            return Err(Capped::TooLarge);
        }
        if out.capacity() - out.len() < read {
            // Doubling, but never beyond the cap: the allocation stays within the limit.
            let target = ((out.len() + read) * 2).max(CHUNK).min(cap);
            out.reserve_exact(target - out.len());
        }
        out.extend_from_slice(&chunk[..read]);
    }
}

fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let value = headers
        .get(CONTENT_TYPE)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let essence = value
        .as_deref()
        .and_then(|value| value.split(';').next())
        .map(str::trim);
    match essence {
        Some(essence) if essence.eq_ignore_ascii_case("application/json") => Ok(()),
        _ => Err(ApiError::UnsupportedMediaType(
            value.unwrap_or_else(|| "nothing".to_string()),
        )),
    }
}

fn encoding(headers: &HeaderMap) -> Result<Encoding, ApiError> {
    let Some(value) = headers.get(CONTENT_ENCODING) else {
        return Ok(Encoding::Identity);
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "identity" => Ok(Encoding::Identity),
        "zstd" => Ok(Encoding::Zstd),
        "gzip" | "x-gzip" => Ok(Encoding::Gzip),
        _ => Err(ApiError::UnsupportedEncoding(text.into_owned())),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn limits(body: u64, decompressed: u64) -> Limits {
        Limits {
            max_body_bytes: body,
            max_decompressed_bytes: decompressed,
            ..Limits::default()
        }
    }

    #[test]
    fn decoding_stops_at_the_cap_without_allocating_beyond_it() {
        let zeros = vec![0u8; 1 << 20];
        let compressed = zstd::encode_all(&zeros[..], 3).expect("compress");
        let raw = RawBody {
            encoding: Encoding::Zstd,
            bytes: Bytes::from(compressed.clone()),
        };
        assert!(matches!(
            raw.decode(limits(1 << 20, (1 << 20) - 1)),
            Err(ApiError::PayloadTooLarge {
                stage: "decompressed",
                ..
            })
        ));
        let raw = RawBody {
            encoding: Encoding::Zstd,
            bytes: Bytes::from(compressed),
        };
        assert_eq!(
            raw.decode(limits(1 << 20, 1 << 20)).expect("fits").len(),
            1 << 20
        );
    }

    #[test]
    fn capped_reads_keep_capacity_within_the_cap() {
        let data = vec![7u8; 300_000];
        let out = read_capped(&data[..], 300_000, "test").ok().expect("fits");
        assert_eq!(out.len(), 300_000);
        assert!(out.capacity() <= 300_000, "{}", out.capacity());
    }

    #[test]
    fn corrupt_streams_are_malformed_bodies() {
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(b"{\"a\": 1}").expect("write");
        let mut bytes = gzip.finish().expect("finish");
        bytes.truncate(bytes.len() - 4);
        let raw = RawBody {
            encoding: Encoding::Gzip,
            bytes: Bytes::from(bytes),
        };
        assert!(matches!(
            raw.decode(limits(100, 100)),
            Err(ApiError::MalformedBody(_))
        ));
    }
}
