//! Bluetooth adapters from /sys/class/bluetooth and every radio kill switch from
//! /sys/class/rfkill (a ThinkPad's `tpacpi_bluetooth_sw` can switch the adapter off so far that
//! it leaves the bus, so the switches are read even without an adapter).

use sitrep_snapshot::{Bluetooth, BluetoothAdapter, RfkillSwitch, Section};

use super::{attribute, class_entries, link_name};
use crate::{Ctx, ReadError};

const SYS_CLASS_BLUETOOTH: &str = "/sys/class/bluetooth";
const SYS_CLASS_RFKILL: &str = "/sys/class/rfkill";

/// Gathers the adapters and the radio switches.
pub fn gather(ctx: &Ctx) -> Section<Bluetooth> {
    read_bluetooth(ctx).into()
}

fn read_bluetooth(ctx: &Ctx) -> Result<Bluetooth, ReadError> {
    let adapters = class_entries(ctx, SYS_CLASS_BLUETOOTH)?
        .into_iter()
        // Connections to paired devices (`hci0:3585`) are in the class too.
        .filter(|(name, _)| !name.contains(':'))
        .map(|(name, dir)| {
            let device = dir.join("device");
            BluetoothAdapter {
                bus: link_name(&device, "subsystem"),
                driver: link_name(&device, "driver"),
                name,
            }
        })
        .collect();
    let rfkill = class_entries(ctx, SYS_CLASS_RFKILL)?
        .into_iter()
        .map(|(entry, dir)| RfkillSwitch {
            name: attribute(&dir, "name").unwrap_or(entry),
            kind: attribute(&dir, "type").unwrap_or_default(),
            soft_blocked: attribute(&dir, "soft").as_deref() == Some("1"),
            hard_blocked: attribute(&dir, "hard").as_deref() == Some("1"),
        })
        .collect();
    Ok(Bluetooth { adapters, rfkill })
}
