//! Progress on stderr for long work: shown only when stderr is a terminal and not in CI.

use std::io::IsTerminal;

/// A progress bar that is invisible in pipes, files and CI.
pub struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    /// A bar of `len` steps labelled `message`.
    pub fn new(len: u64, message: &str) -> Progress {
        let visible = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        if !visible {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new(len);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(message.to_string());
        Progress(Some(bar))
    }

    /// A bar that never shows (for work that reports its progress elsewhere).
    pub fn none() -> Progress {
        Progress(None)
    }

    /// Advances by `n` steps. Cheap to call from several threads.
    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.0 {
            b.inc(n);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}
