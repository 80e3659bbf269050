//! The call service's look-ups answered from the store (issue 27): an order's number → where it
//! stands with its payments; a rep's phone PIN → their month's results and commission. The time
//! is read when the caller asks (the organisation's zone decides the day and the month).

use chrono::Datelike;
use leadline_store::Db;
use leadline_store::telephony::lookups;
use leadline_telephony::service::{LookupFuture, LookupRecord, Lookups};
use leadline_telephony::speech::{OrderStanding, ReceivableStatus, RepResults};

/// `Lookups` over the database.
pub struct StoreLookups {
    pub db: Db,
}

impl Lookups for StoreLookups {
    fn receivable_status(
        &self,
        number: String,
    ) -> LookupFuture<'_, Result<Option<ReceivableStatus>, String>> {
        Box::pin(async move {
            let now = leadline_store::now();
            let found = lookups::order_standing(&self.db, &number, now)
                .await
                .map_err(|error| error.to_string())?;
            Ok(found.map(|order| ReceivableStatus {
                status: match order.status {
                    "paid" => OrderStanding::Paid,
                    "overdue" => OrderStanding::Overdue,
                    "cancelled" => OrderStanding::Cancelled,
                    "not_confirmed" => OrderStanding::NotConfirmed,
                    _ => OrderStanding::Due,
                },
                open_fen: order.open_fen,
                next_due: order
                    .next_due
                    .map(|day| (day.year(), day.month(), day.day())),
            }))
        })
    }

    fn rep_results(&self, pin: String) -> LookupFuture<'_, Result<Option<RepResults>, String>> {
        Box::pin(async move {
            let now = leadline_store::now();
            let found = lookups::rep_month(&self.db, &pin, now)
                .await
                .map_err(|error| error.to_string())?;
            if let Some(month) = &found {
                // Who asked, never the PIN.
                tracing::info!(
                    user_id = month.user_id.0,
                    "a rep heard their month by phone"
                );
            }
            Ok(found.map(|month| RepResults {
                orders: month.orders,
                amount_fen: month.revenue_fen,
                commission_fen: month.commission_fen,
            }))
        })
    }
}

/// The look-ups of a call as stored with it (JSON list).
pub fn lookups_json(records: &[LookupRecord]) -> String {
    let list: Vec<serde_json::Value> = records
        .iter()
        .map(|record| {
            serde_json::json!({
                "lookup": record.lookup,
                "number": record.number,
                "outcome": record.outcome,
                "fragments": record.fragments,
            })
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}
