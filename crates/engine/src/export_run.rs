//! The one export engine behind the command line and the web: walks every lead a viewer may see
//! in a filter, in pages of flat rows, and streams it into a CSV (UTF-8 with BOM, or GBK) or .xlsx.
//! Pages are fetched and written on the async side and encoded on the blocking pool, so a
//! reader that is slow (or gone) holds no thread while the export waits on it.
//!
//! The header uses the names the importer recognises, so an export imports back unchanged.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

use chrono::{Datelike, Timelike};
use tokio::io::{AsyncWrite, AsyncWriteExt};

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
        "邮箱",
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
        text(&lead.email),
    ]);
    if !defs.is_empty() {
        let custom = lead.custom_values()?;
        for d in defs {
            // As the import reads it back: a multi-select is `专业版;旗舰版`, not JSON.
            out.push(Cow::Owned(
                custom
                    .get(&d.key)
                    .map(|v| d.value_text(v))
                    .unwrap_or_default(),
            ));
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

/// Rows encoded at a time: a few hundred KB of output waiting on the reader, not a page's MBs.
const ENCODE_ROWS: usize = 500;

/// The encoder's output since it was last taken: the next piece of the file, written to the
/// caller's async writer between pages so that no thread ever waits on a slow reader.
#[derive(Clone, Default)]
struct Pending(Arc<Mutex<Vec<u8>>>);

impl Pending {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Where the encoder writes: a CSV straight into [`Pending`]; an .xlsx into an unnamed
/// temporary file, since the workbook is only assembled (zipped) once every row is in.
enum Sink {
    Csv(CsvExport<Pending>),
    Xlsx(Box<XlsxExport<std::fs::File>>),
}

impl Sink {
    fn open(format: ExportFormat, pending: Pending, header: &[String]) -> Result<Self, RunError> {
        let mut sink = match format {
            ExportFormat::Csv => Sink::Csv(
                CsvExport::new(pending, ExportEncoding::Utf8Bom).map_err(ImportError::from)?,
            ),
            ExportFormat::CsvGbk => {
                Sink::Csv(CsvExport::new(pending, ExportEncoding::Gbk).map_err(ImportError::from)?)
            }
            ExportFormat::Xlsx => {
                let file = tempfile::tempfile().map_err(ImportError::from)?;
                Sink::Xlsx(Box::new(XlsxExport::new(file, "线索 Leads")?))
            }
        };
        match &mut sink {
            Sink::Csv(c) => c.write_header(header).map_err(ImportError::from)?,
            Sink::Xlsx(x) => x.write_header(header)?,
        }
        Ok(sink)
    }

    /// Encodes some rows; a lead whose custom values do not parse is `Corrupt`, naming it.
    fn rows(&mut self, page: &[ExportRow], defs: &[CustomFieldDef]) -> Result<u64, RunError> {
        let mut created = String::with_capacity(24);
        for lead in page {
            let mut row = Vec::new();
            cells(lead, defs, &mut created, &mut row)?;
            match self {
                Sink::Csv(c) => c.write_row(&row).map_err(ImportError::from)?,
                Sink::Xlsx(x) => x.write_row(&row)?,
            }
        }
        Ok(page.len() as u64)
    }

    /// Ends the file: a CSV's last bytes go to [`Pending`]; an .xlsx comes back as the file
    /// holding the whole workbook, rewound.
    fn finish(self) -> Result<Option<std::fs::File>, RunError> {
        match self {
            Sink::Csv(c) => {
                c.finish()
                    .map_err(ImportError::from)?
                    .flush()
                    .map_err(ImportError::from)?;
                Ok(None)
            }
            Sink::Xlsx(x) => {
                let mut file = x.finish()?;
                file.flush().map_err(ImportError::from)?;
                file.seek(SeekFrom::Start(0)).map_err(ImportError::from)?;
                Ok(Some(file))
            }
        }
    }
}

/// Runs encoding work (CPU and local disk, never a wait on a reader) on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, RunError> + Send + 'static,
) -> Result<T, RunError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Internal(format!("export encoder: {e}")))?
}

/// Writes every lead `viewer` may see in `filter` to `out` and returns how many. Pages are read
/// while the previous one is written; each page is encoded on the blocking pool and its bytes
/// written with `out`'s own (async) back-pressure, so a slow reader holds no thread. A failing
/// `out` (the reader went away) ends the walk. The future is `Send`: the web runs it as a task.
pub async fn export<O: AsyncWrite + Unpin + Send>(
    db: &Db,
    viewer: &Viewer,
    filter: &LeadFilter,
    format: ExportFormat,
    mut out: O,
) -> Result<u64, RunError> {
    let defs: Arc<[CustomFieldDef]> = custom_fields::list(db).await?.into();
    let header = headers(&defs);
    let pending = Pending::default();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<ExportRow>>(2);
    // The writer owns `rx`: when it fails, the walk's next hand-off fails and the walk stops.
    let write = {
        let pending = pending.clone();
        async move {
            let opened = pending.clone();
            let mut sink = blocking(move || Sink::open(format, opened, &header)).await?;
            let mut rows = 0u64;
            while let Some(page) = rx.recv().await {
                let page = Arc::new(page);
                for start in (0..page.len()).step_by(ENCODE_ROWS) {
                    let (defs, page) = (defs.clone(), page.clone());
                    let end = (start + ENCODE_ROWS).min(page.len());
                    let (back, n) = blocking(move || {
                        let n = sink.rows(&page[start..end], &defs)?;
                        Ok((sink, n))
                    })
                    .await?;
                    sink = back;
                    rows += n;
                    out.write_all(&pending.take())
                        .await
                        .map_err(ImportError::from)?;
                }
            }
            Ok::<_, RunError>((sink, rows, out))
        }
    };
    // A `move` closure returning an owning future (not an `async` closure, nor one borrowing
    // `tx`) keeps this future `Send` for `tokio::spawn`; dropping it with the walk closes `tx`.
    let walk = async move {
        walk_export(db, viewer, filter, move |page: Vec<ExportRow>| {
            let tx = tx.clone();
            async move { tx.send(page).await.is_ok() }
        })
        .await
    };
    let (walked, written) = tokio::join!(walk, write);
    let (sink, rows, mut out) = written?;
    // A walk that failed leaves the file unfinished, so that nobody takes it for complete.
    walked?;
    let workbook = blocking(move || sink.finish()).await?;
    out.write_all(&pending.take())
        .await
        .map_err(ImportError::from)?;
    if let Some(file) = workbook {
        tokio::io::copy(&mut tokio::fs::File::from_std(file), &mut out)
            .await
            .map_err(ImportError::from)?;
    }
    out.flush().await.map_err(ImportError::from)?;
    Ok(rows)
}
