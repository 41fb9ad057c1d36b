//! The `disks` section: the platform-neutral entry point.

use sitrep_snapshot::{Disk, Section};

use crate::{Ctx, platform};

/// Gathers the `disks` section of this machine (or of the fixture tree at `ctx.root`).
pub fn gather(ctx: &Ctx) -> Section<Vec<Disk>> {
    platform::disks::gather(ctx)
}
