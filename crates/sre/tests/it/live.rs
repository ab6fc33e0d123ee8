//! Live mode against the Kubernetes API test server (HTTPS, bearer token, CA-verified TLS):
//! parity with snapshot mode, RBAC degradation, retries, deadlines, pagination, snapshot
//! capture, several clusters, and the exporter.

use crate::{sre, EXAMPLE};
use serde_json::Value;
use sre_test_harness::cli::{workspace_root, CliOutput};
use sre_test_harness::kube::{load_fixtures, Deny, KubeTestServer, Options};
use std::path::{Path, PathBuf};
use std::time::Duration;

const TOKEN: &str = "s3cr3t-token-for-tests";

fn example_objects() -> Vec<Value> {
    let dir = workspace_root().join(EXAMPLE);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("example dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    load_fixtures(&files).expect("example loads")
}

fn tls_server(objects: Vec<Value>) -> KubeTestServer {
    KubeTestServer::start_with(
        objects,
        Options {
            tls: true,
            token: Some(TOKEN.to_string()),
            ..Options::default()
        },
    )
    .expect("test server starts")
}

fn live(server: &KubeTestServer, args: &[&str]) -> CliOutput {
    sre()
        .args(["k8s-doctor"])
        .args(args)
        .arg("--kubeconfig")
        .arg(server.kubeconfig())
        .timeout(Duration::from_secs(120))
        .run()
}

fn json(out: &CliOutput) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); status {:?}\nstdout: {}\nstderr: {}",
            out.status, out.stdout, out.stderr
        )
    })
}

/// The findings without what legitimately differs between sources (nothing, today).
fn findings(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {}",
                f["severity"].as_str().unwrap_or(""),
                f["code"].as_str().unwrap_or(""),
                f["resource"],
                f["message"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn live_findings_equal_snapshot_findings_for_every_command() {
    let server = tls_server(example_objects());
    for command in ["healthcheck", "diagnostics", "audit", "check"] {
        let l = live(&server, &[command, "-o", "json", "--fail-on", "never"]);
        assert_eq!(l.status, Some(0), "{command} live: {}", l.stderr);
        let s = sre()
            .args(["k8s-doctor", command, "--snapshot", EXAMPLE, "-o", "json"])
            .args(["--fail-on", "never"])
            .run();
        assert_eq!(s.status, Some(0), "{command} snapshot: {}", s.stderr);
        let (lj, sj) = (json(&l), json(&s));
        assert_eq!(lj["target"]["source"], "live");
        assert_eq!(lj["partial"], false, "{command}: {}", lj["errors"]);
        let (lf, sf) = (findings(&lj), findings(&sj));
        assert!(!lf.is_empty(), "{command}: no findings live");
        assert_eq!(lf, sf, "{command}: live and snapshot findings differ");
        assert_eq!(lj["summary"], sj["summary"], "{command}");
        assert!(
            !l.stderr.contains(TOKEN) && !l.stdout.contains(TOKEN),
            "the token leaked"
        );
    }
}

#[test]
fn forbidden_namespace_degrades_to_a_partial_report() {
    let server = tls_server(example_objects());
    server
        .set_faults(|f| {
            f.deny.push(Deny {
                resource: "pods".into(),
                verb: "list".into(),
                namespace: Some("shop".into()),
            })
        })
        .expect("faults");
    let out = live(
        &server,
        &["diagnostics", "-o", "json", "--fail-on", "never"],
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let r = json(&out);
    assert_eq!(r["partial"], true);
    let errors = r["errors"].as_array().expect("errors");
    assert!(
        errors
            .iter()
            .any(|e| e["source"] == "pods in namespace shop (list)"
                && e["message"].as_str().unwrap_or("").contains("forbidden")),
        "{errors:?}"
    );
    // The test server's rule also denies metrics.k8s.io's `pods` in shop; nothing else is
    // missing.
    assert!(
        errors.iter().all(|e| e["source"]
            .as_str()
            .is_some_and(|s| s.ends_with("in namespace shop (list)"))),
        "only shop's pods are missing: {errors:?}"
    );
    let namespaces: Vec<&str> = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        // The checks that read pods (events about shop's pods are still readable).
        .filter(|f| {
            [
                "KD201", "KD202", "KD203", "KD204", "KD205", "KD206", "KD208", "KD209",
            ]
            .contains(&f["code"].as_str().unwrap_or(""))
        })
        .filter_map(|f| f["resource"]["namespace"].as_str())
        .collect();
    assert!(!namespaces.is_empty(), "other namespaces were read");
    assert!(!namespaces.contains(&"shop"), "{namespaces:?}");

    // Credentials that may read nothing at all: an error, not a clean partial report.
    server
        .set_faults(|f| f.deny = vec![Deny::new("*", "list")])
        .expect("faults");
    let out = live(&server, &["diagnostics"]);
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("nothing could be read"),
        "{}",
        out.stderr
    );
}

#[test]
fn bursts_of_5xx_and_429_are_retried_to_the_same_findings() {
    let server = tls_server(example_objects());
    let clean = json(&live(
        &server,
        &["check", "-o", "json", "--fail-on", "never"],
    ));
    for (code, retry_after) in [(503, 0), (429, 1)] {
        server
            .set_faults(|f| f.fail_every = Some((3, code, retry_after)))
            .expect("faults");
        let out = live(&server, &["check", "-o", "json", "--fail-on", "never"]);
        assert_eq!(out.status, Some(0), "{code}: {}", out.stderr);
        let r = json(&out);
        assert_eq!(r["partial"], false, "{code}: {}", r["errors"]);
        assert_eq!(findings(&r), findings(&clean), "{code}");
        assert!(
            r["target"]["apiRetries"].as_u64().unwrap_or(0) > 0,
            "{code}: no retries counted: {}",
            r["target"]
        );
    }
}

#[test]
fn a_hung_or_slow_server_ends_in_exit_2_within_the_deadline() {
    let server = tls_server(example_objects());
    server.set_faults(|f| f.hang = true).expect("faults");
    let out = live(&server, &["healthcheck", "--timeout", "1s"]);
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("no answer within 1s"), "{}", out.stderr);
    assert!(out.stderr.contains(server.url()), "{}", out.stderr);

    server
        .set_faults(|f| {
            f.hang = false;
            f.latency = Duration::from_millis(700);
        })
        .expect("faults");
    let out = live(&server, &["check", "--timeout", "10s", "--deadline", "1s"]);
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("did not finish within the deadline of 1s"),
        "{}",
        out.stderr
    );
}

fn pods(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            serde_json::json!({
                "kind": "Pod", "apiVersion": "v1",
                "metadata": {"name": format!("p-{i:05}"), "namespace": format!("ns-{}", i % 7)},
                "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]},
                "status": {"phase": "Running"}
            })
        })
        .collect()
}

#[test]
fn pagination_returns_every_object_once() {
    let requests = |n: usize| {
        let server = tls_server(pods(n));
        let out = live(
            &server,
            &["diagnostics", "-o", "json", "--fail-on", "never"],
        );
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        let r = json(&out);
        assert_eq!(r["target"]["pods"], n, "{}", r["target"]);
        assert_eq!(r["target"]["duplicateObjects"], 0);
        r["target"]["apiRequests"].as_u64().expect("apiRequests")
    };
    let one = requests(1);
    // An expired continue token (410) mid-list: the list starts over once and is still
    // complete, each pod once.
    let server = tls_server(pods(1_203));
    server
        .set_faults(|f| f.expire_continue = 1)
        .expect("faults");
    let out = live(
        &server,
        &["diagnostics", "-o", "json", "--fail-on", "never"],
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let r = json(&out);
    assert_eq!(r["target"]["pods"], 1_203, "{}", r["target"]);
    assert_eq!(r["target"]["duplicateObjects"], 0);
    assert_eq!(r["partial"], false, "{}", r["errors"]);
    // 5,003 pods are 11 pages of 500: ten requests more than a single page.
    let many = requests(5_003);
    assert_eq!(
        many,
        one + 10,
        "requests: {one} for 1 pod, {many} for 5,003"
    );
}

#[test]
fn unreachable_and_unauthorized_clusters_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster: {{server: \"http://127.0.0.1:{port}\"}}\ncontexts:\n- name: gone\n  context: {{cluster: gone, user: u}}\ncurrent-context: gone\nusers:\n- name: u\n  user: {{}}\n"),
    )
    .expect("write");
    let out = sre()
        .args(["k8s-doctor", "healthcheck", "--kubeconfig"])
        .arg(&kubeconfig)
        .run();
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("127.0.0.1:{port}")) && out.stderr.contains("hint:"),
        "{}",
        out.stderr
    );

    let server = tls_server(example_objects());
    let wrong = dir.path().join("wrong");
    let text = std::fs::read_to_string(server.kubeconfig()).expect("kubeconfig");
    std::fs::write(&wrong, text.replace(TOKEN, "expired-token")).expect("write");
    let out = sre()
        .args(["k8s-doctor", "healthcheck", "--kubeconfig"])
        .arg(&wrong)
        .run();
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("rejected the credentials (401)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("expired-token"), "{}", out.stderr);

    let out = sre()
        .args(["k8s-doctor", "healthcheck", "-n", "Shop_1", "--kubeconfig"])
        .arg(server.kubeconfig())
        .run();
    assert_eq!(out.status, Some(2));
    assert!(
        out.stderr.contains("is not a namespace name"),
        "{}",
        out.stderr
    );

    let out = sre()
        .args([
            "k8s-doctor",
            "healthcheck",
            "--context",
            "nope",
            "--kubeconfig",
        ])
        .arg(server.kubeconfig())
        .run();
    assert_eq!(out.status, Some(2));
    assert!(
        out.stderr
            .contains("context `nope` is not in the kubeconfig"),
        "{}",
        out.stderr
    );
}

#[test]
fn api_server_health_and_missing_metrics_api_are_findings() {
    let server = KubeTestServer::start_with(
        example_objects(),
        Options {
            tls: true,
            token: Some(TOKEN.to_string()),
            metrics_api: false,
            ..Options::default()
        },
    )
    .expect("starts");
    server
        .set_faults(|f| f.unready = Some("etcd".into()))
        .expect("faults");
    let out = live(&server, &["healthcheck", "-o", "json"]);
    assert_eq!(out.status, Some(1), "{}", out.stderr);
    let r = json(&out);
    let kd105: Vec<&Value> = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == "KD105")
        .collect();
    assert_eq!(kd105.len(), 1, "{}", r["findings"]);
    assert!(kd105[0]["message"]
        .as_str()
        .unwrap_or("")
        .contains("failing checks: etcd"));
    assert!(
        r["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["code"] == "KD106" && f["severity"] == "info"),
        "{}",
        r["findings"]
    );
}

#[test]
fn namespace_flag_limits_findings_in_live_and_snapshot_mode() {
    let server = tls_server(example_objects());
    let l = json(&live(
        &server,
        &["check", "-n", "shop", "-o", "json", "--fail-on", "never"],
    ));
    let s = json(
        &sre()
            .args(["k8s-doctor", "check", "-n", "shop", "--snapshot", EXAMPLE])
            .args(["-o", "json", "--fail-on", "never"])
            .run(),
    );
    for r in [&l, &s] {
        let other: Vec<&Value> = r["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| {
                f["resource"]["namespace"]
                    .as_str()
                    .is_some_and(|n| n != "shop" && n != "kube-system")
            })
            .collect();
        assert!(other.is_empty(), "{other:?}");
        assert!(r["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["resource"]["namespace"] == "shop"));
    }
    assert_eq!(findings(&l), findings(&s));
}

#[test]
fn snapshot_capture_reads_back_to_the_live_report_without_secrets() {
    let mut objects = example_objects();
    objects.push(serde_json::json!({
        "kind": "Secret", "apiVersion": "v1",
        "metadata": {"name": "db", "namespace": "shop"},
        "data": {"password": "aHVudGVyMg=="}
    }));
    let server = tls_server(objects);
    let dir = tempfile::tempdir().expect("tmp");
    let out_dir = dir.path().join("capture");
    let out = live(
        &server,
        &["snapshot", "--output-dir", out_dir.to_str().expect("utf-8")],
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("20 pods"), "{}", out.stdout);
    let mut names = Vec::new();
    for e in std::fs::read_dir(&out_dir).expect("written") {
        let p = e.expect("entry").path();
        let text = std::fs::read_to_string(&p).expect("text");
        assert!(
            !text.contains("aHVudGVyMg=="),
            "{} holds a secret",
            p.display()
        );
        assert!(!text.contains(TOKEN), "{} holds the token", p.display());
        names.push(
            p.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string(),
        );
    }
    assert!(names.contains(&"capture.json".to_string()), "{names:?}");
    assert!(names.contains(&"version.json".to_string()), "{names:?}");
    let from_capture = json(
        &sre()
            .args(["k8s-doctor", "check", "--snapshot"])
            .arg(&out_dir)
            .args(["-o", "json", "--fail-on", "never"])
            .run(),
    );
    let from_live = json(&live(
        &server,
        &["check", "-o", "json", "--fail-on", "never"],
    ));
    assert_eq!(findings(&from_capture), findings(&from_live));
    assert_eq!(from_capture["partial"], false);

    // A capture of the healthcheck's objects says so when read back for more.
    let narrow = dir.path().join("narrow");
    let out = live(
        &server,
        &[
            "snapshot",
            "--only",
            "healthcheck",
            "--output-dir",
            narrow.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let back = json(
        &sre()
            .args(["k8s-doctor", "diagnostics", "--snapshot"])
            .arg(&narrow)
            .args(["-o", "json", "--fail-on", "never"])
            .run(),
    );
    assert_eq!(back["partial"], true);
    assert!(
        back["errors"]
            .to_string()
            .contains("captured with `--only healthcheck`"),
        "{}",
        back["errors"]
    );

    // Never over an existing, non-empty directory.
    let again = live(
        &server,
        &["snapshot", "--output-dir", out_dir.to_str().expect("utf-8")],
    );
    assert_eq!(again.status, Some(2));
    assert!(
        again.stderr.contains("not an empty directory"),
        "{}",
        again.stderr
    );
}

/// A kubeconfig with one context per server (plus, optionally, one that is down).
fn multi_kubeconfig(
    dir: &Path,
    servers: &[(&str, &KubeTestServer)],
    dead: Option<&str>,
) -> PathBuf {
    let mut clusters = String::new();
    let mut contexts = String::new();
    let mut users = String::new();
    for (name, s) in servers {
        let ca = base64_pem(s.ca_pem());
        clusters.push_str(&format!(
            "- name: {name}\n  cluster: {{server: \"{}\", certificate-authority-data: \"{ca}\"}}\n",
            s.url()
        ));
        contexts.push_str(&format!(
            "- name: {name}\n  context: {{cluster: {name}, user: {name}}}\n"
        ));
        users.push_str(&format!("- name: {name}\n  user: {{token: \"{TOKEN}\"}}\n"));
    }
    if let Some(name) = dead {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        clusters.push_str(&format!(
            "- name: {name}\n  cluster: {{server: \"http://127.0.0.1:{port}\"}}\n"
        ));
        contexts.push_str(&format!(
            "- name: {name}\n  context: {{cluster: {name}, user: {name}}}\n"
        ));
        users.push_str(&format!("- name: {name}\n  user: {{}}\n"));
    }
    let path = dir.join("multi");
    std::fs::write(
        &path,
        format!("apiVersion: v1\nkind: Config\ncurrent-context: {}\nclusters:\n{clusters}contexts:\n{contexts}users:\n{users}", servers[0].0),
    )
    .expect("write");
    path
}

fn base64_pem(pem: &str) -> String {
    // Standard base64, by hand: the test has no base64 crate of its own.
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = pem.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn several_clusters_report_per_cluster_and_one_down_does_not_hide_the_others() {
    let a = tls_server(example_objects());
    let b = tls_server(example_objects());
    let dir = tempfile::tempdir().expect("tmp");
    let kubeconfig = multi_kubeconfig(dir.path(), &[("prod", &a), ("staging", &b)], Some("dr"));
    let out = sre()
        .args([
            "k8s-doctor",
            "diagnostics",
            "--all-contexts",
            "--kubeconfig",
        ])
        .arg(&kubeconfig)
        .args(["-o", "json", "--fail-on", "never"])
        .timeout(Duration::from_secs(120))
        .run();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let r = json(&out);
    let clusters = r["target"]["clusters"].as_array().expect("clusters");
    assert_eq!(clusters.len(), 3, "{clusters:?}");
    assert_eq!(clusters[0]["context"], "prod");
    assert!(clusters[0]["summary"]["critical"].as_u64().unwrap_or(0) > 0);
    assert!(clusters[2]["error"]
        .as_str()
        .unwrap_or("")
        .contains("cannot reach"));
    assert_eq!(r["partial"], true);
    let per: Vec<&str> = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["resource"]["cluster"].as_str())
        .collect();
    let prod = per.iter().filter(|c| **c == "prod").count();
    let staging = per.iter().filter(|c| **c == "staging").count();
    assert!(
        prod > 0 && prod == staging,
        "prod {prod}, staging {staging}"
    );
    assert_eq!(per.len(), r["findings"].as_array().map_or(0, Vec::len));

    let table = sre()
        .args([
            "k8s-doctor",
            "diagnostics",
            "--context",
            "prod",
            "--context",
            "staging",
        ])
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["--fail-on", "never"])
        .run();
    assert_eq!(table.status, Some(0), "{}", table.stderr);
    assert!(table.stdout.contains("[staging] "), "{}", table.stdout);

    // A context whose kubeconfig entry is broken (a CA file that is gone) is reported with
    // the others; when no cluster can be read at all, the run fails.
    let text = std::fs::read_to_string(&kubeconfig).expect("kubeconfig");
    let broken = text.replace(
        "clusters:\n",
        "clusters:\n- name: old\n  cluster: {server: \"https://127.0.0.1:1\", certificate-authority: /nonexistent/ca.crt}\n",
    ).replace(
        "contexts:\n",
        "contexts:\n- name: old\n  context: {cluster: old, user: old}\n",
    ).replace("users:\n", "users:\n- name: old\n  user: {}\n");
    std::fs::write(&kubeconfig, broken).expect("write");
    let out = sre()
        .args([
            "k8s-doctor",
            "diagnostics",
            "--all-contexts",
            "--kubeconfig",
        ])
        .arg(&kubeconfig)
        .args(["-o", "json", "--fail-on", "never"])
        .timeout(Duration::from_secs(120))
        .run();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let r = json(&out);
    let clusters = r["target"]["clusters"].as_array().expect("clusters");
    assert_eq!(clusters.len(), 4, "{clusters:?}");
    assert!(
        clusters
            .iter()
            .any(|c| c["context"] == "old" && c["error"].is_string()),
        "{clusters:?}"
    );
    let out = sre()
        .args([
            "k8s-doctor",
            "diagnostics",
            "--context",
            "old",
            "--context",
            "dr",
            "--kubeconfig",
        ])
        .arg(&kubeconfig)
        .run();
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("no cluster could be read"),
        "{}",
        out.stderr
    );
}

fn get(url: &str) -> Option<(u16, String)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let mut r = agent.get(url).call().ok()?;
    let status = r.status().as_u16();
    Some((status, r.body_mut().read_to_string().ok()?))
}

/// The value of the `k8s_doctor_findings` series for `code`, summed.
fn findings_metric(text: &str, code: &str) -> u64 {
    text.lines()
        .filter(|l| {
            l.starts_with("k8s_doctor_findings{") && l.contains(&format!("code=\"{code}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn exporter_serves_metrics_that_follow_the_cluster_and_stops_on_sigterm() {
    let server = tls_server(example_objects());
    let kubeconfig = server.kubeconfig();
    let serve = crate::start_server(&[
        "k8s-doctor".as_ref(),
        "serve".as_ref(),
        "--interval".as_ref(),
        "1s".as_ref(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--kubeconfig".as_ref(),
        kubeconfig.as_os_str(),
    ]);
    let base = serve.url.clone();
    let wait_until = |pred: &dyn Fn() -> bool, what: &str| {
        crate::wait_until(Duration::from_secs(60), what, pred)
    };
    wait_until(
        &|| get(&format!("{base}/readyz")).is_some_and(|(s, _)| s == 200),
        "/readyz",
    );
    let (status, first) = get(&format!("{base}/metrics")).expect("scrape");
    assert_eq!(status, 200);
    let before = findings_metric(&first, "KD201");
    assert!(before > 0, "{first}");
    assert!(first.contains("k8s_doctor_last_success_timestamp_seconds "));
    let promtool = sre_test_harness::program::require_program("promtool", "prometheus");
    let check = sre_test_harness::cli::Cli::new(promtool)
        .args(["check", "metrics"])
        .stdin(first.clone())
        .run();
    assert_eq!(
        check.status,
        Some(0),
        "promtool: {}{}",
        check.stdout,
        check.stderr
    );
    let (status, report) = get(&format!("{base}/report.json")).expect("report");
    assert_eq!(status, 200);
    assert!(report.contains("\"schemaVersion\""));
    let (status, html) = get(&format!("{base}/report.html")).expect("html");
    assert_eq!(status, 200);
    assert!(html.starts_with("<!doctype html") || html.starts_with("<!DOCTYPE html"));

    // A new crash-looping pod: the next runs must count it.
    server
        .create(serde_json::json!({
            "kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": "new-crasher", "namespace": "batch"},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "c", "ready": false, "restartCount": 9,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}}
            }]}
        }))
        .expect("create");
    wait_until(
        &|| {
            get(&format!("{base}/metrics"))
                .is_some_and(|(_, t)| findings_metric(&t, "KD201") > before)
        },
        "the metric to change",
    );
    let status = serve.stop();
    assert!(status.success(), "exit status {status:?}");
}

/// The `gitVersion` a fixture's `kubectl version -o json` document gives, if any.
fn fixture_version(files: &[PathBuf]) -> Option<String> {
    files.iter().find_map(|f| {
        let text = std::fs::read_to_string(f).ok()?;
        let at = text.find("serverVersion")?;
        let rest = &text[at..];
        let v = rest.find("gitVersion")?;
        let after = &rest[v + "gitVersion".len()..];
        let start = after.find('v')?;
        let value: String = after[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
            .collect();
        Some(value)
    })
}

#[test]
fn every_check_fires_live_exactly_as_on_its_snapshot_fixture() {
    let dir = workspace_root().join("crates/k8s-doctor/tests/fixtures");
    let mut by_code: std::collections::BTreeMap<String, Vec<PathBuf>> = Default::default();
    for e in std::fs::read_dir(&dir).expect("fixtures") {
        let p = e.expect("entry").path();
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        if let Some((code, _)) = name.split_once("-fires.") {
            by_code.entry(code.to_string()).or_default().push(p);
        }
    }
    // Not comparable live: KD120 fires when the version is unknown (a live API server
    // always tells it); KD105 and KD106 read what a live read records (tested above).
    let skip = ["KD120", "KD105", "KD106"];
    let mut compared = 0;
    let mut differ = Vec::new();
    for (code, mut files) in by_code {
        if skip.contains(&code.as_str()) {
            continue;
        }
        files.sort();
        let check = k8s_doctor::checks::find(&code).expect("registered");
        let command = check.commands[0].as_str();
        let mut options = Options::default();
        if let Some(v) = fixture_version(&files) {
            options.server_version = v;
        }
        let server = KubeTestServer::start_with(load_fixtures(&files).expect("loads"), options)
            .expect("starts");
        let l = json(&live(
            &server,
            &[
                command,
                "--check",
                &code,
                "-o",
                "json",
                "--fail-on",
                "never",
            ],
        ));
        let mut s = sre().args(["k8s-doctor", command, "--check", &code]);
        for f in &files {
            s = s.arg("--snapshot").arg(f);
        }
        let s = json(&s.args(["-o", "json", "--fail-on", "never"]).run());
        let (lf, sf) = (findings(&l), findings(&s));
        assert!(!lf.is_empty(), "{code} did not fire live");
        if lf != sf {
            differ.push(format!("{code}:\n  live     {lf:?}\n  snapshot {sf:?}"));
        }
        compared += 1;
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    assert!(compared >= 45, "only {compared} checks compared");
}

#[test]
fn kubeconfig_files_merge_from_kubeconfig_env_and_exec_plugins_supply_tokens() {
    let a = tls_server(example_objects());
    let b = tls_server(example_objects());
    let dir = tempfile::tempdir().expect("tmp");
    let first = multi_kubeconfig(dir.path(), &[("prod", &a)], None);
    let first = {
        let p = dir.path().join("first");
        std::fs::rename(&first, &p).expect("rename");
        p
    };
    // The second file's user gets its token from an exec credential plugin, as EKS, GKE
    // and AKS kubeconfigs do.
    let plugin = dir.path().join("token-plugin.sh");
    std::fs::write(
        &plugin,
        format!("#!/bin/sh\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{TOKEN}\"}}}}'\n"),
    )
    .expect("plugin");
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&plugin)
        .status()
        .expect("chmod");
    let second = dir.path().join("second");
    std::fs::write(
        &second,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: staging\n  cluster: {{server: \"{}\", certificate-authority-data: \"{}\"}}\ncontexts:\n- name: staging\n  context: {{cluster: staging, user: staging}}\nusers:\n- name: staging\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n",
            b.url(),
            base64_pem(b.ca_pem()),
            plugin.display()
        ),
    )
    .expect("write");
    let joined = format!("{}:{}", first.display(), second.display());
    let out = sre()
        .env("KUBECONFIG", &joined)
        .args([
            "k8s-doctor",
            "healthcheck",
            "--context",
            "staging",
            "-o",
            "json",
        ])
        .args(["--fail-on", "never"])
        .timeout(Duration::from_secs(60))
        .run();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let r = json(&out);
    assert_eq!(r["target"]["context"], "staging");
    assert_eq!(r["target"]["server"], b.url());
    // The current context comes from the first file that sets it.
    let out = sre()
        .env("KUBECONFIG", &joined)
        .args([
            "k8s-doctor",
            "healthcheck",
            "-o",
            "json",
            "--fail-on",
            "never",
        ])
        .run();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(json(&out)["target"]["context"], "prod");
}

#[test]
fn a_failing_credential_plugin_is_reported_without_its_output() {
    let server = tls_server(example_objects());
    let dir = tempfile::tempdir().expect("tmp");
    let plugin = dir.path().join("leaky-plugin.sh");
    std::fs::write(
        &plugin,
        format!("#!/bin/sh\necho 'token {TOKEN}'\necho 'stderr {TOKEN}' >&2\nexit 3\n"),
    )
    .expect("plugin");
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&plugin)
        .status()
        .expect("chmod");
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster: {{server: \"{}\", certificate-authority-data: \"{}\"}}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      args: [\"--secret={TOKEN}\"]\n      interactiveMode: Never\n",
            server.url(),
            base64_pem(server.ca_pem()),
            plugin.display()
        ),
    )
    .expect("write");
    let out = sre()
        .args(["k8s-doctor", "healthcheck", "--kubeconfig"])
        .arg(&kubeconfig)
        .run();
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("credentials could not be obtained"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains(TOKEN),
        "the token leaked: {}",
        out.stderr
    );
    assert!(
        !out.stdout.contains(TOKEN),
        "the token leaked: {}",
        out.stdout
    );
}

#[test]
fn client_certificates_authenticate_live_reads() {
    let server = KubeTestServer::start_with(
        example_objects(),
        Options {
            tls: true,
            client_certs: true,
            ..Options::default()
        },
    )
    .expect("starts");
    let out = live(
        &server,
        &["diagnostics", "-o", "json", "--fail-on", "never"],
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let l = json(&out);
    let s = json(
        &sre()
            .args(["k8s-doctor", "diagnostics", "--snapshot", EXAMPLE])
            .args(["-o", "json", "--fail-on", "never"])
            .run(),
    );
    assert_eq!(findings(&l), findings(&s));
    let key = std::fs::read_to_string(server.kubeconfig()).expect("kubeconfig");
    let key_data = key
        .split("client-key-data: \"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("client key in the kubeconfig");
    assert!(!out.stdout.contains(key_data) && !out.stderr.contains(key_data));
}

#[test]
fn without_a_kubeconfig_a_pod_uses_its_service_account_and_says_what_is_missing() {
    let home = tempfile::tempdir().expect("home");
    // No kubeconfig anywhere: outside a pod, a clear error with the ways out.
    let out = sre()
        .env("HOME", home.path())
        .args(["k8s-doctor", "healthcheck"])
        .run();
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("no cluster to connect to"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--snapshot"), "{}", out.stderr);
    // In a pod (KUBERNETES_SERVICE_HOST set), the service account is used; here its token
    // file does not exist, and the error says which context and what failed.
    let out = sre()
        .env("HOME", home.path())
        .env("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        .env("KUBERNETES_SERVICE_PORT", "1")
        .args(["k8s-doctor", "healthcheck"])
        .run();
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("`in-cluster`"), "{}", out.stderr);
}
