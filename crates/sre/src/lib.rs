//! The `sre` command line: one binary for every sre-toolkit tool.
//!
//! Multi-call: invoked as `k8s-doctor` (a symlink or copy named so) it behaves as
//! `sre k8s-doctor`; invoked as `kubectl-doctor` it is the kubectl plugin `kubectl doctor`;
//! invoked as `alert-analyzer` it is `sre alert-analyzer`, as `chaos-load` `sre chaos-load`.
//! [`main_with_args`] parses, resolves configuration, sets up logging, runs the command and
//! maps the outcome to the exit code (0 clean, 1 findings at or above `--fail-on`, 2 error).

mod demo;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use sre_cli::args::GlobalArgs;
use sre_cli::config::Config;
use sre_cli::output::Out;
use sre_cli::ExitStatus;
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

const ABOUT: &str = "Practical tools for site reliability engineers, behind one binary.";

const AFTER_HELP: &str = "\
Exit codes: 0 clean, 1 findings at or above --fail-on (default critical), 2 error.
Configuration: flags > SRE_* environment > config file (--config, ./sre.yaml, ~/.config/sre/config.yaml) > defaults.
Try `sre demo` to run every tool on the bundled examples.";

/// The `sre` command line.
#[derive(Debug, Parser)]
#[command(name = "sre", version, about = ABOUT, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Commands,
}

#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Kubernetes health check, diagnostics and audit (live cluster or snapshot), snapshot
    /// capture and exporter
    #[command(name = "k8s-doctor")]
    K8sDoctor(Box<k8s_doctor::Args>),
    /// Alert noise, flapping, correlation and timing patterns from Prometheus or
    /// VictoriaMetrics history, with recommendations
    #[command(name = "alert-analyzer")]
    AlertAnalyzer(Box<alert_analyzer::cli::Args>),
    /// HTTP load generation with honest latency (coordinated-omission correction), CI
    /// thresholds and reports
    #[command(name = "chaos-load")]
    ChaosLoad(Box<chaos_load::cli::Args>),
    /// Run every tool on the bundled examples and write HTML and JSON reports
    Demo(demo::DemoArgs),
    /// Show the resolved configuration and where each value comes from
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print a shell completion script
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) generated from the command-line definitions
    Man,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every setting with its value and source (flag, env, file, default)
    Show,
}

/// `k8s-doctor` / `kubectl-doctor` invoked directly.
#[derive(Debug, Parser)]
#[command(name = "k8s-doctor", version, about = "Kubernetes cluster health check and problem diagnostics", after_help = AFTER_HELP)]
struct K8sDoctorCli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(flatten)]
    args: k8s_doctor::Args,
}

/// `alert-analyzer` invoked directly.
#[derive(Debug, Parser)]
#[command(name = "alert-analyzer", version, about = "Alert noise, flapping, correlation and timing patterns, with recommendations", after_help = AFTER_HELP)]
struct AlertAnalyzerCli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(flatten)]
    args: alert_analyzer::cli::Args,
}

/// `chaos-load` invoked directly.
#[derive(Debug, Parser)]
#[command(name = "chaos-load", version, about = "HTTP load generation with honest latency, CI thresholds and reports", after_help = AFTER_HELP)]
struct ChaosLoadCli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(flatten)]
    args: chaos_load::cli::Args,
}

/// Which program name we were invoked as.
fn personality(argv0: Option<&OsString>) -> &'static str {
    let stem = argv0
        .map(Path::new)
        .and_then(Path::file_stem)
        .and_then(|s| s.to_str())
        .unwrap_or("sre");
    match stem {
        "k8s-doctor" => "k8s-doctor",
        "kubectl-doctor" => "kubectl-doctor",
        "alert-analyzer" => "alert-analyzer",
        "chaos-load" => "chaos-load",
        _ => "sre",
    }
}

/// Runs the CLI with `args` (including the program name) on the process's stdout and
/// stderr, and returns the exit code.
pub fn main_with_args(args: Vec<OsString>) -> i32 {
    let mut lock = std::io::stdout().lock();
    let mut out = Out::stdout(&mut lock);
    run_io(args, &mut out, &mut std::io::stderr(), true)
}

/// Runs the CLI with `args`, writing results to `out` and error messages to `err`, and
/// returns the exit code. Tests call it in-process with buffers (`real_terminal: false`);
/// then clap's help and usage errors are rendered into the buffers too.
pub fn run_io(
    args: Vec<OsString>,
    out: &mut Out<'_>,
    err: &mut dyn Write,
    real_terminal: bool,
) -> i32 {
    let clap_exit = |e: clap::Error, out: &mut Out<'_>, err: &mut dyn Write| {
        if real_terminal {
            // Help and version go to stdout with code 0; usage errors to stderr, code 2.
            let _ = e.print();
        } else {
            let text = e.render().to_string();
            let _ = if e.use_stderr() {
                err.write_all(text.as_bytes())
            } else {
                out.writer.write_all(text.as_bytes())
            };
        }
        e.exit_code()
    };
    match personality(args.first()) {
        "sre" => match Cli::try_parse_from(&args) {
            Ok(cli) => finish(dispatch(&cli.global, &cli.command, out), err),
            Err(e) => clap_exit(e, out, err),
        },
        "chaos-load" => match ChaosLoadCli::try_parse_from(&args) {
            Ok(cli) => finish(
                with_runtime(&cli.global, |config| {
                    chaos_load::cli::run(&cli.args, &cli.global, config, out)
                }),
                err,
            ),
            Err(e) => clap_exit(e, out, err),
        },
        "alert-analyzer" => match AlertAnalyzerCli::try_parse_from(&args) {
            Ok(cli) => finish(
                with_runtime(&cli.global, |config| {
                    alert_analyzer::cli::run(&cli.args, &cli.global, config, out)
                }),
                err,
            ),
            Err(e) => clap_exit(e, out, err),
        },
        name => {
            let display = if name == "kubectl-doctor" {
                "kubectl doctor"
            } else {
                "k8s-doctor"
            };
            let cmd = K8sDoctorCli::command().name(display).bin_name(display);
            let parsed = cmd
                .try_get_matches_from(&args)
                .and_then(|m| K8sDoctorCli::from_arg_matches(&m));
            match parsed {
                Ok(cli) => finish(
                    with_runtime(&cli.global, |config| {
                        k8s_doctor::run(&cli.args, &cli.global, config, out)
                    }),
                    err,
                ),
                Err(e) => clap_exit(e, out, err),
            }
        }
    }
}

fn finish(result: anyhow::Result<ExitStatus>, err: &mut dyn Write) -> i32 {
    match result {
        Ok(status) => status.code(),
        Err(e) => {
            let _ = writeln!(err, "error: {e:#}");
            ExitStatus::Error.code()
        }
    }
}

/// Loads the config, starts logging, and runs `f`.
fn with_runtime(
    global: &GlobalArgs,
    f: impl FnOnce(&Config) -> anyhow::Result<ExitStatus>,
) -> anyhow::Result<ExitStatus> {
    let config = Config::load(global)?;
    let logging = config.logging(global)?;
    let color = sre_cli::output::use_color(
        global
            .color
            .as_deref()
            .and_then(|c| c.parse().ok())
            .unwrap_or(sre_cli::args::ColorWhen::Auto),
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
    );
    sre_cli::logging::init(&logging, color)?;
    if let Some(p) = &config.path {
        tracing::debug!(path = %p.display(), "Using config file");
    }
    f(&config)
}

fn dispatch(
    global: &GlobalArgs,
    command: &Commands,
    out: &mut Out<'_>,
) -> anyhow::Result<ExitStatus> {
    match command {
        Commands::Completions { shell } => {
            let mut cmd = Cli::command();
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "sre", &mut buf);
            out.write(&buf)?;
            Ok(ExitStatus::Clean)
        }
        Commands::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
            out.write(&buf)?;
            Ok(ExitStatus::Clean)
        }
        Commands::K8sDoctor(args) => {
            with_runtime(global, |c| k8s_doctor::run(args, global, c, out))
        }
        Commands::AlertAnalyzer(args) => {
            with_runtime(global, |c| alert_analyzer::cli::run(args, global, c, out))
        }
        Commands::ChaosLoad(args) => {
            with_runtime(global, |c| chaos_load::cli::run(args, global, c, out))
        }
        Commands::Demo(args) => with_runtime(global, |c| demo::run(args, global, c, out)),
        Commands::Config {
            command: ConfigCommand::Show,
        } => with_runtime(global, |config| {
            let mut text = String::new();
            match &config.path {
                Some(p) => text.push_str(&format!("# config file: {}\n", p.display())),
                None => text.push_str(
                    "# config file: none (looked for ./sre.yaml and the user config dir)\n",
                ),
            }
            for (key, value, source) in config.show(global)? {
                text.push_str(&format!("{key} = {value}  # {source}\n"));
            }
            out.write(text.as_bytes())?;
            Ok(ExitStatus::Clean)
        }),
    }
}
