//! A Kubernetes API test server: the real REST protocol over objects loaded from snapshot
//! files, for testing clients (ours and `kubectl`) where no kube-apiserver can run.
//!
//! What it serves:
//!
//! - `/version`, `/livez`, `/readyz`, `/healthz`; discovery (`/api`, `/apis`, `/apis/GROUP`,
//!   resource lists per group version with namespaced flags, verbs, short names and the
//!   subresources `*/status` and `pods/eviction`).
//! - Every kind in [`RESOURCES`]: list (cluster-wide and per namespace) with `limit` and an
//!   opaque `continue` token, `remainingItemCount`, `labelSelector` (equality and set-based)
//!   and `fieldSelector` (any dotted path); get; create (`generateName` too); update with
//!   `resourceVersion` preconditions (409 Conflict); merge, strategic merge (as a merge
//!   patch), JSON and server-side-apply patches; delete (finalizers set a
//!   `deletionTimestamp` and keep the object until it is deleted again without them);
//!   `dryRun=All`; `Status` objects for errors, as the real server words them.
//! - The `status` subresource (GET, PUT, PATCH change only `.status`, and writes to the main
//!   resource keep `.status`), and `pods/NAME/eviction`, which deletes the pod unless its
//!   PodDisruptionBudget allows no disruption (429), so `kubectl drain` works.
//! - `metrics.k8s.io/v1beta1` (NodeMetrics, PodMetrics) unless [`Options::metrics_api`] is
//!   off, in which case the group is absent as on a cluster without metrics-server.
//! - Watches (`?watch=true`): newline-delimited JSON events in a chunked response, from a
//!   `resourceVersion` (replayed from a bounded event log; older versions get an `ERROR`
//!   event with 410 Expired) or from the current state (`ADDED` for every object first), with
//!   selectors, `timeoutSeconds` and `sendInitialEvents`.
//!
//! Every write bumps one global resourceVersion; every object carries its own and lists carry
//! the current one. Objects are stored serialized in a B-tree keyed by (kind, namespace,
//! name), so a page of a list costs what the page holds, whatever the size of the store.
//!
//! The transport is hyper on a two-thread tokio runtime owned by a background thread, plain
//! HTTP or HTTPS with a CA generated at start ([`Options::tls`]); dropping the
//! [`KubeTestServer`] stops it. [`Faults`] are knobs changeable while it runs: a bearer
//! token, 403 per resource, verb and namespace ([`Deny`]), latency, requests that never
//! answer, every n-th request failing with 429/5xx and `Retry-After`, and a failing
//! `/readyz`. Checked against the real `kubectl` in this crate's tests; the
//! `kube-testserver` binary serves the same from the command line.
//!
//! ```
//! use sre_test_harness::kube::{KubeTestServer, Options};
//!
//! let server = KubeTestServer::start(vec![]).expect("starts");
//! println!("kubectl --kubeconfig {} get pods -A", server.kubeconfig().display());
//! let tls = KubeTestServer::start_with(vec![], Options { tls: true, ..Options::default() })
//!     .expect("starts");
//! assert!(tls.url().starts_with("https://") && tls.ca_pem().contains("BEGIN CERTIFICATE"));
//! ```

mod api;
mod store;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Either, Full};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use rayon::prelude::*;
use serde_json::Value;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;
use store::{EventType, Prepared, Selector, Start, Store};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{broadcast, mpsc, watch};

/// `(kind, plural, group, version, namespaced)` of every resource the server knows.
pub const RESOURCES: &[(&str, &str, &str, &str, bool)] = &[
    ("Pod", "pods", "", "v1", true),
    ("Node", "nodes", "", "v1", false),
    ("Namespace", "namespaces", "", "v1", false),
    ("Event", "events", "", "v1", true),
    ("Service", "services", "", "v1", true),
    ("ServiceAccount", "serviceaccounts", "", "v1", true),
    ("ConfigMap", "configmaps", "", "v1", true),
    ("ResourceQuota", "resourcequotas", "", "v1", true),
    ("LimitRange", "limitranges", "", "v1", true),
    ("Deployment", "deployments", "apps", "v1", true),
    ("ReplicaSet", "replicasets", "apps", "v1", true),
    ("StatefulSet", "statefulsets", "apps", "v1", true),
    ("DaemonSet", "daemonsets", "apps", "v1", true),
    ("Job", "jobs", "batch", "v1", true),
    ("CronJob", "cronjobs", "batch", "v1", true),
    (
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        "policy",
        "v1",
        true,
    ),
    (
        "NetworkPolicy",
        "networkpolicies",
        "networking.k8s.io",
        "v1",
        true,
    ),
    ("Role", "roles", "rbac.authorization.k8s.io", "v1", true),
    (
        "RoleBinding",
        "rolebindings",
        "rbac.authorization.k8s.io",
        "v1",
        true,
    ),
    (
        "ClusterRole",
        "clusterroles",
        "rbac.authorization.k8s.io",
        "v1",
        false,
    ),
    (
        "ClusterRoleBinding",
        "clusterrolebindings",
        "rbac.authorization.k8s.io",
        "v1",
        false,
    ),
    ("NodeMetrics", "nodes", "metrics.k8s.io", "v1beta1", false),
    ("PodMetrics", "pods", "metrics.k8s.io", "v1beta1", true),
];

/// How long a watch stays open when the client gives no `timeoutSeconds` (the real server
/// picks 30 to 60 minutes), and the most it may ask for.
const DEFAULT_WATCH: Duration = Duration::from_secs(30 * 60);
const MAX_WATCH: Duration = Duration::from_secs(2 * 60 * 60);

/// Objects ready to serve: each one serialized once, with its `apiVersion`, `kind`,
/// namespace and `metadata.resourceVersion` set. Built by [`load_objects`] or from
/// `serde_json::Value`s (`Vec<Value>` converts with `into()`); objects of kinds not in
/// [`RESOURCES`], or without a name, are left out.
#[derive(Debug, Clone, Default)]
pub struct Objects {
    items: Vec<Prepared>,
}

impl Objects {
    pub fn new() -> Objects {
        Objects::default()
    }

    /// Adds one object (a later object with the same kind, namespace and name replaces an
    /// earlier one when the server starts).
    pub fn push(&mut self, object: Value) {
        self.items.extend(prepare(object));
    }

    /// How many objects will be served (before duplicates are merged).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl From<Vec<Value>> for Objects {
    fn from(values: Vec<Value>) -> Objects {
        Objects {
            items: values.into_par_iter().filter_map(prepare).collect(),
        }
    }
}

impl FromIterator<Value> for Objects {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Objects {
        Objects::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl Extend<Value> for Objects {
    fn extend<I: IntoIterator<Item = Value>>(&mut self, iter: I) {
        self.items.extend(Objects::from_iter(iter).items);
    }
}

fn prepare(mut v: Value) -> Option<Prepared> {
    let kind = v.get("kind")?.as_str()?;
    let res = RESOURCES.iter().position(|r| r.0 == kind)?;
    let (kind, _, group, version, namespaced) = RESOURCES[res];
    let name = v.pointer("/metadata/name")?.as_str()?.to_string();
    if name.is_empty() {
        return None;
    }
    let namespace = if namespaced {
        v.pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .unwrap_or("default")
            .to_string()
    } else {
        String::new()
    };
    v["apiVersion"] = Value::from(api::api_version(group, version));
    v["kind"] = Value::from(kind);
    if namespaced {
        v["metadata"]["namespace"] = Value::from(namespace.as_str());
    }
    v["metadata"]["resourceVersion"] = Value::from("1");
    Some(Prepared {
        res,
        namespace,
        name,
        json: Arc::from(v.to_string()),
    })
}

/// Loads objects from snapshot files (YAML, multi-document YAML, JSON, `List` and typed
/// lists, JSON arrays); items of typed lists get their kind from the list. A directory
/// stands for the `.json`, `.yaml` and `.yml` files below it. Files are read in parallel.
///
/// For large snapshots prefer [`load_objects`], which never holds every object parsed.
pub fn load_fixtures(paths: &[PathBuf]) -> Result<Vec<Value>, String> {
    let per_file: Vec<Vec<Value>> = snapshot_files(paths)?
        .par_iter()
        .map(|p| load_file(p))
        .collect::<Result<_, _>>()?;
    Ok(per_file.into_iter().flatten().collect())
}

/// [`load_fixtures`] straight into [`Objects`]: each file's objects are serialized (in
/// parallel) as soon as the file is parsed, so loading a gigabyte of snapshot costs about a
/// gigabyte of memory.
pub fn load_objects(paths: &[PathBuf]) -> Result<Objects, String> {
    let per_file: Vec<Vec<Prepared>> = snapshot_files(paths)?
        .par_iter()
        .map(|p| load_file(p).map(|values| values.into_par_iter().filter_map(prepare).collect()))
        .collect::<Result<_, _>>()?;
    Ok(Objects {
        items: per_file.into_iter().flatten().collect(),
    })
}

/// The files `paths` stand for, directories expanded.
fn snapshot_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for p in paths {
        collect_files(p, &mut files)?;
    }
    Ok(files)
}

fn collect_files(p: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    if !p.is_dir() {
        out.push(p.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
        .map_err(|e| format!("cannot read {}: {e}", p.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for e in entries {
        let snapshot = matches!(
            e.extension().and_then(|x| x.to_str()),
            Some("json" | "yaml" | "yml")
        );
        if e.is_dir() || snapshot {
            collect_files(&e, out)?;
        }
    }
    Ok(())
}

fn load_file(p: &Path) -> Result<Vec<Value>, String> {
    let bytes = std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    let json = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'['));
    let docs: Vec<Value> = if json {
        vec![serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", p.display()))?]
    } else {
        let text =
            std::str::from_utf8(&bytes).map_err(|e| format!("{}: not UTF-8: {e}", p.display()))?;
        let mut docs = Vec::new();
        for d in serde_yaml_ng::Deserializer::from_str(text) {
            let v: Option<Value> =
                serde::Deserialize::deserialize(d).map_err(|e| format!("{}: {e}", p.display()))?;
            docs.extend(v);
        }
        docs
    };
    let mut values = Vec::new();
    for d in docs {
        flatten(d, &mut values);
    }
    Ok(values)
}

fn flatten(mut v: Value, out: &mut Vec<Value>) {
    if let Value::Array(items) = v {
        items.into_iter().for_each(|i| flatten(i, out));
        return;
    }
    let kind = v
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if let Some(Value::Array(items)) = v.get_mut("items").map(Value::take) {
        let item_kind = kind.strip_suffix("List").unwrap_or("").to_string();
        for mut item in items {
            if item.get("kind").is_none() && !item_kind.is_empty() {
                item["kind"] = Value::from(item_kind.clone());
            }
            flatten(item, out);
        }
    } else if !kind.is_empty() {
        out.push(v);
    }
}

/// How to start a [`KubeTestServer`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Serve HTTPS with a certificate for `127.0.0.1` and `localhost` signed by a CA
    /// generated at start; the kubeconfig carries the CA, so clients verify the server.
    pub tls: bool,
    /// Bearer token every request must carry (also written into the kubeconfig).
    pub token: Option<String>,
    /// Where to listen (default `127.0.0.1:0`, a free loopback port).
    pub listen: Option<SocketAddr>,
    /// Serve `metrics.k8s.io` (default true). Off, the group is absent from discovery and
    /// its paths answer 404, as on a cluster without metrics-server.
    pub metrics_api: bool,
    /// How many write events are kept for watches that start from a past resourceVersion
    /// (default 10,000); a watch from an older one gets an `ERROR` event with 410 Expired.
    pub event_log: usize,
    /// The `gitVersion` `/version` answers (default `v1.29.2`).
    pub server_version: String,
    /// With `tls`: require a client certificate signed by the server's CA (mutual TLS, as
    /// kubeadm and kind clusters authenticate their admin user); the kubeconfig carries
    /// one (`client-certificate-data`, `client-key-data`).
    pub client_certs: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            tls: false,
            token: None,
            listen: None,
            metrics_api: true,
            event_log: 10_000,
            server_version: "v1.29.2".to_string(),
            client_certs: false,
        }
    }
}

/// A rule answering 403 Forbidden, as RBAC would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deny {
    /// Resource plural (`pods`), a subresource (`pods/eviction`, `pods/status`), or `*`.
    pub resource: String,
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, or `*`.
    pub verb: String,
    /// Only in this namespace. Cluster-wide requests for a namespaced resource
    /// (`kubectl get pods -A`) are denied too, as for a user who lacks the right in one
    /// namespace; requests in other namespaces pass.
    pub namespace: Option<String>,
}

impl Deny {
    /// Denies `verb` on `resource` everywhere.
    pub fn new(resource: impl Into<String>, verb: impl Into<String>) -> Deny {
        Deny {
            resource: resource.into(),
            verb: verb.into(),
            namespace: None,
        }
    }

    /// The same rule, scoped to one namespace.
    pub fn in_namespace(self, namespace: impl Into<String>) -> Deny {
        Deny {
            namespace: Some(namespace.into()),
            ..self
        }
    }
}

/// Fault knobs, changeable while the server runs. Deterministic (every n-th request), so
/// tests do not depend on chance.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Bearer token every request must carry (`None`: no authentication); 401 otherwise.
    pub token: Option<String>,
    /// Requests answered with 403 Forbidden.
    pub deny: Vec<Deny>,
    /// Delay before every answer.
    pub latency: Duration,
    /// Every request (after authentication) waits without an answer until the server is
    /// dropped: for testing client deadlines.
    pub hang: bool,
    /// Every n-th resource request fails with `(status code, Retry-After seconds)`.
    pub fail_every: Option<(u64, u16, u32)>,
    /// When set, `/readyz` fails and names this check.
    pub unready: Option<String>,
    /// The next this-many list requests that carry a `continue` token are answered 410
    /// Expired, as a real server does when the token outlived etcd's compaction window.
    pub expire_continue: u32,
    requests: u64,
}

/// What the request handlers share.
struct Shared {
    store: RwLock<Store>,
    faults: Mutex<Faults>,
    metrics_api: bool,
    server_version: String,
    active_watches: AtomicUsize,
    /// Bumped by [`KubeTestServer::end_watches`]; every open watch ends when it changes.
    watch_epoch: watch::Sender<u64>,
}

/// A running test server; stops when dropped.
pub struct KubeTestServer {
    url: String,
    addr: SocketAddr,
    dir: tempfile::TempDir,
    ca_pem: Option<String>,
    /// `(certificate PEM, key PEM)` of the client, with [`Options::client_certs`].
    client: Option<(String, String)>,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl KubeTestServer {
    /// Serves `objects` over plain HTTP on a free loopback port, without authentication,
    /// and writes a kubeconfig pointing at it.
    pub fn start(objects: impl Into<Objects>) -> Result<KubeTestServer, String> {
        KubeTestServer::start_with(objects, Options::default())
    }

    /// Serves `objects` as `options` say and writes a kubeconfig pointing at the server.
    pub fn start_with(
        objects: impl Into<Objects>,
        options: Options,
    ) -> Result<KubeTestServer, String> {
        let listen = options
            .listen
            .unwrap_or(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        let listener = std::net::TcpListener::bind(listen)
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let host = match addr.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        let (tls, ca_pem, client) = if options.tls {
            let (acceptor, ca, client) = tls_acceptor(host, options.client_certs)?;
            (Some(acceptor), Some(ca), client)
        } else {
            (None, None, None)
        };
        let url = format!(
            "{}://{}",
            if options.tls { "https" } else { "http" },
            SocketAddr::new(host, addr.port())
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kube-testserver")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
        let shared = Arc::new(Shared {
            store: RwLock::new(Store::new(objects.into().items, options.event_log.max(1))),
            faults: Mutex::new(Faults {
                token: options.token.clone(),
                ..Faults::default()
            }),
            metrics_api: options.metrics_api,
            server_version: options.server_version.clone(),
            active_watches: AtomicUsize::new(0),
            watch_epoch: watch::Sender::new(0),
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let state = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("kube-testserver".to_string())
            .spawn(move || {
                runtime.block_on(accept_loop(listener, tls, state, shutdown_rx));
                runtime.shutdown_timeout(Duration::from_secs(2));
            })
            .map_err(|e| format!("cannot start the server thread: {e}"))?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let server = KubeTestServer {
            url,
            addr,
            dir,
            ca_pem,
            client,
            shared,
            shutdown,
            thread: Some(thread),
        };
        server
            .write_kubeconfig_with_token(&server.kubeconfig(), options.token.as_deref())
            .map_err(|e| format!("cannot write the kubeconfig: {e}"))?;
        Ok(server)
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The PEM of the CA that signed the server's certificate.
    ///
    /// # Panics
    ///
    /// If the server was started without [`Options::tls`].
    #[track_caller]
    pub fn ca_pem(&self) -> &str {
        self.ca_pem.as_deref().expect(
            "ca_pem(): this server serves plain HTTP; start it with Options { tls: true, .. }",
        )
    }

    /// A kubeconfig whose current context points at this server.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// Writes a kubeconfig for this server (URL and CA) with `token` as the user's
    /// credentials, e.g. a wrong one.
    pub fn write_kubeconfig_with_token(
        &self,
        path: &Path,
        token: Option<&str>,
    ) -> std::io::Result<()> {
        std::fs::write(
            path,
            kubeconfig_text(
                &self.url,
                token,
                self.ca_pem.as_deref(),
                self.client.as_ref(),
            ),
        )
    }

    /// Changes the fault knobs (and rewrites the kubeconfig's token when it changes).
    pub fn set_faults(&self, update: impl FnOnce(&mut Faults)) -> std::io::Result<()> {
        let (before, after) = {
            let mut f = lock(&self.shared.faults);
            let before = f.token.clone();
            update(&mut f);
            f.requests = 0;
            (before, f.token.clone())
        };
        if before == after {
            return Ok(());
        }
        self.write_kubeconfig_with_token(&self.kubeconfig(), after.as_deref())
    }

    /// The current resourceVersion (bumped by every write).
    /// Stores `object` as if a client had created (or replaced) it: it gets the next
    /// resourceVersion and watchers see ADDED (or MODIFIED). For tests that change the
    /// cluster under a running client.
    pub fn create(&self, object: Value) -> Result<(), String> {
        let p = prepare(object).ok_or("not an object of a kind the server knows, with a name")?;
        let value: Value = serde_json::from_str(&p.json).map_err(|e| e.to_string())?;
        let key = (p.res, p.namespace, p.name);
        let mut store = self
            .shared
            .store
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let kind = if store.get(&key).is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        store.commit(key, value, kind);
        Ok(())
    }

    pub fn resource_version(&self) -> u64 {
        read(&self.shared.store).resource_version()
    }

    /// How many watch streams are open, each subscribed to every later write.
    pub fn active_watches(&self) -> usize {
        self.shared.active_watches.load(Ordering::SeqCst)
    }

    /// Ends every open watch stream cleanly, as the real server does when a watch times out;
    /// clients are expected to watch again.
    pub fn end_watches(&self) {
        self.shared.watch_epoch.send_modify(|e| *e += 1);
    }
}

impl Drop for KubeTestServer {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn read(store: &RwLock<Store>) -> std::sync::RwLockReadGuard<'_, Store> {
    store
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Writes a kubeconfig for `url` (no credentials, no CA).
pub fn write_kubeconfig(path: &Path, url: &str) -> std::io::Result<()> {
    write_kubeconfig_with_token(path, url, None)
}

/// Writes a kubeconfig for `url` with an optional bearer token (no CA).
pub fn write_kubeconfig_with_token(
    path: &Path,
    url: &str,
    token: Option<&str>,
) -> std::io::Result<()> {
    std::fs::write(path, kubeconfig_text(url, token, None, None))
}

fn kubeconfig_text(
    url: &str,
    token: Option<&str>,
    ca_pem: Option<&str>,
    client: Option<&(String, String)>,
) -> String {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let user = match (token, client) {
        (_, Some((cert, key))) => format!(
            "{{client-certificate-data: \"{}\", client-key-data: \"{}\"}}",
            b64(cert),
            b64(key)
        ),
        (Some(t), None) => format!("{{token: \"{t}\"}}"),
        (None, None) => "{}".to_string(),
    };
    let ca = match ca_pem {
        Some(pem) => format!(
            ", certificate-authority-data: \"{}\"",
            base64::engine::general_purpose::STANDARD.encode(pem)
        ),
        None => String::new(),
    };
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster: {{server: \"{url}\"{ca}}}\ncontexts:\n- name: test\n  context: {{cluster: test, user: test}}\ncurrent-context: test\nusers:\n- name: test\n  user: {user}\n"
    )
}

/// The acceptor, the CA's PEM, and the client's certificate and key PEMs (mutual TLS).
type Tls = (tokio_rustls::TlsAcceptor, String, Option<(String, String)>);

/// A CA and a server certificate for `127.0.0.1`, `localhost` and `host`, generated now;
/// with `client_certs`, also a client certificate, and the server requires one.
fn tls_acceptor(host: IpAddr, client_certs: bool) -> Result<Tls, String> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let err = |e: rcgen::Error| format!("cannot generate certificates: {e}");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "kube-testserver CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(err)?).map_err(err)?;
    let mut names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
    if !names.contains(&host.to_string()) {
        names.push(host.to_string());
    }
    let mut params = CertificateParams::new(names).map_err(err)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-testserver");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().map_err(err)?;
    let cert = params.signed_by(&key, &*ca).map_err(err)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls_err = |e: rustls::Error| format!("cannot configure TLS: {e}");
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?;
    let (builder, client) = if client_certs {
        let mut c = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        c.distinguished_name
            .push(DnType::CommonName, "kubernetes-admin");
        c.distinguished_name
            .push(DnType::OrganizationName, "system:masters");
        c.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        c.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_key = KeyPair::generate().map_err(err)?;
        let client_cert = c.signed_by(&client_key, &*ca).map_err(err)?;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.der().clone()).map_err(tls_err)?;
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("cannot configure client certificates: {e}"))?;
        (
            builder.with_client_cert_verifier(verifier),
            Some((client_cert.pem(), client_key.serialize_pem())),
        )
    } else {
        (builder.with_no_client_auth(), None)
    };
    let mut config = builder
        .with_single_cert(
            vec![cert.der().clone(), ca.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .map_err(tls_err)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        ca.pem(),
        client,
    ))
}

/// Resolves once the server is told to stop.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // An error means the sender is gone, which also means stop.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

async fn accept_loop(
    listener: std::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let stream = tokio::select! {
            _ = stopped(&mut shutdown) => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of file descriptors, or a connection reset before accept: go on.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (tls, shared, shutdown) = (tls.clone(), Arc::clone(&shared), shutdown.clone());
        tokio::spawn(async move {
            match tls {
                Some(acceptor) => {
                    let handshake = acceptor.accept(stream);
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(Duration::from_secs(10), handshake).await
                    {
                        serve_connection(stream, shared, shutdown).await;
                    }
                }
                None => serve_connection(stream, shared, shutdown).await,
            }
        });
    }
}

async fn serve_connection<I>(io: I, shared: Arc<Shared>, shutdown: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut stop = shutdown.clone();
    let service = hyper::service::service_fn(move |request| {
        let (shared, shutdown) = (Arc::clone(&shared), shutdown.clone());
        async move { Ok::<_, Infallible>(handle(request, shared, shutdown).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(io), service);
    tokio::select! {
        _ = connection => {}
        _ = stopped(&mut stop) => {}
    }
}

type Body = Either<Full<Bytes>, WatchBody>;

fn respond(code: u16, body: String, retry_after: Option<u32>, text: bool) -> Response<Body> {
    let mut response = Response::builder().status(code).header(
        "Content-Type",
        if text {
            "text/plain; charset=utf-8"
        } else {
            "application/json"
        },
    );
    if let Some(s) = retry_after {
        response = response.header("Retry-After", s.to_string());
    }
    response
        .body(Either::Left(Full::new(Bytes::from(body))))
        .unwrap_or_else(|_| Response::new(Either::Left(Full::new(Bytes::new()))))
}

async fn handle(
    request: Request<Incoming>,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let call = api::Call {
        method: parts.method.clone(),
        path: parts.uri.path().to_string(),
        query: api::Query::parse(parts.uri.query().unwrap_or("")),
        auth: header("authorization"),
        content_type: header("content-type").unwrap_or_default(),
        body,
    };
    let target = api::target(&call.path, shared.metrics_api);
    let text = matches!(target, api::Target::Health);
    let (latency, verdict) = {
        let mut f = lock(&shared.faults);
        (f.latency, api::fault_verdict(&mut f, &call, &target))
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match verdict {
        api::Verdict::Pass => {}
        api::Verdict::Answer(code, body, retry_after) => {
            return respond(code, body, retry_after, text)
        }
        api::Verdict::Hang => {
            stopped(&mut shutdown).await;
            let (code, body) = api::status(503, "ServiceUnavailable", "shutting down".into());
            return respond(code, body, None, false);
        }
    }
    if let api::Target::Resource(req) = &target {
        if call.method == Method::GET && req.name.is_none() && call.query.is_watch() {
            return watch(shared, req.clone(), call.query, shutdown).await;
        }
    }
    if matches!(target, api::Target::Version) {
        let v = shared.server_version.trim_start_matches('v');
        let mut parts = v.split('.');
        let (major, minor) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let body = serde_json::json!({
            "major": major, "minor": minor, "gitVersion": shared.server_version,
            "platform": "linux/amd64",
        });
        return respond(200, body.to_string(), None, text);
    }
    let state = Arc::clone(&shared);
    let routed = tokio::task::spawn_blocking(move || {
        api::route(&state.store, &call, &target, state.metrics_api)
    })
    .await;
    let (code, body) = routed
        .unwrap_or_else(|e| api::status(500, "InternalError", format!("the handler failed: {e}")));
    respond(code, body, None, text)
}

/// A response body fed by a channel: one chunk per watch event, open until the sender goes.
struct WatchBody(mpsc::Receiver<Bytes>);

impl hyper::body::Body for WatchBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }
}

/// Counts an open watch for as long as it lives.
struct WatchGuard(Arc<Shared>);

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.0.active_watches.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The line a watcher with `selector` gets for `event`, if any: an object that stops
/// matching is DELETED for it, one that starts matching ADDED, as the real server does.
fn event_for(event: &store::Event, selector: &Selector) -> Option<Bytes> {
    event_type_for(event, selector).map(|kind| Bytes::from(store::event_line(kind, &event.object)))
}

fn event_type_for(event: &store::Event, selector: &Selector) -> Option<&'static str> {
    Some(if selector.is_empty() {
        event.kind.as_str()
    } else {
        let now = selector.matches_json(&event.object);
        let before = event
            .prev
            .as_ref()
            .is_some_and(|p| selector.matches_json(p));
        match (event.kind, before, now) {
            (EventType::Deleted, true, _) | (EventType::Modified, true, false) => "DELETED",
            (EventType::Modified, true, true) => "MODIFIED",
            (EventType::Added | EventType::Modified, false, true) => "ADDED",
            _ => return None,
        }
    })
}

async fn watch(
    shared: Arc<Shared>,
    req: api::Req,
    query: api::Query,
    mut shutdown: watch::Receiver<bool>,
) -> Response<Body> {
    let (kind, _, group, version, _) = RESOURCES[req.res];
    if group == "metrics.k8s.io" {
        let (c, b) = api::status(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource".into(),
        );
        return respond(c, b, None, false);
    }
    let selector = match Selector::parse(
        query.get("labelSelector").unwrap_or(""),
        query.get("fieldSelector").unwrap_or(""),
    ) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            let (c, b) = api::status(400, "BadRequest", e);
            return respond(c, b, None, false);
        }
    };
    let initial_events = query.get("sendInitialEvents") == Some("true");
    let from = match query.get("resourceVersion").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => match v.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                let (c, b) =
                    api::status(400, "BadRequest", format!("invalid resource version: {v}"));
                return respond(c, b, None, false);
            }
        },
    };
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(DEFAULT_WATCH, |s| Duration::from_secs(s).min(MAX_WATCH));
    let mut epoch = shared.watch_epoch.subscribe();
    // Subscribing and rendering the first events (maybe every object) is store work.
    let (state, sel) = (Arc::clone(&shared), Arc::clone(&selector));
    let namespace = req.namespace.clone();
    let subscribed = tokio::task::spawn_blocking(move || {
        let (start, events, rv) = read(&state.store).subscribe(
            req.res,
            namespace.as_deref(),
            if initial_events { None } else { from },
        );
        state.active_watches.fetch_add(1, Ordering::SeqCst);
        let guard = WatchGuard(state);
        // Lines are rendered as they are sent, so a watch over every object of a large
        // store holds no second copy of it.
        let (first, gone): (Vec<(&'static str, Arc<str>)>, bool) = match start {
            Start::Snapshot(objects) => (
                objects
                    .into_iter()
                    .filter(|o| sel.matches_json(o))
                    .map(|o| ("ADDED", o))
                    .collect(),
                false,
            ),
            Start::Replay(events) => (
                events
                    .iter()
                    .filter_map(|e| event_type_for(e, &sel).map(|t| (t, Arc::clone(&e.object))))
                    .collect(),
                false,
            ),
            Start::Gone { requested, oldest } => (
                vec![("ERROR", Arc::from(store::gone_status(requested, oldest)))],
                true,
            ),
        };
        (first, gone, events, rv, guard)
    })
    .await;
    let Ok((first, gone, mut events, rv, guard)) = subscribed else {
        let (c, b) = api::status(500, "InternalError", "cannot start the watch".into());
        return respond(c, b, None, false);
    };
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let namespace = req.namespace.clone();
    tokio::spawn(async move {
        let _guard = guard;
        for (kind, object) in first {
            if tx
                .send(Bytes::from(store::event_line(kind, &object)))
                .await
                .is_err()
            {
                return;
            }
        }
        if gone {
            return;
        }
        if initial_events {
            let bookmark = serde_json::json!({
                "kind": kind, "apiVersion": api::api_version(group, version),
                "metadata": {"resourceVersion": rv.to_string(),
                             "annotations": {"k8s.io/initial-events-end": "true"}},
            });
            let line = store::event_line("BOOKMARK", &bookmark.to_string());
            if tx.send(Bytes::from(line)).await.is_err() {
                return;
            }
        }
        let wanted = |e: &store::Event| {
            e.res == req.res && namespace.as_ref().is_none_or(|ns| *ns == e.namespace)
        };
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            let event = tokio::select! {
                _ = &mut deadline => break,
                _ = stopped(&mut shutdown) => break,
                _ = tx.closed() => break,
                _ = epoch.changed() => {
                    // Writes answered before the watch was ended still reach the client.
                    while let Ok(e) = events.try_recv() {
                        let Some(line) = wanted(&e).then(|| event_for(&e, &selector)).flatten()
                        else {
                            continue;
                        };
                        if tx.send(line).await.is_err() {
                            break;
                        }
                    }
                    break;
                }
                event = events.recv() => event,
            };
            match event {
                Ok(e) if wanted(&e) => {
                    if let Some(line) = event_for(&e, &selector) {
                        if tx.send(line).await.is_err() {
                            break;
                        }
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Too slow a reader: end as the real server ends a stale watch.
                    let line = store::event_line("ERROR", &store::gone_status(rv, rv + 1));
                    let _ = tx.send(Bytes::from(line)).await;
                    break;
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    Response::builder()
        .status(200)
        .header("Content-Type", "application/json")
        .body(Either::Right(WatchBody(rx)))
        .unwrap_or_else(|_| Response::new(Either::Left(Full::new(Bytes::new()))))
}
