//! The live view: a terminal dashboard (ratatui) while the run goes on, when standard
//! output is a terminal. It draws on standard error, in the alternate screen, without raw
//! mode (so Ctrl-C still stops the run), and leaves the screen as it was when the run ends;
//! the report is printed after it.
//!
//! It reads the run's live counters ([`crate::metrics::Metrics`]: answers by status,
//! errors by kind, a latency histogram with fixed buckets) four times a second.

use crate::metrics::{Metrics, BUCKETS};
use crate::stats::ErrorKind;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Gauge, Paragraph, Sparkline};
use ratatui::Frame;
use std::collections::VecDeque;
use std::time::Duration;

/// What one frame shows.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub title: String,
    pub elapsed: Duration,
    /// The run's length, if it has one (`-d`, stages); `None` with `-n`.
    pub length: Option<Duration>,
    pub requests: u64,
    pub failures: u64,
    /// Requests per second over the last interval, newest last.
    pub rps: VecDeque<u64>,
    pub statuses: Vec<(u16, u64)>,
    pub errors: Vec<(&'static str, u64)>,
    /// p50, p90, p99 from the live buckets (upper bounds), in ms.
    pub percentiles: Option<[f64; 3]>,
}

impl View {
    /// Reads the counters into the view; `interval_requests`: requests since the last read.
    pub fn update(&mut self, m: &Metrics, elapsed: Duration, interval: Duration) {
        let statuses = m.statuses();
        let errors: Vec<(&'static str, u64)> = ErrorKind::ALL
            .iter()
            .map(|k| (k.as_str(), m.errors_of(*k)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let (total, failures) = m.totals();
        let before = self.requests;
        self.requests = total;
        self.failures = failures;
        let per_sec = (total.saturating_sub(before)) as f64 / interval.as_secs_f64().max(0.001);
        self.rps.push_back(per_sec as u64);
        while self.rps.len() > 240 {
            self.rps.pop_front();
        }
        self.statuses = statuses;
        self.errors = errors;
        self.elapsed = elapsed;
        let counts = m.bucket_counts();
        let n: u64 = counts.iter().sum();
        self.percentiles = (n > 0).then(|| {
            let q = |p: f64| {
                let rank = ((p * n as f64).ceil() as u64).max(1);
                let mut seen = 0;
                for (i, c) in counts.iter().enumerate() {
                    seen += c;
                    if seen >= rank {
                        return BUCKETS.get(i).map_or(f64::INFINITY, |b| b * 1000.0);
                    }
                }
                f64::INFINITY
            };
            [q(0.5), q(0.9), q(0.99)]
        });
    }
}

fn bound(ms: f64) -> String {
    if ms.is_infinite() {
        format!("> {:.0} s", BUCKETS[BUCKETS.len() - 1])
    } else {
        format!("<= {ms} ms")
    }
}

/// Draws one frame.
pub fn draw(frame: &mut Frame<'_>, v: &View) {
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(8),
        Constraint::Min(5),
    ])
    .areas(frame.area());
    let ratio = v.length.map_or(0.0, |l| {
        (v.elapsed.as_secs_f64() / l.as_secs_f64().max(0.001)).min(1.0)
    });
    let label = match v.length {
        Some(l) => format!(
            "{:.1} s of {:.0} s",
            v.elapsed.as_secs_f64(),
            l.as_secs_f64()
        ),
        None => format!("{:.1} s", v.elapsed.as_secs_f64()),
    };
    frame.render_widget(
        Gauge::default()
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(v.title.clone()),
            )
            .gauge_style(Style::default().fg(Color::Blue))
            .ratio(ratio)
            .label(label),
        top,
    );
    let [numbers, codes] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(middle);
    let now = v.rps.back().copied().unwrap_or(0);
    let failure_pct = if v.requests > 0 {
        100.0 * v.failures as f64 / v.requests as f64
    } else {
        0.0
    };
    let mut lines = vec![
        Line::from(format!("requests   {}", v.requests)),
        Line::from(format!("rate now   {now}/s")),
        Line::from(format!("failed     {} ({failure_pct:.2}%)", v.failures)),
    ];
    match v.percentiles {
        Some([p50, p90, p99]) => {
            lines.push(Line::from(format!("p50        {}", bound(p50))));
            lines.push(Line::from(format!("p90        {}", bound(p90))));
            lines.push(Line::from(format!("p99        {}", bound(p99))));
        }
        None => lines.push(Line::from("latency    (no answer yet)")),
    }
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title("Now")),
        numbers,
    );
    let mut code_lines: Vec<Line<'_>> = v
        .statuses
        .iter()
        .map(|(c, n)| Line::from(format!("{c}  {n}")))
        .collect();
    code_lines.extend(
        v.errors
            .iter()
            .map(|(k, n)| Line::from(format!("{k}  {n}"))),
    );
    frame.render_widget(
        Paragraph::new(code_lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title("Statuses and errors"),
        ),
        codes,
    );
    let data: Vec<u64> = v.rps.iter().copied().collect();
    frame.render_widget(
        Sparkline::default()
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title("Requests per second"),
            )
            .data(&data)
            .style(Style::default().fg(Color::Green)),
        bottom,
    );
}

/// Runs the dashboard on standard error until `done`; returns when the screen is restored.
pub fn run(
    metrics: std::sync::Arc<Metrics>,
    title: String,
    length: Option<Duration>,
    done: &std::sync::atomic::AtomicBool,
) -> std::io::Result<()> {
    use ratatui::crossterm::{cursor, execute, terminal};
    // A terminal that reports no size (a pty nobody sized) has nowhere to draw.
    if terminal::size().map_or(true, |(w, h)| w < 20 || h < 10) {
        return Ok(());
    }
    let mut err = std::io::stderr();
    execute!(err, terminal::EnterAlternateScreen, cursor::Hide)?;
    let result = (|| -> std::io::Result<()> {
        let mut term =
            ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(std::io::stderr()))?;
        let start = std::time::Instant::now();
        let interval = Duration::from_millis(250);
        let mut view = View {
            title,
            length,
            ..View::default()
        };
        while !done.load(std::sync::atomic::Ordering::Relaxed) {
            std::thread::sleep(interval);
            view.update(&metrics, start.elapsed(), interval);
            term.draw(|f| draw(f, &view))?;
        }
        Ok(())
    })();
    execute!(err, cursor::Show, terminal::LeaveAlternateScreen)?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;

    #[test]
    fn a_frame_shows_the_numbers() {
        let m = Metrics::new("http://x/", 4);
        for _ in 0..99 {
            m.answer(200, Duration::from_millis(3));
        }
        m.answer(503, Duration::from_millis(80));
        m.error(ErrorKind::Reset);
        let mut v = View {
            title: "GET http://x/".into(),
            length: Some(Duration::from_secs(10)),
            ..View::default()
        };
        v.update(&m, Duration::from_secs(1), Duration::from_secs(1));
        assert_eq!((v.requests, v.failures), (101, 2));
        assert_eq!(v.percentiles, Some([5.0, 5.0, 5.0]));
        let mut term = ratatui::Terminal::new(TestBackend::new(80, 20)).expect("terminal");
        term.draw(|f| draw(f, &v)).expect("draw");
        let text: String = term
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        for want in [
            "requests   101",
            "failed     2 (1.98%)",
            "503  1",
            "reset  1",
            "1.0 s of 10 s",
            "p99        <= 5 ms",
        ] {
            assert!(text.contains(want), "{want} missing from:\n{text}");
        }
    }
}
