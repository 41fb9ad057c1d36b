//! `Section<T>`: a gathered value, or why it is missing, so one failing reader never loses the rest.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One part of a snapshot: `{"ok": ...}`, `{"error": {"kind", "message"}}` or `{"skipped": "reason"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Section<T> {
    Ok(T),
    Error(SectionError),
    Skipped(String),
}

impl<T> Section<T> {
    pub fn error(kind: SectionErrorKind, message: impl Into<String>) -> Self {
        Section::Error(SectionError {
            kind,
            message: message.into(),
        })
    }

    pub fn skipped(reason: impl Into<String>) -> Self {
        Section::Skipped(reason.into())
    }

    pub fn ok(&self) -> Option<&T> {
        match self {
            Section::Ok(value) => Some(value),
            Section::Error(_) | Section::Skipped(_) => None,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Section<U> {
        match self {
            Section::Ok(value) => Section::Ok(f(value)),
            Section::Error(error) => Section::Error(error),
            Section::Skipped(reason) => Section::Skipped(reason),
        }
    }
}

impl<T, E: Into<SectionError>> From<Result<T, E>> for Section<T> {
    fn from(result: Result<T, E>) -> Self {
        match result {
            Ok(value) => Section::Ok(value),
            Err(error) => Section::Error(error.into()),
        }
    }
}

/// Why a section could not be gathered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SectionError {
    pub kind: SectionErrorKind,
    /// Human-readable, naming the file or call that failed.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SectionErrorKind {
    /// A file or device could not be read.
    Io,
    /// The data was read but not understood.
    Parse,
    /// The operating system refused (permissions, sandbox).
    PermissionDenied,
    /// The reader did not finish before the report's deadline.
    Timeout,
    /// The platform offers no way to read this.
    Unsupported,
    /// The reader itself failed unexpectedly (a bug in the agent).
    Internal,
}
