//! A streaming CSV record parser over raw bytes.
//!
//! Records are split on the raw bytes and each field is decoded afterwards. That is exact for
//! UTF-8 and for every ASCII-compatible multi-byte encoding accepted here (GBK/GB18030, Big5,
//! Shift_JIS, EUC-KR): their non-first bytes are ≥ 0x30 (GB18030's four-byte digits) or ≥ 0x40, so
//! a quote (0x22), comma (0x2C), semicolon (0x3B), tab or newline byte is always that character.
//! UTF-16 is transcoded to UTF-8 before parsing. Decoding per field gives a per-row
//! [`RowErrorKind::BadEncoding`] instead of silently replaced characters.
//!
//! The parser is written here rather than taken from the `csv` crate because it must (1) keep no
//! more than a bounded amount of any record in memory (a 2 GB field is cut at the limit while the
//! rest is skipped), (2) tell an unterminated quote from a long quoted field and resume after it,
//! and (3) flag `"abc"def` instead of silently joining it.

use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

use encoding_rs::{Encoding, UTF_8};

use crate::{ImportError, RowErrorKind};

/// Anything a file can be read from.
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

pub(crate) enum Input {
    /// Bytes straight from the file; seekable, so an unterminated quote can be re-read.
    Plain(BufReader<Box<dyn ReadSeek>>),
    /// UTF-16 transcoded to UTF-8 on the fly.
    Transcoded(BufReader<Box<dyn Read + Send>>),
}

impl Input {
    fn buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Input::Plain(r) => r.fill_buf(),
            Input::Transcoded(r) => r.fill_buf(),
        }
    }

    fn consume(&mut self, n: usize) {
        match self {
            Input::Plain(r) => r.consume(n),
            Input::Transcoded(r) => r.consume(n),
        }
    }
}

/// One record as parsed, before the header's width is applied.
#[derive(Debug)]
pub(crate) struct RawRecord {
    pub number: u64,
    pub cells: Vec<String>,
    pub problem: Option<RowErrorKind>,
    /// More fields than could be kept (beyond `max_fields`), at least one of them non-empty.
    pub overflow: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    InQuoted,
    QuoteInQuoted,
}

pub(crate) struct CsvSource {
    input: Input,
    delim: u8,
    encoding: &'static Encoding,
    max_field_chars: usize,
    max_field_bytes: usize,
    max_fields: usize,
    record_no: u64,
    /// Offset of the next unread byte of `input` (in the transcoded stream for UTF-16).
    pos: u64,
    done: bool,
    skip_lf: bool,
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl CsvSource {
    /// `input` must be positioned at `pos` (just after any BOM).
    pub fn new(
        input: Input,
        pos: u64,
        delim: u8,
        encoding: &'static Encoding,
        max_field_chars: usize,
        max_fields: usize,
    ) -> CsvSource {
        CsvSource {
            input,
            delim,
            encoding,
            max_field_chars,
            max_field_bytes: max_field_chars.saturating_mul(4).saturating_add(4),
            max_fields,
            record_no: 0,
            pos,
            done: false,
            skip_lf: false,
            buf: Vec::with_capacity(1024),
            ends: Vec::with_capacity(64),
        }
    }

    /// The next record, or `None` at the end of the file. Never returns a record that the file
    /// does not complete: a quote open at the end of the file makes the record an error.
    pub fn next_record(&mut self) -> Result<Option<RawRecord>, ImportError> {
        if self.done {
            return Ok(None);
        }
        self.buf.clear();
        self.ends.clear();
        if self.skip_lf {
            // The previous record ended with CR: its LF belongs to it, not to this record.
            self.skip_lf = false;
            if self.input.buf()?.first() == Some(&b'\n') {
                self.input.consume(1);
                self.pos += 1;
            }
        }
        let delim = self.delim;
        let max_bytes = self.max_field_bytes;
        let max_fields = self.max_fields;
        let start_pos = self.pos;
        let mut state = State::FieldStart;
        let mut field_start = 0usize;
        let mut field_over: Option<usize> = None;
        let mut overflow = false;
        let mut bad_quotes = false;
        // Where the first line break inside the currently open quoted field ends.
        let mut quote_newline: Option<u64> = None;
        let mut any = false;
        loop {
            let chunk = self.input.buf()?;
            let n = chunk.len();
            if n == 0 {
                self.done = true;
                if !any {
                    return Ok(None);
                }
                if state == State::InQuoted {
                    let seekable = matches!(self.input, Input::Plain(_));
                    if let (Some(resume), true) = (quote_newline, seekable) {
                        return self.unterminated(start_pos, resume).map(Some);
                    }
                    end_field(
                        &mut self.buf,
                        &mut self.ends,
                        &mut field_start,
                        max_fields,
                        &mut overflow,
                    );
                    return Ok(Some(self.finish(
                        Some(RowErrorKind::UnterminatedQuote),
                        field_over,
                        overflow,
                    )));
                }
                end_field(
                    &mut self.buf,
                    &mut self.ends,
                    &mut field_start,
                    max_fields,
                    &mut overflow,
                );
                break;
            }
            let mut i = 0;
            let mut record_done = false;
            while i < n {
                any = true;
                match state {
                    State::FieldStart => {
                        if chunk[i] == b'"' {
                            state = State::InQuoted;
                            quote_newline = None;
                            i += 1;
                        } else {
                            state = State::Unquoted;
                        }
                    }
                    State::Unquoted => {
                        let rest = &chunk[i..];
                        let k = rest
                            .iter()
                            .position(|&c| c == delim || c == b'\n' || c == b'\r')
                            .unwrap_or(rest.len());
                        push(
                            &mut self.buf,
                            field_start,
                            &rest[..k],
                            max_bytes,
                            &mut field_over,
                            self.ends.len(),
                        );
                        i += k;
                        if i < n {
                            let c = chunk[i];
                            i += 1;
                            if c == delim {
                                end_field(
                                    &mut self.buf,
                                    &mut self.ends,
                                    &mut field_start,
                                    max_fields,
                                    &mut overflow,
                                );
                                state = State::FieldStart;
                            } else {
                                self.skip_lf = c == b'\r';
                                record_done = true;
                                break;
                            }
                        }
                    }
                    State::InQuoted => {
                        let rest = &chunk[i..];
                        let k = rest
                            .iter()
                            .position(|&c| c == b'"' || c == b'\n')
                            .unwrap_or(rest.len());
                        push(
                            &mut self.buf,
                            field_start,
                            &rest[..k],
                            max_bytes,
                            &mut field_over,
                            self.ends.len(),
                        );
                        i += k;
                        if i < n {
                            if chunk[i] == b'"' {
                                state = State::QuoteInQuoted;
                            } else {
                                push(
                                    &mut self.buf,
                                    field_start,
                                    b"\n",
                                    max_bytes,
                                    &mut field_over,
                                    self.ends.len(),
                                );
                                if quote_newline.is_none() {
                                    quote_newline = Some(self.pos + i as u64 + 1);
                                }
                            }
                            i += 1;
                        }
                    }
                    State::QuoteInQuoted => {
                        let c = chunk[i];
                        if c == b'"' {
                            push(
                                &mut self.buf,
                                field_start,
                                b"\"",
                                max_bytes,
                                &mut field_over,
                                self.ends.len(),
                            );
                            state = State::InQuoted;
                            i += 1;
                        } else if c == delim {
                            end_field(
                                &mut self.buf,
                                &mut self.ends,
                                &mut field_start,
                                max_fields,
                                &mut overflow,
                            );
                            state = State::FieldStart;
                            i += 1;
                        } else if c == b'\n' || c == b'\r' {
                            self.skip_lf = c == b'\r';
                            i += 1;
                            record_done = true;
                            break;
                        } else {
                            // `"abc"def`: keep reading the rest as plain text, then reject the row.
                            bad_quotes = true;
                            state = State::Unquoted;
                        }
                    }
                }
            }
            self.input.consume(i);
            self.pos += i as u64;
            if record_done {
                end_field(
                    &mut self.buf,
                    &mut self.ends,
                    &mut field_start,
                    max_fields,
                    &mut overflow,
                );
                break;
            }
        }
        let problem = bad_quotes.then_some(RowErrorKind::BadQuotes);
        Ok(Some(self.finish(problem, field_over, overflow)))
    }

    /// A quote opened and never closed: the row is the physical line where it opened; reading
    /// resumes on the next line.
    fn unterminated(&mut self, start: u64, resume: u64) -> Result<RawRecord, ImportError> {
        let Input::Plain(r) = &mut self.input else {
            unreachable!("only called for seekable input")
        };
        r.seek(SeekFrom::Start(start))?;
        let cap = self.max_field_bytes.saturating_mul(4).max(1 << 20);
        let len = ((resume - start) as usize).min(cap);
        let mut line = vec![0; len];
        r.read_exact(&mut line)?;
        r.seek(SeekFrom::Start(resume))?;
        self.pos = resume;
        self.done = false;
        self.skip_lf = false;
        while line.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
            line.pop();
        }
        self.record_no += 1;
        let cells = split_lenient(&line, self.delim)
            .iter()
            .map(|f| {
                let (text, _) = decode_field(self.encoding, f);
                cut_chars(text, self.max_field_chars)
            })
            .collect();
        Ok(RawRecord {
            number: self.record_no,
            cells,
            problem: Some(RowErrorKind::UnterminatedQuote),
            overflow: false,
        })
    }

    fn finish(
        &mut self,
        mut problem: Option<RowErrorKind>,
        field_over: Option<usize>,
        overflow: bool,
    ) -> RawRecord {
        self.record_no += 1;
        let mut cells = Vec::with_capacity(self.ends.len());
        let mut start = 0;
        let mut bad_encoding = false;
        let mut too_long = field_over;
        for (column, &end) in self.ends.iter().enumerate() {
            let (text, ok) = decode_field(self.encoding, &self.buf[start..end]);
            bad_encoding |= !ok;
            if text.len() > self.max_field_chars
                && text.chars().count() > self.max_field_chars
                && too_long.is_none()
            {
                too_long = Some(column);
            }
            cells.push(if too_long == Some(column) {
                cut_chars(text, self.max_field_chars)
            } else {
                text
            });
            start = end;
        }
        if bad_encoding && field_over.is_none() {
            problem = Some(RowErrorKind::BadEncoding);
        } else if problem.is_none()
            && let Some(column) = too_long
        {
            problem = Some(RowErrorKind::FieldTooLong { column });
        }
        RawRecord {
            number: self.record_no,
            cells,
            problem,
            overflow,
        }
    }
}

fn push(
    buf: &mut Vec<u8>,
    field_start: usize,
    bytes: &[u8],
    max: usize,
    over: &mut Option<usize>,
    column: usize,
) {
    let room = max.saturating_sub(buf.len() - field_start);
    if bytes.len() <= room {
        buf.extend_from_slice(bytes);
    } else {
        buf.extend_from_slice(&bytes[..room]);
        over.get_or_insert(column);
    }
}

fn end_field(
    buf: &mut Vec<u8>,
    ends: &mut Vec<usize>,
    field_start: &mut usize,
    max_fields: usize,
    overflow: &mut bool,
) {
    if ends.len() < max_fields {
        ends.push(buf.len());
    } else {
        if buf.len() > *field_start {
            *overflow = true;
        }
        buf.truncate(*field_start);
    }
    *field_start = buf.len();
}

/// Decodes one field; `false` if it had bytes invalid in the encoding (then decoded lossily).
pub(crate) fn decode_field(enc: &'static Encoding, bytes: &[u8]) -> (String, bool) {
    if enc == UTF_8 {
        match std::str::from_utf8(bytes) {
            Ok(s) => (s.to_owned(), true),
            Err(_) => (String::from_utf8_lossy(bytes).into_owned(), false),
        }
    } else {
        match enc.decode_without_bom_handling_and_without_replacement(bytes) {
            Some(s) => (s.into_owned(), true),
            None => (enc.decode_without_bom_handling(bytes).0.into_owned(), false),
        }
    }
}

pub(crate) fn cut_chars(mut s: String, max: usize) -> String {
    if let Some((i, _)) = s.char_indices().nth(max) {
        s.truncate(i);
    }
    s
}

/// Splits bytes into records and fields, quote-aware and forgiving (an open quote runs to the end,
/// text after a closing quote is kept). For samples and for showing a broken line.
pub(crate) fn split_records(bytes: &[u8], delim: u8, max_records: usize) -> Vec<Vec<Vec<u8>>> {
    let mut records = Vec::new();
    let mut record: Vec<Vec<u8>> = Vec::new();
    let mut field = Vec::new();
    let mut quoted = false;
    let mut at_start = true;
    let mut i = 0;
    while i < bytes.len() && records.len() < max_records {
        let c = bytes[i];
        if quoted {
            if c == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    field.push(b'"');
                    i += 1;
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == b'"' && at_start {
            quoted = true;
            at_start = false;
        } else if c == delim {
            record.push(std::mem::take(&mut field));
            at_start = true;
        } else if c == b'\n' || c == b'\r' {
            if c == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            record.push(std::mem::take(&mut field));
            records.push(std::mem::take(&mut record));
            at_start = true;
        } else {
            field.push(c);
            at_start = false;
        }
        i += 1;
    }
    if (!field.is_empty() || !record.is_empty()) && records.len() < max_records {
        record.push(field);
        records.push(record);
    }
    records
}

fn split_lenient(line: &[u8], delim: u8) -> Vec<Vec<u8>> {
    let mut records = split_records(line, delim, usize::MAX);
    let mut first = if records.is_empty() {
        Vec::new()
    } else {
        records.swap_remove(0)
    };
    // `split_records` ended the record at a line break inside the open quote: keep the rest.
    for rest in records {
        first.extend(rest);
    }
    first
}

/// Picks `,`, `;` or tab from a sample: the candidate that splits the first records into the most
/// consistent number of fields (more than one) wins; ties go in that order. The last record of a
/// partial sample is left out, as it may be cut.
pub(crate) fn detect_delimiter(sample: &[u8], whole_file: bool) -> u8 {
    let mut best = (b',', 0usize, 0usize);
    for delim in [b',', b';', b'\t'] {
        let mut records = split_records(sample, delim, 51);
        if !whole_file && records.len() > 1 {
            records.pop();
        }
        let counts: Vec<usize> = records
            .iter()
            .filter(|r| !(r.len() == 1 && r[0].is_empty()))
            .map(Vec::len)
            .collect();
        let Some(&mode) = counts
            .iter()
            .max_by_key(|&&c| (counts.iter().filter(|&&x| x == c).count(), c))
        else {
            continue;
        };
        if mode < 2 {
            continue;
        }
        let agree = counts.iter().filter(|&&c| c == mode).count();
        if (agree, mode) > (best.1, best.2) {
            best = (delim, agree, mode);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn parse(bytes: &[u8], delim: u8, max_chars: usize) -> Vec<(Vec<String>, Option<String>)> {
        let input = Input::Plain(BufReader::with_capacity(
            7, // tiny buffer: every state must survive a chunk boundary
            Box::new(Cursor::new(bytes.to_vec())) as Box<dyn ReadSeek>,
        ));
        let mut src = CsvSource::new(input, 0, delim, UTF_8, max_chars, 100);
        let mut out = Vec::new();
        while let Some(r) = src.next_record().unwrap() {
            let p = r.problem.map(|p| format!("{p:?}"));
            out.push((r.cells, p));
        }
        out
    }

    fn cells(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn quoted_fields_with_newlines_quotes_and_crlf() {
        let got = parse(
            b"a,b,c\r\n\"x,1\",\"he said \"\"hi\"\"\",\"line1\r\nline2\"\r\nlast,,\r",
            b',',
            100,
        );
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0, cells(&["a", "b", "c"]));
        assert_eq!(
            got[1].0,
            cells(&["x,1", "he said \"hi\"", "line1\r\nline2"])
        );
        assert_eq!(got[2].0, cells(&["last", "", ""]));
        assert!(got.iter().all(|r| r.1.is_none()));
    }

    #[test]
    fn text_after_a_closing_quote_is_flagged_and_reading_goes_on() {
        let got = parse(b"\"ab\"c,d\nok,1\n", b',', 100);
        assert_eq!(got[0].0, cells(&["abc", "d"]));
        assert_eq!(got[0].1.as_deref(), Some("BadQuotes"));
        assert_eq!(got[1], (cells(&["ok", "1"]), None));
    }

    #[test]
    fn an_unterminated_quote_rejects_its_line_only() {
        let got = parse(b"n,p\n\"broken,1\ngood,2\nalso,3\n", b',', 100);
        assert_eq!(got.len(), 4);
        assert_eq!(got[1].0, cells(&["broken,1"]));
        assert_eq!(got[1].1.as_deref(), Some("UnterminatedQuote"));
        assert_eq!(got[2], (cells(&["good", "2"]), None));
        assert_eq!(got[3], (cells(&["also", "3"]), None));
    }

    #[test]
    fn a_huge_field_is_cut_and_the_row_rejected() {
        let mut bytes = b"a,b\n".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', 10_000));
        bytes.extend(b",1\nok,2\n\"");
        bytes.extend(std::iter::repeat_n(b'y', 10_000));
        bytes.extend(b"\",3\n");
        let got = parse(&bytes, b',', 50);
        assert_eq!(got.len(), 4);
        assert_eq!(got[1].0[0].len(), 50);
        assert_eq!(got[1].1.as_deref(), Some("FieldTooLong { column: 0 }"));
        assert_eq!(got[2], (cells(&["ok", "2"]), None));
        assert_eq!(got[3].0[1], "3");
        assert_eq!(got[3].1.as_deref(), Some("FieldTooLong { column: 0 }"));
    }

    #[test]
    fn delimiter_detection_is_quote_aware() {
        assert_eq!(detect_delimiter(b"a;b;c\n1;2;3\n", true), b';');
        assert_eq!(detect_delimiter(b"a\tb\n\"x;y\"\t2\n", true), b'\t');
        let quoted = "name,note\n王,\"a;b;c;d\"\n李,\"e;f\"\n";
        assert_eq!(detect_delimiter(quoted.as_bytes(), true), b',');
        assert_eq!(detect_delimiter(b"single\ncolumn\n", true), b',');
    }
}
