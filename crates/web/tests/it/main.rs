//! Integration tests: the real server on port 0 over a fresh database per test — SQLite by
//! default, PostgreSQL (a fresh schema per test) when `LEADLINE_TEST_POSTGRES_URL` is set.

mod answer_speed;
mod api_auth;
mod api_imports;
mod api_leads;
mod api_rules;
mod assessments;
mod bad_input;
mod browser;
mod call_reports;
mod calls;
mod chinese_first;
mod claim;
// issue 27: dial
mod click_to_call;
mod collision_browser;
mod collisions;
mod customer_reports;
mod customers;
mod daily_report_browser;
mod dashboard;
mod detect;
mod events_across;
mod export_roundtrip;
mod exports;
mod flood;
mod floor;
mod floor_browser;
mod floor_fit_browser;
mod floor_nav_browser;
mod floor_settings;
mod helpers;
mod if_match;
mod import_browser;
mod import_referral;
mod import_run;
// issue 27: dial
mod inbound_popup;
mod integrity;
// issue 27: prompt27
mod ivr_flows;
mod ivr_lookups;
mod ivr_prompts;
mod jobs;
mod kb;
mod kb_browser;
mod live_browser;
mod live_stream;
mod next_call;
mod pages;
mod path_ids;
mod people;
mod pipeline;
mod quality;
mod reclaim;
mod reminder_calls;
mod sales;
mod sales_browser;
mod sales_landing;
mod sales_products;
mod search_pinyin;
mod stored_values;
mod targets_pages;
mod targets_reports;
// issue 26: moving a floor to PostgreSQL
mod transfer;
mod voicemail_calls;
// issue 27: vm27
mod voicemail_browser;
mod voicemail_filing;
mod workday_admin;
mod workday_forms;
mod workspace;
mod workspace_browser;
mod workspace_ownership;
