//! The harness's one table: every figure beside its DESIGN.md section 8 target, with the
//! machine it ran on, as aligned text for the terminal or as Markdown for docs/PERFORMANCE.md.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::machine::Machine;

/// docs/PERFORMANCE.md keeps its prose; `--markdown` replaces only what lies between these.
const BEGIN_MARKER: &str = "<!-- cargo xtask bench: begin -->";
const END_MARKER: &str = "<!-- cargo xtask bench: end -->";

/// One figure of one part of the harness.
#[derive(Debug)]
pub(crate) struct Row {
    part: &'static str,
    measure: String,
    figure: String,
    target: Option<Target>,
}

/// The DESIGN.md section 8 target a figure answers.
#[derive(Debug)]
struct Target {
    text: String,
    /// `None` when the figure could not be measured.
    met: Option<bool>,
}

impl Row {
    /// A figure with no target of its own (a baseline, a ratio, a latency to read).
    pub(crate) fn info(part: &'static str, measure: &str, figure: String) -> Row {
        Row {
            part,
            measure: measure.to_string(),
            figure,
            target: None,
        }
    }

    /// A figure checked against a target; never asserted, only reported.
    pub(crate) fn checked(
        part: &'static str,
        measure: &str,
        figure: String,
        target: &str,
        met: bool,
    ) -> Row {
        Row {
            part,
            measure: measure.to_string(),
            figure,
            target: Some(Target {
                text: target.to_string(),
                met: Some(met),
            }),
        }
    }

    /// A part that did not finish: the table still says so, instead of leaving it out.
    pub(crate) fn failed(part: &'static str, error: &anyhow::Error) -> Row {
        Row {
            part,
            measure: "the whole part".to_string(),
            figure: format!("failed: {error:#}"),
            target: Some(Target {
                text: "see the part's targets".to_string(),
                met: None,
            }),
        }
    }

    fn verdict(&self) -> &'static str {
        match self.target.as_ref().map(|target| target.met) {
            None => "",
            Some(Some(true)) => "met",
            Some(Some(false)) => "MISSED",
            Some(None) => "not measured",
        }
    }

    fn cells(&self) -> [&str; 5] {
        [
            self.part,
            &self.measure,
            &self.figure,
            self.target.as_ref().map_or("-", |target| &target.text),
            self.verdict(),
        ]
    }
}

const HEADER: [&str; 5] = ["part", "measure", "figure", "target", "verdict"];

/// A finished run of the harness.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) machine: Machine,
    /// The command line that reproduces this run.
    pub(crate) command: String,
    /// The release build at the start, which is part of `took`.
    pub(crate) build: Duration,
    pub(crate) took: Duration,
    pub(crate) load_at_end: String,
    pub(crate) rows: Vec<Row>,
}

impl Report {
    pub(crate) fn text(&self) -> String {
        let mut out = String::new();
        let mut widths = HEADER.map(str::len);
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row.cells()) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |out: &mut String, cells: [&str; 5]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            let _ = writeln!(out, "{}", padded.join("  ").trim_end());
        };
        line(&mut out, HEADER);
        let mut previous_part = "";
        for row in &self.rows {
            let mut cells = row.cells();
            // The part is named once, at the head of its rows.
            if cells[0] == previous_part {
                cells[0] = "";
            } else {
                previous_part = row.part;
            }
            line(&mut out, cells);
        }
        out.push('\n');
        for (fact, value) in self.facts() {
            let _ = writeln!(out, "{fact}: {value}");
        }
        out
    }

    pub(crate) fn markdown(&self) -> String {
        let mut out = String::new();
        for (fact, value) in self.facts() {
            let _ = writeln!(out, "- {fact}: {value}");
        }
        out.push('\n');
        let row = |out: &mut String, cells: [&str; 5]| {
            let escaped: Vec<String> = cells.iter().map(|cell| cell.replace('|', "\\|")).collect();
            let _ = writeln!(out, "| {} |", escaped.join(" | "));
        };
        row(&mut out, HEADER);
        row(&mut out, ["---"; 5]);
        for figures in &self.rows {
            row(&mut out, figures.cells());
        }
        out
    }

    fn facts(&self) -> Vec<(&'static str, String)> {
        let mut facts = self.machine.facts();
        facts.push(("load average at the end", self.load_at_end.clone()));
        facts.push((
            "harness took",
            format!(
                "{:.1} min, of which the release build {:.1} min",
                self.took.as_secs_f64() / 60.0,
                self.build.as_secs_f64() / 60.0
            ),
        ));
        facts.push(("command", format!("`{}`", self.command)));
        facts
    }

    /// Writes the Markdown table into `path` between the markers, keeping the rest of the file;
    /// a missing file is created holding the table alone.
    pub(crate) fn write_markdown(&self, path: &Path) -> anyhow::Result<()> {
        let generated = format!("{BEGIN_MARKER}\n{}{END_MARKER}\n", self.markdown());
        let text = match std::fs::read_to_string(path) {
            Ok(existing) => {
                let markers = existing
                    .find(BEGIN_MARKER)
                    .zip(existing.find(END_MARKER))
                    .filter(|(begin, end)| begin < end);
                let Some((begin, end)) = markers else {
                    bail!(
                        "{} exists but has no `{BEGIN_MARKER}` ... `{END_MARKER}` section to \
                         replace; add the two markers where the table goes",
                        path.display()
                    );
                };
                let after = &existing[end + END_MARKER.len()..];
                let after = after.strip_prefix('\n').unwrap_or(after);
                format!("{}{generated}{after}", &existing[..begin])
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => generated,
            Err(error) => {
                return Err(error).with_context(|| format!("cannot read {}", path.display()));
            }
        };
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
    }
}
