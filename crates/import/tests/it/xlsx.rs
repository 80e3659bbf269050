use std::io::{Cursor, Write};

use leadline_import::{FileKind, ImportError, Limits, ReadOptions};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use crate::{bad, good, read_all, read_ok, s};

/// Sheet "线索": header, a phone typed as a number, a date, a date-time, a float, a bool; a blank
/// row; an over-long cell. Sheet "第二页": another table. A hidden sheet "Hidden" comes first.
pub fn workbook() -> Vec<u8> {
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let hidden = wb.add_worksheet();
    hidden.set_name("Hidden").unwrap();
    hidden.write_string(0, 0, "secret").unwrap();
    hidden.set_hidden(true);
    let ws = wb.add_worksheet();
    ws.set_name("线索").unwrap();
    ws.set_active(true); // Excel never hides the active sheet, which is the first by default.
    for (c, h) in ["姓名", "手机", "拜访日期", "下次联系", "预算", "老客户"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "王小明").unwrap();
    ws.write_number(1, 1, 13800138000.0).unwrap();
    ws.write_datetime_with_format(1, 2, ExcelDateTime::from_ymd(2024, 3, 5).unwrap(), &date)
        .unwrap();
    ws.write_datetime_with_format(
        1,
        3,
        ExcelDateTime::parse_from_str("2024-03-06 14:30:00").unwrap(),
        &datetime,
    )
    .unwrap();
    ws.write_number(1, 4, 12000.5).unwrap();
    ws.write_boolean(1, 5, true).unwrap();
    // Row 3 left blank; row 4 sparse (missing cells are empty); a cell far right is ignored.
    ws.write_string(3, 0, "李娜").unwrap();
    ws.write_number(3, 1, 8613900139000.0).unwrap();
    ws.write_string(3, 20, "note beyond the header").unwrap();
    ws.write_string(4, 0, "长".repeat(50)).unwrap();
    let second = wb.add_worksheet();
    second.set_name("第二页").unwrap();
    second.write_string(0, 0, "name").unwrap();
    second.write_string(0, 1, "phone").unwrap();
    second.write_string(1, 0, "Second").unwrap();
    second.write_number(1, 1, 13700137000.0).unwrap();
    wb.save_to_buffer().unwrap()
}

#[test]
fn numbers_and_dates_come_out_as_people_typed_them() {
    let opts = ReadOptions {
        limits: Limits {
            max_field_chars: 40,
            ..Default::default()
        },
        ..Default::default()
    };
    let (info, rows) = read_all(&workbook(), "客户.xlsx", &opts).unwrap();
    assert_eq!(info.kind, FileKind::Xlsx);
    assert_eq!(info.sheets, s(&["Hidden", "线索", "第二页"]));
    assert_eq!(info.sheet.as_deref(), Some("线索"), "first visible sheet");
    assert_eq!(info.encoding, None);
    assert_eq!(
        info.headers,
        s(&["姓名", "手机", "拜访日期", "下次联系", "预算", "老客户"])
    );
    assert_eq!(
        good(&rows),
        [
            s(&[
                "王小明",
                "13800138000",
                "2024-03-05",
                "2024-03-06 14:30:00",
                "12000.5",
                "TRUE"
            ]),
            s(&["李娜", "8613900139000", "", "", "", ""])
        ]
    );
    let numbers: Vec<u64> = rows
        .iter()
        .map(|r| match r {
            Ok(r) => r.number,
            Err(e) => e.number,
        })
        .collect();
    assert_eq!(
        numbers,
        [2, 4, 5],
        "sheet row numbers; the blank row is skipped"
    );
    assert_eq!(bad(&rows), [(5, "field_too_long")]);
}

#[test]
fn a_sheet_is_chosen_by_name() {
    let opts = ReadOptions {
        sheet: Some(" 第二页 ".into()),
        ..Default::default()
    };
    let (info, rows) = read_all(&workbook(), "a.xlsx", &opts).unwrap();
    assert_eq!(info.sheet.as_deref(), Some("第二页"));
    assert_eq!(good(&rows), [s(&["Second", "13700137000"])]);
    let opts = ReadOptions {
        sheet: Some("nope".into()),
        ..Default::default()
    };
    match read_all(&workbook(), "a.xlsx", &opts).unwrap_err() {
        ImportError::SheetNotFound { available, .. } => assert_eq!(available.len(), 3),
        other => panic!("{other}"),
    }
}

fn zip_with(entries: &[(&str, &[u8])], big_zeros: usize) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        zip.start_file(*name, opts).unwrap();
        zip.write_all(data).unwrap();
    }
    if big_zeros > 0 {
        zip.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..big_zeros / chunk.len() {
            zip.write_all(&chunk).unwrap();
        }
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn a_zip_bomb_is_refused_before_unpacking() {
    // 48 MiB of zeros packs into a few tens of KiB.
    let bomb = zip_with(&[("[Content_Types].xml", b"<Types/>")], 48 << 20);
    assert!(bomb.len() < 1 << 20, "fixture is small: {}", bomb.len());
    let small = ReadOptions {
        limits: Limits {
            max_xlsx_uncompressed_bytes: 16 << 20,
            ..Default::default()
        },
        ..Default::default()
    };
    let err = read_all(&bomb, "bomb.xlsx", &small).unwrap_err();
    assert_eq!(err.code(), "zip_bomb", "{err}");
    // Under the default 512 MiB it is still refused: it unpacks to far more than 100× its size.
    let err = read_all(&bomb, "bomb.xlsx", &ReadOptions::default()).unwrap_err();
    assert_eq!(err.code(), "zip_bomb", "{err}");
}

#[test]
fn zips_that_are_not_workbooks_and_damaged_workbooks() {
    let not_xlsx = zip_with(&[("word/document.xml", b"<w:document/>")], 0);
    let err = read_all(&not_xlsx, "a.xlsx", &ReadOptions::default()).unwrap_err();
    assert_eq!(err.code(), "not_xlsx");
    let fake = zip_with(
        &[
            ("[Content_Types].xml", b"<Types/>"),
            ("xl/workbook.xml", b"not xml at all"),
        ],
        0,
    );
    let err = read_all(&fake, "a.xlsx", &ReadOptions::default()).unwrap_err();
    assert!(
        matches!(err.code(), "corrupt_xlsx" | "not_xlsx"),
        "{}: {err}",
        err.code()
    );
    // Cut off: the zip directory at the end is gone.
    let book = workbook();
    let err = read_all(&book[..book.len() / 2], "a.xlsx", &ReadOptions::default()).unwrap_err();
    assert_eq!(err.code(), "corrupt_xlsx", "{err}");
}

#[test]
fn a_damaged_sheet_returns_no_row_at_all() {
    // Flip bytes inside the compressed worksheet: the CRC check refuses the file before any row.
    let book = workbook();
    let mut archive = zip::ZipArchive::new(Cursor::new(book.clone())).unwrap();
    let entry = archive.by_name("xl/worksheets/sheet2.xml").unwrap();
    let start = entry.data_start().unwrap() as usize;
    let len = entry.compressed_size() as usize;
    drop(entry);
    let mut broken = book;
    for b in &mut broken[start + len / 2..start + len / 2 + 4] {
        *b ^= 0x55;
    }
    match read_all(&broken, "a.xlsx", &ReadOptions::default()) {
        Err(e) => assert!(matches!(e.code(), "corrupt_xlsx" | "io"), "{e}"),
        Ok((_, rows)) => panic!("read {} rows from a damaged sheet", rows.len()),
    }
}

#[test]
fn a_workbook_named_csv_is_refused_and_unnamed_is_sniffed() {
    let err = read_all(&workbook(), "leads.csv", &ReadOptions::default()).unwrap_err();
    assert_eq!(err.code(), "name_mismatch");
    let (info, _) = read_ok(&workbook(), "upload");
    assert_eq!(info.kind, FileKind::Xlsx);
}
