//! CSV reports in the shapes other tools read: Locust's `PREFIX_stats.csv` and
//! `PREFIX_stats_history.csv` (`--locust-csv PREFIX`), and JMeter's JTL CSV with a row per
//! request (`--jtl FILE`, opt-in: it grows with the run).
//!
//! Times are milliseconds, as both tools write them. The CSV is written by hand: every
//! field is a number or a fixed word except the name, label and URL, which are quoted.

use crate::engine::Outcome;
use crate::stats::{bucket_quantile, Second};
use crate::summary::LoadSummary;
use std::fmt::Write as _;

/// Locust's percentile columns.
const QUANTILES: [(f64, &str); 11] = [
    (0.50, "50%"),
    (0.66, "66%"),
    (0.75, "75%"),
    (0.80, "80%"),
    (0.90, "90%"),
    (0.95, "95%"),
    (0.98, "98%"),
    (0.99, "99%"),
    (0.999, "99.9%"),
    (0.9999, "99.99%"),
    (1.0, "100%"),
];

/// A CSV field, quoted (and its quotes doubled) when it holds a comma, quote or newline.
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn ms(us: f64) -> String {
    let v = us / 1000.0;
    if v == v.round() {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// `PREFIX_stats.csv`: one row for the request (`METHOD`, path) and Locust's `Aggregated`
/// row, with exact percentiles from the HDR histogram.
pub fn locust_stats(o: &Outcome, s: &LoadSummary, method: &str, name: &str) -> String {
    let h = &o.recorder.latency;
    let mut out = String::from("Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s");
    for (_, col) in QUANTILES {
        let _ = write!(out, ",{col}");
    }
    out.push('\n');
    let secs = s.duration_seconds.max(0.001);
    let content = if s.requests > 0 {
        o.recorder.bytes_in as f64 / s.requests as f64
    } else {
        0.0
    };
    for (kind, label) in [(method, name), ("", "Aggregated")] {
        let _ = write!(
            out,
            "{},{},{},{}",
            field(kind),
            field(label),
            s.requests,
            s.failures
        );
        if h.is_empty() {
            out.push_str(",0,0,0,0");
        } else {
            let _ = write!(
                out,
                ",{},{},{},{}",
                ms(h.value_at_quantile(0.5) as f64),
                ms(h.mean()),
                ms(h.min() as f64),
                ms(h.max() as f64)
            );
        }
        let _ = write!(
            out,
            ",{content:.1},{:.3},{:.3}",
            s.requests as f64 / secs,
            s.failures as f64 / secs
        );
        for (q, _) in QUANTILES {
            if h.is_empty() {
                out.push_str(",N/A");
            } else {
                let _ = write!(out, ",{}", ms(h.value_at_quantile(q) as f64));
            }
        }
        out.push('\n');
    }
    out
}

/// `PREFIX_stats_history.csv`: one `Aggregated` row per second of the run, with that
/// second's rates and percentiles (log buckets: within 20%) and the running totals.
pub fn locust_history(o: &Outcome, users: usize) -> String {
    let mut out = String::from("Timestamp,User Count,Type,Name,Requests/s,Failures/s");
    for (_, col) in QUANTILES {
        let _ = write!(out, ",{col}");
    }
    out.push_str(",Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size\n");
    let start = o
        .started_at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut total = Second::default();
    let content = o.recorder.bytes_in as f64
        / (o.recorder.answers() + o.recorder.error_count()).max(1) as f64;
    for (i, s) in o.recorder.seconds.iter().enumerate() {
        let mut t = std::mem::take(&mut total);
        t.requests += s.requests;
        t.failures += s.failures;
        t.answers += s.answers;
        t.latency_sum_us += s.latency_sum_us;
        t.latency_max_us = t.latency_max_us.max(s.latency_max_us);
        if s.answers > 0 {
            t.latency_min_us = if t.answers == s.answers {
                s.latency_min_us
            } else {
                t.latency_min_us.min(s.latency_min_us)
            };
        }
        if !s.buckets.is_empty() {
            if t.buckets.is_empty() {
                t.buckets = vec![0; s.buckets.len()];
            }
            for (a, b) in t.buckets.iter_mut().zip(&s.buckets) {
                *a += b;
            }
        }
        total = t;
        let _ = write!(
            out,
            "{},{users},,Aggregated,{},{}",
            start + i as u64 + 1,
            s.requests,
            s.failures
        );
        for (q, _) in QUANTILES {
            // A bucket's upper bound can pass the second's real maximum: never show more.
            let v = if q >= 1.0 {
                (s.answers > 0).then_some(s.latency_max_us as f64)
            } else {
                bucket_quantile(&s.buckets, q).map(|v| v.min(s.latency_max_us as f64))
            };
            match v {
                Some(us) => {
                    let _ = write!(out, ",{}", ms(us));
                }
                None => out.push_str(",N/A"),
            }
        }
        let median = bucket_quantile(&total.buckets, 0.5)
            .map_or("0".to_string(), |v| ms(v.min(total.latency_max_us as f64)));
        let avg = if total.answers > 0 {
            ms(total.latency_sum_us as f64 / total.answers as f64)
        } else {
            "0".to_string()
        };
        let _ = writeln!(
            out,
            ",{},{},{median},{avg},{},{},{content:.1}",
            total.requests,
            total.failures,
            ms(total.latency_min_us as f64),
            ms(total.latency_max_us as f64)
        );
    }
    out
}

/// JMeter's default JTL CSV columns.
pub const JTL_HEADER: &str = "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect\n";

/// One JTL row.
#[derive(Debug, Clone, Copy)]
pub struct JtlRow<'a> {
    /// Send time, milliseconds since 1970.
    pub at_ms: u128,
    pub elapsed_ms: u128,
    pub label: &'a str,
    /// The status, or the error kind's name.
    pub code: &'a str,
    pub success: bool,
    pub failure: &'a str,
    pub thread: &'a str,
    pub bytes: u64,
    pub sent: u64,
    pub threads: usize,
    pub url: &'a str,
    pub connect_ms: u128,
}

/// Appends `r` to `out`.
pub fn jtl_row(out: &mut Vec<u8>, r: &JtlRow<'_>) {
    let message = if r.success { "OK" } else { r.failure };
    let _ = std::io::Write::write_fmt(
        out,
        format_args!(
            "{},{},{},{},{},{},text,{},{},{},{},{},{},{},{},0,{}\n",
            r.at_ms,
            r.elapsed_ms,
            field(r.label),
            r.code,
            field(message),
            r.thread,
            r.success,
            field(if r.success { "" } else { r.failure }),
            r.bytes,
            r.sent,
            r.threads,
            r.threads,
            field(r.url),
            r.elapsed_ms,
            r.connect_ms
        ),
    );
}
