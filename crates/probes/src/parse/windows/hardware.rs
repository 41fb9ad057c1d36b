//! The `hardware` section on Windows: Win32_Processor, and the memory and paging-file figures
//! of Win32_OperatingSystem.

use serde::Deserialize;
use sitrep_snapshot::{Cpu, Hardware, Memory, Swap};

use super::os::{OPERATING_SYSTEM_QUERY, OperatingSystem};
use super::{cim_instance, cim_instances, non_empty};
use crate::ParseError;

pub const PROCESSOR_QUERY: &str = "Get-CimInstance -ClassName Win32_Processor | \
     Select-Object Name, Manufacturer, NumberOfCores, NumberOfLogicalProcessors";

/// The queries of the `hardware` section, in the order [`hardware_of`] takes their documents.
pub const QUERIES: [&str; 2] = [PROCESSOR_QUERY, OPERATING_SYSTEM_QUERY];

/// One processor package (socket).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Processor {
    pub name: Option<String>,
    pub manufacturer: Option<String>,
    pub number_of_cores: Option<u32>,
    pub number_of_logical_processors: Option<u32>,
}

/// The `hardware` section from the Win32_Processor and Win32_OperatingSystem documents.
/// Windows has no load average.
pub fn hardware_of(processors: &str, operating_system: &str) -> Result<Hardware, ParseError> {
    let processors: Vec<Processor> = cim_instances(processors)?;
    let system: OperatingSystem = cim_instance(operating_system, "Win32_OperatingSystem")?;
    let first = processors.first();
    let sum = |count: fn(&Processor) -> Option<u32>| {
        processors
            .iter()
            .map(count)
            .sum::<Option<u32>>()
            .filter(|total| *total > 0)
    };
    let kib = |value: Option<u64>| value.unwrap_or(0).saturating_mul(1024);
    Ok(Hardware {
        cpu: Cpu {
            // Intel pads its brand string with trailing blanks.
            model: first.and_then(|cpu| non_empty(cpu.name.as_deref())),
            vendor: first.and_then(|cpu| non_empty(cpu.manufacturer.as_deref())),
            logical_cores: sum(|cpu| cpu.number_of_logical_processors).unwrap_or(0),
            physical_cores: sum(|cpu| cpu.number_of_cores),
            load_average: None,
        },
        memory: Memory {
            total_bytes: kib(system.total_visible_memory_size),
            available_bytes: kib(system.free_physical_memory),
        },
        swap: Swap {
            total_bytes: kib(system.size_stored_in_paging_files),
            free_bytes: kib(system.free_space_in_paging_files),
        },
    })
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::parse::windows::tests_support::fixture;

    #[test]
    fn laptop_and_a_two_socket_workstation() {
        let laptop = hardware_of(
            &fixture("laptop/Win32_Processor.json"),
            &fixture("laptop/Win32_OperatingSystem.json"),
        );
        expect![[r#"
            Ok(
                Hardware {
                    cpu: Cpu {
                        model: Some(
                            "13th Gen Intel(R) Core(TM) i7-1365U",
                        ),
                        vendor: Some(
                            "GenuineIntel",
                        ),
                        logical_cores: 12,
                        physical_cores: Some(
                            10,
                        ),
                        load_average: None,
                    },
                    memory: Memory {
                        total_bytes: 16865120256,
                        available_bytes: 5402746880,
                    },
                    swap: Swap {
                        total_bytes: 2550136832,
                        free_bytes: 2059788288,
                    },
                },
            )
        "#]]
        .assert_debug_eq(&laptop);
        let workstation = hardware_of(
            &fixture("desktop/Win32_Processor.json"),
            &fixture("desktop/Win32_OperatingSystem.json"),
        )
        .map(|hardware| hardware.cpu);
        expect![[r#"
            Ok(
                Cpu {
                    model: Some(
                        "Intel(R) Xeon(R) Silver 4210R CPU @ 2.40GHz",
                    ),
                    vendor: Some(
                        "GenuineIntel",
                    ),
                    logical_cores: 40,
                    physical_cores: Some(
                        20,
                    ),
                    load_average: None,
                },
            )
        "#]]
        .assert_debug_eq(&workstation);
    }
}
