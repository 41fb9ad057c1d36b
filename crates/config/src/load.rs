//! Loading TOML so that every problem is found in one pass: syntax errors, unknown keys, bad
//! values and cross-key rules, each with its key path and line.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} has {} problem{}:\n{}", problems.len(), if problems.len() == 1 { "" } else { "s" }, ProblemList(problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

/// One thing wrong in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `probes.timeout`; empty for a syntax error.
    pub key: String,
    /// 1-based line, where known.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

struct ProblemList<'a>(&'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

/// A config file type: its sections, and the checks that span keys.
pub trait ConfigFile: DeserializeOwned {
    /// For a `[section]` of this file, the function that checks its keys one by one, i.e.
    /// `Some(check_table::<SectionType>)`; `None` for a plain key.
    fn section_checker(name: &str) -> Option<TableChecker>;

    /// Checks that span keys or need more than a type: (dotted key, message) pairs.
    fn validate(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// Checks the keys of one `[section]` table; see [`check_table`].
pub type TableChecker = fn(&str, &DeTable<'_>, &LineIndex) -> Vec<(Option<String>, Problem)>;

/// Reads `explicit` (which must exist), else `default_path` when it exists, else the defaults.
/// Returns the config and the file it came from.
pub fn load<C: ConfigFile + Default>(
    explicit: Option<&Path>,
    default_path: &Path,
) -> Result<(C, Option<PathBuf>), ConfigError> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None if default_path.exists() => default_path.to_path_buf(),
        None => return Ok((C::default(), None)),
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let config = parse(&text).map_err(|problems| ConfigError::Invalid {
        path: path.clone(),
        problems,
    })?;
    Ok((config, Some(path)))
}

/// Parses and validates TOML text, returning every problem found.
pub fn parse<C: ConfigFile>(text: &str) -> Result<C, Vec<Problem>> {
    let lines = LineIndex::new(text);
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        // After a syntax error the recovered structure is a guess (a broken `[section` header
        // moves its keys to the top level), so key problems found in it would mislead.
        return Err(syntax_errors
            .iter()
            .map(|error| Problem {
                key: String::new(),
                line: error.span().map(|span| lines.line_of(span.start)),
                message: error.message().trim().to_string(),
            })
            .collect());
    }
    let mut problems = Vec::new();
    let mut document = document.into_inner();

    // Each key is checked on its own, so one bad value does not hide the next; bad keys are then
    // dropped so the rest can still be typed and checked across keys.
    let mut rejected: Vec<(String, Option<String>)> = Vec::new();
    for (key, value) in document.iter() {
        let name = key.get_ref().to_string();
        let nested = match value.get_ref() {
            DeValue::Table(table) => Some(table),
            _ => None,
        };
        let section_problems = match nested.zip(C::section_checker(&name)) {
            Some((table, check)) => check(&name, table, &lines),
            None => check_entry::<C>("", key, value, &lines)
                .into_iter()
                .map(|problem| (None, problem))
                .collect(),
        };
        for (inner_key, problem) in section_problems {
            rejected.push((name.clone(), inner_key));
            problems.push(problem);
        }
    }
    for (key, inner_key) in rejected {
        match inner_key {
            None => {
                document.remove(key.as_str());
            }
            Some(inner_key) => {
                if let Some(DeValue::Table(table)) =
                    document.get_mut(key.as_str()).map(|v| v.get_mut())
                {
                    table.remove(inner_key.as_str());
                }
            }
        }
    }

    let config = match C::deserialize(toml::de::Deserializer::from(Spanned::new(
        0..text.len(),
        document,
    ))) {
        Ok(config) => config,
        Err(error) => {
            problems.push(Problem {
                key: String::new(),
                line: None,
                message: error.message().trim().to_string(),
            });
            return Err(problems);
        }
    };
    problems.extend(config.validate().into_iter().map(|(key, message)| Problem {
        line: lines.line_of_key(text, &key),
        key,
        message,
    }));
    if problems.is_empty() {
        Ok(config)
    } else {
        problems.sort_by_key(|problem| problem.line.unwrap_or(usize::MAX));
        Err(problems)
    }
}

/// Checks each key of a `[section]` table on its own; returns the bad keys with their problems.
pub fn check_table<T: DeserializeOwned>(
    section: &str,
    table: &DeTable<'_>,
    lines: &LineIndex,
) -> Vec<(Option<String>, Problem)> {
    table
        .iter()
        .filter_map(|(key, value)| {
            check_entry::<T>(section, key, value, lines)
                .map(|problem| (Some(key.get_ref().to_string()), problem))
        })
        .collect()
}

/// Deserializes `T` from a table holding only `key = value`; every field of `T` has a default,
/// so any error is about this key.
fn check_entry<T: DeserializeOwned>(
    section: &str,
    key: &Spanned<std::borrow::Cow<'_, str>>,
    value: &Spanned<DeValue<'_>>,
    lines: &LineIndex,
) -> Option<Problem> {
    let mut single = DeTable::new();
    single.insert(key.clone(), value.clone());
    let span = key.span().start..value.span().end;
    let error = T::deserialize(toml::de::Deserializer::from(Spanned::new(
        span.clone(),
        single,
    )))
    .err()?;
    let path = if section.is_empty() {
        key.get_ref().to_string()
    } else {
        format!("{section}.{}", key.get_ref())
    };
    Some(Problem {
        key: path,
        line: Some(lines.line_of(error.span().unwrap_or(span).start)),
        message: error.message().trim().to_string(),
    })
}

/// Maps byte offsets to 1-based line numbers.
#[derive(Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { starts }
    }

    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }

    /// The line where a dotted key is set, for problems found after typing (no spans left).
    fn line_of_key(&self, text: &str, dotted: &str) -> Option<usize> {
        let (section, key) = dotted
            .rsplit_once('.')
            .map_or((None, dotted), |(s, k)| (Some(s), k));
        let mut in_section = section.is_none();
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let trimmed = line.trim();
            if let Some(header) = trimmed.strip_prefix('[') {
                in_section = section.is_some_and(|s| header.trim_end_matches(']').trim() == s);
            } else if in_section && trimmed.split('=').next().map(str::trim) == Some(key) {
                return Some(self.line_of(offset));
            }
            offset += line.len();
        }
        None
    }
}
