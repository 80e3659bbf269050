//! The OpenAPI document served at `/api/v1/openapi.json`.

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(title = "Leadline API", description = "Telemarketing CRM: leads, views, people, call scripts, knowledge base and search. Authenticate with `Authorization: Bearer <token>` from `POST /api/v1/auth/token`."),
    paths(
        super::session::create_token, super::session::list_tokens, super::session::revoke_token, super::session::me,
        super::leads::create, super::leads::get, super::leads::patch, super::leads::delete, super::leads::restore,
        super::leads::list, super::leads::counts, super::leads::history,
        super::views::list, super::views::create, super::views::delete,
        super::admin::list_users, super::admin::create_user, super::admin::update_user,
        super::admin::list_teams, super::admin::create_team, super::admin::set_supervisor,
        super::admin::list_fields, super::admin::create_field, super::admin::delete_field,
        super::search::search,
        super::scripts::create, super::scripts::list, super::scripts::get, super::scripts::patch, super::scripts::delete,
        super::scripts::share, super::scripts::pin, super::scripts::unpin, super::scripts::versions,
        super::scripts::version, super::scripts::restore, super::scripts::render, super::scripts::history,
        super::kb::create, super::kb::get, super::kb::list, super::kb::patch, super::kb::delete, super::kb::history,
        super::kb::categories, super::kb::create_category,
        super::exports::export,
        super::imports::preview, super::imports::create, super::imports::list, super::imports::get,
        super::imports::resume, super::imports::errors, super::imports::list_mappings, super::imports::save_mapping,
        super::calls::create, super::calls::list, super::agent::next_call, super::agent::release,
        super::workday_admin::list_dispositions, super::workday_admin::create_disposition, super::workday_admin::patch_disposition,
        super::workday_admin::list_rules, super::workday_admin::create_rule, super::workday_admin::patch_rule, super::workday_admin::delete_rule,
        super::workday_admin::get_hours, super::workday_admin::put_hours, super::workday_admin::list_holidays,
        super::workday_admin::put_holiday, super::workday_admin::delete_holiday,
        super::workday_admin::list_dnc, super::workday_admin::add_dnc, super::workday_admin::remove_dnc,
        super::workday_admin::get_settings, super::workday_admin::put_settings,
        super::detect::get_company_contacts, super::detect::put_company_contacts,
        super::workspace::today, super::workspace::events, super::workspace::plan, super::workspace::pick,
        super::workspace::fill, super::workspace::unplan, super::workspace::set_target, super::workspace::ticker,
        super::workspace::create_ticker, super::workspace::delete_ticker, super::workspace::supervisor_live,
        super::workspace::revisit_preview, super::live_events::stream,
        super::workspace::collision_warning, super::workspace::open_collision,
        super::collisions::list, super::collisions::get, super::collisions::decision, super::collisions::settle,
        super::collisions::escalate, super::collisions::appeal, super::collisions::ledger,
        super::collisions::get_policy, super::collisions::put_policy,
        super::people::put_backup, super::people::delete_backup, super::people::put_personal,
        super::people::handover, super::people::list_handovers, super::people::assign,
        super::people::create_absence, super::people::list_absences, super::people::delete_absence,
        super::reclaim::list, super::reclaim::create, super::reclaim::patch, super::reclaim::delete,
        super::reclaim::put_settings, super::reclaim::protect, super::reclaim::unprotect,
        // issue 22: claim
        super::pools::claim, super::pools::release, super::pools::ownership, super::pools::list,
        super::pools::leads_in, super::pools::create, super::pools::patch, super::pools::delete,
        super::pools::get_limits, super::pools::put_limits, super::pools::put_settings, super::pools::stats,
        // issue 23: customers
        super::customers::convert, super::customers::list, super::customers::get, super::customers::contacts,
        super::customers::add_contact, super::customers::update_contact, super::customers::delete_contact,
        // issue 24: call quality checks
        super::quality::list_items, super::quality::add_item, super::quality::patch_item,
        super::quality::get_review, super::quality::put_review, super::quality::queue, super::quality::summary,
        // issue 23: pipeline
        super::pipeline::list, super::pipeline::get, super::pipeline::create, super::pipeline::patch,
        super::pipeline::move_to, super::pipeline::list_stages, super::pipeline::add_entry,
        super::pipeline::patch_entry, super::pipeline::order_entries, super::pipeline::record_visit,
        super::pipeline::customer_visits, super::pipeline::day_plan, super::pipeline::plan_visit,
        super::pipeline::order_plan, super::pipeline::override_grade, super::pipeline::clear_grade,
        super::pipeline::grade_levels, super::pipeline::patch_grade_level, super::pipeline::due,
        // issue 23: sales
        super::sales::list_products, super::sales::create_product, super::sales::update_product,
        super::sales::create_order, super::sales::customer_orders, super::sales::list_orders,
        super::sales::get_order, super::sales::confirm_order, super::sales::cancel_order,
        super::sales::pending_requests, super::sales::decide_request, super::sales::create_quotation,
        super::sales::customer_quotations, super::sales::get_quotation, super::sales::quotation_to_order,
        super::receivables::record_payment, super::receivables::record_return, super::receivables::issue_notice,
        super::receivables::collections, super::receivables::unpaid,
        // issue 25: why next call found nothing
        super::agent::calling_now,
        // issue 23: quotation states
        super::sales::decide_quotation,
        // issue 24: call statistics
        super::call_reports::calls, super::call_reports::get_org_zone, super::call_reports::put_org_zone,
        // issue 24: targets, daily reports and work plans
        super::targets::get_user, super::targets::put_user, super::targets::get_team, super::targets::put_team,
        super::targets::user_progress, super::targets::team_progress,
        super::daily_reports::get, super::daily_reports::submit, super::daily_reports::comment,
        super::daily_reports::team_day, super::daily_reports::settings, super::daily_reports::put_settings,
        super::work_plans::list, super::work_plans::submit, super::work_plans::get, super::work_plans::decide,
        // issue 24: the dashboard
        super::dashboard::get,
        // issue 24: assessment and commission rules
        super::assessments::list, super::assessments::get, super::assessments::adjust, super::assessments::lock,
        super::assessments::unlock, super::assessments::year, super::assessments::get_rules,
        super::assessments::put_rules, super::assessments::export,
        // issue 24: customer reports
        super::customer_reports::new_customers_report, super::customer_reports::customers_yearly,
        // issue 27: what the call service recorded
        super::telephony::voicemails, super::telephony::calls,
        // issue 27: vm27
        super::voicemails::audio, super::voicemails::patch,
        // issue 27: prompt27 (IVR flows and prompt files)
        super::ivr::list, super::ivr::get, super::ivr::put,
        super::prompts::list, super::prompts::audio, super::prompts::put,
        // issue 27: reminder calls (催缴)
        super::reminder_calls::list,
        // issue 27: collect (phone PINs for the IVR)
        super::phone_pin::put_own, super::phone_pin::delete_own, super::phone_pin::reset,
        // issue 27: dial
        super::phone_calls::dial, super::phone_calls::hang_up, super::phone_calls::phone,
        super::phone_calls::get, super::phone_calls::recording, super::phone_calls::of_lead,
        super::phone_calls::of_customer, super::phone_calls::put_seat, super::phone_calls::list_seats,
    ),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

pub async fn document() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}
