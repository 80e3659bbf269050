//! A caller bridged to a seat: RTP relayed both ways packet by packet (G.711 both legs; µ-law on
//! one side and A-law on the other are converted sample by sample, telephone-events keep their
//! meaning under the other side's payload type, anything else is dropped), until either side
//! hangs up; then the other leg gets its BYE.

use super::call::Signal;
use super::queue::SeatLeg;
use crate::g711;
use crate::rtp::RtpPacket;
use crate::sdp::{AudioPlan, Codec};
use rsipstack::dialog::dialog::DialogState;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Which leg ended the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ended {
    /// The caller's BYE (the seat has been sent one).
    Caller,
    /// The seat's BYE (the caller still has to be sent one).
    Seat,
}

/// Relays until one side hangs up.
pub(super) async fn run(
    caller_socket: &UdpSocket,
    caller_plan: &AudioPlan,
    leg: &mut SeatLeg,
    signals: &mut mpsc::UnboundedReceiver<Signal>,
) -> Ended {
    let mut from_caller = vec![0u8; 2048];
    let mut from_seat = vec![0u8; 2048];
    loop {
        tokio::select! {
            received = caller_socket.recv_from(&mut from_caller) => {
                if let Ok((length, _)) = received
                    && let Some(bytes) = relay(&from_caller[..length], caller_plan, &leg.plan)
                {
                    let _ = leg.socket.send_to(&bytes, leg.plan.remote).await;
                }
            }
            received = leg.socket.recv_from(&mut from_seat) => {
                if let Ok((length, _)) = received
                    && let Some(bytes) = relay(&from_seat[..length], &leg.plan, caller_plan)
                {
                    let _ = caller_socket.send_to(&bytes, caller_plan.remote).await;
                }
            }
            signal = signals.recv() => match signal {
                // Keys pressed while talking to a person are theirs to hear, not the flow's.
                Some(Signal::Key(_)) => {}
                Some(Signal::HungUp) | None => {
                    if let Err(error) = leg.dialog.bye().await {
                        tracing::info!(%error, seat = leg.seat, "BYE to the seat failed");
                    }
                    return Ended::Caller;
                }
            },
            state = leg.states.recv() => match state {
                Some(DialogState::Terminated(..)) | None => return Ended::Seat,
                Some(_) => {}
            },
        }
    }
}

/// One packet from the side whose audio is `from`, as the side with `to` expects it.
pub(super) fn relay(bytes: &[u8], from: &AudioPlan, to: &AudioPlan) -> Option<Vec<u8>> {
    let mut packet = RtpPacket::parse(bytes).ok()?;
    if packet.payload_type == from.codec.payload_type() {
        if from.codec != to.codec {
            let samples = match from.codec {
                Codec::Pcmu => g711::ulaw_decode_all(&packet.payload),
                Codec::Pcma => g711::alaw_decode_all(&packet.payload),
            };
            packet.payload = match to.codec {
                Codec::Pcmu => g711::ulaw_encode_all(&samples),
                Codec::Pcma => g711::alaw_encode_all(&samples),
            };
        }
        packet.payload_type = to.codec.payload_type();
    } else if Some(packet.payload_type) == from.telephone_event {
        packet.payload_type = to.telephone_event?;
    } else {
        return None;
    }
    Some(packet.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::{PAYLOAD_PCMA, PAYLOAD_PCMU};

    fn plan(codec: Codec, event: Option<u8>) -> AudioPlan {
        AudioPlan {
            remote: "127.0.0.1:4000".parse().unwrap(),
            codec,
            telephone_event: event,
        }
    }

    fn packet(payload_type: u8, payload: Vec<u8>) -> Vec<u8> {
        RtpPacket {
            marker: false,
            payload_type,
            sequence: 9,
            timestamp: 160,
            ssrc: 7,
            payload,
        }
        .to_bytes()
    }

    #[test]
    fn same_codec_passes_unchanged_and_other_law_is_converted() {
        let samples: Vec<i16> = (0..160).map(|i| (i * 97 % 4000 - 2000) as i16).collect();
        let ulaw = g711::ulaw_encode_all(&samples);
        let bytes = packet(PAYLOAD_PCMU, ulaw.clone());
        let pcmu = plan(Codec::Pcmu, Some(101));
        assert_eq!(relay(&bytes, &pcmu, &pcmu), Some(bytes.clone()));

        let pcma = plan(Codec::Pcma, Some(96));
        let converted = RtpPacket::parse(&relay(&bytes, &pcmu, &pcma).unwrap()).unwrap();
        assert_eq!(converted.payload_type, PAYLOAD_PCMA);
        assert_eq!((converted.sequence, converted.ssrc), (9, 7));
        let heard = g711::alaw_decode_all(&converted.payload);
        let sent = g711::ulaw_decode_all(&ulaw);
        // Both laws quantise; the conversion stays within a few percent of the sample.
        for (a, b) in heard.iter().zip(&sent) {
            assert!((i32::from(*a) - i32::from(*b)).abs() <= 64 + i32::from(*b).abs() / 16);
        }
    }

    #[test]
    fn telephone_events_take_the_other_sides_type_or_are_dropped() {
        let event = packet(101, vec![5, 0x8A, 0, 160]);
        let to = plan(Codec::Pcmu, Some(96));
        let relayed =
            RtpPacket::parse(&relay(&event, &plan(Codec::Pcmu, Some(101)), &to).unwrap()).unwrap();
        assert_eq!((relayed.payload_type, relayed.payload[0]), (96, 5));
        assert_eq!(
            relay(
                &event,
                &plan(Codec::Pcmu, Some(101)),
                &plan(Codec::Pcmu, None)
            ),
            None
        );
        // Unknown payload types (comfort noise, video, …) are not passed on.
        assert_eq!(
            relay(&packet(13, vec![0]), &plan(Codec::Pcmu, None), &to),
            None
        );
    }
}
