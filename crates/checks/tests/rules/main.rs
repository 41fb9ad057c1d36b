//! Every rule on a healthy snapshot changed in one place; expectations are expect-test snapshots
//! (`UPDATE_EXPECT=1 cargo test -p sitrep-checks` rewrites them for review).

mod device;
mod disk;
mod dns;
mod healthy;
mod healthy_peripherals;
mod judge;
mod memory;
mod network;
mod os;
mod peripherals;
mod ping;
mod sections;
mod services;
