//! Live mode: reading a cluster through its API server, with kube-rs.
//!
//! kube-rs does the access: kubeconfig discovery and merging (`--kubeconfig`, `KUBECONFIG`
//! with several files, `~/.kube/config`), contexts, the in-cluster service account, bearer
//! tokens, client certificates, exec credential plugins, and TLS verification (always on).
//! On top of it this module adds what a read of a large, busy cluster needs: paginated lists
//! (`limit`/`continue`), a bound on concurrent requests, retries with backoff on 429 and
//! 5xx honouring `Retry-After`, a timeout per request and a deadline for the whole read,
//! and RBAC-aware degradation (a 403 costs that resource, or that namespace, and is
//! reported; the rest is read).
//!
//! Lists are fetched as raw JSON pages and parsed by the snapshot loader's own parser
//! ([`snapshot::parse_bytes`]), not into k8s-openapi structs: the same bytes give the same
//! model whether they come from the API server or from a file (which is what makes live
//! and snapshot findings identical), pages can be written unchanged by `snapshot`, and the
//! lean model parses 150,000 pods several times faster than fully typed objects.

use crate::checks::Command;
use crate::model::{Capture, CaptureError, CapturedFor, Cluster, HealthProbe};
use crate::snapshot;
use bytes::Bytes;
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// A resource type the checks read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiResource {
    pub plural: &'static str,
    /// `/api/v1` or `/apis/GROUP/VERSION`.
    pub prefix: &'static str,
    pub namespaced: bool,
}

const fn res(plural: &'static str, prefix: &'static str, namespaced: bool) -> ApiResource {
    ApiResource {
        plural,
        prefix,
        namespaced,
    }
}

pub const NAMESPACES: ApiResource = res("namespaces", "/api/v1", false);
pub const NODES: ApiResource = res("nodes", "/api/v1", false);
pub const PODS: ApiResource = res("pods", "/api/v1", true);
pub const EVENTS: ApiResource = res("events", "/api/v1", true);
pub const SERVICE_ACCOUNTS: ApiResource = res("serviceaccounts", "/api/v1", true);
pub const RESOURCE_QUOTAS: ApiResource = res("resourcequotas", "/api/v1", true);
pub const LIMIT_RANGES: ApiResource = res("limitranges", "/api/v1", true);
pub const DEPLOYMENTS: ApiResource = res("deployments", "/apis/apps/v1", true);
pub const STATEFUL_SETS: ApiResource = res("statefulsets", "/apis/apps/v1", true);
pub const DAEMON_SETS: ApiResource = res("daemonsets", "/apis/apps/v1", true);
pub const REPLICA_SETS: ApiResource = res("replicasets", "/apis/apps/v1", true);
pub const JOBS: ApiResource = res("jobs", "/apis/batch/v1", true);
pub const CRON_JOBS: ApiResource = res("cronjobs", "/apis/batch/v1", true);
pub const PDBS: ApiResource = res("poddisruptionbudgets", "/apis/policy/v1", true);
pub const NETWORK_POLICIES: ApiResource =
    res("networkpolicies", "/apis/networking.k8s.io/v1", true);
pub const ROLES: ApiResource = res("roles", "/apis/rbac.authorization.k8s.io/v1", true);
pub const ROLE_BINDINGS: ApiResource =
    res("rolebindings", "/apis/rbac.authorization.k8s.io/v1", true);
pub const CLUSTER_ROLES: ApiResource =
    res("clusterroles", "/apis/rbac.authorization.k8s.io/v1", false);
pub const CLUSTER_ROLE_BINDINGS: ApiResource = res(
    "clusterrolebindings",
    "/apis/rbac.authorization.k8s.io/v1",
    false,
);
pub const METRICS_GROUP: &str = "/apis/metrics.k8s.io/v1beta1";
pub const NODE_METRICS: ApiResource = res("nodes", METRICS_GROUP, false);
pub const POD_METRICS: ApiResource = res("pods", METRICS_GROUP, true);

/// The resource types a command's checks read (Namespaces are always read: their
/// `sre.dev/ignore` annotations apply to every command).
pub fn resources_for(command: Command) -> Vec<ApiResource> {
    let owners = [REPLICA_SETS, JOBS];
    let workloads = [DEPLOYMENTS, STATEFUL_SETS, DAEMON_SETS, CRON_JOBS];
    let audit = [
        PDBS,
        NETWORK_POLICIES,
        ROLES,
        ROLE_BINDINGS,
        CLUSTER_ROLES,
        CLUSTER_ROLE_BINDINGS,
        SERVICE_ACCOUNTS,
        RESOURCE_QUOTAS,
        LIMIT_RANGES,
    ];
    let mut v = vec![NODES, PODS];
    match command {
        Command::Healthcheck => {}
        Command::Diagnostics => {
            v.push(EVENTS);
            v.extend(owners);
        }
        Command::Audit => {
            v.extend(owners);
            v.extend(workloads);
            v.extend(audit);
        }
        Command::Check => {
            v.push(EVENTS);
            v.extend(owners);
            v.extend(workloads);
            v.extend(audit);
        }
    }
    v
}

/// How to read a cluster.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// `--kubeconfig`; `None`: `KUBECONFIG` (several files merged), `~/.kube/config`, then
    /// the in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// Only this namespace's namespaced objects (`None`: all namespaces).
    pub namespace: Option<String>,
    /// Timeout of one request (connecting included).
    pub timeout: Duration,
    /// Time allowed for reading one whole cluster.
    pub deadline: Duration,
    /// Requests in flight at once, per cluster.
    pub concurrency: usize,
    /// Items per list page.
    pub page_size: u32,
    /// Keep the raw pages (for `snapshot`).
    pub keep_pages: bool,
    /// Show a progress bar on stderr (when it is a terminal, outside CI): set for a
    /// single cluster only, since bars of concurrent reads would overwrite each other.
    pub progress: bool,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            kubeconfig: None,
            namespace: None,
            timeout: Duration::from_secs(30),
            deadline: Duration::from_secs(300),
            concurrency: 8,
            page_size: 500,
            keep_pages: false,
            progress: false,
        }
    }
}

/// Why a cluster could not be read at all. Messages never contain credentials.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(
        "no cluster to connect to: no kubeconfig at $KUBECONFIG or ~/.kube/config, and not running in a pod\n  hint: pass --kubeconfig FILE or --context NAME, or read a snapshot with --snapshot PATH"
    )]
    NoConfig,
    #[error("cannot load the kubeconfig {path}: {message}\n  hint: check the file with `kubectl --kubeconfig {path} config view`")]
    Kubeconfig { path: String, message: String },
    #[error("context `{name}` is not in the kubeconfig; contexts: {available}\n  hint: list them with `kubectl config get-contexts`")]
    UnknownContext { name: String, available: String },
    #[error("the kubeconfig has no current context; contexts: {available}\n  hint: pass --context NAME or run `kubectl config use-context NAME`")]
    NoCurrentContext { available: String },
    #[error("cannot use context `{context}`: {message}")]
    Config { context: String, message: String },
    #[error("cannot reach the API server of context `{context}` at {url}: {message}\n  hint: is it the right context (`kubectl config current-context`)? Is the VPN or bastion up? Has the token expired? Try `kubectl --context {context} get --raw /livez`")]
    Unreachable {
        context: String,
        url: String,
        message: String,
    },
    #[error("the API server of context `{context}` at {url} rejected the credentials ({status}): {message}\n  hint: the token or client certificate may have expired; refresh the kubeconfig credentials (for example `aws eks update-kubeconfig`, `gcloud container clusters get-credentials`, `az aks get-credentials`)")]
    Unauthorized {
        context: String,
        url: String,
        status: u16,
        message: String,
    },
    #[error("nothing could be read from context `{context}` at {url}; the first refusal: {message}\n  hint: the credentials may lack read permissions: docs/k8s-doctor.md has a ClusterRole with exactly what k8s-doctor reads")]
    NothingReadable {
        context: String,
        url: String,
        message: String,
    },
    #[error("reading context `{context}` at {url} did not finish within the deadline of {deadline}\n  hint: raise --deadline, narrow the read with --namespace, or check the API server's load")]
    Deadline {
        context: String,
        url: String,
        deadline: String,
    },
}

/// A cluster to read: a kubeconfig context or the in-cluster service account.
#[derive(Clone)]
pub struct Target {
    /// The context name (`in-cluster` for the service account).
    pub context: String,
    /// The API server URL.
    pub server: String,
    config: kube::Config,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the config: it holds credentials.
        f.debug_struct("Target")
            .field("context", &self.context)
            .field("server", &self.server)
            .finish()
    }
}

/// Which contexts to read.
#[derive(Debug, Clone, Default)]
pub enum Contexts {
    /// The kubeconfig's current context (or the service account in a pod).
    #[default]
    Current,
    Named(Vec<String>),
    All,
}

/// One context to read, or why its kubeconfig entry is unusable (a missing certificate
/// file in one context must not stop the others from being read).
pub type TargetResult = (String, Result<Target, LiveError>);

/// Resolves the clusters to read from the kubeconfig (or the pod's service account).
pub async fn targets(opts: &LiveOptions, which: &Contexts) -> Result<Vec<TargetResult>, LiveError> {
    let Some((kubeconfig, source)) = read_kubeconfig(opts.kubeconfig.as_deref())? else {
        if matches!(which, Contexts::Current)
            && std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
        {
            let config = kube::Config::incluster().map_err(|e| LiveError::Config {
                context: "in-cluster".into(),
                message: error_chain(&e),
            })?;
            return Ok(vec![(
                "in-cluster".into(),
                Ok(target("in-cluster".into(), config, opts)),
            )]);
        }
        return Err(LiveError::NoConfig);
    };
    let available: Vec<String> = kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
    let shown = || {
        if available.is_empty() {
            "(none)".to_string()
        } else {
            available.join(", ")
        }
    };
    let names: Vec<String> = match which {
        Contexts::All => available.clone(),
        Contexts::Named(names) => {
            let mut names = names.clone();
            let mut seen = std::collections::HashSet::new();
            names.retain(|n| seen.insert(n.clone()));
            for n in &names {
                if !available.contains(n) {
                    return Err(LiveError::UnknownContext {
                        name: n.clone(),
                        available: shown(),
                    });
                }
            }
            names
        }
        Contexts::Current => match kubeconfig.current_context.clone().filter(|c| !c.is_empty()) {
            Some(c) if available.contains(&c) => vec![c],
            Some(c) => {
                return Err(LiveError::UnknownContext {
                    name: c,
                    available: shown(),
                })
            }
            None => return Err(LiveError::NoCurrentContext { available: shown() }),
        },
    };
    if names.is_empty() {
        return Err(LiveError::Kubeconfig {
            path: source,
            message: "it defines no contexts".into(),
        });
    }
    let mut out = Vec::new();
    for name in names {
        let options = KubeConfigOptions {
            context: Some(name.clone()),
            ..KubeConfigOptions::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &options)
            .await
            .map_err(|e| LiveError::Config {
                context: name.clone(),
                message: error_chain(&e),
            });
        out.push((name.clone(), config.map(|c| target(name, c, opts))));
    }
    Ok(out)
}

fn target(context: String, mut config: kube::Config, opts: &LiveOptions) -> Target {
    // Our own retry loop honours the deadline; kube's would wait up to 1,000 s.
    config.default_retry = false;
    config.connect_timeout = Some(opts.timeout);
    config.read_timeout = None;
    let server = shown_url(&config.cluster_url);
    Target {
        context,
        server,
        config,
    }
}

/// The API server URL as shown in messages and reports: without any `user:password@`.
fn shown_url(uri: &http::Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("https");
    let host = uri.host().unwrap_or("");
    let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
    let path = uri.path().trim_end_matches('/');
    format!("{scheme}://{host}{port}{path}")
}

/// The kubeconfig and where it came from; `None` when there is none.
fn read_kubeconfig(path: Option<&Path>) -> Result<Option<(Kubeconfig, String)>, LiveError> {
    let read = |p: &Path| {
        Kubeconfig::read_from(p).map_err(|e| LiveError::Kubeconfig {
            path: p.display().to_string(),
            message: error_chain(&e),
        })
    };
    if let Some(p) = path {
        return read(p).map(|k| Some((k, p.display().to_string())));
    }
    if let Some(value) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let paths: Vec<PathBuf> = std::env::split_paths(&value)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        let shown = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":");
        let mut merged: Option<Kubeconfig> = None;
        // As kubectl: missing files in the list are skipped, unreadable ones are errors.
        for p in paths.iter().filter(|p| p.exists()) {
            let k = read(p)?;
            merged = Some(match merged {
                None => k,
                Some(m) => m.merge(k).map_err(|e| LiveError::Kubeconfig {
                    path: shown.clone(),
                    message: error_chain(&e),
                })?,
            });
        }
        return Ok(merged.map(|k| (k, shown)));
    }
    let Some(home) = dirs::home_dir() else {
        return Ok(None);
    };
    let default = home.join(".kube").join("config");
    if default.is_file() {
        read(&default).map(|k| Some((k, default.display().to_string())))
    } else {
        Ok(None)
    }
}

/// What a live read returns.
pub struct Read {
    pub target: Target,
    pub cluster: Cluster,
    /// Raw pages as `(file name, JSON)`, when [`LiveOptions::keep_pages`] is set.
    pub pages: Vec<(String, Bytes)>,
    /// The `/version` answer, raw.
    pub version: Option<Bytes>,
    pub requests: u64,
    pub retries: u64,
    pub elapsed: Duration,
}

/// Reads the objects `command` needs from one cluster, within the deadline.
pub async fn read(target: Target, command: Command, opts: &LiveOptions) -> Result<Read, LiveError> {
    let started = std::time::Instant::now();
    let deadline = opts.deadline;
    let (context, url) = (target.context.clone(), target.server.clone());
    match tokio::time::timeout(deadline, read_inner(target, command, opts)).await {
        Ok(r) => r.map(|mut r| {
            r.elapsed = started.elapsed();
            r
        }),
        Err(_) => Err(LiveError::Deadline {
            context,
            url,
            deadline: humantime::format_duration(deadline).to_string(),
        }),
    }
}

async fn read_inner(
    target: Target,
    command: Command,
    opts: &LiveOptions,
) -> Result<Read, LiveError> {
    // Building the client may run an exec credential plugin, synchronously: on the
    // blocking pool it cannot stall the runtime, and the deadline still applies.
    let config = target.config.clone();
    let built = tokio::task::spawn_blocking(move || kube::Client::try_from(config))
        .await
        .map_err(|e| LiveError::Config {
            context: target.context.clone(),
            message: format!("building the client failed: {e}"),
        })?;
    let client = built.map_err(|e| LiveError::Config {
        context: target.context.clone(),
        message: error_chain(&e),
    })?;
    let fetcher = Arc::new(Fetcher {
        client,
        timeout: opts.timeout,
        page_size: opts.page_size.max(1),
        keep_pages: opts.keep_pages,
        net: Semaphore::new(opts.concurrency.max(1)),
        parse: Arc::new(Semaphore::new(
            std::thread::available_parallelism().map_or(2, |n| n.get()),
        )),
        requests: AtomicU64::new(0),
        retries: AtomicU64::new(0),
    });
    let unreachable = |message: String| LiveError::Unreachable {
        context: target.context.clone(),
        url: target.server.clone(),
        message,
    };
    // The version doubles as the ping: one attempt, the request timeout.
    let (status, body) = fetcher
        .get("/version", false)
        .await
        .map_err(|f| unreachable(f.to_string()))?;
    match status {
        200 => {}
        401 => {
            return Err(LiveError::Unauthorized {
                context: target.context.clone(),
                url: target.server.clone(),
                status,
                message: status_message(&body),
            })
        }
        403 => {
            return Err(LiveError::Unauthorized {
                context: target.context.clone(),
                url: target.server.clone(),
                status,
                message: format!(
                    "{} (even /version, which every user may read, is forbidden)",
                    status_message(&body)
                ),
            })
        }
        _ => {
            return Err(unreachable(format!(
                "GET /version answered {status} (the API server is up but failing): {}",
                status_message(&body)
            )))
        }
    }
    let version = serde_json::from_slice::<k8s_openapi::apimachinery::pkg::version::Info>(&body)
        .map_err(|e| unreachable(format!("GET /version did not return a version: {e}")))?;
    let mut errors = Vec::new();
    let (livez, readyz, metrics) = tokio::join!(
        fetcher.probe("/livez"),
        fetcher.probe("/readyz"),
        // No retries: a 503 here is the answer (metrics-server registered, backend down).
        fetcher.get(METRICS_GROUP, false),
    );
    let mut probe = |p: Result<Option<HealthProbe>, CaptureError>| match p {
        Ok(p) => p,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let (livez, readyz) = (probe(livez), probe(readyz));
    let metrics_api = match metrics {
        Ok((200, _)) => Some(true),
        // Not registered (404) or registered but its backend is down (503).
        Ok((404 | 503, _)) => Some(false),
        Ok((code, body)) => {
            errors.push(CaptureError {
                source: format!("{METRICS_GROUP} (discovery)"),
                message: format!("{code}: {}", status_message(&body)),
            });
            None
        }
        Err(f) => {
            errors.push(CaptureError {
                source: format!("{METRICS_GROUP} (discovery)"),
                message: f.to_string(),
            });
            None
        }
    };
    let ns = opts.namespace.as_deref();
    // Namespaces first: their names let a list forbidden cluster-wide fall back to one list
    // per namespace.
    let mut pages = Vec::new();
    let mut namespace_names: Vec<String> = Vec::new();
    match ns {
        Some(ns) => match fetcher.get(&format!("/api/v1/namespaces/{ns}"), true).await {
            Ok((200, body)) => {
                let p = fetcher.parse_page("namespaces".into(), body).await;
                pages.push(p);
            }
            Ok((code, body)) => errors.push(CaptureError {
                source: format!("namespace {ns} (get)"),
                message: format!("{code}: {}", status_message(&body)),
            }),
            Err(f) => errors.push(CaptureError {
                source: format!("namespace {ns} (get)"),
                message: f.to_string(),
            }),
        },
        None => match Arc::clone(&fetcher).list(NAMESPACES, None).await {
            Ok(p) => {
                for page in &p {
                    namespace_names.extend(page.cluster.namespace_names.iter().cloned());
                }
                pages.extend(p);
            }
            Err(f) => errors.push(CaptureError {
                source: "namespaces (list)".into(),
                message: f.to_string(),
            }),
        },
    }
    let mut wanted = resources_for(command);
    if metrics_api == Some(true) && !matches!(command, Command::Healthcheck) {
        wanted.extend([NODE_METRICS, POD_METRICS]);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, r) in wanted.iter().copied().enumerate() {
        let f = Arc::clone(&fetcher);
        // The healthcheck reads only kube-system's pods (its component and version
        // checks look at nothing else): on a large cluster that is a few pods, not all.
        let scope = if r == PODS && command == Command::Healthcheck {
            Some("kube-system".to_string())
        } else if r.namespaced {
            ns.map(str::to_string)
        } else {
            None
        };
        // A namespace-scoped `check` still needs kube-system's pods for its healthcheck
        // part: the control-plane components are cluster health, not namespace content.
        let extra_kube_system =
            r == PODS && command == Command::Check && ns.is_some_and(|n| n != "kube-system");
        let names = namespace_names.clone();
        tasks.spawn(async move {
            let mut out = Vec::new();
            let mut errs = Vec::new();
            read_resource(&f, r, scope.as_deref(), &names, &mut out, &mut errs).await;
            if extra_kube_system {
                read_resource(&f, r, Some("kube-system"), &names, &mut out, &mut errs).await;
            }
            (i, out, errs)
        });
    }
    let progress = if opts.progress {
        sre_cli::progress::Progress::new(tasks.len() as u64, &format!("reading {}", target.context))
    } else {
        sre_cli::progress::Progress::none()
    };
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        progress.inc(1);
        match joined {
            Ok(r) => results.push(r),
            Err(e) => errors.push(CaptureError {
                source: "internal".into(),
                message: format!("a list task failed: {e}"),
            }),
        }
    }
    progress.finish();
    // Merge in a fixed order, whatever order the lists finished in.
    results.sort_by_key(|(i, ..)| *i);
    if !results.is_empty()
        && results
            .iter()
            .all(|(_, p, e)| p.is_empty() && !e.is_empty())
    {
        let first = results
            .iter()
            .flat_map(|(_, _, e)| e)
            .next()
            .map_or(String::new(), |e| format!("{}: {}", e.source, e.message));
        return Err(LiveError::NothingReadable {
            context: target.context.clone(),
            url: target.server.clone(),
            message: first,
        });
    }
    for (_, p, e) in results {
        pages.extend(p);
        errors.extend(e);
    }
    let mut cluster = Cluster::default();
    let mut raw = Vec::new();
    for (n, page) in pages.into_iter().enumerate() {
        cluster.merge(page.cluster);
        if let Some(bytes) = page.raw {
            raw.push((format!("{:04}-{}.json", n + 1, page.name), bytes));
        }
    }
    cluster.dedup();
    cluster.server_version = Some(version.git_version.clone()).filter(|v| !v.is_empty());
    cluster.capture = Some(Capture {
        context: target.context.clone(),
        livez,
        readyz,
        metrics_api,
        errors,
        captured_for: Some(CapturedFor {
            command: command.as_str().to_string(),
            namespace: ns.map(str::to_string),
        }),
    });
    Ok(Read {
        requests: fetcher.requests.load(Ordering::Relaxed),
        retries: fetcher.retries.load(Ordering::Relaxed),
        target,
        cluster,
        pages: raw,
        version: Some(body),
        elapsed: Duration::ZERO,
    })
}

/// Lists one resource type; a 403 on a cluster-wide list of a namespaced type falls back to
/// one list per namespace, so RBAC that allows some namespaces still gives those.
async fn read_resource(
    f: &Arc<Fetcher>,
    r: ApiResource,
    ns: Option<&str>,
    namespaces: &[String],
    out: &mut Vec<ParsedPage>,
    errors: &mut Vec<CaptureError>,
) {
    let what = |ns: Option<&str>| match ns {
        Some(ns) => format!("{} in namespace {ns} (list)", label(r)),
        None => format!("{} (list)", label(r)),
    };
    match Arc::clone(f).list(r, ns).await {
        Ok(p) => out.extend(p),
        Err(Failure::Status { code: 403, .. })
            if ns.is_none() && r.namespaced && !namespaces.is_empty() =>
        {
            tracing::info!(
                resource = label(r),
                "Listing cluster-wide is forbidden; listing namespace by namespace"
            );
            let mut tasks = tokio::task::JoinSet::new();
            for (i, n) in namespaces.iter().enumerate() {
                let (f, n) = (Arc::clone(f), n.clone());
                tasks.spawn(async move { (i, n.clone(), f.list(r, Some(&n)).await) });
            }
            let mut done = Vec::new();
            while let Some(joined) = tasks.join_next().await {
                match joined {
                    Ok(x) => done.push(x),
                    Err(e) => errors.push(CaptureError {
                        source: what(None),
                        message: format!("a namespace list failed: {e}"),
                    }),
                }
            }
            done.sort_by_key(|(i, ..)| *i);
            for (_, n, result) in done {
                match result {
                    Ok(p) => out.extend(p),
                    Err(e) => errors.push(CaptureError {
                        source: what(Some(&n)),
                        message: e.to_string(),
                    }),
                }
            }
        }
        Err(e) => errors.push(CaptureError {
            source: what(ns),
            message: e.to_string(),
        }),
    }
}

/// `pods`, or `nodes.metrics.k8s.io` for other groups' resources of the same name.
fn label(r: ApiResource) -> String {
    match r.prefix.strip_prefix("/apis/") {
        Some(gv) if gv.starts_with("metrics.k8s.io") => format!("{}.metrics.k8s.io", r.plural),
        _ => r.plural.to_string(),
    }
}

/// One list page, parsed (and kept raw when capturing).
pub struct ParsedPage {
    name: String,
    cluster: Cluster,
    raw: Option<Bytes>,
}

/// Why one request failed.
#[derive(Debug)]
enum Failure {
    /// The server answered with an error status.
    Status { code: u16, message: String },
    /// No answer: connection refused, reset, TLS, DNS, authentication plugin.
    Transport(String),
    /// No answer within the request timeout.
    Timeout(Duration),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Status { code, message } => write!(f, "{code}: {message}"),
            Failure::Transport(m) => write!(f, "{m}"),
            Failure::Timeout(t) => write!(
                f,
                "no answer within {} (raise --timeout if the API server is slow)",
                humantime::format_duration(*t)
            ),
        }
    }
}

/// Attempts per request for lists and discovery (the first included).
const MAX_ATTEMPTS: u32 = 6;
/// The longest wait between attempts, whatever `Retry-After` says.
const MAX_WAIT: Duration = Duration::from_secs(30);

struct Fetcher {
    client: kube::Client,
    timeout: Duration,
    page_size: u32,
    keep_pages: bool,
    net: Semaphore,
    parse: Arc<Semaphore>,
    requests: AtomicU64,
    retries: AtomicU64,
}

impl Fetcher {
    /// GETs `path`. With `retry`, 429 and 5xx answers and transport errors are retried
    /// with exponential backoff (or after `Retry-After`); other answers are returned.
    async fn get(&self, path: &str, retry: bool) -> Result<(u16, Bytes), Failure> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = {
                let _permit = self.net.acquire().await;
                self.requests.fetch_add(1, Ordering::Relaxed);
                let request = http::Request::get(path)
                    .header(http::header::ACCEPT, "application/json")
                    .body(kube::client::Body::from(Vec::new()))
                    .map_err(|e| Failure::Transport(e.to_string()))?;
                tokio::time::timeout(self.timeout, async {
                    let response = self.client.send(request).await?;
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get(http::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|s| s.trim().parse::<u64>().ok());
                    let body = response.into_body().collect_bytes().await?;
                    Ok::<_, kube::Error>((status, retry_after, body))
                })
                .await
            };
            let failure = match outcome {
                Ok(Ok((status, retry_after, body))) => {
                    let transient = matches!(status, 429 | 500 | 502 | 503 | 504);
                    if !(retry && transient) {
                        return Ok((status, body));
                    }
                    if attempt >= MAX_ATTEMPTS {
                        return Err(Failure::Status {
                            code: status,
                            message: format!(
                                "{} (still failing after {attempt} attempts)",
                                status_message(&body)
                            ),
                        });
                    }
                    let wait = retry_after.map_or_else(|| backoff(attempt), Duration::from_secs);
                    self.pause(path, &format!("status {status}"), wait.min(MAX_WAIT))
                        .await;
                    continue;
                }
                Ok(Err(e)) => Failure::Transport(error_chain(&e)),
                Err(_) => Failure::Timeout(self.timeout),
            };
            if !retry || attempt >= MAX_ATTEMPTS {
                return Err(failure);
            }
            self.pause(path, &failure.to_string(), backoff(attempt))
                .await;
        }
    }

    async fn pause(&self, path: &str, why: &str, wait: Duration) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(path, why, wait_ms = wait.as_millis() as u64, "Retrying");
        tokio::time::sleep(wait).await;
    }

    /// `/livez` or `/readyz` with `?verbose`: the failing individual checks.
    async fn probe(&self, endpoint: &str) -> Result<Option<HealthProbe>, CaptureError> {
        let err = |message: String| CaptureError {
            source: format!("{endpoint} (get)"),
            message,
        };
        match self.get(&format!("{endpoint}?verbose"), false).await {
            // Not served (very old API servers) or not allowed: nothing to judge.
            Ok((404, _)) => Ok(None),
            Ok((401 | 403, body)) => Err(err(status_message(&body))),
            Ok((status, body)) => {
                let text = String::from_utf8_lossy(&body);
                let failed: Vec<String> = text
                    .lines()
                    .filter_map(|l| l.trim().strip_prefix("[-]"))
                    .map(|l| l.split(" failed").next().unwrap_or(l).trim().to_string())
                    .collect();
                Ok(Some(HealthProbe {
                    status,
                    ok: status == 200,
                    failed,
                }))
            }
            Err(f) => Err(err(f.to_string())),
        }
    }

    /// Every page of a list; each page is parsed on the blocking pool while the next one
    /// is fetched.
    async fn list(
        self: Arc<Self>,
        r: ApiResource,
        ns: Option<&str>,
    ) -> Result<Vec<ParsedPage>, Failure> {
        let base = match ns {
            Some(ns) => format!("{}/namespaces/{ns}/{}", r.prefix, r.plural),
            None => format!("{}/{}", r.prefix, r.plural),
        };
        let name = match ns {
            Some(ns) => format!("{}-{ns}", label(r)),
            None => label(r),
        };
        let mut token: Option<String> = None;
        let mut parsing: Vec<tokio::task::JoinHandle<ParsedPage>> = Vec::new();
        let mut relisted = false;
        loop {
            let mut path = format!("{base}?limit={}", self.page_size);
            if let Some(t) = &token {
                path.push_str("&continue=");
                path.push_str(&encode(t));
            }
            let (status, body) = self.get(&path, true).await?;
            if status == 410 && token.is_some() && !relisted {
                // The continue token expired (a long read of a busy cluster): start over
                // once, as client-go's pager does.
                tracing::info!(path = %base, "Continue token expired; listing again");
                relisted = true;
                token = None;
                for p in parsing.drain(..) {
                    p.abort();
                }
                continue;
            }
            if status != 200 {
                return Err(Failure::Status {
                    code: status,
                    message: status_message(&body),
                });
            }
            token = continue_token(&body);
            let me = Arc::clone(&self);
            let page_name = format!("{name}-{}", parsing.len() + 1);
            parsing.push(tokio::spawn(
                async move { me.parse_page(page_name, body).await },
            ));
            if token.is_none() {
                break;
            }
        }
        let mut pages = Vec::with_capacity(parsing.len());
        for p in parsing {
            match p.await {
                Ok(page) => pages.push(page),
                Err(e) => return Err(Failure::Transport(format!("parsing a page failed: {e}"))),
            }
        }
        Ok(pages)
    }

    async fn parse_page(&self, name: String, body: Bytes) -> ParsedPage {
        let _permit = self.parse.acquire().await;
        let keep = self.keep_pages;
        let label = name.clone();
        let parsed = tokio::task::spawn_blocking(move || {
            let cluster = snapshot::parse_bytes(Path::new(&label), &body);
            (cluster, keep.then_some(body))
        })
        .await;
        match parsed {
            Ok((Ok(cluster), raw)) => ParsedPage { name, cluster, raw },
            Ok((Err(e), raw)) => {
                // The API server sent something the parser rejects: count it, keep going.
                tracing::warn!(page = %name, error = %e, "Unreadable list page");
                let mut cluster = Cluster::default();
                cluster.ignored_documents += 1;
                ParsedPage { name, cluster, raw }
            }
            Err(e) => {
                tracing::warn!(page = %name, error = %e, "Parsing a list page failed");
                ParsedPage {
                    name,
                    cluster: Cluster::default(),
                    raw: None,
                }
            }
        }
    }
}

/// Exponential backoff with jitter: about 200 ms, 400 ms, 800 ms ... capped at 5 s.
fn backoff(attempt: u32) -> Duration {
    let base = 200u64
        .saturating_mul(1 << attempt.saturating_sub(1).min(5))
        .min(5_000);
    // Jitter from the clock's nanoseconds: enough to spread clients, no RNG crate needed.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    Duration::from_millis(base / 2 + nanos % (base / 2 + 1))
}

/// `metadata.continue` of a list page. The list's own metadata comes before `items` in
/// what API servers write, so a byte search finds it without parsing megabytes twice; a
/// `"continue":` key inside an item (a label named so) is ruled out by requiring the match
/// to precede `"items"`, else the page is parsed properly.
fn continue_token(body: &[u8]) -> Option<String> {
    let items = memchr::memmem::find(body, b"\"items\"");
    if let Some(at) = memchr::memmem::find(body, b"\"continue\":\"") {
        if items.is_none_or(|i| at < i) {
            let rest = &body[at + 12..];
            let end = memchr::memchr(b'"', rest)?;
            if let Ok(token) = std::str::from_utf8(&rest[..end]) {
                if !token.contains('\\') {
                    return (!token.is_empty()).then(|| token.to_string());
                }
            }
        }
    }
    #[derive(serde::Deserialize)]
    struct List {
        #[serde(default)]
        metadata: ListMeta,
    }
    #[derive(serde::Deserialize, Default)]
    struct ListMeta {
        #[serde(default, rename = "continue")]
        token: Option<String>,
    }
    serde_json::from_slice::<List>(body)
        .ok()?
        .metadata
        .token
        .filter(|t| !t.is_empty())
}

/// Percent-encodes a query value (continue tokens are base64 with `=` and `+`).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `message` of a `Status` body, else the body's first line.
fn status_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Status {
        message: Option<String>,
    }
    if let Ok(Status { message: Some(m) }) = serde_json::from_slice::<Status>(body) {
        return m;
    }
    let text = String::from_utf8_lossy(body);
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        "(empty answer)".to_string()
    } else {
        line.chars().take(200).collect()
    }
}

/// An error and its sources, joined (`client error (Connect): tcp connect error:
/// Connection refused (os error 111)`), repeated parts skipped. Errors of the credential
/// machinery (exec plugins print tokens; the kubeconfig parser quotes the file, which
/// holds keys) are replaced by a fixed text: credentials never reach a message.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut link: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = link {
        if err.downcast_ref::<kube::client::AuthError>().is_some() {
            return "the kubeconfig's credentials could not be obtained (token file, exec plugin or auth provider failed); the details are withheld because they may contain credentials: run `kubectl get --raw /version` with the same context to see the plugin's own error".to_string();
        }
        if let Some(kube::config::KubeconfigError::Parse(_)) =
            err.downcast_ref::<kube::config::KubeconfigError>()
        {
            return "the kubeconfig is not a valid kubeconfig YAML document (the parser's details are withheld: they quote the file, which holds credentials); check it with `kubectl config view`".to_string();
        }
        link = err.source();
    }
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_token_from_list_metadata_not_from_items() {
        let page = br#"{"kind":"PodList","metadata":{"resourceVersion":"9","continue":"eyJ2Ijo1MH0="},"items":[]}"#;
        assert_eq!(continue_token(page).as_deref(), Some("eyJ2Ijo1MH0="));
        let last = br#"{"kind":"PodList","metadata":{"resourceVersion":"9"},"items":[{"metadata":{"labels":{"continue":"x"}}}]}"#;
        assert_eq!(continue_token(last), None);
        let empty = br#"{"kind":"PodList","metadata":{"continue":""},"items":[]}"#;
        assert_eq!(continue_token(empty), None);
    }

    #[test]
    fn status_messages_and_encoding() {
        assert_eq!(
            status_message(br#"{"kind":"Status","message":"pods is forbidden"}"#),
            "pods is forbidden"
        );
        assert_eq!(status_message(b"ok\nmore"), "ok");
        assert_eq!(encode("a+b/c="), "a%2Bb%2Fc%3D");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= Duration::from_millis(200));
        assert!(backoff(3) >= Duration::from_millis(400));
        assert!(backoff(20) <= Duration::from_secs(5));
    }

    #[test]
    fn every_command_reads_nodes_pods_and_what_its_checks_use() {
        assert!(resources_for(Command::Healthcheck).contains(&NODES));
        assert!(resources_for(Command::Diagnostics).contains(&EVENTS));
        assert!(resources_for(Command::Audit).contains(&CLUSTER_ROLE_BINDINGS));
        assert!(!resources_for(Command::Audit).contains(&EVENTS));
        let check = resources_for(Command::Check);
        for c in [Command::Healthcheck, Command::Diagnostics, Command::Audit] {
            for r in resources_for(c) {
                assert!(check.contains(&r), "{r:?}");
            }
        }
    }
}
