//! `sre alert-analyzer analyze` end to end: against a real Prometheus with backfilled
//! history, offline from the saved history, several sources with one down, bad input.

use crate::sre;
use serde_json::Value;
use sre_test_harness::service::prometheus_with_history;
use std::fmt::Write as _;

/// Eight days ending at a UTC midnight at least four hours ago.
fn window() -> (i64, i64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let to = (now - 4 * 3600) - (now - 4 * 3600).rem_euclid(86_400);
    (to - 8 * 86_400, to)
}

/// NightlyBackup fires 02:00-02:09 every night; DiskFull fires once for three hours.
fn history(from: i64) -> String {
    let mut text = String::from("# TYPE ALERTS gauge\n");
    let mut line = |name: &str, t: i64| {
        let _ = writeln!(
            text,
            "ALERTS{{alertname=\"{name}\",alertstate=\"firing\",severity=\"warning\",namespace=\"ops\"}} 1 {t}"
        );
    };
    for day in 0..8 {
        for m in 0..10 {
            line("NightlyBackup", from + day * 86_400 + 2 * 3600 + m * 60);
        }
    }
    for m in 0..180 {
        line("DiskFull", from + 5 * 86_400 + 12 * 3600 + m * 60);
    }
    text.push_str("# EOF\n");
    text
}

/// RFC 3339 (UTC) for a Unix time.
fn rfc3339(t: i64) -> String {
    // Civil-from-days (Howard Hinnant's algorithm), UTC.
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn codes(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["code"].as_str().unwrap_or(""),
                f["resource"]["name"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn analyze_reads_prometheus_saves_the_history_and_gives_the_same_report_offline() {
    let (from, to) = window();
    let prom = prometheus_with_history(&history(from), None);
    let dir = tempfile::tempdir().expect("tmp");
    let saved = dir.path().join("history.json");
    let live = sre()
        .args(["alert-analyzer", "analyze", "--prometheus-url"])
        .arg(prom.url())
        .args(["--from", &rfc3339(from), "--to", &rfc3339(to - 60)])
        .arg("--save-history")
        .arg(&saved)
        .args(["-o", "json", "--fail-on", "never"])
        .run();
    assert_eq!(live.status, Some(0), "{}", live.stderr);
    let l: Value = serde_json::from_str(&live.stdout).expect("JSON");
    assert_eq!(l["schemaVersion"], "1");
    assert_eq!(l["tool"], "alert-analyzer");
    let found = codes(&l);
    assert!(
        found.contains(&"AA104 NightlyBackup".to_string()),
        "{found:?}"
    );
    assert!(l["analysis"]["temporal"].is_array(), "{}", l["analysis"]);
    assert_eq!(l["target"]["episodes"], 9, "{}", l["target"]);

    let offline = sre()
        .args(["alert-analyzer", "analyze", "--history"])
        .arg(&saved)
        .args(["-o", "json", "--fail-on", "never"])
        .run();
    assert_eq!(offline.status, Some(0), "{}", offline.stderr);
    let o: Value = serde_json::from_str(&offline.stdout).expect("JSON");
    assert_eq!(o["findings"], l["findings"]);
    assert_eq!(o["analysis"], l["analysis"]);

    // Every other format renders the findings.
    let md = sre()
        .args(["alert-analyzer", "analyze", "--history"])
        .arg(&saved)
        .args(["-o", "markdown", "--fail-on", "never"])
        .run();
    assert_eq!(md.status, Some(0), "{}", md.stderr);
    assert!(md.stdout.contains("NightlyBackup"), "{}", md.stdout);

    // Two sources, one down: a partial report, not a failure.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let two = sre()
        .args(["alert-analyzer", "analyze", "--prometheus-url"])
        .arg(format!("main={}", prom.url()))
        .arg("--prometheus-url")
        .arg(format!("backup=http://127.0.0.1:{port}"))
        .args(["--from", &rfc3339(from), "--to", &rfc3339(to - 60)])
        .args(["-o", "json", "--fail-on", "never"])
        .run();
    assert_eq!(two.status, Some(0), "{}", two.stderr);
    let t: Value = serde_json::from_str(&two.stdout).expect("JSON");
    assert_eq!(t["partial"], true);
    assert!(
        t["errors"]
            .to_string()
            .contains(&format!("127.0.0.1:{port}")),
        "{}",
        t["errors"]
    );
    assert_eq!(codes(&t), found);

    // Saved from that partial fetch, the history reads back as partial too.
    let partial_file = dir.path().join("partial.json");
    let out = sre()
        .args(["alert-analyzer", "analyze", "--prometheus-url"])
        .arg(format!("main={}", prom.url()))
        .arg("--prometheus-url")
        .arg(format!("backup=http://127.0.0.1:{port}"))
        .args(["--from", &rfc3339(from), "--to", &rfc3339(to - 60)])
        .arg("--save-history")
        .arg(&partial_file)
        .args(["-o", "json", "--fail-on", "never"])
        .run();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let back = sre()
        .args(["alert-analyzer", "analyze", "--history"])
        .arg(&partial_file)
        .args(["-o", "json", "--fail-on", "never"])
        .run();
    let b: Value = serde_json::from_str(&back.stdout).expect("JSON");
    assert_eq!(b["partial"], true, "{}", b["errors"]);
    assert_eq!(b["errors"], t["errors"]);
}

#[test]
fn bad_input_is_exit_2_with_a_clear_message() {
    let out = sre().args(["alert-analyzer", "analyze"]).run();
    assert_eq!(out.status, Some(2));
    assert!(out.stderr.contains("--prometheus-url"), "{}", out.stderr);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let out = sre()
        .args(["alert-analyzer", "analyze", "--prometheus-url"])
        .arg(format!("http://127.0.0.1:{port}"))
        .run();
    assert_eq!(out.status, Some(2));
    assert!(
        out.stderr
            .contains(&format!("cannot reach http://127.0.0.1:{port}")),
        "{}",
        out.stderr
    );

    // A server that accepts connections and never answers: the request timeout ends it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = silent.local_addr().expect("addr");
    let out = sre()
        .args([
            "alert-analyzer",
            "analyze",
            "--timeout",
            "1s",
            "--prometheus-url",
        ])
        .arg(format!("http://{addr}"))
        .timeout(std::time::Duration::from_secs(60))
        .run();
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains(&addr.to_string()) && out.stderr.to_lowercase().contains("timeout"),
        "{}",
        out.stderr
    );
    drop(silent);

    for (args, says) in [
        (&["--lookback", "2y", "--step", "1s"][..], "larger --step"),
        (&["--step", "500ms"][..], "whole number of seconds"),
        (
            &["--from", "2026-11-01", "--to", "2026-11-02T00:00:00Z"][..],
            "RFC 3339 with a zone",
        ),
    ] {
        let out = sre()
            .args([
                "alert-analyzer",
                "analyze",
                "--prometheus-url",
                "http://127.0.0.1:9",
            ])
            .args(args)
            .run();
        assert_eq!(out.status, Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }

    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("h.json");
    std::fs::write(
        &bad,
        "{\"format\": \"sre-alert-history/v1\",\n \"window\": 3}",
    )
    .expect("write");
    let out = sre()
        .args(["alert-analyzer", "analyze", "--history"])
        .arg(&bad)
        .run();
    assert_eq!(out.status, Some(2));
    assert!(
        out.stderr.contains("h.json") && out.stderr.contains("line 2"),
        "{}",
        out.stderr
    );
}

#[test]
fn victoria_metrics_is_read_like_prometheus() {
    let (from, to) = window();
    let vm = sre_test_harness::service::victoria_metrics();
    // The same samples, in the text format VictoriaMetrics imports (milliseconds).
    let body: String = history(from)
        .lines()
        .filter(|l| l.starts_with("ALERTS{"))
        .map(|l| {
            let (head, t) = l.rsplit_once(' ').expect("timestamp");
            format!("{head} {}000\n", t)
        })
        .collect();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let r = agent
        .post(&format!("{}/api/v1/import/prometheus", vm.url()))
        .send(body.as_bytes())
        .expect("import");
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(vm.get("/internal/force_flush").0, 200);
    let out = sre()
        .args(["alert-analyzer", "analyze", "--prometheus-url"])
        .arg(vm.url())
        .args(["--from", &rfc3339(from), "--to", &rfc3339(to - 60)])
        .args(["-o", "json", "--fail-on", "never"])
        .run();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert!(
        codes(&v).contains(&"AA104 NightlyBackup".to_string()),
        "{:?}",
        codes(&v)
    );
    assert_eq!(v["target"]["episodes"], 9);
    // VictoriaMetrics without vmalert answers the rules API with no groups: no rules, so no
    // dead-rule findings, and nothing missing.
    assert_eq!(v["partial"], false, "{}", v["errors"]);
    assert_eq!(v["target"]["rules"], 0);
    assert!(!codes(&v).iter().any(|c| c.starts_with("AA106")));
}

#[test]
fn alertmanager_silences_and_suppressed_alerts_are_reported() {
    let am = sre_test_harness::service::alertmanager();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let post = |path: &str, body: serde_json::Value| {
        let mut r = agent
            .post(&format!("{}{path}", am.url()))
            .header("Content-Type", "application/json")
            .send(body.to_string().as_bytes())
            .expect("post");
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap_or_default())
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (code, body) = post(
        "/api/v2/silences",
        serde_json::json!({
            "matchers": [{"name": "alertname", "value": "DiskFull", "isRegex": false, "isEqual": true}],
            "startsAt": rfc3339(now - 60), "endsAt": rfc3339(now + 30 * 86_400),
            "createdBy": "ana@example.com", "comment": "known issue, ticket OPS-42"
        }),
    );
    assert_eq!(code, 200, "{body}");
    let (code, body) = post(
        "/api/v2/alerts",
        serde_json::json!([
            {"labels": {"alertname": "DiskFull", "instance": "db-1"}, "startsAt": rfc3339(now - 600)},
            {"labels": {"alertname": "HighLatency", "service": "api"}, "startsAt": rfc3339(now - 600)}
        ]),
    );
    assert_eq!(code, 200, "{body}");
    // Six NodeDown alerts, one per instance: the `pager` route groups by instance.
    let node_down: Vec<serde_json::Value> = (0..6)
        .map(|i| serde_json::json!({"labels": {"alertname": "NodeDown", "instance": format!("node-{i}")}, "startsAt": rfc3339(now - 300)}))
        .collect();
    let (code, body) = post("/api/v2/alerts", serde_json::Value::Array(node_down));
    assert_eq!(code, 200, "{body}");
    // Alertmanager applies silences when it processes the alerts: wait for that.
    let mut v = Value::Null;
    crate::wait_until(
        std::time::Duration::from_secs(20),
        "Alertmanager to apply the silence",
        || {
            let out = sre()
                .args(["alert-analyzer", "analyze", "--history"])
                .arg("examples/alert-analyzer/history.json")
                .arg("--alertmanager-url")
                .arg(am.url())
                .args(["-o", "json", "--fail-on", "never"])
                .run();
            assert_eq!(out.status, Some(0), "{}", out.stderr);
            v = serde_json::from_str(&out.stdout).expect("JSON");
            v["alertmanager"]["silenced"] == 1
                && v["alertmanager"]["groups"].as_array().map_or(0, Vec::len) == 7
        },
    );
    // Six per-instance groups at `pager`, and one group with the rest at `null`.
    let groups = v["alertmanager"]["groups"].as_array().expect("groups");
    assert_eq!(groups[0]["receiver"], "null", "{groups:?}");
    assert_eq!(groups[0]["alerts"], 2, "{groups:?}");
    assert_eq!(groups[0]["active"], 1, "the silenced DiskFull: {groups:?}");
    assert_eq!(
        groups
            .iter()
            .filter(|g| g["receiver"] == "pager" && g["alerts"] == 1)
            .count(),
        6,
        "{groups:?}"
    );
    let split = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["code"] == "AA110")
        .expect("NodeDown is split per instance");
    assert_eq!(split["resource"]["name"], "NodeDown");
    assert!(
        split["message"]
            .as_str()
            .unwrap_or("")
            .contains("pager as 6 separate notification groups"),
        "{split}"
    );
    let am_state = &v["alertmanager"];
    assert_eq!(am_state["silenced"], 1, "{am_state}");
    assert_eq!(am_state["active"], 7, "{am_state}");
    let found = codes(&v);
    let silence = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["code"] == "AA108")
        .expect("a 30-day silence is reported");
    let message = silence["message"].as_str().unwrap_or("");
    assert!(
        message.contains("ana@example.com")
            && message.contains("OPS-42")
            && message.contains("30 days"),
        "{message}"
    );
    assert!(found.contains(&"AA109 DiskFull".to_string()), "{found:?}");
    assert!(
        !found.contains(&"AA109 HighLatency".to_string()),
        "{found:?}"
    );

    // Alertmanager down: the history is still analyzed, the report is partial.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let out = sre()
        .args(["alert-analyzer", "analyze", "--history"])
        .arg("examples/alert-analyzer/history.json")
        .arg("--alertmanager-url")
        .arg(format!("http://127.0.0.1:{port}"))
        .args(["-o", "json", "--fail-on", "never"])
        .run();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(v["partial"], true);
    assert!(
        v["errors"].to_string().contains("Alertmanager"),
        "{}",
        v["errors"]
    );
    assert!(codes(&v).iter().any(|c| c.starts_with("AA104")));
}

#[test]
fn grafana_dashboard_is_written_as_importable_json() {
    let out = sre()
        .args([
            "alert-analyzer",
            "grafana-dashboard",
            "--title",
            "Team alerts",
        ])
        .run();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let d: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(d["title"], "Team alerts");
    assert_eq!(d["uid"], "sre-alert-analyzer");
    assert!(d["panels"].as_array().is_some_and(|p| p.len() >= 5));
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("dash.json");
    let out = sre()
        .args(["alert-analyzer", "grafana-dashboard", "--output-file"])
        .arg(&file)
        .run();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("written")).expect("JSON");
    assert_eq!(written["panels"], d["panels"]);
}

#[test]
fn the_json_report_follows_the_shared_schema() {
    let out = sre()
        .args(["alert-analyzer", "analyze", "--history"])
        .arg("examples/alert-analyzer/history.json")
        .args(["-o", "json"])
        .run();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    crate::formats::validate_against_docs_schema(&out.stdout);
    let v: Value = serde_json::from_str(&out.stdout).expect("JSON");
    // Its own sections sit beside the shared contract.
    assert!(v["analysis"]["review"].is_array(), "{}", v["analysis"]);
    assert_eq!(v["summary"]["critical"], 0);
}

#[test]
fn serve_exports_the_analysis_as_metrics_and_stops_on_sigterm() {
    let (from, _) = window();
    let prom = prometheus_with_history(&history(from), None);
    let prom_url = prom.url();
    let serve = crate::start_server(&[
        "alert-analyzer".as_ref(),
        "serve".as_ref(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--lookback".as_ref(),
        "30d".as_ref(),
        "--interval".as_ref(),
        "1h".as_ref(),
        "--prometheus-url".as_ref(),
        prom_url.as_ref(),
    ]);
    let base = serve.url.clone();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .build()
        .into();
    let get = |path: &str| {
        agent
            .get(&format!("{base}{path}"))
            .call()
            .ok()
            .map(|mut r| {
                (
                    r.status().as_u16(),
                    r.body_mut().read_to_string().unwrap_or_default(),
                )
            })
    };
    crate::wait_until(std::time::Duration::from_secs(60), "/readyz", || {
        get("/readyz").is_some_and(|(s, _)| s == 200)
    });
    let (status, metrics) = get("/metrics").expect("scrape");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("alert_analyzer_episodes{alertname=\"NightlyBackup\"} 8"),
        "{metrics}"
    );
    assert!(
        metrics.contains("alert_analyzer_runs_total{result=\"success\"} 1"),
        "{metrics}"
    );
    let promtool = sre_test_harness::program::require_program("promtool", "prometheus");
    let check = sre_test_harness::cli::Cli::new(promtool)
        .args(["check", "metrics"])
        .stdin(metrics.clone())
        .run();
    assert_eq!(
        check.status,
        Some(0),
        "promtool: {}{}",
        check.stdout,
        check.stderr
    );
    let (status, report) = get("/report.json").expect("report");
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&report).expect("JSON");
    assert!(v["analysis"].is_object());
    let status = serve.stop();
    assert!(status.success(), "{status:?}");
}

/// A one-request HTTP receiver on loopback: answers `status` with `body` and hands over
/// what it received (request line, headers and body).
fn receiver(status: u16, body: &'static str) -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let mut reader = std::io::BufReader::new(stream);
        let mut head = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            head.push_str(&line);
        }
        let mut payload = vec![0; length];
        let _ = reader.read_exact(&mut payload);
        let _ = tx.send(format!("{head}\n{}", String::from_utf8_lossy(&payload)));
        let mut stream = reader.into_inner();
        let _ = write!(
            stream,
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    (
        format!("http://{addr}/services/T000/B000/s3cr3tw3bh00k"),
        rx,
    )
}

#[test]
fn the_summary_goes_to_slack_as_block_kit_and_the_webhook_stays_secret() {
    let (url, got) = receiver(200, "ok");
    let out = sre()
        .env("SRE_SLACK_WEBHOOK_URL", &url)
        .args(["alert-analyzer", "analyze", "--history"])
        .arg("examples/alert-analyzer/history.json")
        .arg("--slack")
        .run();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let request = got
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the webhook got a request");
    assert!(
        request.starts_with("POST /services/T000/B000/s3cr3tw3bh00k"),
        "{request}"
    );
    assert!(request
        .to_ascii_lowercase()
        .contains("content-type: application/json"));
    let body = request.split_once("\n\n").map_or("", |(_, b)| b);
    let payload: Value = serde_json::from_str(body).expect("JSON payload");
    // Slack's incoming-webhook shape: a fallback `text` and Block Kit `blocks`.
    assert!(payload["text"]
        .as_str()
        .is_some_and(|t| t.starts_with("Alert review")));
    assert_eq!(payload["blocks"][0]["type"], "header");
    assert!(payload["blocks"].as_array().expect("blocks").iter().all(
        |b| b["type"] == "header" || (b["type"] == "section" && b["text"]["type"] == "mrkdwn")
    ));
    assert!(body.contains("KubePodCrashLooping"), "{body}");
    assert!(!out.stdout.contains("s3cr3t") && !out.stderr.contains("s3cr3t"));

    // Dry run: nothing is sent, the message is shown.
    let (url, got) = receiver(200, "ok");
    let out = sre()
        .env("SRE_SLACK_WEBHOOK_URL", &url)
        .args(["alert-analyzer", "analyze", "--history"])
        .arg("examples/alert-analyzer/history.json")
        .args(["--slack", "--dry-run"])
        .run();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("dry run") && out.stderr.contains("\"blocks\""),
        "{}",
        out.stderr
    );
    assert!(
        got.recv_timeout(std::time::Duration::from_millis(300))
            .is_err(),
        "a dry run sent"
    );
    assert!(!out.stderr.contains("s3cr3t"));

    // A revoked webhook: exit 2, Slack's answer shown, the URL not.
    let (url, _got) = receiver(404, "no_service");
    let out = sre()
        .env("SRE_SLACK_WEBHOOK_URL", &url)
        .args(["alert-analyzer", "analyze", "--history"])
        .arg("examples/alert-analyzer/history.json")
        .arg("--slack")
        .run();
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("answered 404: no_service"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("s3cr3t"), "{}", out.stderr);

    // No webhook configured.
    let out = sre()
        .env_remove("SRE_SLACK_WEBHOOK_URL")
        .args(["alert-analyzer", "analyze", "--history"])
        .arg("examples/alert-analyzer/history.json")
        .arg("--slack")
        .run();
    assert_eq!(out.status, Some(2));
    assert!(
        out.stderr.contains("SRE_SLACK_WEBHOOK_URL"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_review_is_emailed_over_starttls_with_auth_and_the_html_report_attached() {
    let smtp = sre_test_harness::service::smtp_server("alerts", "smtp-s3cret");
    let ca = sre_test_harness::service::smtp_ca_pem(&smtp);
    let send = |password: &str, ca: Option<&std::path::Path>| {
        let mut cmd = sre()
            .env("SRE_SMTP_PASSWORD", password)
            .args(["alert-analyzer", "analyze", "--history"])
            .arg("examples/alert-analyzer/history.json")
            .args([
                "--email-to",
                "oncall@example.com",
                "--email-to",
                "sre-leads@example.com",
            ])
            .args(["--email-from", "Alert review <alerts@example.com>"])
            .arg("--smtp-server")
            .arg(smtp.addr().to_string())
            .args(["--smtp-user", "alerts", "--timeout", "20s"]);
        if let Some(ca) = ca {
            cmd = cmd.arg("--smtp-ca-file").arg(ca);
        }
        cmd.run()
    };
    let out = send("smtp-s3cret", Some(&ca));
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("email: sent to oncall@example.com, sre-leads@example.com"),
        "{}",
        out.stderr
    );
    let mail = sre_test_harness::service::smtp_messages(&smtp);
    assert_eq!(mail.len(), 1, "{mail:?}");
    let m = &mail[0];
    // The server required STARTTLS and then AUTH: both happened.
    assert_eq!(m["tls"], true);
    assert_eq!(m["authenticated"], true);
    assert_eq!(m["login"], "alerts");
    assert_eq!(m["mailFrom"], "alerts@example.com");
    assert_eq!(
        m["rcptTos"],
        serde_json::json!(["oncall@example.com", "sre-leads@example.com"])
    );
    let data = m["data"].as_str().expect("message text");
    assert!(
        data.contains("Subject: Alert review 2026-09-30T00:00:00Z to 2026-10-07T00:00:00Z"),
        "{data}"
    );
    assert!(data.contains("Content-Type: multipart/mixed"), "{data}");
    assert!(data.contains("filename=\"alert-review.html\""), "{data}");
    assert!(data.contains("KubePodCrashLooping"), "{data}");
    for o in [&out.stdout, &out.stderr] {
        assert!(!o.contains("smtp-s3cret"));
    }

    // A wrong password: exit 2 with the server's refusal and a hint, no password shown.
    let out = send("wrong-pw", Some(&ca));
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("535") && out.stderr.contains("hint"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("wrong-pw"));
    // The server's certificate is verified: without its CA the send fails.
    let out = send("smtp-s3cret", None);
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("email: sending through")
            && out.stderr.to_lowercase().contains("certificate"),
        "{}",
        out.stderr
    );
    assert_eq!(sre_test_harness::service::smtp_messages(&smtp).len(), 1);

    // Bad flags fail before any work, naming the flag.
    let out = sre()
        .args(["alert-analyzer", "analyze", "--history"])
        .arg("examples/alert-analyzer/history.json")
        .args([
            "--email-to",
            "not an address",
            "--email-from",
            "a@b.c",
            "--smtp-server",
            "mx",
        ])
        .run();
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("--email-to `not an address` is not an email address"),
        "{}",
        out.stderr
    );
    let out = sre()
        .args(["alert-analyzer", "analyze", "--history"])
        .arg("examples/alert-analyzer/history.json")
        .args([
            "--email-to",
            "a@b.c",
            "--email-from",
            "a@b.c",
            "--smtp-server",
            "mx:25",
        ])
        .args(["--smtp-tls", "none", "--smtp-user", "u"])
        .run();
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("refusing to send the SMTP password unencrypted"),
        "{}",
        out.stderr
    );
}

#[test]
fn jira_gets_one_issue_per_top_offender_and_reruns_do_not_duplicate() {
    use sre_test_harness::jira::JiraStandIn;
    let run = |url: &str, api: &str, user: Option<&str>, extra: &[&str]| {
        let mut cmd = sre()
            .env("SRE_JIRA_TOKEN", "jira-t0ken")
            .args(["alert-analyzer", "analyze", "--history"])
            .arg("examples/alert-analyzer/history.json")
            .args([
                "--jira-url",
                url,
                "--jira-project",
                "OPS",
                "--jira-top",
                "3",
                "--jira-api",
                api,
            ])
            .args(extra);
        if let Some(u) = user {
            cmd = cmd.args(["--jira-user", u]);
        }
        cmd.run()
    };
    // Jira Cloud: API 3, Basic auth with the account email and API token.
    let cloud = JiraStandIn::start("Basic b3BzQGV4YW1wbGUuY29tOmppcmEtdDBrZW4=", true);
    let out = run(cloud.url(), "3", Some("ops@example.com"), &[]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let issues = cloud.issues();
    assert_eq!(issues.len(), 3, "{}", out.stderr);
    let first = &issues[0].fields;
    // The review list's #1 (see the JSON report's analysis.review).
    let report = sre()
        .args(["alert-analyzer", "analyze", "--history"])
        .arg("examples/alert-analyzer/history.json")
        .args(["-o", "json", "--fail-on", "never"])
        .run();
    let v: Value = serde_json::from_str(&report.stdout).expect("JSON");
    let top = v["analysis"]["review"][0]["alertname"]
        .as_str()
        .expect("review #1");
    assert!(
        first["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with(&format!("Alert review: {top} (#1 of"))),
        "{first}"
    );
    assert_eq!(
        first["labels"],
        serde_json::json!(["alert-analyzer", format!("alert-analyzer-{top}")])
    );
    assert_eq!(first["issuetype"]["name"], "Task");
    sre_test_harness::jira::adf_doc(&first["description"]).expect("valid ADF");
    assert!(
        first["description"].to_string().contains("What to change"),
        "{first}"
    );
    assert!(out.stderr.contains("jira: created OPS-1"), "{}", out.stderr);

    // A rerun finds the open issues by label and creates nothing.
    let out = run(cloud.url(), "3", Some("ops@example.com"), &[]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(cloud.issues().len(), 3);
    assert!(
        out.stderr.contains("already has the open issue OPS-1"),
        "{}",
        out.stderr
    );
    // Once resolved, the next run opens a new one for that alert only.
    cloud.resolve("OPS-1");
    let out = run(cloud.url(), "3", Some("ops@example.com"), &[]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let issues = cloud.issues();
    assert_eq!(issues.len(), 4);
    assert_eq!(issues[3].fields["labels"], first["labels"]);
    assert!(
        cloud.requests().iter().all(|r| !r.contains("/rest/api/2/")),
        "{:?}",
        cloud.requests()
    );
    for o in [&out.stdout, &out.stderr] {
        assert!(!o.contains("jira-t0ken"));
    }

    // Data Center: API 2 with a personal access token; search falls back to /rest/api/2/search.
    let dc = JiraStandIn::start("Bearer jira-t0ken", false);
    let out = run(dc.url(), "2", None, &["--jira-label", "alert-review"]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let issues = dc.issues();
    assert_eq!(issues.len(), 3);
    assert!(issues
        .iter()
        .all(|i| i.api == 2 && i.fields["description"].is_string()));
    assert!(issues[0].fields["labels"][1]
        .as_str()
        .is_some_and(|l| l.starts_with("alert-review-")));
    assert!(
        dc.requests()
            .iter()
            .any(|r| r.starts_with("GET /rest/api/2/search?")),
        "{:?}",
        dc.requests()
    );

    // A refused token: exit 2 with a hint, the token not shown; dry run contacts nothing.
    let out = run(cloud.url(), "3", Some("intruder@example.com"), &[]);
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("answered 401") && out.stderr.contains("--jira-user"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("jira-t0ken"));
    let before = dc.requests().len();
    let out = run(dc.url(), "2", None, &["--dry-run"]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("dry run: unless an open OPS issue has the label"),
        "{}",
        out.stderr
    );
    assert_eq!(dc.requests().len(), before, "a dry run contacted Jira");
    // No token: exit 2 before any work, naming the variable.
    let out = sre()
        .args(["alert-analyzer", "analyze", "--history"])
        .arg("examples/alert-analyzer/history.json")
        .args(["--jira-url", dc.url(), "--jira-project", "OPS"])
        .run();
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("SRE_JIRA_TOKEN"), "{}", out.stderr);
    // API 3 is Cloud's: without --jira-user it is refused before any work.
    let out = sre()
        .env("SRE_JIRA_TOKEN", "jira-t0ken")
        .args(["alert-analyzer", "analyze", "--history"])
        .arg("examples/alert-analyzer/history.json")
        .args([
            "--jira-url",
            dc.url(),
            "--jira-project",
            "OPS",
            "--jira-api",
            "3",
        ])
        .run();
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--jira-user EMAIL"), "{}", out.stderr);
    // A plain-http Jira that is not on loopback would get the token in clear.
    let out = sre()
        .env("SRE_JIRA_TOKEN", "jira-t0ken")
        .args(["alert-analyzer", "analyze", "--history"])
        .arg("examples/alert-analyzer/history.json")
        .args([
            "--jira-url",
            "http://jira.example.com",
            "--jira-project",
            "OPS",
        ])
        .run();
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("plain http"), "{}", out.stderr);
    // A malformed project key.
    let out = sre()
        .env("SRE_JIRA_TOKEN", "jira-t0ken")
        .args(["alert-analyzer", "analyze", "--history"])
        .arg("examples/alert-analyzer/history.json")
        .args(["--jira-url", dc.url(), "--jira-project", "ops"])
        .run();
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("--jira-project `ops` is not a project key"),
        "{}",
        out.stderr
    );
}

/// The tutorial's example output is what the command prints (its `...` lines aside).
#[test]
fn the_tutorials_example_output_is_what_the_command_prints() {
    let doc =
        std::fs::read_to_string(sre_test_harness::workspace_root().join("docs/alert-analyzer.md"))
            .expect("docs/alert-analyzer.md");
    let example = doc
        .split("```text\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a text block in docs/alert-analyzer.md");
    let out = sre()
        .args(["alert-analyzer", "analyze", "--history"])
        .arg("examples/alert-analyzer/history.json")
        .args(["--color", "never"])
        .run();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let lines: Vec<&str> = example.lines().filter(|l| *l != "...").collect();
    assert!(lines.len() > 5, "{example}");
    for line in lines {
        assert!(
            out.stdout.lines().any(|l| l.trim_end() == line.trim_end()),
            "docs/alert-analyzer.md shows a line the command does not print:\n{line}\n--- printed:\n{}",
            out.stdout
        );
    }
}
