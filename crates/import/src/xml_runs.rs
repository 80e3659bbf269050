//! A bound on how much of a workbook's XML the parser must hold at once.
//!
//! calamine reads a worksheet as a stream of XML events, but each event — one tag, or the text
//! between two tags — is read whole into memory: a cell padded with 450 MiB of spaces (a 6 MB
//! file, well within the unpacked-size limits) cost the server about a gigabyte. [`RunMeter`]
//! measures every event of a part while the zip check inflates it, before calamine sees it, and
//! refuses the workbook at the first event longer than [`MAX_RUN`], naming its cell.

use std::io;

use crate::ImportError;

/// The longest tag or text between tags accepted: 1 MiB. Excel's largest cell (32,767
/// characters, each at most an 8-byte character reference such as `&#x4E2D;`) is 256 KiB.
pub const MAX_RUN: u64 = 1 << 20;

/// Most shared strings (`<si>`) a workbook may hold. calamine keeps every one in memory (about
/// 56 bytes each besides its text: 27 million one-letter strings, a 7 MB file, took 1.5 GB);
/// four million is two unique texts on each of the two million rows an import may have.
pub const MAX_SHARED_STRINGS: u64 = 4_000_000;

/// How many bytes of a tag are kept to read a cell's or a row's reference from it.
const HEAD: usize = 96;

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    /// Inside `<…>`; the quote byte when inside a quoted attribute value.
    Tag {
        quote: Option<u8>,
    },
    /// Inside a comment, CDATA section or processing instruction, until `end`.
    Until {
        end: &'static [u8],
    },
}

/// An `io::Write` that measures the XML written through it (see the module's note).
pub(crate) struct RunMeter {
    part: String,
    limit: u64,
    state: State,
    run: u64,
    head: Vec<u8>,
    /// The last cell (`B7`) or row (`7`) reference met, to say where an over-long event is.
    cell: Option<String>,
    /// Bytes of a multi-byte end marker matched so far.
    matched: usize,
    /// `<si>` tags met, and how many are allowed (shared strings only).
    items: u64,
    max_items: Option<u64>,
}

impl RunMeter {
    pub fn new(part: &str, limit: u64) -> RunMeter {
        RunMeter {
            part: part.to_string(),
            limit,
            state: State::Text,
            run: 0,
            head: Vec::with_capacity(HEAD),
            cell: None,
            matched: 0,
            items: 0,
            max_items: None,
        }
    }

    /// Also refuses the part past `max` shared-string items (`<si>`).
    pub fn with_max_items(mut self, max: u64) -> RunMeter {
        self.max_items = Some(max);
        self
    }

    fn too_long(&self) -> io::Error {
        io::Error::other(ImportError::CellTooLarge {
            part: self.part.clone(),
            cell: self.cell.clone(),
            limit: self.limit,
        })
    }

    /// A tag ended: a `<c r="B7" …>` or `<row r="7" …>` moves the place reported; an `<si>` is
    /// counted.
    fn tag_ended(&mut self) -> io::Result<()> {
        let head = &self.head;
        let name_end = head
            .iter()
            .position(|b| b.is_ascii_whitespace() || *b == b'/' || *b == b'>')
            .unwrap_or(head.len());
        let name = &head[..name_end];
        if let Some(max) = self.max_items
            && (name == b"si" || name.ends_with(b":si"))
        {
            self.items += 1;
            if self.items > max {
                return Err(io::Error::other(ImportError::TooManySharedStrings {
                    limit: max,
                }));
            }
        }
        let is_cell = name == b"c" || name.ends_with(b":c");
        let is_row = name == b"row" || name.ends_with(b":row");
        if !(is_cell || is_row) {
            return Ok(());
        }
        let reference = head
            .windows(3)
            .position(|w| w == b" r=" || w == b"\tr=" || w == b"\nr=")
            .and_then(|at| {
                let rest = head.get(at + 3..)?;
                let quote = *rest.first()?;
                let rest = &rest[1..];
                let end = rest.iter().position(|b| *b == quote)?;
                std::str::from_utf8(&rest[..end]).ok()
            });
        if let Some(r) = reference {
            self.cell = Some(if is_row {
                format!("row {r}")
            } else {
                r.to_string()
            });
        }
        Ok(())
    }
}

impl io::Write for RunMeter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for &b in buf {
            self.run += 1;
            match self.state {
                State::Text => {
                    if b == b'<' {
                        self.state = State::Tag { quote: None };
                        self.run = 0;
                        self.head.clear();
                    }
                }
                State::Tag { quote: Some(q) } => {
                    if b == q {
                        self.state = State::Tag { quote: None };
                    }
                    if self.head.len() < HEAD {
                        self.head.push(b);
                    }
                }
                State::Tag { quote: None } => {
                    if b == b'>' {
                        self.tag_ended()?;
                        self.state = State::Text;
                        self.run = 0;
                        continue;
                    }
                    if b == b'"' || b == b'\'' {
                        self.state = State::Tag { quote: Some(b) };
                    }
                    if self.head.len() < HEAD {
                        self.head.push(b);
                        let special: Option<&'static [u8]> = match self.head.as_slice() {
                            b"!--" => Some(b"-->"),
                            b"![CDATA[" => Some(b"]]>"),
                            b"?" => Some(b"?>"),
                            _ => None,
                        };
                        if let Some(end) = special {
                            self.state = State::Until { end };
                            self.matched = 0;
                        }
                    }
                }
                State::Until { end } => {
                    if b == end[self.matched] {
                        self.matched += 1;
                        if self.matched == end.len() {
                            self.state = State::Text;
                            self.run = 0;
                            continue;
                        }
                    } else {
                        self.matched = usize::from(b == end[0]);
                    }
                }
            }
            if self.run > self.limit {
                return Err(self.too_long());
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The import error an `io::copy` into a [`RunMeter`] stopped with, if it was the meter's.
pub(crate) fn refusal(e: io::Error) -> Result<ImportError, io::Error> {
    if e.get_ref().is_some_and(|inner| inner.is::<ImportError>()) {
        let inner = e.into_inner().expect("checked above");
        Ok(*inner.downcast::<ImportError>().expect("checked above"))
    } else {
        Err(e)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn measure(xml: &[u8], limit: u64) -> Result<(), ImportError> {
        let mut meter = RunMeter::new("xl/worksheets/sheet1.xml", limit);
        // Written in small pieces, as inflation hands them over.
        for piece in xml.chunks(7) {
            if let Err(e) = meter.write_all(piece) {
                return Err(refusal(e).expect("the meter's refusal"));
            }
        }
        Ok(())
    }

    fn cell_of(r: Result<(), ImportError>) -> Option<String> {
        match r {
            Err(ImportError::CellTooLarge { cell, .. }) => cell,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_long_text_or_tag_is_refused_naming_its_cell() {
        let ok = br#"<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>short</t></is></c></row></sheetData>"#;
        assert!(measure(ok, 32).is_ok());
        let text = format!(
            r#"<row r="6"><c r="A6"><v>1</v></c></row><row r="7"><c r="A7"/><c s="2" r="B7" t="inlineStr"><is><t>{}</t></is></c></row>"#,
            " ".repeat(100)
        );
        assert_eq!(cell_of(measure(text.as_bytes(), 64)).as_deref(), Some("B7"));
        let tag = format!(r#"<row r="9" x="{}">"#, ">".repeat(100));
        assert_eq!(
            cell_of(measure(tag.as_bytes(), 64)),
            None,
            "a quoted > does not end the tag"
        );
        let row = format!(r#"<row r="12">{}"#, " ".repeat(100));
        assert_eq!(
            cell_of(measure(row.as_bytes(), 64)).as_deref(),
            Some("row 12")
        );
        let comment = format!("<!-- {} -->", "a>".repeat(100));
        assert!(
            measure(comment.as_bytes(), 64).is_err(),
            "a comment is one event"
        );
        let cdata = format!("<![CDATA[{}]]>", "]>".repeat(100));
        assert!(measure(cdata.as_bytes(), 64).is_err());
        let mut shared = RunMeter::new("xl/sharedStrings.xml", 64).with_max_items(3);
        let three = b"<sst><si><t>a</t></si><si><t>b</t></si><x:si><t>c</t></x:si>";
        assert!(shared.write_all(three).is_ok());
        match shared.write_all(b"<si><t>d</t></si>").map_err(refusal) {
            Err(Ok(ImportError::TooManySharedStrings { limit: 3 })) => {}
            other => panic!("a fourth shared string: {other:?}"),
        }
        let fine = format!("<!-- {} --><a>{}</a>", "a".repeat(40), "b".repeat(40));
        assert!(measure(fine.as_bytes(), 64).is_ok());
    }
}
