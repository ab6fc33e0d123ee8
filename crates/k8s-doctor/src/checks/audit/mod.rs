//! Audit checks: best practices and security of pod templates (Deployments, StatefulSets,
//! DaemonSets, Jobs, CronJobs, unowned ReplicaSets and bare pods). Pods owned by a
//! controller are audited once, at the controller's template.

pub mod availability;
pub mod images;
pub mod namespaces;
pub mod probes;
pub mod rbac;
pub mod resources;
pub mod security;

use crate::model::{Container, Workload};
use sre_core::{CheckMeta, Finding, Resource};

/// The resource an audit finding is reported on.
pub fn resource(w: &Workload) -> Resource {
    Resource::object(&w.kind, Some(&w.namespace), &w.name)
}

/// A finding about one container of a workload.
pub fn container_finding(
    meta: &CheckMeta,
    w: &Workload,
    c: &Container,
    message: String,
) -> Finding {
    Finding::new(
        meta,
        resource(w),
        format!("container {}: {message}", c.name),
    )
    .evidence("container", c.name.clone())
}
