//! `sre k8s-doctor snapshot --output-dir DIR`: a live read written as a snapshot directory
//! that `--snapshot DIR` reads back to the same report.
//!
//! The directory holds the API server's list pages unchanged (`0001-nodes-1.json`, ...),
//! `version.json` in the shape of `kubectl version -o json`, and `capture.json`, a
//! `K8sDoctorCapture` document with the API server's health, whether metrics.k8s.io is
//! served, and what could not be read. Secrets are never read, so never written.

use crate::live::Read;
use crate::SnapshotArgs;
use anyhow::Context;
use serde_json::json;
use sre_cli::output::Out;
use sre_cli::ExitStatus;
use std::path::Path;

/// Runs `sre k8s-doctor snapshot`.
pub fn run(a: &SnapshotArgs, out: &mut Out<'_>) -> anyhow::Result<ExitStatus> {
    let command = match a.only.as_str() {
        "healthcheck" => crate::checks::Command::Healthcheck,
        "diagnostics" => crate::checks::Command::Diagnostics,
        "audit" => crate::checks::Command::Audit,
        _ => crate::checks::Command::Check,
    };
    check_output_dir(&a.output_dir)?;
    let runtime = crate::runtime()?;
    let reads = runtime.block_on(crate::read_clusters(&a.live, command, true))?;
    let several = reads.len() > 1;
    if !several {
        // One cluster: its failure is the command's failure.
        if let Some((_, _, Err(e))) = reads.first() {
            anyhow::bail!("{e}");
        }
    }
    let parent = match a.output_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    // Written in a sibling temporary directory, renamed into place when complete: a reader
    // never sees half a snapshot, and a failed run leaves nothing behind.
    let tmp = tempfile::Builder::new()
        .prefix(".sre-snapshot-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot create a directory in {}", parent.display()))?;
    let mut failed = Vec::new();
    let mut lines = Vec::new();
    for (_, context, read) in &reads {
        match read {
            Ok(read) => {
                let dir = if several {
                    // Numbered: two contexts whose names differ only in `/` or `:` (or a
                    // context named `..`) cannot collide or escape.
                    tmp.path().join(format!(
                        "{:02}-{}",
                        lines.len() + failed.len() + 1,
                        safe_name(context)
                    ))
                } else {
                    tmp.path().to_path_buf()
                };
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                write_read(&dir, read)?;
                lines.push(summary(context, read));
            }
            Err(e) => failed.push(format!("{context}: {e}")),
        }
    }
    if a.output_dir.is_dir() {
        // Checked empty above; rename cannot replace a directory on every platform.
        std::fs::remove_dir(&a.output_dir)
            .with_context(|| format!("cannot replace {}", a.output_dir.display()))?;
    }
    let kept = tmp.keep();
    std::fs::rename(&kept, &a.output_dir).with_context(|| {
        format!(
            "cannot move the snapshot into {} (it is in {})",
            a.output_dir.display(),
            kept.display()
        )
    })?;
    let mut text = format!("wrote {}\n", a.output_dir.display());
    for l in lines {
        text.push_str(&l);
    }
    out.write(text.as_bytes())?;
    if !failed.is_empty() {
        anyhow::bail!(
            "{} of {} clusters could not be read (the others were written):\n  {}",
            failed.len(),
            reads.len(),
            failed.join("\n  ")
        );
    }
    Ok(ExitStatus::Clean)
}

/// The output directory must not exist, or be empty: a snapshot is never mixed with other
/// files, and nothing is overwritten.
fn check_output_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        let empty = dir.is_dir()
            && std::fs::read_dir(dir)
                .with_context(|| format!("cannot read {}", dir.display()))?
                .next()
                .is_none();
        if !empty {
            anyhow::bail!(
                "{} already exists and is not an empty directory; choose a new --output-dir",
                dir.display()
            );
        }
    }
    Ok(())
}

fn write_read(dir: &Path, read: &Read) -> anyhow::Result<()> {
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).with_context(|| format!("cannot write {}", p.display()))
    };
    for (name, bytes) in &read.pages {
        write(name, bytes)?;
    }
    if let Some(v) = &read.version {
        let version: serde_json::Value =
            serde_json::from_slice(v).unwrap_or(serde_json::Value::Null);
        write(
            "version.json",
            serde_json::to_string_pretty(&json!({ "serverVersion": version }))?.as_bytes(),
        )?;
    }
    let capture = read.cluster.capture.clone().unwrap_or_default();
    let doc = json!({
        "kind": "K8sDoctorCapture",
        "apiVersion": "k8s-doctor.sre.dev/v1",
        "context": capture.context,
        "server": read.target.server,
        "capturedAt": humantime::format_rfc3339_seconds(sre_cli::clock::now()).to_string(),
        "tool": format!("sre {}", env!("CARGO_PKG_VERSION")),
        "livez": capture.livez,
        "readyz": capture.readyz,
        "metricsApi": capture.metrics_api,
        "errors": capture.errors,
        "capturedFor": capture.captured_for,
    });
    write(
        "capture.json",
        serde_json::to_string_pretty(&doc)?.as_bytes(),
    )
}

fn summary(context: &str, read: &Read) -> String {
    let c = &read.cluster;
    let errors = c.capture.as_ref().map_or(0, |c| c.errors.len());
    let mut s = format!(
        "  {context}: {} nodes, {} pods, {} events, {} workloads, {} namespaces in {} files ({} API requests, {:.1} s)\n",
        c.nodes.len(),
        c.pods.len(),
        c.events.len(),
        c.workloads.len(),
        c.namespaces,
        read.pages.len() + 2,
        read.requests,
        read.elapsed.as_secs_f64(),
    );
    if errors > 0 {
        s.push_str(&format!(
            "  {context}: PARTIAL: {errors} parts could not be read (listed in capture.json):\n"
        ));
        for e in c.capture.iter().flat_map(|c| &c.errors) {
            s.push_str(&format!("    {}: {}\n", e.source, e.message));
        }
    }
    s
}

/// A context name as a directory name (`arn:aws:eks:...:cluster/prod` has `/` and `:`).
fn safe_name(context: &str) -> String {
    context
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}
