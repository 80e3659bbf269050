//! The pages' routes (server-rendered HTML, plain forms, their scripts).

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use super::{search_script, workspace_script};
use crate::AppState;
use crate::pages;

/// The pages' routes (`upload_limit`: the largest upload body with its form fields).
pub(super) fn routes(upload_limit: usize) -> Router<AppState> {
    Router::new()
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
        .route("/dashboard/events", get(pages::dashboard::events))
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
        // issue 27: vm27
        .route("/voicemails", get(pages::telephony::list))
        .route("/voicemails/{id}", post(pages::telephony::refile))
        .route("/voicemails/{id}/done", post(pages::telephony::done))
        .route("/calls/inbound", get(pages::telephony::inbound_calls))
        // issue 27: reminder calls (催缴)
        .route("/reminder-calls", get(pages::reminder_calls::list))
        // issue 27: prompt27
        .route("/ivr", get(pages::ivr::index))
        .route("/ivr/flow", post(pages::ivr::save_flow))
        .route(
            "/ivr/prompts",
            post(pages::ivr::upload_prompt).layer(DefaultBodyLimit::max(
                crate::ivr::MAX_PROMPT_BYTES + crate::api::uploads::FORM_OVERHEAD,
            )),
        )
        // issue 27: collect (a person's phone PIN, on their tokens page)
        .route("/phone-pin", post(pages::session::set_phone_pin))
        // issue 27: dial
        .route("/static/phone.js", get(pages::phone_pane::script))
}
