//! onionfront-publish: the scheduler between the Tor network and the descriptor engine.
//!
//! It owns *when* things happen: fetch rounds, liveness and health checks, republish triggers,
//! uploads with per-HSDir confirmation and retries, and the status that reports all of it. What
//! is published is decided by `onionfront-core`; how bytes move is [`network::Network`].
//!
//! Modules, in the order data flows: [`spec`] (what to run) → `fetch` (backend descriptors) →
//! `backends` (liveness, health) → `services` (publish rules) → `upload` (per-HSDir, retried) →
//! [`status`] (what operators see). [`scheduler`] ties them together.

mod backends;
pub mod backoff;
mod fetch;
pub mod network;
pub mod scheduler;
mod services;
pub mod spec;
pub mod status;
mod status_build;
mod upload;

#[cfg(any(test, feature = "testing"))]
pub mod fake;

pub use network::{Directory, HsDirId, NetError, Network};
pub use scheduler::{Pinger, ReloadSummary, SchedulerGone, SchedulerHandle, spawn};
pub use spec::{BackendSpec, SchedulerSpec, ServiceSpec};
pub use status::StatusReport;
