//! The facts laid out as titled tables, shared by the Markdown and HTML reports so both show the
//! same sections, columns and rows in the same order.

mod peripherals;

use sitrep_snapshot::{ProxySetting, Severity};

use crate::facts::{
    Available, DiskFacts, DnsFacts, Facts, HardwareFacts, InterfaceFacts, NO_DISKS, NO_INTERFACES,
    NO_PROBES, NO_PROXY, ProbeFacts, RoutingFacts, SystemFacts, Unavailable, outcome_label,
    outcome_severity,
};

/// Shown in a cell whose figure the machine did not report.
const UNKNOWN: &str = "-";

/// One titled part of the report below the findings.
#[derive(Debug)]
pub(crate) struct FactSection {
    pub title: &'static str,
    /// A sentence above the table (the default gateways above the routes).
    pub lead: Option<String>,
    pub body: Body,
}

#[derive(Debug)]
pub(crate) enum Body {
    /// A label and a value per row, e.g. "Kernel" and "6.1.0-21-amd64".
    Pairs(Vec<(&'static str, Cell)>),
    /// One row per item under column headings.
    Grid {
        columns: &'static [&'static str],
        rows: Vec<Vec<Cell>>,
    },
    /// Nothing to list, and why.
    Empty(&'static str),
    Unavailable(Unavailable),
}

#[derive(Debug)]
pub(crate) enum Cell {
    Text(String),
    /// A short figure ("233.5 GiB", "1500") that reads badly when split across lines.
    Figure(String),
    /// A share of something used, drawn as a bar where the form can.
    Usage {
        percent: f64,
        label: String,
        severity: Option<Severity>,
    },
    /// A row's place in a tree (a USB device below its hub), drawn indented by `depth`.
    Nested {
        depth: usize,
        text: String,
    },
    /// A judgement, drawn as a coloured badge that also carries its label.
    Badge {
        severity: Severity,
        label: &'static str,
    },
}

impl Cell {
    fn text(text: impl Into<String>) -> Self {
        Cell::Text(text.into())
    }

    fn figure(figure: impl Into<String>) -> Self {
        Cell::Figure(figure.into())
    }

    fn optional(text: Option<impl Into<String>>) -> Self {
        text.map_or_else(|| Cell::text(UNKNOWN), Cell::text)
    }

    fn optional_figure(figure: Option<impl Into<String>>) -> Self {
        figure.map_or_else(|| Cell::text(UNKNOWN), Cell::figure)
    }
}

impl FactSection {
    fn new(title: &'static str, body: Body) -> Self {
        FactSection {
            title,
            lead: None,
            body,
        }
    }

    /// A section whose facts may be missing; `layout` turns present facts into a body.
    fn of<T>(title: &'static str, facts: &Available<T>, layout: impl FnOnce(&T) -> Body) -> Self {
        FactSection::new(
            title,
            match facts {
                Ok(facts) => layout(facts),
                Err(unavailable) => Body::Unavailable(unavailable.clone()),
            },
        )
    }
}

/// A grid, or `empty` when there are no rows.
fn grid(columns: &'static [&'static str], rows: Vec<Vec<Cell>>, empty: &'static str) -> Body {
    if rows.is_empty() {
        Body::Empty(empty)
    } else {
        Body::Grid { columns, rows }
    }
}

/// The report's sections below the findings, in order.
pub(crate) fn fact_sections(facts: &Facts) -> Vec<FactSection> {
    let mut sections = vec![
        FactSection::of("System", &facts.system, |system| {
            system_pairs(facts.host, system)
        }),
        FactSection::of("Hardware", &facts.hardware, hardware_pairs),
        FactSection::of("Disks", &facts.disks, |disks| disks_grid(disks)),
    ];
    match &facts.network {
        Ok(network) => {
            sections.push(FactSection::of(
                "Network interfaces",
                &network.interfaces,
                |interfaces| interfaces_grid(interfaces),
            ));
            let mut routes = FactSection::of("Routes", &network.routing, routes_grid);
            routes.lead = network
                .routing
                .as_ref()
                .ok()
                .map(|routing| format!("Default gateway: {}", routing.gateways));
            sections.push(routes);
            sections.push(FactSection::of("DNS", &network.dns, dns_pairs));
            sections.push(FactSection::of("Proxy", &network.proxy, |settings| {
                proxy_grid(settings)
            }));
        }
        Err(unavailable) => sections.push(FactSection::new(
            "Network",
            Body::Unavailable(unavailable.clone()),
        )),
    }
    sections.push(FactSection::of("Probes", &facts.probes, |probes| {
        probes_grid(probes)
    }));
    sections
}

/// The heading above the peripherals' sections.
pub(crate) const PERIPHERALS: &str = "Peripherals";

/// The peripherals below their own heading, one section per kind; or why the snapshot has
/// none at all (one line then, not one per kind).
pub(crate) fn peripheral_sections(facts: &Facts) -> Available<Vec<FactSection>> {
    facts
        .peripherals
        .as_ref()
        .map(peripherals::sections)
        .map_err(Unavailable::clone)
}

fn system_pairs(host: &str, system: &SystemFacts) -> Body {
    let uptime = system
        .uptime
        .as_deref()
        .map(|uptime| match &system.boot_time {
            Some(boot_time) => format!("{uptime} (since {boot_time})"),
            None => uptime.to_string(),
        });
    let mut pairs = vec![
        ("Host", Cell::text(host)),
        ("System", Cell::text(system.name)),
    ];
    // Only Windows and macOS report one; a row saying "unknown" on every Linux machine says nothing.
    if let Some(patch_level) = system.patch_level {
        pairs.push(("Patch level", Cell::text(patch_level)));
    }
    pairs.extend([
        ("Kernel", Cell::optional(system.kernel)),
        ("Architecture", Cell::text(system.arch)),
        ("Uptime", Cell::optional(uptime)),
        ("Time zone", Cell::optional(system.timezone)),
        ("Users", Cell::optional(system.users.as_deref())),
        ("Restart", Cell::text(&system.restart)),
    ]);
    Body::Pairs(pairs)
}

fn hardware_pairs(hardware: &HardwareFacts) -> Body {
    let cores = match hardware.cores {
        Some(cores) => format!("{cores} cores, {} threads", hardware.threads),
        None => format!("{} threads", hardware.threads),
    };
    Body::Pairs(vec![
        ("CPU", Cell::optional(hardware.cpu_model)),
        ("Vendor", Cell::optional(hardware.cpu_vendor)),
        ("Cores", Cell::text(cores)),
        (
            "Load",
            Cell::optional(
                hardware
                    .load
                    .as_deref()
                    .map(|load| format!("{load} (1, 5, 15 min)")),
            ),
        ),
        ("Memory", Cell::text(&hardware.memory)),
        ("Swap", Cell::text(&hardware.swap)),
    ])
}

fn disks_grid(disks: &[DiskFacts]) -> Body {
    let rows = disks
        .iter()
        .map(|disk| {
            let (used, free, total) = match &disk.space {
                Ok(space) => (
                    Cell::Usage {
                        percent: space.used_percent,
                        label: space.used.clone(),
                        severity: space.severity,
                    },
                    Cell::figure(&space.free),
                    Cell::figure(&space.total),
                ),
                Err(_) => (
                    Cell::text(UNKNOWN),
                    Cell::text(UNKNOWN),
                    Cell::text(UNKNOWN),
                ),
            };
            let notes: Vec<&str> = disk
                .read_only
                .then_some("read-only")
                .into_iter()
                .chain(disk.space.as_ref().err().map(String::as_str))
                .collect();
            vec![
                Cell::text(disk.mount_point),
                Cell::text(disk.device),
                Cell::text(disk.fs_type),
                used,
                free,
                total,
                Cell::optional_figure(disk.inodes_used.as_deref()),
                Cell::text(notes.join("; ")),
            ]
        })
        .collect();
    grid(
        &[
            "Mount point",
            "Device",
            "Type",
            "Used",
            "Free",
            "Size",
            "Inodes used",
            "Notes",
        ],
        rows,
        NO_DISKS,
    )
}

fn interfaces_grid(interfaces: &[InterfaceFacts]) -> Body {
    let rows = interfaces
        .iter()
        .map(|interface| {
            vec![
                Cell::text(interface.name),
                Cell::text(interface.state),
                Cell::text(interface.addresses.join(" ")),
                Cell::optional(interface.mac),
                Cell::optional_figure(interface.mtu.map(|mtu| mtu.to_string())),
                Cell::optional_figure(interface.speed.as_deref()),
                Cell::text(interface.notes.join("; ")),
            ]
        })
        .collect();
    grid(
        &[
            "Interface",
            "State",
            "Addresses",
            "MAC",
            "MTU",
            "Speed",
            "Notes",
        ],
        rows,
        NO_INTERFACES,
    )
}

fn routes_grid(routing: &RoutingFacts) -> Body {
    let rows = routing
        .routes
        .iter()
        .map(|route| {
            vec![
                Cell::text(&route.destination),
                Cell::text(&route.gateway),
                Cell::text(route.interface),
                Cell::figure(route.metric.to_string()),
            ]
        })
        .collect();
    grid(
        &["Destination", "Gateway", "Interface", "Metric"],
        rows,
        "no routes",
    )
}

fn dns_pairs(dns: &DnsFacts) -> Body {
    Body::Pairs(vec![
        ("Servers", Cell::text(&dns.servers)),
        (
            "Local stub",
            Cell::text(dns.local_stub.as_deref().unwrap_or("none")),
        ),
        (
            "Search domains",
            Cell::text(dns.search_domains.as_deref().unwrap_or("none")),
        ),
        ("Read from", Cell::text(dns.source)),
    ])
}

fn proxy_grid(settings: &[ProxySetting]) -> Body {
    let rows = settings
        .iter()
        .map(|setting| {
            vec![
                Cell::text(&setting.name),
                Cell::text(&setting.value),
                Cell::text(&setting.source),
            ]
        })
        .collect();
    grid(&["Setting", "Value", "Source"], rows, NO_PROXY)
}

fn probes_grid(probes: &[ProbeFacts]) -> Body {
    let rows = probes
        .iter()
        .map(|probe| {
            vec![
                Cell::Badge {
                    severity: outcome_severity(probe.outcome),
                    label: outcome_label(probe.outcome),
                },
                Cell::text(probe.method),
                Cell::text(&probe.subject),
                Cell::text(probe.role),
                Cell::text(&probe.detail),
                Cell::figure(&probe.elapsed),
                Cell::text(probe.failure.unwrap_or_default()),
            ]
        })
        .collect();
    grid(
        &[
            "Result", "Method", "Target", "Role", "Figures", "Time", "Failure",
        ],
        rows,
        NO_PROBES,
    )
}
