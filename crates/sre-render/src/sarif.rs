//! SARIF 2.1.0, shaped for GitHub code scanning (`github/codeql-action/upload-sarif`).
//!
//! One run; one rule per entry of `report.checks` (plus one per finding code missing from
//! it, so every `ruleIndex` resolves); one result per finding. Locations:
//!
//! - File resources become a `physicalLocation` with the path as a relative URI and a region.
//! - Object resources (Kubernetes objects, the cluster) have no file. They get a
//!   `logicalLocation` naming the object (`Kind/namespace/name`), which is the accurate SARIF
//!   description, *and* a `physicalLocation`, because code scanning rejects results without
//!   one. Its URI is synthetic but stable: `k8s/<namespace>/<kind>/<name>` with the kind
//!   lower-cased, and `_cluster` in place of the namespace for cluster-scoped objects
//!   (Kubernetes namespaces are DNS labels, so `_cluster` cannot collide with a real one).
//!   GitHub shows such alerts without a source preview, and their identity stays stable from
//!   run to run because the URI only depends on the object.
//!
//! GitHub's validator also requires `region.startLine`; a file finding without a line and an
//! object finding describe the whole artifact, so they use line 1.

use crate::common::unlisted_codes;
use crate::{Format, RenderError};
use serde::Serialize;
use serde_json::{Map, Value};
use sre_core::{Finding, Report, Resource, Severity};
use std::collections::{BTreeMap, HashMap};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Key of our own fingerprint in `partialFingerprints`; versioned so the algorithm can change
/// without silently merging unrelated alerts.
const FINGERPRINT_KEY: &str = "sreFindingHash/v1";

// The SARIF document is built from typed structs rather than `serde_json::json!` so that the
// key order is the conventional one (`$schema`, `version`, `runs`, ...) and does not depend on
// whether serde_json's `preserve_order` feature happens to be enabled in the build.

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    automation_details: AutomationDetails,
    invocations: [Invocation; 1],
    results: Vec<SarifResult<'a>>,
    properties: RunProperties<'a>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    information_uri: Option<&'static str>,
    rules: Vec<Rule<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    short_description: Message,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    severity: Severity,
}

#[derive(Serialize)]
struct AutomationDetails {
    id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Message,
    properties: NotificationProperties,
}

#[derive(Serialize)]
struct NotificationProperties {
    source: String,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    rule_index: usize,
    level: &'static str,
    message: Message,
    locations: [Location; 1],
    partial_fingerprints: BTreeMap<&'static str, String>,
    /// SARIF's own notion of a suppressed result: code scanning shows it as dismissed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<SarifSuppression>,
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
struct SarifSuppression {
    kind: &'static str,
    justification: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logical_locations: Vec<LogicalLocation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation {
    name: String,
    fully_qualified_name: String,
    kind: &'static str,
}

#[derive(Serialize)]
struct ResultProperties<'a> {
    severity: Severity,
    title: &'a str,
    resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    remediation: Option<&'a str>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    evidence: &'a Map<String, Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunProperties<'a> {
    schema_version: &'a str,
    generated_at: &'a str,
    target: &'a Map<String, Value>,
}

pub(crate) fn render(report: &Report) -> Result<String, RenderError> {
    let unlisted = unlisted_codes(report);
    let mut rules: Vec<Rule<'_>> = report
        .checks
        .iter()
        .map(|c| rule(&c.code, Some(pascal_case(&c.name)), &c.title, c.severity))
        .collect();
    for &(code, title, severity) in &unlisted {
        rules.push(rule(code, None, title, severity));
    }
    let rule_index: HashMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id, i))
        .rev()
        .collect();

    // Identical code and resource can occur twice (two containers of one pod); the n-th
    // repeat gets `#n` mixed into its fingerprint so GitHub does not merge the alerts.
    let mut seen: HashMap<u64, u32> = HashMap::new();
    let results: Vec<SarifResult<'_>> = report
        .findings
        .iter()
        .map(|f| {
            let base = fingerprint(f, 0);
            let n = seen.entry(base).or_insert(0);
            let fp = if *n == 0 { base } else { fingerprint(f, *n) };
            *n += 1;
            result(f, rule_index.get(f.code.as_str()).copied().unwrap_or(0), fp)
        })
        .collect();
    // Suppressed results share the repeat counter, so two suppressed containers of one pod
    // keep distinct fingerprints too.
    let mut results = results;
    for s in &report.suppressed {
        let f = &s.finding;
        let base = fingerprint(f, 0);
        let n = seen.entry(base).or_insert(0);
        let fp = if *n == 0 { base } else { fingerprint(f, *n) };
        *n += 1;
        let mut r = result(f, rule_index.get(f.code.as_str()).copied().unwrap_or(0), fp);
        r.suppressions.push(SarifSuppression {
            kind: "external",
            justification: format!("{} ({})", s.reason, s.source),
        });
        results.push(r);
    }

    let notifications = report
        .errors
        .iter()
        .map(|e| Notification {
            level: "error",
            message: Message {
                text: format!("{}: {}", e.source, e.message),
            },
            properties: NotificationProperties {
                source: e.source.clone(),
            },
        })
        .collect();

    // The project's repository, taken from Cargo metadata so it follows the workspace setting.
    let repository = env!("CARGO_PKG_REPOSITORY");
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: format!("sre {}", report.tool),
                    information_uri: Some(repository).filter(|r| !r.is_empty()),
                    rules,
                },
            },
            // Code scanning keeps one analysis per category; deriving it from tool and command
            // lets several sre commands upload for the same commit without replacing each
            // other.
            automation_details: AutomationDetails {
                id: format!("sre/{}/{}/", report.tool, report.command),
            },
            invocations: [Invocation {
                execution_successful: !report.partial,
                tool_execution_notifications: notifications,
            }],
            results,
            properties: RunProperties {
                schema_version: &report.schema_version,
                generated_at: &report.generated_at,
                target: &report.target,
            },
        }],
    };
    let mut out = serde_json::to_string_pretty(&log).map_err(|source| RenderError::Json {
        format: Format::Sarif,
        source,
    })?;
    out.push('\n');
    Ok(out)
}

fn rule<'a>(code: &'a str, name: Option<String>, title: &str, severity: Severity) -> Rule<'a> {
    Rule {
        id: code,
        name: name.filter(|n| !n.is_empty()),
        short_description: Message {
            text: title.to_string(),
        },
        default_configuration: Configuration {
            level: level(severity),
        },
        properties: RuleProperties { severity },
    }
}

fn result(f: &Finding, rule_index: usize, fingerprint: u64) -> SarifResult<'_> {
    let mut text = f.message.clone();
    if let Some(r) = &f.remediation {
        text.push_str("\n\nRemediation: ");
        text.push_str(r);
    }
    let logical_locations = if f.resource.path.is_none() {
        vec![logical_location(&f.resource)]
    } else {
        Vec::new()
    };
    SarifResult {
        rule_id: &f.code,
        rule_index,
        level: level(f.severity),
        message: Message { text },
        locations: [Location {
            physical_location: physical_location(&f.resource),
            logical_locations,
        }],
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, format!("{fingerprint:016x}"))]),
        suppressions: Vec::new(),
        properties: ResultProperties {
            severity: f.severity,
            title: &f.title,
            resource: f.resource.to_string(),
            remediation: f.remediation.as_deref(),
            evidence: &f.evidence,
        },
    }
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn physical_location(r: &Resource) -> PhysicalLocation {
    let (uri, start_line, start_column) = match &r.path {
        Some(path) => (
            file_uri(path),
            r.line.unwrap_or(1).max(1),
            r.line.and(r.column),
        ),
        None => (object_uri(r), 1, None),
    };
    PhysicalLocation {
        artifact_location: ArtifactLocation { uri },
        region: Region {
            start_line,
            start_column: start_column.filter(|&c| c >= 1),
        },
    }
}

/// `k8s/<namespace or _cluster>/<kind>/<name>`; see the module documentation.
fn object_uri(r: &Resource) -> String {
    let mut segments = vec![
        "k8s".to_string(),
        r.namespace
            .as_deref()
            .map_or_else(|| "_cluster".to_string(), percent_encode),
        percent_encode(&r.kind.as_deref().unwrap_or("_unknown").to_ascii_lowercase()),
    ];
    if let Some(name) = &r.name {
        segments.push(percent_encode(name));
    }
    segments.join("/")
}

fn logical_location(r: &Resource) -> LogicalLocation {
    let kind = r.kind.as_deref().unwrap_or("Unknown");
    let mut fqn = vec![kind];
    fqn.extend(r.namespace.as_deref());
    fqn.extend(r.name.as_deref());
    LogicalLocation {
        name: r.name.as_deref().unwrap_or(kind).to_string(),
        fully_qualified_name: fqn.join("/"),
        kind: "resource",
    }
}

/// A file path as a URI reference: relative paths stay relative (code scanning resolves them
/// against the repository root), absolute ones become `file://` URIs, Windows separators become
/// `/`, and characters outside the unreserved set are percent-encoded.
fn file_uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let encoded: Vec<String> = path.split('/').map(percent_encode).collect();
    let joined = encoded.join("/");
    if path.starts_with('/') {
        format!("file://{joined}")
    } else {
        joined
    }
}

/// RFC 3986 percent-encoding of everything but unreserved characters, for one path segment.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `node-not-ready` to `NodeNotReady`, the customary form of a SARIF rule name.
fn pascal_case(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// A stable hash of the finding's code and resource (and repeat number, when non-zero).
fn fingerprint(f: &Finding, repeat: u32) -> u64 {
    let r = &f.resource;
    let line = r.line.map(|l| l.to_string()).unwrap_or_default();
    let column = r.column.map(|c| c.to_string()).unwrap_or_default();
    let repeat = if repeat == 0 {
        String::new()
    } else {
        format!("#{repeat}")
    };
    let fields = [
        f.code.as_str(),
        r.kind.as_deref().unwrap_or_default(),
        r.namespace.as_deref().unwrap_or_default(),
        r.name.as_deref().unwrap_or_default(),
        r.path.as_deref().unwrap_or_default(),
        &line,
        &column,
        &repeat,
    ];
    // A separator byte that cannot occur in UTF-8 text keeps `("ab","c")` and `("a","bc")`
    // apart.
    fnv1a(
        fields
            .iter()
            .flat_map(|field| field.bytes().chain(std::iter::once(0xff))),
    )
}

/// 64-bit FNV-1a.
///
/// Written out here because the value must never change between builds: std's
/// `DefaultHasher` is explicitly unstable across Rust releases, and ten lines are cheaper than
/// a hashing dependency. It is not a security measure, only an identity for alert tracking.
fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .into_iter()
        .fold(OFFSET, |hash, b| (hash ^ u64::from(b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_reference_vectors() {
        // Published test vectors of 64-bit FNV-1a.
        assert_eq!(fnv1a("".bytes()), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a".bytes()), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a("foobar".bytes()), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn names_and_uris() {
        assert_eq!(pascal_case("node-not-ready"), "NodeNotReady");
        assert_eq!(file_uri("deploy/my app.yaml"), "deploy/my%20app.yaml");
        assert_eq!(file_uri("/etc/x.yaml"), "file:///etc/x.yaml");
        assert_eq!(
            object_uri(&Resource::object("Pod", Some("shop"), "cart-1")),
            "k8s/shop/pod/cart-1"
        );
        assert_eq!(
            object_uri(&Resource::object("Node", None, "n1")),
            "k8s/_cluster/node/n1"
        );
    }
}
