//! The API server's own health endpoints and its metrics API, as recorded by a live read
//! (or a snapshot written by `sre k8s-doctor snapshot`). Plain snapshots carry neither, and
//! these checks say nothing about them.

use super::{check, Ctx};
use sre_core::{Finding, Resource};

check! {
    /// ### What it does
    /// Reports the API server's `/livez` or `/readyz` answering with an error, naming the
    /// individual checks that failed (`etcd`, `poststarthook/...`, `informer-sync`).
    ///
    /// ### Why it matters
    /// A live-but-not-ready API server is taken out of load balancers; a failing `etcd`
    /// check means writes fail. Clients see timeouts and 5xx long before nodes or pods look
    /// wrong.
    ///
    /// ### Example
    /// `/readyz?verbose` answers 500 with `[-]etcd failed: reason withheld`.
    API_SERVER_UNHEALTHY {
        code: "KD105",
        name: "api-server-unhealthy",
        title: "API server health endpoint failing",
        severity: Critical,
        commands: [Healthcheck],
        run: api_server_unhealthy,
    }
}

fn api_server_unhealthy(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some(capture) = &ctx.cluster.capture else {
        return;
    };
    for (endpoint, probe) in [("/livez", &capture.livez), ("/readyz", &capture.readyz)] {
        let Some(p) = probe.as_ref().filter(|p| !p.ok) else {
            continue;
        };
        let failed = if p.failed.is_empty() {
            "no individual check named".to_string()
        } else {
            format!("failing checks: {}", p.failed.join(", "))
        };
        out.push(
            Finding::new(
                &API_SERVER_UNHEALTHY.meta,
                Resource::object("APIServer", None, endpoint),
                format!("{endpoint} answers {} ({failed})", p.status),
            )
            .evidence("status", p.status)
            .evidence("failedChecks", p.failed.clone())
            .remediation(format!(
                "Read the details with `kubectl get --raw '{endpoint}?verbose'`; for `etcd`, check the etcd members and their disks; on a managed cluster, check the provider's status page."
            )),
        );
    }
}

check! {
    /// ### What it does
    /// Says, as information, that the API server does not serve `metrics.k8s.io` (no
    /// metrics-server, or its backend is down), so usage-based checks had no data.
    ///
    /// ### Why it matters
    /// Node load (KD210) and usage-aware advice need metrics; without them those checks are
    /// silent, which is not the same as healthy. `kubectl top` and the Horizontal Pod
    /// Autoscaler need the same API.
    ///
    /// ### Example
    /// `GET /apis/metrics.k8s.io/v1beta1` answers 404.
    METRICS_API_UNAVAILABLE {
        code: "KD106",
        name: "metrics-api-unavailable",
        title: "metrics.k8s.io not served",
        severity: Info,
        commands: [Healthcheck, Diagnostics],
        run: metrics_api_unavailable,
    }
}

fn metrics_api_unavailable(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if ctx
        .cluster
        .capture
        .as_ref()
        .is_some_and(|c| c.metrics_api == Some(false))
    {
        out.push(
            Finding::new(
                &METRICS_API_UNAVAILABLE.meta,
                Resource::object("APIService", None, "v1beta1.metrics.k8s.io"),
                "the API server does not serve metrics.k8s.io: node load and usage checks were skipped",
            )
            .remediation("Install metrics-server (`kubectl apply -f https://github.com/kubernetes-sigs/metrics-server/releases/latest/download/components.yaml`) or check `kubectl get apiservice v1beta1.metrics.k8s.io`."),
        );
    }
}
