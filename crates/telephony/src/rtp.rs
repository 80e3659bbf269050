//! RTP packets (RFC 3550): the fixed 12-byte header with marker, payload type, sequence number,
//! timestamp and SSRC; parsing skips CSRCs, a header extension and padding.

use thiserror::Error;

/// Payload type of G.711 µ-law (PCMU), fixed by RFC 3551.
pub const PAYLOAD_PCMU: u8 = 0;
/// Payload type of G.711 A-law (PCMA), fixed by RFC 3551.
pub const PAYLOAD_PCMA: u8 = 8;
/// The dynamic payload type this service offers for telephone-events (RFC 4733).
pub const PAYLOAD_TELEPHONE_EVENT: u8 = 101;

const HEADER_LEN: usize = 12;

/// An RTP packet, header fields and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload: Vec<u8>,
}

/// Why bytes are not an RTP packet.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RtpError {
    #[error("an RTP packet has at least 12 bytes; this one has {0}")]
    TooShort(usize),
    #[error("RTP version must be 2, found {0}")]
    Version(u8),
    #[error("the CSRC list or header extension runs past the end of the packet")]
    Truncated,
    #[error("the padding length {0} is larger than the payload")]
    Padding(usize),
}

impl RtpPacket {
    /// The packet on the wire: version 2, no padding, no extension, no CSRC.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(HEADER_LEN + self.payload.len());
        bytes.push(0x80);
        bytes.push((u8::from(self.marker) << 7) | (self.payload_type & 0x7F));
        bytes.extend_from_slice(&self.sequence.to_be_bytes());
        bytes.extend_from_slice(&self.timestamp.to_be_bytes());
        bytes.extend_from_slice(&self.ssrc.to_be_bytes());
        bytes.extend_from_slice(&self.payload);
        bytes
    }

    /// Reads a packet received from the network.
    pub fn parse(bytes: &[u8]) -> Result<Self, RtpError> {
        if bytes.len() < HEADER_LEN {
            return Err(RtpError::TooShort(bytes.len()));
        }
        let version = bytes[0] >> 6;
        if version != 2 {
            return Err(RtpError::Version(version));
        }
        let has_padding = bytes[0] & 0x20 != 0;
        let has_extension = bytes[0] & 0x10 != 0;
        let csrc_count = usize::from(bytes[0] & 0x0F);
        let mut start = HEADER_LEN + 4 * csrc_count;
        if has_extension {
            let words = bytes.get(start + 2..start + 4).ok_or(RtpError::Truncated)?;
            start += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
        }
        if start > bytes.len() {
            return Err(RtpError::Truncated);
        }
        let mut end = bytes.len();
        if has_padding {
            let padding = usize::from(bytes[end - 1]);
            if padding == 0 || padding > end - start {
                return Err(RtpError::Padding(padding));
            }
            end -= padding;
        }
        Ok(Self {
            marker: bytes[1] & 0x80 != 0,
            payload_type: bytes[1] & 0x7F,
            sequence: u16::from_be_bytes([bytes[2], bytes[3]]),
            timestamp: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
            ssrc: u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]),
            payload: bytes[start..end].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet() -> RtpPacket {
        RtpPacket {
            marker: true,
            payload_type: PAYLOAD_PCMU,
            sequence: 0xABCD,
            timestamp: 0x0102_0304,
            ssrc: 0xDEAD_BEEF,
            payload: vec![0xFF; 160],
        }
    }

    #[test]
    fn the_header_is_laid_out_as_rfc_3550_says() {
        let bytes = packet().to_bytes();
        assert_eq!(bytes.len(), 172);
        assert_eq!(
            &bytes[..12],
            &[0x80, 0x80, 0xAB, 0xCD, 1, 2, 3, 4, 0xDE, 0xAD, 0xBE, 0xEF]
        );
        let plain = RtpPacket {
            marker: false,
            payload_type: PAYLOAD_TELEPHONE_EVENT,
            ..packet()
        };
        assert_eq!(plain.to_bytes()[1], 101);
    }

    #[test]
    fn a_built_packet_parses_back() {
        assert_eq!(RtpPacket::parse(&packet().to_bytes()), Ok(packet()));
    }

    #[test]
    fn csrcs_extension_and_padding_are_skipped() {
        let mut bytes = vec![0x80 | 0x20 | 0x10 | 2, 0x00, 0, 7, 0, 0, 0, 160, 0, 0, 0, 9];
        bytes.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]); // two CSRCs
        bytes.extend_from_slice(&[0xBE, 0xDE, 0, 1, 1, 2, 3, 4]); // one-word extension
        bytes.extend_from_slice(&[0x11, 0x22, 0x33]); // payload
        bytes.extend_from_slice(&[0, 0, 3]); // three bytes of padding
        let parsed = RtpPacket::parse(&bytes).unwrap();
        assert_eq!(parsed.payload, vec![0x11, 0x22, 0x33]);
        assert_eq!(
            (parsed.sequence, parsed.timestamp, parsed.ssrc),
            (7, 160, 9)
        );
        assert!(!parsed.marker);
    }

    #[test]
    fn broken_packets_are_refused() {
        assert_eq!(RtpPacket::parse(&[0x80; 11]), Err(RtpError::TooShort(11)));
        let mut wrong_version = packet().to_bytes();
        wrong_version[0] = 0x40;
        assert_eq!(RtpPacket::parse(&wrong_version), Err(RtpError::Version(1)));
        let mut csrc_past_end = packet().to_bytes()[..12].to_vec();
        csrc_past_end[0] |= 0x03;
        assert_eq!(RtpPacket::parse(&csrc_past_end), Err(RtpError::Truncated));
        let mut padding_too_long = packet().to_bytes()[..14].to_vec();
        padding_too_long[0] |= 0x20;
        padding_too_long[13] = 9;
        assert_eq!(
            RtpPacket::parse(&padding_too_long),
            Err(RtpError::Padding(9))
        );
    }
}
