//! A realistic k8s-doctor report, built the way a tool builds one.

use sre_core::{CheckMeta, Finding, Report, Resource, Severity};
use sre_render::{render, Format, RenderOptions};
use std::time::{Duration, UNIX_EPOCH};

pub const NODE_NOT_READY: CheckMeta = CheckMeta {
    code: "KD101",
    name: "node-not-ready",
    title: "Node is not Ready",
    severity: Severity::Critical,
    aliases: &[],
};
pub const NODE_PRESSURE: CheckMeta = CheckMeta {
    code: "KD102",
    name: "node-pressure",
    title: "Node reports resource pressure",
    severity: Severity::Warning,
    aliases: &[],
};
pub const POD_CRASHLOOP: CheckMeta = CheckMeta {
    code: "KD201",
    name: "pod-crashloop",
    title: "Pod is crash-looping",
    severity: Severity::Critical,
    aliases: &[],
};
pub const POD_PENDING: CheckMeta = CheckMeta {
    code: "KD202",
    name: "pod-pending",
    title: "Pod is stuck in Pending",
    severity: Severity::Warning,
    aliases: &[],
};
pub const POD_RESTARTS: CheckMeta = CheckMeta {
    code: "KD203",
    name: "pod-restarts",
    title: "Container restarted recently",
    severity: Severity::Info,
    aliases: &[],
};
/// Runs and finds nothing: must show as passing everywhere.
pub const PVC_UNBOUND: CheckMeta = CheckMeta {
    code: "KD301",
    name: "pvc-unbound",
    title: "PersistentVolumeClaim is not bound",
    severity: Severity::Warning,
    aliases: &[],
};
pub const IMAGE_LATEST: CheckMeta = CheckMeta {
    code: "KD401",
    name: "image-latest-tag",
    title: "Manifest uses a mutable image tag",
    severity: Severity::Warning,
    aliases: &[],
};
/// Deliberately not registered with `add_checks`: renderers must still show its finding.
pub const VERSION_SUPPORT: CheckMeta = CheckMeta {
    code: "KD601",
    name: "version-unsupported",
    title: "Cluster version is out of upstream support",
    severity: Severity::Warning,
    aliases: &[],
};

/// 2023-11-14T22:13:20Z.
pub const GENERATED: u64 = 1_700_000_000;

/// The fixture: every severity, namespaced and cluster-scoped objects, the cluster itself, a
/// file with line and column, evidence, remediation, a multi-line message, characters that
/// need escaping, two findings for the same object, a passing check, an unregistered code,
/// and an error that makes the report partial.
///
/// Target and evidence keys are inserted in sorted order so the output is the same whether or
/// not serde_json's `preserve_order` feature is enabled somewhere in the workspace.
pub fn report() -> Report {
    let mut r = Report::new(
        "k8s-doctor",
        "healthcheck",
        UNIX_EPOCH + Duration::from_secs(GENERATED),
    );
    r.target.insert("context".into(), "prod-eu1".into());
    r.target.insert(
        "namespaces".into(),
        serde_json::json!(["kube-system", "shop"]),
    );
    r.target.insert("nodes".into(), 3.into());
    r.target.insert("pods".into(), 42.into());
    r.target.insert("serverVersion".into(), "v1.25.16".into());
    r.target.insert("source".into(), "kubeconfig".into());
    r.add_checks(&[
        NODE_NOT_READY,
        NODE_PRESSURE,
        POD_CRASHLOOP,
        POD_PENDING,
        POD_RESTARTS,
        PVC_UNBOUND,
        IMAGE_LATEST,
    ]);

    r.push(
        Finding::new(&NODE_NOT_READY, Resource::object("Node", None, "node-3"), "kubelet stopped posting node status 4m12s ago")
            .evidence("condition", "Ready")
            .evidence("lastHeartbeatSeconds", 252)
            .evidence("status", "Unknown")
            .remediation("Check the kubelet on node-3 (systemctl status kubelet); cordon and drain the node if it does not recover."),
    );
    r.push(
        Finding::new(
            &POD_CRASHLOOP,
            Resource::object("Pod", Some("shop"), "cart-7d9f8c6b5-x2x7q"),
            "container cart is in CrashLoopBackOff (14 restarts in 30m)",
        )
        .evidence("container", "cart")
        .evidence("reason", "CrashLoopBackOff")
        .evidence("restarts", 14)
        .remediation(
            "Read the previous logs: kubectl logs -n shop cart-7d9f8c6b5-x2x7q -c cart --previous",
        ),
    );
    r.push(
        Finding::new(
            &POD_CRASHLOOP,
            Resource::object("Pod", Some("shop"), "cart-7d9f8c6b5-x2x7q"),
            "container envoy is in CrashLoopBackOff (3 restarts in 30m)",
        )
        .evidence("container", "envoy")
        .evidence("reason", "CrashLoopBackOff")
        .evidence("restarts", 3),
    );
    r.push(
        Finding::new(
            &NODE_PRESSURE,
            Resource::object("Node", None, "node-2"),
            "conditions: MemoryPressure=True | DiskPressure=False",
        )
        .evidence("condition", "MemoryPressure"),
    );
    r.push(
        Finding::new(
            &POD_PENDING,
            Resource::object("Pod", Some("shop"), "checkout-5c6d7f-abcde"),
            "Pending for 22m; scheduler says:\n0/3 nodes are available: 3 Insufficient cpu.",
        )
        .evidence("pendingSeconds", 1320)
        .remediation("Lower the CPU request of checkout or add node capacity."),
    );
    r.push(
        Finding::new(
            &IMAGE_LATEST,
            Resource::file("deploy/web.yaml", Some(23), Some(18)),
            "image \"nginx:latest\" uses a mutable tag; pods may run different code after a restart",
        )
        .evidence("image", "nginx:latest")
        .remediation("Pin the image by digest: nginx:1.25.3@sha256:<digest> & redeploy"),
    );
    r.push(
        Finding::new(
            &VERSION_SUPPORT,
            Resource::cluster(),
            "server version v1.25.16 is no longer supported upstream",
        )
        .evidence("serverVersion", "v1.25.16"),
    );
    r.push(
        Finding::new(
            &POD_RESTARTS,
            Resource::object("Pod", Some("kube-system"), "coredns-5d78c9869d-4xk2p"),
            "container coredns restarted 2 times in the last hour",
        )
        .evidence("restarts", 2),
    );
    r.error(
        "metrics.k8s.io/v1beta1",
        "the server could not find the requested resource (is metrics-server installed?)",
    );
    r.finish();
    r
}

/// A clean run: checks ran, nothing found, nothing failed.
pub fn clean_report() -> Report {
    let mut r = Report::new(
        "k8s-doctor",
        "healthcheck",
        UNIX_EPOCH + Duration::from_secs(GENERATED),
    );
    r.target.insert("source".into(), "kubeconfig".into());
    r.add_checks(&[NODE_NOT_READY, PVC_UNBOUND]);
    r.finish();
    r
}

pub fn render_plain(report: &Report, format: Format) -> String {
    render(report, format, &RenderOptions::default()).expect("rendering the report failed")
}

#[test]
fn fixture_is_what_the_tests_assume() {
    let r = report();
    assert!(r.partial);
    assert_eq!(
        (r.summary.critical, r.summary.warning, r.summary.info),
        (3, 4, 1)
    );
    assert_eq!(r.generated_at, "2023-11-14T22:13:20Z");
    assert!(r.findings_for(PVC_UNBOUND.code).next().is_none());
    assert!(!r.checks.iter().any(|c| c.code == VERSION_SUPPORT.code));
}
