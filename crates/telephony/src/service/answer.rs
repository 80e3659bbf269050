//! Collect nodes' look-ups: the trait through which the service asks whoever keeps orders and
//! reps (the web server's store), the answer spoken from prompt fragments (`crate::speech`), and
//! the record of what was looked up and played, reported with the call.

use crate::ivr::Lookup;
use crate::speech::{self, Answer, ReceivableStatus, RepResults};
use crate::wav;
use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;

/// A look-up in flight.
pub type LookupFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What collect nodes look up; given to the service in its config. An `Err` is a failure to
/// look (the store is down), spoken as "not available", never as "not found".
pub trait Lookups: Send + Sync {
    /// An order or policy number as keyed (digits) → its standing; `None` when no order has it.
    fn receivable_status(
        &self,
        number: String,
    ) -> LookupFuture<'_, Result<Option<ReceivableStatus>, String>>;

    /// A rep's phone PIN as keyed → their month; `None` when no rep has this PIN.
    fn rep_results(&self, pin: String) -> LookupFuture<'_, Result<Option<RepResults>, String>>;
}

impl fmt::Debug for dyn Lookups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Lookups")
    }
}

/// One look-up made on a call, as reported with its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupRecord {
    /// `receivable_status` or `rep_results`.
    pub lookup: &'static str,
    /// The number keyed; never a PIN (`None` for `rep_results`).
    pub number: Option<String>,
    /// `found`, `not_found`, `wrong_pin` or `unavailable`.
    pub outcome: &'static str,
    /// The fragments played, in order.
    pub fragments: Vec<String>,
}

/// Asks `lookups` (none: unavailable) and turns what it says into an answer.
pub(super) async fn look_up(
    lookups: Option<&dyn Lookups>,
    lookup: Lookup,
    value: String,
) -> Answer {
    let Some(lookups) = lookups else {
        tracing::warn!(
            "a collect node without look-ups configured: the caller hears it is unavailable"
        );
        return Answer::Unavailable;
    };
    let answer = match lookup {
        Lookup::ReceivableStatus => lookups
            .receivable_status(value)
            .await
            .map(|found| found.map_or(Answer::NotFound, Answer::Receivable)),
        Lookup::RepResults => lookups
            .rep_results(value)
            .await
            .map(|found| found.map_or(Answer::WrongPin, Answer::Rep)),
    };
    answer.unwrap_or_else(|error| {
        tracing::error!(%error, lookup = lookup.as_str(), "look-up failed");
        Answer::Unavailable
    })
}

/// A prompt file's samples at 8 kHz.
pub(super) fn load_prompt(dir: &Path, language: &str, prompt: &str) -> Result<Vec<i16>, String> {
    let path = dir.join(language).join(format!("{prompt}.wav"));
    std::fs::read(&path)
        .map_err(|e| format!("{}: {e}", path.display()))
        .and_then(|bytes| {
            wav::read(&bytes)
                .and_then(wav::Wav::into_telephone_samples)
                .map_err(|e| format!("{}: {e}", path.display()))
        })
}

/// The answer's fragments in `language` and their audio, one after the other (a missing
/// fragment is skipped and logged: the rest is still said).
pub(super) fn speak(dir: &Path, language: &str, answer: &Answer) -> (Vec<String>, Vec<i16>) {
    let fragments = speech::answer(language, answer);
    let mut samples = Vec::new();
    for fragment in &fragments {
        match load_prompt(dir, language, fragment) {
            Ok(audio) => samples.extend(audio),
            Err(error) => tracing::warn!(%error, "answer fragment missing"),
        }
    }
    (fragments, samples)
}
