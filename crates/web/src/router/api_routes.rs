//! The API's routes, nested under `/api/v1`.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::AppState;
use crate::api::{self, admin, kb, leads, scripts, search, session, views};

/// The API's routes (`upload_limit`: the largest upload body with its form fields).
pub(super) fn routes(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/auth/token", post(session::create_token))
        .route("/auth/tokens", get(session::list_tokens))
        .route(
            "/auth/tokens/{id}",
            axum::routing::delete(session::revoke_token),
        )
        .route("/me", get(session::me))
        .route("/leads", get(leads::list).post(leads::create))
        .route("/leads/counts", get(leads::counts))
        // Import and export (issue 3).
        .route("/leads/export", get(api::exports::export))
        .route(
            "/imports",
            get(api::imports::list)
                .post(api::imports::create)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route(
            "/imports/preview",
            post(api::imports::preview).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/imports/{id}", get(api::imports::get))
        .route("/imports/{id}/errors", get(api::imports::errors))
        .route("/imports/{id}/resume", post(api::imports::resume))
        .route(
            "/import-mappings",
            get(api::imports::list_mappings).post(api::imports::save_mapping),
        )
        .route(
            "/leads/{id}",
            get(leads::get).patch(leads::patch).delete(leads::delete),
        )
        .route("/leads/{id}/restore", post(leads::restore))
        // issue 22: people
        .route(
            "/leads/{id}/backup",
            axum::routing::put(api::people::put_backup).delete(api::people::delete_backup),
        )
        .route(
            "/leads/{id}/personal",
            axum::routing::put(api::people::put_personal),
        )
        .route("/leads/{id}/handover", post(api::people::handover))
        .route("/leads/assign", post(api::people::assign))
        .route("/handovers", get(api::people::list_handovers))
        .route(
            "/absences",
            get(api::people::list_absences).post(api::people::create_absence),
        )
        .route(
            "/absences/{id}",
            axum::routing::delete(api::people::delete_absence),
        )
        .route("/leads/{id}/history", get(leads::history))
        .route("/views", get(views::list).post(views::create))
        .route("/views/{id}", axum::routing::delete(views::delete))
        .route("/users", get(admin::list_users).post(admin::create_user))
        .route("/users/{id}", axum::routing::patch(admin::update_user))
        .route("/teams", get(admin::list_teams).post(admin::create_team))
        .route("/teams/{id}/supervisors", post(admin::set_supervisor))
        .route(
            "/custom-fields",
            get(admin::list_fields).post(admin::create_field),
        )
        .route(
            "/custom-fields/{key}",
            axum::routing::delete(admin::delete_field),
        )
        // Scripts, the knowledge base and search (issue 5).
        .route("/search", get(search::search))
        .route("/scripts", get(scripts::list).post(scripts::create))
        .route(
            "/scripts/{id}",
            get(scripts::get)
                .patch(scripts::patch)
                .delete(scripts::delete),
        )
        .route("/scripts/{id}/share", post(scripts::share))
        .route(
            "/scripts/{id}/pin",
            post(scripts::pin).delete(scripts::unpin),
        )
        .route("/scripts/{id}/versions", get(scripts::versions))
        .route("/scripts/{id}/versions/{version}", get(scripts::version))
        .route(
            "/scripts/{id}/versions/{version}/restore",
            post(scripts::restore),
        )
        .route("/scripts/{id}/render", get(scripts::render))
        .route("/scripts/{id}/history", get(scripts::history))
        .route(
            "/kb/categories",
            get(kb::categories).post(kb::create_category),
        )
        .route("/kb/articles", get(kb::list).post(kb::create))
        .route(
            "/kb/articles/{id}",
            get(kb::get).patch(kb::patch).delete(kb::delete),
        )
        .route("/kb/articles/{id}/history", get(kb::history))
        // The agent's workspace: today, live events, plan, targets, ticker, live view (issue 4).
        .route("/agent/today", get(api::workspace::today))
        .route("/agent/events", get(api::workspace::events))
        .route(
            "/agent/plan",
            get(api::workspace::plan).post(api::workspace::pick),
        )
        .route("/agent/plan/fill", post(api::workspace::fill))
        .route(
            "/agent/revisit-preview",
            get(api::workspace::revisit_preview),
        )
        .route(
            "/agent/plan/{lead_id}",
            axum::routing::delete(api::workspace::unplan),
        )
        .route(
            "/agents/{id}/target",
            axum::routing::put(api::workspace::set_target),
        )
        .route(
            "/ticker",
            get(api::workspace::ticker).post(api::workspace::create_ticker),
        )
        .route(
            "/ticker/{id}",
            axum::routing::delete(api::workspace::delete_ticker),
        )
        .route("/supervisor/live", get(api::workspace::supervisor_live))
        .route("/supervisor/live/events", get(api::live_events::stream))
        // issue 22: 撞单 warning in the workspace
        .route(
            "/agent/leads/{id}/collision",
            get(api::workspace::collision_warning).post(api::workspace::open_collision),
        )
        // Calls, next call and the agent's-day configuration (issue 4, calls core).
        .route(
            "/leads/{id}/calls",
            get(api::calls::list).post(api::calls::create),
        )
        .route("/agent/next-call", post(api::agent::next_call))
        .route("/agent/release", post(api::agent::release))
        // issue 25: why next call found nothing
        .route("/agent/calling-now", get(api::agent::calling_now))
        .route(
            "/dispositions",
            get(api::workday_admin::list_dispositions).post(api::workday_admin::create_disposition),
        )
        .route(
            "/dispositions/{id}",
            axum::routing::patch(api::workday_admin::patch_disposition),
        )
        .route(
            "/revisit-rules",
            get(api::workday_admin::list_rules).post(api::workday_admin::create_rule),
        )
        .route(
            "/revisit-rules/{id}",
            axum::routing::patch(api::workday_admin::patch_rule)
                .delete(api::workday_admin::delete_rule),
        )
        .route(
            "/calling-hours",
            get(api::workday_admin::get_hours).put(api::workday_admin::put_hours),
        )
        .route(
            "/holidays",
            get(api::workday_admin::list_holidays).post(api::workday_admin::put_holiday),
        )
        .route(
            "/holidays/{day}",
            axum::routing::delete(api::workday_admin::delete_holiday),
        )
        .route(
            "/dnc",
            get(api::workday_admin::list_dnc).post(api::workday_admin::add_dnc),
        )
        .route(
            "/dnc/{number}",
            axum::routing::delete(api::workday_admin::remove_dnc),
        )
        .route(
            "/workday-settings",
            get(api::workday_admin::get_settings).put(api::workday_admin::put_settings),
        )
        // issue 22: detect
        .route(
            "/settings/company-contacts",
            get(api::detect::get_company_contacts).put(api::detect::put_company_contacts),
        )
        // issue 22: cases
        .route("/collisions", get(api::collisions::list))
        .route("/collisions/{id}", get(api::collisions::get))
        .route("/collisions/{id}/decision", post(api::collisions::decision))
        .route("/collisions/{id}/settle", post(api::collisions::settle))
        .route("/collisions/{id}/escalate", post(api::collisions::escalate))
        .route("/collisions/{id}/appeal", post(api::collisions::appeal))
        .route("/collision-ledger", get(api::collisions::ledger))
        .route(
            "/collision-policy",
            get(api::collisions::get_policy).put(api::collisions::put_policy),
        )
        // issue 22: reclaim
        .route(
            "/reclaim-rules",
            get(api::reclaim::list).post(api::reclaim::create),
        )
        .route(
            "/reclaim-rules/{id}",
            axum::routing::patch(api::reclaim::patch).delete(api::reclaim::delete),
        )
        .route(
            "/reclaim-settings",
            axum::routing::put(api::reclaim::put_settings),
        )
        .route(
            "/leads/{id}/protection",
            axum::routing::put(api::reclaim::protect).delete(api::reclaim::unprotect),
        )
        // issue 22: claim
        .route("/leads/{id}/claim", post(api::pools::claim))
        .route("/leads/{id}/release", post(api::pools::release))
        .route("/leads/{id}/ownership", get(api::pools::ownership))
        .route("/pools", get(api::pools::list).post(api::pools::create))
        .route("/pools/leads", get(api::pools::leads_in))
        .route("/pools/stats", get(api::pools::stats))
        .route(
            "/pools/{id}",
            axum::routing::patch(api::pools::patch).delete(api::pools::delete),
        )
        .route(
            "/claim-limits",
            get(api::pools::get_limits).put(api::pools::put_limits),
        )
        .route(
            "/pool-settings",
            axum::routing::put(api::pools::put_settings),
        )
        // issue 23: customers
        .route("/leads/{id}/convert", post(api::customers::convert))
        .route("/customers", get(api::customers::list))
        .route("/customers/{id}", get(api::customers::get))
        .route(
            "/customers/{id}/contacts",
            get(api::customers::contacts).post(api::customers::add_contact),
        )
        .route(
            "/customers/{id}/contacts/{contact_id}",
            axum::routing::put(api::customers::update_contact)
                .delete(api::customers::delete_contact),
        )
        // issue 23: pipeline
        .route(
            "/opportunities",
            get(api::pipeline::list).post(api::pipeline::create),
        )
        .route(
            "/opportunities/{id}",
            get(api::pipeline::get).patch(api::pipeline::patch),
        )
        .route("/opportunities/{id}/move", post(api::pipeline::move_to))
        .route("/opportunity-stages", get(api::pipeline::list_stages))
        .route("/pipeline-config/{list}", post(api::pipeline::add_entry))
        .route(
            "/pipeline-config/{list}/order",
            axum::routing::put(api::pipeline::order_entries),
        )
        .route(
            "/pipeline-config/{list}/{id}",
            axum::routing::patch(api::pipeline::patch_entry),
        )
        .route("/visits", post(api::pipeline::record_visit))
        .route(
            "/customers/{id}/visits",
            get(api::pipeline::customer_visits),
        )
        .route(
            "/visit-plan",
            get(api::pipeline::day_plan).post(api::pipeline::plan_visit),
        )
        .route(
            "/visit-plan/order",
            axum::routing::put(api::pipeline::order_plan),
        )
        .route(
            "/customers/{id}/grade",
            axum::routing::put(api::pipeline::override_grade).delete(api::pipeline::clear_grade),
        )
        .route("/customers/due", get(api::pipeline::due))
        .route("/grade-levels", get(api::pipeline::grade_levels))
        .route(
            "/grade-levels/{code}",
            axum::routing::patch(api::pipeline::patch_grade_level),
        )
        // issue 24: call quality checks
        .route(
            "/quality/items",
            get(api::quality::list_items).post(api::quality::add_item),
        )
        .route(
            "/quality/items/{id}",
            axum::routing::patch(api::quality::patch_item),
        )
        .route(
            "/calls/{id}/quality",
            get(api::quality::get_review).put(api::quality::put_review),
        )
        .route("/quality/calls", get(api::quality::queue))
        .route("/quality/summary", get(api::quality::summary))
        // issue 23: sales
        .route(
            "/products",
            get(api::sales::list_products).post(api::sales::create_product),
        )
        .route(
            "/products/{id}",
            axum::routing::put(api::sales::update_product),
        )
        .route(
            "/customers/{id}/orders",
            get(api::sales::customer_orders).post(api::sales::create_order),
        )
        .route(
            "/customers/{id}/quotations",
            get(api::sales::customer_quotations).post(api::sales::create_quotation),
        )
        .route("/quotations/{id}", get(api::sales::get_quotation))
        .route(
            "/quotations/{id}/order",
            post(api::sales::quotation_to_order),
        )
        // issue 23: quotation states (send / accept / reject)
        .route(
            "/quotations/{id}/{action}",
            post(api::sales::decide_quotation),
        )
        .route("/orders", get(api::sales::list_orders))
        .route("/orders/{id}", get(api::sales::get_order))
        .route("/orders/{id}/confirm", post(api::sales::confirm_order))
        .route("/orders/{id}/cancel", post(api::sales::cancel_order))
        .route(
            "/orders/{id}/payments",
            post(api::receivables::record_payment),
        )
        .route(
            "/orders/{id}/returns",
            post(api::receivables::record_return),
        )
        .route("/orders/{id}/notices", post(api::receivables::issue_notice))
        .route("/discount-requests", get(api::sales::pending_requests))
        .route(
            "/discount-requests/{id}/decision",
            post(api::sales::decide_request),
        )
        .route("/reports/collections", get(api::receivables::collections))
        .route("/reports/unpaid", get(api::receivables::unpaid))
        // issue 24: call statistics
        .route("/reports/calls", get(api::call_reports::calls))
        .route(
            "/settings/org-time-zone",
            get(api::call_reports::get_org_zone).put(api::call_reports::put_org_zone),
        )
        // issue 24: customer reports
        .route(
            "/reports/new-customers",
            get(api::customer_reports::new_customers_report),
        )
        .route(
            "/reports/customers-yearly",
            get(api::customer_reports::customers_yearly),
        )
        // issue 24: the dashboard
        .route("/dashboard", get(api::dashboard::get))
        // issue 24: assessment and commission rules
        .route("/assessments", get(api::assessments::list))
        .route("/assessments/export", get(api::assessments::export))
        .route(
            "/assessments/rules",
            get(api::assessments::get_rules).put(api::assessments::put_rules),
        )
        .route("/assessments/lock", post(api::assessments::lock))
        .route("/assessments/unlock", post(api::assessments::unlock))
        .route("/assessments/year/{year}", get(api::assessments::year))
        .route("/assessments/{user_id}/{month}", get(api::assessments::get))
        .route(
            "/assessments/{user_id}/{month}/adjust",
            post(api::assessments::adjust),
        )
        // issue 24: targets, daily reports and work plans
        .route(
            "/targets/{user_id}/progress",
            get(api::targets::user_progress),
        )
        .route(
            "/targets/{user_id}/{year}",
            get(api::targets::get_user).put(api::targets::put_user),
        )
        .route(
            "/teams/{id}/targets/progress",
            get(api::targets::team_progress),
        )
        .route(
            "/teams/{id}/targets/{year}",
            get(api::targets::get_team).put(api::targets::put_team),
        )
        .route(
            "/reports/daily/settings",
            get(api::daily_reports::settings).put(api::daily_reports::put_settings),
        )
        .route(
            "/reports/daily/{user_id}/{date}",
            get(api::daily_reports::get).post(api::daily_reports::submit),
        )
        .route(
            "/reports/daily/{user_id}/{date}/comments",
            post(api::daily_reports::comment),
        )
        .route(
            "/teams/{id}/reports/daily/{date}",
            get(api::daily_reports::team_day),
        )
        .route(
            "/work-plans",
            get(api::work_plans::list).post(api::work_plans::submit),
        )
        .route("/work-plans/{id}", get(api::work_plans::get))
        .route("/work-plans/{id}/decision", post(api::work_plans::decide))
        // issue 27: what the call service recorded
        .route("/voicemails", get(api::telephony::voicemails))
        .route("/calls", get(api::telephony::calls))
        // issue 27: vm27
        .route(
            "/voicemails/{id}",
            axum::routing::patch(api::voicemails::patch),
        )
        .route("/voicemails/{id}/audio", get(api::voicemails::audio))
        // issue 27: reminder calls (催缴)
        .route("/reminder-calls", get(api::reminder_calls::list))
        // issue 27: prompt27
        .route("/ivr/flows", get(api::ivr::list))
        .route("/ivr/flows/{number}", get(api::ivr::get).put(api::ivr::put))
        .route("/prompts", get(api::prompts::list))
        .route(
            "/prompts/{language}/{prompt}",
            get(api::prompts::audio).put(api::prompts::put),
        )
        // issue 27: collect
        .route(
            "/me/phone-pin",
            axum::routing::put(api::phone_pin::put_own).delete(api::phone_pin::delete_own),
        )
        .route(
            "/users/{id}/phone-pin",
            axum::routing::delete(api::phone_pin::reset),
        )
        // issue 27: dial
        .route("/calls/dial", post(api::phone_calls::dial))
        .route(
            "/calls/dial/{call_id}/hangup",
            post(api::phone_calls::hang_up),
        )
        .route("/agent/phone", get(api::phone_calls::phone))
        .route("/phone-calls/{id}", get(api::phone_calls::get))
        .route(
            "/phone-calls/{id}/recording",
            get(api::phone_calls::recording),
        )
        .route("/leads/{id}/phone-calls", get(api::phone_calls::of_lead))
        .route(
            "/customers/{id}/phone-calls",
            get(api::phone_calls::of_customer),
        )
        .route(
            "/users/{id}/seat",
            axum::routing::put(api::phone_calls::put_seat),
        )
        .route("/seats", get(api::phone_calls::list_seats))
        .route("/openapi.json", get(api::openapi::document))
        .fallback(|| async { crate::error::AppError::NotFound })
}
