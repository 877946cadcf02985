//! Reading onionfront's status JSON (what its status socket serves, see
//! `crates/onionfront-publish/src/status.rs`) into small plain views for assertions, and a
//! one-line summary for progress output.
//!
//! Parsed from `serde_json::Value` by field name (camelCase, Onionbalance's names kept). Every
//! field a view reads must be in the document (a `null` is fine where the daemon writes one): a
//! missing field fails the parse ([`parse_service`]) and so the test ([`service`] panics with the
//! field's name), instead of reading as empty or zero and letting an assertion pass on nothing.
//! Only `name` may be absent (the daemon leaves it out for a backend without a `name:`).

use anyhow::{Context as _, Result, anyhow};
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
    /// Revision counter of the descriptor it accepted, if it accepted one.
    pub revision: Option<u64>,
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

    /// `published`, every period built with intro points, and every backend in `names` live.
    ///
    /// Whether a backend is really published is checked elsewhere, by decoding what the HSDirs
    /// serve and by reaching it through a client.
    pub fn publishes(&self, names: &[&str]) -> bool {
        self.state == "published"
            && !self.periods.is_empty()
            && self.periods.iter().all(|p| p.intro_points > 0)
            && names
                .iter()
                .all(|n| self.instance(n).is_some_and(|i| i.health == "live"))
    }
}

/// Field `k` of `v`, which must be there.
fn field<'a>(v: &'a Value, k: &str) -> Result<&'a Value> {
    v.get(k)
        .ok_or_else(|| anyhow!("field {k:?} is missing in {}", brief(v)))
}

/// The start of a JSON value, for error messages.
fn brief(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// A string field.
fn s(v: &Value, k: &str) -> Result<String> {
    field(v, k)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("field {k:?} is not a string in {}", brief(v)))
}

/// A string field that may be `null`.
fn opt_s(v: &Value, k: &str) -> Result<Option<String>> {
    match field(v, k)? {
        Value::Null => Ok(None),
        x => x
            .as_str()
            .map(|t| Some(t.to_owned()))
            .ok_or_else(|| anyhow!("field {k:?} is neither a string nor null in {}", brief(v))),
    }
}

/// A number field.
fn u(v: &Value, k: &str) -> Result<u64> {
    field(v, k)?
        .as_u64()
        .ok_or_else(|| anyhow!("field {k:?} is not a number in {}", brief(v)))
}

/// A number field that may be `null`.
fn opt_u(v: &Value, k: &str) -> Result<Option<u64>> {
    match field(v, k)? {
        Value::Null => Ok(None),
        x => x
            .as_u64()
            .map(Some)
            .ok_or_else(|| anyhow!("field {k:?} is neither a number nor null in {}", brief(v))),
    }
}

/// An array field.
fn arr<'a>(v: &'a Value, k: &str) -> Result<&'a [Value]> {
    field(v, k)?
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| anyhow!("field {k:?} is not an array in {}", brief(v)))
}

fn strip(a: &str) -> &str {
    a.trim_end_matches(".onion")
}

/// Unix seconds of an RFC 3339 UTC time as the status writes it (`2026-11-22T02:35:17Z`,
/// fractions ignored).
pub fn parse_rfc3339(t: &str) -> Option<u64> {
    let t = t.trim().trim_end_matches('Z');
    let (date, time) = t.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.split('.').next()?;
    let mut tm = time.split(':').map(|x| x.parse::<i64>().ok());
    let (hh, mm, ss) = (tm.next()??, tm.next()??, tm.next()??);
    // Days from civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

/// Whether `rev`, the revision counter of a descriptor fetched from an HSDir at unix time `now`,
/// is one the service in `view` built: a period's `revisionCounter`, one an HSDir of the period
/// accepted (`hsdirs[].revision`: after retries, which rebuild with higher counters, HSDirs hold
/// different ones), or, for a period whose uploads were retried, a counter above it by at most what C tor's order-preserving encoding adds per second since
/// the build (less than 2^16 per second).
pub fn built_revision(view: &ServiceView, rev: u64, now: u64) -> bool {
    view.periods.iter().any(|p| {
        let Some(r) = p.revision_counter else {
            return false;
        };
        // What an HSDir says it accepted (the status's `revisionCounter` is the highest of those).
        if r == rev || p.hsdirs.iter().any(|h| h.revision == Some(rev)) {
            return true;
        }
        let retried = p.hsdirs.iter().any(|h| h.attempts > 1);
        let built = p.last_built.as_deref().and_then(parse_rfc3339);
        match (retried, built) {
            (true, Some(t)) => rev > r && rev - r <= 65_536 * (now.saturating_sub(t) + 5),
            _ => false,
        }
    })
}

/// The services' raw JSON objects (none when the document has no `services` array).
pub fn services(status: &Value) -> &[Value] {
    arr(status, "services").unwrap_or_default()
}

/// One HSDir upload.
fn parse_hsdir(h: &Value) -> Result<HsDirView> {
    Ok(HsDirView {
        hsdir: s(h, "hsdir")?,
        descriptor: u(h, "descriptor")?,
        state: s(h, "state")?,
        attempts: u(h, "attempts")?,
        last_error: opt_s(h, "lastError")?,
        revision: opt_u(h, "revision")?,
    })
}

/// One period.
fn parse_period(p: &Value) -> Result<PeriodView> {
    Ok(PeriodView {
        time_period: u(p, "timePeriod")?,
        revision_counter: opt_u(p, "revisionCounter")?,
        intro_points: u(p, "introPoints")?,
        descriptors: u(p, "descriptors")?,
        last_built: opt_s(p, "lastBuilt")?,
        last_reason: opt_s(p, "lastReason")?,
        accepted: u(p, "accepted")?,
        total: u(p, "total")?,
        hsdirs: arr(p, "hsdirs")?
            .iter()
            .map(parse_hsdir)
            .collect::<Result<_>>()?,
    })
}

/// One backend.
fn parse_instance(i: &Value) -> Result<InstanceView> {
    Ok(InstanceView {
        address: s(i, "onionAddress")?,
        // Left out by the daemon for a backend without a `name:`.
        name: i
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        health: s(i, "health")?,
        reason: s(i, "reason")?,
        intro_points_published: u(i, "introPointsPublished")?,
    })
}

/// A parsed service view; an error names the first field missing or of the wrong type.
pub fn parse_service(svc: &Value) -> Result<ServiceView> {
    let address = s(svc, "onionAddress")?;
    let view = || -> Result<ServiceView> {
        Ok(ServiceView {
            address: address.clone(),
            state: s(svc, "state")?,
            live_backends: u(svc, "liveBackends")?,
            periods: arr(svc, "periods")?
                .iter()
                .map(parse_period)
                .collect::<Result<_>>()?,
            instances: arr(svc, "instances")?
                .iter()
                .map(parse_instance)
                .collect::<Result<_>>()?,
        })
    };
    view().with_context(|| format!("status of service {address}"))
}

/// The service with this address (with or without `.onion`); `None` when the status does not
/// list it yet.
///
/// # Panics
/// When its entry lacks a field the views read (the daemon's status format changed): the test
/// fails there, naming the field, rather than reading the field as empty or zero.
pub fn service(status: &Value, address: &str) -> Option<ServiceView> {
    let entry = services(status).iter().find(|v| {
        v.get("onionAddress")
            .and_then(Value::as_str)
            .is_some_and(|a| strip(a) == strip(address))
    })?;
    match parse_service(entry) {
        Ok(view) => Some(view),
        Err(e) => panic!("unreadable status document: {e:#}"),
    }
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
        let svc = match parse_service(v) {
            Ok(svc) => svc,
            Err(e) => {
                out.push(format!("unreadable: {e:#}"));
                continue;
            }
        };
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
            "lastBuilt":"2026-01-01T00:00:00Z","lastReason":null,"accepted":7,"total":8,"hsdirs":[
            {"hsdir":"$AB12","descriptor":0,"state":"retrying","attempts":3,"lastError":"x",
            "revision":null}]}],
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
        assert_eq!(
            svc.instance("b1").map(|i| i.intro_points_published),
            Some(2)
        );
        assert!(!svc.publishes(&["b2"]));
        assert_eq!(hsdir_failures(&v), vec![("$AB12".to_owned(), 3)]);
        assert!(hsdir_is("$ab12~relay0", "AB12"));
        assert!(summary(&v).contains("acc 7/8 [$AB12:retryingx3]"));
        let t = parse_rfc3339("2026-01-01T00:00:00Z").expect("time");
        assert_eq!(t, 1_767_225_600);
        assert_eq!(parse_rfc3339("1970-01-02T01:01:01.5Z"), Some(90_061));
        assert!(built_revision(&svc, 12, t));
        assert!(built_revision(&svc, 13, t + 1));
        assert!(!built_revision(&svc, 12 + 65_536 * 7, t + 1));
        assert!(!built_revision(&svc, 11, t + 1));
        // A lower counter an HSDir accepted before the retries raised the period's counter.
        let mut retried = svc.clone();
        retried.periods[0].hsdirs[0].revision = Some(9);
        assert!(built_revision(&retried, 9, t + 1));
    }

    #[test]
    fn a_missing_field_fails_the_parse() {
        let mut v: Value = serde_json::from_str(
            r#"{"onionAddress":"abc.onion","state":"published","liveBackends":1,
            "periods":[{"timePeriod":7,"revisionCounter":null,"introPoints":0,"descriptors":0,
            "lastBuilt":null,"lastReason":null,"accepted":0,"total":0,"hsdirs":[]}],
            "instances":[{"onionAddress":"b1.onion","health":"live","reason":"",
            "introPointsPublished":0}]}"#,
        )
        .expect("json");
        let svc = parse_service(&v).expect("complete (a backend without a name is fine)");
        assert_eq!(svc.instances[0].name, "");
        assert_eq!(svc.periods[0].revision_counter, None);
        for (path, field) in [
            ("", "liveBackends"),
            ("/periods/0", "accepted"),
            ("/periods/0", "revisionCounter"),
            ("/instances/0", "health"),
        ] {
            let mut broken = v.clone();
            broken
                .pointer_mut(path)
                .and_then(Value::as_object_mut)
                .expect("object")
                .remove(field);
            let err = parse_service(&broken).expect_err(field);
            assert!(format!("{err:#}").contains(field), "{err:#}");
        }
        v["liveBackends"] = Value::from("two");
        assert!(parse_service(&v).is_err());
        let status = serde_json::json!({ "services": [v] });
        let panicked = std::panic::catch_unwind(|| service(&status, "abc"));
        assert!(panicked.is_err(), "service() fails on an unreadable entry");
    }
}
