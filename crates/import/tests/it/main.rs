//! Integration tests of leadline-import. Every fixture is made by the tests themselves.

mod csv;
mod export;
mod fuzz;
mod mapping;
mod report;
mod xlsx;

use std::io::Cursor;

use leadline_import::{ImportError, ReadOptions, RowError, SourceInfo, SourceRow, open_reader};

pub type Rows = Vec<Result<SourceRow, RowError>>;

/// Opens bytes as a file named `name` and reads every row.
pub fn read_all(
    bytes: &[u8],
    name: &str,
    opts: &ReadOptions,
) -> Result<(SourceInfo, Rows), ImportError> {
    let mut reader = open_reader(Cursor::new(bytes.to_vec()), name, opts)?;
    let mut rows = Vec::new();
    while let Some(row) = reader.next_row()? {
        rows.push(row);
    }
    Ok((reader.info().clone(), rows))
}

pub fn read_ok(bytes: &[u8], name: &str) -> (SourceInfo, Rows) {
    read_all(bytes, name, &ReadOptions::default()).unwrap()
}

/// The cells of the good rows.
pub fn good(rows: &Rows) -> Vec<Vec<String>> {
    rows.iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|r| r.cells.clone())
        .collect()
}

/// (row number, code) of the bad rows.
pub fn bad(rows: &Rows) -> Vec<(u64, &'static str)> {
    rows.iter()
        .filter_map(|r| r.as_ref().err())
        .map(|e| (e.number, e.code()))
        .collect()
}

pub fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}
