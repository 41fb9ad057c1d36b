//! The peripheral parts of the diff on the recorded laptop (tests/data/laptop-ubuntu.json) and
//! realistic days after it: devices matched by serial or port, queues only while CUPS answers,
//! monitors by connector and serial, battery wear past one point, each kind comparable alone.

use expect_test::{expect, expect_file};
use sitrep_snapshot::{
    CupsStatus, Display, Peripherals, Power, PrinterState, Printers, Section, SectionErrorKind,
    Snapshot, UsbDevice, UsbInterface,
};

use super::{json, later, recorded, reviewable};
use crate::diff::{Part, diff, diff_html};

pub(super) const LAPTOP: &str = include_str!("../../../tests/data/laptop-ubuntu.json");

fn peripherals(snapshot: &mut Snapshot) -> &mut Peripherals {
    match &mut snapshot.peripherals {
        Section::Ok(peripherals) => peripherals,
        other => panic!("peripherals not gathered: {other:?}"),
    }
}

fn ok<T: std::fmt::Debug>(section: &mut Section<T>) -> &mut T {
    match section {
        Section::Ok(value) => value,
        other => panic!("not gathered: {other:?}"),
    }
}

fn usb(snapshot: &mut Snapshot) -> &mut Vec<UsbDevice> {
    ok(&mut peripherals(snapshot).usb)
}

fn printers(snapshot: &mut Snapshot) -> &mut Printers {
    ok(&mut peripherals(snapshot).printers)
}

fn displays(snapshot: &mut Snapshot) -> &mut Vec<Display> {
    ok(&mut peripherals(snapshot).displays)
}

fn power(snapshot: &mut Snapshot) -> &mut Power {
    ok(&mut peripherals(snapshot).power)
}

/// The next morning at another desk of the office: the Jabra headset left in the drawer (its
/// sound card goes with it), a ThinkPad dock's hub on the free port, the Finance queue stopped
/// by CUPS after its backend failed, and the DELL U2515H on DP-4 unplugged.
fn laptop_next_morning(laptop: &Snapshot) -> Snapshot {
    later(laptop, 1, |snapshot| {
        usb(snapshot).retain(|device| device.path != "1-1.2");
        let audio = ok(&mut peripherals(snapshot).audio);
        audio.cards.retain(|card| card.driver != "USB-Audio");
        let devices = usb(snapshot);
        let at = devices
            .iter()
            .position(|device| device.path == "1-4")
            .expect("the camera");
        devices.insert(
            at,
            UsbDevice {
                path: "1-2".into(),
                parent: Some("usb1".into()),
                vendor_id: "17ef".into(),
                product_id: "1020".into(),
                manufacturer: Some("Lenovo".into()),
                product: Some("ThinkPad Dock Hub".into()),
                serial: None,
                class: "hub".into(),
                speed_mbps: Some(480.0),
                driver: Some("hub".into()),
                is_hub: true,
                interfaces: vec![UsbInterface {
                    path: "1-2:1.0".into(),
                    class: "hub".into(),
                    driver: Some("hub".into()),
                }],
            },
        );
        let finance = printers(snapshot)
            .queues
            .iter_mut()
            .find(|queue| queue.name == "Finance")
            .expect("the Finance queue");
        finance.state = PrinterState::Stopped;
        finance.state_reasons = vec!["paused".into()];
        finance.state_message = Some("/usr/lib/cups/backend/ipps failed".into());
        let dp4 = displays(snapshot)
            .iter_mut()
            .find(|display| display.connector == "card1-DP-4")
            .expect("DP-4");
        *dp4 = Display {
            connector: dp4.connector.clone(),
            ..Display::default()
        };
    })
}

#[test]
fn a_headset_unplugged_a_dock_plugged_in_a_printer_stopped_and_a_monitor_gone() {
    let laptop = recorded(LAPTOP);
    let diff = diff(&laptop, &laptop_next_morning(&laptop));
    expect_file!["../../../tests/data/diffs/laptop-next-morning.json"].assert_eq(&json(&diff));
    expect_file!["../../../tests/data/diffs/laptop-next-morning.html"]
        .assert_eq(&reviewable(&diff));
}

#[test]
fn a_device_with_a_serial_may_change_ports_one_without_may_not() {
    let laptop = recorded(LAPTOP);
    let moved = later(&laptop, 0, |snapshot| {
        for device in usb(snapshot) {
            match device.path.as_str() {
                // The headset has a serial number, the Logitech receiver has none.
                "1-1.2" => device.path = "1-3".into(),
                "1-1.1" => device.path = "1-1.3".into(),
                _ => {}
            }
        }
    });
    let Part::Compared(changes) = diff(&laptop, &moved).peripherals.usb else {
        panic!("USB devices are comparable");
    };
    let paths = |devices: &[crate::diff::UsbDeviceRef]| {
        devices
            .iter()
            .map(|device| {
                format!(
                    "{}:{} at {}",
                    device.vendor_id, device.product_id, device.path
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(paths(&changes.added), ["046d:c52b at 1-1.3"]);
    assert_eq!(paths(&changes.removed), ["046d:c52b at 1-1.1"]);
}

#[test]
fn mains_power_and_battery_wear_past_one_point() {
    let laptop = recorded(LAPTOP);
    let battery_health = |snapshot: &mut Snapshot, health: f64| {
        let battery = power(snapshot)
            .batteries
            .iter_mut()
            .find(|battery| battery.name == "BAT0")
            .expect("BAT0");
        battery.health_pct = Some(health);
    };
    let recalibrated = later(&laptop, 7, |snapshot| battery_health(snapshot, 53.6));
    assert!(diff(&laptop, &recalibrated).peripherals.power.is_empty());

    let unplugged_and_worn = later(&laptop, 30, |snapshot| {
        power(snapshot).ac_online = Some(false);
        battery_health(snapshot, 52.4);
    });
    let diff = diff(&laptop, &unplugged_and_worn);
    expect![[r#"
        Compared(
            PowerChanges {
                ac_online: Some(
                    FlagChange {
                        from: true,
                        to: false,
                    },
                ),
                battery_health: [
                    BatteryHealthChange {
                        battery: "BAT0",
                        health_percent_from: 54.1,
                        health_percent_to: 52.4,
                        health_percent_delta: -1.7,
                    },
                ],
            },
        )
    "#]]
    .assert_debug_eq(&diff.peripherals.power);
    let html = diff_html(&diff).into_string();
    assert!(
        html.contains(
            "<section class=\"diff-part\" id=\"diff-power\"><h3>Power</h3><ul><li class=\"removed\"><span class=\"change\">Unplugged</span> Mains power</li><li class=\"changed\"><span class=\"change\">Changed</span> Battery BAT0 health: 54.1 % → 52.4 % (-1.7 points)</li></ul></section>"
        ),
        "{html}"
    );
}

#[test]
fn a_print_service_that_went_away_is_one_change_not_every_queue_removed() {
    let laptop = recorded(LAPTOP);
    let no_cups = later(&laptop, 0, |snapshot| {
        *printers(snapshot) = Printers {
            cups: CupsStatus::Absent {
                reason: "no CUPS socket at /run/cups/cups.sock".into(),
            },
            queues: Vec::new(),
            default_printer: None,
        };
    });
    let Part::Compared(changes) = diff(&laptop, &no_cups).peripherals.printers else {
        panic!("printers are comparable");
    };
    expect![[r#"
        PrinterChanges {
            service: Some(
                TextChange {
                    from: Some(
                        "CUPS/2.4 IPP/2.1",
                    ),
                    to: Some(
                        "absent",
                    ),
                },
            ),
            queues_added: [],
            queues_removed: [],
            queues_changed: [],
            default_printer: None,
        }
    "#]]
    .assert_debug_eq(&changes);
}

#[test]
fn each_kind_missing_on_either_side_is_not_comparable_alone() {
    let laptop = recorded(LAPTOP);
    let hung_cupsd = later(&laptop, 0, |snapshot| {
        peripherals(snapshot).printers = Section::error(
            SectionErrorKind::Timeout,
            "the printers reader did not finish before the report deadline",
        );
    });
    let hung = diff(&laptop, &hung_cupsd);
    let html = diff_html(&hung).into_string();
    assert!(
        html.contains("<section class=\"diff-part\" id=\"diff-printers\"><h3>Printers</h3><p class=\"not-comparable\">Not comparable. Later snapshot: timed out: the printers reader did not finish before the report deadline.</p></section>"),
        "{html}"
    );
    assert!(html.contains("Unchanged: Operating system, Network interfaces, Gateways and routes, DNS settings, Disks, USB devices, Displays, Power."), "{html}");
    let changes = hung.peripherals;
    assert_eq!(changes.usb, Part::Compared(Default::default()));
    assert_eq!(changes.displays, Part::Compared(Default::default()));
    expect![[r#"
        {
          "not_comparable": {
            "from": null,
            "to": "timed out: the printers reader did not finish before the report deadline"
          }
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&changes.printers).expect("JSON"));

    let older_agent = later(&laptop, 0, |snapshot| {
        snapshot.peripherals = Section::skipped("not requested (--sections)");
    });
    let changes = diff(&older_agent, &laptop).peripherals;
    for part in [
        serde_json::to_value(&changes.usb),
        serde_json::to_value(&changes.printers),
        serde_json::to_value(&changes.displays),
        serde_json::to_value(&changes.power),
    ] {
        assert_eq!(
            part.expect("JSON")["not_comparable"]["from"],
            "skipped: not requested (--sections)"
        );
    }
    // In the page, once for all kinds rather than once per kind.
    let html = diff_html(&diff(&older_agent, &laptop)).into_string();
    assert!(
        html.contains("<section class=\"diff-part\" id=\"diff-peripherals\"><h3>Peripherals</h3><p class=\"not-comparable\">Not comparable. Earlier snapshot: skipped: not requested (--sections).</p></section>"),
        "{html}"
    );
    assert!(!html.contains("diff-usb"), "{html}");
}

#[test]
fn hostile_device_names_stay_text_in_the_html() {
    let laptop = recorded(LAPTOP);
    let hostile = later(&laptop, 0, |snapshot| {
        let stick = usb(snapshot)
            .iter_mut()
            .find(|device| device.path == "1-1.2")
            .expect("the headset");
        stick.product = Some("<script>alert(1)</script>".into());
        stick.serial = Some("\"><img src=x onerror=alert(2)>".into());
        printers(snapshot).queues[0].name = "<b>Finance</b>".into();
    });
    let html = diff_html(&diff(&laptop, &hostile)).into_string();
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(
        html.contains("GN Netcom A/S &lt;script&gt;alert(1)&lt;/script&gt; (<code>0b0e:0311</code>, serial &quot;&gt;&lt;img src=x onerror=alert(2)&gt;) at 1-1.2"),
        "{html}"
    );
    assert!(html.contains("Queue &lt;b&gt;Finance&lt;/b&gt;"), "{html}");
}
