//! The revisit reminder job: when a revisit comes due, its agent gets a notification (the durable
//! record, one per job however many servers run) and this server's event streams are woken.
//! Queued by `record_call` in the store.

use leadline_store::jobs::REVISIT_REMINDER;
use leadline_store::now;
use leadline_store::workday::notifications::{self, RevisitPayload};

use crate::jobs_runner::{Claim, JobError, JobHandler};

pub struct RevisitReminder;

impl JobHandler for RevisitReminder {
    const KIND: &'static str = REVISIT_REMINDER;
    type Payload = RevisitPayload;

    async fn run(&self, claim: Claim, _payload: RevisitPayload) -> Result<(), JobError> {
        // `deliver_revisit` reads the payload from the job itself.
        if let Some(user) = notifications::deliver_revisit(&claim.db, &claim.job, now()).await? {
            claim.hub.wake(user);
        }
        Ok(())
    }
}
