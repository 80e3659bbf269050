//! One column value as both backends must agree on it: read from SQLite by the PostgreSQL
//! column's type (booleans stored as integers, times as text, JSON as text, search tokens as
//! space-separated words), written in `COPY`'s text format, and hashed for the per-table checksum.

use chrono::{DateTime, Utc};
use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};

use crate::db::sqlite_writer::parse_time;

/// How a PostgreSQL column's values are read, written and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Bool,
    Float,
    Text,
    Time,
    Json,
    Bytes,
    /// A `tsvector` of words taken as they are (`array_to_tsvector`), never PostgreSQL's parser.
    Tokens,
}

impl Kind {
    /// The kind of a column of PostgreSQL type `udt` (`information_schema.columns.udt_name`).
    pub fn of_postgres(udt: &str) -> Option<Kind> {
        Some(match udt {
            "int2" | "int4" | "int8" => Kind::Int,
            "bool" => Kind::Bool,
            "float4" | "float8" => Kind::Float,
            "text" | "varchar" | "bpchar" | "date" | "time" | "numeric" | "uuid" => Kind::Text,
            "timestamptz" | "timestamp" => Kind::Time,
            "json" | "jsonb" => Kind::Json,
            "bytea" => Kind::Bytes,
            "tsvector" => Kind::Tokens,
            _ => return None,
        })
    }

    /// The expression that reads column `col` from PostgreSQL in the form [`Cell::from_postgres`] decodes.
    pub fn select_expr(self, col: &str) -> String {
        let col = quote_ident(col);
        match self {
            Kind::Int => format!("{col}::int8"),
            Kind::Bool | Kind::Bytes | Kind::Time => col,
            Kind::Float => format!("{col}::float8"),
            Kind::Text | Kind::Json => format!("{col}::text"),
            Kind::Tokens => format!("array_to_string(tsvector_to_array({col}), ' ')"),
        }
    }
}

/// A value in the form both sides are compared in.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Bool(bool),
    Float(f64),
    Text(String),
    /// Microseconds since the epoch (PostgreSQL keeps no finer time).
    Time(i64),
    /// Compact JSON with sorted keys.
    Json(String),
    Bytes(Vec<u8>),
    /// The distinct words, sorted.
    Tokens(Vec<String>),
}

impl Cell {
    /// The value SQLite holds, read as a column of `kind`; `Err` says why it does not fit.
    pub fn from_sqlite(kind: Kind, v: ValueRef<'_>) -> Result<Cell, String> {
        let text = |v: ValueRef<'_>| -> Result<String, String> {
            match v {
                ValueRef::Text(t) => String::from_utf8(t.to_vec()).map_err(|e| e.to_string()),
                ValueRef::Integer(i) => Ok(i.to_string()),
                ValueRef::Real(f) => Ok(f.to_string()),
                ValueRef::Blob(b) => String::from_utf8(b.to_vec()).map_err(|e| e.to_string()),
                ValueRef::Null => Ok(String::new()),
            }
        };
        if matches!(v, ValueRef::Null) {
            return Ok(Cell::Null);
        }
        Ok(match kind {
            Kind::Int => match v {
                ValueRef::Integer(i) => Cell::Int(i),
                ValueRef::Real(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Cell::Int(f as i64),
                other => {
                    let t = text(other)?;
                    Cell::Int(
                        t.trim()
                            .parse()
                            .map_err(|_| format!("{t:?} is not an integer"))?,
                    )
                }
            },
            Kind::Bool => match v {
                ValueRef::Integer(i) => Cell::Bool(i != 0),
                other => match text(other)?.to_ascii_lowercase().as_str() {
                    "1" | "t" | "true" => Cell::Bool(true),
                    "0" | "f" | "false" => Cell::Bool(false),
                    t => return Err(format!("{t:?} is not a boolean")),
                },
            },
            Kind::Float => match v {
                ValueRef::Real(f) => Cell::Float(f),
                ValueRef::Integer(i) => Cell::Float(i as f64),
                other => {
                    let t = text(other)?;
                    Cell::Float(
                        t.trim()
                            .parse()
                            .map_err(|_| format!("{t:?} is not a number"))?,
                    )
                }
            },
            Kind::Text => Cell::Text(text(v)?),
            Kind::Time => {
                let t = text(v)?;
                let time = parse_time(&t).map_err(|_| format!("{t:?} is not a time"))?;
                Cell::Time(time.timestamp_micros())
            }
            Kind::Json => Cell::json(&text(v)?)?,
            Kind::Bytes => match v {
                ValueRef::Blob(b) => Cell::Bytes(b.to_vec()),
                other => Cell::Bytes(text(other)?.into_bytes()),
            },
            Kind::Tokens => Cell::tokens(&text(v)?),
        })
    }

    /// JSON text in its compared form.
    pub fn json(text: &str) -> Result<Cell, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("{text:?} is not JSON: {e}"))?;
        Ok(Cell::Json(sorted_keys(value).to_string()))
    }

    /// Space-separated words in their compared form (a `tsvector` keeps each word once).
    pub fn tokens(text: &str) -> Cell {
        let mut words: Vec<String> = text
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        words.sort_unstable();
        words.dedup();
        Cell::Tokens(words)
    }

    /// Column `i` of a PostgreSQL row selected with [`Kind::select_expr`].
    pub fn from_postgres(kind: Kind, row: &sqlx::postgres::PgRow, i: usize) -> sqlx::Result<Cell> {
        use sqlx::Row;
        let cell = match kind {
            Kind::Int => row.try_get::<Option<i64>, _>(i)?.map(Cell::Int),
            Kind::Bool => row.try_get::<Option<bool>, _>(i)?.map(Cell::Bool),
            Kind::Float => row.try_get::<Option<f64>, _>(i)?.map(Cell::Float),
            Kind::Text => row.try_get::<Option<String>, _>(i)?.map(Cell::Text),
            Kind::Time => row
                .try_get::<Option<DateTime<Utc>>, _>(i)?
                .map(|t| Cell::Time(t.timestamp_micros())),
            Kind::Json => match row.try_get::<Option<String>, _>(i)? {
                Some(t) => Some(Cell::json(&t).map_err(|e| sqlx::Error::Decode(e.into()))?),
                None => None,
            },
            Kind::Bytes => row.try_get::<Option<Vec<u8>>, _>(i)?.map(Cell::Bytes),
            Kind::Tokens => row
                .try_get::<Option<String>, _>(i)?
                .map(|t| Cell::tokens(&t)),
        };
        Ok(cell.unwrap_or(Cell::Null))
    }

    /// Appends this value in `COPY`'s text format (escaped; `\N` for NULL).
    pub fn write_copy_text(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Cell::Null => out.push_str("\\N"),
            Cell::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Cell::Bool(b) => out.push(if *b { 't' } else { 'f' }),
            Cell::Float(f) if f.is_nan() => out.push_str("NaN"),
            Cell::Float(f) if f.is_infinite() => {
                out.push_str(if *f > 0.0 { "Infinity" } else { "-Infinity" })
            }
            Cell::Float(f) => {
                let _ = write!(out, "{f:?}");
            }
            Cell::Text(t) | Cell::Json(t) => copy_escape(out, t),
            Cell::Time(micros) => match DateTime::<Utc>::from_timestamp_micros(*micros) {
                Some(t) => {
                    let _ = write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S%.6f+00"));
                }
                None => out.push_str("\\N"),
            },
            Cell::Bytes(b) => {
                // `\x…` hex input, its backslash escaped for COPY.
                out.push_str("\\\\x");
                out.push_str(&hex::encode(b));
            }
            Cell::Tokens(words) => {
                let mut literal = String::new();
                for w in words {
                    if !literal.is_empty() {
                        literal.push(' ');
                    }
                    literal.push('\'');
                    for c in w.chars() {
                        match c {
                            '\'' => literal.push_str("''"),
                            '\\' => literal.push_str("\\\\"),
                            c => literal.push(c),
                        }
                    }
                    literal.push('\'');
                }
                copy_escape(out, &literal);
            }
        }
    }

    /// Feeds this value, tagged with its type, into a row's hash.
    pub fn hash_into(&self, h: &mut Sha256) {
        match self {
            Cell::Null => h.update([0]),
            Cell::Int(i) => {
                h.update([1]);
                h.update(i.to_le_bytes());
            }
            Cell::Bool(b) => h.update([2, u8::from(*b)]),
            Cell::Float(f) => {
                h.update([3]);
                h.update(f.to_bits().to_le_bytes());
            }
            Cell::Text(t) => hash_bytes(h, 4, t.as_bytes()),
            Cell::Time(t) => {
                h.update([5]);
                h.update(t.to_le_bytes());
            }
            Cell::Json(t) => hash_bytes(h, 6, t.as_bytes()),
            Cell::Bytes(b) => hash_bytes(h, 7, b),
            Cell::Tokens(words) => {
                h.update([8]);
                h.update((words.len() as u64).to_le_bytes());
                for w in words {
                    hash_bytes(h, 9, w.as_bytes());
                }
            }
        }
    }
}

/// `value` with every object's keys in order: PostgreSQL's `jsonb` keeps its own key order and
/// serde_json (with `preserve_order`, as this workspace builds it) the order written.
fn sorted_keys(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted_keys).collect()),
        other => other,
    }
}

fn hash_bytes(h: &mut Sha256, tag: u8, b: &[u8]) {
    h.update([tag]);
    h.update((b.len() as u64).to_le_bytes());
    h.update(b);
}

/// Escapes text for `COPY`'s text format.
fn copy_escape(out: &mut String, text: &str) {
    if !text.contains(['\\', '\t', '\n', '\r']) {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// A quoted SQL identifier (names come from the schema, quoted all the same).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A table's checksum: its row count and the sum of its rows' hashes, so that the order rows
/// are read in does not matter (neither backend need sort millions of rows to be compared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TableSum {
    pub rows: u64,
    pub sum: u128,
}

impl TableSum {
    pub fn add_row(&mut self, cells: &[Cell]) {
        let mut h = Sha256::new();
        for c in cells {
            c.hash_into(&mut h);
        }
        let digest = h.finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        self.rows += 1;
        self.sum = self.sum.wrapping_add(u128::from_le_bytes(first));
    }

    /// The checksum as hex, for reports.
    pub fn hex(&self) -> String {
        format!("{:032x}", self.sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy_text(c: &Cell) -> String {
        let mut s = String::new();
        c.write_copy_text(&mut s);
        s
    }

    #[test]
    fn sqlite_values_are_read_by_the_postgres_type() {
        let bool_ = Cell::from_sqlite(Kind::Bool, ValueRef::Integer(1)).unwrap();
        assert_eq!(bool_, Cell::Bool(true));
        let time = Cell::from_sqlite(
            Kind::Time,
            ValueRef::Text(b"2026-03-01T08:00:00.123456+08:00"),
        )
        .unwrap();
        assert_eq!(copy_text(&time), "2026-03-01 00:00:00.123456+00");
        let json = Cell::from_sqlite(Kind::Json, ValueRef::Text(br#"{"b": 1, "a": [true]}"#));
        assert_eq!(json.unwrap(), Cell::Json(r#"{"a":[true],"b":1}"#.into()));
        let nested = Cell::json(r#"{"z": {"y": 1, "x": 2}, "a": 0}"#).unwrap();
        assert_eq!(nested, Cell::Json(r#"{"a":0,"z":{"x":2,"y":1}}"#.into()));
        let tokens = Cell::from_sqlite(Kind::Tokens, ValueRef::Text("王 it's  王 a\\b".as_bytes()));
        assert_eq!(copy_text(&tokens.unwrap()), "'a\\\\\\\\b' 'it''s' '王'");
        assert!(Cell::from_sqlite(Kind::Time, ValueRef::Text(b"yesterday")).is_err());
        assert!(Cell::from_sqlite(Kind::Json, ValueRef::Text(b"{nope")).is_err());
    }

    #[test]
    fn copy_text_escapes_what_copy_reads_specially() {
        assert_eq!(
            copy_text(&Cell::Text("a\\b\tc\nd".into())),
            "a\\\\b\\tc\\nd"
        );
        assert_eq!(copy_text(&Cell::Null), "\\N");
        assert_eq!(copy_text(&Cell::Bytes(vec![0, 255])), "\\\\x00ff");
    }

    #[test]
    fn a_table_sum_ignores_row_order_but_not_a_changed_value() {
        let (a, b) = (
            vec![Cell::Int(1), Cell::Text("x".into())],
            vec![Cell::Int(2), Cell::Null],
        );
        let (mut one, mut two, mut three) = (
            TableSum::default(),
            TableSum::default(),
            TableSum::default(),
        );
        one.add_row(&a);
        one.add_row(&b);
        two.add_row(&b);
        two.add_row(&a);
        three.add_row(&a);
        three.add_row(&[Cell::Int(2), Cell::Text(String::new())]);
        assert_eq!(one, two);
        assert_ne!(one, three);
    }
}
