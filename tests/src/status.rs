//! Reading onionfront's status JSON (what its status socket serves, see
//! `crates/onionfront-publish/src/status.rs`) into small plain views for assertions, and a
//! one-line summary for progress output.
//!
//! Parsed from `serde_json::Value` by field name (camelCase, Onionbalance's names kept), so a field
//! the daemon does not send reads as empty/zero rather than failing the parse.

use serde_json::Value;

/// One HSDir upload of a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HsDirView {
    /// `$FINGERPRINT` (RSA identity, hex).
    pub hsdir: String,
    /// Which descriptor (distinct-descriptors mode).
    pub descriptor: u64,
    /// `accepted`, `pending`, `retrying` or `failed`.
    pub state: String,
    /// Attempts for the current descriptor.
    pub attempts: u64,
    /// Last error, if any.
    pub last_error: Option<String>,
}

/// One time period of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodView {
    /// Time period number.
    pub time_period: u64,
    /// Revision counter of the latest descriptor built.
    pub revision_counter: Option<u64>,
    /// Intro points across its descriptors.
    pub intro_points: u64,
    /// Distinct descriptors built.
    pub descriptors: u64,
    /// When last built (RFC 3339).
    pub last_built: Option<String>,
    /// Why last built.
    pub last_reason: Option<String>,
    /// HSDirs that accepted the latest upload.
    pub accepted: u64,
    /// Responsible HSDirs.
    pub total: u64,
    /// Per HSDir.
    pub hsdirs: Vec<HsDirView>,
}

/// One backend of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceView {
    /// Its address.
    pub address: String,
    /// Its `name:`.
    pub name: String,
    /// `live`, `stale`, `down`, `expired` or `unknown`.
    pub health: String,
    /// Why.
    pub reason: String,
    /// Its intro points in the published descriptors.
    pub intro_points_published: u64,
}

/// One service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceView {
    /// Its public address.
    pub address: String,
    /// `published`, `publishing`, `not-published` or `no-live-backend`.
    pub state: String,
    /// Backends whose intro points may be published.
    pub live_backends: u64,
    /// Time periods, oldest first.
    pub periods: Vec<PeriodView>,
    /// Backends.
    pub instances: Vec<InstanceView>,
}

impl ServiceView {
    /// The backend named `name`.
    pub fn instance(&self, name: &str) -> Option<&InstanceView> {
        self.instances.iter().find(|i| i.name == name)
    }

    /// The period numbered `tp`.
    pub fn period(&self, tp: u64) -> Option<&PeriodView> {
        self.periods.iter().find(|p| p.time_period == tp)
    }

    /// `published`, at least one period, and every period accepted by all its HSDirs.
    pub fn fully_accepted(&self) -> bool {
        self.state == "published"
            && !self.periods.is_empty()
            && self
                .periods
                .iter()
                .all(|p| p.total > 0 && p.accepted == p.total)
    }

    /// Every period built with intro points, and every listed backend live with intro points
    /// published, for `names`.
    pub fn publishes(&self, names: &[&str]) -> bool {
        self.state == "published"
            && !self.periods.is_empty()
            && self.periods.iter().all(|p| p.intro_points > 0)
            && names.iter().all(|n| {
                self.instance(n)
                    .is_some_and(|i| i.health == "live" && i.intro_points_published > 0)
            })
    }
}

fn s(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn opt_s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_owned)
}

fn u(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
}

fn arr<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k)
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

fn strip(a: &str) -> &str {
    a.trim_end_matches(".onion")
}

/// The services' raw JSON objects.
pub fn services(status: &Value) -> &[Value] {
    arr(status, "services")
}

/// A parsed service view.
pub fn parse_service(svc: &Value) -> ServiceView {
    ServiceView {
        address: s(svc, "onionAddress"),
        state: s(svc, "state"),
        live_backends: u(svc, "liveBackends"),
        periods: arr(svc, "periods")
            .iter()
            .map(|p| PeriodView {
                time_period: u(p, "timePeriod"),
                revision_counter: p.get("revisionCounter").and_then(Value::as_u64),
                intro_points: u(p, "introPoints"),
                descriptors: u(p, "descriptors"),
                last_built: opt_s(p, "lastBuilt"),
                last_reason: opt_s(p, "lastReason"),
                accepted: u(p, "accepted"),
                total: u(p, "total"),
                hsdirs: arr(p, "hsdirs")
                    .iter()
                    .map(|h| HsDirView {
                        hsdir: s(h, "hsdir"),
                        descriptor: u(h, "descriptor"),
                        state: s(h, "state"),
                        attempts: u(h, "attempts"),
                        last_error: opt_s(h, "lastError"),
                    })
                    .collect(),
            })
            .collect(),
        instances: arr(svc, "instances")
            .iter()
            .map(|i| InstanceView {
                address: s(i, "onionAddress"),
                name: s(i, "name"),
                health: s(i, "health"),
                reason: s(i, "reason"),
                intro_points_published: u(i, "introPointsPublished"),
            })
            .collect(),
    }
}

/// The service with this address (with or without `.onion`).
pub fn service(status: &Value, address: &str) -> Option<ServiceView> {
    services(status)
        .iter()
        .find(|v| strip(&s(v, "onionAddress")) == strip(address))
        .map(parse_service)
}

/// `counters.hsdirFailures`: failed upload attempts per HSDir (`$FINGERPRINT`).
pub fn hsdir_failures(status: &Value) -> Vec<(String, u64)> {
    status
        .get("counters")
        .and_then(|c| c.get("hsdirFailures"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether an HSDir id from the status (`$HEX`, maybe `$HEX~nick` or `$HEX=nick`) is the relay
/// with this RSA fingerprint (hex, any case, spaces ignored).
pub fn hsdir_is(hsdir: &str, fingerprint: &str) -> bool {
    let want: String = fingerprint
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    let got = hsdir.trim_start_matches('$');
    let got = got.split(['~', '=']).next().unwrap_or_default();
    !want.is_empty() && got.to_uppercase() == want
}

/// One line per service: state, live backends, each period (number, revision counter, intro
/// points/descriptors, accepted/total) and each backend (health, intro points published).
pub fn summary(status: &Value) -> String {
    let mut out = Vec::new();
    for v in services(status) {
        let svc = parse_service(v);
        let periods: Vec<String> = svc
            .periods
            .iter()
            .map(|p| {
                let bad: Vec<String> = p
                    .hsdirs
                    .iter()
                    .filter(|h| h.state != "accepted")
                    .map(|h| {
                        format!(
                            "{}:{}x{}",
                            h.hsdir.chars().take(9).collect::<String>(),
                            h.state,
                            h.attempts
                        )
                    })
                    .collect();
                format!(
                    "tp{} rev {} ips {}/{}d acc {}/{}{} built {}",
                    p.time_period,
                    p.revision_counter
                        .map_or_else(|| "-".into(), |r| r.to_string()),
                    p.intro_points,
                    p.descriptors,
                    p.accepted,
                    p.total,
                    if bad.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", bad.join(" "))
                    },
                    p.last_built.as_deref().unwrap_or("-"),
                )
            })
            .collect();
        let inst: Vec<String> = svc
            .instances
            .iter()
            .map(|i| format!("{}={}/{}", i.name, i.health, i.intro_points_published))
            .collect();
        out.push(format!(
            "{}…: {} live {} | {} | {}",
            svc.address.chars().take(8).collect::<String>(),
            svc.state,
            svc.live_backends,
            periods.join("; "),
            inst.join(" ")
        ));
    }
    if out.is_empty() {
        "no services".into()
    } else {
        out.join(" || ")
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_status() {
        let v: Value = serde_json::from_str(
            r#"{"services":[{"onionAddress":"abc.onion","state":"published","liveBackends":2,
            "periods":[{"timePeriod":7,"revisionCounter":12,"introPoints":4,"descriptors":1,
            "lastBuilt":"2026-01-01T00:00:00Z","accepted":7,"total":8,"hsdirs":[
            {"hsdir":"$AB12","descriptor":0,"state":"retrying","attempts":3,"lastError":"x"}]}],
            "instances":[{"onionAddress":"b1.onion","name":"b1","health":"live","reason":"",
            "introPointsPublished":2}]}],"counters":{"hsdirFailures":{"$AB12":3}}}"#,
        )
        .expect("json");
        let svc = service(&v, "abc").expect("service");
        assert_eq!(svc.live_backends, 2);
        assert_eq!(svc.periods[0].revision_counter, Some(12));
        assert_eq!(svc.periods[0].hsdirs[0].attempts, 3);
        assert!(!svc.fully_accepted());
        assert!(svc.publishes(&["b1"]));
        assert!(!svc.publishes(&["b2"]));
        assert_eq!(hsdir_failures(&v), vec![("$AB12".to_owned(), 3)]);
        assert!(hsdir_is("$ab12~relay0", "AB12"));
        assert!(summary(&v).contains("acc 7/8 [$AB12:retryingx3]"));
    }
}
