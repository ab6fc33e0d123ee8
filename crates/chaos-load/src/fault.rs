//! The faults of `sre chaos-load proxy`: what to inject, into which requests, how often,
//! and until when.
//!
//! A fault has a type (`error`, `latency`, `reset`, `timeout`, `bandwidth`), a rate (the
//! share of the requests in scope it hits), a scope (path prefix, method, a header) and an
//! end. Each request draws once per fault in scope, in the order the faults were added,
//! from one random generator: with `--seed`, the same requests in the same order meet the
//! same faults (a replay). Several faults apply together: latencies add up, the slowest
//! bandwidth wins, and the first `reset`, `timeout` or `error` that fires decides the
//! answer.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// A fault as the command line and the admin API give it (JSON, camelCase).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    /// Unique; defaults to the type (`error`, `latency`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `error`, `latency`, `reset`, `timeout` or `bandwidth`; in TCP mode (`--tcp`) also
    /// `slicer`, `limitData` and `down`, and not `error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The share of the requests in scope it hits, 0 to 1 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// `error`: the status to answer (default 503) and its body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// `latency`: the delay added before forwarding (`100ms`), and up to how much more or
    /// less (`20ms`, uniform).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<String>,
    /// `bandwidth`: the answer's body at most this fast (`100KiB/s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<String>,
    /// `slicer` (TCP): data passed on in slices of about `size` bytes (give or take
    /// `sizeVariation`), `delay` apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_variation: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
    /// `limitData` (TCP): the connection is closed once this much (`1Mi`) has passed, both
    /// ways together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<String>,
    /// Scope: requests whose path starts with this, with this method, with this header
    /// (`Name: value`); all of them when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// How long it lasts from when it is added (`60s`); at most until the proxy stops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Error {
        status: u16,
        body: bytes::Bytes,
    },
    Latency {
        delay: Duration,
        jitter: Duration,
    },
    Reset,
    Timeout,
    Bandwidth {
        bytes_per_second: u64,
    },
    Slicer {
        size: u64,
        variation: u64,
        delay: Duration,
    },
    LimitData {
        bytes: u64,
    },
    Down,
}

impl Action {
    /// The type's name, as in [`FaultSpec::kind`] and the metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Error { .. } => "error",
            Action::Latency { .. } => "latency",
            Action::Reset => "reset",
            Action::Timeout => "timeout",
            Action::Bandwidth { .. } => "bandwidth",
            Action::Slicer { .. } => "slicer",
            Action::LimitData { .. } => "limitData",
            Action::Down => "down",
        }
    }
}

/// The types, in the order of the metrics' counters.
pub const KINDS: [&str; 8] = [
    "error",
    "latency",
    "reset",
    "timeout",
    "bandwidth",
    "slicer",
    "limitData",
    "down",
];

/// Which requests a fault applies to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    pub path: Option<String>,
    pub method: Option<http::Method>,
    pub header: Option<(http::HeaderName, String)>,
}

impl Scope {
    fn matches(&self, method: &http::Method, path: &str, headers: &http::HeaderMap) -> bool {
        self.path.as_deref().is_none_or(|p| path.starts_with(p))
            && self.method.as_ref().is_none_or(|m| m == method)
            && self.header.as_ref().is_none_or(|(name, value)| {
                headers
                    .get_all(name)
                    .iter()
                    .any(|v| v.to_str().is_ok_and(|v| v.trim() == value))
            })
    }
}

/// A fault in force.
#[derive(Debug, Clone)]
pub struct Fault {
    pub name: String,
    pub action: Action,
    pub rate: f64,
    pub scope: Scope,
    /// When it ends.
    pub until: Instant,
    /// As given (for the admin API's listing).
    pub spec: FaultSpec,
}

/// The longest a fault's duration, latency or jitter may be: more is a typo, and keeps
/// every sum of instants and durations far from overflowing.
const LONGEST: Duration = Duration::from_secs(7 * 86_400);

fn duration(field: &str, s: &str) -> Result<Duration, String> {
    let d = sre_cli::units::parse_duration(s).map_err(|e| format!("{field}: {e}"))?;
    if d > LONGEST {
        return Err(format!(
            "{field}: {s} is more than 7 days: check the number"
        ));
    }
    Ok(d)
}

/// `100KiB/s`, `1MiB/s`, `500kB/s` as bytes per second.
pub fn parse_bandwidth(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let size = t
        .strip_suffix("/s")
        .ok_or_else(|| format!("bandwidth `{s}` needs a unit per second, e.g. 100KiB/s"))?;
    match sre_cli::units::parse_size(size) {
        Ok(0) | Err(_) => Err(format!(
            "bandwidth `{s}` is not a rate above 0: use e.g. 100KiB/s, 1MiB/s or 500kB/s"
        )),
        Ok(n) => Ok(n),
    }
}

impl FaultSpec {
    /// Checks the spec and makes the fault, in force from `now` until its duration (or
    /// `end`, the proxy's end, whichever comes first); `tcp`: for the TCP mode.
    pub fn build(&self, now: Instant, end: Instant, tcp: bool) -> Result<Fault, String> {
        if tcp && self.kind == "error" {
            return Err(
                "type error answers HTTP requests: not in TCP mode (use reset, timeout or down)"
                    .into(),
            );
        }
        if !tcp && ["slicer", "limitData", "down"].contains(&self.kind.as_str()) {
            return Err(format!("type {} is for the TCP mode (--tcp)", self.kind));
        }
        if tcp && (self.path.is_some() || self.method.is_some() || self.header.is_some()) {
            return Err("path, method and header scope HTTP requests: not in TCP mode".into());
        }
        let only = |field: &str, set: bool, kind: &str| {
            if set && self.kind != kind {
                Err(format!(
                    "`{field}` applies to faults of type {kind}, not {}",
                    self.kind
                ))
            } else {
                Ok(())
            }
        };
        only("status", self.status.is_some(), "error")?;
        only("body", self.body.is_some(), "error")?;
        only("latency", self.latency.is_some(), "latency")?;
        only("jitter", self.jitter.is_some(), "latency")?;
        only("bandwidth", self.bandwidth.is_some(), "bandwidth")?;
        only("size", self.size.is_some(), "slicer")?;
        only("sizeVariation", self.size_variation.is_some(), "slicer")?;
        only("delay", self.delay.is_some(), "slicer")?;
        only("bytes", self.bytes.is_some(), "limitData")?;
        let action = match self.kind.as_str() {
            "error" => {
                let status = self.status.unwrap_or(503);
                if !(100..=599).contains(&status) {
                    return Err(format!("status {status} is not an HTTP status (100 to 599)"));
                }
                Action::Error {
                    status,
                    body: bytes::Bytes::from(self.body.clone().unwrap_or_else(|| {
                        format!("fault injected by sre chaos-load proxy: {status}\n")
                    })),
                }
            }
            "latency" => {
                let delay = duration(
                    "latency",
                    self.latency
                        .as_deref()
                        .ok_or("a latency fault needs `latency`, e.g. 100ms")?,
                )?;
                let jitter = match &self.jitter {
                    Some(j) => duration("jitter", j)?,
                    None => Duration::ZERO,
                };
                Action::Latency { delay, jitter }
            }
            "reset" => Action::Reset,
            "timeout" => Action::Timeout,
            "bandwidth" => Action::Bandwidth {
                bytes_per_second: parse_bandwidth(
                    self.bandwidth
                        .as_deref()
                        .ok_or("a bandwidth fault needs `bandwidth`, e.g. 100KiB/s")?,
                )?,
            },
            "slicer" => {
                let size = self.size.unwrap_or(64);
                let variation = self.size_variation.unwrap_or(0);
                if size == 0 || variation >= size || size > 1 << 20 {
                    return Err(format!(
                        "slicer: size {size} must be above 0, at most 1Mi, and above sizeVariation {variation}"
                    ));
                }
                let delay = match &self.delay {
                    Some(d) => duration("delay", d)?,
                    None => Duration::ZERO,
                };
                Action::Slicer {
                    size,
                    variation,
                    delay,
                }
            }
            "limitData" => {
                let text = self
                    .bytes
                    .as_deref()
                    .ok_or("a limitData fault needs `bytes`, e.g. 1Mi")?;
                let bytes = sre_cli::units::parse_size(text)
                    .map_err(|_| format!("bytes `{text}` is not a size: use e.g. 64Ki or 1Mi"))?;
                Action::LimitData { bytes }
            }
            "down" => {
                if self.rate.is_some() {
                    return Err("a down fault has no rate: while it is in force, every connection is refused".into());
                }
                Action::Down
            }
            other => {
                return Err(format!(
                    "fault type `{other}` is not known: use error, latency, reset, timeout or bandwidth; in TCP mode also slicer, limitData or down"
                ))
            }
        };
        let rate = self.rate.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&rate) {
            return Err(format!("rate {rate} is not between 0 and 1"));
        }
        let method = match &self.method {
            Some(m) => Some(
                http::Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                    .map_err(|_| format!("method `{m}` is not an HTTP method"))?,
            ),
            None => None,
        };
        let header = match &self.header {
            Some(h) => {
                let (name, value) = h
                    .split_once(':')
                    .ok_or_else(|| format!("header `{h}` is not `Name: value`"))?;
                let name = http::HeaderName::from_bytes(name.trim().as_bytes())
                    .map_err(|_| format!("header `{h}` has no valid name"))?;
                Some((name, value.trim().to_string()))
            }
            None => None,
        };
        if let Some(p) = &self.path {
            if !p.starts_with('/') {
                return Err(format!("path `{p}` must start with /"));
            }
        }
        let until = match &self.duration {
            Some(d) => {
                let d = duration("duration", d)?;
                if d.is_zero() {
                    return Err("duration must be above 0".into());
                }
                now.checked_add(d).map_or(end, |u| u.min(end))
            }
            None => end,
        };
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| action.kind().to_string());
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!(
                "name `{name}` must be letters, digits, `-`, `_` or `.`"
            ));
        }
        Ok(Fault {
            name,
            action,
            rate,
            scope: Scope {
                path: self.path.clone(),
                method,
                header,
            },
            until,
            spec: self.clone(),
        })
    }
}

/// What the proxy does with one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Wait this long first (latency faults).
    pub delay: Duration,
    /// Then: forward it, or answer it so.
    pub outcome: Outcome,
    /// Send the answer's body at most this fast.
    pub bandwidth: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Forward,
    Error {
        status: u16,
        body: bytes::Bytes,
    },
    /// Reset the client's connection (TCP RST).
    Reset,
    /// Answer nothing until this instant (the fault's end).
    Hang(Instant),
}

/// What happens to a TCP connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    /// Each chunk of data waits this long, plus or minus up to `jitter`.
    pub latency: Duration,
    pub jitter: Duration,
    /// Forward, reset at once, or hold until the fault ends (`Error` does not occur).
    pub outcome: Outcome,
    pub bandwidth: Option<u64>,
    /// Slices of about `.0` bytes, give or take `.1`, `.2` apart.
    pub slicer: Option<(u64, u64, Duration)>,
    /// Close once this many bytes have passed, both ways together.
    pub limit: Option<u64>,
    /// Seeds the connection's own draws (jitter, slice sizes).
    pub seed: u64,
}

/// The faults in force, the random generator and the counters.
#[derive(Debug)]
pub struct Faults {
    list: RwLock<Vec<Fault>>,
    /// The TCP mode: faults are checked for it, and decided per connection.
    pub tcp: bool,
    rng: Mutex<fastrand::Rng>,
    /// When the proxy stops: no fault outlives it.
    pub end: Instant,
    pub requests: AtomicU64,
    /// TCP mode: connections accepted.
    pub connections: AtomicU64,
    /// Requests a fault of each type ([`KINDS`]) hit.
    pub injected: [AtomicU64; 8],
    pub upstream_errors: AtomicU64,
    /// TCP mode: the proxy listens (no `down` fault in force), kept by its accept loop.
    pub listening: std::sync::atomic::AtomicBool,
    /// Woken when the faults change (the TCP accept loop acts on `down` at once).
    pub changed: tokio::sync::Notify,
}

impl Faults {
    pub fn new(seed: u64, end: Instant, tcp: bool) -> Faults {
        Faults {
            list: RwLock::new(Vec::new()),
            tcp,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            end,
            requests: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            injected: Default::default(),
            upstream_errors: AtomicU64::new(0),
            listening: std::sync::atomic::AtomicBool::new(false),
            changed: tokio::sync::Notify::new(),
        }
    }

    /// Adds a fault; its name must be new.
    pub fn add(&self, spec: &FaultSpec) -> Result<Fault, String> {
        let fault = spec.build(Instant::now(), self.end, self.tcp)?;
        let mut list = self
            .list
            .write()
            .map_err(|_| "the fault list is unusable")?;
        list.retain(|f| f.until > Instant::now());
        if list.iter().any(|f| f.name == fault.name) {
            return Err(format!(
                "a fault named `{}` exists: give another `name`, or change it with PUT",
                fault.name
            ));
        }
        list.push(fault.clone());
        drop(list);
        self.changed.notify_waiters();
        Ok(fault)
    }

    /// Replaces the fault `name` (keeping its place in the order).
    pub fn replace(&self, name: &str, spec: &FaultSpec) -> Result<Option<Fault>, String> {
        let mut spec = spec.clone();
        spec.name = Some(name.to_string());
        let fault = spec.build(Instant::now(), self.end, self.tcp)?;
        let mut list = self
            .list
            .write()
            .map_err(|_| "the fault list is unusable")?;
        let replaced = list.iter_mut().find(|f| f.name == name).map(|slot| {
            *slot = fault.clone();
            fault
        });
        drop(list);
        self.changed.notify_waiters();
        Ok(replaced)
    }

    /// Removes the fault `name`; whether it was there.
    pub fn remove(&self, name: &str) -> bool {
        let Ok(mut list) = self.list.write() else {
            return false;
        };
        let before = list.len();
        list.retain(|f| f.name != name);
        let removed = list.len() != before;
        drop(list);
        self.changed.notify_waiters();
        removed
    }

    /// Removes every fault (`POST /reset`).
    pub fn reset(&self) {
        if let Ok(mut list) = self.list.write() {
            list.clear();
        }
        self.changed.notify_waiters();
    }

    /// Holds a request (or connection) a `timeout` fault hit: until `until`, or until no
    /// `timeout` fault is in force any more (removed, or its phase ended).
    pub async fn hang(&self, until: Instant) {
        let deadline = tokio::time::sleep_until(until.into());
        tokio::pin!(deadline);
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if !self.active().iter().any(|f| f.action == Action::Timeout) {
                return;
            }
            tokio::select! {
                () = &mut deadline => return,
                () = &mut changed => {}
            }
        }
    }

    /// TCP mode: waits (up to a second) until the accept loop has acted on the `down`
    /// faults in force, so that an admin request's answer means it is in effect.
    pub fn settle(&self) {
        if !self.tcp {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(1);
        while self.listening.load(Ordering::SeqCst) == self.down().is_some()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The faults still in force.
    pub fn active(&self) -> Vec<Fault> {
        let now = Instant::now();
        self.list
            .read()
            .map(|l| l.iter().filter(|f| f.until > now).cloned().collect())
            .unwrap_or_default()
    }

    /// Counts a fault of `action`'s type as injected.
    fn count(&self, action: &Action) {
        let index = KINDS.iter().position(|k| *k == action.kind()).unwrap_or(0);
        self.injected[index].fetch_add(1, Ordering::Relaxed);
    }

    /// Decides what happens to a request.
    pub fn decide(&self, method: &http::Method, path: &str, headers: &http::HeaderMap) -> Decision {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut d = Decision {
            delay: Duration::ZERO,
            outcome: Outcome::Forward,
            bandwidth: None,
        };
        let now = Instant::now();
        let Ok(list) = self.list.read() else {
            return d;
        };
        let in_scope: Vec<&Fault> = list
            .iter()
            .filter(|f| f.until > now && f.scope.matches(method, path, headers))
            .collect();
        if in_scope.is_empty() {
            return d;
        }
        let Ok(mut rng) = self.rng.lock() else {
            return d;
        };
        for f in in_scope {
            // One draw per fault in scope, whatever happens: the sequence stays the same
            // for the same requests.
            let hit = rng.f64() < f.rate;
            let spread = rng.f64();
            if !hit {
                continue;
            }
            self.count(&f.action);
            match &f.action {
                Action::Latency { delay, jitter } => {
                    // Uniform in [delay - jitter, delay + jitter], never below 0.
                    let j = jitter.as_secs_f64() * (2.0 * spread - 1.0);
                    d.delay = d.delay.saturating_add(Duration::from_secs_f64(
                        (delay.as_secs_f64() + j).clamp(0.0, LONGEST.as_secs_f64()),
                    ));
                }
                Action::Bandwidth { bytes_per_second } => {
                    d.bandwidth = Some(
                        d.bandwidth
                            .map_or(*bytes_per_second, |b| b.min(*bytes_per_second)),
                    );
                }
                Action::Error { status, body } if d.outcome == Outcome::Forward => {
                    d.outcome = Outcome::Error {
                        status: *status,
                        body: body.clone(),
                    };
                }
                Action::Reset if d.outcome == Outcome::Forward => d.outcome = Outcome::Reset,
                Action::Timeout if d.outcome == Outcome::Forward => {
                    d.outcome = Outcome::Hang(f.until);
                }
                _ => {}
            }
        }
        d
    }

    /// Decides what happens to a TCP connection (`--tcp`): one draw per fault, as for
    /// requests. `down` faults are not decided here: while one is in force, the proxy does
    /// not listen at all ([`Faults::down`]).
    pub fn decide_connection(&self) -> Connection {
        self.connections.fetch_add(1, Ordering::Relaxed);
        let mut c = Connection {
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            outcome: Outcome::Forward,
            bandwidth: None,
            slicer: None,
            limit: None,
            seed: 0,
        };
        let now = Instant::now();
        let (Ok(list), Ok(mut rng)) = (self.list.read(), self.rng.lock()) else {
            return c;
        };
        c.seed = rng.u64(..);
        for f in list.iter().filter(|f| f.until > now) {
            if rng.f64() >= f.rate || f.action == Action::Down {
                continue;
            }
            self.count(&f.action);
            match &f.action {
                Action::Latency { delay, jitter } => {
                    c.latency = c.latency.saturating_add(*delay);
                    c.jitter = c.jitter.saturating_add(*jitter);
                }
                Action::Bandwidth { bytes_per_second } => {
                    c.bandwidth = Some(
                        c.bandwidth
                            .map_or(*bytes_per_second, |b| b.min(*bytes_per_second)),
                    );
                }
                Action::Slicer {
                    size,
                    variation,
                    delay,
                } => c.slicer = Some((*size, *variation, *delay)),
                Action::LimitData { bytes } => {
                    c.limit = Some(c.limit.map_or(*bytes, |l| l.min(*bytes)));
                }
                Action::Reset if c.outcome == Outcome::Forward => c.outcome = Outcome::Reset,
                Action::Timeout if c.outcome == Outcome::Forward => {
                    c.outcome = Outcome::Hang(f.until)
                }
                _ => {}
            }
        }
        c
    }

    /// Until when a `down` fault keeps the proxy from listening, if one is in force.
    pub fn down(&self) -> Option<Instant> {
        let now = Instant::now();
        self.list.read().ok().and_then(|l| {
            l.iter()
                .filter(|f| f.action == Action::Down && f.until > now)
                .map(|f| f.until)
                .max()
        })
    }

    /// Prometheus text of the proxy's counters.
    pub fn metrics(&self, forwarded_by_status: &[(u16, u64)]) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        family(
            "chaos_proxy_requests_total",
            "counter",
            "HTTP requests the proxy received.",
            &[(String::new(), load(&self.requests))],
        );
        family(
            "chaos_proxy_connections_total",
            "counter",
            "TCP connections the proxy accepted (TCP mode).",
            &[(String::new(), load(&self.connections))],
        );
        let injected: Vec<(String, u64)> = KINDS
            .iter()
            .zip(&self.injected)
            .map(|(k, n)| (format!("{{type=\"{k}\"}}"), load(n)))
            .collect();
        family(
            "chaos_proxy_faults_injected_total",
            "counter",
            "Requests (in TCP mode, connections) a fault hit, by the fault's type.",
            &injected,
        );
        let answers: Vec<(String, u64)> = forwarded_by_status
            .iter()
            .map(|(s, n)| (format!("{{status=\"{s}\"}}"), *n))
            .collect();
        family(
            "chaos_proxy_upstream_answers_total",
            "counter",
            "Answers from the upstream passed on, by status.",
            &answers,
        );
        family(
            "chaos_proxy_upstream_errors_total",
            "counter",
            "Requests or connections the upstream could not take (connection failed or broke).",
            &[(String::new(), load(&self.upstream_errors))],
        );
        family(
            "chaos_proxy_active_faults",
            "gauge",
            "Faults in force.",
            &[(String::new(), self.active().len() as u64)],
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: &str) -> FaultSpec {
        FaultSpec {
            kind: kind.into(),
            ..FaultSpec::default()
        }
    }

    #[test]
    fn specs_are_checked_with_messages_that_say_what_to_do() {
        let now = Instant::now();
        let end = now + Duration::from_secs(60);
        for (s, want) in [
            (
                FaultSpec {
                    status: Some(503),
                    ..spec("latency")
                },
                "`status` applies to faults of type error",
            ),
            (spec("latency"), "needs `latency`"),
            (spec("bandwidth"), "needs `bandwidth`"),
            (
                FaultSpec {
                    bandwidth: Some("100KiB".into()),
                    ..spec("bandwidth")
                },
                "per second",
            ),
            (
                FaultSpec {
                    rate: Some(1.5),
                    ..spec("reset")
                },
                "between 0 and 1",
            ),
            (
                FaultSpec {
                    status: Some(42),
                    ..spec("error")
                },
                "not an HTTP status",
            ),
            (spec("slow"), "fault type `slow` is not known"),
            (
                FaultSpec {
                    path: Some("api".into()),
                    ..spec("reset")
                },
                "must start with /",
            ),
            (
                FaultSpec {
                    header: Some("X-Test".into()),
                    ..spec("reset")
                },
                "not `Name: value`",
            ),
            (
                FaultSpec {
                    duration: Some("soon".into()),
                    ..spec("reset")
                },
                "duration",
            ),
        ] {
            let e = s.build(now, end, false).map(|_| ()).expect_err("refused");
            assert!(e.contains(want), "{e} (wanted {want})");
        }
        // A fault never outlives the proxy.
        let f = FaultSpec {
            duration: Some("10m".into()),
            ..spec("timeout")
        }
        .build(now, end, false)
        .expect("fault");
        assert_eq!(f.until, end);
        assert_eq!(parse_bandwidth("100KiB/s"), Ok(102_400));
    }

    #[test]
    fn a_seed_gives_the_same_decisions_and_the_rate_holds() {
        let end = Instant::now() + Duration::from_secs(60);
        let run = || {
            let faults = Faults::new(7, end, false);
            faults
                .add(&FaultSpec {
                    rate: Some(0.3),
                    ..spec("error")
                })
                .expect("add");
            (0..2000)
                .map(|_| {
                    faults
                        .decide(&http::Method::GET, "/", &http::HeaderMap::new())
                        .outcome
                        != Outcome::Forward
                })
                .collect::<Vec<bool>>()
        };
        let a = run();
        assert_eq!(a, run());
        let hits = a.iter().filter(|h| **h).count();
        assert!((500..=700).contains(&hits), "{hits} of 2000 at 30%");
    }

    #[test]
    fn scope_and_combination() {
        let end = Instant::now() + Duration::from_secs(60);
        let faults = Faults::new(1, end, false);
        faults
            .add(&FaultSpec {
                latency: Some("100ms".into()),
                path: Some("/api".into()),
                method: Some("post".into()),
                ..spec("latency")
            })
            .expect("latency");
        faults
            .add(&FaultSpec {
                name: Some("slow-2".into()),
                latency: Some("50ms".into()),
                header: Some("X-Canary: 1".into()),
                ..spec("latency")
            })
            .expect("latency 2");
        faults
            .add(&FaultSpec {
                bandwidth: Some("1MiB/s".into()),
                ..spec("bandwidth")
            })
            .expect("bandwidth");
        faults
            .add(&FaultSpec {
                status: Some(500),
                path: Some("/api/pay".into()),
                ..spec("error")
            })
            .expect("error");
        let mut canary = http::HeaderMap::new();
        canary.insert("x-canary", http::HeaderValue::from_static("1"));
        let d = faults.decide(&http::Method::POST, "/api/items", &canary);
        assert_eq!(d.delay, Duration::from_millis(150));
        assert_eq!(d.bandwidth, Some(1 << 20));
        assert_eq!(d.outcome, Outcome::Forward);
        let d = faults.decide(&http::Method::GET, "/api/pay", &http::HeaderMap::new());
        assert_eq!(d.delay, Duration::ZERO);
        assert!(matches!(d.outcome, Outcome::Error { status: 500, .. }));
        // Names are unique; a fault can be changed and removed.
        assert!(faults.add(&spec("bandwidth")).is_err());
        assert!(faults
            .replace("error", &spec("reset"))
            .expect("valid")
            .is_some());
        assert_eq!(
            faults
                .decide(&http::Method::GET, "/", &http::HeaderMap::new())
                .outcome,
            Outcome::Reset
        );
        assert!(faults.remove("error") && !faults.remove("error"));
        faults.reset();
        assert!(faults.active().is_empty());
        assert_eq!(faults.injected[0].load(Ordering::Relaxed), 1);
    }
}
