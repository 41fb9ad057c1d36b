//! The `peripherals` section on macOS: one `system_profiler` data type per kind, and the
//! print queues from cupsd over its local socket.

use std::os::unix::net::UnixStream;
use std::time::Duration;

use sitrep_snapshot::{
    Audio, Bluetooth, Camera, DeviceProblem, Display, InputDevice, Power, Printers, Section,
    UsbDevice,
};

use super::system_profiler;
use crate::command::skip_unless_live;
use crate::cups;
use crate::parse::macos::peripherals;
use crate::{Ctx, ReadError};

/// Where launchd listens for cupsd and starts it on the first connection.
const CUPS_SOCKET: &str = "/private/var/run/cupsd";
/// Per read or write; cupsd answers these in milliseconds when it is well.
const CUPS_TIMEOUT: Duration = Duration::from_secs(2);

pub fn usb(ctx: &Ctx) -> Section<Vec<UsbDevice>> {
    live(ctx, || {
        system_profiler("SPUSBDataType", peripherals::usb_devices)
    })
}

pub fn printers(ctx: &Ctx) -> Section<Printers> {
    if let Some(skipped) = skip_unless_live(ctx) {
        return skipped;
    }
    cups::query(CUPS_SOCKET, || {
        let stream = UnixStream::connect(CUPS_SOCKET)?;
        stream.set_read_timeout(Some(CUPS_TIMEOUT))?;
        stream.set_write_timeout(Some(CUPS_TIMEOUT))?;
        Ok(stream)
    })
    .into()
}

pub fn displays(ctx: &Ctx) -> Section<Vec<Display>> {
    live(ctx, || {
        system_profiler("SPDisplaysDataType", peripherals::displays)
    })
}

pub fn audio(ctx: &Ctx) -> Section<Audio> {
    live(ctx, || {
        system_profiler("SPAudioDataType", peripherals::audio)
    })
}

pub fn power(ctx: &Ctx) -> Section<Power> {
    live(ctx, || {
        system_profiler("SPPowerDataType", peripherals::power)
    })
}

/// system_profiler lists keyboards and mice only as the USB and Bluetooth devices they are.
pub fn input(_ctx: &Ctx) -> Section<Vec<InputDevice>> {
    Section::skipped("macOS lists input devices only among USB and Bluetooth devices")
}

pub fn bluetooth(ctx: &Ctx) -> Section<Bluetooth> {
    live(ctx, || {
        system_profiler("SPBluetoothDataType", peripherals::bluetooth)
    })
}

pub fn cameras(ctx: &Ctx) -> Section<Vec<Camera>> {
    live(ctx, || {
        system_profiler("SPCameraDataType", peripherals::cameras)
    })
}

/// macOS has no list of devices it failed to drive; an unsupported device just shows up
/// without a driver among the USB devices.
pub fn device_problems(_ctx: &Ctx) -> Section<Vec<DeviceProblem>> {
    Section::skipped("not reported on macOS")
}

fn live<T>(ctx: &Ctx, read: impl FnOnce() -> Result<T, ReadError>) -> Section<T> {
    match skip_unless_live(ctx) {
        Some(skipped) => skipped,
        None => read().into(),
    }
}
