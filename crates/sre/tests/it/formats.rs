//! Every output format through the real binary, pinned by snapshots; and the JSON contract.

use crate::{run, sre, EXAMPLE};
use sre_test_harness::program::require_program;

const FORMATS: [&str; 8] = [
    "table",
    "json",
    "yaml",
    "markdown",
    "html",
    "sarif",
    "junit",
    "prometheus",
];

#[test]
fn every_format_is_snapshotted() {
    for format in FORMATS {
        let out = run(&[
            "k8s-doctor",
            "healthcheck",
            "--snapshot",
            EXAMPLE,
            "-o",
            format,
            "--fail-on",
            "never",
        ]);
        out.assert_success();
        insta::assert_snapshot!(format!("healthcheck_{format}"), out.stdout);
    }
}

#[test]
fn json_follows_the_contract() {
    for command in ["healthcheck", "diagnostics"] {
        let out = run(&["k8s-doctor", command, "--snapshot", EXAMPLE, "-o", "json"]);
        assert_eq!(out.status, Some(1));
        let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
        assert_eq!(v["schemaVersion"], "1");
        assert_eq!(v["tool"], "k8s-doctor");
        assert_eq!(v["command"], command);
        assert_eq!(v["generatedAt"], "2024-03-01T12:00:00Z");
        assert_eq!(v["partial"], false);
        assert!(v["errors"].as_array().is_some_and(Vec::is_empty));
        let findings = v["findings"].as_array().expect("findings");
        let count = |sev: &str| findings.iter().filter(|f| f["severity"] == sev).count() as u64;
        for sev in ["critical", "warning", "info"] {
            assert_eq!(
                v["summary"][sev].as_u64(),
                Some(count(sev)),
                "summary.{sev}"
            );
        }
        for f in findings {
            for key in [
                "code", "severity", "title", "message", "resource", "evidence",
            ] {
                assert!(f.get(key).is_some(), "finding lacks {key}: {f}");
            }
            assert!(f["resource"]["kind"].is_string(), "{f}");
        }
        validate_against_docs_schema(&out.stdout);
    }
}

/// Validates a report against docs/report.schema.json with Python's jsonschema.
pub fn validate_against_docs_schema(json: &str) {
    let python = require_program("python3", "python3");
    let schema = sre_test_harness::cli::workspace_root().join("docs/report.schema.json");
    let script = "import json,sys\ntry:\n import jsonschema\nexcept ImportError:\n sys.exit('the Python module jsonschema is missing: pip install jsonschema')\nschema=json.load(open(sys.argv[1]))\njsonschema.validate(json.load(sys.stdin), schema)\n";
    let out = sre_test_harness::cli::Cli::new(python)
        .args(["-c", script])
        .arg(schema)
        .stdin(json.as_bytes().to_vec())
        .run();
    assert_eq!(
        out.status,
        Some(0),
        "report does not match docs/report.schema.json:\n{}",
        out.stderr
    );
}

#[test]
fn output_file_is_written_atomically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("report.html");
    std::fs::write(&target, "old").expect("seed");
    let out = sre()
        .args([
            "k8s-doctor",
            "diagnostics",
            "--snapshot",
            EXAMPLE,
            "-o",
            "html",
            "--output-file",
        ])
        .arg(&target)
        .run();
    assert_eq!(out.status, Some(1));
    assert!(
        out.stdout.is_empty(),
        "stdout must be empty with --output-file: {}",
        out.stdout
    );
    let html = std::fs::read_to_string(&target).expect("written");
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("<svg"),
        "{}",
        &html[..100.min(html.len())]
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names.len(), 1, "temporary files left behind: {names:?}");
    // A directory that does not exist: exit 2, the path named, nothing written.
    let bad = dir.path().join("missing/report.json");
    let out = sre()
        .args([
            "k8s-doctor",
            "diagnostics",
            "--snapshot",
            EXAMPLE,
            "--output-file",
        ])
        .arg(&bad)
        .run();
    assert_eq!(out.status, Some(2));
    assert!(out.stderr.contains("missing"), "{}", out.stderr);
}

#[test]
fn color_only_when_asked_and_never_with_no_color() {
    let args = [
        "k8s-doctor",
        "healthcheck",
        "--snapshot",
        EXAMPLE,
        "--fail-on",
        "never",
    ];
    let plain = run(&args);
    assert!(!plain.stdout.contains('\u{1b}'), "colour in a pipe");
    let forced = sre().args(["--color", "always"]).args(args).run();
    assert!(
        forced.stdout.contains('\u{1b}'),
        "--color always gave no colour"
    );
    let no_color = sre().env("NO_COLOR", "1").args(args).run();
    assert!(!no_color.stdout.contains('\u{1b}'));
}
