//! The machine a run measured, printed with its table: figures from a shared 2-core machine
//! mean little without the CPU, the memory and the load that was already there.

use std::process::Command;

/// Facts observed when the harness starts.
#[derive(Debug)]
pub(crate) struct Machine {
    cpu: String,
    logical_cores: usize,
    memory_gib: f64,
    os: String,
    kernel: String,
    rustc: String,
    started: chrono::DateTime<chrono::Utc>,
    load_at_start: String,
}

impl Machine {
    pub(crate) fn observe() -> Machine {
        let cpuinfo = read("/proc/cpuinfo");
        let meminfo = read("/proc/meminfo");
        let memory_kib: f64 = field(&meminfo, "MemTotal")
            .and_then(|value| value.trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or(0.0);
        Machine {
            cpu: field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into()),
            logical_cores: std::thread::available_parallelism().map_or(0, usize::from),
            memory_gib: memory_kib / (1024.0 * 1024.0),
            os: read("/etc/os-release")
                .lines()
                .find_map(|line| line.strip_prefix("PRETTY_NAME="))
                .map(|name| name.trim_matches('"').to_string())
                .unwrap_or_else(|| "unknown".into()),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            rustc: Command::new("rustc")
                .arg("--version")
                .output()
                .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
                .unwrap_or_else(|_| "unknown".into()),
            started: chrono::Utc::now(),
            load_at_start: load_average(),
        }
    }

    pub(crate) fn facts(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "date",
                self.started.format("%Y-%m-%d %H:%M UTC").to_string(),
            ),
            ("CPU", self.cpu.clone()),
            ("logical cores", self.logical_cores.to_string()),
            ("memory", format!("{:.1} GiB", self.memory_gib)),
            ("OS", format!("{}, kernel {}", self.os, self.kernel)),
            ("rustc", self.rustc.clone()),
            (
                "load average at the start (1, 5, 15 min; other work on the machine)",
                self.load_at_start.clone(),
            ),
        ]
    }
}

/// The 1, 5 and 15 minute load averages: above zero before the harness starts means other work
/// was sharing the cores.
pub(crate) fn load_average() -> String {
    read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The value of the first `key : value` line (the layout of /proc/cpuinfo and /proc/meminfo).
fn field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name.trim() == key).then(|| value.trim().to_string())
    })
}
