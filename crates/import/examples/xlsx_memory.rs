//! Peak memory of reading an .xlsx whose one cell holds 450 MiB of spaces, padded with 6 MB of
//! incompressible bytes so that it passes the unpacked-size and ratio checks (issue 21):
//!
//! ```text
//! cargo run -p leadline-import --example xlsx_memory -- write /tmp/padded.xlsx
//! /usr/bin/time -v cargo run -p leadline-import --example xlsx_memory -- read /tmp/padded.xlsx
//! ```
//! `read` prints the outcome and the process's peak resident memory (VmHWM).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use leadline_import::{ReadOptions, open};

fn write(path: &Path) -> std::io::Result<()> {
    let mut zip = zip::ZipWriter::new(BufWriter::new(File::create(path)?));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let parts = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>"#.to_string(),
        ),
        (
            "_rels/.rels",
            format!(r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rels}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#),
        ),
        (
            "xl/workbook.xml",
            format!(r#"<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="{rels}"><sheets><sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>"#),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            format!(r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rels}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#),
        ),
    ];
    for (name, text) in parts {
        zip.start_file(name, deflated)?;
        zip.write_all(text.as_bytes())?;
    }
    zip.start_file("xl/worksheets/sheet1.xml", deflated)?;
    zip.write_all(br#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c><c r="B1" t="inlineStr"><is><t>phone</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>a</t></is></c><c r="B2" t="inlineStr"><is><t xml:space="preserve">"#)?;
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..450 {
        zip.write_all(&spaces)?;
    }
    zip.write_all(b"</t></is></c></row></sheetData></worksheet>")?;
    // 6 MB that does not compress (a picture, say), so that 450 MiB is under 100× the file.
    zip.start_file("xl/media/image1.bin", stored)?;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut noise = Vec::with_capacity(6_000_000);
    while noise.len() < 6_000_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.extend_from_slice(&x.to_le_bytes());
    }
    zip.write_all(&noise)?;
    zip.finish()?.flush()
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: unknown")
        .to_string()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(cmd), Some(path)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: xlsx_memory write|read <path>");
        std::process::exit(2);
    };
    let path = Path::new(path);
    if cmd == "write" {
        write(path).expect("write the workbook");
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        println!("wrote {} ({size} bytes)", path.display());
        return;
    }
    let outcome = open(path, &ReadOptions::default()).and_then(|mut reader| {
        let mut rows = 0;
        while reader.next_row()?.is_some() {
            rows += 1;
        }
        Ok(rows)
    });
    match outcome {
        Ok(rows) => println!("read {rows} rows"),
        Err(e) => println!("refused: {} ({e})", e.code()),
    }
    println!("{}", peak_rss());
}
