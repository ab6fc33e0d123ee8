//! The findings model shared by every sre-toolkit tool.
//!
//! Every tool produces a [`Report`]: what was examined (`target`), what went wrong while
//! examining it (`errors`, `partial`), and what was found (`findings`). Renderers in
//! `sre-render` turn one `Report` into every output format, so all formats are fed by the same
//! model. The JSON form of a `Report` is the versioned contract documented in
//! `docs/report-schema.md` and `docs/report.schema.json`.
//!
//! This crate does no I/O: the caller supplies the clock and the data.
//!
//! ```
//! use sre_core::{CheckMeta, Finding, Report, Resource, Severity};
//! use std::time::UNIX_EPOCH;
//!
//! const CHECK: CheckMeta = CheckMeta {
//!     code: "KD101", name: "node-not-ready", title: "Node is not Ready",
//!     severity: Severity::Critical, aliases: &[],
//! };
//! let mut report = Report::new("k8s-doctor", "healthcheck", UNIX_EPOCH);
//! report.add_checks(&[CHECK]);
//! report.push(Finding::new(&CHECK, Resource::object("Node", None, "node-1"), "kubelet stopped posting status"));
//! report.finish();
//! assert_eq!(report.summary.critical, 1);
//! assert_eq!(report.exit_severity(), Some(Severity::Critical));
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

/// The version of the JSON report contract. Bump it (and document the change in
/// `docs/report-schema.md`) whenever a field is removed, renamed or changes meaning.
/// Adding optional fields does not change the version.
pub const SCHEMA_VERSION: &str = "1";

/// How bad a finding is. Ordered: `Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; no action needed now.
    Info,
    /// Degraded or risky; act soon.
    Warning,
    /// Broken or about to break; act now.
    Critical,
}

impl Severity {
    /// All severities, most severe first.
    pub const ALL: [Severity; 3] = [Severity::Critical, Severity::Warning, Severity::Info];

    /// The lowercase name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error returned when a severity name is not one of `critical`, `warning`, `info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseSeverityError(pub String);

impl fmt::Display for ParseSeverityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown severity `{}` (valid values: critical, warning, info)",
            self.0
        )
    }
}

impl std::error::Error for ParseSeverityError {}

impl FromStr for Severity {
    type Err = ParseSeverityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "warning" | "warn" => Ok(Severity::Warning),
            "critical" | "crit" => Ok(Severity::Critical),
            _ => Err(ParseSeverityError(s.to_string())),
        }
    }
}

/// Static description of one check. Codes are stable: once released, a code never changes
/// meaning; a renamed check keeps its old code in `aliases`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckMeta {
    /// Stable code, for example `KD201`.
    pub code: &'static str,
    /// Stable kebab-case name, for example `pod-crashloop`.
    pub name: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// The severity the check usually reports (a finding may differ, e.g. by threshold).
    pub severity: Severity,
    /// Former codes or names that still select this check.
    pub aliases: &'static [&'static str],
}

impl CheckMeta {
    /// True if `key` is this check's code, name or one of its aliases (case-insensitive).
    pub fn matches(&self, key: &str) -> bool {
        self.code.eq_ignore_ascii_case(key)
            || self.name.eq_ignore_ascii_case(key)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(key))
    }
}

/// A check as recorded in a report: which checks ran, so that formats such as JUnit and SARIF
/// can list passing checks too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckRef {
    pub code: String,
    pub name: String,
    pub title: String,
    pub severity: Severity,
}

impl From<&CheckMeta> for CheckRef {
    fn from(m: &CheckMeta) -> Self {
        CheckRef {
            code: m.code.to_string(),
            name: m.name.to_string(),
            title: m.title.to_string(),
            severity: m.severity,
        }
    }
}

/// What a finding is about: a Kubernetes-style object (`kind`, `namespace`, `name`) or a
/// place in a file (`path`, `line`, `column`). Unused fields are omitted from JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// The cluster (kubeconfig context) of the object, in reports over several clusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

impl Resource {
    /// An API object such as `Pod shop/cart-7d9f`.
    pub fn object(kind: &str, namespace: Option<&str>, name: &str) -> Self {
        Resource {
            kind: Some(kind.to_string()),
            namespace: namespace.filter(|n| !n.is_empty()).map(str::to_string),
            name: Some(name.to_string()),
            ..Resource::default()
        }
    }

    /// A place in a file; `line` and `column` are 1-based.
    pub fn file(path: &str, line: Option<u32>, column: Option<u32>) -> Self {
        Resource {
            path: Some(path.to_string()),
            line,
            column,
            ..Resource::default()
        }
    }

    /// The cluster (or other whole target) itself.
    pub fn cluster() -> Self {
        Resource {
            kind: Some("Cluster".to_string()),
            ..Resource::default()
        }
    }
}

impl fmt::Display for Resource {
    /// `Kind namespace/name`, `Kind name` or `path:line:col`, after `[cluster] ` in reports
    /// over several clusters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(cluster) = &self.cluster {
            write!(f, "[{cluster}] ")?;
        }
        if let Some(path) = &self.path {
            write!(f, "{path}")?;
            if let Some(l) = self.line {
                write!(f, ":{l}")?;
                if let Some(c) = self.column {
                    write!(f, ":{c}")?;
                }
            }
            return Ok(());
        }
        let mut wrote = false;
        if let Some(kind) = &self.kind {
            write!(f, "{kind}")?;
            wrote = true;
        }
        let ns_name = match (&self.namespace, &self.name) {
            (Some(ns), Some(n)) => Some(format!("{ns}/{n}")),
            (None, Some(n)) => Some(n.clone()),
            (Some(ns), None) => Some(format!("{ns}/")),
            (None, None) => None,
        };
        if let Some(s) = ns_name {
            if wrote {
                f.write_str(" ")?;
            }
            f.write_str(&s)?;
        }
        Ok(())
    }
}

/// One problem found by a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub code: String,
    pub severity: Severity,
    pub title: String,
    pub message: String,
    pub resource: Resource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
    /// Machine-readable facts behind the finding (counts, thresholds, reasons).
    #[serde(default)]
    pub evidence: Map<String, Value>,
}

impl Finding {
    /// A finding of `check` with its default severity and title.
    pub fn new(check: &CheckMeta, resource: Resource, message: impl Into<String>) -> Self {
        Finding {
            code: check.code.to_string(),
            severity: check.severity,
            title: check.title.to_string(),
            message: message.into(),
            resource,
            remediation: None,
            evidence: Map::new(),
        }
    }

    /// Overrides the severity (for threshold-based checks).
    #[must_use]
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Sets the remediation advice.
    #[must_use]
    pub fn remediation(mut self, text: impl Into<String>) -> Self {
        self.remediation = Some(text.into());
        self
    }

    /// Adds one evidence field.
    #[must_use]
    pub fn evidence(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.evidence.insert(key.to_string(), value.into());
        self
    }

    fn sort_key_cmp(&self, other: &Self) -> Ordering {
        other
            .severity
            .cmp(&self.severity)
            .then_with(|| self.code.cmp(&other.code))
            .then_with(|| self.resource.cmp(&other.resource))
            .then_with(|| self.message.cmp(&other.message))
    }
}

/// Finding counts per severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub critical: u64,
    pub warning: u64,
    pub info: u64,
}

impl Summary {
    /// The count for one severity.
    pub fn get(&self, severity: Severity) -> u64 {
        match severity {
            Severity::Critical => self.critical,
            Severity::Warning => self.warning,
            Severity::Info => self.info,
        }
    }

    /// All findings.
    pub fn total(&self) -> u64 {
        self.critical + self.warning + self.info
    }
}

/// Something that could not be examined. Its presence makes the report `partial`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportError {
    /// What could not be examined: a file, URL or resource type.
    pub source: String,
    /// Why, in words a user can act on.
    pub message: String,
}

/// A tool's report: the JSON contract every tool emits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub schema_version: String,
    pub tool: String,
    pub command: String,
    /// RFC 3339, UTC, second precision.
    pub generated_at: String,
    /// What was examined; each tool documents its own fields.
    pub target: Map<String, Value>,
    pub summary: Summary,
    pub partial: bool,
    pub errors: Vec<ReportError>,
    /// The checks that ran, passing or not (added in schema 1; used by JUnit and SARIF).
    #[serde(default)]
    pub checks: Vec<CheckRef>,
    pub findings: Vec<Finding>,
    /// Findings silenced on purpose, with the reason: counted and listed, never dropped.
    /// Omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<Suppressed>,
}

/// A finding that a suppression rule silenced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Suppressed {
    pub finding: Finding,
    /// Why, as written by whoever suppressed it.
    pub reason: String,
    /// Where the suppression comes from: `config`, `flag` or `annotation` (with detail).
    pub source: String,
}

impl Report {
    /// An empty report generated at `now`.
    pub fn new(tool: &str, command: &str, now: SystemTime) -> Self {
        Report {
            schema_version: SCHEMA_VERSION.to_string(),
            tool: tool.to_string(),
            command: command.to_string(),
            generated_at: humantime::format_rfc3339_seconds(now).to_string(),
            target: Map::new(),
            summary: Summary::default(),
            partial: false,
            errors: Vec::new(),
            checks: Vec::new(),
            findings: Vec::new(),
            suppressed: Vec::new(),
        }
    }

    /// Records checks that ran.
    pub fn add_checks(&mut self, checks: &[CheckMeta]) {
        for c in checks {
            if !self.checks.iter().any(|r| r.code == c.code) {
                self.checks.push(CheckRef::from(c));
            }
        }
    }

    /// Adds a finding.
    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Records something that could not be examined and marks the report partial.
    pub fn error(&mut self, source: impl Into<String>, message: impl Into<String>) {
        self.partial = true;
        self.errors.push(ReportError {
            source: source.into(),
            message: message.into(),
        });
    }

    /// Moves the findings for which `rule` returns `Some((reason, source))` to
    /// `suppressed`. Call before [`Report::finish`].
    pub fn suppress(&mut self, mut rule: impl FnMut(&Finding) -> Option<(String, String)>) {
        let mut kept = Vec::with_capacity(self.findings.len());
        for f in std::mem::take(&mut self.findings) {
            match rule(&f) {
                Some((reason, source)) => self.suppressed.push(Suppressed {
                    finding: f,
                    reason,
                    source,
                }),
                None => kept.push(f),
            }
        }
        self.findings = kept;
    }

    /// Sorts findings (most severe first, then code and resource) and recomputes the
    /// summary. Call once after all findings are in.
    pub fn finish(&mut self) {
        self.findings.sort_by(Finding::sort_key_cmp);
        self.suppressed
            .sort_by(|a, b| a.finding.sort_key_cmp(&b.finding));
        self.checks.sort_by(|a, b| a.code.cmp(&b.code));
        let mut s = Summary::default();
        for f in &self.findings {
            match f.severity {
                Severity::Critical => s.critical += 1,
                Severity::Warning => s.warning += 1,
                Severity::Info => s.info += 1,
            }
        }
        self.summary = s;
        self.partial = self.partial || !self.errors.is_empty();
    }

    /// The most severe finding's severity, if any.
    pub fn exit_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// True when some finding is at or above `threshold` (`None` = never fail).
    pub fn fails(&self, threshold: Option<Severity>) -> bool {
        match (threshold, self.exit_severity()) {
            (Some(t), Some(worst)) => worst >= t,
            _ => false,
        }
    }

    /// Findings of one check code.
    pub fn findings_for<'a>(&'a self, code: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings.iter().filter(move |f| f.code == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const C: CheckMeta = CheckMeta {
        code: "T001",
        name: "test-check",
        title: "Test",
        severity: Severity::Warning,
        aliases: &["OLD1"],
    };

    #[test]
    fn severity_order_and_parse() {
        assert!(Severity::Critical > Severity::Warning && Severity::Warning > Severity::Info);
        assert_eq!("WARN".parse::<Severity>(), Ok(Severity::Warning));
        let err = "bad".parse::<Severity>().unwrap_err().to_string();
        assert!(err.contains("critical, warning, info"), "{err}");
    }

    #[test]
    fn finish_sorts_and_counts() {
        let mut r = Report::new("t", "c", UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        assert_eq!(r.generated_at, "2023-11-14T22:13:20Z");
        r.push(Finding::new(
            &C,
            Resource::object("Pod", Some("b"), "x"),
            "w",
        ));
        r.push(
            Finding::new(&C, Resource::object("Pod", Some("a"), "x"), "c")
                .severity(Severity::Critical),
        );
        r.push(
            Finding::new(&C, Resource::object("Pod", Some("a"), "x"), "i").severity(Severity::Info),
        );
        r.finish();
        let sev: Vec<_> = r.findings.iter().map(|f| f.severity).collect();
        assert_eq!(
            sev,
            vec![Severity::Critical, Severity::Warning, Severity::Info]
        );
        assert_eq!(
            r.summary,
            Summary {
                critical: 1,
                warning: 1,
                info: 1
            }
        );
        assert!(r.fails(Some(Severity::Critical)));
        assert!(!r.fails(None));
    }

    #[test]
    fn resource_display() {
        assert_eq!(
            Resource::object("Pod", Some("shop"), "cart").to_string(),
            "Pod shop/cart"
        );
        assert_eq!(Resource::object("Node", None, "n1").to_string(), "Node n1");
        assert_eq!(
            Resource::file("a.yaml", Some(3), Some(7)).to_string(),
            "a.yaml:3:7"
        );
    }

    #[test]
    fn suppressed_findings_are_kept_aside_not_counted() {
        let mut r = Report::new("t", "c", UNIX_EPOCH);
        r.push(Finding::new(
            &C,
            Resource::object("Pod", Some("a"), "x"),
            "keep",
        ));
        r.push(Finding::new(
            &C,
            Resource::object("Pod", Some("b"), "y"),
            "drop",
        ));
        r.suppress(|f| (f.message == "drop").then(|| ("known".to_string(), "flag".to_string())));
        r.finish();
        assert_eq!(r.summary.total(), 1);
        assert_eq!(r.suppressed.len(), 1);
        assert_eq!(r.suppressed[0].reason, "known");
        let json = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(json["suppressed"][0]["finding"]["message"], "drop");
    }

    #[test]
    fn aliases_match() {
        assert!(C.matches("t001") && C.matches("test-check") && C.matches("OLD1"));
        assert!(!C.matches("T002"));
    }

    #[test]
    fn error_marks_partial() {
        let mut r = Report::new("t", "c", UNIX_EPOCH);
        r.error("file.yaml", "unreadable");
        r.finish();
        assert!(r.partial);
        let json = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(json["schemaVersion"], "1");
        assert_eq!(json["errors"][0]["source"], "file.yaml");
    }
}
