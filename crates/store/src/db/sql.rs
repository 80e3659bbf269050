//! SQL assembled at run time (filters, sorts) with `$n` placeholders and typed arguments that bind
//! on either backend.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    I64(i64),
    Bool(bool),
    Text(String),
    Time(DateTime<Utc>),
    OptI64(Option<i64>),
    OptTime(Option<DateTime<Utc>>),
    OptText(Option<String>),
    Json(serde_json::Value),
    OptJson(Option<serde_json::Value>),
}

/// A statement under construction: text plus the arguments its placeholders refer to.
#[derive(Debug, Default, Clone)]
pub struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `arg` and returns its `$n` text.
    pub fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    /// Appends `(…), (…)` rows of placeholders for a multi-row `VALUES`.
    pub fn push_rows(&mut self, rows: impl IntoIterator<Item = Vec<Arg>>) -> &mut Self {
        let mut first = true;
        for row in rows {
            let ps: Vec<String> = row.into_iter().map(|a| self.arg(a)).collect();
            if !first {
                self.text.push_str(", ");
            }
            first = false;
            self.text.push('(');
            self.text.push_str(&ps.join(", "));
            self.text.push(')');
        }
        self
    }

    /// Appends `text` with `?` replaced by a placeholder for `arg`.
    pub fn push_bind(&mut self, text: &str, arg: Arg) -> &mut Self {
        let p = self.arg(arg);
        self.text.push_str(&text.replacen('?', &p, 1));
        self
    }
}

/// Binds every argument of `$sql` onto a `query`/`query_as`/`query_scalar` built from its text.
#[macro_export]
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for a in $args.iter() {
            q = match a {
                $crate::db::sql::Arg::I64(v) => q.bind(*v),
                $crate::db::sql::Arg::Bool(v) => q.bind(*v),
                $crate::db::sql::Arg::Text(v) => q.bind(v.clone()),
                $crate::db::sql::Arg::Time(v) => q.bind(*v),
                $crate::db::sql::Arg::OptI64(v) => q.bind(*v),
                $crate::db::sql::Arg::OptTime(v) => q.bind(*v),
                $crate::db::sql::Arg::OptText(v) => q.bind(v.clone()),
                $crate::db::sql::Arg::Json(v) => q.bind(sqlx::types::Json(v.clone())),
                $crate::db::sql::Arg::OptJson(v) => q.bind(v.clone().map(sqlx::types::Json)),
            };
        }
        q
    }};
}

/// Runs one writing statement of `sql` with `args` and returns the rows it changed. On SQLite
/// it goes through the database's one writer ([`crate::db::sqlite_writer`]): a write of its own on
/// another connection would wait for the writer's lock in SQLite's busy handler (sleeps of
/// milliseconds) and then hold the writer up the same way.
pub async fn execute(db: &crate::Db, sql: &'static str, args: Vec<Arg>) -> crate::Result<u64> {
    execute_as(db, sql, args, false).await
}

/// [`execute`] for a write nobody waits on (an import's own bookkeeping): on SQLite it does not
/// count as somebody writing beside an import ([`crate::db::sqlite_writer::others_writing`]).
pub async fn execute_background(
    db: &crate::Db,
    sql: &'static str,
    args: Vec<Arg>,
) -> crate::Result<u64> {
    execute_as(db, sql, args, true).await
}

async fn execute_as(
    db: &crate::Db,
    sql: &'static str,
    args: Vec<Arg>,
    background: bool,
) -> crate::Result<u64> {
    match db {
        crate::Db::Sqlite(pool) => {
            let job = move |conn: &crate::db::sqlite_writer::Connection| {
                let values: Vec<_> = args.iter().map(crate::db::sqlite_writer::value).collect();
                Ok(crate::db::sqlite_writer::execute(conn, sql, &values)? as u64)
            };
            if background {
                crate::db::sqlite_writer::run_background(pool, job).await
            } else {
                crate::db::sqlite_writer::run(pool, job).await
            }
        }
        crate::Db::Postgres(pool) => Ok(crate::bind_args!(sqlx::query(sql), args)
            .execute(pool)
            .await?
            .rows_affected()),
    }
}
