//! Working with saved runs: `compare` (before/after, regressions beyond a tolerance) and
//! `merge` (runs from several machines into one, exactly: the HDR histograms travel in
//! the JSON reports).

use crate::summary::{decode, encode, Histograms, Latency, LoadSummary, PerSecond, RateSummary};
use crate::threshold::{Checked, Threshold, CL101};
use hdrhistogram::Histogram;
use serde::Serialize;
use sre_core::{CheckMeta, Finding, Report, Resource, Severity};
use std::path::Path;

/// CL201: a latency percentile grew beyond the tolerance.
pub const CL201: CheckMeta = CheckMeta {
    code: "CL201",
    name: "latency-regression",
    title: "Latency regressed",
    severity: Severity::Warning,
    aliases: &[],
};

/// CL202: requests per second fell beyond the tolerance.
pub const CL202: CheckMeta = CheckMeta {
    code: "CL202",
    name: "throughput-regression",
    title: "Throughput regressed",
    severity: Severity::Warning,
    aliases: &[],
};

/// CL203: the failure rate grew beyond the tolerance.
pub const CL203: CheckMeta = CheckMeta {
    code: "CL203",
    name: "error-rate-regression",
    title: "Error rate regressed",
    severity: Severity::Warning,
    aliases: &[],
};

/// CL204: the two runs did not load the same thing the same way (another load model, URL,
/// method, protocol, streams or redirect policy), so their numbers do not compare.
pub const CL204: CheckMeta = CheckMeta {
    code: "CL204",
    name: "incomparable-runs",
    title: "The runs do not compare",
    severity: Severity::Warning,
    aliases: &[],
};

/// A saved run: its target and summary.
#[derive(Debug, Clone)]
pub struct Saved {
    pub path: String,
    pub target: serde_json::Map<String, serde_json::Value>,
    pub summary: LoadSummary,
}

/// Reads a JSON report written by `sre chaos-load run -o json`.
pub fn read(path: &Path) -> Result<Saved, String> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{shown}:{}:{}: not JSON ({e}); give reports written by `sre chaos-load run -o json`",
            e.line(),
            e.column()
        )
    })?;
    if v["tool"] != "chaos-load" {
        return Err(format!(
            "{shown} is not a chaos-load report (tool: {}); give reports written by `sre chaos-load run -o json`",
            v["tool"]
        ));
    }
    let summary: LoadSummary = serde_json::from_value(v["summary"].clone())
        .map_err(|e| format!("{shown}: its summary is not a chaos-load run's ({e})"))?;
    Ok(Saved {
        path: shown,
        target: v["target"].as_object().cloned().unwrap_or_default(),
        summary,
    })
}

/// One compared number.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub metric: String,
    pub before: f64,
    pub after: f64,
    /// `(after - before) / before`, when `before` is not 0.
    pub change: Option<f64>,
    pub regression: bool,
}

/// Compares two runs; `tolerance` is a fraction (0.1 for 10%).
pub fn compare(before: &Saved, after: &Saved, tolerance: f64) -> (Vec<Row>, Vec<Finding>) {
    let (b, a) = (&before.summary, &after.summary);
    let mut rows = Vec::new();
    let mut findings = Vec::new();
    let change = |x: f64, y: f64| (x != 0.0).then(|| (y - x) / x);
    let resource = |m: &str| Resource::object("Metric", None, m);
    for key in ["model", "url", "method", "http2", "streams", "redirects"] {
        let (x, y) = (before.target.get(key), after.target.get(key));
        if x != y {
            let shown = |v: Option<&serde_json::Value>| match v {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => "(not set)".to_string(),
            };
            let why = if key == "model" {
                ": open-model latency counts from when each request was due (queueing included), closed-model latency from the send, and the closed model's requests/s is what the server allowed; compare runs of the same model"
            } else {
                ""
            };
            findings.push(
                Finding::new(
                    &CL204,
                    resource(key),
                    format!(
                        "before and after differ in {key}: {} against {}{why}",
                        shown(x),
                        shown(y)
                    ),
                )
                .evidence("before", shown(x))
                .evidence("after", shown(y)),
            );
        }
    }
    if let (Some(lb), Some(la)) = (&b.latency_ms, &a.latency_ms) {
        for (name, x, y) in [
            ("p50", lb.p50, la.p50),
            ("p90", lb.p90, la.p90),
            ("p95", lb.p95, la.p95),
            ("p99", lb.p99, la.p99),
            ("p999", lb.p999, la.p999),
            ("max", lb.max, la.max),
            ("mean", lb.mean, la.mean),
        ] {
            // 50 microseconds is within the noise of any machine: never a regression.
            let regression = name != "max" && y > x * (1.0 + tolerance) && y - x > 0.05;
            if regression {
                findings.push(
                    Finding::new(
                        &CL201,
                        resource(name),
                        format!(
                            "{name} latency grew from {x:.3} ms to {y:.3} ms ({:+.1}%, tolerance {:.0}%)",
                            change(x, y).unwrap_or(0.0) * 100.0,
                            tolerance * 100.0
                        ),
                    )
                    .evidence("before", x)
                    .evidence("after", y),
                );
            }
            rows.push(Row {
                metric: format!("{name} ms"),
                before: x,
                after: y,
                change: change(x, y),
                regression,
            });
        }
    }
    let regression = a.rps < b.rps * (1.0 - tolerance);
    if regression {
        findings.push(
            Finding::new(
                &CL202,
                resource("rps"),
                format!(
                    "requests/s fell from {:.1} to {:.1} ({:+.1}%, tolerance {:.0}%)",
                    b.rps,
                    a.rps,
                    change(b.rps, a.rps).unwrap_or(0.0) * 100.0,
                    tolerance * 100.0
                ),
            )
            .evidence("before", b.rps)
            .evidence("after", a.rps),
        );
    }
    rows.push(Row {
        metric: "requests/s".into(),
        before: b.rps,
        after: a.rps,
        change: change(b.rps, a.rps),
        regression,
    });
    // At least 0.1 percentage point worse, and beyond the tolerance.
    let (x, y) = (b.failure_rate, a.failure_rate);
    let regression = y > x * (1.0 + tolerance) && y - x > 0.001;
    if regression {
        findings.push(
            Finding::new(
                &CL203,
                resource("errors"),
                format!(
                    "the failure rate grew from {:.3}% to {:.3}%",
                    x * 100.0,
                    y * 100.0
                ),
            )
            .evidence("before", x)
            .evidence("after", y),
        );
    }
    rows.push(Row {
        metric: "failure rate %".into(),
        before: x * 100.0,
        after: y * 100.0,
        change: change(x, y),
        regression,
    });
    (rows, findings)
}

/// The compare report: the contract with the regressions as findings; the rows go beside.
pub fn compare_report(
    before: &Saved,
    after: &Saved,
    tolerance: f64,
    now: std::time::SystemTime,
) -> (Report, Vec<Row>) {
    let (rows, findings) = compare(before, after, tolerance);
    let mut report = Report::new("chaos-load", "compare", now);
    report
        .target
        .insert("before".into(), before.path.clone().into());
    report
        .target
        .insert("after".into(), after.path.clone().into());
    report.target.insert("tolerance".into(), tolerance.into());
    report.add_checks(&[CL201, CL202, CL203, CL204]);
    for f in findings {
        report.push(f);
    }
    report.finish();
    (report, rows)
}

/// The rows as text (`-o table`) or Markdown.
pub fn rows_text(report: &Report, rows: &[Row], markdown: bool) -> String {
    let mut out = String::new();
    let t = &report.target;
    let s = |k: &str| t.get(k).and_then(|v| v.as_str()).unwrap_or("?").to_string();
    if markdown {
        out.push_str(&format!(
            "# Load test comparison\n\n`{}` (before) against `{}` (after)\n\n| metric | before | after | change |\n|---|---|---|---|\n",
            s("before"),
            s("after")
        ));
    } else {
        out.push_str(&format!(
            "chaos-load compare: {} (before) -> {} (after)\n  {:<16} {:>12} {:>12} {:>9}\n",
            s("before"),
            s("after"),
            "METRIC",
            "BEFORE",
            "AFTER",
            "CHANGE"
        ));
    }
    for r in rows {
        let change = r
            .change
            .map_or("-".to_string(), |c| format!("{:+.1}%", c * 100.0));
        let mark = if r.regression { " regression" } else { "" };
        if markdown {
            out.push_str(&format!(
                "| {} | {:.3} | {:.3} | {change}{} |\n",
                r.metric,
                r.before,
                r.after,
                if r.regression { " **regression**" } else { "" }
            ));
        } else {
            out.push_str(&format!(
                "  {:<16} {:>12.3} {:>12.3} {:>9}{mark}\n",
                r.metric, r.before, r.after, change
            ));
        }
    }
    if !markdown {
        out.push_str(&format!(
            "{} critical, {} warning, {} info ({} findings)\n",
            report.summary.critical,
            report.summary.warning,
            report.summary.info,
            report.summary.total()
        ));
    }
    out
}

/// Merges runs made at the same time from several machines: counts and histograms add up
/// (exactly), requests per second add up, the duration is the longest, the per-second
/// series are added second by second (runs are aligned on their first second).
pub fn merge(runs: &[Saved]) -> Result<(LoadSummary, Histogram<u64>), String> {
    let mut latency: Option<Histogram<u64>> = None;
    let mut uncorrected: Option<Histogram<u64>> = None;
    let mut all_uncorrected = true;
    let mut m: Option<LoadSummary> = None;
    for run in runs {
        let s = &run.summary;
        let h = s.histograms.as_ref().ok_or_else(|| {
            format!(
                "{} has no histograms (written before they were saved): rerun it to merge it",
                run.path
            )
        })?;
        let l = decode(&h.latency).map_err(|e| format!("{}: latency histogram {e}", run.path))?;
        match &mut latency {
            Some(acc) => acc
                .add(&l)
                .map_err(|e| format!("{}: cannot add its histogram: {e:?}", run.path))?,
            None => latency = Some(l),
        }
        match &h.uncorrected {
            Some(u) => {
                let u =
                    decode(u).map_err(|e| format!("{}: uncorrected histogram {e}", run.path))?;
                match &mut uncorrected {
                    Some(acc) => acc
                        .add(&u)
                        .map_err(|e| format!("{}: cannot add its histogram: {e:?}", run.path))?,
                    None => uncorrected = Some(u),
                }
            }
            None => all_uncorrected = false,
        }
        let Some(acc) = &mut m else {
            m = Some(s.clone());
            continue;
        };
        acc.requests += s.requests;
        acc.successes += s.successes;
        acc.failures += s.failures;
        acc.rps += s.rps;
        acc.duration_seconds = acc.duration_seconds.max(s.duration_seconds);
        for (k, v) in &s.status_codes {
            *acc.status_codes.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &s.errors {
            *acc.errors.entry(k.clone()).or_default() += v;
        }
        acc.bytes_in += s.bytes_in;
        acc.bytes_out += s.bytes_out;
        acc.connections += s.connections;
        acc.redirects += s.redirects;
        acc.interrupted |= s.interrupted;
        acc.rate = match (acc.rate.take(), &s.rate) {
            (Some(x), Some(y)) => Some(RateSummary {
                due: x.due + y.due,
                dropped: x.dropped + y.dropped,
                requested_rps: x.requested_rps + y.requested_rps,
                achieved_rps: x.achieved_rps + y.achieved_rps,
                late_sends: x.late_sends + y.late_sends,
                max_send_delay_ms: x.max_send_delay_ms.max(y.max_send_delay_ms),
            }),
            _ => None,
        };
        if acc.per_second.len() < s.per_second.len() {
            let n = acc.per_second.len();
            acc.per_second
                .extend(s.per_second[n..].iter().map(|p| PerSecond {
                    requests: 0,
                    failures: 0,
                    errors: 0,
                    mean_ms: 0.0,
                    max_ms: 0.0,
                    percentiles_ms: Vec::new(),
                    ..p.clone()
                }));
        }
        for (x, y) in acc.per_second.iter_mut().zip(&s.per_second) {
            // The means are of the answers: weighted by them.
            let answers = |p: &PerSecond| p.requests.saturating_sub(p.errors) as f64;
            let n = answers(x) + answers(y);
            if n > 0.0 {
                x.mean_ms = (x.mean_ms * answers(x) + y.mean_ms * answers(y)) / n;
            }
            x.requests += y.requests;
            x.failures += y.failures;
            x.errors += y.errors;
            x.max_ms = x.max_ms.max(y.max_ms);
        }
    }
    let mut m = m.ok_or("nothing to merge")?;
    // Per-second percentiles cannot be added up; the merge keeps none.
    for p in &mut m.per_second {
        p.percentiles_ms.clear();
    }
    let latency = latency.ok_or("nothing to merge")?;
    m.failure_rate = if m.requests > 0 {
        m.failures as f64 / m.requests as f64
    } else {
        0.0
    };
    m.rps = (m.rps * 100.0).round() / 100.0;
    m.latency_ms = Latency::of(&latency);
    let uncorrected = uncorrected.filter(|_| all_uncorrected);
    m.latency_uncorrected_ms = uncorrected.as_ref().and_then(Latency::of);
    m.histograms = encode(&latency).map(|l| Histograms {
        latency: l,
        uncorrected: uncorrected.as_ref().and_then(encode),
    });
    Ok((m, latency))
}

/// The merge report: the merged numbers, with `--threshold`s checked against them.
pub fn merge_report(
    runs: &[Saved],
    thresholds: &[Threshold],
    now: std::time::SystemTime,
) -> Result<crate::cli::Measured, String> {
    let (summary, latency) = merge(runs)?;
    let checked: Vec<Checked> = thresholds
        .iter()
        .map(|t| t.check(&summary, &latency))
        .collect();
    let mut report = Report::new("chaos-load", "merge", now);
    let first = &runs[0].target;
    for key in ["url", "method", "model"] {
        if let Some(v) = first.get(key) {
            report.target.insert(key.into(), v.clone());
        }
    }
    let total = |key: &str| {
        runs.iter()
            .filter_map(|r| r.target.get(key).and_then(serde_json::Value::as_u64))
            .sum::<u64>()
    };
    report
        .target
        .insert("concurrency".into(), total("concurrency").into());
    report
        .target
        .insert("threads".into(), total("threads").into());
    report
        .target
        .insert("durationSeconds".into(), summary.duration_seconds.into());
    report.target.insert(
        "merged".into(),
        runs.iter()
            .map(|r| r.path.clone())
            .collect::<Vec<_>>()
            .into(),
    );
    if !thresholds.is_empty() {
        report.add_checks(&[CL101]);
    }
    let url = first
        .get("url")
        .and_then(|u| u.as_str())
        .unwrap_or("?")
        .to_string();
    for c in &checked {
        if let Some(f) = c.finding(&url) {
            report.push(f);
        }
    }
    if summary.interrupted {
        report.error(
            "merge",
            "at least one of the runs was interrupted before its end",
        );
    }
    report.finish();
    Ok(crate::cli::Measured {
        report,
        summary,
        checked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Outcome;
    use crate::stats::{ErrorKind, Recorder};

    fn saved(answers_us: &[u64], errors: u64) -> Saved {
        let mut r = Recorder::default();
        for us in answers_us {
            r.answer(200, *us, None, 0);
        }
        for _ in 0..errors {
            r.error(ErrorKind::Reset, 0);
        }
        let o = Outcome {
            recorder: r,
            elapsed: std::time::Duration::from_secs(1),
            due: 0,
            dropped: 0,
            interrupted: false,
            started_at: std::time::UNIX_EPOCH,
            jtl_error: None,
        };
        // Through JSON, as `merge` reads runs.
        let summary = serde_json::to_value(LoadSummary::new(&o, None))
            .and_then(serde_json::from_value)
            .expect("round trip");
        Saved {
            path: "run.json".into(),
            target: Default::default(),
            summary,
        }
    }

    #[test]
    fn runs_of_different_models_do_not_compare() {
        let mut before = saved(&[1000], 0);
        let mut after = saved(&[1000], 0);
        before.target.insert("model".into(), "closed".into());
        after.target.insert("model".into(), "open".into());
        let (_, findings) = compare(&before, &after, 0.1);
        let f: Vec<_> = findings.iter().filter(|f| f.code == "CL204").collect();
        assert_eq!(f.len(), 1, "{findings:?}");
        assert!(
            f[0].message.contains("model: closed against open"),
            "{}",
            f[0].message
        );
        after.target.insert("model".into(), "closed".into());
        assert!(compare(&before, &after, 0.1).1.is_empty());
    }

    #[test]
    fn the_merged_per_second_mean_is_weighted_by_answers() {
        // 2 answers of 1 ms and 8 errors, merged with 2 answers of 4 ms: the mean of the 4
        // answers is 2.5 ms (weighting by requests would give 1.5 ms).
        let (m, h) = merge(&[saved(&[1000, 1000], 8), saved(&[4000, 4000], 0)]).expect("merge");
        let s = &m.per_second[0];
        assert_eq!((s.requests, s.errors, s.failures), (12, 8, 8));
        assert!((s.mean_ms - 2.5).abs() < 1e-9, "{s:?}");
        assert_eq!(h.len(), 4);
        assert_eq!(m.errors.get("reset"), Some(&8));
    }
}
