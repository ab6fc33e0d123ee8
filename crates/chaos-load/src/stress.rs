//! `sre chaos-load stress`: resource exhaustion on the machine it runs on (CPU, memory,
//! disk), always bounded in time and in size, released on exit, Ctrl-C or SIGTERM.
//!
//! - CPU: N threads busy (or busy for a share of every 100 ms, `--cpu-load`).
//! - Memory: the size allocated and written (so it is resident, not just reserved), in
//!   64 MiB pieces.
//! - Disk: a file of the size written in a directory (`.sre-chaos-stress-PID`), synced,
//!   and removed at the end.
//!
//! Safety caps: memory above `--max-memory` (default 50%) of the machine's, or above what
//! is available now, is refused; a disk fill above `--max-disk` (default 50%) of the
//! filesystem's free space is refused. Nothing starts without an explicit `--cpu`,
//! `--memory` or `--disk`; `--dry-run` prints the plan.

use anyhow::{bail, Context};
use sre_cli::args::{GlobalArgs, ReportArgs};
use sre_cli::config::Config;
use sre_cli::output::Out;
use sre_cli::ExitStatus;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `sre chaos-load stress`.
#[derive(Debug, clap::Args)]
pub struct StressArgs {
    /// Keep N CPU threads busy
    #[arg(long, value_name = "N")]
    pub cpu: Option<usize>,
    /// With --cpu: busy this share of the time (e.g. 50%)
    #[arg(long, value_name = "PERCENT", value_parser = crate::cli::percent, default_value = "100%", requires = "cpu")]
    pub cpu_load: f64,
    /// Allocate and hold this much memory (e.g. 512Mi, 2Gi)
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<String>,
    /// Fill this directory's filesystem with a file of --disk-size
    #[arg(long, value_name = "DIR", requires = "disk_size")]
    pub disk: Option<PathBuf>,
    /// With --disk: the size of the file (e.g. 1Gi)
    #[arg(long, value_name = "SIZE", requires = "disk")]
    pub disk_size: Option<String>,
    /// How long to hold it all (at most 1 hour)
    #[arg(short = 'd', long, value_name = "DURATION", value_parser = sre_cli::units::duration_arg, default_value = "60s")]
    pub duration: Duration,
    /// Refuse --memory above this share of the machine's memory
    #[arg(long, value_name = "PERCENT", value_parser = crate::cli::percent, default_value = "50%")]
    pub max_memory: f64,
    /// Refuse --disk-size above this share of the filesystem's free space
    #[arg(long, value_name = "PERCENT", value_parser = crate::cli::percent, default_value = "50%")]
    pub max_disk: f64,
    /// Print the plan (and check the caps) without using anything
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// A number of bytes for people: `512.0 MiB`.
fn size(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", units[u])
}

/// The memory this process may use, and what is available now, in bytes: /proc/meminfo's
/// `MemTotal` and `MemAvailable`, lowered to the cgroup's limit (`memory.max`, a
/// container's or a pod's) and what is left under it.
fn memory() -> anyhow::Result<(u64, u64)> {
    let (total, available) = meminfo()?;
    let read = |f: &str| {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{f}"))
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
    };
    match (read("memory.max"), read("memory.current")) {
        (Some(limit), current) if limit < total => Ok((
            limit,
            available.min(limit.saturating_sub(current.unwrap_or(0))),
        )),
        _ => Ok((total, available)),
    }
}

/// `MemTotal` and `MemAvailable` from /proc/meminfo, in bytes.
fn meminfo() -> anyhow::Result<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/meminfo").context("cannot read /proc/meminfo")?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(name)?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map(|kb| kb * 1024)
    };
    match (field("MemTotal:"), field("MemAvailable:")) {
        (Some(t), Some(a)) => Ok((t, a)),
        _ => bail!("/proc/meminfo has no MemTotal or MemAvailable"),
    }
}

/// Whether `dir` is on a filesystem in memory (tmpfs, ramfs).
fn in_memory(dir: &Path) -> bool {
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    const RAMFS_MAGIC: i64 = 0x8584_58f6;
    rustix::fs::statfs(dir).is_ok_and(|s| {
        // f_type's integer type differs between platforms.
        #[allow(clippy::unnecessary_cast)]
        let t = s.f_type as i64;
        t == TMPFS_MAGIC || t == RAMFS_MAGIC
    })
}

/// Free space for unprivileged users on `dir`'s filesystem, in bytes.
fn free_space(dir: &Path) -> anyhow::Result<u64> {
    let s = rustix::fs::statvfs(dir)
        .with_context(|| format!("cannot read the free space of {}", dir.display()))?;
    Ok(s.f_bavail.saturating_mul(s.f_frsize))
}

/// What will be held, checked against the caps.
#[derive(Debug)]
struct Plan {
    cpu: usize,
    memory: u64,
    disk: Option<(PathBuf, u64)>,
}

fn plan(a: &StressArgs) -> anyhow::Result<Plan> {
    if a.cpu.is_none() && a.memory.is_none() && a.disk.is_none() {
        bail!("nothing to stress: give --cpu N, --memory SIZE or --disk DIR --disk-size SIZE");
    }
    if a.duration.is_zero() || a.duration > Duration::from_secs(3600) {
        bail!("-d/--duration must be above 0 and at most 1h: stress is always bounded");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu = a.cpu.unwrap_or(0);
    if cpu > 4 * cores {
        bail!("--cpu {cpu} is more than 4 threads per core ({cores} cores): check the number");
    }
    if !(0.0..=1.0).contains(&a.cpu_load)
        || !(0.0..=1.0).contains(&a.max_memory)
        || !(0.0..=1.0).contains(&a.max_disk)
    {
        bail!("--cpu-load, --max-memory and --max-disk are percentages from 0% to 100%");
    }
    let memory_bytes = match &a.memory {
        Some(m) => {
            let bytes = sre_cli::units::parse_size(m).map_err(|_| {
                anyhow::anyhow!("--memory `{m}` is not a size: use e.g. 512Mi or 2Gi")
            })?;
            let (total, available) = memory()?;
            let cap = (total as f64 * a.max_memory) as u64;
            if bytes > cap {
                bail!(
                    "refused: --memory {m} ({}) is more than {:.0}% of this machine's memory ({} of {}); ask for less, or raise --max-memory",
                    size(bytes),
                    a.max_memory * 100.0,
                    size(cap),
                    size(total)
                );
            }
            if bytes > available {
                bail!(
                    "refused: --memory {m} ({}) is more than the memory available now ({}): the kernel would swap or kill processes; ask for less",
                    size(bytes),
                    size(available)
                );
            }
            bytes
        }
        None => 0,
    };
    let disk = match (&a.disk, &a.disk_size) {
        (Some(dir), Some(s)) => {
            if !dir.is_dir() {
                bail!("--disk {}: not a directory", dir.display());
            }
            let bytes = sre_cli::units::parse_size(s).map_err(|_| {
                anyhow::anyhow!("--disk-size `{s}` is not a size: use e.g. 512Mi or 1Gi")
            })?;
            let free = free_space(dir)?;
            let cap = (free as f64 * a.max_disk) as u64;
            if in_memory(dir) {
                // tmpfs (/dev/shm, /run): a fill there is memory, under the memory cap too.
                let (total, available) = memory()?;
                let mem_cap = ((total as f64 * a.max_memory) as u64).min(available);
                if bytes.saturating_add(memory_bytes) > mem_cap {
                    bail!(
                        "refused: {} is in memory (tmpfs): --disk-size {s} with --memory counts against the memory cap ({} of {} now); ask for less, or use a directory on disk",
                        dir.display(),
                        size(mem_cap),
                        size(total)
                    );
                }
            }
            if bytes > cap {
                bail!(
                    "refused: --disk-size {s} ({}) is more than {:.0}% of the free space of {} ({} of {}); ask for less, or raise --max-disk",
                    size(bytes),
                    a.max_disk * 100.0,
                    dir.display(),
                    size(cap),
                    size(free)
                );
            }
            Some((dir.clone(), bytes))
        }
        _ => None,
    };
    Ok(Plan {
        cpu,
        memory: memory_bytes,
        disk,
    })
}

/// The fill file; removed when dropped (the end, an error, a signal).
struct Fill(PathBuf);

impl Drop for Fill {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes `bytes` into a new file in `dir`, 1 MiB at a time, until done, `stop` or `end`.
fn fill(dir: &Path, bytes: u64, stop: &AtomicBool, end: Instant) -> anyhow::Result<(Fill, u64)> {
    let path = dir.join(format!(".sre-chaos-stress-{}", std::process::id()));
    // A new file only: never through a planted symlink, never over an existing file.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("cannot create {} (it must not exist)", path.display()))?;
    let guard = Fill(path.clone());
    let block = vec![0xA5u8; 1 << 20];
    let mut written = 0u64;
    while written < bytes && !stop.load(Ordering::Relaxed) && Instant::now() < end {
        let n = (bytes - written).min(block.len() as u64) as usize;
        file.write_all(&block[..n])
            .with_context(|| format!("cannot write {} (disk full?)", path.display()))?;
        written += n as u64;
    }
    file.sync_all()
        .with_context(|| format!("cannot sync {}", path.display()))?;
    Ok((guard, written))
}

/// Field `n` (1-based, as in proc(5)) of /proc/self/stat.
fn self_stat(n: usize) -> Option<f64> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = text.rsplit_once(')')?.1;
    after.split_whitespace().nth(n - 3)?.parse().ok()
}

/// The peak resident memory (`VmHWM`), in bytes.
fn peak_rss() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("VmHWM:")?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kb| kb * 1024)
}

/// Runs `sre chaos-load stress`.
pub fn run(
    a: &StressArgs,
    global: &GlobalArgs,
    config: &Config,
    out: &mut Out<'_>,
) -> anyhow::Result<ExitStatus> {
    let common = config.common(global, &a.report)?;
    let p = plan(a)?;
    let what = {
        let mut parts = Vec::new();
        if p.cpu > 0 {
            parts.push(format!(
                "{} CPU thread(s) at {:.0}%",
                p.cpu,
                a.cpu_load * 100.0
            ));
        }
        if p.memory > 0 {
            parts.push(format!("{} of memory", size(p.memory)));
        }
        if let Some((dir, bytes)) = &p.disk {
            parts.push(format!("{} of disk in {}", size(*bytes), dir.display()));
        }
        parts.join(", ")
    };
    if a.dry_run {
        let text = format!(
            "dry run: would hold {what} for {}, then release it all\n",
            humantime::format_duration(a.duration)
        );
        out.write(text.as_bytes())?;
        return Ok(ExitStatus::Clean);
    }
    eprintln!(
        "chaos-load stress: holding {what} for {} (Ctrl-C releases it)",
        humantime::format_duration(a.duration)
    );
    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    // Signals are caught from now on, so that a Ctrl-C while filling still removes the
    // file: the handlers are registered before anything is held.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start a runtime to wait for signals")?;
    let (signalled_tx, mut signalled) = tokio::sync::watch::channel(false);
    let (ready_tx, ready) = tokio::sync::oneshot::channel();
    {
        let stop = Arc::clone(&stop);
        rt.spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            // SIGHUP too: a closed terminal or SSH session must not leave the file behind.
            let (Ok(mut term), Ok(mut int), Ok(mut hup), Ok(mut quit)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
                signal(SignalKind::hangup()),
                signal(SignalKind::quit()),
            ) else {
                let _ = ready_tx.send(());
                return;
            };
            let _ = ready_tx.send(());
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
                _ = hup.recv() => {}
                _ = quit.recv() => {}
            }
            stop.store(true, Ordering::Relaxed);
            let _ = signalled_tx.send(true);
        });
    }
    let _ = rt.block_on(ready);
    // CPU: busy threads, each busy `cpu_load` of every 100 ms.
    let mut workers = Vec::new();
    for i in 0..p.cpu {
        let (stop, load) = (Arc::clone(&stop), a.cpu_load);
        workers.push(
            std::thread::Builder::new()
                .name(format!("stress-cpu-{i}"))
                .spawn(move || {
                    let slice = Duration::from_millis(100);
                    let mut x = 0x9E37_79B9_7F4A_7C15u64;
                    while !stop.load(Ordering::Relaxed) {
                        let begin = Instant::now();
                        while begin.elapsed() < slice.mul_f64(load) {
                            for _ in 0..1000 {
                                x ^= x << 13;
                                x ^= x >> 7;
                                x ^= x << 17;
                            }
                            std::hint::black_box(x);
                        }
                        let rest = slice.saturating_sub(begin.elapsed());
                        if !rest.is_zero() {
                            std::thread::sleep(rest);
                        }
                    }
                })?,
        );
    }
    // Memory: written, so it is resident.
    let mut held: Vec<Vec<u8>> = Vec::new();
    let mut left = p.memory;
    while left > 0 {
        let n = left.min(64 << 20) as usize;
        held.push(vec![0x5Au8; n]);
        left -= n as u64;
    }
    std::hint::black_box(&held);
    // Disk.
    let filled = match &p.disk {
        Some((dir, bytes)) => Some(fill(dir, *bytes, &stop, start + a.duration)?),
        None => None,
    };
    // Hold until the end or a signal.
    let end = start + a.duration;
    let interrupted = rt.block_on(async {
        tokio::select! {
            () = tokio::time::sleep_until(end.into()) => false,
            _ = signalled.wait_for(|s| *s) => true,
        }
    }) || stop.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    // utime and stime are in USER_HZ ticks, 100 a second on Linux.
    let cpu_seconds = (self_stat(14).unwrap_or(0.0) + self_stat(15).unwrap_or(0.0)) / 100.0;
    let peak = peak_rss().unwrap_or(0);
    let disk_written = filled.as_ref().map_or(0, |(_, n)| *n);
    drop(held);
    drop(filled);

    let mut report = sre_core::Report::new("chaos-load", "stress", sre_cli::clock::now());
    report.target.insert("cpu".into(), p.cpu.into());
    report.target.insert("cpuLoad".into(), a.cpu_load.into());
    report.target.insert("memoryBytes".into(), p.memory.into());
    if let Some((dir, bytes)) = &p.disk {
        report
            .target
            .insert("disk".into(), dir.display().to_string().into());
        report.target.insert("diskBytes".into(), (*bytes).into());
    }
    report.finish();
    let elapsed = start.elapsed().as_secs_f64();
    let mut v = serde_json::to_value(&report)?;
    if let Some(s) = v["summary"].as_object_mut() {
        s.insert(
            "durationSeconds".into(),
            ((elapsed * 1000.0).round() / 1000.0).into(),
        );
        s.insert("interrupted".into(), interrupted.into());
        s.insert("cpuSeconds".into(), cpu_seconds.into());
        s.insert("peakRssBytes".into(), peak.into());
        s.insert("diskWrittenBytes".into(), disk_written.into());
    }
    let text = match common.output.value {
        sre_render::Format::Json => Some(serde_json::to_string_pretty(&v)? + "\n"),
        sre_render::Format::Table | sre_render::Format::Markdown => Some(format!(
            "chaos-load stress: held {what} for {elapsed:.1} s{}; released\n  cpu time     {cpu_seconds:.1} s\n  peak memory  {}\n  disk written {}\n",
            if interrupted { " (stopped by a signal)" } else { "" },
            size(peak),
            size(disk_written)
        )),
        _ => None,
    };
    crate::cli::finish(&report, text, &common, out)
}
