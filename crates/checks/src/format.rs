//! Human figures for findings and reports: byte sizes, percentages, durations, round-trip times.
//!
//! Public so the agent's report prints the same figures the findings quote.

use sitrep_snapshot::ProbeFailureKind;

const BYTE_UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/// Binary units with one decimal: "512 B", "1.0 KiB", "4.1 GiB", "233.5 GiB".
pub fn bytes(n: u64) -> String {
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    // Move up before rounding would print "1024.0 KiB".
    while value >= 1023.95 && unit < BYTE_UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", BYTE_UNITS[unit])
}

/// One decimal, rounded down: "98.2 %". Rounded down so a figure never shows a threshold
/// (90 %, 97 %) the value has not reached.
pub fn percent(value: f64) -> String {
    format!("{:.1} %", round_down(value, 10.0))
}

/// Whole percent, rounded down, for titles: "98 %".
pub fn whole_percent(value: f64) -> String {
    format!("{:.0} %", round_down(value, 1.0))
}

fn round_down(value: f64, scale: f64) -> f64 {
    // The epsilon keeps 98.2 (stored as 98.19999...) from printing as 98.1.
    (value * scale + 1e-6).floor() / scale
}

/// The two largest units: "34 days 2 hours", "5 hours 3 minutes", "45 seconds".
pub fn duration(seconds: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (86_400, "day"),
        (3_600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    let mut rest = seconds;
    let mut parts = Vec::new();
    for (size, name) in UNITS {
        let amount = rest / size;
        rest %= size;
        if amount > 0 || (parts.is_empty() && size == 1) {
            parts.push(format!(
                "{amount} {name}{}",
                if amount == 1 { "" } else { "s" }
            ));
        } else if !parts.is_empty() {
            // "2 days 4 minutes" would skip a unit and read oddly; stop at the first gap.
            break;
        }
        if parts.len() == 2 {
            break;
        }
    }
    parts.join(" ")
}

/// Milliseconds with one decimal: "1.2 ms".
pub fn millis(ms: f64) -> String {
    format!("{ms:.1} ms")
}

/// A count with its noun: "1 filesystem", "3 filesystems".
pub fn counted(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

/// Thousands separated by commas: "6,553,600".
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// What a failed probe did, to follow the target's name: "printer.corp.example does not answer (timed out)".
pub fn probe_failure(kind: ProbeFailureKind) -> &'static str {
    match kind {
        ProbeFailureKind::Timeout => "does not answer (timed out)",
        ProbeFailureKind::Refused => "refuses the connection",
        ProbeFailureKind::Unreachable => "cannot be reached (no route to it)",
        ProbeFailureKind::PacketLoss => "loses packets",
        ProbeFailureKind::PermissionDenied => "could not be probed (not permitted)",
        ProbeFailureKind::NameNotFound => "does not exist in DNS (NXDOMAIN)",
        ProbeFailureKind::NoRecords => "has no DNS record of the type asked",
        ProbeFailureKind::DnsError => "gets an error from the DNS server",
        ProbeFailureKind::Resolve => "cannot be reached (its name does not resolve)",
        ProbeFailureKind::Tls => "fails the secure (TLS) connection",
        ProbeFailureKind::HttpStatus => "answers with an HTTP error",
        ProbeFailureKind::Other => "fails",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_pick_the_largest_unit_below_1024() {
        let shown: Vec<String> = [
            0,
            1023,
            1024,
            1_048_575,
            4_402_341_478,
            250_718_100_684,
            u64::MAX,
        ]
        .into_iter()
        .map(bytes)
        .collect();
        assert_eq!(
            shown,
            [
                "0 B",
                "1023 B",
                "1.0 KiB",
                "1.0 MiB",
                "4.1 GiB",
                "233.5 GiB",
                "16.0 EiB"
            ]
        );
    }

    #[test]
    fn percents_round_down() {
        assert_eq!(percent(98.2), "98.2 %");
        assert_eq!(percent(89.99), "89.9 %");
        assert_eq!(percent(90.0), "90.0 %");
        assert_eq!(whole_percent(96.99), "96 %");
        assert_eq!(whole_percent(97.0), "97 %");
    }

    #[test]
    fn durations_show_two_adjacent_units() {
        let shown: Vec<String> = [
            0,
            1,
            59,
            3_660,
            86_400,
            2_937_600 + 7_200 + 30,
            86_400 + 240,
        ]
        .into_iter()
        .map(duration)
        .collect();
        assert_eq!(
            shown,
            [
                "0 seconds",
                "1 second",
                "59 seconds",
                "1 hour 1 minute",
                "1 day",
                "34 days 2 hours",
                "1 day"
            ]
        );
    }

    #[test]
    fn counts_group_thousands_and_take_their_noun() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(6_553_600), "6,553,600");
        assert_eq!(counted(1, "filesystem", "filesystems"), "1 filesystem");
        assert_eq!(counted(3, "filesystem", "filesystems"), "3 filesystems");
    }
}
