//! The Kubernetes API test server, checked against the real `kubectl`.

use sre_test_harness::cli::{workspace_root, Cli, CliOutput};
use sre_test_harness::kube::{load_fixtures, KubeTestServer};
use sre_test_harness::program::require_program;

fn server() -> KubeTestServer {
    let example = workspace_root().join("examples/k8s-doctor/broken-cluster");
    let mut files: Vec<_> = std::fs::read_dir(&example)
        .expect("example")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    KubeTestServer::start(load_fixtures(&files).expect("fixtures load")).expect("starts")
}

fn kubectl(s: &KubeTestServer, args: &[&str]) -> CliOutput {
    let home = tempfile::tempdir().expect("home");
    Cli::new(require_program("kubectl", "kubectl (shipped on the image)"))
        .env("HOME", home.path())
        .arg("--kubeconfig")
        .arg(s.kubeconfig())
        .args(args)
        .run()
}

fn json(out: &CliOutput) -> serde_json::Value {
    assert_eq!(out.status, Some(0), "kubectl failed: {}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", out.stdout))
}

fn names(v: &serde_json::Value) -> Vec<String> {
    v["items"]
        .as_array()
        .map(|i| {
            i.iter()
                .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn kubectl_lists_every_kind_the_checks_use() {
    let s = server();
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
    // Token required. kubectl sends bearer tokens only over TLS (the server's TLS mode is
    // still to come), so the protocol is checked with a plain HTTP client here, and kubectl
    // shows what a client without the token sees.
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
        f.deny = vec![("pods".into(), "list".into())];
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
    s.set_faults(|f| f.deny = vec![("pods".into(), "delete".into())])
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
