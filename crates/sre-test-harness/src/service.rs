//! Real services for tests: started on a free loopback port with their own temporary
//! directory, waited for until ready, and killed by process id when the test ends.
//!
//! The child is killed from [`Drop`], so a failing (panicking) test stops its services too.
//! Nothing here ever stops a process by name: other tests, and other people's services on the
//! same machine, are left alone.

use std::fs::{self, File};
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::program::require_program_in;

/// How long [`Service::start`] waits for readiness unless [`ServiceSpec::startup_timeout`]
/// says otherwise.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// How many lines of the service's log a failure message shows.
const LOG_TAIL_LINES: usize = 40;

/// How often readiness is probed while a service starts.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// Timeout of one HTTP request made by [`Service::get`].
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How [`Service::start`] decides that a service is ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ready {
    /// `GET http://127.0.0.1:{port}{path}` answers with `expect_status`.
    Http {
        /// Path and query, starting with `/`.
        path: String,
        /// The status code that means ready.
        expect_status: u16,
    },
    /// A TCP connection to the port succeeds.
    Tcp,
}

impl Ready {
    /// Ready when `GET path` answers 200.
    pub fn http(path: impl Into<String>) -> Self {
        Self::Http {
            path: path.into(),
            expect_status: 200,
        }
    }
}

/// What to start and how to tell it is ready.
///
/// In arguments, environment values and file contents, `{port}` is replaced with the port
/// chosen for the service and `{dir}` with its temporary directory. The process runs in that
/// directory.
#[derive(Clone, Debug)]
pub struct ServiceSpec {
    /// Program name (looked up like [`crate::require_program`]) or path.
    pub program: String,
    /// Debian package that provides the program, named when it is missing.
    pub package: String,
    /// Directories searched after `PATH`, such as `/usr/lib/postgresql/*/bin`.
    pub search_dirs: Vec<String>,
    /// Arguments, with placeholders.
    pub args: Vec<String>,
    /// Environment variables set for the process (values with placeholders).
    pub env: Vec<(String, String)>,
    /// Files written into the directory before the start: relative path and contents (with
    /// placeholders).
    pub files: Vec<(String, String)>,
    /// Commands run in the directory, in order, after the files are written and before
    /// the start: `(program, Debian package, arguments with placeholders)`. A failing one
    /// fails the start with its output.
    pub setup: Vec<(String, String, Vec<String>)>,
    /// The readiness check.
    pub ready: Ready,
    /// How long to wait for readiness before failing.
    pub startup_timeout: Duration,
}

impl ServiceSpec {
    /// A service run as `program` (provided by Debian package `package`), ready when its port
    /// accepts TCP connections.
    pub fn new(program: impl Into<String>, package: impl Into<String>) -> Self {
        Self {
            program: program.into(),
            package: package.into(),
            search_dirs: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            files: Vec::new(),
            setup: Vec::new(),
            ready: Ready::Tcp,
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends several arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Writes a file (path relative to the service's directory) before the start.
    pub fn file(mut self, path: impl Into<String>, contents: impl Into<String>) -> Self {
        self.files.push((path.into(), contents.into()));
        self
    }

    /// Runs `program` (from Debian package `package`) with `args` in the directory before
    /// the start, e.g. to load data into it.
    pub fn setup<I, S>(mut self, program: &str, package: &str, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.setup.push((
            program.to_string(),
            package.to_string(),
            args.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// Also searches `dir` (which may hold a `*`) for the program.
    pub fn search_dir(mut self, dir: impl Into<String>) -> Self {
        self.search_dirs.push(dir.into());
        self
    }

    /// Sets the readiness check.
    pub fn ready(mut self, ready: Ready) -> Self {
        self.ready = ready;
        self
    }

    /// Sets how long to wait for readiness.
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }
}

/// A running service; dropping it kills the process and removes its directory.
#[derive(Debug)]
pub struct Service {
    // Declared first so that it is dropped first: the process dies before its directory
    // is removed.
    child: KillOnDrop,
    program: String,
    port: u16,
    log_path: PathBuf,
    agent: ureq::Agent,
    dir: TempDir,
}

impl Service {
    /// Starts the service described by `spec` and waits until it is ready.
    ///
    /// If the port found free was taken by someone else before the service bound it (the
    /// log says "address already in use"), the start is retried on another port.
    ///
    /// # Panics
    ///
    /// If the program is missing, cannot be started, exits, or is not ready in time; the
    /// message holds the command, the exit status and the last lines of the service's log.
    #[track_caller]
    pub fn start(spec: ServiceSpec) -> Service {
        const ATTEMPTS: u32 = 3;
        let search_dirs: Vec<&str> = spec.search_dirs.iter().map(String::as_str).collect();
        let program = require_program_in(&spec.program, &spec.package, &search_dirs);
        let name = program.file_name().map_or_else(
            || spec.program.clone(),
            |n| n.to_string_lossy().into_owned(),
        );
        let mut dir = tempfile::Builder::new()
            .prefix(&format!("sre-test-{name}-"))
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory for {name}: {e}"));
        let log_path = dir.path().join(format!("{name}.log"));

        let mut attempt = 1;
        loop {
            let port = free_port();
            let fill = |s: &str| substitute(s, port, dir.path());
            for (path, contents) in &spec.files {
                let path = dir.path().join(path);
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent)
                        .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
                }
                fs::write(&path, fill(contents))
                    .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            }
            if attempt == 1 {
                for (setup_program, package, setup_args) in &spec.setup {
                    let p = require_program_in(setup_program, package, &search_dirs);
                    let a: Vec<String> = setup_args.iter().map(|x| fill(x)).collect();
                    let out = Command::new(&p)
                        .args(&a)
                        .current_dir(dir.path())
                        .stdin(Stdio::null())
                        .output()
                        .unwrap_or_else(|e| {
                            panic!("cannot run `{} {}`: {e}", p.display(), a.join(" "))
                        });
                    if !out.status.success() {
                        panic!(
                            "setup of `{name}` failed: `{} {}` exited {}:\n{}{}",
                            p.display(),
                            a.join(" "),
                            out.status,
                            String::from_utf8_lossy(&out.stdout),
                            String::from_utf8_lossy(&out.stderr)
                        );
                    }
                }
            }
            let args: Vec<String> = spec.args.iter().map(|a| fill(a)).collect();
            let command_line = format!("{} {}", program.display(), args.join(" "));

            let log = File::create(&log_path)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", log_path.display()));
            let log_err = log
                .try_clone()
                .unwrap_or_else(|e| panic!("cannot reopen {}: {e}", log_path.display()));
            let mut cmd = Command::new(&program);
            cmd.args(&args)
                .envs(spec.env.iter().map(|(k, v)| (k, fill(v))))
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_err);
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start `{command_line}`: {e}"));

            let mut service = Service {
                child: KillOnDrop(child),
                program: name.clone(),
                port,
                log_path: log_path.clone(),
                agent: agent(REQUEST_TIMEOUT),
                dir,
            };
            let failure = match service.wait_ready(&spec.ready, spec.startup_timeout) {
                Ok(()) => return service,
                Err(failure) => failure,
            };
            let log = service.log();
            let pid = service.pid();
            let port_taken = matches!(failure, Failure::Exited(_))
                && log.to_lowercase().contains("address already in use");
            if port_taken && attempt < ATTEMPTS {
                attempt += 1;
                dir = service.into_dir();
                continue;
            }
            let what = match &failure {
                Failure::Exited(status) => format!("exited ({status}) before it was ready"),
                Failure::NotReady(last) => format!(
                    "was not ready within {:?} ({}; last probe: {last})",
                    spec.startup_timeout,
                    describe_ready(&spec.ready, port),
                ),
            };
            // Kill the process before panicking so that the message is final.
            drop(service);
            panic!(
                "service `{name}` (pid {pid}, port {port}) {what}\ncommand: {command_line}\n\
                 last {LOG_TAIL_LINES} lines of its log:\n{}",
                tail(&log, LOG_TAIL_LINES)
            );
        }
    }

    /// The port the service listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:{port}`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `http://127.0.0.1:{port}`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The service's own temporary directory (removed on drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The process id of the service.
    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// Where the service's standard output and standard error go.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Everything the service has written to its log so far.
    pub fn log(&self) -> String {
        fs::read(&self.log_path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// `GET {url}{path}` (`path` with or without its leading `/`): the status code and body,
    /// whatever the status.
    ///
    /// # Panics
    ///
    /// If the request fails (connection refused, timeout), with the tail of the service's log.
    #[track_caller]
    pub fn get(&self, path: &str) -> (u16, String) {
        let slash = if path.starts_with('/') { "" } else { "/" };
        let url = format!("{}{slash}{path}", self.url());
        match request(&self.agent, &url) {
            Ok(answer) => answer,
            Err(e) => panic!(
                "GET {url} failed: {e}\nlast {LOG_TAIL_LINES} lines of the {} log:\n{}",
                self.program,
                tail(&self.log(), LOG_TAIL_LINES)
            ),
        }
    }

    /// `GET {url}{path}`, which must answer 200 with JSON.
    ///
    /// # Panics
    ///
    /// If the request fails, the status is not 200, or the body is not JSON.
    #[track_caller]
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path} answered {status}: {body}");
        serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("GET {path} answered no JSON ({e}): {body}"))
    }

    fn wait_ready(&mut self, ready: &Ready, timeout: Duration) -> Result<(), Failure> {
        let deadline = Instant::now() + timeout;
        let probe_agent = agent(Duration::from_secs(1));
        loop {
            match self.child.0.try_wait() {
                Ok(Some(status)) => return Err(Failure::Exited(status)),
                Ok(None) => {}
                Err(e) => return Err(Failure::NotReady(format!("cannot wait for it: {e}"))),
            }
            match probe(ready, self.addr(), &probe_agent) {
                Ok(()) => return Ok(()),
                Err(why) if Instant::now() >= deadline => return Err(Failure::NotReady(why)),
                Err(_) => thread::sleep(POLL_INTERVAL),
            }
        }
    }

    /// Kills the process and keeps the directory, for another attempt.
    fn into_dir(self) -> TempDir {
        let Service { child, dir, .. } = self;
        drop(child);
        dir
    }
}

/// Why a start failed.
enum Failure {
    Exited(ExitStatus),
    NotReady(String),
}

/// Owns the child process; kills and reaps it when dropped.
#[derive(Debug)]
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // SIGTERM first, so that a server with children stops them: nginx's master killed
        // with SIGKILL leaves its worker running, holding the port, for ever. SIGKILL after
        // 5 s. kill() fails only if the process was already reaped; wait() reaps it so that
        // no zombie outlives the test.
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &self.0.id().to_string()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(self.0.try_wait(), Ok(None)) && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(10));
            }
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Prometheus with an empty TSDB, ready to answer queries.
///
/// `config_yaml` is the whole `prom.yml` (written into the service's directory, with
/// `{port}` and `{dir}` replaced); without it, the configuration has a 15 s global scrape
/// interval and no scrape targets. `extra_args` are appended to the command line (with
/// placeholders), for example `--web.enable-admin-api`.
///
/// # Panics
///
/// Like [`Service::start`]; the `prometheus` Debian package must be installed.
#[track_caller]
pub fn prometheus(config_yaml: Option<&str>, extra_args: &[&str]) -> Service {
    const DEFAULT_CONFIG: &str = "global:\n  scrape_interval: 15s\n";
    let spec = ServiceSpec::new("prometheus", "prometheus")
        .file("prom.yml", config_yaml.unwrap_or(DEFAULT_CONFIG))
        .args([
            "--config.file={dir}/prom.yml",
            "--storage.tsdb.path={dir}/data",
            "--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=100y",
        ])
        .args(extra_args.iter().copied())
        .ready(Ready::http("/-/ready"));
    Service::start(spec)
}

/// Prometheus holding a backfilled history: `openmetrics` (OpenMetrics text ending with
/// `# EOF`, samples older than about three hours) is written into its TSDB with
/// `promtool tsdb create-blocks-from openmetrics` before the start; `rules` (a rule file)
/// is loaded when given. Queries over the backfilled range work at once. The lookback delta
/// is 59 s, so histories must be written every minute, on whole minutes, and queried at a
/// one-minute step.
#[track_caller]
pub fn prometheus_with_history(openmetrics: &str, rules: Option<&str>) -> Service {
    let config = match rules {
        Some(_) => "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\nrule_files:\n  - {dir}/rules.yml\n",
        None => "global:\n  scrape_interval: 15s\n",
    };
    let mut spec = ServiceSpec::new("prometheus", "prometheus")
        .file("prom.yml", config)
        .file("history.om", openmetrics)
        .setup(
            "promtool",
            "prometheus",
            [
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                "{dir}/history.om",
                "{dir}/data",
            ],
        )
        .args([
            "--config.file={dir}/prom.yml",
            "--storage.tsdb.path={dir}/data",
            "--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=100y",
            // Backfilled series carry no staleness markers, so a resolved alert would stay
            // visible for the default 5-minute lookback; just under a minute (the histories'
            // step; the lookback includes its start) makes each sample visible at exactly
            // one evaluation, as live ALERTS series are, being marked stale on resolution.
            "--query.lookback-delta=59s",
        ])
        .ready(Ready::http("/-/ready"));
    if let Some(r) = rules {
        spec = spec.file("rules.yml", r);
    }
    Service::start(spec)
}

/// VictoriaMetrics (single node) with an empty store. Lookback is fixed to the query's step
/// (`-search.setLookbackToStep`), so a sample is seen at one evaluation, as in
/// [`prometheus_with_history`]. Import data with `POST /api/v1/import/prometheus` and make
/// it queryable at once with `GET /internal/force_flush`.
#[track_caller]
pub fn victoria_metrics() -> Service {
    let spec = ServiceSpec::new("victoria-metrics", "victoria-metrics")
        .args([
            "-httpListenAddr=127.0.0.1:{port}",
            "-storageDataPath={dir}/data",
            "-retentionPeriod=100y",
            "-search.setLookbackToStep",
            "-search.disableCache",
        ])
        .ready(Ready::http("/health"));
    Service::start(spec)
}

/// Alertmanager with a single `null` receiver and gossip turned off. API v2 under
/// `/api/v2/`: post alerts to `/api/v2/alerts`, silences to `/api/v2/silences`.
#[track_caller]
pub fn alertmanager() -> Service {
    let spec = ServiceSpec::new("prometheus-alertmanager", "prometheus-alertmanager")
        .file(
            "am.yml",
            // NodeDown goes to `pager` grouped per instance (a fragmented grouping for
            // AA110); everything else to `null`, in one group.
            "route:\n  receiver: \"null\"\n  group_wait: 1s\n  routes:\n    - receiver: pager\n      matchers: [alertname=\"NodeDown\"]\n      group_by: [alertname, instance]\n      group_wait: 1s\nreceivers:\n  - name: \"null\"\n  - name: pager\n",
        )
        .args([
            "--config.file={dir}/am.yml",
            "--storage.path={dir}/data",
            "--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ])
        .ready(Ready::http("/-/ready"));
    Service::start(spec)
}

/// A real SMTP server (aiosmtpd) that requires STARTTLS and then AUTH as `user`/`password`.
/// Its certificate is signed by a CA made with `openssl` at start; the CA is
/// `{dir}/ca.pem` ([`smtp_ca_pem`]). Each accepted message is written to
/// `{dir}/mail/<n>.json` ([`smtp_messages`]): `mailFrom`, `rcptTos`, `tls`,
/// `authenticated`, `login` and `data` (the message as sent).
pub fn smtp_server(user: &str, password: &str) -> Service {
    let spec = ServiceSpec::new("python3", "python3 (and pip package aiosmtpd)")
        .file("smtp_server.py", include_str!("smtp_server.py"))
        .setup(
            "python3",
            "python3 (and pip package aiosmtpd)",
            ["-c", "import aiosmtpd"],
        );
    let spec = with_test_certificates(spec)
        .env("SMTP_USER", user)
        .env("SMTP_PASSWORD", password)
        .args(["smtp_server.py", "{port}"]);
    Service::start(spec)
}

/// The PEM of the CA that signed [`smtp_server`]'s certificate.
pub fn smtp_ca_pem(server: &Service) -> PathBuf {
    server.dir().join("ca.pem")
}

/// The messages [`smtp_server`] accepted so far, in order.
pub fn smtp_messages(server: &Service) -> Vec<serde_json::Value> {
    let dir = server.dir().join("mail");
    let mut out = Vec::new();
    for n in 0.. {
        match std::fs::read_to_string(dir.join(format!("{n}.json"))) {
            Ok(text) => out.push(
                serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("mail/{n}.json from the SMTP server: {e}")),
            ),
            Err(_) => break,
        }
    }
    out
}

/// nginx (`nginx-light`) with one worker, answering `200 ok` at `/`, `503` at `/503`, and
/// logging every request to `{dir}/access.log` ([`nginx_requests`]). With `tls`, it listens
/// with TLS (a certificate for 127.0.0.1 and localhost signed by a CA made with openssl at
/// start, `{dir}/ca.pem`) and speaks HTTP/1.1 only.
pub fn nginx(tls: bool) -> Service {
    nginx_with(tls, false)
}

/// [`nginx`] that speaks HTTP/2: over TLS with ALPN `h2` (and HTTP/1.1), or over plain TCP
/// with prior knowledge (h2c) only.
pub fn nginx_http2(tls: bool) -> Service {
    nginx_with(tls, true)
}

fn nginx_with(tls: bool, http2: bool) -> Service {
    let h2 = if http2 { " http2" } else { "" };
    let listen = if tls {
        format!("listen 127.0.0.1:{{port}} ssl{h2};\n    ssl_certificate {{dir}}/cert.pem;\n    ssl_certificate_key {{dir}}/key.pem;")
    } else {
        format!("listen 127.0.0.1:{{port}}{h2};")
    };
    let conf = format!(
        "worker_processes 1;\ndaemon off;\npid {{dir}}/nginx.pid;\nerror_log {{dir}}/error.log;\nevents {{ worker_connections 4096; }}\nhttp {{\n  access_log {{dir}}/access.log;\n  client_body_temp_path {{dir}}/body;\n  proxy_temp_path {{dir}}/proxy;\n  fastcgi_temp_path {{dir}}/fastcgi;\n  uwsgi_temp_path {{dir}}/uwsgi;\n  scgi_temp_path {{dir}}/scgi;\n  server {{\n    {listen}\n    location / {{ return 200 \"ok\\n\"; }}\n    location /503 {{ return 503 \"unavailable\\n\"; }}\n    location = /old {{ return 301 /; }}\n    location /files/ {{ root {{dir}}; }}\n  }}\n}}\n"
    );
    let mut spec = ServiceSpec::new("nginx", "nginx-light")
        .search_dir("/usr/sbin")
        .file("nginx.conf", conf)
        .args([
            "-c",
            "{dir}/nginx.conf",
            "-p",
            "{dir}",
            "-e",
            "{dir}/error.log",
        ]);
    if tls {
        spec = with_test_certificates(spec);
    }
    Service::start(spec)
}

/// A PostgreSQL server (Debian `postgresql`) on a loopback port, trusting every local
/// connection as user `postgres`, its socket in its directory. It runs as the `postgres`
/// user (it refuses root), through `setpriv`, which execs it: the harness's SIGTERM
/// reaches the postmaster itself.
pub fn postgres() -> Service {
    const DIRS: &[&str] = &["/usr/lib/postgresql/*/bin"];
    let initdb = crate::program::require_program_in("initdb", "postgresql", DIRS);
    let server = crate::program::require_program_in("postgres", "postgresql", DIRS);
    let as_postgres = ["--reuid=postgres", "--regid=postgres", "--init-groups"];
    let spec = ServiceSpec::new("setpriv", "util-linux")
        .setup("chown", "coreutils", ["postgres", "{dir}"])
        .setup(
            "setpriv",
            "util-linux",
            as_postgres.iter().map(|s| s.to_string()).chain([
                initdb.display().to_string(),
                "--no-sync".into(),
                "-D".into(),
                "{dir}/data".into(),
                "-A".into(),
                "trust".into(),
                "-U".into(),
                "postgres".into(),
            ]),
        )
        .args(as_postgres)
        .args([
            server.display().to_string(),
            "-D".into(),
            "{dir}/data".into(),
            "-p".into(),
            "{port}".into(),
            "-k".into(),
            "{dir}".into(),
            "-c".into(),
            "listen_addresses=127.0.0.1".into(),
            "-c".into(),
            "fsync=off".into(),
        ]);
    Service::start(spec)
}

/// Requests nginx has logged so far.
pub fn nginx_requests(nginx: &Service) -> usize {
    std::fs::read_to_string(nginx.dir().join("access.log"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// Adds the setup steps that make `{dir}/ca.pem` (a CA) and `{dir}/cert.pem` and
/// `{dir}/key.pem` (a server certificate for 127.0.0.1 and localhost signed by it) with
/// openssl.
fn with_test_certificates(spec: ServiceSpec) -> ServiceSpec {
    const EXT: &str = "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n";
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    spec.file("ext.cnf", EXT)
        .setup(
            "openssl",
            "openssl",
            ["req", "-x509"].into_iter().chain(ec).chain([
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=sre-tests CA",
            ]),
        )
        .setup(
            "openssl",
            "openssl",
            ["req"].into_iter().chain(ec).chain([
                "-keyout",
                "key.pem",
                "-out",
                "req.csr",
                "-subj",
                "/CN=localhost",
            ]),
        )
        .setup(
            "openssl",
            "openssl",
            [
                "x509",
                "-req",
                "-in",
                "req.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
                "-out",
                "cert.pem",
            ],
        )
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("cannot bind a free port on 127.0.0.1: {e}"))
}

fn substitute(s: &str, port: u16, dir: &Path) -> String {
    s.replace("{port}", &port.to_string())
        .replace("{dir}", &dir.to_string_lossy())
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        // Non-2xx answers are answers, not errors: tests look at the status.
        .http_status_as_error(false)
        // A proxy from the environment must never see loopback test traffic.
        .proxy(None)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

fn request(agent: &ureq::Agent, url: &str) -> Result<(u16, String), ureq::Error> {
    let mut response = agent.get(url).call()?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_to_string()?;
    Ok((status, body))
}

fn probe(ready: &Ready, addr: SocketAddr, agent: &ureq::Agent) -> Result<(), String> {
    match ready {
        Ready::Tcp => TcpStream::connect_timeout(&addr, Duration::from_secs(1))
            .map(drop)
            .map_err(|e| match e.kind() {
                ErrorKind::ConnectionRefused => "connection refused".to_owned(),
                _ => e.to_string(),
            }),
        Ready::Http {
            path,
            expect_status,
        } => match request(agent, &format!("http://{addr}{path}")) {
            Ok((status, _)) if status == *expect_status => Ok(()),
            Ok((status, body)) => Err(format!("status {status}: {}", body.trim())),
            Err(e) => Err(e.to_string()),
        },
    }
}

fn describe_ready(ready: &Ready, port: u16) -> String {
    match ready {
        Ready::Tcp => format!("waiting for TCP connections on 127.0.0.1:{port}"),
        Ready::Http {
            path,
            expect_status,
        } => format!("waiting for status {expect_status} from GET http://127.0.0.1:{port}{path}"),
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    if all.is_empty() {
        return "(the log is empty)".to_owned();
    }
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitute_fills_port_and_dir() {
        let got = substitute("--a=127.0.0.1:{port} --b={dir}/x", 9090, Path::new("/t/d"));
        assert_eq!(got, "--a=127.0.0.1:9090 --b=/t/d/x");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }
}
