//! The media core against the audio tools the call service works with (Debian `sox` and
//! `espeak-ng`, installed by .ci/run): G.711 as sox encodes and decodes it, and the WAV files
//! espeak-ng and sox write, read by `wav::read`.

use leadline_telephony::{g711, wav};
use std::path::PathBuf;
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("leadline-telephony-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn run(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|error| {
            panic!("{program} must be installed (apt-get install {program}): {error}")
        });
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn raw_samples(bytes: &[u8]) -> Vec<i16> {
    bytes
        .chunks_exact(2)
        .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
        .collect()
}

#[test]
fn every_code_decodes_as_sox_decodes_it() {
    let codes: Vec<u8> = (0..=255).collect();
    for (encoding, decode) in [
        ("u-law", g711::ulaw_decode_all as fn(&[u8]) -> Vec<i16>),
        ("a-law", g711::alaw_decode_all),
    ] {
        let input = scratch(&format!("codes.{encoding}"));
        let output = scratch(&format!("codes.{encoding}.s16"));
        std::fs::write(&input, &codes).unwrap();
        let (input_s, output_s) = (input.to_str().unwrap(), output.to_str().unwrap());
        run(
            "sox",
            &[
                "-t", "raw", "-e", encoding, "-b", "8", "-r", "8000", "-c", "1", input_s, "-t",
                "raw", "-e", "signed", "-b", "16", output_s,
            ],
        );
        assert_eq!(
            raw_samples(&std::fs::read(&output).unwrap()),
            decode(&codes),
            "{encoding}"
        );
    }
}

type Codec = (&'static str, fn(&[i16]) -> Vec<u8>, fn(u8) -> i16);

#[test]
fn samples_encode_as_sox_encodes_them_but_for_its_rounding() {
    // sox rounds to 14 (µ-law) or 13 (A-law) bits before it quantises; the ITU-T reference
    // truncates. So near a boundary between two levels the two may choose neighbouring levels,
    // never levels farther apart.
    let samples: Vec<i16> = (i16::MIN..=i16::MAX).collect();
    let bytes: Vec<u8> = samples
        .iter()
        .flat_map(|sample| sample.to_le_bytes())
        .collect();
    let input = scratch("all.s16");
    std::fs::write(&input, &bytes).unwrap();
    let codecs: [Codec; 2] = [
        ("u-law", g711::ulaw_encode_all, g711::ulaw_decode),
        ("a-law", g711::alaw_encode_all, g711::alaw_decode),
    ];
    for (encoding, encode, decode) in codecs {
        let output = scratch(&format!("all.{encoding}"));
        let (input_s, output_s) = (input.to_str().unwrap(), output.to_str().unwrap());
        // -D: no dither, or sox adds noise before it quantises.
        run(
            "sox",
            &[
                "-D", "-t", "raw", "-e", "signed", "-b", "16", "-r", "8000", "-c", "1", input_s,
                "-t", "raw", "-e", encoding, output_s,
            ],
        );
        let theirs = std::fs::read(&output).unwrap();
        let ours = encode(&samples);
        assert_eq!(theirs.len(), ours.len());
        let mut levels: Vec<i16> = (0..=255).map(decode).collect();
        levels.sort_unstable();
        levels.dedup();
        let level = |code: u8| levels.binary_search(&decode(code)).unwrap();
        let mut same = 0;
        for ((&sample, &our_code), &their_code) in samples.iter().zip(&ours).zip(&theirs) {
            assert!(
                level(our_code).abs_diff(level(their_code)) <= 1,
                "{encoding} of {sample}: ours {our_code:#04x} and sox's {their_code:#04x} are not neighbours"
            );
            same += usize::from(our_code == their_code);
        }
        assert!(
            same * 10 > samples.len() * 9,
            "{encoding}: only {same} of 65536 codes equal sox's"
        );
        eprintln!("{encoding}: {same} of 65536 codes equal sox's");
    }
}

#[test]
fn espeak_ng_prompts_read_and_sox_makes_them_telephone_audio() {
    let spoken = scratch("prompt.wav");
    let spoken_s = spoken.to_str().unwrap();
    run("espeak-ng", &["-v", "cmn", "-w", spoken_s, "请留言"]);
    let original = wav::read(&std::fs::read(&spoken).unwrap()).unwrap();
    assert_eq!(original.channels, 1);
    assert!(
        original.duration_ms() > 300,
        "{} ms",
        original.duration_ms()
    );
    let error = original.clone().into_telephone_samples().unwrap_err();
    assert!(error.to_string().contains("8000 Hz mono"), "{error}");

    let phone = scratch("prompt-8k.wav");
    let phone_s = phone.to_str().unwrap();
    run(
        "sox",
        &[
            spoken_s, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed", phone_s,
        ],
    );
    let converted = wav::read(&std::fs::read(&phone).unwrap()).unwrap();
    let length_change = converted.duration_ms().abs_diff(original.duration_ms());
    assert!(
        length_change <= 1,
        "{} ms became {} ms",
        original.duration_ms(),
        converted.duration_ms()
    );
    assert!(
        converted
            .into_telephone_samples()
            .unwrap()
            .iter()
            .any(|&sample| sample.unsigned_abs() > 1000)
    );
}

#[test]
fn sox_reads_what_the_writer_wrote() {
    let path = scratch("written.wav");
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = wav::WavWriter::new(file).unwrap();
    writer
        .write_samples(&leadline_telephony::pacing::tone(
            440.0,
            std::time::Duration::from_millis(2500),
            9000,
        ))
        .unwrap();
    writer.finish().unwrap();
    let output = Command::new("soxi")
        .args(["-D", path.to_str().unwrap()])
        .output()
        .expect("soxi (sox) must be installed");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "2.500000");
    let output = Command::new("soxi")
        .args(["-r", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "8000");
}

/// The RTP packets of a pcap file as SIPp ships them (Ethernet, IPv4, UDP).
fn pcap_rtp(path: &str) -> Vec<leadline_telephony::rtp::RtpPacket> {
    let bytes =
        std::fs::read(path).unwrap_or_else(|error| panic!("{path} (Debian sip-tester): {error}"));
    assert_eq!(
        &bytes[..4],
        &0xA1B2_C3D4u32.to_le_bytes(),
        "a little-endian pcap"
    );
    let mut packets = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let length = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        let frame = &bytes[at + 16..at + 16 + length];
        let ip_header = usize::from(frame[14] & 0x0F) * 4;
        packets
            .push(leadline_telephony::rtp::RtpPacket::parse(&frame[14 + ip_header + 8..]).unwrap());
        at += 16 + length;
    }
    packets
}

#[test]
fn sipp_key_press_recordings_give_one_digit_each_even_replayed() {
    use leadline_telephony::dtmf::DtmfDetector;
    let mut detector = DtmfDetector::new();
    let mut digits = String::new();
    // What the voicemail test's caller sends: 1, 9, 1 (the same recording of 1 twice), then #.
    for name in ["1", "9", "1", "pound"] {
        let packets = pcap_rtp(&format!("/usr/share/sip-tester/dtmf_2833_{name}.pcap"));
        assert_eq!(packets.len(), 10);
        digits.extend(packets.iter().filter_map(|packet| detector.push(packet)));
    }
    assert_eq!(digits, "191#");
}

#[test]
fn sipp_audio_recording_is_seven_seconds_of_a_law_in_30_ms_packets() {
    let packets = pcap_rtp("/usr/share/sip-tester/g711a.pcap");
    assert!(
        packets
            .iter()
            .all(|packet| packet.payload_type == leadline_telephony::rtp::PAYLOAD_PCMA)
    );
    let samples: usize = packets.iter().map(|packet| packet.payload.len()).sum();
    // 236 packets of 30 ms (240 samples), 7.08 s: enough for the contract's five seconds of
    // voicemail, and a sender whose packets are not 20 ms long.
    assert_eq!((packets.len(), samples), (236, 236 * 240));
    assert!(
        packets
            .windows(2)
            .all(|pair| pair[1].timestamp == pair[0].timestamp + 240)
    );
}
