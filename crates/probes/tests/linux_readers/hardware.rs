//! The `hardware` reader on an x86 laptop and desktop and on an ARM board.

use expect_test::expect;
use sitrep_probes::{Ctx, hardware};

use crate::{check, fixture};

#[test]
fn hardware_of_each_machine() {
    for (machine, expected) in [
        (
            "laptop-ubuntu",
            expect![[r#"
            Ok(
                Hardware {
                    cpu: Cpu {
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
                        load_average: Some(
                            [
                                0.52,
                                0.58,
                                0.59,
                            ],
                        ),
                    },
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
        "#]],
        ),
        (
            "desktop-debian",
            expect![[r#"
            Ok(
                Hardware {
                    cpu: Cpu {
                        model: Some(
                            "AMD Ryzen 5 3600 6-Core Processor",
                        ),
                        vendor: Some(
                            "AuthenticAMD",
                        ),
                        logical_cores: 12,
                        physical_cores: Some(
                            6,
                        ),
                        load_average: Some(
                            [
                                1.07,
                                0.88,
                                0.71,
                            ],
                        ),
                    },
                    memory: Memory {
                        total_bytes: 33566990336,
                        available_bytes: 29071474688,
                    },
                    swap: Swap {
                        total_bytes: 1024454656,
                        free_bytes: 1024454656,
                    },
                },
            )
        "#]],
        ),
        (
            "raspberry-pi",
            expect![[r#"
            Ok(
                Hardware {
                    cpu: Cpu {
                        model: None,
                        vendor: None,
                        logical_cores: 4,
                        physical_cores: None,
                        load_average: Some(
                            [
                                0.08,
                                0.03,
                                0.01,
                            ],
                        ),
                    },
                    memory: Memory {
                        total_bytes: 3975110656,
                        available_bytes: 3471593472,
                    },
                    swap: Swap {
                        total_bytes: 209711104,
                        free_bytes: 209711104,
                    },
                },
            )
        "#]],
        ),
    ] {
        let root = fixture(machine);
        check(expected, &root, &hardware::gather(&Ctx::at(&root)));
    }
}
