//! The supervisor's live view, pushed: a server-sent event stream that sends the view whenever
//! its numbers change. Each stream waits for the database's announcements (a call recorded by
//! one of its agents on any app server, a change of access) and rebuilds the view then, at
//! most once per [`POLL_EVERY`]; without any it rebuilds every catch-up period of the server
//! (revisits turn overdue as time passes, without any write, and an announcement lost with a
//! dropped connection is caught up). It sends the view only when it differs from the one it
//! sent last.

use std::collections::HashSet;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use leadline_domain::UserId;
use leadline_store::notify::{Change, Changes, Kind, Woken};
use leadline_store::workday::live;
use leadline_store::{Db, StoreError, auth::users, now};

use super::workspace::{LiveView, live_view, stats_day};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use leadline_engine::jobs_runner::POLL_EVERY;

/// One open live stream: what it last sent and what it waits on.
struct LiveFeed {
    db: Db,
    caller: Caller,
    stop: tokio::sync::watch::Receiver<bool>,
    changes: Changes,
    catch_up: Duration,
    /// The agents of the last view: their calls change it.
    watched: HashSet<UserId>,
    /// The JSON of the last view sent.
    sent: String,
    last_look: Instant,
    /// The first view, sent as soon as the stream opens.
    first: Option<Event>,
}

fn live_event(json: &str) -> Event {
    Event::default().event("live").data(json)
}

fn agents_of(view: &LiveView) -> HashSet<UserId> {
    view.agents.iter().map(|a| a.agent.agent_id).collect()
}

impl LiveFeed {
    /// The view to send now, if it changed.
    async fn look(&mut self) -> leadline_store::Result<Option<Event>> {
        self.last_look = Instant::now();
        // Logged out, token revoked, session expired or deactivated: the stream ends.
        let user = self
            .caller
            .signed_in_now(&self.db)
            .await?
            .ok_or(StoreError::Forbidden)?;
        // Follows a change of role or teams.
        self.caller.viewer = users::viewer(&self.db, &user).await?;
        self.caller.user = user;
        let view = live_view(&self.db, &self.caller).await?;
        self.watched = agents_of(&view);
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

    /// Whether `change` may change this stream's view or end it.
    fn wants(watched: &HashSet<UserId>, change: &Change) -> bool {
        match change.kind {
            Kind::Call => change.user.is_some_and(|u| watched.contains(&u)),
            Kind::Access | Kind::CatchUp => true,
            Kind::Notice | Kind::Job => false,
        }
    }

    async fn next(mut self) -> Option<(Result<Event, Infallible>, LiveFeed)> {
        if let Some(e) = self.first.take() {
            return Some((Ok(e), self));
        }
        loop {
            if *self.stop.borrow() {
                return None;
            }
            let watched = &self.watched;
            tokio::select! {
                _ = self.stop.changed() => return None,
                woken = self.changes.wait_for(self.catch_up, |c| LiveFeed::wants(watched, c)) => {
                    if woken == Woken::Closed {
                        return None;
                    }
                }
            }
            // A busy floor announces many calls a second: one look per POLL_EVERY answers them.
            let gap = POLL_EVERY.saturating_sub(self.last_look.elapsed());
            if !gap.is_zero() {
                tokio::select! {
                    _ = self.stop.changed() => return None,
                    _ = tokio::time::sleep(gap) => {}
                }
            }
            self.changes.drain();
            match self.look().await {
                Ok(Some(e)) => return Some((Ok(e), self)),
                Ok(None) => {}
                // The user may no longer watch (signed out, deactivated, or no longer a
                // supervisor).
                Err(StoreError::Forbidden | StoreError::NotFound) => return None,
                Err(e) => tracing::warn!(error = %e, "live stream look failed"),
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
    // Subscribed before the first view is read: nothing written after it is missed.
    let changes = state.hub.changes.subscribe();
    let day = stats_day(&db, now()).await?;
    // The marker first: it refuses agents and sales reps before anything is built.
    live::change_marker(&db, &caller.viewer, &day).await?;
    let view = live_view(&db, &caller).await?;
    let sent = serde_json::to_string(&view).map_err(|e| {
        crate::error::AppError::Store(StoreError::Internal(format!("live view: {e}")))
    })?;
    let feed = LiveFeed {
        db,
        caller,
        stop: state.hub.stopping(),
        changes,
        catch_up: state.events_catch_up,
        watched: agents_of(&view),
        first: Some(live_event(&sent)),
        sent,
        last_look: Instant::now(),
    };
    let stream = futures_util::stream::unfold(feed, LiveFeed::next);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
