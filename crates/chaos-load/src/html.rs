//! The HTML report of a run: the shared self-contained page (summary, findings, checks)
//! with the run drawn in inline SVG before the findings: latency percentiles (corrected and
//! uncorrected), requests per second over time, latency over time, and the latency
//! distribution from the HDR histogram. No script, no external resource.
//!
//! Drawn by hand in SVG like the other tools' charts: a charting crate would add a runtime
//! dependency (or JavaScript) to a one-file report.

use crate::summary::{decode, Latency, LoadSummary};
use sre_core::Report;
use std::fmt::Write as _;

/// The full page.
pub fn render(report: &Report, s: &LoadSummary) -> String {
    sre_render::html_with_section(report, &charts(s))
}

/// The run's section: the numbers and four figures.
pub fn charts(s: &LoadSummary) -> String {
    let mut out =
        String::from("<section aria-label=\"Load test\">\n<h2 id=\"load\">Load test</h2>\n");
    let _ = writeln!(
        out,
        "<p>{} requests in {:.2} s ({:.1}/s): {} ok, {} failed ({:.2}%); {} connections.</p>",
        s.requests,
        s.duration_seconds,
        s.rps,
        s.successes,
        s.failures,
        s.failure_rate * 100.0,
        s.connections
    );
    out.push_str("<div class=\"charts\">\n");
    percentiles(&mut out, s);
    over_time(&mut out, s);
    latency_over_time(&mut out, s);
    distribution(&mut out, s);
    out.push_str("</div>\n</section>\n");
    out
}

const W: f64 = 420.0;
const H: f64 = 180.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 24.0;

fn empty(out: &mut String, title: &str, why: &str) {
    let _ = writeln!(
        out,
        "<figure>\n<figcaption>{title}</figcaption>\n<p class=\"empty\">{why}</p>\n</figure>"
    );
}

/// p50 ... max as bars; the uncorrected figures beside, in the open model.
fn percentiles(out: &mut String, s: &LoadSummary) {
    let title = "Latency percentiles (ms)";
    let Some(l) = &s.latency_ms else {
        return empty(out, title, "No answer: nothing to draw.");
    };
    let pick = |l: &Latency| [l.p50, l.p75, l.p90, l.p95, l.p99, l.p999, l.max];
    let names = ["p50", "p75", "p90", "p95", "p99", "p99.9", "max"];
    let main = pick(l);
    let other = s.latency_uncorrected_ms.as_ref().map(pick);
    let top = main
        .iter()
        .chain(other.iter().flatten())
        .fold(0.0_f64, |a, b| a.max(*b))
        .max(0.001);
    let _ = writeln!(
        out,
        "<figure>\n<figcaption>{title}{}</figcaption>\n<svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"chart-pct\"><title id=\"chart-pct\">{title}</title>",
        if other.is_some() {
            ": corrected (dark) and uncorrected (light)"
        } else {
            ""
        }
    );
    let slot = (W - LEFT) / names.len() as f64;
    let plot = H - BOTTOM - 16.0;
    for (i, name) in names.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        let bars: Vec<(f64, &str)> = match &other {
            Some(o) => vec![(main[i], "#0969da"), (o[i], "#8cc4ff")],
            None => vec![(main[i], "#0969da")],
        };
        let bw = (slot - 8.0) / bars.len() as f64;
        for (j, (v, color)) in bars.iter().enumerate() {
            let h = v / top * plot;
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{color}\"><title>{name}: {v:.3} ms</title></rect>",
                x + 4.0 + bw * j as f64,
                16.0 + plot - h,
                bw
            );
        }
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{name}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\">{:.2}</text>",
            x + slot / 2.0,
            H - 6.0,
            x + slot / 2.0,
            12.0 + plot - main[i] / top * plot,
            main[i]
        );
    }
    out.push_str("</svg>\n</figure>\n");
}

/// A polyline of `values` (one per second) scaled to `top`.
fn line(values: &[f64], top: f64, color: &str) -> String {
    let n = values.len().max(2) - 1;
    let plot = H - BOTTOM - 8.0;
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{:.1},{:.1}",
                LEFT + (W - LEFT - 8.0) * i as f64 / n as f64,
                8.0 + plot - v / top * plot
            )
        })
        .collect();
    format!(
        "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
        points.join(" ")
    )
}

fn axes(out: &mut String, top: f64, unit: &str, seconds: usize) {
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" y1=\"8\" x2=\"{LEFT}\" y2=\"{y}\" stroke=\"#d0d7de\"/><line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{W}\" y2=\"{y}\" stroke=\"#d0d7de\"/><text x=\"{}\" y=\"16\" text-anchor=\"end\">{top:.0}{unit}</text><text x=\"{}\" y=\"{y}\" text-anchor=\"end\">0</text><text x=\"{W}\" y=\"{}\" text-anchor=\"end\">{seconds} s</text>",
        LEFT - 4.0,
        LEFT - 4.0,
        H - 6.0,
        y = H - BOTTOM
    );
}

/// Requests and failures per second.
fn over_time(out: &mut String, s: &LoadSummary) {
    let title = "Requests per second (failures in red)";
    if s.per_second.is_empty() {
        return empty(out, title, "The run lasted less than a second.");
    }
    let req: Vec<f64> = s.per_second.iter().map(|p| p.requests as f64).collect();
    let fail: Vec<f64> = s.per_second.iter().map(|p| p.failures as f64).collect();
    let top = req.iter().fold(1.0_f64, |a, b| a.max(*b));
    let _ = writeln!(
        out,
        "<figure>\n<figcaption>{title}</figcaption>\n<svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"chart-rps\"><title id=\"chart-rps\">{title}</title>"
    );
    axes(out, top, "/s", req.len());
    out.push_str(&line(&req, top, "#0969da"));
    out.push_str(&line(&fail, top, "#cf222e"));
    out.push_str("</svg>\n</figure>\n");
}

/// Mean and maximum latency per second.
fn latency_over_time(out: &mut String, s: &LoadSummary) {
    let title = "Latency per second: mean (blue) and max (orange), ms";
    if s.per_second.is_empty() || s.latency_ms.is_none() {
        return empty(out, title, "Nothing to draw.");
    }
    let mean: Vec<f64> = s.per_second.iter().map(|p| p.mean_ms).collect();
    let max: Vec<f64> = s.per_second.iter().map(|p| p.max_ms).collect();
    let top = max.iter().fold(0.001_f64, |a, b| a.max(*b));
    let _ = writeln!(
        out,
        "<figure>\n<figcaption>{title}</figcaption>\n<svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"chart-lat\"><title id=\"chart-lat\">{title}</title>"
    );
    axes(out, top, " ms", mean.len());
    out.push_str(&line(&max, top, "#bc4c00"));
    out.push_str(&line(&mean, top, "#0969da"));
    out.push_str("</svg>\n</figure>\n");
}

/// Answers per latency range, doubling ranges from 0.1 ms, from the HDR histogram.
fn distribution(out: &mut String, s: &LoadSummary) {
    let title = "Latency distribution (answers per range)";
    let Some(h) = s
        .histograms
        .as_ref()
        .and_then(|h| decode(&h.latency).ok())
        .filter(|h| !h.is_empty())
    else {
        return empty(out, title, "No answer: nothing to draw.");
    };
    // Ranges [0.1 ms * 2^k, 0.1 ms * 2^(k+1)), the first from 0.
    let mut bins: Vec<(u64, u64)> = Vec::new();
    let mut upper: u64 = 100;
    let mut lower: u64 = 0;
    while lower <= h.max() {
        let count = h.count_between(lower, upper.saturating_sub(1).max(lower));
        bins.push((upper, count));
        lower = upper;
        upper = upper.saturating_mul(2);
    }
    let top = bins.iter().map(|b| b.1).max().unwrap_or(1).max(1) as f64;
    let _ = writeln!(
        out,
        "<figure>\n<figcaption>{title}</figcaption>\n<svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"chart-dist\"><title id=\"chart-dist\">{title}</title>"
    );
    let slot = (W - LEFT) / bins.len().max(1) as f64;
    let plot = H - BOTTOM - 8.0;
    for (i, (up, count)) in bins.iter().enumerate() {
        let hgt = *count as f64 / top * plot;
        let label = if *up >= 1000 {
            format!("{}", up / 1000)
        } else {
            format!("{:.1}", *up as f64 / 1000.0)
        };
        let _ = write!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hgt:.1}\" fill=\"#1a7f37\"><title>below {label} ms: {count}</title></rect>",
            LEFT + slot * i as f64 + 1.0,
            8.0 + plot - hgt,
            (slot - 2.0).max(1.0)
        );
        if i % 2 == 0 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\">{label}</text>",
                LEFT + slot * (i as f64 + 0.5),
                H - 6.0
            );
        }
    }
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"16\" text-anchor=\"end\">{top:.0}</text>",
        LEFT - 4.0
    );
    out.push_str("</svg>\n</figure>\n");
}
