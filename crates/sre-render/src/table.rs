//! The terminal table: one line of context, aligned columns, errors, a summary line.
//!
//! Severity markers (`CRIT`, `WARN`, `INFO`) carry the meaning on their own, so the output is
//! readable without colour, in logs and when piped. Colour is added only on request.

use crate::common::{plural, target_scalars};
use crate::RenderOptions;
use anstyle::{AnsiColor, Style};
use sre_core::{Report, Severity};
use std::fmt::Write as _;

const HEADERS: [&str; 4] = ["SEVERITY", "CODE", "RESOURCE", "MESSAGE"];
const GAP: &str = "  ";

pub(crate) fn render(report: &Report, opts: &RenderOptions) -> String {
    let paint = Painter { color: opts.color };
    let mut out = String::new();

    out.push_str(&paint.bold(&title_line(report)));
    out.push('\n');

    if !report.findings.is_empty() {
        out.push('\n');
        let rows: Vec<[String; 4]> = report
            .findings
            .iter()
            .map(|f| {
                [
                    marker(f.severity).to_string(),
                    one_line(&f.code),
                    one_line(&f.resource.to_string()),
                    sanitize(&f.message),
                ]
            })
            .collect();
        let mut widths = HEADERS.map(|h| h.chars().count());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row.iter()).take(3) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let message_indent = widths[..3].iter().sum::<usize>() + GAP.len() * 3;

        let header: Vec<String> = HEADERS
            .iter()
            .enumerate()
            .map(|(i, h)| pad(h, widths[i], i == 3))
            .collect();
        out.push_str(&paint.bold(&header.join(GAP)));
        out.push('\n');

        for (f, row) in report.findings.iter().zip(&rows) {
            // The severity is padded before it is painted: escape codes have no width.
            let sev = paint.severity(f.severity, &pad(&row[0], widths[0], false));
            let _ = write!(
                out,
                "{sev}{GAP}{}{GAP}{}{GAP}",
                pad(&row[1], widths[1], false),
                pad(&row[2], widths[2], false)
            );
            // Messages are never truncated; extra lines are indented under MESSAGE.
            let mut lines = row[3].lines();
            out.push_str(lines.next().unwrap_or_default());
            for line in lines {
                out.push('\n');
                out.push_str(&" ".repeat(message_indent));
                out.push_str(line);
            }
            out.push('\n');
        }
    }

    if !report.suppressed.is_empty() {
        out.push('\n');
        out.push_str(&paint.bold("suppressed:"));
        out.push('\n');
        for s in &report.suppressed {
            let _ = writeln!(
                out,
                "  {} {}: {} ({})",
                s.finding.code,
                one_line(&s.finding.resource.to_string()),
                one_line(&s.reason),
                one_line(&s.source)
            );
        }
    }

    if !report.errors.is_empty() {
        out.push('\n');
        out.push_str(&paint.bold("errors:"));
        out.push('\n');
        for e in &report.errors {
            let _ = writeln!(out, "  {}: {}", one_line(&e.source), one_line(&e.message));
        }
    }

    out.push('\n');
    out.push_str(&summary_line(report, &paint));
    out.push('\n');
    out
}

/// `tool command: key=value ...` from the target's top-level scalars.
fn title_line(report: &Report) -> String {
    let mut line = format!("{} {}", one_line(&report.tool), one_line(&report.command));
    let facts = target_scalars(report);
    if !facts.is_empty() {
        line.push(':');
        for (k, v) in facts {
            let _ = write!(line, " {}={}", one_line(k), quote_if_needed(&v));
        }
    }
    line
}

/// Values with spaces, quotes or nothing at all are quoted so `key=value` pairs stay
/// unambiguous; JSON string syntax also makes control characters visible.
fn quote_if_needed(v: &str) -> String {
    if v.is_empty()
        || v.chars()
            .any(|c| c.is_whitespace() || c == '"' || c.is_control())
    {
        serde_json::Value::String(v.to_string()).to_string()
    } else {
        v.to_string()
    }
}

fn summary_line(report: &Report, paint: &Painter) -> String {
    let s = &report.summary;
    let mut line = if s.total() == 0 {
        "no findings".to_string()
    } else {
        let parts: Vec<String> = Severity::ALL
            .iter()
            .map(|&sev| {
                let n = s.get(sev);
                let text = format!("{n} {sev}");
                if n > 0 {
                    paint.severity(sev, &text)
                } else {
                    text
                }
            })
            .collect();
        // The summary counts can be out of step with `findings` only if a caller forgot
        // `finish()`; the total is taken from the same counts so the line is self-consistent.
        let total = usize::try_from(s.total()).unwrap_or(usize::MAX);
        format!("{} ({})", parts.join(", "), plural(total, "finding"))
    };
    if !report.suppressed.is_empty() {
        line.push_str(&format!(", {} suppressed", report.suppressed.len()));
    }
    if report.partial {
        line.push_str(" (partial report)");
    }
    line
}

fn marker(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRIT",
        Severity::Warning => "WARN",
        Severity::Info => "INFO",
    }
}

/// Pads to `width` characters; the last column is not padded, to avoid trailing spaces.
fn pad(s: &str, width: usize, last: bool) -> String {
    let n = s.chars().count();
    if last || n >= width {
        s.to_string()
    } else {
        format!("{s}{}", " ".repeat(width - n))
    }
}

/// Report text comes from the examined system (event messages, annotations, file contents),
/// so control characters are neutralised before they reach a terminal: an embedded escape
/// sequence could otherwise recolour, hide or rewrite the output. Tabs become spaces so the
/// columns stay aligned; line feeds are kept and handled by the caller.
fn sanitize(s: &str) -> String {
    s.chars()
        .filter(|&c| c != '\r')
        .map(|c| match c {
            '\n' => '\n',
            '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// [`sanitize`], with line feeds turned into spaces, for cells that must stay on one line.
fn one_line(s: &str) -> String {
    sanitize(s).replace('\n', " ")
}

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }

    fn bold(&self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }

    fn severity(&self, sev: Severity, text: &str) -> String {
        let color = match sev {
            Severity::Critical => AnsiColor::Red,
            Severity::Warning => AnsiColor::Yellow,
            Severity::Info => AnsiColor::Cyan,
        };
        let mut style = Style::new().fg_color(Some(color.into()));
        if sev == Severity::Critical {
            style = style.bold();
        }
        self.paint(style, text)
    }
}
