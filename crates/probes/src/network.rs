//! The `network` section: the platform-neutral entry point.

use sitrep_snapshot::{Network, Section};

use crate::{Ctx, platform};

/// Gathers the `network` section of this machine (or of the fixture tree at `ctx.root`).
pub fn gather(ctx: &Ctx) -> Section<Network> {
    platform::network::gather(ctx)
}
