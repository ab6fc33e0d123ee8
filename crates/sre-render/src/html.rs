//! One self-contained HTML page: inline CSS, inline SVG charts, no scripts and no external
//! resources, so it can be attached to a ticket, archived by CI or printed as it is.
//!
//! Every piece of report text goes through [`esc`]. The page is deterministic: the only time
//! on it is `generated_at`, and element order follows the report.

use crate::common::{counts_for, plural, resource_kind, sev_index, severity_label, unlisted_codes};
use crate::escape::html as esc;
use serde_json::Value;
use sre_core::{Report, Severity};
use std::fmt::Write as _;

/// Bar and badge colours; chosen for contrast on white and legibility when printed in grey
/// (the labels carry the meaning as text, too).
fn colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#c62828",
        Severity::Warning => "#b45f06",
        Severity::Info => "#1565c0",
    }
}

const CSS: &str = r#"
:root { --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --panel: #f6f8fa;
  --crit: #c62828; --warn: #b45f06; --info: #1565c0; --ok: #2e7d32; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; color: var(--fg); background: #fff;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 32px 24px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 36px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--border); }
.meta { color: var(--muted); margin: 0; }
.facts { display: flex; flex-wrap: wrap; gap: 8px 28px; margin: 16px 0 0; }
.facts dt { color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .04em; }
.facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.banner { margin: 20px 0 0; padding: 12px 16px; border: 1px solid #e3b341; border-left-width: 6px;
  border-radius: 6px; background: #fff8e1; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 16px; margin: 24px 0 0; }
.card { border: 1px solid var(--border); border-top: 4px solid var(--muted); border-radius: 8px; padding: 14px 16px; }
.card .n { font-size: 32px; font-weight: 700; line-height: 1.1; }
.card .l { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card.critical { border-top-color: var(--crit); } .card.critical .n { color: var(--crit); }
.card.warning { border-top-color: var(--warn); } .card.warning .n { color: var(--warn); }
.card.info { border-top-color: var(--info); } .card.info .n { color: var(--info); }
.card.checks { border-top-color: var(--ok); }
.card.gauge svg { max-width: 150px; margin: 0 auto; }
.filter { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin: 0 0 10px; }
.filter input[type=search] { flex: 1 1 280px; padding: 6px 10px; border: 1px solid var(--border); border-radius: 6px; font: inherit; }
.filter .count { color: var(--muted); }
@media print { .filter { display: none; } }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 16px; margin: 16px 0 0; }
figure { margin: 0; border: 1px solid var(--border); border-radius: 8px; padding: 14px 16px; }
figcaption { font-weight: 600; margin: 0 0 8px; }
svg { display: block; width: 100%; height: auto; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; font-size: 12px; fill: #1f2328; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; vertical-align: top; padding: 8px 10px; border-bottom: 1px solid var(--border); }
th { background: var(--panel); color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .04em; }
td.msg { overflow-wrap: anywhere; white-space: pre-line; }
td.fix { overflow-wrap: anywhere; white-space: pre-wrap; }
td.msg { width: 30%; } td.fix { width: 24%; } td.res { overflow-wrap: anywhere; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.badge { display: inline-block; min-width: 64px; padding: 1px 8px; border-radius: 10px; color: #fff;
  font-size: 11px; font-weight: 700; text-align: center; text-transform: uppercase; white-space: nowrap; }
.badge.critical { background: var(--crit); } .badge.warning { background: var(--warn); }
.badge.info { background: var(--info); } .badge.pass { background: var(--ok); }
.badge.fail { background: var(--crit); }
.ev { margin: 6px 0 0; padding: 0; list-style: none; display: flex; flex-wrap: wrap; gap: 4px; }
.ev li { background: var(--panel); border: 1px solid var(--border); border-radius: 4px; padding: 0 6px;
  font-size: 12px; color: var(--muted); }
.empty { color: var(--muted); }
footer { margin: 40px 0 0; color: var(--muted); font-size: 12px; }
@media print {
  main { max-width: none; padding: 0; }
  body { font-size: 11px; }
  .cards { grid-template-columns: repeat(5, 1fr); }
  .charts { grid-template-columns: 1fr 1fr; }
  .card, figure, tr { break-inside: avoid; }
  thead { display: table-header-group; }
  h2 { break-after: avoid; }
}
"#;

const FILTER_SCRIPT: &str = "<script>(function(){var q=document.getElementById('q');if(!q)return;\
var rows=[].slice.call(document.querySelectorAll('#findings-table tbody tr'));\
var boxes=[].slice.call(document.querySelectorAll('.sevfilter input'));\
function apply(){var t=q.value.toLowerCase(),on={},n=0;boxes.forEach(function(b){on[b.value]=b.checked;});\
rows.forEach(function(r){var show=on[r.getAttribute('data-severity')]!==false&&r.textContent.toLowerCase().indexOf(t)>=0;\
r.hidden=!show;if(show)n++;});document.getElementById('shown').textContent=n;}\
q.addEventListener('input',apply);boxes.forEach(function(b){b.addEventListener('change',apply);});\
var m=/[#&]q=([^&]*)/.exec(location.hash);if(m)q.value=decodeURIComponent(m[1]);apply();})();</script>\n";

pub(crate) fn render(report: &Report) -> String {
    let title = format!("{} {} report", report.tool, report.command);
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", esc(&title));
    let _ = writeln!(out, "<style>{CSS}</style>\n</head>\n<body>\n<main>");

    header(&mut out, report, &title);
    cards(&mut out, report);
    charts(&mut out, report);
    findings(&mut out, report);
    inventories(&mut out, report);
    suppressed(&mut out, report);
    errors(&mut out, report);
    checks(&mut out, report);

    let _ = writeln!(
        out,
        "<footer>Generated by sre {} {} at {} &middot; report schema version {}</footer>",
        esc(&report.tool),
        esc(&report.command),
        esc(&report.generated_at),
        esc(&report.schema_version)
    );
    // Inline and tiny on purpose: the report stays one self-contained file with no external
    // script. It filters the findings table by text and severity; `#q=TEXT` in the URL
    // pre-fills the filter (handy in links and in the browser test).
    out.push_str(FILTER_SCRIPT);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn header(out: &mut String, report: &Report, title: &str) {
    out.push_str("<header>\n");
    let _ = writeln!(out, "<h1>{}</h1>", esc(title));
    let _ = writeln!(
        out,
        "<p class=\"meta\">Generated at <time datetime=\"{0}\">{0}</time> &middot; report schema version {1}</p>",
        esc(&report.generated_at),
        esc(&report.schema_version)
    );
    if !report.target.is_empty() {
        out.push_str("<dl class=\"facts\">\n");
        for (k, v) in report.target.iter().filter(|(_, v)| !is_record_list(v)) {
            let value = match v {
                Value::Null => "&mdash;".to_string(),
                _ => esc(&crate::common::compact_text(v)),
            };
            let _ = writeln!(out, "<div><dt>{}</dt><dd>{value}</dd></div>", esc(k));
        }
        out.push_str("</dl>\n");
    }
    if report.partial {
        let _ = writeln!(
            out,
            "<p class=\"banner\"><strong>Partial report.</strong> {} prevented a complete \
             examination; findings may be missing. See <a href=\"#errors\">Errors</a>.</p>",
            esc(&plural(report.errors.len(), "error"))
        );
    }
    out.push_str("</header>\n");
}

/// A semicircle gauge for a report whose target carries a 0-100 `score` (and a `grade`),
/// such as k8s-doctor's audit.
fn gauge(out: &mut String, report: &Report) {
    let Some(score) = report.target.get("score").and_then(Value::as_f64) else {
        return;
    };
    let score = score.clamp(0.0, 100.0);
    let grade = report
        .target
        .get("grade")
        .and_then(Value::as_str)
        .unwrap_or("");
    let colour = match score {
        s if s >= 80.0 => "var(--ok)",
        s if s >= 60.0 => "var(--warn)",
        _ => "var(--crit)",
    };
    // Arc from the left end (180°) clockwise over the top; the end point follows the score.
    let angle = std::f64::consts::PI * (1.0 - score / 100.0);
    let (x, y) = (60.0 + 50.0 * angle.cos(), 60.0 - 50.0 * angle.sin());
    let _ = writeln!(
        out,
        "<div class=\"card gauge\"><svg viewBox=\"0 0 120 70\" role=\"img\" aria-label=\"Score {score:.0} of 100, grade {g}\">\
         <path d=\"M10 60 A50 50 0 0 1 110 60\" fill=\"none\" stroke=\"#e5e7eb\" stroke-width=\"10\"/>\
         <path d=\"M10 60 A50 50 0 0 1 {x:.1} {y:.1}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"10\"/>\
         <text x=\"60\" y=\"52\" text-anchor=\"middle\" style=\"font-size:22px;font-weight:700\">{score:.0}</text>\
         <text x=\"60\" y=\"67\" text-anchor=\"middle\">grade {g}</text></svg><div class=\"l\">Score</div></div>",
        g = esc(grade)
    );
}

fn cards(out: &mut String, report: &Report) {
    out.push_str("<section class=\"cards\" aria-label=\"Summary\">\n");
    gauge(out, report);
    for sev in Severity::ALL {
        let _ = writeln!(
            out,
            "<div class=\"card {}\"><div class=\"n\">{}</div><div class=\"l\">{}</div></div>",
            sev.as_str(),
            report.summary.get(sev),
            severity_label(sev)
        );
    }
    let failed = report
        .checks
        .iter()
        .filter(|c| {
            let n = counts_for(report, &c.code);
            n[0] + n[1] > 0
        })
        .count();
    let _ = writeln!(
        out,
        "<div class=\"card checks\"><div class=\"n\">{}/{}</div><div class=\"l\">Checks passing</div></div>",
        report.checks.len().saturating_sub(failed),
        report.checks.len()
    );
    let _ = writeln!(
        out,
        "<div class=\"card\"><div class=\"n\">{}</div><div class=\"l\">Errors</div></div>",
        report.errors.len()
    );
    out.push_str("</section>\n");
}

fn charts(out: &mut String, report: &Report) {
    out.push_str("<section class=\"charts\">\n");
    severity_chart(out, report);
    kind_chart(out, report);
    out.push_str("</section>\n");
}

/// Horizontal bars, one per severity, with the count written after each bar.
fn severity_chart(out: &mut String, report: &Report) {
    const LABEL_W: u64 = 70;
    const BAR_W: u64 = 300;
    const ROW_H: u64 = 30;
    let max = Severity::ALL
        .iter()
        .map(|&s| report.summary.get(s))
        .max()
        .unwrap_or(0)
        .max(1);
    let height = ROW_H * 3 + 4;
    out.push_str("<figure>\n<figcaption>Findings by severity</figcaption>\n");
    let _ = writeln!(
        out,
        "<svg viewBox=\"0 0 {w} {height}\" role=\"img\" aria-labelledby=\"chart-severity\">",
        w = LABEL_W + BAR_W + 50
    );
    let _ = writeln!(
        out,
        "<title id=\"chart-severity\">Findings by severity: {} critical, {} warning, {} info</title>",
        report.summary.critical, report.summary.warning, report.summary.info
    );
    for (i, sev) in Severity::ALL.into_iter().enumerate() {
        let n = report.summary.get(sev);
        let y = 2 + ROW_H * i as u64;
        let w = n * BAR_W / max;
        let _ = writeln!(
            out,
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"{LABEL_W}\" y=\"{}\" width=\"{BAR_W}\" height=\"18\" rx=\"3\" fill=\"#f6f8fa\"/>\
             <rect x=\"{LABEL_W}\" y=\"{}\" width=\"{w}\" height=\"18\" rx=\"3\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" font-weight=\"700\">{n}</text>",
            y + 14,
            severity_label(sev),
            y + 2,
            y + 2,
            colour(sev),
            LABEL_W + BAR_W + 8,
            y + 15,
        );
    }
    out.push_str("</svg>\n</figure>\n");
}

/// Horizontal stacked bars: findings per resource kind, split by severity, most first.
fn kind_chart(out: &mut String, report: &Report) {
    let mut kinds: Vec<(&str, [u64; 3])> = Vec::new();
    for f in &report.findings {
        let kind = resource_kind(&f.resource);
        let i = match kinds.iter().position(|(k, _)| *k == kind) {
            Some(i) => i,
            None => {
                kinds.push((kind, [0; 3]));
                kinds.len() - 1
            }
        };
        kinds[i].1[sev_index(f.severity)] += 1;
    }
    kinds.sort_by(|a, b| {
        let (ta, tb) = (a.1.iter().sum::<u64>(), b.1.iter().sum::<u64>());
        tb.cmp(&ta).then_with(|| a.0.cmp(b.0))
    });

    out.push_str("<figure>\n<figcaption>Findings by resource kind</figcaption>\n");
    if kinds.is_empty() {
        out.push_str("<p class=\"empty\">No findings.</p>\n</figure>\n");
        return;
    }
    // Label column sized to the longest kind, at about 7 px per character of 12 px text.
    let longest = kinds
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let label_w = (longest as u64 * 7 + 12).clamp(60, 180);
    const BAR_W: u64 = 280;
    const ROW_H: u64 = 26;
    const LEGEND_H: u64 = 26;
    let max = kinds
        .iter()
        .map(|(_, c)| c.iter().sum::<u64>())
        .max()
        .unwrap_or(1)
        .max(1);
    let height = LEGEND_H + ROW_H * kinds.len() as u64;
    let _ = writeln!(
        out,
        "<svg viewBox=\"0 0 {} {height}\" role=\"img\" aria-labelledby=\"chart-kind\">",
        label_w + BAR_W + 50
    );
    let summary: Vec<String> = kinds
        .iter()
        .map(|(k, c)| format!("{k} {}", c.iter().sum::<u64>()))
        .collect();
    let _ = writeln!(
        out,
        "<title id=\"chart-kind\">Findings by resource kind: {}</title>",
        esc(&summary.join(", "))
    );
    let mut x = label_w;
    for sev in Severity::ALL {
        let _ = writeln!(
            out,
            "<rect x=\"{x}\" y=\"4\" width=\"10\" height=\"10\" rx=\"2\" fill=\"{}\"/><text x=\"{}\" y=\"13\">{}</text>",
            colour(sev),
            x + 14,
            severity_label(sev)
        );
        x += 80;
    }
    for (i, (kind, counts)) in kinds.iter().enumerate() {
        let y = LEGEND_H + ROW_H * i as u64;
        let total: u64 = counts.iter().sum();
        let _ = write!(out, "<text x=\"0\" y=\"{}\">{}</text>", y + 13, esc(kind));
        let mut x = label_w;
        for sev in Severity::ALL {
            let n = counts[sev_index(sev)];
            if n == 0 {
                continue;
            }
            // Every non-zero segment stays visible, however small its share.
            let w = (n * BAR_W / max).max(3);
            let _ = write!(
                out,
                "<rect x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"16\" fill=\"{}\"><title>{} {}: {n}</title></rect>",
                y + 1,
                colour(sev),
                esc(kind),
                sev
            );
            x += w;
        }
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" font-weight=\"700\">{total}</text>",
            x + 6,
            y + 13
        );
    }
    out.push_str("</svg>\n</figure>\n");
}

fn findings(out: &mut String, report: &Report) {
    out.push_str("<section>\n<h2 id=\"findings\">Findings</h2>\n");
    if report.findings.is_empty() {
        out.push_str("<p class=\"empty\">No findings.</p>\n</section>\n");
        return;
    }
    // The filter works without JavaScript too: then every row simply stays visible.
    let _ = writeln!(
        out,
        "<div class=\"filter\"><input id=\"q\" type=\"search\" placeholder=\"Filter: code, resource, namespace, text\" aria-label=\"Filter findings\">\
         <span class=\"sevfilter\"><label><input type=\"checkbox\" value=\"critical\" checked> critical</label>\
         <label><input type=\"checkbox\" value=\"warning\" checked> warning</label>\
         <label><input type=\"checkbox\" value=\"info\" checked> info</label></span>\
         <span class=\"count\"><span id=\"shown\">{0}</span> of {0} shown</span></div>",
        report.findings.len()
    );
    out.push_str(
        "<table id=\"findings-table\">\n<thead><tr><th>Severity</th><th>Code</th><th>Resource</th><th>Title</th>\
         <th>Message</th><th>Remediation</th></tr></thead>\n<tbody>\n",
    );
    for f in &report.findings {
        let _ = write!(
            out,
            "<tr data-severity=\"{0}\"><td><span class=\"badge {0}\">{0}</span></td><td><code>{1}</code></td>\
             <td class=\"res\">{2}</td><td>{3}</td><td class=\"msg\">{4}",
            f.severity.as_str(),
            esc(&f.code),
            esc(&f.resource.to_string()),
            esc(&f.title),
            esc(&f.message)
        );
        if !f.evidence.is_empty() {
            out.push_str("<ul class=\"ev\">");
            for (k, v) in &f.evidence {
                let _ = write!(
                    out,
                    "<li>{}: {}</li>",
                    esc(k),
                    esc(&crate::common::value_text(v))
                );
            }
            out.push_str("</ul>");
        }
        let _ = writeln!(
            out,
            "</td><td class=\"fix\">{}</td></tr>",
            f.remediation.as_deref().map(esc).unwrap_or_default()
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// Rows shown per inventory table; the JSON report always has all of them.
const INVENTORY_ROWS: usize = 500;

/// Target entries that are lists of flat records (k8s-doctor's `nodeInventory`: name, roles,
/// versions per node) become tables, so a person sees them without opening the JSON.
fn inventories(out: &mut String, report: &Report) {
    for (key, value) in report.target.iter().filter(|(_, v)| is_record_list(v)) {
        let rows: Vec<&serde_json::Map<String, Value>> = match value {
            Value::Array(items) => items.iter().filter_map(Value::as_object).collect(),
            _ => continue,
        };
        // `name` first: it is what a reader scans for.
        let mut columns: Vec<&str> = vec!["name"];
        if !rows.iter().any(|r| r.contains_key("name")) {
            columns.clear();
        }
        for row in &rows {
            for k in row.keys() {
                if !columns.contains(&k.as_str()) {
                    columns.push(k);
                }
            }
        }
        let _ = writeln!(
            out,
            "<section>\n<h2 id=\"{0}\">{1}</h2>",
            esc(key),
            esc(&humanize(key))
        );
        out.push_str("<table>\n<thead><tr>");
        for c in &columns {
            let _ = write!(out, "<th>{}</th>", esc(&humanize(c)));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for row in rows.iter().take(INVENTORY_ROWS) {
            out.push_str("<tr>");
            for c in &columns {
                let cell = row
                    .get(*c)
                    .map(crate::common::compact_text)
                    .unwrap_or_default();
                let _ = write!(out, "<td>{}</td>", esc(&cell));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
        if rows.len() > INVENTORY_ROWS {
            let _ = writeln!(
                out,
                "<p class=\"empty\">{} more rows in the JSON report.</p>",
                rows.len() - INVENTORY_ROWS
            );
        }
        out.push_str("</section>\n");
    }
}

/// A non-empty list whose every item is an object.
fn is_record_list(v: &Value) -> bool {
    matches!(v, Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object))
}

/// `nodeInventory` -> `Node inventory`.
fn humanize(key: &str) -> String {
    let mut out = String::new();
    for (i, ch) in key.chars().enumerate() {
        if ch.is_uppercase() && i > 0 {
            out.push(' ');
            out.extend(ch.to_lowercase());
        } else if i == 0 {
            out.extend(ch.to_uppercase());
        } else {
            out.push(ch);
        }
    }
    out
}

fn suppressed(out: &mut String, report: &Report) {
    if report.suppressed.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<section>\n<h2 id=\"suppressed\">Suppressed ({})</h2>\n<p>Silenced on purpose; not counted in the summary.</p>",
        report.suppressed.len()
    );
    out.push_str("<table>\n<thead><tr><th>Severity</th><th>Code</th><th>Resource</th><th>Message</th><th>Reason</th><th>Source</th></tr></thead>\n<tbody>\n");
    for s in &report.suppressed {
        let f = &s.finding;
        let _ = writeln!(
            out,
            "<tr><td><span class=\"badge {0}\">{0}</span></td><td><code>{1}</code></td><td class=\"res\">{2}</td><td class=\"msg\">{3}</td><td class=\"msg\">{4}</td><td><code>{5}</code></td></tr>",
            esc(f.severity.as_str()),
            esc(&f.code),
            esc(&f.resource.to_string()),
            esc(&f.message),
            esc(&s.reason),
            esc(&s.source)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn errors(out: &mut String, report: &Report) {
    if report.errors.is_empty() {
        return;
    }
    out.push_str("<section>\n<h2 id=\"errors\">Errors</h2>\n");
    out.push_str("<p>These could not be examined, so the report is partial.</p>\n");
    out.push_str("<table>\n<thead><tr><th>Source</th><th>Message</th></tr></thead>\n<tbody>\n");
    for e in &report.errors {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td class=\"msg\">{}</td></tr>",
            esc(&e.source),
            esc(&e.message)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn checks(out: &mut String, report: &Report) {
    let unlisted = unlisted_codes(report);
    if report.checks.is_empty() && unlisted.is_empty() {
        return;
    }
    out.push_str("<section>\n<h2 id=\"checks\">Checks</h2>\n");
    out.push_str(
        "<table>\n<thead><tr><th>Status</th><th>Code</th><th>Name</th><th>Title</th>\
         <th>Critical</th><th>Warning</th><th>Info</th></tr></thead>\n<tbody>\n",
    );
    let rows = report
        .checks
        .iter()
        .map(|c| (c.code.as_str(), c.name.as_str(), c.title.as_str()))
        .chain(unlisted.iter().map(|&(code, title, _)| (code, "", title)));
    for (code, name, title) in rows {
        let n = counts_for(report, code);
        let (class, label) = if n[0] + n[1] > 0 {
            ("fail", "fail")
        } else {
            ("pass", "pass")
        };
        let _ = writeln!(
            out,
            "<tr><td><span class=\"badge {class}\">{label}</span></td><td><code>{}</code></td>\
             <td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(code),
            esc(name),
            esc(title),
            n[0],
            n[1],
            n[2]
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}
