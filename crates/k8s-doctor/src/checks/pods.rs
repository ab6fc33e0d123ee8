//! Pod and container state diagnostics. Pods of one workload with the same problem are
//! reported once, at the workload, with the affected pods as evidence.

use super::{check, pod_sample, pods_phrase, Ctx, Groups};
use crate::model::{ContainerStatus, Pod};
use serde_json::Value;
use sre_core::{CheckMeta, Finding, Severity};

fn waiting_reason(s: &ContainerStatus) -> Option<(&str, &str)> {
    s.state
        .waiting
        .as_ref()
        .map(|w| (w.reason.as_str(), w.message.as_str()))
}

/// Groups pods whose containers are waiting with one of `reasons`, keyed by container.
fn waiting_groups(ctx: &Ctx<'_>, reasons: &[&str]) -> Groups {
    let mut groups = Groups::default();
    for pod in &ctx.cluster.pods {
        for s in pod.all_statuses() {
            let Some((reason, message)) = waiting_reason(s) else {
                continue;
            };
            if !reasons.contains(&reason) {
                continue;
            }
            let g = groups.hit(ctx, pod, &format!("{}\u{0}{}", s.name, reason));
            if g.detail.is_empty() {
                g.detail = message.to_string();
            }
            g.max = g.max.max(u64::from(s.restart_count));
            if let Some(t) = &s.last_state.terminated {
                g.extra.insert("lastExitCode".into(), t.exit_code.into());
                g.extra
                    .insert("lastTerminationReason".into(), t.reason.clone().into());
            }
            g.extra.insert("image".into(), s.image.clone().into());
        }
    }
    groups
}

fn emit(
    out: &mut Vec<Finding>,
    meta: &CheckMeta,
    groups: Groups,
    describe: impl Fn(&str, &str, &super::Group) -> (String, String),
) {
    for ((res, key), g) in groups.0 {
        let (container, reason) = key.split_once('\u{0}').unwrap_or((key.as_str(), ""));
        let (message, remediation) = describe(container, reason, &g);
        let mut f = Finding::new(meta, res, message)
            .remediation(remediation)
            .evidence("container", container)
            .evidence("reason", reason)
            .evidence("podCount", g.pods.len())
            .evidence("pods", pod_sample(&g.pods));
        if g.max > 0 {
            f = f.evidence("restarts", g.max);
        }
        for (k, v) in g.extra {
            if v != Value::Null {
                f.evidence.insert(k, v);
            }
        }
        out.push(f);
    }
}

fn detail(g: &super::Group) -> String {
    if g.detail.is_empty() {
        String::new()
    } else {
        format!(": {}", g.detail)
    }
}

check! {
    /// ### What it does
    /// Reports containers waiting in `CrashLoopBackOff`, with the last exit code and reason.
    ///
    /// ### Why it matters
    /// The container starts and dies repeatedly; the workload is down or degraded.
    ///
    /// ### Example
    /// `state.waiting.reason: CrashLoopBackOff`, `lastState.terminated.exitCode: 1`.
    POD_CRASHLOOP {
        code: "KD201",
        name: "pod-crashloop",
        title: "Container in CrashLoopBackOff",
        severity: Critical,
        commands: [Diagnostics],
        run: pod_crashloop,
    }
}

fn pod_crashloop(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let groups = waiting_groups(ctx, &["CrashLoopBackOff"]);
    emit(out, &POD_CRASHLOOP.meta, groups, |c, _, g| {
        let last = match (
            g.extra.get("lastExitCode"),
            g.extra.get("lastTerminationReason"),
        ) {
            (Some(Value::Number(code)), Some(Value::String(r))) => {
                format!(" (last exit code {code}, {r})")
            }
            _ => String::new(),
        };
        (
            format!("container {c} of {} is in CrashLoopBackOff{last}, {} restarts", pods_phrase(&g.pods), g.max),
            format!("Read the previous container's log: `kubectl logs --previous POD -c {c}`; check the command, config and dependencies it needs at start-up."),
        )
    });
}

check! {
    /// ### What it does
    /// Reports containers waiting in `ImagePullBackOff`, `ErrImagePull`, `InvalidImageName`
    /// or `ErrImageNeverPull`, with the image and the registry's message.
    ///
    /// ### Why it matters
    /// The pod can never start: wrong tag, missing pull secret, registry down or rate-limited.
    ///
    /// ### Example
    /// `state.waiting: {reason: ImagePullBackOff, message: 'Back-off pulling image "shop/cart:v9"'}`
    IMAGE_PULL_FAILURE {
        code: "KD202",
        name: "image-pull-failure",
        title: "Image cannot be pulled",
        severity: Critical,
        commands: [Diagnostics],
        run: image_pull_failure,
    }
}

fn image_pull_failure(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let groups = waiting_groups(
        ctx,
        &[
            "ImagePullBackOff",
            "ErrImagePull",
            "InvalidImageName",
            "ErrImageNeverPull",
        ],
    );
    emit(out, &IMAGE_PULL_FAILURE.meta, groups, |c, reason, g| {
        (
            format!("container {c} of {}: {reason}{}", pods_phrase(&g.pods), detail(g)),
            "Check the image name and tag exist in the registry, and that the pod's imagePullSecrets can read it.".to_string(),
        )
    });
}

check! {
    /// ### What it does
    /// Reports `Pending` pods the scheduler could not place, with its reason (the
    /// `PodScheduled` condition's message, e.g. `0/3 nodes are available: 3 Insufficient
    /// memory.`), and pending pods that were never scheduled at all. Pods held by
    /// scheduling gates (`SchedulingGated`) wait on purpose and are not reported.
    ///
    /// ### Why it matters
    /// The workload is under-replicated until capacity, affinity or taints change.
    ///
    /// ### Example
    /// `status.conditions: [{type: PodScheduled, status: "False", reason: Unschedulable}]`
    POD_UNSCHEDULABLE {
        code: "KD203",
        name: "pod-pending",
        title: "Pod pending: cannot be scheduled",
        severity: Warning,
        commands: [Diagnostics],
        run: pod_pending,
    }
}

fn pod_pending(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let mut groups = Groups::default();
    for pod in ctx
        .cluster
        .pods
        .iter()
        .filter(|p| p.status.phase == "Pending")
    {
        let sched = pod.condition("PodScheduled");
        // Pods held by scheduling gates wait on purpose (Kubernetes 1.27+).
        if sched.is_some_and(|c| c.reason == "SchedulingGated") {
            continue;
        }
        let (reason, message) = match sched {
            Some(c) if c.status == "False" => (
                if c.reason.is_empty() {
                    "Unschedulable"
                } else {
                    c.reason.as_str()
                },
                c.message.as_str(),
            ),
            // Scheduled but still pending: image pulls and container errors are reported by
            // their own checks.
            _ if !pod.spec.node_name.is_empty() => continue,
            _ => (
                "NotScheduled",
                "no scheduling decision recorded (is the scheduler running?)",
            ),
        };
        let g = groups.hit(ctx, pod, reason);
        if g.detail.is_empty() {
            g.detail = message.to_string();
        }
    }
    for ((res, reason), g) in groups.0 {
        out.push(
            Finding::new(&POD_UNSCHEDULABLE.meta, res, format!("{} Pending ({reason}){}", pods_phrase(&g.pods), detail(&g)))
                .evidence("reason", reason)
                .evidence("schedulerMessage", g.detail.clone())
                .evidence("podCount", g.pods.len())
                .evidence("pods", pod_sample(&g.pods))
                .remediation("Read the scheduler's message: lower requests, add nodes, or relax node selectors, affinity and tolerations."),
        );
    }
}

check! {
    /// ### What it does
    /// Reports containers that cannot be created or started: `CreateContainerConfigError`
    /// (missing ConfigMap, Secret or key), `CreateContainerError` and `RunContainerError`
    /// (bad command, mount or runtime failure).
    ///
    /// ### Why it matters
    /// The pod never runs; the message names exactly what is missing.
    ///
    /// ### Example
    /// `state.waiting: {reason: CreateContainerConfigError, message: 'secret "db-creds" not found'}`
    CONTAINER_START_FAILURE {
        code: "KD204",
        name: "container-start-failure",
        title: "Container cannot be created or started",
        severity: Critical,
        commands: [Diagnostics],
        run: container_start_failure,
    }
}

fn container_start_failure(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let groups = waiting_groups(
        ctx,
        &[
            "CreateContainerConfigError",
            "CreateContainerError",
            "RunContainerError",
        ],
    );
    emit(
        out,
        &CONTAINER_START_FAILURE.meta,
        groups,
        |c, reason, g| {
            let fix = if reason == "CreateContainerConfigError" {
                "Create the missing ConfigMap/Secret (or key) the pod references, or fix the reference."
            } else {
                "Check the container's command, volume mounts and security context; `kubectl describe pod` shows the runtime's error."
            };
            (
                format!(
                    "container {c} of {}: {reason}{}",
                    pods_phrase(&g.pods),
                    detail(g)
                ),
                fix.to_string(),
            )
        },
    );
}

fn oom(s: &ContainerStatus) -> bool {
    let is_oom = |t: &Option<Box<crate::model::StateDetail>>| {
        t.as_ref().is_some_and(|t| t.reason == "OOMKilled")
    };
    is_oom(&s.state.terminated) || is_oom(&s.last_state.terminated)
}

check! {
    /// ### What it does
    /// Reports containers whose current or last termination was `OOMKilled`, with their
    /// memory limit.
    ///
    /// ### Why it matters
    /// The kernel killed the process for exceeding its memory limit (or the node ran out of
    /// memory); requests in flight were lost.
    ///
    /// ### Example
    /// `lastState.terminated: {reason: OOMKilled, exitCode: 137}` with `limits.memory: 128Mi`.
    OOM_KILLED {
        code: "KD205",
        name: "oom-killed",
        title: "Container was OOMKilled",
        severity: Warning,
        commands: [Diagnostics],
        run: oom_killed,
    }
}

fn memory_limit(pod: &Pod, container: &str) -> Option<String> {
    pod.spec
        .containers
        .iter()
        .chain(pod.spec.init_containers.iter())
        .find(|c| c.name == container)
        .and_then(|c| c.resources.limits.memory.clone())
}

fn oom_killed(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let mut groups = Groups::default();
    for pod in &ctx.cluster.pods {
        for s in pod.all_statuses().filter(|s| oom(s)) {
            let g = groups.hit(ctx, pod, &s.name);
            g.max = g.max.max(u64::from(s.restart_count));
            if let Some(l) = memory_limit(pod, &s.name) {
                g.detail = l;
            }
        }
    }
    for ((res, container), g) in groups.0 {
        let limit = if g.detail.is_empty() {
            "no memory limit".to_string()
        } else {
            format!("memory limit {}", g.detail)
        };
        out.push(
            Finding::new(&OOM_KILLED.meta, res, format!("container {container} of {} was OOMKilled ({limit})", pods_phrase(&g.pods)))
                .evidence("container", container.clone())
                .evidence("memoryLimit", if g.detail.is_empty() { Value::Null } else { Value::from(g.detail.clone()) })
                .evidence("podCount", g.pods.len())
                .evidence("pods", pod_sample(&g.pods))
                .remediation("Raise the memory limit (and request) to the observed peak plus headroom, or fix the leak; check `kubectl top pod --containers`."),
        );
    }
}

check! {
    /// ### What it does
    /// Reports containers that restarted more than the warning threshold (default 5,
    /// `--restart-warning`) or the critical threshold (default 10, `--restart-critical`).
    /// Containers in `CrashLoopBackOff` right now are left to KD201, so one failure is not
    /// reported twice.
    ///
    /// ### Why it matters
    /// Frequent restarts mean lost requests and hidden instability even when the pod looks
    /// Running right now.
    ///
    /// ### Example
    /// `containerStatuses: [{name: api, restartCount: 14}]`.
    HIGH_RESTART_COUNT {
        code: "KD206",
        name: "high-restart-count",
        title: "Container restarts too often",
        severity: Warning,
        commands: [Diagnostics],
        run: high_restart_count,
    }
}

fn high_restart_count(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let t = ctx.thresholds;
    let mut groups = Groups::default();
    for pod in &ctx.cluster.pods {
        let restarting = pod.all_statuses().filter(|s| {
            s.restart_count > t.restart_warning
                && waiting_reason(s).is_none_or(|(reason, _)| reason != "CrashLoopBackOff")
        });
        for s in restarting {
            let g = groups.hit(ctx, pod, &s.name);
            g.max = g.max.max(u64::from(s.restart_count));
        }
    }
    for ((res, container), g) in groups.0 {
        let sev = if g.max > u64::from(t.restart_critical) {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let limit = if sev == Severity::Critical {
            t.restart_critical
        } else {
            t.restart_warning
        };
        out.push(
            Finding::new(&HIGH_RESTART_COUNT.meta, res, format!("container {container} of {} restarted {} times (more than {limit})", pods_phrase(&g.pods), g.max))
                .severity(sev)
                .evidence("container", container.clone())
                .evidence("restarts", g.max)
                .evidence("warningThreshold", t.restart_warning)
                .evidence("criticalThreshold", t.restart_critical)
                .evidence("podCount", g.pods.len())
                .evidence("pods", pod_sample(&g.pods))
                .remediation("Look at why it exits (`kubectl logs --previous`, last termination reason) and at liveness probe failures in the events."),
        );
    }
}
