//! Helpers shared by the commands: paths, step headers, running programs.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// The workspace root (this crate lives at `<root>/xtask`).
pub fn project_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set, else `<root>/target`.
pub fn target_dir() -> PathBuf {
    let root = project_root();
    match env::var_os("CARGO_TARGET_DIR").or_else(|| env::var_os("CARGO_BUILD_TARGET_DIR")) {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// Prints a step header to stderr.
pub fn header(title: &str) {
    eprintln!("\n==> {title}");
}

/// A `cargo` command run from the workspace root, with the cargo that runs xtask.
pub fn cargo() -> Command {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(cargo);
    cmd.current_dir(project_root());
    cmd
}

/// Shows the command and runs it with inherited streams; fails unless it exits with 0.
pub fn run_cmd(cmd: &mut Command) -> Result<()> {
    let shown = show(cmd);
    eprintln!("$ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot run `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs the command silently and tells whether it exited with 0.
pub fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The command line as a shell would show it (environment changes first).
pub fn show(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(key, value)| {
            Some(format!(
                "{}={}",
                key.to_string_lossy(),
                value?.to_string_lossy()
            ))
        })
        .collect();
    let program = Path::new(cmd.get_program());
    // The cargo running xtask is often a full path into a toolchain; `cargo` reads better.
    let program = if program.file_name() == Some("cargo".as_ref()) {
        "cargo".into()
    } else {
        program.to_string_lossy()
    };
    parts.push(program.into_owned());
    parts.extend(cmd.get_args().map(|a| quote(&a.to_string_lossy())));
    parts.join(" ")
}

fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Directories searched after `PATH`, as the test harness does (`sre_test_harness::program`).
/// A component may hold one `*`.
pub const SEARCH_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/sbin",
    "/sbin",
    "/usr/lib/postgresql/*/bin",
];

/// Finds an executable named `name` on `PATH` or in [`SEARCH_DIRS`].
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path_dirs = env::var_os("PATH")
        .map(|p| env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(SEARCH_DIRS.iter().flat_map(|pattern| expand(pattern)))
        .map(|dir| dir.join(name))
        .find(|candidate| {
            fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Expands a directory pattern whose components may hold one `*` each.
fn expand(pattern: &str) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::new()];
    for component in Path::new(pattern).components() {
        let component = component.as_os_str().to_string_lossy();
        let Some((prefix, suffix)) = component.split_once('*') else {
            found.iter_mut().for_each(|dir| dir.push(&*component));
            continue;
        };
        let mut next = Vec::new();
        for dir in &found {
            let Ok(entries) = fs::read_dir(dir) else {
                continue;
            };
            let mut matches: Vec<PathBuf> = entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| {
                    n.len() >= prefix.len() + suffix.len()
                        && n.starts_with(prefix)
                        && n.ends_with(suffix)
                })
                .map(|n| dir.join(n))
                .collect();
            matches.sort();
            next.extend(matches);
        }
        found = next;
    }
    found
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A duration as people read it: `850ms`, `12.3s`, `4m 05s`.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else if secs >= 1 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// A child process (a server a benchmark started) killed when dropped, however the
/// benchmark ends.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // SIGTERM first, so that a server stops its children (nginx's worker outlives a
        // master killed with SIGKILL, and keeps the port); SIGKILL after 5 s.
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.0.id().to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while matches!(self.0.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The first line `program arg` prints, on stdout or stderr (`nginx -v` uses stderr).
pub fn first_output_line(program: &Path, arg: &str) -> String {
    Command::new(program)
        .arg(arg)
        .stdin(Stdio::null())
        .output()
        .ok()
        .map(|o| {
            let t = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            t.lines().next().unwrap_or("").trim().to_string()
        })
        .unwrap_or_default()
}

/// The CPU model from /proc/cpuinfo.
pub fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown".to_string(), |(_, v)| v.trim().to_string())
}

/// The median (the mean of the middle two for an even count; 0 when empty).
pub fn median(xs: &mut [f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_millis(850)), "850ms");
        assert_eq!(human(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(human(Duration::from_secs(245)), "4m 05s");
    }

    #[test]
    fn show_quotes_arguments_and_names_cargo_plainly() {
        let mut cmd = Command::new("/root/.cargo/bin/cargo");
        cmd.args(["clippy", "--", "-D", "warnings"])
            .env("CI", "true");
        assert_eq!(show(&cmd), "CI=true cargo clippy -- -D warnings");
        let mut cmd = Command::new("python3");
        cmd.args(["-c", "import yaml"]);
        assert_eq!(show(&cmd), "python3 -c 'import yaml'");
    }

    #[test]
    fn finds_sh() {
        assert!(find_program("sh").is_some());
        assert!(find_program("sre-no-such-program-xyz").is_none());
    }
}
