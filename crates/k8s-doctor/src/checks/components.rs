//! Control-plane and add-on components found as pods in `kube-system`.

use super::{check, Ctx};
use crate::model::Pod;
use sre_core::{Finding, Resource, Severity};
use std::collections::BTreeMap;

/// Static control-plane components (kubeadm-style static pods).
pub const CONTROL_PLANE: [&str; 4] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
];

/// The component a `kube-system` pod belongs to, by the labels kubeadm and the standard
/// add-ons set. Names alone are trusted only with the right owner: a static (mirror) pod
/// for the control plane, a ReplicaSet for CoreDNS, a DaemonSet for kube-proxy. So an
/// `etcd-backup-...` Job pod or AKS's `coredns-autoscaler` is not taken for a component.
pub fn component_of(pod: &Pod) -> Option<&'static str> {
    if pod.meta.namespace != "kube-system" {
        return None;
    }
    let labels = &pod.meta.labels;
    if let Some(c) = labels.get("component") {
        if let Some(found) = CONTROL_PLANE.iter().find(|n| **n == c) {
            return Some(found);
        }
    }
    match labels.get("k8s-app") {
        Some("kube-dns") => return Some("coredns"),
        Some("kube-proxy") => return Some("kube-proxy"),
        _ => {}
    }
    let name = pod.meta.name.as_str();
    let owner = pod.meta.controller().map(|o| o.kind.as_str()).unwrap_or("");
    match owner {
        "Node" => CONTROL_PLANE
            .iter()
            .copied()
            .find(|c| name.starts_with(&format!("{c}-"))),
        "ReplicaSet" if name.starts_with("coredns-") && !name.starts_with("coredns-autoscaler") => {
            Some("coredns")
        }
        "DaemonSet" if name.starts_with("kube-proxy-") => Some("kube-proxy"),
        _ => None,
    }
}

/// True when control-plane components run as pods the snapshot shows (kubeadm static
/// pods). Managed clusters (EKS, GKE, AKS) hide them, and k3s, RKE2 or host-service
/// installs run them outside Kubernetes even on nodes labelled control-plane.
pub fn control_plane_visible(ctx: &Ctx<'_>) -> bool {
    ctx.cluster
        .pods
        .iter()
        .any(|p| component_of(p).is_some_and(|c| CONTROL_PLANE.contains(&c)))
}

fn by_component<'a>(ctx: &'a Ctx<'_>) -> BTreeMap<&'static str, Vec<&'a Pod>> {
    let mut m: BTreeMap<&'static str, Vec<&'a Pod>> = BTreeMap::new();
    for p in &ctx.cluster.pods {
        if let Some(c) = component_of(p) {
            m.entry(c).or_default().push(p);
        }
    }
    m
}

check! {
    /// ### What it does
    /// Says, as information, that no control-plane component runs as a pod in the snapshot,
    /// so the control-plane component checks were not run.
    ///
    /// ### Why it matters
    /// Managed clusters (EKS, GKE, AKS) hide the control plane, and k3s, RKE2 or installs
    /// with host services run it outside Kubernetes; reporting etcd or the API server
    /// "missing" there would be a false alarm.
    ///
    /// ### Example
    /// An EKS snapshot: nodes all labelled as workers, no `etcd-*` or `kube-apiserver-*` pods.
    /// A k3s server node labelled `control-plane` with no static pods.
    CONTROL_PLANE_NOT_VISIBLE {
        code: "KD110",
        name: "control-plane-not-visible",
        title: "Control plane not visible (managed cluster?)",
        severity: Info,
        commands: [Healthcheck],
        run: control_plane_not_visible,
    }
}

fn control_plane_not_visible(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if ctx.cluster.nodes.is_empty() || control_plane_visible(ctx) {
        return;
    }
    let message = if ctx.cluster.nodes.iter().any(|n| n.is_control_plane()) {
        "control-plane nodes exist but no control-plane component runs as a pod (k3s, RKE2 or host services?); etcd, API server, controller-manager and scheduler checks were skipped"
    } else {
        "no static control-plane pods in the snapshot; etcd, API server, controller-manager and scheduler checks were skipped (managed control plane?)"
    };
    out.push(Finding::new(
        &CONTROL_PLANE_NOT_VISIBLE.meta,
        Resource::cluster(),
        message,
    ));
}

check! {
    /// ### What it does
    /// Reports cluster components with no pod in `kube-system`: kube-apiserver,
    /// kube-controller-manager and kube-scheduler (when the control plane runs as static
    /// pods, and per control-plane node), etcd (info when absent everywhere: external etcd
    /// is a supported setup), CoreDNS (critical) and kube-proxy (info: a CNI such as Cilium
    /// may replace it).
    ///
    /// ### Why it matters
    /// Without the scheduler nothing is scheduled, without the controller-manager nothing is
    /// reconciled, without CoreDNS service names do not resolve.
    ///
    /// ### Example
    /// Three control-plane nodes but `etcd-cp-3` is absent from `kube-system`.
    COMPONENT_MISSING {
        code: "KD111",
        name: "component-missing",
        title: "Cluster component missing",
        severity: Critical,
        commands: [Healthcheck],
        run: component_missing,
    }
}

fn component_missing(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let has_kube_system = ctx
        .cluster
        .pods
        .iter()
        .any(|p| p.meta.namespace == "kube-system");
    if !has_kube_system {
        // The loader reports this as a partial report; nothing can be said here.
        return;
    }
    let comps = by_component(ctx);
    let res = |c: &str| Resource::object("Component", Some("kube-system"), c);
    if control_plane_visible(ctx) {
        let cp_nodes: Vec<&str> = ctx
            .cluster
            .nodes
            .iter()
            .filter(|n| n.is_control_plane())
            .map(|n| n.meta.name.as_str())
            .collect();
        for c in CONTROL_PLANE {
            let pods = comps.get(c).map(Vec::as_slice).unwrap_or(&[]);
            if pods.is_empty() && c == "etcd" {
                out.push(
                    Finding::new(&COMPONENT_MISSING.meta, res(c), "no etcd pod in kube-system; fine with an external etcd cluster, otherwise the API server has no storage")
                        .severity(Severity::Info)
                        .evidence("component", c),
                );
                continue;
            }
            if pods.is_empty() {
                out.push(
                    Finding::new(&COMPONENT_MISSING.meta, res(c), format!("no {c} pod found in kube-system"))
                        .evidence("component", c)
                        .remediation(format!("Check the static pod manifest /etc/kubernetes/manifests/{c}.yaml and the kubelet log on the control-plane nodes.")),
                );
                continue;
            }
            let missing: Vec<&str> = cp_nodes
                .iter()
                .copied()
                .filter(|n| !pods.iter().any(|p| p.spec.node_name == *n))
                .collect();
            if !missing.is_empty() && pods.iter().all(|p| !p.spec.node_name.is_empty()) {
                out.push(
                    Finding::new(
                        &COMPONENT_MISSING.meta,
                        res(c),
                        format!(
                            "{c} runs on {} of {} control-plane nodes (missing on {})",
                            cp_nodes.len() - missing.len(),
                            cp_nodes.len(),
                            missing.join(", ")
                        ),
                    )
                    .severity(Severity::Warning)
                    .evidence("component", c)
                    .evidence("missingOn", missing.clone())
                    .remediation(format!(
                        "Check /etc/kubernetes/manifests/{c}.yaml and the kubelet on those nodes."
                    )),
                );
            }
        }
    }
    if !comps.contains_key("coredns") {
        out.push(
            Finding::new(
                &COMPONENT_MISSING.meta,
                res("coredns"),
                "no CoreDNS pod (k8s-app=kube-dns) in kube-system: cluster DNS does not resolve",
            )
            .evidence("component", "coredns")
            .remediation(
                "Check the coredns Deployment: `kubectl -n kube-system get deploy coredns`.",
            ),
        );
    }
    if !comps.contains_key("kube-proxy") {
        out.push(
            Finding::new(&COMPONENT_MISSING.meta, res("kube-proxy"), "no kube-proxy pod in kube-system; fine if your CNI replaces kube-proxy (Cilium, Calico eBPF), otherwise services do not route")
                .severity(Severity::Info)
                .evidence("component", "kube-proxy"),
        );
    }
}

check! {
    /// ### What it does
    /// Reports cluster component pods (control plane, CoreDNS, kube-proxy) that are crashing
    /// (critical), have no ready pod (critical) or only some ready pods (warning).
    ///
    /// ### Why it matters
    /// A crashing kube-scheduler or a CoreDNS with one of two replicas ready is an outage in
    /// waiting, and usually the root cause of many other findings.
    ///
    /// ### Example
    /// `kube-scheduler-cp-1` in `CrashLoopBackOff`; `coredns` with 1 of 2 pods ready.
    COMPONENT_UNHEALTHY {
        code: "KD112",
        name: "component-unhealthy",
        title: "Cluster component unhealthy",
        severity: Critical,
        commands: [Healthcheck],
        run: component_unhealthy,
    }
}

fn pod_ready(p: &Pod) -> bool {
    match p.condition("Ready") {
        Some(c) => c.status == "True",
        None => {
            let (ready, total) = p.ready_containers();
            total > 0 && ready == total && p.status.phase == "Running"
        }
    }
}

fn component_unhealthy(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for (comp, mut pods) in by_component(ctx) {
        // Evicted or completed pods are history, not replicas.
        pods.retain(|p| !p.is_terminal());
        let mut groups: BTreeMap<Resource, Vec<&Pod>> = BTreeMap::new();
        for p in pods {
            groups.entry(ctx.workload(p)).or_default().push(p);
        }
        for (res, pods) in groups {
            let crashing: Vec<&str> = pods
                .iter()
                .filter(|p| {
                    p.all_statuses().any(|s| {
                        s.state
                            .waiting
                            .as_ref()
                            .is_some_and(|w| w.reason == "CrashLoopBackOff")
                    })
                })
                .map(|p| p.meta.name.as_str())
                .collect();
            let ready = pods.iter().filter(|p| pod_ready(p)).count();
            let total = pods.len();
            let (sev, msg) = if !crashing.is_empty() {
                (Severity::Critical, format!("{comp} is crashing (CrashLoopBackOff in {}); {ready} of {total} pods ready", crashing.join(", ")))
            } else if ready == 0 {
                (
                    Severity::Critical,
                    format!("{comp}: none of {total} pods is ready"),
                )
            } else if ready < total {
                (
                    Severity::Warning,
                    format!("{comp}: {ready} of {total} pods ready"),
                )
            } else {
                continue;
            };
            let mut names: Vec<&str> = pods.iter().map(|p| p.meta.name.as_str()).collect();
            names.sort_unstable();
            out.push(
                Finding::new(&COMPONENT_UNHEALTHY.meta, res, msg)
                    .severity(sev)
                    .evidence("component", comp)
                    .evidence("ready", ready)
                    .evidence("total", total)
                    .evidence("pods", names)
                    .remediation(format!("Read the logs: `kubectl -n kube-system logs --previous -l <labels of {comp}>`, and describe the pods for events.")),
            );
        }
    }
}
