//! Queries: what a caller typed becomes terms (jieba words, dictionary words hidden inside a
//! Chinese run, synonyms), any of which may match — ranking sorts out which matched best. The
//! terms are rendered for FTS5 `MATCH` and for a PostgreSQL `tsquery` cast from text, so neither
//! database's query parser ever sees user input.

use crate::segment::{Run, cjk_words, is_stop_word, jieba, normalise_word, runs};
use crate::synonyms;

/// Most terms in one query: bounds the work of an OR over posting lists.
pub const MAX_QUERY_TERMS: usize = 16;
/// Only this much of a pasted text is read.
const MAX_QUERY_CHARS: usize = 200;
/// A word typed last is matched as a prefix (search as you type) from this length on.
const MIN_PREFIX_CHARS: usize = 2;

/// Where a term came from; typed terms are highlighted first and never dropped for synonyms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermSource {
    /// A word of the query as segmented.
    Typed,
    /// A dictionary word inside a Chinese run that the segmenter cut differently (开发票 → 发票).
    Part,
    /// A synonym of a typed or inner word.
    Synonym,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryTerm {
    pub text: String,
    /// Matches any token starting with `text` (the word still being typed).
    pub prefix: bool,
    pub source: TermSource,
}

impl QueryTerm {
    /// How much a hit on this term counts, relative to a typed word: what the segmenter found
    /// inside a run, and synonyms, are less certain to be what was meant.
    pub fn weight(&self) -> f64 {
        match self.source {
            TermSource::Typed => 1.0,
            TermSource::Part => 0.7,
            TermSource::Synonym => 0.5,
        }
    }

    /// This term alone as `tsquery` text (`'价格'`, `'refu':*`).
    pub fn tsquery(&self) -> String {
        let lexeme = self.text.replace('\\', "\\\\").replace('\'', "''");
        if self.prefix {
            format!("'{lexeme}':*")
        } else {
            format!("'{lexeme}'")
        }
    }
}

/// A parsed query: at least one term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    terms: Vec<QueryTerm>,
}

impl Query {
    /// Segments `q` like indexed text; `None` when nothing searchable is left (only punctuation
    /// or stop words).
    pub fn parse(q: &str) -> Option<Query> {
        let q: String = q.chars().take(MAX_QUERY_CHARS).collect();
        let ends_in_word = q
            .chars()
            .last()
            .is_some_and(|c| crate::segment::is_word_char(crate::segment::fold_width(c)));
        let runs = runs(&q);
        let mut typed: Vec<QueryTerm> = Vec::new();
        let mut parts: Vec<QueryTerm> = Vec::new();
        let last = runs.len().saturating_sub(1);
        for (i, run) in runs.iter().enumerate() {
            match run {
                Run::Cjk(s) => {
                    for w in cjk_words(s) {
                        typed.push(term(w.to_string(), false, TermSource::Typed));
                    }
                    parts.extend(inner_words(s));
                }
                Run::Word(w) => {
                    let n = normalise_word(w);
                    if is_stop_word(&n) {
                        continue;
                    }
                    let prefix = i == last && ends_in_word && n.chars().count() >= MIN_PREFIX_CHARS;
                    typed.push(term(n, prefix, TermSource::Typed));
                }
            }
        }
        let mut terms: Vec<QueryTerm> = Vec::new();
        let add = |t: QueryTerm, terms: &mut Vec<QueryTerm>| {
            if !terms.iter().any(|x| x.text == t.text) {
                terms.push(t);
            }
        };
        for t in &typed {
            add(t.clone(), &mut terms);
        }
        // A word still being typed brings its synonyms only once it is a whole known word.
        for t in typed.iter().chain(parts.iter()) {
            for s in synonyms::expand(&t.text) {
                add(term(s.to_string(), false, TermSource::Synonym), &mut terms);
            }
        }
        for t in parts {
            add(t, &mut terms);
        }
        // Typed terms first, then the few inner words, then synonyms, which the cap may cut.
        terms.sort_by_key(|t| match t.source {
            TermSource::Typed => 0,
            TermSource::Part => 1,
            TermSource::Synonym => 2,
        });
        terms.truncate(MAX_QUERY_TERMS);
        (!terms.is_empty()).then_some(Query { terms })
    }

    pub fn terms(&self) -> &[QueryTerm] {
        &self.terms
    }

    /// The FTS5 `MATCH` expression: every term quoted, any may match (`"价格" OR "refund"*`).
    pub fn fts5_match(&self) -> String {
        self.terms
            .iter()
            .map(|t| {
                let quoted = format!("\"{}\"", t.text.replace('"', "\"\""));
                if t.prefix { quoted + "*" } else { quoted }
            })
            .collect::<Vec<_>>()
            .join(" OR ")
    }

    /// The `tsquery` text, cast with `CAST($n AS tsquery)`: quoted lexemes joined by `|`.
    pub fn tsquery(&self) -> String {
        self.terms
            .iter()
            .map(QueryTerm::tsquery)
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

fn term(text: String, prefix: bool, source: TermSource) -> QueryTerm {
    QueryTerm {
        text,
        prefix,
        source,
    }
}

/// Dictionary words of two to four characters inside a Chinese run, and single characters that
/// have synonyms: a query segments without context, so 开发票 may come out as 开发 + 票 while the
/// indexed text said 发票.
fn inner_words(run: &str) -> Vec<QueryTerm> {
    let chars: Vec<char> = run.chars().collect();
    let mut out = Vec::new();
    for len in (1..=4usize).rev() {
        for start in 0..chars.len().saturating_sub(len - 1) {
            let w: String = chars[start..start + len].iter().collect();
            let useful = if len == 1 {
                synonyms::expand(&w).next().is_some()
            } else {
                jieba().has_word(&w) || synonyms::expand(&w).next().is_some()
            };
            if useful && !is_stop_word(&w) {
                out.push(term(w, false, TermSource::Part));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(q: &Query) -> Vec<&str> {
        q.terms().iter().map(|t| t.text.as_str()).collect()
    }

    #[test]
    fn price_objections_in_other_words_share_terms() {
        for q in ["太贵了", "价格高", "便宜点", "能不能便宜一点"] {
            let parsed = Query::parse(q).unwrap();
            assert!(
                texts(&parsed).contains(&"价格"),
                "{q}: {:?}",
                texts(&parsed)
            );
        }
    }

    #[test]
    fn inner_dictionary_words_are_found() {
        let q = Query::parse("开发票").unwrap();
        assert!(texts(&q).contains(&"发票"), "{:?}", texts(&q));
    }

    #[test]
    fn the_last_word_is_a_prefix_while_typing() {
        let q = Query::parse("refu").unwrap();
        assert_eq!(q.terms()[0], term("refu".into(), true, TermSource::Typed));
        assert_eq!(q.fts5_match(), "\"refu\"*");
        assert_eq!(q.tsquery(), "'refu':*");
        let q = Query::parse("refund policy ").unwrap();
        assert!(q.terms().iter().all(|t| !t.prefix));
    }

    #[test]
    fn stop_words_and_punctuation_alone_are_no_query() {
        assert_eq!(Query::parse("  ?!，。 "), None);
        assert_eq!(Query::parse("the of 的"), None);
        assert_eq!(Query::parse(""), None);
    }

    #[test]
    fn syntax_cannot_be_injected() {
        let q = Query::parse("a\" OR \"b NEAR(x) '; DROP 价格' | !").unwrap();
        let m = q.fts5_match();
        for t in q.terms() {
            assert!(t.text.chars().all(char::is_alphanumeric), "{}", t.text);
        }
        assert_eq!(m.matches('"').count() % 2, 0);
        assert_eq!(q.tsquery().matches('\'').count() % 2, 0);
    }

    #[test]
    fn terms_are_capped() {
        let q: String = "价格 退款 发票 合同 安装 试用 安全 竞品 邮件 决策人 售后 版本".into();
        assert!(Query::parse(&q).unwrap().terms().len() <= MAX_QUERY_TERMS);
        let typed = Query::parse(&q).unwrap();
        assert_eq!(typed.terms()[0].source, TermSource::Typed);
    }
}
