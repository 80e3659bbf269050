use encoding_rs::{GBK, UTF_8};
use leadline_import::{FileKind, ImportError, Limits, ReadOptions};

use crate::{bad, good, read_all, read_ok, s};

const TABLE: &str =
    "姓名,手机,公司\r\n王小明,13800138000,星河科技\r\n李娜,13900139000,\"北京, 朝阳\"\r\n";

#[test]
fn gbk_csv_is_detected_and_decoded() {
    let bytes = GBK.encode(TABLE).0.into_owned();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "fixture really is GBK"
    );
    let (info, rows) = read_ok(&bytes, "客户.csv");
    assert_eq!(info.kind, FileKind::Csv);
    assert_eq!(info.encoding, Some("gb18030"));
    assert!(info.encoding_detected && !info.bom);
    assert_eq!(info.headers, s(&["姓名", "手机", "公司"]));
    assert_eq!(
        good(&rows),
        [
            s(&["王小明", "13800138000", "星河科技"]),
            s(&["李娜", "13900139000", "北京, 朝阳"])
        ]
    );
    assert_eq!(rows[0].as_ref().unwrap().number, 2);
}

#[test]
fn encoding_can_be_overridden() {
    // Mostly-ASCII GBK whose Chinese would be mis-detected if it came late: force it.
    let bytes = GBK.encode(TABLE).0.into_owned();
    let opts = ReadOptions {
        encoding: Some("gbk".into()),
        ..Default::default()
    };
    let (info, rows) = read_all(&bytes, "a.csv", &opts).unwrap();
    assert_eq!(info.encoding, Some("GBK"));
    assert!(!info.encoding_detected);
    assert_eq!(good(&rows).len(), 2);
    // Forcing UTF-8 on GBK bytes: every row with Chinese is a bad_encoding error, not mojibake.
    let opts = ReadOptions {
        encoding: Some("utf-8".into()),
        has_header: false,
        ..Default::default()
    };
    let (_, rows) = read_all(&bytes, "a.csv", &opts).unwrap();
    assert!(bad(&rows).iter().all(|(_, code)| *code == "bad_encoding"));
    assert_eq!(bad(&rows).len(), 3);
    let err = read_all(
        &bytes,
        "a.csv",
        &ReadOptions {
            encoding: Some("ebcdic".into()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.code(), "unsupported_encoding");
}

#[test]
fn utf8_with_and_without_bom() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(TABLE.as_bytes());
    let (info, rows) = read_ok(&bytes, "a.csv");
    assert_eq!(info.encoding, Some("UTF-8"));
    assert!(info.bom);
    assert_eq!(
        info.headers[0], "姓名",
        "the BOM is not part of the first header"
    );
    assert_eq!(good(&rows).len(), 2);
    let (info, rows) = read_ok(TABLE.as_bytes(), "a.csv");
    assert!(!info.bom);
    assert_eq!(good(&rows).len(), 2);
}

#[test]
fn utf16_tab_separated_as_excel_saves_unicode_text() {
    let text = TABLE
        .replace(',', "\t")
        .replace("\"北京\t 朝阳\"", "北京 朝阳");
    let mut bytes = b"\xFF\xFE".to_vec();
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let (info, rows) = read_ok(&bytes, "unicode.txt");
    assert_eq!(info.encoding, Some("UTF-16LE"));
    assert_eq!(info.delimiter, Some(b'\t'));
    assert_eq!(good(&rows)[1], s(&["李娜", "13900139000", "北京 朝阳"]));
}

#[test]
fn semicolon_and_tab_are_detected() {
    let semi = "name;phone;note\nWang;13800138000;\"a,b\"\nLi;13900139000;c\n";
    let (info, rows) = read_ok(semi.as_bytes(), "eu.csv");
    assert_eq!(info.delimiter, Some(b';'));
    assert_eq!(good(&rows)[0], s(&["Wang", "13800138000", "a,b"]));
    let tab = "name\tphone\nWang\t13800138000\nLi\t139 0013 9000\n";
    let (info, rows) = read_ok(tab.as_bytes(), "a.tsv");
    assert_eq!(info.delimiter, Some(b'\t'));
    assert_eq!(good(&rows)[1], s(&["Li", "139 0013 9000"]));
    let opts = ReadOptions {
        delimiter: Some(b'|'),
        ..Default::default()
    };
    let (_, rows) = read_all(b"a|b\n1|2\n", "a.csv", &opts).unwrap();
    assert_eq!(good(&rows), [s(&["1", "2"])]);
}

#[test]
fn quoted_fields_with_embedded_newlines_and_quotes() {
    let csv = "姓名,备注\n王小明,\"第一行\n第二行\"\n\"李 \"\"娜\"\"\",\"x,y\"\n赵六,\n";
    let (_, rows) = read_ok(csv.as_bytes(), "a.csv");
    assert_eq!(
        good(&rows),
        [
            s(&["王小明", "第一行\n第二行"]),
            s(&["李 \"娜\"", "x,y"]),
            s(&["赵六", ""])
        ]
    );
    let numbers: Vec<u64> = rows.iter().map(|r| r.as_ref().unwrap().number).collect();
    assert_eq!(numbers, [2, 3, 4], "one number per record, not per line");
}

#[test]
fn broken_rows_among_good_ones() {
    let csv = "姓名,手机\n\
               好一,13800000001\n\
               \"坏\"引号,13800000002\n\
               好二,13800000003\n\
               多,13800000004,额外\n\
               少\n\
               好三,13800000005,,\n\
               \n\
               \"没闭合,13800000006\n\
               好四,13800000007\n";
    let (_, rows) = read_ok(csv.as_bytes(), "a.csv");
    assert_eq!(
        good(&rows),
        [
            s(&["好一", "13800000001"]),
            s(&["好二", "13800000003"]),
            s(&["好三", "13800000005"]),
            s(&["好四", "13800000007"])
        ]
    );
    assert_eq!(
        bad(&rows),
        [
            (3, "bad_quotes"),
            (5, "too_many_fields"),
            (6, "too_few_fields"),
            (9, "unterminated_quote")
        ]
    );
    let unterminated = rows[rows.len() - 2].as_ref().unwrap_err();
    assert_eq!(unterminated.cells, s(&["没闭合,13800000006"]));
}

#[test]
fn a_bad_byte_rejects_only_its_row() {
    let mut bytes = "姓名,手机\n王,1\n".as_bytes().to_vec();
    bytes.extend_from_slice(b"\xFF\xFE\xFD,2\n");
    bytes.extend_from_slice("李,3\n".as_bytes());
    // Forced UTF-8, so the detection does not switch to GB18030.
    let opts = ReadOptions {
        encoding: Some("utf-8".into()),
        ..Default::default()
    };
    let (_, rows) = read_all(&bytes, "a.csv", &opts).unwrap();
    assert_eq!(good(&rows), [s(&["王", "1"]), s(&["李", "3"])]);
    assert_eq!(bad(&rows), [(3, "bad_encoding")]);
}

#[test]
fn a_title_row_above_the_header_is_skipped() {
    let csv = "2024年展会客户名单,,\n\n姓名,手机,城市\n王,13800138000,北京\n";
    let (info, rows) = read_ok(csv.as_bytes(), "a.csv");
    assert_eq!(info.headers, s(&["姓名", "手机", "城市"]));
    assert_eq!(info.header_row, Some(3));
    assert_eq!(good(&rows), [s(&["王", "13800138000", "北京"])]);
}

#[test]
fn without_a_header_columns_are_numbered() {
    let opts = ReadOptions {
        has_header: false,
        ..Default::default()
    };
    let (info, rows) = read_all(b"Wang,138\nLi,139\n", "a.csv", &opts).unwrap();
    assert_eq!(info.headers, s(&["列1", "列2"]));
    assert_eq!(info.header_row, None);
    assert_eq!(good(&rows).len(), 2);
    assert_eq!(rows[0].as_ref().unwrap().number, 1);
}

#[test]
fn a_huge_field_is_a_row_error_not_a_memory_spike() {
    let mut csv = b"name,note\nok,1\nbig,\"".to_vec();
    csv.extend(std::iter::repeat_n(b'x', 3_000_000));
    csv.extend_from_slice(b"\"\nafter,2\n");
    let (_, rows) = read_ok(&csv, "a.csv");
    assert_eq!(good(&rows), [s(&["ok", "1"]), s(&["after", "2"])]);
    assert_eq!(bad(&rows), [(3, "field_too_long")]);
    let big = rows[1].as_ref().unwrap_err();
    assert_eq!(
        big.cells[1].chars().count(),
        Limits::default().max_field_chars
    );
}

#[test]
fn too_many_rows_stops_with_an_error() {
    let mut csv = String::from("a,b\n");
    for i in 0..20 {
        csv.push_str(&format!("{i},x\n"));
    }
    let limits = Limits {
        max_rows: 10,
        ..Default::default()
    };
    let opts = ReadOptions {
        limits,
        ..Default::default()
    };
    let err = read_all(csv.as_bytes(), "a.csv", &opts).unwrap_err();
    assert!(
        matches!(err, ImportError::TooManyRows { limit: 10 }),
        "{err}"
    );
    // Exactly at the limit is fine.
    let ten: String = csv.lines().take(11).map(|l| format!("{l}\n")).collect();
    assert_eq!(
        read_all(ten.as_bytes(), "a.csv", &opts).unwrap().1.len(),
        10
    );
}

#[test]
fn file_size_and_column_limits() {
    let opts = ReadOptions {
        limits: Limits {
            max_file_bytes: 10,
            max_columns: 3,
            ..Default::default()
        },
        ..Default::default()
    };
    let err = read_all(TABLE.as_bytes(), "a.csv", &opts).unwrap_err();
    assert_eq!(err.code(), "file_too_large");
    let opts = ReadOptions {
        limits: Limits {
            max_columns: 3,
            ..Default::default()
        },
        ..Default::default()
    };
    let err = read_all(b"a,b,c,d\n1,2,3,4\n", "a.csv", &opts).unwrap_err();
    assert_eq!(err.code(), "too_many_columns");
}

#[test]
fn files_that_are_not_what_their_name_says() {
    let err = read_all(TABLE.as_bytes(), "客户.xlsx", &ReadOptions::default()).unwrap_err();
    assert_eq!(err.code(), "name_mismatch");
    let err = read_all(b"PK\x03\x04junk", "客户.csv", &ReadOptions::default()).unwrap_err();
    assert_eq!(err.code(), "name_mismatch");
    let err = read_all(b"\x00\x01\x02binary", "a.csv", &ReadOptions::default()).unwrap_err();
    assert_eq!(err.code(), "binary_file");
    let err = read_all(b"", "a.csv", &ReadOptions::default()).unwrap_err();
    assert_eq!(err.code(), "empty_file");
    let err = read_all(b"\n\n,,\n", "a.csv", &ReadOptions::default()).unwrap_err();
    assert_eq!(err.code(), "empty_file");
}

#[test]
fn the_reader_can_be_sent_to_another_thread() {
    fn is_send<T: Send>(_: &T) {}
    let reader = leadline_import::open_reader(
        std::io::Cursor::new(UTF_8.encode(TABLE).0.into_owned()),
        "a.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    is_send(&reader);
}
