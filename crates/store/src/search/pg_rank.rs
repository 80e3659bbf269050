//! The PostgreSQL ranking: BM25 over the newest [`MAX_CANDIDATES`] documents of each kind that
//! hold any query term, computed here from what the database says of each candidate — which
//! terms it holds (in its words, in its title) and how many distinct words it has.
//!
//! Every candidate holds some query term, so counting the candidates that hold term *i* gives
//! its document frequency — exact when the matches are fewer than the cap, an estimate from the
//! newest ones otherwise — IDF without a statistics table. The tsvectors have no positions, so a
//! term counts once per document (ts_rank alone would weigh every term the same, and 客户, in
//! nearly every article, would decide the order).
//!
//! Articles and scripts are found in `search_postings` (migration 0039), one index-only scan
//! backwards per term: the newest candidates are the newest of the union of each term's newest
//! [`MAX_CANDIDATES`] (a candidate holding term *i* has fewer than that many newer documents
//! holding *i*, all of them candidates), so each candidate's terms are known exactly from those
//! lists, without reading its row. A word still being typed (a prefix) and call notes, which
//! have no postings, are found by their tsvectors as before: the GIN index or a walk of the
//! primary key backwards, whichever the planner finds cheaper for the actual terms.

use leadline_domain::{LeadId, Viewer};
use leadline_search::{Query, QueryTerm};
use sqlx::PgPool;

use super::{BM25_B, BM25_K1, DocKind, MAX_CANDIDATES, Ranked, TITLE_WEIGHT, push_visibility};
use crate::Result;
use crate::db::sql::{Arg, Sql};

/// The joins [`push_visibility`] and the category filter read.
const JOINS: &str = " JOIN search_docs d ON d.id = c.id \
    LEFT JOIN scripts s ON d.kind = 'script' AND s.id = d.ref_id \
    LEFT JOIN users so ON so.id = s.owner_id \
    LEFT JOIN leads l ON l.id = d.lead_id";

/// One candidate as the database describes it: bit *i* of `m` (of `t`) set when it holds
/// query term *i* (in its title); `n` is the planner's count of indexed documents.
#[derive(sqlx::FromRow)]
struct Candidate {
    id: i64,
    m: i32,
    t: i32,
    len: i32,
    n: f64,
}

/// The ranked things for a query, best first: at most `limit`.
pub(super) async fn rank(
    pool: &PgPool,
    viewer: &Viewer,
    query: &Query,
    kinds: &[DocKind],
    category: Option<&str>,
    limit: i64,
) -> Result<Vec<Ranked>> {
    let terms = query.terms();
    let mut sql = Sql::default();
    let parts: Vec<String> = kinds
        .iter()
        .map(|&k| kind_candidates(&mut sql, viewer, terms, k, category))
        .collect();
    sql.push(&format!(
        "SELECT c.id, c.m, c.t, c.len, \
         (SELECT CAST(reltuples AS DOUBLE PRECISION) FROM pg_class WHERE oid = CAST('search_docs' AS regclass)) AS n \
         FROM ({}) c",
        parts.join(" UNION ALL ")
    ));
    // PostgreSQL switches a prepared statement to a generic plan after five runs, and every
    // query with as many terms shares one statement text. For a tsvector search that plan
    // guesses an average term (0.5 % of the documents) and takes the candidates from the GIN
    // index, then sorts all of them by id: 62,000 matches of 客户 read and sorted to keep 1,000
    // (33 ms over 100,000 articles, against 0.7 ms walking the primary key backwards as a plan
    // made for the actual terms does). An unnamed statement is planned with its values each
    // time. Postings have one plan whatever the term: it is kept.
    let walks = kinds.contains(&DocKind::CallNote) || terms.iter().any(|t| t.prefix);
    let candidates: Vec<Candidate> =
        crate::bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.args)
            .persistent(!walks)
            .fetch_all(pool)
            .await?;
    let best = score(terms, &candidates, limit);
    if best.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = best.iter().map(|b| b.0).collect();
    let rows: Vec<(i64, String, i64, String, Option<LeadId>)> = sqlx::query_as(
        "SELECT id, kind, ref_id, category, lead_id FROM search_docs WHERE id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    Ok(best
        .into_iter()
        .filter_map(|(id, score)| {
            let (_, kind, ref_id, category, lead_id) = rows.iter().find(|r| r.0 == id)?.clone();
            Some(Ranked {
                kind,
                ref_id,
                category,
                lead_id,
                score,
            })
        })
        .collect())
}

/// The newest candidates of one kind that `viewer` may see (in `category` when given), each with
/// its hit masks and length: `SELECT id, m, t, len`.
fn kind_candidates(
    sql: &mut Sql,
    viewer: &Viewer,
    terms: &[QueryTerm],
    kind: DocKind,
    category: Option<&str>,
) -> String {
    let (lo, hi) = kind.id_range();
    let found = if kind == DocKind::CallNote {
        walk(sql, terms, None, lo, hi)
    } else {
        let lists: Vec<String> = terms
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if t.prefix {
                    walk(sql, terms, Some(i), lo, hi)
                } else {
                    let p = sql.arg(Arg::Text(t.text.clone()));
                    format!(
                        "(SELECT doc_id AS id, {bit} AS m, CASE WHEN in_title THEN {bit} ELSE 0 END AS t, \
                         doc_len AS len FROM search_postings WHERE term = {p} AND doc_id >= {lo} \
                         AND doc_id < {hi} ORDER BY doc_id DESC LIMIT {MAX_CANDIDATES})",
                        bit = 1 << i
                    )
                }
            })
            .collect();
        // The inner ORDER BY, whose LIMIT is never reached, has the lists merged in id order
        // and read only until the newest documents are counted (3,800 postings for 16 terms),
        // where a plan that hashes every posting and sorts them all is five times slower.
        format!(
            "SELECT id, bit_or(m) AS m, bit_or(t) AS t, max(len) AS len FROM \
             (SELECT * FROM ({}) u ORDER BY id DESC LIMIT {}) p \
             GROUP BY id ORDER BY id DESC LIMIT {MAX_CANDIDATES}",
            lists.join(" UNION ALL "),
            lists.len() as i64 * MAX_CANDIDATES
        )
    };
    // Every article may be read by everyone: without a category, an article's candidates need
    // nothing more; scripts and notes are filtered by who may see them.
    if kind == DocKind::Article && category.is_none() {
        return format!("({found})");
    }
    let outer = std::mem::take(&mut sql.text);
    sql.push(&format!(
        "(SELECT c.id, c.m, c.t, c.len FROM ({found}) c{JOINS} WHERE 1 = 1"
    ));
    if let Some(c) = category {
        let p = sql.arg(Arg::Text(c.to_string()));
        let prefix = sql.arg(Arg::Text(format!("{c}/")));
        sql.push(&format!(
            " AND (d.category = {p} OR substr(d.category, 1, length({prefix})) = {prefix})"
        ));
    }
    push_visibility(sql, viewer);
    sql.push(")");
    std::mem::replace(&mut sql.text, outer)
}

/// The newest [`MAX_CANDIDATES`] documents of `[lo, hi)` matching every term (`only` none) or
/// term `only`, found by their tsvectors, with their hit masks computed on those rows alone.
fn walk(sql: &mut Sql, terms: &[QueryTerm], only: Option<usize>, lo: i64, hi: i64) -> String {
    let mut m = Vec::new();
    let mut t = Vec::new();
    let mut all = Vec::new();
    for (i, term) in terms.iter().enumerate() {
        if only.is_some_and(|o| o != i) {
            continue;
        }
        let p = sql.arg(Arg::Text(term.tsquery()));
        let bit = 1 << i;
        m.push(format!(
            "CASE WHEN w.tokens @@ CAST({p} AS tsquery) THEN {bit} ELSE 0 END"
        ));
        t.push(format!(
            "CASE WHEN w.title_tokens @@ CAST({p} AS tsquery) THEN {bit} ELSE 0 END"
        ));
        all.push(term.tsquery());
    }
    let all = sql.arg(Arg::Text(all.join(" | ")));
    // The masks are computed above the LIMIT, on the rows kept.
    format!(
        "(SELECT w.id, {} AS m, {} AS t, length(w.tokens) AS len FROM \
         (SELECT id, tokens, title_tokens FROM search_docs WHERE tokens @@ CAST({all} AS tsquery) \
         AND id >= {lo} AND id < {hi} ORDER BY id DESC LIMIT {MAX_CANDIDATES}) w)",
        m.join(" + "),
        t.join(" + ")
    )
}

/// (document id, score) of the best `limit` candidates, best first (ties: newest first).
fn score(terms: &[QueryTerm], candidates: &[Candidate], limit: i64) -> Vec<(i64, f64)> {
    if candidates.is_empty() {
        return Vec::new();
    }
    let count = candidates.len() as f64;
    let n = candidates[0].n.max(count);
    let avglen = candidates
        .iter()
        .map(|c| f64::from(c.len.max(1)))
        .sum::<f64>()
        / count;
    let idf: Vec<f64> = (0..terms.len())
        .map(|i| {
            let df = candidates.iter().filter(|c| c.m & (1 << i) != 0).count() as f64;
            (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
        })
        .collect();
    let mut scored: Vec<(i64, f64)> = candidates
        .iter()
        .map(|c| {
            let len = f64::from(c.len.max(1));
            let body = (BM25_K1 + 1.0) / (1.0 + BM25_K1 * ((1.0 - BM25_B) + BM25_B * len / avglen));
            let s = terms.iter().enumerate().fold(0.0, |s, (i, term)| {
                let bit = 1 << i;
                let hit = if c.m & bit != 0 { body } else { 0.0 }
                    + if c.t & bit != 0 { TITLE_WEIGHT } else { 0.0 };
                s + term.weight() * idf[i] * hit
            });
            (c.id, s)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
    scored.truncate(limit.max(0) as usize);
    scored
}
