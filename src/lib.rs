//! Test-only package: the end-to-end suites live in `tests/`; [`netns`] is the network-namespace
//! lab they share.

pub mod netns;
