//! The JSON report: the versioned contract (`docs/report-schema.md`). Field names come from
//! the serde attributes in `sre-core`; nothing here may rename or reshape them.

use crate::{Format, RenderError};
use sre_core::Report;

/// Pretty-printed JSON with a trailing newline, so the output is a well-formed text file.
pub(crate) fn render(report: &Report) -> Result<String, RenderError> {
    let mut out = serde_json::to_string_pretty(report).map_err(|source| RenderError::Json {
        format: Format::Json,
        source,
    })?;
    out.push('\n');
    Ok(out)
}
