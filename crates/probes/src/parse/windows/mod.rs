//! Parsers of what the Windows readers get: CIM (WMI) instances as PowerShell's `ConvertTo-Json`
//! prints them, and `ipconfig /all`.
//!
//! A reader asks several CIM classes in one PowerShell process (a cold start costs a good part
//! of a second); [`powershell_script`] builds that script and [`split_documents`] cuts its
//! output back into one `ConvertTo-Json` document per query.

pub mod disks;
pub mod hardware;
pub mod ipconfig;
pub mod network;
pub mod os;
pub mod peripherals;

use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;

use crate::ParseError;

/// Printed after each query's document; no `ConvertTo-Json` output holds it on a line alone.
pub const DOCUMENT_END: &str = "#sitrep-document-end";

/// One PowerShell script running `queries` in order, each piped to `ConvertTo-Json` and followed
/// by [`DOCUMENT_END`]. A failing query (errors stop it) prints its error on standard error and
/// an empty document, so the others still answer.
pub fn powershell_script(queries: &[&str]) -> String {
    // Windows PowerShell writes to a pipe in the OEM code page unless told otherwise, which
    // garbles every name outside ASCII (printers, adapters, users).
    let mut script = String::from(
        "$ProgressPreference = 'SilentlyContinue'; $ErrorActionPreference = 'Stop'; \
         [Console]::OutputEncoding = [System.Text.Encoding]::UTF8; ",
    );
    for query in queries {
        script.push_str(&format!(
            "try {{ {query} | ConvertTo-Json -Depth 4 }} catch {{ [Console]::Error.WriteLine($_) }}; '{DOCUMENT_END}'; "
        ));
    }
    script
}

/// `script` as `powershell -EncodedCommand` takes it (base64 of UTF-16LE): nothing in it then
/// needs quoting for the Windows command line, whose rules PowerShell applies unevenly.
pub fn encoded_command(script: &str) -> String {
    let utf16: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    BASE64_STANDARD.encode(utf16)
}

/// The documents of a [`powershell_script`]'s output, one per query; `None` when the output
/// does not hold `count` of them (PowerShell stopped half-way).
pub fn split_documents(output: &str, count: usize) -> Option<Vec<&str>> {
    let mut documents = Vec::with_capacity(count);
    let mut rest = output;
    for _ in 0..count {
        let end = rest
            .match_indices(DOCUMENT_END)
            .map(|(index, _)| index)
            .find(|index| *index == 0 || rest[..*index].ends_with('\n'))?;
        documents.push(&rest[..end]);
        rest = rest[end + DOCUMENT_END.len()..].trim_start_matches(['\r', '\n']);
    }
    Some(documents)
}

/// The instances of one `ConvertTo-Json` document: it prints no instance as nothing, one as a
/// bare object and several as an array, so callers always get a list.
pub fn cim_instances<T: DeserializeOwned>(text: &str) -> Result<Vec<T>, ParseError> {
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let value: Value = serde_json::from_str(text).map_err(json_error)?;
    let values = match value {
        Value::Array(values) => values,
        Value::Null => Vec::new(),
        object @ Value::Object(_) => vec![object],
        other => {
            return Err(ParseError::new(
                1,
                format!("expected CIM instances, found {other}"),
            ));
        }
    };
    values
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            serde_json::from_value(value)
                .map_err(|error| ParseError::new(0, format!("instance {}: {error}", index + 1)))
        })
        .collect()
}

/// The single instance of a class that has one per machine (Win32_OperatingSystem).
pub fn cim_instance<T: DeserializeOwned>(text: &str, class: &str) -> Result<T, ParseError> {
    cim_instances(text)?
        .into_iter()
        .next()
        .ok_or_else(|| ParseError::new(0, format!("no {class} instance")))
}

/// A JSON syntax error at its line.
pub fn json_error(error: serde_json::Error) -> ParseError {
    ParseError::new(error.line(), error.to_string())
}

/// A date as the queries print it (ISO 8601, or a bare `yyyy-MM-dd` taken as midnight UTC), or
/// as `ConvertTo-Json` prints a `DateTime` left alone: Windows PowerShell 5.1 writes
/// `"\/Date(ms)\/"` (and `{"value": "\/Date(ms)\/", "DateTime": ...}` for a date that a type
/// extension added), PowerShell 7 writes ISO 8601 with the local offset.
pub fn cim_datetime<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(datetime_of(&Value::deserialize(deserializer)?))
}

fn datetime_of(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::String(text) => {
            if let Some(inner) = text
                .strip_prefix("/Date(")
                .and_then(|rest| rest.strip_suffix(")/"))
            {
                // `/Date(ms)/`, or `/Date(ms+0100)/` where an offset was kept; ms are UTC.
                let digits_end = inner
                    .char_indices()
                    .skip(1)
                    .find(|(_, c)| !c.is_ascii_digit())
                    .map_or(inner.len(), |(index, _)| index);
                let millis: i64 = inner[..digits_end].parse().ok()?;
                DateTime::from_timestamp_millis(millis)
            } else if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Some(date.and_time(NaiveTime::MIN).and_utc())
            } else {
                DateTime::parse_from_rfc3339(text)
                    .ok()
                    .map(|time| time.with_timezone(&Utc))
            }
        }
        Value::Object(object) => object.get("value").and_then(datetime_of),
        _ => None,
    }
}

/// A CIM unsigned integer: a JSON number, or a string of digits (uint64 values reach some
/// PowerShell versions as strings).
pub fn cim_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    })
}

/// A CIM string array (IPAddress, DNSServerSearchOrder); `null` when the adapter has none.
pub fn cim_strings<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Array(values) => values
            .into_iter()
            .filter_map(|value| match value {
                Value::String(text) => Some(text),
                _ => None,
            })
            .collect(),
        Value::String(text) => vec![text],
        _ => Vec::new(),
    })
}

/// A hardware address as Windows prints it (`8C-16-45-9E-21-D0` or `8C:16:...`), lower-case
/// and colon-separated.
pub fn mac_of(text: &str) -> Option<String> {
    let mac = text.trim().replace('-', ":").to_ascii_lowercase();
    (mac.len() == 17 && mac.split(':').all(|octet| octet.len() == 2)).then_some(mac)
}

/// A CIM string that may be absent or blank, trimmed.
pub fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
pub(crate) mod tests_support {
    use chrono::{DateTime, Utc};

    /// A recorded output under `tests/fixtures/windows/`.
    pub fn fixture(path: &str) -> String {
        crate::parse::fixture(&format!("windows/{path}"))
    }

    /// When the laptop's documents were recorded.
    pub fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_732_617_612, 500_000_000).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Named {
        name: String,
    }

    #[test]
    fn one_instance_is_an_object_several_an_array_none_nothing() {
        let one = cim_instances::<Named>("{\r\n    \"Name\":  \"C:\"\r\n}\r\n");
        assert_eq!(one, Ok(vec![Named { name: "C:".into() }]));
        let two = cim_instances::<Named>("[{\"Name\": \"C:\"}, {\"Name\": \"D:\"}]");
        assert_eq!(two.map(|named| named.len()), Ok(2));
        assert_eq!(cim_instances::<Named>("\r\n"), Ok(Vec::new()));
        assert_eq!(
            cim_instances::<Named>("{\"Name\": \"C:\",\n"),
            Err(ParseError::new(
                1,
                "EOF while parsing a value at line 1 column 14"
            ))
        );
        assert_eq!(
            cim_instances::<Named>("[{\"Nom\": \"C:\"}]"),
            Err(ParseError::new(0, "instance 1: missing field `Name`"))
        );
    }

    #[test]
    fn dates_of_both_powershells() {
        let date = |json: &str| datetime_of(&serde_json::from_str(json).unwrap_or_default());
        let expected = DateTime::parse_from_rfc3339("2024-11-25T07:20:12.500Z")
            .ok()
            .map(|time| time.with_timezone(&Utc));
        assert_eq!(date(r#""\/Date(1732519212500)\/""#), expected);
        assert_eq!(date(r#""/Date(1732519212500+0100)/""#), expected);
        assert_eq!(
            date(r#"{"value": "\/Date(1732519212500)\/", "DateTime": "Monday, 25 November 2024"}"#),
            expected
        );
        assert_eq!(date(r#""2024-11-25T08:20:12.5+01:00""#), expected);
        assert_eq!(date(r#""2024-11-25T07:20:12.5000000Z""#), expected);
        assert_eq!(
            date(r#""2024-11-13""#).map(|time| time.to_rfc3339()),
            Some("2024-11-13T00:00:00+00:00".to_owned())
        );
        assert_eq!(date("null"), None);
        assert_eq!(date(r#""11/25/2024""#), None);
    }

    #[test]
    fn documents_are_cut_at_their_markers() {
        let output = "{\r\n  \"A\": 1\r\n}\r\n#sitrep-document-end\r\n#sitrep-document-end\r\n[1]\r\n#sitrep-document-end\r\n";
        assert_eq!(
            split_documents(output, 3),
            Some(vec!["{\r\n  \"A\": 1\r\n}\r\n", "", "[1]\r\n"])
        );
        assert_eq!(split_documents("{}\r\n#sitrep-document-end\r\n", 2), None);
    }

    #[test]
    fn script_runs_each_query_on_its_own() {
        let script = powershell_script(&["Get-CimInstance Win32_Battery"]);
        assert!(script.ends_with(
            "try { Get-CimInstance Win32_Battery | ConvertTo-Json -Depth 4 } catch { [Console]::Error.WriteLine($_) }; '#sitrep-document-end'; "
        ));
    }

    #[test]
    fn scripts_travel_encoded() {
        // What `[Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes("'a'"))` prints.
        assert_eq!(encoded_command("'a'"), "JwBhACcA");
    }

    #[test]
    fn macs() {
        assert_eq!(
            mac_of("8C-16-45-9E-21-D0").as_deref(),
            Some("8c:16:45:9e:21:d0")
        );
        assert_eq!(
            mac_of("8C:16:45:9E:21:D0").as_deref(),
            Some("8c:16:45:9e:21:d0")
        );
        assert_eq!(mac_of(""), None);
    }
}
