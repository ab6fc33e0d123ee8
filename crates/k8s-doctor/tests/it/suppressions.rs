//! Suppressions from the config file, the command line and annotations.

use crate::{example_dir, lines};
use k8s_doctor::checks::{Command, Thresholds};
use k8s_doctor::suppress::Suppressions;
use sre_cli::config::{Day, Parsed, SuppressionRule};
use std::time::{Duration, UNIX_EPOCH};

fn rule(
    code: &str,
    namespace: Option<&str>,
    name: Option<&str>,
    expires: Option<&str>,
) -> SuppressionRule {
    SuppressionRule {
        code: code.to_string(),
        namespace: namespace.map(str::to_string),
        name: name.map(str::to_string),
        labels: Default::default(),
        reason: "accepted: node agent".to_string(),
        expires: expires.map(|d| Parsed(d.parse::<Day>().expect("valid day"))),
    }
}

/// 2024-03-01, the example's "today".
fn now() -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_709_294_400)
}

fn audit(s: &Suppressions) -> sre_core::Report {
    k8s_doctor::report_with(
        Command::Audit,
        &[example_dir()],
        &[],
        Thresholds::default(),
        s,
        now(),
    )
    .expect("loads")
}

fn has(r: &sre_core::Report, code: &str, res: &str) -> bool {
    r.findings
        .iter()
        .any(|f| f.code == code && f.resource.to_string() == res)
}

fn suppressed(r: &sre_core::Report, code: &str, res: &str) -> Option<(String, String)> {
    r.suppressed
        .iter()
        .find(|s| s.finding.code == code && s.finding.resource.to_string() == res)
        .map(|s| (s.reason.clone(), s.source.clone()))
}

#[test]
fn config_rules_match_code_namespace_and_name_patterns() {
    let base = audit(&Suppressions::default());
    assert!(has(&base, "KD313", "DaemonSet monitoring/node-agent"));
    let s = Suppressions::new(
        &[rule(
            "privileged-container",
            Some("monitor*"),
            Some("node-*"),
            None,
        )],
        Some(std::path::Path::new("sre.yaml")),
        &[],
    )
    .expect("rules");
    let r = audit(&s);
    assert!(
        !has(&r, "KD313", "DaemonSet monitoring/node-agent"),
        "{}",
        lines(&r)
    );
    let (reason, source) =
        suppressed(&r, "KD313", "DaemonSet monitoring/node-agent").expect("listed as suppressed");
    assert_eq!(reason, "accepted: node agent");
    assert_eq!(source, "config sre.yaml");
    assert_eq!(
        r.summary.total() + r.suppressed.len() as u64,
        base.summary.total()
    );
    // A rule for another namespace suppresses nothing.
    let s =
        Suppressions::new(&[rule("KD313", Some("shop"), None, None)], None, &[]).expect("rules");
    assert!(audit(&s).suppressed.is_empty());
}

#[test]
fn label_selectors_match_the_pod_template() {
    let mut r = rule("KD315", None, None, None);
    r.labels.insert("app".into(), "node-agent".into());
    let s = Suppressions::new(&[r.clone()], None, &[]).expect("rules");
    assert!(suppressed(&audit(&s), "KD315", "DaemonSet monitoring/node-agent").is_some());
    r.labels.insert("app".into(), "other".into());
    let s = Suppressions::new(&[r], None, &[]).expect("rules");
    assert!(suppressed(&audit(&s), "KD315", "DaemonSet monitoring/node-agent").is_none());
}

#[test]
fn expired_rules_stop_applying_and_are_reported() {
    let s = Suppressions::new(
        &[rule("KD313", Some("monitoring"), None, Some("2024-01-31"))],
        Some(std::path::Path::new("sre.yaml")),
        &[],
    )
    .expect("rules");
    let r = audit(&s);
    assert!(
        has(&r, "KD313", "DaemonSet monitoring/node-agent"),
        "expired rule still applied"
    );
    let expired = r
        .findings
        .iter()
        .find(|f| f.code == "KD390")
        .expect("KD390 reported");
    assert_eq!(expired.resource.path.as_deref(), Some("sre.yaml"));
    assert!(
        expired.message.contains("2024-01-31") && expired.message.contains("accepted: node agent"),
        "{}",
        expired.message
    );
    // Not yet expired: applies, no KD390.
    let s = Suppressions::new(
        &[rule("KD313", Some("monitoring"), None, Some("2024-03-02"))],
        None,
        &[],
    )
    .expect("rules");
    let r = audit(&s);
    assert!(
        !has(&r, "KD313", "DaemonSet monitoring/node-agent")
            && !r.findings.iter().any(|f| f.code == "KD390")
    );
}

#[test]
fn exclude_flags() {
    let s = Suppressions::new(
        &[],
        None,
        &[
            "KD320".into(),
            "KD316:shop/pay*".into(),
            "KD370:ci/deployer".into(),
        ],
    )
    .expect("rules");
    let r = audit(&s);
    assert!(
        !r.findings.iter().any(|f| f.code == "KD320"),
        "{}",
        lines(&r)
    );
    assert!(suppressed(&r, "KD316", "StatefulSet shop/payments")
        .is_some_and(|(_, src)| src == "flag --exclude KD316:shop/pay*"));
    assert!(suppressed(&r, "KD370", "ServiceAccount ci/deployer").is_some());
    for bad in ["", ":x", "KD313:", "KD999"] {
        let err = Suppressions::new(&[], None, &[bad.to_string()])
            .expect_err(bad)
            .to_string();
        assert!(
            err.contains("--exclude") || err.contains("valid codes"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn annotations_on_objects_and_namespaces() {
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = "kind: Deployment\nmetadata:\n  name: agent\n  namespace: ops\n  annotations: {sre.dev/ignore: \"KD313, host-namespaces\", other: x}\nspec:\n  replicas: 2\n  template:\n    spec:\n      hostNetwork: true\n      containers: [{name: a, image: a:1, securityContext: {privileged: true}}]\n---\nkind: Namespace\nmetadata:\n  name: lab\n  annotations: {sre.dev/ignore: KD320}\n---\nkind: Deployment\nmetadata: {name: toy, namespace: lab}\nspec:\n  template:\n    spec:\n      containers: [{name: t, image: toy}]\n";
    std::fs::write(dir.path().join("w.yaml"), yaml).expect("write");
    let r = k8s_doctor::report(
        Command::Audit,
        &[dir.path().to_path_buf()],
        &[],
        Thresholds::default(),
        now(),
    )
    .expect("loads");
    assert!(suppressed(&r, "KD313", "Deployment ops/agent")
        .is_some_and(|(_, src)| src.contains("sre.dev/ignore")));
    assert!(suppressed(&r, "KD315", "Deployment ops/agent").is_some());
    assert!(
        has(&r, "KD310", "Deployment ops/agent"),
        "only the listed codes are suppressed"
    );
    assert!(suppressed(&r, "KD320", "Deployment lab/toy")
        .is_some_and(|(_, src)| src.contains("Namespace lab")));
}

#[test]
fn label_rules_match_the_objects_own_labels_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = "kind: Deployment\nmetadata:\n  name: legacy\n  namespace: x\n  labels: {team: legacy}\nspec:\n  replicas: 2\n  template:\n    metadata: {labels: {app: legacy}}\n    spec:\n      containers: [{name: c, image: i:1, securityContext: {privileged: true}}]\n";
    std::fs::write(dir.path().join("d.yaml"), yaml).expect("write");
    let mut r = rule("KD313", None, None, None);
    r.labels.insert("team".into(), "legacy".into());
    let s = Suppressions::new(&[r], None, &[]).expect("rules");
    let rep = k8s_doctor::report_with(
        Command::Audit,
        &[dir.path().to_path_buf()],
        &[],
        Thresholds::default(),
        &s,
        now(),
    )
    .expect("loads");
    assert!(
        suppressed(&rep, "KD313", "Deployment x/legacy").is_some(),
        "{}",
        lines(&rep)
    );
}
