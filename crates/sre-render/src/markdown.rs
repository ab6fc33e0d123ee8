//! Markdown (GitHub-flavoured): for pull-request comments, job summaries and wikis.

use crate::common::{compact_text, counts_for, plural, severity_label, unlisted_codes};
use crate::escape::markdown as md;
use sre_core::{Report, Severity};
use std::fmt::Write as _;

pub(crate) fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {} {} report", md(&report.tool), md(&report.command));
    out.push('\n');
    let _ = writeln!(
        out,
        "Generated at {} (report schema version {}).",
        md(&report.generated_at),
        md(&report.schema_version)
    );

    if report.partial {
        out.push('\n');
        let _ = writeln!(
            out,
            "> **Partial report:** {} prevented a complete examination; see [Errors](#errors).",
            plural(report.errors.len(), "error")
        );
    }

    if !report.target.is_empty() {
        out.push_str("\n## Target\n\n| Field | Value |\n| --- | --- |\n");
        for (k, v) in &report.target {
            let _ = writeln!(out, "| {} | {} |", md(k), md(&compact_text(v)));
        }
    }

    out.push_str("\n## Summary\n\n| Severity | Findings |\n| --- | ---: |\n");
    for sev in Severity::ALL {
        let _ = writeln!(
            out,
            "| {} | {} |",
            severity_label(sev),
            report.summary.get(sev)
        );
    }
    let _ = writeln!(out, "| **Total** | **{}** |", report.summary.total());

    out.push_str("\n## Findings\n\n");
    if report.findings.is_empty() {
        out.push_str("No findings.\n");
    } else {
        out.push_str("| Severity | Code | Resource | Title | Message | Remediation |\n");
        out.push_str("| --- | --- | --- | --- | --- | --- |\n");
        for f in &report.findings {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                severity_label(f.severity),
                md(&f.code),
                md(&f.resource.to_string()),
                md(&f.title),
                md(&f.message),
                f.remediation.as_deref().map(md).unwrap_or_default(),
            );
        }
    }

    if !report.suppressed.is_empty() {
        out.push_str("\n## Suppressed\n\nCounted here, not in the summary.\n\n| Code | Resource | Message | Reason | Source |\n| --- | --- | --- | --- | --- |\n");
        for s in &report.suppressed {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                md(&s.finding.code),
                md(&s.finding.resource.to_string()),
                md(&s.finding.message),
                md(&s.reason),
                md(&s.source)
            );
        }
    }

    if !report.errors.is_empty() {
        out.push_str("\n## Errors\n\n");
        for e in &report.errors {
            let _ = writeln!(out, "- **{}**: {}", md(&e.source), md(&e.message));
        }
    }

    let unlisted = unlisted_codes(report);
    if !report.checks.is_empty() || !unlisted.is_empty() {
        out.push_str("\n## Checks\n\n| Status | Code | Name | Title | Findings |\n");
        out.push_str("| --- | --- | --- | --- | --- |\n");
        for c in &report.checks {
            let counts = counts_for(report, &c.code);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                status(counts),
                md(&c.code),
                md(&c.name),
                md(&c.title),
                count_text(counts)
            );
        }
        for (code, title, _) in unlisted {
            let counts = counts_for(report, code);
            let _ = writeln!(
                out,
                "| {} | {} |  | {} | {} |",
                status(counts),
                md(code),
                md(title),
                count_text(counts)
            );
        }
    }
    out
}

/// A check fails on warning or critical findings; info findings alone do not fail it.
fn status(counts: [usize; 3]) -> &'static str {
    if counts[0] + counts[1] > 0 {
        "failed"
    } else {
        "passed"
    }
}

fn count_text(counts: [usize; 3]) -> String {
    let parts: Vec<String> = Severity::ALL
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(", ")
    }
}
