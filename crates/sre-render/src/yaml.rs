//! The YAML report: the same document as the JSON contract, for people who prefer YAML.

use crate::RenderError;
use sre_core::Report;

pub(crate) fn render(report: &Report) -> Result<String, RenderError> {
    let mut out = serde_yaml_ng::to_string(report).map_err(RenderError::Yaml)?;
    // serde_yaml writes `generatedAt: 2024-03-01T12:00:00Z` unquoted; YAML 1.1 readers
    // (PyYAML, yq v3, Ruby) then read a timestamp, not the string the contract promises.
    let unquoted = format!("generatedAt: {}\n", report.generated_at);
    if out.starts_with(&unquoted) || out.contains(&format!("\n{unquoted}")) {
        out = out.replacen(
            &unquoted,
            &format!("generatedAt: '{}'\n", report.generated_at),
            1,
        );
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}
