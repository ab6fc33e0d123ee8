//! The human summaries of a run: the terminal text (`-o table`) and Markdown.

use crate::summary::{Latency, LoadSummary};
use crate::threshold::Checked;
use sre_core::Report;
use std::fmt::Write as _;

fn target_line(r: &Report) -> String {
    let t = &r.target;
    let s = |k: &str| {
        t.get(k)
            .map(|v| v.to_string().trim_matches('"').to_string())
            .unwrap_or_default()
    };
    let length = match (t.get("durationSeconds"), t.get("requests")) {
        (Some(d), _) => format!("{}s", d),
        (_, Some(n)) => format!("{n} requests"),
        _ => String::new(),
    };
    let rate = t
        .get("rate")
        .and_then(serde_json::Value::as_f64)
        .map(|r| format!(" at {r:.1}/s"))
        .unwrap_or_default();
    let plural = |k: &str, word: &str| {
        let n = s(k);
        format!("{n} {word}{}", if n == "1" { "" } else { "s" })
    };
    format!(
        "{} {}: {} model{rate}, {}, {}, {length}",
        s("method"),
        s("url"),
        s("model"),
        plural("concurrency", "connection"),
        plural("threads", "thread")
    )
}

fn latency_line(l: &Latency) -> String {
    format!(
        "min {:.3}  mean {:.3}  p50 {:.3}  p90 {:.3}  p95 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
        l.min, l.mean, l.p50, l.p90, l.p95, l.p99, l.p999, l.max
    )
}

fn counts(m: &std::collections::BTreeMap<String, u64>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("  ")
}

fn megabytes(b: u64) -> String {
    format!("{:.2} MB", b as f64 / 1e6)
}

/// `-o table`: the summary as aligned lines.
pub fn table(r: &Report, s: &LoadSummary, checked: &[Checked]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "chaos-load run: {}", target_line(r));
    let _ = writeln!(
        out,
        "  requests     {} in {:.2}s ({:.1}/s): {} ok, {} failed ({:.2}%)",
        s.requests,
        s.duration_seconds,
        s.rps,
        s.successes,
        s.failures,
        s.failure_rate * 100.0
    );
    if let Some(l) = &s.latency_ms {
        let label = if s.rate.is_some() {
            "latency ms*"
        } else {
            "latency ms "
        };
        let _ = writeln!(out, "  {label}  {}", latency_line(l));
    }
    if let Some(l) = &s.latency_uncorrected_ms {
        let _ = writeln!(out, "  uncorrected  {}", latency_line(l));
    }
    if !s.status_codes.is_empty() {
        let _ = writeln!(out, "  status       {}", counts(&s.status_codes));
    }
    if !s.errors.is_empty() {
        let _ = writeln!(out, "  errors       {}", counts(&s.errors));
    }
    let _ = writeln!(
        out,
        "  transfer     in {}, out {}, {} connections",
        megabytes(s.bytes_in),
        megabytes(s.bytes_out),
        s.connections
    );
    if s.redirects > 0 {
        let _ = writeln!(out, "  redirects    {} followed", s.redirects);
    }
    if let Some(rate) = &s.rate {
        let _ = writeln!(
            out,
            "  rate         requested {:.1}/s, achieved {:.1}/s; {} due, {} dropped, {} sent late (max {:.1} ms late)",
            rate.requested_rps, rate.achieved_rps, rate.due, rate.dropped, rate.late_sends, rate.max_send_delay_ms
        );
        let _ = writeln!(
            out,
            "  * from when each request was due (coordinated omission corrected); `uncorrected` from when it was sent"
        );
    }
    if s.interrupted {
        let _ = writeln!(out, "  interrupted: the numbers cover the part that ran");
    }
    if !checked.is_empty() {
        let _ = writeln!(out, "thresholds");
        for c in checked {
            let actual = c
                .actual
                .map_or_else(|| "no data".to_string(), |v| c.threshold.show(v));
            let _ = writeln!(
                out,
                "  {} {}  ({actual})",
                if c.passed { "pass" } else { "FAIL" },
                c.threshold.text
            );
        }
    }
    let _ = writeln!(
        out,
        "{} critical, {} warning, {} info ({} findings)",
        r.summary.critical,
        r.summary.warning,
        r.summary.info,
        r.summary.total()
    );
    out
}

/// `-o markdown`: the summary as a document for a pull request or a wiki.
pub fn markdown(r: &Report, s: &LoadSummary, checked: &[Checked]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Load test\n\n{}\n", target_line(r));
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| requests | {} |", s.requests);
    let _ = writeln!(out, "| duration | {:.2} s |", s.duration_seconds);
    let _ = writeln!(out, "| requests/s | {:.1} |", s.rps);
    let _ = writeln!(
        out,
        "| failed | {} ({:.2}%) |",
        s.failures,
        s.failure_rate * 100.0
    );
    let _ = writeln!(out, "| status codes | {} |", counts(&s.status_codes));
    if !s.errors.is_empty() {
        let _ = writeln!(out, "| errors | {} |", counts(&s.errors));
    }
    if let Some(rate) = &s.rate {
        let _ = writeln!(
            out,
            "| rate | requested {:.1}/s, achieved {:.1}/s, {} dropped, {} late |",
            rate.requested_rps, rate.achieved_rps, rate.dropped, rate.late_sends
        );
    }
    let lat: Vec<(&str, &Latency)> = [
        (
            if s.rate.is_some() {
                "latency (corrected)"
            } else {
                "latency"
            },
            s.latency_ms.as_ref(),
        ),
        ("latency (uncorrected)", s.latency_uncorrected_ms.as_ref()),
    ]
    .into_iter()
    .filter_map(|(n, l)| l.map(|l| (n, l)))
    .collect();
    if !lat.is_empty() {
        let _ = writeln!(
            out,
            "\n| ms | min | mean | p50 | p75 | p90 | p95 | p99 | p99.9 | max |\n|---|---|---|---|---|---|---|---|---|---|"
        );
        for (name, l) in lat {
            let _ = writeln!(
                out,
                "| {name} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
                l.min, l.mean, l.p50, l.p75, l.p90, l.p95, l.p99, l.p999, l.max
            );
        }
    }
    if !checked.is_empty() {
        let _ = writeln!(
            out,
            "\n## Thresholds\n\n| threshold | measured | result |\n|---|---|---|"
        );
        for c in checked {
            let actual = c
                .actual
                .map_or_else(|| "no data".to_string(), |v| c.threshold.show(v));
            let _ = writeln!(
                out,
                "| `{}` | {actual} | {} |",
                c.threshold.text,
                if c.passed { "pass" } else { "**fail**" }
            );
        }
    }
    out
}
