//! Snapshot -> findings.
