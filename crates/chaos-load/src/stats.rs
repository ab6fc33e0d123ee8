//! What a run measured. Each worker thread records into its own [`Recorder`] (no locks on
//! the hot path); the recorders are merged when the run ends. Memory is constant in the
//! number of requests: two HDR histograms (microseconds, 3 significant digits), fixed
//! counters, and one small entry per second of the run.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;

/// The largest latency a histogram holds: one hour, in microseconds (longer ones are
/// recorded as one hour).
pub const MAX_LATENCY_US: u64 = 3_600_000_000;

/// Why a request got no HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// The TCP connection was refused.
    ConnectRefused,
    /// Connecting took longer than `--connect-timeout`.
    ConnectTimeout,
    /// Connecting failed otherwise (no route, DNS, ...).
    Connect,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// The request took longer than `--timeout`.
    Timeout,
    /// The server reset or closed the connection before the whole answer.
    Reset,
    /// The answer was not HTTP this client can read.
    InvalidResponse,
    /// The chain of redirects was longer than `--redirects`.
    TooManyRedirects,
    /// The request could not be sent as it was given (a scenario value HTTP/2 cannot carry).
    InvalidRequest,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::ConnectRefused,
        ErrorKind::ConnectTimeout,
        ErrorKind::Connect,
        ErrorKind::Tls,
        ErrorKind::Timeout,
        ErrorKind::Reset,
        ErrorKind::InvalidResponse,
        ErrorKind::TooManyRedirects,
        ErrorKind::InvalidRequest,
    ];

    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::ConnectRefused => "connectRefused",
            ErrorKind::ConnectTimeout => "connectTimeout",
            ErrorKind::Connect => "connect",
            ErrorKind::Tls => "tls",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Reset => "reset",
            ErrorKind::InvalidResponse => "invalidResponse",
            ErrorKind::TooManyRedirects => "tooManyRedirects",
            ErrorKind::InvalidRequest => "invalidRequest",
        }
    }
}

/// Buckets of the per-second latency histogram: bucket b holds latencies below
/// 1.2^(b+1) microseconds (the last one everything longer, from about 40 s).
pub const SECOND_BUCKETS: usize = 96;
const BUCKET_BASE: f64 = 1.2;

fn bucket_of(us: u64) -> usize {
    if us <= 1 {
        return 0;
    }
    ((us as f64).ln() / BUCKET_BASE.ln())
        .floor()
        .clamp(0.0, (SECOND_BUCKETS - 1) as f64) as usize
}

/// The upper bound of bucket `b`, in microseconds.
pub fn bucket_upper_us(b: usize) -> f64 {
    BUCKET_BASE.powi(b as i32 + 1)
}

/// The `q` quantile (0 to 1) of a per-second histogram, in microseconds: the upper bound of
/// the bucket holding it, so within 20% of the exact value. `None` when empty.
pub fn bucket_quantile(buckets: &[u32], q: f64) -> Option<f64> {
    let total: u64 = buckets.iter().map(|c| u64::from(*c)).sum();
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (b, c) in buckets.iter().enumerate() {
        seen += u64::from(*c);
        if seen >= rank {
            return Some(bucket_upper_us(b));
        }
    }
    None
}

/// One second of the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Second {
    /// Requests completed in this second (an answer or an error).
    pub requests: u64,
    /// Of those, errors and answers with status >= 400.
    pub failures: u64,
    /// Of those, answers (any status): what the latencies are of.
    pub answers: u64,
    /// Sum and maximum of the latencies of the answers (microseconds).
    pub latency_sum_us: u64,
    pub latency_max_us: u64,
    /// The smallest latency of the second's answers (0 without answers).
    pub latency_min_us: u64,
    /// Latencies of the answers in log buckets ([`SECOND_BUCKETS`], ratio 1.2): per-second
    /// percentiles within 20%, in 384 bytes a second (empty until an answer comes).
    #[serde(skip)]
    pub buckets: Vec<u32>,
}

/// Measurements of one worker thread, or of a whole run once merged.
#[derive(Debug, Clone)]
pub struct Recorder {
    /// Latency of every answer: from the intended send time in the open model (corrected
    /// for coordinated omission), from the actual send otherwise.
    pub latency: Histogram<u64>,
    /// Open model only: from the actual send, as a tool without correction reports it.
    pub uncorrected: Histogram<u64>,
    /// Answers per status code (index = code, 100..=999 as httparse accepts).
    pub status: Vec<u64>,
    pub errors: [u64; ErrorKind::ALL.len()],
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Connections opened (first and after errors or `Connection: close`).
    pub connections: u64,
    /// Redirects followed (`--redirects`), over all requests.
    pub redirects: u64,
    /// Open model: sends that began more than [`LATE_US`] after their intended time, and
    /// the largest such delay (microseconds).
    pub late_sends: u64,
    pub max_send_delay_us: u64,
    pub seconds: Vec<Second>,
    /// With a scenario: per request of the file, in its order.
    pub steps: Vec<StepStats>,
}

/// The numbers of one request of a scenario.
#[derive(Debug, Clone)]
pub struct StepStats {
    pub latency: Histogram<u64>,
    pub requests: u64,
    pub failures: u64,
}

/// A send that starts this much later than intended counts as late (10 ms).
pub const LATE_US: u64 = 10_000;

fn histogram() -> Histogram<u64> {
    // Bounds and precision are constants that hdrhistogram accepts.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).unwrap_or_else(|_| {
        Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits are valid"))
    })
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            latency: histogram(),
            uncorrected: histogram(),
            status: vec![0; 1000],
            errors: [0; ErrorKind::ALL.len()],
            bytes_in: 0,
            bytes_out: 0,
            connections: 0,
            redirects: 0,
            late_sends: 0,
            max_send_delay_us: 0,
            seconds: Vec::new(),
            steps: Vec::new(),
        }
    }
}

impl Recorder {
    fn second(&mut self, at_second: usize) -> &mut Second {
        if self.seconds.len() <= at_second {
            self.seconds.resize(at_second + 1, Second::default());
        }
        &mut self.seconds[at_second]
    }

    /// An answer with `status`, `latency_us` (corrected in the open model) and, in the open
    /// model, `uncorrected_us`; completed in second `at_second` of the run.
    pub fn answer(
        &mut self,
        status: u16,
        latency_us: u64,
        uncorrected_us: Option<u64>,
        at_second: usize,
    ) {
        self.latency.saturating_record(latency_us.max(1));
        if let Some(u) = uncorrected_us {
            self.uncorrected.saturating_record(u.max(1));
        }
        if let Some(slot) = self.status.get_mut(usize::from(status)) {
            *slot += 1;
        }
        let s = self.second(at_second);
        s.requests += 1;
        s.answers += 1;
        if status >= 400 {
            s.failures += 1;
        }
        s.latency_sum_us += latency_us;
        s.latency_max_us = s.latency_max_us.max(latency_us);
        s.latency_min_us = if s.answers == 1 {
            latency_us
        } else {
            s.latency_min_us.min(latency_us)
        };
        if s.buckets.is_empty() {
            s.buckets = vec![0; SECOND_BUCKETS];
        }
        s.buckets[bucket_of(latency_us)] += 1;
    }

    fn step(&mut self, i: usize) -> &mut StepStats {
        while self.steps.len() <= i {
            self.steps.push(StepStats {
                latency: histogram(),
                requests: 0,
                failures: 0,
            });
        }
        &mut self.steps[i]
    }

    /// An answer to request `i` of a scenario.
    pub fn step_answer(&mut self, i: usize, status: u16, latency_us: u64) {
        let s = self.step(i);
        s.latency.saturating_record(latency_us.max(1));
        s.requests += 1;
        if status >= 400 {
            s.failures += 1;
        }
    }

    /// A failed send of request `i` of a scenario.
    pub fn step_error(&mut self, i: usize) {
        let s = self.step(i);
        s.requests += 1;
        s.failures += 1;
    }

    /// A request that got no answer.
    pub fn error(&mut self, kind: ErrorKind, at_second: usize) {
        self.errors[kind as usize] += 1;
        let s = self.second(at_second);
        s.requests += 1;
        s.failures += 1;
    }

    /// A send of the open model that began `delay_us` after its intended time.
    pub fn send_delay(&mut self, delay_us: u64) {
        if delay_us > LATE_US {
            self.late_sends += 1;
        }
        self.max_send_delay_us = self.max_send_delay_us.max(delay_us);
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Recorder) {
        // Same bounds on both sides: adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.uncorrected.add(&other.uncorrected);
        for (a, b) in self.status.iter_mut().zip(&other.status) {
            *a += b;
        }
        for (a, b) in self.errors.iter_mut().zip(&other.errors) {
            *a += b;
        }
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.connections += other.connections;
        self.redirects += other.redirects;
        self.late_sends += other.late_sends;
        self.max_send_delay_us = self.max_send_delay_us.max(other.max_send_delay_us);
        for (i, st) in other.steps.iter().enumerate() {
            let mine = self.step(i);
            let _ = mine.latency.add(&st.latency);
            mine.requests += st.requests;
            mine.failures += st.failures;
        }
        if self.seconds.len() < other.seconds.len() {
            self.seconds.resize(other.seconds.len(), Second::default());
        }
        for (a, b) in self.seconds.iter_mut().zip(&other.seconds) {
            a.requests += b.requests;
            a.failures += b.failures;
            a.answers += b.answers;
            a.latency_sum_us += b.latency_sum_us;
            a.latency_max_us = a.latency_max_us.max(b.latency_max_us);
            a.latency_min_us = match (a.latency_min_us, b.latency_min_us) {
                (0, y) => y,
                (x, 0) => x,
                (x, y) => x.min(y),
            };
            if !b.buckets.is_empty() {
                if a.buckets.is_empty() {
                    a.buckets = vec![0; SECOND_BUCKETS];
                }
                for (x, y) in a.buckets.iter_mut().zip(&b.buckets) {
                    *x += y;
                }
            }
        }
    }

    /// Answers (any status).
    pub fn answers(&self) -> u64 {
        self.status.iter().sum()
    }

    /// Requests that got no answer.
    pub fn error_count(&self) -> u64 {
        self.errors.iter().sum()
    }

    /// Answers with status >= 400.
    pub fn http_failures(&self) -> u64 {
        self.status.iter().skip(400).sum()
    }

    /// Status code -> count, for the codes seen.
    pub fn status_codes(&self) -> BTreeMap<String, u64> {
        self.status
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(code, n)| (code.to_string(), *n))
            .collect()
    }

    /// Error kind -> count, for the kinds seen.
    pub fn error_kinds(&self) -> BTreeMap<String, u64> {
        ErrorKind::ALL
            .iter()
            .filter(|k| self.errors[**k as usize] > 0)
            .map(|k| (k.as_str().to_string(), self.errors[*k as usize]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_and_merge() {
        let mut a = Recorder::default();
        a.answer(200, 1_000, None, 0);
        a.answer(503, 3_000, None, 1);
        a.error(ErrorKind::Reset, 1);
        let mut b = Recorder::default();
        b.answer(200, 2_000, Some(500), 2);
        b.send_delay(50_000);
        b.send_delay(5);
        a.merge(&b);
        assert_eq!((a.answers(), a.error_count(), a.http_failures()), (3, 1, 1));
        assert_eq!(a.latency.len(), 3);
        assert_eq!(a.uncorrected.len(), 1);
        assert_eq!(a.latency.max(), 3_001);
        assert_eq!(a.seconds.len(), 3);
        assert_eq!((a.seconds[1].requests, a.seconds[1].failures), (2, 2));
        assert_eq!((a.late_sends, a.max_send_delay_us), (1, 50_000));
        assert_eq!(a.status_codes().get("503"), Some(&1));
        assert_eq!(a.error_kinds().get("reset"), Some(&1));
        // Per-second percentiles: within 20% of the exact value.
        let mut r = Recorder::default();
        for us in 1..=1000 {
            r.answer(200, us * 100, None, 0);
        }
        let p50 = bucket_quantile(&r.seconds[0].buckets, 0.5).expect("p50");
        let p99 = bucket_quantile(&r.seconds[0].buckets, 0.99).expect("p99");
        assert!((50_000.0..=60_000.0).contains(&p50), "{p50}");
        assert!((99_000.0..=118_800.0).contains(&p99), "{p99}");
        assert_eq!(bucket_quantile(&[0; 4], 0.5), None);
    }
}
