//! `sre chaos-load experiment FILE.yaml`: load and a fault timeline together.
//!
//! The file names a service, the load to send (open model: the timeline is in time), and
//! phases, each with a duration and the faults in force during it (none for a steady state
//! or a recovery). The experiment starts a fault proxy ([`crate::proxy::Running`]) in front
//! of the upstream, sends the load (through the proxy, or to another URL when the service
//! under test calls the upstream through the proxy itself), switches the faults at each
//! phase's start, and watches the error rate: over the abort bound, the faults are removed
//! at once and stay off (the blast radius is bounded). The report compares the phases
//! (requests/s, error rate, p50 and p99) and says when the service recovered.
//!
//! ```yaml
//! name: payments 503s
//! proxy: {upstream: http://127.0.0.1:8080}   # listen: 127.0.0.1:0 by default
//! load: {rate: 200, concurrency: 32, path: /api/pay}
//! seed: 42
//! phases:
//!   - {name: steady, duration: 60s}
//!   - name: faults
//!     duration: 60s
//!     faults:
//!       - {type: error, rate: 0.1, status: 503}
//!       - {type: latency, latency: 200ms}
//!   - {name: recovery, duration: 60s}
//! abort: {errorRate: 50%, window: 5s}
//! ```

use crate::fault::{FaultSpec, Faults};
use crate::stats::Second;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use sre_core::{CheckMeta, Finding, Resource, Severity};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// CL301: the error rate crossed the abort bound; the faults were stopped.
pub const CL301: CheckMeta = CheckMeta {
    code: "CL301",
    name: "experiment-aborted",
    title: "The experiment was aborted",
    severity: Severity::Critical,
    aliases: &[],
};

/// CL302: after the faults, the service did not return to its steady state.
pub const CL302: CheckMeta = CheckMeta {
    code: "CL302",
    name: "no-recovery",
    title: "The service did not recover",
    severity: Severity::Critical,
    aliases: &[],
};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: Option<String>,
    proxy: ProxyPart,
    load: LoadPart,
    seed: Option<u64>,
    phases: Vec<PhasePart>,
    abort: Option<AbortPart>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProxyPart {
    upstream: String,
    listen: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LoadPart {
    url: Option<String>,
    path: Option<String>,
    rate: serde_yaml_ng::Value,
    concurrency: Option<usize>,
    threads: Option<usize>,
    timeout: Option<String>,
    method: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhasePart {
    name: String,
    duration: String,
    #[serde(default)]
    faults: Vec<FaultSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AbortPart {
    error_rate: String,
    window: Option<String>,
}

/// A checked experiment.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub name: String,
    pub upstream: String,
    pub listen: String,
    /// The load's URL; `None`: the proxy's address and `path`.
    pub url: Option<String>,
    pub path: String,
    pub rate: String,
    pub concurrency: usize,
    pub threads: usize,
    pub timeout: Option<String>,
    pub method: String,
    pub headers: Vec<String>,
    pub seed: Option<u64>,
    pub phases: Vec<Phase>,
    /// Abort when the error rate over `window` is above this fraction.
    pub abort: Option<(f64, Duration)>,
}

#[derive(Debug, Clone)]
pub struct Phase {
    pub name: String,
    pub duration: Duration,
    pub faults: Vec<FaultSpec>,
}

impl Experiment {
    /// Reads and checks a file; errors name the file, and line and column when YAML says.
    pub fn read(path: &Path) -> anyhow::Result<Experiment> {
        let shown = path.display();
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {shown}"))?;
        Experiment::parse(&text).map_err(|e| anyhow::anyhow!("{shown}: {e}"))
    }

    /// Checks the text of an experiment file.
    pub fn parse(text: &str) -> Result<Experiment, String> {
        let f: File = serde_yaml_ng::from_str(text).map_err(|e| match e.location() {
            Some(l) => format!("{}:{}: {e}", l.line(), l.column()),
            None => e.to_string(),
        })?;
        if f.phases.is_empty() {
            return Err(
                "`phases` is empty: give at least one, e.g. {name: steady, duration: 30s}".into(),
            );
        }
        let mut phases = Vec::new();
        let far = Instant::now() + Duration::from_secs(86_400);
        let mut total = Duration::ZERO;
        for (i, p) in f.phases.iter().enumerate() {
            let duration = sre_cli::units::parse_duration(&p.duration)
                .map_err(|e| format!("phases[{i}] ({}): {e}", p.name))?;
            // The report works per second: phases are whole seconds, at most a day.
            if duration.is_zero()
                || duration.subsec_nanos() != 0
                || duration > Duration::from_secs(86_400)
            {
                return Err(format!(
                    "phases[{i}] ({}): the duration must be whole seconds, from 1s to 1d (the report works per second)",
                    p.name
                ));
            }
            total += duration;
            // Names are unique in a phase: a second fault of a type is `TYPE-2`, and so on.
            let mut faults = p.faults.clone();
            let mut seen: Vec<String> = Vec::new();
            for (j, fs) in faults.iter_mut().enumerate() {
                let base = fs.name.clone().unwrap_or_else(|| fs.kind.clone());
                let mut name = base.clone();
                let mut n = 1;
                while seen.contains(&name) {
                    if fs.name.is_some() {
                        return Err(format!(
                            "phases[{i}] ({}): faults[{j}]: the name `{base}` is used twice in the phase",
                            p.name
                        ));
                    }
                    n += 1;
                    name = format!("{base}-{n}");
                }
                seen.push(name.clone());
                fs.name = Some(name);
                fs.build(Instant::now(), far, false)
                    .map_err(|e| format!("phases[{i}] ({}): faults[{j}]: {e}", p.name))?;
            }
            phases.push(Phase {
                name: p.name.clone(),
                duration,
                faults,
            });
        }
        if total > Duration::from_secs(86_400) {
            return Err("the phases last more than a day: check the durations".into());
        }
        let abort = match &f.abort {
            Some(a) => {
                let rate = crate::cli::percent(&a.error_rate)
                    .map_err(|e| format!("abort.errorRate: {e}"))?;
                if rate <= 0.0 || rate > 1.0 {
                    return Err(format!(
                        "abort.errorRate {} must be above 0% and at most 100%",
                        a.error_rate
                    ));
                }
                let window = match &a.window {
                    Some(w) => sre_cli::units::parse_duration(w)
                        .map_err(|e| format!("abort.window: {e}"))?,
                    None => Duration::from_secs(5),
                };
                if window > Duration::from_secs(3600) {
                    return Err("abort.window must be at most 1h".into());
                }
                Some((rate, window.max(Duration::from_millis(500))))
            }
            None => None,
        };
        let rate = match &f.load.rate {
            serde_yaml_ng::Value::Number(n) => n.to_string(),
            serde_yaml_ng::Value::String(s) => s.clone(),
            _ => return Err("load.rate must be requests per second, e.g. 200 or 200/s".into()),
        };
        crate::schedule::parse_rate(&rate).map_err(|e| format!("load.rate: {e}"))?;
        Ok(Experiment {
            name: f.name.unwrap_or_else(|| "experiment".into()),
            upstream: f.proxy.upstream,
            listen: f.proxy.listen.unwrap_or_else(|| "127.0.0.1:0".into()),
            url: f.load.url,
            path: f.load.path.unwrap_or_else(|| "/".into()),
            rate,
            concurrency: f.load.concurrency.unwrap_or(64),
            threads: f.load.threads.unwrap_or(1),
            timeout: f.load.timeout,
            method: f.load.method.unwrap_or_else(|| "GET".into()),
            headers: f
                .load
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect(),
            seed: f.seed,
            phases,
            abort,
        })
    }

    pub fn duration(&self) -> Duration {
        self.phases.iter().map(|p| p.duration).sum()
    }

    /// When each phase starts, from the start of the run.
    fn offsets(&self) -> Vec<Duration> {
        let mut at = Duration::ZERO;
        self.phases
            .iter()
            .map(|p| {
                let start = at;
                at += p.duration;
                start
            })
            .collect()
    }

    /// The timeline, for `--dry-run`.
    pub fn plan_text(&self) -> String {
        let mut t = format!(
            "dry run: experiment `{}`, {} through a proxy on {} in front of {}, {} at {} requests/s\n",
            self.name,
            humantime::format_duration(self.duration()),
            self.listen,
            self.upstream,
            self.url.clone().unwrap_or_else(|| format!("the proxy's {}", self.path)),
            self.rate
        );
        for (p, at) in self.phases.iter().zip(self.offsets()) {
            t.push_str(&format!(
                "  at {:>6}: {} for {}: {}\n",
                humantime::format_duration(at).to_string(),
                p.name,
                humantime::format_duration(p.duration),
                fault_list(&p.faults)
            ));
        }
        if let Some((rate, window)) = self.abort {
            t.push_str(&format!(
                "  abort: faults off when the error rate over {} exceeds {:.1}%\n",
                humantime::format_duration(window),
                rate * 100.0
            ));
        }
        t
    }
}

fn fault_list(faults: &[FaultSpec]) -> String {
    if faults.is_empty() {
        return "no faults".into();
    }
    faults
        .iter()
        .map(|f| {
            let mut s = f.kind.clone();
            if let Some(r) = f.rate {
                s.push_str(&format!(" {:.0}%", r * 100.0));
            }
            for v in [&f.latency, &f.bandwidth].into_iter().flatten() {
                s.push(' ');
                s.push_str(v);
            }
            if let Some(st) = f.status {
                s.push_str(&format!(" {st}"));
            }
            if let Some(p) = &f.path {
                s.push_str(&format!(" on {p}"));
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One phase's numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseResult {
    pub name: String,
    pub start_seconds: f64,
    pub duration_seconds: f64,
    pub requests: u64,
    pub failures: u64,
    pub rps: f64,
    pub failure_rate: f64,
    /// From the per-second histograms (within 20%).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
    pub faults: Vec<FaultSpec>,
}

/// The experiment's outcome, beside the load run's.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentResult {
    pub name: String,
    pub proxy: String,
    pub upstream: String,
    pub seed: u64,
    pub phases: Vec<PhaseResult>,
    /// When the abort bound was crossed: seconds from the start, the phase, the rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aborted: Option<Aborted>,
    /// Seconds from the end of the faults to the first second from which every second
    /// was back within the steady state's bounds; `None` when it never was (or nothing
    /// came after the faults).
    pub recovered_after_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Aborted {
    pub at_seconds: f64,
    pub phase: String,
    pub error_rate: f64,
}

/// What the controller saw.
#[derive(Debug, Default)]
struct Control {
    aborted: Option<Aborted>,
}

/// Runs the experiment: the proxy, the load and the timeline; returns the load run's
/// report and numbers with the experiment's findings, and the experiment's results.
pub fn run(
    e: &Experiment,
    stop: crate::engine::StopSignal,
) -> anyhow::Result<(crate::cli::Measured, ExperimentResult)> {
    let seed = e.seed.unwrap_or_else(|| fastrand::u64(..));
    let total = e.duration();
    // The proxy outlives the load by a little: requests in flight at the end are answered.
    let faults = Arc::new(Faults::new(
        seed,
        Instant::now() + total + Duration::from_secs(60),
        false,
    ));
    let proxy = crate::proxy::Running::http(&e.listen, &e.upstream, Arc::clone(&faults))?;
    let proxy_url = format!("http://{}", proxy.local);
    let url = e
        .url
        .clone()
        .unwrap_or_else(|| format!("{proxy_url}{}", e.path));
    let mut args: Vec<String> = vec![
        "run".into(),
        "--url".into(),
        url,
        "--rate".into(),
        e.rate.clone(),
        "-d".into(),
        format!("{}ms", total.as_millis()),
        "-c".into(),
        e.concurrency.to_string(),
        "--threads".into(),
        e.threads.to_string(),
        "-m".into(),
        e.method.clone(),
        "-q".into(),
    ];
    if let Some(t) = &e.timeout {
        args.extend(["--timeout".into(), t.clone()]);
    }
    for h in &e.headers {
        args.extend(["-H".into(), h.clone()]);
    }
    #[derive(clap::Parser)]
    struct Wrap {
        #[command(flatten)]
        run: crate::cli::RunArgs,
    }
    let wrap = <Wrap as clap::Parser>::try_parse_from(&args)
        .map_err(|err| anyhow::anyhow!("the experiment's load: {err}"))?;
    let (mut plan, requested) = crate::cli::plan(&wrap.run)?;
    let metrics = Arc::new(crate::metrics::Metrics::new(&plan.url, plan.concurrency));
    plan.metrics = Some(Arc::clone(&metrics));
    let shape = crate::cli::shape_of(&plan, requested);

    // The timeline and the abort watch, beside the load.
    let control = Arc::new(Mutex::new(Control::default()));
    let done = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let controller = {
        let (e, faults, metrics, control, done) = (
            e.clone(),
            Arc::clone(&faults),
            Arc::clone(&metrics),
            Arc::clone(&control),
            Arc::clone(&done),
        );
        std::thread::Builder::new()
            .name("experiment".into())
            .spawn(move || timeline(&e, start, &faults, &metrics, &control, &done))?
    };
    let outcome = crate::engine::run(plan, stop).context("the experiment's load failed");
    done.store(true, Ordering::SeqCst);
    let _ = controller.join();
    faults.reset();
    proxy.stop();
    let outcome = outcome?;
    let mut measured = crate::cli::assemble(&wrap.run, &shape, &outcome, sre_cli::clock::now());
    let aborted = control.lock().ok().and_then(|c| c.aborted.clone());
    let result = results(e, &outcome.recorder.seconds, aborted, seed, &proxy_url);
    // The experiment's findings join the run's report.
    let report = &mut measured.report;
    report.command = "experiment".into();
    report
        .target
        .insert("experiment".into(), e.name.clone().into());
    report
        .target
        .insert("proxy".into(), proxy_url.clone().into());
    report
        .target
        .insert("upstream".into(), crate::shown_url(&e.upstream).into());
    report.add_checks(&[CL301, CL302]);
    let resource = Resource::object("Experiment", None, &e.name);
    if let Some(a) = &result.aborted {
        report.push(
            Finding::new(
                &CL301,
                resource.clone(),
                format!(
                    "the error rate reached {:.1}% in phase `{}` at {:.1} s, over the abort bound: the faults were removed",
                    a.error_rate * 100.0,
                    a.phase,
                    a.at_seconds
                ),
            )
            .evidence("errorRate", a.error_rate),
        );
    }
    if let Some(why) = no_recovery(&result, &outcome.recorder.seconds, e) {
        report.push(Finding::new(&CL302, resource, why));
    }
    report.finish();
    Ok((measured, result))
}

/// The controller: faults on and off at each phase's start, and the abort watch.
fn timeline(
    e: &Experiment,
    start: Instant,
    faults: &Faults,
    metrics: &crate::metrics::Metrics,
    control: &Mutex<Control>,
    done: &AtomicBool,
) {
    let offsets = e.offsets();
    let mut current: Option<usize> = None;
    // (time, requests, failures) samples for the abort window.
    let mut samples: std::collections::VecDeque<(Instant, u64, u64)> = Default::default();
    let mut aborted = false;
    while !done.load(Ordering::SeqCst) {
        let elapsed = start.elapsed();
        let phase = offsets.iter().rposition(|o| *o <= elapsed).unwrap_or(0);
        if current != Some(phase) {
            current = Some(phase);
            faults.reset();
            if !aborted {
                for f in &e.phases[phase].faults {
                    // Checked when the file was read (names unique in the phase).
                    if let Err(why) = faults.add(f) {
                        tracing::warn!(
                            "phase `{}`: a fault was not applied: {why}",
                            e.phases[phase].name
                        );
                    }
                }
            }
        }
        let (requests, failures) = metrics.totals();
        let now = Instant::now();
        samples.push_back((now, requests, failures));
        if let Some((bound, window)) = e.abort {
            while samples.len() > 2 && samples[1].0 + window <= now {
                samples.pop_front();
            }
            let (t0, r0, f0) = samples[0];
            let (dr, df) = (requests - r0, failures - f0);
            // At least half a window and 20 requests: no abort on the first failure.
            if !aborted && now - t0 >= window / 2 && dr >= 20 && df as f64 / dr as f64 > bound {
                aborted = true;
                faults.reset();
                if let Ok(mut c) = control.lock() {
                    c.aborted = Some(Aborted {
                        at_seconds: round3(elapsed.as_secs_f64()),
                        phase: e.phases[phase].name.clone(),
                        error_rate: round3(df as f64 / dr as f64),
                    });
                }
            }
        }
        // Wake at the next phase's start exactly, or in 100 ms to watch the error rate.
        let next = offsets
            .get(phase + 1)
            .map(|o| (start + *o).saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::MAX);
        std::thread::sleep(next.min(Duration::from_millis(100)));
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Requests, failures and the merged latency buckets of seconds `from..to`.
fn window(seconds: &[Second], from: usize, to: usize) -> (u64, u64, Vec<u32>) {
    let mut buckets = vec![0u32; crate::stats::SECOND_BUCKETS];
    let (mut requests, mut failures) = (0, 0);
    for s in seconds.iter().take(to).skip(from) {
        requests += s.requests;
        failures += s.failures;
        for (b, c) in buckets.iter_mut().zip(&s.buckets) {
            *b = b.saturating_add(*c);
        }
    }
    (requests, failures, buckets)
}

fn ms(us: Option<f64>) -> Option<f64> {
    us.map(|u| round3(u / 1000.0))
}

fn results(
    e: &Experiment,
    seconds: &[Second],
    aborted: Option<Aborted>,
    seed: u64,
    proxy: &str,
) -> ExperimentResult {
    let phases: Vec<PhaseResult> = e
        .phases
        .iter()
        .zip(e.offsets())
        .map(|(p, at)| {
            let from = at.as_secs() as usize;
            let to = (at + p.duration).as_secs() as usize;
            let (requests, failures, buckets) = window(seconds, from, to);
            let secs = p.duration.as_secs_f64();
            PhaseResult {
                name: p.name.clone(),
                start_seconds: at.as_secs_f64(),
                duration_seconds: secs,
                requests,
                failures,
                rps: round3(requests as f64 / secs),
                failure_rate: if requests > 0 {
                    round3(failures as f64 / requests as f64)
                } else {
                    0.0
                },
                p50_ms: ms(crate::stats::bucket_quantile(&buckets, 0.5)),
                p99_ms: ms(crate::stats::bucket_quantile(&buckets, 0.99)),
                faults: p.faults.clone(),
            }
        })
        .collect();
    let recovered_after_seconds = recovery(e, seconds, aborted.as_ref());
    ExperimentResult {
        name: e.name.clone(),
        proxy: proxy.to_string(),
        upstream: crate::shown_url(&e.upstream),
        seed,
        phases,
        aborted,
        recovered_after_seconds,
    }
}

/// When the faults ended (seconds from the start), the first second that can be judged
/// (requests sent before the end, delayed by a latency fault, complete after it), and the
/// steady state's bounds: the error rate and p99 of the first phase, if it had no faults.
fn bounds(
    e: &Experiment,
    seconds: &[Second],
    aborted: Option<&Aborted>,
) -> Option<(f64, usize, f64, f64, f64)> {
    if !e.phases.first()?.faults.is_empty() {
        return None;
    }
    let offsets = e.offsets();
    let last_faulty = e.phases.iter().rposition(|p| !p.faults.is_empty())?;
    let mut end = (offsets[last_faulty] + e.phases[last_faulty].duration).as_secs_f64();
    if let Some(a) = aborted {
        end = end.min(a.at_seconds);
    }
    let steady = e.phases[0].duration.as_secs() as usize;
    let (requests, failures, buckets) = window(seconds, 0, steady);
    let rate = if requests > 0 {
        failures as f64 / requests as f64
    } else {
        0.0
    };
    let p99 = crate::stats::bucket_quantile(&buckets, 0.99)?;
    let spill = e
        .phases
        .iter()
        .flat_map(|p| &p.faults)
        .filter_map(|f| {
            let parse = |d: &Option<String>| {
                d.as_deref()
                    .and_then(|d| sre_cli::units::parse_duration(d).ok())
                    .unwrap_or_default()
            };
            (f.kind == "latency").then(|| parse(&f.latency).saturating_add(parse(&f.jitter)))
        })
        .max()
        .unwrap_or_default();
    let judged_from = (end + spill.as_secs_f64()).ceil() as usize;
    let steady_rps = requests as f64 / steady.max(1) as f64;
    Some((end, judged_from, rate, p99, steady_rps))
}

/// Whether a second is within the steady state's bounds: at least half the steady
/// requests/s completed (a hung service completes none: that is not health), an error rate
/// at most twice the steady one (and at least 1 point above it allowed), a p99 at most
/// three times the steady one (and 50 ms above it allowed: one slow request of a machine's
/// hiccup is not an outage).
fn healthy(s: &Second, rate: f64, p99_us: f64, steady_rps: f64) -> bool {
    if (s.requests as f64) < steady_rps / 2.0 {
        return false;
    }
    if s.requests == 0 {
        return true;
    }
    let r = s.failures as f64 / s.requests as f64;
    let p = crate::stats::bucket_quantile(&s.buckets, 0.99).unwrap_or(0.0);
    r <= (2.0 * rate).max(rate + 0.01) && p <= (3.0 * p99_us).max(p99_us + 50_000.0)
}

fn recovery(e: &Experiment, seconds: &[Second], aborted: Option<&Aborted>) -> Option<f64> {
    let (end, from, rate, p99, steady_rps) = bounds(e, seconds, aborted)?;
    let last = (e.duration().as_secs() as usize).min(seconds.len());
    if from >= last {
        return None;
    }
    // The first second from which every later one is healthy.
    let mut first = None;
    for s in (from..last).rev() {
        if healthy(&seconds[s], rate, p99, steady_rps) {
            first = Some(s);
        } else {
            break;
        }
    }
    first.map(|s| round3((s as f64 - end).max(0.0)))
}

/// Why the service did not recover, if it did not (and a recovery could be judged).
fn no_recovery(r: &ExperimentResult, seconds: &[Second], e: &Experiment) -> Option<String> {
    let (end, from, rate, p99, steady_rps) = bounds(e, seconds, r.aborted.as_ref())?;
    let last = (e.duration().as_secs() as usize).min(seconds.len());
    if from >= last || r.recovered_after_seconds.is_some() {
        return None;
    }
    let tail = &seconds[last - 1];
    let tail_rate = if tail.requests > 0 {
        tail.failures as f64 / tail.requests as f64
    } else {
        0.0
    };
    Some(format!(
        "after the faults ended at {end:.1} s, the last second was still outside the steady state: {} requests completed (steady {steady_rps:.0}/s), error rate {:.1}% (steady {:.1}%), p99 {:.1} ms (steady {:.1} ms)",
        tail.requests,
        tail_rate * 100.0,
        rate * 100.0,
        crate::stats::bucket_quantile(&tail.buckets, 0.99).unwrap_or(0.0) / 1000.0,
        p99 / 1000.0
    ))
}

/// The phases as a table (`-o table`) or Markdown.
pub fn text(m: &crate::cli::Measured, r: &ExperimentResult, markdown: bool) -> String {
    let mut out = String::new();
    let header = format!(
        "experiment `{}`: {} phases through the proxy {} in front of {} (seed {})",
        r.name,
        r.phases.len(),
        r.proxy,
        r.upstream,
        r.seed
    );
    if markdown {
        out.push_str(&format!("# Chaos experiment\n\n{header}\n\n| phase | from | seconds | requests | req/s | errors | p50 | p99 | faults |\n|---|---|---|---|---|---|---|---|---|\n"));
    } else {
        out.push_str(&format!(
            "chaos-load {header}\n  {:<12} {:>6} {:>8} {:>9} {:>9} {:>8} {:>10} {:>10}  FAULTS\n",
            "PHASE", "FROM", "SECONDS", "REQUESTS", "REQ/S", "ERRORS", "P50", "P99"
        ));
    }
    let lat = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.1} ms"));
    for p in &r.phases {
        let cells = [
            p.name.clone(),
            format!("{:.0}", p.start_seconds),
            format!("{:.0}", p.duration_seconds),
            p.requests.to_string(),
            format!("{:.1}", p.rps),
            format!("{:.2}%", p.failure_rate * 100.0),
            lat(p.p50_ms),
            lat(p.p99_ms),
            fault_list(&p.faults),
        ];
        if markdown {
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        } else {
            out.push_str(&format!(
                "  {:<12} {:>6} {:>8} {:>9} {:>9} {:>8} {:>10} {:>10}  {}\n",
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                cells[4],
                cells[5],
                cells[6],
                cells[7],
                cells[8]
            ));
        }
    }
    let mut verdict = Vec::new();
    if let Some(a) = &r.aborted {
        verdict.push(format!(
            "aborted at {:.1} s in `{}`: error rate {:.1}%, faults removed",
            a.at_seconds,
            a.phase,
            a.error_rate * 100.0
        ));
    }
    match r.recovered_after_seconds {
        Some(s) => verdict.push(format!("recovered {s:.0} s after the faults ended")),
        None => {
            if m.report.findings.iter().any(|f| f.code == CL302.code) {
                verdict.push("did not recover before the end".into());
            }
        }
    }
    if !verdict.is_empty() {
        out.push_str(&if markdown {
            format!("\n{}\n", verdict.join("; "))
        } else {
            format!("  {}\n", verdict.join("; "))
        });
    }
    for f in &m.report.findings {
        out.push_str(&if markdown {
            format!("\n- **{}** {}: {}\n", f.code, f.severity, f.message)
        } else {
            format!("  {} {}: {}\n", f.severity, f.code, f.message)
        });
    }
    out
}

/// `sre chaos-load experiment`.
#[derive(Debug, clap::Args)]
pub struct ExperimentArgs {
    /// The experiment (YAML): the proxy's upstream, the load, phases with faults, the
    /// abort bound
    #[arg(value_name = "FILE.yaml")]
    pub file: PathBuf,
    /// Print the timeline and exit without sending anything
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub report: sre_cli::args::ReportArgs,
}

/// Runs `sre chaos-load experiment`.
pub fn command(
    a: &ExperimentArgs,
    global: &sre_cli::args::GlobalArgs,
    config: &sre_cli::config::Config,
    out: &mut sre_cli::output::Out<'_>,
) -> anyhow::Result<sre_cli::ExitStatus> {
    let common = config.common(global, &a.report)?;
    let e = Experiment::read(&a.file)?;
    if a.dry_run {
        out.write(e.plan_text().as_bytes())?;
        return Ok(sre_cli::ExitStatus::Clean);
    }
    let stop = crate::engine::StopSignal::new();
    // Ctrl-C or SIGTERM: the load stops at once, the faults go, the report of what ran
    // is written (a second signal ends the process).
    stop.on_signals();
    let (m, r) = run(&e, stop)?;
    let text = match common.output.value {
        sre_render::Format::Json => Some(json(&m, &r)?),
        sre_render::Format::Table => Some(text(&m, &r, false)),
        sre_render::Format::Markdown => Some(text(&m, &r, true)),
        _ => None,
    };
    crate::cli::finish(&m.report, text, &common, out)
}

/// The JSON report: the load run's, with `experiment` beside `summary`.
pub fn json(m: &crate::cli::Measured, r: &ExperimentResult) -> anyhow::Result<String> {
    let mut v: serde_json::Value = serde_json::from_str(&m.json()?)?;
    v["experiment"] = serde_json::to_value(r)?;
    Ok(serde_json::to_string_pretty(&v)? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "proxy: {upstream: 'http://127.0.0.1:1'}\nload: {rate: 100}\nphases:\n  - {name: steady, duration: 2s}\n  - name: faults\n    duration: 2s\n    faults: [{type: error, rate: 0.3}, {type: error, rate: 0.1, path: /pay}]\n  - {name: recovery, duration: 3s}\n";

    /// A second with `requests`, `failures`, and every answer in latency bucket `bucket`
    /// (37: about 1 ms; 66: about 200 ms).
    fn second(requests: u64, failures: u64, bucket: usize) -> Second {
        let mut buckets = vec![0u32; crate::stats::SECOND_BUCKETS];
        buckets[bucket] = requests as u32;
        Second {
            requests,
            failures,
            answers: requests,
            buckets,
            ..Second::default()
        }
    }

    #[test]
    fn recovery_is_the_first_second_from_which_all_are_healthy() {
        let e = Experiment::parse(FILE).expect("parse");
        // Two faults of one type in a phase: the second is named apart.
        let names: Vec<_> = e.phases[1]
            .faults
            .iter()
            .filter_map(|f| f.name.clone())
            .collect();
        assert_eq!(names, ["error", "error-2"]);
        let steady = second(100, 0, 37);
        let faulty = second(100, 30, 66);
        // Still failing in the first second after the faults, fine from the next.
        let seconds = vec![
            steady.clone(),
            steady.clone(),
            faulty.clone(),
            faulty.clone(),
            second(100, 20, 37),
            steady.clone(),
            steady.clone(),
        ];
        let r = results(&e, &seconds, None, 1, "http://proxy");
        assert_eq!(r.recovered_after_seconds, Some(1.0));
        assert_eq!(r.phases[1].failure_rate, 0.3);
        assert_eq!(r.phases[2].requests, 300);
        assert!(no_recovery(&r, &seconds, &e).is_none());
        // A service that hangs after the faults completes nothing: not recovered.
        let hung = vec![
            steady.clone(),
            steady.clone(),
            faulty.clone(),
            faulty,
            Second::default(),
            Second::default(),
            Second::default(),
        ];
        let r = results(&e, &hung, None, 1, "http://proxy");
        assert_eq!(r.recovered_after_seconds, None);
        let why = no_recovery(&r, &hung, &e).expect("CL302");
        assert!(why.contains("0 requests completed (steady 100/s)"), "{why}");
        // Slow, but without errors: not recovered either.
        let slow = vec![
            steady.clone(),
            steady,
            second(100, 0, 66),
            second(100, 0, 66),
            second(100, 0, 66),
            second(100, 0, 66),
            second(100, 0, 66),
        ];
        let r = results(&e, &slow, None, 1, "http://proxy");
        assert_eq!(r.recovered_after_seconds, None);
    }

    #[test]
    fn files_are_checked() {
        for (text, want) in [
            (
                FILE.replace("duration: 3s", "duration: 1500ms"),
                "whole seconds",
            ),
            (
                FILE.replace(
                    "{type: error, rate: 0.1, path: /pay}",
                    "{name: error, type: reset}",
                ),
                "the name `error` is used twice",
            ),
            (
                FILE.replace("{type: error, rate: 0.3}", "{type: slicer}"),
                "type slicer is for the TCP mode",
            ),
        ] {
            let e = Experiment::parse(&text).map(|_| ()).expect_err("refused");
            assert!(e.contains(want), "{e}");
        }
    }
}
