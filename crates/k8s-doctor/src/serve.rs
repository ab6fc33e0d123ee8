//! `sre k8s-doctor serve`: exporter mode. Re-reads the cluster(s) every `--interval`, runs
//! the checks, and serves the outcome over HTTP:
//!
//! - `/metrics`: Prometheus text format: findings by cluster, severity, check code and
//!   namespace (namespaces beyond `--max-namespaces` summed as `_other`, so the label set
//!   stays bounded), run duration, last success time, runs by result, API requests,
//!   retries and read errors, whether the last report is partial;
//! - `/healthz`: the process is up; `/readyz`: the first run has finished (503 before);
//! - `/report.json` and `/report.html`: the latest report in the shared formats.
//!
//! SIGTERM or Ctrl-C stops accepting connections, lets requests in flight finish (up to
//! five seconds) and exits 0.

use crate::checks::{Command, Thresholds};
use crate::suppress::Suppressions;
use crate::{LiveArgs, Settings};
use anyhow::Context;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use sre_core::Report;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `sre k8s-doctor serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to serve on (in a pod: 0.0.0.0:9090)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9090")]
    pub listen: SocketAddr,
    /// Time between two runs
    #[arg(long, value_name = "DURATION", value_parser = sre_cli::units::duration_arg, default_value = "60s")]
    pub interval: Duration,
    /// Which checks run each time
    #[arg(long, value_name = "COMMAND", value_parser = ["healthcheck", "diagnostics", "audit", "check"], default_value = "check")]
    pub command: String,
    /// Namespaces given their own `namespace` label in /metrics (those with the most
    /// findings); the others are summed as `namespace="_other"`
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub max_namespaces: usize,
    /// Run only these checks (code or name, repeatable or comma-separated)
    #[arg(long = "check", value_name = "CODE", value_delimiter = ',')]
    pub checks: Vec<String>,
    /// Suppress findings: CODE, CODE:namespace/name or CODE:name (as for the other commands)
    #[arg(long, value_name = "CODE[:NAMESPACE/NAME]")]
    pub exclude: Vec<String>,
    #[command(flatten)]
    pub live: LiveArgs,
}

/// What the HTTP side serves; replaced after every run.
#[derive(Default)]
struct State {
    report: Option<Arc<Report>>,
    json: String,
    html: String,
    last_success: Option<SystemTime>,
    last_duration: f64,
    runs_ok: u64,
    runs_failed: u64,
    last_error: Option<String>,
    api_requests: u64,
    api_retries: u64,
}

/// Runs the exporter until SIGTERM or Ctrl-C.
pub fn run(
    a: &ServeArgs,
    thresholds: Thresholds,
    suppressions: &Suppressions,
) -> anyhow::Result<sre_cli::ExitStatus> {
    let command = match a.command.as_str() {
        "healthcheck" => Command::Healthcheck,
        "diagnostics" => Command::Diagnostics,
        "audit" => Command::Audit,
        _ => Command::Check,
    };
    crate::validate(command, &a.checks, thresholds)?;
    if a.interval < Duration::from_secs(1) {
        anyhow::bail!(
            "--interval {} is too short: use at least 1s (60s is usual)",
            humantime::format_duration(a.interval)
        );
    }
    let runtime = crate::runtime()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {}: choose another --listen address or port",
                    a.listen
                )
            })?;
        let local = listener.local_addr()?;
        tracing::info!(address = %local, "Serving /metrics, /healthz, /readyz, /report.json, /report.html");
        eprintln!("k8s-doctor serve: listening on http://{local}");
        let state = Arc::new(RwLock::new(State::default()));
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let server = tokio::spawn(serve_http(
            listener,
            Arc::clone(&state),
            a.max_namespaces,
            stop_rx.clone(),
        ));
        let signals = tokio::spawn(async move {
            sre_cli::signal::terminated().await;
            let _ = stop_tx.send(true);
        });
        let mut stop = stop_rx;
        let mut ticker = tokio::time::interval(a.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = ticker.tick() => {
                    tokio::select! {
                        _ = stop.changed() => break,
                        () = run_once(a, command, thresholds, suppressions, &state) => {}
                    }
                }
            }
        }
        tracing::info!("Stopping: finishing requests in flight");
        signals.abort();
        match server.await {
            Ok(r) => r?,
            Err(e) => anyhow::bail!("the HTTP server failed: {e}"),
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(sre_cli::ExitStatus::Clean)
}

async fn run_once(
    a: &ServeArgs,
    command: Command,
    thresholds: Thresholds,
    suppressions: &Suppressions,
    state: &RwLock<State>,
) {
    let started = std::time::Instant::now();
    let outcome = match crate::read_clusters(&a.live, command, false).await {
        Ok(reads) => tokio::task::block_in_place(|| {
            let settings = Settings {
                command,
                only: &a.checks,
                thresholds,
                suppressions,
                namespace: a.live.namespace.as_deref(),
                now: sre_cli::clock::now(),
            };
            let report = crate::reports_from(reads, &settings)?;
            let opts = sre_render::RenderOptions { color: false };
            let json = sre_render::render(&report, sre_render::Format::Json, &opts)?;
            let html = sre_render::render(&report, sre_render::Format::Html, &opts)?;
            Ok::<_, anyhow::Error>((report, json, html))
        }),
        Err(e) => Err(e),
    };
    let elapsed = started.elapsed().as_secs_f64();
    let mut s = state
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    s.last_duration = elapsed;
    match outcome {
        Ok((report, json, html)) => {
            let count = |key: &str| report.target.get(key).and_then(|v| v.as_u64()).unwrap_or(0);
            s.api_requests += count("apiRequests");
            s.api_retries += count("apiRetries");
            s.runs_ok += 1;
            s.last_success = Some(SystemTime::now());
            s.last_error = None;
            s.report = Some(Arc::new(report));
            s.json = json;
            s.html = html;
            tracing::info!(seconds = elapsed, "Run finished");
        }
        Err(e) => {
            s.runs_failed += 1;
            tracing::warn!(error = %format!("{e:#}"), "Run failed; serving the previous report");
            s.last_error = Some(format!("{e:#}"));
        }
    }
}

async fn serve_http(
    listener: tokio::net::TcpListener,
    state: Arc<RwLock<State>>,
    max_namespaces: usize,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "Accept failed");
                        continue;
                    }
                };
                let state = Arc::clone(&state);
                let service = hyper::service::service_fn(move |req| {
                    let state = Arc::clone(&state);
                    async move { Ok::<_, std::convert::Infallible>(handle(&req, &state, max_namespaces)) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                let watched = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = watched.await;
                });
            }
        }
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(5), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("Connections still open after 5 s; closing them");
    }
    Ok(())
}

fn handle(
    req: &Request<hyper::body::Incoming>,
    state: &RwLock<State>,
    max_ns: usize,
) -> Response<Full<Bytes>> {
    let s = state
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let reply = |code: StatusCode, ctype: &str, body: String| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = code;
        if let Ok(v) = hyper::header::HeaderValue::from_str(ctype) {
            r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
        }
        r
    };
    let text = "text/plain; charset=utf-8";
    if req.method() != hyper::Method::GET && req.method() != hyper::Method::HEAD {
        return reply(StatusCode::METHOD_NOT_ALLOWED, text, "only GET\n".into());
    }
    let not_ready = || {
        let why = s
            .last_error
            .as_deref()
            .unwrap_or("the first run has not finished");
        reply(
            StatusCode::SERVICE_UNAVAILABLE,
            text,
            format!("no report yet: {why}\n"),
        )
    };
    match req.uri().path() {
        "/metrics" => reply(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics(&s, max_ns),
        ),
        "/healthz" | "/livez" => reply(StatusCode::OK, text, "ok\n".into()),
        // Ready once the first run has finished, whatever its outcome: an exporter whose
        // runs fail must still be scraped, or `k8s_doctor_runs_total{result="failure"}`
        // and the staleness alert would never be seen.
        "/readyz" if s.runs_ok + s.runs_failed > 0 => reply(StatusCode::OK, text, "ok\n".into()),
        "/readyz" => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            text,
            "the first run has not finished\n".into(),
        ),
        "/report.json" if s.report.is_some() => reply(StatusCode::OK, "application/json", s.json.clone()),
        "/report.html" if s.report.is_some() => reply(StatusCode::OK, "text/html; charset=utf-8", s.html.clone()),
        "/report.json" | "/report.html" => not_ready(),
        "/" => reply(
            StatusCode::OK,
            "text/html; charset=utf-8",
            "<!doctype html><title>k8s-doctor</title><h1>k8s-doctor exporter</h1><ul><li><a href=\"/metrics\">/metrics</a><li><a href=\"/report.html\">/report.html</a><li><a href=\"/report.json\">/report.json</a><li><a href=\"/healthz\">/healthz</a><li><a href=\"/readyz\">/readyz</a></ul>\n".into(),
        ),
        other => reply(StatusCode::NOT_FOUND, text, format!("{other} not found: try /metrics, /report.html, /report.json, /healthz or /readyz\n")),
    }
}

/// The exposition text. Label values are escaped per the text format.
fn metrics(s: &State, max_ns: usize) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        name.to_string()
    };
    let _ = family(
        "k8s_doctor_findings",
        "gauge",
        "Findings of the latest successful run, by cluster, severity, check code and namespace.",
    );
    let mut body = String::new();
    if let Some(r) = &s.report {
        let single = r
            .target
            .get("context")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        // The namespaces with the most findings keep their label; the rest are summed.
        let mut per_ns: BTreeMap<&str, u64> = BTreeMap::new();
        for f in &r.findings {
            *per_ns
                .entry(f.resource.namespace.as_deref().unwrap_or(""))
                .or_default() += 1;
        }
        let mut ranked: Vec<(&str, u64)> = per_ns.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let kept: std::collections::HashSet<&str> =
            ranked.iter().take(max_ns).map(|(n, _)| *n).collect();
        let mut series: BTreeMap<(String, &str, &str, &str), u64> = BTreeMap::new();
        for f in &r.findings {
            let cluster = f
                .resource
                .cluster
                .clone()
                .unwrap_or_else(|| single.to_string());
            let ns = f.resource.namespace.as_deref().unwrap_or("");
            let ns = if kept.contains(ns) { ns } else { "_other" };
            *series
                .entry((cluster, f.severity.as_str(), f.code.as_str(), ns))
                .or_default() += 1;
        }
        for ((cluster, sev, code, ns), n) in series {
            let _ = writeln!(
                body,
                "k8s_doctor_findings{{cluster=\"{}\",severity=\"{sev}\",code=\"{code}\",namespace=\"{}\"}} {n}",
                sre_render::prometheus_label_value(&cluster),
                sre_render::prometheus_label_value(ns)
            );
        }
    }
    out.push_str(&body);
    let mut gauge = |name: &str, kind: &str, help: &str, value: String| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    gauge(
        "k8s_doctor_run_duration_seconds",
        "gauge",
        "Duration of the latest run (reading the cluster and checking it).",
        format!("{:.3}", s.last_duration),
    );
    gauge(
        "k8s_doctor_last_success_timestamp_seconds",
        "gauge",
        "Unix time of the latest successful run (0 before the first).",
        s.last_success
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or("0".into(), |d| d.as_secs().to_string()),
    );
    gauge(
        "k8s_doctor_api_requests_total",
        "counter",
        "Kubernetes API requests made by successful runs.",
        s.api_requests.to_string(),
    );
    gauge(
        "k8s_doctor_api_retries_total",
        "counter",
        "Kubernetes API requests retried (429, 5xx, transport errors).",
        s.api_retries.to_string(),
    );
    let errors = s.report.as_ref().map_or(0, |r| r.errors.len());
    gauge(
        "k8s_doctor_api_errors",
        "gauge",
        "Parts of the cluster the latest run could not read (forbidden, failing, unreachable).",
        errors.to_string(),
    );
    gauge(
        "k8s_doctor_report_partial",
        "gauge",
        "1 when the latest report is partial.",
        u8::from(s.report.as_ref().is_some_and(|r| r.partial)).to_string(),
    );
    let _ = writeln!(
        out,
        "# HELP k8s_doctor_runs_total Runs by result.\n# TYPE k8s_doctor_runs_total counter\nk8s_doctor_runs_total{{result=\"success\"}} {}\nk8s_doctor_runs_total{{result=\"failure\"}} {}",
        s.runs_ok, s.runs_failed
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_beyond_the_cap_are_summed_as_other() {
        let mut r = Report::new("k8s-doctor", "check", UNIX_EPOCH);
        let meta = sre_core::CheckMeta {
            code: "KD201",
            name: "x",
            title: "x",
            severity: sre_core::Severity::Critical,
            aliases: &[],
        };
        for (ns, n) in [("a", 3), ("b", 2), ("c", 1)] {
            for i in 0..n {
                r.push(sre_core::Finding::new(
                    &meta,
                    sre_core::Resource::object("Pod", Some(ns), &format!("p{i}")),
                    "m",
                ));
            }
        }
        r.finish();
        let s = State {
            report: Some(Arc::new(r)),
            ..State::default()
        };
        let text = metrics(&s, 1);
        assert!(text.contains("namespace=\"a\"} 3"), "{text}");
        assert!(text.contains("namespace=\"_other\"} 3"), "{text}");
        assert!(!text.contains("namespace=\"b\""), "{text}");
        assert_eq!(sre_render::prometheus_label_value("a\"b\\c"), "a\\\"b\\\\c");
    }
}
