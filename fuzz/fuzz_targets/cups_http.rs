//! Fuzzes `cups::http::parse_response` and `read_response` (HTTP/1.1 from a local cupsd): never
//! a panic, a body is never longer than what arrived, a response complete while the connection
//! is open stays the same once it closes, and reading it a few bytes at a time gives the
//! response that parsing it whole gives (what completes a prefix is not changed by more bytes).
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use sitrep_probes::cups::http::{HttpError, parse_response, read_response};

/// Hands out its bytes a few at a time, as a socket may.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let count = buffer.len().min(self.0.len()).min(7);
        buffer[..count].copy_from_slice(&self.0[..count]);
        self.0 = &self.0[count..];
        Ok(count)
    }
}

fuzz_target!(|data: &[u8]| {
    let open = parse_response(data, false);
    let closed = parse_response(data, true);
    for response in [&open, &closed].into_iter().flatten().flatten() {
        assert!(response.body.len() <= data.len());
    }
    if let Ok(Some(response)) = &open {
        match &closed {
            Ok(Some(again)) => assert_eq!(again, response),
            other => panic!("complete while open, {other:?} once closed"),
        }
    }
    match read_response(&mut Trickle(data), data.len()) {
        Ok(response) => match (&open, &closed) {
            (Ok(Some(whole)), _) | (Ok(None), Ok(Some(whole))) => assert_eq!(&response, whole),
            other => panic!("read {response:?} in pieces, but whole: {other:?}"),
        },
        Err(HttpError::TooLarge { .. }) => {
            panic!("{} bytes were too large for a limit of as many", data.len())
        }
        Err(_) => {}
    }
});
