//! Each kind of file offices produce (GBK, BOM and tab CSV, .xlsx with numeric phones), and
//! files that lie about their kind, overflow, or unpack to far more than they are.

use leadline_engine::import_run::{self, Assign};
use leadline_store::imports::OnDuplicate;

use super::{Fixture, counts, lead_by_phone, scalar};

fn gbk(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
}

#[tokio::test]
async fn a_gbk_csv_with_semicolons_imports_and_its_refused_rows_come_back_in_gbk() {
    let f = Fixture::new().await;
    let text = "姓名;手机;公司;城市\r\n\
                张三;13800138000;星河科技有限公司;上海\r\n\
                李四;139 0013 9000;\"云帆;贸易\";北京\r\n\
                ;13700137000;无名公司;广州\r\n\
                王五;12345;坏号码公司;深圳\r\n";
    let path = f.file("客户名单.csv", &gbk(text));
    let job = f.import(&path, OnDuplicate::Skip, Assign::Pool).await;
    assert_eq!(job.status, "done");
    assert_eq!(job.rows_done, 4);
    assert_eq!(counts(&job), [2, 0, 0, 0, 2]);
    let (name, company, city, owner) = lead_by_phone(f.db(), "+8613800138000").await.unwrap();
    assert_eq!(
        (name.as_str(), company.as_deref(), city.as_deref(), owner),
        ("张三", Some("星河科技有限公司"), Some("上海"), None)
    );
    assert_eq!(
        lead_by_phone(f.db(), "+8613900139000")
            .await
            .unwrap()
            .1
            .as_deref(),
        Some("云帆;贸易")
    );
    // Refused rows stored nothing.
    assert!(lead_by_phone(f.db(), "+8613700137000").await.is_none());
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 2);

    let (bytes, content_type, name) = import_run::error_report(f.db(), &job, false).await.unwrap();
    assert_eq!(name, "客户名单.errors.csv");
    assert!(content_type.contains("csv"), "{content_type}");
    let (report, _, bad) = encoding_rs::GB18030.decode(&bytes);
    assert!(!bad, "the report is in the file's own (GBK) encoding");
    assert!(std::str::from_utf8(&bytes).is_err(), "not UTF-8: GBK bytes");
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 3, "{report}");
    assert!(lines[0].starts_with("姓名;手机;公司;城市;"), "{report}");
    assert!(
        lines[1].starts_with(";13700137000;无名公司;广州;"),
        "{report}"
    );
    assert!(
        lines[1].contains("姓名") && lines[1].contains("必填"),
        "{report}"
    );
    assert!(
        lines[2].starts_with("王五;12345;坏号码公司;深圳;"),
        "{report}"
    );
    assert!(lines[2].contains("号码无效"), "{report}");
}

#[tokio::test]
async fn a_bom_csv_with_tabs_and_quoted_newlines_imports_whole_rows() {
    let f = Fixture::new().await;
    let text = "\u{FEFF}name\tphone\tcompany\ttags\n\
                Alice\t13800138001\t\"Acme\nEast branch\"\tvip，新客户\n\
                Bob\t+86 139-0013-9001\tBeta\t\n\
                \"Unclosed\t13800138002\tGamma\t\n";
    let path = f.file("bom.csv", text.as_bytes());
    let job = f.import(&path, OnDuplicate::Skip, Assign::Pool).await;
    assert_eq!(job.status, "done");
    // The unclosed quote is refused (never half a row), the two good rows imported.
    assert_eq!(job.imported, 2, "{job:?}");
    assert!(job.failed >= 1, "{job:?}");
    let (name, company, ..) = lead_by_phone(f.db(), "+8613800138001").await.unwrap();
    assert_eq!(name, "Alice");
    assert_eq!(company.as_deref(), Some("Acme\nEast branch"));
    assert_eq!(
        scalar(f.db(), "SELECT COUNT(*) FROM lead_tags").await,
        2,
        "tags split on the Chinese comma"
    );
    assert!(lead_by_phone(f.db(), "+8613800138002").await.is_none());
    let (bytes, _, _) = import_run::error_report(f.db(), &job, false).await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM kept in the report");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.starts_with("name\tphone\tcompany\ttags\t"), "{text}");
}

/// Writes one cell at (row, column).
type Cell<'a> = &'a dyn Fn(&mut rust_xlsxwriter::Worksheet, u32, u16);

fn xlsx(rows: &[&[Cell]]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("客户").unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            cell(ws, r as u32, c as u16);
        }
    }
    wb.save_to_buffer().unwrap()
}

#[tokio::test]
async fn an_xlsx_with_phones_typed_as_numbers_keeps_every_digit() {
    let f = Fixture::new().await;
    let s = |v: &'static str| {
        move |ws: &mut rust_xlsxwriter::Worksheet, r: u32, c: u16| {
            ws.write_string(r, c, v).unwrap();
        }
    };
    let n = |v: f64| {
        move |ws: &mut rust_xlsxwriter::Worksheet, r: u32, c: u16| {
            ws.write_number(r, c, v).unwrap();
        }
    };
    let (h1, h2, h3) = (s("姓名"), s("手机号码"), s("单位"));
    let (a1, a2, a3) = (s("赵六"), n(13_800_138_003.0), s("宏图集团"));
    let (b1, b2, b3) = (s("钱七"), n(8_613_900_139_003.0), s("远景公司"));
    let (c1, c2, c3) = (s("孙八"), n(12345.0), s(""));
    let bytes = xlsx(&[
        &[&h1, &h2, &h3],
        &[&a1, &a2, &a3],
        &[&b1, &b2, &b3],
        &[&c1, &c2, &c3],
    ]);
    let path = f.file("名单.xlsx", &bytes);
    let job = f.import(&path, OnDuplicate::Skip, Assign::Pool).await;
    assert_eq!(counts(&job), [2, 0, 0, 0, 1], "{job:?}");
    assert_eq!(
        lead_by_phone(f.db(), "+8613800138003").await.unwrap().0,
        "赵六"
    );
    assert_eq!(
        lead_by_phone(f.db(), "+8613900139003").await.unwrap().0,
        "钱七",
        "86 before a number typed as a number is the country code"
    );
    let (bytes, content_type, name) = import_run::error_report(f.db(), &job, false).await.unwrap();
    assert_eq!(name, "名单.errors.xlsx");
    assert!(content_type.contains("spreadsheetml"));
    assert!(bytes.starts_with(b"PK"));
}

#[tokio::test]
async fn files_that_lie_or_overflow_get_clear_errors() {
    let f = Fixture::new().await;
    // Text named .xlsx.
    let fake = f.file("fake.xlsx", "姓名,手机\n甲,13800000001\n".as_bytes());
    let err = import_run::preview(&fake, "fake.xlsx", None, None, &[], None).unwrap_err();
    assert_eq!(err.code(), "name_mismatch");
    // A PDF named .csv.
    let pdf = f.file("list.csv", b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n");
    let err = import_run::preview(&pdf, "list.csv", None, None, &[], None).unwrap_err();
    assert_eq!(err.code(), "binary_file");
    // An unknown encoding asked for.
    let ok = f.file("ok.csv", "姓名,手机\n甲,13800000001\n".as_bytes());
    let err = import_run::preview(&ok, "ok.csv", Some("klingon"), None, &[], None).unwrap_err();
    assert_eq!(err.code(), "unsupported_encoding");
    // A single huge cell rejects its row, not the file.
    let huge = format!(
        "姓名,手机,备注\n甲,13800000001,{}\n乙,13800000002,短\n",
        "长".repeat(20_000)
    );
    let path = f.file("huge.csv", huge.as_bytes());
    let job = f.import(&path, OnDuplicate::Skip, Assign::Pool).await;
    assert_eq!(counts(&job), [1, 0, 0, 0, 1], "{job:?}");
    assert!(lead_by_phone(f.db(), "+8613800000001").await.is_none());
}

#[tokio::test]
async fn a_zip_bomb_named_xlsx_is_refused() {
    let f = Fixture::new().await;
    // A real workbook whose sheet is padded with 40 MB of spaces (over 100× its size): tiny compressed, huge unpacked.
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file("[Content_Types].xml", opts).unwrap();
        zip.write_all(br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#)
            .unwrap();
        zip.start_file("xl/workbook.xml", opts).unwrap();
        zip.write_all(b"<workbook/>").unwrap();
        zip.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..40 {
            zip.write_all(&chunk).unwrap();
        }
        zip.finish().unwrap();
    }
    let path = f.file("bomb.xlsx", buf.get_ref());
    let err = import_run::preview(&path, "bomb.xlsx", None, None, &[], None).unwrap_err();
    assert_eq!(err.code(), "zip_bomb", "{err}");
}
