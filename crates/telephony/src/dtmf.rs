//! DTMF digits as they reach a call: RFC 4733 telephone-events in RTP (a 4-byte payload, sent
//! several times per key press, the end packet usually three times) and SIP INFO bodies
//! (`application/dtmf-relay` and `application/dtmf`). Each key press yields its digit once.

use crate::rtp::RtpPacket;
use thiserror::Error;

/// The telephone-event payload of RFC 4733 §2.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// 0–9 the digits, 10 `*`, 11 `#`, 12–15 `A`–`D`.
    pub event: u8,
    pub end: bool,
    /// Power level in −dBm0 (0–63).
    pub volume: u8,
    /// Duration so far, in timestamp units (8 kHz: 160 per 20 ms).
    pub duration: u16,
}

/// Why a payload is not a telephone-event.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DtmfError {
    #[error("a telephone-event payload has at least 4 bytes; this one has {0}")]
    TooShort(usize),
    #[error("{0:?} is not a DTMF key")]
    NotAKey(char),
}

impl TelephoneEvent {
    pub fn parse(payload: &[u8]) -> Result<Self, DtmfError> {
        let [event, flags, high, low, ..] = *payload else {
            return Err(DtmfError::TooShort(payload.len()));
        };
        Ok(Self {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3F,
            duration: u16::from_be_bytes([high, low]),
        })
    }

    pub fn to_bytes(self) -> [u8; 4] {
        let [high, low] = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3F),
            high,
            low,
        ]
    }

    /// The key this event stands for, if it is one of the 16 DTMF keys.
    pub fn digit(self) -> Option<char> {
        event_digit(self.event)
    }
}

/// The DTMF key of an RFC 4733 event code.
pub fn event_digit(event: u8) -> Option<char> {
    match event {
        0..=9 => Some(char::from(b'0' + event)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + event - 12)),
        _ => None,
    }
}

/// The RFC 4733 event code of a DTMF key.
pub fn digit_event(digit: char) -> Result<u8, DtmfError> {
    match digit.to_ascii_uppercase() {
        d @ '0'..='9' => Ok(d as u8 - b'0'),
        '*' => Ok(10),
        '#' => Ok(11),
        d @ 'A'..='D' => Ok(d as u8 - b'A' + 12),
        other => Err(DtmfError::NotAKey(other)),
    }
}

/// Turns a stream of telephone-event packets into digits, one per key press. All packets of one
/// press share an RTP timestamp (RFC 4733 §2.5.1.2) and its last ones carry the end bit, usually
/// three times; the digit is reported on the first packet seen for a press, so a lost start packet
/// or the repeated end packets never count twice. A press that ended and starts again with the
/// same timestamp (a recording replayed, as SIPp's pcap play does) counts again.
#[derive(Debug, Default)]
pub struct DtmfDetector {
    /// The press being received: SSRC, timestamp, and whether its end was seen.
    current: Option<(u32, u32, bool)>,
}

impl DtmfDetector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one RTP packet whose payload type is the negotiated telephone-event type.
    pub fn push(&mut self, packet: &RtpPacket) -> Option<char> {
        let event = TelephoneEvent::parse(&packet.payload).ok()?;
        let digit = event.digit()?;
        let new_press = match self.current {
            Some((ssrc, timestamp, ended))
                if (ssrc, timestamp) == (packet.ssrc, packet.timestamp) =>
            {
                ended && !event.end
            }
            _ => true,
        };
        self.current = Some((packet.ssrc, packet.timestamp, event.end));
        new_press.then_some(digit)
    }
}

/// The packets a sender puts on the wire for one key press: `duration_ms` of updates every 20 ms,
/// the first with the marker bit, then the end packet three times (RFC 4733 §2.5.1.4).
pub fn key_press_packets(
    digit: char,
    duration_ms: u32,
    first_sequence: u16,
    timestamp: u32,
    ssrc: u32,
    payload_type: u8,
) -> Result<Vec<RtpPacket>, DtmfError> {
    let event = digit_event(digit)?;
    let updates = (duration_ms / 20).max(1);
    let mut packets = Vec::new();
    let mut push = |index: u32, end: bool, duration: u32| {
        let payload = TelephoneEvent {
            event,
            end,
            volume: 10,
            duration: duration.min(0xFFFF) as u16,
        };
        packets.push(RtpPacket {
            marker: index == 0,
            payload_type,
            sequence: first_sequence.wrapping_add(index as u16),
            timestamp,
            ssrc,
            payload: payload.to_bytes().to_vec(),
        });
    };
    for index in 0..updates {
        push(index, false, (index + 1) * 160);
    }
    for repeat in 0..3 {
        push(updates + repeat, true, updates * 160);
    }
    Ok(packets)
}

/// The digit in a SIP INFO body: `application/dtmf-relay` (`Signal=5\r\nDuration=160`) or
/// `application/dtmf` (the key alone). `None` when the body holds no DTMF key.
pub fn sip_info_digit(content_type: &str, body: &str) -> Option<char> {
    let media_type = content_type.split(';').next()?.trim().to_ascii_lowercase();
    let value = match media_type.as_str() {
        "application/dtmf-relay" => body.lines().find_map(|line| {
            let (name, value) = line.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("signal")
                .then(|| value.trim())
        })?,
        "application/dtmf" => body.trim(),
        _ => return None,
    };
    let mut chars = value.chars();
    let digit = chars.next()?;
    if chars.next().is_some() {
        // Some phones send the event number instead of the key (`Signal=10` for `*`).
        return value.parse::<u8>().ok().and_then(event_digit);
    }
    digit_event(digit).ok().map(|_| digit.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_is_laid_out_as_rfc_4733_says() {
        let end_of_five = TelephoneEvent {
            event: 5,
            end: true,
            volume: 10,
            duration: 800,
        };
        assert_eq!(end_of_five.to_bytes(), [5, 0x8A, 0x03, 0x20]);
        assert_eq!(
            TelephoneEvent::parse(&[5, 0x8A, 0x03, 0x20]),
            Ok(end_of_five)
        );
        assert_eq!(
            TelephoneEvent::parse(&[11, 0x0A, 0, 160]).unwrap().digit(),
            Some('#')
        );
        assert_eq!(
            TelephoneEvent::parse(&[1, 2, 3]),
            Err(DtmfError::TooShort(3))
        );
    }

    #[test]
    fn every_key_maps_to_its_event_and_back() {
        for key in "0123456789*#ABCD".chars() {
            assert_eq!(event_digit(digit_event(key).unwrap()), Some(key));
        }
        assert_eq!(digit_event('*'), Ok(10));
        assert_eq!(event_digit(16), None);
        assert_eq!(digit_event('x'), Err(DtmfError::NotAKey('X')));
    }

    #[test]
    fn each_key_press_counts_once_with_its_end_retransmissions() {
        let mut detector = DtmfDetector::new();
        let mut packets = key_press_packets('1', 100, 10, 8000, 7, 101).unwrap();
        assert_eq!(packets.len(), 5 + 3);
        assert_eq!(packets.iter().filter(|p| p.marker).count(), 1);
        packets.extend(key_press_packets('9', 100, 18, 9600, 7, 101).unwrap());
        packets.extend(key_press_packets('1', 60, 26, 11200, 7, 101).unwrap());
        let digits: String = packets.iter().filter_map(|p| detector.push(p)).collect();
        assert_eq!(digits, "191");
    }

    #[test]
    fn the_same_key_twice_counts_twice_even_as_a_replayed_recording() {
        let mut detector = DtmfDetector::new();
        let first = key_press_packets('5', 40, 0, 1000, 1, 101).unwrap();
        let second = key_press_packets('5', 40, 5, 2000, 1, 101).unwrap();
        let digits: String = first
            .iter()
            .chain(&second)
            .filter_map(|p| detector.push(p))
            .collect();
        assert_eq!(digits, "55");
        // The very same packets sent again, timestamps and all.
        let digits: String = first
            .iter()
            .chain(&first)
            .filter_map(|p| detector.push(p))
            .collect();
        assert_eq!(digits, "55");
    }

    #[test]
    fn a_press_whose_start_was_lost_counts_from_its_end_packets() {
        let mut detector = DtmfDetector::new();
        let press = key_press_packets('#', 100, 0, 4000, 3, 101).unwrap();
        let digits: String = press[5..].iter().filter_map(|p| detector.push(p)).collect();
        assert_eq!(digits, "#");
    }

    #[test]
    fn sip_info_bodies_give_their_key() {
        assert_eq!(
            sip_info_digit("application/dtmf-relay", "Signal=1\r\nDuration=160\r\n"),
            Some('1')
        );
        assert_eq!(
            sip_info_digit("Application/DTMF-Relay", "Signal= #\nDuration= 250"),
            Some('#')
        );
        assert_eq!(
            sip_info_digit("application/dtmf-relay", "Signal=10\r\n"),
            Some('*')
        );
        assert_eq!(sip_info_digit("application/dtmf", "9"), Some('9'));
        assert_eq!(
            sip_info_digit("application/dtmf-relay", "Duration=160"),
            None
        );
        assert_eq!(sip_info_digit("application/dtmf-relay", "Signal=x"), None);
        assert_eq!(sip_info_digit("text/plain", "1"), None);
    }
}
