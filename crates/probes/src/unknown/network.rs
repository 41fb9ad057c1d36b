//! The `network` section: no reader on this platform yet.

use sitrep_snapshot::{Network, Section};

use crate::Ctx;

/// Says that this platform has no network readers yet.
pub fn gather(_ctx: &Ctx) -> Section<Network> {
    Section::skipped("network readers are not implemented on this platform yet")
}
