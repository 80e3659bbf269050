//! The phone pane of the lead and customer cards (issue 27): a 拨打/Call button (click-to-call
//! from the viewer's seat, `static/phone.js`) and the placed calls with their result, who hung
//! up and the recording, playable by those who see the card.

use leadline_domain::{CustomerId, LeadId};
use leadline_store::Db;
use leadline_store::telephony::placed::{self, PlacedLine};

use super::Nav;

/// One placed call as the card shows it.
pub struct PhoneLine {
    pub when: String,
    pub agent: String,
    pub result: String,
    pub duration_s: i64,
    pub hung_up_by: String,
    /// The recording's address, when there is one.
    pub audio: Option<String>,
}

/// What the pane needs: whom the button calls, and the calls so far.
pub struct PhonePane {
    /// `lead_id` or `customer_id`, the key the dial request names.
    pub target: &'static str,
    pub id: i64,
    pub calls: Vec<PhoneLine>,
}

fn line(nav: &Nav, p: PlacedLine) -> PhoneLine {
    let l = nav.lang;
    PhoneLine {
        when: nav.time(&p.started_at),
        agent: p.agent_name.unwrap_or_default(),
        result: p
            .result
            .map(|r| l.t(&format!("phone.result.{r}")).to_string())
            .unwrap_or_default(),
        duration_s: p.duration_s,
        hung_up_by: l
            .t(&format!("phone.hung_up_by.{}", p.hung_up_by))
            .to_string(),
        audio: p
            .recording_ms
            .map(|_| format!("/api/v1/phone-calls/{}/recording", p.id)),
    }
}

/// The pane of a lead the viewer may see (checked by the card).
pub async fn for_lead(db: &Db, nav: &Nav, lead: LeadId) -> leadline_store::Result<PhonePane> {
    let calls = placed::placed_of_lead(db, lead).await?;
    Ok(PhonePane {
        target: "lead_id",
        id: lead.0,
        calls: calls.into_iter().map(|p| line(nav, p)).collect(),
    })
}

/// The pane of a customer the viewer may see (checked by the card).
pub async fn for_customer(
    db: &Db,
    nav: &Nav,
    customer: CustomerId,
) -> leadline_store::Result<PhonePane> {
    let calls = placed::placed_of_customer(db, customer).await?;
    Ok(PhonePane {
        target: "customer_id",
        id: customer.0,
        calls: calls.into_iter().map(|p| line(nav, p)).collect(),
    })
}

/// GET /static/phone.js — the 拨打 button and the workspace pop-up.
pub async fn script() -> impl axum::response::IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/phone.js"),
    )
}
