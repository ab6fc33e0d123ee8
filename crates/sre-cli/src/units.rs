//! Human units for durations (`30s`, `7d`) and sizes (`512Mi`, `1Gi`).

use std::time::Duration;

/// A value that could not be read as a duration or size.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UnitError {
    #[error("invalid duration `{0}`: use a number with a unit, e.g. 30s, 5m, 2h, 7d, 1h30m")]
    Duration(String),
    #[error("invalid size `{0}`: use a number with an optional unit, e.g. 512Mi, 1Gi, 100M, 4096")]
    Size(String),
}

/// Parses `30s`, `5m`, `2h`, `7d`, `1w`, `1h30m`, `250ms`. A bare number is not accepted
/// (ambiguous), so the error can suggest a unit.
pub fn parse_duration(s: &str) -> Result<Duration, UnitError> {
    let t = s.trim();
    if t.is_empty() || t.chars().all(|c| c.is_ascii_digit()) {
        return Err(UnitError::Duration(s.to_string()));
    }
    humantime::parse_duration(t).map_err(|_| UnitError::Duration(s.to_string()))
}

/// [`parse_duration`] as a clap `value_parser`.
pub fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

/// Parses a byte size: binary suffixes `Ki`, `Mi`, `Gi`, `Ti` (powers of 1024), decimal
/// suffixes `k`/`K`, `M`, `G`, `T` (powers of 1000), optional trailing `B`, or bare bytes.
pub fn parse_size(s: &str) -> Result<u64, UnitError> {
    let err = || UnitError::Size(s.to_string());
    let t = s.trim();
    let t = t.strip_suffix('B').unwrap_or(t);
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| err())?;
    let mult: f64 = match unit {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        _ => return Err(err()),
    };
    let bytes = value * mult;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(err());
    }
    Ok(bytes.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        let e = parse_duration("30").unwrap_err().to_string();
        assert!(e.contains("30s"), "{e}");
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512Mi"), Ok(512 << 20));
        assert_eq!(parse_size("1Gi"), Ok(1 << 30));
        assert_eq!(parse_size("1.5Gi"), Ok(3 << 29));
        assert_eq!(parse_size("100M"), Ok(100_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("").is_err());
    }
}
