//! What can go wrong: [`ImportError`] stops a whole file, [`RowError`] rejects one row.

use leadline_domain::import_plan::row_reason;
use leadline_domain::{CustomFieldDef, FieldProblem};

/// A problem with the file as a whole: nothing (more) can be read from it.
///
/// Each variant has a stable snake_case [`code`](ImportError::code) that the interface translates;
/// the `Display` text is English, for logs and the command line.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the file is {size} bytes, more than the limit of {limit} bytes")]
    FileTooLarge { size: u64, limit: u64 },
    #[error("the file is empty or has no rows")]
    EmptyFile,
    #[error("the file is binary, not a CSV text or an .xlsx workbook")]
    Binary,
    #[error("the file is named .{extension} but its content is {content}")]
    NameMismatch {
        extension: String,
        content: &'static str,
    },
    #[error("old Excel 97-2003 (.xls) workbooks are not supported: save it as .xlsx or CSV")]
    LegacyXls,
    #[error("the workbook is password-protected: save a copy without a password")]
    EncryptedXlsx,
    #[error("the file is a zip archive but not an Excel .xlsx workbook")]
    NotXlsx,
    #[error("the workbook is damaged: {0}")]
    CorruptXlsx(String),
    #[error(
        "the workbook unpacks to {uncompressed} bytes, more than the limit of {limit} bytes \
         (or {ratio}× its size)"
    )]
    ZipBomb {
        uncompressed: u64,
        limit: u64,
        ratio: u64,
    },
    /// One tag or one text of the workbook's XML is longer than any real cell: reading it would
    /// hold all of it in memory (see `xml_runs`).
    #[error(
        "{} of {part} holds more than {limit} bytes in one piece: no spreadsheet cell is that large",
        cell.as_deref().map_or_else(|| "a text".to_string(), |c| format!("cell {c}"))
    )]
    CellTooLarge {
        part: String,
        /// The cell (`B7`) or row (`row 7`) where it is, when the part is a worksheet.
        cell: Option<String>,
        limit: u64,
    },
    #[error("the workbook holds more than {limit} different texts")]
    TooManySharedStrings { limit: u64 },
    #[error("the workbook has no worksheet")]
    NoSheet,
    #[error("no worksheet named “{name}”; the workbook has: {}", available.join(", "))]
    SheetNotFound {
        name: String,
        available: Vec<String>,
    },
    #[error("unsupported encoding “{0}”: use utf-8, gbk, gb18030, big5 or utf-16")]
    UnsupportedEncoding(String),
    #[error(
        "unsupported delimiter {0:?}: use a single ASCII character other than a quote or newline"
    )]
    BadDelimiter(char),
    #[error("the header row cannot be read ({0}); check the file's encoding")]
    BadHeader(&'static str),
    #[error("the header has {found} columns, more than the limit of {limit}")]
    TooManyColumns { found: usize, limit: usize },
    #[error("the file has more than {limit} rows")]
    TooManyRows { limit: u64 },
    #[error("a cell has {chars} characters, more than a spreadsheet cell holds ({limit})")]
    CellTooLong { chars: usize, limit: usize },
    #[error("cannot write the workbook: {0}")]
    XlsxWrite(String),
}

impl ImportError {
    /// Stable code for the interface to translate.
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::Io(_) => "io",
            ImportError::FileTooLarge { .. } => "file_too_large",
            ImportError::EmptyFile => "empty_file",
            ImportError::Binary => "binary_file",
            ImportError::NameMismatch { .. } => "name_mismatch",
            ImportError::LegacyXls => "legacy_xls",
            ImportError::EncryptedXlsx => "encrypted_xlsx",
            ImportError::NotXlsx => "not_xlsx",
            ImportError::CorruptXlsx(_) => "corrupt_xlsx",
            ImportError::ZipBomb { .. } => "zip_bomb",
            ImportError::CellTooLarge { .. } => "cell_too_large",
            ImportError::TooManySharedStrings { .. } => "too_many_texts",
            ImportError::NoSheet => "no_sheet",
            ImportError::SheetNotFound { .. } => "sheet_not_found",
            ImportError::UnsupportedEncoding(_) => "unsupported_encoding",
            ImportError::BadDelimiter(_) => "bad_delimiter",
            ImportError::BadHeader(_) => "bad_header",
            ImportError::TooManyColumns { .. } => "too_many_columns",
            ImportError::TooManyRows { .. } => "too_many_rows",
            ImportError::CellTooLong { .. } => "cell_too_long",
            ImportError::XlsxWrite(_) => "xlsx_write",
        }
    }
}

impl From<rust_xlsxwriter::XlsxError> for ImportError {
    fn from(e: rust_xlsxwriter::XlsxError) -> Self {
        match e {
            rust_xlsxwriter::XlsxError::IoError(io) => ImportError::Io(io),
            other => ImportError::XlsxWrite(other.to_string()),
        }
    }
}

/// Why one row was rejected. The row's other rows are unaffected.
#[derive(Debug, Clone, PartialEq)]
pub enum RowErrorKind {
    /// A quoted field has text after its closing quote (`"abc"def`).
    BadQuotes,
    /// A quote opens a field and is never closed. The row is the physical line where it opened;
    /// reading goes on with the next line.
    UnterminatedQuote,
    /// A cell is longer than [`Limits::max_field_chars`](crate::Limits); its text is cut there.
    FieldTooLong { column: usize },
    /// The row has more non-empty fields than the header.
    TooManyFields { found: usize, expected: usize },
    /// The row has fewer fields than the header (CSV only: a cut-off or misaligned row).
    TooFewFields { found: usize, expected: usize },
    /// The bytes are not valid in the file's encoding.
    BadEncoding,
    /// A mapped cell holds a spreadsheet error such as `#N/A` or `#REF!`.
    CellError { column: usize, value: String },
    /// The lead's fields failed the same checks as a hand-entered lead.
    Invalid(Vec<FieldProblem>),
}

/// One rejected row: its number, its original cells and the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    /// The row number a spreadsheet shows for it (see [`SourceRow::number`](crate::SourceRow)).
    pub number: u64,
    /// The row's cells as read (decoded lossily if the encoding was bad; an over-long cell is
    /// cut at the limit). May be narrower or wider than the header.
    pub cells: Vec<String>,
    pub kind: RowErrorKind,
}

impl RowError {
    /// Stable snake_case code of the reason.
    pub fn code(&self) -> &'static str {
        match &self.kind {
            RowErrorKind::BadQuotes => "bad_quotes",
            RowErrorKind::UnterminatedQuote => "unterminated_quote",
            RowErrorKind::FieldTooLong { .. } => "field_too_long",
            RowErrorKind::TooManyFields { .. } => "too_many_fields",
            RowErrorKind::TooFewFields { .. } => "too_few_fields",
            RowErrorKind::BadEncoding => "bad_encoding",
            RowErrorKind::CellError { .. } => "cell_error",
            RowErrorKind::Invalid(_) => "invalid",
        }
    }

    /// The reason in Chinese and English as stored (see
    /// [`row_reason`](leadline_domain::import_plan::row_reason); the error report shows one of
    /// them), naming columns by their headers and custom fields by their labels:
    /// `第 12 行：列「手机」是表格错误值 #N/A` and `row 12: column “手机” holds the spreadsheet
    /// error #N/A`.
    pub fn reason(&self, headers: &[String], defs: &[CustomFieldDef]) -> String {
        let col = |i: usize| {
            headers
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("列{}", i + 1))
        };
        let (zh, en) = match &self.kind {
            RowErrorKind::BadQuotes => (
                "引号使用不正确（引号后还有文字）".to_string(),
                "text after a closing quote".to_string(),
            ),
            RowErrorKind::UnterminatedQuote => (
                "引号没有闭合".to_string(),
                "a quote is never closed".to_string(),
            ),
            RowErrorKind::FieldTooLong { column } => (
                format!("列「{}」内容过长", col(*column)),
                format!("column “{}” is too long", col(*column)),
            ),
            RowErrorKind::TooManyFields { found, expected } => (
                format!("有 {found} 列，比表头多（表头 {expected} 列）"),
                format!("{found} fields, more than the header's {expected}"),
            ),
            RowErrorKind::TooFewFields { found, expected } => (
                format!("只有 {found} 列，比表头少（表头 {expected} 列）"),
                format!("{found} fields, fewer than the header's {expected}"),
            ),
            RowErrorKind::BadEncoding => (
                "含有无法识别的字符，请检查文件编码".to_string(),
                "invalid characters for the file's encoding".to_string(),
            ),
            RowErrorKind::CellError { column, value } => (
                format!("列「{}」是表格错误值 {value}", col(*column)),
                format!(
                    "column “{}” holds the spreadsheet error {value}",
                    col(*column)
                ),
            ),
            RowErrorKind::Invalid(problems) => {
                let zh: Vec<String> = problems
                    .iter()
                    .map(|p| {
                        let (label, _) = field_label(&p.field, defs);
                        let text = problem_text(p.code).0;
                        // A custom field's label is set off from the text that follows it.
                        if is_standard(&p.field) {
                            format!("{label}{text}")
                        } else {
                            format!("「{label}」{text}")
                        }
                    })
                    .collect();
                let en: Vec<String> = problems
                    .iter()
                    .map(|p| {
                        format!(
                            "{}: {}",
                            field_label(&p.field, defs).1,
                            problem_text(p.code).1
                        )
                    })
                    .collect();
                (zh.join("；"), en.join("; "))
            }
        };
        row_reason(self.number, &zh, &en)
    }
}

fn is_standard(field: &str) -> bool {
    matches!(
        field,
        "name"
            | "phones"
            | "company"
            | "title"
            | "city"
            | "region"
            | "source"
            | "tags"
            | "status"
            | "intent"
    )
}

/// A field's name in Chinese and English: a custom field by its labels (its key only when it
/// has none), so that a report names 意向产品, not `products`.
fn field_label(field: &str, defs: &[CustomFieldDef]) -> (String, String) {
    let (zh, en) = match field {
        "name" => ("姓名", "name"),
        "phones" => ("电话", "phone"),
        "company" => ("公司", "company"),
        "title" => ("职位", "title"),
        "city" => ("城市", "city"),
        "region" => ("地区", "region"),
        "source" => ("来源", "source"),
        "tags" => ("标签", "tags"),
        "status" => ("状态", "status"),
        "intent" => ("意向", "intent"),
        other => {
            return match defs.iter().find(|d| d.key == other) {
                Some(d) => (d.label("zh").to_string(), d.label("en").to_string()),
                None => (other.to_string(), other.to_string()),
            };
        }
    };
    (zh.to_string(), en.to_string())
}

fn problem_text(code: &str) -> (&'static str, &'static str) {
    match code {
        "required" => ("必填", "required"),
        "too_long" => ("太长", "too long"),
        "too_many" => ("数量太多", "too many"),
        "bad_phone" => ("号码无效", "not a valid phone number"),
        "not_an_option" => ("不是可选的值", "not one of the options"),
        "not_a_number" => ("不是数字", "not a number"),
        "bad_date" => ("日期无效（应为 2024-03-05）", "not a date (use 2024-03-05)"),
        "bad_email" => ("邮箱无效", "not a valid email address"),
        "unknown_field" => ("是未知字段", "unknown field"),
        "not_text" => ("不是文本", "not text"),
        _ => ("无效", "invalid"),
    }
}
