//! Tests of the mistakes a newcomer makes in config.yaml: a misspelt log level (which `tracing`
//! alone would take as a target name) and a UTF-8 byte-order mark written by an editor.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use super::*;
use crate::keys::ServiceKey;

fn config_with_log_level(level: &str) -> String {
    format!(
        "services:\n  - key: main.key\n    instances:\n      - address: {}\nlog:\n  level: {level}\n",
        ServiceKey::from_seed(&[1; 32]).address()
    )
}

#[test]
fn a_misspelt_log_level_is_refused_with_a_suggestion() {
    let e = parse(&config_with_log_level("infoo"), Path::new("config.yaml"))
        .expect_err("infoo is not a level")
        .to_string();
    assert_eq!(
        e,
        "config.yaml:6:10: log.level: `infoo` is not a log level: use trace, debug, info, warn, \
         error or off (did you mean `info`?), or a tracing filter like `onionfront=debug,info`"
    );
    let e = log_filter("verbose").expect_err("not a level");
    assert!(!e.contains("did you mean"), "{e}");
    assert_eq!(log_filter("WARNING").unwrap(), "warn");
    assert_eq!(
        log_filter("onionfront=debug,info").unwrap(),
        "onionfront=debug,info"
    );
    assert_eq!(
        log_filter("onionfront_core=trace").unwrap(),
        "onionfront_core=trace"
    );
}

#[test]
fn a_byte_order_mark_is_ignored() {
    let text = format!("\u{feff}{}", config_with_log_level("debug"));
    let config = parse(&text, Path::new("/etc/of/config.yaml")).expect("BOM is skipped");
    assert_eq!(config.log.level, "debug");
    assert_eq!(config.services.len(), 1);
}

#[test]
fn arti_memory_max_takes_sizes_with_units() {
    let base = config_with_log_level("info");
    let c = parse(
        &format!("{base}arti:\n  memory-max: 1 GiB\n"),
        Path::new("/etc/of/config.yaml"),
    )
    .unwrap();
    assert_eq!(c.arti.memory_max, 1 << 30);
    assert_eq!(
        parse(&base, Path::new("/etc/of/config.yaml"))
            .unwrap()
            .arti
            .memory_max,
        model::DEFAULT_ARTI_MEMORY_MAX
    );
    let e = parse(
        &format!("{base}arti:\n  memory-max: lots\n"),
        Path::new("config.yaml"),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "config.yaml:8:15: arti.memory-max: expected a size like `256 MiB` or `1 GiB`, found `lots`"
    );
    let e = parse(
        &format!("{base}arti:\n  memory-max: 1 MiB\n"),
        Path::new("config.yaml"),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "config.yaml:8:15: arti.memory-max: must be between 16.0 MiB and 64.0 GiB, found 1 MiB"
    );
}
