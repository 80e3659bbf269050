//! Encodings: detection from a sample, labels a user may choose, and a streaming UTF-16 → UTF-8
//! adapter.

use std::io::{self, Read};

use encoding_rs::{Decoder, Encoding, GB18030, GBK, UTF_8, UTF_16BE, UTF_16LE};

use crate::ImportError;

/// How much of a file is looked at to guess its encoding and delimiter.
pub(crate) const SAMPLE_LEN: usize = 64 * 1024;

/// The encoding a CSV is read in, and how many BOM bytes precede the text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Detected {
    pub encoding: &'static Encoding,
    pub bom_len: usize,
    pub detected: bool,
}

/// Resolves a user's choice (`utf-8`, `gbk`, `gb18030`, `big5`, `utf-16le`…; any WHATWG label).
/// Encodings where a delimiter or quote byte could occur inside a character (ISO-2022-JP, the
/// replacement encoding) are refused.
pub fn encoding_for_label(label: &str) -> Result<&'static Encoding, ImportError> {
    let enc = Encoding::for_label(label.trim().as_bytes())
        .ok_or_else(|| ImportError::UnsupportedEncoding(label.to_string()))?;
    if enc.is_ascii_compatible() || enc == UTF_16LE || enc == UTF_16BE {
        Ok(enc)
    } else {
        Err(ImportError::UnsupportedEncoding(label.to_string()))
    }
}

/// A BOM wins over everything (as in browsers); then the user's choice; then a guess: valid UTF-8
/// in the sample is UTF-8, anything else GB18030 (a superset of GBK and GB2312, what Chinese Excel
/// saves "CSV" in).
pub(crate) fn detect(
    sample: &[u8],
    whole_file: bool,
    chosen: Option<&'static Encoding>,
) -> Detected {
    if let Some((enc, bom_len)) = Encoding::for_bom(sample) {
        return Detected {
            encoding: enc,
            bom_len,
            detected: chosen.is_none(),
        };
    }
    if let Some(enc) = chosen {
        return Detected {
            encoding: enc,
            bom_len: 0,
            detected: false,
        };
    }
    let utf8 = match std::str::from_utf8(sample) {
        Ok(_) => true,
        // A character cut by the end of the sample is no evidence against UTF-8.
        Err(e) => e.error_len().is_none() && !whole_file,
    };
    Detected {
        encoding: if utf8 { UTF_8 } else { GB18030 },
        bom_len: 0,
        detected: true,
    }
}

/// The encoding an error report in the source's encoding is written in: GBK sources get GB18030,
/// which writes every GBK character with the same bytes and never loses one.
pub(crate) fn output_encoding(enc: &'static Encoding) -> &'static Encoding {
    if enc == GBK { GB18030 } else { enc }
}

pub(crate) fn is_utf16(enc: &'static Encoding) -> bool {
    enc == UTF_16LE || enc == UTF_16BE
}

/// Encodes text for writing. UTF-16 is written by hand (encoding_rs only decodes it); other
/// encodings use encoding_rs, which writes an HTML numeric reference (`&#8364;`) for a character
/// the encoding lacks.
pub(crate) fn encode_into(enc: &'static Encoding, text: &str, out: &mut Vec<u8>) {
    if enc == UTF_8 {
        out.extend_from_slice(text.as_bytes());
    } else if enc == UTF_16LE {
        out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    } else if enc == UTF_16BE {
        out.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    } else {
        let (bytes, _, _) = enc.encode(text);
        out.extend_from_slice(&bytes);
    }
}

/// The BOM written at the start of a file in `enc` (UTF-16 always has one).
pub(crate) fn bom_for(enc: &'static Encoding) -> &'static [u8] {
    if enc == UTF_16LE {
        b"\xFF\xFE"
    } else if enc == UTF_16BE {
        b"\xFE\xFF"
    } else if enc == UTF_8 {
        b"\xEF\xBB\xBF"
    } else {
        b""
    }
}

/// Reads UTF-16 (after its BOM) as UTF-8, a buffer at a time. Unpaired surrogates become U+FFFD.
pub(crate) struct Utf16ToUtf8<R> {
    inner: R,
    decoder: Decoder,
    input: Vec<u8>,
    in_start: usize,
    in_end: usize,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    eof: bool,
    finished: bool,
}

impl<R: Read> Utf16ToUtf8<R> {
    pub fn new(inner: R, enc: &'static Encoding) -> Self {
        Utf16ToUtf8 {
            inner,
            decoder: enc.new_decoder_without_bom_handling(),
            input: vec![0; 32 * 1024],
            in_start: 0,
            in_end: 0,
            output: vec![0; 64 * 1024],
            out_start: 0,
            out_end: 0,
            eof: false,
            finished: false,
        }
    }
}

impl<R: Read> Read for Utf16ToUtf8<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_start < self.out_end {
                let n = buf.len().min(self.out_end - self.out_start);
                buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
                self.out_start += n;
                return Ok(n);
            }
            if self.finished {
                return Ok(0);
            }
            if self.in_start == self.in_end && !self.eof {
                let n = self.inner.read(&mut self.input)?;
                self.in_start = 0;
                self.in_end = n;
                self.eof = n == 0;
            }
            let (result, read, written, _) = self.decoder.decode_to_utf8(
                &self.input[self.in_start..self.in_end],
                &mut self.output,
                self.eof,
            );
            self.in_start += read;
            self.out_start = 0;
            self.out_end = written;
            // With `last`, an empty input means the decoder is done and must not be called again.
            if self.eof && result == encoding_rs::CoderResult::InputEmpty {
                self.finished = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_prefers_bom_then_choice_then_utf8_then_gb18030() {
        let gbk = GBK.encode("姓名,手机").0.into_owned();
        assert_eq!(detect(&gbk, true, None).encoding, GB18030);
        assert_eq!(detect("姓名".as_bytes(), true, None).encoding, UTF_8);
        assert_eq!(detect(b"\xEF\xBB\xBFa", true, Some(GBK)).bom_len, 3);
        assert_eq!(detect(b"\xEF\xBB\xBFa", true, Some(GBK)).encoding, UTF_8);
        assert_eq!(detect(&gbk, true, Some(UTF_8)).encoding, UTF_8);
        // A sample that cuts "名" in half is still UTF-8.
        let cut = &"姓名".as_bytes()[..4];
        assert_eq!(detect(cut, false, None).encoding, UTF_8);
        assert_eq!(detect(cut, true, None).encoding, GB18030);
    }

    #[test]
    fn labels() {
        assert_eq!(encoding_for_label("GBK").unwrap(), GBK);
        assert_eq!(encoding_for_label(" gb2312 ").unwrap(), GBK);
        assert_eq!(encoding_for_label("utf-16le").unwrap(), UTF_16LE);
        assert!(encoding_for_label("iso-2022-jp").is_err());
        assert!(encoding_for_label("klingon").is_err());
    }

    #[test]
    fn utf16_streams_as_utf8() {
        let text = "姓名\t手机\r\n王小明\t13800138000\r\n".repeat(5000);
        let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let mut out = String::new();
        Utf16ToUtf8::new(&bytes[..], UTF_16LE)
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, text);
        // A lone trailing byte and an unpaired surrogate at the very end.
        let mut odd = bytes.clone();
        odd.extend_from_slice(b"\x3D\xD8\x41");
        let mut out = String::new();
        Utf16ToUtf8::new(&odd[..], UTF_16LE)
            .read_to_string(&mut out)
            .unwrap();
        assert!(out.starts_with(&text) && out.ends_with('\u{FFFD}'));
    }
}
