//! The Kubernetes API test server, checked against the real `kubectl`.

use serde_json::{json, Value};
use sre_test_harness::cli::{workspace_root, Cli, CliOutput};
use sre_test_harness::kube::{load_fixtures, load_objects, Deny, KubeTestServer, Objects, Options};
use sre_test_harness::program::require_program;
use std::io::BufRead;
use std::time::{Duration, Instant};

fn example_files() -> Vec<std::path::PathBuf> {
    let example = workspace_root().join("examples/k8s-doctor/broken-cluster");
    let mut files: Vec<_> = std::fs::read_dir(&example)
        .expect("example")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files
}

fn example_objects() -> Objects {
    load_objects(&example_files()).expect("fixtures load")
}

fn server() -> KubeTestServer {
    KubeTestServer::start(example_objects()).expect("starts")
}

/// kubectl against `kubeconfig`, with a fresh HOME (no cache shared between runs).
fn kubectl_at(kubeconfig: &std::path::Path, args: &[&str]) -> CliOutput {
    let home = tempfile::tempdir().expect("home");
    Cli::new(require_program("kubectl", "kubectl (shipped on the image)"))
        .env("HOME", home.path())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .run()
}

fn kubectl(s: &KubeTestServer, args: &[&str]) -> CliOutput {
    kubectl_at(&s.kubeconfig(), args)
}

fn json(out: &CliOutput) -> Value {
    assert_eq!(out.status, Some(0), "kubectl failed: {}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", out.stdout))
}

fn names(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .map(|i| {
            i.iter()
                .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A plain HTTP client that reports every status instead of failing on 4xx/5xx.
fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build(),
    )
}

/// `method` on `path` of the server with an optional JSON body: status and body.
fn http(s: &KubeTestServer, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let a = agent(Duration::from_secs(30));
    let url = format!("{}{path}", s.url());
    let sent = match (method, body) {
        ("GET", _) => a.get(&url).call(),
        ("DELETE", _) => a.delete(&url).call(),
        ("POST", Some(b)) => a
            .post(&url)
            .header("Content-Type", "application/json")
            .send(b.to_string()),
        ("PUT", Some(b)) => a
            .put(&url)
            .header("Content-Type", "application/json")
            .send(b.to_string()),
        ("PATCH", Some(b)) => a
            .patch(&url)
            .header("Content-Type", "application/merge-patch+json")
            .send(b.to_string()),
        _ => panic!("unsupported request {method} {path}"),
    };
    let mut resp = sent.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let code = resp.status().as_u16();
    (code, resp.body_mut().read_to_string().unwrap_or_default())
}

fn http_json(s: &KubeTestServer, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let (code, text) = http(s, method, path, body);
    let v = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"));
    (code, v)
}

/// Polls `done` until it holds, failing after `limit`.
fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn pod(ns: &str, name: &str, node: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "app:1"}]},
        "status": {"phase": "Running"},
    })
}

fn owned(mut pod: Value, kind: &str, owner: &str) -> Value {
    pod["metadata"]["ownerReferences"] = json!([{
        "apiVersion": "apps/v1", "kind": kind, "name": owner, "uid": format!("uid-{owner}"), "controller": true,
    }]);
    pod
}

fn node(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": {}})
}

fn pdb(ns: &str, name: &str, app: &str, allowed: i64) -> Value {
    json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": app}}},
        "status": {"disruptionsAllowed": allowed, "currentHealthy": 1, "desiredHealthy": 1, "expectedPods": 1},
    })
}

#[test]
fn kubectl_lists_every_kind_the_checks_use() {
    // Parsed values convert to served objects: the call shape of older tests.
    let s = KubeTestServer::start(load_fixtures(&example_files()).expect("fixtures load"))
        .expect("starts");
    let pods = json(&kubectl(&s, &["get", "pods", "-A", "-o", "json"]));
    assert_eq!(pods["items"].as_array().map(Vec::len), Some(20));
    for (kind, n) in [
        ("nodes", 4),
        ("events", 10),
        ("deployments", 5),
        ("clusterrolebindings", 3),
        ("poddisruptionbudgets", 2),
        ("networkpolicies", 2),
        ("cronjobs", 1),
        ("daemonsets", 1),
        ("statefulsets", 1),
    ] {
        let v = json(&kubectl(&s, &["get", kind, "-A", "-o", "json"]));
        assert_eq!(
            v["items"].as_array().map(Vec::len),
            Some(n),
            "{kind}: {:?}",
            names(&v)
        );
    }
    let ns = json(&kubectl(&s, &["get", "pods", "-n", "batch", "-o", "json"]));
    assert_eq!(names(&ns), vec!["nightly-report-28471230-7xq2v"]);
}

#[test]
fn kubectl_selectors_pagination_get_and_errors() {
    let s = server();
    let by_label = json(&kubectl(
        &s,
        &["get", "pods", "-n", "shop", "-l", "app=cart", "-o", "json"],
    ));
    assert_eq!(names(&by_label).len(), 2, "{:?}", names(&by_label));
    let by_field = json(&kubectl(
        &s,
        &[
            "get",
            "pods",
            "-A",
            "--field-selector",
            "spec.nodeName=worker-3",
            "-o",
            "json",
        ],
    ));
    assert_eq!(names(&by_field), vec!["kube-proxy-worker-3", "payments-0"]);
    let events = json(&kubectl(
        &s,
        &[
            "get",
            "events",
            "-n",
            "shop",
            "--field-selector",
            "involvedObject.name=payments-0",
            "-o",
            "json",
        ],
    ));
    assert_eq!(events["items"].as_array().map(Vec::len), Some(1));
    // kubectl pages with limit/continue; every object arrives once.
    let paged = json(&kubectl(
        &s,
        &["get", "pods", "-A", "--chunk-size=3", "-o", "json"],
    ));
    let mut all = names(&paged);
    assert_eq!(all.len(), 20);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 20, "duplicates across pages");
    let one = json(&kubectl(
        &s,
        &["get", "pod", "payments-0", "-n", "shop", "-o", "json"],
    ));
    assert_eq!(one["metadata"]["name"], "payments-0");
    assert_eq!(one["kind"], "Pod");
    let missing = kubectl(&s, &["get", "pod", "nope", "-n", "shop"]);
    assert_eq!(missing.status, Some(1));
    assert!(
        missing.stderr.contains("NotFound") || missing.stderr.contains("not found"),
        "{}",
        missing.stderr
    );
    let names_only = kubectl(&s, &["get", "nodes", "-o", "name"]);
    assert_eq!(
        names_only.stdout.lines().count(),
        4,
        "{}",
        names_only.stdout
    );
    let version = json(&kubectl(&s, &["version", "-o", "json"]));
    assert_eq!(version["serverVersion"]["gitVersion"], "v1.29.2");
}

#[test]
fn the_kube_testserver_binary_serves_until_killed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kc");
    let nodes = workspace_root().join("examples/k8s-doctor/broken-cluster/nodes.yaml");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kube-testserver"))
        .arg("--fixtures")
        .arg(&nodes)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn kube-testserver");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !kubeconfig.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let home = tempfile::tempdir().expect("home");
    let out = Cli::new(require_program("kubectl", "kubectl (shipped on the image)"))
        .env("HOME", home.path())
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["get", "nodes", "-o", "name"])
        .run();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 4, "{}", out.stdout);
    // HTTPS with a token, without the metrics API, on a given address.
    let secure_config = dir.path().join("kc-tls");
    let log = dir.path().join("stderr");
    let mut secure = std::process::Command::new(env!("CARGO_BIN_EXE_kube-testserver"))
        .args(["--fixtures"])
        .arg(workspace_root().join("examples/k8s-doctor/broken-cluster"))
        .args([
            "--tls",
            "--token",
            "t0k",
            "--no-metrics-api",
            "--listen",
            "127.0.0.1:0",
            "--kubeconfig",
        ])
        .arg(&secure_config)
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("spawn kube-testserver");
    wait_until(Duration::from_secs(20), "the kubeconfig", || {
        secure_config.exists()
    });
    let nodes = kubectl_at(&secure_config, &["get", "nodes", "-o", "name"]);
    let metrics = kubectl_at(
        &secure_config,
        &["get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes"],
    );
    let _ = secure.kill();
    let _ = secure.wait();
    let stderr = std::fs::read_to_string(&log).expect("log");
    assert!(
        stderr.contains("serving") && stderr.contains("https://127.0.0.1:"),
        "{stderr}"
    );
    assert_eq!(nodes.status, Some(0), "{}", nodes.stderr);
    assert_eq!(nodes.stdout.lines().count(), 4, "{}", nodes.stdout);
    assert_eq!(metrics.status, Some(1), "{}", metrics.stdout);
    assert!(
        metrics.stderr.contains("NotFound") || metrics.stderr.contains("could not find"),
        "{}",
        metrics.stderr
    );
    // Bad arguments: exit 2 with a usage line.
    let bad = Cli::new(env!("CARGO_BIN_EXE_kube-testserver"))
        .arg("--frobnicate")
        .run();
    assert_eq!(bad.status, Some(2));
    assert!(bad.stderr.contains("usage"), "{}", bad.stderr);
}

#[test]
fn token_auth_forbidden_resources_retries_and_readyz_as_kubectl_sees_them() {
    let s = server();
    // Token required. kubectl sends bearer tokens only over TLS (see
    // `kubectl_verifies_the_generated_ca_and_sends_the_token`), so over plain HTTP the
    // protocol is checked with an HTTP client, and kubectl shows what a client without the
    // token sees.
    s.set_faults(|f| f.token = Some("s3cret".into()))
        .expect("faults");
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    );
    let get = |token: Option<&str>| {
        let mut req = agent.get(&format!("{}/api/v1/nodes", s.url()));
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        let mut resp = req.call().expect("request");
        (
            resp.status().as_u16(),
            resp.body_mut().read_to_string().unwrap_or_default(),
        )
    };
    assert_eq!(get(Some("s3cret")).0, 200);
    let (code, body) = get(Some("nope"));
    assert_eq!(code, 401);
    assert!(
        body.contains("\"kind\":\"Status\"") && body.contains("Unauthorized"),
        "{body}"
    );
    let denied_auth = kubectl(&s, &["get", "nodes"]);
    assert_eq!(denied_auth.status, Some(1));
    assert!(
        denied_auth.stderr.contains("credentials"),
        "{}",
        denied_auth.stderr
    );
    // 403 on one resource only.
    s.set_faults(|f| {
        f.token = None;
        f.deny = vec![Deny::new("pods", "list")];
    })
    .expect("faults");
    let denied = kubectl(&s, &["get", "pods", "-A"]);
    assert_eq!(denied.status, Some(1));
    assert!(denied.stderr.contains("forbidden"), "{}", denied.stderr);
    assert_eq!(kubectl(&s, &["get", "nodes", "-o", "name"]).status, Some(0));
    // Every 2nd resource request fails with 503 + Retry-After: client-go retries, kubectl succeeds.
    s.set_faults(|f| {
        f.deny.clear();
        f.fail_every = Some((2, 503, 0));
    })
    .expect("faults");
    let retried = kubectl(&s, &["get", "pods", "-A", "--chunk-size=5", "-o", "json"]);
    assert_eq!(names(&json(&retried)).len(), 20);
    // A dead /readyz names the failing check.
    s.set_faults(|f| {
        f.fail_every = None;
        f.unready = Some("etcd".into());
    })
    .expect("faults");
    let raw = kubectl(&s, &["get", "--raw", "/readyz?verbose"]);
    assert_ne!(raw.status, Some(0));
    assert!(
        raw.stderr.contains("etcd") || raw.stdout.contains("etcd"),
        "{}{}",
        raw.stdout,
        raw.stderr
    );
}

#[test]
fn kubectl_create_patch_and_delete() {
    let s = server();
    let dir = tempfile::tempdir().expect("tempdir");
    let cm = dir.path().join("cm.yaml");
    std::fs::write(&cm, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-config, namespace: shop, finalizers: [example.com/keep]}\ndata: {level: info}\n").expect("write");
    let cm_path = cm.to_str().expect("utf-8");
    let created = kubectl(&s, &["create", "--validate=false", "-f", cm_path]);
    assert_eq!(created.status, Some(0), "{}", created.stderr);
    assert!(
        created.stdout.contains("configmap/app-config created"),
        "{}",
        created.stdout
    );
    let again = kubectl(&s, &["create", "--validate=false", "-f", cm_path]);
    assert_eq!(again.status, Some(1));
    assert!(
        again.stderr.contains("AlreadyExists") || again.stderr.contains("already exists"),
        "{}",
        again.stderr
    );
    // Merge patch and JSON patch.
    let merged = kubectl(
        &s,
        &[
            "patch",
            "configmap",
            "app-config",
            "-n",
            "shop",
            "--type=merge",
            "-p",
            "{\"data\":{\"level\":\"debug\"}}",
        ],
    );
    assert_eq!(merged.status, Some(0), "{}", merged.stderr);
    let jp = kubectl(
        &s,
        &[
            "patch",
            "configmap",
            "app-config",
            "-n",
            "shop",
            "--type=json",
            "-p",
            "[{\"op\":\"add\",\"path\":\"/data/extra\",\"value\":\"1\"}]",
        ],
    );
    assert_eq!(jp.status, Some(0), "{}", jp.stderr);
    let got = json(&kubectl(
        &s,
        &["get", "configmap", "app-config", "-n", "shop", "-o", "json"],
    ));
    assert_eq!(got["data"]["level"], "debug");
    assert_eq!(got["data"]["extra"], "1");
    // A finalizer keeps the object, marked for deletion; removing it lets the delete finish.
    let del = kubectl(
        &s,
        &[
            "delete",
            "configmap",
            "app-config",
            "-n",
            "shop",
            "--wait=false",
        ],
    );
    assert_eq!(del.status, Some(0), "{}", del.stderr);
    let pending = json(&kubectl(
        &s,
        &["get", "configmap", "app-config", "-n", "shop", "-o", "json"],
    ));
    assert!(
        pending["metadata"]["deletionTimestamp"].is_string(),
        "{pending}"
    );
    let unfinalize = kubectl(
        &s,
        &[
            "patch",
            "configmap",
            "app-config",
            "-n",
            "shop",
            "--type=merge",
            "-p",
            "{\"metadata\":{\"finalizers\":null}}",
        ],
    );
    assert_eq!(unfinalize.status, Some(0), "{}", unfinalize.stderr);
    assert_eq!(
        kubectl(
            &s,
            &[
                "delete",
                "configmap",
                "app-config",
                "-n",
                "shop",
                "--wait=false"
            ]
        )
        .status,
        Some(0)
    );
    let gone = kubectl(&s, &["get", "configmap", "app-config", "-n", "shop"]);
    assert_eq!(gone.status, Some(1));
    assert!(gone.stderr.contains("not found"), "{}", gone.stderr);
    // Writes can be forbidden like reads.
    s.set_faults(|f| f.deny = vec![Deny::new("pods", "delete")])
        .expect("faults");
    let forbidden = kubectl(
        &s,
        &["delete", "pod", "payments-0", "-n", "shop", "--wait=false"],
    );
    assert_eq!(forbidden.status, Some(1));
    assert!(
        forbidden.stderr.contains("forbidden"),
        "{}",
        forbidden.stderr
    );
}

#[test]
fn kubectl_verifies_the_generated_ca_and_sends_the_token() {
    let s = KubeTestServer::start_with(
        example_objects(),
        Options {
            tls: true,
            token: Some("s3cret".into()),
            ..Options::default()
        },
    )
    .expect("starts");
    assert!(s.url().starts_with("https://127.0.0.1:"), "{}", s.url());
    let ca = s.ca_pem();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    let config = std::fs::read_to_string(s.kubeconfig()).expect("kubeconfig");
    assert!(
        config.contains("certificate-authority-data:") && config.contains("token: \"s3cret\""),
        "{config}"
    );
    assert!(!config.contains("insecure"), "{config}");
    let nodes = kubectl(&s, &["get", "nodes", "-o", "name"]);
    assert_eq!(nodes.status, Some(0), "{}", nodes.stderr);
    assert_eq!(nodes.stdout.lines().count(), 4, "{}", nodes.stdout);
    // A wrong token: 401, which kubectl reports as Unauthorized.
    let dir = tempfile::tempdir().expect("tempdir");
    let wrong = dir.path().join("wrong-token");
    s.write_kubeconfig_with_token(&wrong, Some("nope"))
        .expect("write");
    let denied = kubectl_at(&wrong, &["get", "--raw", "/api/v1/nodes"]);
    assert_eq!(denied.status, Some(1), "{}", denied.stdout);
    assert!(
        denied
            .stderr
            .contains("You must be logged in to the server (Unauthorized)"),
        "{}",
        denied.stderr
    );
    // Through discovery, whose content type cannot carry the Status, kubectl words it
    // differently (as against a real server).
    let discovery = kubectl_at(&wrong, &["get", "nodes"]);
    assert_eq!(discovery.status, Some(1), "{}", discovery.stdout);
    assert!(
        discovery
            .stderr
            .contains("You must be logged in to the server"),
        "{}",
        discovery.stderr
    );
    // kubectl really verifies: the CA of another server is refused.
    let other = KubeTestServer::start_with(
        vec![],
        Options {
            tls: true,
            ..Options::default()
        },
    )
    .expect("starts");
    let config_other = std::fs::read_to_string(other.kubeconfig()).expect("kubeconfig");
    let ca_field = |c: &str| {
        c.split("certificate-authority-data: \"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .map(str::to_string)
            .expect("CA field")
    };
    let foreign = dir.path().join("foreign-ca");
    std::fs::write(
        &foreign,
        config.replace(&ca_field(&config), &ca_field(&config_other)),
    )
    .expect("write");
    let refused = kubectl_at(&foreign, &["get", "nodes"]);
    assert_eq!(refused.status, Some(1), "{}", refused.stdout);
    assert!(
        refused
            .stderr
            .contains("certificate signed by unknown authority"),
        "{}",
        refused.stderr
    );
    // A new token is written into the kubeconfig, which keeps the https URL and the CA.
    s.set_faults(|f| f.token = Some("rotated".into()))
        .expect("faults");
    let rotated = std::fs::read_to_string(s.kubeconfig()).expect("kubeconfig");
    assert!(
        rotated.contains("token: \"rotated\"") && rotated.contains(s.url()),
        "{rotated}"
    );
    assert_eq!(ca_field(&rotated), ca_field(&config));
    assert_eq!(kubectl(&s, &["get", "nodes", "-o", "name"]).status, Some(0));
    assert_eq!(
        kubectl_at(&wrong, &["get", "--raw", "/api/v1/nodes"]).status,
        Some(1)
    );
}

#[test]
fn kubectl_get_watch_receives_a_created_pod() {
    let s = server();
    let home = tempfile::tempdir().expect("home");
    let watch = Cli::new(require_program("kubectl", "kubectl (shipped on the image)"))
        .env("HOME", home.path())
        .arg("--kubeconfig")
        .arg(s.kubeconfig())
        .args([
            "get",
            "pods",
            "-n",
            "batch",
            "-w",
            "--output-watch-events",
            "-o",
            "json",
            "--request-timeout=60s",
        ])
        .timeout(Duration::from_secs(90));
    let watcher = std::thread::spawn(move || watch.run());
    wait_until(Duration::from_secs(30), "kubectl's watch to open", || {
        s.active_watches() == 1
    });
    let (code, body) = http(
        &s,
        "POST",
        "/api/v1/namespaces/batch/pods",
        Some(&pod("batch", "watched", "worker-2", json!({}))),
    );
    assert_eq!(code, 201, "{body}");
    // The server ends its watches (as at a watch timeout); kubectl then exits by itself.
    s.end_watches();
    let out = watcher.join().expect("the kubectl thread");
    assert_eq!(out.status, Some(0), "{out}");
    let events: Vec<Value> = serde_json::Deserializer::from_str(&out.stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("not a JSON stream ({e}): {}", out.stdout));
    let seen: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or("").to_string(),
                e["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("ADDED", "nightly-report-28471230-7xq2v"),
            ("ADDED", "watched")
        ]
        .map(|(t, n)| (t.to_string(), n.to_string())),
        "{}",
        out.stdout
    );
    wait_until(Duration::from_secs(10), "the watch to close", || {
        s.active_watches() == 0
    });
}

/// Reads one watch event line.
fn next_event(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
) -> (String, String, Value) {
    let line = lines
        .next()
        .expect("a watch event")
        .expect("readable stream");
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    let name = v["object"]["metadata"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    (v["type"].as_str().unwrap_or("").to_string(), name, v)
}

#[test]
fn watch_streams_writes_from_a_resource_version_with_selectors_and_timeouts() {
    let objects: Vec<Value> = vec![pod("w", "existing", "n1", json!({"app": "x"}))];
    let s = KubeTestServer::start_with(
        objects,
        Options {
            event_log: 6,
            ..Options::default()
        },
    )
    .expect("starts");
    let rv0 = s.resource_version();
    let watch_agent = agent(Duration::from_secs(30));
    // Headers arrive before any event: the call returns with an open, empty stream.
    let resp = watch_agent
        .get(&format!(
            "{}/api/v1/namespaces/w/pods?watch=true&resourceVersion={rv0}",
            s.url()
        ))
        .call()
        .expect("watch");
    assert_eq!(resp.status().as_u16(), 200);
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(header("transfer-encoding"), "chunked");
    assert_eq!(s.active_watches(), 1);
    let mut lines = std::io::BufReader::new(resp.into_body().into_reader()).lines();
    assert_eq!(
        http(
            &s,
            "POST",
            "/api/v1/namespaces/w/pods",
            Some(&pod("w", "a", "n1", json!({"app": "x"})))
        )
        .0,
        201
    );
    assert_eq!(
        http(
            &s,
            "POST",
            "/api/v1/namespaces/other/pods",
            Some(&pod("other", "b", "n1", json!({})))
        )
        .0,
        201
    );
    assert_eq!(
        http(
            &s,
            "PATCH",
            "/api/v1/namespaces/w/pods/a",
            Some(&json!({"metadata": {"labels": {"app": "y"}}}))
        )
        .0,
        200
    );
    assert_eq!(
        http(&s, "DELETE", "/api/v1/namespaces/w/pods/a", None).0,
        200
    );
    let (t1, n1, e1) = next_event(&mut lines);
    let (t2, n2, e2) = next_event(&mut lines);
    let (t3, n3, e3) = next_event(&mut lines);
    assert_eq!(
        [t1.as_str(), t2.as_str(), t3.as_str()],
        ["ADDED", "MODIFIED", "DELETED"]
    );
    assert_eq!([n1.as_str(), n2.as_str(), n3.as_str()], ["a", "a", "a"]);
    let rv = |e: &Value| {
        e["object"]["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|r| r.parse::<u64>().ok())
            .expect("rv")
    };
    assert!(rv(&e1) < rv(&e2) && rv(&e2) < rv(&e3), "{e1} {e2} {e3}");
    assert_eq!(rv(&e3), s.resource_version());
    // A client that goes away closes its watch.
    drop(lines);
    wait_until(
        Duration::from_secs(10),
        "the dropped watch to close",
        || s.active_watches() == 0,
    );

    let watch_all = |query: &str| {
        let started = Instant::now();
        let mut resp = watch_agent
            .get(&format!(
                "{}/api/v1/namespaces/w/pods?watch=1&timeoutSeconds=1&{query}",
                s.url()
            ))
            .call()
            .expect("watch");
        let text = resp.body_mut().read_to_string().expect("stream ends");
        let events: Vec<(String, String)> = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .map(|v| {
                (
                    v["type"].as_str().unwrap_or("").to_string(),
                    v["object"]["metadata"]["name"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                )
            })
            .collect();
        (events, started.elapsed(), text)
    };
    let pairs = |p: &[(&str, &str)]| {
        p.iter()
            .map(|(t, n)| (t.to_string(), n.to_string()))
            .collect::<Vec<_>>()
    };
    // Replayed from the log; the stream ends after timeoutSeconds.
    let (replayed, took, _) = watch_all(&format!("resourceVersion={rv0}"));
    assert_eq!(
        replayed,
        pairs(&[("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")])
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(10),
        "{took:?}"
    );
    // No resourceVersion: every current object first.
    let (current, ..) = watch_all("");
    assert_eq!(current, pairs(&[("ADDED", "existing")]));
    // A label selector: an object that stops matching is DELETED for the watcher.
    let rv1 = s.resource_version();
    assert_eq!(
        http(
            &s,
            "POST",
            "/api/v1/namespaces/w/pods",
            Some(&pod("w", "c", "n1", json!({"app": "x"})))
        )
        .0,
        201
    );
    assert_eq!(
        http(
            &s,
            "PATCH",
            "/api/v1/namespaces/w/pods/c",
            Some(&json!({"metadata": {"labels": {"app": "z"}}}))
        )
        .0,
        200
    );
    let (selected, ..) = watch_all(&format!("resourceVersion={rv1}&labelSelector=app%3Dx"));
    assert_eq!(selected, pairs(&[("ADDED", "c"), ("DELETED", "c")]));
    // More writes than the log holds: a watch from the first version is told it expired.
    for i in 0..6 {
        let p = pod("other", &format!("filler-{i}"), "n1", json!({}));
        assert_eq!(
            http(&s, "POST", "/api/v1/namespaces/other/pods", Some(&p)).0,
            201
        );
    }
    let (expired, _, text) = watch_all(&format!("resourceVersion={rv0}"));
    assert_eq!(expired.len(), 1, "{text}");
    let error: Value = serde_json::from_str(text.trim()).expect("JSON");
    assert_eq!(error["type"], "ERROR");
    assert_eq!(error["object"]["code"], 410);
    assert_eq!(error["object"]["reason"], "Expired");
    assert!(
        error["object"]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("too old resource version"),
        "{error}"
    );
    // Lists carry the current version.
    let (_, list) = http_json(&s, "GET", "/api/v1/namespaces/w/pods", None);
    assert_eq!(
        list["metadata"]["resourceVersion"],
        s.resource_version().to_string()
    );
}

#[test]
fn kubectl_patches_and_replaces_the_status_subresource() {
    let s = server();
    let patched = json(&kubectl(
        &s,
        &[
            "patch",
            "pod",
            "payments-0",
            "-n",
            "shop",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"phase":"Running"},"spec":{"nodeName":"elsewhere"}}"#,
            "-o",
            "json",
        ],
    ));
    assert_eq!(patched["status"]["phase"], "Running");
    assert_eq!(
        patched["spec"]["nodeName"], "worker-3",
        "the status subresource changes only .status"
    );
    // Writes to the main resource keep .status.
    let main = json(&kubectl(
        &s,
        &[
            "patch",
            "pod",
            "payments-0",
            "-n",
            "shop",
            "--type=merge",
            "-p",
            r#"{"status":{"phase":"Failed"},"metadata":{"labels":{"patched":"yes"}}}"#,
            "-o",
            "json",
        ],
    ));
    assert_eq!(main["status"]["phase"], "Running");
    assert_eq!(main["metadata"]["labels"]["patched"], "yes");
    let status = json(&kubectl(
        &s,
        &[
            "get",
            "deployment",
            "cart",
            "-n",
            "shop",
            "--subresource=status",
            "-o",
            "json",
        ],
    ));
    assert_eq!(status["metadata"]["name"], "cart");
    // Replace (PUT) on the status subresource, then again with the now stale resourceVersion.
    let original_replicas = status["spec"]["replicas"].clone();
    assert_eq!(original_replicas, 2, "{status}");
    let mut dep = status;
    dep["status"]["readyReplicas"] = json!(7);
    dep["spec"]["replicas"] = json!(9);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("dep.json");
    std::fs::write(&file, dep.to_string()).expect("write");
    let file = file.to_str().expect("utf-8");
    // No OpenAPI documents are served, so kubectl cannot validate locally.
    let replaced = kubectl(
        &s,
        &[
            "replace",
            "--validate=false",
            "--subresource=status",
            "-f",
            file,
            "-o",
            "json",
        ],
    );
    let replaced = json(&replaced);
    assert_eq!(replaced["status"]["readyReplicas"], 7);
    assert_eq!(
        replaced["spec"]["replicas"], original_replicas,
        "only .status changes"
    );
    let stale = kubectl(
        &s,
        &[
            "replace",
            "--validate=false",
            "--subresource=status",
            "-f",
            file,
        ],
    );
    assert_eq!(stale.status, Some(1), "{}", stale.stdout);
    assert!(
        stale.stderr.contains("the object has been modified"),
        "{}",
        stale.stderr
    );
    // Discovery advertises the subresources with their verbs.
    let (_, core) = http_json(&s, "GET", "/api/v1", None);
    let entry = |name: &str| {
        core["resources"]
            .as_array()
            .and_then(|r| r.iter().find(|e| e["name"] == name).cloned())
            .unwrap_or_else(|| panic!("{name} in {core}"))
    };
    assert_eq!(
        entry("pods/status")["verbs"],
        json!(["get", "patch", "update"])
    );
    assert_eq!(entry("pods/eviction")["group"], "policy");
    assert_eq!(entry("pods/eviction")["kind"], "Eviction");
    let (_, apps) = http_json(&s, "GET", "/apis/apps/v1", None);
    assert!(
        apps["resources"]
            .as_array()
            .is_some_and(|r| r.iter().any(|e| e["name"] == "deployments/status")),
        "{apps}"
    );
}

#[test]
fn eviction_deletes_the_pod_unless_its_disruption_budget_forbids() {
    let mut finalized = pod("e", "held", "n1", json!({"app": "free"}));
    finalized["metadata"]["finalizers"] = json!(["example.com/keep"]);
    let mut pending = pod("e", "pending", "n1", json!({"app": "guarded"}));
    pending["status"]["phase"] = json!("Pending");
    let objects = vec![
        pod("e", "one", "n1", json!({"app": "web"})),
        pod("e", "two", "n1", json!({"app": "web"})),
        pod("e", "guarded", "n1", json!({"app": "guarded"})),
        pending,
        finalized,
        pod("e", "doubly", "n1", json!({"app": "both", "tier": "t"})),
        pdb("e", "web", "web", 1),
        pdb("e", "guarded", "guarded", 0),
        pdb("e", "both-a", "both", 1),
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "both-b", "namespace": "e"},
               "spec": {"selector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["t"]}]}},
               "status": {"disruptionsAllowed": 1}}),
    ];
    let s = KubeTestServer::start(objects).expect("starts");
    let evict = |name: &str, query: &str| {
        let body = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "e"}});
        http_json(
            &s,
            "POST",
            &format!("/api/v1/namespaces/e/pods/{name}/eviction{query}"),
            Some(&body),
        )
    };
    let exists = |name: &str| {
        http(
            &s,
            "GET",
            &format!("/api/v1/namespaces/e/pods/{name}"),
            None,
        )
        .0 == 200
    };
    // A dry run changes nothing.
    assert_eq!(evict("one", "?dryRun=All").0, 201);
    assert!(exists("one"));
    let (code, ok) = evict("one", "");
    assert_eq!(
        (code, &ok["status"], &ok["kind"]),
        (201, &json!("Success"), &json!("Status")),
        "{ok}"
    );
    assert!(!exists("one"));
    let (_, budget) = http_json(
        &s,
        "GET",
        "/apis/policy/v1/namespaces/e/poddisruptionbudgets/web",
        None,
    );
    assert_eq!(budget["status"]["disruptionsAllowed"], 0);
    // The budget is now used up.
    let (code, refused) = evict("two", "");
    assert_eq!(code, 429, "{refused}");
    assert_eq!(refused["reason"], "TooManyRequests");
    assert_eq!(
        refused["message"],
        "Cannot evict pod as it would violate the pod's disruption budget."
    );
    assert_eq!(
        refused["details"]["causes"][0]["reason"],
        "DisruptionBudget"
    );
    assert!(exists("two"));
    assert_eq!(evict("guarded", "").0, 429);
    // Pods that are not running are evicted whatever their budget says.
    assert_eq!(evict("pending", "").0, 201);
    assert!(!exists("pending"));
    // Finalizers keep an evicted pod, marked for deletion.
    assert_eq!(evict("held", "").0, 201);
    let (_, held) = http_json(&s, "GET", "/api/v1/namespaces/e/pods/held", None);
    assert!(held["metadata"]["deletionTimestamp"].is_string(), "{held}");
    // Two budgets for one pod are refused, as by the real server.
    let (code, two) = evict("doubly", "");
    assert_eq!(code, 500, "{two}");
    assert!(
        two["message"]
            .as_str()
            .unwrap_or("")
            .contains("more than one PodDisruptionBudget"),
        "{two}"
    );
    assert_eq!(
        http(&s, "GET", "/api/v1/namespaces/e/pods/two/eviction", None).0,
        405
    );
    let (code, missing) = evict("nope", "");
    assert_eq!((code, &missing["reason"]), (404, &json!("NotFound")));
    // Evictions can be forbidden per namespace, like any write.
    s.set_faults(|f| f.deny = vec![Deny::new("pods/eviction", "create").in_namespace("e")])
        .expect("faults");
    assert_eq!(evict("two", "").0, 403);
}

#[test]
fn kubectl_drain_cordons_and_evicts_and_reports_a_blocking_budget() {
    let mut cache = owned(
        pod("d", "cache-0", "drain-me", json!({"app": "cache"})),
        "StatefulSet",
        "cache",
    );
    cache["spec"]["volumes"] = json!([{"name": "scratch", "emptyDir": {}}]);
    let objects = vec![
        node("drain-me"),
        node("stays"),
        node("guarded-node"),
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "d"}, "spec": {}}),
        owned(
            pod("d", "web-1", "drain-me", json!({"app": "web"})),
            "ReplicaSet",
            "web-5d8f",
        ),
        owned(
            pod("d", "web-2", "stays", json!({"app": "web"})),
            "ReplicaSet",
            "web-5d8f",
        ),
        owned(
            pod("d", "agent-a", "drain-me", json!({"app": "agent"})),
            "DaemonSet",
            "agent",
        ),
        pod("d", "bare", "drain-me", json!({})),
        cache,
        pdb("d", "web", "web", 1),
        owned(
            pod("d", "db-0", "guarded-node", json!({"app": "db"})),
            "StatefulSet",
            "db",
        ),
        pdb("d", "db", "db", 0),
    ];
    let s = KubeTestServer::start(objects).expect("starts");
    let drained = kubectl(
        &s,
        &[
            "drain",
            "drain-me",
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            "--force",
            "--timeout=20s",
        ],
    );
    assert_eq!(drained.status, Some(0), "{drained}");
    assert!(
        drained.stdout.contains("node/drain-me drained"),
        "{drained}"
    );
    let left = json(&kubectl(
        &s,
        &[
            "get",
            "pods",
            "-A",
            "--field-selector",
            "spec.nodeName=drain-me",
            "-o",
            "json",
        ],
    ));
    assert_eq!(names(&left), ["agent-a"], "DaemonSet pods stay");
    let cordoned = kubectl(
        &s,
        &[
            "get",
            "nodes",
            "--field-selector",
            "spec.unschedulable=true",
            "-o",
            "name",
        ],
    );
    assert_eq!(cordoned.stdout.trim(), "node/drain-me", "{cordoned}");
    let others = json(&kubectl(
        &s,
        &[
            "get",
            "pods",
            "-n",
            "d",
            "--field-selector",
            "spec.nodeName=stays",
            "-o",
            "json",
        ],
    ));
    assert_eq!(names(&others), ["web-2"]);
    // A budget that allows no disruption blocks the drain, and kubectl says why.
    let blocked = kubectl(
        &s,
        &[
            "drain",
            "guarded-node",
            "--ignore-daemonsets",
            "--force",
            "--timeout=2s",
        ],
    );
    assert_eq!(blocked.status, Some(1), "{blocked}");
    assert!(
        blocked
            .stderr
            .contains("Cannot evict pod as it would violate the pod's disruption budget."),
        "{blocked}"
    );
    assert_eq!(
        http(&s, "GET", "/api/v1/namespaces/d/pods/db-0", None).0,
        200
    );
}

#[test]
fn a_deny_rule_scoped_to_one_namespace_also_denies_cluster_wide_lists() {
    let s = server();
    s.set_faults(|f| f.deny = vec![Deny::new("pods", "list").in_namespace("shop")])
        .expect("faults");
    let shop = kubectl(&s, &["get", "pods", "-n", "shop"]);
    assert_eq!(shop.status, Some(1), "{shop}");
    assert!(
        shop.stderr.contains("forbidden") && shop.stderr.contains("in the namespace \"shop\""),
        "{}",
        shop.stderr
    );
    let all = kubectl(&s, &["get", "pods", "-A"]);
    assert_eq!(all.status, Some(1), "{all}");
    assert!(
        all.stderr.contains("forbidden") && all.stderr.contains("at the cluster scope"),
        "{}",
        all.stderr
    );
    let batch = json(&kubectl(&s, &["get", "pods", "-n", "batch", "-o", "json"]));
    assert_eq!(names(&batch), ["nightly-report-28471230-7xq2v"]);
    // Only the denied verb: a get in the namespace passes.
    assert_eq!(
        kubectl(
            &s,
            &["get", "pod", "payments-0", "-n", "shop", "-o", "name"]
        )
        .status,
        Some(0)
    );
    // Cluster-scoped resources are not affected by a namespaced rule.
    s.set_faults(|f| f.deny = vec![Deny::new("*", "list").in_namespace("shop")])
        .expect("faults");
    assert_eq!(kubectl(&s, &["get", "nodes", "-o", "name"]).status, Some(0));
    assert_eq!(kubectl(&s, &["get", "deployments", "-A"]).status, Some(1));
}

#[test]
fn the_metrics_api_is_served_or_absent_as_without_metrics_server() {
    let on = server();
    let nodes = json(&kubectl(
        &on,
        &["get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes"],
    ));
    assert_eq!(nodes["kind"], "NodeMetricsList");
    assert_eq!(names(&nodes).len(), 3, "{nodes}");
    let pods = json(&kubectl(
        &on,
        &[
            "get",
            "--raw",
            "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods",
        ],
    ));
    assert_eq!(pods["kind"], "PodMetricsList");
    let top = kubectl(&on, &["top", "nodes"]);
    assert_eq!(top.status, Some(0), "{top}");
    assert!(top.stdout.contains("worker-1"), "{top}");

    let off = KubeTestServer::start_with(
        example_objects(),
        Options {
            metrics_api: false,
            ..Options::default()
        },
    )
    .expect("starts");
    let groups = json(&kubectl(&off, &["get", "--raw", "/apis"]));
    let listed: Vec<&str> = groups["groups"]
        .as_array()
        .map(|g| g.iter().filter_map(|g| g["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        listed.contains(&"apps") && !listed.contains(&"metrics.k8s.io"),
        "{listed:?}"
    );
    let raw = kubectl(
        &off,
        &["get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes"],
    );
    assert_eq!(raw.status, Some(1), "{raw}");
    assert!(
        raw.stderr.contains("NotFound") || raw.stderr.contains("could not find"),
        "{}",
        raw.stderr
    );
    assert_eq!(http(&off, "GET", "/apis/metrics.k8s.io", None).0, 404);
    let top = kubectl(&off, &["top", "nodes"]);
    assert_eq!(top.status, Some(1), "{top}");
    assert!(
        top.stderr.contains("Metrics API not available"),
        "{}",
        top.stderr
    );
}

#[test]
fn kubectl_pages_through_thousands_of_pods_each_exactly_once() {
    let mut objects: Vec<Value> = (0..2000)
        .map(|i| {
            pod(
                "big",
                &format!("p-{i:04}"),
                &format!("n{}", i % 7),
                json!({"parity": if i % 2 == 0 { "even" } else { "odd" }}),
            )
        })
        .collect();
    objects.push(pod("small", "lonely", "n1", json!({})));
    let s = KubeTestServer::start(objects).expect("starts");
    let paged = json(&kubectl(
        &s,
        &["get", "pods", "-n", "big", "--chunk-size=100", "-o", "json"],
    ));
    let got = names(&paged);
    let want: Vec<String> = (0..2000).map(|i| format!("p-{i:04}")).collect();
    assert_eq!(got, want, "every pod exactly once, in order");
    let all = names(&json(&kubectl(
        &s,
        &["get", "pods", "-A", "--chunk-size=100", "-o", "json"],
    )));
    assert_eq!(all.len(), 2001);
    let even = names(&json(&kubectl(
        &s,
        &[
            "get",
            "pods",
            "-A",
            "-l",
            "parity=even",
            "--chunk-size=300",
            "-o",
            "json",
        ],
    )));
    assert_eq!(even.len(), 1000);
    assert!(even.iter().all(|n| n
        .trim_start_matches("p-")
        .parse::<u32>()
        .is_ok_and(|i| i % 2 == 0)));
    let set = names(&json(&kubectl(
        &s,
        &[
            "get",
            "pods",
            "-n",
            "big",
            "-l",
            "parity in (odd)",
            "--field-selector",
            "spec.nodeName=n3",
            "-o",
            "json",
        ],
    )));
    assert_eq!(
        set.len(),
        (0..2000).filter(|i| i % 2 == 1 && i % 7 == 3).count()
    );
    // The protocol: continue tokens and remainingItemCount, page by page.
    let (mut token, mut seen, mut pages) = (String::new(), 0usize, 0);
    loop {
        let (code, page) = http_json(
            &s,
            "GET",
            &format!("/api/v1/pods?limit=300&continue={token}"),
            None,
        );
        assert_eq!(code, 200, "{page}");
        seen += page["items"].as_array().map_or(0, Vec::len);
        pages += 1;
        match page["metadata"]["continue"].as_str() {
            Some(t) => {
                assert_eq!(
                    page["metadata"]["remainingItemCount"],
                    2001 - seen,
                    "{}",
                    page["metadata"]
                );
                token = t.to_string();
            }
            None => break,
        }
    }
    assert_eq!((seen, pages), (2001, 7));
    let (code, bad) = http_json(&s, "GET", "/api/v1/pods?limit=10&continue=garbage", None);
    assert_eq!((code, &bad["reason"]), (400, &json!("BadRequest")));
}

#[test]
fn a_hanging_server_answers_nothing_until_it_is_dropped() {
    let s = server();
    s.set_faults(|f| f.hang = true).expect("faults");
    let started = Instant::now();
    let timed_out = agent(Duration::from_millis(300))
        .get(&format!("{}/api/v1/nodes", s.url()))
        .call();
    assert!(
        timed_out.is_err(),
        "a hanging request answered: {:?}",
        timed_out.map(|r| r.status())
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    // A client without a deadline waits until the server goes away.
    let url = format!("{}/version", s.url());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = agent(Duration::from_secs(120))
            .get(&url)
            .call()
            .map(|r| r.status().as_u16());
        let _ = tx.send(r.map_err(|e| e.to_string()));
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "answered while hanging"
    );
    drop(s);
    let ended = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the request ends when the server is dropped");
    // Shutting down answers the hung request 503 or cuts the connection, whichever wins.
    assert!(matches!(ended, Err(_) | Ok(503)), "{ended:?}");
}

#[test]
fn fixtures_load_from_files_or_a_directory_into_the_same_objects() {
    let values = load_fixtures(&example_files()).expect("fixtures load");
    let from_values = Objects::from(values.clone());
    let dir = workspace_root().join("examples/k8s-doctor/broken-cluster");
    let from_dir = load_objects(&[dir]).expect("directory loads");
    assert!(from_values.len() > 60, "{}", from_values.len());
    assert_eq!(from_values.len(), from_dir.len());
    assert_eq!(
        from_values.len(),
        values.len(),
        "every example object has a served kind"
    );
    let broken = std::env::temp_dir().join(format!("kube-broken-{}.yaml", std::process::id()));
    std::fs::write(&broken, "kind: Pod\nmetadata: {name: [unclosed\n").expect("write");
    let err = load_objects(std::slice::from_ref(&broken)).expect_err("a parse error");
    let _ = std::fs::remove_file(&broken);
    assert!(err.contains(&broken.display().to_string()), "{err}");
}

#[test]
fn kubectl_apply_client_and_server_side() {
    let s = server();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cm.yaml");
    let write = |value: &str| {
        std::fs::write(&file, format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: applied, namespace: shop}}\ndata: {{level: \"{value}\"}}\n")).expect("write")
    };
    let path = file.to_str().expect("utf-8");
    let level = || {
        json(&kubectl(
            &s,
            &["get", "configmap", "applied", "-n", "shop", "-o", "json"],
        ))["data"]["level"]
            .clone()
    };
    write("info");
    let created = kubectl(
        &s,
        &["apply", "--server-side", "--validate=false", "-f", path],
    );
    assert_eq!(created.status, Some(0), "{created}");
    assert_eq!(level(), "info");
    write("debug");
    let updated = kubectl(
        &s,
        &["apply", "--server-side", "--validate=false", "-f", path],
    );
    assert_eq!(updated.status, Some(0), "{updated}");
    assert_eq!(level(), "debug");
    // Client-side apply: a strategic merge patch with the last-applied annotation.
    write("warn");
    let client = kubectl(&s, &["apply", "--validate=false", "-f", path]);
    assert_eq!(client.status, Some(0), "{client}");
    assert!(
        client.stdout.contains("configmap/applied configured"),
        "{client}"
    );
    assert_eq!(level(), "warn");
}

#[test]
fn kubectl_authenticates_with_a_client_certificate_and_fails_without_one() {
    let s = KubeTestServer::start_with(
        load_fixtures(&example_files()).expect("fixtures"),
        Options {
            tls: true,
            client_certs: true,
            ..Options::default()
        },
    )
    .expect("starts");
    let text = std::fs::read_to_string(s.kubeconfig()).expect("kubeconfig");
    assert!(text.contains("client-certificate-data") && text.contains("client-key-data"));
    let nodes = json(&kubectl(&s, &["get", "nodes", "-o", "json"]));
    assert_eq!(names(&nodes).len(), 4);
    // The same kubeconfig without the client certificate: the TLS handshake is refused.
    let dir = tempfile::tempdir().expect("tmp");
    let bare = dir.path().join("config");
    s.write_kubeconfig_with_token(&bare, None).expect("write");
    let without: String = std::fs::read_to_string(&bare)
        .expect("read")
        .lines()
        .map(|l| {
            if l.contains("client-certificate-data") {
                "  user: {}".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&bare, without).expect("write");
    let home = tempfile::tempdir().expect("home");
    let out = Cli::new(require_program("kubectl", "kubectl (shipped on the image)"))
        .env("HOME", home.path())
        .arg("--kubeconfig")
        .arg(&bare)
        .args(["get", "--raw", "/version"])
        .run();
    assert_ne!(out.status, Some(0), "{}", out.stdout);
    assert!(
        // TLS 1.3 refuses after the handshake: kubectl sees the connection close (EOF).
        ["certificate", "tls", "EOF"]
            .iter()
            .any(|w| out.stderr.contains(w)),
        "{}",
        out.stderr
    );
}
