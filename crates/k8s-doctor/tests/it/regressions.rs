//! False positives and loader mishaps found in review, pinned so they stay fixed.

use crate::lines;
use k8s_doctor::checks::{Command, Thresholds};
use sre_core::{Report, Severity};
use std::time::UNIX_EPOCH;

fn run_yaml(command: Command, yaml: &str) -> Report {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("s.yaml"), yaml).expect("write");
    k8s_doctor::report(
        command,
        &[dir.path().to_path_buf()],
        &[],
        Thresholds::default(),
        UNIX_EPOCH,
    )
    .expect("loads")
}

fn codes(r: &Report, code: &str) -> Vec<(Severity, String)> {
    r.findings
        .iter()
        .filter(|f| f.code == code)
        .map(|f| (f.severity, f.message.clone()))
        .collect()
}

const READY: &str = "status:\n  phase: Running\n  conditions: [{type: Ready, status: \"True\"}]\n";

#[test]
fn k3s_control_plane_without_static_pods_is_not_missing_components() {
    let yaml = format!(
        "kind: Node\nmetadata:\n  name: k3s-server\n  labels: {{node-role.kubernetes.io/control-plane: \"true\", node-role.kubernetes.io/master: \"true\"}}\nstatus:\n  conditions: [{{type: Ready, status: \"True\"}}]\n---\nkind: Pod\nmetadata:\n  name: coredns-6799fbcd5-x2x2x\n  namespace: kube-system\n  labels: {{k8s-app: kube-dns}}\nspec: {{nodeName: k3s-server, containers: [{{name: coredns, image: rancher/mirrored-coredns-coredns:1.10.1}}]}}\n{READY}"
    );
    let r = run_yaml(Command::Healthcheck, &yaml);
    assert!(
        r.findings.iter().all(|f| f.severity != Severity::Critical),
        "{}",
        lines(&r)
    );
    let info = codes(&r, "KD110");
    assert_eq!(info.len(), 1, "{}", lines(&r));
    assert!(info[0].1.contains("k3s"), "{}", info[0].1);
}

#[test]
fn lookalike_pods_are_not_components_and_evicted_pods_do_not_count() {
    let yaml = format!(
        "kind: Pod\nmetadata:\n  name: etcd-backup-28471230-abcde\n  namespace: kube-system\n  ownerReferences: [{{kind: Job, name: etcd-backup-28471230, controller: true}}]\nspec: {{containers: [{{name: b, image: backup:1}}]}}\nstatus: {{phase: Succeeded}}\n---\nkind: Pod\nmetadata:\n  name: coredns-autoscaler-5c6b7d8f9-zzzzz\n  namespace: kube-system\n  ownerReferences: [{{kind: ReplicaSet, name: coredns-autoscaler-5c6b7d8f9, controller: true}}]\nspec: {{containers: [{{name: a, image: autoscaler:1}}]}}\nstatus: {{phase: Running, conditions: [{{type: Ready, status: \"False\"}}]}}\n---\nkind: Pod\nmetadata:\n  name: coredns-76f75df574-aaaaa\n  namespace: kube-system\n  labels: {{k8s-app: kube-dns}}\nspec: {{containers: [{{name: coredns, image: coredns:1}}]}}\n{READY}---\nkind: Pod\nmetadata:\n  name: coredns-76f75df574-evict\n  namespace: kube-system\n  labels: {{k8s-app: kube-dns}}\nspec: {{containers: [{{name: coredns, image: coredns:1}}]}}\nstatus: {{phase: Failed, reason: Evicted}}\n---\nkind: Node\nmetadata: {{name: n1}}\nstatus:\n  conditions: [{{type: Ready, status: \"True\"}}]\n"
    );
    let r = run_yaml(Command::Healthcheck, &yaml);
    assert!(codes(&r, "KD112").is_empty(), "{}", lines(&r));
    assert!(
        !r.findings
            .iter()
            .any(|f| f.code != "KD110" && f.message.contains("etcd")),
        "{}",
        lines(&r)
    );
}

#[test]
fn skew_uses_oldest_api_server_for_newer_and_newest_for_older() {
    let pod = |name: &str, comp: &str, img: &str| {
        format!("---\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: kube-system\n  labels: {{component: {comp}}}\n  ownerReferences: [{{kind: Node, name: cp, controller: true}}]\nspec: {{nodeName: cp, containers: [{{name: c, image: \"registry.k8s.io/{comp}:{img}\"}}]}}\n{READY}")
    };
    let mut yaml = String::from(
        "kind: Node\nmetadata: {name: old}\nstatus: {nodeInfo: {kubeletVersion: v1.26.3}}\n",
    );
    yaml += &pod("kube-apiserver-cp-1", "kube-apiserver", "v1.30.1");
    yaml += &pod("kube-apiserver-cp-2", "kube-apiserver", "v1.29.4");
    yaml += &pod(
        "kube-controller-manager-cp-1",
        "kube-controller-manager",
        "v1.28.9",
    );
    let r = run_yaml(Command::Healthcheck, &yaml);
    let kubelet = codes(&r, "KD121");
    assert_eq!(kubelet.len(), 1, "{}", lines(&r));
    assert!(
        kubelet[0]
            .1
            .contains("4 minor versions older than the API server v1.30.1"),
        "{}",
        kubelet[0].1
    );
    assert!(
        codes(&r, "KD123")
            .iter()
            .any(|(_, m)| m.contains("kube-controller-manager v1.28.9 is 2 minor")),
        "{}",
        lines(&r)
    );
}

#[test]
fn before_1_25_kubelets_may_lag_only_two_minors() {
    let yaml = "{\"serverVersion\": {\"gitVersion\": \"v1.24.17\"}}";
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("version.json"), yaml).expect("write");
    std::fs::write(
        dir.path().join("n.yaml"),
        "kind: Node\nmetadata: {name: n}\nstatus: {nodeInfo: {kubeletVersion: v1.21.14}}\n",
    )
    .expect("write");
    let r = k8s_doctor::report(
        Command::Healthcheck,
        &[dir.path().to_path_buf()],
        &[],
        Thresholds::default(),
        UNIX_EPOCH,
    )
    .expect("loads");
    assert!(
        codes(&r, "KD121")
            .iter()
            .any(|(_, m)| m.contains("at most 2")),
        "{}",
        lines(&r)
    );
}

#[test]
fn node_info_kube_proxy_version_that_mirrors_kubelet_is_not_a_second_finding() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("version.json"),
        "{\"serverVersion\": {\"gitVersion\": \"v1.29.2\"}}",
    )
    .expect("write");
    std::fs::write(dir.path().join("n.yaml"), "kind: Node\nmetadata: {name: n}\nstatus: {nodeInfo: {kubeletVersion: v1.30.0, kubeProxyVersion: v1.30.0}}\n").expect("write");
    let r = k8s_doctor::report(
        Command::Healthcheck,
        &[dir.path().to_path_buf()],
        &[],
        Thresholds::default(),
        UNIX_EPOCH,
    )
    .expect("loads");
    assert_eq!(codes(&r, "KD121").len(), 1, "{}", lines(&r));
    assert!(codes(&r, "KD122").is_empty(), "{}", lines(&r));
}

#[test]
fn overlapping_paths_and_symlink_loops_do_not_double_count() {
    let example = crate::example_dir();
    let once = k8s_doctor::report(
        Command::Diagnostics,
        std::slice::from_ref(&example),
        &[],
        Thresholds::default(),
        UNIX_EPOCH,
    )
    .expect("loads");
    let twice = k8s_doctor::report(
        Command::Diagnostics,
        &[
            example.clone(),
            example.join("events.json"),
            example.clone(),
        ],
        &[],
        Thresholds::default(),
        UNIX_EPOCH,
    )
    .expect("loads");
    assert_eq!(once.findings, twice.findings);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(example.join("nodes.yaml"), dir.path().join("nodes.yaml")).expect("copy");
    std::os::unix::fs::symlink(dir.path(), dir.path().join("self")).expect("symlink");
    let r = k8s_doctor::report(
        Command::Healthcheck,
        &[dir.path().to_path_buf()],
        &[],
        Thresholds::default(),
        UNIX_EPOCH,
    )
    .expect("loads");
    assert_eq!(r.target["nodes"], 4);
    // The same objects in two different files are dropped too, and counted.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(example.join("nodes.yaml"), dir.path().join("a.yaml")).expect("copy");
    std::fs::copy(example.join("nodes.yaml"), dir.path().join("b.yaml")).expect("copy");
    let r = k8s_doctor::report(
        Command::Healthcheck,
        &[dir.path().to_path_buf()],
        &[],
        Thresholds::default(),
        UNIX_EPOCH,
    )
    .expect("loads");
    assert_eq!(r.target["nodes"], 4);
    assert_eq!(r.target["duplicateObjects"], 4);
}

#[test]
fn scheduling_gated_pods_are_not_pending_problems() {
    let yaml = "kind: Pod\nmetadata: {name: gated, namespace: x}\nspec: {containers: [{name: c, image: i, resources: {requests: {cpu: 1m, memory: 1Mi}, limits: {memory: 1Mi}}}]}\nstatus:\n  phase: Pending\n  conditions: [{type: PodScheduled, status: \"False\", reason: SchedulingGated}]\n";
    let r = run_yaml(Command::Diagnostics, yaml);
    assert!(codes(&r, "KD203").is_empty(), "{}", lines(&r));
}

#[test]
fn yaml_nulls_merge_keys_and_uppercase_extensions() {
    let yaml = "kind: Pod\nmetadata: {name: p, namespace: x}\nspec:\n  containers:\n  - name: c\n    image: i\n    resources: &res\n      requests: {cpu: 10m, memory: 10Mi}\n      limits: {memory: 10Mi}\n  - <<: {name: d, image: i}\n    resources: *res\nstatus:\n  phase: Running\n  conditions: [{type: Ready, status: null}]\n  containerStatuses:\n  - {name: c, ready: null, restartCount: null, state: {running: {}}}\n";
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("PODS.YAML"), yaml).expect("write");
    let r = k8s_doctor::report(
        Command::Diagnostics,
        &[dir.path().to_path_buf()],
        &[],
        Thresholds::default(),
        UNIX_EPOCH,
    )
    .expect("nulls do not abort the load");
    assert_eq!(r.target["pods"], 1);
    assert!(
        codes(&r, "KD208").is_empty() && codes(&r, "KD209").is_empty(),
        "merge key lost: {}",
        lines(&r)
    );
}

#[test]
fn utf16_files_get_a_hint() {
    let err =
        k8s_doctor::snapshot::parse_bytes(std::path::Path::new("dump.yaml"), b"\xFF\xFEk\0i\0")
            .unwrap_err()
            .to_string();
    assert!(err.contains("UTF-16") && err.contains("iconv"), "{err}");
}

#[test]
fn a_pdb_with_a_pod_down_is_not_blocking() {
    let yaml = "kind: PodDisruptionBudget\nmetadata: {name: api, namespace: x}\nspec: {minAvailable: 19, selector: {matchLabels: {app: api}}}\nstatus: {currentHealthy: 19, desiredHealthy: 19, disruptionsAllowed: 0, expectedPods: 20}\n";
    let r = run_yaml(Command::Audit, yaml);
    assert!(codes(&r, "KD342").is_empty(), "{}", lines(&r));
}

#[test]
fn default_edit_role_in_one_namespace_is_not_escalation_but_cluster_wide_is() {
    let role = "kind: ClusterRole\nmetadata: {name: edit}\nrules:\n- {apiGroups: [\"\"], resources: [pods, pods/exec], verbs: [create]}\n- {apiGroups: [\"\"], resources: [serviceaccounts], verbs: [impersonate]}\n";
    let ns = format!("{role}---\nkind: RoleBinding\nmetadata: {{name: team, namespace: shop}}\nroleRef: {{kind: ClusterRole, name: edit}}\nsubjects: [{{kind: Group, name: shop-devs}}]\n");
    let r = run_yaml(Command::Audit, &ns);
    assert!(
        codes(&r, "KD373").is_empty() && codes(&r, "KD374").is_empty(),
        "{}",
        lines(&r)
    );
    let wide = format!("{role}---\nkind: ClusterRoleBinding\nmetadata: {{name: everyone-edits}}\nroleRef: {{kind: ClusterRole, name: edit}}\nsubjects: [{{kind: Group, name: all-devs}}]\n");
    let r = run_yaml(Command::Audit, &wide);
    assert_eq!(codes(&r, "KD374").len(), 1, "{}", lines(&r));
    assert_eq!(codes(&r, "KD373").len(), 1, "{}", lines(&r));
}

#[test]
fn everyone_groups_and_missing_cluster_admin_role_are_still_findings() {
    let yaml = "kind: ClusterRoleBinding\nmetadata: {name: oops}\nroleRef: {kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: Group, name: \"system:authenticated\"}]\n---\nkind: ClusterRoleBinding\nmetadata: {name: \"system:public-info-viewer\"}\nroleRef: {kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: Group, name: \"system:unauthenticated\"}]\n";
    let r = run_yaml(Command::Audit, yaml);
    let admin = codes(&r, "KD370");
    assert_eq!(admin.len(), 1, "{}", lines(&r));
    assert_eq!(admin[0].0, Severity::Critical);
    assert!(admin[0].1.contains("oops"), "{}", admin[0].1);
}

#[test]
fn operator_owned_workloads_are_audited_themselves() {
    let yaml = "kind: StatefulSet\nmetadata:\n  name: prometheus-main\n  namespace: monitoring\n  ownerReferences: [{kind: Prometheus, name: main, controller: true}]\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers: [{name: p, image: prom/prometheus:latest, securityContext: {privileged: true}}]\n---\nkind: Pod\nmetadata:\n  name: prometheus-main-0\n  namespace: monitoring\n  ownerReferences: [{kind: StatefulSet, name: prometheus-main, controller: true}]\nspec:\n  containers: [{name: p, image: prom/prometheus:latest, securityContext: {privileged: true}}]\n";
    let r = run_yaml(Command::Audit, yaml);
    let privileged = codes(&r, "KD313");
    assert_eq!(
        privileged.len(),
        1,
        "audited once, at the StatefulSet: {}",
        lines(&r)
    );
    assert!(r
        .findings
        .iter()
        .any(|f| f.code == "KD313"
            && f.resource.to_string() == "StatefulSet monitoring/prometheus-main"));
}

#[test]
fn namespace_findings_can_be_suppressed_by_namespace_annotation() {
    let yaml = "kind: Namespace\nmetadata:\n  name: lab\n  annotations: {sre.dev/ignore: \"KD350,KD360\"}\n---\nkind: NetworkPolicy\nmetadata: {name: p, namespace: other}\nspec: {podSelector: {}}\n---\nkind: LimitRange\nmetadata: {name: l, namespace: other}\n---\nkind: Deployment\nmetadata: {name: toy, namespace: lab}\nspec:\n  template:\n    spec:\n      containers: [{name: t, image: toy:1}]\n";
    let r = run_yaml(Command::Audit, yaml);
    assert!(
        codes(&r, "KD350").is_empty() && codes(&r, "KD360").is_empty(),
        "{}",
        lines(&r)
    );
    assert!(r.suppressed.iter().any(|s| s.finding.code == "KD350"));
}

#[test]
fn audit_semantics_pdb_empty_selector_egress_only_policy_capabilities_host_paths() {
    let dep = |name: &str, extra: &str| {
        format!("---\nkind: Deployment\nmetadata: {{name: {name}, namespace: x}}\nspec:\n  replicas: 3\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n{extra}      containers: [{{name: c, image: i:1}}]\n")
    };
    let mut yaml = String::from("kind: PodDisruptionBudget\nmetadata: {name: all, namespace: x}\nspec: {maxUnavailable: 1, selector: {}}\n---\nkind: NetworkPolicy\nmetadata: {name: egress, namespace: x}\nspec: {podSelector: {}, policyTypes: [Egress]}\n---\nkind: LimitRange\nmetadata: {name: l, namespace: x}\n");
    yaml += &dep("a", "      volumes: [{name: k, hostPath: {path: /etc/kubernetes/}}, {name: s, hostPath: {path: /run/k3s/containerd/containerd.sock}}]\n");
    yaml += "---\nkind: Deployment\nmetadata: {name: b, namespace: x}\nspec:\n  replicas: 3\n  template:\n    metadata: {labels: {app: b}}\n    spec:\n      containers: [{name: c, image: i:1, securityContext: {capabilities: {add: [SYS_TIME, NET_BIND_SERVICE]}}}, {name: d, image: i:1, securityContext: {capabilities: {add: [cap_sys_admin]}}}]\n";
    let r = run_yaml(Command::Audit, &yaml);
    assert!(
        codes(&r, "KD341").is_empty(),
        "an empty PDB selector covers every pod: {}",
        lines(&r)
    );
    assert!(
        codes(&r, "KD350")
            .iter()
            .any(|(_, m)| m.contains("no NetworkPolicy")),
        "egress-only policy must not count: {}",
        lines(&r)
    );
    let paths = codes(&r, "KD316");
    assert_eq!(paths.len(), 2, "{}", lines(&r));
    let caps = codes(&r, "KD314");
    assert!(
        caps.iter().any(|(s, m)| *s == Severity::Warning
            && m.contains("SYS_TIME")
            && !m.contains("NET_BIND_SERVICE")),
        "{caps:?}"
    );
    assert!(
        caps.iter()
            .any(|(s, m)| *s == Severity::Critical && m.contains("SYS_ADMIN")),
        "{caps:?}"
    );
    // The LimitRange supplies defaults: missing requests are information only.
    assert!(
        codes(&r, "KD330")
            .iter()
            .all(|(s, m)| *s == Severity::Info && m.contains("LimitRange")),
        "{}",
        lines(&r)
    );
}

#[test]
fn automount_disabled_on_the_service_account_counts() {
    let dep = "kind: Deployment\nmetadata: {name: a, namespace: x}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: i:1}]\n";
    assert_eq!(codes(&run_yaml(Command::Audit, dep), "KD318").len(), 1);
    let with_sa = format!("{dep}---\nkind: ServiceAccount\nmetadata: {{name: default, namespace: x}}\nautomountServiceAccountToken: false\n");
    assert!(codes(&run_yaml(Command::Audit, &with_sa), "KD318").is_empty());
}

#[test]
fn rbac_wildcards_imply_escalation_and_workload_creation_is_pod_creation() {
    let yaml = "kind: ClusterRole\nmetadata: {name: rbac-all}\nrules: [{apiGroups: [rbac.authorization.k8s.io], resources: [clusterrolebindings], verbs: [\"*\"]}]\n---\nkind: ClusterRoleBinding\nmetadata: {name: a}\nroleRef: {kind: ClusterRole, name: rbac-all}\nsubjects: [{kind: ServiceAccount, name: a, namespace: ops}]\n---\nkind: ClusterRole\nmetadata: {name: one-binding}\nrules: [{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind], resourceNames: [viewer]}]\n---\nkind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {kind: ClusterRole, name: one-binding}\nsubjects: [{kind: ServiceAccount, name: b, namespace: ops}]\n---\nkind: Role\nmetadata: {name: deployer, namespace: ops}\nrules: [{apiGroups: [apps], resources: [deployments], verbs: [create, update]}]\n---\nkind: RoleBinding\nmetadata: {name: c, namespace: ops}\nroleRef: {kind: Role, name: deployer}\nsubjects: [{kind: ServiceAccount, name: c, namespace: ops}]\n";
    let r = run_yaml(Command::Audit, yaml);
    let esc = codes(&r, "KD374");
    assert_eq!(esc.len(), 1, "{}", lines(&r));
    assert!(esc[0].1.contains("escalate, bind"), "{}", esc[0].1);
    assert!(
        r.findings.iter().any(|f| f.code == "KD373"
            && f.resource.to_string() == "ServiceAccount ops/c"
            && f.message.contains("create deployments")),
        "{}",
        lines(&r)
    );
}
