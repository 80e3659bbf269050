//! Any PCM rate and channel count to the 8 kHz mono 16-bit a call plays: channels averaged, then
//! a windowed-sinc low-pass (below the lower of the two Nyquist frequencies) evaluated at each
//! output instant, so that what is above 4 kHz does not fold back into the speech band.

use crate::wav::{SAMPLE_RATE, Wav};

/// Zero crossings of the sinc on each side of an output instant: 16 keep the pass band flat to
/// within a fraction of a per cent and cost ~100 multiplications per output sample at 22 kHz.
const ZERO_CROSSINGS: f64 = 16.0;

/// The low-pass edge as a share of the lower Nyquist frequency (3.6 kHz for 8 kHz output): the
/// window's transition band lies between it and the Nyquist frequency.
const CUTOFF: f64 = 0.9;

/// A WAV's audio as 8 kHz mono 16-bit samples.
pub fn to_telephone(wav: &Wav) -> Vec<i16> {
    let mono = mix_down(&wav.samples, wav.channels);
    resample(&mono, wav.sample_rate, SAMPLE_RATE)
}

/// The average of each frame's channels.
pub fn mix_down(samples: &[i16], channels: u16) -> Vec<f64> {
    let channels = usize::from(channels.max(1));
    samples
        .chunks_exact(channels)
        .map(|frame| frame.iter().map(|&s| f64::from(s)).sum::<f64>() / channels as f64)
        .collect()
}

/// `input` at `from` Hz, resampled to `to` Hz (identical rates: only rounded).
pub fn resample(input: &[f64], from: u32, to: u32) -> Vec<i16> {
    if from == to || from == 0 || to == 0 || input.is_empty() {
        return input.iter().map(|&s| clamp(s)).collect();
    }
    let step = f64::from(from) / f64::from(to);
    // The cut-off in cycles per input sample, times two (1.0 = the input's Nyquist frequency).
    let band = CUTOFF * f64::from(from.min(to)) / f64::from(from);
    let half_width = ZERO_CROSSINGS / band;
    let outputs = (input.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let last = input.len() as i64 - 1;
    (0..outputs)
        .map(|n| {
            let at = n as f64 * step;
            let first = ((at - half_width).ceil() as i64).max(0);
            let end = ((at + half_width).floor() as i64).min(last);
            let (mut sum, mut weights) = (0.0, 0.0);
            for k in first..=end {
                let distance = at - k as f64;
                let weight = band * sinc(band * distance) * blackman(distance / half_width);
                sum += weight * input[k as usize];
                weights += weight;
            }
            // Dividing by the weights keeps the gain at exactly 1 for steady levels, also at the
            // edges where the window is cut short.
            clamp(if weights.abs() > f64::EPSILON {
                sum / weights
            } else {
                0.0
            })
        })
        .collect()
}

fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-12 {
        1.0
    } else {
        let px = std::f64::consts::PI * x;
        px.sin() / px
    }
}

/// The Blackman window over -1..=1.
fn blackman(x: f64) -> f64 {
    if x.abs() >= 1.0 {
        return 0.0;
    }
    let phase = std::f64::consts::PI * (x + 1.0);
    0.42 - 0.5 * phase.cos() + 0.08 * (2.0 * phase).cos()
}

fn clamp(sample: f64) -> i16 {
    sample
        .round()
        .clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(frequency: f64, rate: u32, seconds: f64, amplitude: f64) -> Vec<f64> {
        let count = (f64::from(rate) * seconds) as usize;
        (0..count)
            .map(|n| {
                amplitude
                    * (2.0 * std::f64::consts::PI * frequency * n as f64 / f64::from(rate)).sin()
            })
            .collect()
    }

    fn rms(samples: &[i16]) -> f64 {
        let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
        (sum / samples.len() as f64).sqrt()
    }

    /// Rising zero crossings per second.
    fn frequency(samples: &[i16], rate: u32) -> f64 {
        let rising = samples.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
        rising as f64 * f64::from(rate) / samples.len() as f64
    }

    #[test]
    fn a_1khz_tone_at_22050_hz_keeps_its_pitch_loudness_and_length_at_8000_hz() {
        let input = tone(1000.0, 22_050, 2.0, 10_000.0);
        let output = resample(&input, 22_050, 8000);
        // 2 s of input is 2 s of output: 16,000 samples.
        assert_eq!(output.len(), 16_000);
        let middle = &output[800..15_200];
        let pitch = frequency(middle, 8000);
        assert!((pitch - 1000.0).abs() < 2.0, "{pitch} Hz");
        // A sine of peak 10,000 has an RMS of 7,071; nothing lost in the pass band.
        let loudness = rms(middle);
        assert!((loudness / 7071.07 - 1.0).abs() < 0.01, "RMS {loudness}");
        let peak = middle.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((9_900..=10_100).contains(&peak), "peak {peak}");
    }

    #[test]
    fn what_lies_above_4khz_is_filtered_out_not_folded_into_the_speech_band() {
        // Without a low-pass, 5 kHz at 8 kHz sampling would come back as a 3 kHz tone.
        let input = tone(5000.0, 22_050, 1.0, 10_000.0);
        let output = resample(&input, 22_050, 8000);
        let left = rms(&output[400..7600]);
        assert!(left < 70.0, "RMS {left} of 7071 left");
    }

    #[test]
    fn stereo_at_44100_hz_becomes_mono_at_8000_hz() {
        let left = tone(440.0, 44_100, 0.5, 8000.0);
        let interleaved: Vec<i16> = left
            .iter()
            .flat_map(|&s| [s as i16, (s / 2.0) as i16])
            .collect();
        let wav = Wav {
            sample_rate: 44_100,
            channels: 2,
            samples: interleaved,
        };
        let output = to_telephone(&wav);
        assert_eq!(output.len(), 4000);
        let loudness = rms(&output[200..3800]);
        // The average of a tone and its half: three quarters of the loudness.
        assert!(
            (loudness / (8000.0 * 0.75 / 2f64.sqrt()) - 1.0).abs() < 0.01,
            "{loudness}"
        );
        assert!((frequency(&output[200..3800], 8000) - 440.0).abs() < 3.0);
    }

    #[test]
    fn audio_already_at_8000_hz_mono_is_unchanged() {
        let samples: Vec<i16> = (0..800).map(|n| (n * 37 % 2000 - 1000) as i16).collect();
        let wav = Wav {
            sample_rate: 8000,
            channels: 1,
            samples: samples.clone(),
        };
        assert_eq!(to_telephone(&wav), samples);
    }
}
