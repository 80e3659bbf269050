//! Integration tests: the real server on port 0 over a fresh database per test — SQLite by
//! default, PostgreSQL (a fresh schema per test) when `LEADLINE_TEST_POSTGRES_URL` is set.

mod api_auth;
mod api_imports;
mod api_leads;
mod api_rules;
mod bad_input;
mod browser;
mod calls;
mod claim;
mod collision_browser;
mod collisions;
mod customers;
mod detect;
mod exports;
mod flood;
mod helpers;
mod if_match;
mod import_browser;
mod import_run;
mod integrity;
mod jobs;
mod kb;
mod kb_browser;
mod live_browser;
mod live_stream;
mod next_call;
mod pages;
mod path_ids;
mod people;
mod reclaim;
mod sales;
mod stored_values;
mod workday_admin;
mod workday_forms;
mod workspace;
mod workspace_browser;
