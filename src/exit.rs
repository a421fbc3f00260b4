//! The exit status of a run, decided in one place for every subcommand (stable: see the
//! README).

/// Exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// No violation at or above `--fail-on`.
    Clean = 0,
    /// At least one violation at or above `--fail-on`.
    Violations = 1,
    /// Usage error, unreadable input, invalid policy, a policy that could not be evaluated, or
    /// partial evidence not allowed.
    Error = 2,
}

impl Exit {
    /// Evidence that could not be fully read is an error unless the user allowed it; so is a
    /// policy (or check) that could not be evaluated; otherwise violations decide.
    pub fn decide(partial: bool, allow_partial: bool, errors: usize, violations: u64) -> Exit {
        if (partial && !allow_partial) || errors > 0 {
            Exit::Error
        } else if violations > 0 {
            Exit::Violations
        } else {
            Exit::Clean
        }
    }
}

/// The message for partial evidence: what was lost, and what the exit status makes of it.
pub fn partial_note(failed_files: usize, rejected_records: u64, allow_partial: bool) -> String {
    partial_note_with(failed_files, rejected_records, &[], allow_partial)
}

/// [`partial_note`], with why the event history does not cover the request (`shortfalls`).
pub fn partial_note_with(
    failed_files: usize,
    rejected_records: u64,
    shortfalls: &[String],
    allow_partial: bool,
) -> String {
    let lost = (failed_files > 0 || rejected_records > 0 || shortfalls.is_empty())
        .then(|| format!("{failed_files} file(s) failed, {rejected_records} record(s) rejected"));
    let what: Vec<String> = lost.into_iter().chain(shortfalls.iter().cloned()).collect();
    format!(
        "trailaudit: partial evidence: {}{}",
        what.join("; "),
        if allow_partial {
            " (allowed by --allow-partial)"
        } else {
            "; exit 2 (use --allow-partial to accept it)"
        }
    )
}
