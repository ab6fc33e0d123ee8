//! The numbers of a run, as reports show them: the `summary` of the JSON report (beside
//! the shared contract's severity counts) and the text and Markdown summaries.

use crate::engine::Outcome;
use crate::stats::Recorder;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Latency statistics, in milliseconds (microsecond resolution).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p75: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

fn ms(us: u64) -> f64 {
    (us as f64 / 1000.0 * 1000.0).round() / 1000.0
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Option<Latency> {
        if h.is_empty() {
            return None;
        }
        let q = |p: f64| ms(h.value_at_quantile(p));
        Some(Latency {
            min: ms(h.min()),
            mean: (h.mean() / 1000.0 * 1000.0).round() / 1000.0,
            p50: q(0.50),
            p75: q(0.75),
            p90: q(0.90),
            p95: q(0.95),
            p99: q(0.99),
            p999: q(0.999),
            max: ms(h.max()),
        })
    }

    /// The value of a threshold metric: `min`, `mean`, `max`, `p50` ... `p999`, or any
    /// `pNN` / `pNN.N` percentile.
    pub fn metric(h: &Histogram<u64>, name: &str) -> Option<f64> {
        if h.is_empty() {
            return None;
        }
        match name {
            "min" => Some(ms(h.min())),
            "max" => Some(ms(h.max())),
            "mean" | "avg" => Some(h.mean() / 1000.0),
            "p999" => Some(ms(h.value_at_quantile(0.999))),
            _ => {
                let p: f64 = name.strip_prefix('p')?.parse().ok()?;
                (0.0..=100.0)
                    .contains(&p)
                    .then(|| ms(h.value_at_quantile(p / 100.0)))
            }
        }
    }
}

/// The open model's bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateSummary {
    /// Sends due in the run and how many never started (the generator could not keep up,
    /// or the server held every connection).
    pub due: u64,
    pub dropped: u64,
    /// Requests per second asked for (mean over the run) and achieved.
    pub requested_rps: f64,
    pub achieved_rps: f64,
    /// Sends that started more than 10 ms late, and the largest delay.
    pub late_sends: u64,
    pub max_send_delay_ms: f64,
}

/// One second of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PerSecond {
    pub second: usize,
    pub requests: u64,
    pub failures: u64,
    /// Of the requests, those without an answer (errors); the mean and percentiles are of
    /// the others.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub errors: u64,
    pub mean_ms: f64,
    pub max_ms: f64,
    /// Percentiles of the second's answers (within 20%: log buckets of ratio 1.2), as
    /// `[p50, p66, p75, p80, p90, p95, p98, p99, p99.9, p99.99]` in ms; empty without
    /// answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub percentiles_ms: Vec<f64>,
}

/// The quantiles of [`PerSecond::percentiles_ms`] (and Locust's history columns).
pub const SECOND_QUANTILES: [f64; 10] = [
    0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999,
];

/// The whole summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadSummary {
    pub requests: u64,
    pub successes: u64,
    pub failures: u64,
    /// Failures over requests, 0 to 1.
    pub failure_rate: f64,
    pub rps: f64,
    pub duration_seconds: f64,
    pub status_codes: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub connections: u64,
    /// Redirects followed (`--redirects`); each chain counts as one request.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redirects: u64,
    /// Of the answers; in the open model from the intended send time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<Latency>,
    /// Open model: from the actual send (what a tool without the correction reports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_uncorrected_ms: Option<Latency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<RateSummary>,
    pub interrupted: bool,
    pub per_second: Vec<PerSecond>,
    /// With a scenario: each request of the file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_request: Vec<RequestSummary>,
    /// The latency histograms themselves (HDR V2, deflated, base64), so that runs from
    /// several machines merge exactly (`sre chaos-load merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histograms: Option<Histograms>,
}

/// One request of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestSummary {
    pub name: String,
    pub requests: u64,
    pub failures: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<Latency>,
}

/// The HDR histograms of a run, encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Histograms {
    pub latency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncorrected: Option<String>,
}

/// `h` as base64 of its HDR V2 deflate encoding.
pub fn encode(h: &Histogram<u64>) -> Option<String> {
    use base64::Engine as _;
    use hdrhistogram::serialization::Serializer as _;
    let mut bytes = Vec::new();
    hdrhistogram::serialization::V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The histogram of [`encode`]'s text.
pub fn decode(text: &str) -> Result<Histogram<u64>, String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HDR histogram: {e:?}"))
}

impl LoadSummary {
    pub fn new(o: &Outcome, requested_rps: Option<f64>) -> LoadSummary {
        let r: &Recorder = &o.recorder;
        let errors = r.error_count();
        let answers = r.answers();
        let requests = answers + errors;
        let failures = errors + r.http_failures();
        let secs = o.elapsed.as_secs_f64();
        let rps = if secs > 0.0 {
            requests as f64 / secs
        } else {
            0.0
        };
        let round2 = |x: f64| (x * 100.0).round() / 100.0;
        LoadSummary {
            requests,
            successes: requests - failures,
            failures,
            failure_rate: if requests > 0 {
                failures as f64 / requests as f64
            } else {
                0.0
            },
            rps: round2(rps),
            duration_seconds: (secs * 1000.0).round() / 1000.0,
            status_codes: r.status_codes(),
            errors: r.error_kinds(),
            bytes_in: r.bytes_in,
            bytes_out: r.bytes_out,
            connections: r.connections,
            redirects: r.redirects,
            latency_ms: Latency::of(&r.latency),
            latency_uncorrected_ms: requested_rps.and_then(|_| Latency::of(&r.uncorrected)),
            rate: requested_rps.map(|req| RateSummary {
                due: o.due,
                dropped: o.dropped,
                requested_rps: round2(req),
                achieved_rps: round2(rps),
                late_sends: r.late_sends,
                max_send_delay_ms: ms(r.max_send_delay_us),
            }),
            interrupted: o.interrupted,
            per_second: r
                .seconds
                .iter()
                .enumerate()
                .map(|(i, s)| PerSecond {
                    second: i,
                    requests: s.requests,
                    failures: s.failures,
                    errors: s.requests - s.answers,
                    mean_ms: ms(s.latency_sum_us.checked_div(s.answers).unwrap_or(0)),
                    max_ms: ms(s.latency_max_us),
                    percentiles_ms: SECOND_QUANTILES
                        .iter()
                        .filter_map(|q| crate::stats::bucket_quantile(&s.buckets, *q))
                        .map(|us| us.min(s.latency_max_us as f64))
                        .map(|us| (us / 1000.0 * 1000.0).round() / 1000.0)
                        .collect(),
                })
                .collect(),
            by_request: Vec::new(),
            histograms: encode(&r.latency).map(|latency| Histograms {
                latency,
                uncorrected: requested_rps.and_then(|_| encode(&r.uncorrected)),
            }),
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
