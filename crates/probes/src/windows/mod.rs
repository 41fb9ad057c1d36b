//! Windows readers: CIM (WMI) classes asked through PowerShell, one process per section, and
//! `ipconfig /all` where WMI has no answer. The parsers are in `parse::windows`.

pub mod disks;
pub mod hardware;
pub mod network;
pub mod os;
pub mod peripherals;

use std::os::windows::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use crate::command::{self, TOOL_TIMEOUT, ToolOutput};
use crate::parse::windows::{encoded_command, powershell_script, split_documents};
use crate::{ParseError, ReadError};

/// `CREATE_NO_WINDOW`: a console tool started from the service or a GUI must not flash a window.
const CREATE_NO_WINDOW: u32 = 0x0800_0000;

/// A program of `System32`, by full path: the service runs as LocalSystem, and a `PATH` entry
/// that users can write to must not choose what it runs.
fn system32(program: &str) -> Command {
    let root =
        std::env::var_os("SystemRoot").map_or_else(|| PathBuf::from(r"C:\Windows"), PathBuf::from);
    let mut command = Command::new(root.join("System32").join(program));
    command.creation_flags(CREATE_NO_WINDOW);
    command
}

/// The output of one Windows PowerShell run of `queries`, one document per query. A query that
/// failed has an empty document and its error is logged.
fn powershell(queries: &[&str]) -> Result<Documents, ReadError> {
    let mut command = system32(r"WindowsPowerShell\v1.0\powershell.exe");
    command.args([
        "-NoProfile",
        "-NonInteractive",
        "-ExecutionPolicy",
        "Bypass",
        "-EncodedCommand",
        &encoded_command(&powershell_script(queries)),
    ]);
    let shown = command::shown(&command);
    let ToolOutput { stdout, stderr } = command::run(&mut command, TOOL_TIMEOUT)?;
    if !stderr.trim().is_empty() {
        tracing::debug!(stderr = %stderr.trim(), "a PowerShell query failed");
    }
    let documents = split_documents(&stdout, queries.len())
        .ok_or_else(|| ReadError::CommandOutput {
            command: shown.clone(),
            source: ParseError::new(0, format!("fewer than {} documents", queries.len())),
        })?
        .into_iter()
        .map(str::to_owned)
        .collect();
    Ok(Documents {
        shown,
        documents,
        stderr,
    })
}

/// The documents of one PowerShell run, and what to name in errors about them.
struct Documents {
    shown: String,
    documents: Vec<String>,
    stderr: String,
}

impl Documents {
    fn get(&self, position: usize) -> &str {
        self.documents.get(position).map_or("", String::as_str)
    }

    /// A parse error of one of these documents; an empty document means its query failed, and
    /// PowerShell's message says why.
    fn error(&self, position: usize, source: ParseError) -> ReadError {
        let source = if self.get(position).trim().is_empty() && !self.stderr.trim().is_empty() {
            ParseError::new(
                0,
                format!(
                    "{source} ({})",
                    self.stderr.split_whitespace().collect::<Vec<_>>().join(" ")
                ),
            )
        } else {
            source
        };
        ReadError::CommandOutput {
            command: self.shown.clone(),
            source,
        }
    }
}
