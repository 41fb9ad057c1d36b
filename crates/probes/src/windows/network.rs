//! The `network` section on Windows: one PowerShell run for adapters, settings and proxies;
//! `ipconfig /all` for DNS when WMI gives no server.

use sitrep_snapshot::{DnsConfig, Network, Section, SectionError};

use super::{powershell, system32};
use crate::command::{self, TOOL_TIMEOUT, skip_unless_live};
use crate::parse::windows::ipconfig;
use crate::parse::windows::network::{Adapters, QUERIES, proxy_of};
use crate::{Ctx, ReadError};

pub fn gather(ctx: &Ctx) -> Section<Network> {
    if let Some(skipped) = skip_unless_live(ctx) {
        return skipped;
    }
    let documents = match powershell(&QUERIES) {
        Ok(documents) => documents,
        Err(error) => {
            let error = SectionError::from(error);
            return Section::Ok(Network {
                interfaces: Section::Error(error.clone()),
                routing: Section::Error(error.clone()),
                dns: read_ipconfig_dns()
                    .map_err(|fallback| {
                        let mut error = error.clone();
                        error.message = format!("{}; {fallback}", error.message);
                        error
                    })
                    .into(),
                proxy: Section::Error(error),
            });
        }
    };
    let adapters = Adapters::parse(documents.get(0), documents.get(1))
        .map_err(|source| SectionError::from(documents.error(1, source)));
    let dns: Result<DnsConfig, SectionError> = match &adapters {
        Ok(adapters) if !adapters.dns().servers.is_empty() => Ok(adapters.dns()),
        // WMI without a server: what ipconfig says, else WMI's empty answer.
        Ok(adapters) => Ok(read_ipconfig_dns().unwrap_or_else(|error| {
            tracing::debug!(%error, "ipconfig /all unusable");
            adapters.dns()
        })),
        // Without WMI's answer, ipconfig's; if it cannot say either, the first problem.
        Err(error) => read_ipconfig_dns().map_err(|_| error.clone()),
    };
    Section::Ok(Network {
        interfaces: adapters
            .as_ref()
            .map(Adapters::interfaces)
            .map_err(Clone::clone)
            .into(),
        routing: adapters
            .as_ref()
            .map(Adapters::routing)
            .map_err(Clone::clone)
            .into(),
        dns: dns.into(),
        proxy: proxy_of(documents.get(2))
            .map_err(|source| documents.error(2, source))
            .into(),
    })
}

fn read_ipconfig_dns() -> Result<DnsConfig, ReadError> {
    let mut command = system32("ipconfig.exe");
    command.arg("/all");
    let output = command::run(&mut command, TOOL_TIMEOUT)?;
    let config =
        ipconfig::parse_ipconfig(&output.stdout).map_err(|source| ReadError::CommandOutput {
            command: ipconfig::SOURCE.to_owned(),
            source,
        })?;
    Ok(ipconfig::dns_of(&config))
}
