//! Errors of readers and parsers, carrying the file, command and line they concern.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use sitrep_snapshot::{SectionError, SectionErrorKind};

/// A pure parser did not understand its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line of the input; 0 where the input as a whole is wrong.
    pub line: usize,
    pub message: String,
}

impl ParseError {
    pub fn new(line: usize, message: impl Into<String>) -> Self {
        ParseError {
            line,
            message: message.into(),
        }
    }
}

/// A reader could not gather its data.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot parse {path}: {source}")]
    Parse { path: PathBuf, source: ParseError },
    #[error("{0}")]
    Unsupported(String),
    /// A tool the Windows and macOS readers ask (PowerShell, system_profiler, scutil...) failed.
    #[error("`{command}` {failure}")]
    Command {
        command: String,
        failure: CommandFailure,
    },
    /// A tool answered, but not in the form its parser knows.
    #[error("cannot parse the output of `{command}`: {source}")]
    CommandOutput { command: String, source: ParseError },
}

/// How running a tool went wrong.
#[derive(Debug, thiserror::Error)]
pub enum CommandFailure {
    #[error("could not be started: {0}")]
    Spawn(io::Error),
    #[error("did not finish within {} s and was stopped", .0.as_secs_f32())]
    TimedOut(Duration),
    #[error("failed ({status}): {stderr}")]
    Exit { status: String, stderr: String },
    #[error("printed more than {0} bytes")]
    TooLarge(u64),
    #[error("output could not be read: {0}")]
    Read(io::Error),
}

impl ReadError {
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        ReadError::Io {
            path: path.into(),
            source,
        }
    }

    pub fn parse(path: impl Into<PathBuf>, source: ParseError) -> Self {
        ReadError::Parse {
            path: path.into(),
            source,
        }
    }
}

impl From<ReadError> for SectionError {
    fn from(error: ReadError) -> Self {
        let kind = match &error {
            ReadError::Io { source, .. } if source.kind() == io::ErrorKind::PermissionDenied => {
                SectionErrorKind::PermissionDenied
            }
            ReadError::Io { .. } => SectionErrorKind::Io,
            ReadError::Parse { .. } => SectionErrorKind::Parse,
            ReadError::Unsupported(_) => SectionErrorKind::Unsupported,
            ReadError::Command { failure, .. } => match failure {
                CommandFailure::Spawn(source) if source.kind() == io::ErrorKind::NotFound => {
                    SectionErrorKind::Unsupported
                }
                CommandFailure::Spawn(source)
                    if source.kind() == io::ErrorKind::PermissionDenied =>
                {
                    SectionErrorKind::PermissionDenied
                }
                CommandFailure::TimedOut(_) => SectionErrorKind::Timeout,
                CommandFailure::TooLarge(_) => SectionErrorKind::Parse,
                CommandFailure::Spawn(_)
                | CommandFailure::Exit { .. }
                | CommandFailure::Read(_) => SectionErrorKind::Io,
            },
            ReadError::CommandOutput { .. } => SectionErrorKind::Parse,
        };
        SectionError {
            kind,
            message: error.to_string(),
        }
    }
}
