//! `cargo xtask bench-proxy`: what `sre chaos-load proxy` costs with no fault in force,
//! measured by `sre chaos-load run` against the same nginx directly, through the proxy,
//! and through nginx itself as a reverse proxy (`proxy_pass` with kept-alive upstream
//! connections, one worker: the peer), side by side in one run; with the CPU time each
//! process spends per request, read from /proc.
//!
//! - Throughput: closed model, 1 generator thread and 64 connections, `--duration`
//!   seconds, the three ways in rotation, `--runs` times; the medians and the loss.
//! - Latency: open model at 1,000 requests/s (nothing saturated), each way; the p50 and
//!   p99, and what each proxy adds.

use std::io::BufRead as _;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::bench_load::{
    children_of, cpu_ticks, json_number, output_of, start_nginx, start_nginx_with,
};
use crate::util::{cargo, find_program, header, human, run_cmd, show, target_dir};

struct Options {
    duration: u64,
    runs: usize,
    proxy_threads: usize,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options {
        duration: 10,
        runs: 3,
        proxy_threads: 1,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || -> Result<u64> {
            it.next()
                .with_context(|| format!("{a} needs a value"))?
                .parse()
                .with_context(|| format!("{a} needs a whole number"))
        };
        match a.as_str() {
            "--duration" => o.duration = value()?.max(1),
            "--runs" => o.runs = value()?.max(1) as usize,
            "--proxy-threads" => o.proxy_threads = value()?.max(1) as usize,
            other => bail!(
                "unknown option `{other}` for `cargo xtask bench-proxy` (known: --duration SECONDS, --runs N, --proxy-threads N)"
            ),
        }
    }
    Ok(o)
}

/// `cargo xtask bench-proxy [--duration 10] [--runs 3] [--proxy-threads 1]`.
pub fn run(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    let started = std::time::Instant::now();
    let nginx = find_program("nginx")
        .context("nginx is missing: apt-get install -y nginx-light (or `cargo xtask deps`)")?;
    header("building sre (release)");
    run_cmd(cargo().args(["build", "--release", "-p", "sre", "--bin", "sre"]))?;
    let sre = target_dir().join("release").join("sre");
    let (nginx_guard, direct) = start_nginx(&nginx, &target_dir().join("bench-proxy"))?;
    // CPU time of nginx's worker and of the proxy per request: what each costs, whatever
    // the number of cores.
    let mut workers = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while workers.is_empty() && std::time::Instant::now() < deadline {
        workers = children_of(nginx_guard.0.id());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    header("starting the proxy (no faults)");
    let mut cmd = Command::new(&sre);
    cmd.args([
        "chaos-load",
        "proxy",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
    ])
    .arg(direct.trim_end_matches('/'))
    .args([
        "-d",
        "1h",
        "--threads",
        &o.proxy_threads.to_string(),
        "-o",
        "json",
    ])
    .env("SRE_CONFIG", "/dev/null")
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    eprintln!("$ {}", show(&cmd));
    let mut child = cmd.spawn().context("cannot start the proxy")?;
    let stderr = child.stderr.take().context("the proxy's stderr")?;
    let proxy_guard = crate::util::KillOnDrop(child);
    let mut line = String::new();
    std::io::BufReader::new(stderr).read_line(&mut line)?;
    let proxied = line
        .split("listening on ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .map(|u| format!("{u}/"))
        .with_context(|| format!("the proxy printed no address: {line}"))?;

    let d = format!("{}s", o.duration);
    let load = |url: &str, extra: &[&str]| -> Result<String> {
        let mut c = Command::new(&sre);
        c.args([
            "chaos-load",
            "run",
            "--url",
            url,
            "--threads",
            "1",
            "-c",
            "64",
        ])
        .args(["-d", &d, "-q", "-o", "json"])
        .args(extra)
        .env("SRE_CONFIG", "/dev/null");
        output_of(&mut c)
    };
    // nginx as a reverse proxy in front of the same nginx: the C peer for a proxy's cost.
    let (nginx_proxy_guard, nginx_proxied) = start_nginx_with(
        &nginx,
        &target_dir().join("bench-proxy").join("nginx-proxy"),
        &format!(
            "upstream backend {{ server {}; keepalive 128; }}",
            direct.trim_start_matches("http://").trim_end_matches('/')
        ),
        "proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\";",
    )?;
    let mut nginx_proxy_workers = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while nginx_proxy_workers.is_empty() && std::time::Instant::now() < deadline {
        nginx_proxy_workers = children_of(nginx_proxy_guard.0.id());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let proxy_pid = proxy_guard.0.id();
    // The three ways to nginx, with the processes in the middle (none direct).
    let targets: [(&str, &String, Vec<u32>); 3] = [
        ("direct", &direct, Vec::new()),
        ("sre chaos-load proxy", &proxied, vec![proxy_pid]),
        ("nginx proxy_pass", &nginx_proxied, nginx_proxy_workers),
    ];
    let sum_ticks = |pids: &[u32]| pids.iter().map(|p| cpu_ticks(*p)).sum::<f64>();
    header(&format!(
        "throughput: 1 thread, 64 connections, {}s, {} runs",
        o.duration, o.runs
    ));
    // Per target: requests/s of each run, and (backend ticks, middle ticks, requests).
    let mut rps: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
    let mut cpu = vec![(0.0, 0.0, 0.0); targets.len()];
    for i in 0..o.runs {
        for (k, (name, url, middle)) in targets.iter().enumerate() {
            let before = (sum_ticks(&workers), sum_ticks(middle));
            let text = load(url, &[])?;
            let after = (sum_ticks(&workers), sum_ticks(middle));
            let r = json_number(&text, &["summary", "rps"])
                .with_context(|| format!("no rps in {text}"))?;
            let failures = json_number(&text, &["summary", "failures"]).unwrap_or(f64::NAN);
            if failures != 0.0 {
                bail!("{name} run {} had {failures} failures: {text}", i + 1);
            }
            cpu[k].0 += after.0 - before.0;
            cpu[k].1 += after.1 - before.1;
            cpu[k].2 += json_number(&text, &["summary", "requests"]).unwrap_or(0.0);
            eprintln!("  run {}/{}: {name} {r:.0}/s", i + 1, o.runs);
            rps[k].push(r);
        }
    }
    header("latency: open model, 1,000 requests/s");
    let mut latency = Vec::new();
    for (name, url, _) in &targets {
        let text = load(url, &["--rate", "1000"])?;
        let p50 = json_number(&text, &["summary", "latencyMs", "p50"]).unwrap_or(f64::NAN);
        let p99 = json_number(&text, &["summary", "latencyMs", "p99"]).unwrap_or(f64::NAN);
        eprintln!("  {name}: p50 {p50} ms, p99 {p99} ms");
        latency.push((p50, p99));
    }
    drop(proxy_guard);
    drop(nginx_proxy_guard);

    header("machine");
    println!(
        "cpus      {} ({})",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        crate::util::cpu_model()
    );
    println!("nginx     {}", crate::util::first_output_line(&nginx, "-v"));
    println!(
        "sre       {}",
        crate::util::first_output_line(&sre, "--version")
    );
    header(&format!(
        "results (the proxies with {} thread or worker)",
        o.proxy_threads
    ));
    // Clock ticks are 1/100 s (USER_HZ).
    let us = |t: f64, n: f64| {
        if n > 0.0 {
            t / 100.0 / n * 1e6
        } else {
            f64::NAN
        }
    };
    let direct_rps = crate::util::median(&mut rps[0].clone());
    let (d50, d99) = latency[0];
    for (k, (name, _, _)) in targets.iter().enumerate() {
        let r = crate::util::median(&mut rps[k]);
        let (p50, p99) = latency[k];
        println!(
            "{name:<22} {r:>8.0}/s ({:+.1}%)  p50 {p50:.3} ms ({:+.0} us)  p99 {p99:.3} ms ({:+.0} us)  cpu/request: backend {:.2} us{}",
            100.0 * (r / direct_rps - 1.0),
            (p50 - d50) * 1000.0,
            (p99 - d99) * 1000.0,
            us(cpu[k].0, cpu[k].2),
            if k == 0 {
                String::new()
            } else {
                format!(", proxy {:.2} us", us(cpu[k].1, cpu[k].2))
            }
        );
    }
    eprintln!("bench-proxy finished in {}", human(started.elapsed()));
    Ok(())
}
