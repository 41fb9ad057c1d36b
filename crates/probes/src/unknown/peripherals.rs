//! The `peripherals` section: no reader on this platform yet, so every kind is skipped.

use sitrep_snapshot::{
    Audio, Bluetooth, Camera, DeviceProblem, Display, InputDevice, Power, Printers, Section,
    UsbDevice,
};

use crate::Ctx;

const NOT_YET: &str = "not gathered on this platform yet";

pub fn usb(_ctx: &Ctx) -> Section<Vec<UsbDevice>> {
    Section::skipped(NOT_YET)
}

pub fn printers(_ctx: &Ctx) -> Section<Printers> {
    Section::skipped(NOT_YET)
}

pub fn displays(_ctx: &Ctx) -> Section<Vec<Display>> {
    Section::skipped(NOT_YET)
}

pub fn audio(_ctx: &Ctx) -> Section<Audio> {
    Section::skipped(NOT_YET)
}

pub fn power(_ctx: &Ctx) -> Section<Power> {
    Section::skipped(NOT_YET)
}

pub fn input(_ctx: &Ctx) -> Section<Vec<InputDevice>> {
    Section::skipped(NOT_YET)
}

pub fn bluetooth(_ctx: &Ctx) -> Section<Bluetooth> {
    Section::skipped(NOT_YET)
}

pub fn cameras(_ctx: &Ctx) -> Section<Vec<Camera>> {
    Section::skipped(NOT_YET)
}

pub fn device_problems(_ctx: &Ctx) -> Section<Vec<DeviceProblem>> {
    Section::skipped(NOT_YET)
}
