//! The `os` section from sysinfo.

use chrono::DateTime;
use sitrep_snapshot::{Os, Section};
use sysinfo::System;

use super::skip_unless_live;
use crate::Ctx;

/// Gathers what sysinfo knows of the operating system; the rest stays empty until this
/// platform has its own readers.
pub fn gather(ctx: &Ctx) -> Section<Os> {
    if let Some(skipped) = skip_unless_live(ctx) {
        return skipped;
    }
    let family = std::env::consts::OS.to_owned();
    Section::Ok(Os {
        name: System::name().unwrap_or_else(|_| family.clone()),
        family,
        id: Some(System::distribution_id()).filter(|id| !id.is_empty()),
        version: System::os_version().ok(),
        pretty_name: System::long_os_version().ok(),
        patch_level: None,
        kernel: System::kernel_version().ok(),
        hostname: System::host_name().ok(),
        arch: std::env::consts::ARCH.to_owned(),
        uptime_seconds: System::uptime().ok(),
        boot_time: System::boot_time()
            .ok()
            .and_then(|seconds| DateTime::from_timestamp(i64::try_from(seconds).ok()?, 0)),
        ..Os::default()
    })
}
