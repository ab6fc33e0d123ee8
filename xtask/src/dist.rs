//! `cargo xtask dist`: the release archive and the kubectl plugin (krew) manifest.
//!
//! Builds the stripped release binary, packs `sre-vX.Y.Z-<target>.tar.gz` (the binary, the
//! README and the LICENSE) into `target/dist/`, and renders `.krew.yaml` with the archive's URI and sha256
//! into `target/dist/doctor.yaml`, exactly as krew-release-bot would for a release tag.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::util::{cargo, header, project_root, run_cmd, target_dir};

const TARGET: &str = "x86_64-unknown-linux-gnu";

/// `cargo xtask dist [--base-url URL]`.
pub fn run(args: &[String]) -> Result<()> {
    let mut base_url = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--base-url" => base_url = Some(it.next().context("--base-url needs a value")?.clone()),
            other => {
                bail!("unknown option `{other}` for `cargo xtask dist` (valid: --base-url URL)")
            }
        }
    }
    let root = project_root();
    let tag = format!("v{}", workspace_version(&root)?);
    header("release build");
    run_cmd(cargo().args(["build", "--release", "--locked", "-p", "sre"]))?;

    header("archive");
    let dist = target_dir().join("dist");
    let name = format!("sre-{tag}-{TARGET}");
    let stage = dist.join(&name);
    if stage.exists() {
        std::fs::remove_dir_all(&stage)
            .with_context(|| format!("cannot clear {}", stage.display()))?;
    }
    std::fs::create_dir_all(&stage)?;
    std::fs::copy(target_dir().join("release/sre"), stage.join("sre"))
        .context("copy the binary")?;
    std::fs::copy(root.join("README.md"), stage.join("README.md")).context("copy README.md")?;
    std::fs::copy(root.join("LICENSE"), stage.join("LICENSE")).context("copy LICENSE")?;
    let archive = dist.join(format!("{name}.tar.gz"));
    // Fixed owner and order so the archive does not depend on who builds it.
    run_cmd(
        Command::new("tar")
            .current_dir(&dist)
            .args([
                "--owner=0",
                "--group=0",
                "--numeric-owner",
                "--sort=name",
                "-czf",
            ])
            .arg(&archive)
            .arg(&name),
    )?;
    let sha = sha256(&archive)?;
    eprintln!("{}  {}", sha, archive.display());

    header("krew manifest");
    let template = std::fs::read_to_string(root.join(".krew.yaml")).context("read .krew.yaml")?;
    let base = base_url
        .unwrap_or_else(|| "https://example.invalid/sre-toolkit/releases/download".to_string());
    let manifest = render(&template, &tag, &base, &sha)?;
    let out = dist.join("doctor.yaml");
    std::fs::write(&out, manifest).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "wrote {}\ntry it: kubectl krew install --manifest={} --archive={}",
        out.display(),
        out.display(),
        archive.display()
    );
    Ok(())
}

fn workspace_version(root: &Path) -> Result<String> {
    let toml = std::fs::read_to_string(root.join("Cargo.toml")).context("read Cargo.toml")?;
    let section = toml
        .split("[workspace.package]")
        .nth(1)
        .context("no [workspace.package] in Cargo.toml")?;
    section
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("version = ")
                .map(|v| v.trim_matches('"').to_string())
        })
        .context("no version in [workspace.package]")
}

/// sha256 of a file with coreutils' `sha256sum` (std has no hash of that kind).
fn sha256(path: &Path) -> Result<String> {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .context("run sha256sum (coreutils)")?;
    if !out.status.success() {
        bail!("sha256sum failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let sum = text.split_whitespace().next().unwrap_or("");
    if sum.len() != 64 {
        bail!("unexpected sha256sum output: {text}");
    }
    Ok(sum.to_string())
}

/// Renders the krew-release-bot template: `{{ .TagName }}` and
/// `{{addURIAndSha "URL" .TagName }}` (which becomes `uri:` and `sha256:` lines at the same
/// indentation). The URL's host part is replaced by `base` so local builds can point
/// anywhere.
pub fn render(template: &str, tag: &str, base: &str, sha: &str) -> Result<String> {
    let mut out = String::new();
    for line in template.lines() {
        if let Some(start) = line.find("{{addURIAndSha \"") {
            let indent = &line[..start];
            let rest = &line[start + "{{addURIAndSha \"".len()..];
            let end = rest
                .find('"')
                .context("unterminated addURIAndSha URL in .krew.yaml")?;
            let url = rest[..end].replace("{{ .TagName }}", tag);
            let file = url.rsplit('/').next().unwrap_or("");
            out.push_str(&format!(
                "{indent}uri: {}/{tag}/{file}\n{indent}sha256: {sha}\n",
                base.trim_end_matches('/')
            ));
        } else {
            out.push_str(&line.replace("{{ .TagName }}", tag));
            out.push('\n');
        }
    }
    if out.contains("{{") {
        bail!("unrendered template expression left in .krew.yaml");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_committed_template() {
        let template =
            std::fs::read_to_string(project_root().join(".krew.yaml")).expect(".krew.yaml");
        let m = render(
            &template,
            "v1.2.3",
            "https://dl.example/rel",
            &"a".repeat(64),
        )
        .expect("renders");
        assert!(m.contains("  version: v1.2.3\n"), "{m}");
        assert!(m.contains("    uri: https://dl.example/rel/v1.2.3/sre-v1.2.3-x86_64-unknown-linux-gnu.tar.gz\n"), "{m}");
        assert!(
            m.contains(&format!("    sha256: {}\n", "a".repeat(64))),
            "{m}"
        );
        assert!(
            m.contains("    bin: kubectl-doctor\n") && m.contains("      to: kubectl-doctor\n"),
            "{m}"
        );
        assert!(m.contains("kind: Plugin") && m.contains("name: doctor"));
        assert!(!m.contains("{{"));
    }

    #[test]
    fn rejects_broken_templates() {
        assert!(render("x: {{addURIAndSha \"oops", "v1", "b", "s").is_err());
        assert!(render("x: {{ .Other }}", "v1", "b", "s").is_err());
    }
}
