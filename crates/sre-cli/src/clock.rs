//! The report clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time reports are stamped with: `SOURCE_DATE_EPOCH` (seconds since the epoch, the
/// reproducible-builds convention) when set and valid, else the system clock. Tests and
/// reproducible CI artefacts set it to get byte-identical reports.
pub fn now() -> SystemTime {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|secs| UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap_or_else(SystemTime::now)
}
