//! The `disks` section on Windows.

use sitrep_snapshot::{Disk, Section};

use super::powershell;
use crate::command::skip_unless_live;
use crate::parse::windows::disks::{QUERIES, disks_of};
use crate::{Ctx, ReadError};

pub fn gather(ctx: &Ctx) -> Section<Vec<Disk>> {
    if let Some(skipped) = skip_unless_live(ctx) {
        return skipped;
    }
    read_disks().into()
}

fn read_disks() -> Result<Vec<Disk>, ReadError> {
    let documents = powershell(&QUERIES)?;
    disks_of(documents.get(0)).map_err(|source| documents.error(0, source))
}
