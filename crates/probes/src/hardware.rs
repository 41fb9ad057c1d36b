//! The `hardware` section: the platform-neutral entry point.

use sitrep_snapshot::{Hardware, Section};

use crate::{Ctx, platform};

/// Gathers the `hardware` section of this machine (or of the fixture tree at `ctx.root`).
pub fn gather(ctx: &Ctx) -> Section<Hardware> {
    platform::hardware::gather(ctx)
}
