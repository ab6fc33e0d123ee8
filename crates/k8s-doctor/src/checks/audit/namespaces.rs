//! Namespace-level isolation and limits: NetworkPolicies, ResourceQuotas, LimitRanges.

use crate::checks::{check, Ctx};
use crate::model::{Labels, NetworkPolicy};
use sre_core::{Finding, Resource};
use std::collections::{BTreeSet, HashMap};

/// Namespaces managed by Kubernetes itself.
const SYSTEM: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];

/// Application namespaces that run workloads or pods.
fn app_namespaces<'a>(ctx: &Ctx<'a>) -> BTreeSet<&'a str> {
    ctx.cluster
        .workloads
        .iter()
        .map(|w| w.namespace.as_str())
        .chain(ctx.cluster.pods.iter().map(|p| p.meta.namespace.as_str()))
        .filter(|n| !n.is_empty() && !SYSTEM.contains(n))
        .collect()
}

check! {
    /// ### What it does
    /// Reports application namespaces that run workloads without an Ingress NetworkPolicy
    /// that selects something (egress-only policies and policies matching no pod do not
    /// count). When
    /// the snapshot has no NetworkPolicy at all, it reports once, for the cluster (the
    /// policies may simply not have been captured: `kubectl get networkpolicies -A -o yaml`).
    ///
    /// ### Why it matters
    /// Without a policy every pod accepts traffic from every other pod in the cluster: one
    /// compromised pod reaches all databases.
    ///
    /// ### Example
    /// Namespace `shop` with Deployments and no `NetworkPolicy`.
    NO_NETWORK_POLICY {
        code: "KD350",
        name: "namespace-without-network-policy",
        title: "Namespace without NetworkPolicy",
        severity: Warning,
        commands: [Audit],
        run: no_network_policy,
    }
}

fn no_network_policy(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let namespaces = app_namespaces(ctx);
    let labels = labels_by_namespace(ctx);
    // Covered: an Ingress policy that selects something (an egress-only policy, or one whose
    // selector matches nothing, protects no pod from incoming traffic).
    let covered: BTreeSet<&str> = ctx
        .cluster
        .network_policies
        .iter()
        .filter(|p| p.is_ingress() && (p.pod_selector.is_empty() || selects_something(&labels, p)))
        .map(|p| p.namespace.as_str())
        .collect();
    let missing: Vec<&str> = namespaces
        .iter()
        .copied()
        .filter(|n| !covered.contains(n))
        .collect();
    let fix = "Start with a default-deny policy and allow what each app needs:\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]";
    if ctx.cluster.network_policies.is_empty() {
        if !missing.is_empty() {
            out.push(
                Finding::new(&NO_NETWORK_POLICY.meta, Resource::cluster(), format!("no NetworkPolicy in the snapshot; {} namespaces run workloads unrestricted ({})", missing.len(), missing.join(", ")))
                    .evidence("namespaces", missing.clone())
                    .remediation(format!("{fix}\n(If policies exist but were not captured, add `kubectl get networkpolicies -A -o yaml` to the snapshot.)")),
            );
        }
        return;
    }
    for ns in missing {
        out.push(
            Finding::new(
                &NO_NETWORK_POLICY.meta,
                Resource::object("Namespace", None, ns),
                "runs workloads and has no NetworkPolicy",
            )
            .remediation(fix),
        );
    }
}

check! {
    /// ### What it does
    /// Reports NetworkPolicies whose `podSelector` is not empty and matches no pod (and no
    /// workload's pod template) in their namespace.
    ///
    /// ### Why it matters
    /// A policy that selects nothing protects nothing, usually after a label was renamed.
    ///
    /// ### Example
    /// `podSelector: {matchLabels: {app: web}}` in a namespace whose pods are `app: frontend`.
    POLICY_SELECTS_NOTHING {
        code: "KD351",
        name: "network-policy-selects-nothing",
        title: "NetworkPolicy selects no pod",
        severity: Warning,
        commands: [Audit],
        run: policy_selects_nothing,
    }
}

/// Labels of every pod and pod template, by namespace (built once: policies are many).
fn labels_by_namespace<'a>(ctx: &Ctx<'a>) -> HashMap<&'a str, Vec<&'a Labels>> {
    let mut m: HashMap<&str, Vec<&Labels>> = HashMap::new();
    for p in &ctx.cluster.pods {
        m.entry(p.meta.namespace.as_str())
            .or_default()
            .push(&p.meta.labels);
    }
    for w in &ctx.cluster.workloads {
        m.entry(w.namespace.as_str())
            .or_default()
            .push(&w.template_meta.labels);
    }
    m
}

fn selects_something(labels: &HashMap<&str, Vec<&Labels>>, p: &NetworkPolicy) -> bool {
    labels
        .get(p.namespace.as_str())
        .is_some_and(|all| all.iter().any(|l| p.pod_selector.matches(l)))
}

fn policy_selects_nothing(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let labels = labels_by_namespace(ctx);
    for p in ctx
        .cluster
        .network_policies
        .iter()
        .filter(|p| !p.pod_selector.is_empty())
    {
        if !selects_something(&labels, p) {
            out.push(
                Finding::new(&POLICY_SELECTS_NOTHING.meta, Resource::object("NetworkPolicy", Some(&p.namespace), &p.name), "podSelector matches no pod or pod template in the namespace")
                    .remediation("Fix the podSelector labels (compare with `kubectl get pods --show-labels`) or delete the policy."),
            );
        }
    }
}

check! {
    /// ### What it does
    /// Reports application namespaces without a ResourceQuota or without a LimitRange.
    /// When the snapshot has none of either kind at all, it reports once, for the cluster.
    ///
    /// ### Why it matters
    /// Without a quota one team's runaway Deployment can take the whole cluster; without a
    /// LimitRange, containers that forget requests get none.
    ///
    /// ### Example
    /// Namespace `shop` with workloads, no `ResourceQuota` and no `LimitRange`.
    NO_QUOTA {
        code: "KD360",
        name: "namespace-without-quota",
        title: "Namespace without ResourceQuota or LimitRange",
        severity: Info,
        commands: [Audit],
        run: no_quota,
    }
}

fn no_quota(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let namespaces = app_namespaces(ctx);
    let c = ctx.cluster;
    if c.quotas == 0 && c.limit_ranges == 0 {
        if !namespaces.is_empty() {
            let list: Vec<&str> = namespaces.iter().copied().collect();
            out.push(
                Finding::new(&NO_QUOTA.meta, Resource::cluster(), format!("no ResourceQuota or LimitRange in the snapshot ({} application namespaces)", list.len()))
                    .evidence("namespaces", list)
                    .remediation("Give each team namespace a ResourceQuota and a LimitRange with default requests. (If they exist but were not captured, add `kubectl get resourcequotas,limitranges -A -o yaml`.)"),
            );
        }
        return;
    }
    for ns in namespaces {
        let mut missing = Vec::new();
        if !c.quota_namespaces.contains(ns) {
            missing.push("ResourceQuota");
        }
        if !c.limit_range_namespaces.contains(ns) {
            missing.push("LimitRange");
        }
        if !missing.is_empty() {
            out.push(
                Finding::new(&NO_QUOTA.meta, Resource::object("Namespace", None, ns), format!("no {}", missing.join(" and ")))
                    .evidence("missing", missing.clone())
                    .remediation("Add a ResourceQuota (caps the namespace) and a LimitRange (default requests and limits)."),
            );
        }
    }
}
