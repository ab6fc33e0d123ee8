//! The open model's arrival schedule: when the k-th request is meant to be sent.
//!
//! A schedule is a list of stages, each lasting `duration` seconds while the rate moves
//! linearly from the previous stage's target to its own (`--stages 30s:100,60s:500,30s:0`
//! ramps to 100/s over 30 s, to 500/s over the next minute, then down to 0). A constant
//! `--rate R` over `--duration D` is one stage from R to R.
//!
//! The k-th send (k = 0, 1, ...) is due at the time t where the number of arrivals so far,
//! N(t) = integral of the rate, reaches k. Within a stage the rate is
//! `r(t) = r0 + (r1 - r0) * t / T`, so `N` is a quadratic in t and the time of the k-th send
//! has a closed form: no drift however long the run.

use std::time::Duration;

/// Why a rate or stage list was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error("invalid stage `{stage}`: {why} (e.g. --stages 30s:100,60s:500,30s:0 ramps to 100/s in 30 s, to 500/s in 60 s, to 0 in 30 s)")]
    Stage { stage: String, why: String },
    #[error("invalid rate `{0}`: give requests per second, e.g. 500 or 500/s or 30000/m")]
    Rate(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Stage {
    /// Start offset (seconds) and length.
    start: f64,
    len: f64,
    /// Rates at the start and the end (requests per second).
    r0: f64,
    r1: f64,
    /// Arrivals before this stage.
    before: f64,
}

/// When each request of an open-model run is due.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    stages: Vec<Stage>,
    total: f64,
}

/// Parses a rate: `500`, `500/s`, `30000/m`, `1/h`; fractional rates are allowed.
pub fn parse_rate(s: &str) -> Result<f64, ScheduleError> {
    let t = s.trim();
    let (num, per) = match t.split_once('/') {
        Some((n, unit)) => (
            n,
            match unit.trim() {
                "s" | "sec" | "second" => 1.0,
                "m" | "min" | "minute" => 60.0,
                "h" | "hour" => 3_600.0,
                _ => return Err(ScheduleError::Rate(s.to_string())),
            },
        ),
        None => (t, 1.0),
    };
    match num.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r >= 0.0 => Ok(r / per),
        _ => Err(ScheduleError::Rate(s.to_string())),
    }
}

impl Schedule {
    /// A constant `rate` for `duration`.
    pub fn constant(rate: f64, duration: Duration) -> Schedule {
        Schedule::from_parts(rate, &[(duration.as_secs_f64(), rate)])
    }

    /// Stages from `start_rate`: each `(seconds, target rate)`.
    fn from_parts(start_rate: f64, parts: &[(f64, f64)]) -> Schedule {
        let mut stages = Vec::with_capacity(parts.len());
        let (mut start, mut before, mut r0) = (0.0, 0.0, start_rate);
        for &(len, r1) in parts {
            stages.push(Stage {
                start,
                len,
                r0,
                r1,
                before,
            });
            before += (r0 + r1) / 2.0 * len;
            start += len;
            r0 = r1;
        }
        Schedule {
            stages,
            total: start,
        }
    }

    /// Parses `--stages`: comma-separated `DURATION:RATE`, starting from `start_rate`.
    pub fn parse_stages(s: &str, start_rate: f64) -> Result<Schedule, ScheduleError> {
        let mut parts = Vec::new();
        for stage in s.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            let bad = |why: &str| ScheduleError::Stage {
                stage: stage.to_string(),
                why: why.to_string(),
            };
            let (d, r) = stage
                .split_once(':')
                .ok_or_else(|| bad("expected DURATION:RATE"))?;
            let d = sre_cli::units::parse_duration(d.trim())
                .map_err(|e| bad(&format!("bad duration: {e}")))?;
            if d.is_zero() {
                return Err(bad("a stage must last longer than 0 s"));
            }
            let r = parse_rate(r).map_err(|_| bad("bad rate"))?;
            parts.push((d.as_secs_f64(), r));
        }
        if parts.is_empty() {
            return Err(ScheduleError::Stage {
                stage: s.to_string(),
                why: "no stage given".into(),
            });
        }
        Ok(Schedule::from_parts(start_rate, &parts))
    }

    /// The schedule's length.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.total.max(0.0))
    }

    /// How many sends are due in the whole schedule: the k with k < N(end).
    pub fn total_sends(&self) -> u64 {
        let n = self
            .stages
            .last()
            .map_or(0.0, |s| s.before + (s.r0 + s.r1) / 2.0 * s.len);
        // Rounded first so that 1000.0000000001 arrivals are 1000 sends, not 1001.
        ((n * 1e6).round() / 1e6).ceil() as u64
    }

    /// When the k-th send (from 0) is due, from the start; `None` once the schedule is over.
    pub fn offset(&self, k: u64) -> Option<Duration> {
        // Send k is due when N(t) = k: a constant rate R sends at 0, 1/R, 2/R, ...
        // `total_sends` decides where the schedule ends, so both always agree.
        if k >= self.total_sends() {
            return None;
        }
        let n = k as f64;
        for s in &self.stages {
            let in_stage = (s.r0 + s.r1) / 2.0 * s.len;
            if n < s.before + in_stage {
                let m = n - s.before;
                let t = if (s.r1 - s.r0).abs() < 1e-12 {
                    if s.r0 <= 0.0 {
                        continue;
                    }
                    m / s.r0
                } else {
                    // m = r0 t + a t^2 with a = (r1 - r0) / (2 len), solved in the form
                    // that stays precise when r1 is close to r0: t = 2m / (r0 + sqrt(D)).
                    let a = (s.r1 - s.r0) / (2.0 * s.len);
                    let root = (s.r0 * s.r0 + 4.0 * a * m).max(0.0).sqrt();
                    if s.r0 + root > 0.0 {
                        2.0 * m / (s.r0 + root)
                    } else {
                        0.0
                    }
                };
                let t = t.clamp(0.0, s.len);
                return Some(Duration::from_secs_f64(s.start + t));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &Schedule, k: u64) -> Option<f64> {
        s.offset(k).map(|d| (d.as_secs_f64() * 1e6).round() / 1e6)
    }

    #[test]
    fn constant_rate() {
        let s = Schedule::constant(100.0, Duration::from_secs(10));
        assert_eq!(secs(&s, 0), Some(0.0));
        assert_eq!(secs(&s, 1), Some(0.01));
        assert_eq!(secs(&s, 999), Some(9.99));
        assert_eq!(s.offset(1000), None);
        assert_eq!(s.total_sends(), 1000);
        assert_eq!(s.duration(), Duration::from_secs(10));
    }

    #[test]
    fn ramps_and_zero_stages() {
        // 0 -> 100/s over 10 s: 500 sends; then 100/s for 10 s: 1000 more; then to 0.
        let s = Schedule::parse_stages("10s:100, 10s:100, 10s:0", 0.0).expect("stages");
        assert_eq!(s.total_sends(), 2000);
        // N(t) = 5 t^2 in the ramp: send 500 is at the end of it, send 20 at t = 2.
        assert_eq!(secs(&s, 20), Some(2.0));
        assert_eq!(secs(&s, 500), Some(10.0));
        assert_eq!(secs(&s, 600), Some(11.0));
        // The ramp down: 500 sends, the last ones sparse.
        let last = s.offset(1999).expect("last send");
        assert!(
            last.as_secs_f64() > 29.0 && last.as_secs_f64() < 30.0,
            "{last:?}"
        );
        assert_eq!(s.offset(2000), None);
        // Monotonic everywhere.
        let mut prev = Duration::ZERO;
        for k in 0..2000 {
            let t = s.offset(k).expect("due");
            assert!(t >= prev, "send {k}");
            prev = t;
        }
        // A pause: nothing is sent during a 0/s stage.
        let p = Schedule::parse_stages("1s:10,5s:0,1s:10", 10.0).expect("pause");
        assert!(p.offset(9).is_some_and(|t| t < Duration::from_secs(1)));
        assert!(p.offset(10).is_some_and(|t| t >= Duration::from_secs(1)));
    }

    #[test]
    fn parsing() {
        assert_eq!(parse_rate("500"), Ok(500.0));
        assert_eq!(parse_rate("30000/m"), Ok(500.0));
        assert_eq!(parse_rate("0.5/s"), Ok(0.5));
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("-1").is_err());
        for bad in ["30s", "x:1", "0s:5", "", "10s:fast"] {
            let e = Schedule::parse_stages(bad, 0.0).expect_err(bad).to_string();
            assert!(e.contains("--stages 30s:100"), "{bad}: {e}");
        }
    }
}
