//! The `disks` section on macOS.

use sitrep_snapshot::{Disk, Section};

use super::{parsed, tool};
use crate::command::skip_unless_live;
use crate::parse::macos::disks::disks_of;
use crate::{Ctx, ReadError};

pub fn gather(ctx: &Ctx) -> Section<Vec<Disk>> {
    if let Some(skipped) = skip_unless_live(ctx) {
        return skipped;
    }
    read_disks().into()
}

fn read_disks() -> Result<Vec<Disk>, ReadError> {
    let df = tool("/bin/df", &["-kP"])?;
    let mount = tool("/sbin/mount", &[])?;
    parsed("df -kP", &df, |df| disks_of(df, &mount))
}
