//! Carrying a floor's data between databases: `leadline copy` (a SQLite database into an empty
//! PostgreSQL one, verified table by table), and `leadline backup` / `leadline restore` on
//! either backend, each checked for completeness. The tables are read from the schemas, so a
//! table added by a migration is carried without anyone remembering to list it.

mod copy;
mod pg_backup;
pub mod schema;
mod sqlite_backup;
#[cfg(test)]
mod tests;
pub mod values;

pub use copy::{copy_to_postgres, prepare_target, verify};
pub use pg_backup::{pg_backup, pg_restore, pg_verify_file};
pub use sqlite_backup::{sqlite_backup, sqlite_restore, sqlite_verify_file};

use values::TableSum;

/// Why a copy, backup or restore did not happen or did not verify.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("the target database is not empty: {0}")]
    NotEmpty(String),
    #[error("the two databases' schemas differ: {0}")]
    SchemaDiffers(String),
    #[error("a stored value does not fit its PostgreSQL column: {0}")]
    BadValue(String),
    #[error("the copy does not match its source, nothing was kept: {0}")]
    Mismatch(String),
    #[error("the backup is incomplete or damaged: {0}")]
    BadBackup(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    Store(#[from] crate::StoreError),
}

impl From<sqlx::Error> for TransferError {
    fn from(e: sqlx::Error) -> Self {
        TransferError::Store(e.into())
    }
}

impl From<rusqlite::Error> for TransferError {
    fn from(e: rusqlite::Error) -> Self {
        TransferError::Store(e.into())
    }
}

impl From<std::io::Error> for TransferError {
    fn from(e: std::io::Error) -> Self {
        TransferError::Failed(e.to_string())
    }
}

/// One table compared on both sides.
#[derive(Debug, Clone)]
pub struct TableCheck {
    pub table: String,
    pub source: TableSum,
    pub target: TableSum,
}

impl TableCheck {
    pub fn matches(&self) -> bool {
        self.source == self.target
    }

    /// `leads: 1200 rows, checksum …` or what differs.
    pub fn describe(&self) -> String {
        if self.matches() {
            format!(
                "{}: {} rows, checksum {}",
                self.table,
                self.source.rows,
                self.source.hex()
            )
        } else if self.source.rows != self.target.rows {
            format!(
                "{}: {} rows in the source, {} in the copy",
                self.table, self.source.rows, self.target.rows
            )
        } else {
            format!(
                "{}: {} rows on both sides but their contents differ (checksum {} against {})",
                self.table,
                self.source.rows,
                self.source.hex(),
                self.target.hex()
            )
        }
    }
}

/// What a verified copy carried.
#[derive(Debug)]
pub struct CopyReport {
    pub tables: Vec<TableCheck>,
    /// Leads whose search tokens were made on PostgreSQL.
    pub lead_tokens: u64,
    /// Imports read from a file on the source machine's disk: their records came along, the
    /// files did not (uploads through the web are in the database and did).
    pub local_files: Vec<String>,
    pub seconds: f64,
}

impl CopyReport {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.source.rows).sum()
    }
}

/// Row counts per table, as a backup is checked against.
pub type Counts = std::collections::BTreeMap<String, u64>;
