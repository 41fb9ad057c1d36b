//! Fuzzes the smaller Linux parsers, picked by the first byte: /proc/cpuinfo, meminfo, loadavg,
//! uptime, stat's btime, bus/input/devices, a logind session file, utmp records and a
//! power_supply battery's attributes. Never a panic, and what reaches the snapshot survives the
//! wire (a load average or battery figure that is not a finite number would not).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sitrep_probes::linux::hardware::{parse_cpuinfo, parse_loadavg, parse_meminfo};
use sitrep_probes::linux::os::sessions::{parse_logind_session, parse_utmp};
use sitrep_probes::linux::os::{parse_boot_time, parse_uptime};
use sitrep_probes::linux::peripherals::input::parse_input_devices;
use sitrep_probes::linux::peripherals::power::battery_of;
use sitrep_snapshot::Cpu;

fuzz_target!(|data: &[u8]| {
    let Some((parser, rest)) = sitrep_fuzz::choice(data, 9) else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match parser {
        0 => {
            if let Ok(cpu) = parse_cpuinfo(&text) {
                assert!(cpu.logical_cores > 0);
                assert!(
                    cpu.physical_cores
                        .is_none_or(|cores| cores <= cpu.logical_cores)
                );
                sitrep_fuzz::survives_the_wire(&cpu);
            }
        }
        1 => {
            if let Ok(info) = parse_meminfo(&text) {
                sitrep_fuzz::survives_the_wire(&info.memory);
                sitrep_fuzz::survives_the_wire(&info.swap);
            }
        }
        2 => {
            if let Ok(load) = parse_loadavg(&text) {
                sitrep_fuzz::survives_the_wire(&Cpu {
                    load_average: Some(load),
                    ..Cpu::default()
                });
            }
        }
        3 => {
            let _ = parse_uptime(&text);
        }
        4 => {
            let _ = parse_boot_time(&text);
        }
        5 => {
            if let Ok(devices) = parse_input_devices(&text) {
                sitrep_fuzz::survives_the_wire(&devices);
            }
        }
        6 => {
            let _ = parse_logind_session(&text);
        }
        7 => {
            if let Ok(users) = parse_utmp(rest) {
                assert!(users.iter().all(|user| !user.is_empty()));
            }
        }
        _ => {
            // `name=value` lines stand for the files of /sys/class/power_supply/BAT0, read as
            // the reader reads them: trimmed, and an empty file is no file.
            let attribute = |file: &str| {
                text.lines()
                    .filter_map(|line| line.split_once('='))
                    .filter(|(name, _)| *name == file)
                    .map(|(_, value)| value.trim().to_owned())
                    .next_back()
                    .filter(|value| !value.is_empty())
            };
            let battery = battery_of("BAT0".to_owned(), false, attribute);
            assert!(battery.capacity_pct.is_none_or(|pct| pct <= 100));
            assert!(battery.health_pct.is_none_or(|pct| pct >= 0.0));
            sitrep_fuzz::survives_the_wire(&battery);
        }
    }
});
