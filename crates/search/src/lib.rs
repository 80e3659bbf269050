//! Leadline search without a search server: text is segmented here (jieba-rs for Chinese, a light
//! normaliser for English) into a space-separated token string that SQLite FTS5 and PostgreSQL
//! `array_to_tsvector` index as is; queries are segmented the same way, widened with synonyms, and
//! turned into an FTS5 `MATCH` expression or a `tsquery` without either database's parser.
//! Pure: no I/O, no database.

mod markdown;
mod query;
mod segment;
mod snippet;
mod synonyms;

pub use markdown::{markdown_text, table_text};
pub use query::{MAX_QUERY_TERMS, Query, QueryTerm, TermSource};
pub use segment::{index_tokens, is_cjk, warm_up};
pub use snippet::{escape_html, highlight, snippet};
