//! `cargo xtask bench-load`: chaos-load's throughput side by side with wrk, hey and oha
//! (those installed) against the same nginx, in one run; then the open model's rate
//! accuracy, and chaos-load's peak memory over a long run.
//!
//! nginx runs with one worker, `access_log off` and `return 200`, so it costs as little
//! as a server can. Each tool runs for `--duration` with the same threads and connections
//! (1 thread and 64 connections, then 2 threads and 256), one after another, `--runs` times
//! in rotation; the median requests/s of each is printed with its ratio to wrk's.

use std::fs;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::util::{cargo, find_program, header, human, run_cmd, show, target_dir};

const GNU_TIME: &str = "/usr/bin/time";

struct Options {
    duration: u64,
    runs: usize,
    soak: u64,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options {
        duration: 10,
        runs: 3,
        soak: 600,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || -> Result<u64> {
            let v = it
                .next()
                .with_context(|| format!("`{flag}` needs a value"))?;
            v.trim_end_matches('s')
                .parse()
                .with_context(|| format!("`{flag} {v}`: give seconds, e.g. 10 or 10s"))
        };
        match flag.as_str() {
            "--duration" => o.duration = value()?.max(1),
            "--runs" => o.runs = value()?.max(1) as usize,
            "--soak" => o.soak = value()?,
            other => bail!(
                "unknown option `{other}` for `cargo xtask bench-load` (known: --duration SECONDS, --runs N, --soak SECONDS (0 skips the long run))"
            ),
        }
    }
    Ok(o)
}

/// The number after `key` in `text` (wrk and hey print `Requests/sec: N`).
fn number_after(text: &str, key: &str) -> Option<f64> {
    let i = text.find(key)? + key.len();
    text[i..]
        .trim_start_matches([':', ' ', '\t'])
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A number in a JSON report, by its path of keys.
pub(crate) fn json_number(text: &str, path: &[&str]) -> Option<f64> {
    crate::bench_k8s::report_field(text, path)?.parse().ok()
}

pub(crate) fn output_of(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{}`", show(cmd)))?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            show(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}

/// Reads requests/s from a tool's output.
type RpsParser = fn(&str) -> Option<f64>;

/// `cargo xtask bench-load [--duration 10] [--runs 3] [--soak 600]`.
pub fn run(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    let started = Instant::now();
    let nginx = find_program("nginx")
        .context("nginx is missing: apt-get install -y nginx-light (or `cargo xtask deps`)")?;
    let wrk = find_program("wrk").context(
        "wrk is missing: apt-get install -y wrk (it is the reference this benchmark compares with)",
    )?;
    let hey = find_program("hey");
    let oha = find_program("oha");
    header("building sre (release)");
    run_cmd(cargo().args(["build", "--release", "-p", "sre", "--bin", "sre"]))?;
    let sre = target_dir().join("release").join("sre");

    let dir = target_dir().join("bench-load");
    let (server, url) = start_nginx(&nginx, &dir)?;
    // nginx's worker: how busy it was during each tool's run tells whether the server
    // (one core) or the generator was the limit.
    let mut workers = children_of(server.0.id());
    let deadline = Instant::now() + Duration::from_secs(5);
    while workers.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        workers = children_of(server.0.id());
    }
    let ticks: f64 = crate::util::first_output_line(std::path::Path::new("getconf"), "CLK_TCK")
        .trim()
        .parse()
        .unwrap_or(100.0);
    if workers.is_empty() {
        eprintln!("warning: nginx's worker process was not found: its CPU is not measured (n/a)");
    }
    // NaN (shown as n/a) without a worker to read.
    let nginx_cpu = || -> f64 {
        if workers.is_empty() {
            return f64::NAN;
        }
        workers.iter().map(|p| cpu_ticks(*p)).sum::<f64>() / ticks
    };
    let percent = |busy: f64| {
        if busy.is_finite() {
            format!("{:.0}%", busy * 100.0)
        } else {
            "n/a".to_string()
        }
    };
    let d = o.duration.to_string();
    let mut rows: Vec<(String, Vec<ToolResult>)> = Vec::new();
    for (threads, conns) in [(1usize, 64usize), (2, 256)] {
        header(&format!(
            "{threads} thread(s), {conns} connections, {}s each, {} runs",
            o.duration, o.runs
        ));
        let (t, c) = (threads.to_string(), conns.to_string());
        let mut results: Vec<(String, Vec<f64>, Vec<f64>)> = Vec::new();
        for i in 0..o.runs {
            let mut tools: Vec<(String, Command, RpsParser)> = Vec::new();
            let mut w = Command::new(&wrk);
            w.args(["-t", &t, "-c", &c, "-d", &format!("{d}s"), &url]);
            tools.push(("wrk".into(), w, |s| number_after(s, "Requests/sec")));
            let mut s = Command::new(&sre);
            s.args([
                "chaos-load",
                "run",
                "--url",
                &url,
                "--threads",
                &t,
                "-c",
                &c,
            ])
            .args(["-d", &format!("{d}s"), "-q", "-o", "json"])
            .env("SRE_CONFIG", "/dev/null");
            tools.push(("sre chaos-load".into(), s, |s| {
                json_number(s, &["summary", "rps"])
            }));
            if let Some(hey) = &hey {
                let mut h = Command::new(hey);
                h.args(["-z", &format!("{d}s"), "-c", &c, "-cpus", &t, &url]);
                tools.push(("hey".into(), h, |s| number_after(s, "Requests/sec")));
            }
            if let Some(oha) = &oha {
                let mut h = Command::new(oha);
                h.args([
                    "-z",
                    &format!("{d}s"),
                    "-c",
                    &c,
                    "--no-tui",
                    "--output-format",
                    "json",
                    &url,
                ])
                .env("TOKIO_WORKER_THREADS", &t);
                tools.push(("oha".into(), h, |s| {
                    json_number(s, &["summary", "requestsPerSec"])
                }));
            }
            for (name, mut cmd, parse_rps) in tools {
                if i == 0 {
                    eprintln!("$ {}", show(&cmd));
                }
                let (cpu0, t0) = (nginx_cpu(), Instant::now());
                let text = output_of(&mut cmd)?;
                let busy = (nginx_cpu() - cpu0) / t0.elapsed().as_secs_f64();
                let rps = parse_rps(&text)
                    .with_context(|| format!("no requests/s in the output of {name}: {text}"))?;
                eprintln!(
                    "  run {}/{}: {name} {rps:.0}/s, nginx busy {}",
                    i + 1,
                    o.runs,
                    percent(busy)
                );
                match results.iter_mut().find(|(n, _, _)| *n == name) {
                    Some((_, v, b)) => {
                        v.push(rps);
                        b.push(busy);
                    }
                    None => results.push((name, vec![rps], vec![busy])),
                }
            }
        }
        let row = results
            .into_iter()
            .map(|(n, mut v, mut b)| (n, crate::util::median(&mut v), crate::util::median(&mut b)))
            .collect();
        rows.push((format!("{threads} thread(s), {conns} connections"), row));
    }

    header("open model: requested against achieved rate");
    let mut rate_rows = Vec::new();
    for rate in [1_000u64, 10_000, 50_000] {
        let text = output_of(
            Command::new(&sre)
                .args([
                    "chaos-load",
                    "run",
                    "--url",
                    &url,
                    "-c",
                    "64",
                    "--threads",
                    "1",
                ])
                .args([
                    "--rate",
                    &rate.to_string(),
                    "-d",
                    &format!("{d}s"),
                    "-q",
                    "-o",
                    "json",
                ])
                .env("SRE_CONFIG", "/dev/null"),
        )?;
        let get = |path: &[&str]| json_number(&text, path).unwrap_or(f64::NAN);
        let achieved = get(&["summary", "rate", "achievedRps"]);
        let dropped = get(&["summary", "rate", "dropped"]);
        let p99 = get(&["summary", "latencyMs", "p99"]);
        eprintln!(
            "  {rate}/s requested: {achieved:.1}/s achieved, p99 {p99} ms, {dropped} dropped"
        );
        rate_rows.push((rate, achieved, p99, dropped));
    }

    let mut soak = None;
    if o.soak > 0 {
        header(&format!(
            "memory: a {}-second closed run at full speed (64 connections)",
            o.soak
        ));
        let time_file = dir.join("time.txt");
        let mut cmd = Command::new(GNU_TIME);
        cmd.args(["-f", "%M", "-o"])
            .arg(&time_file)
            .arg(&sre)
            .args([
                "chaos-load",
                "run",
                "--url",
                &url,
                "-c",
                "64",
                "--threads",
                "1",
            ])
            .args(["-d", &format!("{}s", o.soak), "-q", "-o", "json"])
            .env("SRE_CONFIG", "/dev/null");
        eprintln!("$ {}", show(&cmd));
        let text = output_of(&mut cmd)?;
        let kb: f64 = fs::read_to_string(&time_file)?
            .trim()
            .parse()
            .context("unexpected GNU time output")?;
        let requests = json_number(&text, &["summary", "requests"]).unwrap_or(f64::NAN);
        soak = Some((kb / 1024.0, requests));
    }

    header("machine");
    let cpu = crate::util::cpu_model();
    println!(
        "cpus      {} ({cpu})",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("nginx     {}", crate::util::first_output_line(&nginx, "-v"));
    println!(
        "wrk       {}",
        crate::util::first_output_line(&wrk, "--version")
    );
    if let Some(h) = &hey {
        println!("hey       {}", h.display());
    }
    println!(
        "oha       {}",
        oha.as_ref().map_or("not installed".to_string(), |p| {
            crate::util::first_output_line(p, "--version")
        })
    );
    println!(
        "sre       {}",
        crate::util::first_output_line(&sre, "--version")
    );
    header("results (median requests/s)");
    for (label, row) in &rows {
        let wrk_rps = row
            .iter()
            .find(|(n, _, _)| n == "wrk")
            .map_or(f64::NAN, |r| r.1);
        println!("{label}");
        for (name, rps, busy) in row {
            println!(
                "  {name:<16} {rps:>10.0}/s  {:.2}x wrk  (nginx busy {} of a core)",
                rps / wrk_rps,
                percent(*busy)
            );
        }
    }
    println!("open model (64 connections, 1 thread, {}s)", o.duration);
    for (rate, achieved, p99, dropped) in &rate_rows {
        println!(
            "  requested {rate:>6}/s  achieved {achieved:>9.1}/s ({:.2}%)  p99 {p99} ms  dropped {dropped}",
            100.0 * achieved / *rate as f64
        );
    }
    if let Some((mb, requests)) = soak {
        println!(
            "memory    peak RSS {mb:.1} MB over a {}-second run of {requests} requests",
            o.soak
        );
    }
    eprintln!("bench-load finished in {}", human(started.elapsed()));
    Ok(())
}

/// A tool's median requests/s, and how busy nginx's worker was meanwhile (0 to 1).
type ToolResult = (String, f64, f64);

/// Starts nginx for the benchmarks (`worker_processes 1`, `access_log off`, `return 200`)
/// in `dir`; returns it (stopped on drop) and its URL.
pub fn start_nginx(
    nginx: &std::path::Path,
    dir: &std::path::Path,
) -> Result<(crate::util::KillOnDrop, String)> {
    start_nginx_with(nginx, dir, "", "return 200 \"ok\\n\";")
}

/// Like [`start_nginx`], with `upstreams` added to the `http` block and `location` as
/// what `location /` does (nginx as a reverse proxy, for `bench-proxy`).
pub fn start_nginx_with(
    nginx: &std::path::Path,
    dir: &std::path::Path,
    upstreams: &str,
    location: &str,
) -> Result<(crate::util::KillOnDrop, String)> {
    fs::create_dir_all(dir)?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let conf = format!(
        "worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 8192; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  server {{\n    listen 127.0.0.1:{port} backlog=4096;\n    location / {{ {location} }}\n  }}\n  {upstreams}\n}}\n",
        d = dir.display()
    );
    fs::write(dir.join("nginx.conf"), conf)?;
    header(&format!(
        "starting nginx (1 worker, access_log off, {location})"
    ));
    let mut cmd = Command::new(nginx);
    cmd.arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    eprintln!("$ {}", show(&cmd));
    let server = crate::util::KillOnDrop(cmd.spawn().context("cannot start nginx")?);
    let url = format!("http://127.0.0.1:{port}/");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!(
                "nginx did not listen within 10 s: see {}/error.log",
                dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    Ok((server, url))
}

/// The processes whose parent is `pid` (nginx's workers).
pub(crate) fn children_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| stat_field(*p, 4) == Some(f64::from(pid)))
        .collect()
}

/// User plus system CPU time of `pid`, in clock ticks.
pub(crate) fn cpu_ticks(pid: u32) -> f64 {
    stat_field(pid, 14).unwrap_or(0.0) + stat_field(pid, 15).unwrap_or(0.0)
}

/// Field `n` (1-based, as in proc(5)) of /proc/PID/stat.
fn stat_field(pid: u32, n: usize) -> Option<f64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let after = text.rsplit_once(')')?.1;
    after.split_whitespace().nth(n - 3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_from_tool_outputs() {
        assert_eq!(
            number_after("  Requests/sec: 218505.49\nTransfer", "Requests/sec"),
            Some(218505.49)
        );
        assert_eq!(
            number_after("  Requests/sec:\t1234.5", "Requests/sec"),
            Some(1234.5)
        );
        let j = r#"{"summary": {"perSecond": [{"requests": 5}], "rate": {"achievedRps": 999.9}, "requests": 1003, "rps": 1500.5}}"#;
        assert_eq!(json_number(j, &["summary", "rps"]), Some(1500.5));
        assert_eq!(json_number(j, &["summary", "requests"]), Some(1003.0));
        assert_eq!(
            json_number(j, &["summary", "rate", "achievedRps"]),
            Some(999.9)
        );
        assert_eq!(json_number(j, &["summary", "missing"]), None);
    }
}
