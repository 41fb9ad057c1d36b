//! `sitrep send` and `sitrep help`: take a snapshot, pseudonymize it as configured and upload it
//! to the enrolled collector (`send` through the spool, so nothing is lost when the collector
//! is down); `send --preview` prints the upload instead of sending it.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use sitrep_probes::Ctx;
use sitrep_snapshot::Trigger;

use crate::cli::{HelpArgs, SendArgs};
use crate::collector::{CollectorClient, collector_url};
use crate::config::Config;
use crate::gather::take_snapshot;
use crate::identity::Identity;
use crate::outbox::{Delivery, Extras, Outbox, Outgoing};
use crate::pseudonym::Pseudonyms;
use crate::spool::{Spool, SpoolLimits};
use crate::state::StateDir;
use crate::{SnapshotOptions, UsageError, block_on, probed_collector, snapshot_request};

/// The longest description `help` reads from the terminal.
const MAX_DESCRIPTION_BYTES: u64 = 4096;

pub fn send(
    config: &Config,
    config_path: Option<&Path>,
    state: &StateDir,
    args: &SendArgs,
) -> anyhow::Result<ExitCode> {
    if args.preview {
        return preview(config, state, args);
    }
    let identity = Identity::load(state)?;
    let outbox = Outbox::new(state, spool(config, state), config_path, identity.clone())?;
    let pseudonyms = Pseudonyms::load(state, &config.privacy.pseudonymize)?;
    let request = snapshot_request(
        config,
        Some(identity.collector.clone()),
        &options(Trigger::Manual, args.no_probes),
    )?;
    let (snapshot_id, delivery, collector) = block_on(async {
        let snapshot = take_snapshot(Ctx::host(), &request).await;
        let outgoing = Outgoing::new(snapshot, Some(&identity), pseudonyms.as_ref());
        let extras = Extras {
            ticket: args.ticket.clone(),
            note: args.note.as_deref().map(|note| outgoing.text(note)),
            request: None,
        };
        let (delivery, _) = outbox.submit(&outgoing, extras).await?;
        // The collector may differ from the one in `identity` if the agent enrolled again.
        let collector = outbox.identity().await.collector;
        anyhow::Ok((outgoing.snapshot.id, delivery, collector))
    })??;

    let mut out = std::io::stdout().lock();
    match delivery {
        Delivery::Stored(stored) => {
            let answer = if stored.duplicate {
                "already stored (sent before)"
            } else {
                "stored"
            };
            writeln!(
                out,
                "Sent snapshot {} to {collector}: {answer}.",
                stored.snapshot_id
            )?;
            if let Some(ticket) = &args.ticket {
                writeln!(out, "Attached to ticket {ticket}.")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Delivery::Spooled { reason } => {
            let reason = reason.map_or_else(String::new, |error| format!(": {error}"));
            Err(anyhow::anyhow!(
                "snapshot {snapshot_id} could not be sent now{reason}\nIt is kept in the spool ({}) \
                 and sent when the collector can be reached (by the daemon, or `sitrep spool flush`).",
                outbox.spool().dir().display()
            ))
        }
        Delivery::Refused { error, aside } => Err(anyhow::Error::new(error).context(format!(
            "snapshot {snapshot_id} was refused; it was moved to {}",
            aside.display()
        ))),
        Delivery::Lost { spool_error, error } => Err(anyhow::Error::new(error).context(format!(
            "snapshot {snapshot_id} could not be sent, and the spool could not keep it ({spool_error})"
        ))),
    }
}

/// The spool in the state dir, bounded as configured.
pub fn spool(config: &Config, state: &StateDir) -> Spool {
    Spool::new(
        state,
        SpoolLimits {
            max_bytes: config.spool.max_bytes.0,
            max_items: config.spool.max_items,
        },
    )
}

/// Prints exactly the body `send` would upload (before compression), and sends nothing. It
/// works before enrollment too; once enrolled, the snapshot names the agent as an upload would.
fn preview(config: &Config, state: &StateDir, args: &SendArgs) -> anyhow::Result<ExitCode> {
    let identity = Identity::load(state).ok();
    let pseudonyms = Pseudonyms::load(state, &config.privacy.pseudonymize)?;
    let request = snapshot_request(
        config,
        probed_collector(config, state),
        &options(Trigger::Manual, args.no_probes),
    )?;
    let snapshot = block_on(take_snapshot(Ctx::host(), &request))?;
    let body = Outgoing::new(snapshot, identity.as_ref(), pseudonyms.as_ref()).body()?;
    let mut out = std::io::stdout().lock();
    out.write_all(&body)
        .and_then(|()| out.flush())
        .context("cannot write the preview")?;
    Ok(ExitCode::SUCCESS)
}

pub fn help(config: &Config, state: &StateDir, args: &HelpArgs) -> anyhow::Result<ExitCode> {
    let description = description(&args.text)?;
    let identity = Identity::load(state)?;
    let client = client(&identity)?;
    let pseudonyms = Pseudonyms::load(state, &config.privacy.pseudonymize)?;
    let request = snapshot_request(
        config,
        Some(identity.collector.clone()),
        &options(Trigger::HelpRequest, false),
    )?;
    eprintln!("Checking this computer; this takes a few seconds...");
    let answer = block_on(async {
        let snapshot = take_snapshot(Ctx::host(), &request).await;
        let outgoing = Outgoing::new(snapshot, Some(&identity), pseudonyms.as_ref());
        let description = outgoing.text(&description);
        client.help(&description, &outgoing.snapshot).await
    })??;

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Your description and a check of this computer were sent to support."
    )?;
    writeln!(
        out,
        "Tell the support specialist this code so they can find your request:"
    )?;
    writeln!(out, "Your support code: {}", answer.support_code)?;
    Ok(ExitCode::SUCCESS)
}

fn options(trigger: Trigger, no_probes: bool) -> SnapshotOptions<'static> {
    SnapshotOptions {
        trigger,
        no_probes,
        sections: &[],
        targets: &[],
    }
}

fn client(identity: &Identity) -> anyhow::Result<CollectorClient> {
    Ok(
        CollectorClient::new(collector_url(&identity.collector)?, &identity.trust())?
            .with_key(identity.agent_key.clone()),
    )
}

/// The user's words: from the command line, else asked for on a terminal.
fn description(words: &[String]) -> Result<String, UsageError> {
    let given = words.join(" ");
    let text = if !given.trim().is_empty() {
        given
    } else if std::io::stdin().is_terminal() {
        eprint!("Describe the problem in one line, then press Enter: ");
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .take(MAX_DESCRIPTION_BYTES)
            .read_line(&mut line)
            .map_err(|error| UsageError(format!("cannot read the description: {error}")))?;
        line
    } else {
        String::new()
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(UsageError(
            "describe the problem, e.g. sitrep help \"the printer does not print\"".to_string(),
        ));
    }
    Ok(text.to_string())
}
