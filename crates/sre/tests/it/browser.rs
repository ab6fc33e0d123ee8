//! The HTML report in a real browser (Debian's Chromium, headless): it renders, its inline
//! filter works, and the page logs no console errors.

use crate::{run, EXAMPLE};
use sre_test_harness::cli::Cli;
use sre_test_harness::program::require_program;
use std::path::Path;
use std::time::Duration;

fn chromium(profile: &Path, args: &[&str]) -> sre_test_harness::cli::CliOutput {
    let bin = require_program("chromium", "chromium");
    Cli::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .timeout(Duration::from_secs(90))
        .run()
}

/// Console lines Chromium logs for the page (`...:CONSOLE:...`).
fn console_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

#[test]
fn audit_report_renders_filters_and_logs_no_console_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let html = dir.path().join("audit.html");
    let out = run(&[
        "k8s-doctor",
        "audit",
        "--snapshot",
        EXAMPLE,
        "-o",
        "html",
        "--fail-on",
        "never",
        "--output-file",
        html.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let url = format!("file://{}", html.display());

    // The console check can fail: a page with an error is caught.
    let bad = dir.path().join("bad.html");
    std::fs::write(
        &bad,
        "<html><body><script>console.error('control'); missingFn();</script></body></html>",
    )
    .expect("write");
    let control = chromium(
        &dir.path().join("p0"),
        &["--dump-dom", &format!("file://{}", bad.display())],
    );
    assert!(
        console_lines(&control.stderr)
            .iter()
            .any(|l| l.contains("missingFn")),
        "console capture does not work:\n{}",
        control.stderr
    );

    // Screenshot of the report.
    let shot = dir.path().join("shot.png");
    let s = chromium(
        &dir.path().join("p1"),
        &[
            "--window-size=1300,2000",
            &format!("--screenshot={}", shot.display()),
            &url,
        ],
    );
    assert!(
        console_lines(&s.stderr).is_empty(),
        "console messages: {:?}",
        console_lines(&s.stderr)
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot ({e}):\n{}", s.stderr));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    let height = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
    assert_eq!((width, height), (1300, 2000));
    assert!(
        png.len() > 50_000,
        "the screenshot is suspiciously small ({} bytes): blank page?",
        png.len()
    );

    // The filter, driven by `#q=`, hides every row but the matching one.
    let dom = chromium(
        &dir.path().join("p2"),
        &["--dump-dom", &format!("{url}#q=KD313")],
    );
    assert!(
        console_lines(&dom.stderr).is_empty(),
        "console messages: {:?}",
        console_lines(&dom.stderr)
    );
    let rows = dom.stdout.matches("<tr data-severity=").count();
    let hidden = dom.stdout.matches("hidden=\"\"").count();
    assert!(
        rows > 10,
        "findings table missing:\n{}",
        &dom.stdout[..dom.stdout.len().min(500)]
    );
    assert_eq!(
        rows - hidden,
        1,
        "the filter should leave exactly the KD313 row"
    );
    assert!(dom.stdout.contains("<span id=\"shown\">1</span>"));
}

#[test]
fn alert_analysis_charts_render_in_the_browser() {
    let dir = tempfile::tempdir().expect("tempdir");
    let html = dir.path().join("alerts.html");
    let out = run(&[
        "alert-analyzer",
        "analyze",
        "--history",
        "examples/alert-analyzer/history.json",
        "-o",
        "html",
        "--output-file",
        html.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let dom = chromium(
        &dir.path().join("p"),
        &["--dump-dom", &format!("file://{}", html.display())],
    );
    assert!(
        console_lines(&dom.stderr).is_empty(),
        "console messages: {:?}",
        console_lines(&dom.stderr)
    );
    // The four charts are in the parsed document, as SVG with their bars and cells.
    for id in ["chart-top", "chart-heat", "chart-timeline", "chart-corr"] {
        assert!(
            dom.stdout.contains(&format!("aria-labelledby=\"{id}\"")),
            "{id} missing"
        );
    }
    assert!(
        dom.stdout.matches("<rect").count() > 7 * 24,
        "heatmap cells missing"
    );
    assert!(dom.stdout.contains("KubePodCrashLooping"));
}
