//! `cargo xtask bench-k8s-live`: a live `sre k8s-doctor diagnostics` against the Kubernetes
//! API test server holding a large synthetic cluster, side by side with
//! `kubectl get pods -A -o json > /dev/null` on the same server (the floor for fetching the
//! same data), in one run.
//!
//! Steps: build `sre` and `kube-testserver` in release mode; generate (or reuse) the snapshot
//! of `cargo xtask bench-k8s`; start the test server over HTTPS with a token; run kubectl
//! and sre alternately (one warm-up each, then `--runs`), measuring wall time and peak RSS
//! (GNU time); print the medians, the ratio sre/kubectl and the verdicts against the targets
//! (within 1.5x of kubectl, under 1 GB).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::bench_k8s::report_field;
use crate::gen_k8s::{self, parse_count, Params};
use crate::util::{cargo, find_program, header, human, run_cmd, show, target_dir};

const GNU_TIME: &str = "/usr/bin/time";
const RATIO_TARGET: f64 = 1.5;
const RSS_TARGET_MB: f64 = 1000.0;

struct Options {
    nodes: usize,
    pods: usize,
    runs: usize,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options {
        nodes: 5_000,
        pods: 150_000,
        runs: 3,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("`{flag}` needs a value"));
        match flag.as_str() {
            "--nodes" => o.nodes = parse_count(flag, value()?)?,
            "--pods" => o.pods = parse_count(flag, value()?)?,
            "--runs" => o.runs = parse_count(flag, value()?)?.max(1),
            other => bail!(
                "unknown option `{other}` for `cargo xtask bench-k8s-live` (known: --nodes N, --pods M, --runs R)"
            ),
        }
    }
    Ok(o)
}

/// `cargo xtask bench-k8s-live [--nodes N] [--pods M] [--runs R]`.
pub fn run(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    let started = Instant::now();
    if !Path::new(GNU_TIME).is_file() {
        bail!("{GNU_TIME} (GNU time) is missing: apt-get install -y time (or `cargo xtask deps`)");
    }
    let kubectl = find_program("kubectl")
        .context("kubectl is missing: it is the peer this benchmark compares with")?;
    header("building sre and kube-testserver (release)");
    run_cmd(cargo().args([
        "build",
        "--release",
        "-p",
        "sre",
        "-p",
        "sre-test-harness",
        "--bin",
        "sre",
        "--bin",
        "kube-testserver",
    ]))?;
    let release = target_dir().join("release");
    let (sre, testserver) = (release.join("sre"), release.join("kube-testserver"));

    let bench_dir = target_dir().join("bench-k8s");
    let snapshot = bench_dir.join("snapshot");
    let out_dir = bench_dir.join("out-live");
    fs::create_dir_all(&out_dir)?;
    let params = Params {
        nodes: o.nodes,
        pods: o.pods,
        seed: 1,
    };
    let summary = match gen_k8s::existing(&snapshot, &params) {
        Some(s) => s,
        None => {
            header("generating the snapshot");
            gen_k8s::generate(&snapshot, &params)?
        }
    };
    eprintln!("{}", summary.describe());

    header("starting kube-testserver (HTTPS, token)");
    let kubeconfig = out_dir.join("kubeconfig");
    let _ = fs::remove_file(&kubeconfig);
    let mut cmd = Command::new(&testserver);
    cmd.arg("--fixtures")
        .arg(&snapshot)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["--tls", "--token", "bench-token"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    eprintln!("$ {}", show(&cmd));
    let load = Instant::now();
    let _server = crate::util::KillOnDrop(
        cmd.spawn()
            .with_context(|| format!("cannot start {}", testserver.display()))?,
    );
    let ready_by = Instant::now() + Duration::from_secs(600);
    while !kubeconfig.is_file() {
        if Instant::now() > ready_by {
            bail!(
                "kube-testserver did not write {} within 10 minutes",
                kubeconfig.display()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("server loaded the snapshot in {}", human(load.elapsed()));

    let time_file = out_dir.join("time.txt");
    let report = out_dir.join("diagnostics.json");
    let mut kubectl_runs = Vec::new();
    let mut sre_runs = Vec::new();
    let mut kubectl_failed = false;
    for i in 0..=o.runs {
        let mut k = Command::new(GNU_TIME);
        k.args(["-f", "%e %M", "-o"])
            .arg(&time_file)
            .arg(&kubectl)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["get", "pods", "-A", "-o", "json"]);
        // kubectl keeps the whole list in memory before printing it: on a large enough
        // cluster the kernel kills it. That is a result, not a reason to stop.
        // Once it has failed (killed for memory), it is not run again: it would fail the
        // same way after minutes of swapping nothing.
        let kr = if kubectl_failed {
            None
        } else {
            match timed(&mut k, &time_file, i == 0) {
                Ok(r) => Some(r),
                Err(e) => {
                    eprintln!("  kubectl failed: {e:#}");
                    kubectl_failed = true;
                    None
                }
            }
        };
        let mut s = Command::new(GNU_TIME);
        s.args(["-f", "%e %M", "-o"])
            .arg(&time_file)
            .arg(&sre)
            .args(["k8s-doctor", "diagnostics", "--kubeconfig"])
            .arg(&kubeconfig)
            .args(["-o", "json", "--fail-on", "never", "--output-file"])
            .arg(&report)
            .env("SRE_CONFIG", "/dev/null")
            .env_remove("RUST_LOG");
        let sr = timed(&mut s, &time_file, i == 0)?;
        let label = if i == 0 {
            "warm-up (not counted)".to_string()
        } else {
            format!("run {i}/{}", o.runs)
        };
        let shown = kr.map_or("failed".to_string(), |k| {
            format!("{:.2} s / {:.0} MB", k.0, k.1)
        });
        eprintln!(
            "  {label}: kubectl {shown}, sre {:.2} s / {:.0} MB",
            sr.0, sr.1
        );
        if i > 0 {
            kubectl_runs.extend(kr);
            sre_runs.push(sr);
        }
    }
    let text = fs::read_to_string(&report)?;
    let field = |path: &[&str]| report_field(&text, path).unwrap_or("?").to_string();
    let median = |runs: &[(f64, f64)]| {
        let mut w: Vec<f64> = runs.iter().map(|r| r.0).collect();
        w.sort_by(f64::total_cmp);
        w.get(w.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let max_rss = |runs: &[(f64, f64)]| runs.iter().map(|r| r.1).fold(0.0, f64::max);
    let (kw, sw) = (median(&kubectl_runs), median(&sre_runs));
    let ratio = sw / kw;
    let rss = max_rss(&sre_runs);
    header("machine");
    println!(
        "cpus                   {}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "kubectl                {}",
        version(&kubectl, &["version", "--client", "-o", "yaml"])
    );
    println!("sre                    {}", version(&sre, &["--version"]));
    println!(
        "cluster                {}",
        summary.describe().lines().next().unwrap_or("")
    );
    println!(
        "sre saw                {} nodes, {} pods, {} events in {} API requests ({} retries); partial {}",
        field(&["target", "nodes"]),
        field(&["target", "pods"]),
        field(&["target", "events"]),
        field(&["target", "apiRequests"]),
        field(&["target", "apiRetries"]),
        field(&["partial"])
    );
    header("results");
    println!("| command | median wall | max peak RSS |");
    println!("|---|---|---|");
    let verdict = |ok: bool| if ok { "ok" } else { "over" };
    if kubectl_runs.is_empty() {
        println!(
            "| kubectl get pods -A -o json > /dev/null | failed in every run (see above) | - |"
        );
    } else {
        println!(
            "| kubectl get pods -A -o json > /dev/null | {kw:.2} s | {:.0} MB |",
            max_rss(&kubectl_runs)
        );
    }
    println!("| sre k8s-doctor diagnostics (live) | {sw:.2} s | {rss:.0} MB |");
    println!();
    if kubectl_runs.is_empty() {
        println!("no ratio: kubectl did not finish");
    } else {
        println!(
            "ratio sre/kubectl: {ratio:.2}x (target <= {RATIO_TARGET}x: {})",
            verdict(ratio <= RATIO_TARGET)
        );
    }
    println!(
        "sre peak RSS {rss:.0} MB (target < {RSS_TARGET_MB:.0} MB: {})",
        verdict(rss < RSS_TARGET_MB)
    );
    println!("sre reads nodes, pods, events, namespaces, replicasets, jobs and metrics; kubectl reads only pods.");
    eprintln!("bench-k8s-live finished in {}", human(started.elapsed()));
    Ok(())
}

/// Runs `cmd` (stdout to /dev/null) and returns (wall seconds, peak RSS MB) from GNU time.
pub(crate) fn timed(cmd: &mut Command, time_file: &PathBuf, echo: bool) -> Result<(f64, f64)> {
    if echo {
        eprintln!("$ {}", show(cmd));
    }
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let t = Instant::now();
    let out = cmd
        .output()
        .with_context(|| format!("cannot run `{}`", show(cmd)))?;
    let wall = t.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            show(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = fs::read_to_string(time_file)?;
    let kb: f64 = text
        .split_whitespace()
        .last()
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("unexpected GNU time output {text:?}"))?;
    Ok((wall, kb * 1024.0 / 1e6))
}

pub(crate) fn version(program: &Path, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            let t = String::from_utf8_lossy(&o.stdout).to_string();
            t.lines()
                .find(|l| l.contains("gitVersion") || l.starts_with("sre"))
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}
