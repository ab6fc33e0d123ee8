//! Warning events.

use super::{check, Ctx};
use sre_core::{Finding, Resource};
use std::collections::{BTreeMap, HashMap};

check! {
    /// ### What it does
    /// Groups `Warning` events by reason and involved object and reports each group with the
    /// total count, the last time seen and the latest message. Events about a pod are
    /// grouped at the pod's workload (one line for a Deployment's 20 crashing pods).
    /// `Normal` events are not findings.
    ///
    /// ### Why it matters
    /// Events explain failures that the object's status does not: failed mounts, failed
    /// probes, failed scheduling, evictions. Grouping turns hundreds of lines into a list.
    ///
    /// ### Example
    /// 37 × `FailedMount` on `Pod shop/db-0`: `MountVolume.SetUp failed for volume "data"`.
    WARNING_EVENTS {
        code: "KD207",
        name: "warning-events",
        title: "Warning events",
        severity: Warning,
        commands: [Diagnostics],
        run: warning_events,
    }
}

#[derive(Default)]
struct Agg {
    count: u64,
    events: u64,
    last_seen: Option<String>,
    /// The event whose message is shown: the latest, the greatest name among equals, so
    /// the choice does not depend on the order the events were read in.
    shown: String,
    message: String,
    objects: Vec<String>,
}

fn warning_events(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(Resource, String), Agg> = BTreeMap::new();
    let pods: HashMap<(&str, &str), &crate::model::Pod> = ctx
        .cluster
        .pods
        .iter()
        .map(|p| ((p.meta.namespace.as_str(), p.meta.name.as_str()), p))
        .collect();
    for e in ctx.cluster.events.iter().filter(|e| e.type_ == "Warning") {
        let ns = if e.object.namespace.is_empty() {
            e.namespace.as_str()
        } else {
            e.object.namespace.as_str()
        };
        let kind = if e.object.kind.is_empty() {
            "Object"
        } else {
            e.object.kind.as_str()
        };
        let res = match pods
            .get(&(ns, e.object.name.as_str()))
            .filter(|_| kind == "Pod")
        {
            Some(pod) => ctx.workload(pod),
            None => {
                // Events about a ReplicaSet or Job (FailedCreate, quota errors) belong to the
                // Deployment or CronJob that owns it, when the snapshot shows the owner.
                let key = (kind.to_string(), ns.to_string(), e.object.name.clone());
                match ctx.cluster.owners.get(&key) {
                    Some((owner_kind, owner)) => Resource::object(owner_kind, Some(ns), owner),
                    None => {
                        Resource::object(kind, Some(ns).filter(|_| kind != "Node"), &e.object.name)
                    }
                }
            }
        };
        let a = groups.entry((res, e.reason.clone())).or_default();
        if kind == "Pod" && !a.objects.contains(&e.object.name) {
            a.objects.push(e.object.name.clone());
        }
        a.count += e.count;
        a.events += 1;
        // RFC 3339 timestamps in UTC compare correctly as strings.
        if (&e.last_seen, &e.name) >= (&a.last_seen, &a.shown) {
            a.last_seen = e.last_seen.clone();
            a.shown = e.name.clone();
            a.message = e.message.trim().to_string();
        }
    }
    for ((res, reason), a) in groups {
        let mut f = Finding::new(
            &WARNING_EVENTS.meta,
            res,
            format!("{reason} ×{}: {}", a.count, a.message),
        )
        .evidence("reason", reason)
        .evidence("count", a.count)
        .evidence("events", a.events)
        .remediation("`kubectl describe` the object and act on the event message.");
        if !a.objects.is_empty() {
            f = f.evidence("pods", super::pod_sample(&a.objects));
        }
        if let Some(t) = a.last_seen {
            f = f.evidence("lastSeen", t);
        }
        out.push(f);
    }
}
