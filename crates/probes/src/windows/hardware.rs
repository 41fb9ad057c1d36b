//! The `hardware` section on Windows.

use sitrep_snapshot::{Hardware, Section};

use super::powershell;
use crate::command::skip_unless_live;
use crate::parse::windows::hardware::{QUERIES, hardware_of};
use crate::{Ctx, ReadError};

pub fn gather(ctx: &Ctx) -> Section<Hardware> {
    if let Some(skipped) = skip_unless_live(ctx) {
        return skipped;
    }
    read_hardware().into()
}

fn read_hardware() -> Result<Hardware, ReadError> {
    let documents = powershell(&QUERIES)?;
    hardware_of(documents.get(0), documents.get(1)).map_err(|source| documents.error(1, source))
}
