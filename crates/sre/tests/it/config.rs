//! Configuration: flags > SRE_* environment > config file > defaults.

use crate::{run, sre, EXAMPLE};

#[test]
fn config_show_reports_sources() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("sre.yaml");
    std::fs::write(
        &file,
        "output: yaml\nfail-on: warning\nk8s-doctor:\n  restart-warning: 3\n",
    )
    .expect("write");
    let out = sre()
        .current_dir(dir.path())
        .env("SRE_OUTPUT", "markdown")
        .args(["config", "show"])
        .run();
    out.assert_success();
    assert!(
        out.stdout.contains("output = markdown  # env SRE_OUTPUT"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("fail-on = warning  # file sre.yaml"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("k8s-doctor.restart-warning = 3  # file sre.yaml"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("k8s-doctor.restart-critical = 10  # default"),
        "{}",
        out.stdout
    );
}

#[test]
fn precedence_applies_to_real_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cfg.yaml");
    std::fs::write(&file, "output: json\nfail-on: never\n").expect("write");
    let cfg = file.to_str().expect("utf-8 path");
    let args = [
        "--config",
        cfg,
        "k8s-doctor",
        "healthcheck",
        "--snapshot",
        EXAMPLE,
    ];
    let from_file = run(&args);
    assert_eq!(from_file.status, Some(0), "fail-on from file");
    assert!(
        from_file.stdout.trim_start().starts_with('{'),
        "output from file"
    );
    let from_env = sre().env("SRE_OUTPUT", "yaml").args(args).run();
    assert!(
        from_env.stdout.starts_with("schemaVersion:"),
        "env beats file: {}",
        &from_env.stdout[..40.min(from_env.stdout.len())]
    );
    let from_flag = sre()
        .env("SRE_OUTPUT", "yaml")
        .args(args)
        .args(["-o", "markdown", "--fail-on", "critical"])
        .run();
    assert_eq!(from_flag.status, Some(1), "flag beats file");
    assert!(from_flag.stdout.starts_with('#'), "flag beats env");
}

#[test]
fn unknown_config_key_is_an_error_with_location() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("sre.yaml");
    std::fs::write(&file, "output: json\nfailon: warning\n").expect("write");
    let out = sre().current_dir(dir.path()).args(["config", "show"]).run();
    assert_eq!(out.status, Some(2));
    assert!(
        out.stderr.contains("sre.yaml:2:1")
            && out.stderr.contains("failon")
            && out.stderr.contains("fail-on"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_env_value_is_an_error() {
    let out = sre()
        .env("SRE_FAIL_ON", "sometimes")
        .args(["k8s-doctor", "healthcheck", "--snapshot", EXAMPLE])
        .run();
    assert_eq!(out.status, Some(2));
    assert!(
        out.stderr.contains("SRE_FAIL_ON") && out.stderr.contains("never"),
        "{}",
        out.stderr
    );
}

#[test]
fn thresholds_from_config_change_findings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cfg.yaml");
    std::fs::write(
        &file,
        "k8s-doctor:\n  restart-warning: 50\n  restart-critical: 60\n",
    )
    .expect("write");
    let cfg = file.to_str().expect("utf-8");
    let out = run(&[
        "--config",
        cfg,
        "k8s-doctor",
        "diagnostics",
        "--snapshot",
        EXAMPLE,
        "--check",
        "KD206",
        "-o",
        "json",
    ]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["findings"].as_array().map(Vec::len), Some(0));
    let inverted = run(&[
        "k8s-doctor",
        "diagnostics",
        "--snapshot",
        EXAMPLE,
        "--restart-warning",
        "9",
        "--restart-critical",
        "3",
    ]);
    assert_eq!(inverted.status, Some(2));
    assert!(
        inverted.stderr.contains("--restart-critical"),
        "{}",
        inverted.stderr
    );
}

#[test]
fn suppressions_from_config_and_flags_are_listed_not_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cfg.yaml");
    std::fs::write(
        &file,
        "k8s-doctor:\n  suppressions:\n  - code: privileged-container\n    namespace: monitoring\n    reason: the eBPF agent needs it\n",
    )
    .expect("write");
    let cfg = file.to_str().expect("utf-8");
    let out = run(&[
        "--config",
        cfg,
        "k8s-doctor",
        "audit",
        "--snapshot",
        EXAMPLE,
        "-o",
        "json",
        "--exclude",
        "KD315:monitoring/node-*",
    ]);
    assert_eq!(out.status, Some(1), "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let sup = v["suppressed"].as_array().expect("suppressed listed");
    let sources: Vec<&str> = sup.iter().filter_map(|s| s["source"].as_str()).collect();
    assert!(
        sources.iter().any(|s| s.starts_with("config ")),
        "{sources:?}"
    );
    assert!(
        sources.contains(&"flag --exclude KD315:monitoring/node-*"),
        "{sources:?}"
    );
    assert!(!v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .any(|f| f["code"] == "KD313" || f["code"] == "KD315"));
    let table = run(&[
        "--config",
        cfg,
        "k8s-doctor",
        "audit",
        "--snapshot",
        EXAMPLE,
        "--fail-on",
        "never",
    ]);
    assert!(table.stdout.contains("1 suppressed"), "{}", table.stdout);
    let bad = run(&[
        "k8s-doctor",
        "audit",
        "--snapshot",
        EXAMPLE,
        "--exclude",
        "KD999",
    ]);
    assert_eq!(bad.status, Some(2));
    assert!(
        bad.stderr.contains("KD999") && bad.stderr.contains("valid codes"),
        "{}",
        bad.stderr
    );
}
