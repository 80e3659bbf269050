//! WAV files of 16-bit PCM, as prompts and voicemail recordings are stored: a writer that streams
//! samples and fixes the sizes when finished, and a reader for prompts (8 kHz mono expected).

use std::io::{self, Seek, SeekFrom, Write};
use thiserror::Error;

/// The rate every call's audio runs at (G.711).
pub const SAMPLE_RATE: u32 = 8000;

/// Why bytes are not a usable WAV file.
#[derive(Debug, Error)]
pub enum WavError {
    #[error("not a RIFF/WAVE file")]
    NotWave,
    #[error("the WAV file has no {0} chunk")]
    MissingChunk(&'static str),
    #[error("only 16-bit PCM is read; this file has format {format} with {bits} bits")]
    Format { format: u16, bits: u16 },
    #[error("prompts must be 8000 Hz mono; this file is {rate} Hz with {channels} channels")]
    NotTelephoneAudio { rate: u32, channels: u16 },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Audio read from a WAV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wav {
    pub sample_rate: u32,
    pub channels: u16,
    /// Interleaved when there is more than one channel.
    pub samples: Vec<i16>,
}

impl Wav {
    /// Length in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        let frames = self.samples.len() as u64 / u64::from(self.channels.max(1));
        frames * 1000 / u64::from(self.sample_rate.max(1))
    }

    /// Refuses anything but 8 kHz mono, the only audio a call plays.
    pub fn into_telephone_samples(self) -> Result<Vec<i16>, WavError> {
        if self.sample_rate != SAMPLE_RATE || self.channels != 1 {
            return Err(WavError::NotTelephoneAudio {
                rate: self.sample_rate,
                channels: self.channels,
            });
        }
        Ok(self.samples)
    }
}

/// Reads a 16-bit PCM WAV file, skipping chunks other than `fmt ` and `data`.
pub fn read(bytes: &[u8]) -> Result<Wav, WavError> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(WavError::NotWave);
    }
    let mut format = None;
    let mut data = None;
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let declared =
            u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        let start = at + 8;
        // Streaming writers leave 0 or 0xFFFFFFFF in the data size; read to the end then.
        let end = start.saturating_add(declared as usize).min(bytes.len());
        match id {
            b"fmt " if end - start >= 16 => {
                let field = |offset: usize| {
                    u16::from_le_bytes([bytes[start + offset], bytes[start + offset + 1]])
                };
                let rate = u32::from_le_bytes([
                    bytes[start + 4],
                    bytes[start + 5],
                    bytes[start + 6],
                    bytes[start + 7],
                ]);
                format = Some((field(0), field(2), rate, field(14)));
            }
            b"data" => {
                let end = if declared == 0 || declared == u32::MAX {
                    bytes.len()
                } else {
                    end
                };
                data = Some(&bytes[start..end]);
                break;
            }
            _ => {}
        }
        at = end + declared as usize % 2;
    }
    let (format, channels, sample_rate, bits) = format.ok_or(WavError::MissingChunk("fmt "))?;
    let data = data.ok_or(WavError::MissingChunk("data"))?;
    // 0xFFFE is WAVE_FORMAT_EXTENSIBLE, which sox writes for some inputs; its PCM is the same.
    if !(format == 1 || format == 0xFFFE) || bits != 16 {
        return Err(WavError::Format { format, bits });
    }
    let samples = data
        .chunks_exact(2)
        .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    Ok(Wav {
        sample_rate,
        channels,
        samples,
    })
}

/// Streams 8 kHz mono 16-bit samples into a WAV file; `finish` writes the real sizes.
pub struct WavWriter<W: Write + Seek> {
    out: W,
    samples: u32,
}

impl<W: Write + Seek> WavWriter<W> {
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&header(0))?;
        Ok(Self { out, samples: 0 })
    }

    pub fn write_samples(&mut self, samples: &[i16]) -> io::Result<()> {
        let bytes: Vec<u8> = samples
            .iter()
            .flat_map(|sample| sample.to_le_bytes())
            .collect();
        self.out.write_all(&bytes)?;
        self.samples = self.samples.saturating_add(samples.len() as u32);
        Ok(())
    }

    /// Samples written so far.
    pub fn samples(&self) -> u32 {
        self.samples
    }

    /// Fixes the RIFF and data sizes and hands the output back.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.seek(SeekFrom::Start(0))?;
        self.out.write_all(&header(self.samples))?;
        self.out.seek(SeekFrom::End(0))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn header(samples: u32) -> [u8; 44] {
    let data_len = samples.saturating_mul(2);
    let mut header = [0u8; 44];
    header[..4].copy_from_slice(b"RIFF");
    header[4..8].copy_from_slice(&data_len.saturating_add(36).to_le_bytes());
    header[8..16].copy_from_slice(b"WAVEfmt ");
    header[16..20].copy_from_slice(&16u32.to_le_bytes());
    header[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    header[22..24].copy_from_slice(&1u16.to_le_bytes()); // mono
    header[24..28].copy_from_slice(&SAMPLE_RATE.to_le_bytes());
    header[28..32].copy_from_slice(&(SAMPLE_RATE * 2).to_le_bytes()); // bytes per second
    header[32..34].copy_from_slice(&2u16.to_le_bytes()); // block align
    header[34..36].copy_from_slice(&16u16.to_le_bytes()); // bits per sample
    header[36..40].copy_from_slice(b"data");
    header[40..44].copy_from_slice(&data_len.to_le_bytes());
    header
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn written_audio_reads_back_with_its_length() {
        let mut writer = WavWriter::new(Cursor::new(Vec::new())).unwrap();
        let second: Vec<i16> = (0..8000).map(|n| (n % 200 - 100) as i16 * 50).collect();
        writer.write_samples(&second[..3000]).unwrap();
        writer.write_samples(&second[3000..]).unwrap();
        assert_eq!(writer.samples(), 8000);
        let bytes = writer.finish().unwrap().into_inner();
        assert_eq!(bytes.len(), 44 + 16000);
        assert_eq!(&bytes[40..44], &16000u32.to_le_bytes());
        let wav = read(&bytes).unwrap();
        assert_eq!(
            (wav.sample_rate, wav.channels, wav.duration_ms()),
            (8000, 1, 1000)
        );
        assert_eq!(wav.into_telephone_samples().unwrap(), second);
    }

    #[test]
    fn other_chunks_are_skipped_and_other_formats_refused() {
        let mut bytes = header(2).to_vec();
        // Put a LIST chunk (odd length, padded) between fmt and data, as sox and espeak-ng do.
        let list = [b"LIST".as_slice(), &3u32.to_le_bytes(), b"abc\0"].concat();
        bytes.splice(36..36, list);
        bytes.extend_from_slice(&[1, 0, 0xFF, 0xFF]);
        assert_eq!(read(&bytes).unwrap().samples, vec![1, -1]);

        let mut wide = header(1).to_vec();
        wide[24..28].copy_from_slice(&22050u32.to_le_bytes());
        wide.extend_from_slice(&[0, 0]);
        let error = read(&wide).unwrap().into_telephone_samples().unwrap_err();
        assert!(matches!(
            error,
            WavError::NotTelephoneAudio {
                rate: 22050,
                channels: 1
            }
        ));

        let mut eight_bit = header(0).to_vec();
        eight_bit[34] = 8;
        assert!(matches!(
            read(&eight_bit),
            Err(WavError::Format { format: 1, bits: 8 })
        ));
        assert!(matches!(
            read(b"RIFF\0\0\0\0WAVE"),
            Err(WavError::MissingChunk("fmt "))
        ));
        assert!(matches!(read(b"OggS"), Err(WavError::NotWave)));
    }
}
