//! JUnit XML, the common denominator of CI test reports (GitLab, Jenkins, Azure, GitHub
//! test-report actions).
//!
//! Each check is a test case: it fails when it has warning or critical findings and passes
//! otherwise; info findings are listed in `<system-out>` without failing it. Findings of codes
//! missing from `report.checks` get a test case of their own, and a partial report adds a
//! `report errors` test case carrying one `<error>`, so CI shows the run as incomplete.
//!
//! Durations are written as `time="0"`: a report does not time its checks, and several
//! consumers fail to parse a test case without a `time`.

use crate::common::{plural, sev_index, unlisted_codes};
use crate::escape::xml;
use sre_core::{Finding, Report, Severity};
use std::fmt::Write as _;

struct Case<'a> {
    name: String,
    findings: Vec<&'a Finding>,
}

pub(crate) fn render(report: &Report) -> String {
    let mut cases: Vec<Case<'_>> = report
        .checks
        .iter()
        .map(|c| Case {
            name: format!("{} {}", c.code, c.name),
            findings: report.findings_for(&c.code).collect(),
        })
        .collect();
    for (code, title, _) in unlisted_codes(report) {
        cases.push(Case {
            name: format!("{code} {title}"),
            findings: report.findings_for(code).collect(),
        });
    }

    let failures = cases
        .iter()
        .filter(|c| worst_failing(&c.findings).is_some())
        .count();
    let has_errors = !report.errors.is_empty();
    let tests = cases.len() + usize::from(has_errors);
    let errors = usize::from(has_errors);
    let suite = format!("sre {} {}", report.tool, report.command);
    let classname = xml(&report.tool, true);

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\">",
        xml(&suite, true)
    );
    // The JUnit schema's timestamp has no zone designator; `generated_at` is UTC by contract.
    let timestamp = report.generated_at.trim_end_matches('Z');
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"0\" timestamp=\"{}\">",
        xml(&suite, true),
        xml(timestamp, true)
    );
    out.push_str("    <properties>\n");
    property(&mut out, "schemaVersion", &report.schema_version);
    property(
        &mut out,
        "partial",
        if report.partial { "true" } else { "false" },
    );
    for (k, v) in crate::common::target_scalars(report) {
        property(&mut out, &format!("target.{k}"), &v);
    }
    out.push_str("    </properties>\n");

    for case in &cases {
        let _ = write!(
            out,
            "    <testcase classname=\"{classname}\" name=\"{}\" time=\"0\"",
            xml(&case.name, true)
        );
        let failing: Vec<&Finding> = case
            .findings
            .iter()
            .copied()
            .filter(|f| f.severity > Severity::Info)
            .collect();
        let info: Vec<&Finding> = case
            .findings
            .iter()
            .copied()
            .filter(|f| f.severity == Severity::Info)
            .collect();
        if failing.is_empty() && info.is_empty() {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        if let Some(worst) = worst_failing(&case.findings) {
            let _ = write!(
                out,
                "      <failure message=\"{}\" type=\"{worst}\">",
                xml(&failure_message(&failing), true)
            );
            for f in &failing {
                out.push_str(&xml(&finding_line(f), false));
            }
            out.push_str("</failure>\n");
        }
        if !info.is_empty() {
            out.push_str("      <system-out>");
            for f in &info {
                out.push_str(&xml(&finding_line(f), false));
            }
            out.push_str("</system-out>\n");
        }
        out.push_str("    </testcase>\n");
    }

    if has_errors {
        let _ = writeln!(
            out,
            "    <testcase classname=\"{classname}\" name=\"report errors\" time=\"0\">"
        );
        let _ = write!(
            out,
            "      <error message=\"{}\" type=\"partial\">",
            xml(
                &format!(
                    "{} prevented a complete examination; the report is partial",
                    plural(report.errors.len(), "error")
                ),
                true
            )
        );
        for e in &report.errors {
            out.push_str(&xml(&format!("{}: {}\n", e.source, e.message), false));
        }
        out.push_str("</error>\n    </testcase>\n");
    }

    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// The most severe finding if it makes the check fail (warning or critical).
fn worst_failing(findings: &[&Finding]) -> Option<Severity> {
    findings
        .iter()
        .map(|f| f.severity)
        .filter(|&s| s > Severity::Info)
        .max()
}

/// For example `3 findings: 1 critical, 2 warning`.
fn failure_message(failing: &[&Finding]) -> String {
    let mut counts = [0usize; 3];
    for f in failing {
        counts[sev_index(f.severity)] += 1;
    }
    let parts: Vec<String> = Severity::ALL
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    format!("{}: {}", plural(failing.len(), "finding"), parts.join(", "))
}

/// One finding as a line (plus an indented remediation line) of a failure or system-out body.
fn finding_line(f: &Finding) -> String {
    let mut s = format!("[{}] {}: {}\n", f.severity, f.resource, f.message);
    if let Some(r) = &f.remediation {
        let _ = writeln!(s, "  remediation: {r}");
    }
    s
}

fn property(out: &mut String, name: &str, value: &str) {
    let _ = writeln!(
        out,
        "      <property name=\"{}\" value=\"{}\"/>",
        xml(name, true),
        xml(value, true)
    );
}
