//! Errors of configuring and bootstrapping the embedded Arti client.
//!
//! Network operations (fetch, upload, probe) report [`onionfront_publish::NetError`] instead; this
//! type only covers what happens before the network is usable. `Display` includes the whole cause
//! chain (Arti's errors nest several levels deep), so one log line says everything.

use std::error::Error as StdError;
use std::fmt::Write as _;

/// Why the Arti client could not be configured or bootstrapped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtiError {
    /// A `tor-network:` authority is not a 40-character hex v3 identity.
    #[error("tor-network: authority {0:?} is not a 40-character hex v3 identity")]
    Authority(String),
    /// A `tor-network:` fallback has a malformed identity.
    #[error("tor-network: fallback {index}: {problem}")]
    Fallback {
        /// Position in the `fallbacks` list (0-based).
        index: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// A value does not fit the range Arti accepts.
    #[error("tor-network: {0}")]
    Value(String),
    /// Arti rejected the configuration we built.
    #[error("invalid Arti configuration: {}", chain(error))]
    Config {
        /// Arti's complaint.
        error: arti_client::config::ConfigBuildError,
    },
    /// No asynchronous runtime to run Arti on (bootstrap must run inside Tokio).
    #[error("no usable async runtime for Arti: {}", chain(error))]
    Runtime {
        /// The runtime error.
        error: std::io::Error,
    },
    /// Creating the Arti client failed (state or cache directory, permissions, ...).
    #[error("could not create the Arti client: {}", chain(error))]
    Create {
        /// Arti's error.
        error: arti_client::Error,
    },
    /// Bootstrapping to the Tor network failed.
    #[error("Arti could not bootstrap: {}", chain(error))]
    Bootstrap {
        /// Arti's error.
        error: arti_client::Error,
    },
    /// An internal Arti component (directory manager, circuit pool) was not available.
    #[error("Arti component {component} unavailable: {}", chain(error))]
    Component {
        /// Which one.
        component: &'static str,
        /// Arti's error.
        error: arti_client::Error,
    },
}

/// `error` followed by each of its sources, `": "`-separated (skipping sources whose text is
/// already contained in the previous one, as some Arti errors repeat their cause).
pub(crate) fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut out = error.to_string();
    let mut prev = out.clone();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !prev.contains(&text) {
            let _ = write!(out, ": {text}");
        }
        prev = text;
        source = cause.source();
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner;

    #[test]
    fn chain_lists_causes() {
        assert_eq!(chain(&Outer(Inner)), "outer: inner");
    }

    #[test]
    fn display_contains_cause() {
        let e = ArtiError::Runtime {
            error: std::io::Error::other("no reactor"),
        };
        assert_eq!(
            e.to_string(),
            "no usable async runtime for Arti: no reactor"
        );
    }
}
