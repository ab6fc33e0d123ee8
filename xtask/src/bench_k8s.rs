//! `cargo xtask bench-k8s`: time `sre k8s-doctor healthcheck`, `diagnostics`, `audit` and
//! `check` over a large synthetic snapshot, and `sre --help` start-up, against the
//! project's targets.
//!
//! Steps: build the release binary; generate the snapshot into `target/bench-k8s/snapshot`
//! (reused when one of the same size is there); run each command once to warm up (not
//! counted) and then three times, one after the other, measuring wall time with
//! [`Instant`] and peak RSS with GNU time; run `sre --help` 50 times; print the machine,
//! the results and a verdict per target. The results are documented in
//! `docs/benchmarks.md`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::gen_k8s::{self, megabytes, parse_count, Params, Summary};
use crate::util::{cargo, header, human, median, project_root, run_cmd, show, target_dir};

/// GNU time, for peak RSS (`%M`).
const GNU_TIME: &str = "/usr/bin/time";

/// Targets from the issue.
const WALL_TARGET_S: f64 = 3.0;
const RSS_TARGET_MB: f64 = 1000.0;
const HELP_TARGET_MS: f64 = 20.0;
const SIZE_TARGET_MB: f64 = 50.0;
const HELP_RUNS: usize = 50;

/// The `sre k8s-doctor` commands measured, in order.
const COMMANDS: [&str; 4] = ["healthcheck", "diagnostics", "audit", "check"];

#[derive(Debug, PartialEq, Eq)]
struct Options {
    nodes: usize,
    pods: usize,
    runs: usize,
    keep: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut o = Options {
            nodes: 5_000,
            pods: 150_000,
            runs: 3,
            keep: false,
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag, Some(value.to_string())),
                None => (arg.as_str(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| it.next().cloned())
                    .with_context(|| format!("`{flag}` needs a value"))
            };
            match flag {
                "--nodes" => o.nodes = parse_count(flag, &value()?)?,
                "--pods" => o.pods = parse_count(flag, &value()?)?,
                "--runs" => o.runs = parse_count(flag, &value()?)?.max(1),
                "--keep" if inline.is_none() => o.keep = true,
                other => bail!(
                    "unknown option `{other}` for `cargo xtask bench-k8s` \
                     (known: --nodes N, --pods M, --runs R, --keep)"
                ),
            }
        }
        Ok(o)
    }
}

/// One measured run of an `sre` command.
#[derive(Debug, Clone, Copy)]
struct Run {
    wall: Duration,
    peak_rss_kb: u64,
}

/// The runs of one command.
struct Measured {
    label: String,
    runs: Vec<Run>,
    report_bytes: u64,
    summary: String,
    /// Audit object counts and findings per check (audit and check only).
    details: Vec<String>,
}

impl Measured {
    fn median_wall_s(&self) -> f64 {
        let mut walls: Vec<f64> = self.runs.iter().map(|r| r.wall.as_secs_f64()).collect();
        median(&mut walls)
    }

    fn max_rss_mb(&self) -> f64 {
        let kb = self.runs.iter().map(|r| r.peak_rss_kb).max().unwrap_or(0);
        kb as f64 * 1024.0 / 1e6
    }
}

/// `cargo xtask bench-k8s [--nodes N] [--pods M] [--runs R] [--keep]`.
pub fn run(args: &[String]) -> Result<()> {
    let options = Options::parse(args)?;
    let started = Instant::now();
    if !Path::new(GNU_TIME).is_file() {
        bail!(
            "{GNU_TIME} (GNU time, to measure peak memory) is missing: install it with\n    \
             apt-get update && apt-get install -y time\n\
             (or `cargo xtask deps` as root)"
        );
    }

    header("building the release binary");
    run_cmd(cargo().args(["build", "--release", "-p", "sre"]))?;
    let sre = target_dir().join("release").join("sre");
    if !sre.is_file() {
        bail!("{} was not built", sre.display());
    }

    let bench_dir = target_dir().join("bench-k8s");
    let snapshot = bench_dir.join("snapshot");
    // Reports go next to the snapshot, never into it: the next run would read them.
    let out_dir = bench_dir.join("out");
    fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;

    let params = Params {
        nodes: options.nodes,
        pods: options.pods,
        seed: 1,
    };
    let (summary, generated_in) = match gen_k8s::existing(&snapshot, &params) {
        Some(summary) => {
            header(&format!("reusing the snapshot in {}", snapshot.display()));
            (summary, None)
        }
        None => {
            header(&format!(
                "generating {} nodes and {} pods into {}",
                options.nodes,
                options.pods,
                snapshot.display()
            ));
            let t = Instant::now();
            let summary = gen_k8s::generate(&snapshot, &params)?;
            (summary, Some(t.elapsed()))
        }
    };
    eprintln!("{}", summary.describe());
    if let Some(d) = generated_in {
        eprintln!("generated in {}", human(d));
    }

    let load_before = load_average();
    let mut measured = Vec::new();
    for command in COMMANDS {
        header(&format!("sre k8s-doctor {command}, {} runs", options.runs));
        measured.push(measure(
            &sre,
            command,
            &snapshot,
            &out_dir,
            options.runs,
            &summary,
        )?);
    }

    header(&format!("sre --help start-up, {HELP_RUNS} runs"));
    let mut help_ms = help_startup(&sre, HELP_RUNS)?;
    let help_median = median(&mut help_ms);
    let help_p90 = percentile(&mut help_ms, 90.0);
    eprintln!("median {help_median:.1} ms, p90 {help_p90:.1} ms");
    let load_after = load_average();

    let size_mb = fs::metadata(&sre)
        .with_context(|| format!("cannot read {}", sre.display()))?
        .len() as f64
        / 1e6;

    header("machine");
    let facts = machine_facts(&sre, &snapshot, &summary, load_before, load_after);
    for (key, value) in &facts {
        println!("{key:22} {value}");
    }

    header("results");
    let mut rows = Vec::new();
    let mut missed = 0;
    for m in &measured {
        let wall = m.median_wall_s();
        let rss = m.max_rss_mb();
        let time_ok = wall < WALL_TARGET_S;
        let memory_ok = rss < RSS_TARGET_MB;
        missed += usize::from(!time_ok) + usize::from(!memory_ok);
        rows.push([
            m.label.clone(),
            format!("{wall:.2} s"),
            format!("{rss:.0} MB"),
            format!("< {WALL_TARGET_S} s, < {RSS_TARGET_MB:.0} MB"),
            format!("time {}, memory {}", verdict(time_ok), verdict(memory_ok)),
        ]);
    }
    let help_ok = help_median < HELP_TARGET_MS;
    missed += usize::from(!help_ok);
    rows.push([
        "sre --help (start-up)".to_string(),
        format!("{help_median:.1} ms (p90 {help_p90:.1} ms)"),
        "-".to_string(),
        format!("< {HELP_TARGET_MS} ms"),
        verdict(help_ok).to_string(),
    ]);
    let size_ok = size_mb < SIZE_TARGET_MB;
    missed += usize::from(!size_ok);
    rows.push([
        "size of target/release/sre (stripped)".to_string(),
        format!("{size_mb:.1} MB"),
        "-".to_string(),
        format!("< {SIZE_TARGET_MB} MB"),
        verdict(size_ok).to_string(),
    ]);
    print!(
        "{}",
        table(
            &[
                "command",
                "median wall",
                "max peak RSS",
                "target",
                "verdict"
            ],
            &rows
        )
    );
    println!();
    for m in &measured {
        let runs: Vec<String> = m
            .runs
            .iter()
            .map(|r| {
                format!(
                    "{:.2} s / {:.0} MB",
                    r.wall.as_secs_f64(),
                    r.peak_rss_kb as f64 * 1024.0 / 1e6
                )
            })
            .collect();
        println!("{}: runs {}", m.label, runs.join(", "));
        println!("  report {} ({})", megabytes(m.report_bytes), m.summary);
        for line in &m.details {
            println!("  {line}");
        }
    }
    println!(
        "\nMB = 10^6 bytes; peak RSS is GNU time's %M (maximum resident set size) of the sre process."
    );
    println!(
        "No peer tool was run for comparison: the issue names none that can run here (popeye \
         needs a live API server and is not installable from the reachable package registries)."
    );
    if missed == 0 {
        println!("All targets met.");
    } else {
        println!("{missed} target(s) missed: see the rows marked `over`.");
    }

    if options.keep {
        eprintln!("\nkept the snapshot in {}", snapshot.display());
    } else {
        fs::remove_dir_all(&snapshot)
            .with_context(|| format!("cannot remove {}", snapshot.display()))?;
        eprintln!(
            "\nremoved the snapshot (use --keep to keep it for the next run); reports are in {}",
            out_dir.display()
        );
    }
    eprintln!("bench-k8s finished in {}", human(started.elapsed()));
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "over"
    }
}

/// An `sre` command with a clean environment: no config file or variables of the person
/// running the benchmark change what is measured.
fn sre_command(program: &Path, cwd: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(cwd)
        .env("SRE_CONFIG", "/dev/null")
        .stdin(Stdio::null());
    for var in [
        "SRE_OUTPUT",
        "SRE_FAIL_ON",
        "SRE_LOG_LEVEL",
        "SRE_LOG_FORMAT",
        "SRE_COLOR",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `sre k8s-doctor <command>` `runs` times under GNU time.
fn measure(
    sre: &Path,
    command: &str,
    snapshot: &Path,
    out_dir: &Path,
    runs: usize,
    generated: &Summary,
) -> Result<Measured> {
    let report = out_dir.join(format!("{command}.json"));
    let time_file = out_dir.join("time.txt");
    let mut results = Vec::new();
    // Run 0 is a warm-up, not counted: it brings the snapshot into the page cache (a
    // freshly generated one may still be being written back) as it is when someone runs
    // sre on a dump they have just taken.
    for i in 0..=runs {
        let mut cmd = sre_command(Path::new(GNU_TIME), out_dir);
        cmd.arg("-f")
            .arg("%e %M")
            .arg("-o")
            .arg(&time_file)
            .arg(sre)
            .args(["k8s-doctor", command, "--snapshot"])
            .arg(snapshot)
            .args(["-o", "json", "--output-file"])
            .arg(&report)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if i == 0 {
            eprintln!("$ {}", show(&cmd));
        }
        let t = Instant::now();
        let output = cmd
            .output()
            .with_context(|| format!("cannot run `{}`", show(&cmd)))?;
        let wall = t.elapsed();
        // 0: no findings at the --fail-on level, 1: findings (expected here), 2: failure.
        match output.status.code() {
            Some(0 | 1) => {}
            _ => bail!(
                "`{}` failed ({}):\n{}",
                show(&cmd),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
        }
        let time_text = fs::read_to_string(&time_file)
            .with_context(|| format!("cannot read {}", time_file.display()))?;
        let peak_rss_kb = parse_gnu_time(&time_text)
            .with_context(|| format!("unexpected GNU time output: {time_text:?}"))?;
        let run = if i == 0 {
            "warm-up (not counted)".to_string()
        } else {
            format!("run {i}/{runs}")
        };
        eprintln!(
            "  {run}: {:.2} s, peak RSS {:.0} MB, exit {}",
            wall.as_secs_f64(),
            peak_rss_kb as f64 * 1024.0 / 1e6,
            output.status.code().unwrap_or(-1)
        );
        if i > 0 {
            results.push(Run { wall, peak_rss_kb });
        }
    }
    let text = fs::read_to_string(&report)
        .with_context(|| format!("cannot read the report {}", report.display()))?;
    let field = |path: &[&str]| report_field(&text, path).unwrap_or("?").to_string();
    let summary = format!(
        "sre saw {} nodes, {} pods, {} events; findings: {} critical, {} warning, {} info",
        field(&["target", "nodes"]),
        field(&["target", "pods"]),
        field(&["target", "events"]),
        field(&["summary", "critical"]),
        field(&["summary", "warning"]),
        field(&["summary", "info"])
    );
    eprintln!("  {summary}");
    let details = if matches!(command, "audit" | "check") {
        audit_details(&text, generated)
    } else {
        Vec::new()
    };
    for line in &details {
        eprintln!("  {line}");
    }
    Ok(Measured {
        label: format!("k8s-doctor {command}"),
        runs: results,
        report_bytes: text.len() as u64,
        summary,
        details,
    })
}

/// What the audit saw (from the report's target) against what the snapshot holds, its
/// score, and its findings per check.
fn audit_details(report: &str, generated: &Summary) -> Vec<String> {
    let target = |key: &str| report_field(report, &["target", key]);
    let mut lines = vec![format!(
        "audit objects: {} workloads with pod templates in the report's target (the snapshot \
         holds {}: {} Deployments, {} StatefulSets, {} DaemonSets, {} CronJobs); score {}, grade {}",
        target("workloads").unwrap_or("?"),
        generated.workloads(),
        generated.deployments,
        generated.statefulsets,
        generated.daemonsets,
        generated.cronjobs,
        target("score").unwrap_or("?"),
        target("grade").map_or("?", unquote),
    )];
    // RBAC counts, under whichever name the report gives them.
    let rbac: Vec<String> = RBAC_KEYS
        .iter()
        .filter_map(|key| target(key).map(|v| format!("{key} {v}")))
        .collect();
    let held = format!(
        "the snapshot holds {} RBAC objects: {} ClusterRoles, {} ClusterRoleBindings, {} Roles, \
         {} RoleBindings",
        generated.rbac_objects(),
        generated.cluster_roles,
        generated.cluster_role_bindings,
        generated.roles,
        generated.role_bindings
    );
    lines.push(if rbac.is_empty() {
        format!("RBAC objects: not counted in the report's target ({held})")
    } else {
        format!(
            "RBAC objects in the report's target: {} ({held})",
            rbac.join(", ")
        )
    });
    let by_check = findings_by_check(report);
    if !by_check.is_empty() {
        let cells: Vec<String> = by_check
            .iter()
            .map(|(code, severity, n)| format!("{code} {severity} {n}"))
            .collect();
        lines.push(format!("findings per check: {}", cells.join(", ")));
    }
    lines
}

/// Names under which a report's target could count RBAC objects.
const RBAC_KEYS: [&str; 7] = [
    "rbacObjects",
    "roles",
    "bindings",
    "clusterRoles",
    "clusterRoleBindings",
    "roleBindings",
    "rbacSubjects",
];

fn unquote(s: &str) -> &str {
    s.trim_matches('"')
}

/// `(code, severity, count)` of the report's findings, sorted by code and severity.
fn findings_by_check(report: &str) -> Vec<(String, String, usize)> {
    let Some(findings) = report_field(report, &["findings"]) else {
        return Vec::new();
    };
    let mut counts = std::collections::BTreeMap::<(String, String), usize>::new();
    for finding in json_elements(findings) {
        let code = json_field(finding, "code").map_or("?", unquote).to_string();
        let severity = json_field(finding, "severity")
            .map_or("?", unquote)
            .to_string();
        *counts.entry((code, severity)).or_default() += 1;
    }
    counts.into_iter().map(|((c, s), n)| (c, s, n)).collect()
}

/// The peak RSS in KiB from GNU time's `%e %M` output, whose last line holds the figures
/// (a line `Command exited with non-zero status 1` may come first).
fn parse_gnu_time(text: &str) -> Option<u64> {
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
    let mut fields = line.split_whitespace();
    let _elapsed: f64 = fields.next()?.parse().ok()?;
    fields.next()?.parse().ok()
}

/// The raw JSON text of the value at `path` (object keys from the top), e.g.
/// `["summary", "critical"]`. Keys are matched at their own level only: the audit's
/// `namespaceScores` also have `critical` and `score` keys. (xtask has no JSON parser; this
/// is enough for the reports sre writes.)
pub(crate) fn report_field<'a>(text: &'a str, path: &[&str]) -> Option<&'a str> {
    let mut value = text.trim();
    for key in path {
        value = json_field(value, key)?;
    }
    Some(value)
}

/// Splits a JSON object or array into its top-level parts: for an object, alternately
/// keys and values; for an array, its elements. Each part is trimmed raw JSON text.
fn json_parts(text: &str) -> Vec<&str> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let mut parts = Vec::new();
    if bytes.len() < 2 || !matches!(bytes[0], b'{' | b'[') {
        return parts;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut start = 1;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    let part = text[start..i].trim();
                    if !part.is_empty() {
                        parts.push(part);
                    }
                    break;
                }
            }
            b',' | b':' if depth == 1 => {
                parts.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts
}

/// The raw value of `key` in a JSON object.
fn json_field<'a>(object: &'a str, key: &str) -> Option<&'a str> {
    let quoted = format!("\"{key}\"");
    json_parts(object)
        .chunks(2)
        .find(|kv| kv.len() == 2 && kv[0] == quoted)
        .map(|kv| kv[1])
}

/// The elements of a JSON array.
fn json_elements(array: &str) -> Vec<&str> {
    if array.trim_start().starts_with('[') {
        json_parts(array)
    } else {
        Vec::new()
    }
}

/// Start-up times of `sre --help`, in milliseconds.
fn help_startup(sre: &Path, runs: usize) -> Result<Vec<f64>> {
    let cwd = project_root();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut cmd = sre_command(sre, &cwd);
        cmd.arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let t = Instant::now();
        let status = cmd.status().context("cannot run sre --help")?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        if !status.success() {
            bail!("`sre --help` failed ({status})");
        }
    }
    Ok(times)
}

/// The nearest-rank percentile.
fn percentile(xs: &mut [f64], p: f64) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(f64::total_cmp);
    let rank = (p / 100.0 * xs.len() as f64).ceil() as usize;
    xs[rank.clamp(1, xs.len()) - 1]
}

/// `/proc/loadavg`'s first three fields.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string())
}

fn first_line_of(cmd: &mut Command) -> String {
    cmd.stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".to_string())
}

fn machine_facts(
    sre: &Path,
    snapshot: &Path,
    summary: &Summary,
    load_before: String,
    load_after: String,
) -> Vec<(&'static str, String)> {
    let cpu = crate::util::cpu_model();
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or("unknown".to_string(), |kb| {
            format!("{:.1} GB", kb as f64 * 1024.0 / 1e9)
        });
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let usage = disk_usage(snapshot);
    let mut git = Command::new("git");
    git.current_dir(project_root())
        .args(["describe", "--always", "--dirty", "--abbrev=12"]);
    let pod_bytes = usage.pods_json as f64 / summary.pods.max(1) as f64;
    vec![
        ("nproc", nproc.to_string()),
        ("cpu", cpu),
        ("memory", memory),
        ("kernel", first_line_of(Command::new("uname").arg("-r"))),
        (
            "rustc",
            first_line_of(Command::new("rustc").arg("--version")),
        ),
        ("sre", first_line_of(Command::new(sre).arg("--version"))),
        ("commit", first_line_of(&mut git)),
        (
            "snapshot",
            format!("{} ({} files)", snapshot.display(), usage.files),
        ),
        (
            "snapshot size",
            format!(
                "{}; {} allocated on disk",
                megabytes(usage.bytes),
                megabytes(usage.allocated)
            ),
        ),
        (
            "pods.json per pod",
            format!("{:.0} bytes (compact JSON, one item per line)", pod_bytes),
        ),
        ("objects", summary.describe()),
        (
            "load average",
            format!("{load_before} before, {load_after} after"),
        ),
    ]
}

/// What a generated snapshot holds (its stamp file aside).
#[derive(Debug, Default)]
struct Usage {
    files: usize,
    bytes: u64,
    allocated: u64,
    /// Bytes in the `pods.json` files.
    pods_json: u64,
}

fn disk_usage(dir: &Path) -> Usage {
    use std::os::unix::fs::MetadataExt;
    let mut usage = Usage::default();
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                stack.push(e.path());
            } else if e.file_name() != gen_k8s::STAMP {
                usage.files += 1;
                usage.bytes += meta.len();
                usage.allocated += meta.blocks() * 512;
                if e.file_name() == "pods.json" {
                    usage.pods_json += meta.len();
                }
            }
        }
    }
    usage
}

/// A Markdown table, its columns padded for reading in a terminal too.
fn table<const N: usize>(head: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = head.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(head.to_vec());
    out.push_str(&line(widths.iter().map(|_| "").collect()).replace(' ', "-"));
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options() -> Result<()> {
        assert_eq!(
            Options::parse(&[])?,
            Options {
                nodes: 5_000,
                pods: 150_000,
                runs: 3,
                keep: false
            }
        );
        assert_eq!(
            Options::parse(&strings(&["--nodes", "50", "--pods=1_000", "--keep"]))?,
            Options {
                nodes: 50,
                pods: 1_000,
                runs: 3,
                keep: true
            }
        );
        assert!(Options::parse(&strings(&["--nodes"])).is_err());
        assert!(Options::parse(&strings(&["--fast"])).is_err());
        Ok(())
    }

    #[test]
    fn gnu_time_output() {
        assert_eq!(parse_gnu_time("2.41 612345\n"), Some(612_345));
        assert_eq!(
            parse_gnu_time("Command exited with non-zero status 1\n2.41 612345\n"),
            Some(612_345)
        );
        assert_eq!(parse_gnu_time("garbage"), None);
    }

    #[test]
    fn statistics() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        let mut xs: Vec<f64> = (1..=50).map(f64::from).collect();
        assert_eq!(percentile(&mut xs, 90.0), 45.0);
        assert_eq!(percentile(&mut [7.0], 90.0), 7.0);
    }

    #[test]
    fn report_fields() {
        let text = r#"{
  "target": {
    "events": 9,
    "grade": "F",
    "namespaceScores": [{"critical": 1, "namespace": "a,b", "score": 6}],
    "nodes": 4,
    "pods": 20,
    "score": 34
  },
  "summary": {"critical": 6, "warning": 2},
  "checks": [{"code": "KD301", "severity": "warning"}],
  "findings": [
    {"code": "KD313", "severity": "critical", "message": "a \"quoted\" {brace"},
    {"code": "KD301", "severity": "warning", "evidence": {"code": "x"}},
    {"code": "KD301", "severity": "warning"}
  ]
}"#;
        assert_eq!(report_field(text, &["target", "pods"]), Some("20"));
        // Not the namespace score's `score` or `critical`.
        assert_eq!(report_field(text, &["target", "score"]), Some("34"));
        assert_eq!(report_field(text, &["summary", "critical"]), Some("6"));
        assert_eq!(report_field(text, &["summary", "info"]), None);
        assert_eq!(
            report_field(text, &["target", "grade"]).map(unquote),
            Some("F")
        );
        assert_eq!(
            findings_by_check(text),
            vec![
                ("KD301".to_string(), "warning".to_string(), 2),
                ("KD313".to_string(), "critical".to_string(), 1)
            ]
        );
        assert_eq!(json_elements("[]"), Vec::<&str>::new());
        assert_eq!(json_elements("{}"), Vec::<&str>::new());
    }

    #[test]
    fn audit_details_name_what_is_missing() {
        let summary = Summary {
            deployments: 3,
            statefulsets: 1,
            cluster_roles: 2,
            role_bindings: 1,
            ..Summary::default()
        };
        let text = r#"{"target": {"workloads": 4, "score": 70, "grade": "C"}, "findings": []}"#;
        let lines = audit_details(text, &summary);
        assert!(
            lines[0].starts_with("audit objects: 4 workloads"),
            "{lines:?}"
        );
        assert!(
            lines[0].contains("holds 4:") && lines[0].contains("grade C"),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("RBAC objects: not counted"),
            "{lines:?}"
        );
        let text = r#"{"target": {"workloads": 4, "roles": 2, "bindings": 1}}"#;
        let lines = audit_details(text, &summary);
        assert!(lines[1].contains("roles 2, bindings 1"), "{lines:?}");
    }

    #[test]
    fn markdown_table() {
        let t = table(&["a", "bb"], &[["xyz".to_string(), "1".to_string()]]);
        assert_eq!(t, "| a   | bb |\n|-----|----|\n| xyz | 1  |\n");
    }
}
