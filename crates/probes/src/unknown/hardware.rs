//! The `hardware` section from sysinfo.

use sitrep_snapshot::{Cpu, Hardware, Memory, Section, Swap};
use sysinfo::{CpuRefreshKind, System};

use super::{skip_unless_live, sysinfo_error};
use crate::Ctx;

/// Gathers CPU, memory and swap through sysinfo.
pub fn gather(ctx: &Ctx) -> Section<Hardware> {
    if let Some(skipped) = skip_unless_live(ctx) {
        return skipped;
    }
    let mut system = match System::new() {
        Ok(system) => system,
        Err(error) => return Section::Error(sysinfo_error("System::new", &error)),
    };
    system.refresh_cpu_list(CpuRefreshKind::nothing());
    system.refresh_memory();
    let first_cpu = system.cpus().first();
    let non_empty = |text: &str| Some(text.trim().to_owned()).filter(|text| !text.is_empty());
    Section::Ok(Hardware {
        cpu: Cpu {
            model: first_cpu.and_then(|cpu| non_empty(cpu.brand())),
            vendor: first_cpu.and_then(|cpu| non_empty(cpu.vendor_id())),
            logical_cores: u32::try_from(system.cpus().len()).unwrap_or(u32::MAX),
            physical_cores: System::physical_core_count()
                .ok()
                .and_then(|count| u32::try_from(count).ok()),
            load_average: System::load_average()
                .ok()
                .map(|load| [load.one, load.five, load.fifteen]),
        },
        memory: Memory {
            total_bytes: system.total_memory(),
            available_bytes: system.available_memory(),
        },
        swap: Swap {
            total_bytes: system.total_swap(),
            free_bytes: system.free_swap(),
        },
    })
}
