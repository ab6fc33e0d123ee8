//! `cargo xtask deps`: install the programs and Python modules the tests need (and GNU
//! time, which `cargo xtask bench-k8s` uses).
//!
//! Tests never skip when a program is missing (they fail naming its package), so the test
//! command installs them first. As root (CI, the project's machines) it runs `apt-get` and
//! `pip`; otherwise it prints the command to run and fails.

use std::collections::BTreeSet;
use std::process::Command;

use anyhow::{bail, Result};

use crate::util::{find_program, header, is_root, run_cmd, succeeds};

/// Programs the tests run, with the Debian package that provides each. `None` marks a
/// program that comes with the machine image and cannot be installed from Debian: a
/// missing one is only a warning here (the tests that need it fail and say so).
pub const PROGRAMS: &[(&str, Option<&str>)] = &[
    ("prometheus", Some("prometheus")),
    ("promtool", Some("prometheus")),
    // alert-analyzer reads Prometheus-compatible APIs: VictoriaMetrics is tested too.
    ("victoria-metrics", Some("victoria-metrics")),
    ("prometheus-alertmanager", Some("prometheus-alertmanager")),
    ("kubectl", None),
    ("python3", Some("python3")),
    // Certificates for the SMTP and nginx test servers.
    ("openssl", Some("openssl")),
    // chaos-load's tests load a real nginx.
    ("nginx", Some("nginx-light")),
    // chaos-load's TCP fault proxy is tested in front of a real PostgreSQL.
    ("postgres", Some("postgresql")),
    ("psql", Some("postgresql-client")),
    // GNU time, for peak memory in `cargo xtask bench-k8s`.
    ("time", Some("time")),
    // Headless browser test of the HTML report.
    ("chromium", Some("chromium")),
];

/// Python modules the tests import, with the pip package that provides each, as
/// `("module", "package")`; checked with `python3 -c 'import module'`.
pub const PIP_MODULES: &[(&str, &str)] = &[
    ("jsonschema", "jsonschema"),
    ("yaml", "pyyaml"),
    // A real SMTP server (STARTTLS, AUTH) for alert-analyzer's email.
    ("aiosmtpd", "aiosmtpd"),
];

/// `cargo xtask deps`.
pub fn run(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("`cargo xtask deps` takes no arguments, got `{arg}`");
    }
    ensure()
}

/// Checks every test dependency and installs the missing ones.
pub fn ensure() -> Result<()> {
    header("test dependencies");
    let mut apt = Apt::default();

    let missing = missing_programs();
    if !missing.is_empty() {
        let packages: BTreeSet<&str> = missing.iter().map(|(_, package)| *package).collect();
        apt.install(&packages, &describe_programs(&missing))?;
        let still_missing = missing_programs();
        if !still_missing.is_empty() {
            bail!(
                "installed {} but still cannot find {} on PATH",
                join(&packages),
                describe_programs(&still_missing)
            );
        }
    }

    ensure_pip_modules(&mut apt)?;
    eprintln!("all test dependencies are present");
    Ok(())
}

/// Reports every program and returns the missing ones that a package provides.
fn missing_programs() -> Vec<(&'static str, &'static str)> {
    let mut missing = Vec::new();
    for &(program, package) in PROGRAMS {
        match (find_program(program), package) {
            (Some(path), _) => eprintln!("  found    {program:12} {}", path.display()),
            (None, Some(package)) => {
                eprintln!("  missing  {program:12} (Debian package {package})");
                missing.push((program, package));
            }
            (None, None) => eprintln!(
                "  warning: `{program}` not found; it should come with the machine image, \
                 and the tests that run it will fail"
            ),
        }
    }
    missing
}

fn ensure_pip_modules(apt: &mut Apt) -> Result<()> {
    if PIP_MODULES.is_empty() {
        return Ok(());
    }
    let missing = missing_modules();
    if missing.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = missing.iter().map(|(_, package)| *package).collect();

    // Debian's python3 comes without pip.
    if !succeeds(Command::new("python3").args(["-m", "pip", "--version"])) {
        apt.install(
            &BTreeSet::from(["python3-pip"]),
            "pip, to install Python modules",
        )?;
    }
    let mut pip = Command::new("python3");
    pip.args(["-m", "pip", "install", "--quiet"])
        .args(&packages)
        // Debian's python3 refuses pip installs into the system unless told this
        // (PEP 668); older pips ignore the variable.
        .env("PIP_BREAK_SYSTEM_PACKAGES", "1")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1");
    run_cmd(&mut pip)?;

    let still_missing = missing_modules();
    if !still_missing.is_empty() {
        let modules: Vec<&str> = still_missing.iter().map(|(module, _)| *module).collect();
        bail!(
            "installed pip packages {} but python3 still cannot import {}",
            packages.join(" "),
            modules.join(", ")
        );
    }
    Ok(())
}

fn missing_modules() -> Vec<(&'static str, &'static str)> {
    let mut missing = Vec::new();
    for &(module, package) in PIP_MODULES {
        if succeeds(Command::new("python3").args(["-c", &format!("import {module}")])) {
            eprintln!("  found    python module {module}");
        } else {
            eprintln!("  missing  python module {module} (pip package {package})");
            missing.push((module, package));
        }
    }
    missing
}

/// Runs `apt-get update` at most once, before the first install.
#[derive(Default)]
struct Apt {
    updated: bool,
}

impl Apt {
    fn install(&mut self, packages: &BTreeSet<&str>, needed_for: &str) -> Result<()> {
        let packages = join(packages);
        let install = format!("apt-get install -y --no-install-recommends {packages}");
        if !is_root() {
            bail!(
                "missing test dependencies: {needed_for}\n\
                 install them as root with:\n    \
                 apt-get update && DEBIAN_FRONTEND=noninteractive {install}\n\
                 (as root, `cargo xtask deps` and `cargo xtask test` do this themselves)"
            );
        }
        eprintln!("installing {packages} ({needed_for})");
        if !self.updated {
            run_cmd(apt_get().arg("update").arg("-q"))?;
            self.updated = true;
        }
        run_cmd(
            apt_get()
                .args(["install", "-y", "-q", "--no-install-recommends"])
                .args(packages.split(' ')),
        )
    }
}

fn apt_get() -> Command {
    let mut cmd = Command::new("apt-get");
    cmd.env("DEBIAN_FRONTEND", "noninteractive")
        // Wait for another apt run (unattended upgrades, a second terminal) instead of
        // failing at once on its lock.
        .args(["-o", "DPkg::Lock::Timeout=300"]);
    cmd
}

fn describe_programs(programs: &[(&str, &str)]) -> String {
    programs
        .iter()
        .map(|(program, package)| format!("`{program}` (package {package})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn join(packages: &BTreeSet<&str>) -> String {
    packages.iter().copied().collect::<Vec<_>>().join(" ")
}
