//! The spool: snapshots waiting for the collector's 2xx, one file each, sent oldest first.
//!
//! A snapshot is written here before any upload is tried (temp file, fsync, rename, fsync of
//! the dir), so neither a crash nor an outage loses it, and it leaves only once the collector
//! has acknowledged it. The spool is bounded by count and bytes: when full, the oldest entries
//! are dropped and counted, and the count travels with the next upload.
//!
//! Layout under `<state dir>/spool/`:
//! - `<20 digits>.snap`: an entry; the digits are microseconds since the epoch, strictly
//!   increasing, so the names sort in the order the entries were made. An entry is one line of
//!   JSON ([`EntryMeta`]) followed by the upload body exactly as sent (zstd-compressed JSON).
//! - `aside/`: entries that can never be sent (damaged, or refused for good by the collector),
//!   each beside a `NAME.reason` file; kept for a person to look at, bounded in number.
//! - `counters.json`: what was dropped, and the last acknowledged upload.
//! - `.lock`: held while the spool changes, since the daemon and `sitrep send` share it.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitrep_snapshot::Trigger;
use uuid::Uuid;

use crate::state::{StateDir, StateError};

const ENTRY_EXTENSION: &str = "snap";
const ASIDE_DIR: &str = "aside";
const COUNTERS_FILE: &str = "counters.json";
const LOCK_FILE: &str = ".lock";
/// Set-aside entries kept; beyond this the oldest go, so a collector that refuses everything
/// cannot fill the disk.
const MAX_ASIDE: usize = 50;
/// Entries are one header line and a compressed snapshot of a few KiB; a header line longer
/// than this is damage, not data.
const MAX_HEADER_BYTES: usize = 16 << 10;

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "a snapshot of {bytes} bytes does not fit in the spool (spool.max_bytes = {max_bytes})"
    )]
    TooLarge { bytes: u64, max_bytes: u64 },
    #[error("spool entry {path} is damaged ({reason}); moved to {aside}")]
    Damaged {
        path: PathBuf,
        reason: String,
        aside: PathBuf,
    },
    #[error("cannot encode a spool entry: {0}")]
    Encode(serde_json::Error),
    #[error(transparent)]
    State(#[from] StateError),
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> SpoolError {
    let path = path.to_path_buf();
    move |source| SpoolError::Io {
        action,
        path,
        source,
    }
}

/// The spool's bounds (`[spool]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolLimits {
    pub max_bytes: u64,
    pub max_items: u32,
}

/// What an entry says about the upload it holds: enough to list the spool and to make the
/// request without opening the body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryMeta {
    pub snapshot_id: Uuid,
    /// The agent the body names; after a re-enrollment the body is re-stamped before upload.
    pub agent_id: Option<Uuid>,
    pub taken_at: DateTime<Utc>,
    pub trigger: Trigger,
    /// The specialist request this snapshot answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The header line as stored: the meta and what the body must be.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    #[serde(flatten)]
    meta: EntryMeta,
    body_bytes: u64,
    body_sha256: String,
}

/// An entry as listed: its file name, meta and size on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct SpoolEntry {
    pub name: String,
    pub meta: EntryMeta,
    pub bytes: u64,
}

/// An entry read in full, checked against its header.
#[derive(Debug)]
pub struct LoadedEntry {
    pub entry: SpoolEntry,
    /// The upload body: zstd-compressed snapshot JSON.
    pub body: Vec<u8>,
}

/// What was dropped and sent, kept across restarts in `counters.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counters {
    /// Entries dropped because the spool was full, ever.
    pub dropped_total: u64,
    /// Dropped since the last acknowledged upload, which reports them.
    pub dropped_unreported: u64,
    pub last_upload: Option<LastUpload>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastUpload {
    pub at: DateTime<Utc>,
    pub snapshot_id: Uuid,
    pub trigger: Trigger,
}

/// The result of [`Spool::push`].
#[derive(Debug, Clone, PartialEq)]
pub struct Pushed {
    pub name: String,
    /// Older entries dropped to make room.
    pub dropped: u64,
}

/// The spool's contents for `sitrep spool list` and `sitrep status`.
#[derive(Debug, Default)]
pub struct Listing {
    pub entries: Vec<SpoolEntry>,
    /// Damaged entries found (and moved aside) while listing, with why.
    pub damaged: Vec<String>,
    pub aside: usize,
}

impl Listing {
    pub fn bytes(&self) -> u64 {
        self.entries.iter().map(|entry| entry.bytes).sum()
    }
}

#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
    /// Writes in the spool dir and in `aside/`: atomic and durable, owner-only.
    files: StateDir,
    aside: StateDir,
    limits: SpoolLimits,
}

impl Spool {
    pub fn new(state: &StateDir, limits: SpoolLimits) -> Spool {
        let dir = state.file("spool");
        Spool {
            files: StateDir::new(Some(&dir)),
            aside: StateDir::new(Some(&dir.join(ASIDE_DIR))),
            dir,
            limits,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn limits(&self) -> SpoolLimits {
        self.limits
    }

    /// Stores an upload body, dropping the oldest entries first when the spool would go over
    /// its bounds. Returns once the entry is on disk.
    pub fn push(&self, meta: EntryMeta, body: &[u8]) -> Result<Pushed, SpoolError> {
        let header = Header {
            body_bytes: body.len() as u64,
            body_sha256: sha256_hex(body),
            meta,
        };
        let mut contents = serde_json::to_vec(&header).map_err(SpoolError::Encode)?;
        contents.push(b'\n');
        contents.extend_from_slice(body);
        let size = contents.len() as u64;
        if size > self.limits.max_bytes {
            return Err(SpoolError::TooLarge {
                bytes: size,
                max_bytes: self.limits.max_bytes,
            });
        }

        let _lock = self.lock()?;
        let mut present = self.entry_files()?;
        let mut bytes: u64 = present.iter().map(|(_, size)| size).sum();
        let mut dropped = 0;
        while !present.is_empty()
            && (present.len() >= self.limits.max_items as usize
                || bytes + size > self.limits.max_bytes)
        {
            let (oldest, oldest_size) = present.remove(0);
            remove_if_present(&self.dir.join(&oldest))?;
            tracing::warn!(entry = %oldest, "spool full: dropped its oldest snapshot");
            bytes -= oldest_size;
            dropped += 1;
        }
        if dropped > 0 {
            self.update_counters(|counters| {
                counters.dropped_total += dropped;
                counters.dropped_unreported += dropped;
            })?;
        }
        let name = next_name(present.last().map(|(name, _)| name.as_str()));
        self.files.write(&name, &contents)?;
        Ok(Pushed { name, dropped })
    }

    /// The entries, oldest first. Damaged ones are moved aside on the way, each with a warning.
    pub fn list(&self) -> Result<Listing, SpoolError> {
        let mut listing = Listing::default();
        for (name, _) in self.entry_files()? {
            match self.load(&name) {
                Ok(Some(loaded)) => listing.entries.push(loaded.entry),
                Ok(None) => {}
                Err(damaged @ SpoolError::Damaged { .. }) => {
                    listing.damaged.push(damaged.to_string());
                }
                Err(other) => return Err(other),
            }
        }
        listing.aside = self.aside_names()?.len();
        Ok(listing)
    }

    /// The oldest entry that is not damaged, if any.
    pub fn oldest(&self) -> Result<Option<LoadedEntry>, SpoolError> {
        for (name, _) in self.entry_files()? {
            match self.load(&name) {
                Ok(Some(loaded)) => return Ok(Some(loaded)),
                Ok(None) | Err(SpoolError::Damaged { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(None)
    }

    /// Reads and checks one entry; `None` if another process removed it meanwhile. A damaged
    /// entry is moved aside (never deleted: a person may want to see it) and reported.
    pub fn load(&self, name: &str) -> Result<Option<LoadedEntry>, SpoolError> {
        let path = self.dir.join(name);
        let contents = match fs::read(&path) {
            Ok(contents) => contents,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(io_error("read", &path)(error)),
        };
        match parse_entry(&contents) {
            Ok((meta, body)) => Ok(Some(LoadedEntry {
                entry: SpoolEntry {
                    name: name.to_string(),
                    meta,
                    bytes: contents.len() as u64,
                },
                body: body.to_vec(),
            })),
            Err(reason) => {
                let aside = self.set_aside(name, &format!("damaged: {reason}"))?;
                tracing::warn!(entry = %path.display(), %reason, aside = %aside.display(), "damaged spool entry moved aside");
                Err(SpoolError::Damaged {
                    path,
                    reason,
                    aside,
                })
            }
        }
    }

    /// Removes an entry the collector acknowledged, and records the upload.
    pub fn acknowledge(&self, entry: &SpoolEntry, reported_dropped: u64) -> Result<(), SpoolError> {
        let _lock = self.lock()?;
        remove_if_present(&self.dir.join(&entry.name))?;
        self.update_counters(|counters| {
            counters.dropped_unreported =
                counters.dropped_unreported.saturating_sub(reported_dropped);
            counters.last_upload = Some(LastUpload {
                at: Utc::now(),
                snapshot_id: entry.meta.snapshot_id,
                trigger: entry.meta.trigger,
            });
        })
    }

    /// Moves an entry that can never be sent to `aside/`, with `reason` beside it. Returns
    /// where it went.
    pub fn set_aside(&self, name: &str, reason: &str) -> Result<PathBuf, SpoolError> {
        let aside_dir = self.aside.path();
        let target = aside_dir.join(name);
        self.aside
            .write(&format!("{name}.reason"), format!("{reason}\n").as_bytes())?;
        match fs::rename(self.dir.join(name), &target) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(io_error("move aside", &target)(error)),
        }
        let mut names = self.aside_names()?;
        while names.len() > MAX_ASIDE {
            let oldest = names.remove(0);
            remove_if_present(&aside_dir.join(&oldest))?;
            remove_if_present(&aside_dir.join(format!("{oldest}.reason")))?;
        }
        Ok(target)
    }

    pub fn counters(&self) -> Result<Counters, SpoolError> {
        let path = self.dir.join(COUNTERS_FILE);
        match fs::read(&path) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                // Counters are advisory; a damaged file must not stop uploads.
                tracing::warn!(path = %path.display(), %error, "spool counters damaged; starting from zero");
                Counters::default()
            })),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Counters::default()),
            Err(error) => Err(io_error("read", &path)(error)),
        }
    }

    /// Removes temp files a crash left between write and rename; they never became entries.
    pub fn remove_leftovers(&self) -> Result<usize, SpoolError> {
        // Writers hold the lock from temp file to rename, so no live write is taken for one.
        let _lock = self.lock()?;
        let mut removed = 0;
        for name in self.names()? {
            if name.starts_with('.') && name.ends_with(".tmp") {
                remove_if_present(&self.dir.join(&name))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Fails unless the spool dir exists (or can be made) and takes a file.
    pub fn check_writable(&self) -> Result<(), SpoolError> {
        Ok(self.files.check_writable()?)
    }

    fn update_counters(&self, change: impl FnOnce(&mut Counters)) -> Result<(), SpoolError> {
        let mut counters = self.counters()?;
        change(&mut counters);
        let bytes = serde_json::to_vec_pretty(&counters).map_err(SpoolError::Encode)?;
        Ok(self.files.write(COUNTERS_FILE, &bytes)?)
    }

    /// Held until dropped; other processes wait for it.
    fn lock(&self) -> Result<File, SpoolError> {
        self.files.ensure_exists()?;
        let path = self.dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_error("open", &path))?;
        file.lock().map_err(io_error("lock", &path))?;
        Ok(file)
    }

    /// Entry file names with their sizes, oldest first.
    fn entry_files(&self) -> Result<Vec<(String, u64)>, SpoolError> {
        let mut files = Vec::new();
        for name in self.names()? {
            if is_entry_name(&name) {
                let path = self.dir.join(&name);
                match fs::metadata(&path) {
                    Ok(metadata) => files.push((name, metadata.len())),
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                    Err(error) => return Err(io_error("inspect", &path)(error)),
                }
            }
        }
        files.sort();
        Ok(files)
    }

    fn aside_names(&self) -> Result<Vec<String>, SpoolError> {
        let dir = self.dir.join(ASIDE_DIR);
        let mut names: Vec<String> = read_names(&dir)?
            .into_iter()
            .filter(|name| is_entry_name(name))
            .collect();
        names.sort();
        Ok(names)
    }

    fn names(&self) -> Result<Vec<String>, SpoolError> {
        read_names(&self.dir)
    }
}

/// The file names in `dir`; none when it does not exist yet.
fn read_names(dir: &Path) -> Result<Vec<String>, SpoolError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(io_error("list", dir)(error)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error("list", dir))?;
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
    }
    Ok(names)
}

fn is_entry_name(name: &str) -> bool {
    name.strip_suffix(&format!(".{ENTRY_EXTENSION}"))
        .is_some_and(|stem| stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()))
}

/// A name after `newest`: now in microseconds, or one more than `newest` when the clock has
/// not moved on (or went back), so names keep sorting in the order entries were made.
fn next_name(newest: Option<&str>) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_micros() as u64);
    let after_newest = newest
        .and_then(|name| name.get(..20))
        .and_then(|digits| digits.parse::<u64>().ok())
        .map_or(0, |micros| micros + 1);
    format!("{:020}.{ENTRY_EXTENSION}", now.max(after_newest))
}

/// Splits an entry into its meta and body, checking the body against the header.
fn parse_entry(contents: &[u8]) -> Result<(EntryMeta, &[u8]), String> {
    let newline = contents
        .iter()
        .take(MAX_HEADER_BYTES)
        .position(|&b| b == b'\n')
        .ok_or("no header line")?;
    let header: Header = serde_json::from_slice(&contents[..newline])
        .map_err(|error| format!("unreadable header: {error}"))?;
    let body = &contents[newline + 1..];
    if body.len() as u64 != header.body_bytes {
        return Err(format!(
            "the body has {} bytes, the header says {}",
            body.len(),
            header.body_bytes
        ));
    }
    if sha256_hex(body) != header.body_sha256 {
        return Err("the body does not match its checksum".to_string());
    }
    Ok((header.meta, body))
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    digest
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn remove_if_present(path: &Path) -> Result<(), SpoolError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(io_error("remove", path)(error)),
    }
}

#[cfg(test)]
mod tests;
