//! Readers for platforms without their own module yet: what sysinfo offers cheaply, and a
//! `skipped` section for the rest. sysinfo reads only the live system, so a fixture root
//! gets `skipped` sections rather than the host's figures.

pub mod disks;
pub mod hardware;
pub mod network;
pub mod os;
pub mod peripherals;

use std::path::Path;

use sitrep_snapshot::{Section, SectionError, SectionErrorKind};

use crate::Ctx;

/// `Some(skipped section)` when `ctx` points at a tree other than the live system.
fn skip_unless_live<T>(ctx: &Ctx) -> Option<Section<T>> {
    (ctx.root != Path::new("/")).then(|| {
        Section::skipped(format!(
            "readers on this platform read only the live system, not {}",
            ctx.root.display()
        ))
    })
}

/// A sysinfo failure as a section error naming the call that failed.
fn sysinfo_error(call: &str, error: &sysinfo::Error) -> SectionError {
    let kind = match error {
        sysinfo::Error::Unsupported => SectionErrorKind::Unsupported,
        sysinfo::Error::Io(_) => SectionErrorKind::Io,
        sysinfo::Error::Other(_) => SectionErrorKind::Internal,
    };
    SectionError {
        kind,
        message: format!("sysinfo {call}: {error}"),
    }
}
