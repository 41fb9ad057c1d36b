//! Renders a snapshot for people: terminal text for `sitrep report`, Markdown for helpdesk
//! tickets, and a self-contained HTML page for the collector. Each puts the verdict and the
//! findings first, then the facts.
//!
//! Architecture Invariant: the three forms share one extraction of the facts (`facts`) and one
//! table layout (`sections`, for Markdown and HTML); they differ only in syntax and escaping.
//! Every string from the snapshot is escaped for its form: terminal control characters, Markdown
//! markup, HTML.

mod facts;
mod html;
mod markdown;
mod sections;
mod text;

pub use facts::{role_label, trigger_label};
pub use html::{STYLESHEET, html, report_main, severity_badge};
pub use markdown::markdown;
pub use text::{Style, text};
