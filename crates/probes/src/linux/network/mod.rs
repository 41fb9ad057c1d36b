//! The `network` section on Linux: interfaces, routes, DNS settings and proxies, each gathered
//! on its own so one unreadable source does not hide the others.

mod interfaces;
mod proxy;
pub mod resolv;
pub mod route;

use sitrep_snapshot::{Network, Section};

use crate::Ctx;

/// Gathers the `network` section; its parts carry their own errors.
pub fn gather(ctx: &Ctx) -> Section<Network> {
    Section::Ok(Network {
        interfaces: interfaces::gather(ctx),
        routing: route::gather(ctx),
        dns: resolv::gather(ctx),
        proxy: proxy::gather(ctx),
    })
}
