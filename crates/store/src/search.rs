//! The search index over knowledge articles, scripts and call notes: one `search_docs` row per
//! searchable thing holding tokens from leadline-search; SQLite indexes them with FTS5 (kept in
//! step by triggers) and ranks with bm25; PostgreSQL stores them as tsvectors
//! (`array_to_tsvector(string_to_array(tokens, ' '))`, GIN-indexed), keeps the words of articles
//! and scripts in an inverted index (`search_postings`, by a trigger) and ranks with BM25 in
//! [`pg_rank`]. Results respect the same visibility rules as lists: private scripts and notes on
//! hidden leads never come back.

use chrono::{DateTime, Utc};
use leadline_domain::{LeadId, Role, Viewer};
use leadline_search::{Query, highlight, index_tokens, markdown_text, snippet, table_text};
use serde::Serialize;
use serde_json::Value;

use crate::db::sql::{Arg, Sql};
use crate::{Backend, Db, Result, bind_args, db::sqlite_writer, db_run};

mod pg_rank;

/// Most results one search returns.
pub const MAX_RESULTS: i64 = 50;
/// Characters of context in a snippet.
pub const SNIPPET_CHARS: usize = 120;
/// The newest this many documents of each kind matching a query are ranked. A knowledge base rarely has more
/// matches for one question, and then the ranking is exact; for a word in tens of thousands of
/// documents (call notes, mostly) it bounds the work of a search, since both databases compute
/// the score for every row they consider.
pub const MAX_CANDIDATES: i64 = 1_000;
/// Weight of a hit in the title against one in the body (FTS5 column weight; PostgreSQL bonus).
const TITLE_WEIGHT: f64 = 3.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    Article,
    Script,
    CallNote,
}

impl DocKind {
    pub const ALL: [DocKind; 3] = [DocKind::Article, DocKind::Script, DocKind::CallNote];

    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Article => "article",
            DocKind::Script => "script",
            DocKind::CallNote => "call_note",
        }
    }

    pub fn parse(s: &str) -> Option<DocKind> {
        DocKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The id range of this kind's documents: `[start, end)`.
    pub fn id_range(self) -> (i64, i64) {
        let block = match self {
            DocKind::Article => 1,
            DocKind::Script => 2,
            DocKind::CallNote => 3,
        };
        (block << KIND_BITS, (block + 1) << KIND_BITS)
    }

    /// The search document id of thing `ref_id` of this kind.
    pub fn doc_id(self, ref_id: i64) -> i64 {
        self.id_range().0 + ref_id
    }
}

/// Ids of one kind's documents share the bits above these (room for 10^12 things per kind).
const KIND_BITS: u32 = 40;

/// The statement that upserts one document; binds kind, ref id, category, lead, title tokens,
/// tokens, time and the document id. PostgreSQL turns the token strings into tsvectors without its parser.
pub fn upsert_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "INSERT INTO search_docs (id, kind, ref_id, category, lead_id, title_tokens, tokens, updated_at) \
             VALUES ($8, $1, $2, $3, $4, $5, $6, $7) ON CONFLICT (kind, ref_id) DO UPDATE SET category = excluded.category, \
             lead_id = excluded.lead_id, title_tokens = excluded.title_tokens, tokens = excluded.tokens, \
             updated_at = excluded.updated_at"
        }
        Backend::Postgres => {
            "INSERT INTO search_docs (id, kind, ref_id, category, lead_id, title_tokens, tokens, updated_at) \
             VALUES ($8, $1, $2, $3, $4, array_to_tsvector(string_to_array($5, ' ')), \
             array_to_tsvector(string_to_array($6, ' ')), $7) ON CONFLICT (kind, ref_id) DO UPDATE SET \
             category = excluded.category, lead_id = excluded.lead_id, title_tokens = excluded.title_tokens, \
             tokens = excluded.tokens, updated_at = excluded.updated_at"
        }
    }
}

/// Calls whose notes one pass of [`index_new_notes`] reads and indexes at most.
const NOTE_BATCH: i64 = 100;

/// The calls past the mark, each row with the mark (one statement, one snapshot). CROSS JOIN
/// keeps the mark first, so the calls are a range of their primary key after it: joined the
/// other way, SQLite walks every call in id order to find the ones past the mark, which read
/// the whole calls table at every pass (every second, and before every search).
const NEW_NOTES: &str = "SELECT m.last_call_id, c.id, c.lead_id, c.started_at, c.notes \
    FROM search_note_mark m CROSS JOIN calls c ON c.id > m.last_call_id \
    WHERE m.id = 1 ORDER BY c.id LIMIT $1";

/// On SQLite, indexes the notes of the calls recorded since the last pass, a batch at a time,
/// and returns how many notes it indexed. Recording a call there does not write the full-text
/// index (the one writer would pay for a segment at every commit): the server's worker runs
/// this every second, and every search that may find call notes runs it first, so that a
/// search always finds every note recorded before it. Each batch is written in one writer
/// transaction together with the mark of how far the notes are indexed, so a pass that is
/// killed leaves whole batches, and two passes at once (a search and the worker, or two
/// servers) never index a batch twice. PostgreSQL indexes each note with its call: nothing
/// to do.
pub async fn index_new_notes(db: &Db) -> Result<usize> {
    let Db::Sqlite(pool) = db else {
        return Ok(0);
    };
    let mut indexed = 0;
    loop {
        let calls: Vec<(i64, i64, LeadId, DateTime<Utc>, String)> = sqlx::query_as(NEW_NOTES)
            .bind(NOTE_BATCH)
            .fetch_all(pool)
            .await?;
        let (Some(&(mark, ..)), Some(&(_, last, ..))) = (calls.first(), calls.last()) else {
            return Ok(indexed);
        };
        let full = calls.len() as i64 == NOTE_BATCH;
        // Segmenting is the costly part: off the async threads, and before the writer.
        let docs: Vec<IndexDoc> = tokio::task::spawn_blocking(move || {
            calls
                .into_iter()
                .filter_map(|(_, id, lead, at, notes)| {
                    crate::workday::calls::note_doc(id, lead, at, &notes)
                })
                .collect()
        })
        .await
        .map_err(|e| crate::StoreError::Internal(format!("segmenting notes: {e}")))?;
        let n = docs.len();
        let moved = sqlite_writer::run_background(pool, move |conn| {
            use rusqlite::types::Value as V;
            let moved = sqlite_writer::execute(
                conn,
                "UPDATE search_note_mark SET last_call_id = $2 WHERE id = 1 AND last_call_id = $1",
                &[V::Integer(mark), V::Integer(last)],
            )?;
            if moved == 1 && !docs.is_empty() {
                upsert_many_sqlite(conn, &docs)?;
            }
            Ok(moved == 1)
        })
        .await?;
        if moved {
            indexed += n;
            if !full {
                return Ok(indexed);
            }
        }
        // Another pass indexed this batch meanwhile, or there is more: look again.
    }
}

/// Upserts many documents on the SQLite writer in one statement, so that the full-text index
/// writes one segment for all of them.
fn upsert_many_sqlite(conn: &sqlite_writer::Connection, docs: &[IndexDoc]) -> Result<()> {
    const UPSERT_MANY: &str = "INSERT INTO search_docs (id, kind, ref_id, category, lead_id, title_tokens, tokens, updated_at) \
        SELECT value ->> 7, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6 \
        FROM json_each($1) WHERE TRUE ON CONFLICT (kind, ref_id) DO UPDATE SET category = excluded.category, \
        lead_id = excluded.lead_id, title_tokens = excluded.title_tokens, tokens = excluded.tokens, \
        updated_at = excluded.updated_at";
    let rows: Vec<Value> = docs
        .iter()
        .map(|d| {
            serde_json::json!([
                d.kind.as_str(),
                d.ref_id,
                d.category,
                d.lead_id,
                d.title_tokens,
                d.tokens,
                sqlite_writer::time_text(d.at),
                d.kind.doc_id(d.ref_id),
            ])
        })
        .collect();
    sqlite_writer::execute(
        conn,
        UPSERT_MANY,
        &[rusqlite::types::Value::Text(Value::Array(rows).to_string())],
    )?;
    Ok(())
}

/// Removes one document; binds kind and ref id.
pub const REMOVE: &str = "DELETE FROM search_docs WHERE kind = $1 AND ref_id = $2";

/// What is indexed for one thing: segmented once, written in the caller's transaction.
#[derive(Debug, Clone)]
pub struct IndexDoc {
    pub kind: DocKind,
    pub ref_id: i64,
    pub category: String,
    pub lead_id: Option<LeadId>,
    pub title_tokens: String,
    /// Title and body tokens together (what the GIN and FTS5 indexes match on).
    pub tokens: String,
    pub at: DateTime<Utc>,
}

impl IndexDoc {
    /// Segments a title and a plain-text body (Markdown is read with [`markdown_text`] first).
    pub fn new(kind: DocKind, ref_id: i64, category: &str, title: &str, body: &str) -> IndexDoc {
        let title_tokens = index_tokens(title);
        let body_tokens = index_tokens(body);
        let tokens = match (title_tokens.is_empty(), body_tokens.is_empty()) {
            (_, true) => title_tokens.clone(),
            (true, false) => body_tokens,
            (false, false) => format!("{title_tokens} {body_tokens}"),
        };
        IndexDoc {
            kind,
            ref_id,
            category: category.to_string(),
            lead_id: None,
            title_tokens,
            tokens,
            at: crate::now(),
        }
    }

    /// A knowledge article: its Markdown read as text, its tags as words.
    pub fn article(
        id: i64,
        category_path: &str,
        title: &str,
        body_md: &str,
        tags: &[String],
    ) -> IndexDoc {
        let text = format!("{} {}", tags.join(" "), markdown_text(body_md));
        IndexDoc::new(DocKind::Article, id, category_path, title, &text)
    }
}

/// Writes an [`IndexDoc`] on a connection or transaction of either backend.
#[macro_export]
macro_rules! index_doc {
    ($conn:expr, $backend:expr, $doc:expr) => {{
        let d: &$crate::search::IndexDoc = &$doc;
        sqlx::query($crate::search::upsert_sql($backend))
            .bind(d.kind.as_str())
            .bind(d.ref_id)
            .bind(&d.category)
            .bind(d.lead_id)
            .bind(&d.title_tokens)
            .bind(&d.tokens)
            .bind(d.at)
            .bind(d.kind.doc_id(d.ref_id))
            .execute($conn)
            .await
    }};
}

/// Removes a document (deleted article or script) on a connection or transaction.
#[macro_export]
macro_rules! unindex_doc {
    ($conn:expr, $kind:expr, $ref_id:expr) => {{
        let kind: $crate::search::DocKind = $kind;
        sqlx::query($crate::search::REMOVE)
            .bind(kind.as_str())
            .bind($ref_id)
            .execute($conn)
            .await
    }};
}

/// A search as asked: the text, and optional kind and category (a category also finds its
/// sub-categories).
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub q: String,
    pub kind: Option<DocKind>,
    pub category: Option<String>,
    pub limit: i64,
}

/// One result, best first; `snippet` and `title_html` are escaped HTML with hits in `<mark>`.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub kind: DocKind,
    pub id: i64,
    pub title: String,
    pub title_html: String,
    pub snippet: String,
    pub category: String,
    /// The lead a call note belongs to.
    pub lead_id: Option<LeadId>,
    pub url: String,
    pub score: f64,
    /// Call notes with the same text folded into this one (a note pasted on many calls would
    /// otherwise fill the results with copies of itself).
    pub same_notes: u32,
}

/// A call note's text as compared for sameness: trimmed, spaces collapsed, case folded.
fn note_key(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Folds call notes whose text is the same into the best-ranked of them, counting the copies.
fn fold_same_notes(hits: Vec<(SearchHit, Option<String>)>) -> Vec<SearchHit> {
    let mut out: Vec<SearchHit> = Vec::with_capacity(hits.len());
    let mut seen: Vec<(String, usize)> = Vec::new();
    for (hit, key) in hits {
        match key {
            Some(key) => match seen.iter().find(|(k, _)| *k == key) {
                Some(&(_, at)) => out[at].same_notes += 1,
                None => {
                    seen.push((key, out.len()));
                    out.push(hit);
                }
            },
            None => out.push(hit),
        }
    }
    out
}

#[derive(sqlx::FromRow)]
struct Ranked {
    kind: String,
    ref_id: i64,
    category: String,
    lead_id: Option<LeadId>,
    score: f64,
}

/// Adds what `viewer` may see: every article; shared scripts, their own and those they manage;
/// notes on leads they may see (the lead rule, [`crate::leads::visible_leads`]), never on
/// deleted leads.
fn push_visibility(sql: &mut Sql, viewer: &Viewer) {
    let mut me = None;
    let visible = crate::leads::visible_leads(viewer, "l", |id| {
        let p = sql.arg(Arg::I64(id.0));
        me = Some(p.clone());
        p
    });
    let notes = format!("(d.kind = 'call_note' AND l.deleted_at IS NULL AND {visible})");
    if viewer.role == Role::Admin {
        sql.push(&format!(" AND (d.kind <> 'call_note' OR {notes})"));
        return;
    }
    let me = me.unwrap_or_else(|| sql.arg(Arg::I64(viewer.user_id.0)));
    let scripts = crate::scripts::visible_scripts(viewer, "s", "so", &me);
    sql.push(&format!(
        " AND (d.kind = 'article' OR (d.kind = 'script' AND {scripts}) OR {notes})"
    ));
}

/// BM25's term-frequency saturation and length normalisation (the usual values; FTS5's too).
const BM25_K1: f64 = 1.2;
const BM25_B: f64 = 0.75;

/// The ranked (kind, id) pairs for a query, best first.
async fn rank(db: &Db, viewer: &Viewer, query: &Query, req: &SearchRequest) -> Result<Vec<Ranked>> {
    let kinds: Vec<DocKind> = match req.kind {
        Some(k) => vec![k],
        None => DocKind::ALL.to_vec(),
    };
    let category = req
        .category
        .as_deref()
        .map(|c| c.trim().trim_matches('/'))
        .filter(|c| !c.is_empty());
    // Up to twice the results shown: `search` folds copies of a call note.
    let limit = req.limit.clamp(1, MAX_RESULTS * 2);
    let pool = match db {
        Db::Postgres(pool) => {
            return pg_rank::rank(pool, viewer, query, &kinds, category, limit).await;
        }
        Db::Sqlite(pool) => pool,
    };
    let joins = " LEFT JOIN scripts s ON d.kind = 'script' AND s.id = d.ref_id \
        LEFT JOIN users so ON so.id = s.owner_id \
        LEFT JOIN leads l ON l.id = d.lead_id";
    let mut sql = Sql::default();
    let m = sql.arg(Arg::Text(query.fts5_match()));
    // Each kind's newest candidates separately, so thousands of call notes cannot crowd
    // out the articles; the rowid range keeps each scan inside its kind.
    let candidates: Vec<String> = kinds
        .iter()
        .map(|k| {
            let (lo, hi) = k.id_range();
            format!(
                "SELECT * FROM (SELECT rowid AS id, -bm25(search_fts, {TITLE_WEIGHT}, 1.0) AS score \
                 FROM search_fts WHERE search_fts MATCH {m} AND rowid >= {lo} AND rowid < {hi} \
                 ORDER BY rowid DESC LIMIT {MAX_CANDIDATES})"
            )
        })
        .collect();
    sql.push(&format!(
        "SELECT d.kind, d.ref_id, d.category, d.lead_id, c.score FROM ({}) c \
         JOIN search_docs d ON d.id = c.id{joins} WHERE 1 = 1",
        candidates.join(" UNION ALL ")
    ));
    if let Some(c) = category {
        let p = sql.arg(Arg::Text(c.to_string()));
        let prefix = sql.arg(Arg::Text(format!("{c}/")));
        sql.push(&format!(
            " AND (d.category = {p} OR substr(d.category, 1, length({prefix})) = {prefix})"
        ));
    }
    push_visibility(&mut sql, viewer);
    sql.push(&format!(" ORDER BY score DESC, d.id DESC LIMIT {limit}"));
    Ok(bind_args!(
        sqlx::query_as::<_, Ranked>(sqlx::AssertSqlSafe(sql.text)),
        sql.args
    )
    .fetch_all(pool)
    .await?)
}

/// (id, title, text to snippet) of the ranked things of one kind.
async fn texts(db: &Db, kind: DocKind, ids: &[i64]) -> Result<Vec<(i64, String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let sql = match kind {
        DocKind::Article => format!("SELECT id, title, body FROM kb_articles WHERE id IN ({list})"),
        DocKind::Script => format!("SELECT id, title, body FROM scripts WHERE id IN ({list})"),
        DocKind::CallNote => format!(
            "SELECT c.id, l.name, c.notes FROM calls c JOIN leads l ON l.id = c.lead_id WHERE c.id IN ({list})"
        ),
    };
    let rows: Vec<(i64, String, String)> = db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool)
            .await?
    });
    Ok(rows
        .into_iter()
        .map(|(id, title, body)| match kind {
            DocKind::Article => (id, title, markdown_text(&body)),
            // A table pasted into a script or a note is read as its cells, not its pipes.
            _ => (id, title, table_text(&body).into_owned()),
        })
        .collect())
}

/// Searches what `viewer` may see; an empty or stop-word-only query finds nothing.
pub async fn search(db: &Db, viewer: &Viewer, req: &SearchRequest) -> Result<Vec<SearchHit>> {
    let Some(query) = Query::parse(&req.q) else {
        return Ok(Vec::new());
    };
    if matches!(req.kind, None | Some(DocKind::CallNote)) {
        index_new_notes(db).await?;
    }
    // Copies of one call note fold into one hit: rank more, so that folding leaves enough.
    let folded_req = SearchRequest {
        limit: (req.limit.clamp(1, MAX_RESULTS) * 2).min(MAX_RESULTS * 2),
        ..req.clone()
    };
    let ranked = rank(db, viewer, &query, &folded_req).await?;
    let mut found: Vec<(DocKind, i64, String, String)> = Vec::new();
    for kind in DocKind::ALL {
        let ids: Vec<i64> = ranked
            .iter()
            .filter(|r| r.kind == kind.as_str())
            .map(|r| r.ref_id)
            .collect();
        found.extend(
            texts(db, kind, &ids)
                .await?
                .into_iter()
                .map(|(id, title, text)| (kind, id, title, text)),
        );
    }
    let hits = ranked
        .into_iter()
        .filter_map(|r| {
            let kind = DocKind::parse(&r.kind)?;
            let (_, _, title, text) = found.iter().find(|f| f.0 == kind && f.1 == r.ref_id)?;
            let url = match (kind, r.lead_id) {
                (DocKind::Article, _) => format!("/kb/articles/{}", r.ref_id),
                (DocKind::Script, _) => format!("/scripts/{}", r.ref_id),
                (DocKind::CallNote, Some(lead)) => format!("/leads/{lead}#call-{}", r.ref_id),
                (DocKind::CallNote, None) => return None,
            };
            let same = (kind == DocKind::CallNote).then(|| note_key(text));
            Some((
                SearchHit {
                    kind,
                    id: r.ref_id,
                    title_html: highlight(title, &query),
                    title: title.clone(),
                    snippet: snippet(text, &query, SNIPPET_CHARS),
                    category: r.category,
                    lead_id: r.lead_id,
                    url,
                    score: r.score,
                    same_notes: 0,
                },
                same,
            ))
        })
        .collect();
    let mut hits = fold_same_notes(hits);
    hits.truncate(req.limit.clamp(1, MAX_RESULTS) as usize);
    Ok(hits)
}

/// Number of indexed documents (for `/metrics` and the benchmark).
pub async fn count_docs(db: &Db) -> Result<i64> {
    Ok(db_run!(db, |pool| {
        sqlx::query_scalar("SELECT COUNT(*) FROM search_docs")
            .fetch_one(pool)
            .await?
    }))
}

#[cfg(test)]
mod tests {
    use leadline_domain::{Role, UserId};

    use super::*;
    use crate::auth::users::{self, NewUser};
    use crate::db::sql::execute;
    use crate::db::test_db::TestDb;
    use crate::workday::calls::{self, NewCall};

    /// Calls of `agent` on lead 1 with notes `notes(i)` (an empty one every tenth).
    fn batch(agent: UserId, from: usize, n: usize, word: &str) -> Vec<NewCall> {
        (from..from + n)
            .map(|i| NewCall {
                lead_id: LeadId(1),
                agent_id: agent,
                started_at: crate::now(),
                duration_s: 60,
                disposition: "connected".into(),
                intent: None,
                notes: if i % 10 == 0 {
                    String::new()
                } else {
                    format!("第{i}通 客户想了解{word}")
                },
                next_revisit_at: None,
                script_id: None,
            })
            .collect()
    }

    async fn note_docs(db: &Db) -> i64 {
        db_run!(db, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM search_docs WHERE kind = 'call_note'"
        )
        .fetch_one(pool)
        .await
        .unwrap())
    }

    /// Finding the notes to index reads the calls after the mark, not every call: the pass
    /// runs every second, and the calls table only grows.
    #[tokio::test]
    async fn new_notes_are_found_by_a_range_of_call_ids_after_the_mark() {
        let t = TestDb::sqlite().await.unwrap();
        let Db::Sqlite(pool) = t.db.clone() else {
            unreachable!("TestDb::sqlite is SQLite")
        };
        let plan = sqlite_writer::query_plan(&pool, NEW_NOTES, vec![NOTE_BATCH.into()])
            .await
            .unwrap()
            .join("; ");
        assert!(
            plan.contains("SEARCH c USING INTEGER PRIMARY KEY (rowid>?)"),
            "{plan}"
        );
        assert!(!plan.contains("SCAN"), "{plan}");
    }

    /// Notes are indexed once each however many passes run at once, in batches (more notes
    /// than one batch here), and a search finds a note recorded just before it without
    /// waiting for the server's worker: on SQLite the search indexes what is new first; on
    /// PostgreSQL the note was indexed with its call.
    #[tokio::test]
    async fn every_note_is_indexed_once_and_found_by_the_next_search() {
        let t = TestDb::fresh().await.unwrap();
        let db = &t.db;
        let hash = users::hash_password("a long enough password");
        let agent = users::create_user(
            db,
            &NewUser {
                username: "agent".into(),
                display_name: "坐席".into(),
                role: Role::Agent,
                team_id: None,
                password_hash: hash,
            },
            None,
        )
        .await
        .unwrap();
        execute(
            db,
            "INSERT INTO leads (id, name, status, created_at, updated_at) VALUES (1, '客户', 'new', $1, $1)",
            vec![Arg::Time(crate::now())],
        )
        .await
        .unwrap();
        let first = NOTE_BATCH as usize + 500;
        calls::insert_many(db, &batch(agent.id, 0, first, "分期付款"))
            .await
            .unwrap();
        let with_notes = (0..first).filter(|i| i % 10 != 0).count();
        let (a, b) = tokio::join!(index_new_notes(db), index_new_notes(db));
        let indexed = a.unwrap() + b.unwrap();
        match db.backend() {
            Backend::Sqlite => assert_eq!(indexed, with_notes, "passes at once indexed twice"),
            Backend::Postgres => assert_eq!(indexed, 0),
        }
        assert_eq!(note_docs(db).await, with_notes as i64);
        assert_eq!(index_new_notes(db).await.unwrap(), 0, "nothing new");

        calls::insert_many(db, &batch(agent.id, first + 1, 3, "上门安装"))
            .await
            .unwrap();
        let admin = Viewer {
            user_id: agent.id,
            role: Role::Admin,
            supervised_teams: Vec::new(),
            pools: Vec::new(),
        };
        let found = search(
            db,
            &admin,
            &SearchRequest {
                q: "上门安装".into(),
                kind: Some(DocKind::CallNote),
                limit: 10,
                ..SearchRequest::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found.iter().all(|h| h.lead_id == Some(LeadId(1))));
        assert_eq!(note_docs(db).await, with_notes as i64 + 3);
    }
}
