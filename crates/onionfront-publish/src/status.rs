//! The status report: what the status socket serves and `onionfront status` shows.
//!
//! The JSON keeps Onionbalance's field names (`services[].onionAddress`,
//! `instances[].descriptorReceived`, `publishAttemptFirstDescriptor`, ...) so existing scripts
//! keep working, and adds onionfront's own (health and reason per backend, per time period the
//! revision counter, intro points published and the result of every HSDir upload).

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// The whole report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// One entry per public service.
    pub services: Vec<ServiceStatus>,
    /// About the daemon itself (filled by the binary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon: Option<DaemonStatus>,
    /// Cumulative counters since start (for metrics).
    #[serde(default)]
    pub counters: Counters,
}

/// Cumulative counters since the daemon started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    /// Backend fetches that returned a valid descriptor.
    pub fetch_ok: u64,
    /// Backend fetches where every HSDir failed.
    pub fetch_failed: u64,
    /// Uploads accepted by an HSDir.
    pub upload_accepted: u64,
    /// Upload attempts that failed.
    pub upload_failed: u64,
    /// Failed upload attempts per HSDir (`$FINGERPRINT`).
    pub hsdir_failures: std::collections::BTreeMap<String, u64>,
    /// Main descriptor publications (builds) started.
    pub publications: u64,
}

/// About the daemon: version, bootstrap, consensus.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonStatus {
    /// onionfront's version.
    pub version: String,
    /// When it started (UTC, RFC 3339).
    pub started: Option<String>,
    /// Bootstrap state of the embedded Arti client.
    pub bootstrap: String,
    /// `valid-after` of the consensus in use.
    pub consensus_valid_after: Option<String>,
    /// Config file in use.
    pub config: Option<String>,
    /// When the config was last (re)loaded.
    pub config_loaded: Option<String>,
    /// The daemon's process ID (what `onionfront reload` signals).
    #[serde(default)]
    pub pid: Option<u32>,
    /// SIGHUP reloads handled since start, applied or refused.
    #[serde(default)]
    pub reloads: u64,
    /// Why the last reload was refused; `None` when it was applied (or there was none).
    #[serde(default)]
    pub last_reload_error: Option<String>,
}

/// One public service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    /// Onionbalance: the public address.
    pub onion_address: String,
    /// Onionbalance: time of the last upload attempt of the earlier period's descriptor.
    pub publish_attempt_first_descriptor: Option<String>,
    /// Onionbalance: time of the last upload attempt of the later period's descriptor.
    pub publish_attempt_second_descriptor: Option<String>,
    /// Onionbalance: the backends.
    pub instances: Vec<InstanceStatus>,
    /// Where its publication stands.
    pub state: PublishState,
    /// A sentence for operators on the state.
    pub message: String,
    /// Backends whose intro points may be published.
    pub live_backends: usize,
    /// One entry per time period published for.
    pub periods: Vec<PeriodStatus>,
    /// What signs its descriptors: its identity key or a key bundle (offline keys).
    #[serde(default)]
    pub key_source: KeySource,
    /// With a key bundle: when the last period it holds a key for ends (UTC, RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_coverage_end: Option<String>,
    /// How far the keys reach (`status` exits WARNING on `ending`, CRITICAL on `not-covered`).
    #[serde(default)]
    pub key_coverage: KeyCoverage,
}

/// One backend (Onionbalance "instance").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceStatus {
    /// Onionbalance: its address.
    pub onion_address: String,
    /// Onionbalance: when its intro point set last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intro_set_modified: Option<String>,
    /// Onionbalance: intro points in its descriptor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intro_points_num: Option<usize>,
    /// Onionbalance: when a descriptor was last received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptor_received: Option<String>,
    /// Onionbalance shows `"received": null` for a backend without a descriptor.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "serde_with_null"
    )]
    pub received: Option<Option<String>>,
    /// Its `name:` from the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether its intro points may be published.
    pub health: BackendHealth,
    /// Why it has that health.
    pub reason: String,
    /// Revision counter of its latest descriptor.
    pub revision_counter: Option<u64>,
    /// When its revision counter last advanced.
    pub revision_advanced: Option<String>,
    /// Last fetch attempt: time and outcome.
    pub last_fetch: Option<String>,
    /// Outcome of the last fetch (`ok`, or the error).
    pub last_fetch_result: Option<String>,
    /// Active health check, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckStatus>,
    /// Its intro points in the published descriptor(s), summed over periods' first descriptor.
    pub intro_points_published: usize,
}

/// The active health check of one backend.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckStatus {
    /// Virtual port probed.
    pub port: u16,
    /// Consecutive failures so far.
    pub consecutive_failures: u32,
    /// Whether the check has marked it down.
    pub down: bool,
    /// Last probe time.
    pub last_probe: Option<String>,
    /// Last probe error, if it failed.
    pub last_error: Option<String>,
}

/// One time period of one service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodStatus {
    /// Time period number.
    pub time_period: u64,
    /// Period start (UTC).
    pub period_start: Option<String>,
    /// Revision counter of the latest descriptor built.
    pub revision_counter: Option<u64>,
    /// Intro points across its descriptor(s).
    pub intro_points: usize,
    /// Distinct descriptors built (1 unless distinct-descriptors mode is in use).
    pub descriptors: usize,
    /// When the descriptor(s) were last built.
    pub last_built: Option<String>,
    /// Why they were (re)built.
    pub last_reason: Option<String>,
    /// Responsible HSDirs that accepted the latest upload.
    pub accepted: usize,
    /// Responsible HSDirs.
    pub total: usize,
    /// Per HSDir.
    pub hsdirs: Vec<HsDirStatus>,
    /// The service's keys do not cover this period: nothing is published for it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_key: bool,
}

/// The upload to one HSDir.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HsDirStatus {
    /// `$FINGERPRINT`.
    pub hsdir: String,
    /// Which descriptor (distinct-descriptors mode).
    pub descriptor: usize,
    /// Where the upload stands.
    pub state: UploadState,
    /// Attempts for the current descriptor.
    pub attempts: u32,
    /// Last attempt time.
    pub last_attempt: Option<String>,
    /// Last accepted time.
    pub last_accepted: Option<String>,
    /// Revision counter of the descriptor it accepted.
    #[serde(default)]
    pub revision: Option<u64>,
    /// Last error.
    pub last_error: Option<String>,
}

impl StatusReport {
    /// Whether every service is published and has a live backend (the monitoring check).
    pub fn healthy(&self) -> bool {
        self.services
            .iter()
            .all(|s| s.state == PublishState::Published && s.live_backends > 0)
    }
}

/// Defines a status enum: serialized as (and displayed as) the given strings, which are part of
/// the status format that operators and scripts read.
macro_rules! status_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// The word the status document uses.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

status_enum! {
    /// Where a service's publication stands (`services[].state`).
    PublishState {
        /// Every period's descriptor was accepted by at least one HSDir.
        Published = "published",
        /// Uploads are under way; no HSDir has accepted yet.
        Publishing = "publishing",
        /// Nothing published yet (waiting for backend descriptors).
        #[default]
        NotPublished = "not-published",
        /// No backend is live (the last descriptor, if any, is kept on the HSDirs).
        NoLiveBackend = "no-live-backend",
    }
}

status_enum! {
    /// A backend's health (`instances[].health`).
    BackendHealth {
        /// Its intro points may be published.
        Live = "live",
        /// Its revision counter stopped advancing.
        Stale = "stale",
        /// Its health check failed `failures` times in a row.
        Down = "down",
        /// Its latest descriptor expired.
        Expired = "expired",
        /// No descriptor yet, or no health verdict yet.
        #[default]
        Unknown = "unknown",
    }
}

status_enum! {
    /// What signs a service's descriptors (`services[].keySource`).
    KeySource {
        /// Its identity secret key: every period is covered.
        #[default]
        Identity = "identity",
        /// A bundle of blinded keys provisioned offline, for a range of periods.
        Bundle = "bundle",
    }
}

status_enum! {
    /// How far a service's keys reach (`services[].keyCoverage`), as of the report.
    KeyCoverage {
        /// Every period the service publishes for is covered, with more than
        /// `publish.offline-keys-warn` left (always so with the identity key).
        #[default]
        Covered = "covered",
        /// Covered now, but less than `publish.offline-keys-warn` is left: provision a new bundle.
        Ending = "ending",
        /// The current time period is not covered: nothing is published for it.
        NotCovered = "not-covered",
    }
}

status_enum! {
    /// Where the upload to one HSDir stands (`periods[].hsdirs[].state`).
    UploadState {
        /// The HSDir accepted the current descriptor.
        Accepted = "accepted",
        /// No attempt has finished yet.
        #[default]
        Pending = "pending",
        /// The last attempt failed; another follows.
        Retrying = "retrying",
        /// The last attempt failed for good (the relay left the consensus).
        Failed = "failed",
    }
}

/// RFC 3339 UTC, seconds precision.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Onionbalance's naive UTC `YYYY-mm-dd HH:MM:SS`.
pub fn ob_time(t: SystemTime) -> String {
    let s = rfc3339(t);
    s.trim_end_matches('Z').replacen('T', " ", 1)
}

/// Serialize `Some(None)` as `null` (and skip `None` with `skip_serializing_if`).
mod serde_with_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer>(
        v: &Option<Option<String>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Ok(Some(Option::<String>::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onionbalance_field_names() {
        let report = StatusReport {
            services: vec![ServiceStatus {
                onion_address: "a.onion".into(),
                instances: vec![
                    InstanceStatus {
                        onion_address: "b.onion".into(),
                        received: Some(None),
                        ..Default::default()
                    },
                    InstanceStatus {
                        onion_address: "c.onion".into(),
                        intro_points_num: Some(3),
                        descriptor_received: Some("2026-11-22 00:00:00".into()),
                        intro_set_modified: Some("2026-11-22 00:00:00".into()),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        };
        let json = serde_json::to_value(&report).unwrap();
        let svc = &json["services"][0];
        assert_eq!(svc["onionAddress"], "a.onion");
        assert!(svc["publishAttemptFirstDescriptor"].is_null());
        assert!(svc.get("publishAttemptSecondDescriptor").is_some());
        assert!(svc["instances"][0]["received"].is_null());
        assert!(svc["instances"][0].get("received").is_some());
        assert!(svc["instances"][1].get("received").is_none());
        assert_eq!(svc["instances"][1]["introPointsNum"], 3);
        assert_eq!(
            svc["instances"][1]["descriptorReceived"],
            "2026-11-22 00:00:00"
        );
        let back: StatusReport = serde_json::from_value(json).unwrap();
        assert_eq!(back.services[0].instances[1].intro_points_num, Some(3));
    }

    #[test]
    fn states_keep_their_words() {
        let words = |v: serde_json::Value| v.as_str().map(str::to_owned);
        for (state, word) in [
            (PublishState::Published, "published"),
            (PublishState::Publishing, "publishing"),
            (PublishState::NotPublished, "not-published"),
            (PublishState::NoLiveBackend, "no-live-backend"),
        ] {
            assert_eq!(words(serde_json::to_value(state).unwrap()).unwrap(), word);
            assert_eq!(state.to_string(), word);
            let back: PublishState = serde_json::from_value(word.into()).unwrap();
            assert_eq!(back, state);
        }
        for (health, word) in [
            (BackendHealth::Live, "live"),
            (BackendHealth::Stale, "stale"),
            (BackendHealth::Down, "down"),
            (BackendHealth::Expired, "expired"),
            (BackendHealth::Unknown, "unknown"),
        ] {
            assert_eq!(words(serde_json::to_value(health).unwrap()).unwrap(), word);
            let back: BackendHealth = serde_json::from_value(word.into()).unwrap();
            assert_eq!(back, health);
        }
        for (state, word) in [
            (UploadState::Accepted, "accepted"),
            (UploadState::Pending, "pending"),
            (UploadState::Retrying, "retrying"),
            (UploadState::Failed, "failed"),
        ] {
            assert_eq!(words(serde_json::to_value(state).unwrap()).unwrap(), word);
            let back: UploadState = serde_json::from_value(word.into()).unwrap();
            assert_eq!(back, state);
        }
        assert_eq!(format!("{:<8}|", BackendHealth::Live), "live    |");
    }

    #[test]
    fn ob_time_format() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(86400 + 3661);
        assert_eq!(ob_time(t), "1970-01-02 01:01:01");
    }
}
