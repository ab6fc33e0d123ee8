//! `cargo xtask bench-alerts`: `sre alert-analyzer analyze` against a real Prometheus that
//! holds 10,000 alert series over 30 days at one-minute resolution, side by side with the
//! same `query_range` requests sent by curl (the floor: Prometheus' own time plus the
//! transfer), in one run.
//!
//! Steps: build `sre` (release); generate the history (deterministic) as OpenMetrics, one
//! file per two-hour TSDB block (promtool 2.42 re-reads its whole input once per block, so
//! one 30-day file would be read 360 times), and backfill it with `promtool tsdb
//! create-blocks-from openmetrics`; start Prometheus on it and wait until it has compacted
//! the blocks, as a long-running server would have; then alternate curl and sre (a warm-up
//! each, then `--runs`) and analyze the saved history offline. Prints wall times, peak RSS
//! (GNU time), the share of sre's run spent waiting on Prometheus (sre's own `info` log),
//! the analysis time against the 1 s target, and the ratio to curl.
//!
//! The history is kept in `target/bench-alerts/` and reused while its parameters match.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use crate::bench_k8s_live::{timed, version};
use crate::gen_k8s::parse_count;
use crate::util::{cargo, find_program, header, human, run_cmd, show, target_dir};

const GNU_TIME: &str = "/usr/bin/time";
const STEP: i64 = 60;
/// sre's chunk: at most this many evaluations per `query_range` (as `DEFAULT_CHUNK_STEPS`).
const CHUNK_STEPS: i64 = 10_000;
const BLOCK: i64 = 7_200;
const ANALYSIS_TARGET_S: f64 = 1.0;

struct Options {
    series: usize,
    days: usize,
    runs: usize,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options {
        series: 10_000,
        days: 30,
        runs: 3,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("`{flag}` needs a value"));
        match flag.as_str() {
            "--series" => o.series = parse_count(flag, value()?)?.max(100),
            "--days" => o.days = parse_count(flag, value()?)?.clamp(1, 365),
            "--runs" => o.runs = parse_count(flag, value()?)?.max(1),
            other => bail!(
                "unknown option `{other}` for `cargo xtask bench-alerts` (known: --series N, --days D, --runs R)"
            ),
        }
    }
    Ok(o)
}

/// splitmix64: a small deterministic generator, so every run benchmarks the same history.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: i64) -> i64 {
        (self.next() % n.max(1) as u64) as i64
    }
}

const NAMES: [&str; 10] = [
    "KubePodCrashLooping",
    "HighErrorRate",
    "HighLatency",
    "DiskSpaceLow",
    "NodeMemoryPressure",
    "CPUThrottling",
    "TargetDown",
    "CertificateExpiring",
    "QueueBacklog",
    "ReplicationLag",
];

/// What one series does over the window, as firing episodes `[start, end)` in minutes from
/// the window's start (sorted, not overlapping) and whether each has 5 pending minutes
/// before it (`for: 5m`).
fn episodes(i: usize, minutes: i64, rng: &mut Rng) -> (Vec<(i64, i64)>, bool) {
    let days = minutes / 1_440;
    let mut eps: Vec<(i64, i64)> = Vec::new();
    let pending = match i % 100 {
        // 1%: always firing.
        0 => {
            eps.push((0, minutes));
            false
        }
        // 5%: flapping on a few bad days, episodes of 2-6 minutes 3-20 minutes apart.
        1..=5 => {
            for _ in 0..3 {
                let mut t = rng.below(days.max(1)) * 1_440 + rng.below(1_200);
                for _ in 0..40 {
                    let len = 2 + rng.below(5);
                    eps.push((t, (t + len).min(minutes)));
                    t += len + 3 + rng.below(18);
                }
            }
            false
        }
        // 10%: a nightly job, at 02:00 plus up to 10 minutes, for 15-45 minutes.
        6..=15 => {
            for d in 0..days {
                let t = d * 1_440 + 120 + rng.below(10);
                eps.push((t, (t + 15 + rng.below(31)).min(minutes)));
            }
            true
        }
        // The rest: 1-20 incidents at random times, 1 minute to 4 hours long.
        _ => {
            for _ in 0..1 + rng.below(20) {
                let t = 5 + rng.below(minutes - 5);
                let len = 1_i64 << rng.below(8);
                eps.push((t, (t + len).min(minutes)));
            }
            true
        }
    };
    eps.retain(|(s, e)| s < e && *s < minutes);
    eps.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(eps.len());
    for (s, e) in eps {
        match merged.last_mut() {
            // Touching or overlapping (with the pending minutes): one episode.
            Some(last) if s <= last.1 + 6 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    (merged, pending)
}

/// What the generated history holds.
#[derive(Debug, Default)]
struct Generated {
    /// `ALERTS` samples (firing and pending), and `ALERTS_FOR_STATE` samples.
    samples: u64,
    for_state_samples: u64,
    episodes: u64,
    files: usize,
    bytes: u64,
}

/// Writes the history as OpenMetrics, one file per two-hour block, into `dir`.
fn generate(dir: &Path, o: &Options, from: i64, to: i64) -> Result<Generated> {
    fs::create_dir_all(dir)?;
    let minutes = (to - from) / STEP;
    let blocks = ((to - from) / BLOCK) as usize;
    let mut files: Vec<BufWriter<File>> = (0..blocks)
        .map(|b| {
            let path = dir.join(format!("{b:04}.om"));
            File::create(&path)
                .map(|f| BufWriter::with_capacity(256 * 1024, f))
                .with_context(|| format!("cannot create {}", path.display()))
        })
        .collect::<Result<_>>()?;
    let mut g = Generated {
        files: blocks,
        ..Generated::default()
    };
    // Two passes with the same seed: all of ALERTS, then all of ALERTS_FOR_STATE (the value
    // is the activation time: the first pending or firing minute), as OpenMetrics wants
    // each metric family in one piece.
    for for_state in [false, true] {
        let mut rng = Rng(1);
        for i in 0..o.series {
            let name = NAMES[i % NAMES.len()];
            let labels = format!(
                "alertname=\"{name}{:02}\",instance=\"host-{i:05}\",namespace=\"ns-{:02}\",severity=\"{}\"",
                (i / NAMES.len()) % 50,
                i % 40,
                ["warning", "critical", "info"][i % 3]
            );
            let (eps, pending) = episodes(i, minutes, &mut rng);
            if !for_state {
                g.episodes += eps.len() as u64;
            }
            for (s, e) in eps {
                let p0 = if pending { (s - 5).max(0) } else { s };
                let active = from + p0 * STEP;
                for m in p0..e {
                    let t = from + m * STEP;
                    let b = ((t - from) / BLOCK) as usize;
                    if for_state {
                        writeln!(files[b], "ALERTS_FOR_STATE{{{labels}}} {active} {t}")?;
                        g.for_state_samples += 1;
                    } else {
                        let state = if m < s { "pending" } else { "firing" };
                        writeln!(files[b], "ALERTS{{{labels},alertstate=\"{state}\"}} 1 {t}")?;
                        g.samples += 1;
                    }
                }
            }
        }
    }
    for (b, mut f) in files.into_iter().enumerate() {
        writeln!(f, "# EOF")?;
        f.flush()
            .with_context(|| format!("cannot write block file {b}"))?;
    }
    g.bytes = dir_bytes(dir);
    Ok(g)
}

fn dir_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// TSDB block directories (ULIDs) and whether a compaction is writing one now.
fn blocks(data: &Path) -> (usize, bool) {
    let mut n = 0;
    let mut busy = false;
    for e in fs::read_dir(data).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.ends_with(".tmp-for-creation") || name.ends_with(".tmp-for-deletion") {
            busy = true;
        } else if name.len() == 26 && name.chars().all(|c| c.is_ascii_alphanumeric()) {
            n += 1;
        }
    }
    (n, busy)
}

/// Backfills every block file with promtool, as many at once as there are cores.
fn backfill(promtool: &Path, om: &Path, data: &Path) -> Result<()> {
    let mut inputs: Vec<PathBuf> = fs::read_dir(om)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "om"))
        .collect();
    inputs.sort();
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut running: Vec<(PathBuf, Child)> = Vec::new();
    let mut done = 0;
    let total = inputs.len();
    let mut queue = inputs.into_iter();
    loop {
        while running.len() < parallel {
            let Some(input) = queue.next() else { break };
            let child = Command::new(promtool)
                .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
                .arg(&input)
                .arg(data)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .with_context(|| format!("cannot run {}", promtool.display()))?;
            running.push((input, child));
        }
        let Some((input, child)) = (!running.is_empty()).then(|| running.remove(0)) else {
            break;
        };
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "promtool failed on {} ({}): {}",
                input.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        done += 1;
        if done % 60 == 0 || done == total {
            eprintln!("  backfilled {done}/{total} blocks");
        }
    }
    Ok(())
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn curl_get(url: &str) -> Result<(u16, String)> {
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", url])
        .output()
        .context("cannot run curl")?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    Ok((code.trim().parse().unwrap_or(0), body.to_string()))
}

/// The value of `key=` in sre's `info` log line that contains `message`.
fn log_value(log: &str, message: &str, key: &str) -> Option<f64> {
    let line = log.lines().find(|l| l.contains(message))?;
    let start = line.find(&format!(" {key}="))? + key.len() + 2;
    line[start..]
        .split_whitespace()
        .next()?
        .trim_matches('"')
        .parse()
        .ok()
}

/// `cargo xtask bench-alerts [--series N] [--days D] [--runs R]`.
pub fn run(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    let started = Instant::now();
    if !Path::new(GNU_TIME).is_file() {
        bail!("{GNU_TIME} (GNU time) is missing: apt-get install -y time (or `cargo xtask deps`)");
    }
    let promtool = find_program("promtool")
        .context("promtool is missing: apt-get install -y prometheus (or `cargo xtask deps`)")?;
    let prometheus = find_program("prometheus")
        .context("prometheus is missing: apt-get install -y prometheus (or `cargo xtask deps`)")?;
    find_program("curl").context("curl is missing: apt-get install -y curl")?;
    header("building sre (release)");
    run_cmd(cargo().args(["build", "--release", "-p", "sre", "--bin", "sre"]))?;
    let sre = target_dir().join("release").join("sre");

    let dir = target_dir().join("bench-alerts");
    let (om, data) = (dir.join("openmetrics"), dir.join("data"));
    let stamp_path = dir.join("stamp");
    // The window: whole blocks, ending at least 4 hours ago (newer samples would overlap
    // Prometheus' head block). A kept history keeps its window.
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
    let wanted = format!(
        "series={} days={} families=ALERTS,ALERTS_FOR_STATE",
        o.series, o.days
    );
    let kept = fs::read_to_string(&stamp_path).ok().and_then(|s| {
        let (params, window) = s.trim().split_once(" window=")?;
        let (from, to) = window.split_once('-')?;
        (params == wanted && data.is_dir()).then(|| (from.parse().ok(), to.parse().ok()))
    });
    let (from, to, generated) = match kept {
        Some((Some(from), Some(to))) => {
            eprintln!("reusing the history in {} ({wanted})", dir.display());
            (from, to, None)
        }
        _ => {
            let to = (now - 4 * 3_600) / BLOCK * BLOCK;
            let from = to - o.days as i64 * 86_400;
            let _ = fs::remove_dir_all(&dir);
            header(&format!(
                "generating {} alert series over {} days at 1-minute resolution",
                o.series, o.days
            ));
            let t = Instant::now();
            let g = generate(&om, &o, from, to)?;
            eprintln!(
                "  {} ALERTS and {} ALERTS_FOR_STATE samples, {} episodes, {} files, {:.0} MB of OpenMetrics in {}",
                g.samples,
                g.for_state_samples,
                g.episodes,
                g.files,
                g.bytes as f64 / 1e6,
                human(t.elapsed())
            );
            header("backfilling with promtool tsdb create-blocks-from openmetrics");
            let t = Instant::now();
            fs::create_dir_all(&data)?;
            backfill(&promtool, &om, &data)?;
            eprintln!("  backfilled in {}", human(t.elapsed()));
            fs::remove_dir_all(&om)?;
            fs::write(&stamp_path, format!("{wanted} window={from}-{to}\n"))?;
            (from, to, Some(g))
        }
    };

    header("starting Prometheus");
    let port = free_port()?;
    let url = format!("http://127.0.0.1:{port}");
    fs::write(
        dir.join("prometheus.yml"),
        "global:\n  scrape_interval: 1m\n",
    )?;
    let mut cmd = Command::new(&prometheus);
    cmd.arg(format!(
        "--config.file={}",
        dir.join("prometheus.yml").display()
    ))
    .arg(format!("--storage.tsdb.path={}", data.display()))
    .arg("--storage.tsdb.retention.time=100y")
    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
    // Backfilled samples carry no staleness markers (a live Prometheus writes one when
    // an alert resolves), so a lookback just under one step ends episodes where they end.
    .arg("--query.lookback-delta=59s")
    .stdout(Stdio::null())
    .stderr(File::create(dir.join("prometheus.log"))?);
    eprintln!("$ {}", show(&cmd));
    let _server = crate::util::KillOnDrop(cmd.spawn().context("cannot start prometheus")?);
    let deadline = Instant::now() + Duration::from_secs(300);
    while curl_get(&format!("{url}/-/ready"))?.0 != 200 {
        if Instant::now() > deadline {
            bail!(
                "Prometheus was not ready within 5 minutes: see {}/prometheus.log",
                dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    // Wait for the compactor to merge the two-hour blocks (it runs about once a minute):
    // done when nothing has changed for 90 s.
    let (initial, _) = blocks(&data);
    eprintln!("  ready; {initial} blocks; waiting for compaction to settle");
    let mut last = (initial, false);
    let mut stable_since = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(1_200);
    while stable_since.elapsed() < Duration::from_secs(90) {
        if Instant::now() > deadline {
            bail!("Prometheus' compaction did not settle within 20 minutes");
        }
        std::thread::sleep(Duration::from_secs(5));
        let now_blocks = blocks(&data);
        if now_blocks != last || now_blocks.1 {
            last = now_blocks;
            stable_since = Instant::now();
            eprintln!(
                "  {} blocks{}",
                now_blocks.0,
                if now_blocks.1 { " (compacting)" } else { "" }
            );
        }
    }
    let compacted = last.0;

    // The requests sre makes: ALERTS over the window in chunks of CHUNK_STEPS evaluations.
    // (sre's window for --to T ends one step after T: the evaluation at T is included.)
    let mut chunks = Vec::new();
    for query in ["ALERTS", "ALERTS_FOR_STATE"] {
        let mut start = from;
        let last = to + STEP - 1;
        while start <= last {
            let end = (start + (CHUNK_STEPS - 1) * STEP).min(last);
            chunks.push(format!(
                "{url}/api/v1/query_range?query={query}&start={start}&end={end}&step={STEP}"
            ));
            start = end + STEP;
        }
    }
    let out_dir = dir.join("out");
    fs::create_dir_all(&out_dir)?;
    let time_file = out_dir.join("time.txt");
    let report = out_dir.join("report.json");
    let history = out_dir.join("history.json");
    let rfc3339 = |t: i64| {
        let out = Command::new("date")
            .args(["-u", "-d", &format!("@{t}"), "+%Y-%m-%dT%H:%M:%SZ"])
            .output();
        out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let (from_s, to_s) = (rfc3339(from), rfc3339(to));

    header(&format!(
        "measuring: curl ({} query_range requests) and sre, alternately",
        chunks.len()
    ));
    let mut curl_runs = Vec::new();
    let mut sre_runs = Vec::new();
    let mut waits = Vec::new();
    let mut analysis = Vec::new();
    let mut last_log = String::new();
    for i in 0..=o.runs {
        let mut c = Command::new(GNU_TIME);
        c.args(["-f", "%e %M", "-o"])
            .arg(&time_file)
            .arg("sh")
            .arg("-c")
            .arg(r#"for u in "$@"; do curl -sf -o /dev/null "$u" || exit 1; done"#)
            .arg("curl-all")
            .args(&chunks);
        let cr = timed(&mut c, &time_file, i == 0)?;
        let mut s = Command::new(GNU_TIME);
        s.args(["-f", "%e %M", "-o"])
            .arg(&time_file)
            .arg(&sre)
            .args([
                "--log-level",
                "info",
                "alert-analyzer",
                "analyze",
                "--prometheus-url",
                &url,
            ])
            .args([
                "--from",
                &from_s,
                "--to",
                &to_s,
                "--step",
                "60s",
                "--timeout",
                "300s",
            ])
            .args(["-o", "json", "--fail-on", "never", "--output-file"])
            .arg(&report)
            .arg("--save-history")
            .arg(&history)
            .env("SRE_CONFIG", "/dev/null")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1");
        if i == 0 {
            eprintln!("$ {}", show(&s));
        }
        s.stdout(Stdio::null()).stderr(Stdio::piped());
        let t = Instant::now();
        let out = s.output().context("cannot run sre")?;
        let wall = t.elapsed().as_secs_f64();
        let log = String::from_utf8_lossy(&out.stderr).to_string();
        if !out.status.success() {
            bail!("sre failed ({}): {log}", out.status);
        }
        let rss_kb: f64 = fs::read_to_string(&time_file)?
            .split_whitespace()
            .last()
            .and_then(|v| v.parse().ok())
            .context("unexpected GNU time output")?;
        let waited =
            log_value(&log, "read the alert history", "waited_seconds").unwrap_or(f64::NAN);
        let analyzed = log_value(&log, "analyzed", "seconds").unwrap_or(f64::NAN);
        let label = if i == 0 {
            "warm-up (not counted)".to_string()
        } else {
            format!("run {i}/{}", o.runs)
        };
        eprintln!(
            "  {label}: curl {:.2} s / {:.0} MB; sre {wall:.2} s / {:.0} MB, waiting on Prometheus {waited:.2} s, analysis {analyzed:.3} s",
            cr.0,
            cr.1,
            rss_kb * 1024.0 / 1e6
        );
        if i > 0 {
            curl_runs.push(cr.0);
            sre_runs.push((wall, rss_kb * 1024.0 / 1e6));
            waits.push(waited);
            analysis.push(analyzed);
        }
        last_log = log;
    }

    header("offline: the saved history, analyzed again");
    let mut offline = Vec::new();
    for i in 0..=o.runs {
        let mut s = Command::new(GNU_TIME);
        s.args(["-f", "%e %M", "-o"])
            .arg(&time_file)
            .arg(&sre)
            .args(["alert-analyzer", "analyze", "--history"])
            .arg(&history)
            .args(["-o", "json", "--fail-on", "never", "--output-file"])
            .arg(out_dir.join("offline.json"))
            .env("SRE_CONFIG", "/dev/null")
            .env_remove("RUST_LOG");
        let r = timed(&mut s, &time_file, i == 0)?;
        if i > 0 {
            offline.push(r);
        }
    }

    let median = |xs: &[f64]| crate::util::median(&mut xs.to_vec());
    let sre_wall = median(&sre_runs.iter().map(|r| r.0).collect::<Vec<_>>());
    let sre_rss = sre_runs.iter().map(|r| r.1).fold(0.0, f64::max);
    let curl_wall = median(&curl_runs);
    let wait = median(&waits);
    let analysis_s = median(&analysis);
    let offline_wall = median(&offline.iter().map(|r| r.0).collect::<Vec<_>>());
    let offline_rss = offline.iter().map(|r| r.1).fold(0.0, f64::max);
    let field = |key: &str| log_value(&last_log, "read the alert history", key).unwrap_or(f64::NAN);

    header("machine");
    let cpu = crate::util::cpu_model();
    println!(
        "cpus                   {} ({cpu})",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "prometheus             {}",
        crate::util::first_output_line(&prometheus, "--version")
    );
    println!("sre                    {}", version(&sre, &["--version"]));
    if let Some(g) = &generated {
        println!(
            "history                {} series, {} ALERTS and {} ALERTS_FOR_STATE samples, {} episodes ({:.0} MB OpenMetrics)",
            o.series,
            g.samples,
            g.for_state_samples,
            g.episodes,
            g.bytes as f64 / 1e6
        );
        // sre must have read exactly what was written.
        if field("samples") != g.samples as f64 || field("series") != o.series as f64 {
            bail!(
                "sre read {} series and {} samples, but the history has {} and {}",
                field("series"),
                field("samples"),
                o.series,
                g.samples
            );
        }
    }
    println!(
        "window                 {from_s} to {to_s} at 60s ({} days)",
        o.days
    );
    println!("tsdb                   {initial} backfilled blocks, {compacted} after compaction");
    println!(
        "sre read               {} series, {} samples in {} requests, {:.0} MB of JSON",
        field("series"),
        field("samples"),
        field("requests"),
        field("bytes") / 1e6
    );
    header("results (medians)");
    println!("| command | wall | peak RSS |");
    println!("|---|---|---|");
    println!(
        "| curl: the same {} query_range requests, to /dev/null | {curl_wall:.2} s | - |",
        chunks.len()
    );
    println!(
        "| sre alert-analyzer analyze --prometheus-url (end to end) | {sre_wall:.2} s | {sre_rss:.0} MB |"
    );
    println!(
        "| sre alert-analyzer analyze --history (saved, offline) | {offline_wall:.2} s | {offline_rss:.0} MB |"
    );
    println!();
    println!(
        "waiting on Prometheus: {wait:.2} s of {sre_wall:.2} s ({:.0}%)",
        100.0 * wait / sre_wall
    );
    println!(
        "analysis: {analysis_s:.3} s (target < {ANALYSIS_TARGET_S} s: {})",
        if analysis_s < ANALYSIS_TARGET_S {
            "ok"
        } else {
            "over"
        }
    );
    println!("ratio sre/curl: {:.2}x", sre_wall / curl_wall);
    eprintln!("bench-alerts finished in {}", human(started.elapsed()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn episodes_are_sorted_and_apart() {
        let mut rng = Rng(1);
        for i in 0..200 {
            let (eps, _) = episodes(i, 30 * 1_440, &mut rng);
            assert!(!eps.is_empty(), "series {i}");
            for w in eps.windows(2) {
                assert!(w[0].1 + 6 < w[1].0, "series {i}: {w:?}");
            }
            assert!(eps
                .iter()
                .all(|(s, e)| 0 <= *s && s < e && *e <= 30 * 1_440));
        }
        assert_eq!(episodes(0, 100, &mut rng).0, vec![(0, 100)]);
    }

    #[test]
    fn log_values() {
        let log = "2026-11-27T12:00:00Z  INFO read the alert history source=http://x series=10 waited_seconds=1.5 total_seconds=2\n2026-11-27T12:00:01Z  INFO analyzed series=10 episodes=3 seconds=0.25";
        assert_eq!(
            log_value(log, "read the alert history", "waited_seconds"),
            Some(1.5)
        );
        assert_eq!(log_value(log, "analyzed", "seconds"), Some(0.25));
        assert_eq!(log_value(log, "analyzed", "missing"), None);
    }
}
