//! `cargo xtask bench-proxy`: what `sre chaos-load proxy` costs with no fault in force,
//! measured by `sre chaos-load run` against the same nginx directly and through the proxy,
//! side by side in one run.
//!
//! - Throughput: closed model, 1 generator thread and 64 connections, `--duration`
//!   seconds, direct and through the proxy in rotation, `--runs` times; the medians and
//!   the loss.
//! - Latency: open model at 1,000 requests/s (nothing saturated), direct and through the
//!   proxy; the p50 and p99 each, and what the proxy adds.

use std::io::BufRead as _;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::bench_load::{children_of, cpu_ticks, json_number, output_of, start_nginx};
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
    header(&format!(
        "throughput: 1 thread, 64 connections, {}s, {} runs",
        o.duration, o.runs
    ));
    let (mut rps_direct, mut rps_proxied) = (Vec::new(), Vec::new());
    let proxy_pid = proxy_guard.0.id();
    let ticks = || -> (f64, f64) {
        (
            workers.iter().map(|p| cpu_ticks(*p)).sum::<f64>(),
            cpu_ticks(proxy_pid),
        )
    };
    // (nginx ticks, proxy ticks, requests) of the proxied runs, and nginx's of the direct.
    let (mut direct_cpu, mut proxied_cpu) = ((0.0, 0.0), (0.0, 0.0, 0.0));
    for i in 0..o.runs {
        for (name, url, acc) in [
            ("direct", &direct, &mut rps_direct),
            ("proxied", &proxied, &mut rps_proxied),
        ] {
            let before = ticks();
            let text = load(url, &[])?;
            let after = ticks();
            let rps = json_number(&text, &["summary", "rps"])
                .with_context(|| format!("no rps in {text}"))?;
            let requests = json_number(&text, &["summary", "requests"]).unwrap_or(0.0);
            if name == "direct" {
                direct_cpu.0 += after.0 - before.0;
                direct_cpu.1 += requests;
            } else {
                proxied_cpu.0 += after.0 - before.0;
                proxied_cpu.1 += after.1 - before.1;
                proxied_cpu.2 += requests;
            }
            let failures = json_number(&text, &["summary", "failures"]).unwrap_or(f64::NAN);
            if failures != 0.0 {
                bail!("{name} run {} had {failures} failures: {text}", i + 1);
            }
            eprintln!("  run {}/{}: {name} {rps:.0}/s", i + 1, o.runs);
            acc.push(rps);
        }
    }
    header("latency: open model, 1,000 requests/s");
    let mut latency = Vec::new();
    for (name, url) in [("direct", &direct), ("proxied", &proxied)] {
        let text = load(url, &["--rate", "1000"])?;
        let p50 = json_number(&text, &["summary", "latencyMs", "p50"]).unwrap_or(f64::NAN);
        let p99 = json_number(&text, &["summary", "latencyMs", "p99"]).unwrap_or(f64::NAN);
        eprintln!("  {name}: p50 {p50} ms, p99 {p99} ms");
        latency.push((p50, p99));
    }
    drop(proxy_guard);

    let direct_rps = crate::util::median(&mut rps_direct);
    let proxied_rps = crate::util::median(&mut rps_proxied);
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
    header("results");
    println!(
        "throughput  direct {direct_rps:.0}/s, through the proxy ({} thread(s)) {proxied_rps:.0}/s: {:.1}% lost",
        o.proxy_threads,
        100.0 * (1.0 - proxied_rps / direct_rps)
    );
    // Clock ticks are 1/100 s (USER_HZ).
    let us = |t: f64, n: f64| {
        if n > 0.0 {
            t / 100.0 / n * 1e6
        } else {
            f64::NAN
        }
    };
    println!(
        "cpu         per request: nginx {:.2} us (direct), {:.2} us (proxied); the proxy {:.2} us",
        us(direct_cpu.0, direct_cpu.1),
        us(proxied_cpu.0, proxied_cpu.2),
        us(proxied_cpu.1, proxied_cpu.2)
    );
    let ((d50, d99), (p50, p99)) = (latency[0], latency[1]);
    println!(
        "latency     at 1,000/s: p50 {d50:.3} ms direct, {p50:.3} ms proxied (+{:.0} us); p99 {d99:.3} ms, {p99:.3} ms (+{:.0} us)",
        (p50 - d50) * 1000.0,
        (p99 - d99) * 1000.0
    );
    eprintln!("bench-proxy finished in {}", human(started.elapsed()));
    Ok(())
}
