//! The import's reading side, on blocking threads: the reader checks and assigns rows and cuts
//! them into batches; `prepare_batches` makes each batch's search tokens on every core while the
//! next one is read.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use leadline_domain::CustomFieldDef;
use leadline_domain::import_plan::row_reason;
use leadline_import::{ImportError, Mapping, ReadOptions};
use leadline_store::imports::BatchRow;
use leadline_store::imports::phases::{self, Phase};

use super::{BATCH_ROWS, Batch, MAX_BATCH_ROWS, NEEDS_PHONE_OR_COMPANY, open_file};
use crate::import_owners::Owners;
use crate::import_referrals::{Lookup, Noted};

/// Reads, checks and assigns rows; runs on a blocking thread. Returns the file's size.
#[allow(clippy::too_many_arguments)]
pub(super) fn read_rows(
    path: PathBuf,
    file_name: String,
    opts: ReadOptions,
    mapping: Mapping,
    defs: Vec<CustomFieldDef>,
    owners: Owners,
    referrals: Option<Lookup>,
    skip: i64,
    busy: impl Fn() -> bool,
    short_rows: Arc<AtomicUsize>,
    size_tx: tokio::sync::oneshot::Sender<u64>,
    tx: std::sync::mpsc::SyncSender<Result<Batch, ImportError>>,
) {
    let (mut reader, size, pos) = match open_file(&path, &file_name, &opts) {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Err(e));
            return;
        }
    };
    let _ = size_tx.send(size);
    let headers = reader.info().headers.clone();
    let mut batch_rows = BATCH_ROWS;
    let mut rows = Vec::with_capacity(batch_rows);
    let mut noted = Noted::default();
    // The batch's referrers, found at once before it goes (see `import_referrals`).
    let refer = |noted: &mut Noted, rows: &mut Vec<BatchRow>| match &referrals {
        Some(lookup) => noted
            .apply(lookup, rows)
            .map_err(|e| ImportError::Io(std::io::Error::other(format!("referrers: {e}")))),
        None => Ok(()),
    };
    loop {
        let next = match phases::time(Phase::Read, || reader.next_row()) {
            Ok(n) => n,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        let ordinal = reader.rows_read() as i64;
        match next {
            None => break,
            Some(_) if ordinal <= skip => continue,
            Some(Err(bad)) => rows.push(BatchRow::Invalid {
                number: bad.number as i64,
                reason: bad.reason(&headers, &defs),
                cells: bad.cells,
            }),
            Some(Ok(row)) => rows.push(
                match phases::time(Phase::Parse, || mapping.parse_row(&row, &defs)) {
                    Err(bad) => BatchRow::Invalid {
                        number: bad.number as i64,
                        reason: bad.reason(&headers, &defs),
                        cells: bad.cells,
                    },
                    Ok(parsed)
                        if parsed.fields.phones.is_empty() && parsed.fields.company.is_none() =>
                    {
                        BatchRow::Invalid {
                            number: row.number as i64,
                            cells: row.cells,
                            reason: row_reason(
                                row.number,
                                NEEDS_PHONE_OR_COMPANY.0,
                                NEEDS_PHONE_OR_COMPANY.1,
                            ),
                        }
                    }
                    Ok(parsed) => {
                        let owner = owners.of_row(ordinal, parsed.owner.as_deref());
                        match owner {
                            Ok(owner) => {
                                if let Some(cell) = parsed.referred_by.as_deref()
                                    && referrals.is_some()
                                    && !cell.trim().is_empty()
                                {
                                    noted.note(
                                        rows.len(),
                                        cell,
                                        row.number as i64,
                                        row.cells.clone(),
                                    );
                                }
                                // Its search tokens are made by `prepare_batches`, on every core.
                                BatchRow::unprepared(parsed.number as i64, parsed.fields, owner)
                            }
                            Err(why) => BatchRow::Invalid {
                                number: row.number as i64,
                                cells: row.cells,
                                reason: row_reason(row.number, why.0, why.1),
                            },
                        }
                    }
                },
            ),
        }
        // Whether others are writing is looked at once per fifty rows, and only once a short
        // batch is full.
        let full = rows.len() >= batch_rows
            || (rows.len() >= short_rows.load(Ordering::Relaxed) && rows.len() % 50 == 0 && busy());
        if full {
            if let Err(e) = refer(&mut noted, &mut rows) {
                let _ = tx.send(Err(e));
                return;
            }
            let batch = Batch {
                rows: std::mem::take(&mut rows),
                rows_done: ordinal,
                bytes_read: pos.load(Ordering::Relaxed),
            };
            if tx.send(Ok(batch)).is_err() {
                return;
            }
            batch_rows = (batch_rows * 2).min(MAX_BATCH_ROWS);
            rows.reserve(batch_rows);
        }
    }
    let rows_done = (reader.rows_read() as i64).max(skip);
    if let Err(e) = refer(&mut noted, &mut rows) {
        let _ = tx.send(Err(e));
        return;
    }
    if !rows.is_empty() || rows_done > skip {
        let _ = tx.send(Ok(Batch {
            rows,
            rows_done,
            bytes_read: size,
        }));
    }
}

/// Makes the [`leadline_domain::import_plan::Prepared`] parts (search tokens, the costliest
/// part of a row) of each batch `rx` brings, on every core, while the reader reads the next
/// batch, and hands the batch on to the writer. Ends when the reader is done or nobody takes
/// its batches (dropping `rx` then stops the reader).
pub(super) fn prepare_batches(
    rx: std::sync::mpsc::Receiver<Result<Batch, ImportError>>,
    tx: tokio::sync::mpsc::Sender<Result<Batch, ImportError>>,
) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for mut batch in rx {
        if let Ok(b) = &mut batch {
            phases::time(Phase::Tokens, || prepare_rows(&mut b.rows, threads));
        }
        if tx.blocking_send(batch).is_err() {
            return;
        }
    }
}

/// Prepares `rows` on `threads` threads (this one among them).
fn prepare_rows(rows: &mut [BatchRow], threads: usize) {
    let chunk = rows.len().div_ceil(threads.max(1)).max(256);
    std::thread::scope(|s| {
        let mut chunks = rows.chunks_mut(chunk);
        let mine = chunks.next();
        for other in chunks {
            s.spawn(move || other.iter_mut().for_each(BatchRow::prepare));
        }
        if let Some(mine) = mine {
            mine.iter_mut().for_each(BatchRow::prepare);
        }
    });
}
