//! Human-friendly config values: durations like "15m" and sizes like "50MiB".

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, de};

/// A duration written as one or more number-unit pairs: "500ms", "2s", "15m", "1h30m", "1d".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub const fn from_secs(secs: u64) -> Self {
        HumanDuration(Duration::from_secs(secs))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty duration; write e.g. \"30s\", \"15m\" or \"1h\"".into());
        }
        let mut total = Duration::ZERO;
        let mut rest = text;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let unit_end = rest[digits..]
                .find(|c: char| c.is_ascii_digit())
                .map_or(rest.len(), |i| digits + i);
            let (number, unit) = (&rest[..digits], rest[digits..unit_end].trim());
            let number: u64 = number.parse().map_err(|_| {
                format!("{text:?} is not a duration; write e.g. \"30s\", \"15m\" or \"1h30m\"")
            })?;
            let unit_secs = match unit {
                "ms" => None,
                "s" | "sec" => Some(1),
                "m" | "min" => Some(60),
                "h" => Some(3600),
                "d" => Some(86400),
                "" => {
                    return Err(format!(
                        "{text:?} lacks a unit; write e.g. \"{number}s\" or \"{number}m\""
                    ));
                }
                other => {
                    return Err(format!(
                        "unknown unit {other:?} in {text:?}; use ms, s, m, h or d"
                    ));
                }
            };
            let part = match unit_secs {
                None => Duration::from_millis(number),
                Some(secs) => number
                    .checked_mul(secs)
                    .map(Duration::from_secs)
                    .ok_or_else(|| format!("{text:?} is too long"))?,
            };
            total = total
                .checked_add(part)
                .ok_or_else(|| format!("{text:?} is too long"))?;
            rest = &rest[unit_end..];
        }
        Ok(HumanDuration(total))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.as_millis();
        match millis {
            m if m % 3_600_000 == 0 && m > 0 => write!(f, "{}h", m / 3_600_000),
            m if m % 60_000 == 0 && m > 0 => write!(f, "{}m", m / 60_000),
            m if m % 1000 == 0 => write!(f, "{}s", m / 1000),
            m => write!(f, "{m}ms"),
        }
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        HumanDuration::parse(&text).map_err(de::Error::custom)
    }
}

/// A size in bytes, written as a number of bytes or with a unit: "50MiB", "1GB", "512KiB".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = (&text[..split], text[split..].trim());
        let number: u64 = number
            .parse()
            .map_err(|_| format!("{text:?} is not a size; write e.g. \"50MiB\" or \"1GiB\""))?;
        let factor: u64 = match unit {
            "" | "B" => 1,
            "KB" | "kB" => 1000,
            "MB" => 1000_u64.pow(2),
            "GB" => 1000_u64.pow(3),
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            other => {
                return Err(format!(
                    "unknown size unit {other:?} in {text:?}; use B, KiB, MiB, GiB, KB, MB or GB"
                ));
            }
        };
        number
            .checked_mul(factor)
            .map(ByteSize)
            .ok_or_else(|| format!("{text:?} is too large"))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Bytes(bytes) => Ok(ByteSize(bytes)),
            Raw::Text(text) => ByteSize::parse(&text).map_err(de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let parse = |s| HumanDuration::parse(s).map(|d| d.0);
        assert_eq!(parse("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("1d"), Ok(Duration::from_secs(86400)));
        assert_eq!(
            parse("15"),
            Err("\"15\" lacks a unit; write e.g. \"15s\" or \"15m\"".to_string())
        );
        assert_eq!(
            parse("15 parsecs"),
            Err("unknown unit \"parsecs\" in \"15 parsecs\"; use ms, s, m, h or d".to_string())
        );
        assert!(parse("m").is_err());
        assert!(parse("").is_err());
        assert!(parse("99999999999999999999d").is_err());
        assert_eq!(HumanDuration::from_secs(900).to_string(), "15m");
        assert_eq!(
            HumanDuration(Duration::from_millis(1500)).to_string(),
            "1500ms"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(ByteSize::parse("50MiB"), Ok(ByteSize(50 << 20)));
        assert_eq!(ByteSize::parse("1GB"), Ok(ByteSize(1_000_000_000)));
        assert_eq!(ByteSize::parse("4096"), Ok(ByteSize(4096)));
        assert!(ByteSize::parse("50 MiBs").is_err());
        assert!(ByteSize::parse("lots").is_err());
        assert!(ByteSize::parse("99999999999GiB").is_err());
    }
}
