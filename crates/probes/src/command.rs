//! Runs the tools the Windows and macOS readers ask (PowerShell, system_profiler, scutil, ...)
//! under a time limit, so a hung tool costs its own section, never the agent.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use sitrep_snapshot::Section;

use crate::ReadError;
use crate::error::CommandFailure;

/// Long enough for `system_profiler` on a Mac with many Bluetooth devices and for a cold
/// PowerShell start on a busy laptop; the report's own deadline usually cuts in first, and this
/// bounds the process left behind.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(20);
/// A tool printing more than this is not telling us about one machine.
const OUTPUT_LIMIT: u64 = 32 * 1024 * 1024;
/// Shown of each argument in error messages.
const SHOWN_ARGUMENT: usize = 60;
/// Shown of a failing tool's standard error, enough for its message.
const STDERR_SHOWN: usize = 400;

/// What a finished tool printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    pub stdout: String,
    pub stderr: String,
}

/// Tools tell about the live system only: a fixture root gets `skipped` sections rather than
/// the host's figures.
#[cfg(any(windows, target_os = "macos"))]
pub fn skip_unless_live<T>(ctx: &crate::Ctx) -> Option<Section<T>> {
    (ctx.root != std::path::Path::new("/")).then(|| {
        Section::skipped(format!(
            "readers on this platform ask the live system, not {}",
            ctx.root.display()
        ))
    })
}

/// `command` as a person would type it, for error messages; a long argument (PowerShell's
/// script) is cut short.
pub fn shown(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| {
            let part = part.to_string_lossy();
            match part.char_indices().nth(SHOWN_ARGUMENT) {
                Some((end, _)) => format!("{}...", &part[..end]),
                None => part.into_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `command` with no standard input and returns what it printed. A tool that fails to
/// start, exits unsuccessfully, prints too much or outlives `timeout` (it is then killed) is an
/// error naming the command.
pub fn run(command: &mut Command, timeout: Duration) -> Result<ToolOutput, ReadError> {
    let deadline = Instant::now() + timeout;
    let shown = shown(command);
    let fail = |failure| ReadError::Command {
        command: shown.clone(),
        failure,
    };
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| fail(CommandFailure::Spawn(source)))?;
    // Both pipes are drained while the tool runs: one that fills its pipe would otherwise
    // block forever.
    let (sender, receiver) = mpsc::channel();
    if let Some(mut pipe) = child.stdout.take() {
        let sender = sender.clone();
        thread::spawn(move || sender.send((true, drain(&mut pipe))));
    }
    if let Some(mut pipe) = child.stderr.take() {
        thread::spawn(move || sender.send((false, drain(&mut pipe))));
    }
    let status = wait_until(&mut child, deadline)
        .map_err(|source| fail(CommandFailure::Read(source)))?
        .ok_or_else(|| fail(CommandFailure::TimedOut(timeout)))?;

    let mut output = ToolOutput {
        stdout: String::new(),
        stderr: String::new(),
    };
    for _ in 0..2 {
        // A helper the tool left running may hold the pipes open; it does not get to hold us.
        let remaining = deadline.saturating_duration_since(Instant::now());
        let (is_stdout, drained) = receiver
            .recv_timeout(remaining)
            .map_err(|_| fail(CommandFailure::TimedOut(timeout)))?;
        let (bytes, total) = drained.map_err(|source| fail(CommandFailure::Read(source)))?;
        if total > OUTPUT_LIMIT {
            return Err(fail(CommandFailure::TooLarge(OUTPUT_LIMIT)));
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if is_stdout {
            output.stdout = text;
        } else {
            output.stderr = text;
        }
    }
    if !status.success() {
        return Err(fail(CommandFailure::Exit {
            status: status.to_string(),
            stderr: stderr_excerpt(&output.stderr),
        }));
    }
    Ok(output)
}

/// Reads a pipe to its end, keeping at most [`OUTPUT_LIMIT`] bytes; returns them and how many
/// there were.
fn drain(pipe: &mut impl Read) -> std::io::Result<(Vec<u8>, u64)> {
    let mut kept = Vec::new();
    let mut total = 0u64;
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let read = match pipe.read(&mut buffer) {
            Ok(0) => return Ok((kept, total)),
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        total += read as u64;
        if total <= OUTPUT_LIMIT {
            kept.extend_from_slice(&buffer[..read]);
        }
    }
}

/// The exit status, or `None` when the deadline passed first (the tool is then killed).
fn wait_until(child: &mut Child, deadline: Instant) -> std::io::Result<Option<ExitStatus>> {
    // Most tools finish within milliseconds; the pause grows so a slow one is not polled hard.
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            // It may have exited in between; either way it is reaped.
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// The last meaningful part of a tool's standard error, on one line.
fn stderr_excerpt(stderr: &str) -> String {
    let text = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return "no message".to_owned();
    }
    let start = text.len().saturating_sub(STDERR_SHOWN);
    let start = (start..text.len())
        .find(|index| text.is_char_boundary(*index))
        .unwrap_or(0);
    text[start..].to_owned()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn shell(script: &str) -> Command {
        let mut command = Command::new("/bin/sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn output_of_a_tool_that_succeeds() {
        let output = run(&mut shell("echo out; echo err >&2"), TOOL_TIMEOUT);
        assert_eq!(
            output.ok(),
            Some(ToolOutput {
                stdout: "out\n".to_owned(),
                stderr: "err\n".to_owned()
            })
        );
    }

    #[test]
    fn failure_names_the_command_and_its_message() {
        let error = run(&mut shell("echo 'no such class' >&2; exit 3"), TOOL_TIMEOUT);
        let message = error.map(|_| ()).map_err(|error| error.to_string());
        assert_eq!(
            message,
            Err("`/bin/sh -c echo 'no such class' >&2; exit 3` failed (exit status: 3): no such class".to_owned())
        );
    }

    #[test]
    fn a_hung_tool_is_stopped_at_the_timeout() {
        let started = Instant::now();
        let result = run(&mut shell("exec sleep 30"), Duration::from_millis(200));
        assert!(matches!(
            result,
            Err(ReadError::Command {
                failure: CommandFailure::TimedOut(_),
                ..
            })
        ));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_missing_tool_is_unsupported() {
        let result = run(
            &mut Command::new("/nonexistent/system_profiler"),
            TOOL_TIMEOUT,
        );
        let section: Section<()> = result.map(|_| ()).into();
        assert!(matches!(
            section,
            Section::Error(sitrep_snapshot::SectionError {
                kind: sitrep_snapshot::SectionErrorKind::Unsupported,
                ..
            })
        ));
    }
}
