//! The bundled example: the findings an SRE would expect from it.

use crate::{example_dir, lines};
use k8s_doctor::checks::{Command, Thresholds};
use sre_core::{Report, Severity};
use std::time::UNIX_EPOCH;

fn report(command: Command) -> Report {
    k8s_doctor::report(
        command,
        &[example_dir()],
        &[],
        Thresholds::default(),
        UNIX_EPOCH,
    )
    .expect("the example loads")
}

fn has(r: &Report, code: &str, sev: Severity, resource: &str) -> bool {
    r.findings
        .iter()
        .any(|f| f.code == code && f.severity == sev && f.resource.to_string() == resource)
}

#[test]
fn healthcheck_finds_the_planted_problems() {
    let r = report(Command::Healthcheck);
    let l = lines(&r);
    assert!(has(&r, "KD101", Severity::Critical, "Node worker-2"), "{l}");
    assert!(has(&r, "KD102", Severity::Warning, "Node worker-3"), "{l}");
    assert!(has(&r, "KD104", Severity::Info, "Node worker-3"), "{l}");
    assert!(
        has(
            &r,
            "KD112",
            Severity::Critical,
            "Pod kube-system/kube-scheduler-cp-1"
        ),
        "{l}"
    );
    assert!(
        has(
            &r,
            "KD112",
            Severity::Warning,
            "Deployment kube-system/coredns"
        ),
        "{l}"
    );
    assert!(has(&r, "KD121", Severity::Warning, "Node worker-2"), "{l}");
    assert!(has(&r, "KD121", Severity::Critical, "Node worker-3"), "{l}");
    assert!(
        has(
            &r,
            "KD123",
            Severity::Warning,
            "Pod kube-system/kube-scheduler-cp-1"
        ),
        "{l}"
    );
    assert!(
        !r.findings
            .iter()
            .any(|f| f.code == "KD110" || f.code == "KD120"),
        "{l}"
    );
    assert_eq!(r.target["serverVersion"], "v1.29.2");
    assert_eq!(r.target["nodes"], 4);
    assert_eq!(r.target["nodeRoles"]["control-plane"], 1);
    assert_eq!(r.target["nodeRoles"]["worker"], 3);
    assert!(!r.partial);
    insta::assert_snapshot!("example_healthcheck", l);
}

#[test]
fn diagnostics_finds_the_planted_problems_at_the_workload() {
    let r = report(Command::Diagnostics);
    let l = lines(&r);
    assert!(
        has(&r, "KD201", Severity::Critical, "Deployment shop/cart"),
        "{l}"
    );
    let cart = r
        .findings
        .iter()
        .find(|f| f.code == "KD201" && f.resource.to_string() == "Deployment shop/cart")
        .expect("cart");
    assert_eq!(cart.evidence["podCount"], 2);
    assert!(
        has(&r, "KD202", Severity::Critical, "Deployment shop/checkout"),
        "{l}"
    );
    assert!(
        has(
            &r,
            "KD203",
            Severity::Warning,
            "CronJob batch/nightly-report"
        ),
        "{l}"
    );
    let pending = r
        .findings
        .iter()
        .find(|f| f.code == "KD203")
        .expect("pending");
    assert!(
        pending.message.contains("Insufficient memory"),
        "{}",
        pending.message
    );
    assert!(
        has(&r, "KD204", Severity::Critical, "StatefulSet shop/payments"),
        "{l}"
    );
    assert!(
        has(&r, "KD205", Severity::Warning, "Deployment shop/search"),
        "{l}"
    );
    assert!(
        has(&r, "KD206", Severity::Critical, "Deployment shop/search"),
        "{l}"
    );
    assert!(
        has(&r, "KD206", Severity::Warning, "Deployment shop/frontend"),
        "{l}"
    );
    assert!(
        has(&r, "KD207", Severity::Warning, "StatefulSet shop/payments"),
        "{l}"
    );
    let backoff = r
        .findings
        .iter()
        .find(|f| f.code == "KD207" && f.resource.to_string() == "Deployment shop/cart")
        .expect("events grouped at the workload");
    assert_eq!(backoff.evidence["count"], 81);
    assert!(
        has(&r, "KD208", Severity::Warning, "Pod shop/debug-shell"),
        "{l}"
    );
    assert!(has(&r, "KD210", Severity::Warning, "Node worker-1"), "{l}");
    // Requests suggested from PodMetrics: peak usage plus 20%, rounded up.
    let shell = r
        .findings
        .iter()
        .find(|f| f.code == "KD208" && f.resource.to_string() == "Pod shop/debug-shell")
        .expect("debug-shell");
    assert_eq!(shell.evidence["observedUsage"]["memory"], "10Mi");
    let fix = shell.remediation.as_deref().unwrap_or("");
    assert!(
        fix.contains("cpu: 5m") && fix.contains("memory: 12Mi"),
        "{fix}"
    );
    // A ReplicaSet's events are reported at its Deployment.
    assert!(
        r.findings.iter().any(|f| f.code == "KD207"
            && f.message.starts_with("FailedCreate")
            && f.resource.to_string() == "Deployment shop/checkout"),
        "{l}"
    );
    // Normal events are never findings.
    assert!(
        !r.findings
            .iter()
            .any(|f| f.message.contains("Successfully assigned")),
        "{l}"
    );
    insta::assert_snapshot!("example_diagnostics", l);
}

#[test]
fn embedded_example_matches_the_files_on_disk() {
    let cluster = k8s_doctor::examples::broken_cluster().expect("embedded example parses");
    let disk = k8s_doctor::snapshot::load(&[example_dir()]).expect("loads");
    assert_eq!(cluster.pods.len(), disk.cluster.pods.len());
    assert_eq!(cluster.nodes.len(), disk.cluster.nodes.len());
    assert_eq!(
        k8s_doctor::examples::BROKEN_CLUSTER.len(),
        disk.files,
        "a file in the example dir is not embedded"
    );
}

#[test]
fn cluster_info_dump_layout_is_read() {
    // `kubectl cluster-info dump --output-directory` writes typed lists whose items have no
    // kind, next to logs.txt files that must be ignored.
    let dir = tempfile::tempdir().expect("tempdir");
    let ns = dir.path().join("shop");
    std::fs::create_dir_all(ns.join("cart-1")).expect("mkdir");
    std::fs::write(dir.path().join("nodes.json"), r#"{"kind":"NodeList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"n1"},"status":{"conditions":[{"type":"Ready","status":"False","reason":"KubeletNotReady"}]}}]}"#).expect("write");
    std::fs::write(ns.join("pods.json"), r#"{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"cart-1","namespace":"shop"},"spec":{"containers":[{"name":"c","image":"i"}]},"status":{"phase":"Running","containerStatuses":[{"name":"c","restartCount":3,"state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}}]}"#).expect("write");
    std::fs::write(ns.join("cart-1/logs.txt"), "panic: not json {{{").expect("write");
    let r = k8s_doctor::report(
        Command::Diagnostics,
        &[dir.path().to_path_buf()],
        &[],
        Thresholds::default(),
        UNIX_EPOCH,
    )
    .expect("loads");
    assert!(
        r.findings
            .iter()
            .any(|f| f.code == "KD201" && f.resource.to_string() == "Pod shop/cart-1"),
        "{}",
        lines(&r)
    );
    assert!(
        r.findings.iter().any(|f| f.code == "KD101"),
        "{}",
        lines(&r)
    );
    assert_eq!(r.target["files"], 2);
}

#[test]
fn audit_finds_planted_problems_and_trusts_the_hardened_namespace() {
    let r = report(Command::Audit);
    let l = lines(&r);
    assert!(
        has(
            &r,
            "KD313",
            Severity::Critical,
            "DaemonSet monitoring/node-agent"
        ),
        "{l}"
    );
    assert!(
        has(
            &r,
            "KD315",
            Severity::Critical,
            "DaemonSet monitoring/node-agent"
        ),
        "{l}"
    );
    assert!(
        has(&r, "KD316", Severity::Critical, "StatefulSet shop/payments"),
        "{l}"
    );
    assert!(
        has(
            &r,
            "KD331",
            Severity::Critical,
            "CronJob batch/nightly-report"
        ),
        "{l}"
    );
    assert!(
        has(&r, "KD301", Severity::Warning, "Deployment shop/checkout"),
        "{l}"
    );
    assert!(
        has(&r, "KD320", Severity::Warning, "Deployment shop/frontend"),
        "{l}"
    );
    assert!(
        has(&r, "KD330", Severity::Warning, "Pod shop/debug-shell"),
        "{l}"
    );
    // Scores: the hardened namespace is perfect, the broken cluster fails.
    let secure = r.target["namespaceScores"]
        .as_array()
        .and_then(|rows| rows.iter().find(|x| x["namespace"] == "secure"))
        .expect("secure scored");
    assert_eq!(
        (secure["score"].as_i64(), secure["grade"].as_str()),
        (Some(100), Some("A"))
    );
    assert_eq!(r.target["grade"], "F");
    assert!(r.target["score"]
        .as_i64()
        .is_some_and(|s| (0..60).contains(&s)));
    // Precision: the hardened namespace yields nothing at all.
    assert!(
        !r.findings
            .iter()
            .any(|f| f.resource.namespace.as_deref() == Some("secure")),
        "{l}"
    );
    // Pods owned by a controller are audited once, at the controller.
    let pods: Vec<String> = r
        .findings
        .iter()
        .filter(|f| f.resource.kind.as_deref() == Some("Pod"))
        .map(|f| f.resource.to_string())
        .collect();
    assert!(pods.iter().all(|p| p == "Pod shop/debug-shell"), "{pods:?}");
    insta::assert_snapshot!("example_audit", l);
}

#[test]
fn check_is_the_union_of_healthcheck_diagnostics_and_audit() {
    use std::collections::BTreeSet;
    let key = |f: &sre_core::Finding| format!("{} {} {}", f.code, f.resource, f.message);
    let mut union = BTreeSet::new();
    for c in [Command::Healthcheck, Command::Diagnostics, Command::Audit] {
        union.extend(report(c).findings.iter().map(key));
    }
    let check = report(Command::Check);
    let got: Vec<String> = check.findings.iter().map(key).collect();
    let unique: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(got.len(), unique.len(), "a check ran twice");
    assert_eq!(unique, union);
    assert_eq!(check.command, "check");
    assert!(check.target.contains_key("nodeInventory"));
    assert_eq!(check.checks.len(), k8s_doctor::checks::ALL.len());
}
