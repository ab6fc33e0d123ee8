//! The project's automation, run as `cargo xtask <command>` (see `.cargo/config.toml`).
//!
//! Written in Rust with the standard library and `anyhow` only, so that a laptop and CI run
//! exactly the same steps with nothing else to install. Each command lives in its own module
//! with a `run(args)` entry point; add a command by adding a module, a line to [`COMMANDS`]
//! and an arm to the `match` in [`main`].

use std::process::ExitCode;

use anyhow::bail;

mod bench_alerts;
mod bench_k8s;
mod bench_k8s_live;
mod bench_load;
mod bench_proxy;
mod deps;
mod dist;
mod gen_k8s;
mod test;
mod util;

/// Every command with its description, for `cargo xtask help`.
const COMMANDS: &[(&str, &[&str])] = &[
    (
        "test [--quick] [--no-deps]",
        &[
            "The project's test command, as CI runs it: install test dependencies,",
            "check formatting, run clippy, run all tests, reject unreferenced snapshots.",
            "--quick skips fmt and clippy; --no-deps skips installing dependencies.",
        ],
    ),
    (
        "deps",
        &["Install the programs and Python modules the tests need."],
    ),
    (
        "gen-k8s-snapshot --nodes N --pods M --out DIR [--seed S]",
        &[
            "Write a large synthetic Kubernetes snapshot in the layout of",
            "`kubectl cluster-info dump --all-namespaces --output-directory DIR`,",
            "with a realistic mix of problems; deterministic for a given seed.",
        ],
    ),
    (
        "bench-k8s [--nodes 5000] [--pods 150000] [--runs 3] [--keep]",
        &[
            "Benchmark `sre k8s-doctor healthcheck`, `diagnostics`, `audit` and `check`",
            "on a generated snapshot (wall time, peak RSS), `sre --help` start-up and",
            "the release binary's size against the targets; see docs/benchmarks.md.",
            "Takes about two minutes (the snapshot is ~1 GB; generating it takes ~9 s).",
            "--keep keeps the snapshot in target/bench-k8s/ for the next run.",
        ],
    ),
    (
        "bench-k8s-live [--nodes 5000] [--pods 150000] [--runs 3]",
        &[
            "Benchmark a live `sre k8s-doctor diagnostics` against the Kubernetes API",
            "test server holding the bench-k8s cluster, side by side with",
            "`kubectl get pods -A -o json` on the same server; prints the ratio.",
        ],
    ),
    (
        "bench-alerts [--series 10000] [--days 30] [--runs 3]",
        &[
            "Benchmark `sre alert-analyzer analyze` against a real Prometheus holding",
            "N alert series over D days at 1-minute resolution (backfilled with",
            "promtool), side by side with curl sending the same query_range requests;",
            "prints wall time, peak RSS, the share waiting on Prometheus, the analysis",
            "time and the ratio. The history is kept in target/bench-alerts/.",
        ],
    ),
    (
        "bench-load [--duration 10] [--runs 3] [--soak 600]",
        &[
            "Benchmark `sre chaos-load run` against nginx side by side with wrk, hey and",
            "oha (those installed): 1 thread/64 connections and 2 threads/256; prints",
            "requests/s and the ratio to wrk, the open model's rate accuracy, and peak",
            "memory over a --soak-second run (0 skips it).",
        ],
    ),
    (
        "bench-proxy [--duration 10] [--runs 3] [--proxy-threads 1]",
        &[
            "Measure what `sre chaos-load proxy` costs with no fault: `sre chaos-load",
            "run` against nginx directly and through the proxy in rotation; prints",
            "requests/s lost and the p50/p99 added at 1,000 requests/s.",
        ],
    ),
    (
        "dist [--base-url URL]",
        &[
            "Build the release archive into target/dist/ and render the kubectl",
            "plugin (krew) manifest .krew.yaml for it into target/dist/doctor.yaml.",
        ],
    ),
    ("help", &["Show this list."]),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match command {
        "test" => test::run(rest),
        "deps" => deps::run(rest),
        "gen-k8s-snapshot" => gen_k8s::run(rest),
        "bench-alerts" => bench_alerts::run(rest),
        "bench-k8s" => bench_k8s::run(rest),
        "bench-k8s-live" => bench_k8s_live::run(rest),
        "bench-load" => bench_load::run(rest),
        "bench-proxy" => bench_proxy::run(rest),
        "dist" => dist::run(rest),
        "help" | "-h" | "--help" => {
            print_help();
            Ok(())
        }
        other => unknown(other),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn unknown(command: &str) -> anyhow::Result<()> {
    bail!("unknown command `{command}`: run `cargo xtask help` for the list")
}

fn print_help() {
    println!("Usage: cargo xtask <command>\n\nCommands:");
    for (name, about) in COMMANDS {
        println!("\n  cargo xtask {name}");
        for line in *about {
            println!("      {line}");
        }
    }
}
