//! The HTML report: one self-contained page (inline CSS, no script, no external asset) for the
//! collector's report route and the web UI, with the same content and order as the Markdown.
//!
//! maud escapes every interpolated value, in text and in attributes alike; the only markup not
//! built by maud is the stylesheet, a constant.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use sitrep_snapshot::{Finding, Severity, Snapshot};

use crate::facts::{Facts, severity_label};
use crate::sections::{Body, Cell, FactSection, PERIPHERALS, fact_sections, peripheral_sections};

/// The report's stylesheet, inlined by [`html`]; the web UI serves it as a file of its own.
pub const STYLESHEET: &str = include_str!("report.css");

/// The report as a complete HTML5 page.
pub fn html(snapshot: &Snapshot) -> String {
    let facts = Facts::of(snapshot);
    let verdict = severity_label(facts.verdict);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (verdict) " · " (facts.host) " · sitrep report" }
                style { (PreEscaped(STYLESHEET)) }
            }
            body {
                header {
                    h1 {
                        span.host { "sitrep report for " (facts.host) }
                        " "
                        (badge(facts.verdict, verdict))
                    }
                    p.meta {
                        "Taken " time datetime=(snapshot.taken_at.to_rfc3339()) { (facts.taken_at) }
                        " in " (facts.duration_ms) " ms (trigger: " (facts.trigger) ")."
                    }
                    p { strong { (facts.tally) "." } }
                }
                main { (main_of(&facts)) }
                footer {
                    "Snapshot " code { (facts.snapshot_id) } " · sitrep agent " (facts.agent_version)
                }
            }
        }
    }
    .into_string()
}

/// The report below its title, for a `main` element (the web UI gives it a heading of its
/// own): the findings (`section#findings`: failures, then warnings, each with its evidence and
/// hint; the passed checks folded in `details#passed`), then the sections of facts, each under
/// an `h2`, and last `section#peripherals` with a section per kind under an `h3`.
pub fn report_main(snapshot: &Snapshot) -> Markup {
    main_of(&Facts::of(snapshot))
}

/// A severity as a badge: its word in capitals on its colour (`span.badge.fail`).
pub fn severity_badge(severity: Severity) -> Markup {
    badge(severity, severity_label(severity))
}

fn main_of(facts: &Facts) -> Markup {
    html! {
        section #findings {
            h2 { "Findings" }
            @if facts.problems.is_empty() {
                p { "No problems found." }
            } @else {
                ol.findings {
                    @for finding in &facts.problems { (problem(finding)) }
                }
            }
            @if !facts.passes.is_empty() {
                details #passed {
                    summary { "Passed checks (" (facts.passes.len()) ")" }
                    ul.passes {
                        @for finding in &facts.passes {
                            li {
                                (finding.title)
                                @if !finding.evidence.is_empty() {
                                    " — " span.evidence { (finding.evidence) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @for section in fact_sections(facts) {
            section { h2 { (section.title) } (section_content(&section)) }
        }
        section #peripherals {
            h2 { (PERIPHERALS) }
            @match peripheral_sections(facts) {
                Ok(sections) => {
                    @for section in &sections {
                        section { h3 { (section.title) } (section_content(section)) }
                    }
                }
                Err(unavailable) => (body(&Body::Unavailable(unavailable))),
            }
        }
    }
}

/// A section below its heading: the lead, then the table.
fn section_content(section: &FactSection) -> Markup {
    html! {
        @if let Some(lead) = &section.lead { p { (lead) } }
        (body(&section.body))
    }
}

fn badge(severity: Severity, label: &str) -> Markup {
    html! { span.badge.(severity.as_str()) { (label) } }
}

fn problem(finding: &Finding) -> Markup {
    html! {
        li.finding.(finding.severity.as_str()) {
            div.finding-title {
                (badge(finding.severity, severity_label(finding.severity)))
                " "
                span { (finding.title) }
                " "
                code { (finding.id) }
            }
            dl {
                @if !finding.evidence.is_empty() {
                    dt { "Evidence" } dd { (finding.evidence) }
                }
                @if !finding.remediation.is_empty() {
                    dt { "Try" } dd { (finding.remediation) }
                }
            }
        }
    }
}

fn body(body: &Body) -> Markup {
    match body {
        Body::Pairs(pairs) => html! {
            div.table-wrap {
                table.pairs {
                    tbody {
                        @for (label, value) in pairs {
                            tr { th scope="row" { (label) } td { (cell(value)) } }
                        }
                    }
                }
            }
        },
        Body::Grid { columns, rows } => html! {
            div.table-wrap {
                table.grid {
                    thead { tr { @for column in columns.iter() { th scope="col" { (column) } } } }
                    tbody {
                        @for row in rows {
                            tr {
                                // The narrow layout shows each row as a card, labelled from here.
                                @for (column, value) in columns.iter().zip(row) {
                                    td data-label=(column) { (cell(value)) }
                                }
                            }
                        }
                    }
                }
            }
        },
        Body::Empty(note) => html! { p.meta { (note) } },
        Body::Unavailable(unavailable) => html! {
            p.unavailable {
                span.badge.none { (unavailable.label()) }
                " "
                span { (unavailable.reason()) }
            }
        },
    }
}

fn cell(cell: &Cell) -> Markup {
    match cell {
        Cell::Text(text) => html! { (text) },
        Cell::Figure(figure) => html! { span.figure { (figure) } },
        Cell::Usage {
            percent,
            label,
            severity,
        } => {
            html! {
                span.usage {
                    // The figure beside it says the same, so screen readers skip the drawing.
                    span.bar aria-hidden="true" {
                        span class=[severity.map(Severity::as_str)] style=(format!("width: {percent:.1}%")) {}
                    }
                    " "
                    span { (label) }
                }
            }
        }
        Cell::Nested { depth, text } => html! {
            span.nested style=(format!("padding-left: {depth}em")) { (text) }
        },
        Cell::Badge { severity, label } => badge(*severity, label),
    }
}
