//! Audit scores: 0-100 and a grade per namespace and for the cluster.
//!
//! Every audited object (workload, PodDisruptionBudget, NetworkPolicy, RBAC subject)
//! starts at 100 and loses points per finding: critical 30, warning 10 (up to 4 warnings),
//! info 2 (up to 5 infos), down to 0. Only audit findings count.
//! A namespace's score is the mean of its objects' scores, minus the namespace-level
//! findings (no NetworkPolicy, no quota) with the same weights. The cluster score is the
//! mean over namespaces weighted by their object counts, minus findings about the cluster as
//! a whole ("no NetworkPolicy anywhere"). Cluster-scoped objects (Users and Groups bound
//! cluster-wide, Nodes) form a row of their own, `(cluster-scoped)`; a subject bound by a
//! RoleBinding counts in that binding's namespace. Grades: A >= 90,
//! B >= 80, C >= 70, D >= 60, F below. Suppressed findings do not count.
//!
//! Why not popeye's formula (the share of resources without issues, per resource type):
//! it weighs an info the same as a critical, so teams chase noise; and a namespace of 50
//! clean workloads with one privileged DaemonSet scores 98%. Here a critical costs three
//! warnings on its object, and an object's problems cannot sink its neighbours' scores.

use serde_json::{json, Value};
use sre_core::{Report, Severity};
use std::collections::BTreeMap;

/// The row that holds cluster-scoped objects.
pub const CLUSTER_SCOPED: &str = "(cluster-scoped)";

fn weight(s: Severity) -> f64 {
    match s {
        Severity::Critical => 30.0,
        Severity::Warning => 10.0,
        Severity::Info => 2.0,
    }
}

/// The letter for a score.
pub fn grade(score: f64) -> &'static str {
    match score {
        s if s >= 90.0 => "A",
        s if s >= 80.0 => "B",
        s if s >= 70.0 => "C",
        s if s >= 60.0 => "D",
        _ => "F",
    }
}

#[derive(Default)]
struct Ns {
    /// Finding counts per object (kind/name), by severity.
    objects: BTreeMap<String, [u32; 3]>,
    /// Finding counts on the namespace itself.
    own: [u32; 3],
    counts: [u64; 3],
}

/// The points an object (or a namespace) loses: 30 per critical; 10 per warning and 2 per
/// info, counted up to 4 warnings and 5 infos. The caps keep correlated checks (a
/// container with no securityContext fails five of them) from counting as five problems.
fn penalty(c: &[u32; 3]) -> f64 {
    f64::from(c[0]) * weight(Severity::Critical)
        + f64::from(c[1].min(4)) * weight(Severity::Warning)
        + f64::from(c[2].min(5)) * weight(Severity::Info)
}

/// Scores `report`'s findings, with every workload in `audited` (namespace, kind/name)
/// counted as an object even when it has no finding.
pub fn score(report: &Report, audited: &[(String, String)]) -> (f64, Vec<Value>) {
    let mut namespaces: BTreeMap<String, Ns> = BTreeMap::new();
    for (ns, obj) in audited {
        namespaces
            .entry(ns.clone())
            .or_default()
            .objects
            .entry(obj.clone())
            .or_insert([0; 3]);
    }
    let mut cluster_penalty = 0.0;
    // Only the audit's findings: in `check`, a crash-looping pod is not a configuration score.
    let audit_findings = report.findings.iter().filter(|f| {
        crate::checks::find(&f.code)
            .is_some_and(|c| c.commands.contains(&crate::checks::Command::Audit))
    });
    for f in audit_findings {
        let r = &f.resource;
        let w = weight(f.severity);
        let idx = match f.severity {
            Severity::Critical => 0,
            Severity::Warning => 1,
            Severity::Info => 2,
        };
        // A subject of a RoleBinding (a Group or User has no namespace) counts in the
        // namespace of the binding that granted the permission.
        let binding_ns = f
            .evidence
            .get("bindingNamespace")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty());
        match (
            r.kind.as_deref(),
            r.namespace.as_deref().or(binding_ns),
            r.name.as_deref(),
        ) {
            (Some("Namespace"), _, Some(ns)) => {
                let n = namespaces.entry(ns.to_string()).or_default();
                n.own[idx] += 1;
                n.counts[idx] += 1;
            }
            (Some(kind), Some(ns), Some(name)) => {
                let n = namespaces.entry(ns.to_string()).or_default();
                n.objects.entry(format!("{kind}/{name}")).or_insert([0; 3])[idx] += 1;
                n.counts[idx] += 1;
            }
            // Cluster-scoped objects (Users, Groups, Nodes) are objects of a pseudo-namespace.
            (Some(kind), None, Some(name)) if kind != "Cluster" => {
                let n = namespaces.entry(CLUSTER_SCOPED.to_string()).or_default();
                n.objects.entry(format!("{kind}/{name}")).or_insert([0; 3])[idx] += 1;
                n.counts[idx] += 1;
            }
            // Conditions of the whole cluster ("no NetworkPolicy anywhere") hit every
            // namespace, so they come off the cluster score itself.
            _ => cluster_penalty += w,
        }
    }
    let mut rows = Vec::new();
    let (mut weighted, mut total_objects) = (0.0, 0.0);
    for (name, n) in &namespaces {
        let objects = n.objects.len() as f64;
        let mean = if n.objects.is_empty() {
            100.0
        } else {
            n.objects
                .values()
                .map(|c| (100.0 - penalty(c)).max(0.0))
                .sum::<f64>()
                / objects
        };
        let score = (mean - penalty(&n.own)).clamp(0.0, 100.0).round();
        weighted += score * objects.max(1.0);
        total_objects += objects.max(1.0);
        rows.push(json!({
            "namespace": name,
            "score": score as i64,
            "grade": grade(score),
            "objects": n.objects.len(),
            "critical": n.counts[0],
            "warning": n.counts[1],
            "info": n.counts[2],
        }));
    }
    let base = if total_objects > 0.0 {
        weighted / total_objects
    } else {
        100.0
    };
    let cluster = (base - cluster_penalty).clamp(0.0, 100.0).round();
    (cluster, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sre_core::{CheckMeta, Finding, Resource};
    use std::time::UNIX_EPOCH;

    const W: CheckMeta = CheckMeta {
        code: "KD311",
        name: "t",
        title: "t",
        severity: Severity::Warning,
        aliases: &[],
    };

    #[test]
    fn cluster_scoped_subjects_are_objects_not_cluster_penalties() {
        let mut r = Report::new("k", "audit", UNIX_EPOCH);
        r.push(
            Finding::new(&W, Resource::object("Group", None, "devs"), "m")
                .severity(Severity::Critical),
        );
        r.push(
            Finding::new(&W, Resource::object("User", None, "bob"), "m")
                .evidence("bindingNamespace", "a"),
        );
        let audited: Vec<(String, String)> = (0..9)
            .map(|i| ("a".to_string(), format!("Deployment/d{i}")))
            .collect();
        let (cluster, rows) = score(&r, &audited);
        // "a": 9 clean objects and bob at 90 -> 99; cluster-scoped: devs at 70.
        let a = rows.iter().find(|x| x["namespace"] == "a").expect("a");
        assert_eq!(a["score"], 99);
        let c = rows
            .iter()
            .find(|x| x["namespace"] == CLUSTER_SCOPED)
            .expect("cluster-scoped row");
        assert_eq!(c["score"], 70);
        // Weighted: (99 * 10 + 70 * 1) / 11 = 96.4
        assert_eq!(cluster, 96.0);
    }

    #[test]
    fn per_object_scores_and_grades() {
        let mut r = Report::new("k", "audit", UNIX_EPOCH);
        r.push(
            Finding::new(&W, Resource::object("Deployment", Some("a"), "x"), "m")
                .severity(Severity::Critical),
        );
        r.push(Finding::new(
            &W,
            Resource::object("Deployment", Some("a"), "x"),
            "m",
        ));
        r.push(Finding::new(
            &W,
            Resource::object("Namespace", None, "a"),
            "no policy",
        ));
        let audited = vec![
            ("a".to_string(), "Deployment/x".to_string()),
            ("a".to_string(), "Deployment/y".to_string()),
        ];
        let (cluster, rows) = score(&r, &audited);
        // x: 100-40 = 60, y: 100; mean 80, minus the namespace warning 10 = 70.
        assert_eq!(rows[0]["score"], 70);
        assert_eq!(rows[0]["grade"], "C");
        assert_eq!(cluster, 70.0);
        assert_eq!(grade(95.0), "A");
        assert_eq!(grade(10.0), "F");
    }
}
