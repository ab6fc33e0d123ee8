use crate::{lines, synthetic, DAY, HOUR, MONDAY};
use alert_analyzer::recommend::Kind;
use alert_analyzer::{analyze, report, History, Options};
use std::time::{Duration, UNIX_EPOCH};

fn now() -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs((MONDAY + 14 * DAY) as u64)
}

#[test]
fn synthetic_history_findings_snapshot() {
    let h = synthetic();
    let opts = Options::default();
    let out = report(&h, analyze(&h, &opts), &opts, now());
    insta::assert_snapshot!("synthetic_findings", lines(&out.report));
    let review: String = out
        .analysis
        .review
        .iter()
        .map(|r| {
            let kinds: Vec<&str> = r.recommendations.iter().map(|k| k.as_str()).collect();
            format!(
                "{} {} [{}] episodes={} noise={} firing={}s\n",
                r.rank,
                r.alertname,
                kinds.join(","),
                r.episodes,
                r.noise_episodes,
                r.firing_seconds
            )
        })
        .collect();
    insta::assert_snapshot!("synthetic_review", review);
}

#[test]
fn planted_patterns_are_found_with_their_numbers() {
    let h = synthetic();
    let a = analyze(&h, &Options::default());
    // Dedup: 8 input series, 7 distinct.
    assert_eq!((a.window.input_series, a.window.series), (8, 7));
    assert_eq!(a.window.sources, vec!["prom-a", "prom-b"]);
    // Noise: Blip has the most episodes.
    assert_eq!(a.noise.by_alertname[0].alertname, "Blip");
    assert_eq!(a.noise.by_alertname[0].episodes, 40);
    // Schedule: BackupSlow at hour 2, and nothing else has one.
    let scheduled: Vec<_> = a
        .temporal
        .iter()
        .filter_map(|p| {
            p.schedule
                .as_ref()
                .map(|s| (p.alertname.as_str(), s.describe()))
        })
        .collect();
    assert_eq!(
        scheduled,
        vec![("BackupSlow", "02:00-03:00 UTC".to_string())]
    );
    // Correlation: one cluster, NodeDown + KubeletDown, Jaccard 1.
    assert_eq!(a.correlation.clusters.len(), 1);
    assert_eq!(
        a.correlation.clusters[0].alertnames,
        vec!["KubeletDown", "NodeDown"]
    );
    assert!((a.correlation.clusters[0].min_jaccard - 1.0).abs() < 1e-12);
    // Flapping: only Flappy, within day 3's toggling hour.
    assert_eq!(a.flapping.len(), 1);
    let f = &a.flapping[0];
    assert_eq!(f.alertname, "Flappy");
    assert_eq!(f.state_changes, 60);
    let start = MONDAY + 3 * DAY + 14 * HOUR;
    assert!(f
        .intervals
        .iter()
        .all(|i| i.start > start && i.end < start + 2 * HOUR));
    // Always firing, dead and pending-only rules.
    let af: Vec<_> = a
        .always_firing
        .iter()
        .map(|x| (x.alertname.as_str(), x.share))
        .collect();
    assert_eq!(af, vec![("Watchdog", 1.0)]);
    assert_eq!(
        a.dead_rules
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        vec!["OldDiskAlert"]
    );
    assert_eq!(
        a.pending_never_firing
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        vec!["SlowQueries"]
    );
    // Raise for: Blip's short episodes (1 and 2 minutes, p50 1m) -> 2m silences all 40.
    let raise: Vec<_> = a
        .recommendations
        .iter()
        .filter(|r| r.kind == Kind::RaiseFor)
        .map(|r| {
            (
                r.alertname.as_str(),
                r.suggested_seconds,
                r.evidence["silencedEpisodes"].clone(),
            )
        })
        .collect();
    assert!(
        raise.contains(&("Blip", Some(120), serde_json::json!(40))),
        "{raise:?}"
    );
    // keep_firing_for: gaps of one minute -> 1m.
    let keep = a
        .recommendations
        .iter()
        .find(|r| r.kind == Kind::KeepFiringFor);
    assert_eq!(
        keep.map(|r| (r.alertname.as_str(), r.suggested_seconds)),
        Some(("Flappy", Some(60)))
    );
    // Signal to noise: Blip is all noise, NodeDown (20 min episodes) all signal.
    let snr = |n: &str| {
        a.signal_to_noise
            .iter()
            .find(|s| s.alertname == n)
            .map(|s| s.ratio)
    };
    assert_eq!((snr("Blip"), snr("NodeDown")), (Some(0.0), Some(1.0)));
    // The review list is ranked and every entry has a recommendation.
    assert!(!a.review.is_empty());
    assert!(a
        .review
        .iter()
        .enumerate()
        .all(|(i, r)| r.rank == i + 1 && !r.recommendations.is_empty()));
}

#[test]
fn json_carries_contract_and_analysis() {
    let h = synthetic();
    let opts = Options::default();
    let out = report(&h, analyze(&h, &opts), &opts, now());
    let v = serde_json::to_value(&out).unwrap_or_default();
    assert_eq!(v["tool"], "alert-analyzer");
    assert_eq!(v["command"], "analyze");
    assert_eq!(v["schemaVersion"], "1");
    assert_eq!(v["target"]["window"]["from"], "2023-11-13T00:00:00Z");
    assert_eq!(
        v["target"]["sources"],
        serde_json::json!(["prom-a", "prom-b"])
    );
    assert_eq!(v["analysis"]["window"]["series"], 7);
    assert_eq!(v["analysis"]["durations"][0]["alertname"], "BackupSlow");
    assert!(v["analysis"]["durations"][0].get("sorted").is_none());
    // The contract part still deserializes as a plain report.
    let plain: Result<sre_core::Report, _> = serde_json::from_value(v);
    assert_eq!(
        plain.map(|r| r.findings.len()).ok(),
        Some(out.report.findings.len())
    );
    assert!(out.report.checks.len() == alert_analyzer::CHECKS.len());
}

#[test]
fn history_file_round_trips_through_json() {
    let h = synthetic();
    let text = h.to_json();
    assert!(text.contains("\"format\": \"sre-alert-history/v1\""));
    let back = History::from_json(&text).map_err(|e| e.to_string());
    assert_eq!(back.as_ref().map(|b| b.series.len()), Ok(8));
    let opts = Options::default();
    let (a, b) = (analyze(&h, &opts), back.map(|b| analyze(&b, &opts)));
    assert_eq!(Ok(a), b);
}

#[test]
fn documented_example_parses() {
    let text = r#"{
      "format": "sre-alert-history/v1",
      "window": { "from": 1700000000, "to": 1700086400, "step": 60 },
      "series": [
        { "labels": { "alertname": "HighLatency", "namespace": "shop", "severity": "warning" },
          "source": "prod-eu", "firing": [1700000120, 1700000180], "pending": [1700000000, 1700000060] }
      ],
      "rules": [
        { "name": "HighLatency", "group": "shop.rules", "for": 120,
          "expr": "latency_p99 > 0.5", "labels": { "severity": "warning" } }
      ]
    }"#;
    let h = History::from_json(text).map_err(|e| e.to_string());
    let eps = h.as_ref().map(|h| alert_analyzer::episodes(h, 300));
    let e = eps.as_ref().ok().and_then(|e| e.first()).cloned();
    assert_eq!(
        e.as_ref().map(|e| (e.start, e.duration, e.pending_start)),
        Some((1_700_000_120, 120, Some(1_700_000_000)))
    );
    assert_eq!(h.map(|h| h.rules[0].for_seconds), Ok(120));
}
