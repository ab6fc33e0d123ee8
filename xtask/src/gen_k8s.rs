//! `cargo xtask gen-k8s-snapshot`: write a large, realistic, synthetic Kubernetes snapshot
//! for benchmarking `sre k8s-doctor`.
//!
//! The layout is that of `kubectl cluster-info dump --all-namespaces --output-directory DIR`:
//! `DIR/nodes.json` (a `NodeList`) and, per namespace, `DIR/<ns>/pods.json`,
//! `DIR/<ns>/events.json` and `DIR/<ns>/replicasets.json`; plus `DIR/version.json` (as
//! `kubectl version -o json` writes it) and `DIR/node-metrics.json` (a `metrics.k8s.io`
//! `NodeMetricsList`). As in API list responses, list items carry no `kind`.
//!
//! Objects look like real API output (pods carry a condensed `managedFields` block, two
//! containers with probes, env, mounts and resources, full container statuses) so that files
//! have a realistic size (about 5 KB of JSON per pod), and hold a realistic mix of problems: crash loops, image pull
//! failures, unschedulable pods, OOM kills, restarts, NotReady and pressured nodes, kubelet
//! version skew, warning events. JSON is written by hand, compact with one list item per
//! line, and is deterministic: the same parameters and seed give the same bytes.

use std::fmt::{self, Write as _};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::util::{header, human};

/// The file, next to the JSON files, that records what was generated. The snapshot loader
/// ignores it (it reads only `.json`, `.yaml` and `.yml`).
pub const STAMP: &str = "gen-k8s-snapshot.txt";

/// Bumped whenever the generator's output changes, so that a kept snapshot is regenerated.
const GENERATOR_VERSION: u32 = 1;

/// The snapshot's "now": 2024-03-01T12:00:00Z.
const NOW: i64 = 1_709_294_400;

const API_VERSION: &str = "v1.29.2";

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub nodes: usize,
    pub pods: usize,
    pub seed: u64,
}

impl Params {
    /// The first line of [`STAMP`]: a kept snapshot is reused only when it matches.
    pub fn stamp_line(&self) -> String {
        format!(
            "gen-k8s-snapshot v{GENERATOR_VERSION} nodes={} pods={} seed={}",
            self.nodes, self.pods, self.seed
        )
    }
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub nodes: usize,
    pub pods: usize,
    pub events: usize,
    pub replicasets: usize,
    pub node_metrics: usize,
    pub namespaces: usize,
    pub files: usize,
    pub bytes: u64,
}

impl Summary {
    fn to_stamp(&self, params: &Params) -> String {
        format!(
            "{}\nnodes={}\npods={}\nevents={}\nreplicasets={}\nnode_metrics={}\nnamespaces={}\nfiles={}\nbytes={}\n",
            params.stamp_line(),
            self.nodes,
            self.pods,
            self.events,
            self.replicasets,
            self.node_metrics,
            self.namespaces,
            self.files,
            self.bytes
        )
    }

    fn from_stamp(text: &str) -> Option<Summary> {
        let mut s = Summary::default();
        for line in text.lines().skip(1) {
            let (key, value) = line.split_once('=')?;
            let slot = match key {
                "nodes" => &mut s.nodes,
                "pods" => &mut s.pods,
                "events" => &mut s.events,
                "replicasets" => &mut s.replicasets,
                "node_metrics" => &mut s.node_metrics,
                "namespaces" => &mut s.namespaces,
                "files" => &mut s.files,
                "bytes" => {
                    s.bytes = value.parse().ok()?;
                    continue;
                }
                _ => continue,
            };
            *slot = value.parse().ok()?;
        }
        Some(s)
    }

    /// One line for people: `5000 nodes, 150000 pods, ...`.
    pub fn describe(&self) -> String {
        format!(
            "{} nodes, {} pods, {} events, {} replicasets, {} node metrics, {} namespaces; {} files, {}",
            self.nodes,
            self.pods,
            self.events,
            self.replicasets,
            self.node_metrics,
            self.namespaces,
            self.files,
            megabytes(self.bytes)
        )
    }
}

/// `123.4 MB (123456789 bytes)`, with MB = 10^6 bytes.
pub fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB ({bytes} bytes)", bytes as f64 / 1e6)
}

/// `cargo xtask gen-k8s-snapshot --nodes N --pods M --out DIR [--seed S]`.
pub fn run(args: &[String]) -> Result<()> {
    let mut nodes = None;
    let mut pods = None;
    let mut out = None;
    let mut seed = 1;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_string())),
            None => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .with_context(|| format!("`{flag}` needs a value"))
        };
        match flag {
            "--nodes" => nodes = Some(parse_count(flag, &value()?)?),
            "--pods" => pods = Some(parse_count(flag, &value()?)?),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--seed" => seed = parse_count(flag, &value()?)? as u64,
            other => bail!(
                "unknown option `{other}` for `cargo xtask gen-k8s-snapshot` \
                 (usage: --nodes N --pods M --out DIR [--seed S])"
            ),
        }
    }
    let (Some(nodes), Some(pods), Some(out)) = (nodes, pods, out) else {
        bail!("usage: cargo xtask gen-k8s-snapshot --nodes N --pods M --out DIR [--seed S]");
    };
    let params = Params { nodes, pods, seed };
    header(&format!("generating a snapshot into {}", out.display()));
    let started = Instant::now();
    let summary = generate(&out, &params)?;
    eprintln!("{}", summary.describe());
    eprintln!("generated in {}", human(started.elapsed()));
    println!("total bytes written: {}", summary.bytes);
    Ok(())
}

/// Parses a count such as `150000`, `150_000` or `150,000`.
pub fn parse_count(flag: &str, value: &str) -> Result<usize> {
    let digits: String = value.chars().filter(|c| !matches!(c, '_' | ',')).collect();
    digits
        .parse()
        .with_context(|| format!("`{flag}` takes a whole number, got `{value}`"))
}

/// The summary of a snapshot generated earlier with exactly these parameters, if `dir`
/// holds one (its stamp is written last, so an interrupted generation never matches).
pub fn existing(dir: &Path, params: &Params) -> Option<Summary> {
    let text = fs::read_to_string(dir.join(STAMP)).ok()?;
    if text.lines().next()? != params.stamp_line() {
        return None;
    }
    Summary::from_stamp(&text)
}

/// Writes the snapshot into `out`, replacing an earlier generated one there.
pub fn generate(out: &Path, params: &Params) -> Result<Summary> {
    if params.nodes == 0 {
        bail!("--nodes must be at least 1");
    }
    prepare_dir(out)?;
    let mut gen = Gen::new(params);
    let mut summary = Summary::default();

    write_file(out, "version.json", &version_json(), &mut summary)?;
    let mut buf = String::new();
    gen.nodes_json(&mut buf);
    write_file(out, "nodes.json", &buf, &mut summary)?;
    buf.clear();
    let metrics = gen.node_metrics_json(&mut buf);
    write_file(out, "node-metrics.json", &buf, &mut summary)?;

    let namespaces = std::mem::take(&mut gen.namespaces);
    for ns in &namespaces {
        let mut events = Vec::new();
        buf.clear();
        gen.pods_json(ns, &mut events, &mut buf);
        write_file(out, &format!("{}/pods.json", ns.name), &buf, &mut summary)?;
        buf.clear();
        let replicasets = gen.replicasets_json(ns, &mut buf);
        write_file(
            out,
            &format!("{}/replicasets.json", ns.name),
            &buf,
            &mut summary,
        )?;
        if ns.name == "default" {
            gen.node_events(&mut events);
        }
        buf.clear();
        gen.events_json(&ns.name, &events, &mut buf);
        write_file(out, &format!("{}/events.json", ns.name), &buf, &mut summary)?;
        summary.pods += ns.pod_count();
        summary.events += events.len();
        summary.replicasets += replicasets;
    }
    summary.nodes = gen.nodes.len();
    summary.node_metrics = metrics;
    summary.namespaces = namespaces.len();
    let stamp = summary.to_stamp(params);
    fs::write(out.join(STAMP), stamp).context("cannot write the stamp file")?;
    Ok(summary)
}

fn write_file(out: &Path, rel: &str, text: &str, summary: &mut Summary) -> Result<()> {
    let path = out.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    summary.files += 1;
    summary.bytes += text.len() as u64;
    Ok(())
}

/// Creates `out`, or empties it when it holds a snapshot generated earlier. Refuses to
/// touch any other non-empty directory.
fn prepare_dir(out: &Path) -> Result<()> {
    if out.exists() {
        let empty = fs::read_dir(out)
            .with_context(|| format!("cannot read {}", out.display()))?
            .next()
            .is_none();
        if !empty {
            if !out.join(STAMP).is_file() {
                bail!(
                    "{} is not empty and was not written by gen-k8s-snapshot (no {STAMP}); \
                     give an empty or new directory",
                    out.display()
                );
            }
            fs::remove_dir_all(out)
                .with_context(|| format!("cannot remove the old snapshot {}", out.display()))?;
        }
    }
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))
}

// ---------------------------------------------------------------------------------------
// Randomness, names and times
// ---------------------------------------------------------------------------------------

/// SplitMix64: tiny, fast, and the same on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x005E_ED0F_C1A5_7E55)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    fn string_of(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| char::from(alphabet[self.below(alphabet.len() as u64) as usize]))
            .collect()
    }

    /// Characters as Kubernetes uses in generated names (`rand.String`).
    pub fn name_chars(&mut self, n: usize) -> String {
        self.string_of(b"bcdfghjklmnpqrstvwxz2456789", n)
    }

    pub fn hex(&mut self, n: usize) -> String {
        self.string_of(b"0123456789abcdef", n)
    }

    /// A random (version 4) UUID.
    pub fn uid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }
}

/// A Unix time as RFC 3339 in UTC, as the API writes timestamps.
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// A string as a JSON string literal, quotes included.
struct J<'a>(&'a str);

impl fmt::Display for J<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        let mut rest = self.0;
        while let Some(i) = rest.find(|c: char| c == '"' || c == '\\' || c < ' ') {
            f.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().unwrap_or(' ');
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\t' => f.write_str("\\t")?,
                c => write!(f, "\\u{:04x}", u32::from(c))?,
            }
            rest = &rest[i + c.len_utf8()..];
        }
        f.write_str(rest)?;
        f.write_char('"')
    }
}

/// Writes `"k":"v",...` pairs (no braces).
fn pairs(out: &mut String, items: &[(String, String)]) {
    for (i, (k, v)) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}:{}", J(k), J(v));
    }
}

/// Escapes a JSON text for embedding as a managedFields key (`k:{"name":"x"}`).
fn key_json(text: &str) -> String {
    J(text).to_string()
}

const TEAMS: [&str; 30] = [
    "payments",
    "checkout",
    "search",
    "catalog",
    "identity",
    "billing",
    "ledger",
    "risk",
    "fraud",
    "notifications",
    "messaging",
    "media",
    "analytics",
    "reporting",
    "ml-serving",
    "feature-store",
    "ingest",
    "etl",
    "inventory",
    "shipping",
    "pricing",
    "promotions",
    "reviews",
    "recommendations",
    "ads",
    "auth",
    "gateway",
    "observability",
    "storefront",
    "partner-api",
];

const ENVS: [&str; 10] = [
    "prod", "staging", "dev", "qa", "perf", "sandbox", "canary", "eu", "us", "apac",
];

const APPS: [&str; 20] = [
    "api",
    "web",
    "worker",
    "consumer",
    "scheduler",
    "gateway",
    "frontend",
    "backend",
    "cache",
    "sync",
    "indexer",
    "exporter",
    "processor",
    "router",
    "admin",
    "grpc",
    "batch",
    "webhook",
    "reconciler",
    "notifier",
];

const REPLICAS: [usize; 16] = [1, 1, 2, 2, 3, 3, 3, 4, 5, 6, 8, 10, 12, 20, 30, 50];

/// Sidecars: (container name, image, port name, port).
const SIDECARS: [(&str, &str, &str, u16); 3] = [
    (
        "envoy",
        "docker.io/envoyproxy/envoy:v1.29.2",
        "envoy-admin",
        15000,
    ),
    (
        "fluent-bit",
        "cr.fluentbit.io/fluent/fluent-bit:2.2.2",
        "http-metrics",
        2020,
    ),
    (
        "otel-agent",
        "docker.io/otel/opentelemetry-collector-contrib:0.96.0",
        "otlp-grpc",
        4317,
    ),
];

/// A stable fake digest for an image (the same image always has the same imageID).
fn image_id(image: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in image.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut rng = Rng::new(h);
    let repo = image.rsplit_once(':').map_or(image, |(repo, _)| repo);
    format!("{repo}@sha256:{}", rng.hex(64))
}

// ---------------------------------------------------------------------------------------
// The plan: nodes, namespaces, workloads
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ready {
    True,
    False,
    Unknown,
}

struct NodePlan {
    name: String,
    uid: String,
    zone: &'static str,
    ip: String,
    control_plane: bool,
    ready: Ready,
    memory_pressure: bool,
    disk_pressure: bool,
    pid_pressure: bool,
    network_unavailable: bool,
    cordoned: bool,
    high_load: bool,
    kubelet: &'static str,
    cpu: u64,
    memory_ki: u64,
    instance_type: &'static str,
    created: i64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum WorkloadKind {
    Deployment,
    StatefulSet,
}

struct Workload {
    kind: WorkloadKind,
    name: String,
    uid: String,
    /// The current ReplicaSet's `pod-template-hash` (Deployments) or revision hash.
    hash: String,
    rs_uid: String,
    /// An older, scaled-down ReplicaSet: `(hash, uid)`.
    old_rs: Option<(String, String)>,
    replicas: usize,
    image: String,
    sidecar: usize,
    sidecar_memory_limit: bool,
    requests: bool,
    created: i64,
}

struct Namespace {
    name: String,
    team: &'static str,
    workloads: Vec<Workload>,
    /// kube-system's pods are planned separately.
    system: bool,
    system_pods: usize,
}

impl Namespace {
    fn pod_count(&self) -> usize {
        self.system_pods + self.workloads.iter().map(|w| w.replicas).sum::<usize>()
    }
}

/// Why a pod is unwell, if it is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fault {
    Healthy,
    /// Restarted once or twice long ago: normal life.
    RecentRestart,
    CrashLoop,
    ImagePull,
    ErrImagePull,
    Unschedulable,
    ConfigError,
    OomKilled,
    HighRestarts,
    NotReady,
}

impl Fault {
    fn draw(rng: &mut Rng) -> Fault {
        let r = rng.unit();
        let table = [
            (0.010, Fault::CrashLoop),
            (0.004, Fault::ImagePull),
            (0.002, Fault::ErrImagePull),
            (0.005, Fault::Unschedulable),
            (0.002, Fault::ConfigError),
            (0.006, Fault::OomKilled),
            (0.010, Fault::HighRestarts),
            (0.003, Fault::NotReady),
            (0.150, Fault::RecentRestart),
        ];
        let mut acc = 0.0;
        for (p, fault) in table {
            acc += p;
            if r < acc {
                return fault;
            }
        }
        Fault::Healthy
    }
}

/// A container's current or last state.
enum State {
    Running(i64),
    Waiting(&'static str, String),
}

struct Term {
    reason: &'static str,
    exit_code: i32,
    started: i64,
    finished: i64,
}

struct ContainerStatus {
    name: String,
    image: String,
    ready: bool,
    restarts: u64,
    state: State,
    last: Option<Term>,
}

enum Env {
    Value(&'static str, String),
    Field(&'static str, &'static str),
}

struct Container {
    name: String,
    image: String,
    command: Vec<String>,
    ports: Vec<(&'static str, u16)>,
    env: Vec<Env>,
    requests: Vec<(&'static str, &'static str)>,
    limits: Vec<(&'static str, &'static str)>,
    /// HTTP probes: (liveness path, readiness path, port).
    probes: Option<(&'static str, &'static str, u16)>,
    mounts: Vec<(String, String, bool)>,
}

struct Owner {
    api_version: &'static str,
    kind: &'static str,
    name: String,
    uid: String,
}

/// Everything one pod's JSON is written from.
struct PodSpec {
    name: String,
    generate_name: Option<String>,
    namespace: String,
    uid: String,
    created: i64,
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
    owner: Option<Owner>,
    node: Option<usize>,
    containers: Vec<Container>,
    statuses: Vec<ContainerStatus>,
    phase: &'static str,
    ready: bool,
    /// `Some((reason, message))` when the scheduler could not place the pod.
    unschedulable: Option<(&'static str, String)>,
    pod_ip: Option<String>,
    priority_class: Option<&'static str>,
    host_network: bool,
    service_account: String,
}

/// One event, written into its namespace's `events.json`.
struct Event {
    namespace: String,
    kind: &'static str,
    name: String,
    uid: String,
    field_path: Option<String>,
    type_: &'static str,
    reason: &'static str,
    message: String,
    count: u64,
    first: i64,
    last: i64,
    component: &'static str,
    host: Option<String>,
}

struct Gen {
    rng: Rng,
    nodes: Vec<NodePlan>,
    /// Indexes of worker nodes, where application pods run.
    workers: Vec<usize>,
    namespaces: Vec<Namespace>,
    resource_version: u64,
    pod_ips: u32,
    coredns: usize,
}

impl Gen {
    fn new(params: &Params) -> Gen {
        let mut rng = Rng::new(params.seed);
        let nodes = plan_nodes(&mut rng, params.nodes);
        let workers: Vec<usize> = (0..nodes.len())
            .filter(|&i| !nodes[i].control_plane)
            .collect();
        let workers = if workers.is_empty() {
            (0..nodes.len()).collect()
        } else {
            workers
        };
        let control_planes = nodes.iter().filter(|n| n.control_plane).count();
        let coredns = (params.nodes / 500).clamp(2, 20);
        // Static pods, CoreDNS, metrics-server, one kube-proxy per node.
        let system_pods = 4 * control_planes + coredns + 1 + nodes.len();
        let app_pods = params.pods.saturating_sub(system_pods);
        let namespaces = plan_namespaces(&mut rng, app_pods, system_pods);
        Gen {
            rng,
            nodes,
            workers,
            namespaces,
            resource_version: 1_000_000,
            pod_ips: 0,
            coredns,
        }
    }

    fn rv(&mut self) -> u64 {
        self.resource_version += 1 + self.rng.below(7);
        self.resource_version
    }

    fn next_pod_ip(&mut self) -> String {
        self.pod_ips += 1;
        let n = self.pod_ips;
        format!(
            "10.{}.{}.{}",
            64 + (n >> 16) % 64,
            (n >> 8) & 0xff,
            n & 0xff
        )
    }

    fn random_worker(&mut self) -> usize {
        let i = self.rng.below(self.workers.len() as u64) as usize;
        self.workers[i]
    }
}

fn plan_nodes(rng: &mut Rng, count: usize) -> Vec<NodePlan> {
    let control_planes = if count >= 4 { 3 } else { 1 };
    let zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
    let mut nodes = Vec::with_capacity(count);
    for i in 0..count {
        let control_plane = i < control_planes;
        let name = if control_plane {
            format!("cp-{}", i + 1)
        } else {
            format!("node-{:05}", i + 1 - control_planes)
        };
        let (instance_type, cpu, memory_ki) = if control_plane {
            ("m6i.2xlarge", 8, 32_386_524)
        } else {
            rng.pick(&[
                ("m6i.4xlarge", 16, 65_023_572),
                ("m6i.4xlarge", 16, 65_023_572),
                ("m6i.8xlarge", 32, 130_045_144),
                ("r6i.4xlarge", 16, 130_045_144),
            ])
        };
        let mut n = NodePlan {
            name,
            uid: rng.uid(),
            zone: zones[i % 3],
            ip: format!("10.0.{}.{}", 1 + i / 250, 10 + i % 250),
            control_plane,
            ready: Ready::True,
            memory_pressure: false,
            disk_pressure: false,
            pid_pressure: false,
            network_unavailable: false,
            cordoned: false,
            high_load: false,
            kubelet: API_VERSION,
            cpu,
            memory_ki,
            instance_type,
            created: NOW - 86_400 * rng.range(3, 400) as i64,
        };
        if !control_plane {
            let r = rng.unit();
            n.ready = if r < 0.012 {
                Ready::Unknown
            } else if r < 0.020 {
                Ready::False
            } else {
                Ready::True
            };
            if n.ready == Ready::True {
                n.memory_pressure = rng.chance(0.002);
                n.disk_pressure = rng.chance(0.002);
                n.pid_pressure = rng.chance(0.0005);
                n.network_unavailable = rng.chance(0.001);
                n.high_load = rng.chance(0.01);
            }
            n.cordoned = rng.chance(0.005);
            let v = rng.unit();
            n.kubelet = if v < 0.004 {
                "v1.25.16"
            } else if v < 0.006 {
                "v1.30.1"
            } else if v < 0.10 {
                "v1.28.7"
            } else {
                API_VERSION
            };
        }
        nodes.push(n);
    }
    nodes
}

fn plan_namespaces(rng: &mut Rng, app_pods: usize, system_pods: usize) -> Vec<Namespace> {
    let count = (app_pods / 100).clamp(1, 300);
    // Uneven sizes, as in real clusters: a few namespaces hold many pods.
    let weights: Vec<f64> = (0..count)
        .map(|_| {
            let u = rng.unit();
            1.0 + 30.0 * u * u * u
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let mut quotas: Vec<usize> = weights
        .iter()
        .map(|w| (app_pods as f64 * w / total) as usize)
        .collect();
    let assigned: usize = quotas.iter().sum();
    for i in 0..app_pods - assigned {
        quotas[i % count] += 1;
    }

    let mut namespaces = vec![
        Namespace {
            name: "default".into(),
            team: "platform",
            workloads: Vec::new(),
            system: false,
            system_pods: 0,
        },
        Namespace {
            name: "kube-system".into(),
            team: "platform",
            workloads: Vec::new(),
            system: true,
            system_pods,
        },
    ];
    for (i, quota) in quotas.into_iter().enumerate() {
        let team = TEAMS[i % TEAMS.len()];
        let env = ENVS[i / TEAMS.len() % ENVS.len()];
        let round = i / (TEAMS.len() * ENVS.len());
        let name = if round == 0 {
            format!("{team}-{env}")
        } else {
            format!("{team}-{env}-{round}")
        };
        let mut workloads = Vec::new();
        let mut remaining = quota;
        while remaining > 0 {
            let j = workloads.len();
            let app = APPS[j % APPS.len()];
            let wname = if j < APPS.len() {
                app.to_string()
            } else {
                format!("{app}-{}", j / APPS.len())
            };
            let kind = if rng.chance(0.1) {
                WorkloadKind::StatefulSet
            } else {
                WorkloadKind::Deployment
            };
            let replicas = rng.pick(&REPLICAS).min(remaining);
            remaining -= replicas;
            let old_rs = (kind == WorkloadKind::Deployment && rng.chance(0.6))
                .then(|| (rng.name_chars(10), rng.uid()));
            workloads.push(Workload {
                kind,
                image: format!(
                    "registry.example.com/{team}/{app}:1.{}.{}",
                    rng.below(40),
                    rng.below(12)
                ),
                name: wname,
                uid: rng.uid(),
                hash: rng.name_chars(10),
                rs_uid: rng.uid(),
                old_rs,
                replicas,
                sidecar: rng.below(SIDECARS.len() as u64) as usize,
                sidecar_memory_limit: !rng.chance(0.08),
                requests: !rng.chance(0.04),
                created: NOW - 86_400 * rng.range(1, 300) as i64,
            });
        }
        namespaces.push(Namespace {
            name,
            team,
            workloads,
            system: false,
            system_pods: 0,
        });
    }
    namespaces
}

fn version_json() -> String {
    format!(
        r#"{{
  "clientVersion": {{
    "major": "1",
    "minor": "29",
    "gitVersion": "v1.29.2",
    "gitCommit": "4b8e819355d791d96b7e9d9efe4cbafae2311c88",
    "gitTreeState": "clean",
    "buildDate": "2024-02-14T10:40:49Z",
    "goVersion": "go1.21.7",
    "compiler": "gc",
    "platform": "linux/amd64"
  }},
  "kustomizeVersion": "v5.0.4-0.20230601165947-6ce0bf390ce3",
  "serverVersion": {{
    "major": "1",
    "minor": "29",
    "gitVersion": "{API_VERSION}",
    "gitCommit": "4b8e819355d791d96b7e9d9efe4cbafae2311c88",
    "gitTreeState": "clean",
    "buildDate": "2024-02-14T10:32:40Z",
    "goVersion": "go1.21.7",
    "compiler": "gc",
    "platform": "linux/amd64"
  }}
}}
"#
    )
}

/// Starts a typed list; items follow, one per line.
fn list_start(out: &mut String, kind: &str, api_version: &str, rv: u64) {
    let _ = write!(
        out,
        "{{\"kind\":{},\"apiVersion\":{},\"metadata\":{{\"resourceVersion\":\"{rv}\"}},\"items\":[",
        J(kind),
        J(api_version)
    );
}

fn list_item_sep(out: &mut String, first: bool) {
    out.push_str(if first { "\n" } else { ",\n" });
}

fn list_end(out: &mut String) {
    out.push_str("\n]}\n");
}

// ---------------------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------------------

impl Gen {
    fn nodes_json(&mut self, out: &mut String) {
        let rv = self.rv();
        list_start(out, "NodeList", "v1", rv);
        for i in 0..self.nodes.len() {
            list_item_sep(out, i == 0);
            self.node_json(i, out);
        }
        list_end(out);
    }

    fn node_json(&mut self, i: usize, out: &mut String) {
        let rv = self.rv();
        let heartbeat = NOW - self.rng.range(5, 50) as i64;
        let machine_id = self.rng.hex(32);
        let system_uuid = self.rng.uid();
        let boot_id = self.rng.uid();
        let instance = format!("i-0{}", self.rng.hex(16));
        let n = &self.nodes[i];
        let region = &n.zone[..n.zone.len() - 1];
        let _ = write!(
            out,
            "{{\"metadata\":{{\"name\":{name},\"uid\":\"{uid}\",\"resourceVersion\":\"{rv}\",\"creationTimestamp\":\"{created}\",\"labels\":{{\"beta.kubernetes.io/arch\":\"amd64\",\"beta.kubernetes.io/instance-type\":\"{it}\",\"beta.kubernetes.io/os\":\"linux\",\"failure-domain.beta.kubernetes.io/region\":\"{region}\",\"failure-domain.beta.kubernetes.io/zone\":\"{zone}\",\"kubernetes.io/arch\":\"amd64\",\"kubernetes.io/hostname\":{name},\"kubernetes.io/os\":\"linux\",\"node.kubernetes.io/instance-type\":\"{it}\",\"topology.kubernetes.io/region\":\"{region}\",\"topology.kubernetes.io/zone\":\"{zone}\"",
            name = J(&n.name),
            uid = n.uid,
            created = rfc3339(n.created),
            it = n.instance_type,
            zone = n.zone,
        );
        if n.control_plane {
            out.push_str(",\"node-role.kubernetes.io/control-plane\":\"\",\"node.kubernetes.io/exclude-from-external-load-balancers\":\"\"");
        } else {
            out.push_str(",\"node-role.kubernetes.io/worker\":\"\"");
        }
        let _ = write!(
            out,
            "}},\"annotations\":{{\"kubeadm.alpha.kubernetes.io/cri-socket\":\"unix:///run/containerd/containerd.sock\",\"node.alpha.kubernetes.io/ttl\":\"0\",\"projectcalico.org/IPv4Address\":\"{ip}/20\",\"volumes.kubernetes.io/controller-managed-attach-detach\":\"true\"}}}},\"spec\":{{\"podCIDR\":\"10.{a}.{b}.0/24\",\"podCIDRs\":[\"10.{a}.{b}.0/24\"],\"providerID\":\"aws:///{zone}/{instance}\"",
            ip = n.ip,
            a = 64 + i / 256 % 64,
            b = i % 256,
            zone = n.zone,
        );
        let mut taints: Vec<(&str, &str)> = Vec::new();
        if n.control_plane {
            taints.push(("node-role.kubernetes.io/control-plane", "NoSchedule"));
        }
        match n.ready {
            Ready::Unknown => {
                taints.push(("node.kubernetes.io/unreachable", "NoSchedule"));
                taints.push(("node.kubernetes.io/unreachable", "NoExecute"));
            }
            Ready::False => {
                taints.push(("node.kubernetes.io/not-ready", "NoSchedule"));
                taints.push(("node.kubernetes.io/not-ready", "NoExecute"));
            }
            Ready::True => {}
        }
        if n.memory_pressure {
            taints.push(("node.kubernetes.io/memory-pressure", "NoSchedule"));
        }
        if n.disk_pressure {
            taints.push(("node.kubernetes.io/disk-pressure", "NoSchedule"));
        }
        if n.cordoned {
            taints.push(("node.kubernetes.io/unschedulable", "NoSchedule"));
            out.push_str(",\"unschedulable\":true");
        }
        if !taints.is_empty() {
            out.push_str(",\"taints\":[");
            for (j, (key, effect)) in taints.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{{\"key\":\"{key}\",\"effect\":\"{effect}\"");
                if key.starts_with("node.kubernetes.io/") && *effect == "NoExecute" {
                    let _ = write!(out, ",\"timeAdded\":\"{}\"", rfc3339(NOW - 3_000));
                }
                out.push('}');
            }
            out.push(']');
        }
        let alloc_cpu = n.cpu * 1000 - 90;
        let alloc_mem = n.memory_ki - 1_016_832;
        let _ = write!(
            out,
            "}},\"status\":{{\"capacity\":{{\"cpu\":\"{cpu}\",\"ephemeral-storage\":\"104845292Ki\",\"hugepages-1Gi\":\"0\",\"hugepages-2Mi\":\"0\",\"memory\":\"{mem}Ki\",\"pods\":\"110\"}},\"allocatable\":{{\"cpu\":\"{alloc_cpu}m\",\"ephemeral-storage\":\"95551679715\",\"hugepages-1Gi\":\"0\",\"hugepages-2Mi\":\"0\",\"memory\":\"{alloc_mem}Ki\",\"pods\":\"110\"}},\"conditions\":[",
            cpu = n.cpu,
            mem = n.memory_ki,
        );
        let hb = rfc3339(heartbeat);
        let since = rfc3339(n.created + 60);
        let recent = rfc3339(NOW - 2_400);
        let network = if n.network_unavailable {
            ("True", "NoRouteCreated", "Node created without a route")
        } else {
            ("False", "CalicoIsUp", "Calico is running on this node")
        };
        let _ = write!(
            out,
            "{{\"type\":\"NetworkUnavailable\",\"status\":\"{}\",\"lastHeartbeatTime\":\"{hb}\",\"lastTransitionTime\":\"{}\",\"reason\":\"{}\",\"message\":\"{}\"}}",
            network.0,
            if n.network_unavailable { &recent } else { &since },
            network.1,
            network.2
        );
        let unknown = n.ready == Ready::Unknown;
        let conds: [(&str, bool, &str, &str, &str); 3] = [
            (
                "MemoryPressure",
                n.memory_pressure,
                "KubeletHasInsufficientMemory",
                "KubeletHasSufficientMemory",
                "memory available",
            ),
            (
                "DiskPressure",
                n.disk_pressure,
                "KubeletHasDiskPressure",
                "KubeletHasNoDiskPressure",
                "disk pressure",
            ),
            (
                "PIDPressure",
                n.pid_pressure,
                "KubeletHasInsufficientPID",
                "KubeletHasSufficientPID",
                "PID available",
            ),
        ];
        for (t, on, on_reason, off_reason, what) in conds {
            let (status, reason, message, when) = if unknown {
                (
                    "Unknown",
                    "NodeStatusUnknown",
                    "Kubelet stopped posting node status.".to_string(),
                    &recent,
                )
            } else if on {
                let message = match t {
                    "MemoryPressure" => "kubelet has insufficient memory available".to_string(),
                    "DiskPressure" => "kubelet has disk pressure".to_string(),
                    _ => "kubelet has insufficient PID available".to_string(),
                };
                ("True", on_reason, message, &recent)
            } else {
                let message = if t == "DiskPressure" {
                    "kubelet has no disk pressure".to_string()
                } else {
                    format!("kubelet has sufficient {what}")
                };
                ("False", off_reason, message, &since)
            };
            let _ = write!(
                out,
                ",{{\"type\":\"{t}\",\"status\":\"{status}\",\"lastHeartbeatTime\":\"{hb}\",\"lastTransitionTime\":\"{when}\",\"reason\":\"{reason}\",\"message\":{}}}",
                J(&message)
            );
        }
        let (status, reason, message, when) = match n.ready {
            Ready::True => (
                "True",
                "KubeletReady",
                "kubelet is posting ready status. AppArmor enabled",
                &since,
            ),
            Ready::False => (
                "False",
                "KubeletNotReady",
                "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
                &recent,
            ),
            Ready::Unknown => (
                "Unknown",
                "NodeStatusUnknown",
                "Kubelet stopped posting node status.",
                &recent,
            ),
        };
        let _ = write!(
            out,
            ",{{\"type\":\"Ready\",\"status\":\"{status}\",\"lastHeartbeatTime\":\"{hb}\",\"lastTransitionTime\":\"{when}\",\"reason\":\"{reason}\",\"message\":\"{message}\"}}],\"addresses\":[{{\"type\":\"InternalIP\",\"address\":\"{ip}\"}},{{\"type\":\"InternalDNS\",\"address\":\"ip-{dash}.{region}.compute.internal\"}},{{\"type\":\"Hostname\",\"address\":{name}}}],\"daemonEndpoints\":{{\"kubeletEndpoint\":{{\"Port\":10250}}}},\"nodeInfo\":{{\"machineID\":\"{machine_id}\",\"systemUUID\":\"{system_uuid}\",\"bootID\":\"{boot_id}\",\"kernelVersion\":\"6.5.0-1014-aws\",\"osImage\":\"Ubuntu 22.04.4 LTS\",\"containerRuntimeVersion\":\"containerd://1.7.13\",\"kubeletVersion\":\"{kubelet}\",\"kubeProxyVersion\":\"{kubelet}\",\"operatingSystem\":\"linux\",\"architecture\":\"amd64\"}},\"images\":[",
            ip = n.ip,
            dash = n.ip.replace('.', "-"),
            name = J(&n.name),
            kubelet = n.kubelet,
        );
        let images: [(&str, u64); 6] = [
            ("registry.k8s.io/kube-proxy", 28_000_000),
            ("docker.io/calico/node", 115_000_000),
            ("docker.io/calico/cni", 94_000_000),
            ("docker.io/envoyproxy/envoy", 62_000_000),
            ("cr.fluentbit.io/fluent/fluent-bit", 38_000_000),
            ("registry.k8s.io/pause", 320_000),
        ];
        let tags = [n.kubelet, "v3.27.2", "v3.27.2", "v1.29.2", "2.2.2", "3.9"];
        for (j, ((image, size), tag)) in images.iter().zip(tags).enumerate() {
            if j > 0 {
                out.push(',');
            }
            let digest = image_id(&format!("{image}:{tag}"));
            let _ = write!(
                out,
                "{{\"names\":[\"{digest}\",\"{image}:{tag}\"],\"sizeBytes\":{}}}",
                size + (j as u64) * 7_919
            );
        }
        out.push_str("]}}");
    }

    /// Writes the NodeMetricsList; returns the number of items.
    fn node_metrics_json(&mut self, out: &mut String) -> usize {
        let rv = self.rv();
        list_start(out, "NodeMetricsList", "metrics.k8s.io/v1beta1", rv);
        let mut count = 0;
        for i in 0..self.nodes.len() {
            // metrics-server has no fresh data for nodes whose kubelet is gone.
            if self.nodes[i].ready == Ready::Unknown {
                continue;
            }
            let (cpu_frac, mem_frac) = if self.nodes[i].high_load {
                (0.5 + 0.45 * self.rng.unit(), 0.91 + 0.08 * self.rng.unit())
            } else {
                (0.05 + 0.6 * self.rng.unit(), 0.2 + 0.6 * self.rng.unit())
            };
            let stamp = rfc3339(NOW - self.rng.range(5, 30) as i64);
            let n = &self.nodes[i];
            let cpu_nanos = (n.cpu as f64 * 1e9 * cpu_frac) as u64;
            let mem_ki = ((n.memory_ki - 1_016_832) as f64 * mem_frac) as u64;
            list_item_sep(out, count == 0);
            let _ = write!(
                out,
                "{{\"metadata\":{{\"name\":{name},\"creationTimestamp\":\"{now}\",\"labels\":{{\"beta.kubernetes.io/arch\":\"amd64\",\"beta.kubernetes.io/os\":\"linux\",\"kubernetes.io/arch\":\"amd64\",\"kubernetes.io/hostname\":{name},\"kubernetes.io/os\":\"linux\",\"node.kubernetes.io/instance-type\":\"{it}\",\"topology.kubernetes.io/zone\":\"{zone}\"}}}},\"timestamp\":\"{stamp}\",\"window\":\"20.043s\",\"usage\":{{\"cpu\":\"{cpu_nanos}n\",\"memory\":\"{mem_ki}Ki\"}}}}",
                name = J(&n.name),
                now = rfc3339(NOW),
                it = n.instance_type,
                zone = n.zone,
            );
            count += 1;
        }
        list_end(out);
        count
    }

    /// Node events, which the API keeps in the `default` namespace.
    fn node_events(&mut self, events: &mut Vec<Event>) {
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            let mut push = |type_, reason, message: String, count, component| {
                events.push(Event {
                    namespace: "default".into(),
                    kind: "Node",
                    name: n.name.clone(),
                    uid: n.name.clone(),
                    field_path: None,
                    type_,
                    reason,
                    message,
                    count,
                    first: NOW - 3_000,
                    last: NOW - 2_400,
                    component,
                    host: Some(n.name.clone()),
                });
            };
            if n.ready != Ready::True {
                push(
                    "Normal",
                    "NodeNotReady",
                    format!("Node {} status is now: NodeNotReady", n.name),
                    1,
                    "node-controller",
                );
            }
            if n.memory_pressure {
                push(
                    "Warning",
                    "EvictionThresholdMet",
                    "Attempting to reclaim memory".to_string(),
                    12,
                    "kubelet",
                );
            }
            if n.disk_pressure {
                push(
                    "Warning",
                    "EvictionThresholdMet",
                    "Attempting to reclaim ephemeral-storage".to_string(),
                    31,
                    "kubelet",
                );
                push(
                    "Warning",
                    "FreeDiskSpaceFailed",
                    "Failed to garbage collect required amount of images. Attempted to free 4119874355 bytes, but only found 0 bytes eligible to free.".to_string(),
                    9,
                    "kubelet",
                );
            }
            if n.cordoned {
                push(
                    "Normal",
                    "NodeNotSchedulable",
                    format!("Node {} status is now: NodeNotSchedulable", n.name),
                    1,
                    "kubelet",
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Pods
// ---------------------------------------------------------------------------------------

impl Gen {
    fn pods_json(&mut self, ns: &Namespace, events: &mut Vec<Event>, out: &mut String) {
        let rv = self.rv();
        list_start(out, "PodList", "v1", rv);
        let mut first = true;
        if ns.system {
            for pod in self.system_pods() {
                list_item_sep(out, first);
                first = false;
                self.pod_events(&pod, events);
                self.pod_json(&pod, out);
            }
        }
        for w in &ns.workloads {
            for replica in 0..w.replicas {
                let fault = Fault::draw(&mut self.rng);
                let pod = self.app_pod(ns, w, replica, fault);
                list_item_sep(out, first);
                first = false;
                self.pod_events(&pod, events);
                self.pod_json(&pod, out);
            }
        }
        list_end(out);
    }

    fn app_pod(&mut self, ns: &Namespace, w: &Workload, replica: usize, fault: Fault) -> PodSpec {
        let app = w.name.as_str();
        let (name, generate_name, owner, mut labels) = match w.kind {
            WorkloadKind::Deployment => {
                let rs = format!("{app}-{}", w.hash);
                let name = format!("{rs}-{}", self.rng.name_chars(5));
                let labels = vec![
                    ("app.kubernetes.io/name".to_string(), app.to_string()),
                    (
                        "app.kubernetes.io/instance".to_string(),
                        format!("{app}-{}", ns.name),
                    ),
                    ("app.kubernetes.io/part-of".to_string(), ns.team.to_string()),
                    ("pod-template-hash".to_string(), w.hash.clone()),
                ];
                let owner = Owner {
                    api_version: "apps/v1",
                    kind: "ReplicaSet",
                    name: rs.clone(),
                    uid: w.rs_uid.clone(),
                };
                (name, format!("{rs}-"), owner, labels)
            }
            WorkloadKind::StatefulSet => {
                let name = format!("{app}-{replica}");
                let labels = vec![
                    ("app.kubernetes.io/name".to_string(), app.to_string()),
                    (
                        "app.kubernetes.io/instance".to_string(),
                        format!("{app}-{}", ns.name),
                    ),
                    ("app.kubernetes.io/part-of".to_string(), ns.team.to_string()),
                    (
                        "apps.kubernetes.io/pod-index".to_string(),
                        replica.to_string(),
                    ),
                    (
                        "controller-revision-hash".to_string(),
                        format!("{app}-{}", w.hash),
                    ),
                    (
                        "statefulset.kubernetes.io/pod-name".to_string(),
                        name.clone(),
                    ),
                ];
                let owner = Owner {
                    api_version: "apps/v1",
                    kind: "StatefulSet",
                    name: app.to_string(),
                    uid: w.uid.clone(),
                };
                (name, format!("{app}-"), owner, labels)
            }
        };
        labels.sort();
        let created = w.created + self.rng.below(86_400 * 30) as i64;
        let created = created.min(NOW - 600);
        let mut annotations = vec![
            ("prometheus.io/port".to_string(), "9090".to_string()),
            ("prometheus.io/scrape".to_string(), "true".to_string()),
        ];
        // Left by `kubectl rollout restart` on some workloads.
        if w.hash.as_bytes()[0] % 3 == 1 {
            annotations.insert(
                0,
                (
                    "kubectl.kubernetes.io/restartedAt".to_string(),
                    rfc3339(created - 120),
                ),
            );
        }
        let (sidecar, sidecar_image, sidecar_port_name, sidecar_port) = SIDECARS[w.sidecar];
        let sa_volume = format!("kube-api-access-{}", self.rng.name_chars(5));
        let main_requests = if w.requests {
            vec![("cpu", "250m"), ("memory", "256Mi")]
        } else {
            Vec::new()
        };
        let main = Container {
            name: app.to_string(),
            image: if matches!(fault, Fault::ImagePull | Fault::ErrImagePull) {
                format!("{}-rc1", w.image)
            } else {
                w.image.clone()
            },
            command: Vec::new(),
            ports: vec![("http", 8080), ("metrics", 9090)],
            env: vec![
                Env::Field("POD_NAME", "metadata.name"),
                Env::Value("LOG_LEVEL", "info".to_string()),
            ],
            requests: main_requests,
            limits: vec![("memory", "512Mi")],
            probes: Some(("/healthz", "/ready", 8080)),
            mounts: vec![(
                sa_volume.clone(),
                "/var/run/secrets/kubernetes.io/serviceaccount".to_string(),
                true,
            )],
        };
        let side = Container {
            name: sidecar.to_string(),
            image: sidecar_image.to_string(),
            command: Vec::new(),
            ports: vec![(sidecar_port_name, sidecar_port)],
            env: Vec::new(),
            requests: vec![("cpu", "50m"), ("memory", "64Mi")],
            limits: if w.sidecar_memory_limit {
                vec![("memory", "128Mi")]
            } else {
                Vec::new()
            },
            probes: None,
            mounts: Vec::new(),
        };
        let node = if fault == Fault::Unschedulable {
            None
        } else {
            Some(self.random_worker())
        };
        let mut pod = PodSpec {
            name,
            generate_name: Some(generate_name),
            namespace: ns.name.clone(),
            uid: self.rng.uid(),
            created,
            labels,
            annotations,
            owner: Some(owner),
            node,
            containers: vec![main, side],
            statuses: Vec::new(),
            phase: "Running",
            ready: true,
            unschedulable: None,
            pod_ip: None,
            priority_class: None,
            host_network: false,
            service_account: "default".into(),
        };
        self.app_statuses(&mut pod, fault);
        pod
    }

    /// Sets the pod's phase, readiness and container statuses for `fault`.
    fn app_statuses(&mut self, pod: &mut PodSpec, fault: Fault) {
        let started = pod.created + self.rng.range(3, 40) as i64;
        if fault == Fault::Unschedulable {
            pod.phase = "Pending";
            pod.ready = false;
            let nodes = self.nodes.len();
            let insufficient = nodes * 9 / 10;
            let tainted = nodes - insufficient;
            let (what, preempt) = if self.rng.chance(0.5) {
                ("memory", "No preemption victims found for incoming pod")
            } else {
                ("cpu", "Preemption is not helpful for scheduling")
            };
            pod.unschedulable = Some((
                "Unschedulable",
                format!(
                    "0/{nodes} nodes are available: {insufficient} Insufficient {what}, {tainted} node(s) had untolerated taint {{node-role.kubernetes.io/control-plane: }}. preemption: 0/{nodes} nodes are available: {insufficient} {preempt}, {tainted} Preemption is not helpful for scheduling."
                ),
            ));
            return;
        }
        pod.pod_ip = Some(self.next_pod_ip());
        let mut phase = "Running";
        let mut statuses = Vec::new();
        for (i, c) in pod.containers.iter().enumerate() {
            let mut s = ContainerStatus {
                name: c.name.clone(),
                image: c.image.clone(),
                ready: true,
                restarts: 0,
                state: State::Running(started + 2),
                last: None,
            };
            if i == 0 {
                match fault {
                    Fault::Healthy | Fault::Unschedulable => {}
                    Fault::RecentRestart => {
                        s.restarts = self.rng.range(1, 3);
                        let t = NOW - self.rng.range(3_600, 86_400 * 5) as i64;
                        s.state = State::Running(t + 1);
                        s.last = Some(Term {
                            reason: "Error",
                            exit_code: 2,
                            started: started + 2,
                            finished: t,
                        });
                    }
                    Fault::CrashLoop => {
                        s.ready = false;
                        s.restarts = self.rng.range(5, 400);
                        s.state = State::Waiting(
                            "CrashLoopBackOff",
                            format!(
                                "back-off 5m0s restarting failed container={} pod={}_{}({})",
                                c.name, pod.name, pod.namespace, pod.uid
                            ),
                        );
                        s.last = Some(Term {
                            reason: "Error",
                            exit_code: self.rng.pick(&[1, 1, 1, 2, 139]),
                            started: NOW - 340,
                            finished: NOW - 330,
                        });
                    }
                    Fault::ImagePull | Fault::ErrImagePull => {
                        s.ready = false;
                        s.state = if fault == Fault::ImagePull {
                            State::Waiting(
                                "ImagePullBackOff",
                                format!("Back-off pulling image \"{}\"", c.image),
                            )
                        } else {
                            State::Waiting(
                                "ErrImagePull",
                                format!(
                                    "failed to pull and unpack image \"{}\": failed to resolve reference \"{}\": {}: not found",
                                    c.image, c.image, c.image
                                ),
                            )
                        };
                        phase = "Pending";
                    }
                    Fault::ConfigError => {
                        s.ready = false;
                        s.state = State::Waiting(
                            "CreateContainerConfigError",
                            format!("secret \"{}-credentials\" not found", c.name),
                        );
                        phase = "Pending";
                    }
                    Fault::OomKilled => {
                        s.restarts = self.rng.range(1, 4);
                        let t = NOW - self.rng.range(60, 7_200) as i64;
                        s.state = State::Running(t + 2);
                        s.last = Some(Term {
                            reason: "OOMKilled",
                            exit_code: 137,
                            started: t - self.rng.range(300, 20_000) as i64,
                            finished: t,
                        });
                    }
                    Fault::HighRestarts => {
                        s.restarts = self.rng.range(6, 60);
                        let t = NOW - self.rng.range(60, 3_600) as i64;
                        s.state = State::Running(t + 1);
                        s.last = Some(Term {
                            reason: "Error",
                            exit_code: self.rng.pick(&[137, 143, 1]),
                            started: t - self.rng.range(120, 3_600) as i64,
                            finished: t,
                        });
                    }
                    Fault::NotReady => s.ready = false,
                }
            }
            statuses.push(s);
        }
        // Containers waiting to be created leave the pod Pending; the sidecar waits too.
        pod.phase = phase;
        if phase == "Pending" {
            for s in statuses.iter_mut().skip(1) {
                s.ready = false;
                s.state = State::Waiting("PodInitializing", String::new());
            }
        }
        pod.ready = statuses.iter().all(|s| s.ready);
        pod.statuses = statuses;
    }

    /// Static control-plane pods, CoreDNS, metrics-server and one kube-proxy per node.
    fn system_pods(&mut self) -> Vec<PodSpec> {
        let mut pods = Vec::new();
        let control_planes: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].control_plane)
            .collect();
        for &cp in &control_planes {
            for component in [
                "etcd",
                "kube-apiserver",
                "kube-controller-manager",
                "kube-scheduler",
            ] {
                pods.push(self.static_pod(cp, component));
            }
        }
        let rs_hash = "76f75df574";
        let rs_uid = self.rng.uid();
        for _ in 0..self.coredns {
            let node = self.random_worker();
            let name = format!("coredns-{rs_hash}-{}", self.rng.name_chars(5));
            let mut pod = self.system_pod(
                name,
                "coredns-76f75df574-",
                node,
                vec![
                    ("k8s-app".into(), "kube-dns".into()),
                    ("pod-template-hash".into(), rs_hash.into()),
                ],
                Owner {
                    api_version: "apps/v1",
                    kind: "ReplicaSet",
                    name: format!("coredns-{rs_hash}"),
                    uid: rs_uid.clone(),
                },
                Container {
                    name: "coredns".into(),
                    image: "registry.k8s.io/coredns/coredns:v1.11.1".into(),
                    command: vec!["-conf".into(), "/etc/coredns/Corefile".into()],
                    ports: vec![("dns", 53), ("dns-tcp", 53), ("metrics", 9153)],
                    env: Vec::new(),
                    requests: vec![("cpu", "100m"), ("memory", "70Mi")],
                    limits: vec![("memory", "170Mi")],
                    probes: Some(("/health", "/ready", 8181)),
                    mounts: vec![("config-volume".into(), "/etc/coredns".into(), true)],
                },
            );
            pod.service_account = "coredns".into();
            pod.priority_class = Some("system-cluster-critical");
            pods.push(pod);
        }
        let node = self.random_worker();
        let ms_hash = "6d94bc8694";
        let name = format!("metrics-server-{ms_hash}-{}", self.rng.name_chars(5));
        let ms_uid = self.rng.uid();
        let mut pod = self.system_pod(
            name,
            "metrics-server-6d94bc8694-",
            node,
            vec![
                ("k8s-app".into(), "metrics-server".into()),
                ("pod-template-hash".into(), ms_hash.into()),
            ],
            Owner {
                api_version: "apps/v1",
                kind: "ReplicaSet",
                name: format!("metrics-server-{ms_hash}"),
                uid: ms_uid,
            },
            Container {
                name: "metrics-server".into(),
                image: "registry.k8s.io/metrics-server/metrics-server:v0.7.0".into(),
                command: vec![
                    "--cert-dir=/tmp".into(),
                    "--secure-port=10250".into(),
                    "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname".into(),
                    "--metric-resolution=15s".into(),
                ],
                ports: vec![("https", 10250)],
                env: Vec::new(),
                requests: vec![("cpu", "100m"), ("memory", "200Mi")],
                limits: Vec::new(),
                probes: Some(("/livez", "/readyz", 10250)),
                mounts: vec![("tmp-dir".into(), "/tmp".into(), false)],
            },
        );
        pod.service_account = "metrics-server".into();
        pod.priority_class = Some("system-cluster-critical");
        pods.push(pod);

        let ds_uid = self.rng.uid();
        for node in 0..self.nodes.len() {
            let name = format!("kube-proxy-{}", self.rng.name_chars(5));
            let kubelet = self.nodes[node].kubelet;
            let mut pod = self.system_pod(
                name,
                "kube-proxy-",
                node,
                vec![
                    ("controller-revision-hash".into(), "7b8c9d6f54".into()),
                    ("k8s-app".into(), "kube-proxy".into()),
                    ("pod-template-generation".into(), "3".into()),
                ],
                Owner {
                    api_version: "apps/v1",
                    kind: "DaemonSet",
                    name: "kube-proxy".into(),
                    uid: ds_uid.clone(),
                },
                // kubeadm's kube-proxy sets no resources.
                Container {
                    name: "kube-proxy".into(),
                    image: format!("registry.k8s.io/kube-proxy:{kubelet}"),
                    command: vec![
                        "/usr/local/bin/kube-proxy".into(),
                        "--config=/var/lib/kube-proxy/config.conf".into(),
                        "--hostname-override=$(NODE_NAME)".into(),
                    ],
                    ports: Vec::new(),
                    env: vec![Env::Field("NODE_NAME", "spec.nodeName")],
                    requests: Vec::new(),
                    limits: Vec::new(),
                    probes: None,
                    mounts: vec![
                        ("kube-proxy".into(), "/var/lib/kube-proxy".into(), false),
                        ("xtables-lock".into(), "/run/xtables.lock".into(), false),
                        ("lib-modules".into(), "/lib/modules".into(), true),
                    ],
                },
            );
            pod.service_account = "kube-proxy".into();
            pod.priority_class = Some("system-node-critical");
            pod.host_network = true;
            pod.pod_ip = Some(self.nodes[node].ip.clone());
            if self.nodes[node].ready != Ready::True {
                pod.ready = false;
                for s in &mut pod.statuses {
                    s.ready = false;
                }
            }
            pods.push(pod);
        }
        pods
    }

    fn system_pod(
        &mut self,
        name: String,
        generate_name: &str,
        node: usize,
        labels: Vec<(String, String)>,
        owner: Owner,
        container: Container,
    ) -> PodSpec {
        let created = self.nodes[node].created + self.rng.range(30, 600) as i64;
        let status = ContainerStatus {
            name: container.name.clone(),
            image: container.image.clone(),
            ready: true,
            restarts: self.rng.below(2),
            state: State::Running(created + 10),
            last: None,
        };
        let pod_ip = self.next_pod_ip();
        PodSpec {
            name,
            generate_name: Some(generate_name.to_string()),
            namespace: "kube-system".into(),
            uid: self.rng.uid(),
            created,
            labels,
            annotations: Vec::new(),
            owner: Some(owner),
            node: Some(node),
            containers: vec![container],
            statuses: vec![status],
            phase: "Running",
            ready: true,
            unschedulable: None,
            pod_ip: Some(pod_ip),
            priority_class: None,
            host_network: false,
            service_account: "default".into(),
        }
    }

    fn static_pod(&mut self, node: usize, component: &'static str) -> PodSpec {
        let n = &self.nodes[node];
        let image = if component == "etcd" {
            "registry.k8s.io/etcd:3.5.10-0".to_string()
        } else {
            format!("registry.k8s.io/{component}:{API_VERSION}")
        };
        let ip = n.ip.clone();
        let node_name = n.name.clone();
        let node_uid = n.uid.clone();
        let created = n.created + 40;
        let command: Vec<String> = match component {
            "etcd" => vec![
                "etcd".into(),
                format!("--advertise-client-urls=https://{ip}:2379"),
                "--cert-file=/etc/kubernetes/pki/etcd/server.crt".into(),
                "--data-dir=/var/lib/etcd".into(),
                format!("--name={node_name}"),
            ],
            "kube-apiserver" => vec![
                "kube-apiserver".into(),
                format!("--advertise-address={ip}"),
                "--allow-privileged=true".into(),
                "--authorization-mode=Node,RBAC".into(),
                "--etcd-servers=https://127.0.0.1:2379".into(),
                "--service-cluster-ip-range=10.96.0.0/12".into(),
            ],
            "kube-controller-manager" => vec![
                "kube-controller-manager".into(),
                "--allocate-node-cidrs=true".into(),
                "--cluster-cidr=10.64.0.0/10".into(),
                "--leader-elect=true".into(),
            ],
            _ => vec![
                "kube-scheduler".into(),
                "--kubeconfig=/etc/kubernetes/scheduler.conf".into(),
                "--leader-elect=true".into(),
            ],
        };
        let requests = match component {
            "kube-apiserver" => vec![("cpu", "250m")],
            "etcd" => vec![("cpu", "100m"), ("memory", "100Mi")],
            "kube-controller-manager" => vec![("cpu", "200m")],
            _ => vec![("cpu", "100m")],
        };
        // One control-plane component that restarts now and then.
        let restarts = if component == "kube-controller-manager" && node == 1 {
            14
        } else {
            0
        };
        let last = (restarts > 0).then_some(Term {
            reason: "Error",
            exit_code: 1,
            started: NOW - 86_400,
            finished: NOW - 5_400,
        });
        PodSpec {
            name: format!("{component}-{node_name}"),
            generate_name: None,
            namespace: "kube-system".into(),
            uid: self.rng.uid(),
            created,
            labels: vec![
                ("component".into(), component.into()),
                ("tier".into(), "control-plane".into()),
            ],
            annotations: vec![
                ("kubernetes.io/config.hash".into(), self.rng.hex(32)),
                ("kubernetes.io/config.mirror".into(), self.rng.hex(32)),
                ("kubernetes.io/config.seen".into(), rfc3339(created)),
                ("kubernetes.io/config.source".into(), "file".into()),
            ],
            owner: Some(Owner {
                api_version: "v1",
                kind: "Node",
                name: node_name,
                uid: node_uid,
            }),
            node: Some(node),
            containers: vec![Container {
                name: component.to_string(),
                image: image.clone(),
                command,
                ports: Vec::new(),
                env: Vec::new(),
                requests,
                limits: Vec::new(),
                probes: Some(("/livez", "/readyz", 10257)),
                mounts: vec![
                    ("k8s-certs".into(), "/etc/kubernetes/pki".into(), true),
                    ("ca-certs".into(), "/etc/ssl/certs".into(), true),
                ],
            }],
            statuses: vec![ContainerStatus {
                name: component.to_string(),
                image,
                ready: true,
                restarts,
                state: State::Running(NOW - 5_390),
                last,
            }],
            phase: "Running",
            ready: true,
            unschedulable: None,
            pod_ip: Some(ip),
            priority_class: Some("system-node-critical"),
            host_network: true,
            service_account: String::new(),
        }
    }

    fn pod_json(&mut self, p: &PodSpec, out: &mut String) {
        let rv = self.rv();
        let node = p
            .node
            .map(|i| (self.nodes[i].name.clone(), self.nodes[i].ip.clone()));
        let _ = write!(out, "{{\"metadata\":{{\"name\":{}", J(&p.name));
        if let Some(g) = &p.generate_name {
            let _ = write!(out, ",\"generateName\":{}", J(g));
        }
        let _ = write!(
            out,
            ",\"namespace\":{},\"uid\":\"{}\",\"resourceVersion\":\"{rv}\",\"creationTimestamp\":\"{}\",\"labels\":{{",
            J(&p.namespace),
            p.uid,
            rfc3339(p.created)
        );
        pairs(out, &p.labels);
        out.push('}');
        if !p.annotations.is_empty() {
            out.push_str(",\"annotations\":{");
            pairs(out, &p.annotations);
            out.push('}');
        }
        if let Some(o) = &p.owner {
            let _ = write!(
                out,
                ",\"ownerReferences\":[{{\"apiVersion\":\"{}\",\"kind\":\"{}\",\"name\":{},\"uid\":\"{}\",\"controller\":true,\"blockOwnerDeletion\":true}}]",
                o.api_version,
                o.kind,
                J(&o.name),
                o.uid
            );
        }
        self.managed_fields(p, out);

        // spec
        out.push_str("},\"spec\":{\"volumes\":[");
        let mut volumes: Vec<String> = Vec::new();
        for c in &p.containers {
            for (name, path, _) in &c.mounts {
                if name.starts_with("kube-api-access-")
                    && !volumes.iter().any(|v| v.contains(name.as_str()))
                {
                    volumes.push(format!(
                        "{{\"name\":\"{name}\",\"projected\":{{\"sources\":[{{\"serviceAccountToken\":{{\"expirationSeconds\":3607,\"path\":\"token\"}}}},{{\"configMap\":{{\"name\":\"kube-root-ca.crt\",\"items\":[{{\"key\":\"ca.crt\",\"path\":\"ca.crt\"}}]}}}},{{\"downwardAPI\":{{\"items\":[{{\"path\":\"namespace\",\"fieldRef\":{{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.namespace\"}}}}]}}}}],\"defaultMode\":420}}}}"
                    ));
                } else if !volumes.iter().any(|v| v.contains(&format!("\"{name}\""))) {
                    volumes.push(format!(
                        "{{\"name\":{},\"hostPath\":{{\"path\":{},\"type\":\"DirectoryOrCreate\"}}}}",
                        J(name),
                        J(path)
                    ));
                }
            }
        }
        out.push_str(&volumes.join(","));
        out.push_str("],\"containers\":[");
        for (i, c) in p.containers.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            container_json(c, out);
        }
        let _ = write!(
            out,
            "],\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":\"{}\"",
            if p.host_network { "ClusterFirstWithHostNet" } else { "ClusterFirst" }
        );
        if !p.service_account.is_empty() {
            let _ = write!(
                out,
                ",\"serviceAccountName\":{sa},\"serviceAccount\":{sa}",
                sa = J(&p.service_account)
            );
        }
        if let Some((name, _)) = &node {
            let _ = write!(out, ",\"nodeName\":{}", J(name));
        }
        if p.host_network {
            out.push_str(",\"hostNetwork\":true");
        }
        out.push_str(",\"securityContext\":{},\"schedulerName\":\"default-scheduler\"");
        match p.priority_class {
            Some(class) => {
                let _ = write!(
                    out,
                    ",\"priorityClassName\":\"{class}\",\"priority\":{}",
                    if class == "system-node-critical" {
                        2_000_001_000
                    } else {
                        2_000_000_000
                    }
                );
            }
            None => out.push_str(",\"priority\":0"),
        }
        out.push('}');

        // status
        let _ = write!(
            out,
            ",\"status\":{{\"phase\":\"{}\",\"conditions\":[",
            p.phase
        );
        let t = rfc3339(p.created + 1);
        let ready_t = rfc3339(if p.ready { p.created + 9 } else { NOW - 330 });
        match &p.unschedulable {
            Some((reason, message)) => {
                let _ = write!(
                    out,
                    "{{\"type\":\"PodScheduled\",\"status\":\"False\",\"lastProbeTime\":null,\"lastTransitionTime\":\"{t}\",\"reason\":\"{reason}\",\"message\":{}}}",
                    J(message)
                );
            }
            None => {
                let ready = if p.ready { "True" } else { "False" };
                let (reason, message) = if p.ready {
                    (String::new(), String::new())
                } else {
                    let names: Vec<&str> = p
                        .statuses
                        .iter()
                        .filter(|s| !s.ready)
                        .map(|s| s.name.as_str())
                        .collect();
                    (
                        ",\"reason\":\"ContainersNotReady\"".to_string(),
                        format!(
                            ",\"message\":\"containers with unready status: [{}]\"",
                            names.join(" ")
                        ),
                    )
                };
                let _ = write!(
                    out,
                    "{{\"type\":\"Initialized\",\"status\":\"True\",\"lastProbeTime\":null,\"lastTransitionTime\":\"{t}\"}},{{\"type\":\"Ready\",\"status\":\"{ready}\",\"lastProbeTime\":null,\"lastTransitionTime\":\"{ready_t}\"{reason}{message}}},{{\"type\":\"ContainersReady\",\"status\":\"{ready}\",\"lastProbeTime\":null,\"lastTransitionTime\":\"{ready_t}\"{reason}{message}}},{{\"type\":\"PodScheduled\",\"status\":\"True\",\"lastProbeTime\":null,\"lastTransitionTime\":\"{t}\"}}"
                );
            }
        }
        out.push(']');
        if let Some((_, ip)) = &node {
            let _ = write!(out, ",\"hostIP\":\"{ip}\"");
        }
        if let Some(ip) = &p.pod_ip {
            let _ = write!(out, ",\"podIP\":\"{ip}\"");
        }
        if p.unschedulable.is_none() {
            let _ = write!(out, ",\"startTime\":\"{t}\",\"containerStatuses\":[");
            for (i, s) in p.statuses.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                self.status_json(s, out);
            }
            out.push(']');
        }
        let qos = qos_class(&p.containers);
        let _ = write!(out, ",\"qosClass\":\"{qos}\"}}}}");
    }

    fn status_json(&mut self, s: &ContainerStatus, out: &mut String) {
        let waiting_to_start = matches!(
            &s.state,
            State::Waiting(reason, _) if *reason != "CrashLoopBackOff"
        );
        let _ = write!(out, "{{\"name\":{},\"state\":", J(&s.name));
        state_json(&s.state, out);
        out.push_str(",\"lastState\":");
        match &s.last {
            Some(t) => {
                out.push_str("{\"terminated\":");
                let container_id = self.rng.hex(64);
                term_json(t, &container_id, out);
                out.push('}');
            }
            None => out.push_str("{}"),
        }
        let _ = write!(
            out,
            ",\"ready\":{},\"restartCount\":{},\"image\":{}",
            s.ready,
            s.restarts,
            J(&s.image)
        );
        if waiting_to_start {
            out.push_str(",\"imageID\":\"\",\"started\":false}");
        } else {
            let _ = write!(
                out,
                ",\"imageID\":{},\"containerID\":\"containerd://{}\",\"started\":{}}}",
                J(&image_id(&s.image)),
                self.rng.hex(64),
                matches!(s.state, State::Running(_))
            );
        }
    }

    /// A `managedFields` block as the API server writes it (condensed: the controller's
    /// entry names each container's fields without their sub-fields): the controller's
    /// fields, then the kubelet's status fields.
    fn managed_fields(&mut self, p: &PodSpec, out: &mut String) {
        let manager = match p.owner.as_ref().map(|o| o.kind) {
            Some("Node") => "kubelet",
            _ => "kube-controller-manager",
        };
        let _ = write!(
            out,
            ",\"managedFields\":[{{\"manager\":\"{manager}\",\"operation\":\"Update\",\"apiVersion\":\"v1\",\"time\":\"{}\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{{\"f:metadata\":{{",
            rfc3339(p.created)
        );
        if !p.annotations.is_empty() {
            out.push_str("\"f:annotations\":{},");
        }
        if p.generate_name.is_some() {
            out.push_str("\"f:generateName\":{},");
        }
        out.push_str("\"f:labels\":{\".\":{}");
        for (k, _) in &p.labels {
            let _ = write!(out, ",{}:{{}}", J(&format!("f:{k}")));
        }
        out.push('}');
        if let Some(o) = &p.owner {
            let _ = write!(
                out,
                ",\"f:ownerReferences\":{{\".\":{{}},{}:{{}}}}",
                key_json(&format!("k:{{\"uid\":\"{}\"}}", o.uid))
            );
        }
        out.push_str("},\"f:spec\":{\"f:containers\":{");
        for (i, c) in p.containers.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{}:{{\".\":{{}},\"f:image\":{{}},\"f:name\":{{}},\"f:resources\":{{}}}}",
                key_json(&format!("k:{{\"name\":\"{}\"}}", c.name))
            );
        }
        out.push_str("},\"f:volumes\":{}}}}");
        if p.node.is_none() {
            out.push(']');
            return;
        }
        let status_time = rfc3339(NOW - self.rng.range(30, 3_000) as i64);
        let _ = write!(
            out,
            ",{{\"manager\":\"kubelet\",\"operation\":\"Update\",\"apiVersion\":\"v1\",\"time\":\"{status_time}\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{{\"f:status\":{{\"f:conditions\":{{{}:{{\".\":{{}},\"f:lastTransitionTime\":{{}},\"f:status\":{{}},\"f:type\":{{}}}}}},\"f:containerStatuses\":{{}},\"f:hostIP\":{{}},\"f:phase\":{{}}",
            key_json("k:{\"type\":\"Ready\"}")
        );
        if p.pod_ip.is_some() {
            out.push_str(",\"f:podIP\":{}");
        }
        out.push_str(",\"f:startTime\":{}}},\"subresource\":\"status\"}]");
    }

    /// The events a pod's state would have left behind.
    fn pod_events(&mut self, p: &PodSpec, events: &mut Vec<Event>) {
        let host = p.node.map(|i| self.nodes[i].name.clone());
        let main = p.containers.first().map(|c| c.name.as_str()).unwrap_or("");
        let field = Some(format!("spec.containers{{{main}}}"));
        let mut push = |type_: &'static str,
                        reason: &'static str,
                        message: String,
                        count: u64,
                        component: &'static str,
                        field_path: Option<String>,
                        rng: &mut Rng| {
            let first = p.created + rng.range(1, 60) as i64;
            events.push(Event {
                namespace: p.namespace.clone(),
                kind: "Pod",
                name: p.name.clone(),
                uid: p.uid.clone(),
                field_path,
                type_,
                reason,
                message,
                count,
                first,
                last: (NOW - rng.range(5, 600) as i64).max(first),
                component,
                host: if component == "kubelet" {
                    host.clone()
                } else {
                    None
                },
            });
        };
        let rng = &mut self.rng;
        let status = p.statuses.first();
        if let Some((_, message)) = &p.unschedulable {
            push(
                "Warning",
                "FailedScheduling",
                message.clone(),
                rng.range(1, 40),
                "default-scheduler",
                None,
                rng,
            );
            return;
        }
        match status.map(|s| (&s.state, s.restarts, s.last.as_ref())) {
            Some((State::Waiting("CrashLoopBackOff", _), restarts, _)) => push(
                "Warning",
                "BackOff",
                format!(
                    "Back-off restarting failed container {main} in pod {}_{}({})",
                    p.name, p.namespace, p.uid
                ),
                restarts * 3,
                "kubelet",
                field,
                rng,
            ),
            Some((State::Waiting("ImagePullBackOff" | "ErrImagePull", _), _, _)) => {
                let image = p.containers.first().map(|c| c.image.as_str()).unwrap_or("");
                push("Warning", "Failed", format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"), rng.range(3, 30), "kubelet", field.clone(), rng);
                push(
                    "Normal",
                    "BackOff",
                    format!("Back-off pulling image \"{image}\""),
                    rng.range(10, 300),
                    "kubelet",
                    field,
                    rng,
                );
            }
            Some((State::Waiting("CreateContainerConfigError", message), _, _)) => push(
                "Warning",
                "Failed",
                format!("Error: {message}"),
                rng.range(5, 200),
                "kubelet",
                field,
                rng,
            ),
            Some((State::Running(_), restarts, Some(last))) if restarts > 5 => {
                push("Warning", "Unhealthy", "Liveness probe failed: Get \"http://10.64.0.1:8080/healthz\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)".to_string(), restarts * 3, "kubelet", field.clone(), rng);
                if last.exit_code != 1 {
                    push(
                        "Normal",
                        "Killing",
                        format!("Container {main} failed liveness probe, will be restarted"),
                        restarts,
                        "kubelet",
                        field,
                        rng,
                    );
                }
            }
            Some((State::Running(_), _, _)) if !p.ready => push(
                "Warning",
                "Unhealthy",
                "Readiness probe failed: HTTP probe failed with statuscode: 503".to_string(),
                rng.range(50, 2_000),
                "kubelet",
                field,
                rng,
            ),
            Some((State::Running(_), restarts, Some(last))) if last.reason == "OOMKilled" => {
                push(
                    "Normal",
                    "Pulled",
                    format!(
                        "Container image \"{}\" already present on machine",
                        p.containers.first().map(|c| c.image.as_str()).unwrap_or("")
                    ),
                    restarts,
                    "kubelet",
                    field,
                    rng,
                );
            }
            _ => {
                // Everyday events of healthy pods, so that there is about one event per
                // ten pods overall.
                if rng.chance(0.06) {
                    let (reason, message, component, field_path) = match rng.below(4) {
                        0 => (
                            "Scheduled",
                            format!(
                                "Successfully assigned {}/{} to {}",
                                p.namespace,
                                p.name,
                                host.as_deref().unwrap_or("")
                            ),
                            "default-scheduler",
                            None,
                        ),
                        1 => (
                            "Pulled",
                            format!(
                                "Container image \"{}\" already present on machine",
                                p.containers.first().map(|c| c.image.as_str()).unwrap_or("")
                            ),
                            "kubelet",
                            field,
                        ),
                        2 => (
                            "Created",
                            format!("Created container {main}"),
                            "kubelet",
                            field,
                        ),
                        _ => (
                            "Started",
                            format!("Started container {main}"),
                            "kubelet",
                            field,
                        ),
                    };
                    push("Normal", reason, message, 1, component, field_path, rng);
                }
            }
        }
    }

    fn events_json(&mut self, namespace: &str, events: &[Event], out: &mut String) {
        let rv = self.rv();
        list_start(out, "EventList", "v1", rv);
        for (i, e) in events.iter().enumerate() {
            list_item_sep(out, i == 0);
            let rv = self.rv();
            let suffix = self.rng.hex(16);
            let uid = self.rng.uid();
            // Nodes are not namespaced; their events live in `default`.
            let ns = if e.kind == "Node" {
                String::new()
            } else {
                format!(",\"namespace\":{}", J(&e.namespace))
            };
            let _ = write!(
                out,
                "{{\"metadata\":{{\"name\":{},\"namespace\":{},\"uid\":\"{uid}\",\"resourceVersion\":\"{rv}\",\"creationTimestamp\":\"{}\"}},\"involvedObject\":{{\"kind\":\"{}\"{ns},\"name\":{},\"uid\":{},\"apiVersion\":\"v1\",\"resourceVersion\":\"{}\"",
                J(&format!("{}.{suffix}", e.name)),
                J(namespace),
                rfc3339(e.first),
                e.kind,
                J(&e.name),
                J(&e.uid),
                rv - 17,
            );
            if let Some(f) = &e.field_path {
                let _ = write!(out, ",\"fieldPath\":{}", J(f));
            }
            let _ = write!(
                out,
                "}},\"reason\":\"{}\",\"message\":{},\"source\":{{\"component\":\"{}\"",
                e.reason,
                J(&e.message),
                e.component
            );
            if let Some(h) = &e.host {
                let _ = write!(out, ",\"host\":{}", J(h));
            }
            let _ = write!(
                out,
                "}},\"firstTimestamp\":\"{}\",\"lastTimestamp\":\"{}\",\"count\":{},\"type\":\"{}\",\"eventTime\":null,\"reportingComponent\":\"{}\",\"reportingInstance\":{}}}",
                rfc3339(e.first),
                rfc3339(e.last),
                e.count,
                e.type_,
                e.component,
                J(e.host.as_deref().unwrap_or(""))
            );
        }
        list_end(out);
    }

    /// Writes the namespace's ReplicaSets (current and scaled-down old ones of every
    /// Deployment); returns how many.
    fn replicasets_json(&mut self, ns: &Namespace, out: &mut String) -> usize {
        let rv = self.rv();
        list_start(out, "ReplicaSetList", "apps/v1", rv);
        let mut count = 0;
        if ns.system {
            for (deploy, hash, replicas, image) in [
                (
                    "coredns",
                    "76f75df574",
                    self.coredns,
                    "registry.k8s.io/coredns/coredns:v1.11.1",
                ),
                (
                    "metrics-server",
                    "6d94bc8694",
                    1,
                    "registry.k8s.io/metrics-server/metrics-server:v0.7.0",
                ),
            ] {
                let deploy_uid = self.rng.uid();
                let rs_uid = self.rng.uid();
                list_item_sep(out, count == 0);
                count += 1;
                let labels = vec![
                    ("k8s-app".to_string(), deploy.to_string()),
                    ("pod-template-hash".to_string(), hash.to_string()),
                ];
                self.replicaset_json(
                    &ns.name,
                    deploy,
                    &deploy_uid,
                    hash,
                    &rs_uid,
                    replicas,
                    1,
                    image,
                    &labels,
                    NOW - 86_400 * 200,
                    out,
                );
            }
        }
        for w in ns
            .workloads
            .iter()
            .filter(|w| w.kind == WorkloadKind::Deployment)
        {
            let mut revs = vec![(w.hash.clone(), w.rs_uid.clone(), w.replicas, 2)];
            if let Some((hash, uid)) = &w.old_rs {
                revs.push((hash.clone(), uid.clone(), 0, 1));
            }
            for (hash, uid, replicas, revision) in revs {
                list_item_sep(out, count == 0);
                count += 1;
                let labels = vec![
                    (
                        "app.kubernetes.io/instance".to_string(),
                        format!("{}-{}", w.name, ns.name),
                    ),
                    ("app.kubernetes.io/name".to_string(), w.name.clone()),
                    ("app.kubernetes.io/part-of".to_string(), ns.team.to_string()),
                    ("pod-template-hash".to_string(), hash.clone()),
                ];
                self.replicaset_json(
                    &ns.name, &w.name, &w.uid, &hash, &uid, replicas, revision, &w.image, &labels,
                    w.created, out,
                );
            }
        }
        list_end(out);
        count
    }

    #[allow(clippy::too_many_arguments)]
    fn replicaset_json(
        &mut self,
        namespace: &str,
        deploy: &str,
        deploy_uid: &str,
        hash: &str,
        uid: &str,
        replicas: usize,
        revision: u32,
        image: &str,
        labels: &[(String, String)],
        created: i64,
        out: &mut String,
    ) {
        let rv = self.rv();
        let _ = write!(
            out,
            "{{\"metadata\":{{\"name\":{name},\"namespace\":{ns},\"uid\":\"{uid}\",\"resourceVersion\":\"{rv}\",\"generation\":{revision},\"creationTimestamp\":\"{created}\",\"labels\":{{",
            name = J(&format!("{deploy}-{hash}")),
            ns = J(namespace),
            created = rfc3339(created),
        );
        pairs(out, labels);
        let _ = write!(
            out,
            "}},\"annotations\":{{\"deployment.kubernetes.io/desired-replicas\":\"{replicas}\",\"deployment.kubernetes.io/max-replicas\":\"{}\",\"deployment.kubernetes.io/revision\":\"{revision}\"}},\"ownerReferences\":[{{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":{},\"uid\":\"{deploy_uid}\",\"controller\":true,\"blockOwnerDeletion\":true}}]}},\"spec\":{{\"replicas\":{replicas},\"selector\":{{\"matchLabels\":{{",
            replicas + replicas.div_ceil(4),
            J(deploy),
        );
        pairs(out, labels);
        out.push_str("}},\"template\":{\"metadata\":{\"creationTimestamp\":null,\"labels\":{");
        pairs(out, labels);
        let _ = write!(
            out,
            "}}}},\"spec\":{{\"containers\":[{{\"name\":{},\"image\":{},\"resources\":{{\"limits\":{{\"memory\":\"512Mi\"}},\"requests\":{{\"cpu\":\"250m\",\"memory\":\"256Mi\"}}}},\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\",\"imagePullPolicy\":\"IfNotPresent\"}}],\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":\"ClusterFirst\",\"securityContext\":{{}},\"schedulerName\":\"default-scheduler\"}}}}}},\"status\":{{\"replicas\":{replicas},\"fullyLabeledReplicas\":{replicas},\"readyReplicas\":{replicas},\"availableReplicas\":{replicas},\"observedGeneration\":{revision}}}}}",
            J(deploy),
            J(image),
        );
    }
}

fn container_json(c: &Container, out: &mut String) {
    let _ = write!(out, "{{\"name\":{},\"image\":{}", J(&c.name), J(&c.image));
    if !c.command.is_empty() {
        out.push_str(",\"args\":[");
        for (i, a) in c.command.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{}", J(a));
        }
        out.push(']');
    }
    if !c.ports.is_empty() {
        out.push_str(",\"ports\":[");
        for (i, (name, port)) in c.ports.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{{\"name\":\"{name}\",\"containerPort\":{port},\"protocol\":\"TCP\"}}"
            );
        }
        out.push(']');
    }
    if !c.env.is_empty() {
        out.push_str(",\"env\":[");
        for (i, e) in c.env.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match e {
                Env::Value(name, value) => {
                    let _ = write!(out, "{{\"name\":\"{name}\",\"value\":{}}}", J(value));
                }
                Env::Field(name, path) => {
                    let _ = write!(
                        out,
                        "{{\"name\":\"{name}\",\"valueFrom\":{{\"fieldRef\":{{\"apiVersion\":\"v1\",\"fieldPath\":\"{path}\"}}}}}}"
                    );
                }
            }
        }
        out.push(']');
    }
    out.push_str(",\"resources\":{");
    let resource_map = |out: &mut String, key: &str, items: &[(&str, &str)]| {
        let _ = write!(out, "\"{key}\":{{");
        for (i, (k, v)) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "\"{k}\":\"{v}\"");
        }
        out.push('}');
    };
    if !c.limits.is_empty() {
        resource_map(out, "limits", &c.limits);
    }
    if !c.requests.is_empty() {
        if !c.limits.is_empty() {
            out.push(',');
        }
        resource_map(out, "requests", &c.requests);
    }
    out.push('}');
    if !c.mounts.is_empty() {
        out.push_str(",\"volumeMounts\":[");
        for (i, (name, path, read_only)) in c.mounts.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{{\"name\":{},", J(name));
            if *read_only {
                out.push_str("\"readOnly\":true,");
            }
            let _ = write!(out, "\"mountPath\":{}}}", J(path));
        }
        out.push(']');
    }
    if let Some((live, ready, port)) = c.probes {
        let _ = write!(
            out,
            ",\"livenessProbe\":{{\"httpGet\":{{\"path\":\"{live}\",\"port\":{port},\"scheme\":\"HTTP\"}},\"initialDelaySeconds\":10,\"timeoutSeconds\":1,\"periodSeconds\":10,\"successThreshold\":1,\"failureThreshold\":3}},\"readinessProbe\":{{\"httpGet\":{{\"path\":\"{ready}\",\"port\":{port},\"scheme\":\"HTTP\"}},\"timeoutSeconds\":1,\"periodSeconds\":5,\"successThreshold\":1,\"failureThreshold\":3}}"
        );
    }
    out.push_str(",\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\",\"imagePullPolicy\":\"IfNotPresent\"}");
}

fn state_json(state: &State, out: &mut String) {
    match state {
        State::Running(t) => {
            let _ = write!(out, "{{\"running\":{{\"startedAt\":\"{}\"}}}}", rfc3339(*t));
        }
        State::Waiting(reason, message) => {
            let _ = write!(out, "{{\"waiting\":{{\"reason\":\"{reason}\"");
            if !message.is_empty() {
                let _ = write!(out, ",\"message\":{}", J(message));
            }
            out.push_str("}}");
        }
    }
}

fn term_json(t: &Term, container_id: &str, out: &mut String) {
    let _ = write!(
        out,
        "{{\"exitCode\":{},\"reason\":\"{}\",\"startedAt\":\"{}\",\"finishedAt\":\"{}\"",
        t.exit_code,
        t.reason,
        rfc3339(t.started),
        rfc3339(t.finished)
    );
    let _ = write!(out, ",\"containerID\":\"containerd://{container_id}\"}}");
}

/// The pod's QoS class from its containers' requests and limits.
fn qos_class(containers: &[Container]) -> &'static str {
    let none = containers
        .iter()
        .all(|c| c.requests.is_empty() && c.limits.is_empty());
    if none {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        ["cpu", "memory"].iter().all(|r| {
            let limit = c.limits.iter().find(|(k, _)| k == r).map(|(_, v)| v);
            let request = c.requests.iter().find(|(k, _)| k == r).map(|(_, v)| v);
            limit.is_some() && (request.is_none() || request == limit)
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn rng_is_deterministic_and_spread() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(Rng::new(8).next_u64(), xs[0]);
        let mut r = Rng::new(1);
        let hits = (0..100_000).filter(|_| r.chance(0.01)).count();
        assert!((800..1200).contains(&hits), "{hits}");
        let uid = r.uid();
        assert_eq!(uid.len(), 36);
        assert_eq!(&uid[14..15], "4");
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(NOW), "2024-03-01T12:00:00Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(NOW - 86_400 * 60 - 1), "2024-01-01T11:59:59Z");
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(J("plain").to_string(), "\"plain\"");
        assert_eq!(
            J("a \"b\" \\ c\nd\u{1}").to_string(),
            "\"a \\\"b\\\" \\\\ c\\nd\\u0001\""
        );
        assert_eq!(
            key_json("k:{\"name\":\"x\"}"),
            "\"k:{\\\"name\\\":\\\"x\\\"}\""
        );
    }

    #[test]
    fn counts_accept_separators() -> Result<()> {
        assert_eq!(parse_count("--pods", "150_000")?, 150_000);
        assert_eq!(parse_count("--pods", "150,000")?, 150_000);
        assert!(parse_count("--pods", "many").is_err());
        Ok(())
    }

    #[test]
    fn qos_classes() {
        let c = |requests, limits| Container {
            name: "c".into(),
            image: "i".into(),
            command: Vec::new(),
            ports: Vec::new(),
            env: Vec::new(),
            requests,
            limits,
            probes: None,
            mounts: Vec::new(),
        };
        assert_eq!(qos_class(&[c(vec![], vec![])]), "BestEffort");
        assert_eq!(qos_class(&[c(vec![("cpu", "1")], vec![])]), "Burstable");
        assert_eq!(
            qos_class(&[c(vec![], vec![("cpu", "1"), ("memory", "1Gi")])]),
            "Guaranteed"
        );
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        std::env::temp_dir().join(format!("xtask-{tag}-{}-{nanos}", std::process::id()))
    }

    /// Generates a small snapshot and has Python's json module read every file back.
    #[test]
    fn small_snapshot_is_valid_and_deterministic() -> Result<()> {
        let dir = temp_dir("gen-k8s");
        let params = Params {
            nodes: 40,
            pods: 2_000,
            seed: 3,
        };
        let summary = generate(&dir, &params)?;
        assert_eq!(summary.nodes, 40);
        assert_eq!(summary.pods, 2_000);
        assert!(summary.events > 100, "{summary:?}");
        assert!(summary.replicasets > 10, "{summary:?}");
        assert_eq!(existing(&dir, &params), Some(summary.clone()));
        let other = Params {
            seed: 4,
            ..params.clone()
        };
        assert_eq!(existing(&dir, &other), None);
        for rel in [
            "version.json",
            "nodes.json",
            "node-metrics.json",
            "kube-system/pods.json",
        ] {
            assert!(dir.join(rel).is_file(), "{rel} missing");
        }
        let nodes = fs::read_to_string(dir.join("nodes.json"))?;

        let script = r#"
import json, os, sys
root = sys.argv[1]
counts = {}
for d, _, files in os.walk(root):
    for f in files:
        if not f.endswith(".json"):
            continue
        with open(os.path.join(d, f)) as fh:
            doc = json.load(fh)
        kind = doc.get("kind", "Version")
        for item in doc.get("items", []):
            assert "kind" not in item, (f, "items carry no kind")
            assert item["metadata"]["name"], f
        counts[kind] = counts.get(kind, 0) + len(doc.get("items", [1]))
pods = [p for d, _, fs in os.walk(root) if os.path.exists(os.path.join(d, "pods.json"))
        for p in json.load(open(os.path.join(d, "pods.json")))["items"]]
waiting = [s["state"]["waiting"]["reason"] for p in pods
           for s in p["status"].get("containerStatuses", []) if "waiting" in s["state"]]
print(counts["NodeList"], counts["PodList"], counts["EventList"], counts["ReplicaSetList"],
      "CrashLoopBackOff" in waiting)
"#;
        let out = Command::new("python3")
            .args(["-c", script])
            .arg(&dir)
            .output()
            .context("cannot run python3 (Debian package python3)")?;
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            stdout,
            format!("40 2000 {} {} True", summary.events, summary.replicasets)
        );

        // Same parameters, same bytes.
        let again = generate(&dir, &params)?;
        assert_eq!(again, summary);
        assert_eq!(fs::read_to_string(dir.join("nodes.json"))?, nodes);
        fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn refuses_a_foreign_directory() -> Result<()> {
        let dir = temp_dir("gen-k8s-foreign");
        fs::create_dir_all(&dir)?;
        fs::write(dir.join("precious.txt"), "keep me")?;
        let err = generate(
            &dir,
            &Params {
                nodes: 1,
                pods: 1,
                seed: 1,
            },
        );
        assert!(err.is_err());
        assert!(dir.join("precious.txt").is_file());
        fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
