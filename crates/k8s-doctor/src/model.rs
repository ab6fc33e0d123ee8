//! The lean object model: only the fields the checks read.
//!
//! Snapshots can hold hundreds of thousands of objects, so nothing is parsed into a generic
//! tree. [`RawObject`] is the union of the fields we read from every kind (serde skips all
//! other fields without allocating), and [`Cluster`] holds the typed, indexed result.

use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Accepts strings, numbers and booleans as a string: YAML written by hand often has
/// `cpu: 2` or label values like `version: 1`.
fn de_scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    // A visitor rather than an untagged enum: untagged enums buffer every value first,
    // which is measurable over millions of labels and quantities.
    struct V;
    impl<'v> serde::de::Visitor<'v> for V {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string, number or boolean")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_string<E: serde::de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<String, E> {
            Ok(String::new())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<String, E> {
            Ok(String::new())
        }
        fn visit_some<D2: Deserializer<'v>>(self, d: D2) -> Result<String, D2::Error> {
            de_scalar_string(d)
        }
    }
    d.deserialize_any(V)
}

thread_local! {
    /// Set while deserializing an object whose `metadata` (read before its `spec`, as
    /// kubectl and the API server write them) names a controlling owner. Such pods are
    /// audited at their controller's template, so their audit-only fields are skipped
    /// instead of parsed and dropped: that halves the cost of those fields on big dumps.
    /// Cleared by `Cluster::add` after every object; when `spec` comes first, fields are
    /// parsed and stripped afterwards, so the flag only ever saves work.
    static CONTROLLED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A top-level object's metadata; records whether it has a controlling owner.
fn de_top_meta<'de, D: Deserializer<'de>>(d: D) -> Result<Meta, D::Error> {
    let meta: Meta = de_null_default(d)?;
    CONTROLLED.with(|c| {
        c.set(
            meta.owner_references.iter().any(|o| {
                o.controller == Some(true) && BUILTIN_CONTROLLERS.contains(&o.kind.as_str())
            }),
        )
    });
    Ok(meta)
}

/// Forgets the owner flag (called after each top-level object).
pub(crate) fn end_object() {
    CONTROLLED.with(|c| c.set(false));
}

/// Deserializes an audit-only field, or skips it for controller-owned objects.
fn de_audit<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    if CONTROLLED.with(std::cell::Cell::get) {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(T::default())
    } else {
        Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
    }
}

#[derive(Deserialize)]
struct ScalarString(#[serde(deserialize_with = "de_scalar_string")] String);

/// Object labels. A sorted vector, not a map: a `BTreeMap` allocates a ~540-byte node even
/// for three labels, which is hundreds of megabytes over 150,000 pods.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m: Option<BTreeMap<String, ScalarString>> = Option::deserialize(d)?;
        let mut v: Vec<(String, String)> = m
            .unwrap_or_default()
            .into_iter()
            .map(|(k, ScalarString(v))| (k, v))
            .collect();
        v.shrink_to_fit();
        Ok(Labels(v))
    }
}

/// The CPU and memory entries of a resource list (requests, limits, allocatable, usage):
/// the only ones the checks read. Other resources (`pods`, `ephemeral-storage`, GPUs) are
/// skipped while parsing.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ResourceList {
    #[serde(deserialize_with = "de_opt_scalar")]
    pub cpu: Option<String>,
    #[serde(deserialize_with = "de_opt_scalar")]
    pub memory: Option<String>,
}

impl ResourceList {
    /// `cpu` or `memory`; anything else is `None`.
    pub fn get(&self, name: &str) -> Option<&str> {
        match name {
            "cpu" => self.cpu.as_deref(),
            "memory" => self.memory.as_deref(),
            _ => None,
        }
    }
}

fn de_opt_scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<ScalarString>::deserialize(d)?
        .map(|ScalarString(s)| s)
        .filter(|s| !s.is_empty()))
}

/// Condition types any check reads; the others (Initialized, ContainersReady, custom
/// readiness gates) are dropped while parsing to keep pods small.
const CONDITIONS: [&str; 6] = [
    "Ready",
    "PodScheduled",
    "MemoryPressure",
    "DiskPressure",
    "PIDPressure",
    "NetworkUnavailable",
];

fn de_conditions<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Condition>, D::Error> {
    let mut v: Vec<Condition> = Option::<Vec<Condition>>::deserialize(d)?.unwrap_or_default();
    v.retain(|c| CONDITIONS.contains(&c.type_.as_str()));
    v.shrink_to_fit();
    Ok(v)
}

fn de_null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OwnerRef {
    #[serde(deserialize_with = "de_null_default")]
    pub kind: String,
    #[serde(deserialize_with = "de_null_default")]
    pub name: String,
    pub controller: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Meta {
    #[serde(deserialize_with = "de_null_default")]
    pub name: String,
    #[serde(deserialize_with = "de_null_default")]
    pub namespace: String,
    #[serde(deserialize_with = "de_null_default")]
    pub labels: Labels,
    #[serde(deserialize_with = "de_null_default")]
    pub owner_references: Vec<OwnerRef>,
    /// Check codes or names from the `sre.dev/ignore` annotation (comma-separated); the
    /// other annotations are not kept.
    #[serde(rename = "annotations", deserialize_with = "de_ignore_annotation")]
    pub ignore: Vec<String>,
}

/// The annotation that suppresses findings on an object (or, on a Namespace, on
/// everything in it): `sre.dev/ignore: "KD313,privileged-container"`.
pub const IGNORE_ANNOTATION: &str = "sre.dev/ignore";

fn de_ignore_annotation<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'v> serde::de::Visitor<'v> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map of annotations")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_map<A: serde::de::MapAccess<'v>>(
            self,
            mut map: A,
        ) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::new();
            while let Some(key) = map.next_key::<std::borrow::Cow<'_, str>>()? {
                if key == IGNORE_ANNOTATION {
                    let ScalarString(v) = map.next_value()?;
                    out.extend(
                        v.split(',')
                            .map(str::trim)
                            .filter(|c| !c.is_empty())
                            .map(str::to_string),
                    );
                } else {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

/// Owners whose pod templates the audit reads instead of their children's (and `Node`,
/// the owner of static mirror pods, which are managed by files on the node).
pub const BUILTIN_CONTROLLERS: [&str; 8] = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "ReplicaSet",
    "ReplicationController",
    "Node",
];

impl Meta {
    /// True when a built-in controller (or the node, for static pods) controls the object.
    pub fn builtin_controlled(&self) -> bool {
        self.controller()
            .is_some_and(|o| BUILTIN_CONTROLLERS.contains(&o.kind.as_str()))
    }

    /// The controlling owner (or the first owner when none is marked controller).
    pub fn controller(&self) -> Option<&OwnerRef> {
        self.owner_references
            .iter()
            .find(|o| o.controller == Some(true))
            .or_else(|| self.owner_references.first())
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Resources {
    #[serde(deserialize_with = "de_null_default")]
    pub requests: ResourceList,
    #[serde(deserialize_with = "de_null_default")]
    pub limits: ResourceList,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Container {
    #[serde(deserialize_with = "de_null_default")]
    pub name: String,
    #[serde(deserialize_with = "de_null_default")]
    pub image: String,
    #[serde(deserialize_with = "de_null_default")]
    pub resources: Resources,
    // Audit-only fields. Boxed and dropped from controller-owned pods after parsing (the
    // audit reads their controller's template), so 150,000 pods do not carry them.
    #[serde(deserialize_with = "de_audit")]
    pub image_pull_policy: String,
    #[serde(deserialize_with = "de_audit")]
    pub ports: Vec<ContainerPort>,
    #[serde(deserialize_with = "de_audit")]
    pub liveness_probe: Option<Box<Probe>>,
    #[serde(deserialize_with = "de_audit")]
    pub readiness_probe: Option<Box<Probe>>,
    #[serde(deserialize_with = "de_audit")]
    pub startup_probe: Option<Box<Probe>>,
    #[serde(deserialize_with = "de_audit")]
    pub security_context: Option<Box<SecurityContext>>,
}

impl Container {
    /// Drops the fields only the audit reads.
    pub fn strip_audit_fields(&mut self) {
        self.image_pull_policy = String::new();
        self.ports = Vec::new();
        self.liveness_probe = None;
        self.readiness_probe = None;
        self.startup_probe = None;
        self.security_context = None;
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerPort {
    #[serde(deserialize_with = "de_null_default")]
    pub name: String,
    #[serde(deserialize_with = "de_null_default")]
    pub container_port: i64,
}

/// A probe port: a number or a named container port.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ProbePort {
    #[serde(deserialize_with = "de_scalar_string")]
    pub port: String,
    #[serde(deserialize_with = "de_null_default")]
    pub path: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ExecAction {
    #[serde(deserialize_with = "de_null_default")]
    pub command: Vec<String>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Probe {
    pub http_get: Option<ProbePort>,
    pub tcp_socket: Option<ProbePort>,
    pub grpc: Option<ProbePort>,
    pub exec: Option<ExecAction>,
    pub initial_delay_seconds: Option<i64>,
    pub period_seconds: Option<i64>,
    pub timeout_seconds: Option<i64>,
    pub failure_threshold: Option<i64>,
    pub success_threshold: Option<i64>,
}

impl Probe {
    /// The port the probe connects to, if it is a network probe.
    pub fn port(&self) -> Option<&str> {
        [&self.http_get, &self.tcp_socket, &self.grpc]
            .into_iter()
            .flatten()
            .map(|p| p.port.as_str())
            .find(|p| !p.is_empty())
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Capabilities {
    #[serde(deserialize_with = "de_null_default")]
    pub add: Vec<String>,
    #[serde(deserialize_with = "de_null_default")]
    pub drop: Vec<String>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SeccompProfile {
    #[serde(rename = "type", deserialize_with = "de_null_default")]
    pub type_: String,
}

/// Container- or pod-level security context (the union of the fields the audit reads).
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SecurityContext {
    pub run_as_non_root: Option<bool>,
    pub run_as_user: Option<i64>,
    pub read_only_root_filesystem: Option<bool>,
    pub allow_privilege_escalation: Option<bool>,
    pub privileged: Option<bool>,
    pub capabilities: Option<Capabilities>,
    pub seccomp_profile: Option<SeccompProfile>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HostPath {
    #[serde(deserialize_with = "de_null_default")]
    pub path: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Volume {
    #[serde(deserialize_with = "de_null_default")]
    pub name: String,
    pub host_path: Option<HostPath>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SelectorRequirement {
    #[serde(deserialize_with = "de_null_default")]
    pub key: String,
    #[serde(deserialize_with = "de_null_default")]
    pub operator: String,
    #[serde(deserialize_with = "de_null_default")]
    pub values: Vec<String>,
}

/// A label selector (`matchLabels` and `matchExpressions`).
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(deserialize_with = "de_null_default")]
    pub match_labels: Labels,
    #[serde(deserialize_with = "de_null_default")]
    pub match_expressions: Vec<SelectorRequirement>,
}

impl LabelSelector {
    /// True when the selector selects everything (`{}`).
    pub fn is_empty(&self) -> bool {
        self.match_labels.iter().next().is_none() && self.match_expressions.is_empty()
    }

    /// Kubernetes label-selector semantics.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|e| {
                let value = labels.get(&e.key);
                match e.operator.as_str() {
                    "In" => value.is_some_and(|v| e.values.iter().any(|x| x == v)),
                    "NotIn" => value.is_none_or(|v| !e.values.iter().any(|x| x == v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
    }
}

/// One RBAC policy rule.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PolicyRule {
    #[serde(deserialize_with = "de_null_default")]
    pub api_groups: Vec<String>,
    #[serde(deserialize_with = "de_null_default")]
    pub resources: Vec<String>,
    #[serde(deserialize_with = "de_null_default")]
    pub verbs: Vec<String>,
    #[serde(deserialize_with = "de_null_default")]
    pub resource_names: Vec<String>,
    #[serde(rename = "nonResourceURLs", deserialize_with = "de_null_default")]
    pub non_resource_urls: Vec<String>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RoleRef {
    #[serde(deserialize_with = "de_null_default")]
    pub kind: String,
    #[serde(deserialize_with = "de_null_default")]
    pub name: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Subject {
    #[serde(deserialize_with = "de_null_default")]
    pub kind: String,
    #[serde(deserialize_with = "de_null_default")]
    pub name: String,
    #[serde(deserialize_with = "de_null_default")]
    pub namespace: String,
}

/// A Role or ClusterRole.
#[derive(Debug, Default)]
pub struct Role {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub rules: Vec<PolicyRule>,
}

/// A RoleBinding or ClusterRoleBinding.
#[derive(Debug, Default)]
pub struct Binding {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub role_ref: RoleRef,
    pub subjects: Vec<Subject>,
}

/// A PodDisruptionBudget.
#[derive(Debug, Default)]
pub struct Pdb {
    pub namespace: String,
    pub name: String,
    /// `None` selects nothing; `Some({})` selects every pod of the namespace (policy/v1).
    pub selector: Option<LabelSelector>,
    pub min_available: Option<String>,
    pub max_unavailable: Option<String>,
    pub disruptions_allowed: Option<i64>,
    pub current_healthy: Option<i64>,
    pub desired_healthy: Option<i64>,
    pub expected_pods: Option<i64>,
}

/// A NetworkPolicy.
#[derive(Debug, Default)]
pub struct NetworkPolicy {
    pub namespace: String,
    pub name: String,
    pub pod_selector: LabelSelector,
    /// `spec.policyTypes`; empty means Ingress (plus Egress when egress rules exist).
    pub policy_types: Vec<String>,
}

impl NetworkPolicy {
    /// True when the policy restricts ingress.
    pub fn is_ingress(&self) -> bool {
        self.policy_types.is_empty() || self.policy_types.iter().any(|t| t == "Ingress")
    }
}

fn de_opt_scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Some(de_scalar_string(d)?).filter(|s| !s.is_empty()))
}

/// A pod template (`spec.template` of a workload).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodTemplate {
    #[serde(deserialize_with = "de_null_default")]
    pub metadata: Meta,
    #[serde(deserialize_with = "de_null_default")]
    pub spec: Spec,
}

/// `spec.jobTemplate` of a CronJob.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct JobTemplate {
    #[serde(deserialize_with = "de_null_default")]
    pub spec: Spec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type", deserialize_with = "de_null_default")]
    pub type_: String,
    #[serde(deserialize_with = "de_null_default")]
    pub status: String,
    #[serde(deserialize_with = "de_null_default")]
    pub reason: String,
    #[serde(deserialize_with = "de_null_default")]
    pub message: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StateDetail {
    #[serde(deserialize_with = "de_null_default")]
    pub reason: String,
    #[serde(deserialize_with = "de_null_default")]
    pub message: String,
    pub exit_code: Option<i32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerState {
    // Boxed: most containers are running, so these are usually `None` and cost one word.
    pub waiting: Option<Box<StateDetail>>,
    pub terminated: Option<Box<StateDetail>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerStatus {
    #[serde(deserialize_with = "de_null_default")]
    pub name: String,
    #[serde(deserialize_with = "de_null_default")]
    pub ready: bool,
    #[serde(deserialize_with = "de_null_default")]
    pub restart_count: u32,
    #[serde(deserialize_with = "de_null_default")]
    pub image: String,
    #[serde(deserialize_with = "de_null_default")]
    pub state: ContainerState,
    #[serde(deserialize_with = "de_null_default")]
    pub last_state: ContainerState,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NodeInfo {
    #[serde(deserialize_with = "de_null_default")]
    pub kubelet_version: String,
    #[serde(deserialize_with = "de_null_default")]
    pub kube_proxy_version: String,
    #[serde(deserialize_with = "de_null_default")]
    pub container_runtime_version: String,
    #[serde(deserialize_with = "de_null_default")]
    pub os_image: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Spec {
    // Pod
    #[serde(deserialize_with = "de_null_default")]
    pub containers: Vec<Container>,
    #[serde(deserialize_with = "de_null_default")]
    pub init_containers: Vec<Container>,
    #[serde(deserialize_with = "de_null_default")]
    pub node_name: String,
    // Node
    #[serde(deserialize_with = "de_null_default")]
    pub unschedulable: bool,
    // Pod template fields the audit reads
    #[serde(deserialize_with = "de_audit")]
    pub security_context: Option<Box<SecurityContext>>,
    #[serde(deserialize_with = "de_null_default")]
    pub host_network: bool,
    #[serde(rename = "hostPID", deserialize_with = "de_null_default")]
    pub host_pid: bool,
    #[serde(rename = "hostIPC", deserialize_with = "de_null_default")]
    pub host_ipc: bool,
    #[serde(deserialize_with = "de_audit")]
    pub volumes: Vec<Volume>,
    pub automount_service_account_token: Option<bool>,
    #[serde(deserialize_with = "de_null_default")]
    pub service_account_name: String,
    // Workloads, PodDisruptionBudgets
    pub replicas: Option<i64>,
    pub selector: Option<LabelSelector>,
    #[serde(deserialize_with = "de_opt_scalar_string")]
    pub min_available: Option<String>,
    #[serde(deserialize_with = "de_opt_scalar_string")]
    pub max_unavailable: Option<String>,
    // NetworkPolicy
    pub pod_selector: Option<LabelSelector>,
    #[serde(deserialize_with = "de_null_default")]
    pub policy_types: Vec<String>,
    #[serde(deserialize_with = "de_audit")]
    pub template: Option<Box<PodTemplate>>,
    #[serde(deserialize_with = "de_audit")]
    pub job_template: Option<Box<JobTemplate>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Status {
    // PodDisruptionBudget
    pub disruptions_allowed: Option<i64>,
    pub current_healthy: Option<i64>,
    pub desired_healthy: Option<i64>,
    pub expected_pods: Option<i64>,
    // Pod
    #[serde(deserialize_with = "de_null_default")]
    pub phase: String,
    #[serde(deserialize_with = "de_null_default")]
    pub container_statuses: Vec<ContainerStatus>,
    #[serde(deserialize_with = "de_null_default")]
    pub init_container_statuses: Vec<ContainerStatus>,
    // Pod and Node
    #[serde(deserialize_with = "de_conditions")]
    pub conditions: Vec<Condition>,
    // Node
    #[serde(deserialize_with = "de_null_default")]
    pub node_info: NodeInfo,
    #[serde(deserialize_with = "de_null_default")]
    pub allocatable: ResourceList,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectRef {
    #[serde(deserialize_with = "de_null_default")]
    pub kind: String,
    #[serde(deserialize_with = "de_null_default")]
    pub namespace: String,
    #[serde(deserialize_with = "de_null_default")]
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EventSeries {
    pub count: Option<u64>,
    pub last_observed_time: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerMetrics {
    pub name: String,
    #[serde(deserialize_with = "de_null_default")]
    pub usage: ResourceList,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct VersionInfo {
    pub git_version: String,
}

/// The union of every field read from any kind; also a `List` (`items`) and the output of
/// `kubectl version -o json` (`serverVersion`).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RawObject {
    #[serde(deserialize_with = "de_null_default")]
    pub kind: String,
    #[serde(deserialize_with = "de_null_default")]
    pub api_version: String,
    #[serde(deserialize_with = "de_top_meta")]
    pub metadata: Meta,
    #[serde(deserialize_with = "de_null_default")]
    pub spec: Spec,
    #[serde(deserialize_with = "de_null_default")]
    pub status: Status,
    pub items: Option<Vec<RawObject>>,
    // core/v1 Event
    pub involved_object: Option<ObjectRef>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub count: Option<u64>,
    pub last_timestamp: Option<String>,
    pub first_timestamp: Option<String>,
    pub event_time: Option<String>,
    pub series: Option<EventSeries>,
    // events.k8s.io/v1 Event
    pub regarding: Option<ObjectRef>,
    pub note: Option<String>,
    pub deprecated_count: Option<u64>,
    pub deprecated_last_timestamp: Option<String>,
    // metrics.k8s.io
    #[serde(deserialize_with = "de_null_default")]
    pub usage: ResourceList,
    pub containers: Option<Vec<ContainerMetrics>>,
    // kubectl version -o json
    pub server_version: Option<VersionInfo>,
    // K8sDoctorCapture (written by `sre k8s-doctor snapshot`)
    pub context: Option<String>,
    pub livez: Option<HealthProbe>,
    pub readyz: Option<HealthProbe>,
    pub metrics_api: Option<bool>,
    pub errors: Option<Vec<CaptureError>>,
    pub captured_for: Option<CapturedFor>,
    // ServiceAccount
    pub automount_service_account_token: Option<bool>,
    // RBAC
    pub rules: Option<Vec<PolicyRule>>,
    pub role_ref: Option<RoleRef>,
    pub subjects: Option<Vec<Subject>>,
}

#[derive(Debug, Default)]
pub struct NodeSpec {
    pub unschedulable: bool,
}

#[derive(Debug, Default)]
pub struct NodeStatus {
    pub conditions: Vec<Condition>,
    pub node_info: NodeInfo,
    pub allocatable: ResourceList,
}

#[derive(Debug, Default)]
pub struct Node {
    pub meta: Meta,
    pub spec: NodeSpec,
    pub status: NodeStatus,
}

impl Node {
    /// Roles from `node-role.kubernetes.io/<role>` labels and the legacy
    /// `kubernetes.io/role`; a node without any is a `worker` (kubectl shows `<none>`).
    pub fn roles(&self) -> Vec<String> {
        let mut roles: Vec<String> = self
            .meta
            .labels
            .iter()
            .filter_map(|(k, v)| {
                if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                    Some(if role.is_empty() {
                        v.to_string()
                    } else {
                        role.to_string()
                    })
                } else if k == "kubernetes.io/role" {
                    Some(v.to_string())
                } else {
                    None
                }
            })
            .filter(|r| !r.is_empty())
            .map(|r| {
                if r == "master" {
                    "control-plane".to_string()
                } else {
                    r
                }
            })
            .collect();
        roles.sort();
        roles.dedup();
        if roles.is_empty() {
            roles.push("worker".to_string());
        }
        roles
    }

    pub fn is_control_plane(&self) -> bool {
        self.roles().iter().any(|r| r == "control-plane")
    }

    pub fn condition(&self, t: &str) -> Option<&Condition> {
        self.status.conditions.iter().find(|c| c.type_ == t)
    }
}

#[derive(Debug, Default)]
pub struct PodSpec {
    pub containers: Vec<Container>,
    pub init_containers: Vec<Container>,
    pub node_name: String,
}

#[derive(Debug, Default)]
pub struct PodStatus {
    pub phase: String,
    pub conditions: Vec<Condition>,
    pub container_statuses: Vec<ContainerStatus>,
    pub init_container_statuses: Vec<ContainerStatus>,
}

#[derive(Debug, Default)]
pub struct Pod {
    pub meta: Meta,
    pub spec: PodSpec,
    pub status: PodStatus,
}

impl Pod {
    pub fn all_statuses(&self) -> impl Iterator<Item = &ContainerStatus> {
        self.status
            .init_container_statuses
            .iter()
            .chain(self.status.container_statuses.iter())
    }

    pub fn condition(&self, t: &str) -> Option<&Condition> {
        self.status.conditions.iter().find(|c| c.type_ == t)
    }

    pub fn ready_containers(&self) -> (usize, usize) {
        let total = self
            .status
            .container_statuses
            .len()
            .max(self.spec.containers.len());
        let ready = self
            .status
            .container_statuses
            .iter()
            .filter(|c| c.ready)
            .count();
        (ready, total)
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self.status.phase.as_str(), "Succeeded" | "Failed")
    }
}

/// Something that creates pods, audited at its pod template: a Deployment, StatefulSet,
/// DaemonSet, Job, CronJob, ReplicaSet or ReplicationController not controlled by another
/// built-in controller (an operator-owned StatefulSet is audited itself), or a pod without
/// a built-in controller.
#[derive(Debug, Default)]
pub struct Workload {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub replicas: Option<i64>,
    /// `spec.selector` (Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs).
    pub selector: Option<LabelSelector>,
    /// The object's `sre.dev/ignore` annotation.
    pub ignore: Vec<String>,
    /// The object's own labels (the pod template's are in `template_meta`).
    pub labels: Labels,
    /// Labels and annotations of the pod template.
    pub template_meta: Meta,
    /// The pod template's spec (containers keep their audit fields).
    pub spec: Spec,
}

impl Workload {
    /// Batch workloads run to completion; probes do not apply to them.
    pub fn is_batch(&self) -> bool {
        matches!(self.kind.as_str(), "Job" | "CronJob")
    }

    pub fn all_containers(&self) -> impl Iterator<Item = &Container> {
        self.spec
            .init_containers
            .iter()
            .chain(self.spec.containers.iter())
    }
}

/// A Warning or Normal event, normalised across core/v1 and events.k8s.io/v1.
#[derive(Debug, Default)]
pub struct Event {
    /// `metadata.name`, used to drop duplicates.
    pub name: String,
    pub namespace: String,
    pub type_: String,
    pub reason: String,
    pub message: String,
    pub object: ObjectRef,
    pub count: u64,
    pub last_seen: Option<String>,
}

#[derive(Debug, Default)]
pub struct NodeMetrics {
    pub name: String,
    pub usage: ResourceList,
}

/// Everything loaded from a snapshot, indexed for the checks.
#[derive(Debug, Default)]
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub pods: Vec<Pod>,
    pub events: Vec<Event>,
    pub node_metrics: Vec<NodeMetrics>,
    pub workloads: Vec<Workload>,
    pub pod_metrics: usize,
    /// `(namespace, pod, container)` to usage, from `PodMetrics`.
    pub container_usage: HashMap<(String, String, String), ResourceList>,
    /// `(kind, namespace, name)` of owner objects (ReplicaSet, Job, ...) to their controller.
    pub owners: HashMap<(String, String, String), (String, String)>,
    pub server_version: Option<String>,
    pub namespaces: usize,
    /// Names of the Namespace objects in the snapshot.
    pub namespace_names: Vec<String>,
    /// `sre.dev/ignore` annotations of Namespaces.
    pub namespace_ignore: HashMap<String, Vec<String>>,
    pub pdbs: Vec<Pdb>,
    pub roles: Vec<Role>,
    pub bindings: Vec<Binding>,
    /// ServiceAccounts with `automountServiceAccountToken: false`, as `(namespace, name)`.
    pub no_automount_accounts: std::collections::HashSet<(String, String)>,
    pub network_policies: Vec<NetworkPolicy>,
    /// Namespaces that have a ResourceQuota / a LimitRange.
    pub quota_namespaces: std::collections::BTreeSet<String>,
    pub limit_range_namespaces: std::collections::BTreeSet<String>,
    /// How many ResourceQuota and LimitRange objects the snapshot has (zero may mean they
    /// were not captured).
    pub quotas: usize,
    pub limit_ranges: usize,
    pub other_objects: usize,
    pub ignored_documents: usize,
    /// Objects seen more than once (overlapping snapshot files) and dropped.
    pub duplicates: usize,
    /// What a live read recorded besides the objects (absent for plain snapshots).
    pub capture: Option<Capture>,
}

/// What a live read of a cluster recorded besides its objects: API server health, whether
/// metrics.k8s.io is served, and what could not be read. `sre k8s-doctor snapshot` writes it
/// as a `K8sDoctorCapture` document, so that a captured snapshot gives the same report as
/// the live cluster did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Capture {
    /// The kubeconfig context (or `in-cluster`).
    pub context: String,
    pub livez: Option<HealthProbe>,
    pub readyz: Option<HealthProbe>,
    /// Whether the API server serves metrics.k8s.io (`None`: not known).
    pub metrics_api: Option<bool>,
    /// Resources (or namespaces) that could not be read, and why.
    pub errors: Vec<CaptureError>,
    /// What the read covered: the command whose objects were read, and `--namespace`.
    pub captured_for: Option<CapturedFor>,
}

/// The scope of a live read (and of a snapshot written from one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CapturedFor {
    /// `healthcheck`, `diagnostics`, `audit` or `check` (everything).
    pub command: String,
    pub namespace: Option<String>,
}

/// The answer of `/livez` or `/readyz` (`?verbose`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HealthProbe {
    /// The HTTP status code.
    pub status: u16,
    pub ok: bool,
    /// The individual checks that failed (`etcd`, `poststarthook/...`).
    pub failed: Vec<String>,
}

/// A part of a live read that failed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CaptureError {
    /// What could not be read, e.g. `pods in namespace shop (list)`.
    pub source: String,
    pub message: String,
}

impl Cluster {
    /// Adds one object (lists are flattened by the loader before this).
    pub fn add(&mut self, mut o: RawObject) {
        if let Some(v) = o.server_version.take() {
            if o.kind.is_empty() && !v.git_version.is_empty() {
                self.server_version = Some(v.git_version);
                return;
            }
        }
        match o.kind.as_str() {
            "Node" => self.nodes.push(Node {
                meta: o.metadata,
                spec: NodeSpec {
                    unschedulable: o.spec.unschedulable,
                },
                status: NodeStatus {
                    conditions: o.status.conditions,
                    node_info: o.status.node_info,
                    allocatable: o.status.allocatable,
                },
            }),
            "Pod" => self.add_pod(o),
            "Deployment"
            | "StatefulSet"
            | "DaemonSet"
            | "Job"
            | "CronJob"
            | "ReplicaSet"
            | "ReplicationController" => {
                if let Some(owner) = o.metadata.controller() {
                    self.owners.insert(
                        (
                            o.kind.clone(),
                            o.metadata.namespace.clone(),
                            o.metadata.name.clone(),
                        ),
                        (owner.kind.clone(), owner.name.clone()),
                    );
                }
                // Owned by a built-in controller: audited at that controller. Owned by an
                // operator's custom resource (a Prometheus, a Kafka): audited itself, since
                // the custom resource has no pod template the audit could read.
                if !o.metadata.builtin_controlled() {
                    self.add_workload(
                        o.kind.clone(),
                        o.metadata.namespace.clone(),
                        o.metadata.name.clone(),
                        o.metadata.ignore.clone(),
                        o.metadata.labels.clone(),
                        o.spec,
                    );
                }
                self.other_objects += 1;
            }
            "Event" => {
                let object = o.involved_object.or(o.regarding).unwrap_or_default();
                // Producers fill different counters (core/v1 `count`, events.k8s.io
                // `series.count` and `deprecatedCount`); the largest is the truth.
                let count = [
                    o.series.as_ref().and_then(|s| s.count),
                    o.count,
                    o.deprecated_count,
                ]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(1)
                .max(1);
                let last_seen = o
                    .series
                    .and_then(|s| s.last_observed_time)
                    .or(o.last_timestamp)
                    .or(o.deprecated_last_timestamp)
                    .or(o.event_time)
                    .or(o.first_timestamp);
                self.events.push(Event {
                    name: o.metadata.name,
                    namespace: o.metadata.namespace,
                    type_: o.type_.unwrap_or_default(),
                    reason: o.reason.unwrap_or_default(),
                    message: o.message.or(o.note).unwrap_or_default(),
                    object,
                    count,
                    last_seen,
                });
            }
            "NodeMetrics" => self.node_metrics.push(NodeMetrics {
                name: o.metadata.name,
                usage: o.usage,
            }),
            "PodMetrics" => {
                self.pod_metrics += 1;
                for c in o.containers.unwrap_or_default() {
                    self.container_usage.insert(
                        (
                            o.metadata.namespace.clone(),
                            o.metadata.name.clone(),
                            c.name,
                        ),
                        c.usage,
                    );
                }
            }
            "Namespace" => {
                self.namespaces += 1;
                if !o.metadata.ignore.is_empty() {
                    self.namespace_ignore
                        .insert(o.metadata.name.clone(), o.metadata.ignore);
                }
                self.namespace_names.push(o.metadata.name);
            }
            "PodDisruptionBudget" => self.pdbs.push(Pdb {
                namespace: o.metadata.namespace,
                name: o.metadata.name,
                selector: o.spec.selector,
                min_available: o.spec.min_available,
                max_unavailable: o.spec.max_unavailable,
                disruptions_allowed: o.status.disruptions_allowed,
                current_healthy: o.status.current_healthy,
                desired_healthy: o.status.desired_healthy,
                expected_pods: o.status.expected_pods,
            }),
            "ServiceAccount" => {
                if o.automount_service_account_token == Some(false) {
                    self.no_automount_accounts
                        .insert((o.metadata.namespace, o.metadata.name));
                }
                self.other_objects += 1;
            }
            "Role" | "ClusterRole" => self.roles.push(Role {
                kind: o.kind,
                namespace: o.metadata.namespace,
                name: o.metadata.name,
                rules: o.rules.unwrap_or_default(),
            }),
            "RoleBinding" | "ClusterRoleBinding" => self.bindings.push(Binding {
                kind: o.kind,
                namespace: o.metadata.namespace,
                name: o.metadata.name,
                role_ref: o.role_ref.unwrap_or_default(),
                subjects: o.subjects.unwrap_or_default(),
            }),
            "NetworkPolicy" => self.network_policies.push(NetworkPolicy {
                namespace: o.metadata.namespace,
                name: o.metadata.name,
                pod_selector: o.spec.pod_selector.unwrap_or_default(),
                policy_types: o.spec.policy_types,
            }),
            "ResourceQuota" => {
                self.quotas += 1;
                self.quota_namespaces.insert(o.metadata.namespace);
            }
            "LimitRange" => {
                self.limit_ranges += 1;
                self.limit_range_namespaces.insert(o.metadata.namespace);
            }
            "K8sDoctorCapture" => {
                self.capture = Some(Capture {
                    context: o.context.unwrap_or_default(),
                    livez: o.livez,
                    readyz: o.readyz,
                    metrics_api: o.metrics_api,
                    errors: o.errors.unwrap_or_default(),
                    captured_for: o.captured_for,
                })
            }
            "" => self.ignored_documents += 1,
            _ => self.other_objects += 1,
        }
    }

    fn add_pod(&mut self, mut o: RawObject) {
        if !o.metadata.builtin_controlled() {
            // A bare pod is its own workload: the audit reads its spec.
            let mut spec = std::mem::take(&mut o.spec);
            o.spec.containers = spec.containers.clone();
            o.spec.init_containers = spec.init_containers.clone();
            o.spec.node_name = std::mem::take(&mut spec.node_name);
            self.workloads.push(Workload {
                kind: "Pod".to_string(),
                namespace: o.metadata.namespace.clone(),
                name: o.metadata.name.clone(),
                replicas: None,
                selector: None,
                ignore: o.metadata.ignore.clone(),
                labels: o.metadata.labels.clone(),
                template_meta: o.metadata.clone(),
                spec,
            });
        }
        let mut containers = o.spec.containers;
        let mut init_containers = o.spec.init_containers;
        for c in containers.iter_mut().chain(init_containers.iter_mut()) {
            c.strip_audit_fields();
        }
        self.pods.push(Pod {
            meta: o.metadata,
            spec: PodSpec {
                containers,
                init_containers,
                node_name: o.spec.node_name,
            },
            status: PodStatus {
                phase: o.status.phase,
                conditions: o.status.conditions,
                container_statuses: o.status.container_statuses,
                init_container_statuses: o.status.init_container_statuses,
            },
        });
    }

    fn add_workload(
        &mut self,
        kind: String,
        namespace: String,
        name: String,
        ignore: Vec<String>,
        labels: Labels,
        spec: Spec,
    ) {
        let replicas = spec.replicas;
        let selector = spec.selector;
        let template = match kind.as_str() {
            "CronJob" => spec.job_template.and_then(|j| j.spec.template),
            _ => spec.template,
        };
        // Trimmed dumps (`kubectl get rs` without templates) have nothing to audit.
        let Some(template) = template else { return };
        let template = *template;
        self.workloads.push(Workload {
            kind,
            namespace,
            name,
            replicas,
            selector,
            ignore,
            labels,
            template_meta: template.metadata,
            spec: template.spec,
        });
    }

    /// `--namespace`: keeps the namespaced objects of `ns` only (and, with
    /// `kube_system_pods`, the pods of kube-system, which the control-plane checks read);
    /// cluster-scoped objects stay. A live read with `--namespace` fetches exactly this, so
    /// both modes check the same objects.
    pub fn retain_namespace(&mut self, ns: &str, kube_system_pods: bool) {
        let keep = |n: &str| n == ns;
        self.pods.retain(|p| {
            keep(&p.meta.namespace) || (kube_system_pods && p.meta.namespace == "kube-system")
        });
        self.events.retain(|e| keep(&e.namespace));
        self.workloads.retain(|w| keep(&w.namespace));
        self.pdbs.retain(|p| keep(&p.namespace));
        self.roles
            .retain(|r| r.kind != "Role" || keep(&r.namespace));
        self.bindings
            .retain(|b| b.kind != "RoleBinding" || keep(&b.namespace));
        self.network_policies.retain(|n| keep(&n.namespace));
        self.owners.retain(|(_, n, _), _| keep(n));
        let before = self.container_usage.len();
        self.container_usage.retain(|(n, _, _), _| keep(n));
        if self.container_usage.len() != before {
            let pods: std::collections::HashSet<&(String, String, String)> =
                self.container_usage.keys().collect();
            self.pod_metrics = pods
                .iter()
                .map(|(n, p, _)| (n.as_str(), p.as_str()))
                .collect::<std::collections::HashSet<_>>()
                .len();
        }
        self.no_automount_accounts.retain(|(n, _)| keep(n));
        self.namespace_ignore.retain(|n, _| keep(n));
        self.namespace_names.retain(|n| keep(n));
        self.namespaces = self.namespace_names.len();
        self.quota_namespaces.retain(|n| keep(n));
        self.limit_range_namespaces.retain(|n| keep(n));
        self.quotas = self.quotas.min(self.quota_namespaces.len());
        self.limit_ranges = self.limit_ranges.min(self.limit_range_namespaces.len());
    }

    /// Drops objects seen twice (the same pod in two overlapping dumps), keeping the first:
    /// counting them twice would double event counts and pod lists.
    pub fn dedup(&mut self) {
        fn retain_unique<T, K: std::hash::Hash + Eq>(
            v: &mut Vec<T>,
            key: impl Fn(&T) -> Option<K>,
        ) -> usize {
            let before = v.len();
            let mut seen = std::collections::HashSet::new();
            v.retain(|item| key(item).is_none_or(|k| seen.insert(k)));
            before - v.len()
        }
        let mut n = 0;
        n += retain_unique(&mut self.nodes, |o| Some(o.meta.name.clone()));
        n += retain_unique(&mut self.pods, |o| {
            Some((o.meta.namespace.clone(), o.meta.name.clone()))
        });
        n += retain_unique(&mut self.events, |e| {
            (!e.name.is_empty()).then(|| (e.namespace.clone(), e.name.clone()))
        });
        n += retain_unique(&mut self.node_metrics, |m| Some(m.name.clone()));
        n += retain_unique(&mut self.workloads, |w| {
            Some((w.kind.clone(), w.namespace.clone(), w.name.clone()))
        });
        self.duplicates += n;
    }

    /// The highest CPU (cores) and memory (bytes) usage of `container` across `pods` of
    /// `namespace`, from `PodMetrics`; `None` when no metrics cover them.
    pub fn peak_usage(
        &self,
        namespace: &str,
        pods: &[String],
        container: &str,
    ) -> Option<(f64, f64)> {
        let mut peak: Option<(f64, f64)> = None;
        for pod in pods {
            let key = (namespace.to_string(), pod.clone(), container.to_string());
            if let Some(u) = self.container_usage.get(&key) {
                let cpu = u
                    .cpu
                    .as_deref()
                    .and_then(crate::quantity::parse)
                    .unwrap_or(0.0);
                let mem = u
                    .memory
                    .as_deref()
                    .and_then(crate::quantity::parse)
                    .unwrap_or(0.0);
                let (c, m) = peak.unwrap_or((0.0, 0.0));
                peak = Some((c.max(cpu), m.max(mem)));
            }
        }
        peak
    }

    /// True when nothing Kubernetes-like was loaded.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
            && self.pods.is_empty()
            && self.events.is_empty()
            && self.node_metrics.is_empty()
            && self.pod_metrics == 0
            && self.namespaces == 0
            && self.pdbs.is_empty()
            && self.roles.is_empty()
            && self.bindings.is_empty()
            && self.network_policies.is_empty()
            && self.quotas == 0
            && self.limit_ranges == 0
            && self.other_objects == 0
            && self.server_version.is_none()
            && self.capture.is_none()
    }

    /// Merges another partial cluster (from a parallel loader) into this one.
    pub fn merge(&mut self, mut other: Cluster) {
        if self.pods.is_empty() {
            // Take the other side's allocation instead of copying into an empty vector.
            std::mem::swap(&mut self.pods, &mut other.pods);
        }
        self.nodes.extend(other.nodes);
        self.pods.extend(other.pods);
        self.events.extend(other.events);
        self.node_metrics.extend(other.node_metrics);
        self.workloads.extend(other.workloads);
        self.pod_metrics += other.pod_metrics;
        self.container_usage.extend(other.container_usage);
        self.owners.extend(other.owners);
        if other.server_version.is_some() {
            self.server_version = other.server_version;
        }
        self.namespaces += other.namespaces;
        self.namespace_names.extend(other.namespace_names);
        self.namespace_ignore.extend(other.namespace_ignore);
        self.pdbs.extend(other.pdbs);
        self.roles.extend(other.roles);
        self.no_automount_accounts
            .extend(other.no_automount_accounts);
        self.bindings.extend(other.bindings);
        self.network_policies.extend(other.network_policies);
        self.quota_namespaces.extend(other.quota_namespaces);
        self.limit_range_namespaces
            .extend(other.limit_range_namespaces);
        self.quotas += other.quotas;
        self.limit_ranges += other.limit_ranges;
        self.other_objects += other.other_objects;
        self.ignored_documents += other.ignored_documents;
        self.duplicates += other.duplicates;
        if other.capture.is_some() {
            self.capture = other.capture;
        }
    }

    /// The top-level workload that owns a pod: follows ReplicaSet -> Deployment and
    /// Job -> CronJob through objects in the snapshot, or through the `pod-template-hash`
    /// naming convention when the ReplicaSet itself was not captured.
    pub fn workload_of(&self, pod: &Pod) -> Option<(String, String)> {
        let owner = pod.meta.controller()?;
        let mut kind = owner.kind.clone();
        let mut name = owner.name.clone();
        for _ in 0..4 {
            let key = (kind.clone(), pod.meta.namespace.clone(), name.clone());
            match self.owners.get(&key) {
                Some((k, n)) => {
                    kind = k.clone();
                    name = n.clone();
                }
                None => break,
            }
        }
        if kind == "ReplicaSet" {
            if let Some(hash) = pod.meta.labels.get("pod-template-hash") {
                if let Some(deploy) = name.strip_suffix(&format!("-{hash}")) {
                    return Some(("Deployment".to_string(), deploy.to_string()));
                }
            }
        }
        Some((kind, name))
    }
}
