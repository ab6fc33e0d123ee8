//! The bundled example history (a week of one production-like Prometheus), for `sre demo`
//! and the docs: a nightly job, two alerts that fire together, a flapping disk alert, a
//! heartbeat that always fires, a noisy crash-loop alert, a pending-only rule and a dead
//! rule.

use crate::history::{History, HistoryError};

/// Where the example lives in the repository.
pub const HISTORY_PATH: &str = "examples/alert-analyzer/history.json";

/// The example, embedded so `sre demo` works from any directory.
pub const HISTORY: &str = include_str!("../../../examples/alert-analyzer/history.json");

/// The example, parsed.
pub fn history() -> Result<History, HistoryError> {
    History::from_json(HISTORY)
}
