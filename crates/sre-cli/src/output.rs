//! Rendering a report to stdout or atomically to a file, and the exit status it implies.

use crate::args::ColorWhen;
use crate::config::Common;
use crate::exit::ExitStatus;
use anyhow::Context;
use sre_core::Report;
use sre_render::{Format, RenderOptions};
use std::io::{IsTerminal, Write};
use std::path::Path;

/// Where results go: the process's stdout in `main`, a buffer when tests run the CLI
/// in-process.
pub struct Out<'a> {
    pub writer: &'a mut dyn Write,
    /// Whether `writer` is a terminal (decides colour under `--color auto`).
    pub is_terminal: bool,
}

impl<'a> Out<'a> {
    /// The process's standard output.
    pub fn stdout(lock: &'a mut std::io::StdoutLock<'static>) -> Out<'a> {
        let is_terminal = std::io::stdout().is_terminal();
        Out {
            writer: lock,
            is_terminal,
        }
    }

    /// A buffer (never a terminal).
    pub fn buffer(buf: &'a mut Vec<u8>) -> Out<'a> {
        Out {
            writer: buf,
            is_terminal: false,
        }
    }

    /// Writes and flushes `bytes`. A closed pipe (`sre ... | head`) is not an error.
    pub fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        match self
            .writer
            .write_all(bytes)
            .and_then(|()| self.writer.flush())
        {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.context("cannot write to stdout"),
        }
    }
}

/// Renders `report` as configured, writes it, and returns 1 (findings) or 0 (clean)
/// according to `--fail-on`.
pub fn emit(report: &Report, common: &Common, out: &mut Out<'_>) -> anyhow::Result<ExitStatus> {
    let to_file = common.output_file.is_some();
    let color = !to_file
        && common.output.value == Format::Table
        && use_color(common.color.value, out.is_terminal);
    let text = sre_render::render(report, common.output.value, &RenderOptions { color })
        .with_context(|| format!("cannot render the report as {}", common.output.value))?;
    match &common.output_file {
        Some(path) => write_atomic(path, text.as_bytes())?,
        None => out.write(text.as_bytes())?,
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

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, synced,
/// then renamed over `path`, then the directory synced. Readers see the old file or the new
/// one, never half of one. A symlink at `path` is followed (its target is replaced), and the
/// file keeps the mode of the file it replaces, else gets 0644 (not the temp file's 0600: a
/// node_exporter textfile collector running as another user must be able to read it).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path)
            .with_context(|| format!("cannot follow the symlink {}", path.display()))?,
        _ => path.to_path_buf(),
    };
    let mode = std::fs::metadata(&target)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".sre-")
        .permissions(std::fs::Permissions::from_mode(mode))
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
    tmp.persist(&target)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace {}", target.display()))?;
    // Make the rename itself durable; failure here is not worth failing the run for.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
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
        assert_eq!(
            std::fs::read_dir(dir.path())?.count(),
            1,
            "no temporary file left"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(
            mode(&p)?,
            0o644,
            "new files are world-readable like any report"
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640))?;
        write_atomic(&p, b"three")?;
        assert_eq!(mode(&p)?, 0o640, "the replaced file's mode is kept");
        let link = dir.path().join("link.prom");
        std::os::unix::fs::symlink(&p, &link)?;
        write_atomic(&link, b"four")?;
        assert!(std::fs::symlink_metadata(&link)?.file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&p)?, "four");
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
