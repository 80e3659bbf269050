//! The supervisor's live view, pushed: a server-sent event stream that sends the view whenever
//! its numbers change (see [`super::feed`]): a call recorded by one of its agents on any app
//! server or a change of access rebuilds it.

use std::collections::HashSet;

use axum::extract::State;
use axum::response::IntoResponse;
use leadline_store::workday::live;
use leadline_store::{Db, StoreError, now};

use super::feed::{self, View};
use super::workspace::{live_view, stats_day};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;

/// The live view (the body of GET /api/v1/supervisor/live).
struct Live;

impl View for Live {
    const EVENT: &'static str = "live";

    async fn build(
        &self,
        db: &Db,
        caller: &Caller,
    ) -> leadline_store::Result<(String, Option<HashSet<leadline_domain::UserId>>)> {
        let view = live_view(db, caller).await?;
        let json = serde_json::to_string(&view)
            .map_err(|e| StoreError::Internal(format!("live view: {e}")))?;
        Ok((
            json,
            Some(view.agents.iter().map(|a| a.agent.agent_id).collect()),
        ))
    }
}

/// GET /api/v1/supervisor/live/events — server-sent events: `live` with the live view (the body
/// of GET /api/v1/supervisor/live) at once, then again whenever it changes. Supervisors see
/// their teams, the admin everyone; agents and sales reps are refused.
#[utoipa::path(get, path = "/api/v1/supervisor/live/events", responses((status = 200, description = "text/event-stream: `live` with the live view at once and after each change"), (status = 403, description = "Agents and sales")))]
pub async fn stream(State(state): State<AppState>, caller: Caller) -> ApiResult<impl IntoResponse> {
    // The marker first: it refuses agents and sales reps before anything is built.
    let day = stats_day(&state.db, now()).await?;
    live::change_marker(&state.db, &caller.viewer, &day).await?;
    Ok(feed::open(&state, caller, Live).await?)
}
