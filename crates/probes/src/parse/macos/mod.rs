//! Parsers of what the macOS readers get: `sw_vers`, `sysctl`, `who`, `vm_stat`, `df`,
//! `mount`, `ifconfig`, `networksetup`, `route`, `scutil` and `system_profiler -json`.

pub mod disks;
pub mod hardware;
pub mod network;
pub mod os;
pub mod peripherals;

/// `name: value` lines (`sysctl`, `sw_vers`, `vm_stat`), trimmed, in order; lines without a
/// colon are left out.
pub fn key_values(text: &str) -> Vec<(&str, &str)> {
    text.lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.trim(), value.trim()))
        })
        .collect()
}

/// The value of `name` among [`key_values`].
pub fn value_of<'a>(pairs: &[(&'a str, &'a str)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| *value)
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
pub(crate) mod tests_support {
    use chrono::{DateTime, Utc};

    /// A recorded output under `tests/fixtures/macos/`.
    pub fn fixture(path: &str) -> String {
        crate::parse::fixture(&format!("macos/{path}"))
    }

    /// When the MacBook's outputs were recorded.
    pub fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_732_617_612, 0).unwrap_or_default()
    }
}
