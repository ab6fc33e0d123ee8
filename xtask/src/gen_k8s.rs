//! `cargo xtask gen-k8s-snapshot`: write a large, realistic, synthetic Kubernetes snapshot
//! for benchmarking `sre k8s-doctor`.
//!
//! The layout is that of `kubectl cluster-info dump --all-namespaces --output-directory DIR`:
//! `DIR/nodes.json` (a `NodeList`) and, per namespace, one typed list per kind:
//! `DIR/<ns>/pods.json`, `events.json`, `replicasets.json`, `deployments.json`,
//! `statefulsets.json`, `daemonsets.json`, `cronjobs.json`, `poddisruptionbudgets.json`,
//! `networkpolicies.json`, `resourcequotas.json`, `limitranges.json`, `roles.json` and
//! `rolebindings.json`; plus the cluster-scoped `DIR/namespaces.json`,
//! `DIR/clusterroles.json` and `DIR/clusterrolebindings.json`, `DIR/version.json` (as
//! `kubectl version -o json` writes it) and `DIR/node-metrics.json` (a `metrics.k8s.io`
//! `NodeMetricsList`). As in API list responses, list items carry no `kind`. (The real
//! dump writes pods, events, ReplicaSets, Deployments and DaemonSets; the other kinds are
//! written the same way, as `kubectl get KIND -n NS -o json` would.)
//!
//! Objects look like real API output (pods carry a condensed `managedFields` block, two
//! containers with probes, env, mounts, resources and security contexts, full container
//! statuses; controllers carry the full pod template their pods were made from) so that
//! files have a realistic size (about 5 KB of JSON per pod), and hold a realistic mix of
//! problems: crash loops, image pull failures, unschedulable pods, OOM kills, restarts,
//! NotReady and pressured nodes, kubelet version skew, warning events; and, for the audit,
//! templates that are mostly hardened but not all, missing probes, PodDisruptionBudgets
//! that block drains, NetworkPolicies that select nothing, and RBAC as installed add-ons
//! and teams leave it (cluster-admin bindings, wildcards, secret readers). Ownership is
//! consistent: pods are owned by ReplicaSets (with their `pod-template-hash`), StatefulSets
//! or DaemonSets, and ReplicaSets by Deployments, with matching uids. JSON is written by
//! hand, compact with one list item per line, and is deterministic: the same parameters and
//! seed give the same bytes.

use std::collections::HashSet;
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
const GENERATOR_VERSION: u32 = 2;

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
    pub deployments: usize,
    pub statefulsets: usize,
    pub daemonsets: usize,
    pub cronjobs: usize,
    pub pdbs: usize,
    pub network_policies: usize,
    pub resource_quotas: usize,
    pub limit_ranges: usize,
    /// Namespace objects in `namespaces.json`.
    pub namespace_objects: usize,
    pub cluster_roles: usize,
    pub cluster_role_bindings: usize,
    pub roles: usize,
    pub role_bindings: usize,
    pub node_metrics: usize,
    /// Namespace directories.
    pub namespaces: usize,
    pub files: usize,
    pub bytes: u64,
}

impl Summary {
    /// The counts with their stamp keys, in stamp order.
    fn counts(&self) -> [(&'static str, usize); 20] {
        [
            ("nodes", self.nodes),
            ("pods", self.pods),
            ("events", self.events),
            ("replicasets", self.replicasets),
            ("deployments", self.deployments),
            ("statefulsets", self.statefulsets),
            ("daemonsets", self.daemonsets),
            ("cronjobs", self.cronjobs),
            ("pdbs", self.pdbs),
            ("network_policies", self.network_policies),
            ("resource_quotas", self.resource_quotas),
            ("limit_ranges", self.limit_ranges),
            ("namespace_objects", self.namespace_objects),
            ("cluster_roles", self.cluster_roles),
            ("cluster_role_bindings", self.cluster_role_bindings),
            ("roles", self.roles),
            ("role_bindings", self.role_bindings),
            ("node_metrics", self.node_metrics),
            ("namespaces", self.namespaces),
            ("files", self.files),
        ]
    }

    fn count_mut(&mut self, key: &str) -> Option<&mut usize> {
        Some(match key {
            "nodes" => &mut self.nodes,
            "pods" => &mut self.pods,
            "events" => &mut self.events,
            "replicasets" => &mut self.replicasets,
            "deployments" => &mut self.deployments,
            "statefulsets" => &mut self.statefulsets,
            "daemonsets" => &mut self.daemonsets,
            "cronjobs" => &mut self.cronjobs,
            "pdbs" => &mut self.pdbs,
            "network_policies" => &mut self.network_policies,
            "resource_quotas" => &mut self.resource_quotas,
            "limit_ranges" => &mut self.limit_ranges,
            "namespace_objects" => &mut self.namespace_objects,
            "cluster_roles" => &mut self.cluster_roles,
            "cluster_role_bindings" => &mut self.cluster_role_bindings,
            "roles" => &mut self.roles,
            "role_bindings" => &mut self.role_bindings,
            "node_metrics" => &mut self.node_metrics,
            "namespaces" => &mut self.namespaces,
            "files" => &mut self.files,
            _ => return None,
        })
    }

    fn to_stamp(&self, params: &Params) -> String {
        let mut s = format!("{}\n", params.stamp_line());
        for (key, value) in self.counts() {
            let _ = writeln!(s, "{key}={value}");
        }
        let _ = writeln!(s, "bytes={}", self.bytes);
        s
    }

    fn from_stamp(text: &str) -> Option<Summary> {
        let mut s = Summary::default();
        for line in text.lines().skip(1) {
            let (key, value) = line.split_once('=')?;
            if key == "bytes" {
                s.bytes = value.parse().ok()?;
            } else if let Some(slot) = s.count_mut(key) {
                *slot = value.parse().ok()?;
            }
        }
        Some(s)
    }

    /// Objects that have a pod template: Deployments, StatefulSets, DaemonSets, CronJobs.
    pub fn workloads(&self) -> usize {
        self.deployments + self.statefulsets + self.daemonsets + self.cronjobs
    }

    /// ClusterRoles, ClusterRoleBindings, Roles and RoleBindings.
    pub fn rbac_objects(&self) -> usize {
        self.cluster_roles + self.cluster_role_bindings + self.roles + self.role_bindings
    }

    /// One line for people: `5000 nodes, 150000 pods, ...`.
    pub fn describe(&self) -> String {
        format!(
            "{} nodes, {} pods, {} events, {} replicasets, {} node metrics; \
             {} deployments, {} statefulsets, {} daemonsets, {} cronjobs, \
             {} PodDisruptionBudgets, {} NetworkPolicies, {} ResourceQuotas, {} LimitRanges, \
             {} Namespaces; {} ClusterRoles, {} ClusterRoleBindings, {} Roles, {} RoleBindings; \
             {} namespace directories, {} files, {}",
            self.nodes,
            self.pods,
            self.events,
            self.replicasets,
            self.node_metrics,
            self.deployments,
            self.statefulsets,
            self.daemonsets,
            self.cronjobs,
            self.pdbs,
            self.network_policies,
            self.resource_quotas,
            self.limit_ranges,
            self.namespace_objects,
            self.cluster_roles,
            self.cluster_role_bindings,
            self.roles,
            self.role_bindings,
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
        let ready = gen.pods_json(ns, &mut events, &mut buf);
        let file = |name: &str, text: &str, summary: &mut Summary| {
            write_file(out, &format!("{}/{name}", ns.name), text, summary)
        };
        file("pods.json", &buf, &mut summary)?;
        summary.pods += ns.pod_count();
        buf.clear();
        summary.replicasets += gen.replicasets_json(ns, &ready, &mut buf);
        file("replicasets.json", &buf, &mut summary)?;
        for (kind, name) in [
            (WorkloadKind::Deployment, "deployments.json"),
            (WorkloadKind::StatefulSet, "statefulsets.json"),
            (WorkloadKind::DaemonSet, "daemonsets.json"),
        ] {
            buf.clear();
            let n = gen.workloads_json(ns, kind, &ready, &mut buf);
            *match kind {
                WorkloadKind::Deployment => &mut summary.deployments,
                WorkloadKind::StatefulSet => &mut summary.statefulsets,
                WorkloadKind::DaemonSet => &mut summary.daemonsets,
            } += n;
            file(name, &buf, &mut summary)?;
        }
        buf.clear();
        summary.cronjobs += gen.cronjobs_json(ns, &mut buf);
        file("cronjobs.json", &buf, &mut summary)?;
        buf.clear();
        summary.pdbs += gen.pdbs_json(ns, &ready, &mut buf);
        file("poddisruptionbudgets.json", &buf, &mut summary)?;
        buf.clear();
        summary.network_policies += gen.network_policies_json(ns, &mut buf);
        file("networkpolicies.json", &buf, &mut summary)?;
        buf.clear();
        summary.resource_quotas += gen.quotas_json(ns, &mut buf);
        file("resourcequotas.json", &buf, &mut summary)?;
        buf.clear();
        summary.limit_ranges += gen.limit_ranges_json(ns, &mut buf);
        file("limitranges.json", &buf, &mut summary)?;
        let (roles, bindings) = gen.namespace_rbac(ns);
        buf.clear();
        summary.roles += gen.roles_json("Role", Some(&ns.name), &roles, &mut buf);
        file("roles.json", &buf, &mut summary)?;
        buf.clear();
        summary.role_bindings +=
            gen.bindings_json("RoleBinding", Some(&ns.name), &bindings, &mut buf);
        file("rolebindings.json", &buf, &mut summary)?;
        if ns.kind == NsKind::Default {
            gen.node_events(&mut events);
        }
        buf.clear();
        gen.events_json(&ns.name, &events, &mut buf);
        file("events.json", &buf, &mut summary)?;
        summary.events += events.len();
    }
    buf.clear();
    summary.namespace_objects = gen.namespaces_json(&namespaces, &mut buf);
    write_file(out, "namespaces.json", &buf, &mut summary)?;
    let (cluster_roles, cluster_bindings) = cluster_rbac();
    buf.clear();
    summary.cluster_roles = gen.roles_json("ClusterRole", None, &cluster_roles, &mut buf);
    write_file(out, "clusterroles.json", &buf, &mut summary)?;
    buf.clear();
    summary.cluster_role_bindings =
        gen.bindings_json("ClusterRoleBinding", None, &cluster_bindings, &mut buf);
    write_file(out, "clusterrolebindings.json", &buf, &mut summary)?;
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

/// Labels or annotations, in the order they are written.
type Pairs = Vec<(String, String)>;

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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
}

/// How much of the Pod Security Standards' "restricted" profile a workload follows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Posture {
    /// runAsNonRoot, seccomp RuntimeDefault, no privilege escalation, ALL dropped.
    Restricted,
    /// runAsNonRoot and no privilege escalation on the main container only.
    Partial,
    /// Only an fsGroup.
    Minimal,
    /// No securityContext at all.
    Bare,
}

/// A PodDisruptionBudget's spec.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PdbPlan {
    MaxUnavailable(usize),
    MinAvailable(usize),
    MinAvailablePercent(usize),
}

struct Workload {
    kind: WorkloadKind,
    name: String,
    uid: String,
    /// The current ReplicaSet's `pod-template-hash` (Deployments) or the controller
    /// revision hash (StatefulSets, DaemonSets).
    hash: String,
    rs_uid: String,
    /// An older, scaled-down ReplicaSet: `(hash, uid, image of the main container)`.
    old_rs: Option<(String, String, String)>,
    replicas: usize,
    /// Labels of the workload and its pod template (pods add the controller's own).
    labels: Vec<(String, String)>,
    /// `spec.selector.matchLabels`: a subset of `labels`.
    selector: Vec<(String, String)>,
    /// Annotations of the pod template (and so of the pods).
    annotations: Vec<(String, String)>,
    template: Template,
    created: i64,
    generation: u32,
    pdb: Option<PdbPlan>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum NsKind {
    Default,
    KubeSystem,
    Monitoring,
    App,
}

struct Namespace {
    name: String,
    team: &'static str,
    env: &'static str,
    kind: NsKind,
    /// Labelled `pod-security.kubernetes.io/enforce: restricted`: every workload hardened.
    restricted: bool,
    uid: String,
    created: i64,
    workloads: Vec<Workload>,
    /// kube-system's pods are planned separately (static pods, kube-proxy, ...).
    system_pods: usize,
}

impl Namespace {
    fn pod_count(&self) -> usize {
        if self.kind == NsKind::KubeSystem {
            self.system_pods
        } else {
            self.workloads.iter().map(|w| w.replicas).sum()
        }
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

#[derive(Clone)]
enum Env {
    Value(&'static str, String),
    Field(&'static str, &'static str),
}

/// A probe's port: a number or the name of a declared container port.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PortRef {
    Num(u16),
    Name(&'static str),
}

#[derive(Clone, PartialEq, Eq, Debug)]
enum Action {
    Http {
        path: &'static str,
        port: PortRef,
        https: bool,
    },
    Tcp(PortRef),
    Exec(&'static [&'static str]),
}

#[derive(Clone, PartialEq, Eq, Debug)]
struct Probe {
    action: Action,
    initial_delay: u32,
    period: u32,
    timeout: u32,
    failure: u32,
}

impl Probe {
    fn http(path: &'static str, port: PortRef) -> Probe {
        Probe {
            action: Action::Http {
                path,
                port,
                https: false,
            },
            initial_delay: 0,
            period: 10,
            timeout: 1,
            failure: 3,
        }
    }

    fn exec(command: &'static [&'static str]) -> Probe {
        Probe {
            action: Action::Exec(command),
            initial_delay: 0,
            period: 10,
            timeout: 10,
            failure: 6,
        }
    }

    fn timing(mut self, initial_delay: u32, period: u32, timeout: u32, failure: u32) -> Probe {
        self.initial_delay = initial_delay;
        self.period = period;
        self.timeout = timeout;
        self.failure = failure;
        self
    }
}

/// A container- or pod-level securityContext (pod level: `fs_group`; container level:
/// the others but `run_as_*`, which both have).
#[derive(Clone, Default, PartialEq, Eq, Debug)]
struct SecCtx {
    run_as_non_root: Option<bool>,
    run_as_user: Option<u32>,
    run_as_group: Option<u32>,
    fs_group: Option<u32>,
    read_only_root: Option<bool>,
    allow_escalation: Option<bool>,
    privileged: Option<bool>,
    add: Vec<&'static str>,
    drop: Vec<&'static str>,
    seccomp: Option<&'static str>,
}

impl SecCtx {
    /// The container part of the "restricted" profile.
    fn hardened_container(read_only_root: bool) -> SecCtx {
        SecCtx {
            read_only_root: read_only_root.then_some(true),
            allow_escalation: Some(false),
            drop: vec!["ALL"],
            ..SecCtx::default()
        }
    }

    /// The pod part of the "restricted" profile.
    fn hardened_pod(uid: u32) -> SecCtx {
        SecCtx {
            run_as_non_root: Some(true),
            run_as_user: Some(uid),
            run_as_group: Some(uid),
            fs_group: Some(uid),
            seccomp: Some("RuntimeDefault"),
            ..SecCtx::default()
        }
    }
}

#[derive(Clone)]
struct Container {
    name: String,
    image: String,
    pull_policy: &'static str,
    command: Vec<String>,
    /// `(name, containerPort, protocol)`.
    ports: Vec<(&'static str, u16, &'static str)>,
    env: Vec<Env>,
    requests: Vec<(&'static str, &'static str)>,
    limits: Vec<(&'static str, &'static str)>,
    liveness: Option<Probe>,
    readiness: Option<Probe>,
    startup: Option<Probe>,
    /// `(volume name, mount path, read-only)`.
    mounts: Vec<(String, String, bool)>,
    security: Option<SecCtx>,
}

impl Container {
    fn new(name: &str, image: &str) -> Container {
        Container {
            name: name.to_string(),
            image: image.to_string(),
            pull_policy: "IfNotPresent",
            command: Vec::new(),
            ports: Vec::new(),
            env: Vec::new(),
            requests: Vec::new(),
            limits: Vec::new(),
            liveness: None,
            readiness: None,
            startup: None,
            mounts: Vec::new(),
            security: None,
        }
    }

    fn mount(&mut self, volume: &str, path: &str, read_only: bool) {
        self.mounts
            .push((volume.to_string(), path.to_string(), read_only));
    }
}

#[derive(Clone, PartialEq, Eq, Debug)]
enum Source {
    ConfigMap(String),
    Secret(String),
    EmptyDir,
    /// `(path, type)`.
    HostPath(&'static str, &'static str),
    Claim(String),
}

#[derive(Clone)]
struct Volume {
    name: String,
    source: Source,
}

impl Volume {
    fn new(name: &str, source: Source) -> Volume {
        Volume {
            name: name.to_string(),
            source,
        }
    }
}

/// A pod spec as a controller's template holds it (pods add a node, the service account
/// token volume and, for StatefulSets, their claims).
#[derive(Clone)]
struct Template {
    containers: Vec<Container>,
    volumes: Vec<Volume>,
    security: Option<SecCtx>,
    /// Empty: not set (the pod runs as `default`).
    service_account: String,
    automount: Option<bool>,
    host_network: bool,
    host_pid: bool,
    priority_class: Option<&'static str>,
    /// DaemonSets tolerate every taint (`operator: Exists`).
    tolerate_all: bool,
    restart_policy: &'static str,
    grace: u32,
}

impl Template {
    fn new(containers: Vec<Container>) -> Template {
        Template {
            containers,
            volumes: Vec::new(),
            security: None,
            service_account: String::new(),
            automount: None,
            host_network: false,
            host_pid: false,
            priority_class: None,
            tolerate_all: false,
            restart_policy: "Always",
            grace: 30,
        }
    }
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
    spec: Template,
    /// The projected service account token volume admission adds to every container.
    token_volume: Option<String>,
    /// Volumes the controller adds (a StatefulSet's claims).
    extra_volumes: Vec<Volume>,
    /// `spec.serviceAccountName` as the API server fills it in (empty for static pods).
    service_account: String,
    statuses: Vec<ContainerStatus>,
    phase: &'static str,
    ready: bool,
    /// `Some((reason, message))` when the scheduler could not place the pod.
    unschedulable: Option<(&'static str, String)>,
    pod_ip: Option<String>,
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
    /// `namespace/name` of every pod so far: generated names must not collide (5,000
    /// DaemonSet pods with 5 random characters would, about once per DaemonSet).
    pod_names: HashSet<String>,
}

/// Monitoring workloads besides node-exporter: (name, kind, replicas, image, port name,
/// port).
const MONITORING: [(&str, WorkloadKind, usize, &str, &str, u16); 6] = [
    (
        "prometheus-k8s",
        WorkloadKind::StatefulSet,
        2,
        "quay.io/prometheus/prometheus:v2.50.1",
        "web",
        9090,
    ),
    (
        "alertmanager-main",
        WorkloadKind::StatefulSet,
        3,
        "quay.io/prometheus/alertmanager:v0.27.0",
        "web",
        9093,
    ),
    (
        "prometheus-operator",
        WorkloadKind::Deployment,
        1,
        "quay.io/prometheus-operator/prometheus-operator:v0.72.0",
        "http",
        8080,
    ),
    (
        "kube-state-metrics",
        WorkloadKind::Deployment,
        1,
        "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.10.1",
        "http-metrics",
        8080,
    ),
    (
        "grafana",
        WorkloadKind::Deployment,
        1,
        "docker.io/grafana/grafana:10.3.3",
        "http",
        3000,
    ),
    (
        "blackbox-exporter",
        WorkloadKind::Deployment,
        1,
        "quay.io/prometheus/blackbox-exporter:v0.24.0",
        "http",
        9115,
    ),
];

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
        // Static pods, CoreDNS, metrics-server, one kube-proxy and one calico-node per node.
        let system_pods = 4 * control_planes + coredns + 1 + 2 * nodes.len();
        // node-exporter on every node, and the monitoring stack.
        let monitoring_pods = nodes.len() + MONITORING.iter().map(|m| m.2).sum::<usize>();
        let app_pods = params.pods.saturating_sub(system_pods + monitoring_pods);
        let namespaces = plan_namespaces(&mut rng, app_pods, system_pods, coredns, nodes.len());
        Gen {
            rng,
            nodes,
            workers,
            namespaces,
            resource_version: 1_000_000,
            pod_ips: 0,
            pod_names: HashSet::new(),
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

    /// `<prefix>-<5 random characters>`, as controllers name pods, unique in the namespace.
    fn pod_name(&mut self, namespace: &str, prefix: &str) -> String {
        loop {
            let name = format!("{prefix}-{}", self.rng.name_chars(5));
            if self.pod_names.insert(format!("{namespace}/{name}")) {
                return name;
            }
        }
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

fn plan_namespaces(
    rng: &mut Rng,
    app_pods: usize,
    system_pods: usize,
    coredns: usize,
    node_count: usize,
) -> Vec<Namespace> {
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
            env: "prod",
            kind: NsKind::Default,
            restricted: false,
            uid: rng.uid(),
            created: NOW - 86_400 * 900,
            workloads: Vec::new(),
            system_pods: 0,
        },
        Namespace {
            name: "kube-system".into(),
            team: "platform",
            env: "prod",
            kind: NsKind::KubeSystem,
            restricted: false,
            uid: rng.uid(),
            created: NOW - 86_400 * 900,
            workloads: system_workloads(rng, coredns, node_count),
            system_pods,
        },
        Namespace {
            name: "monitoring".into(),
            team: "platform",
            env: "prod",
            kind: NsKind::Monitoring,
            restricted: false,
            uid: rng.uid(),
            created: NOW - 86_400 * 880,
            workloads: monitoring_workloads(rng, node_count),
            system_pods: 0,
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
        // About half the namespaces enforce the "restricted" Pod Security Standard.
        let restricted = rng.chance(0.45);
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
            // A few Deployments are scaled to zero: a template, no pods.
            let (kind, replicas) = if rng.chance(0.02) {
                (WorkloadKind::Deployment, 0)
            } else {
                let kind = if rng.chance(0.1) {
                    WorkloadKind::StatefulSet
                } else {
                    WorkloadKind::Deployment
                };
                (kind, rng.pick(&REPLICAS).min(remaining))
            };
            remaining -= replicas;
            let version = format!("1.{}.{}", rng.below(40), rng.below(12));
            let image = format!("registry.example.com/{team}/{app}:{version}");
            let sidecar = rng.below(SIDECARS.len() as u64) as usize;
            let template = app_template(
                rng,
                &wname,
                &image,
                kind,
                AppOptions {
                    restricted,
                    platform: false,
                    sidecar: Some(sidecar),
                    port: ("http", 8080),
                },
            );
            let mut w = plan_workload(rng, &name, team, wname, kind, replicas, template);
            // Left by `kubectl rollout restart` on some workloads.
            if rng.chance(0.3) {
                w.annotations.insert(
                    0,
                    (
                        "kubectl.kubernetes.io/restartedAt".to_string(),
                        rfc3339(w.created + 60),
                    ),
                );
                w.generation += 1;
            }
            workloads.push(w);
        }
        namespaces.push(Namespace {
            name,
            team,
            env,
            kind: NsKind::App,
            restricted,
            uid: rng.uid(),
            created: NOW - 86_400 * rng.range(300, 880) as i64,
            workloads,
            system_pods: 0,
        });
    }
    namespaces
}

/// Labels, selector, uids, revisions and PodDisruptionBudget of a workload whose pod
/// template is `template`.
fn plan_workload(
    rng: &mut Rng,
    namespace: &str,
    part_of: &str,
    name: String,
    kind: WorkloadKind,
    replicas: usize,
    template: Template,
) -> Workload {
    let mut labels = vec![
        (
            "app.kubernetes.io/instance".to_string(),
            format!("{name}-{namespace}"),
        ),
        ("app.kubernetes.io/name".to_string(), name.clone()),
        ("app.kubernetes.io/part-of".to_string(), part_of.to_string()),
    ];
    labels.sort();
    let selector = labels[..2].to_vec();
    let image = &template.containers[0].image;
    let repo = image.rsplit_once(':').map_or(image.as_str(), |(r, _)| r);
    let old_rs = (kind == WorkloadKind::Deployment && rng.chance(0.6)).then(|| {
        (
            rng.name_chars(10),
            rng.uid(),
            format!("{repo}:0.{}.{}", rng.below(40), rng.below(12)),
        )
    });
    let generation = if old_rs.is_some() { 2 } else { 1 };
    Workload {
        kind,
        uid: rng.uid(),
        hash: rng.name_chars(10),
        rs_uid: rng.uid(),
        old_rs,
        replicas,
        labels,
        selector,
        annotations: vec![
            ("prometheus.io/port".to_string(), "9090".to_string()),
            ("prometheus.io/scrape".to_string(), "true".to_string()),
        ],
        template,
        created: NOW - 86_400 * rng.range(1, 300) as i64,
        generation,
        pdb: plan_pdb(rng, kind, replicas),
        name,
    }
}

/// Most multi-replica workloads have a PodDisruptionBudget; a few block every eviction.
fn plan_pdb(rng: &mut Rng, kind: WorkloadKind, replicas: usize) -> Option<PdbPlan> {
    if kind == WorkloadKind::DaemonSet {
        return None;
    }
    if replicas >= 2 && rng.chance(0.85) {
        let r = rng.unit();
        Some(if r < 0.015 {
            PdbPlan::MaxUnavailable(0)
        } else if r < 0.025 {
            PdbPlan::MinAvailable(replicas)
        } else if r < 0.03 {
            PdbPlan::MinAvailablePercent(100)
        } else if r < 0.30 {
            PdbPlan::MinAvailablePercent(50)
        } else if r < 0.45 {
            PdbPlan::MinAvailable(replicas - 1)
        } else {
            PdbPlan::MaxUnavailable(1)
        })
    } else if replicas == 1 && rng.chance(0.1) {
        // The classic: minAvailable 1 on a single replica, so drains hang.
        Some(PdbPlan::MinAvailable(1))
    } else {
        None
    }
}

/// What shapes an application pod template besides the dice.
struct AppOptions {
    /// The namespace enforces the "restricted" Pod Security Standard.
    restricted: bool,
    /// A platform component (monitoring): hardened, fully probed, no surprises.
    platform: bool,
    /// Index into [`SIDECARS`].
    sidecar: Option<usize>,
    /// The main container's serving port: (name, number).
    port: (&'static str, u16),
}

/// An application's pod template: the main container (probes, securityContext, resources,
/// volumes varying as in real clusters: mostly hardened, some not) and a sidecar.
fn app_template(
    rng: &mut Rng,
    app: &str,
    image: &str,
    kind: WorkloadKind,
    o: AppOptions,
) -> Template {
    let posture = if o.restricted || o.platform {
        Posture::Restricted
    } else {
        let r = rng.unit();
        if r < 0.55 {
            Posture::Restricted
        } else if r < 0.80 {
            Posture::Partial
        } else if r < 0.90 {
            Posture::Minimal
        } else {
            Posture::Bare
        }
    };
    let repo = image.rsplit_once(':').map_or(image, |(r, _)| r);
    let (image, pull_policy) = match rng.unit() {
        _ if o.platform => (image.to_string(), "IfNotPresent"),
        t if t < 0.008 => (
            format!("{repo}:latest"),
            if rng.chance(0.5) {
                "Always"
            } else {
                "IfNotPresent"
            },
        ),
        t if t < 0.011 => (repo.to_string(), "Always"),
        _ => (
            image.to_string(),
            if rng.chance(0.15) {
                "Always"
            } else {
                "IfNotPresent"
            },
        ),
    };
    let (port_name, port_num) = o.port;
    let port = if rng.chance(0.5) {
        PortRef::Name(port_name)
    } else {
        PortRef::Num(port_num)
    };
    let live = Probe::http("/healthz", port).timing(10, 10, 1, 3);
    let ready = Probe::http("/ready", port).timing(0, 5, 1, 3);
    let r = if o.platform { 1.0 } else { rng.unit() };
    let (liveness, readiness, startup) = if r < 0.06 {
        (None, Some(ready), None)
    } else if r < 0.09 {
        (Some(live), None, None)
    } else if r < 0.13 {
        (None, None, None)
    } else if r < 0.17 {
        // The same probe twice: overload turns into restarts.
        (Some(live.clone()), Some(live), None)
    } else if r < 0.20 {
        let startup = Probe::http("/healthz", port).timing(0, 10, 1, 30);
        (Some(live), Some(ready), Some(startup))
    } else if r < 0.23 {
        // A management port the container does not declare (Spring Boot actuator).
        let m = PortRef::Num(8081);
        (
            Some(Probe::http("/actuator/health/liveness", m).timing(30, 10, 1, 3)),
            Some(Probe::http("/actuator/health/readiness", m).timing(0, 5, 1, 3)),
            None,
        )
    } else if !o.platform && (app.starts_with("cache") || app.starts_with("grpc")) {
        // Caches and gRPC servers: TCP probes.
        (
            Some(Probe {
                action: Action::Tcp(port),
                ..live
            }),
            Some(Probe {
                action: Action::Tcp(port),
                ..ready
            }),
            None,
        )
    } else {
        (Some(live), Some(ready), None)
    };

    let mut main = Container::new(app, &image);
    main.pull_policy = pull_policy;
    main.ports = vec![(port_name, port_num, "TCP")];
    if port_num != 9090 {
        main.ports.push(("metrics", 9090, "TCP"));
    }
    main.env = vec![
        Env::Field("POD_NAME", "metadata.name"),
        Env::Value("LOG_LEVEL", "info".to_string()),
    ];
    if !rng.chance(0.04) {
        main.requests = vec![("cpu", "250m"), ("memory", "256Mi")];
    }
    main.limits = if rng.chance(0.2) {
        vec![("cpu", "1"), ("memory", "512Mi")]
    } else {
        vec![("memory", "512Mi")]
    };
    main.liveness = liveness;
    main.readiness = readiness;
    main.startup = startup;

    let mut volumes = Vec::new();
    if rng.chance(0.7) {
        volumes.push(Volume::new(
            "config",
            Source::ConfigMap(format!("{app}-config")),
        ));
        main.mount("config", &format!("/etc/{app}"), true);
    }
    if rng.chance(0.2) {
        volumes.push(Volume::new("tls", Source::Secret(format!("{app}-tls"))));
        main.mount("tls", "/etc/tls", true);
    }
    if kind == WorkloadKind::StatefulSet {
        // From the volumeClaimTemplates.
        main.mount("data", &format!("/var/lib/{app}"), false);
    }
    let read_only = posture == Posture::Restricted && (o.platform || rng.chance(0.85));
    let pod_security = match posture {
        Posture::Restricted => {
            main.security = Some(SecCtx::hardened_container(read_only));
            Some(SecCtx::hardened_pod(if o.platform { 65534 } else { 10001 }))
        }
        Posture::Partial => {
            main.security = Some(SecCtx {
                allow_escalation: Some(false),
                ..SecCtx::default()
            });
            Some(SecCtx {
                run_as_non_root: Some(true),
                fs_group: Some(2000),
                ..SecCtx::default()
            })
        }
        Posture::Minimal => Some(SecCtx {
            fs_group: Some(2000),
            ..SecCtx::default()
        }),
        Posture::Bare => None,
    };
    if read_only {
        volumes.push(Volume::new("tmp", Source::EmptyDir));
        main.mount("tmp", "/tmp", false);
    }
    // Risky settings, only where nothing enforces a Pod Security Standard and the team did
    // not harden the workload.
    let mut host_network = false;
    if matches!(posture, Posture::Minimal | Posture::Bare) {
        let r = rng.unit();
        let risky = |f: &dyn Fn(&mut SecCtx)| {
            let mut sc = SecCtx::default();
            f(&mut sc);
            Some(sc)
        };
        if r < 0.02 {
            main.security = risky(&|s| s.privileged = Some(true));
        } else if r < 0.04 {
            main.security = risky(&|s| s.add = vec!["NET_ADMIN"]);
        } else if r < 0.07 {
            main.security = risky(&|s| s.add = vec!["NET_RAW"]);
        } else if r < 0.11 {
            main.security = risky(&|s| s.run_as_user = Some(0));
        } else if r < 0.125 {
            host_network = true;
        }
        let r = rng.unit();
        if r < 0.015 {
            volumes.push(Volume::new(
                "docker-sock",
                Source::HostPath("/var/run/docker.sock", "Socket"),
            ));
            main.mount("docker-sock", "/var/run/docker.sock", false);
        } else if r < 0.055 {
            volumes.push(Volume::new(
                "varlog",
                Source::HostPath("/var/log", "Directory"),
            ));
            main.mount("varlog", "/var/log/host", true);
        }
    }

    let mut containers = vec![main];
    if let Some(i) = o.sidecar {
        let (name, image, port_name, port) = SIDECARS[i];
        let mut side = Container::new(name, image);
        side.ports = vec![(port_name, port, "TCP")];
        side.requests = vec![("cpu", "50m"), ("memory", "64Mi")];
        // Some teams forget the sidecar's memory limit.
        if !rng.chance(0.08) {
            side.limits = vec![("memory", "128Mi")];
        }
        match name {
            "envoy" => {
                if rng.chance(0.6) {
                    side.readiness =
                        Some(Probe::http("/ready", PortRef::Num(port)).timing(1, 2, 1, 30));
                }
                volumes.push(Volume::new(
                    "envoy-config",
                    Source::ConfigMap(format!("{app}-envoy")),
                ));
                side.mount("envoy-config", "/etc/envoy", true);
            }
            "fluent-bit" => {
                if rng.chance(0.5) {
                    side.liveness = Some(Probe::http("/api/v1/health", PortRef::Name(port_name)));
                }
                volumes.push(Volume::new("logs", Source::EmptyDir));
                side.mount("logs", "/var/log/app", true);
                containers[0].mount("logs", "/var/log/app", false);
            }
            _ => {
                side.ports.push(("health", 13133, "TCP"));
                if rng.chance(0.5) {
                    side.liveness = Some(Probe::http("/", PortRef::Num(13133)));
                    side.readiness = Some(Probe::http("/", PortRef::Num(13133)).timing(0, 5, 1, 3));
                }
                volumes.push(Volume::new(
                    "otel-config",
                    Source::ConfigMap("otel-agent-config".to_string()),
                ));
                side.mount("otel-config", "/conf", true);
            }
        }
        if posture == Posture::Restricted {
            side.security = Some(SecCtx::hardened_container(rng.chance(0.7)));
        }
        containers.push(side);
    }

    let (service_account, automount) = match rng.unit() {
        _ if o.platform => (app.to_string(), None),
        r if r < 0.55 => (app.to_string(), None),
        r if r < 0.75 => (String::new(), Some(false)),
        _ => (String::new(), None),
    };
    let mut t = Template::new(containers);
    t.volumes = volumes;
    t.security = pod_security;
    t.service_account = service_account;
    t.automount = automount;
    t.host_network = host_network;
    if kind == WorkloadKind::StatefulSet {
        t.grace = 60;
    }
    t
}

/// The Deployments and DaemonSets of kube-system; their pods come from
/// [`Gen::system_pods`].
fn system_workloads(rng: &mut Rng, coredns: usize, node_count: usize) -> Vec<Workload> {
    let created = NOW - 86_400 * 400;
    let mut system = |kind, name: &str, hash: &str, replicas, template| {
        let labels = vec![("k8s-app".to_string(), name.to_string())];
        Workload {
            kind,
            name: name.to_string(),
            uid: rng.uid(),
            hash: hash.to_string(),
            rs_uid: rng.uid(),
            old_rs: None,
            replicas,
            selector: labels.clone(),
            labels,
            annotations: Vec::new(),
            template,
            created,
            generation: 1,
            pdb: None,
        }
    };
    let mut coredns_w = system(
        WorkloadKind::Deployment,
        "coredns",
        "76f75df574",
        coredns,
        coredns_template(),
    );
    // CoreDNS pods carry the historical `k8s-app: kube-dns`.
    coredns_w.labels = vec![("k8s-app".to_string(), "kube-dns".to_string())];
    coredns_w.selector = coredns_w.labels.clone();
    vec![
        coredns_w,
        system(
            WorkloadKind::Deployment,
            "metrics-server",
            "6d94bc8694",
            1,
            metrics_server_template(),
        ),
        system(
            WorkloadKind::DaemonSet,
            "kube-proxy",
            "7b8c9d6f54",
            node_count,
            kube_proxy_template(&format!("registry.k8s.io/kube-proxy:{API_VERSION}")),
        ),
        system(
            WorkloadKind::DaemonSet,
            "calico-node",
            "5c9b8d7f6d",
            node_count,
            calico_node_template(),
        ),
    ]
}

/// node-exporter on every node and the kube-prometheus stack.
fn monitoring_workloads(rng: &mut Rng, node_count: usize) -> Vec<Workload> {
    let mut workloads = Vec::new();
    let mut exporter = plan_workload(
        rng,
        "monitoring",
        "kube-prometheus",
        "node-exporter".to_string(),
        WorkloadKind::DaemonSet,
        node_count,
        node_exporter_template(),
    );
    exporter.annotations = vec![(
        "kubectl.kubernetes.io/default-container".to_string(),
        "node-exporter".to_string(),
    )];
    workloads.push(exporter);
    for (name, kind, replicas, image, port_name, port) in MONITORING {
        let template = app_template(
            rng,
            name,
            image,
            kind,
            AppOptions {
                restricted: false,
                platform: true,
                sidecar: None,
                port: (port_name, port),
            },
        );
        let mut w = plan_workload(
            rng,
            "monitoring",
            "kube-prometheus",
            name.to_string(),
            kind,
            replicas,
            template,
        );
        w.annotations = vec![(
            "kubectl.kubernetes.io/default-container".to_string(),
            name.to_string(),
        )];
        workloads.push(w);
    }
    workloads
}

fn coredns_template() -> Template {
    let mut c = Container::new("coredns", "registry.k8s.io/coredns/coredns:v1.11.1");
    c.command = vec!["-conf".into(), "/etc/coredns/Corefile".into()];
    c.ports = vec![
        ("dns", 53, "UDP"),
        ("dns-tcp", 53, "TCP"),
        ("metrics", 9153, "TCP"),
    ];
    c.requests = vec![("cpu", "100m"), ("memory", "70Mi")];
    c.limits = vec![("memory", "170Mi")];
    // As kubeadm deploys it: the health ports are not among the declared ports.
    c.liveness = Some(Probe::http("/health", PortRef::Num(8080)).timing(60, 10, 5, 5));
    c.readiness = Some(Probe::http("/ready", PortRef::Num(8181)).timing(0, 10, 1, 3));
    c.mount("config-volume", "/etc/coredns", true);
    c.security = Some(SecCtx {
        allow_escalation: Some(false),
        add: vec!["NET_BIND_SERVICE"],
        drop: vec!["ALL"],
        read_only_root: Some(true),
        ..SecCtx::default()
    });
    let mut t = Template::new(vec![c]);
    t.volumes = vec![Volume::new(
        "config-volume",
        Source::ConfigMap("coredns".into()),
    )];
    t.service_account = "coredns".into();
    t.priority_class = Some("system-cluster-critical");
    t
}

fn metrics_server_template() -> Template {
    let mut c = Container::new(
        "metrics-server",
        "registry.k8s.io/metrics-server/metrics-server:v0.7.0",
    );
    c.command = vec![
        "--cert-dir=/tmp".into(),
        "--secure-port=10250".into(),
        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname".into(),
        "--metric-resolution=15s".into(),
    ];
    c.ports = vec![("https", 10250, "TCP")];
    c.requests = vec![("cpu", "100m"), ("memory", "200Mi")];
    let https = |path| Probe {
        action: Action::Http {
            path,
            port: PortRef::Name("https"),
            https: true,
        },
        initial_delay: 0,
        period: 10,
        timeout: 1,
        failure: 3,
    };
    c.liveness = Some(https("/livez"));
    c.readiness = Some(https("/readyz").timing(20, 10, 1, 3));
    c.mount("tmp-dir", "/tmp", false);
    c.security = Some(SecCtx {
        read_only_root: Some(true),
        run_as_non_root: Some(true),
        run_as_user: Some(1000),
        allow_escalation: Some(false),
        drop: vec!["ALL"],
        seccomp: Some("RuntimeDefault"),
        ..SecCtx::default()
    });
    let mut t = Template::new(vec![c]);
    t.volumes = vec![Volume::new("tmp-dir", Source::EmptyDir)];
    t.service_account = "metrics-server".into();
    t.priority_class = Some("system-cluster-critical");
    t
}

fn kube_proxy_template(image: &str) -> Template {
    // kubeadm's kube-proxy sets no resources and runs privileged on the host network.
    let mut c = Container::new("kube-proxy", image);
    c.command = vec![
        "/usr/local/bin/kube-proxy".into(),
        "--config=/var/lib/kube-proxy/config.conf".into(),
        "--hostname-override=$(NODE_NAME)".into(),
    ];
    c.env = vec![Env::Field("NODE_NAME", "spec.nodeName")];
    c.mount("kube-proxy", "/var/lib/kube-proxy", false);
    c.mount("xtables-lock", "/run/xtables.lock", false);
    c.mount("lib-modules", "/lib/modules", true);
    c.security = Some(SecCtx {
        privileged: Some(true),
        ..SecCtx::default()
    });
    let mut t = Template::new(vec![c]);
    t.volumes = vec![
        Volume::new("kube-proxy", Source::ConfigMap("kube-proxy".into())),
        Volume::new(
            "xtables-lock",
            Source::HostPath("/run/xtables.lock", "FileOrCreate"),
        ),
        Volume::new("lib-modules", Source::HostPath("/lib/modules", "")),
    ];
    t.service_account = "kube-proxy".into();
    t.priority_class = Some("system-node-critical");
    t.host_network = true;
    t.tolerate_all = true;
    t
}

fn calico_node_template() -> Template {
    let mut c = Container::new("calico-node", "docker.io/calico/node:v3.27.2");
    c.env = vec![
        Env::Value("DATASTORE_TYPE", "kubernetes".into()),
        Env::Value("WAIT_FOR_DATASTORE", "true".into()),
        Env::Field("NODENAME", "spec.nodeName"),
        Env::Value("CALICO_NETWORKING_BACKEND", "bird".into()),
        Env::Value("CLUSTER_TYPE", "k8s,bgp".into()),
        Env::Value("IP", "autodetect".into()),
        Env::Value("CALICO_IPV4POOL_IPIP", "Always".into()),
        Env::Value("FELIX_DEFAULTENDPOINTTOHOSTACTION", "ACCEPT".into()),
    ];
    c.requests = vec![("cpu", "250m")];
    c.liveness =
        Some(Probe::exec(&["/bin/calico-node", "-felix-live", "-bird-live"]).timing(10, 10, 10, 6));
    c.readiness = Some(
        Probe::exec(&["/bin/calico-node", "-felix-ready", "-bird-ready"]).timing(0, 10, 10, 3),
    );
    c.security = Some(SecCtx {
        privileged: Some(true),
        ..SecCtx::default()
    });
    let host = [
        ("lib-modules", "/lib/modules", "", "/lib/modules", true),
        (
            "xtables-lock",
            "/run/xtables.lock",
            "FileOrCreate",
            "/run/xtables.lock",
            false,
        ),
        (
            "policysync",
            "/var/run/nodeagent",
            "DirectoryOrCreate",
            "/var/run/nodeagent",
            false,
        ),
        (
            "var-run-calico",
            "/var/run/calico",
            "DirectoryOrCreate",
            "/var/run/calico",
            false,
        ),
        (
            "var-lib-calico",
            "/var/lib/calico",
            "DirectoryOrCreate",
            "/var/lib/calico",
            false,
        ),
        ("sys-fs", "/sys/fs/", "DirectoryOrCreate", "/sys/fs/", false),
        ("bpffs", "/sys/fs/bpf", "Directory", "/sys/fs/bpf", false),
        ("nodeproc", "/proc", "", "/nodeproc", true),
        (
            "cni-bin-dir",
            "/opt/cni/bin",
            "DirectoryOrCreate",
            "/host/opt/cni/bin",
            false,
        ),
        (
            "cni-net-dir",
            "/etc/cni/net.d",
            "",
            "/host/etc/cni/net.d",
            false,
        ),
        (
            "cni-log-dir",
            "/var/log/calico/cni",
            "",
            "/var/log/calico/cni",
            true,
        ),
    ];
    let mut volumes = Vec::new();
    for (name, path, type_, mount, read_only) in host {
        volumes.push(Volume::new(name, Source::HostPath(path, type_)));
        c.mount(name, mount, read_only);
    }
    let mut t = Template::new(vec![c]);
    t.volumes = volumes;
    t.service_account = "calico-node".into();
    t.priority_class = Some("system-node-critical");
    t.host_network = true;
    t.tolerate_all = true;
    t.grace = 0;
    t
}

fn node_exporter_template() -> Template {
    let mut c = Container::new("node-exporter", "quay.io/prometheus/node-exporter:v1.7.0");
    c.command = vec![
        "--web.listen-address=127.0.0.1:9100".into(),
        "--path.sysfs=/host/sys".into(),
        "--path.rootfs=/host/root".into(),
        "--path.udev.data=/host/root/run/udev/data".into(),
        "--no-collector.wifi".into(),
    ];
    c.requests = vec![("cpu", "102m"), ("memory", "180Mi")];
    c.limits = vec![("cpu", "250m"), ("memory", "180Mi")];
    c.mount("sys", "/host/sys", true);
    c.mount("root", "/host/root", true);
    c.security = Some(SecCtx {
        allow_escalation: Some(false),
        add: vec!["SYS_TIME"],
        drop: vec!["ALL"],
        read_only_root: Some(true),
        ..SecCtx::default()
    });
    let mut proxy = Container::new("kube-rbac-proxy", "quay.io/brancz/kube-rbac-proxy:v0.16.0");
    proxy.command = vec![
        "--secure-listen-address=[$(IP)]:9100".into(),
        "--upstream=http://127.0.0.1:9100/".into(),
    ];
    proxy.env = vec![Env::Field("IP", "status.podIP")];
    proxy.ports = vec![("https", 9100, "TCP")];
    proxy.requests = vec![("cpu", "10m"), ("memory", "20Mi")];
    proxy.limits = vec![("cpu", "20m"), ("memory", "40Mi")];
    proxy.security = Some(SecCtx {
        run_as_non_root: Some(true),
        run_as_user: Some(65532),
        run_as_group: Some(65532),
        seccomp: Some("RuntimeDefault"),
        ..SecCtx::hardened_container(true)
    });
    let mut t = Template::new(vec![c, proxy]);
    t.volumes = vec![
        Volume::new("sys", Source::HostPath("/sys", "")),
        Volume::new("root", Source::HostPath("/", "")),
    ];
    t.security = Some(SecCtx {
        run_as_non_root: Some(true),
        run_as_user: Some(65534),
        run_as_group: Some(65534),
        ..SecCtx::default()
    });
    t.service_account = "node-exporter".into();
    t.automount = Some(true);
    t.priority_class = Some("system-cluster-critical");
    t.host_network = true;
    t.host_pid = true;
    t.tolerate_all = true;
    t
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
    /// Writes the namespace's PodList; returns the number of ready pods of each of
    /// `ns.workloads`, for their controllers' status.
    fn pods_json(
        &mut self,
        ns: &Namespace,
        events: &mut Vec<Event>,
        out: &mut String,
    ) -> Vec<usize> {
        let rv = self.rv();
        list_start(out, "PodList", "v1", rv);
        let mut first = true;
        let mut ready = vec![0; ns.workloads.len()];
        if ns.kind == NsKind::KubeSystem {
            for pod in self.system_pods(ns) {
                if let (true, Some(o)) = (pod.ready, &pod.owner) {
                    if let Some(i) = ns
                        .workloads
                        .iter()
                        .position(|w| w.uid == o.uid || w.rs_uid == o.uid)
                    {
                        ready[i] += 1;
                    }
                }
                list_item_sep(out, first);
                first = false;
                self.pod_events(&pod, events);
                self.pod_json(&pod, out);
            }
        }
        if ns.kind != NsKind::KubeSystem {
            for (i, w) in ns.workloads.iter().enumerate() {
                for replica in 0..w.replicas {
                    let fault = if w.kind == WorkloadKind::DaemonSet {
                        Fault::Healthy
                    } else {
                        Fault::draw(&mut self.rng)
                    };
                    let pod = self.app_pod(ns, w, replica, fault);
                    ready[i] += usize::from(pod.ready);
                    list_item_sep(out, first);
                    first = false;
                    self.pod_events(&pod, events);
                    self.pod_json(&pod, out);
                }
            }
        }
        list_end(out);
        ready
    }

    fn app_pod(&mut self, ns: &Namespace, w: &Workload, replica: usize, fault: Fault) -> PodSpec {
        let app = w.name.as_str();
        let mut labels = w.labels.clone();
        let mut extra_volumes = Vec::new();
        let (name, generate_name, owner) = match w.kind {
            WorkloadKind::Deployment => {
                let rs = format!("{app}-{}", w.hash);
                let name = self.pod_name(&ns.name, &rs);
                labels.push(("pod-template-hash".to_string(), w.hash.clone()));
                let owner = Owner {
                    api_version: "apps/v1",
                    kind: "ReplicaSet",
                    name: rs.clone(),
                    uid: w.rs_uid.clone(),
                };
                (name, format!("{rs}-"), owner)
            }
            WorkloadKind::StatefulSet => {
                let name = format!("{app}-{replica}");
                labels.extend([
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
                ]);
                extra_volumes.push(Volume::new("data", Source::Claim(format!("data-{name}"))));
                let owner = Owner {
                    api_version: "apps/v1",
                    kind: "StatefulSet",
                    name: app.to_string(),
                    uid: w.uid.clone(),
                };
                (name, format!("{app}-"), owner)
            }
            WorkloadKind::DaemonSet => {
                let name = self.pod_name(&ns.name, app);
                labels.extend([
                    ("controller-revision-hash".to_string(), w.hash.clone()),
                    (
                        "pod-template-generation".to_string(),
                        w.generation.to_string(),
                    ),
                ]);
                let owner = Owner {
                    api_version: "apps/v1",
                    kind: "DaemonSet",
                    name: app.to_string(),
                    uid: w.uid.clone(),
                };
                (name, format!("{app}-"), owner)
            }
        };
        labels.sort();
        let created = w.created + self.rng.below(86_400 * 30) as i64;
        let created = created.min(NOW - 600);
        let spec = w.template.clone();
        let token_volume = (spec.automount != Some(false))
            .then(|| format!("kube-api-access-{}", self.rng.name_chars(5)));
        let node = match w.kind {
            WorkloadKind::DaemonSet => Some(replica % self.nodes.len()),
            _ if fault == Fault::Unschedulable => None,
            _ => Some(self.random_worker()),
        };
        let service_account = if spec.service_account.is_empty() {
            "default".to_string()
        } else {
            spec.service_account.clone()
        };
        let mut pod = PodSpec {
            name,
            generate_name: Some(generate_name),
            namespace: ns.name.clone(),
            uid: self.rng.uid(),
            created,
            labels,
            annotations: w.annotations.clone(),
            owner: Some(owner),
            node,
            spec,
            token_volume,
            extra_volumes,
            service_account,
            statuses: Vec::new(),
            phase: "Running",
            ready: true,
            unschedulable: None,
            pod_ip: None,
        };
        self.app_statuses(&mut pod, fault);
        if let Some(n) = node {
            if pod.spec.host_network {
                pod.pod_ip = Some(self.nodes[n].ip.clone());
            }
            // A DaemonSet's pod on a node that is gone is not ready either.
            if w.kind == WorkloadKind::DaemonSet && self.nodes[n].ready != Ready::True {
                pod.ready = false;
                for s in &mut pod.statuses {
                    s.ready = false;
                }
            }
        }
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
        for (i, c) in pod.spec.containers.iter().enumerate() {
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

    /// Static control-plane pods and the pods of kube-system's workloads: CoreDNS,
    /// metrics-server, and one kube-proxy and one calico-node per node.
    fn system_pods(&mut self, ns: &Namespace) -> Vec<PodSpec> {
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
        for w in &ns.workloads {
            match w.kind {
                WorkloadKind::Deployment => {
                    let rs = format!("{}-{}", w.name, w.hash);
                    let mut labels = w.labels.clone();
                    labels.push(("pod-template-hash".into(), w.hash.clone()));
                    for _ in 0..w.replicas {
                        let node = self.random_worker();
                        let name = self.pod_name(&ns.name, &rs);
                        let owner = Owner {
                            api_version: "apps/v1",
                            kind: "ReplicaSet",
                            name: rs.clone(),
                            uid: w.rs_uid.clone(),
                        };
                        let pod = self.system_pod(
                            name,
                            &format!("{rs}-"),
                            node,
                            labels.clone(),
                            owner,
                            w.template.clone(),
                        );
                        pods.push(pod);
                    }
                }
                WorkloadKind::DaemonSet => {
                    let mut labels = w.labels.clone();
                    labels.push(("controller-revision-hash".into(), w.hash.clone()));
                    labels.push(("pod-template-generation".into(), w.generation.to_string()));
                    labels.sort();
                    for node in 0..self.nodes.len() {
                        let name = self.pod_name(&ns.name, &w.name);
                        let mut template = w.template.clone();
                        if w.name == "kube-proxy" {
                            // kube-proxy runs the version of its node's kubelet.
                            let kubelet = self.nodes[node].kubelet;
                            template.containers[0].image =
                                format!("registry.k8s.io/kube-proxy:{kubelet}");
                        }
                        let owner = Owner {
                            api_version: "apps/v1",
                            kind: "DaemonSet",
                            name: w.name.clone(),
                            uid: w.uid.clone(),
                        };
                        let mut pod = self.system_pod(
                            name,
                            &format!("{}-", w.name),
                            node,
                            labels.clone(),
                            owner,
                            template,
                        );
                        pod.pod_ip = Some(self.nodes[node].ip.clone());
                        if self.nodes[node].ready != Ready::True {
                            pod.ready = false;
                            for s in &mut pod.statuses {
                                s.ready = false;
                            }
                        }
                        pods.push(pod);
                    }
                }
                WorkloadKind::StatefulSet => {}
            }
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
        spec: Template,
    ) -> PodSpec {
        let created = self.nodes[node].created + self.rng.range(30, 600) as i64;
        let mut statuses = Vec::new();
        for c in &spec.containers {
            statuses.push(ContainerStatus {
                name: c.name.clone(),
                image: c.image.clone(),
                ready: true,
                restarts: self.rng.below(2),
                state: State::Running(created + 10),
                last: None,
            });
        }
        let pod_ip = self.next_pod_ip();
        let token_volume = (spec.automount != Some(false))
            .then(|| format!("kube-api-access-{}", self.rng.name_chars(5)));
        let service_account = spec.service_account.clone();
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
            spec,
            token_volume,
            extra_volumes: Vec::new(),
            service_account,
            statuses,
            phase: "Running",
            ready: true,
            unschedulable: None,
            pod_ip: Some(pod_ip),
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
        let (live_path, ready_path, port, https) = match component {
            "etcd" => (
                "/health?exclude=NOSPACE&serializable=true",
                "/health?serializable=false",
                2381,
                false,
            ),
            "kube-apiserver" => ("/livez", "/readyz", 6443, true),
            "kube-controller-manager" => ("/healthz", "/healthz", 10257, true),
            _ => ("/healthz", "/healthz", 10259, true),
        };
        let probe = |path| Probe {
            action: Action::Http {
                path,
                port: PortRef::Num(port),
                https,
            },
            initial_delay: 10,
            period: 10,
            timeout: 15,
            failure: 8,
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
        let mut c = Container::new(component, &image);
        c.command = command;
        c.requests = requests;
        c.liveness = Some(probe(live_path));
        c.startup = Some(probe(live_path));
        if component != "kube-controller-manager" && component != "kube-scheduler" {
            c.readiness = Some(probe(ready_path));
        }
        let mut volumes = vec![
            Volume::new(
                "k8s-certs",
                Source::HostPath("/etc/kubernetes/pki", "DirectoryOrCreate"),
            ),
            Volume::new(
                "ca-certs",
                Source::HostPath("/etc/ssl/certs", "DirectoryOrCreate"),
            ),
        ];
        c.mount("k8s-certs", "/etc/kubernetes/pki", true);
        c.mount("ca-certs", "/etc/ssl/certs", true);
        if component == "etcd" {
            volumes.push(Volume::new(
                "etcd-data",
                Source::HostPath("/var/lib/etcd", "DirectoryOrCreate"),
            ));
            c.mount("etcd-data", "/var/lib/etcd", false);
        }
        let mut spec = Template::new(vec![c]);
        spec.volumes = volumes;
        spec.host_network = true;
        spec.priority_class = Some("system-node-critical");
        spec.security = Some(SecCtx {
            seccomp: Some("RuntimeDefault"),
            ..SecCtx::default()
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
            spec,
            token_volume: None,
            extra_volumes: Vec::new(),
            service_account: String::new(),
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
        out.push_str("},\"spec\":");
        let parts = PodParts {
            node: node.as_ref().map(|(name, _)| name.as_str()),
            token_volume: p.token_volume.as_deref(),
            extra_volumes: &p.extra_volumes,
            service_account: &p.service_account,
        };
        pod_spec_json(&p.spec, Some(&parts), out);

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
        let qos = qos_class(&p.spec.containers);
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
        for (i, c) in p.spec.containers.iter().enumerate() {
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
        let main = p
            .spec
            .containers
            .first()
            .map(|c| c.name.as_str())
            .unwrap_or("");
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
                let image = p
                    .spec
                    .containers
                    .first()
                    .map(|c| c.image.as_str())
                    .unwrap_or("");
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
                        p.spec
                            .containers
                            .first()
                            .map(|c| c.image.as_str())
                            .unwrap_or("")
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
                                p.spec
                                    .containers
                                    .first()
                                    .map(|c| c.image.as_str())
                                    .unwrap_or("")
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
    /// Deployment, with full pod templates); returns how many.
    fn replicasets_json(&mut self, ns: &Namespace, ready: &[usize], out: &mut String) -> usize {
        let rv = self.rv();
        list_start(out, "ReplicaSetList", "apps/v1", rv);
        let mut count = 0;
        for (i, w) in ns.workloads.iter().enumerate() {
            if w.kind != WorkloadKind::Deployment {
                continue;
            }
            let revision = if w.old_rs.is_some() { 2 } else { 1 };
            list_item_sep(out, count == 0);
            count += 1;
            self.replicaset_json(
                &ns.name,
                w,
                (&w.hash, &w.rs_uid),
                (w.replicas, ready[i]),
                revision,
                &w.template,
                out,
            );
            if let Some((hash, uid, image)) = &w.old_rs {
                let mut template = w.template.clone();
                template.containers[0].image = image.clone();
                list_item_sep(out, false);
                count += 1;
                self.replicaset_json(&ns.name, w, (hash, uid), (0, 0), 1, &template, out);
            }
        }
        list_end(out);
        count
    }

    /// One ReplicaSet of `w`: `(hash, uid)`, `(replicas, ready)`.
    #[allow(clippy::too_many_arguments)]
    fn replicaset_json(
        &mut self,
        namespace: &str,
        w: &Workload,
        (hash, uid): (&str, &str),
        (replicas, ready): (usize, usize),
        revision: u32,
        template: &Template,
        out: &mut String,
    ) {
        let rv = self.rv();
        let mut labels = w.labels.clone();
        labels.push(("pod-template-hash".to_string(), hash.to_string()));
        labels.sort();
        let mut selector = w.selector.clone();
        selector.push(("pod-template-hash".to_string(), hash.to_string()));
        selector.sort();
        let created = if revision == 1 && w.old_rs.is_some() && replicas > 0 {
            w.created
        } else {
            w.created + 3_600 * i64::from(revision - 1)
        };
        let _ = write!(
            out,
            "{{\"metadata\":{{\"name\":{name},\"namespace\":{ns},\"uid\":\"{uid}\",\"resourceVersion\":\"{rv}\",\"generation\":{revision},\"creationTimestamp\":\"{created}\",\"labels\":{{",
            name = J(&format!("{}-{hash}", w.name)),
            ns = J(namespace),
            created = rfc3339(created),
        );
        pairs(out, &labels);
        let _ = write!(
            out,
            "}},\"annotations\":{{\"deployment.kubernetes.io/desired-replicas\":\"{}\",\"deployment.kubernetes.io/max-replicas\":\"{}\",\"deployment.kubernetes.io/revision\":\"{revision}\"}},\"ownerReferences\":[{{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":{},\"uid\":\"{}\",\"controller\":true,\"blockOwnerDeletion\":true}}]}},\"spec\":{{\"replicas\":{replicas},\"selector\":{{\"matchLabels\":{{",
            w.replicas,
            w.replicas + w.replicas.div_ceil(4),
            J(&w.name),
            w.uid,
        );
        pairs(out, &selector);
        out.push_str("}},\"template\":");
        template_json(&labels, &w.annotations, template, out);
        let _ = write!(out, "}},\"status\":{{\"replicas\":{replicas}");
        if replicas > 0 {
            let _ = write!(out, ",\"fullyLabeledReplicas\":{replicas}");
        }
        if ready > 0 {
            let _ = write!(
                out,
                ",\"readyReplicas\":{ready},\"availableReplicas\":{ready}"
            );
        }
        let _ = write!(out, ",\"observedGeneration\":{revision}}}}}");
    }

    /// Writes the namespace's Deployments, StatefulSets or DaemonSets; returns how many.
    fn workloads_json(
        &mut self,
        ns: &Namespace,
        kind: WorkloadKind,
        ready: &[usize],
        out: &mut String,
    ) -> usize {
        let rv = self.rv();
        let list = match kind {
            WorkloadKind::Deployment => "DeploymentList",
            WorkloadKind::StatefulSet => "StatefulSetList",
            WorkloadKind::DaemonSet => "DaemonSetList",
        };
        list_start(out, list, "apps/v1", rv);
        let mut count = 0;
        for (i, w) in ns.workloads.iter().enumerate() {
            if w.kind != kind {
                continue;
            }
            list_item_sep(out, count == 0);
            count += 1;
            self.workload_json(ns, w, ready[i], out);
        }
        list_end(out);
        count
    }

    fn workload_json(&mut self, ns: &Namespace, w: &Workload, ready: usize, out: &mut String) {
        let rv = self.rv();
        let n = w.replicas;
        let _ = write!(
            out,
            "{{\"metadata\":{{\"name\":{},\"namespace\":{},\"uid\":\"{}\",\"resourceVersion\":\"{rv}\",\"generation\":{},\"creationTimestamp\":\"{}\",\"labels\":{{",
            J(&w.name),
            J(&ns.name),
            w.uid,
            w.generation,
            rfc3339(w.created),
        );
        pairs(out, &w.labels);
        out.push_str("},\"annotations\":{");
        let mut annotations = Vec::new();
        if w.kind == WorkloadKind::Deployment {
            let revision = if w.old_rs.is_some() { "2" } else { "1" };
            annotations.push((
                "deployment.kubernetes.io/revision".to_string(),
                revision.to_string(),
            ));
        } else {
            annotations.push((
                "deprecated.daemonset.template.generation".to_string(),
                w.generation.to_string(),
            ));
            if w.kind == WorkloadKind::StatefulSet {
                annotations.clear();
            }
        }
        if ns.kind == NsKind::App {
            annotations.push(("meta.helm.sh/release-name".to_string(), w.name.clone()));
            annotations.push((
                "meta.helm.sh/release-namespace".to_string(),
                ns.name.clone(),
            ));
        }
        pairs(out, &annotations);
        out.push_str("}},\"spec\":{");
        if w.kind != WorkloadKind::DaemonSet {
            let _ = write!(out, "\"replicas\":{n},");
        }
        out.push_str("\"selector\":{\"matchLabels\":{");
        pairs(out, &w.selector);
        out.push_str("}},\"template\":");
        // The template's labels are the pods' labels without the controller's own.
        template_json(&w.labels, &w.annotations, &w.template, out);
        let g = w.generation;
        match w.kind {
            WorkloadKind::Deployment => {
                out.push_str(",\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":\"25%\",\"maxSurge\":\"25%\"}},\"revisionHistoryLimit\":10,\"progressDeadlineSeconds\":600}");
                let _ = write!(out, ",\"status\":{{\"observedGeneration\":{g}");
                if n > 0 {
                    let _ = write!(out, ",\"replicas\":{n},\"updatedReplicas\":{n}");
                }
                if ready > 0 {
                    let _ = write!(
                        out,
                        ",\"readyReplicas\":{ready},\"availableReplicas\":{ready}"
                    );
                }
                if n > ready {
                    let _ = write!(out, ",\"unavailableReplicas\":{}", n - ready);
                }
                let available = ready + n / 4 >= n;
                let (status, reason, message) = if available {
                    (
                        "True",
                        "MinimumReplicasAvailable",
                        "Deployment has minimum availability.",
                    )
                } else {
                    (
                        "False",
                        "MinimumReplicasUnavailable",
                        "Deployment does not have minimum availability.",
                    )
                };
                let since = rfc3339(w.created + 120);
                let _ = write!(
                    out,
                    ",\"conditions\":[{{\"type\":\"Available\",\"status\":\"{status}\",\"lastUpdateTime\":\"{since}\",\"lastTransitionTime\":\"{since}\",\"reason\":\"{reason}\",\"message\":\"{message}\"}},{{\"type\":\"Progressing\",\"status\":\"True\",\"lastUpdateTime\":\"{since}\",\"lastTransitionTime\":\"{since}\",\"reason\":\"NewReplicaSetAvailable\",\"message\":{}}}]}}}}",
                    J(&format!(
                        "ReplicaSet \"{}-{}\" has successfully progressed.",
                        w.name, w.hash
                    ))
                );
            }
            WorkloadKind::StatefulSet => {
                let _ = write!(
                    out,
                    ",\"volumeClaimTemplates\":[{{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{{\"name\":\"data\",\"creationTimestamp\":null}},\"spec\":{{\"accessModes\":[\"ReadWriteOnce\"],\"storageClassName\":\"gp3\",\"resources\":{{\"requests\":{{\"storage\":\"20Gi\"}}}},\"volumeMode\":\"Filesystem\"}},\"status\":{{\"phase\":\"Pending\"}}}}],\"serviceName\":{},\"podManagementPolicy\":\"OrderedReady\",\"updateStrategy\":{{\"type\":\"RollingUpdate\",\"rollingUpdate\":{{\"partition\":0}}}},\"revisionHistoryLimit\":10,\"persistentVolumeClaimRetentionPolicy\":{{\"whenDeleted\":\"Retain\",\"whenScaled\":\"Retain\"}}}}",
                    J(&w.name)
                );
                let revision = format!("{}-{}", w.name, w.hash);
                let _ = write!(
                    out,
                    ",\"status\":{{\"observedGeneration\":{g},\"replicas\":{n},\"readyReplicas\":{ready},\"currentReplicas\":{n},\"updatedReplicas\":{n},\"currentRevision\":{r},\"updateRevision\":{r},\"collisionCount\":0,\"availableReplicas\":{ready}}}}}",
                    r = J(&revision)
                );
            }
            WorkloadKind::DaemonSet => {
                out.push_str(",\"updateStrategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":1,\"maxSurge\":0}},\"revisionHistoryLimit\":10}");
                let _ = write!(
                    out,
                    ",\"status\":{{\"currentNumberScheduled\":{n},\"numberMisscheduled\":0,\"desiredNumberScheduled\":{n},\"numberReady\":{ready},\"observedGeneration\":{g},\"updatedNumberScheduled\":{n},\"numberAvailable\":{ready}"
                );
                if n > ready {
                    let _ = write!(out, ",\"numberUnavailable\":{}", n - ready);
                }
                out.push_str("}}");
            }
        }
    }

    /// Writes CronJobs (about a third of the application namespaces run one to three);
    /// returns how many.
    fn cronjobs_json(&mut self, ns: &Namespace, out: &mut String) -> usize {
        let rv = self.rv();
        list_start(out, "CronJobList", "batch/v1", rv);
        let jobs = if ns.kind == NsKind::App && self.rng.chance(0.35) {
            self.rng.range(1, 3) as usize
        } else {
            0
        };
        const JOBS: [(&str, &str); 8] = [
            ("nightly-report", "0 2 * * *"),
            ("cleanup", "*/30 * * * *"),
            ("db-backup", "15 3 * * *"),
            ("sync-catalog", "*/10 * * * *"),
            ("reindex", "0 */6 * * *"),
            ("export", "0 5 * * 1"),
            ("rotate-keys", "0 0 1 * *"),
            ("send-digest", "0 8 * * *"),
        ];
        let start = self.rng.below(JOBS.len() as u64) as usize;
        for j in 0..jobs {
            let (job, schedule) = JOBS[(start + j) % JOBS.len()];
            let rv = self.rv();
            let uid = self.rng.uid();
            let created = NOW - 86_400 * self.rng.range(5, 300) as i64;
            let image = format!(
                "registry.example.com/{}/{job}:2.{}.{}",
                ns.team,
                self.rng.below(20),
                self.rng.below(10)
            );
            let mut c = Container::new(job, &image);
            c.command = vec!["--once".into(), format!("--task={job}")];
            c.env = vec![Env::Value("LOG_LEVEL", "info".to_string())];
            if !self.rng.chance(0.1) {
                c.requests = vec![("cpu", "100m"), ("memory", "128Mi")];
                c.limits = vec![("memory", "256Mi")];
            }
            let hardened = ns.restricted || self.rng.chance(0.6);
            let mut t = Template::new(Vec::new());
            if hardened {
                c.security = Some(SecCtx::hardened_container(true));
                t.security = Some(SecCtx::hardened_pod(10001));
            }
            t.containers = vec![c];
            t.restart_policy = "OnFailure";
            t.automount = Some(false);
            let labels = vec![("app.kubernetes.io/name".to_string(), job.to_string())];
            list_item_sep(out, j == 0);
            let _ = write!(
                out,
                "{{\"metadata\":{{\"name\":{},\"namespace\":{},\"uid\":\"{uid}\",\"resourceVersion\":\"{rv}\",\"generation\":1,\"creationTimestamp\":\"{}\",\"labels\":{{",
                J(job),
                J(&ns.name),
                rfc3339(created)
            );
            pairs(out, &labels);
            let _ = write!(
                out,
                "}}}},\"spec\":{{\"schedule\":\"{schedule}\",\"concurrencyPolicy\":\"Forbid\",\"suspend\":false,\"jobTemplate\":{{\"metadata\":{{\"creationTimestamp\":null}},\"spec\":{{\"backoffLimit\":2,\"ttlSecondsAfterFinished\":86400,\"template\":"
            );
            template_json(&labels, &[], &t, out);
            let last = NOW - self.rng.range(60, 86_400) as i64;
            let _ = write!(
                out,
                "}}}},\"successfulJobsHistoryLimit\":3,\"failedJobsHistoryLimit\":1}},\"status\":{{\"lastScheduleTime\":\"{}\",\"lastSuccessfulTime\":\"{}\"}}}}",
                rfc3339(last),
                rfc3339(last + 42)
            );
        }
        list_end(out);
        jobs
    }

    /// Writes the PodDisruptionBudgets of the namespace's workloads; returns how many.
    fn pdbs_json(&mut self, ns: &Namespace, ready: &[usize], out: &mut String) -> usize {
        let rv = self.rv();
        list_start(out, "PodDisruptionBudgetList", "policy/v1", rv);
        let mut count = 0;
        for (i, w) in ns.workloads.iter().enumerate() {
            let Some(plan) = w.pdb else { continue };
            let rv = self.rv();
            let uid = self.rng.uid();
            let expected = w.replicas;
            let healthy = ready[i];
            let (field, desired) = match plan {
                PdbPlan::MaxUnavailable(m) => (
                    format!("\"maxUnavailable\":{m}"),
                    expected.saturating_sub(m),
                ),
                PdbPlan::MinAvailable(m) => (format!("\"minAvailable\":{m}"), m),
                PdbPlan::MinAvailablePercent(p) => (
                    format!("\"minAvailable\":\"{p}%\""),
                    (expected * p).div_ceil(100),
                ),
            };
            let allowed = healthy.saturating_sub(desired);
            list_item_sep(out, count == 0);
            count += 1;
            let _ = write!(
                out,
                "{{\"metadata\":{{\"name\":{},\"namespace\":{},\"uid\":\"{uid}\",\"resourceVersion\":\"{rv}\",\"generation\":1,\"creationTimestamp\":\"{}\",\"labels\":{{",
                J(&w.name),
                J(&ns.name),
                rfc3339(w.created)
            );
            pairs(out, &w.labels);
            let _ = write!(
                out,
                "}}}},\"spec\":{{{field},\"selector\":{{\"matchLabels\":{{"
            );
            pairs(out, &w.selector);
            let (status, reason) = if allowed > 0 {
                ("True", "SufficientPods")
            } else {
                ("False", "InsufficientPods")
            };
            let _ = write!(
                out,
                "}}}}}},\"status\":{{\"observedGeneration\":1,\"disruptionsAllowed\":{allowed},\"currentHealthy\":{healthy},\"desiredHealthy\":{desired},\"expectedPods\":{expected},\"conditions\":[{{\"type\":\"DisruptionAllowed\",\"status\":\"{status}\",\"observedGeneration\":1,\"lastTransitionTime\":\"{}\",\"reason\":\"{reason}\",\"message\":\"\"}}]}}}}",
                rfc3339(NOW - self.rng.range(600, 86_400 * 30) as i64)
            );
        }
        list_end(out);
        count
    }

    /// Writes NetworkPolicies: most application namespaces deny ingress by default and
    /// allow their own pods, monitoring and the ingress controller; a few policies select
    /// nothing (a renamed app). Returns how many.
    fn network_policies_json(&mut self, ns: &Namespace, out: &mut String) -> usize {
        let rv = self.rv();
        list_start(out, "NetworkPolicyList", "networking.k8s.io/v1", rv);
        let mut policies: Vec<(String, Option<String>, String)> = Vec::new();
        let from_ns = |name: &str| {
            format!("{{\"namespaceSelector\":{{\"matchLabels\":{{\"kubernetes.io/metadata.name\":\"{name}\"}}}}}}")
        };
        match ns.kind {
            NsKind::App if !ns.workloads.is_empty() && self.rng.chance(0.85) => {
                policies.push(("default-deny-ingress".into(), None, String::new()));
                policies.push((
                    "allow-same-namespace".into(),
                    None,
                    "{\"from\":[{\"podSelector\":{}}]}".into(),
                ));
                policies.push((
                    "allow-prometheus".into(),
                    None,
                    format!(
                        "{{\"from\":[{}],\"ports\":[{{\"protocol\":\"TCP\",\"port\":9090}}]}}",
                        from_ns("monitoring")
                    ),
                ));
                let first = &ns.workloads[0].name;
                if self.rng.chance(0.6) {
                    policies.push((
                        format!("allow-ingress-to-{first}"),
                        Some(first.clone()),
                        format!(
                            "{{\"from\":[{}],\"ports\":[{{\"protocol\":\"TCP\",\"port\":8080}}]}}",
                            from_ns("ingress-nginx")
                        ),
                    ));
                }
                if self.rng.chance(0.03) {
                    // Left behind when the app was renamed: selects nothing.
                    policies.push((
                        format!("allow-ingress-to-{first}-v1"),
                        Some(format!("{first}-v1")),
                        format!("{{\"from\":[{}]}}", from_ns("ingress-nginx")),
                    ));
                }
            }
            NsKind::Monitoring => {
                for w in &ns.workloads {
                    policies.push((
                        w.name.clone(),
                        Some(w.name.clone()),
                        format!("{{\"from\":[{}]}}", from_ns("monitoring")),
                    ));
                }
            }
            _ => {}
        }
        for (i, (name, app, ingress)) in policies.iter().enumerate() {
            let rv = self.rv();
            let uid = self.rng.uid();
            list_item_sep(out, i == 0);
            let _ = write!(
                out,
                "{{\"metadata\":{{\"name\":{},\"namespace\":{},\"uid\":\"{uid}\",\"resourceVersion\":\"{rv}\",\"generation\":1,\"creationTimestamp\":\"{}\"}},\"spec\":{{\"podSelector\":",
                J(name),
                J(&ns.name),
                rfc3339(ns.created + 3_600)
            );
            match app {
                Some(app) => {
                    let _ = write!(
                        out,
                        "{{\"matchLabels\":{{\"app.kubernetes.io/name\":{}}}}}",
                        J(app)
                    );
                }
                None => out.push_str("{}"),
            }
            if ingress.is_empty() {
                out.push_str(",\"policyTypes\":[\"Ingress\"]}}");
            } else {
                let _ = write!(
                    out,
                    ",\"ingress\":[{ingress}],\"policyTypes\":[\"Ingress\"]}}}}"
                );
            }
        }
        list_end(out);
        policies.len()
    }

    /// Writes a ResourceQuota (most application namespaces); returns how many.
    fn quotas_json(&mut self, ns: &Namespace, out: &mut String) -> usize {
        let rv = self.rv();
        list_start(out, "ResourceQuotaList", "v1", rv);
        let has = ns.kind == NsKind::App && self.rng.chance(0.85);
        if has {
            let rv = self.rv();
            let uid = self.rng.uid();
            let pods = ns.pod_count();
            let cap = (pods * 2).max(20).div_ceil(10) * 10;
            let hard = format!(
                "{{\"limits.memory\":\"{}Gi\",\"pods\":\"{cap}\",\"requests.cpu\":\"{}\",\"requests.memory\":\"{}Gi\"}}",
                cap,
                cap / 2,
                cap / 2
            );
            list_item_sep(out, true);
            let _ = write!(
                out,
                "{{\"metadata\":{{\"name\":\"compute-resources\",\"namespace\":{},\"uid\":\"{uid}\",\"resourceVersion\":\"{rv}\",\"creationTimestamp\":\"{}\"}},\"spec\":{{\"hard\":{hard}}},\"status\":{{\"hard\":{hard},\"used\":{{\"limits.memory\":\"{}Mi\",\"pods\":\"{pods}\",\"requests.cpu\":\"{}m\",\"requests.memory\":\"{}Mi\"}}}}}}",
                J(&ns.name),
                rfc3339(ns.created + 600),
                pods * 640,
                pods * 300,
                pods * 320
            );
        }
        list_end(out);
        usize::from(has)
    }

    /// Writes a LimitRange (most application namespaces); returns how many.
    fn limit_ranges_json(&mut self, ns: &Namespace, out: &mut String) -> usize {
        let rv = self.rv();
        list_start(out, "LimitRangeList", "v1", rv);
        let has = ns.kind == NsKind::App && self.rng.chance(0.8);
        if has {
            let rv = self.rv();
            let uid = self.rng.uid();
            list_item_sep(out, true);
            let _ = write!(
                out,
                "{{\"metadata\":{{\"name\":\"default-limits\",\"namespace\":{},\"uid\":\"{uid}\",\"resourceVersion\":\"{rv}\",\"creationTimestamp\":\"{}\"}},\"spec\":{{\"limits\":[{{\"type\":\"Container\",\"max\":{{\"memory\":\"8Gi\"}},\"default\":{{\"memory\":\"512Mi\"}},\"defaultRequest\":{{\"cpu\":\"100m\",\"memory\":\"128Mi\"}}}}]}}}}",
                J(&ns.name),
                rfc3339(ns.created + 600)
            );
        }
        list_end(out);
        usize::from(has)
    }

    /// Writes the NamespaceList: every planned namespace plus kube-public and
    /// kube-node-lease; returns how many.
    fn namespaces_json(&mut self, namespaces: &[Namespace], out: &mut String) -> usize {
        let rv = self.rv();
        list_start(out, "NamespaceList", "v1", rv);
        // (name, uid, created, labels)
        let mut items: Vec<(String, String, i64, Pairs)> = Vec::new();
        for ns in namespaces {
            let mut labels = vec![("kubernetes.io/metadata.name".to_string(), ns.name.clone())];
            if ns.kind == NsKind::App {
                labels.push(("environment".to_string(), ns.env.to_string()));
                labels.push(("team".to_string(), ns.team.to_string()));
                let level = if ns.restricted {
                    "restricted"
                } else {
                    "baseline"
                };
                let mode = if ns.restricted { "enforce" } else { "warn" };
                labels.push((
                    format!("pod-security.kubernetes.io/{mode}"),
                    level.to_string(),
                ));
                labels.push((
                    format!("pod-security.kubernetes.io/{mode}-version"),
                    "latest".to_string(),
                ));
            }
            labels.sort();
            items.push((ns.name.clone(), ns.uid.clone(), ns.created, labels));
        }
        for name in ["kube-public", "kube-node-lease"] {
            items.push((
                name.to_string(),
                self.rng.uid(),
                NOW - 86_400 * 900,
                vec![("kubernetes.io/metadata.name".to_string(), name.to_string())],
            ));
        }
        for (i, (name, uid, created, labels)) in items.iter().enumerate() {
            let rv = self.rv();
            list_item_sep(out, i == 0);
            let _ = write!(
                out,
                "{{\"metadata\":{{\"name\":{},\"uid\":\"{uid}\",\"resourceVersion\":\"{rv}\",\"creationTimestamp\":\"{}\",\"labels\":{{",
                J(name),
                rfc3339(*created)
            );
            pairs(out, labels);
            out.push_str(
                "}},\"spec\":{\"finalizers\":[\"kubernetes\"]},\"status\":{\"phase\":\"Active\"}}",
            );
        }
        list_end(out);
        items.len()
    }
}

/// The parts of a pod's spec that its controller's template does not have.
struct PodParts<'a> {
    node: Option<&'a str>,
    token_volume: Option<&'a str>,
    extra_volumes: &'a [Volume],
    service_account: &'a str,
}

/// Writes a pod template: `{"metadata":{...},"spec":{...}}`.
fn template_json(
    labels: &[(String, String)],
    annotations: &[(String, String)],
    t: &Template,
    out: &mut String,
) {
    out.push_str("{\"metadata\":{\"creationTimestamp\":null,\"labels\":{");
    pairs(out, labels);
    out.push('}');
    if !annotations.is_empty() {
        out.push_str(",\"annotations\":{");
        pairs(out, annotations);
        out.push('}');
    }
    out.push_str("},\"spec\":");
    pod_spec_json(t, None, out);
    out.push('}');
}

/// Writes a pod spec: a template's, or a pod's when `pod` is given (node, service account
/// token, priority as admission fills them in).
fn pod_spec_json(t: &Template, pod: Option<&PodParts<'_>>, out: &mut String) {
    out.push_str("{\"volumes\":[");
    let extra = pod.map_or(&[][..], |p| p.extra_volumes);
    let mut first = true;
    for v in extra.iter().chain(&t.volumes) {
        if !first {
            out.push(',');
        }
        first = false;
        volume_json(v, out);
    }
    let token = pod.and_then(|p| p.token_volume);
    if let Some(name) = token {
        if !first {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"name\":\"{name}\",\"projected\":{{\"sources\":[{{\"serviceAccountToken\":{{\"expirationSeconds\":3607,\"path\":\"token\"}}}},{{\"configMap\":{{\"name\":\"kube-root-ca.crt\",\"items\":[{{\"key\":\"ca.crt\",\"path\":\"ca.crt\"}}]}}}},{{\"downwardAPI\":{{\"items\":[{{\"path\":\"namespace\",\"fieldRef\":{{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.namespace\"}}}}]}}}}],\"defaultMode\":420}}}}"
        );
    }
    out.push_str("],\"containers\":[");
    for (i, c) in t.containers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        container_json(c, token, out);
    }
    let _ = write!(
        out,
        "],\"restartPolicy\":\"{}\",\"terminationGracePeriodSeconds\":{},\"dnsPolicy\":\"{}\"",
        t.restart_policy,
        t.grace,
        if t.host_network {
            "ClusterFirstWithHostNet"
        } else {
            "ClusterFirst"
        }
    );
    let sa = pod.map_or(t.service_account.as_str(), |p| p.service_account);
    if !sa.is_empty() {
        let _ = write!(
            out,
            ",\"serviceAccountName\":{sa},\"serviceAccount\":{sa}",
            sa = J(sa)
        );
    }
    if let Some(automount) = t.automount {
        let _ = write!(out, ",\"automountServiceAccountToken\":{automount}");
    }
    if let Some(node) = pod.and_then(|p| p.node) {
        let _ = write!(out, ",\"nodeName\":{}", J(node));
    }
    if t.host_network {
        out.push_str(",\"hostNetwork\":true");
    }
    if t.host_pid {
        out.push_str(",\"hostPID\":true");
    }
    out.push_str(",\"securityContext\":");
    match &t.security {
        Some(s) => security_json(s, out),
        None => out.push_str("{}"),
    }
    out.push_str(",\"schedulerName\":\"default-scheduler\"");
    if t.tolerate_all {
        out.push_str(",\"tolerations\":[{\"operator\":\"Exists\"}]");
    }
    if let Some(class) = t.priority_class {
        let _ = write!(out, ",\"priorityClassName\":\"{class}\"");
    }
    if pod.is_some() {
        let priority = match t.priority_class {
            Some("system-node-critical") => 2_000_001_000,
            Some(_) => 2_000_000_000,
            None => 0,
        };
        let _ = write!(out, ",\"priority\":{priority}");
    }
    out.push('}');
}

fn volume_json(v: &Volume, out: &mut String) {
    let _ = write!(out, "{{\"name\":{},", J(&v.name));
    match &v.source {
        Source::ConfigMap(name) => {
            let _ = write!(
                out,
                "\"configMap\":{{\"name\":{},\"defaultMode\":420}}",
                J(name)
            );
        }
        Source::Secret(name) => {
            let _ = write!(
                out,
                "\"secret\":{{\"secretName\":{},\"defaultMode\":420}}",
                J(name)
            );
        }
        Source::EmptyDir => out.push_str("\"emptyDir\":{}"),
        Source::HostPath(path, type_) => {
            let _ = write!(out, "\"hostPath\":{{\"path\":{}", J(path));
            if !type_.is_empty() {
                let _ = write!(out, ",\"type\":\"{type_}\"");
            }
            out.push('}');
        }
        Source::Claim(claim) => {
            let _ = write!(
                out,
                "\"persistentVolumeClaim\":{{\"claimName\":{}}}",
                J(claim)
            );
        }
    }
    out.push('}');
}

fn string_array(out: &mut String, items: &[&str]) {
    out.push('[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}", J(s));
    }
    out.push(']');
}

fn security_json(s: &SecCtx, out: &mut String) {
    let mut fields: Vec<String> = Vec::new();
    if !s.add.is_empty() || !s.drop.is_empty() {
        let mut caps = String::from("\"capabilities\":{");
        if !s.add.is_empty() {
            caps.push_str("\"add\":");
            string_array(&mut caps, &s.add);
        }
        if !s.drop.is_empty() {
            if !s.add.is_empty() {
                caps.push(',');
            }
            caps.push_str("\"drop\":");
            string_array(&mut caps, &s.drop);
        }
        caps.push('}');
        fields.push(caps);
    }
    if let Some(v) = s.privileged {
        fields.push(format!("\"privileged\":{v}"));
    }
    if let Some(v) = s.run_as_user {
        fields.push(format!("\"runAsUser\":{v}"));
    }
    if let Some(v) = s.run_as_group {
        fields.push(format!("\"runAsGroup\":{v}"));
    }
    if let Some(v) = s.run_as_non_root {
        fields.push(format!("\"runAsNonRoot\":{v}"));
    }
    if let Some(v) = s.read_only_root {
        fields.push(format!("\"readOnlyRootFilesystem\":{v}"));
    }
    if let Some(v) = s.allow_escalation {
        fields.push(format!("\"allowPrivilegeEscalation\":{v}"));
    }
    if let Some(v) = s.fs_group {
        fields.push(format!("\"fsGroup\":{v}"));
    }
    if let Some(v) = s.seccomp {
        fields.push(format!("\"seccompProfile\":{{\"type\":\"{v}\"}}"));
    }
    let _ = write!(out, "{{{}}}", fields.join(","));
}

fn probe_json(p: &Probe, out: &mut String) {
    let port = |p: PortRef| match p {
        PortRef::Num(n) => n.to_string(),
        PortRef::Name(name) => format!("\"{name}\""),
    };
    out.push('{');
    match &p.action {
        Action::Http {
            path,
            port: pr,
            https,
        } => {
            let _ = write!(
                out,
                "\"httpGet\":{{\"path\":{},\"port\":{},\"scheme\":\"{}\"}}",
                J(path),
                port(*pr),
                if *https { "HTTPS" } else { "HTTP" }
            );
        }
        Action::Tcp(pr) => {
            let _ = write!(out, "\"tcpSocket\":{{\"port\":{}}}", port(*pr));
        }
        Action::Exec(command) => {
            out.push_str("\"exec\":{\"command\":");
            string_array(out, command);
            out.push('}');
        }
    }
    if p.initial_delay > 0 {
        let _ = write!(out, ",\"initialDelaySeconds\":{}", p.initial_delay);
    }
    let _ = write!(
        out,
        ",\"timeoutSeconds\":{},\"periodSeconds\":{},\"successThreshold\":1,\"failureThreshold\":{}}}",
        p.timeout, p.period, p.failure
    );
}

/// Writes a container; `token` is the service account token volume to mount, on pods.
fn container_json(c: &Container, token: Option<&str>, out: &mut String) {
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
        for (i, (name, port, protocol)) in c.ports.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{{\"name\":\"{name}\",\"containerPort\":{port},\"protocol\":\"{protocol}\"}}"
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
    if !c.mounts.is_empty() || token.is_some() {
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
        if let Some(token) = token {
            if !c.mounts.is_empty() {
                out.push(',');
            }
            let _ = write!(
                out,
                "{{\"name\":\"{token}\",\"readOnly\":true,\"mountPath\":\"/var/run/secrets/kubernetes.io/serviceaccount\"}}"
            );
        }
        out.push(']');
    }
    for (key, probe) in [
        ("livenessProbe", &c.liveness),
        ("readinessProbe", &c.readiness),
        ("startupProbe", &c.startup),
    ] {
        if let Some(p) = probe {
            let _ = write!(out, ",\"{key}\":");
            probe_json(p, out);
        }
    }
    let _ = write!(
        out,
        ",\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\",\"imagePullPolicy\":\"{}\"",
        c.pull_policy
    );
    if let Some(s) = &c.security {
        out.push_str(",\"securityContext\":");
        security_json(s, out);
    }
    out.push('}');
}

// ---------------------------------------------------------------------------------------
// RBAC
// ---------------------------------------------------------------------------------------

/// One policy rule (`nonResourceURLs` when `urls` is not empty).
struct Rule {
    groups: Vec<&'static str>,
    resources: Vec<&'static str>,
    names: Vec<String>,
    urls: Vec<&'static str>,
    verbs: Vec<&'static str>,
}

fn rule(groups: &[&'static str], resources: &[&'static str], verbs: &[&'static str]) -> Rule {
    Rule {
        groups: groups.to_vec(),
        resources: resources.to_vec(),
        names: Vec::new(),
        urls: Vec::new(),
        verbs: verbs.to_vec(),
    }
}

fn named_rule(
    groups: &[&'static str],
    resources: &[&'static str],
    names: &[&str],
    verbs: &[&'static str],
) -> Rule {
    Rule {
        names: names.iter().map(|n| n.to_string()).collect(),
        ..rule(groups, resources, verbs)
    }
}

fn url_rule(urls: &[&'static str], verbs: &[&'static str]) -> Rule {
    Rule {
        urls: urls.to_vec(),
        ..rule(&[], &[], verbs)
    }
}

/// A Role or ClusterRole.
struct RoleObj {
    name: String,
    labels: Vec<(String, String)>,
    /// `aggregationRule` label key (admin, edit, view).
    aggregate: Option<&'static str>,
    rules: Vec<Rule>,
}

impl RoleObj {
    fn new(name: &str, rules: Vec<Rule>) -> RoleObj {
        RoleObj {
            name: name.to_string(),
            labels: Vec::new(),
            aggregate: None,
            rules,
        }
    }

    /// A built-in role, as the API server bootstraps it.
    fn builtin(name: &str, rules: Vec<Rule>) -> RoleObj {
        RoleObj {
            labels: vec![(
                "kubernetes.io/bootstrapping".to_string(),
                "rbac-defaults".to_string(),
            )],
            ..RoleObj::new(name, rules)
        }
    }

    fn label(mut self, key: &str) -> RoleObj {
        self.labels.push((key.to_string(), "true".to_string()));
        self.labels.sort();
        self
    }
}

struct Subject {
    kind: &'static str,
    name: String,
    /// ServiceAccounts only.
    namespace: String,
}

fn sa(namespace: &str, name: &str) -> Subject {
    Subject {
        kind: "ServiceAccount",
        name: name.to_string(),
        namespace: namespace.to_string(),
    }
}

fn group(name: &str) -> Subject {
    Subject {
        kind: "Group",
        name: name.to_string(),
        namespace: String::new(),
    }
}

fn user(name: &str) -> Subject {
    Subject {
        kind: "User",
        name: name.to_string(),
        namespace: String::new(),
    }
}

/// A RoleBinding or ClusterRoleBinding.
struct BindingObj {
    name: String,
    /// `Role` or `ClusterRole`.
    role_kind: &'static str,
    role: String,
    subjects: Vec<Subject>,
}

fn binding(name: &str, role_kind: &'static str, role: &str, subjects: Vec<Subject>) -> BindingObj {
    BindingObj {
        name: name.to_string(),
        role_kind,
        role: role.to_string(),
        subjects,
    }
}

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];
const EVERY: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// The rules of the built-in `view` ClusterRole (as aggregated in 1.29).
fn view_rules() -> Vec<Rule> {
    vec![
        rule(
            &[""],
            &[
                "configmaps",
                "endpoints",
                "persistentvolumeclaims",
                "persistentvolumeclaims/status",
                "pods",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "serviceaccounts",
                "services",
                "services/status",
            ],
            READ,
        ),
        rule(
            &[""],
            &[
                "bindings",
                "events",
                "limitranges",
                "namespaces/status",
                "pods/log",
                "pods/status",
                "replicationcontrollers/status",
                "resourcequotas",
                "resourcequotas/status",
            ],
            READ,
        ),
        rule(&[""], &["namespaces"], READ),
        rule(&["discovery.k8s.io"], &["endpointslices"], READ),
        rule(
            &["apps"],
            &[
                "controllerrevisions",
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/scale",
                "deployments/status",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
                "statefulsets",
                "statefulsets/scale",
                "statefulsets/status",
            ],
            READ,
        ),
        rule(
            &["autoscaling"],
            &[
                "horizontalpodautoscalers",
                "horizontalpodautoscalers/status",
            ],
            READ,
        ),
        rule(
            &["batch"],
            &["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
            READ,
        ),
        rule(
            &["policy"],
            &["poddisruptionbudgets", "poddisruptionbudgets/status"],
            READ,
        ),
        rule(
            &["networking.k8s.io"],
            &["ingresses", "ingresses/status", "networkpolicies"],
            READ,
        ),
        rule(&["metrics.k8s.io"], &["pods", "nodes"], READ),
    ]
}

/// The rules of the built-in `edit` ClusterRole: view plus writes, including exec into
/// pods and impersonating the namespace's service accounts.
fn edit_rules() -> Vec<Rule> {
    let mut rules = edit_own_rules();
    rules.extend(view_rules());
    rules
}

/// `system:aggregate-to-edit`: what `edit` adds to `view`.
fn edit_own_rules() -> Vec<Rule> {
    vec![
        rule(
            &[""],
            &[
                "pods/attach",
                "pods/exec",
                "pods/portforward",
                "pods/proxy",
                "secrets",
                "services/proxy",
            ],
            READ,
        ),
        rule(&[""], &["serviceaccounts"], &["impersonate"]),
        rule(
            &[""],
            &[
                "pods",
                "pods/attach",
                "pods/exec",
                "pods/portforward",
                "pods/proxy",
            ],
            WRITE,
        ),
        rule(&[""], &["pods/eviction"], &["create"]),
        rule(
            &[""],
            &[
                "configmaps",
                "events",
                "persistentvolumeclaims",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "secrets",
                "serviceaccounts",
                "services",
                "services/proxy",
            ],
            WRITE,
        ),
        rule(&[""], &["serviceaccounts/token"], &["create"]),
        rule(
            &["apps"],
            &[
                "daemonsets",
                "deployments",
                "deployments/rollback",
                "deployments/scale",
                "replicasets",
                "replicasets/scale",
                "statefulsets",
                "statefulsets/scale",
            ],
            WRITE,
        ),
        rule(&["autoscaling"], &["horizontalpodautoscalers"], WRITE),
        rule(&["batch"], &["cronjobs", "jobs"], WRITE),
        rule(&["policy"], &["poddisruptionbudgets"], WRITE),
        rule(
            &["networking.k8s.io"],
            &["ingresses", "networkpolicies"],
            WRITE,
        ),
        rule(&["coordination.k8s.io"], &["leases"], EVERY),
    ]
}

fn admin_rules() -> Vec<Rule> {
    let mut rules = vec![
        rule(
            &["authorization.k8s.io"],
            &["localsubjectaccessreviews"],
            &["create"],
        ),
        rule(
            &["rbac.authorization.k8s.io"],
            &["rolebindings", "roles"],
            EVERY,
        ),
    ];
    rules.extend(edit_rules());
    rules
}

/// Controllers of kube-controller-manager: (name, API group, resources, verbs).
#[rustfmt::skip]
const CONTROLLERS: [(&str, &str, &[&str], &[&str]); 33] = [
    ("attachdetach-controller", "", &["nodes", "persistentvolumeclaims", "persistentvolumes", "pods"], &["get", "list", "watch"]),
    ("certificate-controller", "certificates.k8s.io", &["certificatesigningrequests"], &["delete", "get", "list", "watch"]),
    ("clusterrole-aggregation-controller", "rbac.authorization.k8s.io", &["clusterroles"], &["escalate", "get", "list", "patch", "update", "watch"]),
    ("cronjob-controller", "batch", &["cronjobs", "jobs"], &["create", "delete", "get", "list", "patch", "update", "watch"]),
    ("daemon-set-controller", "apps", &["daemonsets", "daemonsets/status"], &["get", "list", "update", "watch"]),
    ("deployment-controller", "apps", &["deployments", "replicasets"], &["create", "delete", "get", "list", "patch", "update", "watch"]),
    ("disruption-controller", "policy", &["poddisruptionbudgets", "poddisruptionbudgets/status"], &["get", "list", "update", "watch"]),
    ("endpoint-controller", "", &["endpoints", "pods", "services"], &["create", "delete", "get", "list", "update", "watch"]),
    ("endpointslice-controller", "discovery.k8s.io", &["endpointslices"], &["create", "delete", "get", "list", "update"]),
    ("endpointslicemirroring-controller", "discovery.k8s.io", &["endpointslices"], &["create", "delete", "get", "list", "update"]),
    ("ephemeral-volume-controller", "", &["persistentvolumeclaims", "pods"], &["create", "get", "list", "watch"]),
    ("expand-controller", "", &["persistentvolumeclaims", "persistentvolumes"], &["get", "list", "patch", "update", "watch"]),
    ("generic-garbage-collector", "*", &["*"], &["delete", "get", "list", "patch", "update", "watch"]),
    ("horizontal-pod-autoscaler", "autoscaling", &["horizontalpodautoscalers", "horizontalpodautoscalers/status"], &["get", "list", "update", "watch"]),
    ("job-controller", "batch", &["jobs", "jobs/finalizers", "jobs/status"], &["get", "list", "patch", "update", "watch"]),
    ("legacy-service-account-token-cleaner", "", &["secrets"], &["delete", "get", "list", "watch"]),
    ("namespace-controller", "*", &["*"], &["delete", "deletecollection", "get", "list"]),
    ("node-controller", "", &["nodes", "nodes/status", "pods"], &["delete", "get", "list", "patch", "update"]),
    ("persistent-volume-binder", "", &["persistentvolumeclaims", "persistentvolumes"], &["create", "delete", "get", "list", "update", "watch"]),
    ("pod-garbage-collector", "", &["nodes", "pods"], &["delete", "list", "watch"]),
    ("pv-protection-controller", "", &["persistentvolumes"], &["get", "list", "update", "watch"]),
    ("pvc-protection-controller", "", &["persistentvolumeclaims", "pods"], &["get", "list", "update", "watch"]),
    ("replicaset-controller", "apps", &["replicasets", "replicasets/status"], &["get", "list", "update", "watch"]),
    ("replication-controller", "", &["replicationcontrollers", "replicationcontrollers/status"], &["get", "list", "update", "watch"]),
    ("resourcequota-controller", "*", &["*"], &["list", "watch"]),
    ("root-ca-cert-publisher", "", &["configmaps"], &["create", "update"]),
    ("route-controller", "", &["nodes", "nodes/status"], &["list", "patch", "watch"]),
    ("service-account-controller", "", &["serviceaccounts"], &["create"]),
    ("service-controller", "", &["services", "services/status"], &["get", "list", "patch", "update", "watch"]),
    ("statefulset-controller", "apps", &["statefulsets", "statefulsets/status"], &["get", "list", "update", "watch"]),
    ("ttl-after-finished-controller", "batch", &["jobs"], &["delete", "get", "list", "watch"]),
    ("ttl-controller", "", &["nodes"], &["list", "patch", "update", "watch"]),
    ("validatingadmissionpolicy-status-controller", "admissionregistration.k8s.io", &["validatingadmissionpolicies", "validatingadmissionpolicies/status"], &["get", "list", "update", "watch"]),
];

/// Custom resources of the installed add-ons, each with aggregated view, edit and admin
/// ClusterRoles.
const CRDS: [(&str, &str); 51] = [
    ("prometheuses", "monitoring.coreos.com"),
    ("alertmanagers", "monitoring.coreos.com"),
    ("servicemonitors", "monitoring.coreos.com"),
    ("podmonitors", "monitoring.coreos.com"),
    ("prometheusrules", "monitoring.coreos.com"),
    ("probes", "monitoring.coreos.com"),
    ("thanosrulers", "monitoring.coreos.com"),
    ("alertmanagerconfigs", "monitoring.coreos.com"),
    ("certificates", "cert-manager.io"),
    ("certificaterequests", "cert-manager.io"),
    ("issuers", "cert-manager.io"),
    ("clusterissuers", "cert-manager.io"),
    ("orders", "acme.cert-manager.io"),
    ("challenges", "acme.cert-manager.io"),
    ("applications", "argoproj.io"),
    ("applicationsets", "argoproj.io"),
    ("appprojects", "argoproj.io"),
    ("scaledobjects", "keda.sh"),
    ("scaledjobs", "keda.sh"),
    ("triggerauthentications", "keda.sh"),
    ("clustertriggerauthentications", "keda.sh"),
    ("externalsecrets", "external-secrets.io"),
    ("secretstores", "external-secrets.io"),
    ("clustersecretstores", "external-secrets.io"),
    ("pushsecrets", "external-secrets.io"),
    ("verticalpodautoscalers", "autoscaling.k8s.io"),
    ("verticalpodautoscalercheckpoints", "autoscaling.k8s.io"),
    ("volumesnapshots", "snapshot.storage.k8s.io"),
    ("volumesnapshotclasses", "snapshot.storage.k8s.io"),
    ("volumesnapshotcontents", "snapshot.storage.k8s.io"),
    ("targetgroupbindings", "elbv2.k8s.aws"),
    ("ingressclassparams", "elbv2.k8s.aws"),
    ("backups", "velero.io"),
    ("restores", "velero.io"),
    ("schedules", "velero.io"),
    ("backupstoragelocations", "velero.io"),
    ("constrainttemplates", "templates.gatekeeper.sh"),
    ("configs", "config.gatekeeper.sh"),
    ("networkpolicies", "crd.projectcalico.org"),
    ("globalnetworkpolicies", "crd.projectcalico.org"),
    ("rbacdefinitions", "rbacmanager.reactiveops.io"),
    ("dnsendpoints", "externaldns.k8s.io"),
    ("workflows", "argoproj.io"),
    ("workflowtemplates", "argoproj.io"),
    ("cronworkflows", "argoproj.io"),
    ("rollouts", "argoproj.io"),
    ("ingressroutes", "traefik.io"),
    ("ingressroutetcps", "traefik.io"),
    ("middlewares", "traefik.io"),
    ("tlsoptions", "traefik.io"),
    ("serverstransports", "traefik.io"),
];

/// Add-ons' ClusterRoles, each bound cluster-wide to the add-on's service accounts:
/// (role, rules, [(namespace, service account)]).
/// An add-on's ClusterRole: (name, rules, service accounts bound to it cluster-wide).
type AddonRole = (&'static str, Vec<Rule>, Vec<(&'static str, &'static str)>);

fn addon_roles() -> Vec<AddonRole> {
    let ks = "kube-system";
    let mon = "monitoring";
    let events = || {
        rule(
            &["", "events.k8s.io"],
            &["events"],
            &["create", "patch", "update"],
        )
    };
    let reviews = || {
        vec![
            rule(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
            rule(
                &["authorization.k8s.io"],
                &["subjectaccessreviews"],
                &["create"],
            ),
        ]
    };
    let calico_ipam = &[
        "blockaffinities",
        "ipamblocks",
        "ipamhandles",
        "clusterinformations",
        "ippools",
        "ipreservations",
        "ipamconfigs",
    ];
    vec![
        (
            "calico-node",
            vec![
                rule(&[""], &["pods", "nodes", "namespaces"], &["get"]),
                rule(&[""], &["endpoints", "services"], READ),
                rule(&[""], &["nodes/status"], &["patch", "update"]),
                named_rule(
                    &[""],
                    &["serviceaccounts/token"],
                    &["calico-cni-plugin"],
                    &["create"],
                ),
                rule(
                    &["crd.projectcalico.org"],
                    &[
                        "globalfelixconfigs",
                        "felixconfigurations",
                        "bgppeers",
                        "bgpfilters",
                        "globalbgpconfigs",
                        "bgpconfigurations",
                        "ippools",
                        "ipreservations",
                        "ipamblocks",
                        "globalnetworkpolicies",
                        "globalnetworksets",
                        "networkpolicies",
                        "networksets",
                        "clusterinformations",
                        "hostendpoints",
                        "blockaffinities",
                        "caliconodestatuses",
                    ],
                    READ,
                ),
            ],
            vec![(ks, "calico-node")],
        ),
        (
            "calico-cni-plugin",
            vec![
                rule(&[""], &["pods", "nodes", "namespaces"], &["get"]),
                rule(&[""], &["pods/status"], &["patch"]),
                rule(
                    &["crd.projectcalico.org"],
                    calico_ipam,
                    &["get", "list", "create", "update", "delete"],
                ),
            ],
            vec![(ks, "calico-cni-plugin")],
        ),
        (
            "calico-kube-controllers",
            vec![
                rule(&[""], &["nodes"], READ),
                rule(&[""], &["pods"], READ),
                rule(
                    &["crd.projectcalico.org"],
                    calico_ipam,
                    &["get", "list", "create", "update", "delete", "watch"],
                ),
                rule(
                    &["crd.projectcalico.org"],
                    &["kubecontrollersconfigurations"],
                    &["get", "create", "update", "watch"],
                ),
            ],
            vec![(ks, "calico-kube-controllers")],
        ),
        (
            "prometheus-operator",
            vec![
                rule(
                    &["monitoring.coreos.com"],
                    &[
                        "alertmanagers",
                        "alertmanagers/finalizers",
                        "alertmanagers/status",
                        "alertmanagerconfigs",
                        "prometheuses",
                        "prometheuses/finalizers",
                        "prometheuses/status",
                        "thanosrulers",
                        "thanosrulers/finalizers",
                        "servicemonitors",
                        "podmonitors",
                        "probes",
                        "prometheusrules",
                    ],
                    &["*"],
                ),
                rule(&["apps"], &["statefulsets"], &["*"]),
                rule(&[""], &["configmaps", "secrets"], &["*"]),
                rule(&[""], &["pods"], &["list", "delete"]),
                rule(
                    &[""],
                    &["services", "services/finalizers", "endpoints"],
                    &["get", "create", "update", "delete"],
                ),
                rule(&[""], &["nodes"], &["list", "watch"]),
                rule(&[""], &["namespaces"], READ),
                rule(&["networking.k8s.io"], &["ingresses"], READ),
            ],
            vec![(mon, "prometheus-operator")],
        ),
        (
            "prometheus-k8s",
            vec![
                rule(&[""], &["nodes/metrics"], &["get"]),
                rule(&[""], &["services", "endpoints", "pods"], READ),
                url_rule(&["/metrics", "/metrics/slis"], &["get"]),
            ],
            vec![(mon, "prometheus-k8s")],
        ),
        (
            "kube-state-metrics",
            vec![
                rule(
                    &[""],
                    &[
                        "configmaps",
                        "secrets",
                        "nodes",
                        "pods",
                        "services",
                        "serviceaccounts",
                        "resourcequotas",
                        "replicationcontrollers",
                        "limitranges",
                        "persistentvolumeclaims",
                        "persistentvolumes",
                        "namespaces",
                        "endpoints",
                    ],
                    &["list", "watch"],
                ),
                rule(
                    &["apps"],
                    &["statefulsets", "daemonsets", "deployments", "replicasets"],
                    &["list", "watch"],
                ),
                rule(&["batch"], &["cronjobs", "jobs"], &["list", "watch"]),
                rule(
                    &["autoscaling"],
                    &["horizontalpodautoscalers"],
                    &["list", "watch"],
                ),
                rule(&["policy"], &["poddisruptionbudgets"], &["list", "watch"]),
                rule(
                    &["certificates.k8s.io"],
                    &["certificatesigningrequests"],
                    &["list", "watch"],
                ),
                rule(
                    &["discovery.k8s.io"],
                    &["endpointslices"],
                    &["list", "watch"],
                ),
                rule(
                    &["storage.k8s.io"],
                    &["storageclasses", "volumeattachments"],
                    &["list", "watch"],
                ),
                rule(
                    &["admissionregistration.k8s.io"],
                    &[
                        "mutatingwebhookconfigurations",
                        "validatingwebhookconfigurations",
                    ],
                    &["list", "watch"],
                ),
                rule(
                    &["networking.k8s.io"],
                    &["networkpolicies", "ingressclasses", "ingresses"],
                    &["list", "watch"],
                ),
                rule(&["coordination.k8s.io"], &["leases"], &["list", "watch"]),
                rule(
                    &["rbac.authorization.k8s.io"],
                    &[
                        "clusterrolebindings",
                        "clusterroles",
                        "rolebindings",
                        "roles",
                    ],
                    &["list", "watch"],
                ),
            ],
            vec![(mon, "kube-state-metrics")],
        ),
        ("node-exporter", reviews(), vec![(mon, "node-exporter")]),
        (
            "blackbox-exporter",
            reviews(),
            vec![(mon, "blackbox-exporter")],
        ),
        (
            "grafana-clusterrole",
            vec![rule(
                &[""],
                &["configmaps", "secrets"],
                &["get", "watch", "list"],
            )],
            vec![(mon, "grafana")],
        ),
        (
            "cert-manager-cainjector",
            vec![
                rule(&["cert-manager.io"], &["certificates"], READ),
                rule(&[""], &["secrets"], READ),
                rule(&[""], &["events"], &["get", "create", "update", "patch"]),
                rule(
                    &["admissionregistration.k8s.io"],
                    &[
                        "validatingwebhookconfigurations",
                        "mutatingwebhookconfigurations",
                    ],
                    &["get", "list", "watch", "update", "patch"],
                ),
                rule(
                    &["apiregistration.k8s.io"],
                    &["apiservices"],
                    &["get", "list", "watch", "update", "patch"],
                ),
                rule(
                    &["apiextensions.k8s.io"],
                    &["customresourcedefinitions"],
                    &["get", "list", "watch", "update", "patch"],
                ),
            ],
            vec![(ks, "cert-manager-cainjector")],
        ),
        (
            "cert-manager-controller-issuers",
            vec![
                rule(
                    &["cert-manager.io"],
                    &["issuers", "issuers/status"],
                    &["update", "patch"],
                ),
                rule(&["cert-manager.io"], &["issuers"], READ),
                rule(
                    &[""],
                    &["secrets"],
                    &["get", "list", "watch", "create", "update", "delete"],
                ),
                events(),
            ],
            vec![(ks, "cert-manager")],
        ),
        (
            "cert-manager-controller-clusterissuers",
            vec![
                rule(
                    &["cert-manager.io"],
                    &["clusterissuers", "clusterissuers/status"],
                    &["update", "patch"],
                ),
                rule(&["cert-manager.io"], &["clusterissuers"], READ),
                rule(
                    &[""],
                    &["secrets"],
                    &["get", "list", "watch", "create", "update", "delete"],
                ),
                events(),
            ],
            vec![(ks, "cert-manager")],
        ),
        (
            "cert-manager-controller-certificates",
            vec![
                rule(
                    &["cert-manager.io"],
                    &[
                        "certificates",
                        "certificates/status",
                        "certificaterequests",
                        "certificaterequests/status",
                    ],
                    &["update", "patch"],
                ),
                rule(
                    &["cert-manager.io"],
                    &[
                        "certificates",
                        "certificaterequests",
                        "clusterissuers",
                        "issuers",
                    ],
                    READ,
                ),
                rule(
                    &["cert-manager.io"],
                    &["certificates/finalizers", "certificaterequests/finalizers"],
                    &["update"],
                ),
                rule(
                    &["acme.cert-manager.io"],
                    &["orders"],
                    &["create", "delete", "get", "list", "watch"],
                ),
                rule(
                    &[""],
                    &["secrets"],
                    &[
                        "get", "list", "watch", "create", "update", "delete", "patch",
                    ],
                ),
                events(),
            ],
            vec![(ks, "cert-manager")],
        ),
        (
            "cert-manager-controller-orders",
            vec![
                rule(
                    &["acme.cert-manager.io"],
                    &["orders", "orders/status"],
                    &["update", "patch"],
                ),
                rule(&["acme.cert-manager.io"], &["orders", "challenges"], READ),
                rule(&["cert-manager.io"], &["clusterissuers", "issuers"], READ),
                rule(
                    &["acme.cert-manager.io"],
                    &["challenges"],
                    &["create", "delete"],
                ),
                rule(&[""], &["secrets"], READ),
                events(),
            ],
            vec![(ks, "cert-manager")],
        ),
        (
            "cert-manager-controller-challenges",
            vec![
                rule(
                    &["acme.cert-manager.io"],
                    &["challenges", "challenges/status"],
                    &["update", "patch"],
                ),
                rule(&["acme.cert-manager.io"], &["challenges"], READ),
                rule(&["cert-manager.io"], &["issuers", "clusterissuers"], READ),
                rule(&[""], &["secrets"], READ),
                rule(
                    &[""],
                    &["pods", "services"],
                    &["get", "list", "watch", "create", "delete"],
                ),
                rule(
                    &["networking.k8s.io"],
                    &["ingresses"],
                    &["get", "list", "watch", "create", "delete", "update"],
                ),
                events(),
            ],
            vec![(ks, "cert-manager")],
        ),
        (
            "cert-manager-controller-ingress-shim",
            vec![
                rule(
                    &["cert-manager.io"],
                    &["certificates", "certificaterequests"],
                    &["create", "update", "delete"],
                ),
                rule(
                    &["cert-manager.io"],
                    &[
                        "certificates",
                        "certificaterequests",
                        "issuers",
                        "clusterissuers",
                    ],
                    READ,
                ),
                rule(&["networking.k8s.io"], &["ingresses"], READ),
                rule(
                    &["networking.k8s.io"],
                    &["ingresses/finalizers"],
                    &["update"],
                ),
                events(),
            ],
            vec![(ks, "cert-manager")],
        ),
        (
            "cert-manager-controller-approve:cert-manager-io",
            vec![named_rule(
                &["cert-manager.io"],
                &["signers"],
                &[
                    "issuers.cert-manager.io/*",
                    "clusterissuers.cert-manager.io/*",
                ],
                &["approve"],
            )],
            vec![(ks, "cert-manager")],
        ),
        (
            "cert-manager-controller-certificatesigningrequests",
            vec![
                rule(
                    &["certificates.k8s.io"],
                    &["certificatesigningrequests"],
                    &["get", "list", "watch", "update"],
                ),
                rule(
                    &["certificates.k8s.io"],
                    &["certificatesigningrequests/status"],
                    &["update", "patch"],
                ),
                named_rule(
                    &["certificates.k8s.io"],
                    &["signers"],
                    &[
                        "issuers.cert-manager.io/*",
                        "clusterissuers.cert-manager.io/*",
                    ],
                    &["sign"],
                ),
                rule(
                    &["authorization.k8s.io"],
                    &["subjectaccessreviews"],
                    &["create"],
                ),
            ],
            vec![(ks, "cert-manager")],
        ),
        (
            "cert-manager-webhook:subjectaccessreviews",
            vec![rule(
                &["authorization.k8s.io"],
                &["subjectaccessreviews"],
                &["create"],
            )],
            vec![(ks, "cert-manager-webhook")],
        ),
        (
            "ingress-nginx",
            vec![
                rule(
                    &[""],
                    &[
                        "configmaps",
                        "endpoints",
                        "nodes",
                        "pods",
                        "secrets",
                        "namespaces",
                    ],
                    &["list", "watch"],
                ),
                rule(&["coordination.k8s.io"], &["leases"], &["list", "watch"]),
                rule(&[""], &["nodes"], &["get"]),
                rule(&[""], &["services"], READ),
                rule(
                    &["networking.k8s.io"],
                    &["ingresses", "ingressclasses"],
                    READ,
                ),
                rule(&["networking.k8s.io"], &["ingresses/status"], &["update"]),
                rule(
                    &["discovery.k8s.io"],
                    &["endpointslices"],
                    &["list", "watch", "get"],
                ),
                rule(&[""], &["events"], &["create", "patch"]),
            ],
            vec![(ks, "ingress-nginx")],
        ),
        (
            "ingress-nginx-admission",
            vec![rule(
                &["admissionregistration.k8s.io"],
                &["validatingwebhookconfigurations"],
                &["get", "update"],
            )],
            vec![(ks, "ingress-nginx-admission")],
        ),
        (
            "external-dns",
            vec![
                rule(
                    &[""],
                    &["services", "endpoints", "pods"],
                    &["get", "watch", "list"],
                ),
                rule(
                    &["extensions", "networking.k8s.io"],
                    &["ingresses"],
                    &["get", "watch", "list"],
                ),
                rule(&[""], &["nodes"], &["list", "watch"]),
                rule(
                    &["externaldns.k8s.io"],
                    &["dnsendpoints", "dnsendpoints/status"],
                    &["get", "watch", "list", "update"],
                ),
            ],
            vec![(ks, "external-dns")],
        ),
        (
            "argocd-application-controller",
            vec![rule(&["*"], &["*"], &["*"]), url_rule(&["*"], &["*"])],
            vec![(ks, "argocd-application-controller")],
        ),
        (
            "argocd-server",
            vec![
                rule(&["*"], &["*"], &["delete", "get", "patch"]),
                rule(&[""], &["events"], &["list"]),
                rule(&[""], &["pods", "pods/log"], &["get"]),
                rule(
                    &["argoproj.io"],
                    &["applications", "applicationsets"],
                    &["get", "list", "update", "watch"],
                ),
                rule(&["batch"], &["jobs"], &["create"]),
            ],
            vec![(ks, "argocd-server")],
        ),
        (
            "cluster-autoscaler",
            vec![
                rule(&[""], &["events", "endpoints"], &["create", "patch"]),
                rule(&[""], &["pods/eviction"], &["create"]),
                rule(&[""], &["pods/status"], &["update"]),
                named_rule(
                    &[""],
                    &["endpoints"],
                    &["cluster-autoscaler"],
                    &["get", "update"],
                ),
                rule(&[""], &["nodes"], &["watch", "list", "get", "update"]),
                rule(
                    &[""],
                    &[
                        "namespaces",
                        "pods",
                        "services",
                        "replicationcontrollers",
                        "persistentvolumeclaims",
                        "persistentvolumes",
                    ],
                    &["watch", "list", "get"],
                ),
                rule(&["policy"], &["poddisruptionbudgets"], &["watch", "list"]),
                rule(
                    &["apps"],
                    &["statefulsets", "replicasets", "daemonsets"],
                    &["watch", "list", "get"],
                ),
                rule(
                    &["storage.k8s.io"],
                    &[
                        "storageclasses",
                        "csinodes",
                        "csidrivers",
                        "csistoragecapacities",
                    ],
                    &["watch", "list", "get"],
                ),
                rule(&["batch"], &["jobs", "cronjobs"], &["watch", "list", "get"]),
                rule(&["coordination.k8s.io"], &["leases"], &["create"]),
                named_rule(
                    &["coordination.k8s.io"],
                    &["leases"],
                    &["cluster-autoscaler"],
                    &["get", "update"],
                ),
            ],
            vec![(ks, "cluster-autoscaler")],
        ),
        (
            "aws-load-balancer-controller-role",
            vec![
                rule(&[""], &["endpoints", "namespaces", "nodes", "pods"], READ),
                rule(&[""], &["events"], &["create", "patch"]),
                rule(&[""], &["pods/status"], &["update", "patch"]),
                rule(&[""], &["secrets"], READ),
                rule(
                    &[""],
                    &["services"],
                    &["get", "list", "patch", "update", "watch"],
                ),
                rule(&["elbv2.k8s.aws"], &["targetgroupbindings"], EVERY),
                rule(&["elbv2.k8s.aws"], &["ingressclassparams"], READ),
                rule(
                    &["networking.k8s.io"],
                    &["ingresses"],
                    &["get", "list", "patch", "update", "watch"],
                ),
                rule(&["networking.k8s.io"], &["ingressclasses"], READ),
                rule(&["discovery.k8s.io"], &["endpointslices"], READ),
            ],
            vec![(ks, "aws-load-balancer-controller")],
        ),
        (
            "ebs-csi-node-role",
            vec![
                rule(&[""], &["nodes"], &["get", "patch"]),
                rule(&["storage.k8s.io"], &["volumeattachments"], READ),
                rule(&["storage.k8s.io"], &["csinodes"], &["get"]),
            ],
            vec![(ks, "ebs-csi-node-sa")],
        ),
        (
            "ebs-external-attacher-role",
            vec![
                rule(
                    &[""],
                    &["persistentvolumes"],
                    &["get", "list", "watch", "update", "patch"],
                ),
                rule(&[""], &["nodes"], READ),
                rule(&["csi.storage.k8s.io"], &["csinodeinfos"], READ),
                rule(
                    &["storage.k8s.io"],
                    &["volumeattachments"],
                    &["get", "list", "watch", "update", "patch"],
                ),
                rule(
                    &["storage.k8s.io"],
                    &["volumeattachments/status"],
                    &["patch"],
                ),
            ],
            vec![(ks, "ebs-csi-controller-sa")],
        ),
        (
            "ebs-external-provisioner-role",
            vec![
                rule(
                    &[""],
                    &["persistentvolumes"],
                    &["get", "list", "watch", "create", "patch", "delete"],
                ),
                rule(
                    &[""],
                    &["persistentvolumeclaims"],
                    &["get", "list", "watch", "update"],
                ),
                rule(&["storage.k8s.io"], &["storageclasses", "csinodes"], READ),
                rule(
                    &[""],
                    &["events"],
                    &["list", "watch", "create", "update", "patch"],
                ),
                rule(
                    &["snapshot.storage.k8s.io"],
                    &["volumesnapshots", "volumesnapshotcontents"],
                    &["get", "list"],
                ),
                rule(&[""], &["nodes"], READ),
                rule(
                    &["coordination.k8s.io"],
                    &["leases"],
                    &["get", "watch", "list", "delete", "update", "create"],
                ),
                rule(&["storage.k8s.io"], &["volumeattachments"], READ),
            ],
            vec![(ks, "ebs-csi-controller-sa")],
        ),
        (
            "ebs-external-resizer-role",
            vec![
                rule(
                    &[""],
                    &["persistentvolumes"],
                    &["get", "list", "watch", "patch"],
                ),
                rule(&[""], &["persistentvolumeclaims"], READ),
                rule(&[""], &["pods"], READ),
                rule(&[""], &["persistentvolumeclaims/status"], &["patch"]),
                rule(
                    &[""],
                    &["events"],
                    &["list", "watch", "create", "update", "patch"],
                ),
            ],
            vec![(ks, "ebs-csi-controller-sa")],
        ),
        (
            "ebs-external-snapshotter-role",
            vec![
                rule(
                    &[""],
                    &["events"],
                    &["list", "watch", "create", "update", "patch"],
                ),
                rule(
                    &["snapshot.storage.k8s.io"],
                    &["volumesnapshotclasses"],
                    READ,
                ),
                rule(
                    &["snapshot.storage.k8s.io"],
                    &["volumesnapshotcontents"],
                    &[
                        "create", "get", "list", "watch", "update", "delete", "patch",
                    ],
                ),
                rule(
                    &["snapshot.storage.k8s.io"],
                    &["volumesnapshotcontents/status"],
                    &["update", "patch"],
                ),
            ],
            vec![(ks, "ebs-csi-controller-sa")],
        ),
        (
            "keda-operator",
            vec![
                rule(
                    &[""],
                    &["configmaps", "configmaps/status", "events"],
                    &["*"],
                ),
                rule(&[""], &["external", "pods", "secrets", "services"], READ),
                rule(
                    &[""],
                    &["limitranges", "serviceaccounts"],
                    &["list", "watch"],
                ),
                rule(
                    &["*"],
                    &["*/scale"],
                    &["get", "list", "patch", "update", "watch"],
                ),
                rule(&["*"], &["*"], &["get"]),
                rule(
                    &["apps"],
                    &["deployments", "statefulsets"],
                    &["list", "watch"],
                ),
                rule(&["autoscaling"], &["horizontalpodautoscalers"], &["*"]),
                rule(&["batch"], &["jobs"], &["*"]),
                rule(
                    &["keda.sh"],
                    &[
                        "clustertriggerauthentications",
                        "clustertriggerauthentications/status",
                        "scaledjobs",
                        "scaledjobs/finalizers",
                        "scaledjobs/status",
                        "scaledobjects",
                        "scaledobjects/finalizers",
                        "scaledobjects/status",
                        "triggerauthentications",
                        "triggerauthentications/status",
                    ],
                    &["*"],
                ),
            ],
            vec![(ks, "keda-operator")],
        ),
        (
            "keda-operator-external-metrics-reader",
            vec![rule(&["external.metrics.k8s.io"], &["*"], &["*"])],
            vec![(ks, "horizontal-pod-autoscaler")],
        ),
        (
            "gatekeeper-manager-role",
            vec![
                rule(&["*"], &["*"], &["get", "list", "watch"]),
                rule(
                    &["admissionregistration.k8s.io"],
                    &[
                        "mutatingwebhookconfigurations",
                        "validatingwebhookconfigurations",
                    ],
                    EVERY,
                ),
                rule(
                    &["apiextensions.k8s.io"],
                    &["customresourcedefinitions"],
                    EVERY,
                ),
                rule(
                    &["config.gatekeeper.sh"],
                    &["configs", "configs/status"],
                    EVERY,
                ),
                rule(&["constraints.gatekeeper.sh"], &["*"], EVERY),
                rule(
                    &["templates.gatekeeper.sh"],
                    &[
                        "constrainttemplates",
                        "constrainttemplates/finalizers",
                        "constrainttemplates/status",
                    ],
                    EVERY,
                ),
            ],
            vec![(ks, "gatekeeper-admin")],
        ),
        (
            "fluent-bit-read",
            vec![rule(&[""], &["namespaces", "pods"], READ)],
            vec![(mon, "fluent-bit")],
        ),
        (
            "otel-collector",
            vec![
                rule(&[""], &["pods", "namespaces", "nodes"], READ),
                rule(&["apps", "extensions"], &["replicasets"], READ),
            ],
            vec![(mon, "otel-collector")],
        ),
        (
            "system:vpa-actor",
            vec![
                rule(&[""], &["pods", "nodes", "limitranges"], READ),
                rule(&[""], &["events"], &["get", "list", "watch", "create"]),
                rule(
                    &["poc.autoscaling.k8s.io", "autoscaling.k8s.io"],
                    &["verticalpodautoscalers"],
                    &["get", "list", "watch", "patch"],
                ),
            ],
            vec![(ks, "vpa-recommender")],
        ),
        (
            "system:vpa-checkpoint-actor",
            vec![
                rule(
                    &["autoscaling.k8s.io"],
                    &["verticalpodautoscalercheckpoints"],
                    &["get", "list", "watch", "create", "patch", "delete"],
                ),
                rule(&[""], &["namespaces"], &["get", "list"]),
            ],
            vec![(ks, "vpa-recommender")],
        ),
        (
            "vpa-evictioner",
            vec![
                rule(&["apps", "extensions"], &["replicasets"], &["get"]),
                rule(&[""], &["pods/eviction"], &["create"]),
            ],
            vec![(ks, "vpa-updater")],
        ),
        (
            "vpa-metrics-reader",
            vec![rule(&["metrics.k8s.io"], &["pods"], &["get", "list"])],
            vec![(ks, "vpa-recommender")],
        ),
        (
            "vpa-target-reader",
            vec![
                rule(&["*"], &["*/scale"], &["get", "watch"]),
                rule(&[""], &["replicationcontrollers"], READ),
                rule(
                    &["apps"],
                    &["daemonsets", "deployments", "replicasets", "statefulsets"],
                    READ,
                ),
                rule(&["batch"], &["jobs", "cronjobs"], READ),
            ],
            vec![
                (ks, "vpa-recommender"),
                (ks, "vpa-updater"),
                (ks, "vpa-admission-controller"),
            ],
        ),
        (
            "vpa-status-reader",
            vec![rule(&["coordination.k8s.io"], &["leases"], READ)],
            vec![(ks, "vpa-updater")],
        ),
        (
            "vpa-admission-controller",
            vec![
                rule(&[""], &["pods", "configmaps", "nodes", "limitranges"], READ),
                rule(
                    &["admissionregistration.k8s.io"],
                    &["mutatingwebhookconfigurations"],
                    &["create", "delete", "get", "list"],
                ),
                rule(
                    &["poc.autoscaling.k8s.io", "autoscaling.k8s.io"],
                    &["verticalpodautoscalers"],
                    READ,
                ),
                rule(
                    &["coordination.k8s.io"],
                    &["leases"],
                    &["create", "update", "get", "list", "watch"],
                ),
            ],
            vec![(ks, "vpa-admission-controller")],
        ),
        (
            "vpa-status-actor",
            vec![rule(
                &["autoscaling.k8s.io"],
                &["verticalpodautoscalers/status"],
                &["get", "patch"],
            )],
            vec![(ks, "vpa-recommender")],
        ),
        (
            "external-secrets-controller",
            vec![
                rule(
                    &["external-secrets.io"],
                    &[
                        "secretstores",
                        "clustersecretstores",
                        "externalsecrets",
                        "clusterexternalsecrets",
                        "pushsecrets",
                    ],
                    READ,
                ),
                rule(
                    &[""],
                    &["serviceaccounts", "namespaces", "configmaps"],
                    READ,
                ),
                rule(
                    &[""],
                    &["secrets"],
                    &[
                        "get", "list", "watch", "create", "update", "delete", "patch",
                    ],
                ),
                rule(&[""], &["serviceaccounts/token"], &["create"]),
                rule(&[""], &["events"], &["create", "patch"]),
            ],
            vec![(ks, "external-secrets")],
        ),
        (
            "external-secrets-cert-controller",
            vec![
                rule(
                    &["apiextensions.k8s.io"],
                    &["customresourcedefinitions"],
                    &["get", "list", "watch", "update", "patch"],
                ),
                rule(
                    &["admissionregistration.k8s.io"],
                    &["validatingwebhookconfigurations"],
                    &["get", "list", "watch", "update", "patch"],
                ),
                rule(&[""], &["endpoints"], READ),
                rule(
                    &[""],
                    &["secrets"],
                    &["get", "list", "watch", "update", "patch"],
                ),
            ],
            vec![(ks, "external-secrets-cert-controller")],
        ),
        (
            "kube-oidc-proxy",
            vec![
                rule(
                    &[""],
                    &["users", "groups", "serviceaccounts"],
                    &["impersonate"],
                ),
                rule(
                    &["authentication.k8s.io"],
                    &[
                        "userextras/scopes",
                        "userextras/remote-client-ip",
                        "tokenreviews",
                    ],
                    &["create", "impersonate"],
                ),
            ],
            vec![(ks, "kube-oidc-proxy")],
        ),
        (
            "rbac-manager",
            vec![
                rule(
                    &["rbac.authorization.k8s.io"],
                    &[
                        "clusterrolebindings",
                        "clusterroles",
                        "rolebindings",
                        "roles",
                    ],
                    &[
                        "get", "list", "watch", "create", "update", "patch", "delete", "bind",
                        "escalate",
                    ],
                ),
                rule(&["rbacmanager.reactiveops.io"], &["rbacdefinitions"], READ),
                rule(&[""], &["namespaces", "serviceaccounts"], EVERY),
            ],
            vec![(ks, "rbac-manager")],
        ),
        (
            "legacy-backup-secrets-reader",
            vec![rule(&[""], &["secrets", "configmaps"], &["get", "list"])],
            vec![(ks, "legacy-backup")],
        ),
    ]
}

/// Built-in ClusterRoles besides admin/edit/view/cluster-admin and the controllers'.
fn builtin_roles() -> Vec<RoleObj> {
    let csr = "certificates.k8s.io";
    let approver = |signer: &'static [&'static str]| {
        vec![
            named_rule(&[csr], &["signers"], signer, &["approve"]),
            rule(
                &[csr],
                &["certificatesigningrequests"],
                &["get", "list", "watch"],
            ),
        ]
    };
    let mut roles = vec![
        RoleObj::builtin(
            "system:auth-delegator",
            vec![
                rule(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
                rule(
                    &["authorization.k8s.io"],
                    &["subjectaccessreviews"],
                    &["create"],
                ),
            ],
        ),
        RoleObj::builtin(
            "system:basic-user",
            vec![rule(
                &["authorization.k8s.io"],
                &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                &["create"],
            )],
        ),
        RoleObj::builtin(
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            vec![rule(
                &[csr],
                &["certificatesigningrequests/nodeclient"],
                &["create"],
            )],
        ),
        RoleObj::builtin(
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            vec![rule(
                &[csr],
                &["certificatesigningrequests/selfnodeclient"],
                &["create"],
            )],
        ),
        RoleObj::builtin(
            "system:certificates.k8s.io:kube-apiserver-client-approver",
            approver(&["kubernetes.io/kube-apiserver-client"]),
        ),
        RoleObj::builtin(
            "system:certificates.k8s.io:kube-apiserver-client-kubelet-approver",
            approver(&["kubernetes.io/kube-apiserver-client-kubelet"]),
        ),
        RoleObj::builtin(
            "system:certificates.k8s.io:kubelet-serving-approver",
            approver(&["kubernetes.io/kubelet-serving"]),
        ),
        RoleObj::builtin(
            "system:certificates.k8s.io:legacy-unknown-approver",
            approver(&["kubernetes.io/legacy-unknown"]),
        ),
        RoleObj::builtin(
            "system:discovery",
            vec![url_rule(
                &[
                    "/api",
                    "/api/*",
                    "/apis",
                    "/apis/*",
                    "/healthz",
                    "/livez",
                    "/openapi",
                    "/openapi/*",
                    "/readyz",
                    "/version",
                    "/version/",
                ],
                &["get"],
            )],
        ),
        RoleObj::builtin(
            "system:heapster",
            vec![
                rule(&[""], &["events", "namespaces", "nodes", "pods"], READ),
                rule(&["extensions"], &["deployments"], READ),
            ],
        ),
        RoleObj::builtin(
            "system:kube-aggregator",
            vec![rule(&[""], &["endpoints", "services"], READ)],
        ),
        RoleObj::builtin(
            "system:kube-controller-manager",
            vec![
                rule(
                    &["", "events.k8s.io"],
                    &["events"],
                    &["create", "patch", "update"],
                ),
                rule(&["coordination.k8s.io"], &["leases"], &["create"]),
                named_rule(
                    &["coordination.k8s.io"],
                    &["leases"],
                    &["kube-controller-manager"],
                    &["get", "update"],
                ),
                rule(&[""], &["secrets", "serviceaccounts"], &["create"]),
                rule(&[""], &["secrets"], &["delete"]),
                rule(
                    &[""],
                    &["configmaps", "namespaces", "secrets", "serviceaccounts"],
                    &["get"],
                ),
                rule(&[""], &["serviceaccounts/token"], &["create"]),
                rule(&["*"], &["*"], &["list", "watch"]),
            ],
        ),
        RoleObj::builtin(
            "system:kube-dns",
            vec![rule(&[""], &["endpoints", "services"], &["list", "watch"])],
        ),
        RoleObj::builtin(
            "system:kube-scheduler",
            vec![
                rule(
                    &["", "events.k8s.io"],
                    &["events"],
                    &["create", "patch", "update"],
                ),
                rule(&["coordination.k8s.io"], &["leases"], &["create"]),
                named_rule(
                    &["coordination.k8s.io"],
                    &["leases"],
                    &["kube-scheduler"],
                    &["get", "update"],
                ),
                rule(
                    &[""],
                    &[
                        "nodes",
                        "namespaces",
                        "pods",
                        "services",
                        "persistentvolumeclaims",
                        "persistentvolumes",
                        "replicationcontrollers",
                    ],
                    READ,
                ),
                rule(&[""], &["bindings", "pods/binding"], &["create"]),
                rule(&[""], &["pods/status"], &["patch", "update"]),
                rule(&["apps"], &["replicasets", "statefulsets"], READ),
                rule(&["policy"], &["poddisruptionbudgets"], READ),
                rule(
                    &["storage.k8s.io"],
                    &[
                        "csidrivers",
                        "csinodes",
                        "csistoragecapacities",
                        "storageclasses",
                    ],
                    READ,
                ),
            ],
        ),
        RoleObj::builtin(
            "system:kubelet-api-admin",
            vec![
                rule(&[""], &["nodes"], &["get", "list", "watch", "proxy"]),
                rule(
                    &[""],
                    &["nodes/log", "nodes/metrics", "nodes/proxy", "nodes/stats"],
                    &["*"],
                ),
            ],
        ),
        RoleObj::builtin(
            "system:monitoring",
            vec![url_rule(
                &[
                    "/healthz",
                    "/healthz/*",
                    "/livez",
                    "/livez/*",
                    "/metrics",
                    "/metrics/slis",
                    "/readyz",
                    "/readyz/*",
                ],
                &["get"],
            )],
        ),
        RoleObj::builtin(
            "system:node",
            vec![
                rule(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
                rule(
                    &["authorization.k8s.io"],
                    &["localsubjectaccessreviews", "subjectaccessreviews"],
                    &["create"],
                ),
                rule(&[""], &["services"], READ),
                rule(&[""], &["nodes"], &["create", "get", "list", "watch"]),
                rule(&[""], &["nodes/status"], &["patch", "update"]),
                rule(&[""], &["nodes"], &["delete", "patch", "update"]),
                rule(
                    &["", "events.k8s.io"],
                    &["events"],
                    &["create", "patch", "update"],
                ),
                rule(&[""], &["pods"], READ),
                rule(&[""], &["pods"], &["create", "delete"]),
                rule(&[""], &["pods/status"], &["patch", "update"]),
                rule(&[""], &["pods/eviction"], &["create"]),
                rule(&[""], &["configmaps", "secrets"], &["get", "list", "watch"]),
                rule(
                    &[""],
                    &["persistentvolumeclaims", "persistentvolumes"],
                    &["get"],
                ),
                rule(&[""], &["endpoints"], &["get"]),
                rule(
                    &[csr],
                    &["certificatesigningrequests"],
                    &["create", "get", "list", "watch"],
                ),
                rule(
                    &["coordination.k8s.io"],
                    &["leases"],
                    &["create", "delete", "get", "patch", "update"],
                ),
                rule(&["storage.k8s.io"], &["volumeattachments"], &["get"]),
                rule(&[""], &["serviceaccounts/token"], &["create"]),
                rule(&["storage.k8s.io"], &["csidrivers"], READ),
                rule(
                    &["storage.k8s.io"],
                    &["csinodes"],
                    &["create", "delete", "get", "patch", "update"],
                ),
                rule(&["node.k8s.io"], &["runtimeclasses"], READ),
            ],
        ),
        RoleObj::builtin(
            "system:node-bootstrapper",
            vec![rule(
                &[csr],
                &["certificatesigningrequests"],
                &["create", "get", "list", "watch"],
            )],
        ),
        RoleObj::builtin(
            "system:node-problem-detector",
            vec![
                rule(&[""], &["nodes"], &["get"]),
                rule(&[""], &["nodes/status"], &["patch"]),
                rule(
                    &["", "events.k8s.io"],
                    &["events"],
                    &["create", "patch", "update"],
                ),
            ],
        ),
        RoleObj::builtin(
            "system:node-proxier",
            vec![
                rule(&[""], &["endpoints", "services"], &["list", "watch"]),
                rule(&[""], &["nodes"], READ),
                rule(
                    &["", "events.k8s.io"],
                    &["events"],
                    &["create", "patch", "update"],
                ),
                rule(
                    &["discovery.k8s.io"],
                    &["endpointslices"],
                    &["list", "watch"],
                ),
            ],
        ),
        RoleObj::builtin(
            "system:persistent-volume-provisioner",
            vec![
                rule(
                    &[""],
                    &["persistentvolumes"],
                    &["create", "delete", "get", "list", "watch"],
                ),
                rule(
                    &[""],
                    &["persistentvolumeclaims"],
                    &["get", "list", "update", "watch"],
                ),
                rule(&["storage.k8s.io"], &["storageclasses"], READ),
                rule(
                    &[""],
                    &["events"],
                    &["create", "list", "patch", "update", "watch"],
                ),
            ],
        ),
        RoleObj::builtin(
            "system:public-info-viewer",
            vec![url_rule(
                &["/healthz", "/livez", "/readyz", "/version", "/version/"],
                &["get"],
            )],
        ),
        RoleObj::builtin(
            "system:service-account-issuer-discovery",
            vec![url_rule(
                &["/.well-known/openid-configuration", "/openid/v1/jwks"],
                &["get"],
            )],
        ),
        RoleObj::builtin(
            "system:volume-scheduler",
            vec![
                rule(
                    &[""],
                    &["persistentvolumes"],
                    &["get", "list", "patch", "update", "watch"],
                ),
                rule(&["storage.k8s.io"], &["storageclasses"], READ),
                rule(
                    &[""],
                    &["persistentvolumeclaims"],
                    &["get", "list", "patch", "update", "watch"],
                ),
            ],
        ),
        RoleObj::new(
            "system:coredns",
            vec![
                rule(
                    &[""],
                    &["endpoints", "services", "pods", "namespaces"],
                    &["list", "watch"],
                ),
                rule(
                    &["discovery.k8s.io"],
                    &["endpointslices"],
                    &["list", "watch"],
                ),
            ],
        ),
        RoleObj::new(
            "system:metrics-server",
            vec![
                rule(&[""], &["nodes/metrics"], &["get"]),
                rule(&[""], &["pods", "nodes"], READ),
            ],
        )
        .label("k8s-app"),
        RoleObj::new(
            "system:aggregated-metrics-reader",
            vec![rule(&["metrics.k8s.io"], &["pods", "nodes"], READ)],
        )
        .label("rbac.authorization.k8s.io/aggregate-to-view"),
        RoleObj::new("kubeadm:get-nodes", vec![rule(&[""], &["nodes"], &["get"])]),
    ];
    for (ctrl, group, resources, verbs) in CONTROLLERS {
        roles.push(RoleObj::builtin(
            &format!("system:controller:{ctrl}"),
            vec![
                rule(&[group], resources, verbs),
                rule(
                    &["", "events.k8s.io"],
                    &["events"],
                    &["create", "patch", "update"],
                ),
            ],
        ));
    }
    roles
}

/// Every ClusterRole and ClusterRoleBinding of the cluster.
fn cluster_rbac() -> (Vec<RoleObj>, Vec<BindingObj>) {
    let mut roles = vec![
        RoleObj::builtin(
            "cluster-admin",
            vec![rule(&["*"], &["*"], &["*"]), url_rule(&["*"], &["*"])],
        ),
        RoleObj {
            aggregate: Some("rbac.authorization.k8s.io/aggregate-to-admin"),
            ..RoleObj::builtin("admin", admin_rules())
        },
        RoleObj {
            aggregate: Some("rbac.authorization.k8s.io/aggregate-to-edit"),
            ..RoleObj::builtin("edit", edit_rules())
        }
        .label("rbac.authorization.k8s.io/aggregate-to-admin"),
        RoleObj {
            aggregate: Some("rbac.authorization.k8s.io/aggregate-to-view"),
            ..RoleObj::builtin("view", view_rules())
        }
        .label("rbac.authorization.k8s.io/aggregate-to-edit"),
        RoleObj::builtin(
            "system:aggregate-to-admin",
            vec![
                rule(
                    &["authorization.k8s.io"],
                    &["localsubjectaccessreviews"],
                    &["create"],
                ),
                rule(
                    &["rbac.authorization.k8s.io"],
                    &["rolebindings", "roles"],
                    EVERY,
                ),
            ],
        )
        .label("rbac.authorization.k8s.io/aggregate-to-admin"),
        RoleObj::builtin("system:aggregate-to-edit", edit_own_rules())
            .label("rbac.authorization.k8s.io/aggregate-to-edit"),
        RoleObj::builtin("system:aggregate-to-view", view_rules())
            .label("rbac.authorization.k8s.io/aggregate-to-view"),
    ];
    roles.extend(builtin_roles());

    let ks = "kube-system";
    let bootstrap = "system:bootstrappers:kubeadm:default-node-token";
    let mut bindings = vec![
        binding(
            "cluster-admin",
            "ClusterRole",
            "cluster-admin",
            vec![group("system:masters")],
        ),
        binding(
            "system:basic-user",
            "ClusterRole",
            "system:basic-user",
            vec![group("system:authenticated")],
        ),
        binding(
            "system:discovery",
            "ClusterRole",
            "system:discovery",
            vec![group("system:authenticated")],
        ),
        binding(
            "system:public-info-viewer",
            "ClusterRole",
            "system:public-info-viewer",
            vec![
                group("system:authenticated"),
                group("system:unauthenticated"),
            ],
        ),
        binding(
            "system:kube-controller-manager",
            "ClusterRole",
            "system:kube-controller-manager",
            vec![user("system:kube-controller-manager")],
        ),
        binding(
            "system:kube-dns",
            "ClusterRole",
            "system:kube-dns",
            vec![sa(ks, "kube-dns")],
        ),
        binding(
            "system:kube-scheduler",
            "ClusterRole",
            "system:kube-scheduler",
            vec![user("system:kube-scheduler")],
        ),
        binding(
            "system:monitoring",
            "ClusterRole",
            "system:monitoring",
            vec![group("system:monitoring")],
        ),
        binding("system:node", "ClusterRole", "system:node", Vec::new()),
        binding(
            "system:node-proxier",
            "ClusterRole",
            "system:node-proxier",
            vec![user("system:kube-proxy")],
        ),
        binding(
            "system:service-account-issuer-discovery",
            "ClusterRole",
            "system:service-account-issuer-discovery",
            vec![group("system:serviceaccounts")],
        ),
        binding(
            "system:volume-scheduler",
            "ClusterRole",
            "system:volume-scheduler",
            vec![user("system:kube-scheduler")],
        ),
        binding(
            "system:coredns",
            "ClusterRole",
            "system:coredns",
            vec![sa(ks, "coredns")],
        ),
        binding(
            "system:metrics-server",
            "ClusterRole",
            "system:metrics-server",
            vec![sa(ks, "metrics-server")],
        ),
        binding(
            "metrics-server:system:auth-delegator",
            "ClusterRole",
            "system:auth-delegator",
            vec![sa(ks, "metrics-server")],
        ),
        // kubeadm 1.29 binds this group to cluster-admin for admin.conf.
        binding(
            "kubeadm:cluster-admins",
            "ClusterRole",
            "cluster-admin",
            vec![group("kubeadm:cluster-admins")],
        ),
        binding(
            "kubeadm:get-nodes",
            "ClusterRole",
            "kubeadm:get-nodes",
            vec![group(bootstrap)],
        ),
        binding(
            "kubeadm:kubelet-bootstrap",
            "ClusterRole",
            "system:node-bootstrapper",
            vec![group(bootstrap)],
        ),
        binding(
            "kubeadm:node-autoapprove-bootstrap",
            "ClusterRole",
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            vec![group(bootstrap)],
        ),
        binding(
            "kubeadm:node-autoapprove-certificate-rotation",
            "ClusterRole",
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            vec![group("system:nodes")],
        ),
        binding(
            "kubeadm:node-proxier",
            "ClusterRole",
            "system:node-proxier",
            vec![sa(ks, "kube-proxy")],
        ),
    ];
    for (ctrl, ..) in CONTROLLERS {
        let name = format!("system:controller:{ctrl}");
        bindings.push(binding(&name, "ClusterRole", &name, vec![sa(ks, ctrl)]));
    }
    for (name, rules, subjects) in addon_roles() {
        roles.push(RoleObj::new(name, rules));
        bindings.push(binding(
            name,
            "ClusterRole",
            name,
            subjects.into_iter().map(|(ns, n)| sa(ns, n)).collect(),
        ));
    }
    // Cluster-admin where it should not be: a backup tool, Helm 2's tiller, humans.
    bindings.push(binding(
        "velero",
        "ClusterRole",
        "cluster-admin",
        vec![sa(ks, "velero")],
    ));
    bindings.push(binding(
        "tiller-cluster-admin",
        "ClusterRole",
        "cluster-admin",
        vec![sa(ks, "tiller")],
    ));
    bindings.push(binding(
        "platform-admins",
        "ClusterRole",
        "cluster-admin",
        vec![group("oidc:platform-admins")],
    ));
    bindings.push(binding(
        "break-glass",
        "ClusterRole",
        "cluster-admin",
        vec![user("admin@example.com")],
    ));
    roles.push(RoleObj::new(
        "debug-exec",
        vec![
            rule(&[""], &["pods"], &["get", "list"]),
            rule(&[""], &["pods/exec", "pods/attach"], &["create"]),
        ],
    ));
    bindings.push(binding(
        "sre-debug-exec",
        "ClusterRole",
        "debug-exec",
        vec![group("oidc:sre")],
    ));

    for (plural, api_group) in CRDS {
        let base = format!("{plural}.{api_group}");
        roles.push(
            RoleObj::new(
                &format!("{base}-view"),
                vec![rule(&[api_group], &[plural], READ)],
            )
            .label("rbac.authorization.k8s.io/aggregate-to-view"),
        );
        roles.push(
            RoleObj::new(
                &format!("{base}-edit"),
                vec![rule(&[api_group], &[plural], WRITE)],
            )
            .label("rbac.authorization.k8s.io/aggregate-to-edit"),
        );
        roles.push(
            RoleObj::new(
                &format!("{base}-admin"),
                vec![rule(&[api_group], &[plural], EVERY)],
            )
            .label("rbac.authorization.k8s.io/aggregate-to-admin"),
        );
    }
    for team in TEAMS {
        let role = format!("team:{team}:namespace-viewer");
        roles.push(RoleObj::new(
            &role,
            vec![
                rule(&[""], &["namespaces", "nodes"], READ),
                rule(&["storage.k8s.io"], &["storageclasses"], READ),
                rule(&["networking.k8s.io"], &["ingressclasses"], READ),
                rule(
                    &["apiextensions.k8s.io"],
                    &["customresourcedefinitions"],
                    READ,
                ),
            ],
        ));
        let team_group = format!("oidc:team-{team}");
        bindings.push(binding(
            &role,
            "ClusterRole",
            &role,
            vec![group(&team_group)],
        ));
        bindings.push(binding(
            &format!("team:{team}:view"),
            "ClusterRole",
            "view",
            vec![group(&team_group)],
        ));
        bindings.push(binding(
            &format!("team:{team}:monitoring-view"),
            "ClusterRole",
            "servicemonitors.monitoring.coreos.com-view",
            vec![group(&team_group)],
        ));
    }
    (roles, bindings)
}

impl Gen {
    /// The Roles and RoleBindings of one namespace.
    fn namespace_rbac(&mut self, ns: &Namespace) -> (Vec<RoleObj>, Vec<BindingObj>) {
        let mut roles = Vec::new();
        let mut bindings = Vec::new();
        match ns.kind {
            NsKind::KubeSystem => {
                let ks = "kube-system";
                let bootstrap = "system:bootstrappers:kubeadm:default-node-token";
                let leader = |name: &str| {
                    vec![
                        rule(&["coordination.k8s.io"], &["leases"], &["watch"]),
                        named_rule(
                            &["coordination.k8s.io"],
                            &["leases"],
                            &[name],
                            &["get", "update"],
                        ),
                    ]
                };
                roles.push(RoleObj::builtin(
                    "extension-apiserver-authentication-reader",
                    vec![named_rule(
                        &[""],
                        &["configmaps"],
                        &["extension-apiserver-authentication"],
                        READ,
                    )],
                ));
                roles.push(RoleObj::new(
                    "kube-proxy",
                    vec![named_rule(
                        &[""],
                        &["configmaps"],
                        &["kube-proxy"],
                        &["get"],
                    )],
                ));
                roles.push(RoleObj::new(
                    "kubeadm:kubelet-config",
                    vec![named_rule(
                        &[""],
                        &["configmaps"],
                        &["kubelet-config"],
                        &["get"],
                    )],
                ));
                roles.push(RoleObj::new(
                    "kubeadm:nodes-kubeadm-config",
                    vec![named_rule(
                        &[""],
                        &["configmaps"],
                        &["kubeadm-config"],
                        &["get"],
                    )],
                ));
                roles.push(RoleObj::builtin(
                    "system::leader-locking-kube-controller-manager",
                    leader("kube-controller-manager"),
                ));
                roles.push(RoleObj::builtin(
                    "system::leader-locking-kube-scheduler",
                    leader("kube-scheduler"),
                ));
                roles.push(RoleObj::builtin(
                    "system:controller:bootstrap-signer",
                    vec![rule(&[""], &["secrets"], READ)],
                ));
                roles.push(RoleObj::builtin(
                    "system:controller:cloud-provider",
                    vec![rule(
                        &[""],
                        &["configmaps"],
                        &["create", "get", "list", "watch"],
                    )],
                ));
                roles.push(RoleObj::builtin(
                    "system:controller:token-cleaner",
                    vec![rule(
                        &[""],
                        &["secrets"],
                        &["delete", "get", "list", "watch"],
                    )],
                ));
                bindings.push(binding(
                    "kube-proxy",
                    "Role",
                    "kube-proxy",
                    vec![group(bootstrap)],
                ));
                bindings.push(binding(
                    "kubeadm:kubelet-config",
                    "Role",
                    "kubeadm:kubelet-config",
                    vec![group("system:nodes"), group(bootstrap)],
                ));
                bindings.push(binding(
                    "kubeadm:nodes-kubeadm-config",
                    "Role",
                    "kubeadm:nodes-kubeadm-config",
                    vec![group(bootstrap), group("system:nodes")],
                ));
                bindings.push(binding(
                    "metrics-server-auth-reader",
                    "Role",
                    "extension-apiserver-authentication-reader",
                    vec![sa(ks, "metrics-server")],
                ));
                bindings.push(binding(
                    "system::extension-apiserver-authentication-reader",
                    "Role",
                    "extension-apiserver-authentication-reader",
                    vec![
                        user("system:kube-controller-manager"),
                        user("system:kube-scheduler"),
                    ],
                ));
                for name in [
                    "system::leader-locking-kube-controller-manager",
                    "system::leader-locking-kube-scheduler",
                    "system:controller:bootstrap-signer",
                    "system:controller:cloud-provider",
                    "system:controller:token-cleaner",
                ] {
                    let subject = name.rsplit(':').next().unwrap_or(name);
                    let subject = subject.strip_prefix("leader-locking-").unwrap_or(subject);
                    bindings.push(binding(name, "Role", name, vec![sa(ks, subject)]));
                }
            }
            NsKind::Monitoring | NsKind::Default => {
                roles.push(RoleObj::new(
                    "prometheus-k8s",
                    vec![
                        rule(&[""], &["services", "endpoints", "pods"], READ),
                        rule(&["extensions", "networking.k8s.io"], &["ingresses"], READ),
                    ],
                ));
                bindings.push(binding(
                    "prometheus-k8s",
                    "Role",
                    "prometheus-k8s",
                    vec![sa("monitoring", "prometheus-k8s")],
                ));
                if ns.kind == NsKind::Monitoring {
                    roles.push(RoleObj::new(
                        "prometheus-k8s-config",
                        vec![rule(&[""], &["configmaps"], &["get"])],
                    ));
                    bindings.push(binding(
                        "prometheus-k8s-config",
                        "Role",
                        "prometheus-k8s-config",
                        vec![sa("monitoring", "prometheus-k8s")],
                    ));
                }
            }
            NsKind::App => {
                // Teams edit their non-production namespaces and view production.
                let team_role = if ns.env == "prod" { "view" } else { "edit" };
                bindings.push(binding(
                    &format!("team-{}", ns.team),
                    "ClusterRole",
                    team_role,
                    vec![group(&format!("oidc:team-{}", ns.team))],
                ));
                if self.rng.chance(0.05) {
                    bindings.push(binding(
                        "namespace-admin",
                        "ClusterRole",
                        "admin",
                        vec![user(&format!("lead-{}@example.com", ns.team))],
                    ));
                }
                let Some(first) = ns.workloads.first().map(|w| w.name.clone()) else {
                    return (roles, bindings);
                };
                roles.push(RoleObj::new(
                    "leader-election",
                    vec![
                        rule(
                            &["coordination.k8s.io"],
                            &["leases"],
                            &["get", "create", "update"],
                        ),
                        rule(&[""], &["configmaps"], READ),
                        rule(&["", "events.k8s.io"], &["events"], &["create", "patch"]),
                    ],
                ));
                bindings.push(binding(
                    &format!("{first}-leader-election"),
                    "Role",
                    "leader-election",
                    vec![sa(&ns.name, &first)],
                ));
                if self.rng.chance(0.9) {
                    let mut rules = vec![
                        rule(
                            &["apps"],
                            &["deployments", "statefulsets", "replicasets"],
                            &[
                                "get", "list", "watch", "create", "update", "patch", "delete",
                            ],
                        ),
                        rule(
                            &[""],
                            &["services", "configmaps", "serviceaccounts"],
                            &[
                                "get", "list", "watch", "create", "update", "patch", "delete",
                            ],
                        ),
                        rule(
                            &["policy"],
                            &["poddisruptionbudgets"],
                            &["get", "list", "create", "update", "patch"],
                        ),
                        rule(
                            &["networking.k8s.io"],
                            &["ingresses", "networkpolicies"],
                            &["get", "list", "create", "update", "patch"],
                        ),
                        rule(
                            &["batch"],
                            &["cronjobs", "jobs"],
                            &["get", "list", "create", "update", "patch", "delete"],
                        ),
                    ];
                    // Some pipelines run migrations with `kubectl run`/`exec`.
                    if self.rng.chance(0.1) {
                        rules.push(rule(
                            &[""],
                            &["pods", "pods/exec"],
                            &["create", "get", "list"],
                        ));
                    }
                    roles.push(RoleObj::new("deployer", rules));
                    bindings.push(binding(
                        "deployer",
                        "Role",
                        "deployer",
                        vec![sa(&ns.name, "deployer")],
                    ));
                }
                if self.rng.chance(0.4) {
                    roles.push(RoleObj::new(
                        "secret-reader",
                        vec![named_rule(
                            &[""],
                            &["secrets"],
                            &[&format!("{first}-credentials"), &format!("{first}-tls")],
                            &["get"],
                        )],
                    ));
                    bindings.push(binding(
                        &format!("{first}-secret-reader"),
                        "Role",
                        "secret-reader",
                        vec![sa(&ns.name, &first)],
                    ));
                }
                if self.rng.chance(0.02) {
                    roles.push(RoleObj::new(
                        "legacy-admin",
                        vec![rule(&["*"], &["*"], &["*"])],
                    ));
                    bindings.push(binding(
                        "legacy-admin",
                        "Role",
                        "legacy-admin",
                        vec![sa(&ns.name, "default")],
                    ));
                }
            }
        }
        (roles, bindings)
    }

    /// Writes a RoleList or ClusterRoleList; returns how many.
    fn roles_json(
        &mut self,
        kind: &str,
        namespace: Option<&str>,
        roles: &[RoleObj],
        out: &mut String,
    ) -> usize {
        let rv = self.rv();
        list_start(
            out,
            &format!("{kind}List"),
            "rbac.authorization.k8s.io/v1",
            rv,
        );
        for (i, r) in roles.iter().enumerate() {
            list_item_sep(out, i == 0);
            self.rbac_meta(&r.name, namespace, &r.labels, out);
            if let Some(key) = r.aggregate {
                let _ = write!(
                    out,
                    ",\"aggregationRule\":{{\"clusterRoleSelectors\":[{{\"matchLabels\":{{\"{key}\":\"true\"}}}}]}}"
                );
            }
            out.push_str(",\"rules\":[");
            for (j, rule) in r.rules.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push('{');
                if rule.urls.is_empty() {
                    out.push_str("\"apiGroups\":");
                    string_array(out, &rule.groups);
                    out.push_str(",\"resources\":");
                    string_array(out, &rule.resources);
                    if !rule.names.is_empty() {
                        let names: Vec<&str> = rule.names.iter().map(String::as_str).collect();
                        out.push_str(",\"resourceNames\":");
                        string_array(out, &names);
                    }
                } else {
                    out.push_str("\"nonResourceURLs\":");
                    string_array(out, &rule.urls);
                }
                out.push_str(",\"verbs\":");
                string_array(out, &rule.verbs);
                out.push('}');
            }
            out.push_str("]}");
        }
        list_end(out);
        roles.len()
    }

    /// Writes a RoleBindingList or ClusterRoleBindingList; returns how many.
    fn bindings_json(
        &mut self,
        kind: &str,
        namespace: Option<&str>,
        bindings: &[BindingObj],
        out: &mut String,
    ) -> usize {
        let rv = self.rv();
        list_start(
            out,
            &format!("{kind}List"),
            "rbac.authorization.k8s.io/v1",
            rv,
        );
        for (i, b) in bindings.iter().enumerate() {
            list_item_sep(out, i == 0);
            self.rbac_meta(&b.name, namespace, &[], out);
            let _ = write!(
                out,
                ",\"roleRef\":{{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"{}\",\"name\":{}}}",
                b.role_kind,
                J(&b.role)
            );
            if !b.subjects.is_empty() {
                out.push_str(",\"subjects\":[");
                for (j, s) in b.subjects.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    if s.kind == "ServiceAccount" {
                        let _ = write!(
                            out,
                            "{{\"kind\":\"ServiceAccount\",\"name\":{},\"namespace\":{}}}",
                            J(&s.name),
                            J(&s.namespace)
                        );
                    } else {
                        let _ = write!(
                            out,
                            "{{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"{}\",\"name\":{}}}",
                            s.kind,
                            J(&s.name)
                        );
                    }
                }
                out.push(']');
            }
            out.push('}');
        }
        list_end(out);
        bindings.len()
    }

    /// `{"metadata":{...}` (left open for the rest of the object).
    fn rbac_meta(
        &mut self,
        name: &str,
        namespace: Option<&str>,
        labels: &[(String, String)],
        out: &mut String,
    ) {
        let rv = self.rv();
        let uid = self.rng.uid();
        let created = NOW - 86_400 * self.rng.range(30, 880) as i64;
        let _ = write!(out, "{{\"metadata\":{{\"name\":{}", J(name));
        if let Some(ns) = namespace {
            let _ = write!(out, ",\"namespace\":{}", J(ns));
        }
        let _ = write!(
            out,
            ",\"uid\":\"{uid}\",\"resourceVersion\":\"{rv}\",\"creationTimestamp\":\"{}\"",
            rfc3339(created)
        );
        if !labels.is_empty() {
            out.push_str(",\"labels\":{");
            pairs(out, labels);
            out.push('}');
        }
        if labels
            .iter()
            .any(|(k, _)| k == "kubernetes.io/bootstrapping")
        {
            out.push_str(
                ",\"annotations\":{\"rbac.authorization.kubernetes.io/autoupdate\":\"true\"}",
            );
        }
        out.push('}');
    }
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
            requests,
            limits,
            ..Container::new("c", "i")
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
from collections import Counter
root = sys.argv[1]
counts = Counter()
items = {}
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
            items.setdefault(kind[:-4], []).append(item)
        counts[kind] += len(doc.get("items", [1]))

def key(o):
    return (o["metadata"].get("namespace", ""), o["metadata"]["name"])

def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())

pods, rss = items["Pod"], items["ReplicaSet"]
assert len({key(p) for p in pods}) == len(pods), "pod names are unique"
uids = {o["metadata"]["uid"]: o for kind in items for o in items[kind] if "uid" in o["metadata"]}
uids.update({n["metadata"]["uid"]: n for n in items["Node"]})
# Pods -> ReplicaSet / StatefulSet / DaemonSet (/ Node for static pods), same namespace.
for p in pods:
    (ref,) = p["metadata"]["ownerReferences"]
    owner = uids[ref["uid"]]
    assert owner["metadata"]["name"] == ref["name"], p["metadata"]["name"]
    if ref["kind"] == "Node":
        continue
    assert owner["metadata"]["namespace"] == p["metadata"]["namespace"]
    assert matches(owner["spec"]["selector"], p["metadata"]["labels"]), p["metadata"]["name"]
    if ref["kind"] == "ReplicaSet":
        h = p["metadata"]["labels"]["pod-template-hash"]
        assert ref["name"].endswith("-" + h) and p["metadata"]["name"].startswith(ref["name"] + "-")
        assert owner["metadata"]["labels"]["pod-template-hash"] == h
    # Same container shapes as the template.
    tmpl = owner["spec"]["template"]["spec"]["containers"]
    for c, t in zip(p["spec"]["containers"], tmpl):
        for field in ("image", "livenessProbe", "readinessProbe", "securityContext", "ports"):
            # kube-proxy runs its node's kubelet version: the version-skew scenario.
            if field != "image" or ref["name"] != "kube-proxy":
                assert c.get(field) == t.get(field), (p["metadata"]["name"], field)
# ReplicaSets -> Deployments.
for rs in rss:
    (ref,) = rs["metadata"]["ownerReferences"]
    deploy = uids[ref["uid"]]
    assert ref["kind"] == "Deployment" and deploy["metadata"]["name"] == ref["name"]
    assert key(rs)[0] == key(deploy)[0]
    assert matches(deploy["spec"]["selector"], rs["spec"]["template"]["metadata"]["labels"])
owned = Counter(p["metadata"]["ownerReferences"][0]["uid"] for p in pods)
for w in items["Deployment"]:
    current = [rs for rs in rss if rs["metadata"]["ownerReferences"][0]["uid"] == w["metadata"]["uid"]
               and rs["spec"]["replicas"] > 0]
    assert sum(owned[rs["metadata"]["uid"]] for rs in current) == w["spec"]["replicas"], key(w)
for w in items["StatefulSet"] + items["DaemonSet"]:
    assert owned[w["metadata"]["uid"]] == w["status"].get("replicas", w["status"].get("desiredNumberScheduled")), key(w)
# PodDisruptionBudgets select their workload's template.
templates = {}
for kind in ("Deployment", "StatefulSet"):
    for w in items[kind]:
        templates.setdefault(key(w)[0], []).append(w["spec"]["template"]["metadata"]["labels"])
for pdb in items["PodDisruptionBudget"]:
    assert any(matches(pdb["spec"]["selector"], l) for l in templates[key(pdb)[0]]), key(pdb)
# RBAC bindings name roles that exist.
roles = {key(r) for r in items["Role"]}
cluster_roles = {r["metadata"]["name"] for r in items["ClusterRole"]}
for b in items["RoleBinding"] + items["ClusterRoleBinding"]:
    ref = b["roleRef"]
    assert ref["name"] in cluster_roles if ref["kind"] == "ClusterRole" else (key(b)[0], ref["name"]) in roles, key(b)
# Templates vary: mostly hardened, some not; a few host paths.
containers = [c for kind in ("Deployment", "StatefulSet") for w in items[kind]
              for c in w["spec"]["template"]["spec"]["containers"]]
hardened = sum(c.get("securityContext", {}).get("allowPrivilegeEscalation") is False for c in containers)
assert 0.5 < hardened / len(containers) < 0.95, hardened / len(containers)
host_paths = [v for kind in ("Deployment", "StatefulSet", "DaemonSet") for w in items[kind]
              for v in w["spec"]["template"]["spec"].get("volumes", []) if "hostPath" in v]
assert host_paths
assert any(p["spec"].get("maxUnavailable") == 0 for p in items["PodDisruptionBudget"])
assert any(n["spec"]["podSelector"] for n in items["NetworkPolicy"])
assert any(s["name"].startswith("cluster-admin") or b["roleRef"]["name"] == "cluster-admin"
           for b in items["ClusterRoleBinding"] for s in b.get("subjects", [])
           if s["kind"] == "ServiceAccount")
waiting = [s["state"]["waiting"]["reason"] for p in pods
           for s in p["status"].get("containerStatuses", []) if "waiting" in s["state"]]
print(" ".join(str(counts[k + "List"]) for k in (
    "Node", "Pod", "Event", "ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "CronJob",
    "PodDisruptionBudget", "NetworkPolicy", "ResourceQuota", "LimitRange", "Namespace",
    "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")), "CrashLoopBackOff" in waiting)
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
        let s = &summary;
        let expected = [
            40,
            2_000,
            s.events,
            s.replicasets,
            s.deployments,
            s.statefulsets,
            s.daemonsets,
            s.cronjobs,
            s.pdbs,
            s.network_policies,
            s.resource_quotas,
            s.limit_ranges,
            s.namespace_objects,
            s.cluster_roles,
            s.cluster_role_bindings,
            s.roles,
            s.role_bindings,
        ]
        .map(|n| n.to_string());
        assert_eq!(stdout, format!("{} True", expected.join(" ")));
        // kube-system, monitoring, default and the application namespaces, all with
        // templates, PDBs, policies, quotas and RBAC; about 300 ClusterRoles.
        assert_eq!(s.daemonsets, 3);
        assert!(s.deployments > 100 && s.statefulsets > 5, "{s:?}");
        assert!(s.pdbs > s.deployments / 2, "{s:?}");
        assert!(s.network_policies > 10 && s.resource_quotas > 5, "{s:?}");
        assert!((280..=320).contains(&s.cluster_roles), "{s:?}");
        assert!((180..=220).contains(&s.cluster_role_bindings), "{s:?}");
        assert_eq!(s.namespace_objects, s.namespaces + 2);

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
