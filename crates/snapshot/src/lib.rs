//! The sitrep snapshot: the typed wire format the agent produces and the collector stores.
//!
//! This crate has no IO, no async and no platform code, so every other crate (and every
//! platform) agrees on one shape. The JSON Schema published by both binaries is generated
//! from these types by [`json_schema`].

#[cfg(feature = "proptest")]
pub mod arbitrary;
mod finding;
mod machine;
mod network;
mod peripherals;
mod probe;
mod section;

pub use finding::{Finding, FindingSummary, Severity};
pub use machine::{Cpu, Disk, Hardware, Memory, Os, Swap};
pub use network::{
    AddressScope, DnsConfig, Interface, InterfaceAddress, Network, OperState, Proxy, ProxySetting,
    Route, Routing,
};
pub use peripherals::{
    Audio, Battery, BatteryStatus, Bluetooth, BluetoothAdapter, Camera, CupsStatus, DeviceProblem,
    Display, InputDevice, InputKind, Monitor, PcmDevice, Peripherals, Power, PrintQueue,
    PrinterState, Printers, RfkillSwitch, SoundCard, UsbDevice, UsbInterface,
};
pub use probe::{
    DnsAnswer, DnsDetail, HttpDetail, PingDetail, PingSocket, ProbeDetail, ProbeFailure,
    ProbeFailureKind, ProbeOutcome, ProbeResult, TargetRole, TcpDetail, TlsCertificate,
};
pub use section::{Section, SectionError, SectionErrorKind};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Bumped on every breaking change to the wire format; collectors reject majors they do not know.
pub const SCHEMA_VERSION: u32 = 1;

/// One health snapshot of one machine.
///
/// Every `f64` in it is finite: JSON has no NaN or infinity (serde_json writes `null`, which the
/// collector refuses for a plain number), so producers give `None` for a figure they cannot
/// compute. The property tests hold that any such snapshot survives JSON unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Snapshot {
    pub schema_version: u32,
    /// UUID v7 made by the agent; the collector's idempotency key.
    pub id: Uuid,
    pub agent: AgentInfo,
    pub taken_at: DateTime<Utc>,
    /// Wall time spent gathering, in milliseconds.
    pub duration_ms: u64,
    pub trigger: Trigger,
    pub os: Section<Os>,
    pub hardware: Section<Hardware>,
    pub disks: Section<Vec<Disk>>,
    pub network: Section<Network>,
    pub probes: Section<Vec<ProbeResult>>,
    pub peripherals: Section<Peripherals>,
    /// Judgements over the sections above, worst first.
    pub findings: Vec<Finding>,
}

impl Snapshot {
    /// The worst severity among the findings; `Pass` when there are none.
    pub fn worst_severity(&self) -> Severity {
        self.findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Pass)
    }
}

/// Who produced the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AgentInfo {
    pub version: String,
    /// Set once the agent has enrolled with a collector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Uuid>,
}

/// Why the snapshot was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Manual,
    Scheduled,
    HelpRequest,
    SpecialistRequest,
}

/// The JSON Schema of [`Snapshot`], as published by `sitrep schema`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Snapshot)).unwrap_or_default()
}
