//! Figures the service keeps about itself, read by `leadline bench calls`: calls up now and at
//! most, and for each answered call how long after its 200 OK the first packet of its first
//! prompt left the RTP socket (measured inside the service, where both instants happen).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// At most this many answer-to-prompt samples are kept between two `take_prompt_delays`, so a
/// long-running server that nobody reads holds at most ~800 KB of them.
const MAX_SAMPLES: usize = 100_000;

#[derive(Debug, Default)]
pub struct ServiceStats {
    active: AtomicUsize,
    peak: AtomicUsize,
    answered: AtomicU64,
    prompt_delays_us: Mutex<Vec<u64>>,
}

impl ServiceStats {
    /// Calls being answered or under way now.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    /// The most calls up at once since the service started or `reset_peak`.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Starts counting the peak afresh from the calls up now.
    pub fn reset_peak(&self) {
        self.peak.store(self.active(), Ordering::Relaxed);
    }

    /// Calls answered (200 OK sent) since the service started.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    /// From the 200 OK to the first prompt packet sent, per call, since the last take (calls
    /// whose flow plays nothing have none), in microseconds, in the order the prompts started.
    pub fn take_prompt_delays(&self) -> Vec<Duration> {
        let taken = std::mem::take(&mut *self.lock());
        taken.into_iter().map(Duration::from_micros).collect()
    }

    pub(super) fn call_started(&self) {
        let now = self.active.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }

    pub(super) fn call_ended(&self) {
        self.active.fetch_sub(1, Ordering::Relaxed);
    }

    pub(super) fn answered_call(&self) {
        self.answered.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn prompt_started(&self, after_answer: Duration) {
        let mut delays = self.lock();
        if delays.len() < MAX_SAMPLES {
            delays.push(u64::try_from(after_answer.as_micros()).unwrap_or(u64::MAX));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u64>> {
        self.prompt_delays_us
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_is_the_most_calls_up_at_once() {
        let stats = ServiceStats::default();
        stats.call_started();
        stats.call_started();
        stats.call_ended();
        stats.call_started();
        assert_eq!((stats.active(), stats.peak()), (2, 2));
        stats.call_ended();
        stats.reset_peak();
        assert_eq!(stats.peak(), 1);
    }

    #[test]
    fn prompt_delays_are_taken_once() {
        let stats = ServiceStats::default();
        stats.prompt_started(Duration::from_micros(1500));
        assert_eq!(
            stats.take_prompt_delays(),
            vec![Duration::from_micros(1500)]
        );
        assert!(stats.take_prompt_delays().is_empty());
    }
}
