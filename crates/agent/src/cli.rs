//! Command-line interface of `sitrep`: the stable command and flag names scripts rely on.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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

const EXIT_CODES: &str = "Exit codes: 0 all checks pass, 1 warnings, 2 failures, \
3 bad usage or config, 4 runtime error.";

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
