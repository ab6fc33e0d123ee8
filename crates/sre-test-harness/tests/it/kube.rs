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
