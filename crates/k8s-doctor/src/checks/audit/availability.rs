//! Availability: replicas and PodDisruptionBudgets.

use super::resource;
use crate::checks::{check, Ctx};
use crate::model::{Pdb, Workload};
use sre_core::{Finding, Resource};

/// Workloads that keep a replica count (Jobs, CronJobs, DaemonSets and bare pods do not).
fn replicated(w: &Workload) -> bool {
    matches!(
        w.kind.as_str(),
        "Deployment" | "StatefulSet" | "ReplicaSet" | "ReplicationController"
    )
}

fn covering_pdbs<'a>(ctx: &'a Ctx<'_>, w: &'a Workload) -> impl Iterator<Item = &'a Pdb> + 'a {
    ctx.cluster.pdbs.iter().filter(move |p| {
        // policy/v1: an empty selector selects every pod of the namespace; a missing one none.
        p.namespace == w.namespace
            && p.selector
                .as_ref()
                .is_some_and(|s| s.matches(&w.template_meta.labels))
    })
}

check! {
    /// ### What it does
    /// Reports Deployments and StatefulSets that run a single replica (or leave `replicas`
    /// unset, which means one).
    ///
    /// ### Why it matters
    /// Every node drain, rollout or crash is an outage of a single-replica service.
    ///
    /// ### Example
    /// `kind: Deployment` with `replicas: 1`.
    SINGLE_REPLICA {
        code: "KD340",
        name: "single-replica",
        title: "Workload runs a single replica",
        severity: Warning,
        commands: [Audit],
        run: single_replica,
    }
}

fn single_replica(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for w in ctx.cluster.workloads.iter().filter(|w| replicated(w)) {
        let n = w.replicas.unwrap_or(1);
        // Zero replicas is a deliberate scale-down, not a risk.
        if n == 1 {
            out.push(
                Finding::new(&SINGLE_REPLICA.meta, resource(w), "runs 1 replica: any drain, rollout or crash is an outage")
                    .evidence("replicas", n)
                    .remediation("Run at least 2 replicas (and a PodDisruptionBudget), or accept the downtime and suppress this finding with a reason."),
            );
        }
    }
}

check! {
    /// ### What it does
    /// Reports Deployments and StatefulSets with two or more replicas that no
    /// PodDisruptionBudget in their namespace selects.
    ///
    /// ### Why it matters
    /// Without a PDB a node drain or cluster upgrade may evict every replica at once.
    ///
    /// ### Example
    /// A 3-replica Deployment `api` and no PDB selecting `app: api`.
    MISSING_PDB {
        code: "KD341",
        name: "missing-pdb",
        title: "Multi-replica workload without PodDisruptionBudget",
        severity: Warning,
        commands: [Audit],
        run: missing_pdb,
    }
}

fn missing_pdb(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for w in ctx
        .cluster
        .workloads
        .iter()
        .filter(|w| replicated(w) && w.replicas.unwrap_or(1) >= 2)
    {
        if covering_pdbs(ctx, w).next().is_none() {
            let labels: Vec<String> = w
                .template_meta
                .labels
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            out.push(
                Finding::new(&MISSING_PDB.meta, resource(w), format!("{} replicas and no PodDisruptionBudget selects them", w.replicas.unwrap_or(1)))
                    .remediation(format!(
                        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: {0}, namespace: {1}}}\nspec:\n  maxUnavailable: 1\n  selector:\n    matchLabels: {{{2}}}",
                        w.name,
                        w.namespace,
                        labels.join(", ")
                    )),
            );
        }
    }
}

check! {
    /// ### What it does
    /// Reports PodDisruptionBudgets that allow no voluntary eviction: `maxUnavailable: 0`,
    /// `minAvailable: 100%`, or a status with all pods healthy and still zero
    /// `disruptionsAllowed` (e.g. `minAvailable` equal to the replica count).
    ///
    /// ### Why it matters
    /// Node drains hang forever on such a PDB, blocking upgrades and autoscaler scale-down.
    ///
    /// ### Example
    /// `minAvailable: 3` for a 3-replica Deployment.
    PDB_BLOCKS_EVICTIONS {
        code: "KD342",
        name: "pdb-blocks-evictions",
        title: "PodDisruptionBudget blocks all evictions",
        severity: Warning,
        commands: [Audit],
        run: pdb_blocks,
    }
}

fn pdb_blocks(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for p in &ctx.cluster.pdbs {
        let reason = if matches!(p.max_unavailable.as_deref(), Some("0" | "0%")) {
            "maxUnavailable is 0".to_string()
        } else if p.min_available.as_deref() == Some("100%") {
            "minAvailable is 100%".to_string()
        } else if p.disruptions_allowed == Some(0)
            && p.expected_pods.unwrap_or(0) > 0
            // Only when every expected pod is healthy: with one pod down, zero allowed
            // disruptions is the budget doing its job, not a misconfiguration.
            && p.current_healthy.unwrap_or(0) >= p.expected_pods.unwrap_or(i64::MAX)
        {
            format!(
                "all {} pods are healthy and still 0 disruptions are allowed (minAvailable {})",
                p.current_healthy.unwrap_or(0),
                p.min_available.as_deref().unwrap_or("-")
            )
        } else {
            continue;
        };
        out.push(
            Finding::new(
                &PDB_BLOCKS_EVICTIONS.meta,
                Resource::object("PodDisruptionBudget", Some(&p.namespace), &p.name),
                format!("{reason}: node drains will hang"),
            )
            .remediation(
                "spec:\n  maxUnavailable: 1   # or a minAvailable below the replica count",
            ),
        );
    }
}
