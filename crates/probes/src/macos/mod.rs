//! macOS readers: the system's own tools, by full path and in the C locale so their output is
//! the one the parsers in `parse::macos` know. CUPS answers for the printers.

pub mod disks;
pub mod hardware;
pub mod network;
pub mod os;
pub mod peripherals;

use std::process::Command;

use crate::command::{self, TOOL_TIMEOUT};
use crate::{ParseError, ReadError};

/// The standard output of `program` (a full path) run with `args`.
fn tool(program: &str, args: &[&str]) -> Result<String, ReadError> {
    let mut command = Command::new(program);
    command.args(args).env("LC_ALL", "C");
    Ok(command::run(&mut command, TOOL_TIMEOUT)?.stdout)
}

/// `parse` applied to `text`, its error naming the tool that printed it.
fn parsed<T>(
    program: &str,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, ParseError>,
) -> Result<T, ReadError> {
    parse(text).map_err(|source| ReadError::CommandOutput {
        command: program.to_owned(),
        source,
    })
}

/// `system_profiler -json` for one data type, and its parse.
fn system_profiler<T>(
    data_type: &str,
    parse: impl FnOnce(&str) -> Result<T, ParseError>,
) -> Result<T, ReadError> {
    let output = tool("/usr/sbin/system_profiler", &["-json", data_type])?;
    parsed(
        &format!("system_profiler -json {data_type}"),
        &output,
        parse,
    )
}
