//! Test-only package: the end-to-end suites live in `tests/`.
