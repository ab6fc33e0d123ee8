//! Prometheus exposition text, checked by the real `promtool`.

use crate::external::promtool_check_metrics;
use crate::fixture::{clean_report, render_plain, report};
use sre_render::Format;

#[test]
fn promtool_accepts_the_metrics() {
    for r in [report(), clean_report()] {
        let text = render_plain(&r, Format::Prometheus);
        let run = promtool_check_metrics(&text);
        assert!(
            run.success && run.stdout.trim().is_empty() && run.stderr.trim().is_empty(),
            "promtool check metrics rejected the output (exit {:?}):\n{}{}\n--- input ---\n{text}",
            run.code,
            run.stdout,
            run.stderr
        );
    }
}

#[test]
fn all_severities_present_and_values_right() {
    let text = render_plain(&clean_report(), Format::Prometheus);
    for sev in ["critical", "warning", "info"] {
        assert!(text.contains(&format!(
            "sre_findings{{tool=\"k8s-doctor\",command=\"healthcheck\",severity=\"{sev}\"}} 0\n"
        )));
    }
    assert!(!text.contains("sre_findings_by_code{"));
    let text = render_plain(&report(), Format::Prometheus);
    let base = "tool=\"k8s-doctor\",command=\"healthcheck\"";
    for line in [
        format!("sre_findings{{{base},severity=\"critical\"}} 3"),
        format!("sre_findings_by_code{{{base},code=\"KD201\",severity=\"critical\"}} 2"),
        format!("sre_report_partial{{{base}}} 1"),
        format!("sre_report_errors{{{base}}} 1"),
        format!("sre_checks_run{{{base}}} 7"),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing line `{line}` in\n{text}"
        );
    }
}
