//! The HTML report of `analyze`: the shared self-contained page (summary, findings, checks)
//! with the analysis drawn in inline SVG before the findings: the noisiest alerts, an
//! hour-by-weekday heatmap of episode starts, a timeline of episodes, and a correlation
//! matrix. No script, no external resource: one file to attach to a weekly review.
//!
//! The charts are drawn by hand in SVG: a charting crate would add a runtime dependency
//! (or JavaScript) to a page whose other charts are already plain SVG.

use crate::episodes::{default_max_gap, episodes, Episode};
use crate::history::History;
use crate::AnalyzedReport;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// How many alertnames the bar chart and the timeline show.
const TOP: usize = 10;
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The full page.
pub fn render(
    analyzed: &AnalyzedReport,
    history: &History,
) -> Result<String, sre_render::RenderError> {
    Ok(sre_render::html_with_section(
        &analyzed.report,
        &charts(analyzed, history),
    ))
}

fn esc(s: &str) -> String {
    sre_render::html_escape(s)
}

/// The analysis section: four figures.
pub fn charts(analyzed: &AnalyzedReport, history: &History) -> String {
    let a = &analyzed.analysis;
    let max_gap = if a.window.max_gap > 0 {
        a.window.max_gap
    } else {
        default_max_gap(history.window.step)
    };
    let eps = episodes(history, max_gap);
    let mut out = String::from(
        "<section aria-label=\"Alert analysis\">\n<h2 id=\"analysis\">Alert analysis</h2>\n<div class=\"charts\">\n",
    );
    top_alerts(&mut out, analyzed);
    heatmap(&mut out, &eps);
    timeline(&mut out, analyzed, &eps, history);
    correlation(&mut out, analyzed);
    out.push_str("</div>\n</section>\n");
    out
}

fn top_alerts(out: &mut String, analyzed: &AnalyzedReport) {
    let rows: Vec<_> = analyzed
        .analysis
        .noise
        .by_alertname
        .iter()
        .take(TOP)
        .collect();
    // Wide charts span the whole row of the grid, so their labels stay legible.
    out.push_str("<figure style=\"grid-column:1/-1\">\n<figcaption>Noisiest alerts: firing time (episodes)</figcaption>\n");
    if rows.is_empty() {
        out.push_str("<p class=\"empty\">No alert fired in the window.</p>\n</figure>\n");
        return;
    }
    let (label_w, bar_w, row_h) = (200u64, 320u64, 24u64);
    let max = rows
        .iter()
        .map(|r| r.firing_seconds)
        .max()
        .unwrap_or(1)
        .max(1) as u64;
    let _ = writeln!(
        out,
        "<svg viewBox=\"0 0 {} {}\" role=\"img\" aria-labelledby=\"chart-top\"><title id=\"chart-top\">Noisiest alerts by firing time</title>",
        label_w + bar_w + 120,
        row_h * rows.len() as u64 + 4
    );
    for (i, r) in rows.iter().enumerate() {
        let y = 2 + row_h * i as u64;
        let w = (r.firing_seconds.max(0) as u64) * bar_w / max;
        let _ = writeln!(
            out,
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"{label_w}\" y=\"{y}\" width=\"{w}\" height=\"16\" rx=\"3\" fill=\"#bc4c00\"><title>{}: {} episodes, firing {}s ({:.1}% of all firing time)</title></rect><text x=\"{}\" y=\"{}\">{} ({})</text>",
            y + 13,
            esc(&r.alertname),
            esc(&r.alertname),
            r.episodes,
            r.firing_seconds,
            r.share * 100.0,
            label_w + w + 6,
            y + 13,
            human(r.firing_seconds),
            r.episodes
        );
    }
    out.push_str("</svg>\n</figure>\n");
}

/// Episode starts per (weekday, hour), UTC.
fn heatmap(out: &mut String, eps: &[Episode]) {
    let mut grid = [[0usize; 24]; 7];
    for e in eps {
        let day = (e.start.div_euclid(86_400) + 3).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
        let hour = (e.start.rem_euclid(86_400) / 3600) as usize;
        grid[day][hour] += 1;
    }
    let max = grid.iter().flatten().copied().max().unwrap_or(0).max(1);
    let (cell, left, top) = (18u64, 40u64, 16u64);
    out.push_str("<figure>\n<figcaption>Episode starts by weekday and hour (UTC)</figcaption>\n");
    let _ = writeln!(
        out,
        "<svg viewBox=\"0 0 {} {}\" role=\"img\" aria-labelledby=\"chart-heat\"><title id=\"chart-heat\">Episode starts by weekday and hour</title>",
        left + cell * 24 + 4,
        top + cell * 7 + 4
    );
    for h in (0..24).step_by(3) {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"12\" font-size=\"10\">{h:02}</text>",
            left + cell * h
        );
    }
    for (d, row) in grid.iter().enumerate() {
        let y = top + cell * d as u64;
        let _ = write!(
            out,
            "<text x=\"0\" y=\"{}\" font-size=\"11\">{}</text>",
            y + 13,
            DAYS[d]
        );
        for (h, n) in row.iter().enumerate() {
            // Light to dark orange by share of the busiest cell; empty cells stay grey.
            let fill = if *n == 0 {
                "#f6f8fa".to_string()
            } else {
                let t = *n as f64 / max as f64;
                let light = (230.0 - 150.0 * t) as u8;
                format!("rgb(240,{light},{})", (light as f64 * 0.6) as u8)
            };
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"><title>{} {h:02}:00: {n} episode start(s)</title></rect>",
                left + cell * h as u64,
                cell - 2,
                cell - 2,
                DAYS[d]
            );
        }
        out.push('\n');
    }
    out.push_str("</svg>\n</figure>\n");
}

/// One lane per noisy alertname, one bar per episode, across the window.
fn timeline(out: &mut String, analyzed: &AnalyzedReport, eps: &[Episode], history: &History) {
    let names: Vec<&str> = analyzed
        .analysis
        .noise
        .by_alertname
        .iter()
        .take(TOP)
        .map(|r| r.alertname.as_str())
        .collect();
    out.push_str(
        "<figure style=\"grid-column:1/-1\">\n<figcaption>Timeline of episodes</figcaption>\n",
    );
    if names.is_empty() {
        out.push_str("<p class=\"empty\">No episodes.</p>\n</figure>\n");
        return;
    }
    let w = history.window;
    let span = (w.to - w.from).max(1) as f64;
    let (label_w, plot_w, lane) = (200.0, 560.0, 20.0);
    let mut by_name: BTreeMap<&str, Vec<&Episode>> = BTreeMap::new();
    for e in eps {
        by_name.entry(e.alertname.as_str()).or_default().push(e);
    }
    let _ = writeln!(
        out,
        "<svg viewBox=\"0 0 {} {}\" role=\"img\" aria-labelledby=\"chart-timeline\"><title id=\"chart-timeline\">Episodes over the window</title>",
        label_w + plot_w + 4.0,
        lane * names.len() as f64 + 4.0
    );
    for (i, name) in names.iter().enumerate() {
        let y = 2.0 + lane * i as f64;
        let _ = write!(
            out,
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"{label_w}\" y=\"{y}\" width=\"{plot_w}\" height=\"14\" fill=\"#f6f8fa\"/>",
            y + 12.0,
            esc(name)
        );
        for e in by_name.get(name).into_iter().flatten() {
            let x = label_w + plot_w * ((e.start - w.from) as f64 / span);
            let width = (plot_w * (e.duration as f64 / span)).max(1.0);
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{width:.1}\" height=\"14\" fill=\"#cf222e\"><title>{}: {} for {}</title></rect>",
                esc(name),
                e.start,
                human(e.duration)
            );
        }
        out.push('\n');
    }
    out.push_str("</svg>\n</figure>\n");
}

/// Jaccard of every correlated pair, as a matrix.
fn correlation(out: &mut String, analyzed: &AnalyzedReport) {
    let pairs = &analyzed.analysis.correlation.pairs;
    out.push_str("<figure>\n<figcaption>Alerts that fire together (Jaccard)</figcaption>\n");
    if pairs.is_empty() {
        out.push_str("<p class=\"empty\">No alerts fire together.</p>\n</figure>\n");
        return;
    }
    let mut names: Vec<&str> = pairs
        .iter()
        .flat_map(|p| [p.a.as_str(), p.b.as_str()])
        .collect();
    names.sort_unstable();
    names.dedup();
    names.truncate(12);
    let (cell, left, top) = (26u64, 200u64, 8u64);
    let _ = writeln!(
        out,
        "<svg viewBox=\"0 0 {} {}\" role=\"img\" aria-labelledby=\"chart-corr\"><title id=\"chart-corr\">Co-firing alerts by Jaccard index</title>",
        left + cell * names.len() as u64 + 4,
        top + cell * names.len() as u64 + 4
    );
    for (i, a) in names.iter().enumerate() {
        let y = top + cell * i as u64;
        let _ = write!(out, "<text x=\"0\" y=\"{}\">{}</text>", y + 17, esc(a));
        for (j, b) in names.iter().enumerate() {
            let p = pairs
                .iter()
                .find(|p| (p.a == *a && p.b == *b) || (p.a == *b && p.b == *a));
            let (fill, tip) = match p {
                Some(p) => (
                    format!("rgba(207,34,46,{:.2})", 0.15 + 0.85 * p.jaccard),
                    format!(
                        "{a} & {b}: Jaccard {:.2}, lift {:.1}, {} co-occurrences",
                        p.jaccard, p.lift, p.co_occurrences
                    ),
                ),
                None if i == j => ("#d0d7de".to_string(), (*a).to_string()),
                None => ("#f6f8fa".to_string(), format!("{a} & {b}: not correlated")),
            };
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"><title>{}</title></rect>",
                left + cell * j as u64,
                cell - 2,
                cell - 2,
                esc(&tip)
            );
        }
        out.push('\n');
    }
    out.push_str("</svg>\n</figure>\n");
}

fn human(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        s if s >= 86_400 => format!("{}d{}h", s / 86_400, s % 86_400 / 3600),
        s if s >= 3600 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        s => format!("{}m", s / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{analyze, report, Options};

    #[test]
    fn the_page_draws_the_analysis_before_the_findings() {
        let h = crate::examples::history().expect("example");
        let opts = Options::default();
        let r = report(&h, analyze(&h, &opts), &opts, std::time::UNIX_EPOCH);
        let page = render(&r, &h).expect("renders");
        let analysis = page.find("id=\"analysis\"").expect("analysis section");
        let findings = page.find("id=\"findings\"").expect("findings section");
        assert!(analysis < findings);
        for part in ["chart-top", "chart-heat", "chart-timeline", "chart-corr"] {
            assert!(page.contains(part), "{part} missing");
        }
        // The nightly job starts at 02:00 every day: no weekday's 02:00 cell is empty.
        for day in DAYS {
            let cell = format!("{day} 02:00: ");
            let at = page.find(&cell).expect("heatmap cell") + cell.len();
            let n: usize = page[at..]
                .split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("a count");
            assert!(n >= 1, "{day} 02:00 is empty");
        }
        assert!(page.contains("NodeCPUHigh &amp; NodeLoadHigh: Jaccard 1.00"));
        assert!(!page.contains("<script src"));
    }
}
