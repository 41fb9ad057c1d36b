//! printer.stopped, printer.jobs_stuck, battery.health, usb.no_driver, display.disabled,
//! bluetooth.blocked.

use expect_test::expect;
use sitrep_snapshot::{CupsStatus, PrinterState, Section, SectionErrorKind};

use crate::healthy::{
    bluetooth, displays, healthy, judged, peripherals, power, printers, usb_devices,
};
use crate::healthy_peripherals::{print_queue, rfkill, usb_device};

#[test]
fn healthy_peripherals_pass_once_each() {
    let snapshot = healthy();
    let mut out = String::new();
    for prefix in ["printer.", "battery.", "usb.", "display.", "bluetooth."] {
        out.push_str(&judged(&snapshot, prefix));
    }
    expect![[r#"
        pass printer.jobs_stuck: No print jobs stuck (0 jobs waiting)
            evidence: No jobs waiting
        pass printer.stopped: 1 print queue ready
            evidence: Office: idle
        pass battery.health: Battery health OK on 1 battery
            evidence: BAT0 (5B10W13975, SMP, Li-poly): 52.7 Wh of 57.0 Wh design (92.5 %), 112 cycles, charged 81 %
        pass usb.no_driver: 1 USB device with drivers
            evidence: USB device 046d:c52b: usbhid
        pass display.disabled: 1 external monitor connected and in use
            evidence: DP-1: DELL U2518D (serial 3C4YP86S582L)
        pass bluetooth.blocked: Bluetooth is on (hci0)
            evidence: hci0: not blocked
    "#]].assert_eq(&out);
}

#[test]
fn stopped_queues_fail_when_they_matter_and_warn_otherwise() {
    let mut snapshot = healthy();
    let queues = &mut printers(&mut snapshot).queues;
    // The default printer, paused by someone.
    queues[0].state = PrinterState::Stopped;
    queues[0].state_reasons = vec!["paused".to_owned()];
    // A queue nobody uses any more, rejecting jobs.
    let mut old = print_queue("Old-Inkjet", false);
    old.accepting = false;
    old.uri = Some("usb://HP/Deskjet%202540?serial=CN3AB1234".to_owned());
    queues.push(old);
    // A queue stopped with jobs in it, and one merely printing.
    let mut colour = print_queue("Reception-Color", false);
    colour.state = PrinterState::Stopped;
    colour.accepting = false;
    colour.state_reasons = vec!["paused".to_owned()];
    colour.state_message = Some("Out of toner".to_owned());
    colour.jobs_waiting = 2;
    colour.oldest_job_age_s = Some(300);
    queues.push(colour);
    let mut busy = print_queue("Plotter", false);
    busy.state = PrinterState::Printing;
    busy.jobs_waiting = 1;
    busy.oldest_job_age_s = Some(40);
    queues.push(busy);
    expect![[r#"
        fail printer.stopped [Office]: Printer Office is stopped
            evidence: Office (HP LaserJet, 2nd floor): stopped, reasons paused; 0 jobs waiting; sends to ipp://10.1.2.40/ipp/print
            remedy: Someone paused the queue, or CUPS stopped it after the printer failed. Check the printer itself (power, paper, toner, error messages), then resume the queue in the printer settings (as an administrator: `cupsenable Office` and `cupsaccept Office`) and ask the user to print again.
        fail printer.stopped [Reception-Color]: Printer Reception-Color is stopped and refuses new jobs
            evidence: Reception-Color (HP LaserJet, 2nd floor): stopped, not accepting jobs, reasons paused; "Out of toner"; 2 jobs waiting, the oldest for 5 minutes; sends to ipp://10.1.2.40/ipp/print
            remedy: Someone paused the queue, or CUPS stopped it after the printer failed. Check the printer itself (power, paper, toner, error messages), then resume the queue in the printer settings (as an administrator: `cupsenable Reception-Color` and `cupsaccept Reception-Color`) and ask the user to print again.
        warn printer.stopped [Old-Inkjet]: Printer Old-Inkjet refuses new jobs
            evidence: Old-Inkjet (HP LaserJet, 2nd floor): idle, not accepting jobs; 0 jobs waiting; sends to usb://HP/Deskjet%202540?serial=CN3AB1234
            remedy: Someone paused the queue, or CUPS stopped it after the printer failed. Check the printer itself (power, paper, toner, error messages), then resume the queue in the printer settings (as an administrator: `cupsenable Old-Inkjet` and `cupsaccept Old-Inkjet`) and ask the user to print again.
    "#]].assert_eq(&judged(&snapshot, "printer.stopped"));
}

#[test]
fn jobs_are_stuck_from_10_minutes_and_failing_from_an_hour() {
    let mut out = String::new();
    for age in [599, 600, 3599, 3600] {
        let mut snapshot = healthy();
        let queue = &mut printers(&mut snapshot).queues[0];
        queue.state = PrinterState::Printing;
        queue.jobs_waiting = 3;
        queue.oldest_job_age_s = Some(age);
        queue.state_message =
            Some("The printer may not exist or is unavailable at this time.".to_owned());
        out.push_str(&format!(
            "-- {age}\n{}",
            judged(&snapshot, "printer.jobs_stuck")
        ));
    }
    expect![[r#"
        -- 599
        pass printer.jobs_stuck: No print jobs stuck (3 jobs waiting)
            evidence: Office: 3 jobs waiting, the oldest for 9 minutes 59 seconds
        -- 600
        warn printer.jobs_stuck [Office]: Print jobs stuck on Office for 10 minutes
            evidence: Office (HP LaserJet, 2nd floor): printing; "The printer may not exist or is unavailable at this time."; 3 jobs waiting, the oldest for 10 minutes; sends to ipp://10.1.2.40/ipp/print
            remedy: The computer cannot reach the printer at ipp://10.1.2.40/ipp/print. Check that the printer is switched on and connected to the network (its display or a configuration page shows its address); if the address changed, the queue needs updating by second-line support.
        -- 3599
        warn printer.jobs_stuck [Office]: Print jobs stuck on Office for 59 minutes 59 seconds
            evidence: Office (HP LaserJet, 2nd floor): printing; "The printer may not exist or is unavailable at this time."; 3 jobs waiting, the oldest for 59 minutes 59 seconds; sends to ipp://10.1.2.40/ipp/print
            remedy: The computer cannot reach the printer at ipp://10.1.2.40/ipp/print. Check that the printer is switched on and connected to the network (its display or a configuration page shows its address); if the address changed, the queue needs updating by second-line support.
        -- 3600
        fail printer.jobs_stuck [Office]: Print jobs stuck on Office for 1 hour
            evidence: Office (HP LaserJet, 2nd floor): printing; "The printer may not exist or is unavailable at this time."; 3 jobs waiting, the oldest for 1 hour; sends to ipp://10.1.2.40/ipp/print
            remedy: The computer cannot reach the printer at ipp://10.1.2.40/ipp/print. Check that the printer is switched on and connected to the network (its display or a configuration page shows its address); if the address changed, the queue needs updating by second-line support.
    "#]].assert_eq(&out);
}

#[test]
fn stuck_jobs_remediation_follows_the_state_reasons() {
    let mut out = String::new();
    for reasons in [&["media-empty-error"][..], &["offline-report"], &[]] {
        let mut snapshot = healthy();
        let queue = &mut printers(&mut snapshot).queues[0];
        queue.jobs_waiting = 1;
        queue.oldest_job_age_s = Some(1800);
        queue.state_reasons = reasons.iter().map(|r| (*r).to_owned()).collect();
        out.push_str(&judged(&snapshot, "printer.jobs_stuck"));
    }
    expect![[r#"
        warn printer.jobs_stuck [Office]: Print jobs stuck on Office for 30 minutes
            evidence: Office (HP LaserJet, 2nd floor): idle, reasons media-empty-error; 1 job waiting, the oldest for 30 minutes; sends to ipp://10.1.2.40/ipp/print
            remedy: The printer needs attention (paper, a jam, toner or an open door): fix it at the printer and the waiting jobs will print.
        warn printer.jobs_stuck [Office]: Print jobs stuck on Office for 30 minutes
            evidence: Office (HP LaserJet, 2nd floor): idle, reasons offline-report; 1 job waiting, the oldest for 30 minutes; sends to ipp://10.1.2.40/ipp/print
            remedy: The computer cannot reach the printer at ipp://10.1.2.40/ipp/print. Check that the printer is switched on and connected to the network (its display or a configuration page shows its address); if the address changed, the queue needs updating by second-line support.
        warn printer.jobs_stuck [Office]: Print jobs stuck on Office for 30 minutes
            evidence: Office (HP LaserJet, 2nd floor): idle; 1 job waiting, the oldest for 30 minutes; sends to ipp://10.1.2.40/ipp/print
            remedy: Check the printer for error messages; if it looks fine, cancel the oldest job (it may be damaged) and ask the user to print again.
    "#]].assert_eq(&out);
}

#[test]
fn printer_rules_are_silent_without_cups_or_queues() {
    let mut snapshot = healthy();
    *printers(&mut snapshot) = sitrep_snapshot::Printers {
        cups: CupsStatus::Absent {
            reason: "no CUPS socket at /run/cups/cups.sock".to_owned(),
        },
        queues: Vec::new(),
        default_printer: None,
    };
    assert_eq!(judged(&snapshot, "printer."), "");
    peripherals(&mut snapshot).printers =
        Section::error(SectionErrorKind::Timeout, "no complete answer within 4 s");
    assert_eq!(judged(&snapshot, "printer."), "");
}

#[test]
fn battery_health_warns_below_60_percent_and_ignores_peripherals() {
    let mut out = String::new();
    for health in [60.0, 59.9, 31.2] {
        let mut snapshot = healthy();
        let battery = &mut power(&mut snapshot).batteries[0];
        battery.health_pct = Some(health);
        battery.energy_full_wh = Some(57.0 * health / 100.0);
        out.push_str(&format!("-- {health}\n{}", judged(&snapshot, "battery.")));
    }
    let mut snapshot = healthy();
    let batteries = &mut power(&mut snapshot).batteries;
    batteries[0].health_pct = None;
    batteries.push(sitrep_snapshot::Battery {
        name: "hidpp_battery_0".to_owned(),
        peripheral: true,
        health_pct: Some(20.0),
        ..sitrep_snapshot::Battery::default()
    });
    out.push_str(&format!("-- no figures\n{}", judged(&snapshot, "battery.")));
    expect![[r#"
        -- 60
        pass battery.health: Battery health OK on 1 battery
            evidence: BAT0 (5B10W13975, SMP, Li-poly): 34.2 Wh of 57.0 Wh design (60.0 %), 112 cycles, charged 81 %
        -- 59.9
        warn battery.health [BAT0]: Battery BAT0 is worn: it holds 59 % of its design capacity
            evidence: BAT0 (5B10W13975, SMP, Li-poly): 34.1 Wh of 57.0 Wh design (59.9 %), 112 cycles, charged 81 %
            remedy: The battery runs out much sooner than when it was new; that is wear, not a fault of the computer. Ask the user to work plugged in where they can, and request a replacement battery through second-line support.
        -- 31.2
        warn battery.health [BAT0]: Battery BAT0 is worn: it holds 31 % of its design capacity
            evidence: BAT0 (5B10W13975, SMP, Li-poly): 17.8 Wh of 57.0 Wh design (31.2 %), 112 cycles, charged 81 %
            remedy: The battery runs out much sooner than when it was new; that is wear, not a fault of the computer. Ask the user to work plugged in where they can, and request a replacement battery through second-line support.
        -- no figures
    "#]].assert_eq(&out);
}

#[test]
fn usb_devices_without_a_driver_warn_unless_programs_drive_them() {
    let mut snapshot = healthy();
    usb_devices(&mut snapshot).extend([
        // A Wi-Fi stick the kernel has no driver for.
        usb_device(
            "1-6",
            "0bda",
            "b812",
            "vendor-specific",
            &[("1-6:1.0", "vendor-specific", None)],
        ),
        // A device that got no configuration at all.
        usb_device("1-7", "1a86", "7523", "per-interface", &[]),
        // Programs drive these through libusb: a fingerprint reader, a smart card reader, a
        // phone over MTP.
        usb_device(
            "1-9",
            "06cb",
            "00bd",
            "vendor-specific",
            &[("1-9:1.0", "vendor-specific", None)],
        ),
        usb_device(
            "1-3",
            "058f",
            "9540",
            "smart-card",
            &[("1-3:1.0", "smart-card", None)],
        ),
        usb_device(
            "1-8",
            "04e8",
            "6860",
            "image",
            &[("1-8:1.0", "image", None)],
        ),
        // A hub whose driver is missing is reported by the devices behind it, not itself.
        usb_device("1-2", "05e3", "0610", "hub", &[("1-2:1.0", "hub", None)]),
    ]);
    usb_devices(&mut snapshot)[2].manufacturer = Some("Realtek".to_owned());
    usb_devices(&mut snapshot)[2].product = Some("802.11ac NIC".to_owned());
    expect![[r#"
        warn usb.no_driver [1-6]: Realtek 802.11ac NIC (0bda:b812) has no driver
            evidence: 1-6: vendor-specific, 12 Mb/s; no driver on 1-6:1.0 (vendor-specific)
            remedy: The system does not know what to do with this device, so it does not work. Ask the user to plug it into another USB port (directly, not through a hub); if it still has no driver, escalate to second-line support: the system lacks the driver for it.
        warn usb.no_driver [1-7]: USB device 1a86:7523 has no driver
            evidence: 1-7: per-interface, 12 Mb/s; no active configuration (it may lack power or bandwidth on this port)
            remedy: The system does not know what to do with this device, so it does not work. Ask the user to plug it into another USB port (directly, not through a hub); if it still has no driver, escalate to second-line support: the system lacks the driver for it.
    "#]].assert_eq(&judged(&snapshot, "usb."));
}

#[test]
fn connected_external_monitors_that_are_off_warn_and_panels_do_not() {
    let mut snapshot = healthy();
    let screens = displays(&mut snapshot);
    // The lid is closed: the panel is off, which is how it should be.
    screens[0].enabled = false;
    // The second monitor is plugged in but not used.
    screens[1].enabled = false;
    screens.push(sitrep_snapshot::Display {
        connector: "card1-HDMI-A-1".to_owned(),
        connected: true,
        enabled: false,
        ..sitrep_snapshot::Display::default()
    });
    expect![[r#"
        warn display.disabled [card1-DP-1]: Monitor DELL U2518D (serial 3C4YP86S582L) on DP-1 is plugged in but not used
            evidence: card1-DP-1: connected, disabled, preferred mode 2560x1440
            remedy: The monitor is plugged in, but the desktop does not show anything on it. Ask the user to open the display settings and turn it on (on many laptops Super+P or Fn and a display key cycles the modes); if it is not listed there, unplug and replug its cable or the dock.
        warn display.disabled [card1-HDMI-A-1]: A monitor on HDMI-A-1 is plugged in but not used
            evidence: card1-HDMI-A-1: connected, disabled
            remedy: The monitor is plugged in, but the desktop does not show anything on it. Ask the user to open the display settings and turn it on (on many laptops Super+P or Fn and a display key cycles the modes); if it is not listed there, unplug and replug its cable or the dock.
    "#]].assert_eq(&judged(&snapshot, "display."));
    let mut laptop_alone = healthy();
    displays(&mut laptop_alone).truncate(1);
    assert_eq!(judged(&laptop_alone, "display."), "");
}

#[test]
fn blocked_bluetooth_warns_once_per_kind_of_block() {
    let mut out = String::new();
    let mut soft = healthy();
    let switches = &mut bluetooth(&mut soft).rfkill;
    switches[0].soft_blocked = true;
    let mut firmware = rfkill("tpacpi_bluetooth_sw", "bluetooth");
    firmware.soft_blocked = true;
    switches.push(firmware);
    // Wi-Fi off is not this rule's business.
    switches[1].soft_blocked = true;
    out.push_str(&judged(&soft, "bluetooth."));
    let mut hard = healthy();
    bluetooth(&mut hard).rfkill[0].hard_blocked = true;
    bluetooth(&mut hard).rfkill[0].soft_blocked = true;
    out.push_str(&judged(&hard, "bluetooth."));
    expect![[r#"
        warn bluetooth.blocked [hci0, tpacpi_bluetooth_sw]: Bluetooth is turned off
            evidence: hci0: soft-blocked; tpacpi_bluetooth_sw: soft-blocked
            remedy: Ask the user to turn Bluetooth on in the system settings or quick settings menu, and to check that airplane mode is off.
        warn bluetooth.blocked [hci0]: Bluetooth is switched off by a hardware switch
            evidence: hci0: soft- and hard-blocked
            remedy: A key (an airplane or Fn key), a slider on the case or a BIOS setting switched the radio off, and software cannot undo that: ask the user to toggle it, then turn Bluetooth on in the settings.
    "#]].assert_eq(&out);
    let mut without = healthy();
    bluetooth(&mut without)
        .rfkill
        .retain(|switch| switch.kind != "bluetooth");
    assert_eq!(judged(&without, "bluetooth."), "");
}
