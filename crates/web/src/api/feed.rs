//! A view pushed as server-sent events: sent at once, then again whenever it changes. Each
//! stream waits for the database's announcements (a call recorded on any app server, a change of
//! access) that concern it and rebuilds the view then, at most once per [`POLL_EVERY`]; without
//! any it rebuilds every catch-up period of the server (time passes without any write — revisits
//! turn overdue, the hour changes — and an announcement lost with a dropped connection is caught
//! up). It sends the view only when it differs from the one it sent last, and ends when the
//! caller may no longer see it (signed out, token revoked, deactivated, role changed).

use std::collections::HashSet;
use std::convert::Infallible;
use std::future::Future;
use std::time::{Duration, Instant};

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use leadline_domain::UserId;
use leadline_engine::jobs_runner::POLL_EVERY;
use leadline_store::notify::{Change, Changes, Kind, Woken};
use leadline_store::{Db, StoreError, auth::users};

use crate::AppState;
use crate::auth::Caller;

/// One kind of pushed view.
pub(crate) trait View: Send + Sync + 'static {
    /// The event's name (`event:` line).
    const EVENT: &'static str;

    /// The view for the caller as things are now (the event's data), and the agents whose
    /// recorded calls change it (`None`: anyone's).
    fn build(
        &self,
        db: &Db,
        caller: &Caller,
    ) -> impl Future<Output = leadline_store::Result<(String, Option<HashSet<UserId>>)>> + Send;
}

/// One open stream: what it last sent and what it waits on.
struct Feed<V: View> {
    view: V,
    db: Db,
    caller: Caller,
    stop: tokio::sync::watch::Receiver<bool>,
    changes: Changes,
    catch_up: Duration,
    /// The agents whose calls change the last view (`None`: anyone's).
    watched: Option<HashSet<UserId>>,
    /// The data of the last event sent.
    sent: String,
    last_look: Instant,
    /// The first view, sent as soon as the stream opens.
    first: Option<Event>,
}

fn event<V: View>(data: &str) -> Event {
    Event::default().event(V::EVENT).data(data)
}

/// Whether `change` may change a view watching `watched`, or end its stream.
fn wants(watched: &Option<HashSet<UserId>>, change: &Change) -> bool {
    match change.kind {
        Kind::Call => match watched {
            None => true,
            Some(agents) => change.user.is_some_and(|u| agents.contains(&u)),
        },
        Kind::Access | Kind::CatchUp => true,
        Kind::Notice | Kind::Job => false,
    }
}

impl<V: View> Feed<V> {
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
        let (data, watched) = self.view.build(&self.db, &self.caller).await?;
        self.watched = watched;
        if data == self.sent {
            return Ok(None);
        }
        self.sent = data;
        Ok(Some(event::<V>(&self.sent)))
    }

    async fn next(mut self) -> Option<(Result<Event, Infallible>, Feed<V>)> {
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
                woken = self.changes.wait_for(self.catch_up, |c| wants(watched, c)) => {
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
                // The caller may no longer watch (signed out, deactivated, role changed).
                Err(StoreError::Forbidden | StoreError::NotFound) => return None,
                Err(e) => tracing::warn!(error = %e, event = V::EVENT, "event stream look failed"),
            }
        }
    }
}

/// The stream of `view` for `caller`. Subscribed before the first view is built, so nothing
/// written after it is missed; a refusal to build the first view is the response's.
pub(crate) async fn open<V: View>(
    state: &AppState,
    caller: Caller,
    view: V,
) -> leadline_store::Result<Sse<impl Stream<Item = Result<Event, Infallible>> + use<V>>> {
    let db = state.db.clone();
    let changes = state.hub.changes.subscribe();
    let (sent, watched) = view.build(&db, &caller).await?;
    let feed = Feed {
        view,
        db,
        caller,
        stop: state.hub.stopping(),
        changes,
        catch_up: state.events_catch_up,
        watched,
        first: Some(event::<V>(&sent)),
        sent,
        last_look: Instant::now(),
    };
    let stream = futures_util::stream::unfold(feed, Feed::next);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
