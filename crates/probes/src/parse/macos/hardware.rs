//! The `hardware` section on macOS: `sysctl` for the CPU, memory size, load and swap, and
//! `vm_stat` for the memory in use.

use sitrep_snapshot::{Cpu, Hardware, Memory, Swap};

use super::{key_values, value_of};
use crate::ParseError;

/// `sysctl` names the `hardware` section reads; all exist on Intel and Apple silicon alike.
pub const SYSCTL_NAMES: [&str; 6] = [
    "machdep.cpu.brand_string",
    "hw.logicalcpu",
    "hw.physicalcpu",
    "hw.memsize",
    "vm.loadavg",
    "vm.swapusage",
];

/// The `hardware` section from `sysctl` (with [`SYSCTL_NAMES`]) and `vm_stat`.
pub fn hardware_of(sysctl: &str, vm_stat: &str) -> Result<Hardware, ParseError> {
    let values = key_values(sysctl);
    let number = |name: &str| value_of(&values, name).and_then(|value| value.parse::<u64>().ok());
    let total =
        number("hw.memsize").ok_or_else(|| ParseError::new(0, "sysctl printed no hw.memsize"))?;
    let brand = value_of(&values, "machdep.cpu.brand_string").map(str::to_owned);
    let (swap_total, swap_free) = value_of(&values, "vm.swapusage")
        .map(parse_swap_usage)
        .unwrap_or((0, 0));
    Ok(Hardware {
        cpu: Cpu {
            vendor: brand.as_deref().and_then(|brand| {
                if brand.starts_with("Apple") {
                    Some("Apple".to_owned())
                } else if brand.contains("Intel") {
                    Some("GenuineIntel".to_owned())
                } else {
                    None
                }
            }),
            model: brand,
            logical_cores: number("hw.logicalcpu")
                .and_then(|count| u32::try_from(count).ok())
                .unwrap_or(0),
            physical_cores: number("hw.physicalcpu").and_then(|count| u32::try_from(count).ok()),
            load_average: value_of(&values, "vm.loadavg").and_then(parse_load_average),
        },
        memory: Memory {
            total_bytes: total,
            available_bytes: available_memory(vm_stat, total)?,
        },
        swap: Swap {
            total_bytes: swap_total,
            free_bytes: swap_free,
        },
    })
}

/// `{ 2.41 2.73 2.88 }`.
fn parse_load_average(value: &str) -> Option<[f64; 3]> {
    let figures: Vec<f64> = value
        .trim_matches(['{', '}', ' '])
        .split_whitespace()
        .filter_map(crate::parse::finite)
        .collect();
    figures.try_into().ok()
}

/// `total = 2048.00M  used = 1164.25M  free = 883.75M  (encrypted)` as total and free bytes.
fn parse_swap_usage(value: &str) -> (u64, u64) {
    let figure = |name: &str| {
        let text = value
            .split(&format!("{name} = "))
            .nth(1)?
            .split_whitespace()
            .next()?;
        // The unit is the last character, which need not be one byte in text we did not check.
        let unit = text.chars().next_back()?;
        let number = &text[..text.len() - unit.len_utf8()];
        let scale = match unit {
            'K' => 1024.0,
            'M' => 1024.0 * 1024.0,
            'G' => 1024.0 * 1024.0 * 1024.0,
            _ => return None,
        };
        // Whole bytes are enough; the figure is a positive fraction of the memory size.
        Some((number.parse::<f64>().ok()? * scale) as u64)
    };
    (figure("total").unwrap_or(0), figure("free").unwrap_or(0))
}

/// What is available to new programs, as Activity Monitor counts it: everything but app memory
/// (anonymous pages that cannot be purged), wired memory and what the compressor holds.
pub fn available_memory(vm_stat: &str, total: u64) -> Result<u64, ParseError> {
    let page_size: u64 = vm_stat
        .lines()
        .next()
        .and_then(|header| header.split("page size of ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|size| size.parse().ok())
        .ok_or_else(|| ParseError::new(1, "vm_stat printed no page size"))?;
    let values = key_values(vm_stat);
    let pages = |name: &str| -> Result<u64, ParseError> {
        value_of(&values, name)
            .and_then(|value| value.trim_end_matches('.').parse().ok())
            .ok_or_else(|| ParseError::new(0, format!("vm_stat printed no \"{name}\"")))
    };
    let used = pages("Anonymous pages")?
        .saturating_sub(pages("Pages purgeable")?)
        .saturating_add(pages("Pages wired down")?)
        .saturating_add(pages("Pages occupied by compressor")?);
    Ok(total.saturating_sub(used.saturating_mul(page_size)))
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::parse::macos::tests_support::fixture;

    /// Found by the `macos` fuzz target (fuzz/regressions/macos/).
    #[test]
    fn swap_figures_ending_in_other_characters_are_no_figures() {
        assert_eq!(
            parse_swap_usage("total = 2048.00\u{fffd}  used = 0.00M  free = 1.00M"),
            (0, 1024 * 1024)
        );
        assert_eq!(parse_swap_usage("total = \u{e9}  free = "), (0, 0));
    }

    /// Page counts near 2^64 saturate rather than overflow (seen while fixing the above).
    #[test]
    fn huge_page_counts_saturate() {
        let vm_stat = format!(
            "Mach Virtual Memory Statistics: (page size of 16384 bytes)\n\
             Anonymous pages: {max}.\nPages purgeable: 0.\nPages wired down: {max}.\n\
             Pages occupied by compressor: {max}.\n",
            max = u64::MAX
        );
        assert_eq!(available_memory(&vm_stat, 1 << 34), Ok(0));
    }

    #[test]
    fn macbook_pro_m2() {
        let hardware = hardware_of(
            &fixture("macbook/sysctl-hardware.txt"),
            &fixture("macbook/vm_stat.txt"),
        );
        expect![[r#"
            Ok(
                Hardware {
                    cpu: Cpu {
                        model: Some(
                            "Apple M2 Pro",
                        ),
                        vendor: Some(
                            "Apple",
                        ),
                        logical_cores: 12,
                        physical_cores: Some(
                            12,
                        ),
                        load_average: Some(
                            [
                                2.41,
                                2.73,
                                2.88,
                            ],
                        ),
                    },
                    memory: Memory {
                        total_bytes: 34359738368,
                        available_bytes: 11770855424,
                    },
                    swap: Swap {
                        total_bytes: 2147483648,
                        free_bytes: 926679040,
                    },
                },
            )
        "#]]
        .assert_debug_eq(&hardware);
    }
}
