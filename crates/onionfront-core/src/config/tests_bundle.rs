//! `key:` naming a key bundle (offline keys): loaded by content like the other formats, and a
//! bundle that has ended refused at the `key:` line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime};

use super::*;
use crate::keys::{KeyBundle, ServiceKey};

const DAY: Duration = Duration::from_secs(86_400);

#[test]
fn key_may_name_a_bundle_and_an_ended_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = ServiceKey::from_seed(&[21; 32]);
    let backend = ServiceKey::from_seed(&[22; 32]).address();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let bundle = KeyBundle::provision(&key, now, now + 3 * DAY, 1440, 12 * 3600).unwrap();
    bundle.write_new(&d.join("main.bundle")).unwrap();
    let text =
        format!("services:\n  - key: main.bundle\n    instances: [{{address: {backend}}}]\n");
    let path = d.join("config.yaml");
    let loaded = parse_with_keys_at(&text, &path, now).unwrap();
    assert_eq!(loaded.keys[0].address(), key.address());
    assert!(loaded.keys[0].bundle().is_some());
    assert_eq!(loaded.keys[0].format(), None);
    let keys = loaded.keys[0].signing_keys();
    assert!(!keys.is_identity());
    assert_eq!(keys.coverage_end(), Some(bundle.coverage_end()));

    // A week later the bundle has ended: refused where `key:` names it.
    let later = now + 7 * DAY;
    let e = parse_with_keys_at(&text, &path, later)
        .unwrap_err()
        .to_string();
    let end = humantime::format_rfc3339_seconds(bundle.coverage_end());
    assert_eq!(
        e,
        format!(
            "{}:2:10: services[0].key: key bundle {} ended at {end}: it covers no \
             current or future time period; provision a new one (docs/offline-keys.md)",
            path.display(),
            d.join("main.bundle").display()
        )
    );
}
