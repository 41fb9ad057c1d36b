//! The `peripherals` readers on the laptop and desktop fixture trees.

use expect_test::expect;
use sitrep_probes::{Ctx, peripherals};
use sitrep_snapshot::{Display, InputDevice, UsbDevice};

use crate::printers::{Behaviour, FakeCupsd};
use crate::{check, fixture, section_of};

/// One line per device (`path <- parent ids class speed [drivers]: maker / product / serial`)
/// and one per interface below it: the tree a specialist reads.
fn usb_tree(devices: &[UsbDevice]) -> Vec<String> {
    let mut lines = Vec::new();
    for device in devices {
        let name: Vec<&str> = [&device.manufacturer, &device.product, &device.serial]
            .into_iter()
            .filter_map(Option::as_deref)
            .collect();
        lines.push(format!(
            "{} <- {} {}:{} {} {} Mb/s hub={} [{}]: {}",
            device.path,
            device.parent.as_deref().unwrap_or("-"),
            device.vendor_id,
            device.product_id,
            device.class,
            device.speed_mbps.unwrap_or_default(),
            device.is_hub,
            device.driver.as_deref().unwrap_or("no driver"),
            if name.is_empty() {
                "-".to_owned()
            } else {
                name.join(" / ")
            },
        ));
        for interface in &device.interfaces {
            lines.push(format!(
                "    {} {} [{}]",
                interface.path,
                interface.class,
                interface.driver.as_deref().unwrap_or("no driver")
            ));
        }
    }
    lines
}

/// One line per connector: state, modes, and the monitor its EDID describes.
fn display_lines(displays: &[Display]) -> Vec<String> {
    displays
        .iter()
        .map(|display| {
            let mut line = format!(
                "{} {} {} {}",
                display.connector,
                if display.internal {
                    "internal"
                } else {
                    "external"
                },
                if display.connected {
                    "connected"
                } else {
                    "disconnected"
                },
                if display.enabled {
                    "enabled"
                } else {
                    "disabled"
                },
            );
            if let Some(preferred) = &display.preferred_mode {
                line.push_str(&format!(" {preferred} of {} modes", display.modes.len()));
            }
            if let Some(monitor) = &display.monitor {
                line.push_str(&format!(
                    ": {} ({}) {:?} product {} serial {:?} {:?}x{:?} mm, week {:?} of {:?}",
                    monitor.make,
                    monitor.pnp_id,
                    monitor.model,
                    monitor.product_code,
                    monitor.serial,
                    monitor.width_mm,
                    monitor.height_mm,
                    monitor.manufacture_week,
                    monitor.manufacture_year,
                ));
            }
            if let Some(error) = &display.edid_error {
                line.push_str(&format!(": {error}"));
            }
            line
        })
        .collect()
}

fn input_lines(devices: &[InputDevice]) -> Vec<String> {
    devices
        .iter()
        .map(|device| {
            format!(
                "{:?} {} {}:{} {} [{}]",
                device.kind,
                device.name,
                device.vendor_id,
                device.product_id,
                device.bus,
                device.handlers.join(" ")
            )
        })
        .collect()
}

#[test]
fn laptop_ubuntu_peripherals() {
    let root = fixture("laptop-ubuntu");
    let ctx = Ctx::at(&root);
    let all = peripherals::gather(&ctx);
    expect![[r#"
        [
            "usb1 <- - 1d6b:0002 hub 480 Mb/s hub=true [hub]: Linux 6.8.0-49-generic xhci-hcd / xHCI Host Controller / 0000:00:14.0",
            "    usb1:1.0 hub [hub]",
            "1-1 <- usb1 2109:2813 hub 480 Mb/s hub=true [hub]: VIA Labs, Inc. / USB2.0 Hub",
            "    1-1:1.0 hub [hub]",
            "1-1.1 <- 1-1 046d:c52b hid 12 Mb/s hub=false [usbhid]: Logitech / USB Receiver",
            "    1-1.1:1.0 hid [usbhid]",
            "    1-1.1:1.1 hid [usbhid]",
            "    1-1.1:1.2 hid [usbhid]",
            "1-1.2 <- 1-1 0b0e:0311 audio, hid 12 Mb/s hub=false [snd-usb-audio, usbhid]: GN Netcom A/S / Jabra EVOLVE 65 / 501AA5D8D2BC",
            "    1-1.2:1.0 audio [snd-usb-audio]",
            "    1-1.2:1.1 audio [snd-usb-audio]",
            "    1-1.2:1.2 audio [snd-usb-audio]",
            "    1-1.2:1.3 hid [usbhid]",
            "1-4 <- usb1 04f2:b5ce video 480 Mb/s hub=false [uvcvideo]: Chicony Electronics Co.,Ltd. / Integrated Camera / 0001",
            "    1-4:1.0 video [uvcvideo]",
            "    1-4:1.1 video [uvcvideo]",
            "1-9 <- usb1 06cb:00bd vendor-specific 12 Mb/s hub=false [no driver]: 4a3e8f2c1b7d",
            "    1-9:1.0 vendor-specific [no driver]",
            "1-10 <- usb1 8087:0026 wireless 12 Mb/s hub=false [btusb]: -",
            "    1-10:1.0 wireless [btusb]",
            "    1-10:1.1 wireless [btusb]",
            "usb2 <- - 1d6b:0003 hub 10000 Mb/s hub=true [hub]: Linux 6.8.0-49-generic xhci-hcd / xHCI Host Controller / 0000:00:14.0",
            "    usb2:1.0 hub [hub]",
            "2-1 <- usb2 2109:0813 hub 5000 Mb/s hub=true [hub]: VIA Labs, Inc. / USB3.0 Hub",
            "    2-1:1.0 hub [hub]",
            "2-1.4 <- 2-1 0bda:8153 vendor-specific 5000 Mb/s hub=false [r8152]: Realtek / USB 10/100/1000 LAN / 000001",
            "    2-1.4:1.0 vendor-specific [r8152]",
        ]
    "#]].assert_debug_eq(&usb_tree(&section_of(all.usb)));
    expect![[r#"
        [
            "card1-DP-1 external disconnected disabled",
            "card1-DP-2 external disconnected disabled",
            "card1-DP-3 external connected enabled 2560x1440 of 13 modes: Dell (DEL) Some(\"DELL U2518D\") product 16698 serial Some(\"3C4YP86S582L\") Some(553)xSome(311) mm, week Some(26) of Some(2018)",
            "card1-DP-4 external connected enabled 2560x1440 of 13 modes: Dell (DEL) Some(\"DELL U2515H\") product 53358 serial Some(\"9X2VY6A609UL\") Some(553)xSome(311) mm, week Some(40) of Some(2016)",
            "card1-HDMI-A-1 external disconnected disabled",
            "card1-eDP-1 internal connected disabled 1920x1080 of 1 modes: Chimei Innolux (CMN) Some(\"N140HCA-EAB\") product 5321 serial None Some(309)xSome(173) mm, week Some(8) of Some(2016)",
        ]
    "#]].assert_debug_eq(&display_lines(&section_of(all.displays)));
    check(
        expect![[r#"
        Ok(
            Power {
                ac_online: Some(
                    true,
                ),
                batteries: [
                    Battery {
                        name: "BAT0",
                        peripheral: false,
                        status: Charging,
                        capacity_pct: Some(
                            81,
                        ),
                        cycle_count: Some(
                            412,
                        ),
                        health_pct: Some(
                            54.1,
                        ),
                        energy_full_wh: Some(
                            30.81,
                        ),
                        energy_full_design_wh: Some(
                            57.0,
                        ),
                        technology: Some(
                            "Li-poly",
                        ),
                        model: Some(
                            "5B10W13975",
                        ),
                        manufacturer: Some(
                            "SMP",
                        ),
                    },
                    Battery {
                        name: "hidpp_battery_0",
                        peripheral: true,
                        status: Discharging,
                        capacity_pct: None,
                        cycle_count: None,
                        health_pct: None,
                        energy_full_wh: None,
                        energy_full_design_wh: None,
                        technology: None,
                        model: Some(
                            "MX Master 3",
                        ),
                        manufacturer: Some(
                            "Logitech",
                        ),
                    },
                ],
            },
        )
    "#]],
        &root,
        &all.power,
    );
    check(
        expect![[r#"
        Ok(
            Audio {
                cards: [
                    SoundCard {
                        index: 0,
                        id: "PCH",
                        driver: "HDA-Intel",
                        name: "HDA Intel PCH",
                        long_name: Some(
                            "HDA Intel PCH at 0xea230000 irq 147",
                        ),
                        pcm_devices: [
                            PcmDevice {
                                device: 0,
                                name: "ALC257 Analog",
                                playback: true,
                                capture: true,
                            },
                            PcmDevice {
                                device: 3,
                                name: "HDMI 0",
                                playback: true,
                                capture: false,
                            },
                            PcmDevice {
                                device: 7,
                                name: "HDMI 1",
                                playback: true,
                                capture: false,
                            },
                            PcmDevice {
                                device: 8,
                                name: "HDMI 2",
                                playback: true,
                                capture: false,
                            },
                        ],
                    },
                    SoundCard {
                        index: 1,
                        id: "EVOLVE65",
                        driver: "USB-Audio",
                        name: "Jabra EVOLVE 65",
                        long_name: Some(
                            "GN Netcom A/S Jabra EVOLVE 65 at usb-0000:00:14.0-1.2, full speed",
                        ),
                        pcm_devices: [
                            PcmDevice {
                                device: 0,
                                name: "USB Audio",
                                playback: true,
                                capture: true,
                            },
                        ],
                    },
                ],
            },
        )
    "#]],
        &root,
        &all.audio,
    );
    expect![[r#"
        [
            "Keyboard AT Translated Set 2 keyboard 0001:0001 i8042 [sysrq kbd leds event3]",
            "Mouse TPPS/2 Elan TrackPoint 0002:000a i8042 [mouse0 event5]",
            "Mouse ELAN0672:00 04F3:3187 Mouse 04f3:3187 i2c [mouse1 event7]",
            "Touchpad ELAN0672:00 04F3:3187 Touchpad 04f3:3187 i2c [mouse2 event8]",
            "Keyboard Logitech USB Receiver 046d:c52b usb [sysrq kbd leds event12]",
            "Mouse Logitech MX Master 3 046d:4082 usb [sysrq kbd leds event13 mouse3]",
        ]
    "#]]
    .assert_debug_eq(&input_lines(&section_of(all.input)));
    check(
        expect![[r#"
        Ok(
            Bluetooth {
                adapters: [
                    BluetoothAdapter {
                        name: "hci0",
                        bus: Some(
                            "usb",
                        ),
                        driver: Some(
                            "btusb",
                        ),
                    },
                ],
                rfkill: [
                    RfkillSwitch {
                        name: "tpacpi_bluetooth_sw",
                        kind: "bluetooth",
                        soft_blocked: false,
                        hard_blocked: false,
                    },
                    RfkillSwitch {
                        name: "phy0",
                        kind: "wlan",
                        soft_blocked: false,
                        hard_blocked: false,
                    },
                    RfkillSwitch {
                        name: "hci0",
                        kind: "bluetooth",
                        soft_blocked: true,
                        hard_blocked: false,
                    },
                ],
            },
        )
    "#]],
        &root,
        &all.bluetooth,
    );
    check(
        expect![[r#"
        Ok(
            [
                Camera {
                    name: "Integrated Camera: Integrated C",
                    devices: [
                        "/dev/video0",
                        "/dev/video1",
                    ],
                    driver: Some(
                        "uvcvideo",
                    ),
                    usb_path: Some(
                        "1-4",
                    ),
                },
            ],
        )
    "#]],
        &root,
        &all.cameras,
    );
    check(
        expect![[r#"
        Ok(
            Printers {
                cups: Absent {
                    reason: "no CUPS socket at <root>/run/cups/cups.sock",
                },
                queues: [],
                default_printer: None,
            },
        )
    "#]],
        &root,
        &all.printers,
    );
}

#[test]
fn desktop_debian_peripherals() {
    let cupsd = FakeCupsd::start(Behaviour::Replay("office"), 2);
    let root = cupsd.root.path().to_owned();
    let all = peripherals::gather(&cupsd.ctx());
    expect![[r#"
        [
            "usb1 <- - 1d6b:0002 hub 480 Mb/s hub=true [hub]: Linux 6.1.0-28-amd64 xhci-hcd / xHCI Host Controller / 0000:00:14.0",
            "    usb1:1.0 hub [hub]",
            "1-3 <- usb1 413c:2113 hid 1.5 Mb/s hub=false [usbhid]: Dell KB216 Wired Keyboard",
            "    1-3:1.0 hid [usbhid]",
            "    1-3:1.1 hid [usbhid]",
            "1-4 <- usb1 413c:301a hid 1.5 Mb/s hub=false [usbhid]: PixArt / Dell MS116 USB Optical Mouse",
            "    1-4:1.0 hid [usbhid]",
            "1-6 <- usb1 0bda:b812 vendor-specific 480 Mb/s hub=false [no driver]: Realtek / 802.11ac NIC / 123456",
            "    1-6:1.0 vendor-specific [no driver]",
            "usb2 <- - 1d6b:0003 hub 10000 Mb/s hub=true [hub]: Linux 6.1.0-28-amd64 xhci-hcd / xHCI Host Controller / 0000:00:14.0",
            "    usb2:1.0 hub [hub]",
        ]
    "#]].assert_debug_eq(&usb_tree(&section_of(all.usb)));
    expect![[r#"
        [
            "card0-DP-1 external connected enabled 1920x1200 of 9 modes: ASUS (AUS) Some(\"PA248QV\") product 9351 serial Some(\"M1LMQS052157\") Some(518)xSome(324) mm, week Some(2) of Some(2021)",
            "card0-DP-2 external disconnected disabled",
            "card0-HDMI-A-1 external connected disabled 1920x1200 of 9 modes: Dell (DEL) Some(\"DELL U2412M\") product 41083 serial Some(\"M2GCR1CS0T1L\") Some(518)xSome(324) mm, week Some(53) of Some(2011)",
        ]
    "#]].assert_debug_eq(&display_lines(&section_of(all.displays)));
    check(
        expect![[r#"
        Ok(
            Power {
                ac_online: None,
                batteries: [],
            },
        )
    "#]],
        &root,
        &all.power,
    );
    check(
        expect![[r#"
        Ok(
            Audio {
                cards: [
                    SoundCard {
                        index: 0,
                        id: "PCH",
                        driver: "HDA-Intel",
                        name: "HDA Intel PCH",
                        long_name: Some(
                            "HDA Intel PCH at 0xf7f10000 irq 134",
                        ),
                        pcm_devices: [
                            PcmDevice {
                                device: 0,
                                name: "ALC3246 Analog",
                                playback: true,
                                capture: true,
                            },
                            PcmDevice {
                                device: 3,
                                name: "HDMI 0",
                                playback: true,
                                capture: false,
                            },
                            PcmDevice {
                                device: 7,
                                name: "HDMI 1",
                                playback: true,
                                capture: false,
                            },
                        ],
                    },
                ],
            },
        )
    "#]],
        &root,
        &all.audio,
    );
    expect![[r#"
        [
            "Keyboard Dell KB216 Wired Keyboard 413c:2113 usb [sysrq kbd leds event2]",
            "Mouse PixArt Dell MS116 USB Optical Mouse 413c:301a usb [mouse0 event4]",
        ]
    "#]]
    .assert_debug_eq(&input_lines(&section_of(all.input)));
    check(
        expect![[r#"
        Ok(
            Bluetooth {
                adapters: [],
                rfkill: [],
            },
        )
    "#]],
        &root,
        &all.bluetooth,
    );
    check(
        expect![[r#"
        Ok(
            [],
        )
    "#]],
        &root,
        &all.cameras,
    );
    let printers = section_of(all.printers);
    let queues: Vec<String> = printers
        .queues
        .iter()
        .map(|queue| {
            format!(
                "{} {:?} jobs={} oldest={:?} default={}",
                queue.name,
                queue.state,
                queue.jobs_waiting,
                queue.oldest_job_age_s,
                queue.is_default
            )
        })
        .collect();
    expect![[r#"
        [
            "Finance Idle jobs=0 oldest=None default=false",
            "Office-Laser Printing jobs=1 oldest=Some(772) default=true",
            "Reception-Color Stopped jobs=2 oldest=Some(772) default=false",
        ]
    "#]]
    .assert_debug_eq(&queues);
}

#[test]
fn a_tree_without_peripherals_has_empty_kinds_not_errors() {
    let root = fixture("raspberry-pi");
    check(
        expect![[r#"
            Peripherals {
                usb: Ok(
                    [],
                ),
                printers: Ok(
                    Printers {
                        cups: Absent {
                            reason: "no CUPS socket at <root>/run/cups/cups.sock",
                        },
                        queues: [],
                        default_printer: None,
                    },
                ),
                displays: Ok(
                    [],
                ),
                audio: Ok(
                    Audio {
                        cards: [],
                    },
                ),
                power: Ok(
                    Power {
                        ac_online: None,
                        batteries: [],
                    },
                ),
                input: Ok(
                    [],
                ),
                bluetooth: Ok(
                    Bluetooth {
                        adapters: [],
                        rfkill: [],
                    },
                ),
                cameras: Ok(
                    [],
                ),
                device_problems: Ok(
                    [],
                ),
            }
        "#]],
        &root,
        &peripherals::gather(&Ctx::at(&root)),
    );
}
