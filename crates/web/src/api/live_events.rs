//! The supervisor's live view, pushed: a server-sent event stream that sends the view whenever
//! its numbers change. Each stream reads a cheap change marker from the database about once a
//! second and rebuilds the view only when the marker moved, or every [`FULL_EVERY`] (revisits
//! turn overdue as time passes, without any write); it sends the view only when it differs from
//! the one it sent last. The database is the only source of truth, so a call recorded through
//! any app server reaches streams open on every other one.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use leadline_store::call_stats::StatsDay;
use leadline_store::workday::live::{self, LiveMarker};
use leadline_store::{Db, StoreError, auth::users, now};

use super::workspace::{live_view, stats_day};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use leadline_engine::jobs_runner::POLL_EVERY;

/// How often a stream rebuilds the view even though the marker did not move, and checks that
/// its user may still watch.
pub const FULL_EVERY: Duration = Duration::from_secs(15);

/// One open live stream: what it last saw and sent.
struct LiveFeed {
    db: Db,
    caller: Caller,
    stop: tokio::sync::watch::Receiver<bool>,
    /// The statistics day and the marker the last view was built at.
    seen: (StatsDay, LiveMarker),
    /// The JSON of the last view sent.
    sent: String,
    last_full: Instant,
    /// The first view, sent as soon as the stream opens.
    first: Option<Event>,
}

fn live_event(json: &str) -> Event {
    Event::default().event("live").data(json)
}

impl LiveFeed {
    /// The view to send now, if it changed.
    async fn look(&mut self) -> leadline_store::Result<Option<Event>> {
        // Logged out, token revoked, session expired or deactivated: the stream ends.
        let user = self
            .caller
            .signed_in_now(&self.db)
            .await?
            .ok_or(StoreError::Forbidden)?;
        let full = self.last_full.elapsed() >= FULL_EVERY;
        if full {
            // Follows a change of role or teams.
            self.caller.viewer = users::viewer(&self.db, &user).await?;
            self.caller.user = user;
        }
        let day = stats_day(&self.db, now()).await?;
        let marker = live::change_marker(&self.db, &self.caller.viewer, &day).await?;
        let seen = (day, marker);
        if !full && seen == self.seen {
            return Ok(None);
        }
        let view = live_view(&self.db, &self.caller).await?;
        self.seen = seen;
        self.last_full = Instant::now();
        let json = match serde_json::to_string(&view) {
            Ok(json) => json,
            Err(e) => {
                tracing::error!(error = %e, "live view not serialisable");
                return Ok(None);
            }
        };
        if json == self.sent {
            return Ok(None);
        }
        self.sent = json;
        Ok(Some(live_event(&self.sent)))
    }

    async fn next(mut self) -> Option<(Result<Event, Infallible>, LiveFeed)> {
        if let Some(e) = self.first.take() {
            return Some((Ok(e), self));
        }
        loop {
            if *self.stop.borrow() {
                return None;
            }
            tokio::select! {
                _ = self.stop.changed() => return None,
                _ = tokio::time::sleep(POLL_EVERY) => {}
            }
            match self.look().await {
                Ok(Some(e)) => return Some((Ok(e), self)),
                Ok(None) => {}
                // The user may no longer watch (signed out, deactivated, or no longer a
                // supervisor).
                Err(StoreError::Forbidden | StoreError::NotFound) => return None,
                Err(e) => tracing::warn!(error = %e, "live stream poll failed"),
            }
        }
    }
}

/// GET /api/v1/supervisor/live/events — server-sent events: `live` with the live view (the body
/// of GET /api/v1/supervisor/live) at once, then again whenever it changes. Supervisors see
/// their teams, the admin everyone; agents and sales reps are refused.
#[utoipa::path(get, path = "/api/v1/supervisor/live/events", responses((status = 200, description = "text/event-stream: `live` with the live view at once and after each change"), (status = 403, description = "Agents and sales")))]
pub async fn stream(State(state): State<AppState>, caller: Caller) -> ApiResult<impl IntoResponse> {
    let db = state.db.clone();
    let day = stats_day(&db, now()).await?;
    // The marker first: it refuses agents and sales reps before anything is built.
    let marker = live::change_marker(&db, &caller.viewer, &day).await?;
    let view = live_view(&db, &caller).await?;
    let sent = serde_json::to_string(&view).map_err(|e| {
        crate::error::AppError::Store(StoreError::Internal(format!("live view: {e}")))
    })?;
    let feed = LiveFeed {
        db,
        caller,
        stop: state.hub.stopping(),
        seen: (day, marker),
        first: Some(live_event(&sent)),
        sent,
        last_full: Instant::now(),
    };
    let stream = futures_util::stream::unfold(feed, LiveFeed::next);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
