//! The Markdown report for helpdesk tickets: GitHub-flavoured, and readable as plain text.
//!
//! Every string that comes from the machine goes through [`escape`] (or [`code_span`]), so a host
//! named `*evil*|x` or a finding with a `|` can neither format text nor break a table.

use std::fmt::Write as _;

use sitrep_snapshot::{Finding, Snapshot};

use crate::facts::{Facts, severity_label};
use crate::sections::{Body, Cell, FactSection, PERIPHERALS, fact_sections, peripheral_sections};

/// The report as Markdown: verdict and findings first, then one table per section.
pub fn markdown(snapshot: &Snapshot) -> String {
    let facts = Facts::of(snapshot);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# sitrep report for {}: {}\n",
        escape(facts.host),
        severity_label(facts.verdict)
    );
    let _ = writeln!(
        out,
        "Taken {} in {} ms (trigger: {}). {}.\n",
        facts.taken_at, facts.duration_ms, facts.trigger, facts.tally
    );

    out.push_str("## Findings\n\n");
    if facts.problems.is_empty() {
        out.push_str("No problems found.\n\n");
    } else {
        for finding in &facts.problems {
            write_problem(&mut out, finding);
        }
        out.push('\n');
    }
    if !facts.passes.is_empty() {
        out.push_str("### Passed checks\n\n");
        for finding in &facts.passes {
            let _ = write!(out, "- {}", escape(&finding.title));
            if !finding.evidence.is_empty() {
                let _ = write!(out, " — {}", escape(&finding.evidence));
            }
            out.push('\n');
        }
        out.push('\n');
    }

    for section in fact_sections(&facts) {
        write_section(&mut out, "##", &section);
    }
    let _ = writeln!(out, "## {PERIPHERALS}\n");
    match peripheral_sections(&facts) {
        Ok(sections) => {
            for section in sections {
                write_section(&mut out, "###", &section);
            }
        }
        Err(unavailable) => {
            write_body(&mut out, &Body::Unavailable(unavailable));
            out.push('\n');
        }
    }

    // The blank line keeps `---` a rule; right under a paragraph it would underline a heading.
    let _ = writeln!(
        out,
        "---\n\nSnapshot {} · sitrep agent {}",
        facts.snapshot_id,
        escape(facts.agent_version)
    );
    out
}

fn write_problem(out: &mut String, finding: &Finding) {
    let _ = writeln!(
        out,
        "- **{}** {} ({})",
        severity_label(finding.severity),
        escape(&finding.title),
        code_span(&finding.id)
    );
    if !finding.evidence.is_empty() {
        let _ = writeln!(out, "  - Evidence: {}", escape(&finding.evidence));
    }
    if !finding.remediation.is_empty() {
        let _ = writeln!(out, "  - Try: {}", escape(&finding.remediation));
    }
}

fn write_section(out: &mut String, heading: &str, section: &FactSection) {
    let _ = writeln!(out, "{heading} {}\n", section.title);
    if let Some(lead) = &section.lead {
        let _ = writeln!(out, "{}\n", escape(lead));
    }
    write_body(out, &section.body);
    out.push('\n');
}

fn write_body(out: &mut String, body: &Body) {
    match body {
        Body::Pairs(pairs) => {
            out.push_str("| Item | Value |\n| --- | --- |\n");
            for (label, value) in pairs {
                let _ = writeln!(out, "| {label} | {} |", cell(value));
            }
        }
        Body::Grid { columns, rows } => {
            let _ = writeln!(out, "| {} |", columns.join(" | "));
            let _ = writeln!(out, "|{}", " --- |".repeat(columns.len()));
            for row in rows {
                let cells: Vec<String> = row.iter().map(cell).collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
        }
        Body::Empty(note) => {
            let _ = writeln!(out, "{}.", capitalized(note));
        }
        Body::Unavailable(unavailable) => {
            let _ = writeln!(
                out,
                "*{}*: {}",
                capitalized(unavailable.label()),
                escape(unavailable.reason())
            );
        }
    }
}

fn cell(cell: &Cell) -> String {
    match cell {
        Cell::Text(text) | Cell::Figure(text) => escape(text),
        Cell::Usage { label, .. } => escape(label),
        // No-break spaces, as a table cell loses its leading spaces.
        Cell::Nested { depth, text } => "\u{a0}\u{a0}".repeat(*depth) + &escape(text),
        Cell::Badge { label, .. } => format!("**{}**", escape(label)),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// Makes `text` literal inline Markdown, also inside a table cell.
///
/// Only the characters that can start markup are escaped, so the ticket still reads as plain
/// text: `\`, `` ` ``, `*`, `~`, `[`, `]`, `<`, `>`, `|`, `&` always, and `_` unless it sits
/// inside a word (where GFM never reads it as emphasis, and `https_proxy` should stay readable).
/// Line breaks and other control characters become spaces: a value never starts a line, so
/// headings, lists and rules cannot be opened from inside one.
pub(crate) fn escape(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (index, &c) in chars.iter().enumerate() {
        let inside_word = || {
            let before = index.checked_sub(1).and_then(|i| chars.get(i));
            let after = chars.get(index + 1);
            before.is_some_and(|c| c.is_alphanumeric())
                && after.is_some_and(|c| c.is_alphanumeric())
        };
        match c {
            '\\' | '`' | '*' | '~' | '[' | ']' | '<' | '>' | '|' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '_' if !inside_word() => out.push_str("\\_"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `text` as inline code: fenced with more backticks than it contains in a row, since code spans
/// know no backslash escapes.
fn code_span(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let longest_run = text
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or_default();
    let fence = "`".repeat(longest_run + 1);
    // A space on each side keeps a leading or trailing backtick out of the fence; GFM strips one.
    let padding = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{padding}{text}{padding}{fence}")
}

#[cfg(test)]
mod tests {
    use super::{code_span, escape};

    #[test]
    fn escape_neutralises_markup_and_keeps_plain_text_readable() {
        assert_eq!(escape("*evil*|x"), "\\*evil\\*\\|x");
        assert_eq!(escape("[click](http://x)"), "\\[click\\](http://x)");
        assert_eq!(escape("<b>&amp;"), "\\<b\\>\\&amp;");
        assert_eq!(escape("a\nb\r\n# c"), "a b  # c");
        assert_eq!(escape("https_proxy"), "https_proxy");
        assert_eq!(escape("_em_ __x"), "\\_em\\_ \\_\\_x");
        assert_eq!(
            escape("back\\slash `code` ~~del~~"),
            "back\\\\slash \\`code\\` \\~\\~del\\~\\~"
        );
        assert_eq!(escape("192.168.1.1/24 (eth0)"), "192.168.1.1/24 (eth0)");
    }

    #[test]
    fn code_spans_fence_past_any_backticks() {
        assert_eq!(code_span("net.dns.unreachable"), "`net.dns.unreachable`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`x``"), "``` `x`` ```");
        assert_eq!(code_span("a\nb"), "`a b`");
    }
}
