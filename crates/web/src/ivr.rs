//! This server's IVR: the flow the call service runs (a `watch` a saved flow replaces, so that
//! the next call takes it), where the prompt files are, and the largest recording accepted.

use std::path::PathBuf;
use std::sync::Arc;

use leadline_store::{Db, ivr_flows};
use leadline_telephony::ivr::{DEMO_FLOW, Flow};
use tokio::sync::watch;

/// Largest prompt file accepted: 5 minutes of 48 kHz stereo 16-bit WAV (57.6 MB) and its header.
pub const MAX_PROMPT_BYTES: usize = 60 * 1024 * 1024;

/// Longest prompt accepted.
pub const MAX_PROMPT_SECONDS: u64 = 5 * 60;

#[derive(Clone)]
pub struct Ivr {
    /// `<dir>/<language>/<prompt>.wav`.
    pub prompt_dir: PathBuf,
    /// Largest prompt upload, in bytes.
    pub max_prompt_bytes: usize,
    flow: Arc<watch::Sender<Flow>>,
}

impl Ivr {
    /// The shipped demo flow, prompts in `prompt_dir`.
    pub fn new(prompt_dir: PathBuf) -> Ivr {
        let flow = Flow::parse(DEMO_FLOW).expect("the shipped demo flow is valid (tested)");
        Ivr {
            prompt_dir,
            max_prompt_bytes: MAX_PROMPT_BYTES,
            flow: Arc::new(watch::Sender::new(flow)),
        }
    }

    /// The flow calls run now.
    pub fn flow(&self) -> Flow {
        self.flow.borrow().clone()
    }

    /// What the call service follows.
    pub fn subscribe(&self) -> watch::Receiver<Flow> {
        self.flow.subscribe()
    }

    /// The next call runs `flow`.
    pub fn replace(&self, flow: Flow) {
        self.flow.send_replace(flow);
    }

    /// At start: the newest version an admin saved of the shipped number's flow replaces the
    /// shipped one. A saved version this program no longer accepts is logged and the shipped
    /// flow kept, so that the hotline still answers.
    pub async fn load_saved(&self, db: &Db) -> leadline_store::Result<()> {
        let number = self.flow.borrow().number.clone();
        let Some(saved) = ivr_flows::current(db, &number).await? else {
            return Ok(());
        };
        match Flow::parse(&saved.toml) {
            Ok(flow) => self.replace(flow),
            Err(error) => tracing::error!(
                %number, version = saved.version, %error,
                "the saved IVR flow is not valid any more; the shipped flow answers until an admin saves a valid one"
            ),
        }
        Ok(())
    }
}
