//! Against a real Prometheus whose TSDB holds a backfilled alert history with planted
//! patterns: what the client fetches (chunked `query_range`, halving on a too-large range,
//! rules) and what the analysis finds in it.

use alert_analyzer::analysis::temporal::Schedule;
use alert_analyzer::prometheus::{Auth, Client, Endpoint, SourceError};
use alert_analyzer::{analyze, History, Options, Window};
use sre_test_harness::service::prometheus_with_history;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

const STEP: i64 = 60;
const RULES: &str = "groups:\n- name: planted\n  rules:\n  - alert: NeverFires\n    expr: vector(1) < 0\n    for: 5m\n    labels: {severity: page}\n  - alert: NightlyBackup\n    expr: vector(1) < 0\n    for: 1m\n";

/// Eight days ending at least four hours ago (backfilled blocks must not overlap the head),
/// aligned to a UTC midnight so hours are predictable.
fn window() -> Window {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let to = (now - 4 * 3600) - (now - 4 * 3600).rem_euclid(86_400);
    Window {
        from: to - 8 * 86_400,
        to,
        step: STEP,
    }
}

/// `alertname -> firing timestamps`, planted.
fn planted(w: Window) -> BTreeMap<&'static str, Vec<i64>> {
    let mut m: BTreeMap<&'static str, Vec<i64>> = BTreeMap::new();
    let minutes = |from: i64, n: i64| (0..n).map(move |i| from + i * STEP);
    for day in 0..8 {
        let midnight = w.from + day * 86_400;
        // 02:00-02:09 every night.
        m.entry("NightlyBackup")
            .or_default()
            .extend(minutes(midnight + 2 * 3600, 10));
        // CPUHigh and LoadHigh start together at 14:00 and 14:01, for 20 minutes.
        m.entry("CPUHigh")
            .or_default()
            .extend(minutes(midnight + 14 * 3600, 20));
        m.entry("LoadHigh")
            .or_default()
            .extend(minutes(midnight + 14 * 3600 + 60, 20));
    }
    // FlappyDisk: on, off, on, off ... for an hour on day 3, 10:00.
    let start = w.from + 3 * 86_400 + 10 * 3600;
    m.entry("FlappyDisk")
        .or_default()
        .extend((0..60).filter(|i| i % 2 == 0).map(|i| start + i * STEP));
    // Restarted and Refired: 10:00-10:29 and 11:00-11:19 on day 5, nothing in between (a
    // Prometheus down for half an hour). ALERTS_FOR_STATE (see `for_state`) tells them apart.
    let day5 = w.from + 5 * 86_400 + 10 * 3600;
    for name in ["Restarted", "Refired"] {
        m.entry(name)
            .or_default()
            .extend(minutes(day5, 30).chain(minutes(day5 + 3600, 20)));
    }
    // AlwaysOn: every minute of the window.
    m.entry("AlwaysOn")
        .or_default()
        .extend(minutes(w.from, (w.to - w.from) / STEP));
    m
}

/// `ALERTS_FOR_STATE` samples (time, activation time) for the two alerts with a gap:
/// Restarted keeps its activation across the gap (Prometheus restored its state after the
/// restart); Refired resolved and became active again at 11:00.
fn for_state(m: &BTreeMap<&'static str, Vec<i64>>) -> Vec<(&'static str, i64, i64)> {
    let mut out = Vec::new();
    for name in ["Restarted", "Refired"] {
        let times = &m[name];
        let first = times[0];
        for &t in times {
            let active = if name == "Refired" && t >= first + 3600 {
                first + 3600
            } else {
                first
            };
            out.push((name, t, active));
        }
    }
    out
}

fn openmetrics(m: &BTreeMap<&'static str, Vec<i64>>) -> String {
    let mut text = String::from("# HELP ALERTS Alerts.\n# TYPE ALERTS gauge\n");
    for (name, times) in m {
        for t in times {
            let _ = writeln!(
                text,
                "ALERTS{{alertname=\"{name}\",alertstate=\"firing\",severity=\"warning\"}} 1 {t}"
            );
        }
    }
    text.push_str("# HELP ALERTS_FOR_STATE Activation times.\n# TYPE ALERTS_FOR_STATE gauge\n");
    for (name, t, active) in for_state(m) {
        let _ = writeln!(
            text,
            "ALERTS_FOR_STATE{{alertname=\"{name}\",severity=\"warning\"}} {active} {t}"
        );
    }
    text.push_str("# EOF\n");
    text
}

fn endpoint(url: String) -> Endpoint {
    Endpoint {
        url,
        name: None,
        auth: Auth::None,
        ca_file: None,
        insecure_skip_verify: false,
        timeout: Duration::from_secs(60),
    }
}

#[test]
fn backfilled_history_is_fetched_in_chunks_and_every_planted_pattern_is_found() {
    let w = window();
    let plants = planted(w);
    let prom = prometheus_with_history(&openmetrics(&plants), Some(RULES));
    let client = Client::new(&endpoint(prom.url())).expect("client");
    // 8 days at 1 minute are 11,520 evaluations: two chunks of at most 10,000.
    let series = client
        .alert_series(w, alert_analyzer::prometheus::DEFAULT_CHUNK_STEPS)
        .expect("history");
    // Two for ALERTS, two for ALERTS_FOR_STATE.
    assert_eq!(client.requests.get(), 4);
    let restarted = series
        .iter()
        .find(|s| s.alertname() == "Restarted")
        .expect("Restarted");
    assert_eq!(restarted.active_at.len(), 1, "{:?}", restarted.active_at);
    let refired = series
        .iter()
        .find(|s| s.alertname() == "Refired")
        .expect("Refired");
    assert_eq!(refired.active_at.len(), 2, "{:?}", refired.active_at);
    let by_name: BTreeMap<&str, usize> = series
        .iter()
        .map(|s| (s.alertname(), s.firing.len()))
        .collect();
    for (name, times) in &plants {
        assert_eq!(by_name.get(name), Some(&times.len()), "{name}: {by_name:?}");
    }
    // A chunk over Prometheus' 11,000-point limit is refused and halved.
    let greedy = Client::new(&endpoint(prom.url())).expect("client");
    let again = greedy.alert_series(w, 20_000).expect("history");
    assert!(greedy.halvings.get() >= 1, "no halving");
    assert_eq!(again, series);

    let rules = client.rules().expect("rules");
    let never = rules.iter().find(|r| r.name == "NeverFires").expect("rule");
    assert_eq!((never.group.as_str(), never.for_seconds), ("planted", 300));

    let mut history = History::new(w.from, w.to, w.step);
    history.series = series;
    history.rules = rules;
    let a = analyze(&history, &Options::default());
    // The same activation on both sides of the gap: one episode of 80 minutes; a new one
    // after it: two episodes.
    let eps = alert_analyzer::episodes(&history, alert_analyzer::episodes::default_max_gap(STEP));
    let spans = |name: &str| -> Vec<i64> {
        eps.iter()
            .filter(|e| e.alertname == name)
            .map(|e| e.duration)
            .collect()
    };
    assert_eq!(spans("Restarted"), vec![80 * 60]);
    assert_eq!(spans("Refired"), vec![30 * 60, 20 * 60]);
    let nightly = a
        .temporal
        .iter()
        .find(|t| t.alertname == "NightlyBackup")
        .expect("profile");
    assert_eq!(nightly.episodes, 8);
    match &nightly.schedule {
        Some(Schedule::Hours { hours, .. }) => assert_eq!(hours, &vec![2u8]),
        other => panic!("NightlyBackup schedule: {other:?}"),
    }
    assert!(a
        .flapping
        .iter()
        .any(|f| f.alertname == "FlappyDisk" && !f.intervals.is_empty()));
    assert!(
        a.correlation
            .clusters
            .iter()
            .any(|c| c.alertnames == ["CPUHigh", "LoadHigh"]),
        "{:?}",
        a.correlation
    );
    assert!(a.always_firing.iter().any(|x| x.alertname == "AlwaysOn"));
    assert!(a.dead_rules.iter().any(|r| r.name == "NeverFires"));
    assert!(!a.dead_rules.iter().any(|r| r.name == "NightlyBackup"));

    // The saved history gives the same analysis offline.
    let offline = History::from_json(&history.to_json()).expect("round trip");
    assert_eq!(analyze(&offline, &Options::default()), a);
}

#[test]
fn a_prometheus_that_is_down_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let client = Client::new(&endpoint(format!("http://127.0.0.1:{port}"))).expect("client");
    let err = client.alert_series(window(), 10_000).expect_err("down");
    assert!(matches!(err, SourceError::Unreachable { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{port}")) && text.contains("hint"),
        "{text}"
    );
}

#[test]
fn victoria_metrics_with_the_same_history_gives_the_same_analysis() {
    let w = window();
    let plants = planted(w);
    let prom = prometheus_with_history(&openmetrics(&plants), None);
    let vm = sre_test_harness::service::victoria_metrics();
    // VictoriaMetrics imports the Prometheus text format with millisecond timestamps.
    let mut body = String::new();
    for (name, times) in &plants {
        for t in times {
            let _ = writeln!(
                body,
                "ALERTS{{alertname=\"{name}\",alertstate=\"firing\",severity=\"warning\"}} 1 {}",
                t * 1000
            );
        }
    }
    for (name, t, active) in for_state(&plants) {
        let _ = writeln!(
            body,
            "ALERTS_FOR_STATE{{alertname=\"{name}\",severity=\"warning\"}} {active} {}",
            t * 1000
        );
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let r = agent
        .post(&format!("{}/api/v1/import/prometheus", vm.url()))
        .send(body.as_bytes())
        .expect("import");
    assert_eq!(r.status().as_u16(), 204, "import refused");
    let (code, _) = vm.get("/internal/force_flush");
    assert_eq!(code, 200);

    let fetch = |url: String| {
        let client = Client::new(&endpoint(url)).expect("client");
        let mut h = History::new(w.from, w.to, w.step);
        h.series = client
            .alert_series(w, alert_analyzer::prometheus::DEFAULT_CHUNK_STEPS)
            .expect("history");
        h
    };
    let from_prom = fetch(prom.url());
    let from_vm = fetch(vm.url());
    let count = |h: &History| h.series.iter().map(|s| s.firing.len()).sum::<usize>();
    assert_eq!(
        count(&from_vm),
        plants.values().map(Vec::len).sum::<usize>(),
        "VictoriaMetrics returned other samples"
    );
    assert_eq!(from_vm.series, from_prom.series);
    assert_eq!(
        analyze(&from_vm, &Options::default()),
        analyze(&from_prom, &Options::default())
    );
}

#[test]
fn every_grafana_panel_query_runs_on_prometheus_and_the_top_panel_sees_the_noise() {
    let w = window();
    let plants = planted(w);
    let prom = prometheus_with_history(&openmetrics(&plants), None);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let dashboard = alert_analyzer::grafana::dashboard("Alerts");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert_eq!(panels.len(), alert_analyzer::grafana::PANELS.len());
    let mut top = None;
    for p in panels {
        // What Grafana substitutes: the range, and `All` for the variables.
        let expr = p["targets"][0]["expr"]
            .as_str()
            .expect("expr")
            .replace("$__range", "8d")
            .replace("$alertname", ".*")
            .replace("$namespace", ".*");
        let mut r = agent
            .get(&format!("{}/api/v1/query", prom.url()))
            .query("query", &expr)
            .query("time", (w.to - 60).to_string())
            .call()
            .expect("query");
        let body = r.body_mut().read_to_string().expect("body");
        let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(v["status"], "success", "{}: {body}", p["title"]);
        if p["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Noisiest"))
        {
            top = Some(v);
        }
    }
    let top = top.expect("the noisiest-alerts panel");
    let names: Vec<&str> = top["data"]["result"]
        .as_array()
        .expect("result")
        .iter()
        .filter_map(|s| s["metric"]["alertname"].as_str())
        .collect();
    for name in plants.keys() {
        assert!(names.contains(name), "{name} missing from {names:?}");
    }
}
