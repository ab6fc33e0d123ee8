use crate::{run, sre, EXAMPLE};

#[test]
fn version_and_help() {
    let v = run(&["--version"]);
    v.assert_success();
    assert_eq!(
        v.stdout.trim(),
        format!("sre {}", env!("CARGO_PKG_VERSION"))
    );
    let h = run(&["help"]);
    h.assert_success();
    for word in [
        "k8s-doctor",
        "demo",
        "completions",
        "man",
        "config",
        "Exit codes",
    ] {
        assert!(h.stdout.contains(word), "help lacks {word}:\n{}", h.stdout);
    }
    let h = run(&["k8s-doctor", "diagnostics", "--help"]);
    h.assert_success();
    for flag in [
        "--snapshot",
        "--output",
        "--output-file",
        "--fail-on",
        "--check",
        "--restart-warning",
    ] {
        assert!(h.stdout.contains(flag), "diagnostics help lacks {flag}");
    }
}

#[test]
fn exit_codes_follow_fail_on() {
    let diag = |fail_on: &str| {
        run(&[
            "k8s-doctor",
            "diagnostics",
            "--snapshot",
            EXAMPLE,
            "-o",
            "json",
            "--fail-on",
            fail_on,
        ])
        .status
    };
    // The example has critical findings.
    assert_eq!(diag("critical"), Some(1));
    assert_eq!(diag("never"), Some(0));
    // Only info findings for KD104 on the example: --fail-on warning passes, info fails.
    let one = |fail_on: &str| {
        run(&[
            "k8s-doctor",
            "healthcheck",
            "--snapshot",
            EXAMPLE,
            "--check",
            "KD104",
            "--fail-on",
            fail_on,
        ])
        .status
    };
    assert_eq!(one("critical"), Some(0));
    assert_eq!(one("warning"), Some(0));
    assert_eq!(one("info"), Some(1));
    // The audit follows the same convention.
    let audit = |fail_on: &str| {
        run(&[
            "k8s-doctor",
            "audit",
            "--snapshot",
            EXAMPLE,
            "--check",
            "KD302",
            "--fail-on",
            fail_on,
        ])
        .status
    };
    assert_eq!(audit("warning"), Some(0));
    assert_eq!(audit("info"), Some(1));
    // `check` runs everything in one report.
    let all = run(&["k8s-doctor", "check", "--snapshot", EXAMPLE, "-o", "json"]);
    assert_eq!(all.status, Some(1), "{}", all.stderr);
    let v: serde_json::Value = serde_json::from_str(&all.stdout).expect("json");
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .map(|f| f.iter().filter_map(|x| x["code"].as_str()).collect())
        .unwrap_or_default();
    for code in ["KD101", "KD201", "KD313", "KD370"] {
        assert!(codes.contains(&code), "{code} missing from check");
    }
    // Default is critical.
    assert_eq!(
        run(&[
            "k8s-doctor",
            "healthcheck",
            "--snapshot",
            EXAMPLE,
            "--check",
            "node-unschedulable"
        ])
        .status,
        Some(0)
    );
    assert_eq!(
        run(&["k8s-doctor", "healthcheck", "--snapshot", EXAMPLE]).status,
        Some(1)
    );
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["completions", shell]);
        out.assert_success();
        assert!(
            out.stdout.contains("k8s-doctor") && out.stdout.contains("healthcheck"),
            "{shell} completion incomplete"
        );
    }
    let out = run(&["completions", "tcsh"]);
    assert_eq!(out.status, Some(2));
    assert!(out.stderr.contains("bash"), "{}", out.stderr);
    let man = run(&["man"]);
    man.assert_success();
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH sre"),
        "{}",
        &man.stdout[..200.min(man.stdout.len())]
    );
    assert!(
        man.stdout.contains("k8s\\-doctor"),
        "man page lacks subcommands"
    );
}

#[test]
fn checks_are_listed_and_documented() {
    let out = run(&["k8s-doctor", "checks"]);
    out.assert_success();
    for code in ["KD101", "KD112", "KD123", "KD201", "KD210"] {
        assert!(out.stdout.contains(code), "{code} not listed");
    }
    let md = run(&["k8s-doctor", "checks", "--markdown"]);
    md.assert_success();
    assert!(md.stdout.contains("### Why it matters"));
}

#[test]
fn demo_writes_reports_and_exits_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = sre().args(["demo", "--output-dir"]).arg(dir.path()).run();
    out.assert_success();
    for f in [
        "k8s-doctor-healthcheck.html",
        "k8s-doctor-healthcheck.json",
        "k8s-doctor-diagnostics.html",
        "k8s-doctor-diagnostics.json",
    ] {
        let p = dir.path().join(f);
        let text =
            std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{} missing: {e}", p.display()));
        assert!(text.len() > 500, "{f} is too small");
    }
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("k8s-doctor-diagnostics.json")).expect("read"),
    )
    .expect("valid JSON");
    assert!(json["summary"]["critical"].as_u64().unwrap_or(0) > 0);
    // The offline alert analysis of the bundled week: its JSON carries the analysis.
    let alerts: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("alert-analyzer-analyze.json")).expect("read"),
    )
    .expect("valid JSON");
    let codes: Vec<&str> = alerts["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    for code in [
        "AA102", "AA103", "AA104", "AA105", "AA106", "AA107", "AA201",
    ] {
        assert!(codes.contains(&code), "{code} missing: {codes:?}");
    }
    assert!(
        alerts["analysis"]["noise"].is_object(),
        "{}",
        alerts["analysis"]
    );
    assert!(dir.path().join("alert-analyzer-analyze.html").is_file());
    // chaos-load: a second of load against the server the demo starts, whose 2% of 503s
    // break the `errors<1%` threshold.
    let load: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("chaos-load-run.json")).expect("read"),
    )
    .expect("valid JSON");
    assert!(
        load["summary"]["requests"]
            .as_u64()
            .is_some_and(|n| n > 100),
        "{}",
        load["summary"]
    );
    assert!(load["summary"]["statusCodes"]["503"]
        .as_u64()
        .is_some_and(|n| n > 0));
    assert_eq!(load["findings"][0]["code"], "CL101", "{}", load["findings"]);
    assert!(
        std::fs::read_to_string(dir.path().join("chaos-load-run.md"))
            .is_ok_and(|t| t.contains("| `errors<1%` |"))
    );
    // chaos-load: a tiny experiment through the fault proxy: the faults phase fails more.
    let exp: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("chaos-load-experiment.json")).expect("read"),
    )
    .expect("valid JSON");
    let phases = exp["experiment"]["phases"]
        .as_array()
        .expect("phases")
        .clone();
    assert_eq!(phases.len(), 3, "{}", exp["experiment"]);
    let rate = |i: usize| phases[i]["failureRate"].as_f64().unwrap_or(-1.0);
    assert!(rate(1) > rate(0) + 0.05, "{}", exp["experiment"]);
    assert!(
        std::fs::read_to_string(dir.path().join("chaos-load-experiment.md"))
            .is_ok_and(|t| t.contains("| faults | 1 | 1 |"))
    );
    assert!(
        out.stdout.contains("k8s-doctor") && out.stdout.contains("diagnostics"),
        "{}",
        out.stdout
    );
    // The demo runs from any directory: the example is embedded in the binary.
    let elsewhere = sre()
        .current_dir(dir.path())
        .args(["demo", "--output-dir", "again"])
        .run();
    elsewhere.assert_success();
    assert!(dir
        .path()
        .join("again/k8s-doctor-healthcheck.html")
        .is_file());
}

#[test]
fn results_on_stdout_logs_on_stderr() {
    let out = run(&[
        "--log-level",
        "debug",
        "k8s-doctor",
        "healthcheck",
        "--snapshot",
        EXAMPLE,
        "-o",
        "json",
        "--fail-on",
        "never",
    ]);
    out.assert_success();
    let v: serde_json::Value =
        serde_json::from_str(&out.stdout).expect("stdout is only the JSON report");
    assert_eq!(v["tool"], "k8s-doctor");
    let json_logs = run(&[
        "--log-level",
        "debug",
        "--log-format",
        "json",
        "--config",
        "/dev/null",
        "k8s-doctor",
        "checks",
    ]);
    json_logs.assert_success();
    for line in json_logs.stderr.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
    }
    assert!(
        !json_logs.stderr.is_empty(),
        "debug logging printed nothing"
    );
}
