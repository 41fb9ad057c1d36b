//! Linux readers: each section read from /proc, /sys, /etc and /run below `Ctx::root`.
//!
//! sysinfo can only read the live /proc, so on Linux we parse the files ourselves; that is what
//! lets every reader run on a fixture tree.

pub mod disks;
pub mod hardware;
pub mod network;
pub mod os;
pub mod peripherals;

use std::fs;
use std::io;

use crate::{Ctx, ParseError, ReadError};

/// The text of `path` (absolute, as on a live machine) below the root.
fn read_file(ctx: &Ctx, path: &str) -> Result<String, ReadError> {
    let full = ctx.path(path);
    fs::read_to_string(&full).map_err(|source| ReadError::io(full, source))
}

/// Like [`read_file`], but a file that does not exist is `None` rather than an error.
fn read_optional_file(ctx: &Ctx, path: &str) -> Result<Option<String>, ReadError> {
    match read_file(ctx, path) {
        Ok(text) => Ok(Some(text)),
        Err(ReadError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// Reads `path` below the root and runs `parse` on it, naming the file in any error.
fn parse_file<T>(
    ctx: &Ctx,
    path: &str,
    parse: impl FnOnce(&str) -> Result<T, ParseError>,
) -> Result<T, ReadError> {
    let text = read_file(ctx, path)?;
    parse(&text).map_err(|source| ReadError::parse(ctx.path(path), source))
}
