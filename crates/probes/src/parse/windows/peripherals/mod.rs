//! The `peripherals` section on Windows, one module per source: Plug and Play devices (USB,
//! Bluetooth, cameras, input), printers, monitors, batteries and sound devices,
//! and the devices Device Manager flags.

pub mod audio;
pub mod displays;
pub mod pnp;
pub mod power;
pub mod printers;
pub mod problems;
