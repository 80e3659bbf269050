//! Leadline's application work that is not HTTP: the import run, the export run and the jobs
//! runner, shared by the web server and the command line.

// issue 24: the daily report reminder
pub mod daily_report_reminder_job;
pub mod export_run;
pub mod grade_job;
pub mod import_job;
mod import_owners;
mod import_referrals;
pub mod import_run;
pub mod job_kinds;
pub mod jobs_runner;
// issue 23: sales
pub mod payment_reminder_job;
pub mod reclaim_job;
pub mod revisit_reminder;
pub mod upload_files;
