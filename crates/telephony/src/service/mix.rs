//! A bridged call recorded to one WAV file (8 kHz 16-bit mono, both directions mixed): each
//! side's packets land where their RTP timestamps put them, counted from when that side's first
//! packet arrived, and are summed; what lies a second behind is written out. The file is as long
//! as the recording lasted, silence where nobody sent anything.

use crate::wav::{self, WavWriter};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use tokio::time::Instant;

/// Samples held back before writing, so that a late packet still lands in place.
const HOLD: usize = wav::SAMPLE_RATE as usize;
/// A side whose timestamps run more than this ahead of, or behind, the clock is re-anchored
/// (its sender restarted its timestamps, or packets were held up).
const DRIFT: u64 = 2 * wav::SAMPLE_RATE as u64;

#[derive(Clone, Copy)]
struct Anchor {
    first_timestamp: u32,
    first_sample: u64,
}

pub(super) struct Mixer {
    started: Instant,
    writer: WavWriter<BufWriter<File>>,
    path: PathBuf,
    /// Samples already written.
    written: u64,
    /// The mix from `written` on, not yet written.
    pending: VecDeque<i32>,
    anchors: [Option<Anchor>; 2],
}

impl Mixer {
    /// Starts the recording now, into `path`.
    pub fn create(path: &Path) -> io::Result<Self> {
        let writer = WavWriter::new(BufWriter::new(File::create(path)?))?;
        Ok(Self {
            started: Instant::now(),
            writer,
            path: path.to_owned(),
            written: 0,
            pending: VecDeque::new(),
            anchors: [None, None],
        })
    }

    fn now_sample(&self, at: Instant) -> u64 {
        let elapsed = at.saturating_duration_since(self.started);
        u64::try_from(elapsed.as_micros() * u128::from(wav::SAMPLE_RATE) / 1_000_000)
            .unwrap_or(u64::MAX)
    }

    /// Adds one packet's samples from `side` (0 or 1) with its RTP timestamp, arrived `at`.
    pub fn push(&mut self, side: usize, timestamp: u32, samples: &[i16], at: Instant) {
        let now = self.now_sample(at);
        let anchor = self.anchors[side].get_or_insert(Anchor {
            first_timestamp: timestamp,
            first_sample: now,
        });
        let mut position =
            anchor.first_sample + u64::from(timestamp.wrapping_sub(anchor.first_timestamp));
        if position > now + DRIFT || position + DRIFT < now {
            *anchor = Anchor {
                first_timestamp: timestamp,
                first_sample: now,
            };
            position = now;
        }
        for (i, sample) in samples.iter().enumerate() {
            let at = position + i as u64;
            if at < self.written {
                continue;
            }
            let index = usize::try_from(at - self.written).unwrap_or(usize::MAX);
            if index >= self.pending.len() {
                self.pending.resize(index + 1, 0);
            }
            self.pending[index] += i32::from(*sample);
        }
        if self.pending.len() > 2 * HOLD
            && let Err(error) = self.write(self.pending.len() - HOLD)
        {
            tracing::error!(path = %self.path.display(), %error, "recording write failed");
        }
    }

    fn write(&mut self, count: usize) -> io::Result<()> {
        let count = count.min(self.pending.len());
        let samples: Vec<i16> = self
            .pending
            .drain(..count)
            .map(|sum| sum.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16)
            .collect();
        self.written += count as u64;
        self.writer.write_samples(&samples)
    }

    /// Ends the recording at `at`: everything up to then is written (silence where nothing
    /// came), nothing after. Returns the file and its length in milliseconds.
    pub fn finish(mut self, at: Instant) -> io::Result<(PathBuf, u64)> {
        let end = self.now_sample(at);
        let missing = end.saturating_sub(self.written);
        let count = usize::try_from(missing).unwrap_or(usize::MAX);
        if self.pending.len() < count {
            self.pending.resize(count, 0);
        }
        self.write(count)?;
        let samples = self.writer.samples();
        self.writer.finish()?;
        Ok((
            self.path,
            u64::from(samples) * 1000 / u64::from(wav::SAMPLE_RATE),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn both_sides_are_summed_in_place_and_the_file_lasts_as_long_as_the_call() {
        let dir = std::env::temp_dir().join(format!("leadline-mix-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut mixer = Mixer::create(&dir.join("mix.wav")).unwrap();
        let start = mixer.started;
        // Side 0 from the start, side 1 from 100 ms, 20 ms packets; side 1's second packet comes
        // late but lands where its timestamp says.
        for i in 0..50u32 {
            let at = start + Duration::from_millis(u64::from(i) * 20);
            mixer.push(0, 1000 + i * 160, &[100; 160], at);
        }
        let late = start + Duration::from_millis(180);
        mixer.push(1, 5000, &[1000; 160], start + Duration::from_millis(100));
        mixer.push(1, 5320, &[1000; 160], late);
        let (path, ms) = mixer.finish(start + Duration::from_millis(2500)).unwrap();
        assert_eq!(ms, 2500);
        let samples = wav::read(&std::fs::read(path).unwrap()).unwrap().samples;
        assert_eq!(samples.len(), 20_000);
        assert_eq!(samples[0], 100);
        assert_eq!(samples[800], 1100, "100 ms in: both sides");
        assert_eq!(samples[960], 100, "side 1's missing packet is silence");
        assert_eq!(samples[1120], 1100, "the late packet in its place");
        assert_eq!(samples[9000], 0, "after both stopped");
    }
}
