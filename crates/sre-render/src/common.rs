//! Helpers shared by several renderers.

use serde_json::Value;
use sre_core::{Report, Resource, Severity};

/// The top-level scalar fields of `report.target` as `(key, text)` pairs, in the map's
/// order. Arrays, objects and nulls are left out: they do not fit on one line.
pub(crate) fn target_scalars(report: &Report) -> Vec<(&str, String)> {
    report
        .target
        .iter()
        .filter_map(|(k, v)| scalar_text(v).map(|t| (k.as_str(), t)))
        .collect()
}

/// A JSON scalar as plain text; `None` for arrays, objects and null.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// Any JSON value as short text: scalars plainly, the rest as compact JSON.
pub(crate) fn value_text(v: &Value) -> String {
    scalar_text(v).unwrap_or_else(|| v.to_string())
}

/// The grouping used by the "findings per resource kind" views: the object's kind,
/// `File` for file locations, `Other` when neither is known.
pub(crate) fn resource_kind(r: &Resource) -> &str {
    if r.path.is_some() {
        "File"
    } else {
        r.kind.as_deref().unwrap_or("Other")
    }
}

/// Capitalised severity name for headings.
pub(crate) fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "Critical",
        Severity::Warning => "Warning",
        Severity::Info => "Info",
    }
}

/// `n finding` / `n findings`.
pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Per-severity counts of the findings of one check code.
pub(crate) fn counts_for(report: &Report, code: &str) -> [usize; 3] {
    let mut c = [0usize; 3];
    for f in report.findings_for(code) {
        c[sev_index(f.severity)] += 1;
    }
    c
}

/// Index into `Severity::ALL` (critical 0, warning 1, info 2).
pub(crate) fn sev_index(s: Severity) -> usize {
    match s {
        Severity::Critical => 0,
        Severity::Warning => 1,
        Severity::Info => 2,
    }
}

/// Finding codes that appear in findings but not in `report.checks`, in order of first
/// appearance, each with the first such finding's title and severity.
pub(crate) fn unlisted_codes(report: &Report) -> Vec<(&str, &str, Severity)> {
    let mut out: Vec<(&str, &str, Severity)> = Vec::new();
    for f in &report.findings {
        let listed = report.checks.iter().any(|c| c.code == f.code);
        if !listed && !out.iter().any(|(code, _, _)| *code == f.code) {
            out.push((f.code.as_str(), f.title.as_str(), f.severity));
        }
    }
    out
}

/// A target value short enough for one cell of a human report: scalars plainly, short lists
/// and flat maps of scalars inline, anything bigger (say 5,000 nodes of inventory) as a
/// count that points to the JSON report, which always has everything.
pub(crate) fn compact_text(v: &Value) -> String {
    match v {
        Value::Array(items)
            if items.len() <= 20 && items.iter().all(|i| scalar_text(i).is_some()) =>
        {
            items
                .iter()
                .filter_map(scalar_text)
                .collect::<Vec<_>>()
                .join(", ")
        }
        Value::Array(items) => format!("{} entries (see the JSON report)", items.len()),
        Value::Object(map) if map.len() <= 10 && map.values().all(|i| scalar_text(i).is_some()) => {
            map.iter()
                .filter_map(|(k, v)| scalar_text(v).map(|t| format!("{k}: {t}")))
                .collect::<Vec<_>>()
                .join(", ")
        }
        Value::Object(map) => format!("{} fields (see the JSON report)", map.len()),
        Value::Null => "-".to_string(),
        other => value_text(other),
    }
}
