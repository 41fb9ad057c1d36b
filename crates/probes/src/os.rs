//! The `os` section: the platform-neutral entry point.

use sitrep_snapshot::{Os, Section};

use crate::{Ctx, platform};

/// Gathers the `os` section of this machine (or of the fixture tree at `ctx.root`).
pub fn gather(ctx: &Ctx) -> Section<Os> {
    platform::os::gather(ctx)
}
