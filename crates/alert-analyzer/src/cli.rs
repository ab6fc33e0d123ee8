//! `sre alert-analyzer`: the command line over the sources and the analysis.

use crate::analysis::{analyze, Options};
use crate::findings::report;
use crate::history::{History, Window};
use crate::prometheus::{Auth, Client, Endpoint, DEFAULT_CHUNK_STEPS};
use anyhow::Context;
use sre_cli::args::{GlobalArgs, ReportArgs};
use sre_cli::config::Config;
use sre_cli::output::Out;
use sre_cli::ExitStatus;
use sre_render::Format;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `sre alert-analyzer`: alert noise, flapping, correlation and timing patterns.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Analyze what fired: noisy, flapping, correlated, schedule-driven and always-firing
    /// alerts, dead rules, and what to change (for:, keep_firing_for, grouping, routing)
    Analyze(Box<AnalyzeArgs>),
    /// Print a Grafana dashboard (JSON, for Dashboards > Import) that shows the same
    /// analysis live from Prometheus queries over ALERTS
    GrafanaDashboard(DashboardArgs),
    /// Exporter: re-analyze the last --lookback every --interval and serve the numbers as
    /// Prometheus metrics (/metrics) and the latest report (/report.json)
    Serve(Box<crate::serve::ServeArgs>),
}

#[derive(Debug, clap::Args)]
pub struct DashboardArgs {
    /// The dashboard's title
    #[arg(long, value_name = "TITLE", default_value = "Alert analysis")]
    pub title: String,
    /// Write the dashboard to this file (atomically) instead of standard output
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
}

/// Where the history (and, optionally, Alertmanager's state) comes from, and how to reach it.
#[derive(Debug, Clone, clap::Args)]
pub struct SourceArgs {
    /// Prometheus-compatible API to read (Prometheus, VictoriaMetrics, Thanos, Mimir);
    /// repeatable, `NAME=URL` names the source in the report
    #[arg(long = "prometheus-url", value_name = "[NAME=]URL")]
    pub prometheus: Vec<String>,
    /// Alertmanager (API v2) to read too: alerts silenced or inhibited now, and silences
    /// (who, why, until when)
    #[arg(long = "alertmanager-url", value_name = "URL")]
    pub alertmanager: Option<String>,
    /// File with a bearer token for Alertmanager (Prometheus' credentials are never sent
    /// to it)
    #[arg(long, value_name = "FILE", requires = "alertmanager")]
    pub alertmanager_bearer_token_file: Option<PathBuf>,
    /// File with a bearer token for the API (the token is never printed)
    #[arg(long, value_name = "FILE", conflicts_with = "basic_auth_user")]
    pub bearer_token_file: Option<PathBuf>,
    /// Basic-auth user; the password is read from the SRE_PROMETHEUS_PASSWORD variable
    #[arg(long, value_name = "USER")]
    pub basic_auth_user: Option<String>,
    /// PEM file of the CA that signed the API's certificate
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Do not verify the API's TLS certificate (never in production)
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
    /// Timeout of each request [default: 30s]
    #[arg(long, value_name = "DURATION", value_parser = sre_cli::units::duration_arg)]
    pub timeout: Option<Duration>,
}

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Analyze a saved history file (written by --save-history) instead of a server
    #[arg(long, value_name = "FILE", conflicts_with = "prometheus")]
    pub history: Option<PathBuf>,
    /// How far back to look, e.g. 7d or 30d [default: 7d]
    #[arg(long, value_name = "DURATION", value_parser = sre_cli::units::duration_arg, conflicts_with_all = ["from", "history"])]
    pub lookback: Option<Duration>,
    /// Start of the window (RFC 3339, e.g. 2026-11-01T00:00:00Z), instead of --lookback
    #[arg(long, value_name = "TIME", value_parser = time_arg, requires = "to", conflicts_with = "history")]
    pub from: Option<SystemTime>,
    /// End of the window (RFC 3339)
    #[arg(long, value_name = "TIME", value_parser = time_arg, requires = "from")]
    pub to: Option<SystemTime>,
    /// Resolution of the history [default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = sre_cli::units::duration_arg, conflicts_with = "history")]
    pub step: Option<Duration>,
    /// Also write what was fetched as a history file, to analyze offline or share
    #[arg(long, value_name = "FILE")]
    pub save_history: Option<PathBuf>,
    /// How many of the noisiest alerts become findings [default: 10]
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    #[command(flatten)]
    pub report: ReportArgs,
    // Last: its help heading applies to the flags after it.
    #[command(flatten)]
    pub notify: crate::notify::NotifyArgs,
}

fn time_arg(s: &str) -> Result<SystemTime, String> {
    let ts: jiff::Timestamp = s.parse().map_err(|e| {
        format!("invalid time `{s}` ({e}): use RFC 3339 with a zone, e.g. 2026-11-01T00:00:00Z or 2026-11-01T01:00:00+01:00")
    })?;
    let secs = u64::try_from(ts.as_second())
        .map_err(|_| format!("`{s}` is before 1970: give a time of the alert history"))?;
    Ok(UNIX_EPOCH + Duration::from_secs(secs))
}

/// Runs `sre alert-analyzer ...`.
pub fn run(
    args: &Args,
    global: &GlobalArgs,
    config: &Config,
    out: &mut Out<'_>,
) -> anyhow::Result<ExitStatus> {
    match &args.command {
        Sub::Analyze(a) => run_analyze(a, global, config, out),
        Sub::Serve(a) => crate::serve::run(a),
        Sub::GrafanaDashboard(d) => {
            let mut text = serde_json::to_string_pretty(&crate::grafana::dashboard(&d.title))?;
            text.push('\n');
            match &d.output_file {
                Some(p) => sre_cli::output::write_atomic(p, text.as_bytes())?,
                None => out.write(text.as_bytes())?,
            }
            Ok(ExitStatus::Clean)
        }
    }
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn run_analyze(
    a: &AnalyzeArgs,
    global: &GlobalArgs,
    config: &Config,
    out: &mut Out<'_>,
) -> anyhow::Result<ExitStatus> {
    let common = config.common(global, &a.report)?;
    // Bad notification flags fail before a long fetch, not after it.
    crate::notify::preflight(&a.notify)?;
    let now = sre_cli::clock::now();
    let mut errors: Vec<(String, String)> = Vec::new();
    let history = match (&a.history, a.source.prometheus.is_empty()) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the history file {}", path.display()))?;
            let h = History::from_json(&text)
                .with_context(|| format!("{}: not a usable alert history", path.display()))?;
            // What was missing when it was fetched is still missing.
            errors.extend(h.missing.iter().cloned());
            h
        }
        (None, true) => anyhow::bail!(
            "nothing to analyze: give --prometheus-url URL (repeatable) or --history FILE"
        ),
        (None, false) => {
            let window = window_for(a.step, a.lookback, a.from.zip(a.to), now)?;
            fetch(&a.source, window, &mut errors)?
        }
    };
    if let Some(path) = &a.save_history {
        let mut history = history.clone();
        history.missing = errors.clone();
        sre_cli::output::write_atomic(path, history.to_json().as_bytes())
            .with_context(|| format!("cannot write the history to {}", path.display()))?;
    }
    let mut opts = Options::default();
    if let Some(n) = a.top {
        opts.top_n = n;
    }
    let started = std::time::Instant::now();
    let analysis = analyze(&history, &opts);
    let mut analyzed = report(&history, analysis, &opts, now);
    tracing::info!(
        series = history.series.len(),
        episodes = analyzed.analysis.window.episodes,
        seconds = started.elapsed().as_secs_f64(),
        "analyzed"
    );
    let am_state = read_alertmanager(&a.source, &mut analyzed, &mut errors)?;
    for (source, message) in errors {
        analyzed.report.error(source, message);
    }
    analyzed.report.finish();
    let status = write_report(&analyzed, am_state.as_ref(), &history, &common, out)?;
    // The report is out first: a notification that fails is exit 2 afterwards.
    crate::notify::send(
        &a.notify,
        &analyzed,
        &history,
        a.source.timeout.unwrap_or(Duration::from_secs(30)),
    )
    .map_err(|errors| {
        let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("{}", all.join("\n"))
    })?;
    Ok(status)
}

/// Writes the report in the chosen format; the exit status from `--fail-on`.
fn write_report(
    analyzed: &crate::AnalyzedReport,
    am_state: Option<&crate::alertmanager::State>,
    history: &History,
    common: &sre_cli::config::Common,
    out: &mut Out<'_>,
) -> anyhow::Result<ExitStatus> {
    if common.output.value == Format::Json {
        // The JSON report carries the full numbers in `analysis` beside the findings.
        #[derive(serde::Serialize)]
        struct WithAlertmanager<'a> {
            #[serde(flatten)]
            analyzed: &'a crate::AnalyzedReport,
            #[serde(skip_serializing_if = "Option::is_none")]
            alertmanager: Option<&'a crate::alertmanager::State>,
        }
        let mut text = serde_json::to_string_pretty(&WithAlertmanager {
            analyzed,
            alertmanager: am_state,
        })?;
        text.push('\n');
        match &common.output_file {
            Some(p) => sre_cli::output::write_atomic(p, text.as_bytes())?,
            None => out.write(text.as_bytes())?,
        }
        return Ok(if analyzed.report.fails(common.fail_on.value.threshold()) {
            ExitStatus::Findings
        } else {
            ExitStatus::Clean
        });
    }
    if common.output.value == Format::Html {
        // The shared page plus the analysis charts.
        let text = crate::html::render(analyzed, history)?;
        match &common.output_file {
            Some(p) => sre_cli::output::write_atomic(p, text.as_bytes())?,
            None => out.write(text.as_bytes())?,
        }
        return Ok(if analyzed.report.fails(common.fail_on.value.threshold()) {
            ExitStatus::Findings
        } else {
            ExitStatus::Clean
        });
    }
    sre_cli::output::emit(&analyzed.report, common, out)
}

/// The credentials of `--bearer-token-file` or `--basic-auth-user`.
fn auth(a: &SourceArgs) -> anyhow::Result<Auth> {
    Ok(match (&a.bearer_token_file, &a.basic_auth_user) {
        (Some(f), _) => Auth::Bearer(
            std::fs::read_to_string(f)
                .with_context(|| format!("cannot read the token file {}", f.display()))?
                .trim()
                .to_string(),
        ),
        (None, Some(user)) => Auth::Basic {
            user: user.clone(),
            password: std::env::var("SRE_PROMETHEUS_PASSWORD").map_err(|_| {
                anyhow::anyhow!("--basic-auth-user needs the password in SRE_PROMETHEUS_PASSWORD")
            })?,
        },
        (None, None) => Auth::None,
    })
}

/// Alertmanager's state (`--alertmanager-url`), its findings added to `analyzed`; a failure
/// to read it is an error of the report, not of the run.
pub(crate) fn read_alertmanager(
    src: &SourceArgs,
    analyzed: &mut crate::AnalyzedReport,
    errors: &mut Vec<(String, String)>,
) -> anyhow::Result<Option<crate::alertmanager::State>> {
    let Some(url) = &src.alertmanager else {
        return Ok(None);
    };
    analyzed.report.add_checks(&[
        crate::alertmanager::AA108,
        crate::alertmanager::AA109,
        crate::alertmanager::AA110,
    ]);
    let ep = Endpoint {
        url: url.clone(),
        name: None,
        auth: match &src.alertmanager_bearer_token_file {
            Some(f) => Auth::Bearer(
                std::fs::read_to_string(f)
                    .with_context(|| format!("cannot read the token file {}", f.display()))?
                    .trim()
                    .to_string(),
            ),
            None => Auth::None,
        },
        ca_file: src.ca_file.clone(),
        insecure_skip_verify: src.insecure_skip_tls_verify,
        timeout: src.timeout.unwrap_or(Duration::from_secs(30)),
    };
    match crate::alertmanager::read(&ep) {
        Ok(state) => {
            if let Some(e) = &state.groups_error {
                errors.push((
                    "alertmanager (groups)".to_string(),
                    format!("{e}; the grouping check (AA110) had no groups"),
                ));
            }
            for f in crate::alertmanager::findings(&state) {
                analyzed.report.push(f);
            }
            Ok(Some(state))
        }
        // The history is still analyzed; the report says Alertmanager is missing.
        Err(e) => {
            errors.push(("alertmanager".to_string(), e.to_string()));
            Ok(None)
        }
    }
}

/// The query window: `--from`/`--to`, else `--lookback` (default 7d) up to `now`, aligned to
/// `--step` (whole seconds, default 60s) as Prometheus evaluates at multiples of it.
pub(crate) fn window_for(
    step: Option<Duration>,
    lookback: Option<Duration>,
    from_to: Option<(SystemTime, SystemTime)>,
    now: SystemTime,
) -> anyhow::Result<Window> {
    let step_arg = step.unwrap_or(Duration::from_secs(60));
    if step_arg.subsec_nanos() != 0 || step_arg.as_secs() == 0 {
        anyhow::bail!(
            "--step {} is not a whole number of seconds: use 15s, 30s, 1m or more",
            humantime::format_duration(step_arg)
        );
    }
    let step =
        i64::try_from(step_arg.as_secs()).map_err(|_| anyhow::anyhow!("--step is too large"))?;
    let (from, end) = match from_to {
        Some((f, t)) => (unix(f), unix(t)),
        None => {
            let lookback = lookback.unwrap_or(Duration::from_secs(7 * 86_400));
            let end = unix(now);
            let back = i64::try_from(lookback.as_secs())
                .ok()
                .filter(|b| *b > 0 && *b < end)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--lookback {} is not a usable window: use e.g. 7d or 30d",
                        humantime::format_duration(lookback)
                    )
                })?;
            (end - back, end)
        }
    };
    if end <= from {
        anyhow::bail!("the window is empty: --to must be after --from");
    }
    let from = from - from.rem_euclid(step);
    let window = Window {
        from,
        to: end - end.rem_euclid(step) + step,
        step,
    };
    History::new(window.from, window.to, window.step)
        .validate()
        .map_err(|e| {
            anyhow::anyhow!("{e}: choose a larger --step or a shorter --lookback / --from..--to")
        })?;
    Ok(window)
}

/// Reads every `--prometheus-url`; one failing source of several makes the report partial,
/// all failing is an error.
pub(crate) fn fetch(
    a: &SourceArgs,
    window: Window,
    errors: &mut Vec<(String, String)>,
) -> anyhow::Result<History> {
    let auth = auth(a)?;
    let mut history = History::new(window.from, window.to, window.step);
    let mut read = 0;
    for spec in &a.prometheus {
        let (name, url) = match spec.split_once('=') {
            Some((n, u)) if !n.contains('/') && !n.contains(':') => (Some(n.to_string()), u),
            _ => (None, spec.as_str()),
        };
        let ep = Endpoint {
            url: url.to_string(),
            // Unnamed sources are told apart by URL, shown without credentials.
            name: name
                .clone()
                .or_else(|| (a.prometheus.len() > 1).then(|| crate::prometheus::shown_url(url))),
            auth: auth.clone(),
            ca_file: a.ca_file.clone(),
            insecure_skip_verify: a.insecure_skip_tls_verify,
            timeout: a.timeout.unwrap_or(Duration::from_secs(30)),
        };
        let client = Client::new(&ep)?;
        let shown = client.url().to_string();
        let started = std::time::Instant::now();
        match client.alert_series(window, DEFAULT_CHUNK_STEPS) {
            Ok(series) => {
                read += 1;
                let samples: usize = series
                    .iter()
                    .map(|s| s.firing.len() + s.pending.len())
                    .sum();
                tracing::info!(
                    source = %shown,
                    series = series.len(),
                    samples,
                    requests = client.requests.get(),
                    bytes = client.received_bytes.get(),
                    waited_seconds = client.waited.get().as_secs_f64(),
                    total_seconds = started.elapsed().as_secs_f64(),
                    "read the alert history"
                );
                history.series.extend(series);
            }
            Err(e) if a.prometheus.len() > 1 => {
                errors.push((shown, e.to_string()));
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        // VictoriaMetrics (without vmalert) and some proxies serve no rules: the history
        // is still analyzed, and the report says which checks lacked the rules.
        match client.rules() {
            Ok(rules) => {
                for r in rules {
                    let known = history
                        .rules
                        .iter()
                        .any(|x| x.name == r.name && x.group == r.group);
                    if !known {
                        history.rules.push(r);
                    }
                }
            }
            Err(e) => errors.push((
                format!("{shown} (rules)"),
                format!("{e}; the dead-rule and pending-rule checks (AA106, AA107) had no rules from this source"),
            )),
        }
    }
    if read == 0 {
        let why: Vec<String> = errors.iter().map(|(s, m)| format!("{s}: {m}")).collect();
        anyhow::bail!("no source could be read:\n  {}", why.join("\n  "));
    }
    Ok(history)
}
