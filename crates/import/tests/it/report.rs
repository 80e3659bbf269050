use encoding_rs::{GB18030, GBK};
use leadline_import::{ErrorReport, FileKind, Mapping, ReadOptions, SourceInfo, open_reader};

use crate::{good, read_all, read_ok, s};

/// Imports `bytes` as a person would and writes every rejected row to a report.
fn import_with_report(bytes: &[u8], name: &str) -> (SourceInfo, Vec<u8>, u64, u64) {
    let mut reader = open_reader(
        std::io::Cursor::new(bytes.to_vec()),
        name,
        &ReadOptions::default(),
    )
    .unwrap();
    let info = reader.info().clone();
    let mapping = Mapping::auto(&info.headers, &[]);
    let mut report = ErrorReport::new(Vec::new(), &info.report_format()).unwrap();
    let mut imported = 0;
    while let Some(row) = reader.next_row().unwrap() {
        match row.and_then(|r| mapping.parse_row(&r, &[])) {
            Ok(_) => imported += 1,
            Err(bad) => report.write(&bad, &[]).unwrap(),
        }
    }
    let rows = report.rows();
    (info, report.finish().unwrap(), imported, rows)
}

const SOURCE: &str = "姓名;手机;城市\r\n\
                      王小明;13800138000;北京\r\n\
                      ;13900139000;上海\r\n\
                      李娜;12345;=HYPERLINK(\"x\")\r\n\
                      赵六;13700137000;深圳\r\n\
                      坏;\"未闭合;广州\r\n";

#[test]
fn a_gbk_file_gets_a_gbk_report_readable_by_the_reader() {
    let bytes = GBK.encode(SOURCE).0.into_owned();
    let (info, report, imported, bad) = import_with_report(&bytes, "客户.csv");
    assert_eq!(info.encoding, Some("gb18030"));
    assert_eq!((imported, bad), (2, 3));
    // The report is GBK bytes (no BOM, since the source had none), with the source's `;`.
    assert!(std::str::from_utf8(&report).is_err());
    let text = GB18030.decode_without_bom_handling(&report).0.into_owned();
    assert!(text.starts_with("姓名;手机;城市;错误原因\r\n"), "{text}");
    // And it reads back as a CSV of the same shape, with the reason column.
    let (back_info, rows) = read_ok(&report, "错误报告.csv");
    assert_eq!(back_info.encoding, Some("gb18030"));
    assert_eq!(back_info.delimiter, Some(b';'));
    assert_eq!(back_info.headers, s(&["姓名", "手机", "城市", "错误原因"]));
    let rows = good(&rows);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0][..3], s(&["", "13900139000", "上海"]));
    assert!(
        rows[0][3].contains("第 3 行") && rows[0][3].contains("姓名必填"),
        "{}",
        rows[0][3]
    );
    // The formula is neutralised in the report…
    assert_eq!(rows[1][2], "'=HYPERLINK(\"x\")");
    assert!(rows[1][3].contains("电话号码无效"));
    // One language only: no English beside the Chinese.
    for row in &rows {
        assert!(!row[3].contains("row "), "{}", row[3]);
    }
    // …and the line with an unclosed quote comes back as it splits.
    assert_eq!(rows[2][..2], s(&["坏", "未闭合;广州"]));
    assert!(rows[2][3].contains("引号没有闭合"));
    // Re-importing the corrected report: the reason column is ignored, the apostrophe dropped.
    let mapping = Mapping::auto(&back_info.headers, &[]);
    let fixed = leadline_import::SourceRow {
        number: 2,
        cells: s(&["李娜", "13900139000", "'=HYPERLINK(\"x\")", "…"]),
    };
    let lead = mapping.parse_row(&fixed, &[]).unwrap();
    assert_eq!(lead.fields.city.as_deref(), Some("=HYPERLINK(\"x\")"));
}

#[test]
fn a_utf8_bom_file_keeps_its_bom_and_a_utf16_file_stays_utf16() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(SOURCE.as_bytes());
    let (_, report, _, bad) = import_with_report(&bytes, "a.csv");
    assert_eq!(bad, 3);
    assert!(report.starts_with("\u{FEFF}姓名;手机;城市;".as_bytes()));

    let mut utf16 = b"\xFF\xFE".to_vec();
    utf16.extend(
        SOURCE
            .replace(';', "\t")
            .encode_utf16()
            .flat_map(u16::to_le_bytes),
    );
    let (info, report, _, bad) = import_with_report(&utf16, "a.txt");
    assert_eq!(info.encoding, Some("UTF-16LE"));
    assert_eq!(bad, 3);
    assert!(report.starts_with(b"\xFF\xFE"));
    let (back, rows) = read_ok(&report, "report.txt");
    assert_eq!(back.encoding, Some("UTF-16LE"));
    assert_eq!(back.delimiter, Some(b'\t'));
    assert_eq!(good(&rows).len(), 3);
}

#[test]
fn an_xlsx_file_gets_an_xlsx_report() {
    let book = crate::xlsx::workbook();
    let opts = ReadOptions {
        limits: leadline_import::Limits {
            max_field_chars: 40,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut reader = open_reader(std::io::Cursor::new(book), "a.xlsx", &opts).unwrap();
    let info = reader.info().clone();
    let mut report = ErrorReport::new(Vec::new(), &info.report_format()).unwrap();
    assert_eq!(report.file_type().0, "xlsx");
    while let Some(row) = reader.next_row().unwrap() {
        if let Err(bad) = row {
            report.write(&bad, &[]).unwrap();
        }
    }
    report
        .write_row(&s(&["王小明", "13800138000"]), "重复 / duplicate")
        .unwrap();
    let bytes = report.finish().unwrap();
    let (back, rows) = read_all(&bytes, "errors.xlsx", &ReadOptions::default()).unwrap();
    assert_eq!(back.kind, FileKind::Xlsx);
    assert_eq!(back.headers.last().unwrap(), "错误原因");
    let rows = good(&rows);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][0], "长".repeat(40));
    assert!(rows[0][6].contains("内容过长"));
    assert_eq!(rows[1][..2], s(&["王小明", "13800138000"]));
    assert_eq!(rows[1][6], "重复 / duplicate");
}

#[test]
fn an_english_report_is_in_english_only() {
    let mut reader = open_reader(
        std::io::Cursor::new(SOURCE.as_bytes().to_vec()),
        "a.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    let info = reader.info().clone();
    let mapping = Mapping::auto(&info.headers, &[]);
    let mut report = ErrorReport::in_language(Vec::new(), &info.report_format(), true).unwrap();
    while let Some(row) = reader.next_row().unwrap() {
        if let Err(bad) = row.and_then(|r| mapping.parse_row(&r, &[])) {
            report.write(&bad, &[]).unwrap();
        }
    }
    let bytes = report.finish().unwrap();
    let (back, rows) = read_ok(&bytes, "errors.csv");
    assert_eq!(back.headers.last().unwrap(), "Error");
    let rows = good(&rows);
    assert_eq!(rows[0][3], "row 3: name: required");
    assert_eq!(rows[1][3], "row 4: phone: not a valid phone number");
    for row in &rows {
        assert!(!row[3].contains("行"), "{}", row[3]);
    }
}

#[test]
fn the_report_format_can_be_stored() {
    let (info, _) = read_ok(GBK.encode(SOURCE).0.as_ref(), "a.csv");
    let format = info.report_format();
    let json = serde_json::to_string(&format).unwrap();
    let back: leadline_import::ReportFormat = serde_json::from_str(&json).unwrap();
    assert_eq!(back, format);
    assert_eq!(back.encoding, "gb18030");
    assert_eq!(back.delimiter, b';');
}
