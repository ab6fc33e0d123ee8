//! `sre chaos-load proxy` in front of a real nginx, measured by `sre chaos-load run`:
//! seeded error rates, latency, resets, timeouts, bandwidth, the admin API and metrics.

use crate::sre;
use serde_json::Value;
use sre_test_harness::service::{nginx, nginx_requests};
use std::time::Duration;

/// A running proxy: the process, its URL and its admin URL.
struct Proxy {
    server: crate::Server,
    url: String,
    admin: String,
}

/// Starts `sre chaos-load proxy` on free ports in front of `upstream` with `extra` flags;
/// its report goes to `report`.
fn proxy(upstream: &str, report: &std::path::Path, extra: &[&str]) -> Proxy {
    let mut args: Vec<String> = [
        "chaos-load",
        "proxy",
        "--listen",
        "127.0.0.1:0",
        "--admin",
        "127.0.0.1:0",
        "--upstream",
        upstream,
        "-d",
        "120s",
        "-o",
        "json",
        "--output-file",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    args.push(report.display().to_string());
    args.extend(extra.iter().map(|s| (*s).to_string()));
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let server = crate::start_server(&args);
    // "http://127.0.0.1:P, admin on http://127.0.0.1:A, forwarding to ..."
    let line = server.url.clone();
    let url = line.split(',').next().unwrap_or_default().to_string();
    let admin = line
        .split("admin on ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or_default()
        .to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && admin.starts_with("http://127.0.0.1:"),
        "{line}"
    );
    Proxy { server, url, admin }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// (status, body) of an admin request.
fn admin(method: &str, url: &str, body: Option<&str>) -> (u16, String) {
    let a = agent();
    let resp = match (method, body) {
        ("GET", _) => a.get(url).call(),
        ("DELETE", _) => a.delete(url).call(),
        ("POST", Some(b)) => a
            .post(url)
            .header("content-type", "application/json")
            .send(b),
        ("POST", None) => a.post(url).send_empty(),
        ("PUT", Some(b)) => a
            .put(url)
            .header("content-type", "application/json")
            .send(b),
        _ => panic!("{method} {url}"),
    };
    let mut resp = resp.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

fn load(url: &str, extra: &[&str]) -> Value {
    let out = sre()
        .args([
            "chaos-load",
            "run",
            "--url",
            url,
            "-o",
            "json",
            "--threads",
            "1",
        ])
        .args(extra)
        .run();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).expect("JSON");
    v["summary"].clone()
}

use crate::metric;

#[test]
fn a_seeded_error_rate_holds_and_errors_never_reach_the_upstream() {
    let ngx = nginx(false);
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("proxy.json");
    let p = proxy(
        &ngx.url(),
        &report,
        &["--error-rate", "30%", "--seed", "42"],
    );
    let s = load(&format!("{}/", p.url), &["-n", "2000", "-c", "8"]);
    let n = |code: &str| s["statusCodes"][code].as_u64().unwrap_or(0);
    assert_eq!(n("200") + n("503"), 2000, "{s}");
    // 30% of 2,000: 600 expected; 25% to 35% holds for any seed with room to spare.
    assert!((500..=700).contains(&n("503")), "{s}");
    // Only the forwarded requests reached nginx.
    crate::wait_until(Duration::from_secs(10), "nginx's log", || {
        nginx_requests(&ngx) as u64 >= n("200")
    });
    assert_eq!(nginx_requests(&ngx) as u64, n("200"));
    // The metrics count the same, and are valid Prometheus text.
    let (code, text) = admin("GET", &format!("{}/metrics", p.admin), None);
    assert_eq!(code, 200);
    assert_eq!(
        metric(&text, "chaos_proxy_faults_injected_total{type=\"error\"}"),
        n("503"),
        "{text}"
    );
    assert_eq!(metric(&text, "chaos_proxy_requests_total"), 2000);
    let promtool = sre_test_harness::program::require_program("promtool", "prometheus");
    let check = sre_test_harness::Cli::new(promtool)
        .args(["check", "metrics"])
        .stdin(text.clone())
        .run();
    assert_eq!(check.status, Some(0), "{}{}", check.stdout, check.stderr);
    // The same seed and the same sequence of requests: the same number of errors.
    let report2 = dir.path().join("proxy2.json");
    let p2 = proxy(
        &ngx.url(),
        &report2,
        &["--error-rate", "30%", "--seed", "42"],
    );
    let s2 = load(&format!("{}/", p2.url), &["-n", "2000", "-c", "8"]);
    assert_eq!(s2["statusCodes"]["503"], s["statusCodes"]["503"], "{s2}");
    // SIGTERM: the report is written, with the counts.
    assert!(p.server.stop().success());
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("JSON");
    assert_eq!(r["summary"]["requests"], 2000, "{r}");
    assert_eq!(r["summary"]["injected"]["error"].as_u64(), Some(n("503")));
    assert_eq!(
        r["summary"]["upstreamAnswers"]["200"].as_u64(),
        Some(n("200"))
    );
    assert_eq!(r["summary"]["interrupted"], true);
    assert_eq!(r["target"]["seed"], 42);
}

#[test]
fn latency_resets_timeouts_and_bandwidth_show_in_the_load_generator() {
    let ngx = nginx(false);
    // A 512 KiB file for the bandwidth fault.
    let files = ngx.dir().join("files");
    std::fs::create_dir_all(&files).expect("dir");
    std::fs::write(files.join("big.bin"), vec![b'x'; 512 * 1024]).expect("file");
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("proxy.json");
    let p = proxy(
        &ngx.url(),
        &report,
        &["--latency", "100ms", "--path", "/slow"],
    );
    let faults = format!("{}/faults", p.admin);

    // Latency, scoped to /slow: at least 100 ms there, and nothing added elsewhere.
    let s = load(&format!("{}/slow", p.url), &["-n", "20", "-c", "2"]);
    assert_eq!(s["statusCodes"]["200"], 20, "{s}");
    assert!(
        s["latencyMs"]["min"].as_f64().unwrap_or(0.0) >= 100.0,
        "{s}"
    );
    let s = load(&format!("{}/", p.url), &["-n", "20", "-c", "2"]);
    assert_eq!(s["statusCodes"]["200"], 20, "{s}");
    let (_, text) = admin("GET", &format!("{}/metrics", p.admin), None);
    assert_eq!(
        metric(&text, "chaos_proxy_faults_injected_total{type=\"latency\"}"),
        20,
        "{text}"
    );

    // Resets: connection errors, no answers.
    let (code, body) = admin(
        "POST",
        &faults,
        Some(r#"{"type": "reset", "path": "/reset"}"#),
    );
    assert_eq!(code, 201, "{body}");
    let s = load(&format!("{}/reset", p.url), &["-n", "10", "-c", "1"]);
    assert_eq!(s["errors"], serde_json::json!({"reset": 10}), "{s}");

    // Timeouts: the client's timeout fires.
    let (code, body) = admin(
        "POST",
        &faults,
        Some(r#"{"type": "timeout", "path": "/hang", "duration": "60s"}"#),
    );
    assert_eq!(code, 201, "{body}");
    let s = load(
        &format!("{}/hang", p.url),
        &["-n", "4", "-c", "2", "--timeout", "300ms"],
    );
    assert_eq!(s["errors"], serde_json::json!({"timeout": 4}), "{s}");

    // Bandwidth: 512 KiB at 256 KiB/s takes at least 2 s (less the first chunk).
    let (code, body) = admin(
        "POST",
        &faults,
        Some(r#"{"type": "bandwidth", "bandwidth": "256KiB/s", "path": "/files/"}"#),
    );
    assert_eq!(code, 201, "{body}");
    let s = load(&format!("{}/files/big.bin", p.url), &["-n", "1", "-c", "1"]);
    assert_eq!(s["statusCodes"]["200"], 1, "{s}");
    assert!(s["bytesIn"].as_u64().unwrap_or(0) >= 512 * 1024, "{s}");
    assert!(
        s["latencyMs"]["min"].as_f64().unwrap_or(0.0) >= 1800.0,
        "{s}"
    );

    // The listing shows all four, by name.
    let (code, body) = admin("GET", &faults, None);
    assert_eq!(code, 200);
    let list: Value = serde_json::from_str(&body).expect("JSON");
    let names: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["latency", "reset", "timeout", "bandwidth"]);
}

#[test]
fn the_admin_api_changes_faults_during_a_run_and_explains_its_errors() {
    let ngx = nginx(false);
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("proxy.json");
    let p = proxy(&ngx.url(), &report, &[]);
    let faults = format!("{}/faults", p.admin);
    let url = format!("{}/", p.url);
    let run = std::thread::spawn(move || load(&url, &["--rate", "200", "-d", "3s", "-c", "4"]));
    // Clean first; then every request fails; then clean again.
    crate::wait_until(Duration::from_secs(20), "50 requests through", || {
        nginx_requests(&ngx) >= 50
    });
    let (code, body) = admin(
        "POST",
        &faults,
        Some(r#"{"name": "outage", "type": "error", "status": 500, "body": "down\n"}"#),
    );
    assert_eq!(code, 201, "{body}");
    let injected = || {
        metric(
            &admin("GET", &format!("{}/metrics", p.admin), None).1,
            "chaos_proxy_faults_injected_total{type=\"error\"}",
        )
    };
    crate::wait_until(Duration::from_secs(20), "50 injected errors", || {
        injected() >= 50
    });
    assert_eq!(admin("DELETE", &format!("{faults}/outage"), None).0, 204);
    let s = run.join().expect("run");
    let n = |code: &str| s["statusCodes"][code].as_u64().unwrap_or(0);
    assert!(n("200") >= 50 && n("500") >= 50, "{s}");
    assert_eq!(n("500"), injected(), "{s}");

    // Mistakes get a status and a message that says what to do.
    let (code, body) = admin("POST", &faults, Some("{not json"));
    assert_eq!(code, 400);
    assert!(body.contains("not a fault"), "{body}");
    let (code, body) = admin("POST", &faults, Some(r#"{"type": "error", "rate": 2}"#));
    assert_eq!(code, 400);
    assert!(body.contains("between 0 and 1"), "{body}");
    assert_eq!(admin("POST", &faults, Some(r#"{"type": "reset"}"#)).0, 201);
    let (code, body) = admin("POST", &faults, Some(r#"{"type": "reset"}"#));
    assert_eq!(code, 409, "{body}");
    assert_eq!(admin("DELETE", &format!("{faults}/nothing"), None).0, 404);
    let (code, body) = admin(
        "PUT",
        &format!("{faults}/reset"),
        Some(r#"{"type": "latency", "latency": "5ms"}"#),
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"latency\":\"5ms\""), "{body}");
    assert_eq!(admin("POST", &format!("{}/reset", p.admin), None).0, 204);
    assert_eq!(admin("GET", &faults, None).1.trim(), "[]");
}

#[test]
fn proxy_input_errors_and_dry_run() {
    for (args, want) in [
        (
            vec!["--upstream", "https://127.0.0.1:1"],
            "https upstreams are not supported",
        ),
        (
            vec!["--upstream", "http://127.0.0.1:1/api"],
            "without a path",
        ),
        (
            vec!["--upstream", "http://127.0.0.1:1", "--error-rate", "150%"],
            "--error: rate 1.5 is not between 0 and 1",
        ),
        (
            vec!["--upstream", "http://127.0.0.1:1", "--bandwidth", "fast"],
            "needs a unit per second",
        ),
        (
            vec![
                "--upstream",
                "http://127.0.0.1:1",
                "--latency",
                "100ms",
                "--path",
                "api",
            ],
            "must start with /",
        ),
    ] {
        let out = sre()
            .args(["chaos-load", "proxy", "--listen", "127.0.0.1:0"])
            .args(&args)
            .run();
        assert_eq!(out.status, Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(want), "{args:?}: {}", out.stderr);
    }
    // --dry-run: the plan, and nothing listens.
    let out = sre()
        .args(["chaos-load", "proxy", "--listen", "127.0.0.1:0"])
        .args([
            "--upstream",
            "http://127.0.0.1:1",
            "--error-rate",
            "10%",
            "--dry-run",
        ])
        .run();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("dry run: would listen on 127.0.0.1:0"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("\"type\":\"error\",\"rate\":0.1,\"status\":503"),
        "{}",
        out.stdout
    );
    assert!(!out.stderr.contains("listening on"), "{}", out.stderr);
}

#[test]
fn tcp_mode_in_front_of_a_real_postgresql() {
    let pg = sre_test_harness::service::postgres();
    let psql = sre_test_harness::program::require_program("psql", "postgresql-client");
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("proxy.json");
    let p = proxy(
        &format!("127.0.0.1:{}", pg.port()),
        &report,
        &["--tcp", "--seed", "3"],
    );
    let port = p.url.rsplit(':').next().unwrap_or_default().to_string();
    let faults = format!("{}/faults", p.admin);
    // (exit status, output, how long it took) of a query through the proxy.
    let query = |sql: &str| {
        let started = std::time::Instant::now();
        let out = sre_test_harness::Cli::new(&psql)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                "postgres",
            ])
            .args(["-X", "-tA", "-c", sql])
            .env("PGCONNECT_TIMEOUT", "2")
            .run();
        (out.status, out.stdout + &out.stderr, started.elapsed())
    };
    let (status, out, _) = query("select 41 + 1");
    assert_eq!((status, out.trim()), (Some(0), "42"), "{out}");

    // Latency on every chunk both ways: the startup, the authentication, the query and
    // its result each wait 100 ms.
    assert_eq!(
        admin(
            "POST",
            &faults,
            Some(r#"{"type": "latency", "latency": "100ms"}"#)
        )
        .0,
        201
    );
    let (status, out, took) = query("select 41 + 1");
    assert_eq!((status, out.trim()), (Some(0), "42"), "{out}");
    assert!(took >= Duration::from_millis(400), "{took:?}");
    assert_eq!(admin("DELETE", &format!("{faults}/latency"), None).0, 204);

    // Slices of 3 bytes: a correct server reassembles them.
    assert_eq!(
        admin(
            "POST",
            &faults,
            Some(r#"{"type": "slicer", "size": 3, "sizeVariation": 2, "delay": "1ms"}"#)
        )
        .0,
        201
    );
    let (status, out, _) = query("select 41 + 1");
    assert_eq!((status, out.trim()), (Some(0), "42"), "{out}");
    assert_eq!(admin("DELETE", &format!("{faults}/slicer"), None).0, 204);

    // Bandwidth: 200,000 bytes of result at 100 KiB/s take over a second and a half.
    assert_eq!(
        admin(
            "POST",
            &faults,
            Some(r#"{"type": "bandwidth", "bandwidth": "100KiB/s"}"#)
        )
        .0,
        201
    );
    let (status, out, took) = query("select repeat('x', 200000)");
    assert_eq!(status, Some(0), "{out}");
    assert_eq!(out.trim().len(), 200_000);
    assert!(took >= Duration::from_millis(1500), "{took:?}");
    assert_eq!(admin("DELETE", &format!("{faults}/bandwidth"), None).0, 204);

    // A reset connection, a data limit, a hang and a proxy that is down: the client fails,
    // each way as it would against a broken network or server.
    for (fault, wants) in [
        (
            r#"{"type": "reset"}"#,
            &["reset", "closed the connection"][..],
        ),
        (
            r#"{"type": "limitData", "bytes": "64"}"#,
            &["closed the connection", "reset"][..],
        ),
        (
            r#"{"type": "timeout", "duration": "30s"}"#,
            &["timeout"][..],
        ),
        (r#"{"type": "down"}"#, &["Connection refused"][..]),
    ] {
        assert_eq!(admin("POST", &faults, Some(fault)).0, 201, "{fault}");
        let (status, out, _) = query("select 41 + 1");
        assert_eq!(status, Some(2), "{fault}: {out}");
        assert!(wants.iter().any(|w| out.contains(w)), "{fault}: {out}");
        assert_eq!(admin("POST", &format!("{}/reset", p.admin), None).0, 204);
    }
    // Up again: the port is bound anew.
    crate::wait_until(Duration::from_secs(10), "the proxy to listen again", || {
        query("select 41 + 1").0 == Some(0)
    });

    let (_, text) = admin("GET", &format!("{}/metrics", p.admin), None);
    assert_eq!(
        metric(&text, "chaos_proxy_faults_injected_total{type=\"reset\"}"),
        1,
        "{text}"
    );
    assert!(
        metric(&text, "chaos_proxy_connections_total") >= 8,
        "{text}"
    );
    assert!(p.server.stop().success());
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("JSON");
    assert_eq!(
        r["target"]["upstream"],
        format!("tcp://127.0.0.1:{}", pg.port())
    );
}
