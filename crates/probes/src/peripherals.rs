//! The `peripherals` section: the platform-neutral entry points, the whole section or one kind
//! at a time (the agent runs the kinds side by side, so a hung print service delays only the
//! printers).

use sitrep_snapshot::{
    Audio, Bluetooth, Camera, DeviceProblem, Display, InputDevice, Peripherals, Power, Printers,
    Section, UsbDevice,
};

use crate::{Ctx, platform};

/// Gathers every kind of peripheral of this machine (or of the fixture tree at `ctx.root`);
/// each kind carries its own error.
pub fn gather(ctx: &Ctx) -> Peripherals {
    Peripherals {
        usb: usb(ctx),
        printers: printers(ctx),
        displays: displays(ctx),
        audio: audio(ctx),
        power: power(ctx),
        input: input(ctx),
        bluetooth: bluetooth(ctx),
        cameras: cameras(ctx),
        device_problems: device_problems(ctx),
    }
}

pub fn usb(ctx: &Ctx) -> Section<Vec<UsbDevice>> {
    platform::peripherals::usb(ctx)
}

pub fn printers(ctx: &Ctx) -> Section<Printers> {
    platform::peripherals::printers(ctx)
}

pub fn displays(ctx: &Ctx) -> Section<Vec<Display>> {
    platform::peripherals::displays(ctx)
}

pub fn audio(ctx: &Ctx) -> Section<Audio> {
    platform::peripherals::audio(ctx)
}

pub fn power(ctx: &Ctx) -> Section<Power> {
    platform::peripherals::power(ctx)
}

pub fn input(ctx: &Ctx) -> Section<Vec<InputDevice>> {
    platform::peripherals::input(ctx)
}

pub fn bluetooth(ctx: &Ctx) -> Section<Bluetooth> {
    platform::peripherals::bluetooth(ctx)
}

pub fn cameras(ctx: &Ctx) -> Section<Vec<Camera>> {
    platform::peripherals::cameras(ctx)
}

pub fn device_problems(ctx: &Ctx) -> Section<Vec<DeviceProblem>> {
    platform::peripherals::device_problems(ctx)
}
