//! `onionfront keys`: `generate` (a new identity key, the same as `keygen`), `provision` (a key
//! bundle from an identity key: per period, a descriptor-signing key certified by the period's
//! blinded key) and `show` (a bundle's periods).
//!
//! What they print: facts on stdout (the address, the periods, the covered range, when the last
//! certificate expires, i.e. until when a thief of the file can sign descriptors; all times in
//! UTC), advice on stderr. `provision` covers the period containing `--from` and every period
//! that starts before `--from` + `--days` (or exactly `--periods` periods); it never overwrites a
//! file. `show` marks the period containing now as current, with the time left in it, and says
//! how long until the bundle runs out (or that it has).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use onionfront_core::keys::{KeyBundle, ServiceKey};

use crate::cli::{KeysArgs, KeysCommand, ProvisionArgs, ShowArgs};

/// Run a `keys` subcommand.
pub fn run(args: &KeysArgs) -> anyhow::Result<()> {
    match &args.command {
        KeysCommand::Generate(a) => super::keygen::run(a),
        KeysCommand::Provision(a) => provision(a, SystemTime::now()),
        KeysCommand::Show(a) => show(a, SystemTime::now()),
    }
}

/// `keys provision`, with `now` as the default `--from`.
pub fn provision(args: &ProvisionArgs, now: SystemTime) -> anyhow::Result<()> {
    let key = ServiceKey::load(&args.key).context("cannot read the identity key")?;
    let from = args.from.unwrap_or(now);
    let offset = args.offset_secs();
    let bundle = match args.periods {
        Some(n) => {
            let first = KeyBundle::period_containing(from, args.hsdir_interval, offset)?;
            KeyBundle::provision_count(&key, first, n as usize)
        }
        None => {
            let until = from + Duration::from_secs(u64::from(args.days) * 86_400);
            KeyBundle::provision(&key, from, until, args.hsdir_interval, offset)
        }
    }
    .context("cannot provision the key bundle")?;
    bundle
        .write_new(&args.output)
        .context("cannot write the key bundle")?;
    print!("{}", summary(&bundle));
    eprintln!(
        "Wrote {} (mode 0600). Copy it to the frontend and point the service's `key:` at it; \
         make and copy a new one before {} (then `onionfront reload`).\n\
         Protect it: whoever holds it can sign descriptors for the address until {}, when its \
         last certificate expires (it holds no blinded or identity secret key; see \
         docs/offline-keys.md).",
        args.output.display(),
        utc(bundle.coverage_end()),
        utc(bundle.exposure_end())
    );
    Ok(())
}

/// `keys show`, as of `now`.
pub fn show(args: &ShowArgs, now: SystemTime) -> anyhow::Result<()> {
    let bundle = KeyBundle::load(&args.bundle)?;
    print!("{}", describe(&bundle, now));
    Ok(())
}

/// The address, the number of periods, the covered range and the exposure.
fn summary(bundle: &KeyBundle) -> String {
    let mut periods = bundle.periods();
    let first = periods.next().map(|p| p.period);
    let length = first.map_or(0, |p| p.length().as_minutes());
    let numbers = match (first, bundle.periods().last().map(|p| p.period)) {
        (Some(a), Some(b)) => format!(" #{} to #{}", a.interval_num(), b.interval_num()),
        _ => String::new(),
    };
    format!(
        "address: {}\nperiods: {} of {length} minutes{numbers}\ncovers: {} to {}\n\
         exposure: a thief of this file can sign descriptors until {} (the last certificate \
         expires)\n",
        bundle.address(),
        bundle.len(),
        utc(bundle.coverage_start()),
        utc(bundle.coverage_end()),
        utc(bundle.exposure_end()),
    )
}

/// [`summary`], every period with its start and end, and where `now` falls.
pub fn describe(bundle: &KeyBundle, now: SystemTime) -> String {
    let mut out = summary(bundle);
    for p in bundle.periods() {
        let Ok(range) = p.period.range() else {
            continue;
        };
        let _ = write!(
            out,
            "  #{}  {}  {}",
            p.period.interval_num(),
            utc(range.start),
            utc(range.end)
        );
        if range.contains(&now) {
            let _ = write!(out, "  current, {} left", left(now, range.end));
        }
        out.push('\n');
    }
    let end = bundle.coverage_end();
    let state = if now >= end {
        "EXPIRED: no period from now on is covered; provision a new bundle".to_string()
    } else if now < bundle.coverage_start() {
        format!(
            "not yet valid: the first period starts in {}",
            left(now, bundle.coverage_start())
        )
    } else if bundle.period_at(now).is_none() {
        format!(
            "the current period is missing (a gap); the bundle ends in {}",
            left(now, end)
        )
    } else {
        format!("runs out in {}", left(now, end))
    };
    let _ = writeln!(out, "status: {state}");
    out
}

/// A UTC time to the second.
fn utc(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The time from `now` to `until`, to the minute: `30 days 18h 52m`, `4h`, `1 day 5m`.
fn left(now: SystemTime, until: SystemTime) -> String {
    let minutes = until.duration_since(now).unwrap_or_default().as_secs() / 60;
    if minutes == 0 {
        return "less than a minute".into();
    }
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let mut parts = Vec::new();
    match days {
        0 => {}
        1 => parts.push("1 day".to_string()),
        d => parts.push(format!("{d} days")),
    }
    if hours > 0 {
        parts.push(format!("{hours}h"));
    }
    if mins > 0 {
        parts.push(format!("{mins}m"));
    }
    parts.join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// 2027-01-15T08:00:00Z.
    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn bundle() -> KeyBundle {
        let key = ServiceKey::from_seed(&[3u8; 32]);
        let first = KeyBundle::period_containing(t0(), 1440, 43_200).unwrap();
        KeyBundle::provision_count(&key, first, 2).unwrap()
    }

    #[test]
    fn describe_marks_the_current_period_and_the_time_left() {
        let b = bundle();
        let text = describe(&b, t0());
        let address = b.address();
        let first = b.periods().next().unwrap().period.interval_num();
        assert_eq!(
            text,
            format!(
                "address: {address}\nperiods: 2 of 1440 minutes #{first} to #{second}\n\
                 covers: 2027-01-14T12:00:00Z to 2027-01-16T12:00:00Z\n\
                 exposure: a thief of this file can sign descriptors until \
                 2027-01-17T00:00:00Z (the last certificate expires)\n\
                 \x20 #{first}  2027-01-14T12:00:00Z  2027-01-15T12:00:00Z  current, 4h left\n\
                 \x20 #{second}  2027-01-15T12:00:00Z  2027-01-16T12:00:00Z\n\
                 status: runs out in 1 day 4h\n",
                second = first + 1
            )
        );
        let later = describe(&b, t0() + Duration::from_secs(2 * 86_400));
        assert!(later.ends_with(
            "status: EXPIRED: no period from now on is covered; provision a new bundle\n"
        ));
        assert!(!later.contains("current"));
        let before = describe(&b, t0() - Duration::from_secs(86_400));
        assert!(
            before.ends_with("status: not yet valid: the first period starts in 4h\n"),
            "{before}"
        );
        assert_eq!(
            left(
                t0(),
                t0() + Duration::from_secs(30 * 86_400 + 18 * 3600 + 52 * 60 + 59)
            ),
            "30 days 18h 52m"
        );
        assert_eq!(
            left(t0(), t0() + Duration::from_secs(59)),
            "less than a minute"
        );
    }
}
