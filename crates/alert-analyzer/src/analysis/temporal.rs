//! Temporal patterns: when episodes start, and whether an alert follows a schedule.
//!
//! Hours are UTC (0-23); days are Monday (0) to Sunday (6).
//!
//! # Schedule detection
//!
//! An alertname with at least `min_episodes` episodes (default 5) is **schedule-driven**
//! when:
//! - **hours**: at least `min_share` (default 0.8) of its starts fall into a band of at most
//!   `max_band_hours` (default 3) consecutive hours (wrapping past midnight); the narrowest
//!   such band is named, earliest first on ties; or else
//! - **weekends**: at least `min_share` of its starts fall on Saturday or Sunday; or else
//! - **weekdays**: none of its starts falls on a weekend although the window spans at least
//!   two weeks (with a shorter window "never on a weekend" is too likely by chance).

use crate::episodes::Episode;
use serde::Serialize;
use std::collections::BTreeMap;

/// Day names, Monday first.
pub const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Schedule detection settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleOptions {
    pub min_episodes: usize,
    pub min_share: f64,
    pub max_band_hours: usize,
}

impl Default for ScheduleOptions {
    fn default() -> Self {
        ScheduleOptions {
            min_episodes: 5,
            min_share: 0.8,
            max_band_hours: 3,
        }
    }
}

/// A detected schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Schedule {
    /// Starts concentrate in these consecutive UTC hours.
    #[serde(rename_all = "camelCase")]
    Hours { hours: Vec<u8>, share: f64 },
    /// Starts concentrate on Saturday and Sunday.
    Weekends { share: f64 },
    /// No start on a weekend.
    Weekdays { share: f64 },
}

impl Schedule {
    /// A human description, e.g. `02:00-03:00 UTC` or `weekends`.
    pub fn describe(&self) -> String {
        match self {
            Schedule::Hours { hours, .. } => {
                let first = hours.first().copied().unwrap_or(0);
                let last = hours.last().copied().unwrap_or(0);
                format!("{first:02}:00-{:02}:00 UTC", (last + 1) % 24)
            }
            Schedule::Weekends { .. } => "weekends".to_string(),
            Schedule::Weekdays { .. } => "weekdays only".to_string(),
        }
    }

    /// The share of starts inside the schedule.
    pub fn share(&self) -> f64 {
        match self {
            Schedule::Hours { share, .. }
            | Schedule::Weekends { share }
            | Schedule::Weekdays { share } => *share,
        }
    }
}

/// When one alertname's episodes start.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemporalProfile {
    pub alertname: String,
    pub episodes: usize,
    /// Episode starts per UTC hour of day.
    pub hours: [usize; 24],
    /// Episode starts per day of week, Monday first.
    pub weekdays: [usize; 7],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
}

/// UTC hour of day of a Unix time.
pub fn hour_of_day(t: i64) -> usize {
    (t.rem_euclid(86_400) / 3_600) as usize
}

/// Day of week of a Unix time, Monday = 0 (1970-01-01 was a Thursday).
pub fn day_of_week(t: i64) -> usize {
    (t.div_euclid(86_400) + 3).rem_euclid(7) as usize
}

/// Profiles per alertname, sorted by alertname.
pub fn profiles(
    episodes: &[Episode],
    window_len: i64,
    opts: &ScheduleOptions,
) -> Vec<TemporalProfile> {
    let mut by: BTreeMap<&str, TemporalProfile> = BTreeMap::new();
    for e in episodes {
        let p = by.entry(&e.alertname).or_insert_with(|| TemporalProfile {
            alertname: e.alertname.clone(),
            episodes: 0,
            hours: [0; 24],
            weekdays: [0; 7],
            schedule: None,
        });
        p.episodes += 1;
        p.hours[hour_of_day(e.start)] += 1;
        p.weekdays[day_of_week(e.start)] += 1;
    }
    by.into_values()
        .map(|mut p| {
            p.schedule = detect(&p, window_len, opts);
            p
        })
        .collect()
}

fn detect(p: &TemporalProfile, window_len: i64, opts: &ScheduleOptions) -> Option<Schedule> {
    if p.episodes < opts.min_episodes.max(1) {
        return None;
    }
    let n = p.episodes as f64;
    for width in 1..=opts.max_band_hours.clamp(1, 23) {
        let best = (0..24)
            .map(|start| {
                (
                    start,
                    (0..width).map(|i| p.hours[(start + i) % 24]).sum::<usize>(),
                )
            })
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)));
        if let Some((start, count)) = best {
            let share = count as f64 / n;
            if share >= opts.min_share {
                let hours = (0..width).map(|i| ((start + i) % 24) as u8).collect();
                return Some(Schedule::Hours { hours, share });
            }
        }
    }
    let weekend = p.weekdays[5] + p.weekdays[6];
    let share = weekend as f64 / n;
    if share >= opts.min_share {
        return Some(Schedule::Weekends { share });
    }
    if weekend == 0 && window_len >= 14 * 86_400 {
        return Some(Schedule::Weekdays { share: 1.0 });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::episodes::episodes;
    use crate::history::{History, Series};

    const DAY: i64 = 86_400;
    /// Monday 2023-11-13 00:00 UTC.
    const MONDAY: i64 = 1_699_833_600;

    #[test]
    fn calendar() {
        assert_eq!(day_of_week(0), 3);
        assert_eq!(day_of_week(MONDAY), 0);
        assert_eq!(day_of_week(MONDAY + 6 * DAY + 86_399), 6);
        assert_eq!(hour_of_day(MONDAY + 2 * 3600 + 599), 2);
        assert_eq!(hour_of_day(-1), 23);
    }

    #[test]
    fn nightly_job_is_scheduled_at_hour_two() {
        // 10 minutes every night 02:00-02:10 for 14 days, plus one daytime episode.
        let mut s = Series::new("Backup");
        for d in 0..14 {
            let t = MONDAY + d * DAY + 2 * 3600;
            s = s.firing_between(t, t + 600, 60);
        }
        s = s.firing([MONDAY + 3 * DAY + 15 * 3600]);
        let h = History::new(MONDAY, MONDAY + 14 * DAY, 60).with_series(s);
        let p = profiles(
            &episodes(&h, 300),
            h.window.len_seconds(),
            &ScheduleOptions::default(),
        );
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].episodes, 15);
        assert_eq!(p[0].hours[2], 14);
        assert_eq!(p[0].hours[15], 1);
        // Fourteen nights from a Monday: two per weekday, plus the Thursday daytime episode.
        assert_eq!(p[0].weekdays, [2, 2, 2, 3, 2, 2, 2]);
        let Some(Schedule::Hours { hours, share }) = &p[0].schedule else {
            panic!("expected an hour schedule: {:?}", p[0].schedule)
        };
        assert_eq!(hours, &vec![2]);
        assert!((share - 14.0 / 15.0).abs() < 1e-12);
        assert_eq!(
            p[0].schedule.as_ref().map(Schedule::describe).as_deref(),
            Some("02:00-03:00 UTC")
        );
    }

    #[test]
    fn band_wraps_midnight_and_weekends_are_named() {
        // Starts at 23:30, 00:30 and 01:30 on alternate days: a 3-hour band 23-01.
        let starts =
            (0..9).map(|d| MONDAY + d * DAY + [23, 24, 25][(d % 3) as usize] * 3600 + 1800);
        let h = History::new(MONDAY, MONDAY + 14 * DAY, 60)
            .with_series(Series::new("Night").firing(starts))
            .with_series(
                Series::new("Weekend").firing(
                    [5, 6, 12, 13, 5]
                        .iter()
                        .enumerate()
                        .map(|(i, d)| MONDAY + d * DAY + i as i64 * 4 * 3600),
                ),
            );
        let p = profiles(
            &episodes(&h, 300),
            h.window.len_seconds(),
            &ScheduleOptions::default(),
        );
        let night = p
            .iter()
            .find(|p| p.alertname == "Night")
            .and_then(|p| p.schedule.clone());
        assert_eq!(
            night,
            Some(Schedule::Hours {
                hours: vec![23, 0, 1],
                share: 1.0
            })
        );
        let weekend = p
            .iter()
            .find(|p| p.alertname == "Weekend")
            .and_then(|p| p.schedule.clone());
        assert_eq!(weekend, Some(Schedule::Weekends { share: 1.0 }));
    }

    #[test]
    fn spread_out_alert_has_no_schedule() {
        // One start every 5 hours for 14 days: every hour and day, no band.
        let h = History::new(MONDAY, MONDAY + 14 * DAY, 60)
            .with_series(Series::new("Random").firing((0..67).map(|i| MONDAY + i * 5 * 3600)));
        let p = profiles(
            &episodes(&h, 300),
            h.window.len_seconds(),
            &ScheduleOptions::default(),
        );
        assert_eq!(p[0].schedule, None, "{:?}", p[0]);
        assert!(p[0].hours.iter().all(|h| *h > 0));
    }
}
