//! Times, ranges and number lists as people type them with a Chinese input method, made plain
//! before they are parsed: times
//! and ranges such as `09：00－12：00，14：00－18：00` mean `09:00-12:00,14:00-18:00`.

/// Full-width forms (`０`–`９`, `：`, `－`, `，`, `；`, `～` …) become their ASCII letters, the
/// ideographic space a space, `、` a comma, and the dashes and waves a range is written with
/// (`—`, `–`, `―`, `〜`, `～`, `~`, `至`, `到`) a `-`. Everything else is kept.
pub fn normalise_times(s: &str) -> String {
    s.chars().map(plain_char).collect()
}

/// One character of [`normalise_times`]: each character becomes exactly one, so positions in
/// the typed text and the plain one agree.
pub fn plain_char(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '、' => ',',
        '—' | '–' | '―' | '‐' | '−' | '〜' | '～' | '~' | '至' | '到' => '-',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_methods_times_become_plain() {
        assert_eq!(
            normalise_times("０９：００－１２：００，14：00～18：00；19:00—20:00、21：00至22：00"),
            "09:00-12:00,14:00-18:00;19:00-20:00,21:00-22:00"
        );
        assert_eq!(normalise_times("　3，1"), " 3,1");
        assert_eq!(normalise_times("张伟"), "张伟");
    }
}
