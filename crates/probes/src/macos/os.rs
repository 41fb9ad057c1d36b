//! The `os` section on macOS.

use std::fs;

use chrono::Utc;
use sitrep_snapshot::{Os, Section};

use super::{parsed, tool};
use crate::command::skip_unless_live;
use crate::parse::macos::os::{OsOutputs, SYSCTL_NAMES, os_of};
use crate::{Ctx, ReadError};

pub fn gather(ctx: &Ctx) -> Section<Os> {
    if let Some(skipped) = skip_unless_live(ctx) {
        return skipped;
    }
    read_os().into()
}

fn read_os() -> Result<Os, ReadError> {
    let sw_vers = tool("/usr/bin/sw_vers", &[])?;
    // Each of these only fills a field; a failure leaves it empty.
    let sysctl = tool("/usr/sbin/sysctl", &SYSCTL_NAMES).unwrap_or_else(|error| {
        tracing::debug!(%error, "sysctl failed");
        String::new()
    });
    let who = tool("/usr/bin/who", &[]).unwrap_or_default();
    let localtime = fs::read_link("/etc/localtime").ok();
    parsed("sw_vers", &sw_vers, |sw_vers| {
        os_of(
            OsOutputs {
                sw_vers,
                sysctl: &sysctl,
                who: &who,
                localtime_link: localtime.as_deref().and_then(|link| link.to_str()),
            },
            Utc::now(),
        )
    })
}
