//! TOML config loading shared by the sitrep binaries: typed sections with
//! `deny_unknown_fields`, loaded so that every problem in a file is reported at once with its
//! key path and line, plus the human-friendly value types (durations, sizes).

mod load;
mod units;

pub use load::{
    ConfigError, ConfigFile, LineIndex, Problem, TableChecker, check_table, load, parse,
};
pub use units::{ByteSize, HumanDuration};
