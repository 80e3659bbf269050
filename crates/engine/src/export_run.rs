//! The one export engine behind the command line and the web: walks every lead a viewer may see
//! in a filter, in pages of flat rows, and streams it into a CSV (UTF-8 with BOM, or GBK) or .xlsx.
//! Pages are fetched on the async side and written on a blocking thread, so the writer may
//! block (a file, or a channel feeding an HTTP body via `blocking_send`).
//!
//! The header uses the names the importer recognises, so an export imports back unchanged.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;

use chrono::{Datelike, Timelike};

use leadline_domain::{CustomFieldDef, Viewer};
use leadline_import::{CsvExport, ExportEncoding, ImportError, XlsxExport};
use leadline_store::leads::{ExportRow, LeadFilter, walk_export};
use leadline_store::{Db, StoreError, leads::custom_fields};

use crate::import_run::RunError;

/// What file an export makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// UTF-8 with a byte-order mark (Excel shows Chinese correctly).
    Csv,
    /// GBK, for older software.
    CsvGbk,
    Xlsx,
}

impl ExportFormat {
    /// `csv`, `csv-gbk` (or `gbk`), `xlsx`.
    pub fn parse(s: &str) -> Option<ExportFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" | "csv-utf8" | "utf8" => Some(ExportFormat::Csv),
            "csv-gbk" | "gbk" => Some(ExportFormat::CsvGbk),
            "xlsx" | "excel" => Some(ExportFormat::Xlsx),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv | ExportFormat::CsvGbk => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=UTF-8",
            ExportFormat::CsvGbk => "text/csv; charset=GBK",
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }
}

/// The exported columns' headers: standard fields, then custom fields by Chinese label.
pub fn headers(defs: &[CustomFieldDef]) -> Vec<String> {
    let mut h: Vec<String> = [
        "姓名",
        "电话",
        "公司",
        "职位",
        "城市",
        "地区",
        "来源",
        "标签",
        "状态",
        "意向",
        "负责人",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    h.extend(defs.iter().map(|d| {
        if d.label_zh.trim().is_empty() {
            d.key.clone()
        } else {
            d.label_zh.clone()
        }
    }));
    h.push("创建时间".into());
    h
}

/// One lead's cells, in [`headers`] order, into `out` (cleared first); `created` is scratch
/// space for the creation time's text. Custom values that do not parse are `Corrupt`.
pub fn cells<'a>(
    lead: &'a ExportRow,
    defs: &[CustomFieldDef],
    created: &'a mut String,
    out: &mut Vec<Cow<'a, str>>,
) -> Result<(), StoreError> {
    out.clear();
    let text = |v: &'a Option<String>| Cow::Borrowed(v.as_deref().unwrap_or(""));
    out.extend([
        Cow::Borrowed(lead.name.as_str()),
        Cow::Borrowed(lead.phones.as_str()),
        text(&lead.company),
        text(&lead.title),
        text(&lead.city),
        text(&lead.region),
        text(&lead.source),
        Cow::Borrowed(lead.tags.as_str()),
        Cow::Borrowed(lead.status.label("zh")),
        Cow::Borrowed(lead.intent.map(|i| i.label("zh")).unwrap_or("")),
        text(&lead.owner_name),
    ]);
    if !defs.is_empty() {
        let custom = lead.custom_values()?;
        for d in defs {
            out.push(Cow::Owned(match custom.get(&d.key) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
            }));
        }
    }
    // Beijing time (UTC+8, no daylight saving), as the office reads it.
    let t = lead.created_at.naive_utc() + chrono::TimeDelta::hours(8);
    created.clear();
    let _ = write!(
        created,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    out.push(Cow::Borrowed(created.as_str()));
    Ok(())
}

enum Sink<W: Write + Send> {
    Csv(CsvExport<W>),
    Xlsx(Box<XlsxExport<W>>),
}

impl<W: Write + Send> Sink<W> {
    fn open(format: ExportFormat, writer: W, header: &[String]) -> Result<Self, ImportError> {
        let mut sink = match format {
            ExportFormat::Csv => Sink::Csv(CsvExport::new(writer, ExportEncoding::Utf8Bom)?),
            ExportFormat::CsvGbk => Sink::Csv(CsvExport::new(writer, ExportEncoding::Gbk)?),
            ExportFormat::Xlsx => Sink::Xlsx(Box::new(XlsxExport::new(writer, "线索 Leads")?)),
        };
        match &mut sink {
            Sink::Csv(c) => c.write_header(header)?,
            Sink::Xlsx(x) => x.write_header(header)?,
        }
        Ok(sink)
    }

    fn row(&mut self, cells: &[Cow<'_, str>]) -> Result<(), ImportError> {
        match self {
            Sink::Csv(c) => Ok(c.write_row(cells)?),
            Sink::Xlsx(x) => x.write_row(cells),
        }
    }

    fn finish(self) -> Result<(), ImportError> {
        match self {
            Sink::Csv(c) => c.finish()?.flush()?,
            Sink::Xlsx(x) => x.finish()?.flush()?,
        }
        Ok(())
    }
}

/// Writes every lead `viewer` may see in `filter` to `writer` and returns how many. The writer
/// is driven from a blocking thread.
pub async fn export<W: Write + Send + 'static>(
    db: &Db,
    viewer: &Viewer,
    filter: &LeadFilter,
    format: ExportFormat,
    writer: W,
) -> Result<u64, RunError> {
    let defs = custom_fields::list(db).await?;
    let header = headers(&defs);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<ExportRow>>(2);
    let writer_defs = defs.clone();
    // A lead whose custom values do not parse ends the export with `Corrupt` naming it.
    let write = tokio::task::spawn_blocking(move || -> Result<u64, RunError> {
        let mut sink = Sink::open(format, writer, &header)?;
        let mut rows = 0u64;
        let mut created = String::with_capacity(24);
        let width = header.len();
        while let Some(page) = rx.blocking_recv() {
            for lead in &page {
                let mut row = Vec::with_capacity(width);
                cells(lead, &writer_defs, &mut created, &mut row)?;
                sink.row(&row)?;
                rows += 1;
            }
        }
        sink.finish()?;
        Ok(rows)
    });
    // A plain closure returning an owning future (not an `async` closure borrowing `tx`) keeps
    // this future `Send` for `tokio::spawn`.
    let walked = walk_export(db, viewer, filter, |page: Vec<ExportRow>| {
        let tx = tx.clone();
        async move { tx.send(page).await.is_ok() }
    })
    .await;
    drop(tx);
    let written = write
        .await
        .map_err(|e| StoreError::Internal(format!("export thread: {e}")))?;
    walked?;
    written
}
