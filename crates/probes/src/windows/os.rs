//! The `os` section on Windows.

use chrono::Utc;
use sitrep_snapshot::{Os, Section};

use super::powershell;
use crate::command::skip_unless_live;
use crate::parse::windows::os::{OsDocuments, QUERIES, os_of};
use crate::{Ctx, ReadError};

pub fn gather(ctx: &Ctx) -> Section<Os> {
    if let Some(skipped) = skip_unless_live(ctx) {
        return skipped;
    }
    read_os().into()
}

fn read_os() -> Result<Os, ReadError> {
    let documents = powershell(&QUERIES)?;
    os_of(
        OsDocuments {
            operating_system: documents.get(0),
            hotfixes: documents.get(1),
            computer_system: documents.get(2),
            current_version: documents.get(3),
        },
        Utc::now(),
    )
    .map_err(|source| documents.error(0, source))
}
