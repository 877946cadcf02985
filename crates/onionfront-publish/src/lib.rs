//! onionfront-publish: the scheduler between the Tor network and the descriptor engine.
//!
//! It owns *when* things happen: fetch rounds, liveness and health checks, the publication
//! rules, uploads with per-HSDir confirmation and retries, and the status that reports all of
//! it. What is published is decided by `onionfront-core`; how bytes move is
//! [`network::Network`] (Arti in production, the fake network of `fake/` in tests).
//!
//! Where each thing lives (private modules are named by file):
//! - [`handle`]: [`spawn`], [`SchedulerHandle`] (reload, status, shutdown), [`Pinger`];
//! - `reactor.rs`: the one task that owns the state, runs the network tasks and, after anything
//!   that may change the answer, runs a publication check;
//! - **`rules.rs`: every "when do we publish" rule**, as pure functions with the rules written
//!   in its module docs (service gate, per-period decision, timers, reload);
//! - `publication.rs`: one period's publication (select, ask the rules, build, assign to HSDirs)
//!   returning upload jobs; `upload.rs`: one HSDir's upload, retried with backoff until
//!   accepted ([`backoff`]);
//! - `state.rs`: everything the reactor knows, and which backends are live for a service;
//!   `reload.rs`: applying a spec at start and on reload;
//! - `fetch.rs` → `backends.rs`: fetching a backend's descriptor and what it changes;
//!   `history.rs`: the backends' revision history, saved in the state folder across restarts;
//!   `health.rs`: active health checks; `periods.rs`: per-period publication state;
//! - [`spec`]: what to run; [`status`]: what operators see (the JSON format), filled by
//!   `status_report.rs`.
//!
//! Imports go one way: `rules` and `spec` depend on nothing of the reactor; the tasks (`fetch`,
//! `upload`, `health::probe`) report through their own types; the reactor wraps them in its
//! events.

mod backends;
pub mod backoff;
mod fetch;
pub mod handle;
mod health;
mod history;
pub mod network;
mod periods;
mod publication;
mod reactor;
mod reload;
mod rules;
pub mod spec;
mod state;
pub mod status;
mod status_report;
mod upload;

#[cfg(any(test, feature = "testing"))]
pub mod fake;

pub use handle::{Pinger, SchedulerGone, SchedulerHandle, spawn, spawn_with_history};
pub use history::HISTORY_FILE_NAME;
pub use network::{Directory, HsDirId, NetError, Network};
pub use spec::{BackendSpec, ReloadSummary, SchedulerSpec, ServiceSpec};
pub use status::{BackendHealth, KeyCoverage, KeySource, PublishState, StatusReport, UploadState};
