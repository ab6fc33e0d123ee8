//! `sre chaos-load`: the command line over the engine.

use crate::engine::{self, Plan, Stop};
use crate::http1::Target;
use crate::schedule::{parse_rate, Schedule};
use crate::summary::LoadSummary;
use crate::threshold::{Checked, Threshold, CL101};
use anyhow::{bail, Context};
use sre_cli::args::{GlobalArgs, ReportArgs};
use sre_cli::config::Config;
use sre_cli::output::Out;
use sre_cli::ExitStatus;
use sre_render::Format;
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `sre chaos-load`: HTTP load generation with honest latency.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Send HTTP load to a URL: closed model (N connections as fast as they go) or open
    /// model (--rate/--stages, latency corrected for coordinated omission), with CI
    /// thresholds
    Run(Box<RunArgs>),
    /// Compare two runs (JSON reports of `run`): the change of each percentile, of
    /// requests/s and of the failure rate; regressions beyond --tolerance are warnings
    Compare(CompareArgs),
    /// Merge runs made at the same time on several machines into one report, exactly (the
    /// HDR histograms travel in the JSON reports)
    Merge(MergeArgs),
    /// An HTTP reverse proxy that injects faults (errors, latency, resets, timeouts,
    /// bandwidth) into a share of the requests, changed at run time through an admin API
    Proxy(Box<crate::proxy::ProxyArgs>),
    /// Run load and a fault timeline together from a YAML file (steady state, faults,
    /// recovery), with an abort bound; the report compares the phases and says when the
    /// service recovered
    Experiment(crate::experiment::ExperimentArgs),
    /// Use up CPU, memory or disk on this machine for a while (capped, released at the
    /// end or on Ctrl-C)
    Stress(crate::stress::StressArgs),
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The JSON report of the run before the change
    #[arg(value_name = "BEFORE.json")]
    pub before: PathBuf,
    /// The JSON report of the run after it
    #[arg(value_name = "AFTER.json")]
    pub after: PathBuf,
    /// How much worse is still fine: latency and failure rate may grow, requests/s may
    /// fall, by this much
    #[arg(long, value_name = "PERCENT", default_value = "10%", value_parser = percent)]
    pub tolerance: f64,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// JSON reports of `run`, made at the same time (e.g. one per Kubernetes Job pod)
    #[arg(value_name = "RUN.json", num_args = 2.., required = true)]
    pub runs: Vec<PathBuf>,
    /// A pass/fail condition checked on the merged numbers; repeatable
    #[arg(long = "threshold", value_name = "EXPR", value_parser = Threshold::parse)]
    pub thresholds: Vec<Threshold>,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `10%`, `10` or `0.5%`, as a fraction.
pub(crate) fn percent(s: &str) -> Result<f64, String> {
    s.trim()
        .trim_end_matches('%')
        .parse::<f64>()
        .ok()
        .filter(|p| p.is_finite() && *p >= 0.0)
        .map(|p| p / 100.0)
        .ok_or_else(|| format!("`{s}` is not a percentage: use e.g. 10% or 2.5%"))
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The URL to load (http:// or https://); with --scenario, the base URL (instead of
    /// the file's `url:`)
    #[arg(long, value_name = "URL", required_unless_present = "scenario")]
    pub url: Option<String>,
    /// A scenario file (YAML): several requests with weights, headers, bodies, values from
    /// a CSV file, think time
    #[arg(long, value_name = "FILE", conflicts_with_all = ["body", "body_file", "json", "headers"])]
    pub scenario: Option<PathBuf>,
    /// Connections kept open, each with one request in flight
    #[arg(short = 'c', long, value_name = "N", default_value_t = 64)]
    pub concurrency: usize,
    /// How long to send [default: 10s, or the length of --stages]
    #[arg(short = 'd', long, value_name = "DURATION", value_parser = sre_cli::units::duration_arg, conflicts_with = "requests")]
    pub duration: Option<Duration>,
    /// Send exactly this many requests instead of running for a duration
    #[arg(short = 'n', long, value_name = "N")]
    pub requests: Option<u64>,
    /// Worker threads, each with its share of the connections [default: all cores]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Open model: send this many requests per second (e.g. 500, 500/s, 30000/m), whatever
    /// the server does; latency counts from when each request was due
    #[arg(long, value_name = "RATE")]
    pub rate: Option<String>,
    /// Open model with a changing rate: DURATION:RATE stages, ramping linearly from
    /// --rate (or 0), e.g. 30s:100,60s:500,30s:0
    #[arg(long, value_name = "STAGES")]
    pub stages: Option<String>,
    /// HTTP method
    #[arg(short = 'm', long, value_name = "METHOD", default_value = "GET")]
    pub method: String,
    /// A request header, `Name: value`; repeatable
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// Request body
    #[arg(long, value_name = "TEXT", conflicts_with_all = ["body_file", "json"])]
    pub body: Option<String>,
    /// Request body from a file
    #[arg(long, value_name = "FILE", conflicts_with = "json")]
    pub body_file: Option<PathBuf>,
    /// JSON request body (checked to be JSON; sets Content-Type: application/json)
    #[arg(long, value_name = "JSON")]
    pub json: Option<String>,
    /// File with a bearer token, sent as `Authorization: Bearer ...`
    #[arg(long, value_name = "FILE", conflicts_with = "basic_auth_user")]
    pub bearer_token_file: Option<PathBuf>,
    /// Basic-auth user; the password is read from SRE_LOAD_PASSWORD
    #[arg(long, value_name = "USER")]
    pub basic_auth_user: Option<String>,
    /// Time limit of each request, connecting included
    #[arg(long, value_name = "DURATION", value_parser = sre_cli::units::duration_arg, default_value = "30s")]
    pub timeout: Duration,
    /// Time limit of connecting (TCP and TLS)
    #[arg(long, value_name = "DURATION", value_parser = sre_cli::units::duration_arg, default_value = "10s")]
    pub connect_timeout: Duration,
    /// Open a new connection for every request (`Connection: close`)
    #[arg(long, conflicts_with = "http2")]
    pub no_keepalive: bool,
    /// Follow at most N redirects (301, 302, 303, 307, 308) per request, counted as one
    /// request to the last answer; 0: a redirect is the answer
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub redirects: u32,
    /// Speak HTTP/2: negotiated with ALPN over https://, with prior knowledge (h2c) over
    /// http://; one stream at a time on each connection unless --streams
    #[arg(long)]
    pub http2: bool,
    /// With --http2: requests in flight on each connection (streams), so -c N --streams S
    /// keeps N*S requests in flight over N connections
    #[arg(long, value_name = "S", default_value_t = 1, requires = "http2")]
    pub streams: usize,
    /// PEM file of the CA that signed the server's certificate (instead of the system's)
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Do not verify the server's TLS certificate (never against production)
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
    /// A pass/fail condition, e.g. 'p99<300ms', 'errors<1%', 'rps>1000'; repeatable; a
    /// violation is a critical finding (exit 1)
    #[arg(long = "threshold", value_name = "EXPR", value_parser = Threshold::parse)]
    pub thresholds: Vec<Threshold>,
    /// Also write Locust's CSVs: PREFIX_stats.csv and PREFIX_stats_history.csv
    #[arg(long, value_name = "PREFIX")]
    pub locust_csv: Option<PathBuf>,
    /// Also write a JMeter JTL CSV with a row per request (grows with the run)
    #[arg(long, value_name = "FILE")]
    pub jtl: Option<PathBuf>,
    /// Serve live Prometheus metrics of the run at http://ADDR/metrics (requests by
    /// status, errors by kind, a latency histogram), e.g. 0.0.0.0:9464; port 0 picks a
    /// free one, printed on stderr
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
    /// No live dashboard or progress line on stderr
    #[arg(short = 'q', long)]
    pub quiet: bool,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Runs `sre chaos-load ...`.
pub fn run(
    args: &Args,
    global: &GlobalArgs,
    config: &Config,
    out: &mut Out<'_>,
) -> anyhow::Result<ExitStatus> {
    match &args.command {
        Sub::Run(a) => run_load(a, global, config, out),
        Sub::Proxy(p) => crate::proxy::run(p, global, config, out),
        Sub::Experiment(e) => crate::experiment::command(e, global, config, out),
        Sub::Stress(s) => crate::stress::run(s, global, config, out),
        Sub::Compare(c) => {
            let common = config.common(global, &c.report)?;
            let before = crate::combine::read(&c.before).map_err(anyhow::Error::msg)?;
            let after = crate::combine::read(&c.after).map_err(anyhow::Error::msg)?;
            let (report, rows) =
                crate::combine::compare_report(&before, &after, c.tolerance, sre_cli::clock::now());
            let text = match common.output.value {
                Format::Json => {
                    let mut v = serde_json::to_value(&report)?;
                    v["comparison"] = serde_json::to_value(&rows)?;
                    Some(serde_json::to_string_pretty(&v)? + "\n")
                }
                Format::Table => Some(crate::combine::rows_text(&report, &rows, false)),
                Format::Markdown => Some(crate::combine::rows_text(&report, &rows, true)),
                _ => None,
            };
            finish(&report, text, &common, out)
        }
        Sub::Merge(m) => {
            let common = config.common(global, &m.report)?;
            let runs = m
                .runs
                .iter()
                .map(|p| crate::combine::read(p))
                .collect::<Result<Vec<_>, _>>()
                .map_err(anyhow::Error::msg)?;
            let merged = crate::combine::merge_report(&runs, &m.thresholds, sre_cli::clock::now())
                .map_err(anyhow::Error::msg)?;
            write_measured(&merged, &common, out)
        }
    }
}

/// The request line, headers and body, serialized once.
/// The request, serialized once for HTTP/1.1, and in parts for HTTP/2.
fn request_bytes(
    a: &RunArgs,
    uri: &http::Uri,
    host_header: &str,
) -> anyhow::Result<(Vec<u8>, Option<crate::h2::Request>)> {
    let method = a.method.to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        bail!("-m/--method `{}` is not an HTTP method: use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS", a.method);
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut headers: Vec<(String, String)> = Vec::new();
    for h in &a.headers {
        // The value may be a secret (Authorization): errors never show it.
        let (name, value) = h
            .split_once(':')
            .filter(|(n, _)| !n.trim().is_empty() && !n.contains(char::is_whitespace))
            .ok_or_else(|| {
                let start: String = h
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                anyhow::anyhow!("-H `{start}...` is not a header: use 'Name: value'")
            })?;
        if value.contains(['\r', '\n']) {
            bail!("-H `{name}`: a header value cannot hold a line break");
        }
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let has = |headers: &[(String, String)], n: &str| {
        headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n))
    };
    let body: Vec<u8> = match (&a.body, &a.body_file, &a.json) {
        (Some(b), _, _) => b.clone().into_bytes(),
        (_, Some(f), _) => {
            std::fs::read(f).with_context(|| format!("cannot read --body-file {}", f.display()))?
        }
        (_, _, Some(j)) => {
            serde_json::from_str::<serde_json::Value>(j).map_err(|e| {
                anyhow::anyhow!("--json is not valid JSON ({e}): quote it for the shell, e.g. --json '{{\"id\":1}}'")
            })?;
            if !has(&headers, "content-type") {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            j.clone().into_bytes()
        }
        _ => Vec::new(),
    };
    if let Some(f) = &a.bearer_token_file {
        let token = std::fs::read_to_string(f)
            .with_context(|| format!("cannot read --bearer-token-file {}", f.display()))?;
        if token.trim().is_empty() || token.trim().contains(['\r', '\n']) {
            bail!(
                "--bearer-token-file {} must hold one token on one line",
                f.display()
            );
        }
        headers.push(("Authorization".into(), format!("Bearer {}", token.trim())));
    }
    if let Some(user) = &a.basic_auth_user {
        use base64::Engine as _;
        let password = std::env::var("SRE_LOAD_PASSWORD").map_err(|_| {
            anyhow::anyhow!("--basic-auth-user needs the password in SRE_LOAD_PASSWORD")
        })?;
        let v = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        headers.push(("Authorization".into(), format!("Basic {v}")));
    }
    let mut text = format!("{method} {path} HTTP/1.1\r\n");
    if !has(&headers, "host") {
        text.push_str(&format!("Host: {host_header}\r\n"));
    }
    if !has(&headers, "user-agent") {
        text.push_str(concat!(
            "User-Agent: sre-chaos-load/",
            env!("CARGO_PKG_VERSION"),
            "\r\n"
        ));
    }
    if !has(&headers, "accept") {
        text.push_str("Accept: */*\r\n");
    }
    for (k, v) in &headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || matches!(method.as_str(), "POST" | "PUT" | "PATCH") {
        text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    if a.no_keepalive {
        text.push_str("Connection: close\r\n");
    }
    text.push_str("\r\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(&body);
    let h2 = if a.http2 {
        let scheme = uri.scheme_str().unwrap_or("http");
        Some(
            crate::h2::Request::from_h1(&bytes, scheme)
                .map_err(|e| anyhow::anyhow!("--http2: {e}"))?,
        )
    } else {
        None
    };
    Ok((bytes, h2))
}

/// Accepts any certificate: `--insecure-skip-tls-verify` only.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The TLS configuration: the system's trust store (or `--ca-file`), verification on
/// unless `--insecure-skip-tls-verify`; ALPN h2 or http/1.1.
fn tls_config(a: &RunArgs, http2: bool) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .context("cannot set up TLS")?;
    let mut config = if a.insecure_skip_tls_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth()
    } else if let Some(path) = &a.ca_file {
        use rustls::pki_types::pem::PemObject as _;
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read --ca-file {}", path.display()))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| anyhow::anyhow!("--ca-file {}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| anyhow::anyhow!("--ca-file {}: {e}", path.display()))?;
        }
        if roots.is_empty() {
            bail!("--ca-file {} holds no PEM certificate", path.display());
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        let verifier = rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
            .context("cannot load the system's trust store")?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth()
    };
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}

/// Checks the arguments and builds the plan.
pub fn plan(a: &RunArgs) -> anyhow::Result<(Plan, Option<f64>)> {
    let scenario = a
        .scenario
        .as_deref()
        .map(crate::scenario::Scenario::read)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let raw_url = match (&a.url, scenario.as_ref().and_then(|s| s.url.clone())) {
        (Some(u), _) => u.clone(),
        (None, Some(u)) => u,
        (None, None) => bail!("give --url URL, or `url:` in the scenario file"),
    };
    let shown = crate::shown_url(&raw_url);
    let uri: http::Uri = raw_url.parse().map_err(|e| {
        anyhow::anyhow!(
            "--url `{shown}` is not a URL ({e}): give e.g. http://127.0.0.1:8080/health"
        )
    })?;
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => bail!("--url `{shown}` must start with http:// or https://"),
    };
    // Redirects are resolved against it, and compared with its origin.
    let base = url::Url::parse(&raw_url).map_err(|e| {
        anyhow::anyhow!(
            "--url `{shown}` is not a URL ({e}): give e.g. http://127.0.0.1:8080/health"
        )
    })?;
    if uri.authority().is_some_and(|au| au.as_str().contains('@')) {
        bail!("--url `{shown}` has credentials in it, which chaos-load does not send: use --basic-auth-user USER with the password in SRE_LOAD_PASSWORD");
    }
    let host = uri
        .host()
        .ok_or_else(|| anyhow::anyhow!("--url `{shown}` has no host"))?;
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<std::net::SocketAddr> = (bare, port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {host} (from --url)"))?
        .collect();
    if addrs.is_empty() {
        bail!("{host} (from --url) has no address");
    }
    // Zero would never end (or never start); more than 30 days is a typo.
    const LONGEST: Duration = Duration::from_secs(30 * 86_400);
    for (flag, d) in [
        ("-d/--duration", a.duration),
        ("--timeout", Some(a.timeout)),
        ("--connect-timeout", Some(a.connect_timeout)),
    ] {
        if let Some(d) = d {
            if d.is_zero() || d > LONGEST {
                bail!("{flag} must be above 0 and at most 30 days");
            }
        }
    }
    let host_header = match uri.port_u16() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    if a.streams == 0 || a.streams > 1000 {
        bail!(
            "--streams must be 1 to 1000 (servers allow about 100 to 250 streams per connection)"
        );
    }
    if a.concurrency == 0 {
        bail!("-c/--concurrency must be at least 1");
    }
    if a.requests == Some(0) {
        bail!("-n/--requests must be at least 1");
    }
    let tls = if https {
        let name = rustls::pki_types::ServerName::try_from(bare.to_string())
            .map_err(|e| anyhow::anyhow!("--url host `{host}` is not a TLS server name: {e}"))?;
        Some((name, tls_config(a, a.http2)?))
    } else {
        None
    };
    let start_rate = a.rate.as_deref().map(parse_rate).transpose()?;
    if start_rate.is_some_and(|r| r > 10_000_000.0) {
        bail!("--rate above 10,000,000/s is beyond any generator: check the number");
    }
    let schedule = match (&a.stages, start_rate) {
        (Some(st), r) => {
            let s = Schedule::parse_stages(st, r.unwrap_or(0.0))?;
            if s.duration() > LONGEST {
                bail!("--stages last more than 30 days: check the durations");
            }
            Some(s)
        }
        (None, Some(r)) => {
            if r <= 0.0 {
                bail!("--rate must be above 0 (use --stages for a pause)");
            }
            // With -n, as long as the N sends take at that rate.
            let length = match (a.requests, a.duration) {
                (Some(n), _) => Duration::from_secs_f64(n as f64 / r),
                (None, d) => d.unwrap_or(Duration::from_secs(10)),
            };
            if length > LONGEST {
                bail!("-n at --rate would take more than 30 days: check the numbers");
            }
            Some(Schedule::constant(r, length))
        }
        (None, None) => None,
    };
    let stop = match (a.requests, a.duration, &schedule) {
        (Some(n), _, _) => Stop::Requests(n),
        (None, Some(d), _) => Stop::Duration(d),
        (None, None, Some(s)) => Stop::Duration(s.duration()),
        (None, None, None) => Stop::Duration(Duration::from_secs(10)),
    };
    let requested = schedule.as_ref().map(|s| {
        let secs = s.duration().as_secs_f64();
        if secs > 0.0 {
            s.total_sends() as f64 / secs
        } else {
            0.0
        }
    });
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 {
        bail!("--threads must be at least 1");
    }
    let (request, http2) = request_bytes(a, &uri, &host_header)?;
    let scenario = scenario.map(|sc| crate::engine::ScenarioTarget {
        base_path: uri.path().trim_end_matches('/').to_string(),
        host_header: host_header.clone(),
        close: a.no_keepalive,
        scenario: Arc::new(sc),
    });
    let follow = (a.redirects > 0).then(|| {
        Arc::new(crate::redirect::Follow {
            max: a.redirects,
            base: base.clone(),
            warned: Default::default(),
            // Hops to another origin speak HTTP/1.1 (verified like the target); if TLS
            // cannot be set up here, only such hops fail, as `tls`.
            tls: tls_config(a, false).ok(),
            connect_timeout: a.connect_timeout,
        })
    });
    let target = Target {
        addrs,
        tls,
        request,
        http2,
        head: a.method.eq_ignore_ascii_case("HEAD"),
        close: a.no_keepalive,
        connect_timeout: a.connect_timeout,
    };
    Ok((
        Plan {
            target: Arc::new(target),
            concurrency: a.concurrency,
            threads,
            stop,
            schedule: schedule.map(Arc::new),
            timeout: a.timeout,
            url: raw_url.clone(),
            scenario,
            follow,
            streams: a.streams,
            metrics: a.metrics_addr.as_ref().map(|_| {
                let url = shown.clone();
                let without_query = url.split(['?', '#']).next().unwrap_or(&url).to_string();
                Arc::new(crate::metrics::Metrics::new(&without_query, a.concurrency))
            }),
            jtl: a.jtl.as_ref().map(|path| engine::Jtl {
                path: path.clone(),
                // The path without the query, which may carry tokens.
                label: format!("{} {}", a.method.to_ascii_uppercase(), uri.path()),
                url: shown.clone(),
            }),
        },
        requested,
    ))
}

/// A finished run: its report (thresholds as findings), numbers and threshold results.
#[derive(Debug)]
pub struct Measured {
    pub report: sre_core::Report,
    pub summary: LoadSummary,
    pub checked: Vec<Checked>,
}

impl Measured {
    /// The JSON report: the shared contract, with the load numbers added to `summary`.
    pub fn json(&self) -> anyhow::Result<String> {
        let mut v = serde_json::to_value(&self.report)?;
        let s = serde_json::to_value(&self.summary)?;
        if let (Some(obj), serde_json::Value::Object(extra)) = (v["summary"].as_object_mut(), s) {
            obj.extend(extra);
        }
        let mut t = serde_json::to_string_pretty(&v)?;
        t.push('\n');
        Ok(t)
    }
}

/// What to show while a run goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveView {
    /// Nothing (pipes, CI, `--quiet`).
    Quiet,
    /// One progress line on stderr, rewritten in place.
    Line,
    /// The terminal dashboard.
    Dashboard,
}

/// Runs the load of `a` (showing `view` on stderr; Ctrl-C and SIGTERM end the run early
/// when `signals`), and checks the thresholds.
pub fn measure(a: &RunArgs, view: LiveView, signals: bool) -> anyhow::Result<Measured> {
    let (mut plan, requested) = plan(a)?;
    // The dashboard and the progress line read the live counters the metrics endpoint
    // serves (a few relaxed increments per request, only when something reads them).
    if view != LiveView::Quiet && plan.metrics.is_none() {
        plan.metrics = Some(Arc::new(crate::metrics::Metrics::new(
            &plan.url,
            plan.concurrency,
        )));
    }
    if let (Some(addr), Some(m)) = (&a.metrics_addr, &plan.metrics) {
        let local = crate::metrics::serve(addr, Arc::clone(m)).with_context(|| {
            format!("cannot serve metrics on --metrics-addr {addr}: give a free HOST:PORT, e.g. 0.0.0.0:9464")
        })?;
        eprintln!("chaos-load: metrics: listening on http://{local}/metrics");
    }
    let stop = engine::StopSignal::new();
    // Ctrl-C or SIGTERM: stop at once (requests in flight are abandoned) and write the
    // report of what ran; a second one ends the process (exit 130). The handler stays for
    // the rest of the process, so only a command that ends after the report installs it.
    if signals {
        stop.on_signals();
    }
    let done = Arc::new(AtomicBool::new(false));
    let dashboard = match (&plan.metrics, view) {
        (Some(m), LiveView::Dashboard) => {
            let (m, done) = (Arc::clone(m), Arc::clone(&done));
            let title = format!(
                " chaos-load: {} {} ",
                a.method.to_ascii_uppercase(),
                crate::shown_url(&plan.url)
            );
            let length = match (plan.stop, &plan.schedule) {
                (Stop::Duration(d), _) => Some(d),
                (Stop::Requests(_), Some(s)) => Some(s.duration()),
                (Stop::Requests(_), None) => None,
            };
            Some(std::thread::spawn(move || {
                crate::tui::run(m, title, length, &done)
            }))
        }
        _ => None,
    };
    let progress = match (&plan.metrics, view) {
        (Some(m), LiveView::Line) => {
            let (m, done) = (Arc::clone(m), Arc::clone(&done));
            Some(std::thread::spawn(move || {
                let start = Instant::now();
                let mut v = crate::tui::View::default();
                while !done.load(Ordering::Relaxed) {
                    let interval = Duration::from_millis(250);
                    std::thread::sleep(interval);
                    v.update(&m, start.elapsed(), interval);
                    let t = start.elapsed().as_secs_f64();
                    eprint!(
                        "\r{t:6.1}s  {} requests  {:.0}/s  {} failed   ",
                        v.requests,
                        v.requests as f64 / t.max(0.001),
                        v.failures
                    );
                }
                eprintln!();
            }))
        }
        _ => None,
    };
    let shape = shape_of(&plan, requested);
    let outcome = engine::run(plan, stop).context("the load run failed")?;
    if let Some(e) = &outcome.jtl_error {
        eprintln!("chaos-load: --jtl: {e}");
    }
    done.store(true, Ordering::Relaxed);
    if let Some(p) = progress {
        let _ = p.join();
    }
    if let Some(d) = dashboard {
        // A dashboard that could not draw leaves the run and its report alone.
        if let Ok(Err(e)) = d.join() {
            eprintln!("chaos-load: the live view failed: {e}");
        }
    }
    let m = assemble(a, &shape, &outcome, sre_cli::clock::now());
    if let Some(prefix) = &a.locust_csv {
        let path = |suffix: &str| {
            let mut p = prefix.clone().into_os_string();
            p.push(suffix);
            PathBuf::from(p)
        };
        // The path without the query, which may carry tokens.
        let name = http::Uri::try_from(shape.url.as_str())
            .map_or_else(|_| "/".into(), |u| u.path().to_string());
        sre_cli::output::write_atomic(
            &path("_stats.csv"),
            crate::csv::locust_stats(&outcome, &m.summary, &a.method.to_ascii_uppercase(), &name)
                .as_bytes(),
        )?;
        sre_cli::output::write_atomic(
            &path("_stats_history.csv"),
            crate::csv::locust_history(&outcome, shape.concurrency).as_bytes(),
        )?;
    }
    Ok(m)
}

/// What a run was asked to do, for its report.
#[derive(Debug, Clone)]
pub struct Shape {
    /// The URL as given (credentials are refused), the base with --scenario.
    pub url: String,
    /// The scenario's request names, in order (empty without a scenario).
    pub steps: Vec<String>,
    pub open: bool,
    pub concurrency: usize,
    pub threads: usize,
    pub stop: Stop,
    /// Open model: the mean requested rate.
    pub requested: Option<f64>,
}

/// What the report says of a plan (before the plan goes to the engine).
pub fn shape_of(plan: &Plan, requested: Option<f64>) -> Shape {
    Shape {
        url: plan.url.clone(),
        steps: plan
            .scenario
            .as_ref()
            .map(|s| s.scenario.steps.iter().map(|st| st.name.clone()).collect())
            .unwrap_or_default(),
        open: plan.schedule.is_some(),
        concurrency: plan.concurrency,
        // The engine never runs more threads than connections.
        threads: plan.threads.min(plan.concurrency),
        stop: plan.stop,
        requested,
    }
}

/// The report, numbers and threshold results of a finished run.
pub fn assemble(
    a: &RunArgs,
    shape: &Shape,
    outcome: &engine::Outcome,
    now: std::time::SystemTime,
) -> Measured {
    let (model, concurrency, threads, stop_at, requested) = (
        if shape.open { "open" } else { "closed" },
        shape.concurrency,
        shape.threads,
        shape.stop,
        shape.requested,
    );
    let mut summary = LoadSummary::new(outcome, requested);
    summary.by_request = shape
        .steps
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let st = outcome.recorder.steps.get(i);
            crate::summary::RequestSummary {
                name: name.clone(),
                requests: st.map_or(0, |s| s.requests),
                failures: st.map_or(0, |s| s.failures),
                latency_ms: st.and_then(|s| crate::summary::Latency::of(&s.latency)),
            }
        })
        .collect();
    let checked: Vec<Checked> = a
        .thresholds
        .iter()
        .map(|t| t.check(&summary, &outcome.recorder.latency))
        .collect();

    let mut report = sre_core::Report::new("chaos-load", "run", now);
    let mut target = serde_json::Map::new();
    target.insert("url".into(), crate::shown_url(&shape.url).into());
    if let Some(p) = &a.scenario {
        target.insert("scenario".into(), p.display().to_string().into());
    }
    target.insert("method".into(), a.method.to_ascii_uppercase().into());
    target.insert("model".into(), model.into());
    target.insert("concurrency".into(), concurrency.into());
    if a.http2 {
        target.insert("http2".into(), true.into());
    }
    if a.streams > 1 {
        target.insert("streams".into(), a.streams.into());
    }
    target.insert("redirects".into(), a.redirects.into());
    target.insert("threads".into(), threads.into());
    match stop_at {
        Stop::Duration(d) => target.insert("durationSeconds".into(), d.as_secs_f64().into()),
        Stop::Requests(n) => target.insert("requests".into(), n.into()),
    };
    if let Some(r) = requested {
        target.insert("rate".into(), r.into());
    }
    report.target = target;
    if !a.thresholds.is_empty() {
        report.add_checks(&[CL101]);
    }
    for c in &checked {
        if let Some(f) = c.finding(&crate::shown_url(&shape.url)) {
            report.push(f);
        }
    }
    if let Some(e) = &outcome.jtl_error {
        report.error("jtl", e.clone());
    }
    if outcome.interrupted {
        report.error(
            "run",
            "interrupted (Ctrl-C or SIGTERM) before the end: the numbers cover the part that ran",
        );
    }
    report.finish();
    Measured {
        report,
        summary,
        checked,
    }
}

fn run_load(
    a: &RunArgs,
    global: &GlobalArgs,
    config: &Config,
    out: &mut Out<'_>,
) -> anyhow::Result<ExitStatus> {
    let common = config.common(global, &a.report)?;
    use std::io::IsTerminal as _;
    let view = if a.quiet || !std::io::stderr().is_terminal() {
        LiveView::Quiet
    } else if std::io::stdout().is_terminal() {
        LiveView::Dashboard
    } else {
        LiveView::Line
    };
    let m = measure(a, view, true)?;
    write_measured(&m, &common, out)
}

/// Writes a run's (or a merge's) report in the chosen format.
fn write_measured(
    m: &Measured,
    common: &sre_cli::config::Common,
    out: &mut Out<'_>,
) -> anyhow::Result<ExitStatus> {
    let text = match common.output.value {
        Format::Json => Some(m.json()?),
        Format::Table => Some(crate::text::table(&m.report, &m.summary, &m.checked)),
        Format::Markdown => Some(crate::text::markdown(&m.report, &m.summary, &m.checked)),
        Format::Html => Some(crate::html::render(&m.report, &m.summary)),
        _ => None,
    };
    finish(&m.report, text, common, out)
}

/// Writes `text` (or, for the other formats, the report through the shared renderers) and
/// gives the exit status from `--fail-on`.
pub(crate) fn finish(
    report: &sre_core::Report,
    text: Option<String>,
    common: &sre_cli::config::Common,
    out: &mut Out<'_>,
) -> anyhow::Result<ExitStatus> {
    let Some(t) = text else {
        return sre_cli::output::emit(report, common, out);
    };
    match &common.output_file {
        Some(p) => sre_cli::output::write_atomic(p, t.as_bytes())?,
        None => out.write(t.as_bytes())?,
    }
    Ok(if report.fails(common.fail_on.value.threshold()) {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}
