//! The agent's state dir: where its identity and pseudonym key live, written atomically and
//! readable only by the account the agent runs as.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The size of the probe file of [`StateDir::check_writable`]: a page, more than the identity
/// or a pseudonym key takes.
const WRITE_CHECK_BYTES: usize = 4096;

/// A file in the state dir could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {path}: {source}")]
pub struct StateError {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl StateError {
    fn new(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StateError {
        let path = path.to_path_buf();
        move |source| StateError {
            action,
            path,
            source,
        }
    }
}

/// The directory that holds what the agent must remember between runs.
#[derive(Debug, Clone)]
pub struct StateDir {
    path: PathBuf,
}

impl StateDir {
    /// `explicit` (from `--state-dir`), or the platform's default.
    pub fn new(explicit: Option<&Path>) -> Self {
        StateDir {
            path: explicit
                .map_or_else(|| StateDir::default_path().to_path_buf(), Path::to_path_buf),
        }
    }

    /// The platform's default state dir, beside the default config file.
    pub fn default_path() -> &'static Path {
        if cfg!(windows) {
            Path::new(r"C:\ProgramData\sitrep\state")
        } else if cfg!(target_os = "macos") {
            Path::new("/Library/Application Support/sitrep/state")
        } else {
            Path::new("/var/lib/sitrep")
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Reads a state file; `None` when it does not exist.
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StateError> {
        let path = self.file(name);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(StateError::new("read", &path)(error)),
        }
    }

    /// Replaces `name` with `contents` so that a reader sees the old file or the new one, never
    /// a torn mix, even across a crash: temp file, fsync, rename, fsync of the dir.
    pub fn write(&self, name: &str, contents: &[u8]) -> Result<(), StateError> {
        let temp = self.write_temp(name, contents)?;
        let path = self.file(name);
        fs::rename(&temp, &path).map_err(|error| {
            let _ = fs::remove_file(&temp);
            StateError::new("replace", &path)(error)
        })?;
        self.sync_dir()
    }

    /// Writes `name` only if it does not exist yet, atomically. Returns whether this call
    /// created it: when two processes race, exactly one file wins and both then read it.
    pub fn create(&self, name: &str, contents: &[u8]) -> Result<bool, StateError> {
        let temp = self.write_temp(name, contents)?;
        let path = self.file(name);
        // A hard link fails if the target exists, which a rename would silently replace.
        let linked = fs::hard_link(&temp, &path);
        let _ = fs::remove_file(&temp);
        match linked {
            Ok(()) => {
                self.sync_dir()?;
                Ok(true)
            }
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(error) => Err(StateError::new("create", &path)(error)),
        }
    }

    /// Fails unless a file can be written here, so `enroll` finds out before it spends a token.
    /// The probe is as large as the files written here, so a full disk fails it too (an empty
    /// file needs no room).
    pub fn check_writable(&self) -> Result<(), StateError> {
        let temp = self.write_temp("write-check", &[0; WRITE_CHECK_BYTES])?;
        fs::remove_file(&temp).map_err(StateError::new("remove", &temp))
    }

    fn write_temp(&self, name: &str, contents: &[u8]) -> Result<PathBuf, StateError> {
        self.ensure_exists()?;
        let temp = self.file(&format!(".{name}.{}.tmp", std::process::id()));
        let written = (|| {
            let mut file = private_file_options().open(&temp)?;
            file.write_all(contents)?;
            file.sync_all()
        })();
        written.map_err(|error| {
            let _ = fs::remove_file(&temp);
            // The temp file is gone; the file the caller asked for is what failed.
            StateError::new("write", &self.file(name))(error)
        })?;
        Ok(temp)
    }

    /// Creates the dir (owner-only on Unix) when missing. An existing dir is left as it is:
    /// `--state-dir` may point anywhere, and changing the mode of someone's dir is not ours to do.
    pub fn ensure_exists(&self) -> Result<(), StateError> {
        create_private_dir(&self.path).map_err(StateError::new("create the directory", &self.path))
    }

    fn sync_dir(&self) -> Result<(), StateError> {
        sync_dir(&self.path).map_err(StateError::new("sync", &self.path))
    }
}

/// Creates `dir` and its parents, owner-only on Unix, unless it exists.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    // Windows cannot open a directory as a file; NTFS journals the rename itself.
    if cfg!(unix) {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// New files only, readable and writable by the owner alone on Unix.
fn private_file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_replaces_and_read_returns_the_latest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::new(Some(&dir.path().join("state")));
        assert!(state.read("identity.json").expect("read").is_none());
        state.write("identity.json", b"one").expect("write");
        state.write("identity.json", b"two").expect("write");
        assert_eq!(
            state.read("identity.json").expect("read").as_deref(),
            Some(&b"two"[..])
        );
        let names: Vec<_> = fs::read_dir(state.path())
            .expect("list")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["identity.json"], "no temp file is left behind");
    }

    #[test]
    fn create_keeps_the_first_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::new(Some(dir.path()));
        assert!(state.create("pseudonym.key", b"first").expect("create"));
        assert!(!state.create("pseudonym.key", b"second").expect("create"));
        assert_eq!(
            state.read("pseudonym.key").expect("read").as_deref(),
            Some(&b"first"[..])
        );
        assert_eq!(fs::read_dir(state.path()).expect("list").count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn files_and_a_new_dir_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::new(Some(&dir.path().join("a/state")));
        state.write("identity.json", b"{}").expect("write");
        state.create("pseudonym.key", b"k").expect("create");
        let mode = |path: &Path| fs::metadata(path).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode(state.path()), 0o700);
        assert_eq!(mode(&state.file("identity.json")), 0o600);
        assert_eq!(mode(&state.file("pseudonym.key")), 0o600);
    }

    #[test]
    fn an_unwritable_place_names_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blocker = dir.path().join("file");
        fs::write(&blocker, b"").expect("write");
        let state = StateDir::new(Some(&blocker.join("state")));
        let error = state
            .write("identity.json", b"{}")
            .expect_err("a file is in the way");
        assert!(
            error.to_string().starts_with(&format!(
                "cannot create the directory {}",
                blocker.join("state").display()
            )),
            "{error}"
        );
    }
}
