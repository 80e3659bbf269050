//! The revisit reminder job: when a revisit comes due, its agent gets a notification (the durable
//! record, one per job however many servers run) and this server's event streams are woken.
//! Queued by `record_call` in the store. While the agent is away (请假), the reminder goes to
//! the lead's backup owner, else to a supervisor of the agent's team (issue 22).

use leadline_store::jobs::REVISIT_REMINDER;
use leadline_store::now;
use leadline_store::ownership::people::absence;
use leadline_store::workday::notifications::{self, RevisitPayload};

use crate::jobs_runner::{Claim, JobError, JobHandler};

pub struct RevisitReminder;

impl JobHandler for RevisitReminder {
    const KIND: &'static str = REVISIT_REMINDER;
    type Payload = RevisitPayload;

    async fn run(&self, claim: Claim, payload: RevisitPayload) -> Result<(), JobError> {
        let at = now();
        let recipient =
            absence::recipient_for(&claim.db, payload.agent_id, payload.lead_id, at).await?;
        // `deliver_revisit` reads the payload from the job itself: route it there.
        let mut job = claim.job.clone();
        if recipient != payload.agent_id {
            job.payload.0["agent_id"] = serde_json::json!(recipient);
        }
        // Announced to the agent's open screens on every server.
        notifications::deliver_revisit(&claim.db, &job, at).await?;
        Ok(())
    }
}
