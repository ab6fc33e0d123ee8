//! Probe checks.

use super::container_finding;
use crate::checks::{check, Ctx};
use crate::model::{Container, Probe};
use sre_core::{Finding, Severity};

check! {
    /// ### What it does
    /// Reports long-running containers (not Jobs or CronJobs, not init containers) without
    /// a readiness probe.
    ///
    /// ### Why it matters
    /// Without a readiness probe a pod receives traffic as soon as its process starts, and
    /// keeps receiving it while it is overloaded or its dependencies are down; rolling
    /// updates cannot tell a broken new version from a working one.
    ///
    /// ### Example
    /// A Deployment whose container has `livenessProbe` but no `readinessProbe`.
    MISSING_READINESS_PROBE {
        code: "KD301",
        name: "missing-readiness-probe",
        title: "Container without readiness probe",
        severity: Warning,
        commands: [Audit],
        run: missing_readiness,
    }
}

fn missing_readiness(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for w in ctx.cluster.workloads.iter().filter(|w| !w.is_batch()) {
        for c in w
            .spec
            .containers
            .iter()
            .filter(|c| c.readiness_probe.is_none())
        {
            out.push(
                container_finding(&MISSING_READINESS_PROBE.meta, w, c, "no readinessProbe".into())
                    .remediation("Add a readiness probe that checks the container can serve, e.g.\n  readinessProbe:\n    httpGet: {path: /ready, port: http}\n    periodSeconds: 5"),
            );
        }
    }
}

check! {
    /// ### What it does
    /// Reports long-running containers with neither a liveness nor a startup probe. Info,
    /// not warning: a liveness probe restarts a hung process, but a careless one causes
    /// restart storms, and many services are fine without.
    ///
    /// ### Why it matters
    /// A deadlocked process that still runs is never restarted without a liveness probe.
    ///
    /// ### Example
    /// A Deployment whose container has only a `readinessProbe`.
    MISSING_LIVENESS_PROBE {
        code: "KD302",
        name: "missing-liveness-probe",
        title: "Container without liveness probe",
        severity: Info,
        commands: [Audit],
        run: missing_liveness,
    }
}

fn missing_liveness(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for w in ctx.cluster.workloads.iter().filter(|w| !w.is_batch()) {
        for c in w
            .spec
            .containers
            .iter()
            .filter(|c| c.liveness_probe.is_none() && c.startup_probe.is_none())
        {
            out.push(
                container_finding(&MISSING_LIVENESS_PROBE.meta, w, c, "no livenessProbe (or startupProbe)".into())
                    .remediation("If the process can hang, add a liveness probe that is cheaper and more tolerant than the readiness probe (higher failureThreshold)."),
            );
        }
    }
}

check! {
    /// ### What it does
    /// Reports containers whose liveness and readiness probes are identical.
    ///
    /// ### Why it matters
    /// When the service is merely overloaded, the readiness probe should take the pod out of
    /// rotation; an identical liveness probe fails at the same moment and restarts it,
    /// turning load into a restart storm.
    ///
    /// ### Example
    /// `livenessProbe` and `readinessProbe` both `httpGet: {path: /health, port: 8080}`
    /// with the same thresholds.
    IDENTICAL_PROBES {
        code: "KD303",
        name: "identical-liveness-readiness",
        title: "Liveness and readiness probes are identical",
        severity: Warning,
        commands: [Audit],
        run: identical_probes,
    }
}

fn identical_probes(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for w in &ctx.cluster.workloads {
        for c in &w.spec.containers {
            if let (Some(l), Some(r)) = (&c.liveness_probe, &c.readiness_probe) {
                if l == r {
                    out.push(
                        container_finding(&IDENTICAL_PROBES.meta, w, c, "livenessProbe and readinessProbe are identical".into())
                            .remediation("Make the liveness probe check only that the process is alive (a cheap endpoint) with a higher failureThreshold than readiness."),
                    );
                }
            }
        }
    }
}

check! {
    /// ### What it does
    /// Reports probes whose port does not exist on the container: a named port that no
    /// `ports[].name` declares (critical: the probe can never succeed), or a number that is
    /// not among the declared `containerPort`s when the container declares some (info:
    /// `ports` is informational, and admin ports are often left out on purpose).
    ///
    /// ### Why it matters
    /// A probe on the wrong port fails forever: readiness keeps the pod out of service,
    /// liveness restarts it in a loop.
    ///
    /// ### Example
    /// `readinessProbe: {httpGet: {port: metrics}}` on a container whose only port is
    /// named `http`.
    PROBE_PORT_MISSING {
        code: "KD304",
        name: "probe-port-missing",
        title: "Probe port not declared on the container",
        severity: Critical,
        commands: [Audit],
        run: probe_port_missing,
    }
}

fn probe_port_missing(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for w in &ctx.cluster.workloads {
        for c in w.all_containers() {
            for (kind, probe) in probes(c) {
                let Some(port) = probe.port() else { continue };
                let finding = |sev: Severity, msg: String| {
                    container_finding(&PROBE_PORT_MISSING.meta, w, c, msg)
                        .severity(sev)
                        .evidence("probe", kind)
                        .evidence("port", port.to_string())
                        .remediation("Point the probe at a port the container declares (`ports[].containerPort` or `ports[].name`).")
                };
                match port.parse::<i64>() {
                    Ok(n) => {
                        if !c.ports.is_empty() && !c.ports.iter().any(|p| p.container_port == n) {
                            let declared: Vec<String> = c
                                .ports
                                .iter()
                                .map(|p| p.container_port.to_string())
                                .collect();
                            out.push(finding(
                                Severity::Info,
                                format!(
                                    "{kind} port {n} is not among the declared ports ({})",
                                    declared.join(", ")
                                ),
                            ));
                        }
                    }
                    Err(_) => {
                        if !c.ports.iter().any(|p| p.name == port) {
                            out.push(finding(Severity::Critical, format!("{kind} uses the named port `{port}`, which the container does not declare")));
                        }
                    }
                }
            }
        }
    }
}

fn probes(c: &Container) -> impl Iterator<Item = (&'static str, &Probe)> {
    [
        ("livenessProbe", &c.liveness_probe),
        ("readinessProbe", &c.readiness_probe),
        ("startupProbe", &c.startup_probe),
    ]
    .into_iter()
    .filter_map(|(k, p)| p.as_deref().map(|p| (k, p)))
}
