//! The `hardware` section on macOS.

use sitrep_snapshot::{Hardware, Section};

use super::{parsed, tool};
use crate::command::skip_unless_live;
use crate::parse::macos::hardware::{SYSCTL_NAMES, hardware_of};
use crate::{Ctx, ReadError};

pub fn gather(ctx: &Ctx) -> Section<Hardware> {
    if let Some(skipped) = skip_unless_live(ctx) {
        return skipped;
    }
    read_hardware().into()
}

fn read_hardware() -> Result<Hardware, ReadError> {
    let sysctl = tool("/usr/sbin/sysctl", &SYSCTL_NAMES)?;
    let vm_stat = tool("/usr/bin/vm_stat", &[])?;
    parsed("sysctl and vm_stat", &sysctl, |sysctl| {
        hardware_of(sysctl, &vm_stat)
    })
}
