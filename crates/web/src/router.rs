//! Every route in one place: the API under `/api/v1`, the pages, health and metrics.

use axum::Router;
use axum::extract::FromRequestParts;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::api::{self, admin, kb, leads, scripts, search, session, views};
use crate::auth::Caller;
use crate::error::AppError;
use crate::pages;
use crate::{AppState, metrics};

pub fn router(state: AppState) -> Router {
    // An upload's body: the file and the few fields around it.
    let upload_limit = usize::try_from(state.max_upload_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(api::uploads::FORM_OVERHEAD);
    let api = Router::new()
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
        .route("/openapi.json", get(api::openapi::document))
        .fallback(|| async { crate::error::AppError::NotFound });

    Router::new()
        .nest("/api/v1", api)
        .route("/", get(pages::home))
        .route(
            "/login",
            get(pages::session::login_page).post(pages::session::login_submit),
        )
        .route("/logout", post(pages::session::logout))
        .route("/lang/{code}", get(pages::session::switch_lang))
        .route("/leads", get(pages::leads::list).post(pages::leads::create))
        .route("/leads/new", get(pages::leads::new_form))
        .route(
            "/leads/{id}",
            get(pages::leads::detail).post(pages::leads::update),
        )
        .route("/leads/{id}/edit", get(pages::leads::edit_form))
        .route("/leads/{id}/delete", post(pages::leads::delete))
        .route("/leads/{id}/restore", post(pages::leads::restore))
        // issue 22: people
        .route("/leads/assign", post(pages::people::assign))
        .route("/handovers", get(pages::people::handovers))
        // issue 23: customers
        .route("/customers", get(pages::customers::list))
        .route("/sales", get(pages::customers::queue))
        .route("/customers/{id}", get(pages::customers::card))
        .route(
            "/customers/{id}/contacts",
            post(pages::customers::add_contact),
        )
        .route(
            "/customers/{id}/contacts/{contact_id}/delete",
            post(pages::customers::delete_contact),
        )
        .route("/leads/{id}/convert", post(pages::customers::convert))
        // issue 24: assessment (月度 / 年度考核)
        .route("/assessments", get(pages::assessments::month))
        .route("/assessments/year", get(pages::assessments::year))
        .route("/assessments/adjust", post(pages::assessments::adjust))
        .route("/assessments/lock", post(pages::assessments::lock))
        .route("/assessments/unlock", post(pages::assessments::unlock))
        // issue 24: call quality checks
        .route("/quality", get(pages::quality::queue))
        .route(
            "/quality/calls/{id}",
            get(pages::quality::review).post(pages::quality::save),
        )
        .route("/admin/quality", get(pages::quality::admin))
        .route("/admin/quality/add", post(pages::quality::add))
        .route("/admin/quality/update", post(pages::quality::update))
        // issue 23: pipeline
        .route("/pipeline", get(pages::pipeline::board))
        .route("/pipeline/new", post(pages::pipeline::create))
        .route("/pipeline/{id}/move", post(pages::pipeline::move_card))
        .route(
            "/opportunities/{id}",
            get(pages::pipeline::detail).post(pages::pipeline::update),
        )
        .route(
            "/visits/plan",
            get(pages::pipeline_visits::plan).post(pages::pipeline_visits::add),
        )
        .route("/visits/plan/step", post(pages::pipeline_visits::step))
        .route("/visits/record", post(pages::pipeline_visits::record))
        .route("/customers/due", get(pages::pipeline_visits::due))
        .route(
            "/customers/{id}/grade",
            post(pages::pipeline_visits::override_grade),
        )
        .route("/static/pipeline.js", get(pages::pipeline_visits::script))
        .route(
            "/static/pipeline.css",
            get(pages::pipeline_visits::stylesheet),
        )
        .route("/admin/pipeline", get(pages::pipeline_admin::index))
        .route("/admin/pipeline/add", post(pages::pipeline_admin::add))
        .route(
            "/admin/pipeline/update",
            post(pages::pipeline_admin::update),
        )
        .route("/admin/pipeline/step", post(pages::pipeline_admin::step))
        .route("/admin/pipeline/grade", post(pages::pipeline_admin::grade))
        .route(
            "/admin/pipeline/window",
            post(pages::pipeline_admin::window),
        )
        // issue 22: claim
        .route("/pools", get(pages::pools::page))
        .route("/pools/claim", post(pages::pools::claim))
        .route("/pools/settings", post(pages::pools::settings))
        .route("/leads/{id}/release", post(pages::pools::release))
        .route(
            "/admin/workday/dispositions/valid-follow-up",
            post(pages::workday_admin::toggle_valid_follow_up),
        )
        .route("/views", post(pages::leads::save_view))
        .route("/views/{id}/delete", post(pages::leads::delete_view))
        .route(
            "/admin/fields",
            get(pages::admin::fields).post(pages::admin::create_field),
        )
        .route(
            "/admin/fields/{key}/delete",
            post(pages::admin::delete_field),
        )
        .route(
            "/admin/users",
            get(pages::admin::users).post(pages::admin::create_user),
        )
        .route("/admin/users/{id}", post(pages::admin::update_user))
        .route(
            "/admin/teams",
            get(pages::admin::teams).post(pages::admin::create_team),
        )
        .route(
            "/admin/teams/{id}/supervisors",
            post(pages::admin::set_supervisor),
        )
        .route(
            "/tokens",
            get(pages::session::tokens).post(pages::session::create_token),
        )
        .route("/tokens/{id}/revoke", post(pages::session::revoke_token))
        // Scripts, the knowledge base and search (issue 5).
        .route("/search", get(pages::search::page))
        .route("/static/search.js", get(search_script))
        // Import pages (issue 3).
        .route(
            "/imports",
            get(pages::imports::index)
                .post(pages::imports::upload)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/imports/preview", get(pages::imports::preview))
        .route("/imports/start", post(pages::imports::start))
        .route("/imports/{id}", get(pages::imports::job))
        .route("/static/import.js", get(pages::imports::script))
        .route(
            "/scripts",
            get(pages::scripts::list).post(pages::scripts::create),
        )
        .route("/scripts/new", get(pages::scripts::new_form))
        .route(
            "/scripts/{id}",
            get(pages::scripts::detail).post(pages::scripts::update),
        )
        .route("/scripts/{id}/share", post(pages::scripts::share))
        .route("/scripts/{id}/pin", post(pages::scripts::pin))
        .route("/scripts/{id}/unpin", post(pages::scripts::unpin))
        .route("/scripts/{id}/restore", post(pages::scripts::restore))
        .route("/scripts/{id}/delete", post(pages::scripts::delete))
        .route("/kb", get(pages::kb::index))
        .route("/kb/articles", post(pages::kb::create))
        .route("/kb/articles/new", get(pages::kb::new_form))
        .route(
            "/kb/articles/{id}",
            get(pages::kb::article).post(pages::kb::update),
        )
        .route("/kb/articles/{id}/edit", get(pages::kb::edit_form))
        .route("/kb/articles/{id}/delete", post(pages::kb::delete))
        // The agent's workspace, plan, live view and ticker admin (issue 4).
        .route("/workspace", get(pages::workspace::page))
        .route("/static/workspace.js", get(workspace_script))
        .route(
            "/workspace/plan",
            get(pages::workspace::plan).post(pages::workspace::plan_pick),
        )
        .route("/workspace/plan/fill", post(pages::workspace::plan_fill))
        .route(
            "/workspace/plan/remove",
            post(pages::workspace::plan_remove),
        )
        .route("/supervisor/live", get(pages::workspace::live))
        .route("/static/live.js", get(pages::workspace::live_script))
        .route(
            "/supervisor/targets/{id}",
            post(pages::workspace::set_target),
        )
        .route(
            "/admin/ticker",
            get(pages::workspace::ticker_admin).post(pages::workspace::ticker_create),
        )
        .route(
            "/admin/ticker/{id}/delete",
            post(pages::workspace::ticker_delete),
        )
        // issue 22: 撞单 warning in the workspace
        .route(
            "/workspace/collision",
            post(pages::workspace::open_collision),
        )
        // issue 22: reclaim
        .route("/admin/ownership", get(pages::reclaim::index))
        .route(
            "/admin/ownership/reclaim-rules",
            post(pages::reclaim::rule_save),
        )
        .route(
            "/admin/ownership/reclaim-rules/delete",
            post(pages::reclaim::rule_delete),
        )
        .route(
            "/admin/ownership/reclaim-settings",
            post(pages::reclaim::settings),
        )
        // The agent's-day settings page (issue 4, calls core).
        .route("/admin/workday", get(pages::workday_admin::index))
        .route("/admin/workday/dnc", post(pages::workday_admin::dnc_add))
        .route(
            "/admin/workday/dnc/remove",
            post(pages::workday_admin::dnc_remove),
        )
        .route(
            "/admin/workday/holidays",
            post(pages::workday_admin::holiday),
        )
        .route(
            "/admin/workday/dispositions/toggle",
            post(pages::workday_admin::toggle_disposition),
        )
        .route(
            "/admin/workday/rules",
            post(pages::workday_admin::rule_save),
        )
        .route(
            "/admin/workday/rules/delete",
            post(pages::workday_admin::rule_delete),
        )
        .route("/admin/workday/hours", post(pages::workday_admin::hours))
        // issue 25: the icon browsers ask for
        .route("/favicon.ico", get(pages::favicon))
        // issue 25: dispositions added, renamed and given hotkeys on the settings page
        .route(
            "/admin/workday/dispositions/add",
            post(pages::dispositions_admin::add),
        )
        .route(
            "/admin/workday/dispositions/edit",
            post(pages::dispositions_admin::edit),
        )
        // issue 22: cases
        .route("/collisions", get(pages::collisions::list))
        .route("/collisions/{id}", get(pages::collisions::detail))
        .route("/collisions/{id}/settle", post(pages::collisions::settle))
        .route(
            "/collisions/{id}/escalate",
            post(pages::collisions::escalate),
        )
        .route("/collisions/{id}/appeal", post(pages::collisions::appeal))
        .route("/collisions/{id}/decision", post(pages::collisions::decide))
        .route("/collision-ledger", get(pages::collisions::ledger))
        // issue 23: sales
        .route(
            "/sales/orders",
            get(pages::sales::orders_list).post(pages::sales::create_order),
        )
        .route("/sales/orders/new", get(pages::sales::new_order_form))
        .route("/sales/orders/{id}", get(pages::sales::order_detail))
        .route(
            "/sales/orders/{id}/{action}",
            post(pages::sales::order_action),
        )
        .route("/sales/approvals", get(pages::sales::approvals_page))
        .route("/sales/approvals/{id}", post(pages::sales::decide))
        .route(
            "/sales/products",
            get(pages::sales::products_page).post(pages::sales::create_product),
        )
        // issue 23: the product edit page
        .route(
            "/sales/products/{id}",
            get(pages::sales_products::edit_form).post(pages::sales_products::save),
        )
        .route(
            "/sales/collections",
            get(pages::sales_receivables::collections),
        )
        .route("/sales/unpaid", get(pages::sales_receivables::unpaid))
        .route("/sales/notices/{id}", get(pages::sales_receivables::notice))
        // issue 24: call statistics
        .route("/reports/calls", get(pages::call_reports::page))
        .route(
            "/admin/workday/org-zone",
            post(pages::workday_admin::org_zone),
        )
        // issue 24: customer reports
        .route(
            "/reports/new-customers",
            get(pages::customer_reports::new_customers),
        )
        .route(
            "/reports/customers-yearly",
            get(pages::customer_reports::customers_yearly),
        )
        // issue 24: the dashboard
        .route("/dashboard", get(pages::dashboard::page))
        .route("/dashboard/panel", get(pages::dashboard::panel))
        .route("/static/dashboard.js", get(pages::dashboard::script))
        // issue 24: targets, daily reports and work plans
        .route(
            "/reports/daily",
            get(pages::daily_reports::own).post(pages::daily_reports::submit),
        )
        .route("/reports/daily/team", get(pages::daily_reports::team))
        .route(
            "/reports/daily/{user_id}/{date}",
            get(pages::daily_reports::one),
        )
        .route(
            "/reports/daily/{user_id}/{date}/comments",
            post(pages::daily_reports::comment),
        )
        .route(
            "/targets",
            get(pages::targets::grid).post(pages::targets::save),
        )
        .route(
            "/plans",
            get(pages::work_plans::list).post(pages::work_plans::submit),
        )
        .route("/plans/{id}/decision", post(pages::work_plans::decide))
        .route("/static/app.css", get(stylesheet))
        .route("/static/forms.js", get(forms_script))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .fallback(pages::not_found)
        .layer(DefaultBodyLimit::max(api::MAX_JSON_BODY))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::from_fn(crate::panic_guard::catch_panic))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/app.css"),
    )
}

/// Behaviours of plain forms (a select that submits its form), for every page.
async fn forms_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/forms.js"),
    )
}

/// The few lines of search-as-you-type used by the search page and the lead page.
async fn search_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/search.js"),
    )
}

/// The agent workspace's script: next call, the call form with its hotkeys, live events.
async fn workspace_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/workspace.js"),
    )
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// The counters, for the configured scraper or a signed-in admin; anyone else is refused (401
/// without credentials, 403 for a non-admin).
async fn metrics_text(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
) -> Result<impl IntoResponse, AppError> {
    if !state.metrics.is_scraper(&parts.headers) {
        let mut parts = parts;
        Caller::from_request_parts(&mut parts, &state)
            .await?
            .require_admin()?;
    }
    let leads = leadline_store::leads::count_live(&state.db)
        .await
        .unwrap_or(-1);
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(leads),
    ))
}

/// What every answer (page, API, error, file) tells the browser: run only this server's
/// scripts and styles, never inside another site's frame, do not guess content types, and send
/// no address of ours to other sites.
async fn security_headers(mut res: Response) -> Response {
    const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
        img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
        form-action 'self'; frame-ancestors 'none'";
    let headers = res.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers
            .entry(name)
            .or_insert(axum::http::HeaderValue::from_static(value));
    }
    res
}
