//! Leadline's file import and export: CSV and .xlsx readers with encoding and delimiter
//! detection, header mapping onto lead fields, per-row errors with a downloadable error report,
//! and streaming exporters. Pure: no database, no async, no global state.
//!
//! # Reading
//! ```no_run
//! use leadline_import::{Mapping, ReadOptions, open};
//! # fn main() -> Result<(), leadline_import::ImportError> {
//! let mut reader = open("客户名单.csv".as_ref(), &ReadOptions::default())?;
//! let mapping = Mapping::auto(&reader.info().headers, &[]);
//! while let Some(row) = reader.next_row()? {
//!     match row.and_then(|row| mapping.parse_row(&row, &[])) {
//!         Ok(lead) => { /* insert lead.fields, resolve lead.owner */ }
//!         Err(bad) => { /* error_report.write(&bad)? */ }
//!     }
//! }
//! # Ok(()) }
//! ```
//! An `Err` from [`Reader::next_row`] ([`ImportError`]) ends the file: the limit on rows was
//! passed, the disk failed, or an .xlsx turned out damaged. An `Ok(Err(RowError))` rejects one
//! row; reading goes on. A row is never returned `Ok` unless the file completes it: a quote left
//! open at the end, a record with fewer fields than the header, an over-long cell or a byte
//! sequence invalid in the encoding make the row a [`RowError`].
//!
//! # Row numbers
//! [`SourceRow::number`] and [`RowError::number`] are the row numbers a spreadsheet shows: the
//! first record of a CSV is row 1 (usually the header, so the first lead is row 2); an .xlsx row
//! keeps its sheet row. Blank rows are skipped but keep their numbers.
//!
//! # Limits
//! See [`Limits`]: file size, rows, columns, characters in one cell, and for .xlsx the unpacked
//! size (zip bombs) and the longest piece of its XML (a cell padded to hundreds of megabytes,
//! see `xml_runs::MAX_RUN`). Each is a clear [`ImportError`] or [`RowErrorKind`].

mod csv_read;
mod encoding;
mod error;
mod export;
mod mapping;
mod report;
mod sniff;
mod xlsx_read;
mod xml_runs;

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use csv_read::ReadSeek;
use csv_read::{CsvSource, Input, RawRecord, detect_delimiter};
pub use encoding::encoding_for_label;
use encoding::{SAMPLE_LEN, Utf16ToUtf8, detect, is_utf16};
pub use error::{ImportError, RowError, RowErrorKind};
pub use export::{CsvExport, ExportEncoding, XlsxExport, neutralise};
pub use mapping::{
    ColumnMapping, Mapping, MappingProblem, ParsedRow, RowDraft, Target, auto_map, normalise_header,
};
pub use report::{ErrorReport, REASON_HEADER, ReportFormat};
pub use sniff::{FileKind, SNIFF_LEN, sniff};
use xlsx_read::XlsxSource;

/// Bounds on what a file may hold. The defaults suit a call center's lead lists; every limit is
/// checked while streaming, never by loading the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Largest file accepted, in bytes (default 256 MiB).
    pub max_file_bytes: u64,
    /// Most data rows (blank rows not counted); one more is [`ImportError::TooManyRows`]
    /// (default 2,000,000).
    pub max_rows: u64,
    /// Most columns in the header (default 1,000). In a CSV, a row with more non-empty fields
    /// than the header is a [`RowErrorKind::TooManyFields`]; in an .xlsx, cells right of the
    /// header's last column are ignored.
    pub max_columns: usize,
    /// Most characters in one cell (default 10,000); a longer cell is a
    /// [`RowErrorKind::FieldTooLong`] and is never held in memory beyond ~4× this in bytes.
    pub max_field_chars: usize,
    /// Most bytes an .xlsx may unpack to, by its zip directory (default 512 MiB).
    pub max_xlsx_uncompressed_bytes: u64,
    /// Most times its own size an .xlsx over 32 MiB unpacked may unpack to (default 100).
    pub max_xlsx_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 256 * 1024 * 1024,
            max_rows: 2_000_000,
            max_columns: 1_000,
            max_field_chars: 10_000,
            max_xlsx_uncompressed_bytes: 512 * 1024 * 1024,
            max_xlsx_ratio: 100,
        }
    }
}

/// How to read a file; the default detects everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReadOptions {
    /// CSV encoding by label (`utf-8`, `gbk`, `gb18030`, `big5`, `utf-16le`…), overriding
    /// detection. A byte-order mark in the file still wins. Ignored for .xlsx.
    pub encoding: Option<String>,
    /// CSV delimiter (`b','`, `b';'`, `b'\t'`, `b'|'`…), overriding detection.
    pub delimiter: Option<u8>,
    /// .xlsx worksheet by name (exact, else ignoring case and surrounding spaces); default the
    /// first visible worksheet.
    pub sheet: Option<String>,
    /// Whether the first non-blank row is a header (default true). When it is, up to three
    /// leading rows with a single non-empty cell followed by a fuller row are taken for titles
    /// ("2024 年客户名单") and skipped.
    pub has_header: bool,
    pub limits: Limits,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            encoding: None,
            delimiter: None,
            sheet: None,
            has_header: true,
            limits: Limits::default(),
        }
    }
}

/// What was found out about a file on opening it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceInfo {
    pub kind: FileKind,
    /// CSV: the encoding read, by its WHATWG name (`UTF-8`, `gb18030`, `GBK`, `UTF-16LE`…).
    pub encoding: Option<&'static str>,
    /// CSV: whether the encoding was detected (true) or chosen by the caller (false).
    pub encoding_detected: bool,
    /// CSV: whether the file starts with a byte-order mark.
    pub bom: bool,
    /// CSV: the delimiter in use.
    pub delimiter: Option<u8>,
    /// .xlsx: the worksheets, in workbook order.
    pub sheets: Vec<String>,
    /// .xlsx: the worksheet being read.
    pub sheet: Option<String>,
    /// The header's row number, when the file has a header.
    pub header_row: Option<u64>,
    /// Column names: the header's cells, trimmed (`列3` for an empty one), or `列1`, `列2`… for a
    /// file without a header. Every `Ok` row has exactly this many cells.
    pub headers: Vec<String>,
}

impl SourceInfo {
    /// How an error report for this file is written: same kind, encoding, BOM and delimiter.
    pub fn report_format(&self) -> ReportFormat {
        ReportFormat {
            kind: self.kind,
            encoding: self.encoding.unwrap_or("UTF-8").to_string(),
            bom: self.bom,
            delimiter: self.delimiter.unwrap_or(b','),
            headers: self.headers.clone(),
            header_row: self.header_row.is_some(),
        }
    }
}

/// One data row, exactly as wide as the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRow {
    /// The row number a spreadsheet shows (see the crate docs).
    pub number: u64,
    pub cells: Vec<String>,
}

enum Source {
    Csv(CsvSource),
    Xlsx(XlsxSource),
}

/// A file being read, one row at a time. `Send`, so it can move to a blocking thread.
pub struct Reader {
    info: SourceInfo,
    source: Source,
    pending: VecDeque<RawRecord>,
    max_rows: u64,
    data_rows: u64,
}

/// Opens a file, deciding its kind from its content and name (see [`sniff`]).
pub fn open(path: &Path, opts: &ReadOptions) -> Result<Reader, ImportError> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    if size > opts.limits.max_file_bytes {
        return Err(ImportError::FileTooLarge {
            size,
            limit: opts.limits.max_file_bytes,
        });
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    open_reader(file, &name, opts)
}

/// Opens any seekable source; `file_name` is the name the user gave the file (for its extension).
pub fn open_reader<R: Read + Seek + Send + 'static>(
    mut source: R,
    file_name: &str,
    opts: &ReadOptions,
) -> Result<Reader, ImportError> {
    let limits = opts.limits;
    let size = source.seek(SeekFrom::End(0))?;
    source.seek(SeekFrom::Start(0))?;
    if size > limits.max_file_bytes {
        return Err(ImportError::FileTooLarge {
            size,
            limit: limits.max_file_bytes,
        });
    }
    let mut sample = Vec::with_capacity(SAMPLE_LEN.min(size as usize));
    (&mut source)
        .take(SAMPLE_LEN as u64)
        .read_to_end(&mut sample)?;
    let whole = sample.len() as u64 >= size;
    let kind = sniff(&sample[..sample.len().min(SNIFF_LEN)], file_name)?;
    let mut info = SourceInfo {
        kind,
        encoding: None,
        encoding_detected: false,
        bom: false,
        delimiter: None,
        sheets: Vec::new(),
        sheet: None,
        header_row: None,
        headers: Vec::new(),
    };
    let src = match kind {
        FileKind::Csv => {
            let chosen = opts
                .encoding
                .as_deref()
                .map(encoding_for_label)
                .transpose()?;
            let det = detect(&sample, whole, chosen);
            let enc = det.encoding;
            let delim = match opts.delimiter {
                Some(d) if d.is_ascii() && !matches!(d, b'"' | b'\n' | b'\r') => d,
                Some(d) => return Err(ImportError::BadDelimiter(char::from(d))),
                None if is_utf16(enc) => {
                    let text = enc.decode_without_bom_handling(&sample[det.bom_len..]).0;
                    detect_delimiter(text.as_bytes(), whole)
                }
                None => detect_delimiter(&sample[det.bom_len..], whole),
            };
            info.encoding = Some(enc.name());
            info.encoding_detected = det.detected;
            info.bom = det.bom_len > 0;
            info.delimiter = Some(delim);
            source.seek(SeekFrom::Start(det.bom_len as u64))?;
            let (input, pos, field_enc) = if is_utf16(enc) {
                let utf8: Box<dyn Read + Send> = Box::new(Utf16ToUtf8::new(source, enc));
                (
                    Input::Transcoded(BufReader::with_capacity(1 << 16, utf8)),
                    0,
                    encoding_rs::UTF_8,
                )
            } else {
                let raw: Box<dyn ReadSeek> = Box::new(source);
                (
                    Input::Plain(BufReader::with_capacity(1 << 16, raw)),
                    det.bom_len as u64,
                    enc,
                )
            };
            Source::Csv(CsvSource::new(
                input,
                pos,
                delim,
                field_enc,
                limits.max_field_chars,
                limits.max_columns.saturating_add(1),
            ))
        }
        FileKind::Xlsx => {
            source.seek(SeekFrom::Start(0))?;
            let opened = XlsxSource::open(Box::new(source), size, opts.sheet.clone(), limits)?;
            info.sheets = opened.sheets;
            info.sheet = Some(opened.sheet);
            Source::Xlsx(opened.source)
        }
    };
    let mut reader = Reader {
        info,
        source: src,
        pending: VecDeque::new(),
        max_rows: limits.max_rows,
        data_rows: 0,
    };
    reader.read_header(opts.has_header, limits.max_columns)?;
    Ok(reader)
}

fn non_empty(r: &RawRecord) -> usize {
    r.cells.iter().filter(|c| !c.trim().is_empty()).count()
}

fn is_blank(r: &RawRecord) -> bool {
    r.problem.is_none() && !r.overflow && non_empty(r) == 0
}

impl Reader {
    pub fn info(&self) -> &SourceInfo {
        &self.info
    }

    /// Data rows returned so far, good and bad (blank rows not counted).
    pub fn rows_read(&self) -> u64 {
        self.data_rows
    }

    fn pull(&mut self) -> Result<Option<RawRecord>, ImportError> {
        if let Some(r) = self.pending.pop_front() {
            return Ok(Some(r));
        }
        match &mut self.source {
            Source::Csv(s) => s.next_record(),
            Source::Xlsx(s) => s.next_record(),
        }
    }

    fn pull_non_blank(&mut self) -> Result<Option<RawRecord>, ImportError> {
        while let Some(r) = self.pull()? {
            if !is_blank(&r) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    fn read_header(&mut self, has_header: bool, max_columns: usize) -> Result<(), ImportError> {
        let first = self.pull_non_blank()?.ok_or(ImportError::EmptyFile)?;
        let too_many = |found| ImportError::TooManyColumns {
            found,
            limit: max_columns,
        };
        if !has_header {
            let width = first.cells.len();
            if width > max_columns || first.overflow {
                return Err(too_many(width));
            }
            self.info.headers = (1..=width).map(|i| format!("列{i}")).collect();
            self.pending.push_front(first);
            return Ok(());
        }
        let mut header = first;
        for _ in 0..3 {
            if non_empty(&header) != 1 {
                break;
            }
            match self.pull_non_blank()? {
                Some(next) if non_empty(&next) >= 2 => header = next,
                Some(next) => {
                    self.pending.push_front(next);
                    break;
                }
                None => break,
            }
        }
        if let Some(problem) = &header.problem {
            let code = RowError {
                number: header.number,
                cells: Vec::new(),
                kind: problem.clone(),
            }
            .code();
            return Err(ImportError::BadHeader(code));
        }
        let mut cells = header.cells;
        while cells.last().is_some_and(|c| c.trim().is_empty()) {
            cells.pop();
        }
        if cells.len() > max_columns || header.overflow {
            return Err(too_many(cells.len()));
        }
        self.info.headers = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let c = c.trim();
                if c.is_empty() {
                    format!("列{}", i + 1)
                } else {
                    c.to_string()
                }
            })
            .collect();
        self.info.header_row = Some(header.number);
        Ok(())
    }

    /// The next data row: `Ok(None)` at the end, `Ok(Some(Ok(row)))` for a good row,
    /// `Ok(Some(Err(bad)))` for a rejected one, `Err` when the file cannot be read further.
    #[allow(clippy::type_complexity)]
    pub fn next_row(&mut self) -> Result<Option<Result<SourceRow, RowError>>, ImportError> {
        let Some(record) = self.pull_non_blank()? else {
            return Ok(None);
        };
        self.data_rows += 1;
        if self.data_rows > self.max_rows {
            return Err(ImportError::TooManyRows {
                limit: self.max_rows,
            });
        }
        let RawRecord {
            number,
            mut cells,
            mut problem,
            overflow,
        } = record;
        let width = self.info.headers.len();
        match self.info.kind {
            FileKind::Csv => {
                if cells.len() > width || overflow {
                    if overflow || cells[width..].iter().any(|c| !c.trim().is_empty()) {
                        problem.get_or_insert(RowErrorKind::TooManyFields {
                            found: cells.len(),
                            expected: width,
                        });
                    } else {
                        cells.truncate(width);
                    }
                } else if cells.len() < width {
                    problem.get_or_insert(RowErrorKind::TooFewFields {
                        found: cells.len(),
                        expected: width,
                    });
                }
            }
            FileKind::Xlsx => {
                if matches!(problem, Some(RowErrorKind::FieldTooLong { column }) if column >= width)
                {
                    problem = None;
                }
                cells.resize(width, String::new());
            }
        }
        Ok(Some(match problem {
            Some(kind) => Err(RowError {
                number,
                cells,
                kind,
            }),
            None => Ok(SourceRow { number, cells }),
        }))
    }
}
