//! Errors of readers and parsers, carrying the file and line they concern.

use std::io;
use std::path::PathBuf;

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
        };
        SectionError {
            kind,
            message: error.to_string(),
        }
    }
}
