//! Where an import's time goes: busy time per phase, summed over the process's imports, for
//! `leadline import` to print when a benchmark asks (`LEADLINE_PRINT_IMPORT_PHASES`). Phases
//! overlap (the file is read on one thread while batches are written on two connections), so
//! the figures are each phase's own time, not shares of the wall clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading and decoding the file's rows (reader thread).
    Read,
    /// Checking rows against the mapping (phones, fields; reader thread).
    Parse,
    /// Search tokens, normalised company, custom fields as text (reader thread).
    Tokens,
    /// The writer waiting for the reader's next batch.
    WaitReader,
    /// Looking the batch's phones, companies and e-mails up among stored leads.
    Lookup,
    /// The duplicate plan (Rust) and the new ids.
    Plan,
    /// Building the new leads' `COPY` text.
    CopyText,
    /// Sending it: `COPY` of the new leads, their indexes updated.
    CopyLeads,
    /// Sending the new leads' phones, do-not-call marks.
    CopyPhones,
    /// Collisions, first history lines, tags, refused rows.
    Rows,
    /// A batch waiting for the batch before it to commit.
    WaitBefore,
    /// Filling stored leads ("update"), the job's progress.
    Finish,
    /// Commits.
    Commit,
    /// After the batches: statistics and the owners' countdowns.
    After,
}

const PHASES: [(Phase, &str); 14] = [
    (Phase::Read, "read"),
    (Phase::Parse, "parse"),
    (Phase::Tokens, "tokens"),
    (Phase::WaitReader, "wait for reader"),
    (Phase::Lookup, "look-ups"),
    (Phase::Plan, "plan + ids"),
    (Phase::CopyText, "COPY text"),
    (Phase::CopyLeads, "COPY leads"),
    (Phase::CopyPhones, "phones + dnc"),
    (Phase::Rows, "other rows"),
    (Phase::WaitBefore, "wait for batch before"),
    (Phase::Finish, "fills + progress"),
    (Phase::Commit, "commit"),
    (Phase::After, "after (analyze, countdowns)"),
];

static NANOS: [AtomicU64; PHASES.len()] = [const { AtomicU64::new(0) }; PHASES.len()];

fn index(phase: Phase) -> usize {
    PHASES
        .iter()
        .position(|(p, _)| *p == phase)
        .unwrap_or_default()
}

/// Adds `took` to `phase`.
pub fn add(phase: Phase, took: Duration) {
    NANOS[index(phase)].fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
}

/// Runs `f`, adding its time to `phase`.
pub fn time<T>(phase: Phase, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    add(phase, started.elapsed());
    out
}

/// Awaits `f`, adding its time to `phase`.
pub async fn time_async<T>(phase: Phase, f: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let out = f.await;
    add(phase, started.elapsed());
    out
}

/// Each phase's name and time so far, in pipeline order.
pub fn so_far() -> Vec<(&'static str, Duration)> {
    PHASES
        .iter()
        .zip(&NANOS)
        .map(|((_, name), n)| (*name, Duration::from_nanos(n.load(Ordering::Relaxed))))
        .collect()
}
