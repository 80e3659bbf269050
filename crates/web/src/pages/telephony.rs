//! 语音留言 and 来电记录 pages (issue 27): the voicemails a user may hear, each playable, with
//! the re-filing form for admins and "done" for the person it was passed to; and, for admins,
//! the call log of inbound calls with the keys pressed and who hung up.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use leadline_domain::voicemail::{self as rules, Refiling, VoicemailCategory, VoicemailStatus};
use leadline_domain::{Role, UserId};
use leadline_store::auth::users::{self, User};
use leadline_store::telephony::voicemails::{self, Voicemail, VoicemailFilter};
use leadline_store::telephony::{self, Direction, PhoneCall};
use leadline_store::{StoreError, now};

use super::{Nav, OrPage, PageError, PageForm, PageResult, Path, render};
use crate::AppState;
use crate::api::voicemails::{parse_category, parse_status};
use crate::api::{pair, query_pairs};
use crate::auth::PageCaller;
use crate::error::AppError;

#[derive(Template)]
#[template(path = "voicemails.html")]
struct VoicemailsPage {
    nav: Nav,
    me: UserId,
    voicemails: Vec<Voicemail>,
    /// Whom an admin may pass a voicemail to.
    people: Vec<User>,
    status: String,
    category: String,
    saved: Option<i64>,
}

impl VoicemailsPage {
    fn categories(&self) -> Vec<&'static str> {
        VoicemailCategory::ALL.iter().map(|c| c.as_str()).collect()
    }

    fn statuses(&self) -> Vec<&'static str> {
        VoicemailStatus::ALL.iter().map(|s| s.as_str()).collect()
    }

    /// A category's words; a caller's category the flow named outside the five shows as named.
    fn category_label(&self, category: impl AsRef<str>) -> String {
        let category = category.as_ref();
        let key = format!("voicemail.category.{category}");
        if self.nav.lang.has(&key) {
            self.nav.t(&key).to_string()
        } else {
            category.to_string()
        }
    }

    fn status_label(&self, status: impl AsRef<str>) -> &'static str {
        self.nav.t(&format!("voicemail.status.{}", status.as_ref()))
    }

    fn is_filter(&self, chosen: impl AsRef<str>, value: impl AsRef<str>) -> bool {
        chosen.as_ref() == value.as_ref()
    }

    fn is_filed_under(&self, v: &Voicemail, category: impl AsRef<str>) -> bool {
        v.category == category.as_ref()
    }

    /// Whether the current category is one of the five (else the form keeps it unless changed).
    fn known_category(&self, v: &Voicemail) -> bool {
        VoicemailCategory::parse(&v.category).is_some()
    }

    fn seconds(&self, ms: &i64) -> String {
        let tenths = (*ms as f64 / 100.0).round() / 10.0;
        self.nav
            .lang
            .tf("voicemail.seconds", &[("n", &format!("{tenths:.1}"))])
    }

    fn role_label(&self, person: &User) -> &'static str {
        self.nav.t(&format!("role.{}", person.role.as_str()))
    }

    fn is_assignee(&self, v: &Voicemail, person: &User) -> bool {
        v.assignee_id == Some(person.id)
    }

    /// The caller may mark it done: an admin, or the person it was passed to, while not done.
    fn may_close(&self, v: &Voicemail) -> bool {
        v.filing().is_ok_and(|f| {
            f.status != VoicemailStatus::Done && rules::may_mark_done(self.nav.role, self.me, &f)
        })
    }
}

/// GET /voicemails — the voicemails the caller may hear (`?status=`, `?category=`).
pub async fn list(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(q.as_deref());
    let status = pair(&pairs, "status").unwrap_or("").to_string();
    let category = pair(&pairs, "category").unwrap_or("").to_string();
    let filter = VoicemailFilter {
        status: (!status.is_empty())
            .then(|| parse_status("status", &status))
            .transpose()
            .or_page(l)?,
        category: (!category.is_empty())
            .then(|| parse_category("category", &category))
            .transpose()
            .or_page(l)?,
    };
    let list = voicemails::list_voicemails(&state.db, &caller.viewer, &filter)
        .await
        .or_page(l)?;
    let people = if caller.user.role == Role::Admin {
        users::list_users(&state.db)
            .await
            .or_page(l)?
            .into_iter()
            .filter(|u| u.active)
            .collect()
    } else {
        Vec::new()
    };
    Ok(render(&VoicemailsPage {
        nav: Nav::new(&caller, "/voicemails"),
        me: caller.user.id,
        voicemails: list,
        people,
        status,
        category,
        saved: pair(&pairs, "saved").and_then(|s| s.parse().ok()),
    }))
}

/// The version a form was filled in on.
fn form_version(form: &PageForm) -> Result<i64, StoreError> {
    form.text("version")
        .parse()
        .map_err(|_| StoreError::invalid("version", "required"))
}

fn saved(id: i64) -> PageResult {
    Ok(Redirect::to(&format!("/voicemails?saved={id}#vm-{id}")).into_response())
}

/// POST /voicemails/{id} — an admin re-files it: `category` (empty keeps it), `assignee_id`
/// (empty keeps them), `note`, `version`.
pub async fn refile(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: PageForm,
) -> PageResult {
    let l = form.caller.lang;
    let version = form_version(&form).or_page(l)?;
    let category = form.text("category");
    let assignee = form.text("assignee_id");
    let change = Refiling {
        category: (!category.is_empty())
            .then(|| parse_category("category", &category))
            .transpose()
            .or_page(l)?,
        assignee: if assignee.is_empty() {
            None
        } else {
            Some(UserId(assignee.parse().map_err(|_| {
                PageError(l, StoreError::invalid("assignee_id", "unknown_user").into())
            })?))
        },
        note: Some(form.text("note")),
    };
    voicemails::refile(&state.db, &form.caller.viewer, id, &change, version, now())
        .await
        .or_page(l)?;
    saved(id)
}

/// POST /voicemails/{id}/done — the person it was passed to (or an admin) dealt with it.
pub async fn done(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: PageForm,
) -> PageResult {
    let l = form.caller.lang;
    let version = form_version(&form).or_page(l)?;
    voicemails::mark_done(&state.db, &form.caller.viewer, id, version, now())
        .await
        .or_page(l)?;
    saved(id)
}

#[derive(Template)]
#[template(path = "inbound_calls.html")]
struct InboundCallsPage {
    nav: Nav,
    calls: Vec<PhoneCall>,
}

impl InboundCallsPage {
    fn hung_up_label(&self, by: impl AsRef<str>) -> &'static str {
        self.nav
            .t(&format!("inbound_calls.hung_up_by.{}", by.as_ref()))
    }

    fn seconds(&self, s: &i64) -> String {
        self.nav
            .lang
            .tf("inbound_calls.seconds", &[("n", &s.to_string())])
    }
}

/// GET /calls/inbound — the call log of inbound calls (admins).
pub async fn inbound_calls(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
) -> PageResult {
    let l = caller.lang;
    if caller.user.role != Role::Admin {
        return Err(PageError(l, AppError::Forbidden));
    }
    let calls = telephony::list_calls(&state.db, Direction::Inbound)
        .await
        .or_page(l)?;
    Ok(render(&InboundCallsPage {
        nav: Nav::new(&caller, "/calls/inbound"),
        calls,
    }))
}
