//! Throughput check of the readers and exporters (not a test).
//!
//! ```text
//! cargo run --release -p leadline-import --example read_speed -- gen  /tmp/leads.csv 1000000
//! cargo run --release -p leadline-import --example read_speed -- read /tmp/leads.csv
//! cargo run --release -p leadline-import --example read_speed -- export-csv 1000000
//! cargo run --release -p leadline-import --example read_speed -- export-xlsx /tmp/leads.xlsx 1000000
//! cargo run --release -p leadline-import --example read_speed -- read /tmp/leads.xlsx
//! ```
//! Each step runs in its own process so that its peak memory (VmHWM) is its own.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use leadline_import::{CsvExport, ExportEncoding, Mapping, ReadOptions, XlsxExport, open};

const HEADER: [&str; 8] = [
    "姓名", "手机", "公司", "城市", "来源", "标签", "意向", "备注",
];
const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"];
const CITIES: &[&str] = &[
    "北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京",
];

fn row(i: u64) -> [String; 8] {
    [
        format!("{}小{}", SURNAMES[(i % 10) as usize], i % 1000),
        format!("13{:09}", i),
        format!("星河科技{}有限公司", i % 5000),
        CITIES[(i % 8) as usize].to_string(),
        "展会".to_string(),
        if i.is_multiple_of(3) {
            "VIP,老客户"
        } else {
            "新客户"
        }
        .to_string(),
        if i.is_multiple_of(2) { "有意向" } else { "" }.to_string(),
        if i.is_multiple_of(7) {
            "客户说\"下周再打\",\n留言两行".to_string()
        } else {
            "无".to_string()
        },
    ]
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn report(what: &str, rows: u64, started: Instant) {
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{what}: {rows} rows in {secs:.2} s = {:.0} rows/s; peak RSS {:.0} MB",
        rows as f64 / secs,
        peak_rss_mb()
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = |i: usize| -> u64 {
        args.get(i)
            .and_then(|s| s.parse().ok())
            .unwrap_or(1_000_000)
    };
    match args.first().map(String::as_str) {
        Some("gen") => {
            let path = &args[1];
            let mut out = BufWriter::new(File::create(path)?);
            let mut csv = CsvExport::new(&mut out, ExportEncoding::Utf8Bom)?;
            csv.write_header(&HEADER)?;
            for i in 0..n(2) {
                csv.write_row(&row(i))?;
            }
            csv.finish()?;
            out.flush()?;
            let size = std::fs::metadata(path)?.len();
            println!("wrote {path}: {:.0} MB", size as f64 / 1e6);
        }
        Some("read") => {
            let path = Path::new(&args[1]);
            let started = Instant::now();
            let mut reader = open(path, &ReadOptions::default())?;
            let mapping = Mapping::auto(&reader.info().headers, &[]);
            let (mut good, mut bad, mut phones) = (0u64, 0u64, 0usize);
            while let Some(r) = reader.next_row()? {
                match r.and_then(|r| mapping.to_draft(&r, &[])) {
                    Ok(d) => {
                        good += 1;
                        phones += d.draft.phones.len();
                    }
                    Err(_) => bad += 1,
                }
            }
            assert_eq!(phones as u64, good);
            report(
                &format!("read + map {} ({good} good, {bad} bad)", path.display()),
                good + bad,
                started,
            );
            // The domain's checks on top (phone parsing dominates), on a sample.
            let started = Instant::now();
            let mut reader = open(path, &ReadOptions::default())?;
            let mut checked = 0;
            while let Some(r) = reader.next_row()? {
                let _ = r.and_then(|r| mapping.parse_row(&r, &[]));
                checked += 1;
                if checked == 200_000 {
                    break;
                }
            }
            report("read + map + LeadFields::parse", checked, started);
        }
        Some("phones") => {
            let started = Instant::now();
            let mut valid = 0u64;
            for i in 0..n(1) {
                let raw = format!("13{:09}", i * 7919 % 1_000_000_000);
                valid += u64::from(leadline_domain::PhoneNumber::parse(&raw).is_ok());
            }
            report(
                &format!("domain PhoneNumber::parse ({valid} valid)"),
                n(1),
                started,
            );
        }
        Some("export-csv") => {
            let rows: Vec<[String; 8]> = (0..1000).map(row).collect();
            for enc in [ExportEncoding::Utf8Bom, ExportEncoding::Gbk] {
                let started = Instant::now();
                let mut csv = CsvExport::new(std::io::sink(), enc)?;
                csv.write_header(&HEADER)?;
                for i in 0..n(1) {
                    csv.write_row(&rows[(i % 1000) as usize])?;
                }
                csv.finish()?;
                report(&format!("export CSV {enc:?}"), n(1), started);
            }
        }
        Some("export-xlsx") => {
            let rows: Vec<[String; 8]> = (0..1000).map(row).collect();
            let started = Instant::now();
            let out = BufWriter::new(File::create(&args[1])?);
            let mut xlsx = XlsxExport::new(out, "线索")?;
            xlsx.write_header(&HEADER)?;
            for i in 0..n(2) {
                xlsx.write_row(&rows[(i % 1000) as usize])?;
            }
            xlsx.finish()?.flush()?;
            report("export xlsx", n(2), started);
        }
        _ => eprintln!(
            "usage: read_speed gen PATH [ROWS] | read PATH | export-csv [ROWS] | export-xlsx PATH [ROWS]"
        ),
    }
    Ok(())
}
