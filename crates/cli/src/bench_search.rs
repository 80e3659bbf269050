//! `leadline bench search`: knowledge-base search over 100,000 generated Chinese articles —
//! index build rate, then p50/p99 latency of 1,000 searches (ranking and snippets included),
//! against a `LIKE '%…%'` scan of the same articles in the same run. SQLite always; PostgreSQL
//! too when `--postgres` names a server (a fresh schema is created and dropped).

use std::time::{Duration, Instant};

use anyhow::Context;
use leadline_domain::{ArticleFields, Role, Viewer};
use leadline_store::auth::users::{self, NewUser};
use leadline_store::db::test_db::TestDb;
use leadline_store::search::{self, DocKind, SearchRequest};
use leadline_store::{Db, db_run, kb};
use rand::{RngExt, SeedableRng, rngs::StdRng, seq::IndexedRandom};

#[derive(clap::Args, Debug, Clone)]
pub struct SearchArgs {
    /// Number of articles to generate.
    #[arg(long, default_value_t = 100_000)]
    articles: usize,
    /// Number of searches measured.
    #[arg(long, default_value_t = 1_000)]
    queries: usize,
    /// Searches also timed as a `LIKE '%…%'` scan (the slow baseline; the first N queries).
    #[arg(long, default_value_t = 100)]
    like_queries: usize,
    /// Write the SQLite database to this file and keep it (for looking into a result).
    #[arg(long)]
    keep_sqlite: Option<std::path::PathBuf>,
    /// Keep the PostgreSQL schema (its name is printed) for looking into a result.
    #[arg(long)]
    keep_postgres: bool,
    /// Also run on this PostgreSQL server.
    #[arg(long, env = "LEADLINE_BENCH_POSTGRES_URL")]
    postgres: Option<String>,
    /// Run on PostgreSQL only (skip SQLite).
    #[arg(long)]
    postgres_only: bool,
}

/// Articles written per transaction.
const BATCH: usize = 1_000;
/// Results asked of each search (a page of the search pane).
const RESULTS: i64 = 20;
/// Goal on either database: p99 of one search, in milliseconds.
const GOAL_P99_MS: f64 = 20.0;

/// Subjects of a telesales knowledge base, each with the words its articles use.
const TOPICS: &[(&str, &[&str])] = &[
    (
        "价格异议",
        &[
            "价格",
            "报价",
            "优惠",
            "折扣",
            "预算",
            "费用",
            "年费",
            "性价比",
            "太贵",
            "便宜",
            "成本",
            "让利",
        ],
    ),
    (
        "退款政策",
        &[
            "退款",
            "退费",
            "原路返回",
            "订单号",
            "审核",
            "财务",
            "到账",
            "作废",
            "红冲",
            "无理由",
            "工作日",
            "申请",
        ],
    ),
    (
        "安装部署",
        &[
            "安装",
            "部署",
            "服务器",
            "内存",
            "数据库",
            "浏览器",
            "上线",
            "实施",
            "工程师",
            "远程",
            "配置",
            "升级",
        ],
    ),
    (
        "数据安全",
        &[
            "安全", "加密", "隐私", "备份", "权限", "审计", "泄露", "机房", "合规", "存储", "访问",
            "日志",
        ],
    ),
    (
        "竞品对比",
        &[
            "竞品", "对手", "对比", "优势", "定制", "迁移", "替换", "口碑", "案例", "评测", "差异",
            "功能",
        ],
    ),
    (
        "免费试用",
        &[
            "试用", "演示", "体验", "账号", "开通", "到期", "转正", "回访", "反馈", "引导", "上手",
            "培训",
        ],
    ),
    (
        "合同条款",
        &[
            "合同", "条款", "签约", "期限", "违约", "法务", "续约", "盖章", "附件", "责任", "赔偿",
            "终止",
        ],
    ),
    (
        "发票开具",
        &[
            "发票",
            "专票",
            "普票",
            "税号",
            "抬头",
            "开户行",
            "电子发票",
            "邮寄",
            "开票",
            "税率",
            "报销",
            "重开",
        ],
    ),
    (
        "售后服务",
        &[
            "售后",
            "客服",
            "工单",
            "响应",
            "热线",
            "故障",
            "值班",
            "节假日",
            "满意度",
            "投诉",
            "处理",
            "跟进",
        ],
    ),
    (
        "决策人",
        &[
            "决策人",
            "老板",
            "负责人",
            "拍板",
            "引荐",
            "采购",
            "预算审批",
            "汇报",
            "高层",
            "总监",
            "选型",
            "评估",
        ],
    ),
    (
        "邮件资料",
        &[
            "邮件",
            "邮箱",
            "资料",
            "附件",
            "介绍",
            "案例",
            "手册",
            "白皮书",
            "链接",
            "下载",
            "阅读",
            "发送",
        ],
    ),
    (
        "客户很忙",
        &[
            "开会", "出差", "稍后", "回电", "改天", "约定", "时间", "提醒", "准时", "打扰", "简短",
            "预约",
        ],
    ),
    (
        "开场白",
        &[
            "开场白",
            "问候",
            "自我介绍",
            "来意",
            "价值",
            "兴趣",
            "提问",
            "倾听",
            "语气",
            "语速",
            "称呼",
            "寒暄",
        ],
    ),
    (
        "线索导入",
        &[
            "导入",
            "表格",
            "字段",
            "映射",
            "重复",
            "去重",
            "手机号",
            "格式",
            "编码",
            "批量",
            "模板",
            "校验",
        ],
    ),
    (
        "撞单处理",
        &[
            "撞单",
            "归属",
            "公海",
            "认领",
            "仲裁",
            "主管",
            "规则",
            "冲突",
            "保护期",
            "转移",
            "记录",
            "申诉",
        ],
    ),
    (
        "日报考核",
        &[
            "日报",
            "考核",
            "指标",
            "通话量",
            "接通率",
            "转化率",
            "排名",
            "奖金",
            "目标",
            "完成率",
            "统计",
            "报表",
        ],
    ),
    (
        "呼叫中心",
        &[
            "呼叫中心",
            "坐席",
            "外呼",
            "录音",
            "排队",
            "转接",
            "语音导航",
            "按键",
            "留言",
            "并发",
            "线路",
            "号码",
        ],
    ),
    (
        "客户分级",
        &[
            "分级",
            "意向",
            "跟进",
            "拜访",
            "频率",
            "重点客户",
            "潜在客户",
            "流失",
            "复购",
            "画像",
            "标签",
            "分组",
        ],
    ),
    (
        "续费升级",
        &[
            "续费",
            "升级",
            "到期",
            "补差价",
            "老客户",
            "优惠券",
            "套餐",
            "扩容",
            "坐席数",
            "年付",
            "月付",
            "提醒",
        ],
    ),
    (
        "通话规范",
        &[
            "礼仪",
            "规范",
            "勿扰",
            "午休",
            "工作时间",
            "投诉",
            "骚扰",
            "同意",
            "退订",
            "记录",
            "合规",
            "话术",
        ],
    ),
];

/// Words any article uses, whatever its subject.
const COMMON: &[&str] = &[
    "客户", "我们", "系统", "可以", "需要", "通过", "公司", "产品", "服务", "团队", "管理", "销售",
    "电话", "问题", "情况", "方式", "数据", "如果", "已经", "目前", "建议", "注意", "确认", "及时",
    "沟通", "提高", "效率", "支持", "使用", "相关", "CRM", "Excel", "API",
];

/// Questions a caller asks in their own words (besides single subject words).
const PHRASES: &[&str] = &[
    "客户说太贵了怎么办",
    "退款多久到账",
    "怎么开专票",
    "私有化部署需要什么配置",
    "试用期到期怎么转正",
    "客户说在开会",
    "怎么找到决策人",
    "合同期限多长",
    "撞单了归谁",
    "接通率怎么算",
    "录音在哪里听",
    "refund policy",
    "invoice",
    "free trial",
    "data security",
    "discount approval",
];

/// One generated article: a subject, a title and 8–25 sentences (≈300–900 characters).
fn article(rng: &mut StdRng, n: usize) -> (String, String, Vec<String>) {
    let (topic, words) = TOPICS.choose(rng).copied().unwrap_or(TOPICS[0]);
    let (_, second) = TOPICS.choose(rng).copied().unwrap_or(TOPICS[1]);
    let title = format!(
        "{topic}：{}与{}（第{n}篇）",
        words.choose(rng).unwrap_or(&topic),
        words.choose(rng).unwrap_or(&topic)
    );
    let mut body = String::new();
    for _ in 0..rng.random_range(8..=25) {
        for _ in 0..rng.random_range(4..=8) {
            let pool: &[&str] = match rng.random_range(0..10) {
                0..=4 => words,
                5..=6 => second,
                _ => COMMON,
            };
            body.push_str(pool.choose(rng).unwrap_or(&"客户"));
        }
        body.push_str(if rng.random_range(0..3) == 0 {
            "。\n"
        } else {
            "，"
        });
    }
    let tags = vec![topic.to_string()];
    (title, body, tags)
}

/// The questions timed: subject words, pairs, and phrases in callers' words.
fn queries(rng: &mut StdRng, count: usize) -> Vec<String> {
    (0..count)
        .map(|_| {
            let (_, words) = TOPICS.choose(rng).copied().unwrap_or(TOPICS[0]);
            match rng.random_range(0..20) {
                0..=10 => words.choose(rng).unwrap_or(&"价格").to_string(),
                11..=16 => format!(
                    "{} {}",
                    words.choose(rng).unwrap_or(&"价格"),
                    words.choose(rng).unwrap_or(&"退款")
                ),
                _ => PHRASES.choose(rng).unwrap_or(&"退款").to_string(),
            }
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

/// Writes the articles; returns (seconds, megabytes of text indexed).
async fn build(
    db: &Db,
    author: leadline_domain::UserId,
    count: usize,
) -> anyhow::Result<(f64, f64)> {
    let mut rng = StdRng::seed_from_u64(5);
    let mut cats = Vec::new();
    for (topic, _) in TOPICS {
        let path = format!("知识库/{topic}");
        cats.push(kb::ensure_category(db, &path, author).await?);
    }
    let started = Instant::now();
    let mut bytes = 0usize;
    let mut done = 0;
    while done < count {
        let n = BATCH.min(count - done);
        let mut batch = Vec::with_capacity(n);
        for i in 0..n {
            let (title, body, tags) = article(&mut rng, done + i + 1);
            bytes += title.len() + body.len();
            let topic = tags[0].clone();
            let fields = ArticleFields::parse(&title, &body, &tags)
                .map_err(|p| anyhow::anyhow!("generated article refused: {p:?}"))?;
            let cat = TOPICS
                .iter()
                .position(|(t, _)| *t == topic)
                .and_then(|i| cats[i].clone());
            batch.push((fields, cat));
        }
        kb::bulk_insert(db, author, &batch).await?;
        done += n;
        if done % 10_000 == 0 {
            eprint!("\r  indexed {done}/{count}");
        }
    }
    eprintln!();
    Ok((started.elapsed().as_secs_f64(), bytes as f64 / 1e6))
}

/// Searches timed: sorted times, how many found nothing, the slowest questions with their times.
struct Timed {
    times: Vec<Duration>,
    empty: usize,
    slowest: Vec<String>,
}

/// Slowest questions printed (what sits at the p99).
const SLOWEST: usize = 10;

/// Times each query through the store's search (ranking, visibility and snippets included).
async fn time_search(db: &Db, viewer: &Viewer, qs: &[String]) -> anyhow::Result<Timed> {
    let mut times = Vec::with_capacity(qs.len());
    let mut slowest: Vec<(Duration, &str)> = Vec::new();
    let mut empty = 0;
    for q in qs {
        let req = SearchRequest {
            q: q.clone(),
            kind: Some(DocKind::Article),
            category: None,
            limit: RESULTS,
        };
        let t = Instant::now();
        let hits = search::search(db, viewer, &req).await?;
        let took = t.elapsed();
        times.push(took);
        slowest.push((took, q));
        slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
        slowest.truncate(SLOWEST);
        if hits.is_empty() {
            empty += 1;
        }
    }
    times.sort();
    Ok(Timed {
        times,
        empty,
        slowest: slowest
            .into_iter()
            .map(|(d, q)| format!("{q} {:.1} ms", d.as_secs_f64() * 1000.0))
            .collect(),
    })
}

/// Times the same questions as a `LIKE '%word%'` scan over titles and bodies (first word).
async fn time_like(db: &Db, qs: &[String]) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(qs.len());
    for q in qs {
        let word = q.split_whitespace().next().unwrap_or(q);
        let pattern = format!("%{word}%");
        let t = Instant::now();
        let rows: Vec<i64> = db_run!(db, |pool| {
            sqlx::query_scalar(
                "SELECT id FROM kb_articles WHERE deleted_at IS NULL AND (title LIKE $1 OR body LIKE $1)",
            )
            .bind(&pattern)
            .fetch_all(pool)
            .await?
        });
        times.push(t.elapsed());
        std::hint::black_box(rows);
    }
    times.sort();
    Ok(times)
}

async fn run_on(name: &str, db: &Db, args: &SearchArgs) -> anyhow::Result<f64> {
    println!(
        "== {name}: {} articles, {} searches",
        args.articles, args.queries
    );
    let author = users::create_user(
        db,
        &NewUser {
            username: "bench_admin".into(),
            display_name: "基准".into(),
            role: Role::Admin,
            team_id: None,
            password_hash: "x".into(),
        },
        None,
    )
    .await?;
    let agent = users::create_user(
        db,
        &NewUser {
            username: "bench_agent".into(),
            display_name: "电访员".into(),
            role: Role::Agent,
            team_id: None,
            password_hash: "x".into(),
        },
        None,
    )
    .await?;
    let viewer = users::viewer(db, &agent).await?;
    let (secs, mb) = build(db, author.id, args.articles).await?;
    println!(
        "index build: {:.1} s, {:.0} articles/s, {:.2} MB/s of text ({:.0} MB)",
        secs,
        args.articles as f64 / secs,
        mb / secs,
        mb
    );
    if let Db::Sqlite(pool) = db {
        sqlx::query("INSERT INTO search_fts (search_fts) VALUES ('optimize')")
            .execute(pool)
            .await?;
        sqlx::query("ANALYZE").execute(pool).await?;
    } else if let Db::Postgres(pool) = db {
        sqlx::query("VACUUM ANALYZE search_docs")
            .execute(pool)
            .await?;
        sqlx::query("VACUUM ANALYZE kb_articles")
            .execute(pool)
            .await?;
        // The postings' visibility map set, as autovacuum leaves it, so that index-only scans
        // read no table pages.
        sqlx::query("VACUUM ANALYZE search_postings")
            .execute(pool)
            .await?;
    }
    let mut rng = StdRng::seed_from_u64(9);
    let qs = queries(&mut rng, args.queries);
    time_search(db, &viewer, &qs[..qs.len().min(20)]).await?;
    let Timed {
        times,
        empty,
        slowest,
    } = time_search(db, &viewer, &qs).await?;
    let (p50, p99) = (percentile(&times, 0.50), percentile(&times, 0.99));
    let mean = times.iter().sum::<Duration>().as_secs_f64() * 1000.0 / times.len().max(1) as f64;
    println!(
        "search: p50 {p50:.2} ms, p99 {p99:.2} ms, mean {mean:.2} ms, max {:.2} ms ({empty} with no result)",
        percentile(&times, 1.0)
    );
    println!("slowest: {}", slowest.join(", "));
    let n = args.like_queries.min(qs.len());
    let like = time_like(db, &qs[..n]).await?;
    let same = time_search(db, &viewer, &qs[..n]).await?.times;
    let (lp50, sp50) = (percentile(&like, 0.5), percentile(&same, 0.5));
    println!(
        "LIKE '%…%' scan of the same articles ({n} of the queries): p50 {lp50:.2} ms, p99 {:.2} ms; \
         indexed search on those: p50 {sp50:.2} ms → {:.0}× faster at p50",
        percentile(&like, 0.99),
        lp50 / sp50.max(1e-6)
    );
    Ok(p99)
}

/// Runs the benchmark on SQLite, then on PostgreSQL if asked.
pub async fn run(args: SearchArgs) -> anyhow::Result<()> {
    if !args.postgres_only {
        run_sqlite(&args).await?;
    }
    if let Some(url) = &args.postgres {
        let pg = TestDb::postgres(url)
            .await
            .context("a fresh PostgreSQL schema")?;
        let p99 = run_on("PostgreSQL", &pg.db, &args).await?;
        println!("{}", goal_line("PostgreSQL", p99));
        if args.keep_postgres {
            println!("kept PostgreSQL schema {}", pg.keep());
        }
    } else if args.postgres_only {
        anyhow::bail!("--postgres-only needs --postgres");
    }
    Ok(())
}

/// Whether a p99 met the goal, as printed.
fn goal_line(backend: &str, p99: f64) -> String {
    format!(
        "goal on {backend}: p99 under {GOAL_P99_MS} ms — {}",
        if p99 < GOAL_P99_MS { "met" } else { "NOT met" }
    )
}

async fn run_sqlite(args: &SearchArgs) -> anyhow::Result<()> {
    let (sqlite, kept) = match &args.keep_sqlite {
        Some(path) => {
            let db = Db::connect(&path.to_string_lossy()).await?;
            db.migrate().await?;
            (None, Some(db))
        }
        None => (
            Some(TestDb::sqlite().await.context("a fresh SQLite database")?),
            None,
        ),
    };
    let db = kept
        .as_ref()
        .or(sqlite.as_ref().map(|t| &t.db))
        .context("a database")?;
    let p99 = run_on("SQLite", db, args).await?;
    println!("{}", goal_line("SQLite", p99));
    Ok(())
}
