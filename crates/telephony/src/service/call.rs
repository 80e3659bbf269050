//! One answered call: its RTP socket, the prompt player paced at 20 ms, the key detector, the
//! voicemail recorder, the flow's timer and a queue's ringing, driven by the IVR step function;
//! once a seat answers, the bridge.

use super::answer::{self, LookupRecord, Lookups};
use super::prompts::{self, Frame, PromptCache};
use super::queue::{Report, Ring, Ringer, SeatLeg};
use super::{CallEvent, HungUpBy, QueueOutcome, QueueResult, ServiceConfig, ServiceStats, bridge};
use crate::control::ControlEvent;
use crate::dtmf::DtmfDetector;
use crate::ivr::{Action, CallState, Event, Flow};
use crate::pacing::{self, PACKET_DURATION, RtpSender};
use crate::rtp::RtpPacket;
use crate::sdp::{self, AudioPlan, Codec};
use crate::speech::Answer;
use crate::{g711, wav};
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::Header;
use std::collections::VecDeque;
use std::fs::File;
use std::io::BufWriter;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior};

/// What the SIP side tells a call.
pub(super) enum Signal {
    Key(char),
    HungUp,
}

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
    ringer: Option<Arc<Ringer>>,
    lookups: Option<Arc<dyn Lookups>>,
    stats: Arc<ServiceStats>,
    prompts: Arc<PromptCache>,
    /// When the 200 OK was handed to the SIP stack.
    answered_at: Instant,
}

/// A collect node's look-up in flight: what was asked, and where the answer comes.
struct Asked {
    lookup: crate::ivr::Lookup,
    number: Option<String>,
    language: String,
    answer: oneshot::Receiver<Answer>,
}

/// A queue the call waits in: its ringing task and what it has reported.
struct Waiting {
    queue: String,
    entered: Instant,
    task: tokio::task::JoinHandle<()>,
    /// `None` once the ringing task ended.
    reports: Option<mpsc::UnboundedReceiver<Report>>,
    /// Seats that refused (busy, not registered) and seats that rang out, so far.
    refused: u32,
    rang_out: u32,
}

/// A prompt being played, shared with every call playing it.
struct Playing {
    frames: Arc<[Frame]>,
    next: usize,
}

impl Playing {
    fn next_frame(&mut self) -> Option<Frame> {
        let frame = self.frames.get(self.next).copied();
        self.next += 1;
        frame
    }

    fn is_done(&self) -> bool {
        self.next >= self.frames.len()
    }
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
        ringer: Option<Arc<Ringer>>,
        stats: Arc<ServiceStats>,
        prompts: Arc<PromptCache>,
    ) -> Result<Self, String> {
        let request = dialog.initial_request();
        let plan = sdp::read(&String::from_utf8_lossy(&request.body)).map_err(|e| e.to_string())?;
        let socket = UdpSocket::bind(SocketAddr::new(rtp_ip, 0))
            .await
            .map_err(|e| e.to_string())?;
        let local = socket.local_addr().map_err(|e| e.to_string())?;
        let answer = sdp::answer(local, u64::from(local.port()), &plan);
        let headers = vec![Header::ContentType("application/sdp".into())];
        let answered_at = Instant::now();
        dialog
            .accept(Some(headers), Some(answer.into_bytes()))
            .map_err(|e| e.to_string())?;
        stats.answered_call();
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
            ringer,
            lookups: config.lookups.clone(),
            stats,
            prompts,
            answered_at,
        })
    }

    /// Runs the flow until either side hangs up.
    pub(super) async fn run(self, mut signals: mpsc::UnboundedReceiver<Signal>) {
        let answered = Instant::now();
        let (mut state, first) = CallState::start(&self.flow);
        let mut media = Media::new(&self);
        let mut pending: VecDeque<Event> = VecDeque::new();
        let mut hung_up_by = HungUpBy::Service;
        let mut outcome: Option<QueueOutcome> = None;
        media.perform(&self, &state, first, &mut pending, &mut outcome);
        let mut ticker = tokio::time::interval(PACKET_DURATION);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let mut buffer = vec![0u8; 2048];
        while !state.is_finished() {
            if let Some(event) = pending.pop_front() {
                let actions = state.step(&self.flow, event);
                media.perform(&self, &state, actions, &mut pending, &mut outcome);
                continue;
            }
            if let Some(mut leg) = media.answered.take() {
                let actions = state.step(&self.flow, Event::SeatAnswered);
                media.perform(&self, &state, actions, &mut pending, &mut outcome);
                hung_up_by = self.talk(&mut leg, &mut signals).await;
                break;
            }
            let timer = media.timer;
            tokio::select! {
                _ = ticker.tick() => {
                    if media.send_frame(&self).await {
                        pending.push_back(media.after_playing.take().unwrap_or(Event::PromptFinished));
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
                answer = next_answer(&mut media.asked) => {
                    media.answered_lookup(&self, answer);
                }
                _ = sleep_until(timer) => {
                    media.timer = None;
                    pending.push_back(Event::Timeout);
                }
                report = next_report(&mut media.waiting) => match report {
                    Some(Report::Tried { seat, busy }) => {
                        tracing::debug!(call_id = self.call_id, seat, busy, "seat did not take the call");
                        if let Some(waiting) = &mut media.waiting {
                            if busy {
                                waiting.refused += 1;
                            } else {
                                waiting.rang_out += 1;
                            }
                        }
                    }
                    Some(Report::Answered(leg)) => {
                        let waiting = media.waiting.take().expect("a report comes from a queue");
                        let wait_ms = millis(waiting.entered.elapsed());
                        if let Some(ringer) = &self.ringer {
                            ringer.taken(&waiting.queue, &leg.seat);
                        }
                        outcome = Some(QueueOutcome {
                            queue: waiting.queue,
                            result: QueueResult::Answered,
                            seat: Some(leg.seat.clone()),
                            wait_ms,
                            answered_after_ms: Some(millis(answered.elapsed())),
                        });
                        media.answered = Some(leg);
                    }
                    None => {
                        // The ringing task ended without an answer (it rings until aborted, so
                        // it should not): the flow's timer decides.
                        if let Some(waiting) = &mut media.waiting {
                            waiting.reports = None;
                        }
                    }
                },
                signal = signals.recv() => match signal {
                    Some(Signal::Key(key)) => pending.push_back(Event::Key(key)),
                    Some(Signal::HungUp) | None => {
                        hung_up_by = HungUpBy::Caller;
                        let actions = state.step(&self.flow, Event::CallerHungUp);
                        media.perform(&self, &state, actions, &mut pending, &mut outcome);
                    }
                },
            }
        }
        if let Some(waiting) = media.waiting.take() {
            leave_queue(waiting, self.ringer.as_deref()).await;
        }
        if hung_up_by != HungUpBy::Caller {
            let _ = self.dialog.bye().await;
        }
        if media.wrong_pins > 0 {
            // Never the PIN itself.
            tracing::warn!(
                call_id = self.call_id,
                caller = self.caller,
                wrong_pins = media.wrong_pins,
                hung_up_by = hung_up_by.as_str(),
                "wrong phone PINs keyed on this call"
            );
        }
        let _ = self.events.send(CallEvent::Ended {
            call_id: self.call_id.clone(),
            caller: self.caller.clone(),
            number: self.flow.number.clone(),
            keys: state.keys().to_owned(),
            hung_up_by,
            duration_ms: millis(answered.elapsed()),
            queue: outcome,
            lookups: std::mem::take(&mut media.lookups),
        });
    }

    /// The caller and the seat talk until one hangs up; the seat is free again afterwards.
    async fn talk(
        &self,
        leg: &mut SeatLeg,
        signals: &mut mpsc::UnboundedReceiver<Signal>,
    ) -> HungUpBy {
        tracing::info!(
            call_id = self.call_id,
            seat = leg.seat,
            "caller bridged to a seat"
        );
        let told = |event| {
            if let Some(ringer) = &self.ringer {
                let _ = ringer.control.send(event);
            }
        };
        told(ControlEvent::Bridged {
            call: self.call_id.clone(),
            seat: leg.seat.clone(),
            caller: self.caller.clone(),
        });
        let ended = bridge::run(&self.socket, &self.plan, leg, signals).await;
        told(ControlEvent::Released {
            call: self.call_id.clone(),
            seat: leg.seat.clone(),
        });
        if let Some(ringer) = &self.ringer {
            ringer.released(&leg.seat);
            ringer.dialogs.remove_dialog(&leg.dialog.id());
        }
        match ended {
            bridge::Ended::Caller => HungUpBy::Caller,
            bridge::Ended::Seat => HungUpBy::Seat,
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

async fn next_report(waiting: &mut Option<Waiting>) -> Option<Report> {
    match waiting
        .as_mut()
        .and_then(|waiting| waiting.reports.as_mut())
    {
        Some(reports) => reports.recv().await,
        None => std::future::pending().await,
    }
}

/// Stops the ringing (rsipstack CANCELs what still rings) and hangs up a seat that answered in
/// the same instant.
async fn leave_queue(mut waiting: Waiting, ringer: Option<&Ringer>) {
    waiting.task.abort();
    let _ = (&mut waiting.task).await;
    let Some(reports) = &mut waiting.reports else {
        return;
    };
    while let Ok(report) = reports.try_recv() {
        if let Report::Answered(leg) = report {
            let _ = leg.dialog.bye().await;
            if let Some(ringer) = ringer {
                ringer.dialogs.remove_dialog(&leg.dialog.id());
            }
        }
    }
}

/// The answer of the look-up in flight, when it comes (a look-up task that died answers
/// "unavailable").
async fn next_answer(asked: &mut Option<Asked>) -> (Asked, Answer) {
    let Some(pending) = asked.as_mut() else {
        return std::future::pending().await;
    };
    let answer = (&mut pending.answer).await.unwrap_or(Answer::Unavailable);
    let asked = asked.take().expect("a look-up is in flight");
    (asked, answer)
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
    playing: Option<Playing>,
    is_playing: bool,
    /// Whether a prompt's first packet has left (for `ServiceStats`).
    prompt_started: bool,
    detector: DtmfDetector,
    recording: Option<Recording>,
    timer: Option<Instant>,
    waiting: Option<Waiting>,
    /// A seat that answered, to bridge to once the flow has stopped its prompt.
    answered: Option<SeatLeg>,
    /// A look-up in flight.
    asked: Option<Asked>,
    /// What the end of the sound playing reports instead of `PromptFinished` (a look-up that
    /// found nothing).
    after_playing: Option<Event>,
    lookups: Vec<LookupRecord>,
    wrong_pins: u32,
}

impl Media {
    fn new(call: &Call) -> Self {
        let seed = call
            .call_id
            .bytes()
            .fold(0u32, |hash, byte| hash.rotate_left(5) ^ u32::from(byte));
        Self {
            sender: RtpSender::new(seed, (seed >> 16) as u16, seed.rotate_left(7)),
            playing: None,
            is_playing: false,
            prompt_started: false,
            detector: DtmfDetector::new(),
            recording: None,
            timer: None,
            waiting: None,
            answered: None,
            asked: None,
            after_playing: None,
            lookups: Vec::new(),
            wrong_pins: 0,
        }
    }

    fn perform(
        &mut self,
        call: &Call,
        state: &CallState,
        actions: Vec<Action>,
        pending: &mut VecDeque<Event>,
        outcome: &mut Option<QueueOutcome>,
    ) {
        for action in actions {
            match action {
                Action::Play { prompt, language } => {
                    let path = call
                        .prompt_dir
                        .join(&language)
                        .join(format!("{prompt}.wav"));
                    match call.prompts.frames(&path) {
                        Ok(frames) => self.play(frames),
                        Err(error) => {
                            tracing::warn!(path = %path.display(), %error, "prompt missing; the flow goes on");
                            pending.push_back(Event::PromptFinished);
                        }
                    }
                }
                Action::PlayTone => self.play(prompts::tone()),
                Action::StopPlaying => {
                    self.playing = None;
                    self.is_playing = false;
                    self.after_playing = None;
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
                Action::Enqueue {
                    seats,
                    strategy,
                    ring_timeout_s,
                } => self.enqueue(call, state, seats, strategy, ring_timeout_s, pending),
                Action::LeaveQueue => {
                    if let Some(waiting) = self.waiting.take() {
                        // The timer ran out, or the caller hung up (no BYE has come from them
                        // for a timeout: they still hear the flow).
                        let result = if state.is_finished() {
                            QueueResult::Abandoned
                        } else if waiting.refused > 0 && waiting.rang_out == 0 {
                            QueueResult::Busy
                        } else {
                            QueueResult::NoAnswer
                        };
                        *outcome = Some(QueueOutcome {
                            queue: waiting.queue.clone(),
                            result,
                            seat: None,
                            wait_ms: millis(waiting.entered.elapsed()),
                            answered_after_ms: None,
                        });
                        let ringer = call.ringer.clone();
                        tokio::spawn(async move { leave_queue(waiting, ringer.as_deref()).await });
                    }
                }
                Action::Lookup {
                    lookup,
                    value,
                    language,
                } => {
                    let (sender, receiver) = oneshot::channel();
                    let lookups = call.lookups.clone();
                    let number =
                        (lookup == crate::ivr::Lookup::ReceivableStatus).then(|| value.clone());
                    tokio::spawn(async move {
                        let found = answer::look_up(lookups.as_deref(), lookup, value).await;
                        let _ = sender.send(found);
                    });
                    self.asked = Some(Asked {
                        lookup,
                        number,
                        language,
                        answer: receiver,
                    });
                }
            }
        }
    }

    /// Starts ringing the queue's seats beside the waiting prompt.
    fn enqueue(
        &mut self,
        call: &Call,
        state: &CallState,
        seats: Vec<String>,
        strategy: crate::ivr::RingStrategy,
        ring_timeout_s: u32,
        pending: &mut VecDeque<Event>,
    ) {
        let Some(ringer) = call.ringer.clone() else {
            tracing::warn!("a queue without a seat proxy (Kamailio): its time-out path follows");
            pending.push_back(Event::Timeout);
            return;
        };
        let (sender, reports) = mpsc::unbounded_channel();
        let ring = Ring {
            call_id: call.call_id.clone(),
            queue: state.node().to_owned(),
            caller: call.caller.clone(),
            seats,
            strategy,
            ring_timeout: Duration::from_secs(u64::from(ring_timeout_s)),
        };
        self.waiting = Some(Waiting {
            queue: state.node().to_owned(),
            entered: Instant::now(),
            task: tokio::spawn(ringer.ring(ring, sender)),
            reports: Some(reports),
            refused: 0,
            rang_out: 0,
        });
    }

    /// Speaks a look-up's answer; one that found nothing ends with `LookupFailed`.
    fn answered_lookup(&mut self, call: &Call, (asked, found): (Asked, Answer)) {
        let (fragments, samples) = answer::speak(&call.prompt_dir, &asked.language, &found);
        if found == Answer::WrongPin {
            self.wrong_pins += 1;
            tracing::warn!(
                call_id = call.call_id,
                caller = call.caller,
                attempt = self.wrong_pins,
                "wrong phone PIN"
            );
        }
        self.lookups.push(LookupRecord {
            lookup: asked.lookup.as_str(),
            number: asked.number,
            outcome: found.outcome(),
            fragments,
        });
        self.play(pacing::frames(&samples).into());
        self.after_playing = (!found.is_found()).then_some(Event::LookupFailed);
    }

    fn play(&mut self, frames: Arc<[Frame]>) {
        self.playing = Some(Playing { frames, next: 0 });
        self.is_playing = true;
    }

    /// Sends the next 20 ms (prompt or silence); true when a prompt just ended.
    async fn send_frame(&mut self, call: &Call) -> bool {
        let prompt = self.playing.as_mut().and_then(Playing::next_frame);
        let first_of_call = prompt.is_some() && !self.prompt_started;
        let frame = prompt.unwrap_or([0; pacing::SAMPLES_PER_PACKET]);
        let payload = match call.plan.codec {
            Codec::Pcmu => g711::ulaw_encode_all(&frame),
            Codec::Pcma => g711::alaw_encode_all(&frame),
        };
        let packet = self.sender.audio(call.plan.codec.payload_type(), payload);
        let _ = call
            .socket
            .send_to(&packet.to_bytes(), call.plan.remote)
            .await;
        if first_of_call {
            self.prompt_started = true;
            call.stats.prompt_started(call.answered_at.elapsed());
        }
        let finished = self.is_playing && self.playing.as_ref().is_none_or(Playing::is_done);
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
