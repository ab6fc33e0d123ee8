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

pub mod checks;
pub mod examples;
pub mod model;
pub mod quantity;
pub mod score;
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
    /// List the checks with their codes, or print their documentation
    Checks(ChecksArgs),
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Snapshot file or directory, repeatable: `kubectl get ... -A -o yaml|json` output,
    /// multi-document YAML, `kubectl cluster-info dump` files, `kubectl version -o json`,
    /// metrics.k8s.io NodeMetricsList/PodMetricsList. Directories are read recursively;
    /// `-` reads standard input.
    #[arg(long, short = 's', required = true, value_name = "PATH")]
    pub snapshot: Vec<PathBuf>,
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
    /// without an owner, and pods without a controller.
    #[arg(long, short = 's', required = true, value_name = "PATH")]
    pub snapshot: Vec<PathBuf>,
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
                checks: a.checks.clone(),
                restart_warning: None,
                restart_critical: None,
                node_load_percent: None,
                exclude: a.exclude.clone(),
                report: a.report.clone(),
            };
            run_checks(Command::Audit, &args, global, config, out)
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
    let snap = snapshot::load(&a.snapshot).context("cannot load the snapshot")?;
    let mut report = report_from_cluster_with(
        &snap.cluster,
        command,
        &a.checks,
        thresholds,
        &suppressions,
        sre_cli::clock::now(),
    );
    add_paths(&mut report, &a.snapshot, snap.files);
    // The process ends right after the report is written; freeing a model of 150,000 pods
    // object by object would take longer than some checks (about 0.4 s), so let the OS
    // reclaim it.
    std::mem::forget(snap);
    sre_cli::output::emit(&report, &common, out)
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
    for part in parts {
        missing_inputs(cluster, *part, &mut report);
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
