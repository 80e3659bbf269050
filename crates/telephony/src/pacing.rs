//! 20 ms pacing: audio leaves in packets of 160 samples (8 kHz), each due at a fixed offset from the
//! start so that late wake-ups do not accumulate drift, with sequence numbers and timestamps that
//! advance as RFC 3550 wants.

use crate::rtp::RtpPacket;
use std::time::Duration;

/// One packet's worth of audio.
pub const PACKET_DURATION: Duration = Duration::from_millis(20);
/// Samples in 20 ms at 8 kHz, also the RTP timestamp step per packet.
pub const SAMPLES_PER_PACKET: usize = 160;

/// When packet `index` is due, counted from the first packet's send time.
pub fn due_after_start(index: u64) -> Duration {
    PACKET_DURATION * u32::try_from(index).unwrap_or(u32::MAX)
}

/// Audio cut into 20 ms frames, the last one padded with silence.
pub fn frames(samples: &[i16]) -> Vec<[i16; SAMPLES_PER_PACKET]> {
    samples
        .chunks(SAMPLES_PER_PACKET)
        .map(|chunk| {
            let mut frame = [0i16; SAMPLES_PER_PACKET];
            frame[..chunk.len()].copy_from_slice(chunk);
            frame
        })
        .collect()
}

/// A sine tone, e.g. the beep before a voicemail recording.
pub fn tone(frequency_hz: f64, duration: Duration, amplitude: i16) -> Vec<i16> {
    let count = (duration.as_secs_f64() * 8000.0).round() as usize;
    (0..count)
        .map(|n| {
            let phase = 2.0 * std::f64::consts::PI * frequency_hz * n as f64 / 8000.0;
            (phase.sin() * f64::from(amplitude)).round() as i16
        })
        .collect()
}

/// The sending side of one RTP stream: numbers packets and stamps their time.
#[derive(Debug, Clone)]
pub struct RtpSender {
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    talkspurt_start: bool,
}

impl RtpSender {
    /// Starts at the given (random, per RFC 3550) sequence number and timestamp.
    pub fn new(ssrc: u32, first_sequence: u16, first_timestamp: u32) -> Self {
        Self {
            ssrc,
            sequence: first_sequence,
            timestamp: first_timestamp,
            talkspurt_start: true,
        }
    }

    /// The next 20 ms packet of audio; the first of a talkspurt carries the marker bit.
    pub fn audio(&mut self, payload_type: u8, payload: Vec<u8>) -> RtpPacket {
        let packet = RtpPacket {
            marker: std::mem::take(&mut self.talkspurt_start),
            payload_type,
            sequence: self.sequence,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
            payload,
        };
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(SAMPLES_PER_PACKET as u32);
        packet
    }

    /// Time passes without sending (silence suppressed): the timestamp moves on, and the next
    /// packet starts a new talkspurt.
    pub fn skip(&mut self, packets: u32) {
        self.timestamp = self
            .timestamp
            .wrapping_add(packets * SAMPLES_PER_PACKET as u32);
        self.talkspurt_start = true;
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Sequence number the next packet will carry.
    pub fn next_sequence(&self) -> u16 {
        self.sequence
    }

    /// Timestamp the next packet will carry.
    pub fn next_timestamp(&self) -> u32 {
        self.timestamp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_are_due_every_20_ms_from_the_start() {
        assert_eq!(due_after_start(0), Duration::ZERO);
        assert_eq!(due_after_start(1), Duration::from_millis(20));
        assert_eq!(due_after_start(250), Duration::from_secs(5));
    }

    #[test]
    fn audio_is_cut_into_padded_frames() {
        let samples = vec![7i16; 400];
        let frames = frames(&samples);
        assert_eq!(frames.len(), 3);
        assert!(frames[1].iter().all(|&s| s == 7));
        assert_eq!(&frames[2][..80], &[7; 80]);
        assert_eq!(&frames[2][80..], &[0; 80]);
    }

    #[test]
    fn sequence_and_timestamp_advance_and_wrap() {
        let mut sender = RtpSender::new(42, u16::MAX, u32::MAX - 159);
        let first = sender.audio(0, vec![0xFF; 160]);
        let second = sender.audio(0, vec![0xFF; 160]);
        assert!(first.marker && !second.marker);
        assert_eq!((first.sequence, second.sequence), (u16::MAX, 0));
        assert_eq!((first.timestamp, second.timestamp), (u32::MAX - 159, 0));
        sender.skip(2);
        let after_silence = sender.audio(0, vec![0xFF; 160]);
        assert!(after_silence.marker);
        assert_eq!((after_silence.sequence, after_silence.timestamp), (1, 480));
        assert_eq!(after_silence.ssrc, 42);
    }

    #[test]
    fn a_tone_has_its_length_and_loudness() {
        let beep = tone(1000.0, Duration::from_millis(500), 8000);
        assert_eq!(beep.len(), 4000);
        assert_eq!(beep.iter().map(|s| s.unsigned_abs()).max(), Some(8000));
        // 1 kHz at 8 kHz: the wave repeats every 8 samples.
        assert_eq!(beep[3], beep[11]);
    }
}
