//! Test-only package: the end-to-end suites live in `tests/`; [`netns`] is the network-namespace
//! lab they share, [`site`] runs the real collector and agent inside one, and [`browser`] drives
//! headless Chromium there.

pub mod browser;
pub mod netns;
pub mod site;
