//! k8s-doctor: Kubernetes cluster health check and problem diagnostics.
//!
//! This slice works on snapshots (dumps of Kubernetes objects): `healthcheck` looks at
//! nodes, control-plane components and version skew; `diagnostics` at failing and pending
//! pods, OOM kills, restarts, warning events, missing requests/limits and node load.
//!
//! - [`snapshot`] loads files and directories into a [`model::Cluster`].
//! - [`checks`] holds the registry of checks with stable codes (`KD101`...).
//! - [`report`] runs one command's checks and returns the shared [`sre_core::Report`].
//!
//! ```
//! use k8s_doctor::{checks::{Command, Thresholds}, report_from_cluster, snapshot};
//! let yaml = "kind: Node\nmetadata: {name: n1}\nstatus:\n  conditions: [{type: Ready, status: 'False', reason: KubeletDown}]\n";
//! let cluster = snapshot::parse_bytes(std::path::Path::new("n.yaml"), yaml.as_bytes()).unwrap();
//! let report = report_from_cluster(&cluster, Command::Healthcheck, &[], Thresholds::default(), std::time::UNIX_EPOCH);
//! assert!(report.findings.iter().any(|f| f.code == "KD101"));
//! ```

mod capture;
pub mod checks;
pub mod examples;
pub mod live;
pub mod model;
pub mod quantity;
pub mod score;
pub mod serve;
pub mod snapshot;
pub mod suppress;
pub mod version;

use anyhow::Context;
use checks::{Command, Ctx, Thresholds};
use model::Cluster;
use serde_json::{json, Value};
use sre_cli::args::{GlobalArgs, ReportArgs};
use sre_cli::config::{Config, K8sDoctorFlags};
use sre_cli::output::Out;
use sre_cli::ExitStatus;
use sre_core::Report;
use std::path::PathBuf;
use std::time::SystemTime;
use suppress::Suppressions;

/// `sre k8s-doctor`: Kubernetes health check and diagnostics.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Cluster health: node conditions and roles, control-plane components, version skew
    Healthcheck(CheckArgs),
    /// Problem diagnostics: crash loops, image pulls, pending pods, container errors, OOM
    /// kills, restarts, warning events, missing requests/limits, node load
    Diagnostics(CheckArgs),
    /// Best-practice and security audit of pod templates: probes, security context, images,
    /// requests and limits (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, bare pods)
    Audit(AuditArgs),
    /// Healthcheck, diagnostics and audit together, in one report
    Check(CheckArgs),
    /// Read a live cluster into a snapshot directory that `--snapshot` reads (to check
    /// later or send to someone); Secrets are never read
    Snapshot(SnapshotArgs),
    /// Exporter: re-run the checks every --interval and serve /metrics, /healthz, /readyz
    /// and the latest report (/report.json, /report.html)
    Serve(serve::ServeArgs),
    /// List the checks with their codes, or print their documentation
    Checks(ChecksArgs),
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Snapshot file or directory, repeatable: `kubectl get ... -A -o yaml|json` output,
    /// multi-document YAML, `kubectl cluster-info dump` files, `kubectl version -o json`,
    /// metrics.k8s.io NodeMetricsList/PodMetricsList. Directories are read recursively;
    /// `-` reads standard input. Without it, the cluster of the current kube context is
    /// read live.
    #[arg(long, short = 's', value_name = "PATH")]
    pub snapshot: Vec<PathBuf>,
    #[command(flatten)]
    pub live: LiveArgs,
    /// Run only these checks (code or name, repeatable or comma-separated)
    #[arg(long = "check", value_name = "CODE", value_delimiter = ',')]
    pub checks: Vec<String>,
    /// Restarts above which a container is a warning [config: k8s-doctor.restart-warning]
    /// [default: 5]
    #[arg(long, value_name = "N")]
    pub restart_warning: Option<u32>,
    /// Restarts above which a container is critical [config: k8s-doctor.restart-critical]
    /// [default: 10]
    #[arg(long, value_name = "N")]
    pub restart_critical: Option<u32>,
    /// Node CPU or memory usage, in percent of allocatable, that counts as high load
    /// [config: k8s-doctor.node-load-percent] [default: 90]
    #[arg(long, value_name = "PERCENT")]
    pub node_load_percent: Option<u32>,
    /// Suppress findings: CODE, CODE:namespace/name or CODE:name, `*` and `?` allowed in
    /// names; repeatable. Suppressed findings are listed in the report, not dropped.
    #[arg(long, value_name = "CODE[:NAMESPACE/NAME]")]
    pub exclude: Vec<String>,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Snapshot file or directory, repeatable (as for healthcheck); `-` reads standard
    /// input. Audited: Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, ReplicaSets
    /// without an owner, and pods without a controller. Without it, the cluster of the
    /// current kube context is read live.
    #[arg(long, short = 's', value_name = "PATH")]
    pub snapshot: Vec<PathBuf>,
    #[command(flatten)]
    pub live: LiveArgs,
    /// Run only these checks (code or name, repeatable or comma-separated)
    #[arg(long = "check", value_name = "CODE", value_delimiter = ',')]
    pub checks: Vec<String>,
    /// Suppress findings: CODE, CODE:namespace/name or CODE:name, `*` and `?` allowed in
    /// names; repeatable. Suppressed findings are listed in the report, not dropped.
    #[arg(long, value_name = "CODE[:NAMESPACE/NAME]")]
    pub exclude: Vec<String>,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Where and how to read a live cluster.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LiveArgs {
    /// Kubeconfig file [default: $KUBECONFIG (its files merged), else ~/.kube/config; in a
    /// pod, its service account]
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to read [default: the current context]; repeat to check several
    /// clusters at once
    #[arg(long, value_name = "NAME")]
    pub context: Vec<String>,
    /// Check every context of the kubeconfig, at once
    #[arg(long, conflicts_with = "context")]
    pub all_contexts: bool,
    /// Only this namespace's objects; cluster-scoped objects and cluster health are still
    /// checked
    #[arg(long, short = 'n', value_name = "NAMESPACE", value_parser = namespace_arg)]
    pub namespace: Option<String>,
    /// Every namespace (the default; accepted as kubectl accepts it)
    #[arg(long, short = 'A', conflicts_with = "namespace")]
    pub all_namespaces: bool,
    /// Timeout of each API request, connecting included [default: 30s]
    #[arg(long, value_name = "DURATION", value_parser = sre_cli::units::duration_arg)]
    pub timeout: Option<std::time::Duration>,
    /// Give up on a cluster whose read takes longer than this (exit 2) [default: 5m]
    #[arg(long, value_name = "DURATION", value_parser = sre_cli::units::duration_arg)]
    pub deadline: Option<std::time::Duration>,
    /// API requests in flight at once, per cluster [default: 8]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: Option<u16>,
}

/// A namespace name: a DNS-1123 label (lowercase letters, digits, `-`; at most 63).
fn namespace_arg(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{s}` is not a namespace name: use lowercase letters, digits and `-` (at most 63), as `kubectl get namespaces` shows them"
        ))
    }
}

impl LiveArgs {
    fn options(&self) -> live::LiveOptions {
        let d = live::LiveOptions::default();
        live::LiveOptions {
            kubeconfig: self.kubeconfig.clone(),
            namespace: self.namespace.clone(),
            timeout: self.timeout.unwrap_or(d.timeout),
            deadline: self.deadline.unwrap_or(d.deadline),
            concurrency: self.concurrency.map_or(d.concurrency, usize::from),
            ..d
        }
    }

    fn contexts(&self) -> live::Contexts {
        if self.all_contexts {
            live::Contexts::All
        } else if self.context.is_empty() {
            live::Contexts::Current
        } else {
            live::Contexts::Named(self.context.clone())
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct SnapshotArgs {
    /// Directory to write; created, and must be empty if it exists
    #[arg(long, value_name = "DIR")]
    pub output_dir: PathBuf,
    /// What to capture: the objects of this command's checks [default: check, everything]
    #[arg(long, value_name = "COMMAND", value_parser = ["healthcheck", "diagnostics", "audit", "check"], default_value = "check")]
    pub only: String,
    #[command(flatten)]
    pub live: LiveArgs,
}

#[derive(Debug, clap::Args)]
pub struct ChecksArgs {
    /// Print the full documentation of every check as Markdown
    #[arg(long)]
    pub markdown: bool,
}

/// Runs `sre k8s-doctor ...`.
pub fn run(
    args: &Args,
    global: &GlobalArgs,
    config: &Config,
    out: &mut Out<'_>,
) -> anyhow::Result<ExitStatus> {
    match &args.command {
        Sub::Healthcheck(a) => run_checks(Command::Healthcheck, a, global, config, out),
        Sub::Diagnostics(a) => run_checks(Command::Diagnostics, a, global, config, out),
        Sub::Check(a) => run_checks(Command::Check, a, global, config, out),
        Sub::Audit(a) => {
            let args = CheckArgs {
                snapshot: a.snapshot.clone(),
                live: a.live.clone(),
                checks: a.checks.clone(),
                restart_warning: None,
                restart_critical: None,
                node_load_percent: None,
                exclude: a.exclude.clone(),
                report: a.report.clone(),
            };
            run_checks(Command::Audit, &args, global, config, out)
        }
        Sub::Snapshot(a) => capture::run(a, out),
        Sub::Serve(a) => {
            let k = config.k8s_doctor(K8sDoctorFlags::default())?;
            let rules = config
                .file
                .k8s_doctor
                .as_ref()
                .map(|k| k.suppressions.as_slice())
                .unwrap_or(&[]);
            let suppressions = Suppressions::new(rules, config.path.as_deref(), &a.exclude)?;
            serve::run(a, Thresholds::from(&k), &suppressions)
        }
        Sub::Checks(a) => {
            let text = if a.markdown {
                checks::docs_markdown()
            } else {
                checks_table()
            };
            out.write(text.as_bytes())?;
            Ok(ExitStatus::Clean)
        }
    }
}

fn checks_table() -> String {
    let mut out = String::from(
        "CODE   SEVERITY  COMMANDS                  NAME                        TITLE\n",
    );
    for c in checks::ALL {
        let cmds: Vec<&str> = c.commands.iter().map(|c| c.as_str()).collect();
        out.push_str(&format!(
            "{:<6} {:<9} {:<25} {:<27} {}\n",
            c.meta.code,
            c.meta.severity.as_str(),
            cmds.join(","),
            c.meta.name,
            c.meta.title
        ));
    }
    out
}

fn run_checks(
    command: Command,
    a: &CheckArgs,
    global: &GlobalArgs,
    config: &Config,
    out: &mut Out<'_>,
) -> anyhow::Result<ExitStatus> {
    let common = config.common(global, &a.report)?;
    let k = config.k8s_doctor(K8sDoctorFlags {
        restart_warning: a.restart_warning,
        restart_critical: a.restart_critical,
        node_load_percent: a.node_load_percent,
    })?;
    let thresholds = Thresholds::from(&k);
    validate(command, &a.checks, thresholds)?;
    let rules = config
        .file
        .k8s_doctor
        .as_ref()
        .map(|k| k.suppressions.as_slice())
        .unwrap_or(&[]);
    let suppressions = Suppressions::new(rules, config.path.as_deref(), &a.exclude)?;
    let settings = Settings {
        command,
        only: &a.checks,
        thresholds,
        suppressions: &suppressions,
        namespace: a.live.namespace.as_deref(),
        now: sre_cli::clock::now(),
    };
    if a.snapshot.is_empty() {
        let report = live_report(&a.live, &settings)?;
        return sre_cli::output::emit(&report, &common, out);
    }
    if let Some(flag) = live_only_flag(&a.live) {
        anyhow::bail!(
            "{flag} is for reading a live cluster and cannot be combined with --snapshot; drop one of them"
        );
    }
    let mut snap = snapshot::load(&a.snapshot).context("cannot load the snapshot")?;
    settings.scope(&mut snap.cluster);
    let mut report = settings.report(&snap.cluster);
    add_paths(&mut report, &a.snapshot, snap.files);
    // The process ends right after the report is written; freeing a model of 150,000 pods
    // object by object would take longer than some checks (about 0.4 s), so let the OS
    // reclaim it.
    std::mem::forget(snap);
    sre_cli::output::emit(&report, &common, out)
}

/// The first flag given that only makes sense for a live read.
fn live_only_flag(l: &LiveArgs) -> Option<&'static str> {
    [
        (l.kubeconfig.is_some(), "--kubeconfig"),
        (!l.context.is_empty(), "--context"),
        (l.all_contexts, "--all-contexts"),
        (l.timeout.is_some(), "--timeout"),
        (l.deadline.is_some(), "--deadline"),
        (l.concurrency.is_some(), "--concurrency"),
    ]
    .into_iter()
    .find_map(|(given, flag)| given.then_some(flag))
}

/// Everything a report needs besides the cluster.
pub struct Settings<'a> {
    pub command: Command,
    pub only: &'a [String],
    pub thresholds: Thresholds,
    pub suppressions: &'a Suppressions,
    /// `--namespace`: findings about other namespaces are dropped.
    pub namespace: Option<&'a str>,
    pub now: SystemTime,
}

impl Settings<'_> {
    /// Applies `--namespace` to the objects (see [`Cluster::retain_namespace`]).
    pub fn scope(&self, cluster: &mut Cluster) {
        if let Some(ns) = self.namespace {
            let kube_system = matches!(self.command, Command::Healthcheck | Command::Check);
            cluster.retain_namespace(ns, kube_system);
        }
    }

    /// Runs the checks over `cluster`.
    pub fn report(&self, cluster: &Cluster) -> Report {
        let mut report = report_from_cluster_with(
            cluster,
            self.command,
            self.only,
            self.thresholds,
            self.suppressions,
            self.now,
        );
        if let Some(ns) = self.namespace {
            keep_namespace(&mut report, ns);
        }
        // A snapshot written by `snapshot --only X` or `-n NS` covers less than a full read:
        // say so, instead of reporting what it lacks as healthy.
        if let Some(scope) = cluster
            .capture
            .as_ref()
            .and_then(|c| c.captured_for.as_ref())
        {
            let cmd = self.command.as_str();
            if scope.command != "check" && scope.command != cmd {
                report.error(
                    "snapshot scope",
                    format!(
                        "the snapshot was captured with `--only {}`; {cmd} reads more than that: capture again with `--only {cmd}` or without `--only`",
                        scope.command
                    ),
                );
            }
            if let Some(ns) = scope
                .namespace
                .as_deref()
                .filter(|ns| self.namespace != Some(*ns))
            {
                report.error(
                    "snapshot scope",
                    format!("the snapshot holds only namespace {ns} (captured with `-n {ns}`); other namespaces were not captured: pass `-n {ns}`, or capture again without it"),
                );
            }
            report.finish();
        }
        report
    }
}

/// `--namespace`: drops findings about objects of other namespaces. Findings about
/// cluster-scoped objects (nodes, cluster roles) and the healthcheck's findings about the
/// control plane stay: they are the health of the cluster the namespace runs on.
fn keep_namespace(report: &mut Report, ns: &str) {
    let health: Vec<&str> = checks::ALL
        .iter()
        .filter(|c| c.commands == [Command::Healthcheck])
        .map(|c| c.meta.code)
        .collect();
    // Namespace objects are cluster-scoped; those of other namespaces are not ours either.
    let about_ns = |r: &sre_core::Resource| {
        let other_namespace_object =
            r.kind.as_deref() == Some("Namespace") && r.name.as_deref().is_some_and(|n| n != ns);
        r.namespace.as_deref().is_none_or(|n| n == ns) && !other_namespace_object
    };
    report
        .findings
        .retain(|f| about_ns(&f.resource) || health.contains(&f.code.as_str()));
    report
        .suppressed
        .retain(|s| about_ns(&s.finding.resource) || health.contains(&s.finding.code.as_str()));
    report.finish();
    report.target.insert("namespace".into(), Value::from(ns));
}

/// Reads the cluster(s) of `live` and runs the checks.
fn live_report(live: &LiveArgs, settings: &Settings<'_>) -> anyhow::Result<Report> {
    let runtime = runtime()?;
    let reads = runtime.block_on(read_clusters(live, settings.command, false))?;
    reports_from(reads, settings)
}

/// One cluster's read, or why it failed, with its context and position.
pub(crate) type ClusterRead = (usize, String, Result<live::Read, live::LiveError>);

/// Reads every cluster `live` names, concurrently.
pub(crate) async fn read_clusters(
    live: &LiveArgs,
    command: Command,
    keep_pages: bool,
) -> anyhow::Result<Vec<ClusterRead>> {
    let mut opts = live.options();
    opts.keep_pages = keep_pages;
    let targets = live::targets(&opts, &live.contexts()).await?;
    opts.progress = targets.len() == 1;
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (name, t)) in targets.into_iter().enumerate() {
        let opts = opts.clone();
        tasks.spawn(async move {
            let read = match t {
                Ok(t) => live::read(t, command, &opts).await,
                Err(e) => Err(e),
            };
            (i, name, read)
        });
    }
    let mut reads = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        reads.push(joined.map_err(|e| anyhow::anyhow!("a cluster read failed: {e}"))?);
    }
    reads.sort_by_key(|(i, ..)| *i);
    Ok(reads)
}

/// One cluster gives its own report (its read failing is an error); several give one
/// report whose findings name their cluster, with a summary per cluster.
pub(crate) fn reports_from(
    reads: Vec<ClusterRead>,
    settings: &Settings<'_>,
) -> anyhow::Result<Report> {
    if reads.iter().all(|(_, _, r)| r.is_err()) && reads.len() > 1 {
        let why: Vec<String> = reads
            .iter()
            .filter_map(|(_, c, r)| r.as_ref().err().map(|e| format!("{c}: {e}")))
            .collect();
        anyhow::bail!("no cluster could be read:\n  {}", why.join("\n  "));
    }
    if reads.len() == 1 {
        let Some((_, _, read)) = reads.into_iter().next() else {
            anyhow::bail!("no cluster was read");
        };
        let mut read = read?;
        settings.scope(&mut read.cluster);
        let mut report = settings.report(&read.cluster);
        add_live_target(&mut report, &read);
        return Ok(report);
    }
    Ok(combine(reads, settings))
}

/// One report over several clusters. A cluster that could not be read is an error of the
/// report (marking it partial), not the end of the run.
fn combine(reads: Vec<ClusterRead>, settings: &Settings<'_>) -> Report {
    let mut combined = Report::new("k8s-doctor", settings.command.as_str(), settings.now);
    let mut clusters = Vec::new();
    let (mut requests, mut retries) = (0u64, 0u64);
    for (_, context, read) in reads {
        match read {
            Ok(mut read) => {
                requests += read.requests;
                retries += read.retries;
                settings.scope(&mut read.cluster);
                let mut r = settings.report(&read.cluster);
                add_live_target(&mut r, &read);
                clusters.push(json!({
                    "context": context,
                    "server": read.target.server,
                    "serverVersion": r.target.get("serverVersion").cloned().unwrap_or(Value::Null),
                    "partial": r.partial,
                    "summary": r.summary,
                    "score": r.target.get("score").cloned().unwrap_or(Value::Null),
                }));
                if combined.checks.is_empty() {
                    combined.checks = r.checks.clone();
                }
                for e in r.errors {
                    combined.error(format!("{context}: {}", e.source), e.message);
                }
                for mut f in r.findings {
                    f.resource.cluster = Some(context.clone());
                    combined.push(f);
                }
                for mut s in r.suppressed {
                    s.finding.resource.cluster = Some(context.clone());
                    combined.suppressed.push(s);
                }
            }
            Err(e) => {
                clusters.push(json!({"context": context, "error": format!("{e}")}));
                combined.error(format!("cluster {context}"), format!("{e}"));
            }
        }
    }
    combined.target.insert("source".into(), Value::from("live"));
    combined
        .target
        .insert("apiRequests".into(), Value::from(requests));
    combined
        .target
        .insert("apiRetries".into(), Value::from(retries));
    combined
        .target
        .insert("clusters".into(), Value::from(clusters));
    combined.finish();
    combined
}

fn add_live_target(report: &mut Report, read: &live::Read) {
    let t = &mut report.target;
    t.insert("source".into(), Value::from("live"));
    t.insert("context".into(), Value::from(read.target.context.clone()));
    t.insert("server".into(), Value::from(read.target.server.clone()));
    t.insert("apiRequests".into(), Value::from(read.requests));
    t.insert("apiRetries".into(), Value::from(read.retries));
    t.insert(
        "readSeconds".into(),
        Value::from((read.elapsed.as_secs_f64() * 1000.0).round() / 1000.0),
    );
}

/// The async runtime for live reads: two workers are plenty for I/O; parsing runs on the
/// blocking pool, bounded by the number of cores.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn validate(command: Command, only: &[String], t: Thresholds) -> anyhow::Result<()> {
    for key in only {
        match checks::find(key) {
            None => {
                let codes: Vec<String> = checks::ALL
                    .iter()
                    .filter(|c| command == Command::Check || c.commands.contains(&command))
                    .map(|c| format!("{} ({})", c.meta.code, c.meta.name))
                    .collect();
                anyhow::bail!(
                    "unknown check `{key}` for {}; valid checks: {}",
                    command.as_str(),
                    codes.join(", ")
                );
            }
            Some(c) if command != Command::Check && !c.commands.contains(&command) => {
                anyhow::bail!(
                    "check {} ({}) is not part of {}; it runs with: {}",
                    c.meta.code,
                    c.meta.name,
                    command.as_str(),
                    c.commands
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            Some(_) => {}
        }
    }
    if t.restart_critical < t.restart_warning {
        anyhow::bail!(
            "restart thresholds are inverted: critical ({}) is below warning ({}); set --restart-critical above --restart-warning",
            t.restart_critical,
            t.restart_warning
        );
    }
    if t.node_load_percent == 0 || t.node_load_percent > 1000 {
        anyhow::bail!(
            "invalid node load threshold {}%: use a percentage such as 90",
            t.node_load_percent
        );
    }
    Ok(())
}

/// Loads the snapshot at `paths` and runs `command`'s checks.
pub fn report(
    command: Command,
    paths: &[PathBuf],
    only: &[String],
    thresholds: Thresholds,
    now: SystemTime,
) -> anyhow::Result<Report> {
    report_with(
        command,
        paths,
        only,
        thresholds,
        &Suppressions::default(),
        now,
    )
}

/// [`report`] with suppression rules from the config file and `--exclude`.
pub fn report_with(
    command: Command,
    paths: &[PathBuf],
    only: &[String],
    thresholds: Thresholds,
    suppressions: &Suppressions,
    now: SystemTime,
) -> anyhow::Result<Report> {
    let snap = snapshot::load(paths).context("cannot load the snapshot")?;
    let mut report =
        report_from_cluster_with(&snap.cluster, command, only, thresholds, suppressions, now);
    add_paths(&mut report, paths, snap.files);
    Ok(report)
}

fn add_paths(report: &mut Report, paths: &[PathBuf], files: usize) {
    let shown: Vec<Value> = paths
        .iter()
        .map(|p| Value::from(p.display().to_string()))
        .collect();
    report.target.insert("paths".into(), Value::from(shown));
    report.target.insert("files".into(), Value::from(files));
}

/// Runs `command`'s checks over an already loaded cluster (annotations still suppress).
pub fn report_from_cluster(
    cluster: &Cluster,
    command: Command,
    only: &[String],
    thresholds: Thresholds,
    now: SystemTime,
) -> Report {
    report_from_cluster_with(
        cluster,
        command,
        only,
        thresholds,
        &Suppressions::default(),
        now,
    )
}

/// [`report_from_cluster`] with suppression rules.
pub fn report_from_cluster_with(
    cluster: &Cluster,
    command: Command,
    only: &[String],
    thresholds: Thresholds,
    suppressions: &Suppressions,
    now: SystemTime,
) -> Report {
    let ctx = Ctx {
        cluster,
        thresholds,
    };
    let (ran, findings) = checks::run(&ctx, command, only);
    let mut report = Report::new("k8s-doctor", command.as_str(), now);
    let metas: Vec<sre_core::CheckMeta> = ran.iter().map(|c| c.meta).collect();
    report.add_checks(&metas);
    for f in findings {
        report.push(f);
    }
    report.target = target(cluster, command);
    let parts: &[Command] = match command {
        Command::Check => &[Command::Healthcheck, Command::Diagnostics, Command::Audit],
        Command::Healthcheck => &[Command::Healthcheck],
        Command::Diagnostics => &[Command::Diagnostics],
        Command::Audit => &[Command::Audit],
    };
    match &cluster.capture {
        // A live read (or a snapshot of one) knows what it could not read; an empty list
        // there is an empty cluster, not a missing input.
        Some(capture) => {
            for e in &capture.errors {
                report.error(e.source.clone(), e.message.clone());
            }
        }
        None => {
            for part in parts {
                missing_inputs(cluster, *part, &mut report);
            }
        }
    }
    suppress::apply(&mut report, cluster, suppressions, now);
    if matches!(command, Command::Audit | Command::Check) {
        let audited: Vec<(String, String)> = cluster
            .workloads
            .iter()
            .map(|w| (w.namespace.clone(), format!("{}/{}", w.kind, w.name)))
            .collect();
        let (cluster_score, namespaces) = score::score(&report, &audited);
        report
            .target
            .insert("score".into(), Value::from(cluster_score as i64));
        report
            .target
            .insert("grade".into(), Value::from(score::grade(cluster_score)));
        report
            .target
            .insert("namespaceScores".into(), Value::from(namespaces));
    }
    report.finish();
    report
}

/// Records, as report errors, inputs a command needs that the snapshot lacks.
fn missing_inputs(cluster: &Cluster, command: Command, report: &mut Report) {
    match command {
        Command::Healthcheck => {
            if cluster.nodes.is_empty() {
                report.error(
                    "nodes",
                    "no Node objects in the snapshot: node checks were skipped (add `kubectl get nodes -o yaml`)",
                );
            }
            if !cluster
                .pods
                .iter()
                .any(|p| p.meta.namespace == "kube-system")
            {
                report.error(
                    "kube-system pods",
                    "no pods from kube-system in the snapshot: component checks were skipped (add `kubectl get pods -n kube-system -o yaml`)",
                );
            }
        }
        Command::Diagnostics => {
            if cluster.pods.is_empty() {
                report.error(
                    "pods",
                    "no Pod objects in the snapshot: pod checks were skipped (add `kubectl get pods -A -o yaml`)",
                );
            }
        }
        Command::Check => {}
        Command::Audit => {
            if cluster.workloads.is_empty() {
                report.error(
                    "workloads",
                    "no workloads with pod templates in the snapshot: the pod-template checks were skipped (add `kubectl get deployments,statefulsets,daemonsets,jobs,cronjobs -A -o yaml`)",
                );
            }
        }
    }
}

fn target(cluster: &Cluster, command: Command) -> serde_json::Map<String, Value> {
    let api = checks::versions_api(cluster);
    let mut t = json!({
        "source": "snapshot",
        "serverVersion": api,
        "nodes": cluster.nodes.len(),
        "pods": cluster.pods.len(),
        "events": cluster.events.len(),
        "metrics": !cluster.node_metrics.is_empty(),
        "workloads": cluster.workloads.len(),
        "podDisruptionBudgets": cluster.pdbs.len(),
        "networkPolicies": cluster.network_policies.len(),
        "rbacRoles": cluster.roles.len(),
        "rbacBindings": cluster.bindings.len(),
        "ignoredDocuments": cluster.ignored_documents,
        "duplicateObjects": cluster.duplicates,
    });
    if matches!(command, Command::Healthcheck | Command::Check) {
        let mut roles = std::collections::BTreeMap::<String, usize>::new();
        let inventory: Vec<Value> = cluster
            .nodes
            .iter()
            .map(|n| {
                let r = n.roles();
                for role in &r {
                    *roles.entry(role.clone()).or_default() += 1;
                }
                json!({
                    "name": n.meta.name,
                    "roles": r,
                    "ready": n.condition("Ready").map(|c| c.status.as_str()).unwrap_or("Unknown"),
                    "kubeletVersion": n.status.node_info.kubelet_version,
                    "kubeProxyVersion": n.status.node_info.kube_proxy_version,
                    "containerRuntime": n.status.node_info.container_runtime_version,
                    "osImage": n.status.node_info.os_image,
                })
            })
            .collect();
        t["nodeRoles"] = json!(roles);
        t["nodeInventory"] = Value::from(inventory);
    }
    match t {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}
