//! Logging: `tracing` to stderr, never stdout (stdout carries results only).

use crate::args::LogFormat;
use crate::config::Logging;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. An explicit `--log-level` wins (flags beat the
/// environment); otherwise `RUST_LOG`, when set, applies with its full directive syntax,
/// then `SRE_LOG_LEVEL`, the config file and the default. Calling it twice is harmless.
pub fn init(logging: &Logging, color: bool) -> anyhow::Result<()> {
    let rust_log = std::env::var("RUST_LOG")
        .ok()
        .filter(|_| logging.level.source != crate::config::Source::Flag);
    let filter = match rust_log {
        Some(spec) if !spec.trim().is_empty() => EnvFilter::try_new(spec.trim())
            .map_err(|e| anyhow::anyhow!("invalid RUST_LOG `{spec}`: {e}"))?,
        _ => EnvFilter::try_new(&logging.level.value.0)
            .map_err(|e| anyhow::anyhow!("invalid log level: {e}"))?,
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    let result = match logging.format.value {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.with_ansi(color).with_target(false).try_init(),
    };
    // A second initialisation (tests calling the CLI in-process) is not an error.
    drop(result);
    Ok(())
}
