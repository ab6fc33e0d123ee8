//! RBAC: who holds dangerous permissions. Findings name the subject (ServiceAccount, User,
//! Group) that holds the permission, with the binding and role that grant it.

use crate::checks::{check, Ctx};
use crate::model::{Binding, PolicyRule, Role, Subject};
use sre_core::{CheckMeta, Finding, Resource, Severity};

/// Built-in bindings (`system:*`) are the platform's own; flagging them would be noise
/// nobody can act on.
fn is_system(name: &str) -> bool {
    name.starts_with("system:")
}

/// Kubernetes' default user-facing roles. Bound in one namespace (a RoleBinding) they are
/// the intended way to give a team its namespace, so their broad rules (edit can create
/// pods and impersonate service accounts) are not findings there; bound cluster-wide they
/// still are.
fn is_default_namespaced_grant(b: &Binding, r: &Role) -> bool {
    b.kind == "RoleBinding"
        && r.kind == "ClusterRole"
        && matches!(r.name.as_str(), "admin" | "edit" | "view")
}

fn any(list: &[String], want: &str) -> bool {
    list.iter().any(|x| x == "*" || x == want)
}

/// True when `rule` grants `verb` on `resource` in API group `group`.
fn grants(rule: &PolicyRule, verb: &str, group: &str, resource: &str) -> bool {
    rule.resource_names.is_empty()
        && any(&rule.verbs, verb)
        && any(&rule.api_groups, group)
        && any(&rule.resources, resource)
}

/// Every (binding, subject, role) triple the snapshot can resolve, system bindings excluded.
/// `cluster-admin` as Kubernetes defines it, for bindings whose snapshot lacks the role.
static CLUSTER_ADMIN_ROLE: std::sync::LazyLock<Role> = std::sync::LazyLock::new(|| Role {
    kind: "ClusterRole".to_string(),
    namespace: String::new(),
    name: "cluster-admin".to_string(),
    rules: vec![PolicyRule {
        api_groups: vec!["*".to_string()],
        resources: vec!["*".to_string()],
        verbs: vec!["*".to_string()],
        ..PolicyRule::default()
    }],
});

fn grants_by_subject<'a>(ctx: &'a Ctx<'_>) -> Vec<(&'a Binding, &'a Subject, &'a Role)> {
    let mut out = Vec::new();
    // Built-in bindings (named `system:...`) are the platform's own. Subjects are not
    // skipped by name: `system:authenticated` bound to cluster-admin is the worst case.
    for b in ctx.cluster.bindings.iter().filter(|b| !is_system(&b.name)) {
        let role = ctx.cluster.roles.iter().find(|r| {
            r.kind == b.role_ref.kind
                && r.name == b.role_ref.name
                && (r.kind == "ClusterRole" || r.namespace == b.namespace)
        });
        let role = match role {
            Some(r) => r,
            None if b.role_ref.kind == "ClusterRole" && b.role_ref.name == "cluster-admin" => {
                &CLUSTER_ADMIN_ROLE
            }
            None => continue,
        };
        for s in &b.subjects {
            // `system:masters` is the designated break-glass admin group.
            if s.name != "system:masters" {
                out.push((b, s, role));
            }
        }
    }
    out
}

fn subject_resource(s: &Subject, b: &Binding) -> Resource {
    match s.kind.as_str() {
        "ServiceAccount" => {
            let ns = if s.namespace.is_empty() {
                b.namespace.as_str()
            } else {
                s.namespace.as_str()
            };
            Resource::object("ServiceAccount", Some(ns), &s.name)
        }
        kind => Resource::object(kind, None, &s.name),
    }
}

fn scope(b: &Binding) -> String {
    if b.kind == "ClusterRoleBinding" {
        "cluster-wide".to_string()
    } else {
        format!("in namespace {}", b.namespace)
    }
}

fn finding(meta: &CheckMeta, b: &Binding, s: &Subject, r: &Role, what: String) -> Finding {
    let f = base_finding(meta, b, s, r, what);
    if is_everyone(s) {
        f.severity(Severity::Critical)
    } else {
        f
    }
}

fn base_finding(meta: &CheckMeta, b: &Binding, s: &Subject, r: &Role, what: String) -> Finding {
    Finding::new(
        meta,
        subject_resource(s, b),
        format!(
            "{what} {} via {} {} -> {} {}",
            scope(b),
            b.kind,
            b.name,
            r.kind,
            r.name
        ),
    )
    .evidence("binding", format!("{}/{}", b.kind, b.name))
    .evidence("bindingNamespace", b.namespace.clone())
    .evidence("role", format!("{}/{}", r.kind, r.name))
    .evidence("subjectKind", s.kind.clone())
}

/// Subjects that mean "everyone" (every authenticated user, every ServiceAccount, or
/// nobody at all): any grant to them is critical.
fn is_everyone(s: &Subject) -> bool {
    matches!(
        s.name.as_str(),
        "system:authenticated"
            | "system:unauthenticated"
            | "system:anonymous"
            | "system:serviceaccounts"
    ) || s.name.starts_with("system:serviceaccounts:")
}

check! {
    /// ### What it does
    /// Reports subjects bound to the `cluster-admin` ClusterRole, by a ClusterRoleBinding
    /// or a RoleBinding: critical for ServiceAccounts (any pod using the account is cluster
    /// admin), warning for users and groups, critical for "everyone" groups
    /// (`system:authenticated`, `system:serviceaccounts`, ...). Built-in `system:` bindings
    /// and the `system:masters` group are skipped. A binding whose ClusterRole is missing
    /// from the snapshot still counts when it names `cluster-admin`.
    ///
    /// ### Why it matters
    /// cluster-admin can read every Secret and change everything; a compromised CI token or
    /// operator pod with it owns the cluster.
    ///
    /// ### Example
    /// `ClusterRoleBinding ci-deployer` -> `cluster-admin` for `ServiceAccount ci/deployer`.
    CLUSTER_ADMIN {
        code: "KD370",
        name: "cluster-admin-binding",
        title: "Subject bound to cluster-admin",
        severity: Critical,
        commands: [Audit],
        run: cluster_admin,
    }
}

fn cluster_admin(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for (b, s, r) in grants_by_subject(ctx) {
        if r.kind == "ClusterRole" && r.name == "cluster-admin" {
            let sev = if s.kind == "ServiceAccount" || is_everyone(s) {
                Severity::Critical
            } else {
                Severity::Warning
            };
            out.push(
                finding(&CLUSTER_ADMIN.meta, b, s, r, "is cluster-admin".to_string())
                    .severity(sev)
                    .remediation("Bind a role with only the verbs and resources this subject needs; keep cluster-admin for break-glass humans."),
            );
        }
    }
}

check! {
    /// ### What it does
    /// Reports subjects holding rules with wildcards (`*`) in verbs, resources or API groups
    /// (other than through `cluster-admin`, which KD370 reports).
    ///
    /// ### Why it matters
    /// A wildcard grants every present and future resource or verb, including ones added by
    /// CRDs later.
    ///
    /// ### Example
    /// `rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["get", "list"]}]`.
    WILDCARD_RULES {
        code: "KD371",
        name: "rbac-wildcard",
        title: "RBAC rule with wildcards",
        severity: Warning,
        commands: [Audit],
        run: wildcard_rules,
    }
}

fn wildcard_rules(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for (b, s, r) in grants_by_subject(ctx) {
        if r.name == "cluster-admin" || is_default_namespaced_grant(b, r) {
            continue;
        }
        let wild: Vec<&str> = r
            .rules
            .iter()
            .flat_map(|rule| {
                [
                    ("verbs", &rule.verbs),
                    ("resources", &rule.resources),
                    ("apiGroups", &rule.api_groups),
                ]
                .into_iter()
                .filter(|(_, list)| list.iter().any(|x| x == "*"))
                .map(|(n, _)| n)
            })
            .collect();
        if !wild.is_empty() {
            let mut kinds = wild.clone();
            kinds.sort_unstable();
            kinds.dedup();
            out.push(
                finding(
                    &WILDCARD_RULES.meta,
                    b,
                    s,
                    r,
                    format!("holds wildcard {}", kinds.join(", ")),
                )
                .remediation("List the API groups, resources and verbs explicitly."),
            );
        }
    }
}

check! {
    /// ### What it does
    /// Reports subjects that can read Secrets (`get`, `list` or `watch` on `secrets`)
    /// cluster-wide, through a ClusterRoleBinding.
    ///
    /// ### Why it matters
    /// Reading every Secret means every database password, token and TLS key of every team.
    ///
    /// ### Example
    /// A monitoring ServiceAccount with `list secrets` in a ClusterRole bound cluster-wide.
    SECRETS_CLUSTER_WIDE {
        code: "KD372",
        name: "secrets-read-cluster-wide",
        title: "Secrets readable cluster-wide",
        severity: Critical,
        commands: [Audit],
        run: secrets_cluster_wide,
    }
}

fn secrets_cluster_wide(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for (b, s, r) in grants_by_subject(ctx) {
        if b.kind != "ClusterRoleBinding" || r.name == "cluster-admin" {
            continue;
        }
        let verbs: Vec<&str> = ["get", "list", "watch"]
            .into_iter()
            .filter(|v| r.rules.iter().any(|rule| grants(rule, v, "", "secrets")))
            .collect();
        if !verbs.is_empty() {
            out.push(
                finding(&SECRETS_CLUSTER_WIDE.meta, b, s, r, format!("can {} secrets", verbs.join("/")))
                    .remediation("Grant Secret access per namespace with a RoleBinding, ideally with resourceNames."),
            );
        }
    }
}

check! {
    /// ### What it does
    /// Reports subjects that can run code in pods: create pods, `pods/exec` or
    /// `pods/attach`; update `pods/ephemeralcontainers`; get `nodes/proxy` (the kubelet
    /// API); or create Deployments, DaemonSets, StatefulSets, Jobs or CronJobs. The default
    /// `admin`/`edit` roles bound in one namespace are the normal way to run a team's
    /// namespace and are not reported.
    ///
    /// ### Why it matters
    /// Creating a pod lets a subject mount any Secret and run as any ServiceAccount of the
    /// namespace; exec gives a shell in running workloads.
    ///
    /// ### Example
    /// A Role with `{resources: [pods/exec], verbs: [create]}` bound to a CI account.
    POD_EXEC {
        code: "KD373",
        name: "pod-create-exec",
        title: "Subject can create pods or exec into them",
        severity: Warning,
        commands: [Audit],
        run: pod_exec,
    }
}

fn pod_exec(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for (b, s, r) in grants_by_subject(ctx) {
        if r.name == "cluster-admin" || is_default_namespaced_grant(b, r) {
            continue;
        }
        // Creating any pod-creating workload is creating pods; ephemeral containers and the
        // kubelet proxy are exec by another door.
        let rights: [(&str, &str, &str); 11] = [
            ("create", "", "pods"),
            ("create", "", "pods/exec"),
            ("create", "", "pods/attach"),
            ("update", "", "pods/ephemeralcontainers"),
            ("patch", "", "pods/ephemeralcontainers"),
            ("get", "", "nodes/proxy"),
            ("create", "apps", "deployments"),
            ("create", "apps", "daemonsets"),
            ("create", "apps", "statefulsets"),
            ("create", "batch", "jobs"),
            ("create", "batch", "cronjobs"),
        ];
        let what: Vec<String> = rights
            .iter()
            .filter(|(verb, group, res)| r.rules.iter().any(|rule| grants(rule, verb, group, res)))
            .map(|(verb, _, res)| format!("{verb} {res}"))
            .collect();
        if !what.is_empty() {
            out.push(
                finding(&POD_EXEC.meta, b, s, r, format!("can {}", what.join(", ")))
                    .remediation("Let controllers (Deployments) create pods; give humans exec only through a time-limited role."),
            );
        }
    }
}

check! {
    /// ### What it does
    /// Reports subjects holding `escalate` or `bind` on RBAC roles and bindings, or
    /// `impersonate` on users, groups or service accounts, including through wildcard verbs
    /// or resources; rules limited by `resourceNames` and the default `admin`/`edit` roles
    /// bound in one namespace are not reported.
    ///
    /// ### Why it matters
    /// `escalate` and `bind` let a subject grant itself any permission; `impersonate` lets
    /// it act as any user, group or ServiceAccount.
    ///
    /// ### Example
    /// `{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind]}`.
    ESCALATION_VERBS {
        code: "KD374",
        name: "rbac-escalation-verbs",
        title: "Subject can escalate, bind or impersonate",
        severity: Critical,
        commands: [Audit],
        run: escalation_verbs,
    }
}

fn escalation_verbs(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for (b, s, r) in grants_by_subject(ctx) {
        if r.name == "cluster-admin" || is_default_namespaced_grant(b, r) {
            continue;
        }
        // A wildcard verb on RBAC objects includes escalate and bind; on users, groups or
        // service accounts it includes impersonate. Rules limited by resourceNames are
        // scoped on purpose and not reported.
        let rbac = [
            "roles",
            "clusterroles",
            "rolebindings",
            "clusterrolebindings",
        ];
        let who = [
            "users",
            "groups",
            "serviceaccounts",
            "userextras/scopes",
            "uids",
        ];
        let holds = |verb: &str, group: &str, resources: &[&str]| {
            r.rules
                .iter()
                .any(|rule| resources.iter().any(|res| grants(rule, verb, group, res)))
        };
        let verbs: Vec<&str> = [
            (
                "escalate",
                holds("escalate", "rbac.authorization.k8s.io", &rbac),
            ),
            ("bind", holds("bind", "rbac.authorization.k8s.io", &rbac)),
            (
                "impersonate",
                holds("impersonate", "", &who)
                    || holds("impersonate", "authentication.k8s.io", &who),
            ),
        ]
        .into_iter()
        .filter_map(|(v, on)| on.then_some(v))
        .collect();
        if !verbs.is_empty() {
            out.push(
                finding(&ESCALATION_VERBS.meta, b, s, r, format!("holds {}", verbs.join(", ")))
                    .remediation("Remove escalate/bind/impersonate unless this is an RBAC-management component; restrict with resourceNames."),
            );
        }
    }
}
