//! The `leadline` command: serve, migrate, seed demo data, benchmark.

mod bench;
// issue 27: SIPp load on the call service
mod bench_calls;
mod bench_customers;
mod bench_floor;
mod bench_import;
mod bench_next_call;
mod bench_pg_stats;
mod bench_reclaim;
// issue 24: call statistics
mod bench_reports;
mod bench_search;
mod config;
mod import_cmd;
// issue 27: prompts generated with espeak-ng
mod prompts_cmd;
// issue 26: copy to PostgreSQL, backup, restore
mod transfer_cmd;

use anyhow::Context;
use clap::{Parser, Subcommand};
use leadline_store::{Db, auth::users, db::redact_url, demo};
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "leadline", version, about = "Leadline telemarketing CRM")]
struct Cli {
    /// Configuration file (defaults to ./leadline.toml when present).
    #[arg(long, global = true, env = "LEADLINE_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// Database: a SQLite file path, or postgres://user@host/db.
    #[arg(long, global = true, env = "LEADLINE_DATABASE_URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the web server (migrations run first).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Seed the demo organisation into an empty database.
    Demo,
    /// Benchmarks that print figures against a baseline measured in the same run.
    Bench {
        #[command(subcommand)]
        which: bench::BenchCommand,
    },
    /// Import leads from a CSV or .xlsx file (or resume / show an import job).
    Import(import_cmd::ImportArgs),
    /// Export leads (a saved view or a filter) to CSV, GBK CSV or .xlsx.
    Export(import_cmd::ExportArgs),
    /// Call statistics rollups (issue 24).
    Rollups {
        #[command(subcommand)]
        which: RollupsCommand,
    },
    // issue 26: moving a floor to PostgreSQL, backup and restore
    /// Copy this SQLite database into an empty PostgreSQL database and verify the copy.
    Copy(transfer_cmd::CopyArgs),
    /// Back up the database to FILE while it serves (checked when written; --verify checks a file).
    Backup(transfer_cmd::BackupArgs),
    /// Restore a backup FILE into an empty database (checked against the backup).
    Restore(transfer_cmd::RestoreArgs),
    // issue 27: prompt27
    /// The call service's prompts (a first set spoken by espeak-ng).
    Prompts {
        #[command(subcommand)]
        which: prompts_cmd::PromptsCommand,
    },
    // issue 27: sip27
    /// Run Kamailio, the floor's SIP registrar and proxy, in the foreground with the shipped
    /// configuration (seats register as sip:<seat>@<domain>; IVR numbers go to the call service).
    Kamailio(KamailioArgs),
}

#[derive(clap::Args)]
struct KamailioArgs {
    /// Where seats and callers reach Kamailio (UDP).
    #[arg(long, default_value = "127.0.0.1:5060")]
    listen: std::net::SocketAddr,
    /// Leadline's call service (`leadline serve --sip`), where calls to the IVR numbers go.
    #[arg(long, default_value = "127.0.0.1:5070")]
    call_service: std::net::SocketAddr,
    /// Where the filled-in configuration and Kamailio's runtime files go (default: a folder in
    /// the system's temporary directory named after the port).
    #[arg(long)]
    run_dir: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
enum RollupsCommand {
    /// Recompute every call statistics slot from the raw calls, in one transaction (after
    /// history was written straight into the calls table, or the dispositions' flags changed).
    Rebuild,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "LEADLINE_BIND")]
    bind: Option<String>,
    /// Seed demo data first when the database is empty.
    #[arg(long)]
    demo: bool,
    /// Password for the first `admin` account (otherwise a random one is printed once).
    #[arg(long, env = "LEADLINE_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// Directory for local copies of uploaded import files (default: beside a SQLite database
    /// file, `<file>.uploads`; for PostgreSQL the system's temporary directory).
    #[arg(long, env = "LEADLINE_UPLOAD_DIR")]
    upload_dir: Option<std::path::PathBuf>,
    /// Bearer token a metrics scraper presents to `/metrics` (without it, admins only).
    #[arg(long, env = "LEADLINE_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// Start the call service (SIP over UDP) on this address, e.g. 127.0.0.1:5070; without it no
    /// SIP port is opened.
    #[arg(long, env = "LEADLINE_SIP")]
    sip: Option<std::net::SocketAddr>,
    /// Kamailio (`leadline kamailio --listen`), through which the call service rings the seats of
    /// a queue; without it queues go straight to their time-out path.
    #[arg(long, env = "LEADLINE_SIP_PROXY")]
    sip_proxy: Option<std::net::SocketAddr>,
    /// The call service's prompts, `<dir>/<language>/<prompt>.wav` (default ./prompts).
    #[arg(long, env = "LEADLINE_PROMPT_DIR")]
    prompt_dir: Option<std::path::PathBuf>,
    #[command(flatten)]
    limits: config::ServeLimits,
}

/// `leadline kamailio`: writes the configuration, runs Kamailio in the foreground and exits with
/// its exit status.
fn run_kamailio(args: KamailioArgs) -> anyhow::Result<()> {
    let floor = leadline_telephony::kamailio::Floor {
        listen: args.listen,
        call_service: args.call_service,
    };
    let run_dir = args
        .run_dir
        .unwrap_or_else(|| leadline_telephony::kamailio::default_run_dir(args.listen));
    let mut command = floor
        .prepare(&run_dir)
        .with_context(|| format!("writing the configuration into {}", run_dir.display()))?;
    println!(
        "Kamailio on sip:{} (UDP), IVR calls to sip:{}; configuration {}",
        args.listen,
        args.call_service,
        run_dir.join("kamailio.cfg").display()
    );
    let status = command.status().with_context(|| {
        format!(
            "starting {} (apt-get install kamailio)",
            leadline_telephony::kamailio::KAMAILIO
        )
    })?;
    // Kamailio's own exit status, or 128 + the signal that ended it, as a shell reports it.
    let code = status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        128 + status.signal().unwrap_or(0)
    });
    std::process::exit(code)
}

fn init_tracing() {
    let filter = EnvFilter::try_from_env("LEADLINE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let cli = Cli::parse();
    let file = config::FileConfig::load(cli.config.as_deref())?;
    let database_url = cli
        .database_url
        .clone()
        .or(file.database_url.clone())
        .unwrap_or_else(|| config::DEFAULT_DATABASE.into());
    match cli.command {
        Command::Kamailio(args) => run_kamailio(args),
        Command::Serve(args) => serve(&database_url, args, &file).await,
        Command::Migrate => {
            let db = open(&database_url).await?;
            db.close().await;
            println!("migrations applied to {}", redact_url(&database_url));
            Ok(())
        }
        Command::Demo => {
            let db = open(&database_url).await?;
            let s = demo::seed(&db)
                .await
                .context("seeding demo data (the database must be empty)")?;
            println!(
                "demo data: {} users, {} teams, {} leads, {} calls",
                s.users, s.teams, s.leads, s.calls
            );
            print_demo_accounts();
            Ok(())
        }
        Command::Bench { which } => bench::run(which).await,
        Command::Import(args) => {
            let db = open(&database_url).await?;
            let result = import_cmd::import(&db, args).await;
            db.close().await;
            result
        }
        Command::Export(args) => {
            let db = open(&database_url).await?;
            let result = import_cmd::export(&db, args).await;
            db.close().await;
            result
        }
        Command::Rollups {
            which: RollupsCommand::Rebuild,
        } => {
            let db = open(&database_url).await?;
            let t = std::time::Instant::now();
            let result = leadline_store::call_stats::rebuild::rebuild(&db).await;
            db.close().await;
            let done = result.context("rebuilding the call statistics")?;
            println!(
                "call statistics rebuilt: {} calls into {} slots and {} agent days in {:.1} s",
                done.calls,
                done.slots,
                done.days,
                t.elapsed().as_secs_f64()
            );
            Ok(())
        }
        // issue 26: moving a floor to PostgreSQL, backup and restore
        Command::Copy(args) => transfer_cmd::copy(&database_url, args).await,
        Command::Backup(args) => transfer_cmd::backup(&database_url, args).await,
        Command::Restore(args) => transfer_cmd::restore(&database_url, args).await,
        Command::Prompts { which } => prompts_cmd::run(which),
    }
}

async fn open(url: &str) -> anyhow::Result<Db> {
    tracing::info!(database = %redact_url(url), "opening database");
    let db = Db::connect(url)
        .await
        .with_context(|| format!("connecting to {}", redact_url(url)))?;
    db.migrate().await.context("applying migrations")?;
    Ok(db)
}

fn print_demo_accounts() {
    println!(
        "demo accounts (password `{}`): admin, supervisor1, supervisor2, agent1…agent8, sales1…sales3",
        demo::DEMO_PASSWORD
    );
}

async fn serve(
    database_url: &str,
    args: ServeArgs,
    file: &config::FileConfig,
) -> anyhow::Result<()> {
    let bind = args
        .bind
        .or(file.bind.clone())
        .unwrap_or_else(|| config::DEFAULT_BIND.into());
    let db = open(database_url).await?;
    let empty = users::user_count(&db).await? == 0;
    if args.demo && empty {
        let s = demo::seed(&db).await.context("seeding demo data")?;
        println!(
            "seeded demo data: {} users, {} leads, {} calls",
            s.users, s.leads, s.calls
        );
        print_demo_accounts();
    } else if args.demo {
        println!("database already has users; demo data not added");
        print_demo_accounts();
    }
    if args.demo {
        // issue 25: so that next call finds a lead whenever the demo is tried.
        demo::workday::open_calling_hours(&db)
            .await
            .context("opening the demo's calling hours")?;
        println!(
            "demo: calling hours open 00:00-24:00 every day (外呼时段：每天全天开放; public holidays stay closed)"
        );
    } else if empty {
        let password = args
            .admin_password
            .unwrap_or_else(|| leadline_store::auth::random_secret()[..20].to_string());
        let hash = users::hash_password(&password);
        let new = users::NewUser {
            username: "admin".into(),
            display_name: "管理员".into(),
            role: leadline_domain::Role::Admin,
            team_id: None,
            password_hash: hash,
        };
        users::create_user(&db, &new, None).await?;
        // Printed once, to the operator's terminal only; never logged.
        println!("created the first account: admin / {password}  (change it after signing in)");
    }
    let mut state = leadline_web::AppState::new(db.clone());
    state.secure_cookies = file.secure_cookies.unwrap_or(false);
    state.upload_dir = args
        .upload_dir
        .or(file.upload_dir.clone())
        .unwrap_or_else(|| leadline_engine::upload_files::dir_for_database(database_url));
    leadline_engine::upload_files::private_dir(&state.upload_dir)
        .await
        .with_context(|| format!("preparing {}", state.upload_dir.display()))?;
    if let Some(token) = args.metrics_token.or(file.metrics_token.clone()) {
        state.metrics =
            std::sync::Arc::new(leadline_web::metrics::Metrics::with_scrape_token(&token));
    }
    args.limits.apply(file, &mut state);
    // issue 27: the prompts' folder, and the flow an admin last saved (the call service and the
    // /ivr page share it).
    state.ivr.prompt_dir = args
        .prompt_dir
        .or(file.prompt_dir.clone())
        .unwrap_or_else(|| "prompts".into());
    state
        .ivr
        .load_saved(&db)
        .await
        .context("reading the saved IVR flow")?;
    let ivr = state.ivr.clone();
    let phone = state.phone.clone();
    let app = leadline_web::App::bind(&bind, state)
        .await
        .with_context(|| format!("binding {bind}"))?;
    println!("Leadline is listening on http://{}", app.local_addr());
    // issue 27: the call service, only when an address is given; dropped (stopped) at the end.
    let _call_service = match args.sip.or(file.sip_bind) {
        Some(sip) => {
            let recording_dir = std::env::temp_dir().join("leadline-recordings");
            std::fs::create_dir_all(&recording_dir)
                .with_context(|| format!("preparing {}", recording_dir.display()))?;
            let number = ivr.flow().number;
            let seat_proxy = args.sip_proxy.or(file.sip_proxy);
            let settings = leadline_web::call_service::CallServiceSettings {
                bind: sip,
                flow: ivr.subscribe(),
                prompt_dir: ivr.prompt_dir.clone(),
                recording_dir,
                seat_proxy,
            };
            let service =
                std::sync::Arc::new(leadline_web::call_service::start(db.clone(), settings).await?);
            // issue 27 (dial): click-to-call goes through this call service.
            phone.attach(service.clone());
            // Reminder calls (催缴) need the proxy to reach customers through.
            if seat_proxy.is_some() {
                leadline_web::reminder_dialer::spawn(db.clone(), phone.clone());
            }
            println!(
                "The call service answers {number} on sip:{} (UDP)",
                service.address()
            );
            Some(service)
        }
        None => None,
    };
    app.serve(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    db.close().await;
    Ok(())
}
