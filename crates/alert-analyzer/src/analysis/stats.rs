//! Small statistics helpers.

/// The `p`-th percentile (0..=100) of `sorted` (ascending) by the **nearest-rank** method:
/// the value at 1-based rank `ceil(p / 100 * n)`, with rank at least 1. Always one of the
/// input values, never interpolated; `None` for an empty slice.
///
/// Example: for `[10, 20, 30, 40]`, p50 is rank 2 (20) and p90 is rank 4 (40).
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (u64::from(p.min(100)) * n as u64).div_ceil(100).max(1) as usize;
    sorted.get(rank.min(n) - 1).copied()
}

/// Arithmetic mean, `None` for an empty slice.
pub fn mean(values: &[i64]) -> Option<f64> {
    if values.is_empty() {
        None
    } else {
        Some(values.iter().map(|v| *v as f64).sum::<f64>() / values.len() as f64)
    }
}

/// Round durations (seconds) used for suggested `for:` and `keep_firing_for:` values.
pub const ROUND_DURATIONS: [i64; 12] = [
    60, 120, 180, 300, 600, 900, 1_200, 1_800, 3_600, 7_200, 14_400, 28_800,
];

/// The smallest round duration strictly above `above` (whole hours beyond the table).
pub fn round_above(above: i64) -> i64 {
    ROUND_DURATIONS
        .iter()
        .copied()
        .find(|d| *d > above)
        .unwrap_or_else(|| (above / 3_600).saturating_add(1).saturating_mul(3_600))
}

/// Formats seconds as `1h30m`, `5m`, `45s`, `0s`.
pub fn fmt_duration(secs: i64) -> String {
    if secs <= 0 {
        return "0s".to_string();
    }
    let (d, h, m, s) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    for (v, u) in [(d, "d"), (h, "h"), (m, "m"), (s, "s")] {
        if v > 0 {
            out.push_str(&format!("{v}{u}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_by_hand() {
        let v = [10, 20, 30, 40];
        // p50: ceil(0.5*4)=2 -> 20; p90: ceil(3.6)=4 -> 40; p25: ceil(1)=1 -> 10; p0 -> rank 1.
        assert_eq!(
            [0, 25, 50, 90, 100].map(|p| percentile(&v, p)),
            [Some(10), Some(10), Some(20), Some(40), Some(40)]
        );
        let ten: Vec<i64> = (1..=10).map(|i| i * 60).collect();
        // p90 of 10 values: rank 9 -> 540; p50: rank 5 -> 300.
        assert_eq!(
            (percentile(&ten, 50), percentile(&ten, 90)),
            (Some(300), Some(540))
        );
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(mean(&[60, 120, 300]), Some(160.0));
    }

    #[test]
    fn rounding_and_formatting() {
        assert_eq!(round_above(0), 60);
        assert_eq!(round_above(120), 180);
        assert_eq!(round_above(250), 300);
        assert_eq!(round_above(30_000), 32_400);
        assert_eq!(fmt_duration(5_400), "1h30m");
        assert_eq!(fmt_duration(90_061), "1d1h1m1s");
    }
}
