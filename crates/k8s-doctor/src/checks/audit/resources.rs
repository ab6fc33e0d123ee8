//! Resource requests and limits in pod templates.

use super::container_finding;
use crate::checks::{check, Ctx};
use crate::quantity;
use sre_core::Finding;

check! {
    /// ### What it does
    /// Reports template containers without CPU or memory requests, or without a memory
    /// limit (CPU limits are not required; see KD209). Info instead of warning in a
    /// namespace whose LimitRange supplies defaults.
    ///
    /// ### Why it matters
    /// The scheduler places pods by their requests; a container without them is packed
    /// blindly and evicted first, and one without a memory limit can starve its node.
    ///
    /// ### Example
    /// `resources: {}` in a Deployment's container.
    TEMPLATE_RESOURCES {
        code: "KD330",
        name: "template-missing-resources",
        title: "Pod template without requests or memory limit",
        severity: Warning,
        commands: [Audit],
        run: template_resources,
    }
}

fn template_resources(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for w in &ctx.cluster.workloads {
        for c in w.all_containers() {
            let r = &c.resources;
            let mut missing = Vec::new();
            for res in ["cpu", "memory"] {
                if r.requests.get(res).is_none() && r.limits.get(res).is_none() {
                    missing.push(format!("{res} request"));
                }
            }
            if r.limits.memory.is_none() {
                missing.push("memory limit".to_string());
            }
            if !missing.is_empty() {
                // A LimitRange in the namespace fills in defaults at admission: still worth
                // knowing (defaults rarely fit), but not a risk.
                let defaulted = ctx.cluster.limit_range_namespaces.contains(&w.namespace);
                let note = if defaulted {
                    " (the namespace's LimitRange supplies defaults)"
                } else {
                    ""
                };
                out.push(
                    container_finding(&TEMPLATE_RESOURCES.meta, w, c, format!("no {}{note}", missing.join(", ")))
                        .severity(if defaulted { sre_core::Severity::Info } else { sre_core::Severity::Warning })
                        .evidence("missing", missing.clone())
                        .remediation("resources:\n  requests: {cpu: 100m, memory: 128Mi}\n  limits: {memory: 128Mi}"),
                );
            }
        }
    }
}

check! {
    /// ### What it does
    /// Reports containers whose request exceeds their limit for CPU or memory.
    ///
    /// ### Why it matters
    /// The API server rejects such pods: the controller's `FailedCreate` events pile up and
    /// no pod of the new version ever starts.
    ///
    /// ### Example
    /// `requests: {memory: 1Gi}` with `limits: {memory: 512Mi}`.
    REQUESTS_EXCEED_LIMITS {
        code: "KD331",
        name: "requests-exceed-limits",
        title: "Request greater than limit",
        severity: Critical,
        commands: [Audit],
        run: requests_exceed_limits,
    }
}

fn requests_exceed_limits(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for w in &ctx.cluster.workloads {
        for c in w.all_containers() {
            for res in ["cpu", "memory"] {
                let (Some(req), Some(lim)) =
                    (c.resources.requests.get(res), c.resources.limits.get(res))
                else {
                    continue;
                };
                if let (Some(q), Some(l)) = (quantity::parse(req), quantity::parse(lim)) {
                    if q > l {
                        out.push(
                            container_finding(&REQUESTS_EXCEED_LIMITS.meta, w, c, format!("{res} request {req} is greater than its limit {lim}"))
                                .evidence("resource", res)
                                .remediation("Lower the request or raise the limit: a request may not exceed its limit."),
                        );
                    }
                }
            }
        }
    }
}
