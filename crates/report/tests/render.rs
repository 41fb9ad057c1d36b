//! The three renderings of two recorded snapshots, as reviewable files under `snapshots/`
//! (`UPDATE_EXPECT=1 cargo test -p sitrep-report` rewrites them), and the page rules of the HTML.
//!
//! `office-laptop.json` started as `sitrep report --json --no-probes` output, edited into an
//! office laptop with probes; `broken.json` is the same machine in trouble: failing findings,
//! sections that failed (hardware, DNS settings) or were skipped (proxy, peripherals), a hung
//! network mount. Both carry the findings `sitrep_checks::judge` gave them.

use expect_test::expect_file;
use sitrep_report::{Style, html, markdown, text};
use sitrep_snapshot::Snapshot;

fn fixture(name: &str) -> Snapshot {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let json = std::fs::read_to_string(&path).expect("fixture exists");
    serde_json::from_str(&json).expect("fixture is a snapshot")
}

#[test]
fn office_laptop_as_text() {
    let snapshot = fixture("office-laptop");
    expect_file!["snapshots/office-laptop.txt"].assert_eq(&text(&snapshot, Style { color: false }));
}

#[test]
fn office_laptop_as_markdown() {
    expect_file!["snapshots/office-laptop.md"].assert_eq(&markdown(&fixture("office-laptop")));
}

#[test]
fn office_laptop_as_html() {
    expect_file!["snapshots/office-laptop.html"]
        .assert_eq(&reviewable(&html(&fixture("office-laptop"))));
}

/// The page with a line break before each block element, so a change shows as a few changed
/// lines; whitespace between blocks renders the same, so the file still opens as the page.
fn reviewable(page: &str) -> String {
    let mut out = page.to_string();
    for tag in [
        "<head>",
        "<style>",
        "</style>",
        "<body>",
        "<header>",
        "<h1>",
        "<p",
        "<main>",
        "<section>",
        "<h2>",
        "<h3>",
        "<ol",
        "<ul",
        "<li",
        "<dl>",
        "<div class=\"table-wrap\">",
        "<thead>",
        "<tbody>",
        "<tr>",
        "<footer>",
    ] {
        out = out.replace(tag, &format!("\n{tag}"));
    }
    out
}

#[test]
fn broken_machine_as_text() {
    let snapshot = fixture("broken");
    expect_file!["snapshots/broken.txt"].assert_eq(&text(&snapshot, Style { color: false }));
}

#[test]
fn broken_machine_as_markdown() {
    expect_file!["snapshots/broken.md"].assert_eq(&markdown(&fixture("broken")));
}

#[test]
fn broken_machine_as_html() {
    expect_file!["snapshots/broken.html"].assert_eq(&reviewable(&html(&fixture("broken"))));
}

#[test]
fn colour_paints_only_the_labels_and_verdicts() {
    let snapshot = fixture("broken");
    let plain = text(&snapshot, Style { color: false });
    let coloured = text(&snapshot, Style { color: true });
    assert!(!plain.contains('\x1b'));
    assert!(coloured.contains("\x1b[1;31mFAIL\x1b[0m"));
    let stripped = strip_ansi(&coloured);
    assert_eq!(stripped, plain);
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("\x1b[") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('m').expect("every colour code ends in m");
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn html_is_one_self_contained_accessible_page() {
    for name in ["office-laptop", "broken"] {
        let page = html(&fixture(name));
        assert!(
            page.starts_with("<!DOCTYPE html><html lang=\"en\">"),
            "{name}"
        );
        assert!(page.ends_with("</html>"), "{name}");
        assert!(
            !page.to_lowercase().contains("<script"),
            "{name}: no script"
        );
        for attribute in ["src=", "href=", "@import", "url("] {
            assert!(
                !page.contains(attribute),
                "{name}: no external asset ({attribute})"
            );
        }
        assert!(page.contains("<meta name=\"viewport\""), "{name}");
        assert!(page.contains("@media print"), "{name}");
        assert!(page.contains("<th scope=\"col\">"), "{name}");
        assert!(page.contains("<th scope=\"row\">"), "{name}");
        assert_eq!(page.matches("<h1>").count(), 1, "{name}: one h1");
    }
}

#[test]
fn every_form_puts_the_findings_before_the_facts() {
    let snapshot = fixture("broken");
    let first_failure = "Disk / is 98 % full";
    let first_pass = "Inodes OK on 2 filesystems";
    for (form, rendered) in [
        ("text", text(&snapshot, Style { color: false })),
        ("markdown", markdown(&snapshot)),
        ("html", html(&snapshot)),
    ] {
        let failure = rendered.find(first_failure).expect("the failure is shown");
        let pass = rendered.find(first_pass).expect("the pass is shown");
        let facts = rendered
            .find("statvfs did not answer")
            .expect("the disks are shown");
        assert!(failure < pass && pass < facts, "{form}");
    }
}
