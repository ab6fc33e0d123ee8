//! Reading alert history and alerting rules from a Prometheus-compatible HTTP API
//! (Prometheus, VictoriaMetrics; Thanos and Mimir serve the same API).
//!
//! History comes from `query_range` of `ALERTS` (one series per alert and `alertstate`),
//! split into chunks of at most [`DEFAULT_CHUNK_STEPS`] evaluations so that no query
//! exceeds the server's 11,000-points-per-series limit; a chunk the server still refuses
//! as too large (400/422) is halved and retried. Rules come from `/api/v1/rules?type=alert`.

use crate::history::{Labels, Rule, Series, Window};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Evaluations per `query_range` chunk: below Prometheus' limit of 11,000 points per series.
pub const DEFAULT_CHUNK_STEPS: i64 = 10_000;
/// The smallest chunk tried before giving up.
const MIN_CHUNK_STEPS: i64 = 60;

/// Credentials for the API. Never printed.
#[derive(Clone, Default)]
pub enum Auth {
    #[default]
    None,
    Bearer(String),
    Basic {
        user: String,
        password: String,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::None => "None",
            Auth::Bearer(_) => "Bearer(<withheld>)",
            Auth::Basic { .. } => "Basic(<withheld>)",
        })
    }
}

/// One Prometheus-compatible API to read.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Base URL, e.g. `http://prometheus:9090` (a path prefix such as `/prometheus` is kept).
    pub url: String,
    /// The name its series carry as `source` (several Prometheus servers, one report).
    pub name: Option<String>,
    pub auth: Auth,
    /// PEM file of CAs to trust instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// Skip TLS verification (explicit opt-in only).
    pub insecure_skip_verify: bool,
    /// Timeout of each request.
    pub timeout: Duration,
}

/// Why a source could not be read. Messages never contain credentials.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot reach {url}: {message}\n  hint: check the URL and that Prometheus is up (`curl {url}/-/ready`)")]
    Unreachable { url: String, message: String },
    #[error("{url} answered {code}: {message}")]
    Status {
        url: String,
        code: u16,
        message: String,
    },
    #[error("{url} did not answer with the Prometheus API's JSON: {message}")]
    Invalid { url: String, message: String },
    #[error("cannot read the CA file {path}: {message}")]
    CaFile { path: String, message: String },
}

/// A client for one endpoint.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    shown: String,
    name: Option<String>,
    authorization: Option<String>,
    /// Requests made, chunks halved after a too-large answer.
    pub requests: std::cell::Cell<u64>,
    pub halvings: std::cell::Cell<u64>,
    /// Time from sending each request to having its whole answer (the server's work and
    /// the transfer), and the bytes received: what a run spends waiting on the server.
    pub waited: std::cell::Cell<Duration>,
    pub received_bytes: std::cell::Cell<u64>,
}

/// An HTTP agent with `ep`'s timeout and TLS settings (CA file, explicit skip-verify);
/// shared by the Prometheus and Alertmanager clients.
pub fn agent(ep: &Endpoint) -> Result<ureq::Agent, SourceError> {
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(path) = &ep.ca_file {
        let pem = std::fs::read(path).map_err(|e| SourceError::CaFile {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            return Err(SourceError::CaFile {
                path: path.display().to_string(),
                message: "no PEM certificate in it".into(),
            });
        }
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
    }
    if ep.insecure_skip_verify {
        tls = tls.disable_verification(true);
    }
    Ok(ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(ep.timeout))
        .tls_config(tls.build())
        .build()
        .into())
}

impl Client {
    pub fn new(ep: &Endpoint) -> Result<Client, SourceError> {
        let agent = agent(ep)?;
        let authorization = match &ep.auth {
            Auth::None => None,
            Auth::Bearer(t) => Some(format!("Bearer {}", t.trim())),
            Auth::Basic { user, password } => {
                use base64::Engine as _;
                let raw = format!("{user}:{password}");
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                ))
            }
        };
        let base = ep.url.trim_end_matches('/').to_string();
        Ok(Client {
            agent,
            shown: shown_url(&base),
            base,
            name: ep.name.clone(),
            authorization,
            requests: std::cell::Cell::new(0),
            halvings: std::cell::Cell::new(0),
            waited: std::cell::Cell::new(Duration::ZERO),
            received_bytes: std::cell::Cell::new(0),
        })
    }

    /// The URL as shown in messages (without credentials).
    pub fn url(&self) -> &str {
        &self.shown
    }

    fn get(&self, path_and_query: &str) -> Result<(u16, String), SourceError> {
        self.requests.set(self.requests.get() + 1);
        let url = format!("{}{path_and_query}", self.base);
        let mut req = self.agent.get(&url);
        if let Some(a) = &self.authorization {
            req = req.header("Authorization", a);
        }
        let sent = std::time::Instant::now();
        let mut resp = req.call().map_err(|e| SourceError::Unreachable {
            url: self.shown.clone(),
            message: e.to_string(),
        })?;
        let code = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(512 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| SourceError::Unreachable {
                url: self.shown.clone(),
                message: format!("reading the answer failed: {e}"),
            })?;
        self.waited.set(self.waited.get() + sent.elapsed());
        self.received_bytes
            .set(self.received_bytes.get() + body.len() as u64);
        Ok((code, body))
    }

    /// `query` over `window` in chunks of at most `chunk` evaluations (halved when the
    /// server refuses a chunk as too large), handing each returned series to `each` in
    /// time order.
    fn range(
        &self,
        query: &str,
        window: Window,
        chunk: &mut i64,
        mut each: impl FnMut(RangeSeries<'_>),
    ) -> Result<(), SourceError> {
        let step = window.step.max(1);
        let mut start = window.from;
        let last = window.to - 1;
        while start <= last {
            let end = start
                .saturating_add((*chunk - 1).saturating_mul(step))
                .min(last);
            let path =
                format!("/api/v1/query_range?query={query}&start={start}&end={end}&step={step}");
            let (code, body) = self.get(&path)?;
            if matches!(code, 400 | 422) && too_many_points(&body) && *chunk > MIN_CHUNK_STEPS {
                *chunk = (*chunk / 2).max(MIN_CHUNK_STEPS);
                self.halvings.set(self.halvings.get() + 1);
                continue;
            }
            let data = self.data::<Matrix<'_>>(code, &body)?;
            data.result.into_iter().for_each(&mut each);
            start = end + step;
        }
        Ok(())
    }

    /// `ALERTS` over `window`, one [`Series`] per alert label set (firing and pending
    /// timestamps merged from the two `alertstate` series), with the activation times of
    /// `ALERTS_FOR_STATE` as change points.
    pub fn alert_series(
        &self,
        window: Window,
        chunk_steps: i64,
    ) -> Result<Vec<Series>, SourceError> {
        let mut chunk = chunk_steps.max(MIN_CHUNK_STEPS);
        let mut by_labels: BTreeMap<Labels, Series> = BTreeMap::new();
        self.range("ALERTS", window, &mut chunk, |s| {
            let mut labels = s.metric;
            labels.remove("__name__");
            let state = labels.remove("alertstate").unwrap_or_default();
            let entry = by_labels.entry(labels.clone()).or_insert_with(|| Series {
                labels,
                source: self.name.clone(),
                firing: Vec::new(),
                pending: Vec::new(),
                active_at: Vec::new(),
            });
            let times = s.values.iter().map(|(t, _)| t.round() as i64);
            match state.as_str() {
                "firing" => entry.firing.extend(times),
                "pending" => entry.pending.extend(times),
                _ => {}
            }
        })?;
        // ALERTS_FOR_STATE has the labels of ALERTS without `alertstate`; its value is the
        // time the alert became active. Kept as change points: one per activation.
        self.range("ALERTS_FOR_STATE", window, &mut chunk, |s| {
            let mut labels = s.metric;
            labels.remove("__name__");
            let Some(entry) = by_labels.get_mut(&labels) else {
                return;
            };
            for (t, v) in &s.values {
                let Ok(active) = v.parse::<f64>() else {
                    continue;
                };
                let (t, active) = (t.round() as i64, active.round() as i64);
                if entry.active_at.last().is_none_or(|p| p[1] != active) {
                    entry.active_at.push([t, active]);
                }
            }
        })?;
        Ok(by_labels
            .into_values()
            .filter(|s| s.labels.contains_key("alertname"))
            .collect())
    }

    /// The alerting rules (`/api/v1/rules?type=alert`).
    pub fn rules(&self) -> Result<Vec<Rule>, SourceError> {
        let (code, body) = self.get("/api/v1/rules?type=alert")?;
        let data = self.data::<RuleGroups>(code, &body)?;
        let mut out = Vec::new();
        for g in data.groups {
            for r in g.rules.into_iter().filter(|r| r.kind == "alerting") {
                let mut rule = Rule::new(&r.name, &g.name, r.duration.round() as i64, &r.query);
                rule.labels = r.labels;
                rule.keep_firing_for = r
                    .keep_firing_for
                    .filter(|k| *k > 0.0)
                    .map(|k| k.round() as i64);
                out.push(rule);
            }
        }
        Ok(out)
    }

    fn data<'a, T: Deserialize<'a>>(&self, code: u16, body: &'a str) -> Result<T, SourceError> {
        let parsed: Result<Envelope<T>, _> = serde_json::from_str(body);
        match (code, parsed) {
            (200, Ok(Envelope { data: Some(d), .. })) => Ok(d),
            (_, Ok(Envelope { error: Some(e), .. })) => Err(SourceError::Status {
                url: self.shown.clone(),
                code,
                message: e,
            }),
            (200, Err(e)) => Err(SourceError::Invalid {
                url: self.shown.clone(),
                message: e.to_string(),
            }),
            _ => Err(SourceError::Status {
                url: self.shown.clone(),
                code,
                message: body
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(200)
                    .collect(),
            }),
        }
    }
}

/// Prometheus' and VictoriaMetrics' wording for a range with too many points.
fn too_many_points(body: &str) -> bool {
    let b = body.to_ascii_lowercase();
    b.contains("exceeded maximum resolution")
        || b.contains("too many points")
        || b.contains("cannot select more than")
}

pub use sre_cli::url::shown_url;

#[derive(Deserialize)]
struct Envelope<T> {
    data: Option<T>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Matrix<'a> {
    #[serde(borrow)]
    result: Vec<RangeSeries<'a>>,
}

/// One series of a range answer. The values are borrowed from the answer's text (numbers
/// as strings never hold escapes): millions of samples, no allocation each.
#[derive(Deserialize)]
struct RangeSeries<'a> {
    metric: Labels,
    #[serde(default, borrow)]
    values: Vec<(f64, &'a str)>,
}

#[derive(Deserialize)]
struct RuleGroups {
    groups: Vec<RuleGroup>,
}

#[derive(Deserialize)]
struct RuleGroup {
    name: String,
    #[serde(default)]
    rules: Vec<ApiRule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiRule {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    #[serde(default)]
    query: String,
    #[serde(default)]
    duration: f64,
    #[serde(default)]
    keep_firing_for: Option<f64>,
    #[serde(default)]
    labels: Labels,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_credentials() {
        assert_eq!(shown_url("https://u:p@prom:9090/x"), "https://prom:9090/x");
        assert_eq!(shown_url("http://prom:9090"), "http://prom:9090");
        assert_eq!(shown_url("https://u:p@ss@prom/x@y"), "https://prom/x@y");
        assert_eq!(
            format!("{:?}", Auth::Bearer("t0k".into())),
            "Bearer(<withheld>)"
        );
    }

    #[test]
    fn too_large_answers_are_recognised() {
        assert!(too_many_points(
            r#"{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"}"#
        ));
        assert!(!too_many_points(
            r#"{"status":"error","error":"parse error"}"#
        ));
    }
}
