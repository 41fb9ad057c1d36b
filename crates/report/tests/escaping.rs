//! Hostile strings from a machine (host name, finding texts, interface names, DNS search
//! domains, probe targets, proxy values, USB product names, print queues, monitor models, input
//! device names) stay text in every form: no markup, no broken tables, no terminal control
//! sequences.

use sitrep_report::{Style, html, markdown, text};
use sitrep_snapshot::{Finding, ProbeDetail, Section, Severity, Snapshot};

const SCRIPT: &str = "<script>alert(1)</script>";
const ATTRIBUTE_BREAKOUT: &str = "\"><img src=x onerror=alert(2)>";

fn hostile() -> Snapshot {
    let path = format!(
        "{}/tests/fixtures/office-laptop.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let json = std::fs::read_to_string(path).expect("fixture exists");
    let mut snapshot: Snapshot = serde_json::from_str(&json).expect("fixture is a snapshot");
    let Section::Ok(os) = &mut snapshot.os else {
        panic!("the fixture has the OS section")
    };
    os.hostname = Some(format!("*evil*|x{SCRIPT}"));
    snapshot.findings.insert(
        0,
        Finding {
            id: "net.`evil`|id".to_owned(),
            severity: Severity::Fail,
            title: format!("Title | with pipe {SCRIPT}\n# injected heading"),
            evidence: format!("evidence [link](http://evil.example) {ATTRIBUTE_BREAKOUT}"),
            remediation: "run `rm -rf /` & **now**\n---\n| a | b |".to_owned(),
            subject: None,
        },
    );
    let Section::Ok(network) = &mut snapshot.network else {
        panic!("the fixture has the network section")
    };
    let Section::Ok(interfaces) = &mut network.interfaces else {
        panic!("the fixture has interfaces")
    };
    interfaces[1].name = format!("eth|0{SCRIPT}\x1b[2J");
    let Section::Ok(dns) = &mut network.dns else {
        panic!("the fixture has DNS settings")
    };
    dns.search_domains = vec![
        format!("corp.example|{ATTRIBUTE_BREAKOUT}"),
        "_x_".to_owned(),
    ];
    let Section::Ok(proxy) = &mut network.proxy else {
        panic!("the fixture has proxy settings")
    };
    proxy.settings[0].value = format!("http://proxy|{SCRIPT}");
    let Section::Ok(probes) = &mut snapshot.probes else {
        panic!("the fixture has probes")
    };
    probes[0].target = format!("gw|{SCRIPT}");
    if let ProbeDetail::Http(detail) = &mut probes[7].detail {
        detail.url = format!("https://x/{ATTRIBUTE_BREAKOUT}|");
    }
    hostile_peripherals(&mut snapshot);
    snapshot
}

/// What a USB device, a print server or a monitor can say about itself: anyone can program a
/// USB stick's product string or name a shared printer.
fn hostile_peripherals(snapshot: &mut Snapshot) {
    let Section::Ok(peripherals) = &mut snapshot.peripherals else {
        panic!("the fixture has peripherals")
    };
    let Section::Ok(usb) = &mut peripherals.usb else {
        panic!("the fixture has USB devices")
    };
    usb[2].product = Some(format!("USB|Receiver{SCRIPT}\x1b[2J"));
    let Section::Ok(printers) = &mut peripherals.printers else {
        panic!("the fixture has printers")
    };
    printers.queues[0].name = format!("*Finance*|{SCRIPT}");
    printers.queues[0].state_message =
        Some(format!("jam\n# injected heading {ATTRIBUTE_BREAKOUT}"));
    let Section::Ok(displays) = &mut peripherals.displays else {
        panic!("the fixture has displays")
    };
    if let Some(monitor) = &mut displays[2].monitor {
        monitor.model = Some(format!("U25|18D{ATTRIBUTE_BREAKOUT}"));
    }
    let Section::Ok(input) = &mut peripherals.input else {
        panic!("the fixture has input devices")
    };
    input[0].name = format!("kbd|{SCRIPT}\x1b]0;owned\x07");
}

#[test]
fn html_keeps_hostile_strings_as_text() {
    let page = html(&hostile());
    assert!(!page.contains("<script"), "no script element");
    assert!(!page.contains("<img"), "no injected element");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        page.contains("*evil*|x&lt;script&gt;"),
        "the host name is shown"
    );
    assert!(
        page.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"),
        "quotes are escaped, so no attribute can be closed"
    );
    assert!(
        page.contains("eth|0&lt;script&gt;"),
        "the interface name is shown"
    );
    assert!(
        page.contains("gw|&lt;script&gt;"),
        "the probe target is shown"
    );
    assert!(
        page.contains("corp.example|&quot;&gt;&lt;img"),
        "the search domain is shown"
    );
    assert!(
        page.contains("USB|Receiver&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the USB product is shown"
    );
    assert!(
        page.contains("*Finance*|&lt;script&gt;"),
        "the queue is shown"
    );
    assert!(
        page.contains("U25|18D&quot;&gt;&lt;img"),
        "the monitor is shown"
    );
}

#[test]
fn markdown_keeps_hostile_strings_as_text() {
    let report = markdown(&hostile());
    assert_eq!(unescaped(&report, '<'), 0, "no raw HTML");
    assert!(!report.contains("[link](http"), "no link");
    assert!(
        report.contains("\\*evil\\*\\|x\\<script\\>"),
        "the host name is escaped"
    );
    assert!(report.contains("\\`rm -rf /\\` \\& \\*\\*now\\*\\*"));
    assert!(
        report.contains("``net.`evil`|id``"),
        "the rule id is one code span"
    );
    assert!(
        report.contains("\\_x\\_"),
        "emphasis underscores are escaped"
    );
    assert!(
        report.contains("Logitech USB\\|Receiver\\<script\\>"),
        "the USB product is escaped"
    );
    assert!(
        report.contains("\\*Finance\\*\\|\\<script\\>"),
        "the queue is escaped"
    );

    let headings: Vec<&str> = report
        .lines()
        .filter(|line| line.starts_with('#'))
        .collect();
    assert!(
        headings.iter().all(|heading| !heading.contains("injected")),
        "a value cannot open a heading: {headings:?}"
    );
    assert_eq!(
        report.lines().filter(|line| *line == "---").count(),
        1,
        "only the footer rule"
    );
}

#[test]
fn markdown_tables_keep_their_columns() {
    let report = markdown(&hostile());
    let mut columns = None;
    for line in report.lines() {
        if !line.starts_with('|') {
            columns = None;
            continue;
        }
        let cells = unescaped(line, '|') - 1;
        let expected = *columns.get_or_insert(cells);
        assert_eq!(cells, expected, "row breaks its table: {line}");
    }
}

/// How often `wanted` occurs without a backslash escape.
fn unescaped(text: &str, wanted: char) -> usize {
    let mut count = 0;
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == wanted {
            count += 1;
        }
    }
    count
}

#[test]
fn text_shows_control_characters_escaped() {
    let report = text(&hostile(), Style { color: false });
    assert!(
        !report.contains('\x1b'),
        "no escape sequence reaches the terminal"
    );
    assert!(report.contains("eth|0<script>alert(1)</script>\\u{1b}[2J"));
    assert!(report.contains("Title | with pipe <script>alert(1)</script>\\n# injected heading"));
    assert!(report.contains("Logitech USB|Receiver<script>alert(1)</script>\\u{1b}[2J (hid)"));
    assert!(report.contains("kbd|<script>alert(1)</script>\\u{1b}]0;owned\\u{7}"));
    assert!(report.contains("\"jam\\n# injected heading"));
}
