//! `sre chaos-load proxy`: an HTTP reverse proxy that injects faults ([`crate::fault`])
//! into the requests it passes to the upstream, changed at run time through an admin API.
//!
//! Built on hyper (server and client, HTTP/1.1): each client connection gets its own
//! upstream connection, opened at its first request and kept alive, so the proxy adds one
//! hop and no pool. Bodies stream through in both directions.
//!
//! - `error`: the answer comes from the proxy (status and body), the upstream never sees
//!   the request.
//! - `latency`: the request waits before it is forwarded.
//! - `reset`: the client's connection is aborted with a TCP RST (`SO_LINGER` 0).
//! - `timeout`: nothing is answered until the fault ends; then the connection is closed.
//! - `bandwidth`: the answer's body is paced to the rate.

use crate::fault::{FaultSpec, Faults, Outcome};
use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use sre_cli::args::{GlobalArgs, ReportArgs};
use sre_cli::config::Config;
use sre_cli::output::Out;
use sre_cli::ExitStatus;
use std::future::Future as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// `sre chaos-load proxy`.
#[derive(Debug, clap::Args)]
pub struct ProxyArgs {
    /// Where to listen for clients, e.g. 127.0.0.1:8081 (port 0 picks a free one, printed
    /// on stderr)
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// The service behind the proxy: http://HOST:PORT, or with --tcp HOST:PORT
    #[arg(long, value_name = "URL")]
    pub upstream: String,
    /// Proxy TCP instead of HTTP (any protocol: databases, caches); faults are decided per
    /// connection, and --slice-*, --limit-data and --down apply
    #[arg(long, conflicts_with_all = ["error_rate", "error_body", "path", "method", "match_header"])]
    pub tcp: bool,
    /// How long the proxy runs; faults never outlive it
    #[arg(short = 'd', long, value_name = "DURATION", value_parser = sre_cli::units::duration_arg, default_value = "10m")]
    pub duration: Duration,
    /// Answer this share of the requests in scope from the proxy, with --error-status (e.g.
    /// 30%)
    #[arg(long, value_name = "PERCENT", value_parser = crate::cli::percent)]
    pub error_rate: Option<f64>,
    /// The status of injected errors
    #[arg(long, value_name = "CODE", default_value_t = 503)]
    pub error_status: u16,
    /// The body of injected errors
    #[arg(long, value_name = "TEXT")]
    pub error_body: Option<String>,
    /// Delay every request in scope by this much before forwarding it (e.g. 100ms)
    #[arg(long, value_name = "DURATION")]
    pub latency: Option<String>,
    /// With --latency: up to this much more or less, uniformly (e.g. 20ms)
    #[arg(long, value_name = "DURATION", requires = "latency")]
    pub jitter: Option<String>,
    /// Reset (TCP RST) the client's connection for this share of the requests in scope
    #[arg(long, value_name = "PERCENT", value_parser = crate::cli::percent)]
    pub reset_rate: Option<f64>,
    /// Answer nothing, until the fault ends, to this share of the requests in scope (the
    /// client's timeout fires)
    #[arg(long, value_name = "PERCENT", value_parser = crate::cli::percent)]
    pub timeout_rate: Option<f64>,
    /// Pace answers' bodies (with --tcp, the data each way) to this rate (e.g. 100KiB/s)
    #[arg(long, value_name = "RATE")]
    pub bandwidth: Option<String>,
    /// With --tcp: pass data on in slices of about this many bytes
    #[arg(long, value_name = "BYTES", requires = "tcp")]
    pub slice_size: Option<u64>,
    /// With --slice-size: give or take up to this many bytes
    #[arg(long, value_name = "BYTES", requires = "slice_size")]
    pub slice_variation: Option<u64>,
    /// With --slice-size: wait this long between slices (e.g. 10ms)
    #[arg(long, value_name = "DURATION", requires = "slice_size")]
    pub slice_delay: Option<String>,
    /// With --tcp: close each connection once this much data has passed, both ways (e.g.
    /// 64Ki)
    #[arg(long, value_name = "SIZE", requires = "tcp")]
    pub limit_data: Option<String>,
    /// With --tcp: start down (connecting is refused) until the `down` fault is removed
    /// through the admin API, or the proxy stops
    #[arg(long, requires = "tcp")]
    pub down: bool,
    /// Scope of the faults above: requests whose path starts with this
    #[arg(long, value_name = "PREFIX")]
    pub path: Option<String>,
    /// Scope of the faults above: requests with this method
    #[arg(long, value_name = "METHOD")]
    pub method: Option<String>,
    /// Scope of the faults above: requests with this header, `Name: value`
    #[arg(long = "match-header", value_name = "HEADER")]
    pub match_header: Option<String>,
    /// Seed of the fault decisions: the same requests in the same order meet the same
    /// faults [default: random]
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Serve the admin API (GET/POST /faults, PUT/DELETE /faults/NAME, POST /reset) and
    /// Prometheus metrics (/metrics) here, e.g. 127.0.0.1:8474
    #[arg(long, value_name = "ADDR")]
    pub admin: Option<String>,
    /// How long the upstream may take to start its answer to a forwarded request; then the
    /// client gets a 504
    #[arg(long, value_name = "DURATION", value_parser = sre_cli::units::duration_arg, default_value = "60s")]
    pub upstream_timeout: Duration,
    /// Worker threads [default: all cores]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Print the plan (upstream, faults, scope, duration) and exit without listening
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub report: ReportArgs,
}

impl ProxyArgs {
    /// The faults the flags ask for.
    pub fn faults(&self) -> Vec<FaultSpec> {
        let scoped = |kind: &str| FaultSpec {
            kind: kind.into(),
            path: self.path.clone(),
            method: self.method.clone(),
            header: self.match_header.clone(),
            ..FaultSpec::default()
        };
        let mut out = Vec::new();
        if let Some(l) = &self.latency {
            out.push(FaultSpec {
                latency: Some(l.clone()),
                jitter: self.jitter.clone(),
                ..scoped("latency")
            });
        }
        if let Some(r) = self.reset_rate {
            out.push(FaultSpec {
                rate: Some(r),
                ..scoped("reset")
            });
        }
        if let Some(r) = self.timeout_rate {
            out.push(FaultSpec {
                rate: Some(r),
                ..scoped("timeout")
            });
        }
        if let Some(r) = self.error_rate {
            out.push(FaultSpec {
                rate: Some(r),
                status: Some(self.error_status),
                body: self.error_body.clone(),
                ..scoped("error")
            });
        }
        if let Some(b) = &self.bandwidth {
            out.push(FaultSpec {
                bandwidth: Some(b.clone()),
                ..scoped("bandwidth")
            });
        }
        if let Some(size) = self.slice_size {
            out.push(FaultSpec {
                size: Some(size),
                size_variation: self.slice_variation,
                delay: self.slice_delay.clone(),
                ..scoped("slicer")
            });
        }
        if let Some(l) = &self.limit_data {
            out.push(FaultSpec {
                bytes: Some(l.clone()),
                ..scoped("limitData")
            });
        }
        if self.down {
            out.push(scoped("down"));
        }
        out
    }
}

/// The upstream, resolved.
#[derive(Debug, Clone)]
struct Upstream {
    addrs: Vec<SocketAddr>,
    /// `host:port`, for the Host header of forwarded requests.
    authority: String,
    /// As shown in messages (no credentials).
    shown: String,
    /// HTTP: how long an answer's head may take (then 504).
    timeout: Duration,
}

/// How long the upstream may take to answer a forwarded request, unless
/// `--upstream-timeout`.
const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);

/// `HOST:PORT` or `tcp://HOST:PORT` for the TCP mode.
fn tcp_upstream(text: &str) -> anyhow::Result<Upstream> {
    let bare = text.strip_prefix("tcp://").unwrap_or(text);
    if bare.contains('/') || bare.contains('@') {
        bail!("--upstream `{bare}`: with --tcp, give HOST:PORT (e.g. 127.0.0.1:5432)");
    }
    let addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(bare)
        .with_context(|| {
            format!("--upstream `{bare}` is not a reachable HOST:PORT (e.g. 127.0.0.1:5432)")
        })?
        .collect();
    if addrs.is_empty() {
        bail!("--upstream `{bare}` has no address");
    }
    Ok(Upstream {
        addrs,
        authority: bare.to_string(),
        shown: format!("tcp://{bare}"),
        timeout: DEFAULT_UPSTREAM_TIMEOUT,
    })
}

fn upstream(url: &str) -> anyhow::Result<Upstream> {
    let shown = crate::shown_url(url);
    let u = url::Url::parse(url).map_err(|e| {
        anyhow::anyhow!("--upstream `{shown}` is not a URL ({e}): give e.g. http://127.0.0.1:8080")
    })?;
    match u.scheme() {
        "http" => {}
        "https" => bail!("--upstream `{shown}`: https upstreams are not supported; point the proxy at the service's plain-HTTP port"),
        _ => bail!("--upstream `{shown}` must start with http://"),
    }
    if !matches!(u.path(), "" | "/") || u.query().is_some() {
        bail!("--upstream `{shown}` must be http://HOST:PORT, without a path: requests keep their own path");
    }
    let host = u
        .host_str()
        .ok_or_else(|| anyhow::anyhow!("--upstream `{shown}` has no host"))?;
    let port = u.port_or_known_default().unwrap_or(80);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(&(bare, port))
        .with_context(|| format!("cannot resolve {host} (from --upstream)"))?
        .collect();
    if addrs.is_empty() {
        bail!("{host} (from --upstream) has no address");
    }
    Ok(Upstream {
        addrs,
        authority: match u.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        },
        shown,
        timeout: DEFAULT_UPSTREAM_TIMEOUT,
    })
}

/// What the proxy counted, beside [`Faults`]' counters.
#[derive(Debug)]
struct Counters {
    /// Upstream answers passed on, by status (index = code).
    status: Vec<AtomicU64>,
}

impl Counters {
    fn by_status(&self) -> Vec<(u16, u64)> {
        self.status
            .iter()
            .enumerate()
            .filter_map(|(code, n)| {
                let n = n.load(Ordering::Relaxed);
                (n > 0).then_some((code as u16, n))
            })
            .collect()
    }
}

/// Runs `sre chaos-load proxy`.
pub fn run(
    a: &ProxyArgs,
    global: &GlobalArgs,
    config: &Config,
    out: &mut Out<'_>,
) -> anyhow::Result<ExitStatus> {
    let common = config.common(global, &a.report)?;
    let mut up = if a.tcp {
        tcp_upstream(&a.upstream)?
    } else {
        upstream(&a.upstream)?
    };
    if a.upstream_timeout.is_zero() {
        bail!("--upstream-timeout must be above 0");
    }
    up.timeout = a.upstream_timeout;
    if a.threads.is_some_and(|t| t == 0 || t > 1024) {
        bail!("--threads must be 1 to 1024");
    }
    const LONGEST: Duration = Duration::from_secs(7 * 86_400);
    if a.duration.is_zero() || a.duration > LONGEST {
        bail!("-d/--duration must be above 0 and at most 7 days");
    }
    let specs = a.faults();
    let start = Instant::now();
    let end = start + a.duration;
    // Every spec is checked before anything listens.
    for s in &specs {
        s.build(start, end, a.tcp)
            .map_err(|e| anyhow::anyhow!("--{}: {e}", s.kind))?;
    }
    if a.dry_run {
        let mut text = format!(
            "dry run: would listen on {} and forward to {} for {}, with {}\n",
            a.listen,
            up.shown,
            humantime::format_duration(a.duration),
            if specs.is_empty() {
                "no faults (add them through --admin)".to_string()
            } else {
                format!("{} fault(s):", specs.len())
            }
        );
        for s in &specs {
            text.push_str(&format!("  {}\n", serde_json::to_string(s)?));
        }
        out.write(text.as_bytes())?;
        return Ok(ExitStatus::Clean);
    }
    let seed = a.seed.unwrap_or_else(|| fastrand::u64(..));
    let faults = Arc::new(Faults::new(seed, end, a.tcp));
    for s in &specs {
        faults.add(s).map_err(anyhow::Error::msg)?;
    }
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let running = Running::start(&a.listen, &up, a.tcp, Arc::clone(&faults), threads)?;
    let (local, counters) = (running.local, Arc::clone(&running.counters));
    let admin = match &a.admin {
        Some(addr) => Some(admin_serve(
            addr,
            Arc::clone(&faults),
            Arc::clone(&counters),
        )?),
        None => None,
    };
    eprintln!(
        "chaos-load proxy: listening on http://{local}{}, forwarding to {} for {}; seed {seed}",
        admin
            .map(|a| format!(", admin on http://{a}"))
            .unwrap_or_default(),
        up.shown,
        humantime::format_duration(a.duration)
    );
    let interrupted = running.wait(end);
    running.stop();
    let elapsed = start.elapsed();
    let report = proxy_report(a, &up, &faults, &counters, elapsed, interrupted, seed);
    let text = match common.output.value {
        sre_render::Format::Json => {
            let mut t = serde_json::to_string_pretty(&report.0)?;
            t.push('\n');
            Some(t)
        }
        sre_render::Format::Table | sre_render::Format::Markdown => Some(report.1),
        _ => None,
    };
    crate::cli::finish(&report.2, text, &common, out)
}

/// A proxy serving on its own runtime (`proxy`, experiments, the demo); it stops when
/// [`Running::stop`] is called or it is dropped.
pub struct Running {
    /// Where it listens.
    pub local: SocketAddr,
    counters: Arc<Counters>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Running {
    /// Binds `listen` and serves in front of `up` (TCP with `tcp`) with `faults`, on
    /// `threads` worker threads.
    fn start(
        listen: &str,
        up: &Upstream,
        tcp: bool,
        faults: Arc<Faults>,
        threads: usize,
    ) -> anyhow::Result<Running> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("proxy")
            .enable_all()
            .build()
            .context("cannot start the proxy's runtime")?;
        let listener = rt
            .block_on(tokio::net::TcpListener::bind(listen))
            .with_context(|| {
                format!("cannot listen on {listen}: give a free HOST:PORT, e.g. 127.0.0.1:8081")
            })?;
        let local = listener.local_addr()?;
        let counters = Arc::new(Counters {
            status: (0..1000).map(|_| AtomicU64::new(0)).collect(),
        });
        let (up, c) = (up.clone(), Arc::clone(&counters));
        rt.spawn(async move {
            if tcp {
                let addrs = Arc::new(up.addrs.clone());
                crate::tcp_proxy::serve(local, listener, addrs, faults).await;
            } else {
                accept_loop(listener, up, faults, c).await;
            }
        });
        Ok(Running {
            local,
            counters,
            rt: Some(rt),
        })
    }

    /// Starts an HTTP proxy in front of `upstream` (http://HOST:PORT).
    pub fn http(listen: &str, upstream_url: &str, faults: Arc<Faults>) -> anyhow::Result<Running> {
        let up = upstream(upstream_url)?;
        Running::start(listen, &up, false, faults, 1)
    }

    /// Serves until `end` or SIGTERM/Ctrl-C; whether a signal ended it.
    fn wait(&self, end: Instant) -> bool {
        let Some(rt) = &self.rt else {
            return false;
        };
        rt.block_on(async {
            tokio::select! {
                () = tokio::time::sleep_until(end.into()) => false,
                () = sre_cli::signal::terminated() => true,
            }
        })
    }

    /// Stops serving; connections in flight are dropped.
    pub fn stop(mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// The report when the proxy stops: (JSON value, text, the contract report).
fn proxy_report(
    a: &ProxyArgs,
    up: &Upstream,
    faults: &Faults,
    counters: &Counters,
    elapsed: Duration,
    interrupted: bool,
    seed: u64,
) -> (serde_json::Value, String, sre_core::Report) {
    let mut report = sre_core::Report::new("chaos-load", "proxy", sre_cli::clock::now());
    report
        .target
        .insert("listen".into(), a.listen.clone().into());
    report
        .target
        .insert("upstream".into(), up.shown.clone().into());
    report.target.insert("seed".into(), seed.into());
    report.finish();
    let injected: serde_json::Map<String, serde_json::Value> = crate::fault::KINDS
        .iter()
        .zip(&faults.injected)
        .map(|(k, n)| (k.to_string(), n.load(Ordering::Relaxed).into()))
        .collect();
    let statuses: serde_json::Map<String, serde_json::Value> = counters
        .by_status()
        .into_iter()
        .map(|(s, n)| (s.to_string(), n.into()))
        .collect();
    let requests = faults.requests.load(Ordering::Relaxed);
    let connections = faults.connections.load(Ordering::Relaxed);
    let upstream_errors = faults.upstream_errors.load(Ordering::Relaxed);
    let mut v = serde_json::to_value(&report).unwrap_or_default();
    if let Some(s) = v["summary"].as_object_mut() {
        s.insert("requests".into(), requests.into());
        s.insert("connections".into(), connections.into());
        s.insert("injected".into(), injected.clone().into());
        s.insert("upstreamAnswers".into(), statuses.clone().into());
        s.insert("upstreamErrors".into(), upstream_errors.into());
        s.insert("durationSeconds".into(), elapsed.as_secs_f64().into());
        s.insert("interrupted".into(), interrupted.into());
    }
    let text = format!(
        "chaos-load proxy: {} -> {} for {:.1} s{}\n  requests     {requests} (HTTP), {connections} connections\n  injected     {}\n  upstream     {} answered ({}), {upstream_errors} failed\n",
        a.listen,
        up.shown,
        elapsed.as_secs_f64(),
        if interrupted { " (stopped by a signal)" } else { "" },
        injected
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        statuses.values().filter_map(serde_json::Value::as_u64).sum::<u64>(),
        statuses
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    (v, text, report)
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    up: Upstream,
    faults: Arc<Faults>,
    counters: Arc<Counters>,
) {
    let up = Arc::new(up);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors, say: wait a little rather than spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (up, faults, counters) = (Arc::clone(&up), Arc::clone(&faults), Arc::clone(&counters));
        tokio::spawn(async move {
            let reset = Arc::new(AtomicBool::new(false));
            let io = ResettableIo {
                stream,
                reset: Arc::clone(&reset),
            };
            // This client connection's upstream connection, opened at its first request.
            let upstream: Arc<tokio::sync::Mutex<Option<UpstreamConn>>> = Arc::default();
            let service = hyper::service::service_fn(move |req| {
                let (up, faults, counters, upstream, reset) = (
                    Arc::clone(&up),
                    Arc::clone(&faults),
                    Arc::clone(&counters),
                    Arc::clone(&upstream),
                    Arc::clone(&reset),
                );
                async move { handle(req, &up, &faults, &counters, &upstream, &reset).await }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(io), service)
                .await;
        });
    }
}

type UpstreamConn = hyper::client::conn::http1::SendRequest<Incoming>;
type ProxyBody = UnsyncBoxBody<Bytes, hyper::Error>;

/// Why a request ended without an answer (the connection is closed; reset if asked).
#[derive(Debug)]
struct Dropped(&'static str);

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Dropped {}

fn full(status: u16, body: Bytes) -> http::Response<ProxyBody> {
    let mut r = http::Response::new(
        Full::new(body)
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    r
}

/// Headers that belong to one connection (RFC 9110 7.6.1), not passed on.
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Removes the headers that belong to one connection: [`HOP_BY_HOP`] and those the
/// `Connection` header names.
fn strip_hop_by_hop(headers: &mut http::HeaderMap) {
    let listed: Vec<http::HeaderName> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| http::HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for h in HOP_BY_HOP.iter() {
        headers.remove(*h);
    }
    for h in listed {
        headers.remove(h);
    }
}

async fn handle(
    mut req: http::Request<Incoming>,
    up: &Upstream,
    faults: &Faults,
    counters: &Counters,
    upstream: &tokio::sync::Mutex<Option<UpstreamConn>>,
    reset: &AtomicBool,
) -> Result<http::Response<ProxyBody>, Dropped> {
    let decision = faults.decide(req.method(), req.uri().path(), req.headers());
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    match decision.outcome {
        Outcome::Forward => {}
        Outcome::Error { status, body } => return Ok(full(status, body)),
        Outcome::Reset => {
            reset.store(true, Ordering::Relaxed);
            return Err(Dropped("reset by a fault"));
        }
        Outcome::Hang(until) => {
            faults.hang(until).await;
            return Err(Dropped("timed out by a fault"));
        }
    }
    // Forward: origin-form target, the upstream's Host, no hop-by-hop headers.
    let target = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse::<http::Uri>()
        .unwrap_or_default();
    *req.uri_mut() = target;
    let headers = req.headers_mut();
    strip_hop_by_hop(headers);
    if let Ok(v) = http::HeaderValue::from_str(&up.authority) {
        headers.insert(http::header::HOST, v);
    }
    let answer = tokio::time::timeout(up.timeout, async {
        let mut slot = upstream.lock().await;
        let mut req = Some(req);
        // A kept-alive upstream connection may close just as a request comes (keep-alive
        // limits, idle timeouts): a request it never took is sent again, once, on a new
        // connection, instead of becoming a 502 nobody injected.
        for attempt in 0..2 {
            if attempt > 0 || slot.as_ref().is_none_or(|s| s.is_closed()) {
                *slot = connect_upstream(up).await.ok();
            }
            let sender = slot.as_mut()?;
            if sender.ready().await.is_err() {
                *slot = None;
                continue;
            }
            match sender.try_send_request(req.take()?).await {
                Ok(resp) => return Some(resp),
                Err(mut e) => {
                    req = e.take_message();
                    *slot = None;
                }
            }
        }
        None
    })
    .await;
    let Ok(Some(mut resp)) = answer else {
        faults.upstream_errors.fetch_add(1, Ordering::Relaxed);
        let (status, what) = match answer {
            Err(_) => (
                504,
                format!(
                    "did not answer within {}",
                    humantime::format_duration(up.timeout)
                ),
            ),
            Ok(_) => (
                502,
                "could not be reached, or broke the connection".to_string(),
            ),
        };
        return Ok(full(
            status,
            Bytes::from(format!(
                "sre chaos-load proxy: the upstream {} {what}\n",
                up.shown
            )),
        ));
    };
    if let Some(slot) = counters.status.get(usize::from(resp.status().as_u16())) {
        slot.fetch_add(1, Ordering::Relaxed);
    }
    strip_hop_by_hop(resp.headers_mut());
    Ok(resp.map(|body| match decision.bandwidth {
        Some(rate) => Paced {
            inner: body,
            rate,
            start: None,
            sent: 0,
            sleep: None,
            pending: None,
        }
        .boxed_unsync(),
        None => body.boxed_unsync(),
    }))
}

async fn connect_upstream(up: &Upstream) -> Result<UpstreamConn, ()> {
    let mut stream = Err(());
    for addr in &up.addrs {
        if let Ok(Ok(s)) =
            tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr)).await
        {
            stream = Ok(s);
            break;
        }
    }
    let stream = stream?;
    let _ = stream.set_nodelay(true);
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| ())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}

/// The client's connection; dropped after a `reset` fault, it aborts with an RST instead
/// of closing (`SO_LINGER` 0, as Toxiproxy's `reset_peer`).
struct ResettableIo {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for ResettableIo {
    fn drop(&mut self) {
        if self.reset.load(Ordering::Relaxed) {
            let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        }
    }
}

impl AsyncRead for ResettableIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// A body passed on at most `rate` bytes per second: each frame waits until the bytes
/// before it and its own would have taken that long since the first frame.
struct Paced {
    inner: Incoming,
    rate: u64,
    start: Option<Instant>,
    sent: u64,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    pending: Option<Frame<Bytes>>,
}

impl Body for Paced {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        if let Some(sleep) = &mut this.sleep {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.sleep = None;
            return Poll::Ready(this.pending.take().map(Ok));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let n = frame.data_ref().map_or(0, |d| d.len() as u64);
                let start = *this.start.get_or_insert_with(Instant::now);
                this.sent += n;
                let due = start + Duration::from_secs_f64(this.sent as f64 / this.rate as f64);
                if due <= Instant::now() {
                    return Poll::Ready(Some(Ok(frame)));
                }
                let mut sleep = Box::pin(tokio::time::sleep_until(due.into()));
                if sleep.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Some(Ok(frame)));
                }
                this.sleep = Some(sleep);
                this.pending = Some(frame);
                Poll::Pending
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.pending.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Serves the admin API and /metrics on tiny_http (a thread of its own: a few requests a
/// minute at most); returns the address it listens on.
fn admin_serve(
    addr: &str,
    faults: Arc<Faults>,
    counters: Arc<Counters>,
) -> anyhow::Result<SocketAddr> {
    let server = tiny_http::Server::http(addr).map_err(|e| {
        anyhow::anyhow!("cannot serve the admin API on --admin {addr} ({e}): give a free HOST:PORT, e.g. 127.0.0.1:8474")
    })?;
    let local = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| anyhow::anyhow!("the admin listener has no IP address"))?;
    if !local.ip().is_loopback() {
        tracing::warn!("the admin API on {local} lets anyone who reaches it inject faults: prefer a loopback address");
    }
    std::thread::Builder::new()
        .name("proxy-admin".into())
        .spawn(move || {
            for mut request in server.incoming_requests() {
                let (code, body, kind) = admin(&mut request, &faults, &counters);
                let mut response = tiny_http::Response::from_string(body).with_status_code(code);
                if let Ok(h) = tiny_http::Header::from_bytes(&b"Content-Type"[..], kind.as_bytes())
                {
                    response = response.with_header(h);
                }
                let _ = request.respond(response);
            }
        })?;
    Ok(local)
}

/// One admin request: (status, body, content type).
fn admin(
    request: &mut tiny_http::Request,
    faults: &Faults,
    counters: &Counters,
) -> (u16, String, &'static str) {
    const JSON: &str = "application/json";
    let error = |code: u16, msg: String| {
        (
            code,
            serde_json::json!({ "error": msg }).to_string() + "\n",
            JSON,
        )
    };
    let listing = |f: &crate::fault::Fault| {
        let mut v = serde_json::to_value(&f.spec).unwrap_or_default();
        v["name"] = f.name.clone().into();
        v["remainingSeconds"] = (f
            .until
            .saturating_duration_since(Instant::now())
            .as_secs_f64())
        .into();
        v
    };
    let path = request.url().split('?').next().unwrap_or("").to_string();
    let method = request.method().clone();
    let mut body = String::new();
    {
        use std::io::Read as _;
        if request
            .as_reader()
            .take(64 * 1024)
            .read_to_string(&mut body)
            .is_err()
        {
            return error(400, "the body is not UTF-8 text".into());
        }
    }
    let spec = || -> Result<FaultSpec, (u16, String, &'static str)> {
        serde_json::from_str(&body).map_err(|e| {
            error(
                400,
                format!("the body is not a fault ({e}); e.g. {{\"type\": \"error\", \"rate\": 0.1, \"status\": 503}}"),
            )
        })
    };
    let answer = admin_route(method, &path, faults, counters, spec, error, listing);
    // A `down` fault takes effect (or ends) before the answer is sent.
    faults.settle();
    answer
}

/// The admin API's routes (see [`admin`]).
fn admin_route(
    method: tiny_http::Method,
    path: &str,
    faults: &Faults,
    counters: &Counters,
    spec: impl Fn() -> Result<FaultSpec, (u16, String, &'static str)>,
    error: impl Fn(u16, String) -> (u16, String, &'static str),
    listing: impl Fn(&crate::fault::Fault) -> serde_json::Value,
) -> (u16, String, &'static str) {
    const JSON: &str = "application/json";
    use tiny_http::Method;
    match (method, path) {
        (Method::Get, "/metrics") => (200, faults.metrics(&counters.by_status()), "text/plain; version=0.0.4"),
        (Method::Get, "/faults") => (
            200,
            serde_json::Value::Array(faults.active().iter().map(listing).collect()).to_string() + "\n",
            JSON,
        ),
        (Method::Post, "/faults") => match spec() {
            Err(e) => e,
            Ok(s) => {
                let name = s.name.clone().unwrap_or_else(|| s.kind.clone());
                let taken = faults.active().iter().any(|f| f.name == name);
                match faults.add(&s) {
                    Ok(f) => (201, listing(&f).to_string() + "\n", JSON),
                    Err(e) if taken => error(409, e),
                    Err(e) => error(400, e),
                }
            }
        },
        (Method::Post, "/reset") => {
            faults.reset();
            (204, String::new(), JSON)
        }
        (m, p) if p.starts_with("/faults/") => {
            let name = &p["/faults/".len()..];
            match m {
                Method::Delete if faults.remove(name) => (204, String::new(), JSON),
                Method::Put => match spec() {
                    Err(e) => e,
                    Ok(s) => match faults.replace(name, &s) {
                        Ok(Some(f)) => (200, listing(&f).to_string() + "\n", JSON),
                        Ok(None) => error(404, format!("no fault named `{name}`: add it with POST /faults")),
                        Err(e) => error(400, e),
                    },
                },
                Method::Delete => error(404, format!("no fault named `{name}`")),
                _ => error(405, "use PUT or DELETE on /faults/NAME".into()),
            }
        }
        _ => error(
            404,
            "the admin API has GET/POST /faults, PUT/DELETE /faults/NAME, POST /reset and GET /metrics".into(),
        ),
    }
}
