//! [`ConfigError`]: every problem found in a config file, each as a [`Diagnostic`] that names the
//! file, the line and column, and the field path, e.g.
//! `config.yaml:7:18: services[0].instances[1].address: checksum mismatch: ...`.

use std::fmt;
use std::path::PathBuf;

use crate::address::AddressError;
use crate::keys::KeyError;

/// A place in the file (1-based).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column (in characters), from 1.
    pub column: usize,
}

/// What is wrong (the part of a [`Diagnostic`] after the field path).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The file cannot be read.
    #[error("cannot read the config file: {0}")]
    Read(#[source] std::io::Error),
    /// Not YAML.
    #[error("YAML syntax error: {0}")]
    Syntax(String),
    /// A key onionfront does not know (Onionbalance ignores these; we do not).
    #[error("unknown key `{key}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The closest known key, if one is close.
        suggestion: Option<String>,
    },
    /// The same key twice in one mapping.
    #[error("duplicate key `{key}` (first given on line {first_line})")]
    DuplicateKey {
        /// The key.
        key: String,
        /// Where it was first given.
        first_line: usize,
    },
    /// A value of the wrong YAML type.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What was expected, in words.
        expected: &'static str,
        /// What was found, in words.
        found: &'static str,
    },
    /// A required key is missing.
    #[error("missing required key `{0}`")]
    Missing(&'static str),
    /// An invalid onion address.
    #[error("{0}")]
    Address(#[source] AddressError),
    /// An instance address still holds the placeholder `onionfront init` (or
    /// `onionbalance-config`) wrote.
    #[error(
        "placeholder {0:?} not replaced: put the backend's onion address here (the hostname \
         file in its tor's HiddenServiceDir)"
    )]
    Placeholder(String),
    /// The same backend twice in one service.
    #[error("duplicate instance {address} (already listed on line {first_line})")]
    DuplicateInstance {
        /// The address.
        address: String,
        /// Where it was first listed.
        first_line: usize,
    },
    /// A service has no backends.
    #[error(
        "the instance list is empty: list at least one backend as `- address: <backend>.onion`"
    )]
    NoInstances,
    /// A service lists its own address as a backend.
    #[error("{0} is this service's own address; a service cannot be its own backend")]
    OwnAddress(String),
    /// Two services have the same key.
    #[error(
        "same key (and address {address}) as services[{other}]; each service needs its own key"
    )]
    DuplicateService {
        /// The address.
        address: String,
        /// The index of the other service.
        other: usize,
    },
    /// A key file cannot be used.
    #[error("{0}")]
    Key(#[source] KeyError),
    /// Any other invalid value (ranges, formats), explained.
    #[error("{0}")]
    Invalid(String),
}

/// One problem, located.
#[derive(Debug)]
pub struct Diagnostic {
    /// The config file, as given.
    pub file: PathBuf,
    /// Where in it, when known.
    pub position: Option<Position>,
    /// The field path, e.g. `services[0].instances[1].address`; empty for the whole file.
    pub field: String,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(p) = self.position {
            write!(f, ":{}:{}", p.line, p.column)?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// A config file that cannot be used: one or more [`Diagnostic`]s, in file order. `Display`
/// prints one per line.
#[derive(Debug)]
pub struct ConfigError {
    diagnostics: Vec<Diagnostic>,
}

impl ConfigError {
    /// From diagnostics (sorted by position; at least one expected).
    pub(crate) fn new(mut diagnostics: Vec<Diagnostic>) -> ConfigError {
        diagnostics.sort_by_key(|d| d.position);
        ConfigError { diagnostics }
    }

    /// All the problems found.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The first problem (in file order).
    pub fn first(&self) -> Option<&Diagnostic> {
        self.diagnostics.first()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}
