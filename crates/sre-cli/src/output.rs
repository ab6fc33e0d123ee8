//! Rendering a report to stdout or atomically to a file, and the exit status it implies.

use crate::args::ColorWhen;
use crate::config::Common;
use crate::exit::ExitStatus;
use anyhow::Context;
use sre_core::Report;
use sre_render::{Format, RenderOptions};
use std::io::{IsTerminal, Write};
use std::path::Path;

/// Renders `report` as configured, writes it, and returns 1 (findings) or 0 (clean)
/// according to `--fail-on`.
pub fn emit(report: &Report, common: &Common) -> anyhow::Result<ExitStatus> {
    let to_file = common.output_file.is_some();
    let color = !to_file
        && common.output.value == Format::Table
        && use_color(common.color.value, std::io::stdout().is_terminal());
    let text = sre_render::render(report, common.output.value, &RenderOptions { color })
        .with_context(|| format!("cannot render the report as {}", common.output.value))?;
    match &common.output_file {
        Some(path) => write_atomic(path, text.as_bytes())?,
        None => write_stdout(text.as_bytes())?,
    }
    Ok(if report.fails(common.fail_on.value.threshold()) {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}

/// Colour decision: `always`/`never` as told; `auto` only on a terminal and never when
/// `NO_COLOR` is set to a non-empty value (no-color.org).
pub fn use_color(when: ColorWhen, is_terminal: bool) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// Writes `bytes` to stdout. A closed pipe (`sre ... | head`) is not an error.
pub fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, synced,
/// then renamed over `path`. Readers see the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".sre-")
        .tempfile_in(&dir)
        .with_context(|| {
            format!(
                "cannot create a temporary file in {} for --output-file {} (does the directory exist and is it writable?)",
                dir.display(),
                path.display()
            )
        })?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("r.json");
        write_atomic(&p, b"one")?;
        write_atomic(&p, b"two")?;
        assert_eq!(std::fs::read_to_string(&p)?, "two");
        assert_eq!(std::fs::read_dir(dir.path())?.count(), 1);
        let err = write_atomic(&dir.path().join("missing/r.json"), b"x").unwrap_err();
        assert!(format!("{err:#}").contains("missing"), "{err:#}");
        Ok(())
    }

    #[test]
    fn color_rules() {
        assert!(use_color(ColorWhen::Always, false));
        assert!(!use_color(ColorWhen::Never, true));
        assert!(!use_color(ColorWhen::Auto, false));
    }
}
