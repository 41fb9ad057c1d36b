//! memory.available_low and memory.swap_full.

use expect_test::expect;
use sitrep_snapshot::Section;

use crate::healthy::{GIB, MIB, hardware, healthy, judged};

/// Findings of both memory rules for each (total, available) pair.
fn memory_cases(cases: &[(u64, u64)]) -> String {
    let mut out = String::new();
    for &(total, available) in cases {
        let mut snapshot = healthy();
        hardware(&mut snapshot).memory.total_bytes = total;
        hardware(&mut snapshot).memory.available_bytes = available;
        out.push_str(&format!(
            "-- {total} / {available}\n{}",
            judged(&snapshot, "memory.available_low")
        ));
    }
    out
}

#[test]
fn healthy_memory_passes() {
    expect![[r#"
        pass memory.available_low: Memory OK: 9.5 GiB available
            evidence: 9.5 GiB available of 16.0 GiB (59.3 %); swap 205.0 MiB of 2.0 GiB used (10.0 %)
        pass memory.swap_full: Swap OK: 205.0 MiB of 2.0 GiB used
            evidence: swap 205.0 MiB of 2.0 GiB used (10.0 %); memory 9.5 GiB available of 16.0 GiB (59.3 %)
    "#]].assert_eq(&judged(&healthy(), "memory."));
}

#[test]
fn warn_below_10_percent_or_512_mib() {
    expect![[r#"
        -- 10737418240 / 1073741824
        pass memory.available_low: Memory OK: 1.0 GiB available
            evidence: 1.0 GiB available of 10.0 GiB (10.0 %); swap 205.0 MiB of 2.0 GiB used (10.0 %)
        -- 10737418240 / 1063256064
        warn memory.available_low: Memory is running low: 1014.0 MiB available
            evidence: 1014.0 MiB available of 10.0 GiB (9.9 %); swap 205.0 MiB of 2.0 GiB used (10.0 %)
            remedy: Ask the user to close programs and browser tabs they are not using; if memory stays low, restart the computer.
        -- 2147483648 / 535822336
        warn memory.available_low: Memory is running low: 511.0 MiB available
            evidence: 511.0 MiB available of 2.0 GiB (24.9 %); swap 205.0 MiB of 2.0 GiB used (10.0 %)
            remedy: Ask the user to close programs and browser tabs they are not using; if memory stays low, restart the computer.
        -- 2147483648 / 536870912
        pass memory.available_low: Memory OK: 512.0 MiB available
            evidence: 512.0 MiB available of 2.0 GiB (25.0 %); swap 205.0 MiB of 2.0 GiB used (10.0 %)
    "#]].assert_eq(&memory_cases(&[
        // exactly 10 %: still fine
        (10 * GIB, GIB),
        // just below 10 %
        (10 * GIB, GIB - 10 * MIB),
        // 25 % of a small machine, but below 512 MiB
        (2 * GIB, 511 * MIB),
        // exactly 512 MiB and more than 10 %
        (2 * GIB, 512 * MIB),
    ]));
}

#[test]
fn fail_below_5_percent_or_256_mib() {
    expect![[r#"
        -- 21474836480 / 1073741824
        warn memory.available_low: Memory is running low: 1.0 GiB available
            evidence: 1.0 GiB available of 20.0 GiB (5.0 %); swap 205.0 MiB of 2.0 GiB used (10.0 %)
            remedy: Ask the user to close programs and browser tabs they are not using; if memory stays low, restart the computer.
        -- 21474836480 / 1063256064
        fail memory.available_low: Memory is nearly exhausted: only 1014.0 MiB available
            evidence: 1014.0 MiB available of 20.0 GiB (4.9 %); swap 205.0 MiB of 2.0 GiB used (10.0 %)
            remedy: Ask the user to save their work, close the programs they are not using (browsers with many tabs first) and restart the computer if it stays slow.
        -- 2147483648 / 267386880
        fail memory.available_low: Memory is nearly exhausted: only 255.0 MiB available
            evidence: 255.0 MiB available of 2.0 GiB (12.4 %); swap 205.0 MiB of 2.0 GiB used (10.0 %)
            remedy: Ask the user to save their work, close the programs they are not using (browsers with many tabs first) and restart the computer if it stays slow.
    "#]].assert_eq(&memory_cases(&[
        // exactly 5 %: warn, not fail
        (20 * GIB, GIB),
        (20 * GIB, GIB - 10 * MIB),
        (2 * GIB, 255 * MIB),
    ]));
}

#[test]
fn unknown_total_is_not_judged() {
    let mut snapshot = healthy();
    hardware(&mut snapshot).memory.total_bytes = 0;
    hardware(&mut snapshot).memory.available_bytes = 0;
    expect![[""]].assert_eq(&judged(&snapshot, "memory."));
}

#[test]
fn full_swap_warns_only_when_memory_is_low() {
    let mut snapshot = healthy();
    hardware(&mut snapshot).swap.free_bytes = 100 * MIB;
    let memory_fine = judged(&snapshot, "memory.swap_full");
    hardware(&mut snapshot).memory.available_bytes = 400 * MIB;
    let memory_low = judged(&snapshot, "memory.swap_full");
    hardware(&mut snapshot).swap.total_bytes = 0;
    hardware(&mut snapshot).swap.free_bytes = 0;
    let no_swap = judged(&snapshot, "memory.swap_full");
    expect![[r#"
        -- memory fine
        pass memory.swap_full: Swap OK: 1.9 GiB of 2.0 GiB used
            evidence: swap 1.9 GiB of 2.0 GiB used (95.1 %); memory 9.5 GiB available of 16.0 GiB (59.3 %)
        -- memory low
        warn memory.swap_full: Swap is full and memory is low: the system may close programs
            evidence: swap 1.9 GiB of 2.0 GiB used (95.1 %); memory 400.0 MiB available of 16.0 GiB (2.4 %)
            remedy: Ask the user to save their work now, close the programs they do not need and restart the computer.
        -- no swap
    "#]].assert_eq(&format!("-- memory fine\n{memory_fine}-- memory low\n{memory_low}-- no swap\n{no_swap}"));
}

#[test]
fn skipped_hardware_section_gives_nothing() {
    let mut snapshot = healthy();
    snapshot.hardware = Section::skipped("--sections os,disks");
    expect![[r#"
        --
        pass agent.section_unavailable: Snapshot complete: 16 sections gathered
            evidence: Gathered: os, disks, network.interfaces, network.routing, network.dns, network.proxy, probes, peripherals.usb, peripherals.printers, peripherals.displays, peripherals.audio, peripherals.power, peripherals.input, peripherals.bluetooth, peripherals.cameras, peripherals.device_problems; skipped: hardware (--sections os,disks)
    "#]].assert_eq(&format!(
        "{}--\n{}",
        judged(&snapshot, "memory."),
        judged(&snapshot, "agent.section_unavailable")
    ));
}
