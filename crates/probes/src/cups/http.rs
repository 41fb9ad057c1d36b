//! Just enough HTTP/1.1 to carry one IPP request to cupsd and read its answer: a POST with a
//! `Content-Length`, and a response framed by `Content-Length`, chunked transfer coding or the
//! end of the connection, read up to a size limit.

use std::io::{self, Read};

/// A response: status, the `Server` header and the decoded body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub server: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("response larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("connection closed before the response was complete ({received} bytes received)")]
    Incomplete { received: usize },
    #[error("malformed response: {0}")]
    Malformed(String),
}

/// The bytes of a POST of an IPP message to `/`. `Connection: close` so that one request is
/// one connection and nothing lingers.
pub fn ipp_post(body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/ipp\r\n\
         Content-Length: {}\r\nConnection: close\r\nUser-Agent: sitrep\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// Reads one response from `reader`, never more than `limit` bytes.
pub fn read_response(reader: &mut impl Read, limit: usize) -> Result<HttpResponse, HttpError> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let count = reader.read(&mut chunk)?;
        if count == 0 {
            return parse_response(&received, true)?.ok_or(HttpError::Incomplete {
                received: received.len(),
            });
        }
        if received.len() + count > limit {
            return Err(HttpError::TooLarge { limit });
        }
        received.extend_from_slice(&chunk[..count]);
        if let Some(response) = parse_response(&received, false)? {
            return Ok(response);
        }
    }
}

/// The response in `bytes` once it is complete; `None` while more is needed. `closed` says the
/// connection has ended, which completes a response framed by the end of the connection.
pub fn parse_response(bytes: &[u8], closed: bool) -> Result<Option<HttpResponse>, HttpError> {
    let Some(head_end) = find(bytes, b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&bytes[..head_end])
        .map_err(|_| HttpError::Malformed("header is not UTF-8".to_owned()))?;
    let rest = &bytes[head_end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|line| line.get(2..5))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| HttpError::Malformed(format!("status line {status_line:?}")))?;
    let mut server = None;
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(HttpError::Malformed(format!("header line {line:?}")));
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "server" => server = Some(value.to_owned()),
            "content-length" => {
                content_length = Some(
                    value
                        .parse::<usize>()
                        .map_err(|_| HttpError::Malformed(format!("Content-Length {value:?}")))?,
                );
            }
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    let body = if chunked {
        match dechunk(rest)? {
            Some(body) => body,
            None if closed => return Err(incomplete(bytes)),
            None => return Ok(None),
        }
    } else if let Some(length) = content_length {
        match rest.get(..length) {
            Some(body) => body.to_vec(),
            None if closed => return Err(incomplete(bytes)),
            None => return Ok(None),
        }
    } else if closed {
        rest.to_vec()
    } else {
        return Ok(None);
    };
    Ok(Some(HttpResponse {
        status,
        server,
        body,
    }))
}

fn incomplete(bytes: &[u8]) -> HttpError {
    HttpError::Incomplete {
        received: bytes.len(),
    }
}

/// The body of a chunked message once its last chunk has arrived; `None` before.
fn dechunk(mut bytes: &[u8]) -> Result<Option<Vec<u8>>, HttpError> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = find(bytes, b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&bytes[..line_end]).unwrap_or_default();
        // A chunk size may carry extensions after ';'.
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| HttpError::Malformed(format!("chunk size {size_text:?}")))?;
        let data_start = line_end + 2;
        if size == 0 {
            // Trailers, if any, end with an empty line; cupsd sends none.
            return Ok(find(&bytes[data_start..], b"\r\n").map(|_| body));
        }
        // A size near usize::MAX is no chunk that could ever arrive.
        let data_end = data_start
            .checked_add(size)
            .ok_or_else(|| HttpError::Malformed(format!("chunk size {size_text:?}")))?;
        let Some(data) = bytes.get(data_start..data_end) else {
            return Ok(None);
        };
        body.extend_from_slice(data);
        match bytes.get(data_end..data_end + 2) {
            Some(b"\r\n") => bytes = &bytes[data_end + 2..],
            Some(_) => {
                return Err(HttpError::Malformed(
                    "chunk not followed by CRLF".to_owned(),
                ));
            }
            None => return Ok(None),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(bytes: &[u8]) -> HttpResponse {
        parse_response(bytes, false)
            .expect("well-formed")
            .expect("complete")
    }

    /// Seen while writing the `cups_http` fuzz target (its input is kept in
    /// fuzz/regressions/cups_http/): the size plus its offset overflowed.
    #[test]
    fn chunk_sizes_beyond_memory_are_malformed() {
        let response =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nab";
        assert!(matches!(
            parse_response(response, false),
            Err(HttpError::Malformed(message)) if message.contains("ffffffffffffffff")
        ));
    }

    #[test]
    fn content_length_framing() {
        let response =
            b"HTTP/1.1 200 OK\r\nServer: CUPS/2.4 IPP/2.1\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(
            complete(response),
            HttpResponse {
                status: 200,
                server: Some("CUPS/2.4 IPP/2.1".to_owned()),
                body: b"hello".to_vec(),
            }
        );
        for cut in 0..response.len() {
            assert!(matches!(parse_response(&response[..cut], false), Ok(None)));
        }
        assert!(matches!(
            parse_response(&response[..response.len() - 1], true),
            Err(HttpError::Incomplete { received: 68 })
        ));
    }

    #[test]
    fn chunked_framing_with_extensions() {
        let response =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n1\r\n!\r\n0\r\n\r\n";
        assert_eq!(complete(response).body, b"hello!");
        for cut in 0..response.len() {
            assert!(
                matches!(parse_response(&response[..cut], false), Ok(None)),
                "cut at {cut}"
            );
        }
        assert!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                false
            )
            .is_err()
        );
    }

    #[test]
    fn close_delimited_body_and_bad_status_lines() {
        let response = b"HTTP/1.0 403 Forbidden\r\n\r\nno";
        assert!(matches!(parse_response(response, false), Ok(None)));
        let done = parse_response(response, true)
            .expect("well-formed")
            .expect("complete");
        assert_eq!((done.status, done.body.as_slice()), (403, &b"no"[..]));
        assert!(parse_response(b"SSH-2.0-OpenSSH_9.2\r\n\r\n", true).is_err());
    }

    #[test]
    fn reading_stops_at_the_limit() {
        let mut endless = io::repeat(b'x');
        assert!(matches!(
            read_response(&mut endless, 64 * 1024),
            Err(HttpError::TooLarge { limit: 65536 })
        ));
        let mut cut = &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"[..];
        assert!(matches!(
            read_response(&mut cut, 1024),
            Err(HttpError::Incomplete { received: 42 })
        ));
    }
}
