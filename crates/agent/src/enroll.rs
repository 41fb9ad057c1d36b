//! `sitrep enroll`: trades an enrollment token for this agent's own id and key and keeps them,
//! with the collector's address and how to trust it, in the state dir.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use sitrep_probes::Ctx;

use crate::UsageError;
use crate::cli::EnrollArgs;
use crate::collector::{CollectorClient, EnrollRequest, collector_url, display_url};
use crate::config::Config;
use crate::identity::{IDENTITY_FILE, Identity, Trust};
use crate::pseudonym::Pseudonyms;
use crate::state::StateDir;

pub fn enroll(config: &Config, state: &StateDir, args: &EnrollArgs) -> anyhow::Result<ExitCode> {
    let collector = args
        .collector
        .as_deref()
        .or(config.collector.as_deref())
        .ok_or_else(|| {
            UsageError(
                "no collector: pass --collector URL (or set `collector` in the config)".to_string(),
            )
        })?;
    let trust = trust(config, args)?;
    let previous = Identity::load(state).ok();
    let identity = crate::block_on(enroll_with_token(
        config,
        state,
        collector,
        trust,
        &args.token,
    ))??;

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Enrolled with {} as agent {}.",
        identity.collector, identity.agent_id
    )?;
    match identity.trust() {
        Trust::Pinned(fingerprint) => {
            writeln!(out, "Pinned collector certificate: SHA256 {fingerprint}")?;
        }
        Trust::CaFile(path) => writeln!(out, "Trusted CA: {}", path.display())?,
        Trust::Platform => writeln!(out, "Trusted CAs: the system's")?,
    }
    writeln!(
        out,
        "Identity saved to {} (the agent key is readable by this account only).",
        state.file(IDENTITY_FILE).display()
    )?;
    if let Some(previous) = previous.filter(|p| p.agent_id != identity.agent_id) {
        writeln!(
            out,
            "This replaces the earlier enrollment as agent {} with {}.",
            previous.agent_id, previous.collector
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Trades `token` for an identity with the collector at `collector`, and saves it. Used by
/// `sitrep enroll` and by the daemon, which enrolls (again) with the configured token when it
/// has no identity or the collector no longer accepts its key.
pub async fn enroll_with_token(
    config: &Config,
    state: &StateDir,
    collector: &str,
    trust: Trust,
    token: &str,
) -> anyhow::Result<Identity> {
    let base = collector_url(collector)?;
    let client = CollectorClient::new(base.clone(), &trust)?;
    state.check_writable()?;
    let pseudonyms = Pseudonyms::load(state, &config.privacy.pseudonymize)?;
    // The collector shows the device by this name until its first snapshot arrives.
    let hostname = sitrep_probes::os::gather(&Ctx::host())
        .ok()
        .and_then(|os| os.hostname.clone())
        .map(|name| pseudonyms.as_ref().map_or(name.clone(), |p| p.host(&name)));

    let enrolled = client
        .enroll(&EnrollRequest {
            token,
            hostname: hostname.as_deref(),
            agent_version: env!("CARGO_PKG_VERSION"),
        })
        .await?;
    let identity = Identity::new(
        display_url(&base).to_string(),
        enrolled.agent_id,
        enrolled.agent_key,
        trust,
    );
    identity
        .save(state)
        .context("enrolled, but the identity could not be saved; enroll again with a new token")?;
    Ok(identity)
}

/// The flags decide; without either, the config's `fingerprint` or `ca_file`.
fn trust(config: &Config, args: &EnrollArgs) -> anyhow::Result<Trust> {
    if let Some(fingerprint) = args.fingerprint {
        return Ok(Trust::Pinned(fingerprint));
    }
    if let Some(ca) = &args.ca {
        return ca_file(ca);
    }
    configured_trust(config)
}

/// How the config says to trust the collector: `fingerprint`, `ca_file`, or the system's CAs.
pub fn configured_trust(config: &Config) -> anyhow::Result<Trust> {
    if let Some(fingerprint) = &config.fingerprint {
        let pin = fingerprint
            .parse()
            .map_err(|error| UsageError(format!("config key `fingerprint`: {error}")))?;
        return Ok(Trust::Pinned(pin));
    }
    match &config.ca_file {
        Some(ca) => ca_file(ca),
        None => Ok(Trust::Platform),
    }
}

/// The identity is used from other working directories (the service), so the path is made
/// absolute now.
fn ca_file(path: &Path) -> anyhow::Result<Trust> {
    let absolute = std::path::absolute(path)
        .map_err(|error| UsageError(format!("CA file {}: {error}", path.display())))?;
    Ok(Trust::CaFile(absolute))
}
