//! The three renderings of two recorded snapshots, as reviewable files under `snapshots/`
//! (`UPDATE_EXPECT=1 cargo test -p sitrep-report` rewrites them), and the page rules of the HTML.
//!
//! `office-laptop.json` started as `sitrep report --json --no-probes` output, edited into an
//! office laptop with probes; its peripherals are what `sitrep_probes::peripherals::gather`
//! reads on the probes' `laptop-ubuntu` fixture tree (dock, headset, two monitors, a worn
//! battery, Bluetooth soft-blocked) with cupsd answering as recorded in `cups/office`.
//! `broken.json` is the same machine in trouble: failing findings, sections that failed
//! (hardware, DNS settings) or were skipped (proxy), a hung network mount, and the peripherals
//! of the `broken-files` tree (an EDID with a bad checksum, unreadable sound cards and input
//! devices) with a print service that missed the deadline. Both carry the findings
//! `sitrep_checks::judge` gave them.

use expect_test::expect_file;
use sitrep_report::{Style, html, markdown, text};
use sitrep_snapshot::{Section, SectionErrorKind, Snapshot};

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
        "<section ",
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

/// Each form's lines that mention `needle`.
fn lines_with<'a>(rendered: &'a str, needle: &str) -> Vec<&'a str> {
    rendered
        .lines()
        .filter(|line| line.contains(needle))
        .collect()
}

#[test]
fn a_kind_of_peripheral_or_all_of_them_missing_is_said_in_one_line() {
    let mut snapshot = fixture("office-laptop");
    let Section::Ok(peripherals) = &mut snapshot.peripherals else {
        panic!("the fixture has peripherals")
    };
    peripherals.cameras = Section::skipped("cameras are not listed on this platform");
    peripherals.usb = Section::error(SectionErrorKind::Io, "cannot read /sys/bus/usb/devices");
    for (form, rendered) in [
        ("text", text(&snapshot, Style { color: false })),
        ("markdown", markdown(&snapshot)),
        ("html", html(&snapshot)),
    ] {
        assert_eq!(
            lines_with(&rendered, "cameras are not listed on this platform").len(),
            1,
            "{form}"
        );
        assert_eq!(
            lines_with(&rendered, "cannot read /sys/bus/usb/devices").len(),
            1,
            "{form}"
        );
        assert!(rendered.contains("Office-Laser"), "{form}: the rest stays");
    }
    assert!(
        text(&snapshot, Style { color: false })
            .contains("Cameras    skipped: cameras are not listed on this platform\n")
    );
    assert!(markdown(&snapshot).contains("### USB devices\n\n*Unavailable*: cannot read"));

    snapshot.peripherals = Section::skipped("not requested (--sections)");
    let report = text(&snapshot, Style { color: false });
    assert!(report.contains("Peripherals  skipped: not requested (--sections)\n"));
    assert!(!report.contains("Printers"), "no line per kind");
    let report = markdown(&snapshot);
    assert!(report.contains("## Peripherals\n\n*Skipped*: not requested (--sections)\n"));
    assert!(!report.contains("### Printers"));
    let page = html(&snapshot);
    assert!(page.contains(
        "<section id=\"peripherals\"><h2>Peripherals</h2><p class=\"unavailable\"><span class=\"badge none\">skipped</span> <span>not requested (--sections)</span></p></section>"
    ));
}

#[test]
fn usb_devices_are_indented_below_their_hubs() {
    let snapshot = fixture("office-laptop");
    let report = text(&snapshot, Style { color: false });
    assert!(report.contains(
        "\n               1-1.2 0b0e:0311 GN Netcom A/S Jabra EVOLVE 65 (audio, hid) 12 Mb/s, driver snd-usb-audio, usbhid\n"
    ));
    assert!(report.contains("  1-9 06cb:00bd (vendor-specific) 12 Mb/s, no driver\n"));
    assert!(markdown(&snapshot).contains("| \u{a0}\u{a0}\u{a0}\u{a0}1-1.2 | 0b0e:0311 |"));
    assert!(
        html(&snapshot).contains("<span class=\"nested\" style=\"padding-left: 2em\">1-1.2</span>")
    );
}

#[test]
fn a_patch_level_shows_where_the_platform_reports_one() {
    let mut snapshot = fixture("office-laptop");
    assert!(
        !text(&snapshot, Style { color: false }).contains("(build"),
        "no patch level, no mention"
    );
    let Section::Ok(os) = &mut snapshot.os else {
        panic!("the fixture has an OS section");
    };
    os.patch_level = Some("22631.4460, latest update KB5046633 of 2024-11-13".to_string());
    let plain = text(&snapshot, Style { color: false });
    assert!(
        plain.contains("(build 22631.4460, latest update KB5046633 of 2024-11-13)"),
        "{plain}"
    );
    let page = html(&snapshot);
    assert!(page.contains("Patch level"), "{page}");
    assert!(markdown(&snapshot).contains("| Patch level | 22631.4460"));
}
