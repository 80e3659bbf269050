//! SDP (RFC 4566) offer/answer for one audio stream, as much as the call service needs: read the
//! caller's offer (address, port, codecs, telephone-event), pick G.711 in the caller's order of
//! preference, and write the answer or an offer of our own (PCMU, PCMA, telephone-event, 20 ms).

use crate::rtp::{PAYLOAD_PCMA, PAYLOAD_PCMU, PAYLOAD_TELEPHONE_EVENT};
use std::net::{IpAddr, SocketAddr};
use thiserror::Error;

/// The G.711 law a call's audio uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Pcmu,
    Pcma,
}

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pcmu => "PCMU",
            Self::Pcma => "PCMA",
        }
    }

    /// The static payload type (RFC 3551).
    pub fn payload_type(self) -> u8 {
        match self {
            Self::Pcmu => PAYLOAD_PCMU,
            Self::Pcma => PAYLOAD_PCMA,
        }
    }
}

/// The audio both sides agreed on, seen from our side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioPlan {
    /// Where to send RTP.
    pub remote: SocketAddr,
    pub codec: Codec,
    /// The payload type the other side uses for telephone-events, if it offered them.
    pub telephone_event: Option<u8>,
}

/// Why an SDP body cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdpError {
    #[error("the SDP has no audio stream with a port")]
    NoAudio,
    #[error("the SDP has no connection address for its audio")]
    NoConnection,
    #[error("the SDP offers neither PCMU nor PCMA")]
    NoCommonCodec,
    #[error("the SDP line {0:?} cannot be read")]
    Malformed(String),
}

/// Reads an offer (or an answer to our offer) and chooses the codec.
pub fn read(sdp: &str) -> Result<AudioPlan, SdpError> {
    let mut session_address = None;
    let mut audio: Option<(u16, Vec<u8>)> = None;
    let mut audio_address = None;
    let mut rtpmaps: Vec<(u8, String)> = Vec::new();
    let mut in_audio = false;
    let mut in_media = false;
    for line in sdp.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let malformed = || SdpError::Malformed(line.to_owned());
        let (kind, value) = line.split_once('=').ok_or_else(malformed)?;
        match kind {
            "c" => {
                let address = connection_address(value).ok_or_else(malformed)?;
                if in_audio {
                    audio_address = Some(address);
                } else if !in_media {
                    session_address = Some(address);
                }
            }
            "m" => {
                in_audio = false;
                in_media = true;
                let mut fields = value.split_whitespace();
                let media = fields.next().ok_or_else(malformed)?;
                let port: u16 = fields
                    .next()
                    .and_then(|port| port.split('/').next()?.parse().ok())
                    .ok_or_else(malformed)?;
                let _protocol = fields.next().ok_or_else(malformed)?;
                if media == "audio" && port != 0 && audio.is_none() {
                    let formats = fields
                        .map(str::parse)
                        .collect::<Result<Vec<u8>, _>>()
                        .map_err(|_| malformed())?;
                    audio = Some((port, formats));
                    in_audio = true;
                }
            }
            "a" if in_audio => {
                if let Some(map) = value.strip_prefix("rtpmap:") {
                    let (payload, encoding) = map.split_once(' ').ok_or_else(malformed)?;
                    let payload = payload.parse().map_err(|_| malformed())?;
                    rtpmaps.push((payload, encoding.trim().to_ascii_lowercase()));
                }
            }
            _ => {}
        }
    }
    let (port, formats) = audio.ok_or(SdpError::NoAudio)?;
    let address = audio_address
        .or(session_address)
        .ok_or(SdpError::NoConnection)?;
    let named = |payload: u8| {
        rtpmaps
            .iter()
            .find(|(p, _)| *p == payload)
            .map(|(_, e)| e.as_str())
    };
    let codec = formats
        .iter()
        .find_map(|&payload| match (payload, named(payload)) {
            (PAYLOAD_PCMU, None) => Some(Codec::Pcmu),
            (PAYLOAD_PCMA, None) => Some(Codec::Pcma),
            (_, Some("pcmu/8000" | "pcmu/8000/1")) => Some(Codec::Pcmu),
            (_, Some("pcma/8000" | "pcma/8000/1")) => Some(Codec::Pcma),
            _ => None,
        })
        .ok_or(SdpError::NoCommonCodec)?;
    let telephone_event = formats.iter().copied().find(|&payload| {
        named(payload).is_some_and(|name| name.starts_with("telephone-event/8000"))
    });
    Ok(AudioPlan {
        remote: SocketAddr::new(address, port),
        codec,
        telephone_event,
    })
}

fn connection_address(value: &str) -> Option<IpAddr> {
    let mut fields = value.split_whitespace();
    let (_network, _kind, address) = (fields.next()?, fields.next()?, fields.next()?);
    // A multicast address may carry a TTL (`/127`); calls never use one, but read it anyway.
    address.split('/').next()?.parse().ok()
}

/// Our answer to an offer read into `plan`: its codec and its telephone-event payload type.
pub fn answer(local: SocketAddr, session_id: u64, plan: &AudioPlan) -> String {
    body(local, session_id, &[plan.codec], plan.telephone_event)
}

/// Our offer when we place a call: PCMU, PCMA and telephone-event, in that order.
pub fn offer(local: SocketAddr, session_id: u64) -> String {
    body(
        local,
        session_id,
        &[Codec::Pcmu, Codec::Pcma],
        Some(PAYLOAD_TELEPHONE_EVENT),
    )
}

fn body(local: SocketAddr, session_id: u64, codecs: &[Codec], event: Option<u8>) -> String {
    let family = if local.is_ipv4() { "IP4" } else { "IP6" };
    let ip = local.ip();
    let payloads = codecs.iter().map(|codec| codec.payload_type()).chain(event);
    let formats: Vec<String> = payloads.map(|payload| payload.to_string()).collect();
    let mut lines = vec![
        "v=0".to_owned(),
        format!("o=leadline {session_id} {session_id} IN {family} {ip}"),
        "s=leadline".to_owned(),
        format!("c=IN {family} {ip}"),
        "t=0 0".to_owned(),
        format!("m=audio {} RTP/AVP {}", local.port(), formats.join(" ")),
    ];
    for codec in codecs {
        lines.push(format!(
            "a=rtpmap:{} {}/8000",
            codec.payload_type(),
            codec.name()
        ));
    }
    if let Some(event) = event {
        lines.push(format!("a=rtpmap:{event} telephone-event/8000"));
        lines.push(format!("a=fmtp:{event} 0-16"));
    }
    lines.extend(["a=ptime:20".to_owned(), "a=sendrecv".to_owned()]);
    lines.join("\r\n") + "\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The offer SIPp's uac_pcap scenario sends (payloads 8 and 101; the address filled in).
    const SIPP_OFFER: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-11,16\r\n";

    /// A softphone's offer: several codecs first, G.711 later, a media-level address.
    const PHONE_OFFER: &str = "v=0\r\no=- 1 2 IN IP4 10.0.0.5\r\ns=phone\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\nm=audio 40000 RTP/AVP 9 111 0 8 96\r\nc=IN IP4 192.168.1.20\r\na=rtpmap:9 G722/8000\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:96 TELEPHONE-EVENT/8000\r\na=sendrecv\r\n";

    #[test]
    fn the_first_g711_of_the_offer_is_chosen_with_its_telephone_event() {
        let plan = read(SIPP_OFFER).unwrap();
        assert_eq!(
            plan,
            AudioPlan {
                remote: "127.0.0.1:6000".parse().unwrap(),
                codec: Codec::Pcma,
                telephone_event: Some(101),
            }
        );
        let plan = read(PHONE_OFFER).unwrap();
        assert_eq!(
            plan,
            AudioPlan {
                remote: "192.168.1.20:40000".parse().unwrap(),
                codec: Codec::Pcmu,
                telephone_event: Some(96),
            }
        );
    }

    #[test]
    fn the_answer_keeps_the_chosen_codec_and_the_callers_event_type() {
        let plan = read(PHONE_OFFER).unwrap();
        let answer = answer("127.0.0.1:20000".parse().unwrap(), 7, &plan);
        assert_eq!(
            answer,
            "v=0\r\no=leadline 7 7 IN IP4 127.0.0.1\r\ns=leadline\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0 96\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
        );
        // The answer read back by the caller names the same stream.
        let back = read(&answer).unwrap();
        assert_eq!((back.codec, back.telephone_event), (Codec::Pcmu, Some(96)));
        assert_eq!(back.remote, "127.0.0.1:20000".parse().unwrap());
    }

    #[test]
    fn our_offer_reads_back_as_pcmu_with_events() {
        let offer = offer("[::1]:30000".parse().unwrap(), 9);
        assert!(offer.contains("c=IN IP6 ::1\r\n"));
        assert!(offer.contains("m=audio 30000 RTP/AVP 0 8 101\r\n"));
        let plan = read(&offer).unwrap();
        assert_eq!(plan.codec, Codec::Pcmu);
        assert_eq!(plan.telephone_event, Some(101));
    }

    #[test]
    fn unusable_offers_are_refused() {
        let no_g711 = SIPP_OFFER
            .replace("RTP/AVP 8 101", "RTP/AVP 9 101")
            .replace("a=rtpmap:8 PCMA", "a=rtpmap:9 G722");
        assert_eq!(read(&no_g711), Err(SdpError::NoCommonCodec));
        assert_eq!(
            read(&SIPP_OFFER.replace("m=audio 6000", "m=audio 0")),
            Err(SdpError::NoAudio)
        );
        let no_address = SIPP_OFFER.replace("c=IN IP4 127.0.0.1\r\n", "");
        assert_eq!(read(&no_address), Err(SdpError::NoConnection));
        assert_eq!(
            read("v=0\r\nm=audio x RTP/AVP 0\r\n"),
            Err(SdpError::Malformed("m=audio x RTP/AVP 0".into()))
        );
    }
}
