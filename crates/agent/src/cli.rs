//! Command-line interface of `sitrep`: the stable command and flag names scripts rely on.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::pin::Fingerprint;

/// Tells a support specialist what is wrong with this computer.
#[derive(Debug, Parser)]
#[command(name = "sitrep", version, disable_help_subcommand = true, after_help = EXIT_CODES)]
pub struct Cli {
    /// Config file [default: the platform's, e.g. /etc/sitrep/agent.toml, when it exists]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the agent keeps its identity and spool [default: the platform's state dir]
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str = "Exit codes: report: 0 all checks pass, 1 warnings, 2 failures; \
every command: 3 bad usage or config (or not enrolled), 4 runtime error (e.g. the collector \
cannot be reached).";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check this machine and print its health report, the summary first
    Report(ReportArgs),
    /// Print the JSON Schema of the snapshot that `report --json` prints
    Schema,
    /// Work with the config file
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Register this computer with a collector (once, as the administrator)
    Enroll(EnrollArgs),
    /// Check this machine and upload the snapshot to the collector
    Send(SendArgs),
    /// Ask support for help: sends your description and a snapshot, prints a support code
    Help(HelpArgs),
    /// Run as the background service: scheduled checks, specialist requests, uploads
    /// (SIGTERM stops it after the work in hand; SIGHUP reloads the config and retries now)
    Daemon(DaemonArgs),
    /// Show enrollment, whether the collector answers, the last upload, the spool and the
    /// daemon's next check
    Status(StatusArgs),
    /// Work with the snapshots waiting to be sent
    Spool {
        #[command(subcommand)]
        action: SpoolAction,
    },
}

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Run under the Windows service control manager (the service's command line has it)
    #[arg(long, hide = cfg!(not(windows)))]
    pub service: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the status as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum SpoolAction {
    /// List the snapshots waiting to be sent, oldest first
    List,
    /// Send the waiting snapshots now, oldest first
    Flush,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Check the config file and report every problem at once
    Check,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Print the snapshot as JSON instead of the human report
    #[arg(long)]
    pub json: bool,
    /// Do not send any network traffic (no ping, DNS, TCP or HTTP probes)
    #[arg(long)]
    pub no_probes: bool,
    /// Only gather these sections (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub sections: Vec<SectionName>,
    /// Also probe this target: an address or name (ping and resolve), HOST:PORT (TCP) or a URL
    #[arg(long = "target", value_name = "HOST")]
    pub targets: Vec<String>,
}

#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// Base URL of the collector [default: `collector` from the config]
    #[arg(long, value_name = "URL")]
    pub collector: Option<String>,
    /// Enrollment token made by the collector's administrator
    #[arg(long, value_name = "TOKEN")]
    pub token: String,
    /// Trust exactly the collector certificate with this SHA-256 fingerprint
    /// [default: `fingerprint` from the config]
    #[arg(long, value_name = "SHA256", conflicts_with = "ca")]
    pub fingerprint: Option<Fingerprint>,
    /// Trust only collector certificates signed by this CA (PEM) [default: `ca_file` from the config]
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Attach the snapshot to this ticket
    #[arg(long, value_name = "ID")]
    pub ticket: Option<String>,
    /// A note for the specialist, stored with the snapshot
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Do not send any network traffic besides the upload (no ping, DNS, TCP or HTTP probes)
    #[arg(long)]
    pub no_probes: bool,
    /// Print exactly what would be uploaded (after pseudonymization) and send nothing
    #[arg(long)]
    pub preview: bool,
}

#[derive(Debug, Args)]
pub struct HelpArgs {
    /// What is wrong, in your own words [default: asked for on a terminal]
    #[arg(value_name = "TEXT")]
    pub text: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SectionName {
    Os,
    Hardware,
    Disks,
    Network,
    Probes,
    Peripherals,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
