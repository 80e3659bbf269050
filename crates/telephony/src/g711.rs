//! G.711 µ-law (PCMU, payload type 0) and A-law (PCMA, payload type 8): 16-bit linear PCM to and
//! from one byte per sample, as in the ITU-T reference (Sun's g711.c).

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32635;
const ALAW_SEGMENT_ENDS: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

/// One linear sample to µ-law.
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut magnitude = i32::from(sample);
    // Negative samples are taken in one's complement (-x - 1), as the ITU-T G.191 reference does,
    // so that -32768 needs no special case and every decoded value encodes back to its code.
    let sign = if magnitude < 0 {
        magnitude = -magnitude - 1;
        0x80
    } else {
        0
    };
    magnitude = magnitude.min(ULAW_CLIP) + ULAW_BIAS;
    let exponent = 31 - ((magnitude >> 7) | 1).leading_zeros() as i32;
    let mantissa = (magnitude >> (exponent + 3)) & 0x0F;
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// One µ-law byte to a linear sample.
pub fn ulaw_decode(byte: u8) -> i16 {
    let inverted = !byte;
    let exponent = (inverted >> 4) & 0x07;
    let magnitude = ((i32::from(inverted & 0x0F) << 3) + ULAW_BIAS) << exponent;
    let linear = if inverted & 0x80 != 0 {
        ULAW_BIAS - magnitude
    } else {
        magnitude - ULAW_BIAS
    };
    linear as i16
}

/// One linear sample to A-law.
pub fn alaw_encode(sample: i16) -> u8 {
    let mut value = i32::from(sample) >> 3;
    let mask = if value >= 0 {
        0xD5
    } else {
        value = -value - 1;
        0x55
    };
    let Some(segment) = ALAW_SEGMENT_ENDS.iter().position(|&end| value <= end) else {
        return 0x7F ^ mask;
    };
    let shift = if segment < 2 { 1 } else { segment };
    let byte = ((segment as i32) << 4) | ((value >> shift) & 0x0F);
    (byte as u8) ^ mask
}

/// One A-law byte to a linear sample.
pub fn alaw_decode(byte: u8) -> i16 {
    let value = byte ^ 0x55;
    let segment = (value >> 4) & 0x07;
    let mut magnitude = i32::from(value & 0x0F) << 4;
    magnitude += if segment == 0 { 8 } else { 0x108 };
    if segment > 1 {
        magnitude <<= segment - 1;
    }
    let linear = if value & 0x80 != 0 {
        magnitude
    } else {
        -magnitude
    };
    linear as i16
}

/// A frame of linear samples to µ-law bytes.
pub fn ulaw_encode_all(samples: &[i16]) -> Vec<u8> {
    samples.iter().copied().map(ulaw_encode).collect()
}

/// µ-law bytes to linear samples.
pub fn ulaw_decode_all(bytes: &[u8]) -> Vec<i16> {
    bytes.iter().copied().map(ulaw_decode).collect()
}

/// A frame of linear samples to A-law bytes.
pub fn alaw_encode_all(samples: &[i16]) -> Vec<u8> {
    samples.iter().copied().map(alaw_encode).collect()
}

/// A-law bytes to linear samples.
pub fn alaw_decode_all(bytes: &[u8]) -> Vec<i16> {
    bytes.iter().copied().map(alaw_decode).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_matches_the_reference_table() {
        // Values of the ITU-T G.711 µ-law expansion table (g711.c's ulaw2linear).
        for (byte, linear) in [
            (0x00, -32124),
            (0x0F, -16764),
            (0x10, -15996),
            (0x70, -120),
            (0x7E, -8),
            (0x7F, 0),
            (0x80, 32124),
            (0xEF, 132),
            (0xFE, 8),
            (0xFF, 0),
        ] {
            assert_eq!(ulaw_decode(byte), linear, "µ-law byte {byte:#04x}");
        }
        for (linear, byte) in [
            (0, 0xFF),
            (-1, 0x7F),
            (-4, 0x7F),
            (-5, 0x7E),
            (32767, 0x80),
            (-32768, 0x00),
            (8, 0xFE),
            (132, 0xEF),
        ] {
            assert_eq!(ulaw_encode(linear), byte, "µ-law of {linear}");
        }
    }

    #[test]
    fn alaw_matches_the_reference_table() {
        for (byte, linear) in [
            (0x55, -8),
            (0xD5, 8),
            (0x2A, -32256),
            (0xAA, 32256),
            (0x54, -24),
            (0xD4, 24),
            (0x45, -264),
        ] {
            assert_eq!(alaw_decode(byte), linear, "A-law byte {byte:#04x}");
        }
        for (linear, byte) in [(0, 0xD5), (-1, 0x55), (32767, 0xAA), (-32768, 0x2A)] {
            assert_eq!(alaw_encode(linear), byte, "A-law of {linear}");
        }
    }

    #[test]
    fn every_code_survives_decode_then_encode() {
        for byte in 0..=255u8 {
            assert_eq!(alaw_encode(alaw_decode(byte)), byte, "A-law {byte:#04x}");
            // 0x7F is µ-law's negative zero; it decodes to 0, which encodes as 0xFF.
            if byte != 0x7F {
                assert_eq!(ulaw_encode(ulaw_decode(byte)), byte, "µ-law {byte:#04x}");
            }
        }
    }

    #[test]
    fn a_sine_comes_back_within_the_quantisation_step() {
        let samples: Vec<i16> = (0..160)
            .map(|n| (f64::sin(n as f64 * 0.3) * 12000.0) as i16)
            .collect();
        for (decoded, original) in ulaw_decode_all(&ulaw_encode_all(&samples))
            .iter()
            .zip(&samples)
        {
            let error = (i32::from(*decoded) - i32::from(*original)).abs();
            assert!(
                error <= i32::from(original.unsigned_abs() / 16) + 8,
                "{original} → {decoded}"
            );
        }
        for (decoded, original) in alaw_decode_all(&alaw_encode_all(&samples))
            .iter()
            .zip(&samples)
        {
            let error = (i32::from(*decoded) - i32::from(*original)).abs();
            assert!(
                error <= i32::from(original.unsigned_abs() / 16) + 16,
                "{original} → {decoded}"
            );
        }
    }
}
