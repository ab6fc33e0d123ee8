//! `--metrics-addr`: live Prometheus metrics of the run, so a Grafana board can show the
//! load next to the system under test.
//!
//! Workers count into atomics only when the endpoint is on (a few relaxed increments per
//! request); the endpoint renders them on each scrape. Label sets are bounded: status
//! codes (at most 500 values, in practice a handful) and the seven error kinds.

use crate::stats::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Upper bounds of the latency histogram's buckets, in seconds.
pub const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The live counters.
#[derive(Debug)]
pub struct Metrics {
    status: Vec<AtomicU64>,
    errors: [AtomicU64; ErrorKind::ALL.len()],
    /// Cumulative-at-render: each answer counts in the first bucket it fits (the last slot
    /// is +Inf).
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_us: AtomicU64,
    /// The target, for the info metric.
    url: String,
    connections: usize,
}

impl Metrics {
    pub fn new(url: &str, connections: usize) -> Metrics {
        Metrics {
            status: (0..1000).map(|_| AtomicU64::new(0)).collect(),
            errors: std::array::from_fn(|_| AtomicU64::new(0)),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_us: AtomicU64::new(0),
            url: url.to_string(),
            connections,
        }
    }

    /// An answer with `status` after `latency`.
    pub fn answer(&self, status: u16, latency: Duration) {
        if let Some(c) = self.status.get(usize::from(status)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let secs = latency.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add(latency.as_micros() as u64, Ordering::Relaxed);
    }

    /// A request without an answer.
    pub fn error(&self, kind: ErrorKind) {
        self.errors[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Answers so far by status code, for the codes seen.
    pub fn statuses(&self) -> Vec<(u16, u64)> {
        self.status
            .iter()
            .enumerate()
            .filter_map(|(code, c)| {
                let n = c.load(Ordering::Relaxed);
                (n > 0).then(|| (u16::try_from(code).unwrap_or(u16::MAX), n))
            })
            .collect()
    }

    /// Requests so far (answers and errors), and of those the failures (errors and
    /// statuses >= 400).
    pub fn totals(&self) -> (u64, u64) {
        let errors: u64 = self.errors.iter().map(|n| n.load(Ordering::Relaxed)).sum();
        let (mut answers, mut bad) = (0, 0);
        for (code, n) in self.status.iter().enumerate() {
            let n = n.load(Ordering::Relaxed);
            answers += n;
            if code >= 400 {
                bad += n;
            }
        }
        (answers + errors, bad + errors)
    }

    /// Requests without an answer of `kind` so far.
    pub fn errors_of(&self, kind: ErrorKind) -> u64 {
        self.errors[kind as usize].load(Ordering::Relaxed)
    }

    /// Answers per latency bucket ([`BUCKETS`], then above the last), not cumulative.
    pub fn bucket_counts(&self) -> Vec<u64> {
        self.buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect()
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let esc = sre_render::prometheus_label_value;
        let mut out = String::new();
        out.push_str("# HELP chaos_load_info The load run this endpoint belongs to.\n# TYPE chaos_load_info gauge\n");
        out.push_str(&format!(
            "chaos_load_info{{url=\"{}\"}} 1\n",
            esc(&self.url)
        ));
        out.push_str("# HELP chaos_load_connections Connections the run keeps open.\n# TYPE chaos_load_connections gauge\n");
        out.push_str(&format!("chaos_load_connections {}\n", self.connections));
        out.push_str("# HELP chaos_load_requests_total Answers received, by HTTP status.\n# TYPE chaos_load_requests_total counter\n");
        for (code, c) in self.status.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            if n > 0 {
                out.push_str(&format!(
                    "chaos_load_requests_total{{status=\"{code}\"}} {n}\n"
                ));
            }
        }
        out.push_str("# HELP chaos_load_errors_total Requests without an answer, by kind.\n# TYPE chaos_load_errors_total counter\n");
        for k in ErrorKind::ALL {
            out.push_str(&format!(
                "chaos_load_errors_total{{kind=\"{}\"}} {}\n",
                k.as_str(),
                self.errors[k as usize].load(Ordering::Relaxed)
            ));
        }
        out.push_str("# HELP chaos_load_request_duration_seconds Latency of the answers (from the intended send time in the open model).\n# TYPE chaos_load_request_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            out.push_str(&format!(
                "chaos_load_request_duration_seconds_bucket{{le=\"{b}\"}} {cumulative}\n"
            ));
        }
        cumulative += self.buckets[BUCKETS.len()].load(Ordering::Relaxed);
        out.push_str(&format!(
            "chaos_load_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}\n"
        ));
        out.push_str(&format!(
            "chaos_load_request_duration_seconds_sum {}\n",
            self.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        ));
        out.push_str(&format!(
            "chaos_load_request_duration_seconds_count {cumulative}\n"
        ));
        out
    }
}

/// Serves `/metrics` on `addr` (tiny_http, as alert-analyzer's exporter) from a background
/// thread for as long as the process runs; returns the address it listens on.
pub fn serve(addr: &str, metrics: Arc<Metrics>) -> std::io::Result<SocketAddr> {
    let server = tiny_http::Server::http(addr).map_err(|e| std::io::Error::other(e.to_string()))?;
    let local = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| std::io::Error::other("the metrics listener has no IP address"))?;
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for request in server.incoming_requests() {
                let path = request.url().split('?').next().unwrap_or("");
                let (code, body) = if path == "/metrics" {
                    (200, metrics.render())
                } else {
                    (404, "see /metrics\n".to_string())
                };
                let mut response = tiny_http::Response::from_string(body).with_status_code(code);
                if let Ok(h) = tiny_http::Header::from_bytes(
                    &b"Content-Type"[..],
                    &b"text/plain; version=0.0.4"[..],
                ) {
                    response = response.with_header(h);
                }
                let _ = request.respond(response);
            }
        })?;
    Ok(local)
}
