use encoding_rs::GBK;
use leadline_import::{CsvExport, ExportEncoding, ReadOptions, XlsxExport};

use crate::{good, read_all, read_ok, s};

const HEADER: [&str; 4] = ["姓名", "手机", "公司", "备注"];

fn rows() -> Vec<[&'static str; 4]> {
    vec![
        [
            "王小明",
            "+8613800138000",
            "星河科技, 北京",
            "第一行\n第二行",
        ],
        ["=cmd|' /C calc'!A0", "-5", "@SUM(A1)", "\t制表符"],
        ["李 \"娜\"", "13900139000", "😀 表情", "𠀀"],
    ]
}

#[test]
fn utf8_csv_has_a_bom_and_neutralised_formulas() {
    let mut csv = CsvExport::new(Vec::new(), ExportEncoding::Utf8Bom).unwrap();
    csv.write_header(&HEADER).unwrap();
    for r in rows() {
        csv.write_row(&r).unwrap();
    }
    assert_eq!(csv.rows(), 4);
    let bytes = csv.finish().unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF\xE5\xA7\x93\xE5\x90\x8D,"));
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert!(
        text.contains("\r\n'=cmd|' /C calc'!A0,-5,'@SUM(A1),'\t制表符\r\n"),
        "{text}"
    );
    assert!(text.contains("\"星河科技, 北京\",\"第一行\n第二行\""));
    assert!(text.contains("\"李 \"\"娜\"\"\""));
    // Reading it back gives the neutralised text (the mapping removes the apostrophes); a
    // phone or a number is written as it is.
    let (info, back) = read_ok(&bytes, "export.csv");
    assert!(info.bom);
    let back = good(&back);
    assert_eq!(
        back[0],
        s(&[
            "王小明",
            "+8613800138000",
            "星河科技, 北京",
            "第一行\n第二行"
        ])
    );
    assert_eq!(back[1][0], "'=cmd|' /C calc'!A0");
    assert_eq!(back[2], s(&["李 \"娜\"", "13900139000", "😀 表情", "𠀀"]));
}

#[test]
fn gbk_csv_writes_references_for_what_gbk_lacks() {
    let mut csv = CsvExport::new(Vec::new(), ExportEncoding::Gbk).unwrap();
    csv.write_header(&HEADER).unwrap();
    for r in rows() {
        csv.write_row(&r).unwrap();
    }
    let bytes = csv.finish().unwrap();
    assert!(
        bytes.starts_with(&GBK.encode("姓名,手机").0),
        "no BOM, GBK bytes"
    );
    let (text, _, errors) = GBK.decode(&bytes);
    assert!(!errors);
    assert!(text.contains("&#128512; 表情"), "{text}");
    assert!(text.contains("&#131072;"), "{text}");
    let (info, back) = read_ok(&bytes, "export.csv");
    assert_eq!(info.encoding, Some("gb18030"));
    assert_eq!(good(&back)[0][2], "星河科技, 北京");

    // GB18030 keeps them.
    let mut csv = CsvExport::new(Vec::new(), ExportEncoding::Gb18030).unwrap();
    csv.write_row(&rows()[2]).unwrap();
    let bytes = csv.finish().unwrap();
    let opts = ReadOptions {
        has_header: false,
        ..Default::default()
    };
    let (_, back) = read_all(&bytes, "a.csv", &opts).unwrap();
    assert_eq!(good(&back)[0][2], "😀 表情");
}

#[test]
fn xlsx_export_reads_back_as_text() {
    let mut xlsx = XlsxExport::new(Vec::new(), "线索导出").unwrap();
    xlsx.write_header(&HEADER).unwrap();
    for r in rows() {
        xlsx.write_row(&r).unwrap();
    }
    xlsx.write_row(&["赵六", "13700137000"]).unwrap();
    let bytes = xlsx.finish().unwrap();
    let (info, back) = read_ok(&bytes, "export.xlsx");
    assert_eq!(info.sheet.as_deref(), Some("线索导出"));
    assert_eq!(info.headers, s(&HEADER));
    let back = good(&back);
    assert_eq!(back.len(), 4);
    assert_eq!(back[0][1], "+8613800138000");
    assert_eq!(
        back[1],
        s(&["'=cmd|' /C calc'!A0", "-5", "'@SUM(A1)", "'\t制表符"])
    );
    assert_eq!(back[3], s(&["赵六", "13700137000", "", ""]));

    let mut xlsx = XlsxExport::new(Vec::new(), "x").unwrap();
    let err = xlsx.write_row(&["x".repeat(40_000)]).unwrap_err();
    assert_eq!(err.code(), "cell_too_long");
}
