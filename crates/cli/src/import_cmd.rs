//! `leadline import` and `leadline export`: the command-line doors to the same engines the web
//! uses (`leadline_engine::import_run`, `leadline_engine::export_run`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use leadline_engine::export_run::{self, ExportFormat};
use leadline_engine::import_run::{self, Assign, ImportOptions, Progress};
use leadline_import::{Mapping, Target};
use leadline_store::imports::{self, ImportJob, OnDuplicate};
use leadline_store::leads::LeadFilter;
use leadline_store::{Db, auth::users, leads::custom_fields, leads::views};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("assign").args(["into", "owner", "round_robin"])))]
pub struct ImportArgs {
    /// The CSV or .xlsx file to import.
    #[arg(required_unless_present_any = ["resume", "status"])]
    file: Option<PathBuf>,
    /// A saved mapping's name, or a JSON file holding a mapping; default: guessed from the
    /// headers.
    #[arg(long)]
    mapping: Option<String>,
    /// `pool` (no owner) or `owner-column` (the column mapped to the owner, by username or
    /// display name). Default: the owner column when one is mapped, else the pool.
    #[arg(long, value_parser = ["pool", "owner-column"])]
    into: Option<String>,
    /// Give every lead to this user (username).
    #[arg(long)]
    owner: Option<String>,
    /// Share the leads round-robin among this team's active agents (team name).
    #[arg(long)]
    round_robin: Option<String>,
    /// What to do with a row whose phone (or company) is already known.
    #[arg(long, default_value = "skip", value_parser = ["skip", "update", "collision"])]
    on_duplicate: String,
    /// CSV encoding, overriding detection (e.g. gbk, gb18030, utf-8).
    #[arg(long)]
    encoding: Option<String>,
    /// .xlsx worksheet name.
    #[arg(long)]
    sheet: Option<String>,
    /// CSV delimiter, overriding detection (e.g. ';' or 'tab').
    #[arg(long)]
    delimiter: Option<String>,
    /// Who the import is recorded as (username).
    #[arg(long = "as", default_value = "admin")]
    actor: String,
    /// Resume an interrupted import job.
    #[arg(long, conflicts_with_all = ["file", "status"])]
    resume: Option<i64>,
    /// Show how far an import job got.
    #[arg(long, conflicts_with_all = ["file", "resume"])]
    status: Option<i64>,
    /// No progress line.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// A saved view of the `--as` user, by name.
    #[arg(long, conflicts_with = "filter")]
    view: Option<String>,
    /// A filter as query-string pairs, e.g. 'status=new&city=上海'.
    #[arg(long)]
    filter: Option<String>,
    /// csv (UTF-8 with BOM), csv-gbk or xlsx.
    #[arg(long, default_value = "csv")]
    format: String,
    /// The file to write.
    #[arg(long)]
    out: PathBuf,
    /// Whose view of the leads is exported (username).
    #[arg(long = "as", default_value = "admin")]
    actor: String,
}

async fn user_by_name(db: &Db, username: &str) -> anyhow::Result<users::User> {
    users::find_for_login(db, username)
        .await?
        .map(|(u, _)| u)
        .ok_or_else(|| anyhow!("no user named “{username}”"))
}

fn parse_delimiter(s: &str) -> anyhow::Result<char> {
    match s {
        "tab" | "\\t" | "\t" => Ok('\t'),
        s if s.chars().count() == 1 => Ok(s.chars().next().unwrap_or(',')),
        _ => bail!("--delimiter takes one character (or `tab`)"),
    }
}

async fn load_mapping(db: &Db, spec: &str) -> anyhow::Result<Mapping> {
    if let Some(saved) = imports::mappings(db)
        .await?
        .into_iter()
        .find(|m| m.name == spec)
    {
        return serde_json::from_value(saved.mapping.0)
            .with_context(|| format!("saved mapping “{spec}” is not a mapping"));
    }
    let path = Path::new(spec);
    if path.exists() {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return serde_json::from_str(&text)
            .with_context(|| format!("{} is not a mapping (JSON)", path.display()));
    }
    bail!("no saved mapping named “{spec}” and no such file")
}

fn target_text(t: &Target) -> String {
    match t {
        Target::Custom(k) => format!("custom:{k}"),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{other:?}")),
    }
}

/// With `LEADLINE_PRINT_PEAK_RSS` set (by `leadline bench import`), prints this process's peak
/// resident memory (VmHWM).
pub fn print_peak_rss() {
    if std::env::var_os("LEADLINE_PRINT_PEAK_RSS").is_none() {
        return;
    }
    let kb = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        });
    if let Some(kb) = kb {
        println!("peak RSS: {:.0} MB", kb / 1024.0);
    }
}

pub async fn import(db: &Db, args: ImportArgs) -> anyhow::Result<()> {
    if let Some(id) = args.status {
        let job = imports::get_job(db, id)
            .await
            .with_context(|| format!("no import job {id}"))?;
        print_job(&job);
        return Ok(());
    }
    let job = match args.resume {
        Some(id) => {
            let job = imports::get_job(db, id)
                .await
                .with_context(|| format!("no import job {id}"))?;
            if job.status == "done" {
                println!("import {id} is already done");
                print_job(&job);
                return Ok(());
            }
            // A web import whose run is queued or running belongs to the server running it (one
            // that died loses it after a lease of seconds, and the next server takes it over).
            if leadline_engine::import_job::run_queued(db, &job).await? {
                bail!("import {id} is queued or running on a server, which finishes it by itself");
            }
            println!(
                "resuming import {id} of {} after row {}",
                job.file_name, job.rows_done
            );
            job
        }
        None => start(db, &args).await?,
    };
    // Beside a running server on SQLite, the first batch is already cut short for its agents.
    imports::look_for_other_writers(db, std::time::Duration::from_millis(200)).await?;
    let started = Instant::now();
    let first = job.rows_done;
    let show = !args.quiet;
    let tty = std::io::stderr().is_terminal();
    let mut last_len = 0usize;
    let outcome = import_run::run(db, job.id, |p: &Progress| {
        if show {
            let line = progress_line(p, first, started);
            let mut err = std::io::stderr();
            if tty {
                let pad = last_len.saturating_sub(line.chars().count());
                let _ = write!(err, "\r{line}{}", " ".repeat(pad));
                last_len = line.chars().count();
            } else {
                let _ = writeln!(err, "{line}");
            }
            let _ = err.flush();
        }
    })
    .await;
    if show && tty {
        eprintln!();
    }
    let job = match outcome {
        Ok(job) => job,
        Err(e) => {
            let job = imports::get_job(db, job.id).await?;
            print_job(&job);
            return Err(anyhow!(e).context(format!(
                "import {} failed; fix the cause and run `leadline import --resume {}`",
                job.id, job.id
            )));
        }
    };
    let secs = started.elapsed().as_secs_f64();
    print_job(&job);
    println!(
        "{} rows in {:.1} s ({:.0} rows/s)",
        job.rows_done - first,
        secs,
        (job.rows_done - first) as f64 / secs.max(1e-9)
    );
    if job.failed > 0 {
        // In Chinese, the default language of the floor.
        let (bytes, _, name) = import_run::error_report(db, &job, false).await?;
        let dir = Path::new(&job.file_path)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut path = dir.join(&name);
        if std::fs::write(&path, &bytes).is_err() {
            path = PathBuf::from(&name);
            std::fs::write(&path, &bytes)
                .with_context(|| format!("writing the error report {}", path.display()))?;
        }
        println!(
            "{} rejected rows with their reasons: {}",
            job.failed,
            path.display()
        );
    }
    print_phases();
    print_peak_rss();
    Ok(())
}

/// With `LEADLINE_PRINT_IMPORT_PHASES` set (by `leadline bench import`), prints each phase's
/// own time (`imports::phases`; phases overlap, so they do not add up to the wall clock).
fn print_phases() {
    if std::env::var_os("LEADLINE_PRINT_IMPORT_PHASES").is_none() {
        return;
    }
    let parts: Vec<String> = imports::phases::so_far()
        .into_iter()
        .filter(|(_, took)| !took.is_zero())
        .map(|(name, took)| format!("{name} {:.1} s", took.as_secs_f64()))
        .collect();
    println!("phases: {}", parts.join(", "));
}

async fn start(db: &Db, args: &ImportArgs) -> anyhow::Result<ImportJob> {
    let file = args.file.clone().context("a file to import")?;
    let file = std::fs::canonicalize(&file).with_context(|| format!("{}", file.display()))?;
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let actor = user_by_name(db, &args.actor).await?;
    let defs = custom_fields::list(db).await?;
    let saved = match &args.mapping {
        Some(spec) => Some(load_mapping(db, spec).await?),
        None => None,
    };
    let preview = {
        let (file, file_name) = (file.clone(), file_name.clone());
        let (encoding, sheet) = (args.encoding.clone(), args.sheet.clone());
        let defs = defs.clone();
        tokio::task::spawn_blocking(move || {
            import_run::preview(
                &file,
                &file_name,
                encoding.as_deref(),
                sheet.as_deref(),
                &defs,
                saved.as_ref(),
            )
        })
        .await??
    };
    let info = &preview.info;
    match info.kind {
        leadline_import::FileKind::Csv => println!(
            "{file_name}: CSV, {}{}, delimiter {:?}",
            info.encoding.unwrap_or("UTF-8"),
            if info.bom { " with BOM" } else { "" },
            char::from(info.delimiter.unwrap_or(b','))
        ),
        leadline_import::FileKind::Xlsx => println!(
            "{file_name}: .xlsx, sheet “{}”",
            info.sheet.as_deref().unwrap_or("")
        ),
    }
    println!("columns:");
    for c in &preview.mapping.columns {
        println!("  {:<16} → {}", c.header, target_text(&c.target));
    }
    if !preview.problems.is_empty() {
        let p: Vec<&str> = preview.problems.iter().map(|p| p.code()).collect();
        bail!(
            "the mapping cannot be used ({}); pass --mapping with a corrected mapping JSON",
            p.join(", ")
        );
    }
    let has_owner_column = preview
        .mapping
        .columns
        .iter()
        .any(|c| c.target == Target::Owner);
    let assign = if let Some(name) = &args.owner {
        Assign::Owner {
            user_id: user_by_name(db, name).await?.id,
        }
    } else if let Some(team) = &args.round_robin {
        let t = users::list_teams(db)
            .await?
            .into_iter()
            .find(|t| t.name == *team)
            .ok_or_else(|| anyhow!("no team named “{team}”"))?;
        Assign::RoundRobin { team_id: t.id }
    } else {
        match args.into.as_deref() {
            Some("owner-column") => Assign::OwnerColumn,
            Some(_) => Assign::Pool,
            None if has_owner_column => Assign::OwnerColumn,
            None => Assign::Pool,
        }
    };
    let options = ImportOptions {
        mapping: preview.mapping.clone(),
        on_duplicate: OnDuplicate::parse(&args.on_duplicate).unwrap_or_default(),
        assign,
        encoding: args.encoding.clone(),
        sheet: args.sheet.clone(),
        delimiter: args.delimiter.as_deref().map(parse_delimiter).transpose()?,
    };
    let job = import_run::start(db, actor.id, &file_name, &file, &options)
        .await
        .map_err(|e| anyhow!("{e} ({})", e.code()))?;
    println!("import job {} started", job.id);
    Ok(job)
}

fn progress_line(p: &Progress, first: i64, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64().max(1e-3);
    let rate = (p.rows_done - first) as f64 / secs;
    let frac = if p.bytes_total > 0 {
        (p.bytes_read as f64 / p.bytes_total as f64).min(1.0)
    } else {
        0.0
    };
    let width = 24;
    let filled = (frac * width as f64) as usize;
    let eta = if frac > 0.0 && frac < 1.0 {
        let left = secs / frac * (1.0 - frac);
        format!("ETA {}:{:02}", (left as u64) / 60, (left as u64) % 60)
    } else {
        "ETA -".into()
    };
    format!(
        "[{}{}] {:>3.0}%  {} rows  {:.0} rows/s  {eta}  (new {}, updated {}, skipped {}, collisions {}, joined {}, cases {}, rejected {})",
        "#".repeat(filled),
        "-".repeat(width - filled),
        frac * 100.0,
        p.rows_done,
        rate,
        p.counts.imported,
        p.counts.updated,
        p.counts.skipped,
        p.counts.collisions,
        p.counts.joined,
        p.counts.cases,
        p.counts.failed
    )
}

fn print_job(job: &ImportJob) {
    println!(
        "import {}: {} — {} rows read; new {}, updated {}, skipped (duplicates) {}, collisions {}, joined their company's owner {}, cases opened {}, given to the referrer's owner {}, rejected {}",
        job.id,
        job.status,
        job.rows_done,
        job.imported,
        job.updated,
        job.skipped,
        job.collisions,
        job.joined,
        job.cases,
        job.referred,
        job.failed
    );
    if let Some(e) = &job.error {
        println!("error: {e}");
    }
    if job.status != "done" {
        println!("resume it with: leadline import --resume {}", job.id);
    }
}

pub async fn export(db: &Db, args: ExportArgs) -> anyhow::Result<()> {
    let format = ExportFormat::parse(&args.format)
        .ok_or_else(|| anyhow!("--format is csv, csv-gbk or xlsx"))?;
    let user = user_by_name(db, &args.actor).await?;
    let viewer = users::viewer(db, &user).await?;
    let defs = custom_fields::list(db).await?;
    let pairs: Vec<(String, String)> = if let Some(name) = &args.view {
        let view = views::list(db, user.id)
            .await?
            .into_iter()
            .find(|v| v.name == *name)
            .ok_or_else(|| anyhow!("{} has no view named “{name}”", user.username))?;
        match view.filter.0 {
            serde_json::Value::Object(m) => m
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, v)
                })
                .collect(),
            _ => Vec::new(),
        }
    } else {
        form_urlencoded::parse(args.filter.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect()
    };
    let filter =
        LeadFilter::from_pairs(&pairs, &defs, user.id).map_err(|e| anyhow!("bad filter: {e:?}"))?;
    let file = std::fs::File::create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let started = Instant::now();
    let rows = export_run::export(
        db,
        &viewer,
        &filter,
        format,
        tokio::fs::File::from_std(file),
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{rows} leads written to {} in {secs:.1} s ({:.0} rows/s)",
        args.out.display(),
        rows as f64 / secs.max(1e-9)
    );
    print_peak_rss();
    Ok(())
}
