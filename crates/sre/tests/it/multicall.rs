//! The same binary under other names: `k8s-doctor` and the kubectl plugin `kubectl-doctor`.

use crate::EXAMPLE;
use sre_test_harness::cli::{workspace_root, Cli};

fn linked(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join(name);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_sre"), &link).expect("symlink");
    (dir, link)
}

#[test]
fn invoked_as_k8s_doctor() {
    let (_dir, bin) = linked("k8s-doctor");
    let direct = Cli::new(&bin)
        .current_dir(workspace_root())
        .env("SOURCE_DATE_EPOCH", "1709294400")
        .args(["healthcheck", "--snapshot", EXAMPLE, "-o", "json"])
        .run();
    let via_sre = crate::run(&[
        "k8s-doctor",
        "healthcheck",
        "--snapshot",
        EXAMPLE,
        "-o",
        "json",
    ]);
    assert_eq!(direct.status, Some(1), "{}", direct.stderr);
    assert_eq!(
        direct.stdout, via_sre.stdout,
        "k8s-doctor and sre k8s-doctor differ"
    );
    let help = Cli::new(&bin).arg("--help").run();
    help.assert_success();
    assert!(help.stdout.contains("Usage: k8s-doctor"), "{}", help.stdout);
}

#[test]
fn invoked_as_kubectl_plugin() {
    let (dir, bin) = linked("kubectl-doctor");
    let help = Cli::new(&bin).arg("--help").run();
    help.assert_success();
    assert!(
        help.stdout.contains("Usage: kubectl doctor"),
        "{}",
        help.stdout
    );
    // The real kubectl finds the plugin on PATH and passes the arguments through.
    let kubectl =
        sre_test_harness::program::require_program("kubectl", "kubectl (shipped on the image)");
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Cli::new(kubectl)
        .current_dir(workspace_root())
        .env("PATH", path)
        .env("SOURCE_DATE_EPOCH", "1709294400")
        .args([
            "doctor",
            "healthcheck",
            "--snapshot",
            EXAMPLE,
            "--check",
            "KD101",
            "-o",
            "json",
        ])
        .run();
    assert_eq!(out.status, Some(1), "stderr: {}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json through kubectl");
    assert_eq!(v["findings"][0]["code"], "KD101");
}

#[test]
fn invoked_as_alert_analyzer() {
    let (_dir, bin) = linked("alert-analyzer");
    let help = Cli::new(&bin).arg("--help").run();
    help.assert_success();
    assert!(
        help.stdout.contains("Usage: alert-analyzer"),
        "{}",
        help.stdout
    );
    let out = Cli::new(&bin).arg("analyze").run();
    assert_eq!(out.status, Some(2));
    assert!(out.stderr.contains("--prometheus-url"), "{}", out.stderr);
}

#[test]
fn invoked_as_chaos_load() {
    let (_dir, bin) = linked("chaos-load");
    let help = Cli::new(&bin).arg("--help").run();
    help.assert_success();
    assert!(help.stdout.contains("Usage: chaos-load"), "{}", help.stdout);
    let out = Cli::new(&bin).arg("run").run();
    assert_eq!(out.status, Some(2));
    assert!(out.stderr.contains("--url"), "{}", out.stderr);
}
