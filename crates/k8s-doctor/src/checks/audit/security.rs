//! Security-context checks (Pod Security Standards "restricted" is the yardstick).

use super::{container_finding, resource};
use crate::checks::{check, Ctx};
use crate::model::{Container, Workload};
use sre_core::{Finding, Severity};

/// A container's setting, falling back to the pod's (for the fields both levels have).
fn effective<T: Copy>(
    w: &Workload,
    c: &Container,
    f: impl Fn(&crate::model::SecurityContext) -> Option<T>,
) -> Option<T> {
    c.security_context
        .as_deref()
        .and_then(&f)
        .or_else(|| w.spec.security_context.as_deref().and_then(&f))
}

const SNIPPET: &str = "  securityContext:\n    runAsNonRoot: true\n    allowPrivilegeEscalation: false\n    readOnlyRootFilesystem: true\n    capabilities: {drop: [ALL]}\n    seccompProfile: {type: RuntimeDefault}";

check! {
    /// ### What it does
    /// Reports containers that may run as root: neither `runAsNonRoot: true` nor a non-zero
    /// `runAsUser` at container or pod level (or `runAsUser: 0` explicitly).
    ///
    /// ### Why it matters
    /// Root in a container is one kernel bug or mount away from root on the node.
    ///
    /// ### Example
    /// A container with no `securityContext` and an image whose `USER` is root.
    RUN_AS_ROOT {
        code: "KD310",
        name: "run-as-root",
        title: "Container may run as root",
        severity: Warning,
        commands: [Audit],
        run: run_as_root,
    }
}

fn run_as_root(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for w in &ctx.cluster.workloads {
        for c in w.all_containers() {
            let non_root = effective(w, c, |s| s.run_as_non_root) == Some(true);
            let uid = effective(w, c, |s| s.run_as_user);
            let msg = match uid {
                Some(0) => "runAsUser is 0 (root)",
                Some(_) => continue,
                None if non_root => continue,
                None => "neither runAsNonRoot: true nor a non-root runAsUser is set",
            };
            out.push(
                container_finding(&RUN_AS_ROOT.meta, w, c, msg.into())
                    .remediation(format!("Run as an unprivileged user:\n{SNIPPET}")),
            );
        }
    }
}

check! {
    /// ### What it does
    /// Reports containers without `readOnlyRootFilesystem: true`.
    ///
    /// ### Why it matters
    /// A writable root filesystem lets an attacker drop tools and persist changes; a
    /// read-only one (with `emptyDir` for scratch space) removes that foothold.
    ///
    /// ### Example
    /// `securityContext: {runAsNonRoot: true}` without `readOnlyRootFilesystem`.
    WRITABLE_ROOT_FS {
        code: "KD311",
        name: "writable-root-filesystem",
        title: "Root filesystem is writable",
        severity: Warning,
        commands: [Audit],
        run: writable_root,
    }
}

fn writable_root(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for w in &ctx.cluster.workloads {
        for c in w.all_containers() {
            if c.security_context
                .as_deref()
                .and_then(|s| s.read_only_root_filesystem)
                != Some(true)
            {
                out.push(
                    container_finding(&WRITABLE_ROOT_FS.meta, w, c, "readOnlyRootFilesystem is not true".into())
                        .remediation("securityContext:\n  readOnlyRootFilesystem: true\n# and give the program somewhere to write:\nvolumeMounts: [{name: tmp, mountPath: /tmp}]\n# pod spec:\nvolumes: [{name: tmp, emptyDir: {}}]"),
                );
            }
        }
    }
}

check! {
    /// ### What it does
    /// Reports containers that do not set `allowPrivilegeEscalation: false` (the default
    /// allows it), and privileged containers, which always can.
    ///
    /// ### Why it matters
    /// setuid binaries and file capabilities let a process gain more privileges than it
    /// started with.
    ///
    /// ### Example
    /// A container with no `securityContext`.
    PRIVILEGE_ESCALATION {
        code: "KD312",
        name: "privilege-escalation-allowed",
        title: "Privilege escalation allowed",
        severity: Warning,
        commands: [Audit],
        run: privilege_escalation,
    }
}

fn privilege_escalation(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for w in &ctx.cluster.workloads {
        for c in w.all_containers() {
            if c.security_context
                .as_deref()
                .and_then(|s| s.allow_privilege_escalation)
                != Some(false)
            {
                out.push(
                    container_finding(
                        &PRIVILEGE_ESCALATION.meta,
                        w,
                        c,
                        "allowPrivilegeEscalation is not false".into(),
                    )
                    .remediation("securityContext:\n  allowPrivilegeEscalation: false"),
                );
            }
        }
    }
}

check! {
    /// ### What it does
    /// Reports privileged containers (`privileged: true`).
    ///
    /// ### Why it matters
    /// A privileged container has every capability and every device of the node: it is
    /// root on the node.
    ///
    /// ### Example
    /// `securityContext: {privileged: true}`.
    PRIVILEGED {
        code: "KD313",
        name: "privileged-container",
        title: "Privileged container",
        severity: Critical,
        commands: [Audit],
        run: privileged,
    }
}

fn privileged(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for w in &ctx.cluster.workloads {
        for c in w.all_containers() {
            if c.security_context.as_deref().and_then(|s| s.privileged) == Some(true) {
                out.push(
                    container_finding(&PRIVILEGED.meta, w, c, "privileged: true".into())
                        .remediation("securityContext:\n  privileged: false\n  capabilities:\n    drop: [ALL]\n    add: [NET_ADMIN]   # only the capability the program really needs"),
                );
            }
        }
    }
}

/// Capabilities that amount to (near) root on the node.
const DANGEROUS: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "NET_ADMIN",
    "SYS_PTRACE",
    "SYS_MODULE",
    "SYS_RAWIO",
    "DAC_READ_SEARCH",
    "SYS_BOOT",
    "BPF",
    "PERFMON",
    "NET_RAW",
];

check! {
    /// ### What it does
    /// Reports added capabilities other than `NET_BIND_SERVICE` (the only one Pod Security
    /// Standards "restricted" allows): critical for dangerous ones (`SYS_ADMIN`,
    /// `NET_ADMIN`, `SYS_PTRACE`, `SYS_MODULE`, `ALL`, ...), warning for the others
    /// (`NET_RAW`, `SYS_TIME`, ...); and containers that do not drop `ALL` (warning).
    ///
    /// ### Why it matters
    /// `SYS_ADMIN` alone allows mounting filesystems and escaping the container; the
    /// runtime's default set still includes capabilities most programs never use.
    ///
    /// ### Example
    /// `capabilities: {add: [SYS_ADMIN]}`, or no `capabilities` at all.
    CAPABILITIES {
        code: "KD314",
        name: "dangerous-capabilities",
        title: "Dangerous capabilities added or ALL not dropped",
        severity: Critical,
        commands: [Audit],
        run: capabilities,
    }
}

fn capabilities(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for w in &ctx.cluster.workloads {
        for c in w.all_containers() {
            let caps = c
                .security_context
                .as_deref()
                .and_then(|s| s.capabilities.clone())
                .unwrap_or_default();
            let norm = |s: &String| {
                let up = s.to_ascii_uppercase();
                up.strip_prefix("CAP_").map(str::to_string).unwrap_or(up)
            };
            // Pod Security Standards "restricted" allows adding only NET_BIND_SERVICE.
            let added: Vec<String> = caps
                .add
                .iter()
                .map(norm)
                .filter(|a| a != "NET_BIND_SERVICE")
                .collect();
            if !added.is_empty() {
                let sev = if added
                    .iter()
                    .any(|a| DANGEROUS.contains(&a.as_str()) && a != "NET_RAW")
                {
                    Severity::Critical
                } else {
                    Severity::Warning
                };
                out.push(
                    container_finding(&CAPABILITIES.meta, w, c, format!("adds capabilities {}", added.join(", ")))
                        .severity(sev)
                        .evidence("added", added.clone())
                        .remediation("Drop ALL and add back only what the program needs (e.g. NET_BIND_SERVICE to bind ports below 1024)."),
                );
            }
            if !caps.drop.iter().any(|d| norm(d) == "ALL")
                && c.security_context.as_deref().and_then(|s| s.privileged) != Some(true)
            {
                out.push(
                    container_finding(
                        &CAPABILITIES.meta,
                        w,
                        c,
                        "does not drop ALL capabilities".into(),
                    )
                    .severity(Severity::Warning)
                    .remediation("securityContext:\n  capabilities:\n    drop: [ALL]"),
                );
            }
        }
    }
}

check! {
    /// ### What it does
    /// Reports pods that share the node's namespaces: `hostNetwork`, `hostPID` or
    /// `hostIPC`.
    ///
    /// ### Why it matters
    /// With `hostPID` a container sees and can signal every process on the node; with
    /// `hostNetwork` it can sniff and bind node traffic and reach the kubelet.
    ///
    /// ### Example
    /// `spec: {hostNetwork: true}` on an application Deployment.
    HOST_NAMESPACES {
        code: "KD315",
        name: "host-namespaces",
        title: "Pod shares host namespaces",
        severity: Critical,
        commands: [Audit],
        run: host_namespaces,
    }
}

fn host_namespaces(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for w in &ctx.cluster.workloads {
        let shared: Vec<&str> = [
            ("hostNetwork", w.spec.host_network),
            ("hostPID", w.spec.host_pid),
            ("hostIPC", w.spec.host_ipc),
        ]
        .into_iter()
        .filter_map(|(n, on)| on.then_some(n))
        .collect();
        if !shared.is_empty() {
            out.push(
                Finding::new(&HOST_NAMESPACES.meta, resource(w), format!("shares the node's namespaces: {}", shared.join(", ")))
                    .evidence("namespaces", shared.clone())
                    .remediation("# pod spec (if this is a node agent that needs them, suppress the finding with a reason):\nhostNetwork: false\nhostPID: false\nhostIPC: false"),
            );
        }
    }
}

/// Host paths that expose the node: the root, its configuration, container runtime
/// sockets, kubelet state.
const SENSITIVE: &[&str] = &[
    "/",
    "/etc",
    "/root",
    "/home",
    "/proc",
    "/sys",
    "/boot",
    "/dev",
    "/var/lib/kubelet",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/containerd/containerd.sock",
    "/run/containerd/containerd.sock",
    "/var/run/crio/crio.sock",
    "/run/crio/crio.sock",
    "/var/run",
    "/run",
    "/var/run/containerd",
    "/run/containerd",
    "/var/run/crio",
    "/run/crio",
    "/var/run/docker",
];

/// Trees whose every subdirectory is sensitive too (`/etc/kubernetes`, kubelet PKI).
const SENSITIVE_TREES: &[&str] = &[
    "/etc",
    "/root",
    "/proc",
    "/sys",
    "/boot",
    "/var/lib/kubelet",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/lib/etcd",
];

fn sensitive(path: &str) -> bool {
    SENSITIVE.contains(&path)
        || SENSITIVE_TREES.iter().any(|t| {
            path.strip_prefix(t)
                .is_some_and(|rest| rest.starts_with('/'))
        })
        || path.ends_with(".sock")
}

check! {
    /// ### What it does
    /// Reports `hostPath` volumes of sensitive paths: `/`, `/etc`, `/root`, `/proc`, `/sys`
    /// and everything below them, kubelet, etcd and runtime state, runtime socket
    /// directories, and any `*.sock` (docker, containerd, CRI-O sockets).
    ///
    /// ### Why it matters
    /// A container runtime socket is root on the node; `/etc` holds credentials and the
    /// kubelet's configuration.
    ///
    /// ### Example
    /// `volumes: [{name: docker, hostPath: {path: /var/run/docker.sock}}]`.
    SENSITIVE_HOST_PATH {
        code: "KD316",
        name: "sensitive-host-path",
        title: "Sensitive host path mounted",
        severity: Critical,
        commands: [Audit],
        run: sensitive_host_path,
    }
}

fn sensitive_host_path(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for w in &ctx.cluster.workloads {
        for v in &w.spec.volumes {
            let Some(hp) = &v.host_path else { continue };
            let path = hp.path.trim_end_matches('/');
            let path = if path.is_empty() { "/" } else { path };
            if sensitive(path) {
                out.push(
                    Finding::new(&SENSITIVE_HOST_PATH.meta, resource(w), format!("volume {} mounts the host path {path}", v.name))
                        .evidence("volume", v.name.clone())
                        .evidence("path", path)
                        .remediation("# replace the hostPath volume with a ConfigMap, Secret, emptyDir or PersistentVolumeClaim, e.g.\nvolumes:\n- name: data\n  emptyDir: {}"),
                );
            }
        }
    }
}

check! {
    /// ### What it does
    /// Reports containers without a seccomp profile (`RuntimeDefault` or `Localhost`, at
    /// container or pod level) or with `Unconfined`.
    ///
    /// ### Why it matters
    /// Seccomp blocks the rarely used syscalls most container escapes rely on; without a
    /// profile every syscall is allowed.
    ///
    /// ### Example
    /// No `seccompProfile` anywhere in the pod spec.
    SECCOMP {
        code: "KD317",
        name: "seccomp-unconfined",
        title: "No seccomp profile",
        severity: Warning,
        commands: [Audit],
        run: seccomp,
    }
}

fn seccomp(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for w in &ctx.cluster.workloads {
        for c in w.all_containers() {
            let profile = c
                .security_context
                .as_deref()
                .and_then(|s| s.seccomp_profile.clone())
                .or_else(|| {
                    w.spec
                        .security_context
                        .as_deref()
                        .and_then(|s| s.seccomp_profile.clone())
                });
            let msg = match profile.as_ref().map(|p| p.type_.as_str()) {
                Some("RuntimeDefault" | "Localhost") => continue,
                Some("Unconfined") => "seccompProfile is Unconfined",
                _ => "no seccompProfile",
            };
            out.push(
                container_finding(&SECCOMP.meta, w, c, msg.into())
                    .remediation("securityContext:\n  seccompProfile: {type: RuntimeDefault}"),
            );
        }
    }
}

check! {
    /// ### What it does
    /// Reports workloads that run under the namespace's `default` service account with its
    /// token automounted: `automountServiceAccountToken` not false on the pod, nor (when the
    /// pod does not say) on the ServiceAccount.
    ///
    /// ### Why it matters
    /// A workload that uses the `default` account needs no API access, yet every pod gets a
    /// token that an attacker in the container can use against the API server.
    ///
    /// ### Example
    /// A Deployment without `serviceAccountName` and without
    /// `automountServiceAccountToken: false`.
    AUTOMOUNT_TOKEN {
        code: "KD318",
        name: "automounted-service-account-token",
        title: "Service account token mounted where not needed",
        severity: Info,
        commands: [Audit],
        run: automount_token,
    }
}

fn automount_token(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for w in &ctx.cluster.workloads {
        let sa = if w.spec.service_account_name.is_empty() {
            "default"
        } else {
            w.spec.service_account_name.as_str()
        };
        // The pod's setting wins; without one, the ServiceAccount's applies.
        let disabled = match w.spec.automount_service_account_token {
            Some(v) => !v,
            None => ctx
                .cluster
                .no_automount_accounts
                .contains(&(w.namespace.clone(), sa.to_string())),
        };
        if sa == "default" && !disabled {
            out.push(
                Finding::new(&AUTOMOUNT_TOKEN.meta, resource(w), "runs as the default service account with its API token mounted")
                    .remediation("Set automountServiceAccountToken: false in the pod spec (or give the workload its own service account if it calls the API)."),
            );
        }
    }
}
