//! The IPP/2.0 binary encoding (RFC 8010), as much of it as asking a print server about its
//! queues and jobs needs: requests with string and keyword attributes, and any response decoded
//! into groups of attributes (collections and unknown syntaxes are skipped, not refused).

/// Delimiter and value tags (RFC 8010 section 3.5).
pub mod tag {
    pub const OPERATION: u8 = 0x01;
    pub const JOB: u8 = 0x02;
    pub const END: u8 = 0x03;
    pub const PRINTER: u8 = 0x04;
    pub const INTEGER: u8 = 0x21;
    pub const BOOLEAN: u8 = 0x22;
    pub const ENUM: u8 = 0x23;
    pub const BEGIN_COLLECTION: u8 = 0x34;
    pub const TEXT_WITH_LANGUAGE: u8 = 0x35;
    pub const NAME_WITH_LANGUAGE: u8 = 0x36;
    pub const END_COLLECTION: u8 = 0x37;
    pub const TEXT: u8 = 0x41;
    pub const NAME: u8 = 0x42;
    pub const KEYWORD: u8 = 0x44;
    pub const URI: u8 = 0x45;
    pub const CHARSET: u8 = 0x47;
    pub const NATURAL_LANGUAGE: u8 = 0x48;
    pub const MIME_MEDIA_TYPE: u8 = 0x49;
    pub const MEMBER_NAME: u8 = 0x4a;
    /// Tags below this one delimit groups; from it on they tag values.
    pub(crate) const FIRST_VALUE: u8 = 0x10;
    /// 0x10 to 0x1f: out-of-band values (unsupported, unknown, no-value).
    pub(crate) const LAST_OUT_OF_BAND: u8 = 0x1f;
}

/// A decoded attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Integer(i32),
    Boolean(bool),
    Enum(i32),
    /// Any character-string syntax (text, name, keyword, uri, charset, language, MIME type),
    /// the language of the with-language forms dropped.
    String(String),
    /// unsupported, unknown or no-value.
    OutOfBand(u8),
    /// A collection; its members are skipped.
    Collection,
    /// A syntax this decoder does not read (dateTime, resolution, octetString...), by its tag.
    Other(u8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub values: Vec<Value>,
}

impl Attribute {
    pub fn first(&self) -> Option<&Value> {
        self.values.first()
    }

    /// The string values, e.g. every keyword of a `1setOf keyword`.
    pub fn strings(&self) -> impl Iterator<Item = &str> {
        self.values.iter().filter_map(|value| match value {
            Value::String(text) => Some(text.as_str()),
            _ => None,
        })
    }
}

/// One attribute group (operation, job, printer...), in message order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub tag: u8,
    pub attributes: Vec<Attribute>,
}

impl Group {
    pub fn get(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|attribute| attribute.name == name)
    }

    pub fn string(&self, name: &str) -> Option<&str> {
        self.get(name)?.strings().next()
    }

    /// An integer or enum value.
    pub fn integer(&self, name: &str) -> Option<i32> {
        match self.get(name)?.first()? {
            Value::Integer(n) | Value::Enum(n) => Some(*n),
            _ => None,
        }
    }

    pub fn boolean(&self, name: &str) -> Option<bool> {
        match self.get(name)?.first()? {
            Value::Boolean(b) => Some(*b),
            _ => None,
        }
    }
}

/// A decoded response: its status code and attribute groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub version: (u8, u8),
    /// `successful-ok` is 0; below 0x0100 is success (RFC 8011 appendix B).
    pub status: u16,
    pub request_id: u32,
    pub groups: Vec<Group>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        self.status < 0x0100
    }

    /// The groups tagged `tag`, e.g. one per printer.
    pub fn groups(&self, tag: u8) -> impl Iterator<Item = &Group> {
        self.groups.iter().filter(move |group| group.tag == tag)
    }

    /// The server's `status-message`, where it sent one.
    pub fn status_message(&self) -> Option<&str> {
        self.groups(tag::OPERATION)
            .find_map(|group| group.string("status-message"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IppError {
    #[error("IPP message ends at byte {offset} inside {inside}")]
    Truncated { offset: usize, inside: &'static str },
    #[error("IPP message byte {offset}: {message}")]
    Malformed { offset: usize, message: String },
}

/// Builds a request: the operation attributes every request starts with (charset, language),
/// then whatever the caller adds, in order.
#[derive(Debug, Clone)]
pub struct Request {
    bytes: Vec<u8>,
}

impl Request {
    /// An IPP/2.0 request for `operation` with the mandatory `attributes-charset` (utf-8) and
    /// `attributes-natural-language` (en).
    pub fn new(operation: u16, request_id: u32) -> Self {
        let mut bytes = vec![2, 0];
        bytes.extend_from_slice(&operation.to_be_bytes());
        bytes.extend_from_slice(&request_id.to_be_bytes());
        bytes.push(tag::OPERATION);
        let request = Request { bytes };
        request
            .attribute(tag::CHARSET, "attributes-charset", &["utf-8"])
            .attribute(
                tag::NATURAL_LANGUAGE,
                "attributes-natural-language",
                &["en"],
            )
    }

    /// Adds a string-valued operation attribute; several values make a `1setOf`.
    pub fn attribute(mut self, value_tag: u8, name: &str, values: &[&str]) -> Self {
        for (index, value) in values.iter().enumerate() {
            self.bytes.push(value_tag);
            // Additional values of a 1setOf carry an empty name (RFC 8010 section 3.1.5).
            let name = if index == 0 { name } else { "" };
            push_string(&mut self.bytes, name);
            push_string(&mut self.bytes, value);
        }
        self
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.bytes.push(tag::END);
        self.bytes
    }
}

fn push_string(bytes: &mut Vec<u8>, text: &str) {
    // Names and values of our own requests are short constants, far below 64 KiB.
    let length = u16::try_from(text.len()).unwrap_or(u16::MAX);
    bytes.extend_from_slice(&length.to_be_bytes());
    bytes.extend_from_slice(&text.as_bytes()[..usize::from(length)]);
}

/// Reads a response (or any IPP message) from its bytes.
pub fn decode(bytes: &[u8]) -> Result<Response, IppError> {
    let mut reader = Reader { bytes, offset: 0 };
    let version = (reader.u8("the version")?, reader.u8("the version")?);
    let status = reader.u16("the status code")?;
    let request_id = reader.u32("the request id")?;
    let mut groups: Vec<Group> = Vec::new();
    // Nesting depth of collections: their members belong to the enclosing attribute.
    let mut depth = 0usize;
    loop {
        let at = reader.offset;
        let value_tag = reader.u8("the attributes (no end-of-attributes tag)")?;
        if value_tag < tag::FIRST_VALUE {
            if depth > 0 {
                return Err(malformed(at, "attribute group begins inside a collection"));
            }
            if value_tag == tag::END {
                break;
            }
            groups.push(Group {
                tag: value_tag,
                attributes: Vec::new(),
            });
            continue;
        }
        let name = reader.string("an attribute name")?;
        let raw = reader.bytes_with_length("an attribute value")?;
        let group = groups
            .last_mut()
            .ok_or_else(|| malformed(at, "attribute before any group tag"))?;
        match value_tag {
            tag::BEGIN_COLLECTION => depth += 1,
            tag::END_COLLECTION => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| malformed(at, "end of a collection that never began"))?;
                continue;
            }
            _ if depth > 0 => continue,
            _ => {}
        }
        if depth > 1 {
            continue;
        }
        let value = decode_value(value_tag, raw, at)?;
        if name.is_empty() {
            let attribute = group
                .attributes
                .last_mut()
                .ok_or_else(|| malformed(at, "additional value before any attribute"))?;
            attribute.values.push(value);
        } else {
            group.attributes.push(Attribute {
                name,
                values: vec![value],
            });
        }
    }
    Ok(Response {
        version,
        status,
        request_id,
        groups,
    })
}

fn decode_value(value_tag: u8, raw: &[u8], at: usize) -> Result<Value, IppError> {
    let fixed = |size: usize| -> Result<&[u8], IppError> {
        if raw.len() == size {
            Ok(raw)
        } else {
            Err(malformed(
                at,
                format!(
                    "value of tag {value_tag:#04x} has {} bytes, not {size}",
                    raw.len()
                ),
            ))
        }
    };
    let int = |bytes: &[u8]| i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    Ok(match value_tag {
        tag::FIRST_VALUE..=tag::LAST_OUT_OF_BAND => Value::OutOfBand(value_tag),
        tag::INTEGER => Value::Integer(int(fixed(4)?)),
        tag::ENUM => Value::Enum(int(fixed(4)?)),
        tag::BOOLEAN => Value::Boolean(fixed(1)?[0] != 0),
        tag::BEGIN_COLLECTION => Value::Collection,
        tag::TEXT_WITH_LANGUAGE | tag::NAME_WITH_LANGUAGE => {
            // Two length-prefixed strings: the language, then the text.
            let mut inner = Reader {
                bytes: raw,
                offset: 0,
            };
            inner.string("a with-language value")?;
            Value::String(inner.string("a with-language value")?)
        }
        tag::TEXT
        | tag::NAME
        | tag::KEYWORD
        | tag::URI
        | 0x46 // uriScheme
        | tag::CHARSET
        | tag::NATURAL_LANGUAGE
        | tag::MIME_MEDIA_TYPE
        | tag::MEMBER_NAME => Value::String(String::from_utf8_lossy(raw).into_owned()),
        other => Value::Other(other),
    })
}

fn malformed(offset: usize, message: impl Into<String>) -> IppError {
    IppError::Malformed {
        offset,
        message: message.into(),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, count: usize, inside: &'static str) -> Result<&'a [u8], IppError> {
        let end = self
            .offset
            .checked_add(count)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(IppError::Truncated {
                offset: self.bytes.len(),
                inside,
            })?;
        let taken = &self.bytes[self.offset..end];
        self.offset = end;
        Ok(taken)
    }

    fn u8(&mut self, inside: &'static str) -> Result<u8, IppError> {
        Ok(self.take(1, inside)?[0])
    }

    fn u16(&mut self, inside: &'static str) -> Result<u16, IppError> {
        let bytes = self.take(2, inside)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn u32(&mut self, inside: &'static str) -> Result<u32, IppError> {
        let bytes = self.take(4, inside)?;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn bytes_with_length(&mut self, inside: &'static str) -> Result<&'a [u8], IppError> {
        let length = self.u16(inside)?;
        self.take(usize::from(length), inside)
    }

    fn string(&mut self, inside: &'static str) -> Result<String, IppError> {
        Ok(String::from_utf8_lossy(self.bytes_with_length(inside)?).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_encoding_matches_rfc_8010_layout() {
        let bytes = Request::new(0x000b, 7)
            .attribute(tag::URI, "printer-uri", &["ipp://localhost/"])
            .attribute(
                tag::KEYWORD,
                "requested-attributes",
                &["printer-name", "printer-state"],
            )
            .finish();
        let mut expected = vec![2, 0, 0x00, 0x0b, 0, 0, 0, 7, 0x01];
        for (value_tag, name, value) in [
            (0x47, "attributes-charset", "utf-8"),
            (0x48, "attributes-natural-language", "en"),
            (0x45, "printer-uri", "ipp://localhost/"),
            (0x44, "requested-attributes", "printer-name"),
            (0x44, "", "printer-state"),
        ] {
            expected.push(value_tag);
            expected.extend_from_slice(&(name.len() as u16).to_be_bytes());
            expected.extend_from_slice(name.as_bytes());
            expected.extend_from_slice(&(value.len() as u16).to_be_bytes());
            expected.extend_from_slice(value.as_bytes());
        }
        expected.push(0x03);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn a_request_decodes_to_what_was_encoded() {
        let bytes = Request::new(0x4002, 1)
            .attribute(tag::KEYWORD, "requested-attributes", &["a", "b"])
            .finish();
        let message = decode(&bytes).expect("decodes");
        assert_eq!(message.status, 0x4002);
        let operation = &message.groups[0];
        assert_eq!(operation.string("attributes-charset"), Some("utf-8"));
        let requested: Vec<&str> = operation
            .get("requested-attributes")
            .expect("present")
            .strings()
            .collect();
        assert_eq!(requested, ["a", "b"]);
    }

    fn attr(bytes: &mut Vec<u8>, value_tag: u8, name: &str, value: &[u8]) {
        bytes.push(value_tag);
        bytes.extend_from_slice(&(name.len() as u16).to_be_bytes());
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(&(value.len() as u16).to_be_bytes());
        bytes.extend_from_slice(value);
    }

    #[test]
    fn values_of_every_read_syntax_and_skipped_collections() {
        let mut bytes = vec![2, 0, 0, 0, 0, 0, 0, 1, tag::PRINTER];
        attr(&mut bytes, tag::ENUM, "printer-state", &5i32.to_be_bytes());
        attr(&mut bytes, tag::BOOLEAN, "printer-is-accepting-jobs", &[0]);
        attr(
            &mut bytes,
            tag::INTEGER,
            "queued-job-count",
            &3i32.to_be_bytes(),
        );
        let mut with_language = Vec::new();
        with_language.extend_from_slice(&2u16.to_be_bytes());
        with_language.extend_from_slice(b"de");
        with_language.extend_from_slice(&6u16.to_be_bytes());
        with_language.extend_from_slice(b"Flur 2");
        attr(
            &mut bytes,
            tag::TEXT_WITH_LANGUAGE,
            "printer-location",
            &with_language,
        );
        attr(&mut bytes, tag::BEGIN_COLLECTION, "media-col-default", &[]);
        attr(&mut bytes, tag::MEMBER_NAME, "", b"media-size");
        attr(&mut bytes, tag::BEGIN_COLLECTION, "", &[]);
        attr(&mut bytes, tag::MEMBER_NAME, "", b"x-dimension");
        attr(&mut bytes, tag::INTEGER, "", &21000i32.to_be_bytes());
        attr(&mut bytes, tag::END_COLLECTION, "", &[]);
        attr(&mut bytes, tag::END_COLLECTION, "", &[]);
        attr(&mut bytes, 0x31, "printer-current-time", &[0; 11]);
        attr(&mut bytes, 0x13, "printer-info", &[]);
        attr(&mut bytes, tag::KEYWORD, "printer-state-reasons", b"paused");
        attr(&mut bytes, tag::KEYWORD, "", b"offline-report");
        bytes.push(tag::END);
        let message = decode(&bytes).expect("decodes");
        let printer = message.groups(tag::PRINTER).next().expect("a printer");
        assert_eq!(printer.integer("printer-state"), Some(5));
        assert_eq!(printer.boolean("printer-is-accepting-jobs"), Some(false));
        assert_eq!(printer.integer("queued-job-count"), Some(3));
        assert_eq!(printer.string("printer-location"), Some("Flur 2"));
        assert_eq!(
            printer.get("media-col-default").map(|a| a.values.clone()),
            Some(vec![Value::Collection])
        );
        assert_eq!(
            printer
                .get("printer-current-time")
                .and_then(Attribute::first),
            Some(&Value::Other(0x31))
        );
        assert_eq!(printer.string("printer-info"), None);
        let reasons: Vec<&str> = printer
            .get("printer-state-reasons")
            .expect("present")
            .strings()
            .collect();
        assert_eq!(reasons, ["paused", "offline-report"]);
    }

    #[test]
    fn damaged_messages_are_errors_not_panics() {
        let good = Request::new(0x000a, 1)
            .attribute(tag::URI, "printer-uri", &["ipp://localhost/"])
            .finish();
        for cut in 0..good.len() {
            assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut orphan = vec![2, 0, 0, 0, 0, 0, 0, 1];
        attr(&mut orphan, tag::KEYWORD, "x", b"y");
        assert_eq!(
            decode(&orphan).map(|_| ()),
            Err(IppError::Malformed {
                offset: 8,
                message: "attribute before any group tag".to_owned()
            })
        );
        let mut bad_integer = vec![2, 0, 0, 0, 0, 0, 0, 1, tag::PRINTER];
        attr(&mut bad_integer, tag::INTEGER, "queued-job-count", &[0, 1]);
        bad_integer.push(tag::END);
        assert_eq!(
            decode(&bad_integer).map(|_| ()).map_err(|e| e.to_string()),
            Err("IPP message byte 9: value of tag 0x21 has 2 bytes, not 4".to_owned())
        );
        let mut unclosed = vec![2, 0, 0, 0, 0, 0, 0, 1, tag::PRINTER];
        attr(&mut unclosed, tag::END_COLLECTION, "", &[]);
        assert!(decode(&unclosed).is_err());
    }
}
