//! `sre chaos-load stress`: caps, what it holds while it runs, and that it lets go.

use crate::sre;
use serde_json::Value;
use std::time::Duration;

fn fill_file(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".sre-chaos-stress-"))
        })
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("VmRSS:")?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0)
}

/// Starts `sre chaos-load stress ARGS -o json` with stdout piped.
fn spawn(args: &[&str]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_sre"))
        .args(["chaos-load", "stress"])
        .args(args)
        .args(["-o", "json"])
        .env("SRE_CONFIG", "/dev/null")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("stress starts")
}

fn report(child: std::process::Child) -> Value {
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

#[test]
fn stress_holds_cpu_memory_and_disk_then_lets_go() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    let child = spawn(&[
        "--cpu",
        "1",
        "--memory",
        "64Mi",
        "--disk",
        d,
        "--disk-size",
        "8Mi",
        "-d",
        "3s",
    ]);
    let pid = child.id();
    // While it runs: the file at its size, the memory resident.
    crate::wait_until(Duration::from_secs(10), "the 8 MiB fill file", || {
        fill_file(dir.path())
            .and_then(|p| std::fs::metadata(p).ok())
            .is_some_and(|m| m.len() == 8 << 20)
    });
    assert!(rss_kb(pid) >= 64 * 1024, "{} kB", rss_kb(pid));
    let r = report(child);
    let s = &r["summary"];
    assert!(s["peakRssBytes"].as_u64().unwrap_or(0) >= 64 << 20, "{s}");
    assert_eq!(s["diskWrittenBytes"], 8 << 20);
    // One busy thread for 3 s: well over a few tenths of a CPU second, however busy the
    // machine is.
    assert!(s["cpuSeconds"].as_f64().unwrap_or(0.0) >= 0.3, "{s}");
    assert_eq!(s["interrupted"], false);
    // Released: the file is gone.
    assert_eq!(fill_file(dir.path()), None);
}

#[test]
fn sigterm_releases_everything_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    let child = spawn(&["--disk", d, "--disk-size", "4Mi", "-d", "10m"]);
    crate::wait_until(Duration::from_secs(10), "the fill file", || {
        fill_file(dir.path())
            .and_then(|p| std::fs::metadata(p).ok())
            .is_some_and(|m| m.len() == 4 << 20)
    });
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let r = report(child);
    assert_eq!(r["summary"]["interrupted"], true, "{r}");
    assert!(
        r["summary"]["durationSeconds"].as_f64().unwrap_or(600.0) < 60.0,
        "{r}"
    );
    assert_eq!(fill_file(dir.path()), None);
}

#[test]
fn stress_caps_refuse_and_a_dry_run_holds_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    for (args, want) in [
        (vec!["--memory", "100Ti"], "refused: --memory 100Ti"),
        (
            vec!["--memory", "64Mi", "--max-memory", "0%"],
            "raise --max-memory",
        ),
        (
            vec!["--disk", d, "--disk-size", "100Ti"],
            "refused: --disk-size 100Ti",
        ),
        (vec!["--cpu", "1", "-d", "2h"], "at most 1h"),
        (vec!["-d", "1s"], "nothing to stress"),
        (vec!["--memory", "lots"], "is not a size"),
    ] {
        let out = sre().args(["chaos-load", "stress"]).args(&args).run();
        assert_eq!(out.status, Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(want), "{args:?}: {}", out.stderr);
    }
    let out = sre()
        .args([
            "chaos-load",
            "stress",
            "--cpu",
            "2",
            "--memory",
            "64Mi",
            "--disk",
            d,
            "--disk-size",
            "1Mi",
            "--dry-run",
        ])
        .run();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert!(
        out.stdout
            .contains("would hold 2 CPU thread(s) at 100%, 64.0 MiB of memory, 1.0 MiB of disk"),
        "{}",
        out.stdout
    );
    assert_eq!(fill_file(dir.path()), None);
}
