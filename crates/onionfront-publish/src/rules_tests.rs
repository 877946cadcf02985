//! Tests of the publication rules (`rules.rs`), one or more per numbered rule.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn hsdir(n: u8) -> HsDirId {
    HsDirId {
        rsa: [n; 20],
        ed: [n; 32],
    }
}

fn selection(n: u8) -> SelectionFingerprint {
    vec![vec![[n; 32]]]
}

fn ready() -> ServiceFacts {
    ServiceFacts {
        any_fetched: true,
        all_fetched: true,
        first_publication: true,
        startup_over: false,
        health_pending: false,
        live_backends: 2,
    }
}

#[test]
fn rule_1_1_waits_for_a_first_fetch() {
    let f = ServiceFacts {
        any_fetched: false,
        all_fetched: false,
        startup_over: true,
        first_publication: false,
        ..ready()
    };
    assert_eq!(service_gate(&f), ServiceGate::Wait);
}

#[test]
fn rule_1_2_waits_within_the_grace_for_every_fetch_and_verdict() {
    let some = ServiceFacts {
        all_fetched: false,
        ..ready()
    };
    assert_eq!(service_gate(&some), ServiceGate::Wait);
    let pending = ServiceFacts {
        health_pending: true,
        ..ready()
    };
    assert_eq!(service_gate(&pending), ServiceGate::Wait);
    // After the grace, or once published, it goes with what it has.
    for f in [
        ServiceFacts {
            startup_over: true,
            ..some
        },
        ServiceFacts {
            first_publication: false,
            ..some
        },
        ServiceFacts {
            startup_over: true,
            ..pending
        },
        ServiceFacts {
            first_publication: false,
            ..pending
        },
    ] {
        assert_eq!(service_gate(&f), ServiceGate::Go, "{f:?}");
    }
    assert_eq!(service_gate(&ready()), ServiceGate::Go);
}

#[test]
fn rule_1_3_keeps_the_last_descriptor_without_a_live_backend() {
    let f = ServiceFacts {
        live_backends: 0,
        first_publication: false,
        ..ready()
    };
    assert_eq!(service_gate(&f), ServiceGate::KeepLast);
    // Waiting comes first.
    let f = ServiceFacts {
        live_backends: 0,
        any_fetched: false,
        ..ready()
    };
    assert_eq!(service_gate(&f), ServiceGate::Wait);
}

/// A period published at `at` with selection 1 to HSDirs 1, 2.
struct Case {
    published: SelectionFingerprint,
    hsdirs: Vec<HsDirId>,
    at: Instant,
    interval: Duration,
}

impl Case {
    fn new() -> Self {
        Case {
            published: selection(1),
            hsdirs: vec![hsdir(1), hsdir(2)],
            at: Instant::now(),
            interval: Duration::from_secs(3600),
        }
    }

    fn ask(
        &self,
        sel: &SelectionFingerprint,
        hsdirs: &[HsDirId],
        after: Duration,
        failed: Option<FailedBuild<'_>>,
        auth: bool,
    ) -> Decision {
        should_publish(&PeriodFacts {
            selection: sel,
            hsdirs,
            last: Some(LastPublication {
                selection: &self.published,
                hsdirs: &self.hsdirs,
                at: self.at,
            }),
            failed_build: failed,
            auth_clients_changed: auth,
            key_covers_period: true,
            republish_interval: self.interval,
            now: self.at + after,
        })
    }
}

const LATER: Duration = Duration::from_secs(60);

#[test]
fn rule_2_0_a_period_without_a_key_is_never_published() {
    let c = Case::new();
    let other = selection(2);
    for last in [None, Some(&c)] {
        let d = should_publish(&PeriodFacts {
            selection: &other,
            hsdirs: &c.hsdirs,
            last: last.map(|c| LastPublication {
                selection: &c.published,
                hsdirs: &c.hsdirs,
                at: c.at,
            }),
            failed_build: None,
            auth_clients_changed: true,
            key_covers_period: false,
            republish_interval: c.interval,
            now: c.at + c.interval * 2,
        });
        assert_eq!(d, Decision::NoKey);
    }
}

#[test]
fn rule_2_1_an_empty_selection_is_never_published() {
    let c = Case::new();
    let empty = SelectionFingerprint::new();
    assert_eq!(
        c.ask(&empty, &c.hsdirs, LATER, None, true),
        Decision::Nothing
    );
    let first = should_publish(&PeriodFacts {
        selection: &empty,
        hsdirs: &c.hsdirs,
        last: None,
        failed_build: None,
        auth_clients_changed: false,
        key_covers_period: true,
        republish_interval: c.interval,
        now: c.at,
    });
    assert_eq!(first, Decision::Nothing);
}

#[test]
fn rule_2_2_reasons_in_order() {
    let c = Case::new();
    let (same, other) = (selection(1), selection(2));
    let other_dirs = [hsdir(1), hsdir(3)];
    let first = should_publish(&PeriodFacts {
        selection: &same,
        hsdirs: &c.hsdirs,
        last: None,
        failed_build: None,
        auth_clients_changed: false,
        key_covers_period: true,
        republish_interval: c.interval,
        now: c.at,
    });
    assert_eq!(first, Decision::Publish(PublishReason::FirstForPeriod));
    assert_eq!(
        c.ask(&other, &other_dirs, LATER, None, true),
        Decision::Publish(PublishReason::AuthClientsChanged)
    );
    assert_eq!(
        c.ask(&other, &other_dirs, LATER, None, false),
        Decision::Publish(PublishReason::IntroPointsChanged)
    );
    assert_eq!(
        c.ask(&same, &other_dirs, LATER, None, false),
        Decision::Publish(PublishReason::HsDirsChanged)
    );
    assert_eq!(
        c.ask(&same, &c.hsdirs, LATER, None, false),
        Decision::Nothing
    );
    assert_eq!(
        c.ask(&same, &c.hsdirs, c.interval, None, false),
        Decision::Publish(PublishReason::Refresh)
    );
}

fn failed(sel: &SelectionFingerprint, kind: FailureKind) -> Option<FailedBuild<'_>> {
    Some(FailedBuild {
        selection: sel,
        kind,
    })
}

#[test]
fn rule_2_3_a_failed_build_is_retried_only_by_the_refresh() {
    let c = Case::new();
    let (same, other, third) = (selection(1), selection(2), selection(3));
    let inputs = FailureKind::Inputs;
    assert_eq!(
        c.ask(&other, &c.hsdirs, LATER, failed(&other, inputs), false),
        Decision::Nothing
    );
    assert_eq!(
        c.ask(&other, &c.hsdirs, LATER, failed(&other, inputs), true),
        Decision::Nothing
    );
    // Another selection than the one that failed is tried.
    assert_eq!(
        c.ask(&other, &c.hsdirs, LATER, failed(&third, inputs), false),
        Decision::Publish(PublishReason::IntroPointsChanged)
    );
    assert_eq!(
        c.ask(&same, &c.hsdirs, c.interval, failed(&same, inputs), false),
        Decision::Publish(PublishReason::Refresh)
    );
}

#[test]
fn rule_2_3_a_build_failed_for_timing_is_retried_at_the_next_check() {
    let c = Case::new();
    let other = selection(2);
    let timing = FailureKind::Timing;
    assert_eq!(
        c.ask(&other, &c.hsdirs, LATER, failed(&other, timing), false),
        Decision::Publish(PublishReason::IntroPointsChanged)
    );
    // The first publication of a period (the 00:00 case of the live rehearsal).
    let first = should_publish(&PeriodFacts {
        selection: &other,
        hsdirs: &c.hsdirs,
        last: None,
        failed_build: failed(&other, timing),
        auth_clients_changed: false,
        key_covers_period: true,
        republish_interval: c.interval,
        now: c.at,
    });
    assert_eq!(first, Decision::Publish(PublishReason::FirstForPeriod));
    // Still rate limited like any publication.
    assert_eq!(
        c.ask(
            &other,
            &c.hsdirs,
            Duration::ZERO,
            failed(&other, timing),
            false
        ),
        Decision::Postpone(PublishReason::IntroPointsChanged)
    );
}

#[test]
fn rule_2_3_timing_failures_are_the_clock_ones() {
    let period = 20_780;
    let now = std::time::SystemTime::UNIX_EPOCH;
    assert_eq!(
        failure_kind(&BuildError::OutsidePeriod { period, now }),
        FailureKind::Timing
    );
    assert_eq!(
        failure_kind(&BuildError::RevisionNotAbove { min: 2, best: 1 }),
        FailureKind::Timing
    );
    for e in [
        BuildError::TooLarge {
            size: 60_000,
            limit: 50_000,
        },
        BuildError::NotCovered(period),
        BuildError::NoIntroPoints,
        BuildError::Encode("x".into()),
    ] {
        assert_eq!(failure_kind(&e), FailureKind::Inputs, "{e}");
    }
}

#[test]
fn rule_2_4_publications_of_a_period_are_rate_limited() {
    let c = Case::new();
    let other = selection(2);
    let soon = MIN_REPUBLISH_GAP - Duration::from_millis(1);
    assert_eq!(
        c.ask(&other, &c.hsdirs, soon, None, false),
        Decision::Postpone(PublishReason::IntroPointsChanged)
    );
    assert_eq!(
        c.ask(&other, &c.hsdirs, MIN_REPUBLISH_GAP, None, false),
        Decision::Publish(PublishReason::IntroPointsChanged)
    );
}

#[test]
fn timers() {
    let t = Instant::now();
    let hour = Duration::from_secs(3600);
    assert!(!republish_due(t, hour, t + hour - Duration::from_secs(1)));
    assert!(republish_due(t, hour, t + hour));
    assert!(startup_over(None, t));
    assert!(!startup_over(Some(t + STARTUP_GRACE), t));
    assert!(startup_over(Some(t), t));
    assert!(!timer_wants_check(false, None, t));
    assert!(!timer_wants_check(false, Some(t + STARTUP_GRACE), t));
    assert!(timer_wants_check(false, Some(t), t));
    assert!(timer_wants_check(true, None, t));
}

#[test]
fn rule_5_a_churning_backend_is_fetched_four_times_as_often() {
    let t = Instant::now();
    let two_min = Duration::from_secs(120);
    assert_eq!(fetch_delay_after_success(two_min, None, t), two_min);
    let soon = t + Duration::from_secs(60);
    assert_eq!(
        fetch_delay_after_success(two_min, Some(t), soon),
        Duration::from_secs(30)
    );
    assert_eq!(
        fetch_delay_after_success(two_min, Some(t), t + CHURN_WINDOW),
        two_min
    );
    // Never below the floor, never above the interval.
    let short = Duration::from_secs(20);
    assert_eq!(
        fetch_delay_after_success(short, Some(t), soon),
        CHURN_FETCH_FLOOR
    );
    let tiny = Duration::from_secs(5);
    assert_eq!(fetch_delay_after_success(tiny, Some(t), soon), tiny);
}

#[test]
fn rule_3_only_new_auth_clients_republish_on_reload() {
    assert!(reload_republishes(false));
    assert!(!reload_republishes(true));
}
