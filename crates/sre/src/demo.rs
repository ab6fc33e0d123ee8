//! `sre demo`: every implemented tool on the bundled examples.

use anyhow::Context;
use k8s_doctor::checks::{Command, Thresholds};
use sre_cli::args::GlobalArgs;
use sre_cli::config::{Config, K8sDoctorFlags};
use sre_cli::output::Out;
use sre_cli::ExitStatus;
use sre_core::Report;
use sre_render::{Format, RenderOptions};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where to write the reports
    #[arg(long, value_name = "DIR", default_value = "sre-demo")]
    pub output_dir: PathBuf,
}

/// Runs the demo. Findings never fail it: the examples are broken on purpose.
pub fn run(
    args: &DemoArgs,
    _global: &GlobalArgs,
    config: &Config,
    out: &mut Out<'_>,
) -> anyhow::Result<ExitStatus> {
    std::fs::create_dir_all(&args.output_dir).with_context(|| {
        format!(
            "cannot create the demo output directory {}",
            args.output_dir.display()
        )
    })?;
    let k = config.k8s_doctor(K8sDoctorFlags::default())?;
    let thresholds = Thresholds::from(&k);
    let cluster = k8s_doctor::examples::broken_cluster()
        .context("the bundled k8s-doctor example does not parse")?;
    let now = sre_cli::clock::now();
    let mut reports: Vec<Report> = Vec::new();
    for command in [Command::Healthcheck, Command::Diagnostics, Command::Audit] {
        let mut r = k8s_doctor::report_from_cluster(&cluster, command, &[], thresholds, now);
        r.target.insert(
            "paths".into(),
            serde_json::json!([k8s_doctor::examples::BROKEN_CLUSTER_DIR]),
        );
        reports.push(r);
    }
    let mut summary = String::from("sre demo: reports on the bundled examples\n\n");
    summary.push_str(&format!(
        "{:<15} {:<12} {:>8} {:>8} {:>8}  {}\n",
        "TOOL", "COMMAND", "CRITICAL", "WARNING", "INFO", "REPORTS"
    ));
    // alert-analyzer on the bundled week of alert history; its JSON carries `analysis`.
    let history = alert_analyzer::examples::history()
        .context("the bundled alert-analyzer example does not parse")?;
    let opts = alert_analyzer::Options::default();
    let analyzed = alert_analyzer::report(
        &history,
        alert_analyzer::analyze(&history, &opts),
        &opts,
        now,
    );
    let analysis_json = serde_json::to_string_pretty(&analyzed)? + "\n";
    let analysis_html = alert_analyzer::html::render(&analyzed, &history)?;
    reports.push(analyzed.report);
    // chaos-load: one second of load against a server the demo starts on loopback.
    let load = chaos_load::demo::run().context("the chaos-load demo run failed")?;
    let load_json = load.json()?;
    let load_html = chaos_load::html::render(&load.report, &load.summary);
    let load_md = chaos_load::text::markdown(&load.report, &load.summary, &load.checked);
    sre_cli::output::write_atomic(
        &args.output_dir.join("chaos-load-run.md"),
        load_md.as_bytes(),
    )?;
    reports.push(load.report);
    // chaos-load: a tiny experiment (steady, faults, recovery) through the fault proxy.
    let (exp, exp_result) =
        chaos_load::demo::experiment().context("the chaos-load demo experiment failed")?;
    let exp_json = chaos_load::experiment::json(&exp, &exp_result)?;
    sre_cli::output::write_atomic(
        &args.output_dir.join("chaos-load-experiment.md"),
        chaos_load::experiment::text(&exp, &exp_result, true).as_bytes(),
    )?;
    reports.push(exp.report);
    for r in &reports {
        let mut files = Vec::new();
        for format in [Format::Html, Format::Json] {
            let text = if r.tool == alert_analyzer::findings::TOOL && format == Format::Json {
                analysis_json.clone()
            } else if r.tool == alert_analyzer::findings::TOOL && format == Format::Html {
                analysis_html.clone()
            } else if r.tool == "chaos-load" && r.command == "experiment" && format == Format::Json
            {
                exp_json.clone()
            } else if r.tool == "chaos-load" && r.command == "run" && format == Format::Json {
                load_json.clone()
            } else if r.tool == "chaos-load" && r.command == "run" && format == Format::Html {
                load_html.clone()
            } else {
                sre_render::render(r, format, &RenderOptions::default())?
            };
            let path =
                args.output_dir
                    .join(format!("{}-{}.{}", r.tool, r.command, format.extension()));
            sre_cli::output::write_atomic(&path, text.as_bytes())?;
            files.push(path.display().to_string());
        }
        summary.push_str(&format!(
            "{:<15} {:<12} {:>8} {:>8} {:>8}  {}\n",
            r.tool,
            r.command,
            r.summary.critical,
            r.summary.warning,
            r.summary.info,
            files.join(", ")
        ));
    }
    summary.push_str(&format!(
        "\nOpen {} in a browser. Run a tool yourself: sre k8s-doctor diagnostics --snapshot {}\nor: sre alert-analyzer analyze --history {}\nor: sre chaos-load run --url http://127.0.0.1:8080/ -d 10s (the load summary of the demo: chaos-load-run.md)\n",
        args.output_dir
            .join("k8s-doctor-diagnostics.html")
            .display(),
        k8s_doctor::examples::BROKEN_CLUSTER_DIR,
        alert_analyzer::examples::HISTORY_PATH
    ));
    out.write(summary.as_bytes())?;
    Ok(ExitStatus::Clean)
}
