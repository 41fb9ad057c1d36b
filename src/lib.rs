//! Test-only package: the end-to-end suites live in `tests/`; [`netns`] is the network-namespace
//! lab they share, [`site`] runs the real collector and agent inside one, [`browser`] drives
//! headless Chromium there, [`ingest`] runs collectors on loopback under a bounded ingest load,
//! [`postgres`] gives each test a PostgreSQL schema of its own, and [`small_disk`] a small
//! filesystem to fill.

pub mod browser;
pub mod ingest;
pub mod netns;
pub mod postgres;
pub mod site;
pub mod small_disk;
