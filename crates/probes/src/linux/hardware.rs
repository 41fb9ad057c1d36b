//! The `hardware` section on Linux: CPU from /proc/cpuinfo, load from /proc/loadavg, memory
//! and swap from /proc/meminfo.

use std::collections::{BTreeMap, BTreeSet};

use sitrep_snapshot::{Cpu, Hardware, Memory, Section, Swap};

use super::parse_file;
use crate::{Ctx, ParseError, ReadError};

/// Gathers the `hardware` section; the load average is optional, CPU and memory are not.
pub fn gather(ctx: &Ctx) -> Section<Hardware> {
    read_hardware(ctx).into()
}

fn read_hardware(ctx: &Ctx) -> Result<Hardware, ReadError> {
    let mut cpu = parse_file(ctx, "/proc/cpuinfo", parse_cpuinfo)?;
    cpu.load_average = parse_file(ctx, "/proc/loadavg", parse_loadavg)
        .inspect_err(|error| tracing::debug!(%error, "load average unavailable"))
        .ok();
    let MemInfo { memory, swap } = parse_file(ctx, "/proc/meminfo", parse_meminfo)?;
    Ok(Hardware { cpu, memory, swap })
}

/// One `processor` stanza of /proc/cpuinfo, as far as core counting needs it.
#[derive(Default)]
struct Stanza<'a> {
    is_processor: bool,
    physical_id: Option<&'a str>,
    core_id: Option<&'a str>,
}

/// Parses /proc/cpuinfo: model and vendor of the first processor, logical CPUs (`processor`
/// entries) and physical cores (distinct `physical id`/`core id` pairs). Many ARM kernels print
/// no topology at all, and then the physical core count is `None` rather than a guess.
pub fn parse_cpuinfo(text: &str) -> Result<Cpu, ParseError> {
    let mut cpu = Cpu::default();
    let mut cores = BTreeSet::new();
    let mut topology_complete = true;
    let mut stanza = Stanza::default();
    let mut finish_stanza = |stanza: Stanza| {
        if stanza.is_processor {
            match (stanza.physical_id, stanza.core_id) {
                (Some(package), Some(core)) => {
                    cores.insert((package.to_owned(), core.to_owned()));
                }
                _ => topology_complete = false,
            }
        }
    };
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            finish_stanza(std::mem::take(&mut stanza));
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(ParseError::new(
                index + 1,
                format!("expected \"key : value\", found {line:?}"),
            ));
        };
        let value = value.trim();
        match key.trim() {
            "processor" => {
                stanza.is_processor = true;
                cpu.logical_cores += 1;
            }
            "physical id" => stanza.physical_id = Some(value),
            "core id" => stanza.core_id = Some(value),
            "model name" if cpu.model.is_none() => cpu.model = Some(value.to_owned()),
            "vendor_id" if cpu.vendor.is_none() => cpu.vendor = Some(value.to_owned()),
            _ => {}
        }
    }
    finish_stanza(stanza);
    if cpu.logical_cores == 0 {
        return Err(ParseError::new(0, "no processor entries"));
    }
    if topology_complete {
        cpu.physical_cores = u32::try_from(cores.len()).ok();
    }
    Ok(cpu)
}

/// The 1, 5 and 15 minute load averages from /proc/loadavg (`"0.52 0.58 0.59 1/1234 5678"`).
pub fn parse_loadavg(text: &str) -> Result<[f64; 3], ParseError> {
    let mut fields = text.split_whitespace();
    let mut next_load = || -> Result<f64, ParseError> {
        let field = fields
            .next()
            .ok_or_else(|| ParseError::new(1, "fewer than three load averages"))?;
        crate::parse::finite(field)
            .ok_or_else(|| ParseError::new(1, format!("load average {field:?} is not a number")))
    };
    Ok([next_load()?, next_load()?, next_load()?])
}

/// Memory and swap as /proc/meminfo reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemInfo {
    pub memory: Memory,
    pub swap: Swap,
}

/// Parses /proc/meminfo (`MemTotal:       16303428 kB`), converting kB to bytes.
///
/// Kernels before 3.14 have no `MemAvailable`; there the available memory is estimated the way
/// `free` did then, as `MemFree + Buffers + Cached`.
pub fn parse_meminfo(text: &str) -> Result<MemInfo, ParseError> {
    let mut fields = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let invalid = || {
            ParseError::new(
                index + 1,
                format!("expected \"Key: number [kB]\", found {line:?}"),
            )
        };
        let (key, value) = line.split_once(':').ok_or_else(invalid)?;
        let mut parts = value.split_whitespace();
        let number: u64 = parts
            .next()
            .and_then(|number| number.parse().ok())
            .ok_or_else(invalid)?;
        let bytes = match parts.next() {
            Some("kB") => number.saturating_mul(1024),
            None => number,
            Some(_) => return Err(invalid()),
        };
        fields.insert(key.trim(), bytes);
    }
    let field = |key: &str| {
        fields
            .get(key)
            .copied()
            .ok_or_else(|| ParseError::new(0, format!("no {key} line")))
    };
    let available_bytes = match field("MemAvailable") {
        Ok(available) => available,
        Err(_) => field("MemFree")?
            .saturating_add(field("Buffers").unwrap_or(0))
            .saturating_add(field("Cached").unwrap_or(0)),
    };
    Ok(MemInfo {
        memory: Memory {
            total_bytes: field("MemTotal")?,
            available_bytes,
        },
        // A kernel built without swap support prints no swap lines at all.
        swap: Swap {
            total_bytes: field("SwapTotal").unwrap_or(0),
            free_bytes: field("SwapFree").unwrap_or(0),
        },
    })
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn cpuinfo_x86_with_smt() {
        let text = include_str!("../../tests/fixtures/laptop-ubuntu/proc/cpuinfo");
        expect![[r#"
            Ok(
                Cpu {
                    model: Some(
                        "Intel(R) Core(TM) i5-7200U CPU @ 2.50GHz",
                    ),
                    vendor: Some(
                        "GenuineIntel",
                    ),
                    logical_cores: 4,
                    physical_cores: Some(
                        2,
                    ),
                    load_average: None,
                },
            )
        "#]]
        .assert_debug_eq(&parse_cpuinfo(text));
    }

    #[test]
    fn cpuinfo_arm_without_topology() {
        let text = include_str!("../../tests/fixtures/raspberry-pi/proc/cpuinfo");
        expect![[r#"
            Ok(
                Cpu {
                    model: None,
                    vendor: None,
                    logical_cores: 4,
                    physical_cores: None,
                    load_average: None,
                },
            )
        "#]]
        .assert_debug_eq(&parse_cpuinfo(text));
    }

    #[test]
    fn cpuinfo_garbage() {
        expect![[r#"
            Err(
                ParseError {
                    line: 2,
                    message: "expected \"key : value\", found \"nonsense\"",
                },
            )
        "#]]
        .assert_debug_eq(&parse_cpuinfo("processor\t: 0\nnonsense\n"));
        expect![[r#"
            Err(
                ParseError {
                    line: 0,
                    message: "no processor entries",
                },
            )
        "#]]
        .assert_debug_eq(&parse_cpuinfo("Hardware\t: BCM2835\n"));
    }

    #[test]
    fn loadavg() {
        assert_eq!(
            parse_loadavg("0.52 0.58 0.59 1/1234 5678\n"),
            Ok([0.52, 0.58, 0.59])
        );
        assert_eq!(
            parse_loadavg("0.52 0.58\n"),
            Err(ParseError::new(1, "fewer than three load averages"))
        );
        assert_eq!(
            parse_loadavg("high 0.58 0.59\n"),
            Err(ParseError::new(1, "load average \"high\" is not a number"))
        );
    }

    /// `str::parse` reads these as floats, but JSON has no such numbers: a snapshot holding one
    /// would be written with `null` there and refused by the collector.
    #[test]
    fn loadavg_is_never_nan_or_infinite() {
        for figure in ["NaN", "inf", "-infinity"] {
            assert_eq!(
                parse_loadavg(&format!("{figure} 0.58 0.59 1/1234 5678")),
                Err(ParseError::new(
                    1,
                    format!("load average {figure:?} is not a number")
                ))
            );
        }
    }

    #[test]
    fn meminfo() {
        let text = include_str!("../../tests/fixtures/laptop-ubuntu/proc/meminfo");
        expect![[r#"
            Ok(
                MemInfo {
                    memory: Memory {
                        total_bytes: 16592334848,
                        available_bytes: 11289952256,
                    },
                    swap: Swap {
                        total_bytes: 4294963200,
                        free_bytes: 4294963200,
                    },
                },
            )
        "#]]
        .assert_debug_eq(&parse_meminfo(text));
    }

    #[test]
    fn meminfo_of_a_kernel_without_mem_available() {
        // CentOS 6, kernel 2.6.32.
        let text = "MemTotal:        1922760 kB
MemFree:          142884 kB
Buffers:          162772 kB
Cached:          1214180 kB
SwapCached:         1392 kB
Active:           778148 kB
Inactive:         768024 kB
SwapTotal:       4128764 kB
SwapFree:        4113920 kB
Dirty:                64 kB
HugePages_Total:       0
HugePages_Free:        0
Hugepagesize:       2048 kB
";
        let info = parse_meminfo(text).expect("valid meminfo");
        assert_eq!(info.memory.total_bytes, 1_922_760 * 1024);
        assert_eq!(
            info.memory.available_bytes,
            (142_884 + 162_772 + 1_214_180) * 1024
        );
        assert_eq!(
            info.swap,
            Swap {
                total_bytes: 4_128_764 * 1024,
                free_bytes: 4_113_920 * 1024
            }
        );
    }

    #[test]
    fn meminfo_garbage() {
        expect![[r#"
            Err(
                ParseError {
                    line: 1,
                    message: "expected \"Key: number [kB]\", found \"MemTotal: lots\"",
                },
            )
        "#]]
        .assert_debug_eq(&parse_meminfo("MemTotal: lots\n"));
        expect![[r#"
            Err(
                ParseError {
                    line: 1,
                    message: "expected \"Key: number [kB]\", found \"MemTotal: 1 MB\"",
                },
            )
        "#]]
        .assert_debug_eq(&parse_meminfo("MemTotal: 1 MB\n"));
        expect![[r#"
            Err(
                ParseError {
                    line: 0,
                    message: "no MemTotal line",
                },
            )
        "#]]
        .assert_debug_eq(&parse_meminfo("MemFree: 1 kB\nMemAvailable: 1 kB\n"));
        expect![[r#"
            Err(
                ParseError {
                    line: 1,
                    message: "expected \"Key: number [kB]\", found \"<html>not meminfo</html>\"",
                },
            )
        "#]]
        .assert_debug_eq(&parse_meminfo("<html>not meminfo</html>\n"));
    }
}
