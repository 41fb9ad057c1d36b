//! Takes a snapshot: runs every reader and probe concurrently under one deadline, then judges it.

use std::time::{Duration, Instant as StdInstant};

use chrono::Utc;
use sitrep_probes::Ctx;
use sitrep_probes::active::{ProbePlan, ProbeSettings, TargetList};
use sitrep_snapshot::{
    AgentInfo, Peripherals, SCHEMA_VERSION, Section, SectionErrorKind, Snapshot, Trigger,
};
use tokio::time::Instant;
use uuid::Uuid;

use crate::cli::SectionName;

/// What to gather and how.
#[derive(Debug, Clone)]
pub struct SnapshotRequest {
    pub trigger: Trigger,
    /// Sections to gather; all when empty.
    pub sections: Vec<SectionName>,
    /// `None` sends no network traffic at all.
    pub probes: Option<ProbeRequest>,
    /// The whole snapshot is done by then; what is not is reported as timed out.
    pub deadline: Duration,
}

#[derive(Debug, Clone)]
pub struct ProbeRequest {
    pub collector: Option<String>,
    pub configured: TargetList,
    pub requested: TargetList,
    pub settings: ProbeSettings,
}

impl SnapshotRequest {
    fn wants(&self, section: SectionName) -> bool {
        self.sections.is_empty() || self.sections.contains(&section)
    }
}

pub async fn take_snapshot(ctx: Ctx, request: &SnapshotRequest) -> Snapshot {
    let started = StdInstant::now();
    let taken_at = Utc::now();
    let deadline = Instant::now() + request.deadline;
    let wants_probes = request.wants(SectionName::Probes) && request.probes.is_some();

    let (os, hardware, disks, network, peripherals) = tokio::join!(
        read_section(
            request.wants(SectionName::Os),
            "os",
            deadline,
            &ctx,
            sitrep_probes::os::gather
        ),
        read_section(
            request.wants(SectionName::Hardware),
            "hardware",
            deadline,
            &ctx,
            sitrep_probes::hardware::gather
        ),
        read_section(
            request.wants(SectionName::Disks),
            "disks",
            deadline,
            &ctx,
            sitrep_probes::disks::gather
        ),
        // Probes need the gateways and DNS servers even when the section itself is not shown.
        read_section(
            request.wants(SectionName::Network) || wants_probes,
            "network",
            deadline,
            &ctx,
            sitrep_probes::network::gather
        ),
        read_peripherals(request.wants(SectionName::Peripherals), deadline, &ctx),
    );
    let probes = match &request.probes {
        Some(probe_request) if wants_probes => {
            let plan = ProbePlan::new(
                network.ok(),
                probe_request.collector.as_deref(),
                &probe_request.configured,
                &probe_request.requested,
            );
            Section::Ok(sitrep_probes::active::run(&plan, &probe_request.settings, deadline).await)
        }
        Some(_) => not_requested(),
        None => Section::skipped("probes turned off (--no-probes)"),
    };
    let network = if request.wants(SectionName::Network) {
        network
    } else {
        not_requested()
    };

    let mut snapshot = Snapshot {
        schema_version: SCHEMA_VERSION,
        id: Uuid::now_v7(),
        agent: AgentInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            agent_id: None,
        },
        taken_at,
        duration_ms: 0,
        trigger: request.trigger,
        os,
        hardware,
        disks,
        network,
        probes,
        peripherals,
        findings: Vec::new(),
    };
    snapshot.findings = sitrep_checks::judge(&snapshot);
    snapshot.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    snapshot
}

fn not_requested<T>() -> Section<T> {
    Section::skipped("not requested (--sections)")
}

/// Each kind of peripheral on a blocking task of its own, so a hung print service or a slow
/// sysfs costs only its own part.
async fn read_peripherals(wanted: bool, deadline: Instant, ctx: &Ctx) -> Section<Peripherals> {
    use sitrep_probes::peripherals as kind;
    if !wanted {
        return not_requested();
    }
    let (usb, printers, displays, audio, power, input, bluetooth, cameras, device_problems) = tokio::join!(
        read_section(true, "USB", deadline, ctx, kind::usb),
        read_section(true, "printers", deadline, ctx, kind::printers),
        read_section(true, "displays", deadline, ctx, kind::displays),
        read_section(true, "audio", deadline, ctx, kind::audio),
        read_section(true, "power", deadline, ctx, kind::power),
        read_section(true, "input devices", deadline, ctx, kind::input),
        read_section(true, "Bluetooth", deadline, ctx, kind::bluetooth),
        read_section(true, "cameras", deadline, ctx, kind::cameras),
        read_section(
            true,
            "device problems",
            deadline,
            ctx,
            kind::device_problems
        ),
    );
    Section::Ok(Peripherals {
        usb,
        printers,
        displays,
        audio,
        power,
        input,
        bluetooth,
        cameras,
        device_problems,
    })
}

/// Runs a blocking reader on the blocking pool so a slow file system cannot stall the others;
/// a reader that misses the deadline or panics costs only its own section.
async fn read_section<T: Send + 'static>(
    wanted: bool,
    name: &str,
    deadline: Instant,
    ctx: &Ctx,
    reader: fn(&Ctx) -> Section<T>,
) -> Section<T> {
    if !wanted {
        return not_requested();
    }
    let ctx = ctx.clone();
    match tokio::time::timeout_at(deadline, tokio::task::spawn_blocking(move || reader(&ctx))).await
    {
        Ok(Ok(section)) => section,
        Ok(Err(failure)) => Section::error(
            SectionErrorKind::Internal,
            format!("the {name} reader failed: {failure}"),
        ),
        Err(_) => Section::error(
            SectionErrorKind::Timeout,
            format!("the {name} reader did not finish before the report deadline"),
        ),
    }
}
