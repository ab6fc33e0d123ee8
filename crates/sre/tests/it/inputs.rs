//! Bad input: exit 2 with a message that says what, where and what to do.

use crate::{run, sre, EXAMPLE};

#[test]
fn unknown_output_format_lists_valid_values() {
    let out = run(&[
        "k8s-doctor",
        "healthcheck",
        "--snapshot",
        EXAMPLE,
        "-o",
        "pdf",
    ]);
    assert_eq!(out.status, Some(2));
    for f in ["table", "json", "sarif", "junit", "prometheus"] {
        assert!(out.stderr.contains(f), "{}", out.stderr);
    }
}

#[test]
fn malformed_snapshot_names_file_line_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("broken.yaml");
    std::fs::write(&p, "kind: Pod\nmetadata:\n  name: [oops\n").expect("write");
    let out = sre()
        .args(["k8s-doctor", "diagnostics", "--snapshot"])
        .arg(&p)
        .run();
    assert_eq!(out.status, Some(2));
    assert!(
        out.stderr.contains(&format!("{}:", p.display())) && out.stderr.contains("invalid YAML"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn empty_snapshot_gives_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("notes.yaml"), "just: notes\n").expect("write");
    let out = sre()
        .args(["k8s-doctor", "healthcheck", "--snapshot"])
        .arg(dir.path())
        .run();
    assert_eq!(out.status, Some(2));
    assert!(
        out.stderr.contains("no Kubernetes objects") && out.stderr.contains("kubectl"),
        "{}",
        out.stderr
    );
}

#[test]
fn unknown_check_lists_valid_codes() {
    let out = run(&[
        "k8s-doctor",
        "diagnostics",
        "--snapshot",
        EXAMPLE,
        "--check",
        "KD999",
    ]);
    assert_eq!(out.status, Some(2));
    assert!(
        out.stderr.contains("KD201") && out.stderr.contains("KD999"),
        "{}",
        out.stderr
    );
    let out = run(&[
        "k8s-doctor",
        "diagnostics",
        "--snapshot",
        EXAMPLE,
        "--check",
        "KD101,KD121",
    ]);
    assert_eq!(out.status, Some(2));
    assert!(out.stderr.contains("healthcheck"), "{}", out.stderr);
}

#[test]
fn missing_snapshot_argument_and_path() {
    let out = run(&["k8s-doctor", "healthcheck"]);
    assert_eq!(out.status, Some(2));
    assert!(out.stderr.contains("--snapshot"), "{}", out.stderr);
    let out = run(&[
        "k8s-doctor",
        "healthcheck",
        "--snapshot",
        "/nonexistent/dump",
    ]);
    assert_eq!(out.status, Some(2));
    assert!(out.stderr.contains("/nonexistent/dump"), "{}", out.stderr);
}

#[test]
fn partial_snapshot_is_reported_as_partial() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        sre_test_harness::cli::workspace_root()
            .join(EXAMPLE)
            .join("nodes.yaml"),
        dir.path().join("nodes.yaml"),
    )
    .expect("copy");
    let out = sre()
        .args(["k8s-doctor", "healthcheck", "-o", "json", "--snapshot"])
        .arg(dir.path())
        .run();
    assert_eq!(out.status, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["partial"], true);
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("kube-system")),
        "{v}"
    );
}

#[test]
fn snapshot_from_stdin() {
    let yaml = std::fs::read(
        sre_test_harness::cli::workspace_root()
            .join(EXAMPLE)
            .join("nodes.yaml"),
    )
    .expect("read");
    let out = sre()
        .args([
            "k8s-doctor",
            "healthcheck",
            "--snapshot",
            "-",
            "--check",
            "KD101",
            "-o",
            "json",
        ])
        .stdin(yaml)
        .run();
    assert_eq!(out.status, Some(1), "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["findings"][0]["resource"]["name"], "worker-2");
    let out = sre()
        .args(["k8s-doctor", "healthcheck", "--snapshot", "-"])
        .stdin(b"kind: Node\nmetadata: {name: [\n".to_vec())
        .run();
    assert_eq!(out.status, Some(2));
    assert!(out.stderr.contains("<stdin>:"), "{}", out.stderr);
}
