//! Suppressions: findings silenced on purpose, with a reason, from three places:
//! - the config file (`k8s-doctor.suppressions`: code, namespace, name pattern, labels,
//!   mandatory reason, optional expiry);
//! - the command line (`--exclude CODE[:namespace/name]`);
//! - the `sre.dev/ignore` annotation on the object, or on its Namespace.
//!
//! Suppressed findings move to `report.suppressed` (counted and listed, never dropped).
//! An expired config rule no longer applies and becomes a KD390 finding itself.

use crate::checks::{self, check, Ctx};
use crate::model::{Cluster, Labels};
use sre_cli::config::SuppressionRule;
use sre_core::{Finding, Report, Resource, Severity};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::SystemTime;

/// One rule, from the config file or `--exclude`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub code: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub reason: String,
    /// Expiry: the day it ends (as written) and its start.
    pub expires: Option<(String, SystemTime)>,
    /// `config <path>` or `flag --exclude ...`.
    pub source: String,
}

/// Every rule a run applies.
#[derive(Debug, Clone, Default)]
pub struct Suppressions {
    pub rules: Vec<Rule>,
}

/// An `--exclude` value that is not `CODE`, `CODE:namespace/name` or `CODE:name`.
#[derive(Debug, thiserror::Error)]
#[error("invalid --exclude `{0}`: use CODE, CODE:namespace/name or CODE:name (cluster-scoped), with * and ? allowed in names, e.g. KD313:monitoring/node-agent")]
pub struct ExcludeError(String);

impl Suppressions {
    /// Rules from the config file section and the `--exclude` flags. Unknown codes are
    /// errors listing the valid ones (a typo would otherwise silently suppress nothing).
    pub fn new(
        config: &[SuppressionRule],
        config_path: Option<&Path>,
        excludes: &[String],
    ) -> anyhow::Result<Self> {
        let mut rules = Vec::new();
        let src = config_path
            .map(|p| format!("config {}", p.display()))
            .unwrap_or_else(|| "config".to_string());
        for r in config {
            known(&r.code)?;
            rules.push(Rule {
                code: r.code.clone(),
                namespace: r.namespace.clone(),
                name: r.name.clone(),
                labels: r.labels.clone(),
                reason: r.reason.clone(),
                expires: r.expires.as_ref().map(|d| (d.0.text.clone(), d.0.start)),
                source: src.clone(),
            });
        }
        for e in excludes {
            let (code, target) = match e.split_once(':') {
                Some((c, t)) => (c, Some(t)),
                None => (e.as_str(), None),
            };
            if code.is_empty() || target.is_some_and(str::is_empty) {
                return Err(ExcludeError(e.clone()).into());
            }
            known(code)?;
            let (namespace, name) = match target.map(|t| t.split_once('/')) {
                Some(Some((ns, n))) => (Some(ns.to_string()), Some(n.to_string())),
                Some(None) => (None, target.map(str::to_string)),
                None => (None, None),
            };
            rules.push(Rule {
                code: code.to_string(),
                namespace,
                name,
                labels: BTreeMap::new(),
                reason: "excluded on the command line".to_string(),
                expires: None,
                source: format!("flag --exclude {e}"),
            });
        }
        Ok(Suppressions { rules })
    }
}

fn known(code: &str) -> anyhow::Result<()> {
    if checks::find(code).is_none() {
        let codes: Vec<&str> = checks::ALL.iter().map(|c| c.meta.code).collect();
        anyhow::bail!(
            "unknown check `{code}` in a suppression; valid codes: {}",
            codes.join(", ")
        );
    }
    Ok(())
}

check! {
    /// ### What it does
    /// Reports suppression rules of the config file whose `expires` date has passed. The
    /// rule no longer applies, so the findings it silenced are back in the report too.
    ///
    /// ### Why it matters
    /// Suppressions are debts with a due date; an expired one means the promised fix did not
    /// happen, and someone should decide again.
    ///
    /// ### Example
    /// `{code: KD313, namespace: monitoring, reason: "until the eBPF agent ships", expires: 2026-01-31}`.
    SUPPRESSION_EXPIRED {
        code: "KD390",
        name: "suppression-expired",
        title: "Suppression expired",
        severity: Warning,
        commands: [Healthcheck, Diagnostics, Audit],
        run: nothing,
    }
}

/// KD390 findings come from [`apply`], which knows the rules; as a check it finds nothing
/// in the cluster itself.
fn nothing(_: &Ctx<'_>, _: &mut Vec<Finding>) {}

/// `*` and `?` wildcards. Hand-written: a full glob crate (globset pulls in regex) is a lot
/// of code for matching object names.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Labels and annotation codes of every object a finding can name.
struct Objects<'a> {
    /// The object's labels, and for workloads also its pod template's.
    labels: HashMap<(&'a str, &'a str, &'a str), Vec<&'a Labels>>,
    ignore: HashMap<(&'a str, &'a str, &'a str), &'a [String]>,
}

fn objects(cluster: &Cluster) -> Objects<'_> {
    let mut labels = HashMap::new();
    let mut ignore = HashMap::new();
    for w in &cluster.workloads {
        let key = (w.kind.as_str(), w.namespace.as_str(), w.name.as_str());
        labels.insert(key, vec![&w.labels, &w.template_meta.labels]);
        if !w.ignore.is_empty() {
            ignore.insert(key, w.ignore.as_slice());
        }
    }
    for p in &cluster.pods {
        let key = ("Pod", p.meta.namespace.as_str(), p.meta.name.as_str());
        labels.entry(key).or_insert_with(|| vec![&p.meta.labels]);
        if !p.meta.ignore.is_empty() {
            ignore.insert(key, p.meta.ignore.as_slice());
        }
    }
    for n in &cluster.nodes {
        let key = ("Node", "", n.meta.name.as_str());
        labels.insert(key, vec![&n.meta.labels]);
        if !n.meta.ignore.is_empty() {
            ignore.insert(key, n.meta.ignore.as_slice());
        }
    }
    Objects { labels, ignore }
}

fn key(r: &Resource) -> (&str, &str, &str) {
    (
        r.kind.as_deref().unwrap_or(""),
        r.namespace.as_deref().unwrap_or(""),
        r.name.as_deref().unwrap_or(""),
    )
}

fn code_matches(listed: &str, finding_code: &str) -> bool {
    checks::find(listed).is_some_and(|c| c.meta.code == finding_code)
}

fn rule_matches(rule: &Rule, f: &Finding, objects: &Objects<'_>) -> bool {
    if !code_matches(&rule.code, &f.code) {
        return false;
    }
    let r = &f.resource;
    if let Some(ns) = &rule.namespace {
        if !namespace_of(r).is_some_and(|n| wildcard(ns, n)) {
            return false;
        }
    }
    if let Some(name) = &rule.name {
        if !r.name.as_deref().is_some_and(|n| wildcard(name, n)) {
            return false;
        }
    }
    if !rule.labels.is_empty() {
        let Some(sets) = objects.labels.get(&key(r)) else {
            return false;
        };
        // Every rule label must be on the object or on its pod template.
        if !rule
            .labels
            .iter()
            .all(|(k, v)| sets.iter().any(|l| l.get(k) == Some(v.as_str())))
        {
            return false;
        }
    }
    true
}

/// Applies annotations and `rules` to `report` (before `finish`), and reports expired rules.
pub fn apply(report: &mut Report, cluster: &Cluster, suppressions: &Suppressions, now: SystemTime) {
    // `expires: 2027-01-31` still applies all of that day (UTC).
    let (active, expired): (Vec<&Rule>, Vec<&Rule>) = suppressions.rules.iter().partition(|r| {
        r.expires
            .as_ref()
            .is_none_or(|(_, day)| *day + std::time::Duration::from_secs(86_400) > now)
    });
    // Expired rules are reported first, so that KD390 itself can be suppressed.
    if !expired.is_empty() {
        report.add_checks(&[SUPPRESSION_EXPIRED.meta]);
    }
    for rule in expired {
        report.push(expired_finding(rule));
    }
    // Fast path: no rule and no annotation anywhere (the usual big-cluster case) needs no
    // object index over every pod.
    let annotated = !cluster.namespace_ignore.is_empty()
        || cluster.workloads.iter().any(|w| !w.ignore.is_empty())
        || cluster.pods.iter().any(|p| !p.meta.ignore.is_empty())
        || cluster.nodes.iter().any(|n| !n.meta.ignore.is_empty());
    if suppressions.rules.is_empty() && !annotated {
        return;
    }
    let objects = objects(cluster);
    report.suppress(|f| {
        let r = &f.resource;
        if let Some(codes) = objects.ignore.get(&key(r)) {
            if codes.iter().any(|c| code_matches(c, &f.code)) {
                return Some((
                    "annotated on the object".to_string(),
                    format!("annotation {} on {r}", crate::model::IGNORE_ANNOTATION),
                ));
            }
        }
        if let Some(ns) = namespace_of(r) {
            if let Some(codes) = cluster.namespace_ignore.get(ns) {
                if codes.iter().any(|c| code_matches(c, &f.code)) {
                    return Some((
                        "annotated on the namespace".to_string(),
                        format!(
                            "annotation {} on Namespace {ns}",
                            crate::model::IGNORE_ANNOTATION
                        ),
                    ));
                }
            }
        }
        active
            .iter()
            .find(|rule| rule_matches(rule, f, &objects))
            .map(|rule| (rule.reason.clone(), rule.source.clone()))
    });
}

/// The namespace a finding belongs to: its resource's, or the Namespace itself.
fn namespace_of(r: &Resource) -> Option<&str> {
    if r.kind.as_deref() == Some("Namespace") {
        r.name.as_deref()
    } else {
        r.namespace.as_deref()
    }
}

fn expired_finding(rule: &Rule) -> Finding {
    let day = rule.expires.as_ref().map(|(d, _)| d.as_str()).unwrap_or("");
    let scope: Vec<String> = [("namespace", &rule.namespace), ("name", &rule.name)]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}")))
        .collect();
    let path = rule.source.strip_prefix("config ").unwrap_or(&rule.source);
    Finding::new(
        &SUPPRESSION_EXPIRED.meta,
        Resource::file(path, None, None),
        format!(
            "the suppression of {}{} expired on {day} (reason was: {}); its findings are reported again",
            rule.code,
            if scope.is_empty() { String::new() } else { format!(" ({})", scope.join(", ")) },
            rule.reason
        ),
    )
    .severity(Severity::Warning)
    .evidence("code", rule.code.clone())
    .evidence("expires", day)
    .remediation("Fix the findings, or renew the suppression with a new date and a current reason.")
}

#[cfg(test)]
mod tests {
    use super::wildcard;

    #[test]
    fn wildcards() {
        assert!(wildcard("node-*", "node-agent"));
        assert!(wildcard("*", ""));
        assert!(wildcard("a?c", "abc") && !wildcard("a?c", "abbc"));
        assert!(wildcard("*-canary-*", "api-canary-7d9f"));
        assert!(!wildcard("api", "api-2"));
    }
}
