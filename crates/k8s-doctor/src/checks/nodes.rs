//! Node checks.

use super::{check, Ctx};
use crate::quantity;
use sre_core::{Finding, Resource, Severity};

check! {
    /// ### What it does
    /// Reports nodes whose `Ready` condition is `False` or `Unknown`.
    ///
    /// ### Why it matters
    /// A node that is not Ready runs no new pods; after the eviction timeout its pods are
    /// evicted. `Unknown` means the kubelet stopped posting status (node down, network
    /// partition, kubelet crashed).
    ///
    /// ### Example
    /// `status.conditions: [{type: Ready, status: "Unknown", reason: NodeStatusUnknown}]`
    NODE_NOT_READY {
        code: "KD101",
        name: "node-not-ready",
        title: "Node is not Ready",
        severity: Critical,
        commands: [Healthcheck, Diagnostics],
        run: node_not_ready,
    }
}

fn node_not_ready(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for n in &ctx.cluster.nodes {
        let res = Resource::object("Node", None, &n.meta.name);
        match n.condition("Ready") {
            Some(c) if c.status == "True" => {}
            Some(c) => out.push(
                Finding::new(
                    &NODE_NOT_READY.meta,
                    res,
                    format!(
                        "Ready is {} ({}){}",
                        c.status,
                        if c.reason.is_empty() { "no reason given" } else { &c.reason },
                        if c.message.is_empty() { String::new() } else { format!(": {}", c.message) }
                    ),
                )
                .evidence("status", c.status.clone())
                .evidence("reason", c.reason.clone())
                .remediation("Check the kubelet and container runtime on the node (`journalctl -u kubelet`), its network, and `kubectl describe node`."),
            ),
            None => out.push(
                Finding::new(&NODE_NOT_READY.meta, res, "the node reports no Ready condition")
                    .severity(Severity::Warning)
                    .remediation("The kubelet may never have registered fully; check it on the node."),
            ),
        }
    }
}

check! {
    /// ### What it does
    /// Reports nodes with `MemoryPressure`, `DiskPressure` or `PIDPressure` set to `True`.
    ///
    /// ### Why it matters
    /// Under pressure the kubelet evicts pods and the scheduler stops placing new ones there.
    ///
    /// ### Example
    /// `status.conditions: [{type: DiskPressure, status: "True", reason: KubeletHasDiskPressure}]`
    NODE_PRESSURE {
        code: "KD102",
        name: "node-pressure",
        title: "Node under resource pressure",
        severity: Warning,
        commands: [Healthcheck, Diagnostics],
        run: node_pressure,
    }
}

fn node_pressure(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for n in &ctx.cluster.nodes {
        for t in ["MemoryPressure", "DiskPressure", "PIDPressure"] {
            if let Some(c) = n.condition(t).filter(|c| c.status == "True") {
                let advice = match t {
                    "MemoryPressure" => "Find the biggest memory users (`kubectl top pods -A --sort-by=memory`), set memory limits, or add capacity.",
                    "DiskPressure" => "Free disk on the node: unused images (`crictl rmi --prune`), container logs, emptyDir volumes.",
                    _ => "Find the pod forking processes and set a pod PID limit (kubelet `podPidsLimit`).",
                };
                out.push(
                    Finding::new(
                        &NODE_PRESSURE.meta,
                        Resource::object("Node", None, &n.meta.name),
                        format!(
                            "{t} is True{}",
                            if c.message.is_empty() {
                                String::new()
                            } else {
                                format!(": {}", c.message)
                            }
                        ),
                    )
                    .evidence("condition", t)
                    .remediation(advice),
                );
            }
        }
    }
}

check! {
    /// ### What it does
    /// Reports nodes whose `NetworkUnavailable` condition is `True`.
    ///
    /// ### Why it matters
    /// The node's pod network is not configured (CNI not ready, routes missing): pods on it
    /// cannot reach other pods or services.
    ///
    /// ### Example
    /// `status.conditions: [{type: NetworkUnavailable, status: "True", reason: NoRouteCreated}]`
    NODE_NETWORK_UNAVAILABLE {
        code: "KD103",
        name: "node-network-unavailable",
        title: "Node network is unavailable",
        severity: Critical,
        commands: [Healthcheck],
        run: node_network_unavailable,
    }
}

fn node_network_unavailable(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for n in &ctx.cluster.nodes {
        if let Some(c) = n
            .condition("NetworkUnavailable")
            .filter(|c| c.status == "True")
        {
            out.push(
                Finding::new(
                    &NODE_NETWORK_UNAVAILABLE.meta,
                    Resource::object("Node", None, &n.meta.name),
                    format!("NetworkUnavailable is True ({})", c.reason),
                )
                .evidence("reason", c.reason.clone())
                .remediation("Check the CNI plugin's pod on this node (e.g. `kubectl -n kube-system get pods -o wide --field-selector spec.nodeName=NODE`)."),
            );
        }
    }
}

check! {
    /// ### What it does
    /// Reports cordoned nodes (`spec.unschedulable: true`).
    ///
    /// ### Why it matters
    /// A node left cordoned after maintenance silently shrinks the cluster's capacity.
    ///
    /// ### Example
    /// `kubectl cordon node-3` and never `kubectl uncordon node-3`.
    NODE_UNSCHEDULABLE {
        code: "KD104",
        name: "node-unschedulable",
        title: "Node is cordoned",
        severity: Info,
        commands: [Healthcheck],
        run: node_unschedulable,
    }
}

fn node_unschedulable(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for n in ctx.cluster.nodes.iter().filter(|n| n.spec.unschedulable) {
        out.push(
            Finding::new(
                &NODE_UNSCHEDULABLE.meta,
                Resource::object("Node", None, &n.meta.name),
                "the node is cordoned: no new pods are scheduled on it",
            )
            .remediation("If maintenance is over: `kubectl uncordon NODE`."),
        );
    }
}

check! {
    /// ### What it does
    /// Compares each node's CPU and memory usage (from `metrics.k8s.io` `NodeMetrics`) with
    /// its allocatable capacity and reports nodes at or above the threshold
    /// (`--node-load-percent`, config `k8s-doctor.node-load-percent`, default 90%).
    ///
    /// ### Why it matters
    /// A node near its allocatable memory is close to evictions and OOM kills; near its CPU,
    /// latency-sensitive pods get throttled.
    ///
    /// ### Example
    /// `NodeMetrics usage.memory: 15Gi` on a node with `allocatable.memory: 15.5Gi` (97%).
    NODE_HIGH_LOAD {
        code: "KD210",
        name: "node-high-load",
        title: "Node usage near allocatable capacity",
        severity: Warning,
        commands: [Diagnostics],
        run: node_high_load,
    }
}

fn node_high_load(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let threshold = f64::from(ctx.thresholds.node_load_percent);
    let by_name: std::collections::HashMap<&str, &crate::model::Node> = ctx
        .cluster
        .nodes
        .iter()
        .map(|n| (n.meta.name.as_str(), n))
        .collect();
    for m in &ctx.cluster.node_metrics {
        let Some(node) = by_name.get(m.name.as_str()) else {
            continue;
        };
        for (res, unit) in [("cpu", "cores"), ("memory", "bytes")] {
            let used = m.usage.get(res).and_then(quantity::parse);
            let alloc = node.status.allocatable.get(res).and_then(quantity::parse);
            let (Some(used), Some(alloc)) = (used, alloc) else {
                continue;
            };
            if alloc <= 0.0 {
                continue;
            }
            let pct = used / alloc * 100.0;
            if pct >= threshold {
                out.push(
                    Finding::new(
                        &NODE_HIGH_LOAD.meta,
                        Resource::object("Node", None, &m.name),
                        format!(
                            "{res} usage is {pct:.0}% of allocatable ({} of {}; threshold {threshold:.0}%)",
                            m.usage.get(res).unwrap_or(""),
                            node.status.allocatable.get(res).unwrap_or("")
                        ),
                    )
                    .evidence("resource", res)
                    .evidence("percent", (pct * 10.0).round() / 10.0)
                    .evidence("used", used)
                    .evidence("allocatable", alloc)
                    .evidence("unit", unit)
                    .evidence("thresholdPercent", threshold)
                    .remediation("Spread the load (pod anti-affinity, topology spread), right-size requests, or add nodes."),
                );
            }
        }
    }
}
