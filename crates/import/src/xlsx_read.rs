//! Reading one worksheet of an .xlsx, row by row.
//!
//! calamine's streaming cell reader borrows the workbook, so it runs on a worker thread that owns
//! both and sends rows in batches over a bounded channel: memory stays flat, the XML parsing
//! overlaps the caller's work, and a panic inside the parser becomes a
//! [`ImportError::CorruptXlsx`] instead of taking the caller down.
//!
//! Before calamine sees the file, the zip directory is checked: the declared uncompressed sizes
//! must stay under [`Limits::max_xlsx_uncompressed_bytes`] and [`Limits::max_xlsx_ratio`] times the
//! file's size (zip 9 refuses to inflate an entry past its declared size, so the declared sizes
//! bound the real ones), and every XML part is inflated once to check its CRC and the length of
//! its longest tag or text (see [`crate::xml_runs`]), so that a damaged file, or one whose
//! reading would hold hundreds of megabytes at once, is refused before any of its rows is
//! returned.

use std::io::{self, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use calamine::{DataRef, ExcelDateTime, Reader as _, SheetType, SheetVisible, Xlsx, XlsxError};
use chrono::{Duration, Timelike};
use zip::ZipArchive;

use crate::csv_read::{RawRecord, ReadSeek, cut_chars};
use crate::xml_runs::{MAX_RUN, MAX_SHARED_STRINGS, RunMeter, refusal};
use crate::{ImportError, Limits, RowErrorKind};

const BATCH: usize = 512;
/// Workbooks that unpack to less than this are never called bombs by ratio alone: small files
/// full of repeated XML can compress very well.
const RATIO_FLOOR: u64 = 32 * 1024 * 1024;

enum Msg {
    Opened { sheets: Vec<String>, sheet: String },
    Rows(Vec<RawRecord>),
    End,
    Fatal(ImportError),
}

pub(crate) struct XlsxSource {
    rx: Receiver<Msg>,
    batch: std::vec::IntoIter<RawRecord>,
    ended: bool,
}

pub(crate) struct Opened {
    pub source: XlsxSource,
    pub sheets: Vec<String>,
    pub sheet: String,
}

impl XlsxSource {
    pub fn open(
        reader: Box<dyn ReadSeek>,
        file_len: u64,
        sheet: Option<String>,
        limits: Limits,
    ) -> Result<Opened, ImportError> {
        let (tx, rx) = sync_channel(4);
        std::thread::Builder::new()
            .name("xlsx-reader".into())
            .spawn(move || {
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    work(reader, file_len, sheet, &limits, &tx)
                }));
                let fatal = match outcome {
                    Ok(Ok(())) | Ok(Err(Stop::Gone)) => return,
                    Ok(Err(Stop::Fail(e))) => e,
                    Err(_) => {
                        ImportError::CorruptXlsx("the workbook's content is malformed".into())
                    }
                };
                let _ = tx.send(Msg::Fatal(fatal));
            })?;
        match rx.recv() {
            Ok(Msg::Opened { sheets, sheet }) => Ok(Opened {
                source: XlsxSource {
                    rx,
                    batch: Vec::new().into_iter(),
                    ended: false,
                },
                sheets,
                sheet,
            }),
            Ok(Msg::Fatal(e)) => Err(e),
            _ => Err(ImportError::CorruptXlsx(
                "the workbook could not be opened".into(),
            )),
        }
    }

    pub fn next_record(&mut self) -> Result<Option<RawRecord>, ImportError> {
        loop {
            if let Some(r) = self.batch.next() {
                return Ok(Some(r));
            }
            if self.ended {
                return Ok(None);
            }
            match self.rx.recv() {
                Ok(Msg::Rows(rows)) => self.batch = rows.into_iter(),
                Ok(Msg::End) => self.ended = true,
                Ok(Msg::Fatal(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                Ok(Msg::Opened { .. }) | Err(_) => {
                    self.ended = true;
                    return Err(ImportError::CorruptXlsx(
                        "the workbook reader stopped".into(),
                    ));
                }
            }
        }
    }
}

enum Stop {
    /// The reader was dropped: nobody wants more rows.
    Gone,
    Fail(ImportError),
}

impl From<ImportError> for Stop {
    fn from(e: ImportError) -> Self {
        Stop::Fail(e)
    }
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        Stop::Fail(ImportError::Io(e))
    }
}

fn send(tx: &SyncSender<Msg>, msg: Msg) -> Result<(), Stop> {
    tx.send(msg).map_err(|_| Stop::Gone)
}

fn work(
    mut reader: Box<dyn ReadSeek>,
    file_len: u64,
    wanted: Option<String>,
    limits: &Limits,
    tx: &SyncSender<Msg>,
) -> Result<(), Stop> {
    check_zip(&mut reader, file_len, limits)?;
    reader.seek(SeekFrom::Start(0))?;
    let mut workbook: Xlsx<_> = Xlsx::new(reader).map_err(xlsx_error)?;
    let worksheets: Vec<(String, bool)> = workbook
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| (s.name.clone(), s.visible == SheetVisible::Visible))
        .collect();
    let names: Vec<String> = worksheets.iter().map(|(n, _)| n.clone()).collect();
    let sheet = match wanted {
        Some(want) => names
            .iter()
            .find(|n| **n == want)
            .or_else(|| {
                names
                    .iter()
                    .find(|n| n.trim().to_lowercase() == want.trim().to_lowercase())
            })
            .cloned()
            .ok_or_else(|| ImportError::SheetNotFound {
                name: want,
                available: names.clone(),
            })?,
        None => worksheets
            .iter()
            .find(|(_, visible)| *visible)
            .or(worksheets.first())
            .map(|(n, _)| n.clone())
            .ok_or(ImportError::NoSheet)?,
    };
    send(
        tx,
        Msg::Opened {
            sheets: names,
            sheet: sheet.clone(),
        },
    )?;

    let max_cols = limits.max_columns.saturating_add(1);
    let max_chars = limits.max_field_chars;
    let mut cells = workbook
        .worksheet_cells_reader(&sheet)
        .map_err(xlsx_error)?;
    let mut batch = Vec::with_capacity(BATCH);
    let mut current: Option<RawRecord> = None;
    while let Some(cell) = cells.next_cell().map_err(xlsx_error)? {
        let (row, col) = cell.get_position();
        let number = u64::from(row) + 1;
        if current.as_ref().map(|r| r.number) != Some(number) {
            if let Some(done) = current.take() {
                batch.push(done);
                if batch.len() >= BATCH {
                    send(
                        tx,
                        Msg::Rows(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))),
                    )?;
                }
            }
            current = Some(RawRecord {
                number,
                cells: Vec::new(),
                problem: None,
                overflow: false,
            });
        }
        let col = col as usize;
        if col >= max_cols {
            continue;
        }
        let mut text = cell_text(cell.get_value());
        if text.is_empty() {
            continue;
        }
        let Some(record) = current.as_mut() else {
            continue;
        };
        if text.len() > max_chars && text.chars().count() > max_chars {
            text = cut_chars(text, max_chars);
            if record.problem.is_none() {
                record.problem = Some(RowErrorKind::FieldTooLong { column: col });
            }
        }
        if record.cells.len() <= col {
            record.cells.resize(col + 1, String::new());
        }
        record.cells[col] = text;
    }
    batch.extend(current);
    if !batch.is_empty() {
        send(tx, Msg::Rows(batch))?;
    }
    send(tx, Msg::End)
}

/// Zip-bomb and integrity checks on the archive's directory and worksheets.
fn check_zip(reader: &mut Box<dyn ReadSeek>, file_len: u64, limits: &Limits) -> Result<(), Stop> {
    let corrupt = |e: zip::result::ZipError| ImportError::CorruptXlsx(e.to_string());
    let mut zip = ZipArchive::new(&mut *reader).map_err(corrupt)?;
    let mut total: u64 = 0;
    let mut content_types = false;
    let mut workbook_part = false;
    let mut parts = Vec::new();
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(corrupt)?;
        total = total.saturating_add(entry.size());
        let name = entry.name_raw();
        content_types |= name == b"[Content_Types].xml";
        workbook_part |= name.starts_with(b"xl/");
        if name.ends_with(b".xml") || name.ends_with(b".rels") {
            parts.push(i);
        }
    }
    let by_ratio = limits.max_xlsx_ratio.saturating_mul(file_len.max(1));
    if total > limits.max_xlsx_uncompressed_bytes || (total > RATIO_FLOOR && total > by_ratio) {
        return Err(ImportError::ZipBomb {
            uncompressed: total,
            limit: limits.max_xlsx_uncompressed_bytes,
            ratio: limits.max_xlsx_ratio,
        }
        .into());
    }
    if !content_types || !workbook_part {
        return Err(ImportError::NotXlsx.into());
    }
    // Every XML part calamine may read (worksheets, shared strings, the workbook, styles,
    // relationships) is inflated once: its CRC is checked, and its longest tag or text measured.
    for i in parts {
        let mut entry = zip.by_index(i).map_err(corrupt)?;
        let part = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let mut meter = RunMeter::new(&part, MAX_RUN);
        if part.to_ascii_lowercase().ends_with("sharedstrings.xml") {
            meter = meter.with_max_items(MAX_SHARED_STRINGS);
        }
        io::copy(&mut entry, &mut meter).map_err(|e| match refusal(e) {
            Ok(refused) => refused,
            Err(e) => ImportError::CorruptXlsx(e.to_string()),
        })?;
    }
    Ok(())
}

fn xlsx_error(e: XlsxError) -> Stop {
    Stop::Fail(match e {
        XlsxError::Password => ImportError::EncryptedXlsx,
        XlsxError::Io(io) => ImportError::Io(io),
        XlsxError::FileNotFound(_) | XlsxError::RelationshipNotFound => ImportError::NotXlsx,
        other => ImportError::CorruptXlsx(other.to_string()),
    })
}

/// A cell as text, the way a person reads it off the screen — without the display format's
/// rounding or exponent:
/// - numbers: integral values without a decimal point or exponent (`13800138000`, never
///   `1.38e10`), others in the shortest text that reads back to the same number (`0.1`);
/// - dates `2024-03-05`; date-times `2024-03-05 14:30:00` (rounded to the second); times of day
///   `14:30:00`; durations `36:00:00`;
/// - booleans `TRUE`/`FALSE`; formula errors as Excel shows them (`#N/A`), which the mapping
///   rejects when the column is used (see [`Mapping::to_draft`](crate::Mapping::to_draft)).
pub(crate) fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Empty => String::new(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => float_text(*f),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        DataRef::DateTime(dt) => datetime_text(dt),
        DataRef::DateTimeIso(s) => s
            .strip_suffix("T00:00:00")
            .unwrap_or(s)
            .replacen('T', " ", 1),
        DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => e.to_string(),
    }
}

pub(crate) fn float_text(f: f64) -> String {
    if f == 0.0 {
        // Also turns -0 into 0.
        "0".to_string()
    } else {
        // Rust prints floats in full, never with an exponent, and in the shortest digits that
        // read back to the same value: 13800138000.0 → "13800138000", 0.1 → "0.1".
        format!("{f}")
    }
}

fn datetime_text(dt: &ExcelDateTime) -> String {
    let serial = dt.as_f64();
    if dt.is_duration() {
        let secs = (serial * 86_400.0).round() as i64;
        let sign = if secs < 0 { "-" } else { "" };
        let secs = secs.unsigned_abs();
        return format!(
            "{sign}{}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
    }
    let Some(t) = dt.as_datetime() else {
        return float_text(serial);
    };
    let t = t + Duration::milliseconds(500);
    let t = t.with_nanosecond(0).unwrap_or(t);
    if (0.0..1.0).contains(&serial) {
        t.format("%H:%M:%S").to_string()
    } else if t.time() == chrono::NaiveTime::MIN {
        t.format("%Y-%m-%d").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::ExcelDateTimeType;

    #[test]
    fn numbers_keep_every_digit_and_no_exponent() {
        assert_eq!(float_text(13800138000.0), "13800138000");
        assert_eq!(float_text(8613800138000.0), "8613800138000");
        assert_eq!(float_text(0.1), "0.1");
        assert_eq!(float_text(-0.0), "0");
        assert_eq!(float_text(1e21), "1000000000000000000000");
        assert_eq!(float_text(12.5), "12.5");
    }

    #[test]
    fn dates_times_and_durations() {
        let d = |v: f64, t: ExcelDateTimeType| {
            cell_text(&DataRef::DateTime(ExcelDateTime::new(v, t, false)))
        };
        assert_eq!(d(45356.0, ExcelDateTimeType::DateTime), "2024-03-05");
        assert_eq!(
            d(45356.604166666664, ExcelDateTimeType::DateTime),
            "2024-03-05 14:30:00"
        );
        assert_eq!(d(0.5, ExcelDateTimeType::DateTime), "12:00:00");
        assert_eq!(d(1.5, ExcelDateTimeType::TimeDelta), "36:00:00");
    }
}
