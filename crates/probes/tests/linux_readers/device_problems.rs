//! PCI devices without a driver, on the fixture trees.

use expect_test::expect;
use sitrep_probes::{Ctx, peripherals};

use crate::{fixture, section_of};

#[test]
fn a_wifi_card_without_firmware_is_a_problem() {
    let root = fixture("desktop-debian");
    expect![[r#"
        [
            DeviceProblem {
                name: "Intel wireless network controller (8086:2725)",
                device_id: "0000:03:00.0",
                class: Some(
                    "wireless network controller",
                ),
                bus: Some(
                    "pci",
                ),
                code: None,
                problem: "No driver is bound to this device",
                driver: None,
                disabled: false,
            },
        ]
    "#]]
    .assert_debug_eq(&section_of(peripherals::device_problems(&Ctx::at(&root))));
}

#[test]
fn bridges_and_accelerators_without_drivers_are_not() {
    let root = fixture("laptop-ubuntu");
    assert_eq!(
        section_of(peripherals::device_problems(&Ctx::at(&root))),
        []
    );
}
