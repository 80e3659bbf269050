//! Property tests of the readers on generated input (a seeded generator, so failures repeat).
//!
//! The invariant the readers guarantee: they never panic, and every row they return `Ok` is a
//! complete record of the file — exactly as wide as the header, numbered in increasing order,
//! and (where the original is known) equal to the record that was written.

use std::io::Cursor;

use leadline_import::{Limits, ReadOptions, RowError, SourceRow, open_reader};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Reads everything it can; checks the invariants on whatever comes out.
fn read_checked(bytes: &[u8], name: &str, opts: &ReadOptions) -> Vec<Result<SourceRow, RowError>> {
    let Ok(mut reader) = open_reader(Cursor::new(bytes.to_vec()), name, opts) else {
        return Vec::new();
    };
    let width = reader.info().headers.len();
    assert!(width >= 1);
    let mut rows = Vec::new();
    let mut last = 0;
    while let Ok(Some(row)) = reader.next_row() {
        let number = match &row {
            Ok(r) => {
                assert_eq!(
                    r.cells.len(),
                    width,
                    "an Ok row is exactly as wide as the header"
                );
                r.number
            }
            Err(e) => e.number,
        };
        assert!(number > last, "row numbers increase: {number} after {last}");
        last = number;
        rows.push(row);
    }
    rows
}

const ALPHABET: &[u8] = b"\",;\t\n\r\n  ab1\xE4\xBD\xA0\xC4\xE3=+'#\x00\xFF";

fn random_bytes(rng: &mut StdRng, max_len: usize) -> Vec<u8> {
    let len = rng.random_range(0..max_len);
    (0..len)
        .map(|_| {
            if rng.random_bool(0.85) {
                ALPHABET[rng.random_range(0..ALPHABET.len())]
            } else {
                rng.random()
            }
        })
        .collect()
}

#[test]
fn arbitrary_bytes_never_panic_the_csv_reader() {
    let mut rng = StdRng::seed_from_u64(0x01ea_d11e);
    let small = ReadOptions {
        limits: Limits {
            max_field_chars: 16,
            max_columns: 8,
            max_rows: 50,
            ..Default::default()
        },
        ..Default::default()
    };
    for i in 0..3000 {
        let bytes = random_bytes(&mut rng, 600);
        let opts = if i % 2 == 0 {
            &small
        } else {
            &ReadOptions::default()
        };
        read_checked(&bytes, "fuzz.csv", opts);
        let utf16: Vec<u8> = b"\xFF\xFE".iter().copied().chain(bytes).collect();
        read_checked(&utf16, "fuzz.csv", opts);
    }
}

fn random_cell(rng: &mut StdRng) -> String {
    const PIECES: &[&str] = &[
        "王", "小明", "a", "1", ",", ";", "\"", "\n", "\r\n", " ", "=", "138", "😀", "\t",
    ];
    let n = rng.random_range(0..5);
    (0..n)
        .map(|_| PIECES[rng.random_range(0..PIECES.len())])
        .collect()
}

fn write_csv(table: &[Vec<String>], quote_all: bool) -> Vec<u8> {
    let mut out = String::new();
    for row in table {
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if quote_all || cell.contains([',', '"', '\n', '\r']) {
                out.push('"');
                out.push_str(&cell.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(cell);
            }
        }
        out.push_str("\r\n");
    }
    out.into_bytes()
}

#[test]
fn a_cut_off_file_never_yields_a_partial_row() {
    let mut rng = StdRng::seed_from_u64(42);
    let opts = ReadOptions {
        delimiter: Some(b','),
        encoding: Some("utf-8".into()),
        ..Default::default()
    };
    for round in 0..400 {
        let width = rng.random_range(2..6);
        let header: Vec<String> = (0..width).map(|i| format!("h{i}")).collect();
        let mut table = vec![header];
        for _ in 0..rng.random_range(1..12) {
            // A first cell that is never blank, so that no row is skipped as blank.
            let mut row = vec![format!("r{}", rng.random_range(0..1000))];
            row.extend((1..width).map(|_| random_cell(&mut rng)));
            table.push(row);
        }
        let quote_all = round % 2 == 0;
        let full = write_csv(&table, quote_all);
        let cut = rng.random_range(1..=full.len());
        let rows = read_checked(&full[..cut], "cut.csv", &opts);
        let complete = full[..cut].ends_with(b"\r\n") || full[..cut].ends_with(b"\r");
        let oks: Vec<&SourceRow> = rows.iter().filter_map(|r| r.as_ref().ok()).collect();
        for (i, row) in oks.iter().enumerate() {
            let original = &table[row.number as usize - 1];
            let last_of_cut_file = i + 1 == oks.len() && !complete;
            if !last_of_cut_file {
                assert_eq!(&row.cells, original, "round {round}: row {}", row.number);
            } else {
                // A last record cut in an unquoted field, right after a delimiter, or between
                // the quotes of a doubled `""` cannot be told from a shorter one: every other
                // cell is whole, and the last is a prefix of the original.
                let w = original.len();
                assert_eq!(row.cells[..w - 1], original[..w - 1], "round {round}");
                let last_cell = &row.cells[w - 1];
                assert!(
                    original[w - 1].starts_with(last_cell.as_str()),
                    "round {round}"
                );
            }
        }
        // Uncut, everything comes back.
        let rows = read_checked(&full, "full.csv", &opts);
        assert_eq!(rows.len(), table.len() - 1, "round {round}");
        for row in &rows {
            let row = row.as_ref().expect("a whole file has no bad row");
            assert_eq!(row.cells, table[row.number as usize - 1]);
        }
    }
}

#[test]
fn damaged_workbooks_never_panic_the_xlsx_reader() {
    let book = crate::xlsx::workbook();
    let mut rng = StdRng::seed_from_u64(7);
    let opts = ReadOptions::default();
    let mut opened = 0;
    for round in 0..300 {
        let mut bytes = book.clone();
        match round % 3 {
            // Flip a few bytes anywhere.
            0 => {
                for _ in 0..rng.random_range(1..6) {
                    let i = rng.random_range(0..bytes.len());
                    bytes[i] = rng.random();
                }
            }
            // Cut it off.
            1 => bytes.truncate(rng.random_range(4..book.len())),
            // Random bytes after a zip signature.
            _ => {
                bytes = b"PK\x03\x04".to_vec();
                bytes.extend(random_bytes(&mut rng, 2000));
            }
        }
        let rows = read_checked(&bytes, "fuzz.xlsx", &opts);
        opened += usize::from(!rows.is_empty());
    }
    assert!(
        opened > 0,
        "some damaged copies still open (bytes outside the sheets)"
    );
}
