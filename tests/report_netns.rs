//! The real `sitrep report --json` inside network namespaces: a broken office network (dead DNS
//! server, unreachable gateway) must fail with findings that name both addresses, a healthy one
//! must pass its network checks, and ping must work through the unprivileged ICMP socket for a
//! non-root user exactly when `net.ipv4.ping_group_range` allows it.
//!
//! Layout: the client namespace (10.78.0.2/24) is linked to a server namespace (10.78.0.1) that
//! runs dnsmasq. 10.78.0.99 and 10.78.0.98 are on the subnet with nobody behind them.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use sitrep_tests::netns::{Lab, Netns};

type TestResult = Result<(), Box<dyn Error>>;

const SERVER: &str = "10.78.0.1";
const BLACKHOLED_GATEWAY: &str = "10.78.0.99";
const BLACKHOLED_DNS: &str = "10.78.0.98";
/// The user `setpriv` drops to: nobody/nogroup on Debian.
const NOBODY: &str = "65534";

struct Office {
    lab: Lab,
    client: Netns,
    server: Netns,
}

fn office(test: &str) -> Result<Option<Office>, Box<dyn Error>> {
    let Some(mut lab) = Lab::or_skip(test)? else {
        return Ok(None);
    };
    let client = lab.namespace("c")?;
    let server = lab.namespace("s")?;
    lab.link(&client, "10.78.0.2/24", &server, &format!("{SERVER}/24"))?;
    Ok(Some(Office {
        lab,
        client,
        server,
    }))
}

/// Built by `cargo test --workspace` (the agent is another package, so Cargo does not hand us
/// its path the way it does for a package's own binaries).
fn agent() -> PathBuf {
    assert_cmd::cargo::cargo_bin("sitrep")
}

/// Short probe timeouts.
fn config_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/netns.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

impl Office {
    /// `sitrep report --json ARGS` inside the client namespace, optionally as `nobody`.
    fn report(&self, as_nobody: bool, args: &[&str]) -> Result<(Output, Value), Box<dyn Error>> {
        let mut command = if as_nobody {
            let mut command = self.lab.command(&self.client, "setpriv");
            command
                .args(["--reuid", NOBODY, "--regid", NOBODY, "--clear-groups", "--"])
                .arg(agent());
            command
        } else {
            self.lab.command(&self.client, agent())
        };
        // Where the unprivileged user can read it too, wherever the checkout is.
        let config = self.lab.shared_file("agent.toml", &config_text())?;
        command
            .arg("--config")
            .arg(config)
            .args(["report", "--json"])
            .args(args);
        let output = command.output()?;
        let snapshot = serde_json::from_slice(&output.stdout).map_err(|error| {
            format!(
                "{error}; stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
        Ok((output, snapshot))
    }
}

fn findings<'a>(snapshot: &'a Value, id: &str) -> Vec<&'a Value> {
    snapshot["findings"]
        .as_array()
        .map(|all| all.iter().filter(|f| f["id"] == id).collect())
        .unwrap_or_default()
}

fn probe<'a>(snapshot: &'a Value, method: &str, target: &str) -> &'a Value {
    snapshot["probes"]["ok"]
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|p| p["detail"]["method"] == method && p["target"] == target)
        })
        .unwrap_or_else(|| panic!("no {method} probe of {target} in {}", snapshot["probes"]))
}

#[test]
fn dead_dns_and_unreachable_gateway_fail_naming_both() -> TestResult {
    let Some(office) = office("dead_dns_and_unreachable_gateway_fail_naming_both")? else {
        return Ok(());
    };
    office.lab.ip(
        &office.client,
        &["route", "add", "default", "via", BLACKHOLED_GATEWAY],
    )?;
    office.lab.resolv_conf(
        &office.client,
        &format!("nameserver {BLACKHOLED_DNS}\nsearch office.test\n"),
    )?;

    let (output, snapshot) = office.report(false, &[])?;
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let dns = findings(&snapshot, "net.dns.unreachable");
    assert_eq!(dns.len(), 1, "{dns:?}");
    assert_eq!(dns[0]["severity"], "fail");
    assert!(
        dns[0]["title"]
            .as_str()
            .unwrap_or_default()
            .contains(BLACKHOLED_DNS),
        "{}",
        dns[0]
    );

    let gateway = findings(&snapshot, "net.gateway.loss");
    assert_eq!(gateway.len(), 1, "{gateway:?}");
    assert_eq!(gateway[0]["severity"], "fail");
    let text = format!("{} {}", gateway[0]["title"], gateway[0]["evidence"]);
    assert!(text.contains(BLACKHOLED_GATEWAY), "{text}");

    // The configuration the findings rest on is in the snapshot too.
    assert_eq!(
        snapshot["network"]["ok"]["dns"]["ok"]["servers"][0],
        BLACKHOLED_DNS
    );
    assert_eq!(
        snapshot["network"]["ok"]["routing"]["ok"]["default_gateways"][0]["gateway"],
        BLACKHOLED_GATEWAY
    );
    assert_eq!(
        probe(&snapshot, "ping", BLACKHOLED_GATEWAY)["outcome"],
        "failure"
    );
    Ok(())
}

#[test]
fn healthy_office_passes_its_network_checks() -> TestResult {
    let Some(mut office) = office("healthy_office_passes_its_network_checks")? else {
        return Ok(());
    };
    office
        .lab
        .ip(&office.client, &["route", "add", "default", "via", SERVER])?;
    office
        .lab
        .resolv_conf(&office.client, &format!("nameserver {SERVER}\n"))?;
    let server = office.server.clone();
    office.lab.dnsmasq(
        &server,
        SERVER.parse()?,
        &["--address=/agent.test/10.1.2.3", "--local=/agent.test/"],
    )?;

    let (output, snapshot) = office.report(
        false,
        &[
            "--target",
            "agent.test",
            "--target",
            &format!("{SERVER}:53"),
        ],
    )?;
    assert!(
        output.status.code().is_some_and(|code| code <= 2),
        "{output:?}"
    );
    for id in [
        "net.gateway.loss",
        "net.dns.unreachable",
        "net.dns.name_unresolved",
        "net.route.no_default",
        "net.tcp.unreachable",
    ] {
        let found = findings(&snapshot, id);
        assert!(
            !found.is_empty() && found.iter().all(|f| f["severity"] == "pass"),
            "{id}: {found:?}"
        );
    }
    let lookup = snapshot["probes"]["ok"]
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|p| p["detail"]["method"] == "dns" && p["detail"]["name"] == "agent.test")
        })
        .ok_or("no lookup of agent.test")?;
    assert_eq!(
        lookup["detail"]["answers"][0]["addresses"][0], "10.1.2.3",
        "{lookup}"
    );
    Ok(())
}

#[test]
fn unprivileged_ping_uses_the_datagram_socket_when_the_group_range_allows() -> TestResult {
    let Some(office) =
        office("unprivileged_ping_uses_the_datagram_socket_when_the_group_range_allows")?
    else {
        return Ok(());
    };
    office
        .lab
        .sysctl(&office.client, "net.ipv4.ping_group_range", "0 2147483647")?;
    let (_, snapshot) = office.report(true, &["--sections", "probes", "--target", SERVER])?;
    let ping = probe(&snapshot, "ping", SERVER);
    assert_eq!(ping["outcome"], "success", "{ping}");
    assert_eq!(ping["detail"]["socket"], "datagram", "{ping}");
    Ok(())
}

#[test]
fn unprivileged_ping_without_permission_says_why() -> TestResult {
    let Some(office) = office("unprivileged_ping_without_permission_says_why")? else {
        return Ok(());
    };
    // The namespace starts with the kernel default range "1 0": no group may open ICMP sockets.
    let (output, snapshot) = office.report(true, &["--sections", "probes", "--target", SERVER])?;
    let ping = probe(&snapshot, "ping", SERVER);
    assert_eq!(ping["outcome"], "failure", "{ping}");
    assert_eq!(ping["failure"]["kind"], "permission_denied", "{ping}");
    let message = ping["failure"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("ping_group_range") && message.contains("CAP_NET_RAW"),
        "{message}"
    );
    let permission = findings(&snapshot, "net.probe.permission");
    assert!(
        permission.iter().any(|f| f["severity"] == "warn"),
        "{permission:?}"
    );
    assert_eq!(output.status.code(), Some(1), "a warning, not a failure");
    Ok(())
}
