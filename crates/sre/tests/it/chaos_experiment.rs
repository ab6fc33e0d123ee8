//! `sre chaos-load experiment`: load and a fault timeline together, in front of a real
//! nginx: phases, the abort bound, recovery, bad files.

use crate::sre;
use serde_json::Value;
use sre_test_harness::service::{nginx, nginx_requests};
use std::time::Duration;

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

/// Runs `sre chaos-load experiment FILE -o json`: its output, the report and the codes of
/// its findings.
fn experiment(file: &std::path::Path) -> (sre_test_harness::CliOutput, Value, Vec<String>) {
    let out = sre()
        .args(["chaos-load", "experiment"])
        .arg(file)
        .args(["-o", "json"])
        .run();
    let v: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}\n{}", out.stdout, out.stderr));
    let codes = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["code"].as_str().map(str::to_string))
        .collect();
    (out, v, codes)
}

#[test]
fn phases_switch_faults_and_the_report_compares_them() {
    let ngx = nginx(false);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        dir.path(),
        "exp.yaml",
        &format!(
            "name: nginx 503s\nproxy: {{upstream: '{}'}}\nload: {{rate: 100, concurrency: 8}}\nseed: 7\nphases:\n  - {{name: steady, duration: 2s}}\n  - name: faults\n    duration: 2s\n    faults:\n      - {{type: error, rate: 0.3, status: 503}}\n      - {{type: latency, latency: 100ms}}\n  - {{name: recovery, duration: 2s}}\nabort: {{errorRate: 90%, window: 1s}}\n",
            ngx.url()
        ),
    );
    let (out, v, codes) = experiment(&file);
    let e = &v["experiment"];
    let phase = |i: usize| e["phases"][i].clone();
    // The exit code follows the findings (recovery is judged per second, and a second
    // of a busy test machine may miss the steady state: the rule itself is unit-tested).
    assert_eq!(
        out.status,
        Some(if codes.is_empty() { 0 } else { 1 }),
        "{}",
        out.stderr
    );
    assert!(!codes.iter().any(|c| c == "CL301"), "{v}");
    assert_eq!(
        e["recoveredAfterSeconds"].is_number(),
        !codes.iter().any(|c| c == "CL302"),
        "{e}"
    );
    let rate = |i: usize| phase(i)["failureRate"].as_f64().unwrap_or(-1.0);
    assert_eq!(phase(0)["name"], "steady");
    assert_eq!(rate(0), 0.0, "{e}");
    // 30% errors (seeded) during the faults, with 100 ms added to every request.
    assert!((0.15..=0.45).contains(&rate(1)), "{e}");
    assert!(phase(1)["p50Ms"].as_f64().unwrap_or(0.0) >= 100.0, "{e}");
    assert!(rate(2) < 0.05, "{e}");
    assert!(e.get("aborted").is_none(), "{e}");
    assert_eq!(v["command"], "experiment");
    // The injected errors never reached nginx; every other request did.
    let total = v["summary"]["requests"].as_u64().unwrap_or(0);
    let injected = v["summary"]["statusCodes"]["503"].as_u64().unwrap_or(0);
    crate::wait_until(Duration::from_secs(10), "nginx's log", || {
        nginx_requests(&ngx) as u64 >= total - injected
    });
    assert_eq!(nginx_requests(&ngx) as u64, total - injected);
    // The table says the same.
    let out = sre()
        .args(["chaos-load", "experiment"])
        .arg(&file)
        .args(["-o", "markdown"])
        .run();
    assert!(matches!(out.status, Some(0 | 1)), "{}", out.stderr);
    assert!(out.stdout.contains("| faults | 2 | 2 |"), "{}", out.stdout);
    assert!(
        out.stdout.contains("error 30% 503, latency 100ms"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_abort_bound_removes_the_faults_and_fails_the_experiment() {
    let ngx = nginx(false);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        dir.path(),
        "exp.yaml",
        &format!(
            "proxy: {{upstream: '{}'}}\nload: {{rate: 200, concurrency: 8}}\nphases:\n  - {{name: steady, duration: 1s}}\n  - name: outage\n    duration: 4s\n    faults: [{{type: error, status: 500}}]\n  - {{name: after, duration: 1s}}\nabort: {{errorRate: 50%, window: 1s}}\n",
            ngx.url()
        ),
    );
    let (out, v, codes) = experiment(&file);
    assert_eq!(out.status, Some(1), "{}\n{}", out.stdout, out.stderr);
    let e = &v["experiment"];
    assert_eq!(e["aborted"]["phase"], "outage", "{e}");
    assert!(
        e["aborted"]["errorRate"].as_f64().unwrap_or(0.0) > 0.5,
        "{e}"
    );
    // Stopped within the outage's first seconds: most of it ran clean.
    assert!(
        e["phases"][1]["failureRate"].as_f64().unwrap_or(1.0) < 0.6,
        "{e}"
    );
    assert!(codes.iter().any(|c| c == "CL301"), "{v}");
}

#[test]
fn experiment_files_are_checked_and_a_dry_run_sends_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (text, want) in [
        (
            "proxy: {upstream: 'http://127.0.0.1:1'}\nload: {rate: 10}\nphases:\n  - {name: a, duration: 1s, colour: red}\n",
            "exp.yaml: 4:",
        ),
        (
            "proxy: {upstream: 'http://127.0.0.1:1'}\nload: {rate: 10}\nphases:\n  - {name: a, duration: 1s}\n  - name: b\n    duration: 1s\n    faults: [{type: error, rate: 2}]\n",
            "phases[1] (b): faults[0]: rate 2 is not between 0 and 1",
        ),
        (
            "proxy: {upstream: 'http://127.0.0.1:1'}\nload: {rate: 10}\nphases: []\n",
            "`phases` is empty",
        ),
        (
            "proxy: {upstream: 'http://127.0.0.1:1'}\nload: {rate: fast}\nphases:\n  - {name: a, duration: 1s}\n",
            "load.rate",
        ),
    ] {
        let file = write(dir.path(), "exp.yaml", text);
        let out = sre().args(["chaos-load", "experiment"]).arg(&file).run();
        assert_eq!(out.status, Some(2), "{text}: {}", out.stderr);
        assert!(out.stderr.contains(want), "{text}: {}", out.stderr);
    }
    let file = write(
        dir.path(),
        "exp.yaml",
        "proxy: {upstream: 'http://127.0.0.1:1'}\nload: {rate: 10}\nphases:\n  - {name: steady, duration: 30s}\n  - {name: slow, duration: 1m, faults: [{type: latency, latency: 200ms}]}\nabort: {errorRate: 20%}\n",
    );
    let out = sre()
        .args(["chaos-load", "experiment", "--dry-run"])
        .arg(&file)
        .run();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains("at    30s: slow for 1m: latency 200ms"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("exceeds 20.0%"), "{}", out.stdout);
}
