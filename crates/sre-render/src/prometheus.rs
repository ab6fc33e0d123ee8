//! Prometheus text exposition format 0.0.4, e.g. for the node-exporter textfile collector.
//!
//! All series are gauges describing the latest report. Every severity is always present (with
//! zeros) so alert expressions such as `sre_findings{severity="critical"} > 0` never lack a
//! series. Output order is fixed: metric families in a fixed order, codes sorted.

use crate::common::sev_index;
use crate::escape::prom_label;
use sre_core::{Report, Severity};
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub(crate) fn render(report: &Report) -> String {
    let base = format!(
        "tool=\"{}\",command=\"{}\"",
        prom_label(&report.tool),
        prom_label(&report.command)
    );
    let mut out = String::new();

    family(
        &mut out,
        "sre_findings",
        "Findings in the latest report, by severity.",
    );
    for sev in Severity::ALL {
        let _ = writeln!(
            out,
            "sre_findings{{{base},severity=\"{sev}\"}} {}",
            report.summary.get(sev)
        );
    }

    family(
        &mut out,
        "sre_findings_by_code",
        "Findings in the latest report, by check code and severity.",
    );
    let mut by_code: BTreeMap<&str, [u64; 3]> = BTreeMap::new();
    for f in &report.findings {
        by_code.entry(f.code.as_str()).or_default()[sev_index(f.severity)] += 1;
    }
    for (code, counts) in &by_code {
        for sev in Severity::ALL {
            let n = counts[sev_index(sev)];
            if n > 0 {
                let _ = writeln!(
                    out,
                    "sre_findings_by_code{{{base},code=\"{}\",severity=\"{sev}\"}} {n}",
                    prom_label(code)
                );
            }
        }
    }

    family(
        &mut out,
        "sre_report_partial",
        "1 if the latest report is partial because something could not be examined, else 0.",
    );
    let _ = writeln!(
        out,
        "sre_report_partial{{{base}}} {}",
        u8::from(report.partial)
    );

    family(
        &mut out,
        "sre_report_errors",
        "Errors (things that could not be examined) in the latest report.",
    );
    let _ = writeln!(out, "sre_report_errors{{{base}}} {}", report.errors.len());

    family(
        &mut out,
        "sre_findings_suppressed",
        "Findings silenced by suppressions in the latest report (not counted in sre_findings).",
    );
    let _ = writeln!(
        out,
        "sre_findings_suppressed{{{base}}} {}",
        report.suppressed.len()
    );

    family(
        &mut out,
        "sre_checks_run",
        "Checks that ran for the latest report.",
    );
    let _ = writeln!(out, "sre_checks_run{{{base}}} {}", report.checks.len());
    out
}

/// `# HELP` and `# TYPE` lines. Help texts are constants without backslashes or line feeds,
/// so they need no escaping.
fn family(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
}
