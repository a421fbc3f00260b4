//! The progress bar on stderr while event history is read: only on a terminal, never with
//! `--quiet`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::events::Progress;

/// Files and bytes done of the total, records, rate and time left.
pub struct Bar {
    bar: ProgressBar,
    files: AtomicU64,
    total_files: AtomicU64,
    records: AtomicU64,
}

impl Bar {
    /// A bar when stderr is a terminal and the user did not ask for quiet.
    pub fn for_terminal(quiet: bool, what: &str) -> Option<Bar> {
        if quiet || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::new(0);
        let template = format!(
            "{{spinner}} {what} [{{bar:30}}] {{bytes}}/{{total_bytes}} {{bytes_per_sec}}, {{eta}} left, {{msg}}"
        );
        bar.set_style(
            ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Some(Bar {
            bar,
            files: AtomicU64::new(0),
            total_files: AtomicU64::new(0),
            records: AtomicU64::new(0),
        })
    }

    pub fn progress(bar: &Option<Bar>) -> Option<&dyn Progress> {
        bar.as_ref().map(|b| b as &dyn Progress)
    }
}

impl Progress for Bar {
    fn start(&self, files: u64, bytes: u64) {
        self.total_files.store(files, Ordering::Relaxed);
        self.bar.set_length(bytes);
    }

    fn file_done(&self, bytes: u64, records: u64) {
        let files = self.files.fetch_add(1, Ordering::Relaxed) + 1;
        let records = self.records.fetch_add(records, Ordering::Relaxed) + records;
        self.bar.set_message(format!(
            "{files}/{} files, {records} records",
            self.total_files.load(Ordering::Relaxed)
        ));
        self.bar.inc(bytes);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
