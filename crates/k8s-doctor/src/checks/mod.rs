//! The check registry. Every check is declared with [`check!`]: its doc comment (what it
//! does, why it matters, an example) is both the Rust documentation and the text of the
//! generated docs page (`sre k8s-doctor checks --markdown`, `docs/checks/k8s-doctor.md`).
//! Codes are stable: never reuse or change the meaning of a released code; a renamed check
//! keeps its old code in `aliases`.

use crate::model::{Cluster, Pod};
use serde_json::Value;
use sre_core::{CheckMeta, Finding, Resource};
use std::collections::BTreeMap;

mod apiserver;
pub mod audit;
mod components;
mod events;
mod nodes;
mod pods;
mod resources;
mod versions;

/// Which command runs a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Healthcheck,
    Diagnostics,
    Audit,
    /// All of the above in one report.
    Check,
}

impl Command {
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Healthcheck => "healthcheck",
            Command::Diagnostics => "diagnostics",
            Command::Audit => "audit",
            Command::Check => "check",
        }
    }
}

/// A registered check.
pub struct Check {
    pub meta: CheckMeta,
    /// The doc comment, as Markdown.
    pub doc: &'static str,
    pub commands: &'static [Command],
    pub run: fn(&Ctx<'_>, &mut Vec<Finding>),
}

/// Declares a check constant from a doc comment and its metadata.
macro_rules! check {
    (
        $(#[doc = $doc:literal])*
        $ident:ident {
            code: $code:literal,
            name: $name:literal,
            title: $title:literal,
            severity: $sev:ident,
            commands: [$($cmd:ident),*],
            run: $run:path $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        pub const $ident: $crate::checks::Check = $crate::checks::Check {
            meta: sre_core::CheckMeta {
                code: $code,
                name: $name,
                title: $title,
                severity: sre_core::Severity::$sev,
                aliases: &[],
            },
            doc: concat!($($doc, "\n"),*),
            commands: &[$($crate::checks::Command::$cmd),*],
            run: $run,
        };
    };
}
pub(crate) use check;

/// Every check, in code order.
pub const ALL: &[Check] = &[
    nodes::NODE_NOT_READY,
    nodes::NODE_PRESSURE,
    nodes::NODE_NETWORK_UNAVAILABLE,
    nodes::NODE_UNSCHEDULABLE,
    apiserver::API_SERVER_UNHEALTHY,
    apiserver::METRICS_API_UNAVAILABLE,
    components::CONTROL_PLANE_NOT_VISIBLE,
    components::COMPONENT_MISSING,
    components::COMPONENT_UNHEALTHY,
    versions::SERVER_VERSION_UNKNOWN,
    versions::KUBELET_VERSION_SKEW,
    versions::KUBE_PROXY_VERSION_SKEW,
    versions::CONTROL_PLANE_VERSION_SKEW,
    pods::POD_CRASHLOOP,
    pods::IMAGE_PULL_FAILURE,
    pods::POD_UNSCHEDULABLE,
    pods::CONTAINER_START_FAILURE,
    pods::OOM_KILLED,
    pods::HIGH_RESTART_COUNT,
    events::WARNING_EVENTS,
    resources::MISSING_REQUESTS,
    resources::MISSING_LIMITS,
    nodes::NODE_HIGH_LOAD,
    audit::probes::MISSING_READINESS_PROBE,
    audit::probes::MISSING_LIVENESS_PROBE,
    audit::probes::IDENTICAL_PROBES,
    audit::probes::PROBE_PORT_MISSING,
    audit::security::RUN_AS_ROOT,
    audit::security::WRITABLE_ROOT_FS,
    audit::security::PRIVILEGE_ESCALATION,
    audit::security::PRIVILEGED,
    audit::security::CAPABILITIES,
    audit::security::HOST_NAMESPACES,
    audit::security::SENSITIVE_HOST_PATH,
    audit::security::SECCOMP,
    audit::security::AUTOMOUNT_TOKEN,
    audit::images::IMAGE_LATEST_TAG,
    audit::images::IMAGE_PULL_POLICY,
    audit::resources::TEMPLATE_RESOURCES,
    audit::resources::REQUESTS_EXCEED_LIMITS,
    audit::availability::SINGLE_REPLICA,
    audit::availability::MISSING_PDB,
    audit::availability::PDB_BLOCKS_EVICTIONS,
    audit::namespaces::NO_NETWORK_POLICY,
    audit::namespaces::POLICY_SELECTS_NOTHING,
    audit::namespaces::NO_QUOTA,
    audit::rbac::CLUSTER_ADMIN,
    audit::rbac::WILDCARD_RULES,
    audit::rbac::SECRETS_CLUSTER_WIDE,
    audit::rbac::POD_EXEC,
    audit::rbac::ESCALATION_VERBS,
    crate::suppress::SUPPRESSION_EXPIRED,
];

/// Finds a check by code, name or alias.
pub fn find(key: &str) -> Option<&'static Check> {
    ALL.iter().find(|c| c.meta.matches(key))
}

/// Thresholds of the configurable checks.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub restart_warning: u32,
    pub restart_critical: u32,
    pub node_load_percent: u32,
}

impl From<&sre_cli::config::K8sDoctor> for Thresholds {
    /// The thresholds resolved from flags, environment and config file.
    fn from(k: &sre_cli::config::K8sDoctor) -> Self {
        Thresholds {
            restart_warning: k.restart_warning.value,
            restart_critical: k.restart_critical.value,
            node_load_percent: k.node_load_percent.value,
        }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            restart_warning: 5,
            restart_critical: 10,
            node_load_percent: 90,
        }
    }
}

/// What a check sees.
pub struct Ctx<'a> {
    pub cluster: &'a Cluster,
    pub thresholds: Thresholds,
}

impl Ctx<'_> {
    /// The resource a pod's finding is reported on: its top-level workload when it has one
    /// (a Deployment's pods are reported once, at the Deployment), else the pod.
    pub fn workload(&self, pod: &Pod) -> Resource {
        let ns = Some(pod.meta.namespace.as_str());
        match self.cluster.workload_of(pod) {
            Some((kind, name)) if kind != "Node" => Resource::object(&kind, ns, &name),
            _ => Resource::object("Pod", ns, &pod.meta.name),
        }
    }
}

/// Runs the checks of `command`, optionally restricted to `only` (codes or names).
pub fn run(
    ctx: &Ctx<'_>,
    command: Command,
    only: &[String],
) -> (Vec<&'static Check>, Vec<Finding>) {
    let selected: Vec<&'static Check> = ALL
        .iter()
        .filter(|c| command == Command::Check || c.commands.contains(&command))
        .filter(|c| only.is_empty() || only.iter().any(|k| c.meta.matches(k)))
        .collect();
    let mut findings = Vec::new();
    for c in &selected {
        (c.run)(ctx, &mut findings);
    }
    (selected, findings)
}

/// Pods of one workload that share a problem, merged into one finding.
#[derive(Default)]
pub(crate) struct Group {
    pub pods: Vec<String>,
    pub detail: String,
    pub max: u64,
    pub extra: BTreeMap<String, Value>,
}

/// Groups per-pod hits by `(workload, key)`.
#[derive(Default)]
pub(crate) struct Groups(pub BTreeMap<(Resource, String), Group>);

impl Groups {
    pub fn hit(&mut self, ctx: &Ctx<'_>, pod: &Pod, key: &str) -> &mut Group {
        let g = self
            .0
            .entry((ctx.workload(pod), key.to_string()))
            .or_default();
        g.pods.push(pod.meta.name.clone());
        g
    }
}

/// Up to ten pod names for evidence, sorted.
pub(crate) fn pod_sample(pods: &[String]) -> Value {
    let mut p = pods.to_vec();
    p.sort();
    p.dedup();
    p.truncate(10);
    Value::from(p)
}

/// "pod x" or "3 pods (a, b, c, ...)".
pub(crate) fn pods_phrase(pods: &[String]) -> String {
    let mut p = pods.to_vec();
    p.sort();
    p.dedup();
    match p.len() {
        1 => format!("pod {}", p[0]),
        n => {
            let shown: Vec<&str> = p.iter().take(3).map(String::as_str).collect();
            let more = if n > 3 { ", ..." } else { "" };
            format!("{n} pods ({}{more})", shown.join(", "))
        }
    }
}

/// Markdown documentation of every check.
pub fn docs_markdown() -> String {
    let mut out = String::from(
        "# k8s-doctor checks\n\n<!-- Generated by `sre k8s-doctor checks --markdown` from the checks' doc comments. Do not edit. -->\n\n\
Codes are stable: a released code never changes meaning. Select checks with `--check CODE` (code or name).\n\n\
| Code | Name | Severity | Commands | Title |\n|---|---|---|---|---|\n",
    );
    for c in ALL {
        let cmds: Vec<&str> = c.commands.iter().map(|c| c.as_str()).collect();
        out.push_str(&format!(
            "| [{}](#{}) | `{}` | {} | {} | {} |\n",
            c.meta.code,
            c.meta.code.to_ascii_lowercase(),
            c.meta.name,
            c.meta.severity,
            cmds.join(", "),
            c.meta.title
        ));
    }
    for c in ALL {
        out.push_str(&format!(
            "\n## {}\n\n`{}` · default severity **{}**\n\n",
            c.meta.code, c.meta.name, c.meta.severity
        ));
        out.push_str(&format!("**{}**\n\n", c.meta.title));
        for line in c.doc.lines() {
            out.push_str(line.strip_prefix(' ').unwrap_or(line));
            out.push('\n');
        }
    }
    out
}

/// The API server version skew checks use, as text (for the report's target).
pub fn versions_api(cluster: &Cluster) -> Option<String> {
    let ctx = Ctx {
        cluster,
        thresholds: Thresholds::default(),
    };
    versions::api_server_version(&ctx).map(|v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_and_documented() {
        let mut codes = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for c in ALL {
            assert!(codes.insert(c.meta.code), "duplicate code {}", c.meta.code);
            assert!(names.insert(c.meta.name), "duplicate name {}", c.meta.name);
            for part in ["## What", "## Why", "## Example"] {
                assert!(
                    c.doc.contains(part),
                    "{} lacks `{part}` in its doc comment",
                    c.meta.code
                );
            }
            assert!(!c.commands.is_empty());
        }
    }
}
