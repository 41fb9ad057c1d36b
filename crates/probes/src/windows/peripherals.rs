//! The `peripherals` section on Windows: each kind asks its own CIM classes in its own
//! PowerShell run, so a hung spooler or WMI provider costs only its kind.

use chrono::Utc;
use sitrep_snapshot::{
    Audio, Bluetooth, Camera, DeviceProblem, Display, InputDevice, Power, Printers, Section,
    UsbDevice,
};

use super::powershell;
use crate::command::skip_unless_live;
use crate::parse::windows::peripherals::pnp::{self, PNP_QUERY, PnpEntity};
use crate::parse::windows::peripherals::{
    audio as sound, displays as monitors, power as battery, printers as spooler, problems,
};
use crate::{Ctx, ReadError};

pub fn usb(ctx: &Ctx) -> Section<Vec<UsbDevice>> {
    live(ctx, || Ok(pnp::usb_devices(&read_pnp()?)))
}

pub fn printers(ctx: &Ctx) -> Section<Printers> {
    live(ctx, || {
        let documents = powershell(&spooler::QUERIES)?;
        spooler::printers_of(
            documents.get(0),
            documents.get(1),
            documents.get(2),
            Utc::now(),
        )
        .map_err(|source| documents.error(1, source))
    })
}

pub fn displays(ctx: &Ctx) -> Section<Vec<Display>> {
    live(ctx, || {
        let documents = powershell(&monitors::QUERIES)?;
        monitors::displays_of(documents.get(0), documents.get(1))
            .map_err(|source| documents.error(0, source))
    })
}

pub fn audio(ctx: &Ctx) -> Section<Audio> {
    live(ctx, || {
        let documents = powershell(&[sound::SOUND_DEVICE_QUERY])?;
        sound::audio_of(documents.get(0)).map_err(|source| documents.error(0, source))
    })
}

pub fn power(ctx: &Ctx) -> Section<Power> {
    live(ctx, || {
        let documents = powershell(&battery::QUERIES)?;
        battery::power_of(
            documents.get(0),
            documents.get(1),
            documents.get(2),
            documents.get(3),
        )
        .map_err(|source| documents.error(0, source))
    })
}

pub fn input(ctx: &Ctx) -> Section<Vec<InputDevice>> {
    live(ctx, || Ok(pnp::input_devices(&read_pnp()?)))
}

/// Windows has no rfkill; a radio switched off in Settings keeps its device.
pub fn bluetooth(ctx: &Ctx) -> Section<Bluetooth> {
    live(ctx, || {
        Ok(Bluetooth {
            adapters: pnp::bluetooth_adapters(&read_pnp()?),
            rfkill: Vec::new(),
        })
    })
}

pub fn cameras(ctx: &Ctx) -> Section<Vec<Camera>> {
    live(ctx, || Ok(pnp::cameras(&read_pnp()?)))
}

pub fn device_problems(ctx: &Ctx) -> Section<Vec<DeviceProblem>> {
    live(ctx, || Ok(problems::device_problems(&read_pnp()?)))
}

fn read_pnp() -> Result<Vec<PnpEntity>, ReadError> {
    let documents = powershell(&[PNP_QUERY])?;
    pnp::parse_pnp_entities(documents.get(0)).map_err(|source| documents.error(0, source))
}

fn live<T>(ctx: &Ctx, read: impl FnOnce() -> Result<T, ReadError>) -> Section<T> {
    match skip_unless_live(ctx) {
        Some(skipped) => skipped,
        None => read().into(),
    }
}
