//! The error report: the rejected rows, in the file's own format, with the reason beside each.

use std::io::{BufWriter, Write};

use encoding_rs::Encoding;
use serde::{Deserialize, Serialize};

use crate::encoding::{bom_for, encode_into, encoding_for_label, is_utf16, output_encoding};
use crate::export::{SheetWriter, neutralise, push_csv_record};
use crate::{FileKind, ImportError, RowError};
use leadline_domain::CustomFieldDef;
use leadline_domain::import_plan::reason_in;

/// The header of the column that holds each row's reason, in Chinese and in English.
pub const REASON_HEADER: (&str, &str) = ("错误原因", "Error");

/// How an error report is written; take it from [`SourceInfo::report_format`](crate::SourceInfo)
/// and store it (it is serde-serialisable) if the report is written later than the import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFormat {
    pub kind: FileKind,
    /// CSV: the source's encoding label; GBK is written as GB18030, which uses GBK's bytes for
    /// every GBK character and loses none.
    pub encoding: String,
    /// CSV: start with a byte-order mark (always for UTF-16).
    pub bom: bool,
    pub delimiter: u8,
    /// The source's column names (see [`SourceInfo::headers`](crate::SourceInfo)).
    pub headers: Vec<String>,
    /// Whether the source had a header row; the report repeats it only then.
    pub header_row: bool,
}

enum Sink<W: Write + Send> {
    Csv {
        out: BufWriter<W>,
        encoding: &'static Encoding,
        delim: char,
        line: String,
        bytes: Vec<u8>,
    },
    Xlsx {
        out: W,
        sheet: Box<SheetWriter>,
    },
}

/// Writes rejected rows as they come: the source's header with a last column
/// [`REASON_HEADER`], then each row's original cells (padded to the header's width) and its
/// reason. Cells of a row wider than the header follow the reason column, so that no column
/// shifts and nothing is lost.
///
/// CSV reports use the source's encoding, BOM and delimiter; .xlsx sources get an .xlsx report
/// (written in constant memory). Every cell is [`neutralise`]d, since the report may be opened
/// by someone other than the person who uploaded the file; importing the corrected report
/// removes the apostrophes again. In an .xlsx report a cell longer than Excel's 32,767
/// characters is cut there.
pub struct ErrorReport<W: Write + Send> {
    format: ReportFormat,
    sink: Sink<W>,
    rows: u64,
    english: bool,
}

impl<W: Write + Send> ErrorReport<W> {
    /// Starts a report in Chinese, writing its header row.
    pub fn new(out: W, format: &ReportFormat) -> Result<ErrorReport<W>, ImportError> {
        ErrorReport::in_language(out, format, false)
    }

    /// Starts a report whose reasons are in English (`english`) or Chinese, and only in that.
    pub fn in_language(
        out: W,
        format: &ReportFormat,
        english: bool,
    ) -> Result<ErrorReport<W>, ImportError> {
        let mut sink = match format.kind {
            FileKind::Csv => {
                let encoding = output_encoding(encoding_for_label(&format.encoding)?);
                let mut out = BufWriter::with_capacity(64 * 1024, out);
                if format.bom || is_utf16(encoding) {
                    out.write_all(bom_for(encoding))?;
                }
                Sink::Csv {
                    out,
                    encoding,
                    delim: char::from(format.delimiter),
                    line: String::new(),
                    bytes: Vec::new(),
                }
            }
            FileKind::Xlsx => Sink::Xlsx {
                out,
                sheet: Box::new(SheetWriter::new("错误 Errors")?),
            },
        };
        if format.header_row {
            let mut header: Vec<&str> = format.headers.iter().map(String::as_str).collect();
            header.push(if english {
                REASON_HEADER.1
            } else {
                REASON_HEADER.0
            });
            match &mut sink {
                Sink::Xlsx { sheet, .. } => sheet.write_header(&header)?,
                csv => write_csv(csv, &header)?,
            }
        }
        Ok(ErrorReport {
            format: format.clone(),
            sink,
            rows: 0,
            english,
        })
    }

    /// Writes a rejected row with [`RowError::reason`] (custom fields named by `defs`).
    pub fn write(&mut self, error: &RowError, defs: &[CustomFieldDef]) -> Result<(), ImportError> {
        let reason = error.reason(&self.format.headers, defs);
        self.write_row(&error.cells, &reason)
    }

    /// Writes a row rejected for a reason of the caller's (e.g. a duplicate found in storage).
    /// A reason stored in both languages
    /// ([`row_reason`](leadline_domain::import_plan::row_reason)) is written in the report's.
    pub fn write_row(&mut self, cells: &[String], reason: &str) -> Result<(), ImportError> {
        let reason = reason_in(reason, self.english);
        let width = self.format.headers.len();
        let mut row: Vec<&str> = cells.iter().take(width).map(String::as_str).collect();
        row.resize(width, "");
        row.push(reason);
        row.extend(cells.iter().skip(width).map(String::as_str));
        match &mut self.sink {
            Sink::Xlsx { sheet, .. } => sheet.write_row(&row, true)?,
            csv => write_csv(csv, &row)?,
        }
        self.rows += 1;
        Ok(())
    }

    /// Rows written, the header not counted.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The file's extension (`csv` or `xlsx`) and the MIME type to serve it with.
    pub fn file_type(&self) -> (&'static str, String) {
        match &self.sink {
            Sink::Csv { encoding, .. } => ("csv", format!("text/csv; charset={}", encoding.name())),
            Sink::Xlsx { .. } => ("xlsx", FileKind::Xlsx.content_type().to_string()),
        }
    }

    /// Finishes the file and returns the writer.
    pub fn finish(self) -> Result<W, ImportError> {
        match self.sink {
            Sink::Csv { out, .. } => out.into_inner().map_err(|e| e.into_error().into()),
            Sink::Xlsx { out, sheet } => sheet.finish(out),
        }
    }
}

fn write_csv<W: Write + Send>(sink: &mut Sink<W>, cells: &[&str]) -> Result<(), ImportError> {
    let Sink::Csv {
        out,
        encoding,
        delim,
        line,
        bytes,
    } = sink
    else {
        unreachable!("called for CSV sinks only")
    };
    line.clear();
    push_csv_record(line, cells.iter().map(|c| neutralise(c)), *delim);
    bytes.clear();
    encode_into(encoding, line, bytes);
    out.write_all(bytes)?;
    Ok(())
}
