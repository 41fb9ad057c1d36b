//! Gathers snapshot sections.
