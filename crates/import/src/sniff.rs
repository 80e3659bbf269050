//! Telling a CSV from an .xlsx by its bytes, and refusing files whose name lies.

use serde::{Deserialize, Serialize};

use crate::ImportError;

/// The two formats read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Csv,
    Xlsx,
}

impl FileKind {
    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Csv => "csv",
            FileKind::Xlsx => "xlsx",
        }
    }

    /// The MIME type to serve a file of this kind with (CSV's charset is set by the caller).
    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Csv => "text/csv",
            FileKind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// How many leading bytes [`sniff`] looks at; pass at least this many when the file has them.
pub const SNIFF_LEN: usize = 8 * 1024;

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const ZIP_EMPTY: &[u8] = b"PK\x05\x06";
const OLE_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// Decides the kind of a file from its first bytes (up to [`SNIFF_LEN`]) and its name.
///
/// The content decides; the name may only confirm it:
/// - a zip (`PK\x03\x04`) is an .xlsx, unless the name says `.csv`/`.txt`/`.tsv`;
/// - an OLE2 compound file is an old `.xls` ([`ImportError::LegacyXls`]), or, named `.xlsx`,
///   a password-protected workbook ([`ImportError::EncryptedXlsx`]);
/// - other known binary formats (PDF, images, archives) and any NUL byte outside UTF-16 text
///   are [`ImportError::Binary`];
/// - text is a CSV, unless the name says `.xlsx`/`.xls` ([`ImportError::NameMismatch`]).
///
/// An empty prefix is [`ImportError::EmptyFile`]. Names without an extension, or with another
/// one, are accepted for whatever the content is.
pub fn sniff(prefix: &[u8], file_name: &str) -> Result<FileKind, ImportError> {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let named_text = matches!(ext.as_str(), "csv" | "txt" | "tsv");
    let named_sheet = matches!(ext.as_str(), "xlsx" | "xlsm" | "xls");
    let mismatch = |content: &'static str| ImportError::NameMismatch {
        extension: ext.clone(),
        content,
    };
    if prefix.is_empty() {
        return Err(ImportError::EmptyFile);
    }
    if prefix.starts_with(ZIP_MAGIC) || prefix.starts_with(ZIP_EMPTY) {
        if named_text {
            return Err(mismatch("a zip archive (an .xlsx workbook?)"));
        }
        return Ok(FileKind::Xlsx);
    }
    if prefix.starts_with(OLE_MAGIC) {
        return Err(if matches!(ext.as_str(), "xlsx" | "xlsm") {
            ImportError::EncryptedXlsx
        } else {
            ImportError::LegacyXls
        });
    }
    const BINARY_MAGIC: &[&[u8]] = &[
        b"%PDF",
        b"\x89PNG",
        b"\xFF\xD8\xFF",
        b"GIF8",
        b"\x1F\x8B",
        b"Rar!",
        b"7z\xBC\xAF",
        b"\x7FELF",
    ];
    let utf16 = prefix.starts_with(b"\xFF\xFE") || prefix.starts_with(b"\xFE\xFF");
    if BINARY_MAGIC.iter().any(|m| prefix.starts_with(m)) && !utf16 {
        return Err(ImportError::Binary);
    }
    if !utf16 && looks_binary(prefix) {
        return Err(ImportError::Binary);
    }
    if named_sheet {
        return Err(mismatch("text (a CSV file?), not a workbook"));
    }
    Ok(FileKind::Csv)
}

/// NUL bytes, or many control characters other than tab, CR, LF, FF and ESC, mean binary.
fn looks_binary(prefix: &[u8]) -> bool {
    if prefix.contains(&0) {
        return true;
    }
    let controls = prefix
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B))
        .count();
    controls * 20 > prefix.len().max(20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decides_and_names_must_agree() {
        assert_eq!(sniff(b"PK\x03\x04rest", "a.xlsx").unwrap(), FileKind::Xlsx);
        assert_eq!(sniff(b"PK\x03\x04rest", "upload").unwrap(), FileKind::Xlsx);
        assert_eq!(
            sniff("姓名,手机\n".as_bytes(), "a.CSV").unwrap(),
            FileKind::Csv
        );
        assert_eq!(sniff(b"a;b\n", "list.txt").unwrap(), FileKind::Csv);
        assert_eq!(
            sniff(b"\xFF\xFEa\x00,\x00", "u.csv").unwrap(),
            FileKind::Csv
        );
        let codes: Vec<&str> = [
            (b"PK\x03\x04".as_slice(), "a.csv"),
            (b"name,phone\n".as_slice(), "a.xlsx"),
            (b"name\x00phone".as_slice(), "a.csv"),
            (b"%PDF-1.7".as_slice(), "a.csv"),
            (OLE_MAGIC, "old.xls"),
            (OLE_MAGIC, "locked.xlsx"),
            (b"".as_slice(), "a.csv"),
        ]
        .iter()
        .map(|(bytes, name)| sniff(bytes, name).unwrap_err().code())
        .collect();
        assert_eq!(
            codes,
            [
                "name_mismatch",
                "name_mismatch",
                "binary_file",
                "binary_file",
                "legacy_xls",
                "encrypted_xlsx",
                "empty_file"
            ]
        );
    }
}
