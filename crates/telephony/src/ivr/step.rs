//! Running a flow: `CallState::start` and `CallState::step` turn events (a key, a timer expiry, a
//! prompt that finished, a seat that answered, the caller hanging up) into actions for the call
//! service. Pure: no clock, no I/O; the service owns the timer, the player and the recorder.

use super::flow::{Flow, Lookup, Node, RingStrategy};

/// What happened on the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A DTMF key (RFC 4733 or SIP INFO).
    Key(char),
    /// The timer of the last `StartTimer` ran out.
    Timeout,
    /// The prompt, tone or look-up answer being played ended by itself.
    PromptFinished,
    /// A queue's seat answered; the call is bridged to it.
    SeatAnswered,
    /// The caller hung up.
    CallerHungUp,
    /// A look-up's answer was spoken and found nothing (a number not found, a wrong PIN): it
    /// counts as a failed try of the collect node.
    LookupFailed,
}

/// What the call service does next, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Play the prompt file in this language; send `PromptFinished` at its end.
    Play {
        prompt: String,
        language: String,
    },
    /// Stop the prompt playing now (the caller keyed ahead); no `PromptFinished` follows.
    StopPlaying,
    /// Play the beep before a recording; send `PromptFinished` at its end.
    PlayTone,
    /// Start (or restart) the one timer; send `Timeout` when it runs out.
    StartTimer {
        seconds: u32,
    },
    CancelTimer,
    /// Record the caller from now on as a voicemail of this category.
    StartRecording {
        category: String,
        max_s: u32,
    },
    /// Stop recording and keep the voicemail.
    StopRecording,
    /// Look the number up and speak the answer; send `PromptFinished` when it has been spoken.
    Lookup {
        lookup: Lookup,
        value: String,
        language: String,
    },
    /// Ring the seats; send `SeatAnswered` when one answers.
    Enqueue {
        seats: Vec<String>,
        strategy: RingStrategy,
        ring_timeout_s: u32,
    },
    /// Stop ringing the queue's seats.
    LeaveQueue,
    Hangup,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// The node's prompt is playing; keys may interrupt it.
    Prompting,
    /// The prompt ended; the timer runs while the caller may press a key.
    Waiting,
    /// Voicemail: the category is chosen, "speak after the tone" is playing.
    Announcing(String),
    /// Voicemail: the tone is playing.
    Beeping(String),
    Recording(String),
    LookingUp,
    Queued,
    Bridged,
    /// A hang-up node's last prompt is playing.
    Leaving,
    Finished,
}

/// Where one call is in its flow, and the keys it pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallState {
    node: String,
    phase: Phase,
    language: String,
    keys: String,
    failures: u32,
    collected: String,
}

/// The parts of a node that asks for a key and repeats itself when none (or a wrong one) comes.
struct Asking<'a> {
    prompt: &'a str,
    timeout_s: u32,
    retries: u32,
    on_fail: &'a str,
}

impl CallState {
    /// A call just answered: it enters the flow's start node.
    pub fn start(flow: &Flow) -> (Self, Vec<Action>) {
        let mut state = Self {
            node: String::new(),
            phase: Phase::Finished,
            language: flow.default_language.clone(),
            keys: String::new(),
            failures: 0,
            collected: String::new(),
        };
        let mut actions = Vec::new();
        state.enter(flow, &flow.start, &mut actions);
        (state, actions)
    }

    /// The node the call is at.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The language prompts play in.
    pub fn language(&self) -> &str {
        &self.language
    }

    /// Every key the caller pressed, in order; the digits of a PIN (a `rep_results` collect
    /// node) are kept as `*`.
    pub fn keys(&self) -> &str {
        &self.keys
    }

    /// True once the flow hung up or the caller did; later events do nothing.
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// Applies one event and returns the actions it calls for.
    pub fn step(&mut self, flow: &Flow, event: Event) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.phase == Phase::Finished {
            return actions;
        }
        if let Event::Key(key) = event {
            let pin = matches!(
                flow.node(&self.node),
                Some(Node::Collect(collect)) if collect.lookup == Lookup::RepResults
            );
            self.keys.push(if pin && key.is_ascii_digit() {
                '*'
            } else {
                key
            });
        }
        if event == Event::CallerHungUp {
            match self.phase {
                Phase::Recording(_) => actions.push(Action::StopRecording),
                Phase::Queued => actions.push(Action::LeaveQueue),
                _ => {}
            }
            self.phase = Phase::Finished;
            return actions;
        }
        let Some(node) = flow.node(&self.node) else {
            return self.hang_up(actions);
        };
        match node {
            Node::LanguageMenu(menu) => {
                let asking = Asking {
                    prompt: &menu.prompt,
                    timeout_s: menu.timeout_s,
                    retries: menu.retries,
                    on_fail: &menu.on_fail,
                };
                let valid = |key| menu.options.iter().find(|option| option.key.0 == key);
                if let Some(option) = self.ask(flow, &asking, &event, valid, &mut actions) {
                    self.language = option.language.clone();
                    self.enter(flow, &option.next, &mut actions);
                }
            }
            Node::Menu(menu) => {
                let asking = Asking {
                    prompt: &menu.prompt,
                    timeout_s: menu.timeout_s,
                    retries: menu.retries,
                    on_fail: &menu.on_fail,
                };
                let valid = |key| menu.options.iter().find(|option| option.key.0 == key);
                if let Some(option) = self.ask(flow, &asking, &event, valid, &mut actions) {
                    self.enter(flow, &option.next, &mut actions);
                }
            }
            Node::Voicemail(voicemail) => match (self.phase.clone(), &event) {
                (Phase::Announcing(category), Event::PromptFinished) => {
                    actions.push(Action::PlayTone);
                    self.phase = Phase::Beeping(category);
                }
                (Phase::Beeping(category), Event::PromptFinished) => {
                    let max_s = voicemail.max_s;
                    actions.push(Action::StartRecording {
                        category: category.clone(),
                        max_s,
                    });
                    actions.push(Action::StartTimer { seconds: max_s });
                    self.phase = Phase::Recording(category);
                }
                (Phase::Recording(_), Event::Key('#')) => {
                    actions.extend([Action::StopRecording, Action::CancelTimer]);
                    self.enter(flow, &voicemail.next, &mut actions);
                }
                (Phase::Recording(_), Event::Timeout) => {
                    actions.push(Action::StopRecording);
                    self.enter(flow, &voicemail.next, &mut actions);
                }
                (Phase::Prompting | Phase::Waiting, _) => {
                    let asking = Asking {
                        prompt: &voicemail.prompt,
                        timeout_s: voicemail.timeout_s,
                        retries: voicemail.retries,
                        on_fail: &voicemail.on_fail,
                    };
                    let valid = |key| voicemail.categories.iter().find(|c| c.key.0 == key);
                    if let Some(chosen) = self.ask(flow, &asking, &event, valid, &mut actions) {
                        actions.push(Action::Play {
                            prompt: voicemail.record_prompt.clone(),
                            language: self.language.clone(),
                        });
                        self.phase = Phase::Announcing(chosen.category.clone());
                    }
                }
                _ => {}
            },
            Node::Collect(collect) => {
                let asking = Asking {
                    prompt: &collect.prompt,
                    timeout_s: collect.timeout_s,
                    retries: collect.retries,
                    on_fail: &collect.on_fail,
                };
                let enough = |collected: &str| collected.len() >= collect.min_digits as usize;
                match (&self.phase, &event) {
                    (Phase::Prompting, Event::PromptFinished) => {
                        actions.push(Action::StartTimer {
                            seconds: collect.timeout_s,
                        });
                        self.phase = Phase::Waiting;
                    }
                    (Phase::Prompting | Phase::Waiting, Event::Key(key)) => {
                        actions.push(if self.phase == Phase::Prompting {
                            Action::StopPlaying
                        } else {
                            Action::CancelTimer
                        });
                        self.phase = Phase::Waiting;
                        if *key == collect.end_key.0 && enough(&self.collected) {
                            self.look_up(collect.lookup, &mut actions);
                        } else if key.is_ascii_digit() {
                            self.collected.push(*key);
                            if self.collected.len() >= collect.max_digits as usize {
                                self.look_up(collect.lookup, &mut actions);
                            } else {
                                actions.push(Action::StartTimer {
                                    seconds: collect.timeout_s,
                                });
                            }
                        } else {
                            self.fail(flow, &asking, &mut actions);
                        }
                    }
                    (Phase::Waiting, Event::Timeout) if enough(&self.collected) => {
                        self.look_up(collect.lookup, &mut actions);
                    }
                    (Phase::Waiting, Event::Timeout) => self.fail(flow, &asking, &mut actions),
                    (Phase::LookingUp, Event::PromptFinished) => {
                        self.enter(flow, &collect.next, &mut actions);
                    }
                    (Phase::LookingUp, Event::LookupFailed) => {
                        self.fail(flow, &asking, &mut actions);
                    }
                    _ => {}
                }
            }
            Node::Queue(queue) => match (&self.phase, &event) {
                (Phase::Queued, Event::PromptFinished) => {
                    // The waiting announcement repeats until a seat answers or time runs out.
                    let (prompt, language) = (queue.prompt.clone(), self.language.clone());
                    actions.push(Action::Play { prompt, language });
                }
                (Phase::Queued, Event::SeatAnswered) => {
                    actions.extend([Action::StopPlaying, Action::CancelTimer]);
                    self.phase = Phase::Bridged;
                }
                (Phase::Queued, Event::Timeout) => {
                    actions.extend([Action::StopPlaying, Action::LeaveQueue]);
                    self.enter(flow, &queue.on_timeout, &mut actions);
                }
                _ => {}
            },
            Node::Play(play) => {
                if (&self.phase, &event) == (&Phase::Prompting, &Event::PromptFinished) {
                    self.enter(flow, &play.next, &mut actions);
                }
            }
            Node::Hangup(_) => {
                if (&self.phase, &event) == (&Phase::Leaving, &Event::PromptFinished) {
                    return self.hang_up(actions);
                }
            }
        }
        actions
    }

    fn enter(&mut self, flow: &Flow, name: &str, actions: &mut Vec<Action>) {
        self.node = name.to_owned();
        self.failures = 0;
        self.collected.clear();
        // A checked flow names only nodes it has; should one be missing, hang up rather than hang.
        let Some(node) = flow.node(name) else {
            actions.push(Action::Hangup);
            self.phase = Phase::Finished;
            return;
        };
        let prompt = match node {
            Node::LanguageMenu(menu) => &menu.prompt,
            Node::Menu(menu) => &menu.prompt,
            Node::Collect(collect) => &collect.prompt,
            Node::Voicemail(voicemail) => &voicemail.prompt,
            Node::Play(play) => &play.prompt,
            Node::Queue(queue) => {
                self.play(&queue.prompt, actions);
                actions.push(Action::Enqueue {
                    seats: queue.seats.clone(),
                    strategy: queue.strategy,
                    ring_timeout_s: queue.ring_timeout_s,
                });
                actions.push(Action::StartTimer {
                    seconds: queue.max_wait_s,
                });
                self.phase = Phase::Queued;
                return;
            }
            Node::Hangup(hangup) => {
                match &hangup.prompt {
                    Some(prompt) => {
                        self.play(prompt, actions);
                        self.phase = Phase::Leaving;
                    }
                    None => {
                        actions.push(Action::Hangup);
                        self.phase = Phase::Finished;
                    }
                }
                return;
            }
        };
        self.play(prompt, actions);
        self.phase = Phase::Prompting;
    }

    fn play(&self, prompt: &str, actions: &mut Vec<Action>) {
        actions.push(Action::Play {
            prompt: prompt.to_owned(),
            language: self.language.clone(),
        });
    }

    /// A node that waits for one key: times the wait once the prompt ends, repeats itself on a
    /// wrong key or silence, and returns what the key chose.
    fn ask<'n, T>(
        &mut self,
        flow: &Flow,
        asking: &Asking<'_>,
        event: &Event,
        valid: impl Fn(char) -> Option<&'n T>,
        actions: &mut Vec<Action>,
    ) -> Option<&'n T> {
        match (&self.phase, event) {
            (Phase::Prompting, Event::PromptFinished) => {
                actions.push(Action::StartTimer {
                    seconds: asking.timeout_s,
                });
                self.phase = Phase::Waiting;
                None
            }
            (Phase::Prompting | Phase::Waiting, Event::Key(key)) => {
                actions.push(if self.phase == Phase::Prompting {
                    Action::StopPlaying
                } else {
                    Action::CancelTimer
                });
                let chosen = valid(*key);
                if chosen.is_none() {
                    self.fail(flow, asking, actions);
                }
                chosen
            }
            (Phase::Waiting, Event::Timeout) => {
                self.fail(flow, asking, actions);
                None
            }
            _ => None,
        }
    }

    /// No key, or a key the node does not offer: say it again, or give up after `retries`.
    fn fail(&mut self, flow: &Flow, asking: &Asking<'_>, actions: &mut Vec<Action>) {
        self.failures += 1;
        self.collected.clear();
        if self.failures > asking.retries {
            self.enter(flow, asking.on_fail, actions);
        } else {
            self.play(asking.prompt, actions);
            self.phase = Phase::Prompting;
        }
    }

    fn look_up(&mut self, lookup: Lookup, actions: &mut Vec<Action>) {
        let (value, language) = (self.collected.clone(), self.language.clone());
        actions.push(Action::Lookup {
            lookup,
            value,
            language,
        });
        self.phase = Phase::LookingUp;
    }

    fn hang_up(&mut self, mut actions: Vec<Action>) -> Vec<Action> {
        actions.push(Action::Hangup);
        self.phase = Phase::Finished;
        actions
    }
}
