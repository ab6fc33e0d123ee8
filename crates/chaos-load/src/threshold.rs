//! CI thresholds: `--threshold 'p99<300ms'`, `--threshold 'errors<1%'`,
//! `--threshold 'rps>1000'`. A violated threshold is a finding (CL101, critical), so the run
//! exits 1 under the default `--fail-on critical`.
//!
//! Metrics: latency `min`, `mean`, `max`, `p50` ... `p99`, `p999` or any `pNN.N` (a
//! duration: `300ms`, `1.5s`, `250us`; a bare number is milliseconds); `errors` (the failure
//! rate with `%`, else the number of failed requests); `rps`; `requests`. Operators `<`,
//! `<=`, `>`, `>=`.

use crate::summary::{Latency, LoadSummary};
use hdrhistogram::Histogram;
use sre_core::{CheckMeta, Finding, Resource, Severity};

/// CL101: a `--threshold` was not met.
pub const CL101: CheckMeta = CheckMeta {
    code: "CL101",
    name: "threshold-violated",
    title: "Load-test threshold not met",
    severity: Severity::Critical,
    aliases: &[],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Metric {
    Latency(String),
    ErrorRate,
    ErrorCount,
    Rps,
    Requests,
}

/// One parsed `--threshold`.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub text: String,
    metric: Metric,
    op: Op,
    /// Milliseconds for latencies, a fraction for the error rate, else a count or rate.
    limit: f64,
}

/// The result of checking one threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub threshold: Threshold,
    /// The measured value, in the threshold's unit (`None`: nothing to measure, e.g. no
    /// answer at all for a latency threshold: a failure).
    pub actual: Option<f64>,
    pub passed: bool,
}

impl Threshold {
    /// Parses `METRIC OP VALUE`.
    pub fn parse(text: &str) -> Result<Threshold, String> {
        let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let hint = "use e.g. 'p99<300ms', 'mean<=50ms', 'errors<1%', 'errors<10', 'rps>1000'";
        let pos = t
            .find(['<', '>'])
            .ok_or_else(|| format!("threshold `{text}` has no < or >: {hint}"))?;
        let (metric, rest) = t.split_at(pos);
        let (op, value) = if let Some(v) = rest.strip_prefix("<=") {
            (Op::Le, v)
        } else if let Some(v) = rest.strip_prefix(">=") {
            (Op::Ge, v)
        } else if let Some(v) = rest.strip_prefix('<') {
            (Op::Lt, v)
        } else {
            (Op::Gt, &rest[1..])
        };
        let number = |v: &str| -> Result<f64, String> {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| format!("threshold `{text}`: `{v}` is not a number: {hint}"))
        };
        let (metric, limit) = match metric {
            "errors" => match value.strip_suffix('%') {
                Some(p) => (Metric::ErrorRate, number(p)? / 100.0),
                None => (Metric::ErrorCount, number(value)?),
            },
            "rps" => (Metric::Rps, number(value)?),
            "requests" => (Metric::Requests, number(value)?),
            m if matches!(m, "min" | "mean" | "avg" | "max")
                || m.strip_prefix('p')
                    .and_then(|p| p.parse::<f64>().ok())
                    .is_some_and(|p| (0.0..=100.0).contains(&p)) =>
            {
                let limit = if value.chars().last().is_some_and(|c| c.is_ascii_digit()) {
                    number(value)?
                } else {
                    sre_cli::units::parse_duration(value)
                        .map_err(|e| format!("threshold `{text}`: {e}"))?
                        .as_secs_f64()
                        * 1000.0
                };
                (Metric::Latency(m.to_string()), limit)
            }
            other => {
                return Err(format!(
                    "threshold `{text}`: unknown metric `{other}`: use min, mean, max, p50, p90, p99, p999 (or any pNN), errors, rps or requests"
                ))
            }
        };
        Ok(Threshold {
            text: text.trim().to_string(),
            metric,
            op,
            limit,
        })
    }

    /// Checks the threshold against a run.
    pub fn check(&self, s: &LoadSummary, latency: &Histogram<u64>) -> Checked {
        let actual = match &self.metric {
            Metric::Latency(name) => Latency::metric(latency, name),
            // No request at all is no evidence of health.
            Metric::ErrorRate => (s.requests > 0).then_some(s.failure_rate),
            Metric::ErrorCount => Some(s.failures as f64),
            Metric::Rps => Some(s.rps),
            Metric::Requests => Some(s.requests as f64),
        };
        let passed = actual.is_some_and(|a| match self.op {
            Op::Lt => a < self.limit,
            Op::Le => a <= self.limit,
            Op::Gt => a > self.limit,
            Op::Ge => a >= self.limit,
        });
        Checked {
            threshold: self.clone(),
            actual,
            passed,
        }
    }

    /// A value in this threshold's unit, for messages.
    pub fn show(&self, v: f64) -> String {
        match self.metric {
            Metric::Latency(_) => format!("{v:.3} ms"),
            Metric::ErrorRate => format!("{:.3}%", v * 100.0),
            Metric::ErrorCount | Metric::Requests => format!("{v:.0}"),
            Metric::Rps => format!("{v:.1}/s"),
        }
    }
}

impl Checked {
    /// The finding for a violated threshold.
    pub fn finding(&self, url: &str) -> Option<Finding> {
        if self.passed {
            return None;
        }
        let t = &self.threshold;
        let actual = self.actual.map_or_else(
            || "nothing to measure (no answer)".to_string(),
            |a| t.show(a),
        );
        Some(
            Finding::new(
                &CL101,
                Resource::object("Threshold", None, &t.text),
                format!(
                    "threshold {} not met: measured {actual} against {url}",
                    t.text
                ),
            )
            .evidence("threshold", t.text.clone())
            .evidence("actual", self.actual.unwrap_or(f64::NAN))
            .evidence("limit", t.limit),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_check() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("h");
        for us in [1_000, 2_000, 3_000, 400_000] {
            h.record(us).expect("record");
        }
        let s = LoadSummary {
            requests: 100,
            successes: 98,
            failures: 2,
            failure_rate: 0.02,
            rps: 1500.0,
            duration_seconds: 1.0,
            status_codes: Default::default(),
            errors: Default::default(),
            bytes_in: 0,
            redirects: 0,
            bytes_out: 0,
            connections: 1,
            latency_ms: None,
            latency_uncorrected_ms: None,
            rate: None,
            interrupted: false,
            per_second: Vec::new(),
            by_request: Vec::new(),
            histograms: None,
        };
        let check = |t: &str| Threshold::parse(t).expect(t).check(&s, &h);
        assert!(!check("p99<300ms").passed);
        assert!(check("p50<300ms").passed);
        assert!(check("p50 < 0.5s").passed);
        assert!(check("max<=401").passed);
        assert!(check("errors<5%").passed);
        assert!(!check("errors<1%").passed);
        assert!(check("errors<=2").passed);
        assert!(check("rps>1000").passed);
        assert!(!check("rps>=2000").passed);
        assert!(check("p99.9>1ms").passed);
        let f = check("p99<300ms").finding("http://x").expect("violation");
        assert!(
            f.message.contains("measured 400.") && f.message.contains("p99<300ms"),
            "{}",
            f.message
        );
        for bad in ["p99", "latency<3ms", "p99<fast", "errors<x%", "p101<3ms"] {
            assert!(Threshold::parse(bad).is_err(), "{bad}");
        }
        // No requests: an error-rate threshold fails too.
        let none = LoadSummary {
            requests: 0,
            failures: 0,
            failure_rate: 0.0,
            ..s.clone()
        };
        assert!(
            !Threshold::parse("errors<1%")
                .expect("t")
                .check(&none, &h)
                .passed
        );
        // No answers: a latency threshold fails.
        let empty = Histogram::<u64>::new(3).expect("h");
        assert!(
            !Threshold::parse("p99<1s")
                .expect("t")
                .check(&s, &empty)
                .passed
        );
    }
}
