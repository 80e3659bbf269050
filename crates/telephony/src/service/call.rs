//! One answered call: its RTP socket, the prompt player paced at 20 ms, the key detector, the
//! voicemail recorder and the flow's timer, driven by the IVR step function.

use super::{CallEvent, ServiceConfig};
use crate::dtmf::DtmfDetector;
use crate::ivr::{Action, CallState, Event, Flow};
use crate::pacing::{self, PACKET_DURATION, RtpSender};
use crate::rtp::RtpPacket;
use crate::sdp::{self, AudioPlan, Codec};
use crate::{g711, wav};
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::Header;
use std::collections::VecDeque;
use std::fs::File;
use std::io::BufWriter;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

/// What the SIP side tells a call.
pub(super) enum Signal {
    Key(char),
    HungUp,
}

const TONE: Duration = Duration::from_millis(400);

pub(super) struct Call {
    dialog: InviteDialog,
    socket: UdpSocket,
    plan: AudioPlan,
    flow: Flow,
    prompt_dir: PathBuf,
    voicemail_dir: PathBuf,
    events: mpsc::UnboundedSender<CallEvent>,
    call_id: String,
    caller: String,
}

struct Recording {
    writer: wav::WavWriter<BufWriter<File>>,
    category: String,
    path: PathBuf,
}

impl Call {
    /// Opens the RTP socket and answers the INVITE with our SDP.
    pub(super) async fn answer(
        dialog: InviteDialog,
        config: &ServiceConfig,
        rtp_ip: IpAddr,
        events: mpsc::UnboundedSender<CallEvent>,
    ) -> Result<Self, String> {
        let request = dialog.initial_request();
        let plan = sdp::read(&String::from_utf8_lossy(&request.body)).map_err(|e| e.to_string())?;
        let socket = UdpSocket::bind(SocketAddr::new(rtp_ip, 0))
            .await
            .map_err(|e| e.to_string())?;
        let local = socket.local_addr().map_err(|e| e.to_string())?;
        let answer = sdp::answer(local, u64::from(local.port()), &plan);
        let headers = vec![Header::ContentType("application/sdp".into())];
        dialog
            .accept(Some(headers), Some(answer.into_bytes()))
            .map_err(|e| e.to_string())?;
        Ok(Self {
            call_id: dialog.id().call_id.clone(),
            caller: super::sip::caller(&request),
            dialog,
            socket,
            plan,
            flow: config.flow.borrow().clone(),
            prompt_dir: config.prompt_dir.clone(),
            voicemail_dir: config.voicemail_dir.clone(),
            events,
        })
    }

    /// Runs the flow until either side hangs up.
    pub(super) async fn run(self, mut signals: mpsc::UnboundedReceiver<Signal>) {
        let answered = Instant::now();
        let (mut state, first) = CallState::start(&self.flow);
        let mut media = Media::new(&self);
        let mut pending: VecDeque<Event> = VecDeque::new();
        let mut hung_up_by_caller = false;
        media.perform(&self, first, &mut pending);
        let mut ticker = tokio::time::interval(PACKET_DURATION);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let mut buffer = vec![0u8; 2048];
        while !state.is_finished() {
            if let Some(event) = pending.pop_front() {
                let actions = state.step(&self.flow, event);
                media.perform(&self, actions, &mut pending);
                continue;
            }
            let timer = media.timer;
            tokio::select! {
                _ = ticker.tick() => {
                    if media.send_frame(&self).await {
                        pending.push_back(Event::PromptFinished);
                    }
                }
                received = self.socket.recv_from(&mut buffer) => {
                    let Ok((length, _)) = received else { continue };
                    let Ok(packet) = RtpPacket::parse(&buffer[..length]) else { continue };
                    if Some(packet.payload_type) == self.plan.telephone_event {
                        if let Some(key) = media.detector.push(&packet) {
                            pending.push_back(Event::Key(key));
                        }
                    } else if packet.payload_type == self.plan.codec.payload_type() {
                        media.record(&self.plan, &packet.payload);
                    }
                }
                _ = sleep_until(timer) => {
                    media.timer = None;
                    pending.push_back(Event::Timeout);
                }
                signal = signals.recv() => match signal {
                    Some(Signal::Key(key)) => pending.push_back(Event::Key(key)),
                    Some(Signal::HungUp) | None => {
                        hung_up_by_caller = true;
                        let actions = state.step(&self.flow, Event::CallerHungUp);
                        media.perform(&self, actions, &mut pending);
                    }
                },
            }
        }
        if !hung_up_by_caller {
            let _ = self.dialog.bye().await;
        }
        let _ = self.events.send(CallEvent::Ended {
            call_id: self.call_id.clone(),
            caller: self.caller.clone(),
            number: self.flow.number.clone(),
            keys: state.keys().to_owned(),
            hung_up_by_caller,
            duration_ms: u64::try_from(answered.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The call's audio in both directions and its one timer.
struct Media {
    sender: RtpSender,
    playing: VecDeque<[i16; pacing::SAMPLES_PER_PACKET]>,
    is_playing: bool,
    detector: DtmfDetector,
    recording: Option<Recording>,
    timer: Option<Instant>,
}

impl Media {
    fn new(call: &Call) -> Self {
        let seed = call
            .call_id
            .bytes()
            .fold(0u32, |hash, byte| hash.rotate_left(5) ^ u32::from(byte));
        Self {
            sender: RtpSender::new(seed, (seed >> 16) as u16, seed.rotate_left(7)),
            playing: VecDeque::new(),
            is_playing: false,
            detector: DtmfDetector::new(),
            recording: None,
            timer: None,
        }
    }

    fn perform(&mut self, call: &Call, actions: Vec<Action>, pending: &mut VecDeque<Event>) {
        for action in actions {
            match action {
                Action::Play { prompt, language } => {
                    let path = call
                        .prompt_dir
                        .join(&language)
                        .join(format!("{prompt}.wav"));
                    match std::fs::read(&path)
                        .map_err(|e| e.to_string())
                        .and_then(|bytes| {
                            wav::read(&bytes)
                                .and_then(wav::Wav::into_telephone_samples)
                                .map_err(|e| e.to_string())
                        }) {
                        Ok(samples) => self.play(&samples),
                        Err(error) => {
                            tracing::warn!(path = %path.display(), %error, "prompt missing; the flow goes on");
                            pending.push_back(Event::PromptFinished);
                        }
                    }
                }
                Action::PlayTone => self.play(&pacing::tone(1000.0, TONE, 8000)),
                Action::StopPlaying => {
                    self.playing.clear();
                    self.is_playing = false;
                }
                Action::StartTimer { seconds } => {
                    self.timer = Some(Instant::now() + Duration::from_secs(u64::from(seconds)));
                }
                Action::CancelTimer => self.timer = None,
                Action::StartRecording { category, .. } => {
                    let path = call
                        .voicemail_dir
                        .join(format!("{}-{category}.wav", safe_file_name(&call.call_id)));
                    match File::create(&path)
                        .map(BufWriter::new)
                        .and_then(wav::WavWriter::new)
                    {
                        Ok(writer) => {
                            self.recording = Some(Recording {
                                writer,
                                category,
                                path,
                            })
                        }
                        Err(error) => {
                            tracing::error!(path = %path.display(), %error, "voicemail not recorded")
                        }
                    }
                }
                Action::StopRecording => self.finish_recording(call),
                Action::Hangup => {}
                Action::Lookup { .. } | Action::Enqueue { .. } | Action::LeaveQueue => {
                    // CallService::start refuses flows with collect and queue nodes.
                    tracing::error!("a collect or queue action reached a call; hanging up");
                }
            }
        }
    }

    fn play(&mut self, samples: &[i16]) {
        self.playing = pacing::frames(samples).into();
        self.is_playing = true;
    }

    /// Sends the next 20 ms (prompt or silence); true when a prompt just ended.
    async fn send_frame(&mut self, call: &Call) -> bool {
        let frame = self
            .playing
            .pop_front()
            .unwrap_or([0; pacing::SAMPLES_PER_PACKET]);
        let payload = match call.plan.codec {
            Codec::Pcmu => g711::ulaw_encode_all(&frame),
            Codec::Pcma => g711::alaw_encode_all(&frame),
        };
        let packet = self.sender.audio(call.plan.codec.payload_type(), payload);
        let _ = call
            .socket
            .send_to(&packet.to_bytes(), call.plan.remote)
            .await;
        let finished = self.is_playing && self.playing.is_empty();
        if finished {
            self.is_playing = false;
        }
        finished
    }

    fn record(&mut self, plan: &AudioPlan, payload: &[u8]) {
        let Some(recording) = &mut self.recording else {
            return;
        };
        let samples = match plan.codec {
            Codec::Pcmu => g711::ulaw_decode_all(payload),
            Codec::Pcma => g711::alaw_decode_all(payload),
        };
        if let Err(error) = recording.writer.write_samples(&samples) {
            tracing::error!(%error, "voicemail write failed");
        }
    }

    fn finish_recording(&mut self, call: &Call) {
        let Some(recording) = self.recording.take() else {
            return;
        };
        let samples = recording.writer.samples();
        if let Err(error) = recording.writer.finish() {
            tracing::error!(path = %recording.path.display(), %error, "voicemail not closed");
            return;
        }
        let _ = call.events.send(CallEvent::Voicemail {
            call_id: call.call_id.clone(),
            caller: call.caller.clone(),
            category: recording.category,
            path: recording.path,
            duration_ms: u64::from(samples) * 1000 / u64::from(wav::SAMPLE_RATE),
        });
    }
}

fn safe_file_name(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
