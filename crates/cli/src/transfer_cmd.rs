//! `leadline copy`, `leadline backup` and `leadline restore` (issue 26): moving a floor from
//! SQLite to PostgreSQL, and keeping copies of either, each checked before it says "done".

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use leadline_store::Db;
use leadline_store::db::redact_url;
use leadline_store::transfer::{self, Counts, TableCheck};

#[derive(clap::Args)]
pub struct CopyArgs {
    /// The PostgreSQL database to copy into (postgres://user@host/db); it must hold no
    /// Leadline data. Its tables are made when it has none.
    #[arg(long)]
    to: String,
    /// Only compare the two databases again (row counts and checksums), copying nothing.
    #[arg(long)]
    verify_only: bool,
}

#[derive(clap::Args)]
pub struct BackupArgs {
    /// The file to write (never overwritten): a SQLite database file, or pg_dump's custom format.
    file: PathBuf,
    /// Only check an existing backup file (readable, whole, its tables counted).
    #[arg(long)]
    verify: bool,
}

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// A file written by `leadline backup`.
    file: PathBuf,
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

fn sqlite_file(url: &str) -> PathBuf {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    PathBuf::from(path.split('?').next().unwrap_or(path))
}

pub async fn copy(database_url: &str, args: CopyArgs) -> anyhow::Result<()> {
    if is_postgres(database_url) {
        bail!(
            "`leadline copy` reads a SQLite database (--database-url is {}); to move a \
             PostgreSQL database use `leadline backup` and `leadline restore`",
            redact_url(database_url)
        );
    }
    if !is_postgres(&args.to) {
        bail!("--to must be a PostgreSQL database (postgres://user@host/db)");
    }
    if !sqlite_file(database_url).exists() {
        bail!("{} does not exist", database_url);
    }
    let source = crate::open(database_url).await?;
    let target = Db::connect(&args.to)
        .await
        .with_context(|| format!("connecting to {}", redact_url(&args.to)))?;
    let result = if args.verify_only {
        verify_again(&source, &target).await
    } else {
        copy_verified(&source, &target, &args.to).await
    };
    source.close().await;
    target.close().await;
    result
}

async fn copy_verified(source: &Db, target: &Db, to: &str) -> anyhow::Result<()> {
    let print = |c: &TableCheck| println!("  {}", c.describe());
    println!("copying into {} and checking each table:", redact_url(to));
    let report = transfer::copy_to_postgres(source, target, &print)
        .await
        .with_context(|| format!("copying into {}", redact_url(to)))?;
    println!(
        "copied and verified: {} tables, {} rows in {:.1} s; lead search tokens made for {} leads",
        report.tables.len(),
        report.rows(),
        report.seconds,
        report.lead_tokens
    );
    if !report.local_files.is_empty() {
        println!(
            "{} imports were read from files on this machine's disk; their records are copied, \
             the files are not (only a paused import would need them again):",
            report.local_files.len()
        );
        for f in &report.local_files {
            println!("  {f}");
        }
    }
    println!(
        "files uploaded through the web are stored in the database and came along; start the \
         servers with --database-url {}",
        redact_url(to)
    );
    Ok(())
}

async fn verify_again(source: &Db, target: &Db) -> anyhow::Result<()> {
    let checks = transfer::verify(source, target)
        .await
        .context("comparing")?;
    let mut bad = 0;
    for c in &checks {
        println!("  {}", c.describe());
        bad += usize::from(!c.matches());
    }
    if bad > 0 {
        bail!("{bad} of {} tables differ", checks.len());
    }
    println!("all {} tables match", checks.len());
    Ok(())
}

fn print_counts(counts: &Counts) {
    let rows: u64 = counts.values().sum();
    println!("{} tables, {rows} rows", counts.len());
}

pub async fn backup(database_url: &str, args: BackupArgs) -> anyhow::Result<()> {
    let postgres = is_postgres(database_url);
    if args.verify {
        let counts = if postgres || is_pg_dump(&args.file)? {
            transfer::pg_verify_file(&args.file).await
        } else {
            transfer::sqlite_verify_file(&args.file).await
        }
        .with_context(|| format!("checking {}", args.file.display()))?;
        print!("{} is readable and whole: ", args.file.display());
        print_counts(&counts);
        return Ok(());
    }
    let started = std::time::Instant::now();
    let counts = if postgres {
        let db = Db::connect(database_url).await?;
        let result = transfer::pg_backup(&db, database_url, &args.file).await;
        db.close().await;
        result
    } else {
        if !sqlite_file(database_url).exists() {
            bail!("{database_url} does not exist");
        }
        let db = Db::connect(database_url).await?;
        let result = transfer::sqlite_backup(&db, &args.file).await;
        db.close().await;
        result
    }
    .with_context(|| format!("backing up to {}", args.file.display()))?;
    print!(
        "backed up to {} in {:.1} s and checked: ",
        args.file.display(),
        started.elapsed().as_secs_f64()
    );
    print_counts(&counts);
    Ok(())
}

pub async fn restore(database_url: &str, args: RestoreArgs) -> anyhow::Result<()> {
    let dump = is_pg_dump(&args.file)?;
    let postgres = is_postgres(database_url);
    if dump != postgres {
        bail!(
            "{} is a {} backup and --database-url names a {} database; restore a backup into \
             the kind of database it came from (use `leadline copy` to move SQLite to PostgreSQL)",
            args.file.display(),
            if dump { "PostgreSQL" } else { "SQLite" },
            if postgres { "PostgreSQL" } else { "SQLite" }
        );
    }
    let counts = if postgres {
        let db = Db::connect(database_url).await?;
        let result = transfer::pg_restore(&db, database_url, &args.file).await;
        db.close().await;
        result
    } else {
        transfer::sqlite_restore(&args.file, &sqlite_file(database_url)).await
    }
    .with_context(|| {
        format!(
            "restoring {} into {}",
            args.file.display(),
            redact_url(database_url)
        )
    })?;
    // A backup from an older version is brought up to this one.
    let db = crate::open(database_url).await?;
    db.close().await;
    print!("restored into {} and checked: ", redact_url(database_url));
    print_counts(&counts);
    Ok(())
}

/// True for pg_dump's custom format, false for a SQLite file; anything else is refused.
fn is_pg_dump(file: &Path) -> anyhow::Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 16];
    let mut f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let n = f.read(&mut head)?;
    if head[..n].starts_with(b"PGDMP") {
        Ok(true)
    } else if head[..n].starts_with(b"SQLite format 3\0") {
        Ok(false)
    } else {
        bail!(
            "{} is not a Leadline backup (neither SQLite nor pg_dump's custom format)",
            file.display()
        )
    }
}
