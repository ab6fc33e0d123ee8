//! The YAML report: the same document as the JSON contract, for people who prefer YAML.

use crate::RenderError;
use sre_core::Report;

pub(crate) fn render(report: &Report) -> Result<String, RenderError> {
    let mut out = serde_yaml_ng::to_string(report).map_err(RenderError::Yaml)?;
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}
