//! Version skew under the Kubernetes version skew policy
//! (<https://kubernetes.io/releases/version-skew-policy/>).

use super::components::component_of;
use super::{check, Ctx};
use crate::version::Version;
use sre_core::{Finding, Resource, Severity};

/// The API server versions the skew rules compare against. In an HA control plane in the
/// middle of an upgrade the instances differ: "not newer than the API server" is judged
/// against the oldest instance (`min`), "at most N older" against the newest (`max`), as
/// the version skew policy says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRange {
    pub min: Version,
    pub max: Version,
}

/// From `kube-apiserver` pod images and the `kubectl version` document.
pub fn api_server_range(ctx: &Ctx<'_>) -> Option<ApiRange> {
    let doc = ctx
        .cluster
        .server_version
        .as_deref()
        .and_then(Version::parse);
    let versions: Vec<Version> = ctx
        .cluster
        .pods
        .iter()
        .filter(|p| component_of(p) == Some("kube-apiserver") && !p.is_terminal())
        .flat_map(|p| p.spec.containers.iter().map(|c| c.image.as_str()))
        .filter_map(Version::from_image)
        .chain(doc)
        .collect();
    Some(ApiRange {
        min: *versions.iter().min()?,
        max: *versions.iter().max()?,
    })
}

/// The version to show as "the" API server version: `kubectl version`'s, else the newest
/// instance's.
pub fn api_server_version(ctx: &Ctx<'_>) -> Option<Version> {
    ctx.cluster
        .server_version
        .as_deref()
        .and_then(Version::parse)
        .or_else(|| api_server_range(ctx).map(|r| r.max))
}

/// Minor versions a node agent may lag behind the API server: 3 since Kubernetes 1.28's
/// policy (applied from API server 1.25 on, as the policy does), 2 before.
fn allowed_agent_lag(api: Version) -> i64 {
    if api.major == 1 && api.minor < 25 {
        2
    } else {
        3
    }
}

check! {
    /// ### What it does
    /// Says, as information, that the API server version is unknown, so the version skew
    /// checks were not run. Add the output of `kubectl version -o json` to the snapshot.
    ///
    /// ### Why it matters
    /// Skew can only be judged against the API server's version.
    ///
    /// ### Example
    /// A snapshot of nodes and pods of a managed cluster, without a version file.
    SERVER_VERSION_UNKNOWN {
        code: "KD120",
        name: "server-version-unknown",
        title: "API server version unknown",
        severity: Info,
        commands: [Healthcheck],
        run: server_version_unknown,
    }
}

fn server_version_unknown(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if api_server_version(ctx).is_none() && !ctx.cluster.nodes.is_empty() {
        out.push(
            Finding::new(
                &SERVER_VERSION_UNKNOWN.meta,
                Resource::cluster(),
                "the API server version is unknown: version skew checks were skipped",
            )
            .remediation("Add `kubectl version -o json > version.json` to the snapshot."),
        );
    }
}

/// Checks a node agent (kubelet, kube-proxy) against the API server: not newer than the
/// oldest instance (critical: an agent newer than the API server may use APIs the server
/// does not have) and at most 3 (2 before 1.25) minor versions older than the newest
/// (warning: unsupported, not necessarily broken).
fn agent_skew(agent: &str, v: Version, api: ApiRange) -> Option<(Severity, String, i64)> {
    let ahead = v.minors_ahead_of(api.min);
    let behind = api.max.minors_ahead_of(v);
    let allowed = allowed_agent_lag(api.max);
    if ahead > 0 {
        let min = api.min;
        Some((Severity::Critical, format!("{agent} {v} is newer than the API server {min} by {ahead} minor version(s); {agent} must not be newer than kube-apiserver"), ahead))
    } else if behind > allowed {
        let max = api.max;
        Some((Severity::Warning, format!("{agent} {v} is {behind} minor versions older than the API server {max}; at most {allowed} are supported"), -behind))
    } else {
        None
    }
}

check! {
    /// ### What it does
    /// Compares every node's kubelet version with the API server: the kubelet must not be
    /// newer (critical) and may be at most three minor versions older (warning).
    ///
    /// ### Why it matters
    /// Out-of-policy skew is untested and unsupported; a kubelet newer than the API server
    /// can fail in subtle ways. Upgrades must go control plane first, then nodes.
    ///
    /// ### Example
    /// API server `v1.29.2`, node `worker-7` kubelet `v1.25.9` (4 minors older).
    KUBELET_VERSION_SKEW {
        code: "KD121",
        name: "kubelet-version-skew",
        title: "Kubelet version outside the skew policy",
        severity: Critical,
        commands: [Healthcheck],
        run: kubelet_version_skew,
    }
}

fn kubelet_version_skew(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some(api) = api_server_range(ctx) else {
        return;
    };
    for n in &ctx.cluster.nodes {
        let Some(v) = Version::parse(&n.status.node_info.kubelet_version) else {
            continue;
        };
        if let Some((sev, msg, ahead)) = agent_skew("kubelet", v, api) {
            out.push(
                Finding::new(
                    &KUBELET_VERSION_SKEW.meta,
                    Resource::object("Node", None, &n.meta.name),
                    msg,
                )
                .severity(sev)
                .evidence("kubeletVersion", v.to_string())
                .evidence("apiServerVersion", api.max.to_string())
                .evidence("minorsAhead", ahead)
                .remediation(if ahead > 0 {
                    "Upgrade the control plane first, or downgrade this node's kubelet."
                } else {
                    "Upgrade the node (drain, upgrade kubelet, uncordon)."
                }),
            );
        }
    }
}

check! {
    /// ### What it does
    /// Compares kube-proxy versions (from `nodeInfo.kubeProxyVersion` or the kube-proxy pod
    /// image) with the API server (not newer; at most three minors older) and with the
    /// kubelet on the same node (at most three minors apart).
    ///
    /// ### Why it matters
    /// kube-proxy programs service routing on every node; an out-of-policy version may
    /// mis-handle newer EndpointSlice fields.
    ///
    /// ### Example
    /// API server `v1.29.0`, kube-proxy image `registry.k8s.io/kube-proxy:v1.30.1`.
    KUBE_PROXY_VERSION_SKEW {
        code: "KD122",
        name: "kube-proxy-version-skew",
        title: "kube-proxy version outside the skew policy",
        severity: Critical,
        commands: [Healthcheck],
        run: kube_proxy_version_skew,
    }
}

fn kube_proxy_version_skew(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some(api) = api_server_range(ctx) else {
        return;
    };
    let mut seen = std::collections::HashSet::new();
    let nodes: std::collections::HashMap<&str, &crate::model::Node> = ctx
        .cluster
        .nodes
        .iter()
        .map(|n| (n.meta.name.as_str(), n))
        .collect();
    // kube-proxy pods carry the real version; nodeInfo.kubeProxyVersion is deprecated and
    // often just mirrors the kubelet.
    for p in ctx
        .cluster
        .pods
        .iter()
        .filter(|p| component_of(p) == Some("kube-proxy"))
    {
        let Some(v) = p
            .spec
            .containers
            .iter()
            .find_map(|c| Version::from_image(&c.image))
        else {
            continue;
        };
        seen.insert(p.spec.node_name.clone());
        let kubelet = nodes
            .get(p.spec.node_name.as_str())
            .and_then(|n| Version::parse(&n.status.node_info.kubelet_version));
        push_proxy(
            out,
            Resource::object("Pod", Some("kube-system"), &p.meta.name),
            v,
            api,
            kubelet,
        );
    }
    for n in ctx
        .cluster
        .nodes
        .iter()
        .filter(|n| !seen.contains(&n.meta.name))
    {
        let Some(v) = Version::parse(&n.status.node_info.kube_proxy_version) else {
            continue;
        };
        let kubelet = Version::parse(&n.status.node_info.kubelet_version);
        // The deprecated field usually just repeats the kubelet's version (also on nodes
        // with no kube-proxy at all); then KD121 already says everything.
        if kubelet == Some(v) {
            continue;
        }
        push_proxy(
            out,
            Resource::object("Node", None, &n.meta.name),
            v,
            api,
            kubelet,
        );
    }
}

fn push_proxy(
    out: &mut Vec<Finding>,
    res: Resource,
    v: Version,
    api: ApiRange,
    kubelet: Option<Version>,
) {
    let mut hit = agent_skew("kube-proxy", v, api);
    if hit.is_none() {
        if let Some(k) = kubelet {
            let d = v.minors_ahead_of(k);
            if d.abs() > 3 {
                hit = Some((Severity::Warning, format!("kube-proxy {v} is {} minor versions from the node's kubelet {k}; at most 3 are supported", d.abs()), d));
            }
        }
    }
    if let Some((sev, msg, ahead)) = hit {
        out.push(
            Finding::new(&KUBE_PROXY_VERSION_SKEW.meta, res, msg)
                .severity(sev)
                .evidence("kubeProxyVersion", v.to_string())
                .evidence("apiServerVersion", api.max.to_string())
                .evidence("minorsAhead", ahead)
                .remediation("Upgrade kube-proxy together with the node, after the control plane."),
        );
    }
}

check! {
    /// ### What it does
    /// Checks kube-controller-manager and kube-scheduler versions (from their pod images)
    /// against the API server: not newer (critical) and at most one minor older (warning);
    /// and API server instances of an HA control plane against each other (at most one
    /// minor apart).
    ///
    /// ### Why it matters
    /// These components talk only to the API server and are supported only within one minor
    /// version of it; a half-finished control-plane upgrade leaves them out of policy.
    ///
    /// ### Example
    /// `kube-apiserver:v1.29.2` with `kube-scheduler:v1.27.6` (two minors older).
    CONTROL_PLANE_VERSION_SKEW {
        code: "KD123",
        name: "control-plane-version-skew",
        title: "Control-plane version outside the skew policy",
        severity: Critical,
        commands: [Healthcheck],
        run: control_plane_version_skew,
    }
}

fn control_plane_version_skew(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some(api) = api_server_range(ctx) else {
        return;
    };
    for p in &ctx.cluster.pods {
        let Some(comp) = component_of(p) else {
            continue;
        };
        let Some(v) = p
            .spec
            .containers
            .iter()
            .find_map(|c| Version::from_image(&c.image))
        else {
            continue;
        };
        let (min, max) = (api.min, api.max);
        let ahead = v.minors_ahead_of(min);
        let behind = max.minors_ahead_of(v);
        let hit = match comp {
            "kube-controller-manager" | "kube-scheduler" => {
                if ahead > 0 {
                    Some((Severity::Critical, format!("{comp} {v} is newer than the API server {min}; it must not be newer")))
                } else if behind > 1 {
                    Some((Severity::Warning, format!("{comp} {v} is {behind} minor versions older than the API server {max}; at most 1 is supported")))
                } else {
                    None
                }
            }
            "kube-apiserver" if ahead > 1 => Some((Severity::Warning, format!("kube-apiserver instances differ by {ahead} minor versions ({v} vs {min}); HA API servers may differ by at most 1"))),
            _ => None,
        };
        if let Some((sev, msg)) = hit {
            out.push(
                Finding::new(&CONTROL_PLANE_VERSION_SKEW.meta, Resource::object("Pod", Some("kube-system"), &p.meta.name), msg)
                    .severity(sev)
                    .evidence("component", comp)
                    .evidence("version", v.to_string())
                    .evidence("apiServerVersion", max.to_string())
                    .evidence("minorsAhead", ahead)
                    .remediation("Finish the control-plane upgrade: all control-plane components on the same minor version (`kubeadm upgrade apply/node`)."),
            );
        }
    }
}
