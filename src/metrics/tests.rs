use std::time::Duration;

use serde_json::json;

use crate::store::State;

use super::*;

fn queue() -> Gauges {
    Gauges {
        depth: 3,
        oldest_due_age: Some(Duration::from_millis(1500)),
        body_bytes_in_flight: 2048,
        blocked_keys: Vec::new(),
        stored: None,
        process: None,
    }
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

/// Asserts that each of `wanted` is a whole line of `text`.
fn assert_lines(text: &str, wanted: &[&str]) {
    let have = lines(text);
    for want in wanted {
        assert!(have.contains(want), "missing {want} in\n{text}");
    }
}

fn record(attempt_count: u32, attempts: serde_json::Value) -> EventRecord {
    serde_json::from_value(json!({
        "source": "gh", "id": "e1", "received_at": 0, "body_len": 0, "state": "processing",
        "attempt_count": attempt_count, "attempts": attempts,
    }))
    .expect("record")
}

#[test]
fn every_family_has_help_and_type_once() {
    let text = Metrics::new(["gh"]).render(&queue());
    for (name, kind) in [
        ("hookbox_webhook_requests_total", "counter"),
        ("hookbox_ack_duration_seconds", "histogram"),
        ("hookbox_queue_depth", "gauge"),
        ("hookbox_oldest_due_age_seconds", "gauge"),
        ("hookbox_attempts_total", "counter"),
        ("hookbox_handler_duration_seconds", "histogram"),
        ("hookbox_dead_total", "counter"),
        ("hookbox_audit_write_failures_total", "counter"),
    ] {
        let help = format!("# HELP {name} ");
        let kind = format!("# TYPE {name} {kind}");
        assert_eq!(text.matches(&help).count(), 1, "{name}");
        assert_eq!(lines(&text).iter().filter(|l| **l == kind).count(), 1);
    }
    assert!(lines(&text).contains(&"hookbox_queue_depth 3"));
    assert!(lines(&text).contains(&"hookbox_oldest_due_age_seconds 1.5"));
    assert!(lines(&text).contains(&"hookbox_body_bytes_in_flight 2048"));
}

#[test]
fn configured_sources_start_at_zero_and_unknown_appears_once_used() {
    let m = Metrics::new(["gh", "stripe"]);
    let text = m.render(&queue());
    let zero =
        "hookbox_webhook_requests_total{source=\"stripe\",outcome=\"accepted\",reason=\"\"} 0";
    assert!(lines(&text).contains(&zero));
    assert!(!text.contains("{source=\"\""), "{text}");

    m.delivery("nope", Delivery::Rejected("not-found"), Duration::ZERO);
    m.delivery("other", Delivery::Rejected("not-found"), Duration::ZERO);
    let text = m.render(&queue());
    let unknown =
        "hookbox_webhook_requests_total{source=\"\",outcome=\"rejected\",reason=\"not-found\"} 2";
    assert!(lines(&text).contains(&unknown), "{text}");
    assert!(!text.contains("nope") && !text.contains("other"));
}

#[test]
fn deliveries_count_by_outcome_and_only_acks_are_timed() {
    let m = Metrics::new(["gh"]);
    let ms = Duration::from_millis;
    for (outcome, delivery, took) in [
        (Accepted::New, Delivery::Accepted, ms(2)),
        (Accepted::New, Delivery::Accepted, ms(20)),
        (
            Accepted::Duplicate(State::Queued),
            Delivery::Duplicate,
            ms(3),
        ),
    ] {
        m.stored("gh", outcome);
        m.delivery("gh", delivery, took);
    }
    m.stored("gh", Accepted::New); // its client left: counted, not timed
    m.delivery("gh", Delivery::Challenge, ms(1));
    m.delivery("gh", Delivery::Rejected("invalid-signature"), ms(1));
    m.delivery("gh", Delivery::Rejected("invalid-signature"), ms(1));
    m.delivery("gh", Delivery::Rejected("body-too-large"), ms(1));
    let text = m.render(&queue());
    let req = |outcome: &str, reason: &str, n: u64| {
        format!("hookbox_webhook_requests_total{{source=\"gh\",outcome=\"{outcome}\",reason=\"{reason}\"}} {n}")
    };
    let counted = [
        req("accepted", "", 3),
        req("duplicate", "", 1),
        req("challenge", "", 1),
        req("rejected", "body-too-large", 1),
        req("rejected", "invalid-signature", 2),
    ];
    assert_lines(&text, &counted.each_ref().map(String::as_str));
    assert_lines(
        &text,
        &[
            "hookbox_ack_duration_seconds_bucket{source=\"gh\",le=\"0.001\"} 0",
            "hookbox_ack_duration_seconds_bucket{source=\"gh\",le=\"0.0025\"} 1",
            "hookbox_ack_duration_seconds_bucket{source=\"gh\",le=\"0.005\"} 2",
            "hookbox_ack_duration_seconds_bucket{source=\"gh\",le=\"0.025\"} 3",
            "hookbox_ack_duration_seconds_bucket{source=\"gh\",le=\"10\"} 3",
            "hookbox_ack_duration_seconds_bucket{source=\"gh\",le=\"+Inf\"} 3",
            "hookbox_ack_duration_seconds_sum{source=\"gh\"} 0.025",
            "hookbox_ack_duration_seconds_count{source=\"gh\"} 3",
        ],
    );
}

#[test]
fn attempts_handler_latency_and_dead() {
    let m = Metrics::new(["gh"]);
    m.handler_ran("gh", Duration::from_millis(40));
    m.attempt_recorded("gh", Outcome::Transient, false);
    m.handler_ran("gh", Duration::from_millis(400));
    m.attempt_recorded("gh", Outcome::Permanent, true);
    m.attempt_recorded("gone", Outcome::Permanent, true);
    let text = m.render(&queue());
    assert_lines(
        &text,
        &[
            "hookbox_attempts_total{source=\"gh\",route=\"\",outcome=\"success\"} 0",
            "hookbox_attempts_total{source=\"gh\",route=\"\",outcome=\"transient\"} 1",
            "hookbox_attempts_total{source=\"gh\",route=\"\",outcome=\"permanent\"} 1",
            "hookbox_attempts_total{source=\"gh\",route=\"\",outcome=\"abandoned\"} 0",
            "hookbox_attempts_total{source=\"\",route=\"\",outcome=\"permanent\"} 1",
            "hookbox_handler_duration_seconds_bucket{source=\"gh\",route=\"\",le=\"0.05\"} 1",
            "hookbox_handler_duration_seconds_bucket{source=\"gh\",route=\"\",le=\"0.5\"} 2",
            "hookbox_handler_duration_seconds_count{source=\"gh\",route=\"\"} 2",
            "hookbox_dead_total{source=\"gh\",route=\"\"} 1",
            "hookbox_dead_total{source=\"\",route=\"\"} 1",
        ],
    );
}

#[test]
fn a_claim_after_a_lost_attempt_counts_it_as_abandoned_once() {
    let m = Metrics::new(["gh"]);
    let abandoned =
        |n: u32| json!({"number": n, "started_at": 0, "duration_ms": 0, "outcome": "abandoned"});
    let transient = json!({"number": 1, "started_at": 0, "duration_ms": 0, "outcome": "transient"});
    m.claimed(&record(1, json!([]))); // first claim
    m.claimed(&record(2, json!([transient]))); // after a recorded failure
    m.claimed(&record(2, json!([abandoned(1)]))); // after a lost attempt
    m.claimed(&record(1, json!([abandoned(3)]))); // after a requeue: an old round's loss
    let text = m.render(&queue());
    let want = "hookbox_attempts_total{source=\"gh\",route=\"\",outcome=\"abandoned\"} 1";
    assert!(lines(&text).contains(&want), "{text}");
}

#[test]
fn source_names_are_escaped_and_queue_age_left_out_when_unreadable() {
    let m = Metrics::new(["we\"ird\\name"]);
    let text = m.render(&Gauges {
        depth: 0,
        oldest_due_age: None,
        body_bytes_in_flight: 0,
        ..Gauges::default()
    });
    assert!(!text.contains("hookbox_ordering_blocked_keys"));
    assert!(text.contains("hookbox_dead_total{source=\"we\\\"ird\\\\name\",route=\"\"} 0"));
    assert!(!text.contains("hookbox_oldest_due_age_seconds"));
    assert!(lines(&text).contains(&"hookbox_queue_depth 0"));
}

#[test]
fn oldest_due_age_is_zero_unless_overdue() {
    assert_eq!(oldest_due_age(None, 10_000), Duration::ZERO);
    assert_eq!(oldest_due_age(Some(12_000), 10_000), Duration::ZERO);
    assert_eq!(
        oldest_due_age(Some(7_500), 10_000),
        Duration::from_millis(2_500)
    );
}

#[test]
fn blocked_keys_show_per_ordered_source() {
    let m = Metrics::new(["a", "b"]);
    let text = m.render(&Gauges {
        blocked_keys: vec![("a".into(), 2), ("b".into(), 0)],
        ..queue()
    });
    assert_lines(
        &text,
        &[
            "# TYPE hookbox_ordering_blocked_keys gauge",
            "hookbox_ordering_blocked_keys{source=\"a\"} 2",
            "hookbox_ordering_blocked_keys{source=\"b\"} 0",
        ],
    );
}

#[test]
fn routes_get_delivery_series_and_sources_ingest_series_once() {
    let m = Metrics::new(["shop", "shop:billing", "shop:audit", "gh"]);
    m.attempt_recorded("shop:billing", Outcome::Success, false);
    let text = m.render(&queue());
    assert_lines(
        &text,
        &[
            "hookbox_attempts_total{source=\"shop\",route=\"billing\",outcome=\"success\"} 1",
            "hookbox_dead_total{source=\"shop\",route=\"audit\"} 0",
            "hookbox_dead_total{source=\"gh\",route=\"\"} 0",
            "hookbox_webhook_requests_total{source=\"shop\",outcome=\"accepted\",reason=\"\"} 0",
        ],
    );
    assert!(
        !text.contains("source=\"shop:"),
        "no stream names as sources:\n{text}"
    );
    assert!(
        !text.contains("hookbox_dead_total{source=\"shop\",route=\"\"}"),
        "{text}"
    );
    let ack = "hookbox_ack_duration_seconds_count{source=\"shop\"} 0";
    assert_eq!(lines(&text).iter().filter(|l| **l == ack).count(), 1);
}

#[test]
fn build_info_store_states_and_process_metrics() {
    let stored = StateCounts {
        queued: 2,
        dead: 1,
        ..StateCounts::default()
    };
    let text = Metrics::new(["gh"]).render(&Gauges {
        stored: Some(stored),
        process: ProcessStats::read(),
        ..queue()
    });
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        text.lines().any(|l| l.starts_with(&format!(
            "hookbox_build_info{{version=\"{version}\",commit=\""
        )) && l.ends_with("\"} 1")),
        "{text}"
    );
    assert_lines(
        &text,
        &[
            "hookbox_events{state=\"queued\"} 2",
            "hookbox_events{state=\"dead\"} 1",
            "hookbox_events{state=\"skipped\"} 0",
            "# TYPE process_cpu_seconds_total counter",
            "# TYPE process_resident_memory_bytes gauge",
            "# TYPE process_open_fds gauge",
            "# TYPE process_start_time_seconds gauge",
        ],
    );
}
