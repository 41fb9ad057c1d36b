//! Test-only package: the end-to-end suites live in `tests/`; [`netns`] is the network-namespace
//! lab they share, and [`site`] runs the real collector and agent inside one.

pub mod netns;
pub mod site;
