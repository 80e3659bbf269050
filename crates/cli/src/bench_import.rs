//! `leadline bench import`: generates 1,000,000 realistic Chinese lead rows (CSV) and a
//! 100,000-row .xlsx, imports them through the real path (`leadline import` in a child process,
//! so its peak memory is the import's own) into a fresh SQLite file and, with `--postgres`, a
//! fresh PostgreSQL database; prints rows/s and peak RSS beside baselines measured in the same
//! run: `sqlite3`'s `.import` of the same CSV into a table with the same unique phone index, and
//! PostgreSQL `COPY` (through `psql`) into an equivalent table. Then times an export of the
//! imported leads.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use rand::{SeedableRng, rngs::StdRng, seq::IndexedRandom};

#[derive(clap::Args)]
pub struct ImportBenchArgs {
    /// Rows of the generated CSV.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Rows of the generated .xlsx.
    #[arg(long, default_value_t = 100_000)]
    xlsx_rows: usize,
    /// Also run on this PostgreSQL server (a fresh database is created and dropped).
    #[arg(long, env = "LEADLINE_BENCH_POSTGRES_URL")]
    postgres: Option<String>,
    /// Skip the SQLite runs (and the .xlsx): only PostgreSQL, with `--postgres`.
    #[arg(long, requires = "postgres")]
    no_sqlite: bool,
    /// Where the files and the SQLite databases go (default: a new temp directory).
    #[arg(long)]
    dir: Option<PathBuf>,
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧", "程", "曹",
    "欧阳", "司马",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "秀英", "桂英", "建华", "建国", "志强", "晓明", "海燕", "欣怡", "子涵", "梓轩", "思远", "雨涵",
];
const CITIES: &[(&str, &str)] = &[
    ("北京", "北京"),
    ("上海", "上海"),
    ("广州", "广东"),
    ("深圳", "广东"),
    ("杭州", "浙江"),
    ("南京", "江苏"),
    ("苏州", "江苏"),
    ("成都", "四川"),
    ("武汉", "湖北"),
    ("西安", "陕西"),
    ("重庆", "重庆"),
    ("天津", "天津"),
    ("长沙", "湖南"),
    ("郑州", "河南"),
    ("青岛", "山东"),
    ("厦门", "福建"),
];
const WORDS: &[&str] = &[
    "星河", "云帆", "华信", "宏图", "远景", "瑞丰", "金桥", "恒泰", "博雅", "鼎盛", "天成", "安达",
    "智联", "新元", "汇通", "嘉禾",
];
const TRADES: &[&str] = &[
    "科技",
    "贸易",
    "教育咨询",
    "建材",
    "物流",
    "餐饮管理",
    "医疗器械",
    "网络",
    "文化传媒",
];
const TITLES: &[&str] = &[
    "总经理",
    "采购经理",
    "行政主管",
    "财务",
    "老板",
    "销售总监",
    "",
];
const SOURCES: &[&str] = &["展会", "官网", "转介绍", "电销名单", "地推"];
const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "166", "173", "175", "176", "177", "178", "180", "181",
    "182", "183", "185", "186", "187", "188", "189", "191", "198", "199",
];

struct Row {
    cells: [String; 7],
}

/// Row `i` of the generated list: about 1% repeat an earlier row's phone, 0.3% have a bad phone,
/// 0.1% no name; phones are written in the spellings offices use.
fn row(i: usize, rng: &mut StdRng) -> Row {
    let name = if i % 1000 == 7 {
        String::new()
    } else {
        format!(
            "{}{}",
            SURNAMES.choose(rng).unwrap_or(&"王"),
            GIVEN.choose(rng).unwrap_or(&"伟")
        )
    };
    let (city, region) = *CITIES.choose(rng).unwrap_or(&("北京", "北京"));
    // Unique per row (the store treats the same company as a duplicate where no phone matches).
    let company = format!(
        "{city}{}{}{}有限公司",
        WORDS.choose(rng).unwrap_or(&"星河"),
        i,
        TRADES.choose(rng).unwrap_or(&"科技")
    );
    // A unique number per row from its index (a bijection on 0..10^8 by an odd multiplier).
    let unique = |i: usize| {
        let n = (i as u64 * 48_271 + 12_345) % 100_000_000;
        let prefix = MOBILE_PREFIXES[(i / 7) % MOBILE_PREFIXES.len()];
        format!("{prefix}{n:08}")
    };
    let digits = if i % 100 == 3 && i > 100 {
        unique(i - 50)
    } else {
        unique(i)
    };
    let phone = match i % 300 {
        11 => "12345".to_string(),
        _ => match i % 5 {
            0 => format!("+86 {} {} {}", &digits[..3], &digits[3..7], &digits[7..]),
            1 => format!("{}-{}-{}", &digits[..3], &digits[3..7], &digits[7..]),
            _ => digits,
        },
    };
    Row {
        cells: [
            name,
            phone,
            company,
            city.to_string(),
            region.to_string(),
            TITLES.choose(rng).unwrap_or(&"").to_string(),
            SOURCES.choose(rng).unwrap_or(&"官网").to_string(),
        ],
    }
}

const HEADER: [&str; 7] = ["姓名", "手机", "公司名称", "城市", "省份", "职位", "来源"];

/// Writes the generated rows `first..first + rows` (rows from different ranges have different
/// phones and companies).
pub(crate) fn write_csv(path: &Path, rows: usize, first: usize) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    out.write_all(HEADER.join(",").as_bytes())?;
    out.write_all(b"\r\n")?;
    let mut rng = StdRng::seed_from_u64(42);
    for i in first..first + rows {
        let r = row(i, &mut rng);
        out.write_all(r.cells.join(",").as_bytes())?;
        out.write_all(b"\r\n")?;
    }
    out.flush()?;
    Ok(())
}

/// An .xlsx as offices save it: phones typed as numbers.
fn write_xlsx(path: &Path, rows: usize) -> anyhow::Result<()> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet_with_constant_memory()?;
    ws.set_name("客户名单")?;
    for (c, h) in HEADER.iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    let mut rng = StdRng::seed_from_u64(43);
    for i in 0..rows {
        let r = row(i + 5_000_000, &mut rng);
        let line = (i + 1) as u32;
        for (c, cell) in r.cells.iter().enumerate() {
            if c == 1 && cell.len() == 11 && cell.bytes().all(|b| b.is_ascii_digit()) {
                ws.write_number(line, 1, cell.parse::<f64>()?)?;
            } else {
                ws.write_string(line, c as u16, cell)?;
            }
        }
    }
    wb.save(path)?;
    Ok(())
}

struct Measured {
    secs: f64,
    rows: u64,
    peak_mb: Option<f64>,
    output: String,
}

/// Runs `leadline` (this executable) with `args`, timing it and reading its peak RSS.
fn leadline(args: &[&str]) -> anyhow::Result<Measured> {
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let out = Command::new(exe)
        .args(args)
        .env("LEADLINE_LOG", "error")
        .env("LEADLINE_PRINT_PEAK_RSS", "1")
        .env("LEADLINE_PRINT_IMPORT_PHASES", "1")
        .output()?;
    let secs = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "leadline {} failed:\n{stdout}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let peak_mb = stdout
        .lines()
        .find_map(|l| l.strip_prefix("peak RSS: "))
        .and_then(|v| v.trim_end_matches(" MB").parse().ok());
    let rows = stdout
        .lines()
        .find_map(|l| {
            l.split_once(" rows in ")
                .map(|(n, _)| n)
                .or_else(|| l.split_once(" leads written").map(|(n, _)| n))
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    Ok(Measured {
        secs,
        rows,
        peak_mb,
        output: stdout,
    })
}

fn outcome_line(output: &str) -> &str {
    output
        .lines()
        .find(|l| l.starts_with("import ") && l.contains(" rows read"))
        .unwrap_or("")
}

/// The new leads of an import, from its outcome line (`… new N, …`).
fn imported(output: &str) -> u64 {
    outcome_line(output)
        .split_once("new ")
        .and_then(|(_, rest)| rest.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// The import's time per phase, as `leadline import` printed it.
fn phases_line(output: &str) -> &str {
    output
        .lines()
        .find(|l| l.starts_with("phases: "))
        .unwrap_or("")
}

/// A new migrated SQLite database at `path` (any old one removed) with the importing admin.
async fn fresh_sqlite(path: &Path) -> anyhow::Result<String> {
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", path.display()));
    }
    let url = path.to_string_lossy().into_owned();
    setup_db(&url)?;
    create_admin(&url).await?;
    Ok(url)
}

fn setup_db(url: &str) -> anyhow::Result<()> {
    leadline(&["--database-url", url, "migrate"])?;
    Ok(())
}

async fn create_admin(url: &str) -> anyhow::Result<()> {
    let db = leadline_store::Db::connect(url).await?;
    let new = leadline_store::auth::users::NewUser {
        username: "admin".into(),
        display_name: "管理员".into(),
        role: leadline_domain::Role::Admin,
        team_id: None,
        password_hash: "!".into(),
    };
    leadline_store::auth::users::create_user(&db, &new, None).await?;
    db.close().await;
    Ok(())
}

fn sqlite3_baseline(csv: &Path, dir: &Path) -> anyhow::Result<Option<f64>> {
    if Command::new("sqlite3").arg("--version").output().is_err() {
        return Ok(None);
    }
    let db = dir.join("baseline.db");
    let _ = std::fs::remove_file(&db);
    let script = format!(
        "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\n\
         CREATE TABLE leads (name TEXT, phone TEXT, company TEXT, city TEXT, region TEXT, title TEXT, source TEXT);\n\
         CREATE UNIQUE INDEX leads_phone ON leads(phone);\n\
         .import --csv --skip 1 {} leads\n",
        csv.display()
    );
    let started = Instant::now();
    let out = Command::new("sqlite3")
        .arg(&db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .and_then(|mut child| {
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(script.as_bytes())?;
            }
            child.wait()
        })?;
    let secs = started.elapsed().as_secs_f64();
    if !out.success() {
        bail!("sqlite3 .import failed");
    }
    Ok(Some(secs))
}

fn psql_baseline(url: &str, csv: &Path) -> anyhow::Result<Option<f64>> {
    if Command::new("psql").arg("--version").output().is_err() {
        return Ok(None);
    }
    // COPY stops at the first duplicate, so the equivalent table's phone index is not unique.
    let script = format!(
        "CREATE TABLE copy_baseline (name TEXT, phone TEXT, company TEXT, city TEXT, region TEXT, title TEXT, source TEXT);\n\
         CREATE INDEX copy_baseline_phone ON copy_baseline(phone);\n\
         \\copy copy_baseline FROM '{}' WITH (FORMAT csv, HEADER true)\n",
        csv.display()
    );
    let started = Instant::now();
    let out = Command::new("psql")
        .arg(url)
        .arg("-q")
        .arg("-v")
        .arg("ON_ERROR_STOP=1")
        .arg("-c")
        .arg("SELECT 1")
        .output()?;
    if !out.status.success() {
        bail!("psql cannot connect");
    }
    let started_copy = Instant::now();
    let out = Command::new("psql")
        .arg(url)
        .arg("-q")
        .arg("-v")
        .arg("ON_ERROR_STOP=1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .and_then(|mut child| {
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(script.as_bytes())?;
            }
            child.wait()
        })?;
    let _ = started;
    if !out.success() {
        bail!("psql COPY failed");
    }
    Ok(Some(started_copy.elapsed().as_secs_f64()))
}

/// Runs `script` through `psql` on `url`, stopping at the first error; returns its time.
fn psql(url: &str, script: &str) -> anyhow::Result<f64> {
    let started = Instant::now();
    let out = Command::new("psql")
        .arg(url)
        .arg("-q")
        .arg("-v")
        .arg("ON_ERROR_STOP=1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .and_then(|mut child| {
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(script.as_bytes())?;
            }
            child.wait()
        })?;
    if !out.success() {
        bail!("psql failed running:\n{script}");
    }
    Ok(started.elapsed().as_secs_f64())
}

/// What the database alone spends on the rows the import wrote: the imported leads (search
/// tokens and all) copied out, then `COPY`ed into a copy of `leads` with all its indexes,
/// the same without the search index (GIN), and without any index. Returns the first time.
fn database_floor(url: &str, dir: &Path, leads: u64, import_secs: f64) -> anyhow::Result<()> {
    let file = dir.join("imported-leads.copy");
    let file = file.display();
    psql(
        url,
        &format!(
            "\\copy leads TO '{file}'\n\
             CREATE TABLE floor_all (LIKE leads INCLUDING DEFAULTS INCLUDING INDEXES);\n\
             CREATE TABLE floor_btree (LIKE leads INCLUDING DEFAULTS INCLUDING INDEXES);\n\
             SELECT format('DROP INDEX %I', indexname) FROM pg_indexes \
             WHERE tablename = 'floor_btree' AND indexdef LIKE '%USING gin%' \\gexec\n\
             CREATE TABLE floor_bare (LIKE leads INCLUDING DEFAULTS);\n"
        ),
    )?;
    let mut all = 0.0;
    for (table, what) in [
        ("floor_all", "COPY its leads, same indexes"),
        ("floor_btree", "… without the search index (GIN)"),
        ("floor_bare", "… into a table without indexes"),
    ] {
        let secs = psql(url, &format!("\\copy {table} FROM '{file}'\n"))?;
        if all == 0.0 {
            all = secs;
        }
        println!(
            "  {what:<34} {leads:>9} rows {secs:>7.1} s {:>9.0} rows/s",
            rate(leads, secs)
        );
    }
    println!(
        "  ratio leadline / COPY of its own leads with their indexes: {:.2}×",
        import_secs / all
    );
    psql(url, "DROP TABLE floor_all, floor_btree, floor_bare;\n")?;
    let _ = std::fs::remove_file(dir.join("imported-leads.copy"));
    Ok(())
}

fn rate(rows: u64, secs: f64) -> f64 {
    rows as f64 / secs.max(1e-9)
}

fn report(what: &str, m: &Measured) {
    println!(
        "  {what:<34} {:>9} rows {:>7.1} s {:>9.0} rows/s   peak RSS {}",
        m.rows,
        m.secs,
        rate(m.rows, m.secs),
        m.peak_mb
            .map(|p| format!("{p:.0} MB"))
            .unwrap_or_else(|| "?".into())
    );
}

pub async fn run(args: ImportBenchArgs) -> anyhow::Result<()> {
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("leadline-bench-import-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let csv = dir.join(format!("客户名单-{}.csv", count_label(args.rows)));
    let t = Instant::now();
    write_csv(&csv, args.rows, 0).context("writing the CSV")?;
    println!(
        "generated {} rows CSV ({:.0} MB) in {:.1} s: {}",
        args.rows,
        std::fs::metadata(&csv)?.len() as f64 / 1e6,
        t.elapsed().as_secs_f64(),
        csv.display()
    );
    let out = dir.join("export.csv").to_string_lossy().into_owned();
    if !args.no_sqlite {
        sqlite_runs(&args, &dir, &csv, &out).await?;
    }
    if let Some(pg) = &args.postgres {
        postgres_runs(pg, args.rows, &dir, &csv, &out).await?;
    }
    println!("\nfiles kept in {}", dir.display());
    Ok(())
}

/// The SQLite import of the CSV against `sqlite3 .import`, its export, and the .xlsx import.
async fn sqlite_runs(
    args: &ImportBenchArgs,
    dir: &Path,
    csv: &Path,
    out: &str,
) -> anyhow::Result<()> {
    let xlsx = dir.join(format!("客户名单-{}.xlsx", count_label(args.xlsx_rows)));
    let t = Instant::now();
    write_xlsx(&xlsx, args.xlsx_rows).context("writing the .xlsx")?;
    println!(
        "generated {} rows .xlsx ({:.0} MB) in {:.1} s",
        args.xlsx_rows,
        std::fs::metadata(&xlsx)?.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let csv_s = csv.to_string_lossy().into_owned();
    let xlsx_s = xlsx.to_string_lossy().into_owned();
    println!("\nSQLite");
    let url = fresh_sqlite(&dir.join("bench.db")).await?;
    let m = leadline(&["--database-url", &url, "import", &csv_s, "--quiet"])?;
    report(
        &format!("leadline import (CSV, {})", count_label(args.rows)),
        &m,
    );
    println!("    {}", outcome_line(&m.output));
    let import_secs = m.secs;
    match sqlite3_baseline(csv, dir)? {
        Some(secs) => {
            println!(
                "  {:<34} {:>9} rows {secs:>7.1} s {:>9.0} rows/s",
                "sqlite3 .import (unique phone idx)",
                args.rows,
                rate(args.rows as u64, secs)
            );
            println!(
                "  ratio leadline / sqlite3 .import: {:.2}× (goal ≤ 1.5×)",
                import_secs / secs
            );
        }
        None => println!("  sqlite3 not on PATH: no baseline"),
    }
    let e = leadline(&[
        "--database-url",
        &url,
        "export",
        "--format",
        "csv",
        "--out",
        out,
    ])?;
    report("leadline export (CSV)", &e);
    let xurl = fresh_sqlite(&dir.join("bench-xlsx.db")).await?;
    let m = leadline(&["--database-url", &xurl, "import", &xlsx_s, "--quiet"])?;
    report(
        &format!("leadline import (.xlsx, {})", count_label(args.xlsx_rows)),
        &m,
    );
    println!("    {}", outcome_line(&m.output));
    Ok(())
}

/// The PostgreSQL import of the CSV into a fresh database, against `COPY` of the same file into
/// that database, then its export.
async fn postgres_runs(
    pg: &str,
    rows: usize,
    dir: &Path,
    csv: &Path,
    out: &str,
) -> anyhow::Result<()> {
    println!("\nPostgreSQL");
    let csv_s = csv.to_string_lossy().into_owned();
    let name = format!("leadline_bench_import_{}", std::process::id());
    let admin = sqlx::PgPool::connect(pg).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await?;
    let (base, _) = pg.rsplit_once('/').context("a postgres://…/db URL")?;
    let url = format!("{base}/{name}");
    let result: anyhow::Result<()> = async {
        setup_db(&url)?;
        create_admin(&url).await?;
        let m = leadline(&["--database-url", &url, "import", &csv_s, "--quiet"])?;
        report(&format!("leadline import (CSV, {})", count_label(rows)), &m);
        println!("    {}", outcome_line(&m.output));
        println!("    {}", phases_line(&m.output));
        if let Some(secs) = psql_baseline(&url, csv)? {
            println!(
                "  {:<34} {:>9} rows {secs:>7.1} s {:>9.0} rows/s",
                "COPY (psql \\copy, phone idx)",
                rows,
                rate(rows as u64, secs)
            );
            println!("  ratio leadline / COPY: {:.2}× (goal ≤ 3×)", m.secs / secs);
            let leads = imported(&m.output);
            database_floor(&url, dir, leads, m.secs)?;
        }
        let e = leadline(&[
            "--database-url",
            &url,
            "export",
            "--format",
            "csv",
            "--out",
            out,
        ])?;
        report("leadline export (CSV)", &e);
        Ok(())
    }
    .await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await?;
    result
}

/// "1M", "200k" or the number.
fn count_label(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}
