//! The CLI called in-process (`sre::run_io`): same behaviour as the binary, without a
//! process per case.

use crate::EXAMPLE;
use sre_cli::output::Out;
use sre_test_harness::cli::{in_process, workspace_root, CliOutput};
use std::ffi::OsString;

fn sre_in_process(args: &[&str]) -> CliOutput {
    let mut argv: Vec<OsString> = vec!["sre".into()];
    argv.extend(args.iter().map(OsString::from));
    in_process(|stdout, stderr| sre::run_io(argv, &mut Out::buffer(stdout), stderr, false))
}

fn example() -> String {
    workspace_root().join(EXAMPLE).display().to_string()
}

#[test]
fn exit_codes_and_output_match_the_binary() {
    let ex = example();
    for (fail_on, code) in [("critical", 1), ("never", 0)] {
        let out = sre_in_process(&[
            "k8s-doctor",
            "healthcheck",
            "--snapshot",
            &ex,
            "-o",
            "json",
            "--fail-on",
            fail_on,
        ]);
        assert_eq!(out.status, Some(code), "{}", out.stderr);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
        assert_eq!(v["summary"]["critical"], 3);
    }
}

#[test]
fn usage_errors_and_help_are_captured() {
    let bad = sre_in_process(&["k8s-doctor", "healthcheck", "--snapshot", "x", "-o", "pdf"]);
    assert_eq!(bad.status, Some(2));
    assert!(
        bad.stderr.contains("possible values") && bad.stdout.is_empty(),
        "{}",
        bad.stderr
    );
    let help = sre_in_process(&["--help"]);
    assert_eq!(help.status, Some(0));
    assert!(help.stdout.contains("Usage: sre"), "{}", help.stdout);
    let missing = sre_in_process(&["k8s-doctor", "diagnostics", "--snapshot", "/nonexistent/x"]);
    assert_eq!(missing.status, Some(2));
    assert!(
        missing.stderr.starts_with("error: ") && missing.stderr.contains("/nonexistent/x"),
        "{}",
        missing.stderr
    );
}
