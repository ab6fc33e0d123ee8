//! `sre alert-analyzer serve`: exporter mode. Every `--interval` it fetches the last
//! `--lookback` of history, analyzes it, and serves:
//!
//! - `/metrics`: per alertname (the `--max-alerts` noisiest keep their label, the others are
//!   summed as `alertname="_other"`, so the series stay bounded): episodes, firing seconds,
//!   share of all firing time, whether it flapped; findings by severity and code; run
//!   duration, last success time, runs by result;
//! - `/healthz`; `/readyz` (the first run has finished); `/report.json` (the latest report,
//!   with its `analysis`).
//!
//! A blocking design on purpose: the analysis is synchronous and a scrape is a read of the
//! last result, so a small HTTP server (tiny_http) on its own thread is enough. SIGTERM and
//! Ctrl-C stop it: the server stops accepting, requests in flight finish, exit 0.

use crate::cli::{fetch, read_alertmanager, window_for, SourceArgs};
use crate::{analyze, report, Options};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{mpsc, Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `sre alert-analyzer serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to serve on (in a pod: 0.0.0.0:9091)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9091")]
    pub listen: SocketAddr,
    /// Time between two analyses
    #[arg(long, value_name = "DURATION", value_parser = sre_cli::units::duration_arg, default_value = "5m")]
    pub interval: Duration,
    /// How far back each analysis looks
    #[arg(long, value_name = "DURATION", value_parser = sre_cli::units::duration_arg, default_value = "7d")]
    pub lookback: Duration,
    /// Resolution of the history [default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = sre_cli::units::duration_arg)]
    pub step: Option<Duration>,
    /// Alertnames that keep their own label in /metrics (the noisiest); the others are
    /// summed as `alertname="_other"`
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub max_alerts: usize,
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Default)]
struct State {
    metrics: String,
    json: Option<String>,
    runs_ok: u64,
    runs_failed: u64,
    last_success: Option<SystemTime>,
    last_duration: f64,
    last_error: Option<String>,
}

/// Runs the exporter until SIGTERM or Ctrl-C.
pub fn run(a: &ServeArgs) -> anyhow::Result<sre_cli::ExitStatus> {
    if a.source.prometheus.is_empty() {
        anyhow::bail!("serve needs at least one --prometheus-url");
    }
    if a.interval < Duration::from_secs(1) {
        anyhow::bail!("--interval must be at least 1s (5m is usual)");
    }
    let server = Arc::new(tiny_http::Server::http(a.listen).map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {}: {e}: choose another --listen",
            a.listen
        )
    })?);
    let local = server
        .server_addr()
        .to_ip()
        .map_or_else(|| a.listen.to_string(), |s| s.to_string());
    eprintln!("alert-analyzer serve: listening on http://{local}");
    let state = Arc::new(RwLock::new(State::default()));
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    spawn_signal_watcher(stop_tx)?;
    let http = {
        let (server, state) = (Arc::clone(&server), Arc::clone(&state));
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                respond(request, &state);
            }
        })
    };
    loop {
        run_once(a, &state);
        match stop_rx.recv_timeout(a.interval) {
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            _ => break,
        }
    }
    tracing::info!("Stopping");
    server.unblock();
    let _ = http.join();
    Ok(sre_cli::ExitStatus::Clean)
}

/// A thread that waits for SIGTERM or Ctrl-C and says so on `stop`.
fn spawn_signal_watcher(stop: mpsc::Sender<()>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    std::thread::spawn(move || {
        runtime.block_on(sre_cli::signal::terminated());
        let _ = stop.send(());
    });
    Ok(())
}

fn run_once(a: &ServeArgs, state: &RwLock<State>) {
    let started = Instant::now();
    let outcome = (|| {
        let now = sre_cli::clock::now();
        let window = window_for(a.step, Some(a.lookback), None, now)?;
        let mut errors = Vec::new();
        let history = fetch(&a.source, window, &mut errors)?;
        let opts = Options::default();
        let mut analyzed = report(&history, analyze(&history, &opts), &opts, now);
        read_alertmanager(&a.source, &mut analyzed, &mut errors)?;
        for (source, message) in errors {
            analyzed.report.error(source, message);
        }
        analyzed.report.finish();
        let json = serde_json::to_string_pretty(&analyzed)? + "\n";
        Ok::<_, anyhow::Error>((analyzed, json))
    })();
    let mut s = state
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    s.last_duration = started.elapsed().as_secs_f64();
    match outcome {
        Ok((analyzed, json)) => {
            s.runs_ok += 1;
            s.last_success = Some(SystemTime::now());
            s.last_error = None;
            s.json = Some(json);
            s.metrics = alert_metrics(&analyzed, a.max_alerts);
        }
        Err(e) => {
            s.runs_failed += 1;
            tracing::warn!(error = %format!("{e:#}"), "Analysis failed; serving the previous one");
            s.last_error = Some(format!("{e:#}"));
        }
    }
}

fn respond(request: tiny_http::Request, state: &RwLock<State>) {
    let s = state
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let path = request.url().split('?').next().unwrap_or("").to_string();
    let (code, ctype, body) = match path.as_str() {
        "/metrics" => (
            200,
            "text/plain; version=0.0.4; charset=utf-8",
            runtime_metrics(&s),
        ),
        "/healthz" => (200, "text/plain; charset=utf-8", "ok\n".to_string()),
        "/readyz" if s.runs_ok + s.runs_failed > 0 => {
            (200, "text/plain; charset=utf-8", "ok\n".to_string())
        }
        "/readyz" => (
            503,
            "text/plain; charset=utf-8",
            "the first analysis has not finished\n".to_string(),
        ),
        "/report.json" => match &s.json {
            Some(j) => (200, "application/json", j.clone()),
            None => (
                503,
                "text/plain; charset=utf-8",
                format!(
                    "no report yet: {}\n",
                    s.last_error
                        .as_deref()
                        .unwrap_or("the first analysis has not finished")
                ),
            ),
        },
        other => (
            404,
            "text/plain; charset=utf-8",
            format!("{other} not found: try /metrics, /report.json, /healthz or /readyz\n"),
        ),
    };
    drop(s);
    let mut response = tiny_http::Response::from_string(body).with_status_code(code);
    if let Ok(h) = tiny_http::Header::from_bytes(&b"Content-Type"[..], ctype.as_bytes()) {
        response.add_header(h);
    }
    let _ = request.respond(response);
}

/// The analysis' metrics, the noisiest `max` alertnames labelled, the rest as `_other`.
fn alert_metrics(analyzed: &crate::AnalyzedReport, max: usize) -> String {
    let a = &analyzed.analysis;
    let kept: HashSet<&str> = a
        .noise
        .by_alertname
        .iter()
        .take(max)
        .map(|n| n.alertname.as_str())
        .collect();
    let label = |name: &str| {
        if kept.contains(name) {
            name.to_string()
        } else {
            "_other".to_string()
        }
    };
    let mut episodes: BTreeMap<String, f64> = BTreeMap::new();
    let mut firing: BTreeMap<String, f64> = BTreeMap::new();
    let mut share: BTreeMap<String, f64> = BTreeMap::new();
    for n in &a.noise.by_alertname {
        let l = label(&n.alertname);
        *episodes.entry(l.clone()).or_default() += n.episodes as f64;
        *firing.entry(l.clone()).or_default() += n.firing_seconds as f64;
        *share.entry(l).or_default() += n.share;
    }
    let mut flapping: BTreeMap<String, f64> = episodes.keys().map(|k| (k.clone(), 0.0)).collect();
    for f in a.flapping.iter().filter(|f| !f.intervals.is_empty()) {
        flapping.insert(label(&f.alertname), 1.0);
    }
    let mut out = String::new();
    for (name, help, values) in [
        (
            "alert_analyzer_episodes",
            "Firing episodes in the lookback window.",
            &episodes,
        ),
        (
            "alert_analyzer_firing_seconds",
            "Seconds spent firing in the lookback window.",
            &firing,
        ),
        (
            "alert_analyzer_noise_share",
            "Share of all firing time in the window (0-1).",
            &share,
        ),
        (
            "alert_analyzer_flapping",
            "1 when the alert flapped in the window.",
            &flapping,
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (alert, v) in values {
            let _ = writeln!(
                out,
                "{name}{{alertname=\"{}\"}} {v}",
                sre_render::prometheus_label_value(alert)
            );
        }
    }
    let mut findings: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for f in &analyzed.report.findings {
        *findings
            .entry((f.severity.as_str(), f.code.as_str()))
            .or_default() += 1;
    }
    out.push_str("# HELP alert_analyzer_findings Findings of the latest analysis by severity and code.\n# TYPE alert_analyzer_findings gauge\n");
    for ((sev, code), n) in findings {
        let _ = writeln!(
            out,
            "alert_analyzer_findings{{severity=\"{sev}\",code=\"{code}\"}} {n}"
        );
    }
    out
}

fn runtime_metrics(s: &State) -> String {
    let mut out = s.metrics.clone();
    let last = s
        .last_success
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let _ = writeln!(
        out,
        "# HELP alert_analyzer_run_duration_seconds Duration of the latest run.\n# TYPE alert_analyzer_run_duration_seconds gauge\nalert_analyzer_run_duration_seconds {:.3}\n\
# HELP alert_analyzer_last_success_timestamp_seconds Unix time of the latest successful run (0 before the first).\n# TYPE alert_analyzer_last_success_timestamp_seconds gauge\nalert_analyzer_last_success_timestamp_seconds {last}\n\
# HELP alert_analyzer_runs_total Runs by result.\n# TYPE alert_analyzer_runs_total counter\nalert_analyzer_runs_total{{result=\"success\"}} {}\nalert_analyzer_runs_total{{result=\"failure\"}} {}",
        s.last_duration, s.runs_ok, s.runs_failed
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alertnames_beyond_the_cap_are_summed_as_other() {
        let h = crate::examples::history().expect("example");
        let opts = Options::default();
        let r = report(&h, analyze(&h, &opts), &opts, UNIX_EPOCH);
        let all = alert_metrics(&r, usize::MAX);
        let capped = alert_metrics(&r, 2);
        assert!(!all.contains("_other"));
        assert!(
            capped.contains("alert_analyzer_episodes{alertname=\"_other\"}"),
            "{capped}"
        );
        let episodes = |text: &str| -> f64 {
            text.lines()
                .filter(|l| l.starts_with("alert_analyzer_episodes{"))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum()
        };
        assert_eq!(episodes(&all), episodes(&capped));
        assert_eq!(
            capped
                .lines()
                .filter(|l| l.starts_with("alert_analyzer_episodes{"))
                .count(),
            3
        );
        assert!(all.contains("alert_analyzer_flapping{alertname=\"DiskLatencyHigh\"} 1"));
    }
}
