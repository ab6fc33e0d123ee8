//! Container resource requests and limits.

use super::{check, pod_sample, pods_phrase, Ctx, Groups};
use sre_core::Finding;

check! {
    /// ### What it does
    /// Reports containers of pods that have not finished (not `Succeeded`/`Failed`) without
    /// a CPU or memory request (a limit alone counts: Kubernetes then defaults the request
    /// to it). Static (mirror) pods are skipped. When the snapshot has `PodMetrics`, the
    /// remediation suggests requests from the observed peak usage plus 20%.
    ///
    /// ### Why it matters
    /// Without requests the scheduler packs pods blindly, the pod gets `BestEffort` or weak
    /// `Burstable` QoS, and it is the first evicted under node pressure.
    ///
    /// ### Example
    /// `resources: {}` on container `worker`.
    MISSING_REQUESTS {
        code: "KD208",
        name: "missing-requests",
        title: "Container without CPU or memory request",
        severity: Warning,
        commands: [Diagnostics],
        run: missing_requests,
    }
}

fn missing(ctx: &Ctx<'_>, pick: impl Fn(&crate::model::Container) -> Vec<&'static str>) -> Groups {
    let mut groups = Groups::default();
    // Static (mirror) pods are defined by files on the node, and kubeadm sets their
    // requests; flagging them would be noise the user cannot act on in the cluster.
    let mirror = |p: &&crate::model::Pod| p.meta.controller().is_some_and(|o| o.kind == "Node");
    for pod in ctx
        .cluster
        .pods
        .iter()
        .filter(|p| !p.is_terminal() && !mirror(p))
    {
        for c in &pod.spec.containers {
            let absent = pick(c);
            if !absent.is_empty() {
                let g = groups.hit(ctx, pod, &c.name);
                g.detail = absent.join(" and ");
            }
        }
    }
    groups
}

/// Headroom added to observed usage when suggesting requests.
const HEADROOM: f64 = 1.2;

/// CPU cores as a Kubernetes quantity in millicores, rounded up, at least `1m`.
fn millicores(cores: f64) -> String {
    format!("{}m", (cores * 1000.0).ceil().max(1.0))
}

/// Bytes as a Kubernetes quantity in MiB, rounded up, at least `1Mi`.
fn mebibytes(bytes: f64) -> String {
    format!("{}Mi", (bytes / 1_048_576.0).ceil().max(1.0))
}

fn missing_requests(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let groups = missing(ctx, |c| {
        ["cpu", "memory"]
            .into_iter()
            .filter(|r| {
                c.resources.requests.get(r).is_none() && c.resources.limits.get(r).is_none()
            })
            .collect()
    });
    for ((res, container), g) in groups.0 {
        let ns = res.namespace.clone().unwrap_or_default();
        let usage = ctx.cluster.peak_usage(&ns, &g.pods, &container);
        let mut f = Finding::new(
            &MISSING_REQUESTS.meta,
            res,
            format!(
                "container {container} of {} has no {} request",
                pods_phrase(&g.pods),
                g.detail
            ),
        )
        .evidence("container", container.clone())
        .evidence("missing", g.detail.clone())
        .evidence("podCount", g.pods.len())
        .evidence("pods", pod_sample(&g.pods));
        f = match usage {
            Some((cpu, mem)) => {
                let (cpu_req, mem_req) = (millicores(cpu * HEADROOM), mebibytes(mem * HEADROOM));
                f.evidence("observedUsage", serde_json::json!({ "cpu": millicores(cpu), "memory": mebibytes(mem) }))
                    .remediation(format!("Set requests from the observed peak usage (PodMetrics) plus 20% headroom:\n  resources:\n    requests:\n      cpu: {cpu_req}\n      memory: {mem_req}\n(on container {container})"))
            }
            None => f.remediation(format!("Set requests from observed usage (`kubectl top pod --containers`), e.g.\n  resources:\n    requests:\n      cpu: 100m\n      memory: 128Mi\n(on container {container})")),
        };
        out.push(f);
    }
}

check! {
    /// ### What it does
    /// Reports containers of pods that have not finished without a memory limit. CPU limits are deliberately not
    /// required: they cause throttling even on idle nodes, and many operators run without
    /// them. Static (mirror) pods are skipped.
    ///
    /// ### Why it matters
    /// A container without a memory limit can consume the node's memory and trigger the
    /// kernel OOM killer against its neighbours.
    ///
    /// ### Example
    /// `resources: {requests: {memory: 256Mi}}` with no `limits.memory`.
    MISSING_LIMITS {
        code: "KD209",
        name: "missing-memory-limit",
        title: "Container without memory limit",
        severity: Info,
        commands: [Diagnostics],
        run: missing_limits,
    }
}

fn missing_limits(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let groups = missing(ctx, |c| {
        if c.resources.limits.memory.is_some() {
            vec![]
        } else {
            vec!["memory"]
        }
    });
    for ((res, container), g) in groups.0 {
        out.push(
            Finding::new(
                &MISSING_LIMITS.meta,
                res,
                format!(
                    "container {container} of {} has no memory limit",
                    pods_phrase(&g.pods)
                ),
            )
            .evidence("container", container.clone())
            .evidence("podCount", g.pods.len())
            .evidence("pods", pod_sample(&g.pods))
            .remediation(
                "Set limits.memory (commonly equal to requests.memory for predictable behaviour).",
            ),
        );
    }
}
