//! The progress bar of long sweeps, on stderr, only when stderr is a
//! terminal and `--quiet` was not given: folders done, messages, bytes,
//! rate and ETA. Nothing of it reaches stdout, JSON or a pipe.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// A progress bar, or nothing.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar over `folders` folders when stderr is a terminal and not `quiet`.
    pub fn new(folders: u64, quiet: bool) -> Progress {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::with_draw_target(Some(folders), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} [{bar:30}] {pos}/{len} folders  {msg}  {elapsed} (ETA {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        Progress(Some(bar))
    }

    /// One folder more is done; `status` is the running tally.
    pub fn folder_done(&self, status: String) {
        if let Some(b) = &self.0 {
            b.inc(1);
            b.set_message(status);
        }
    }

    /// Updates the tally without finishing a folder.
    pub fn status(&self, status: String) {
        if let Some(b) = &self.0 {
            b.set_message(status);
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}
