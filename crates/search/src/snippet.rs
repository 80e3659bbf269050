//! Highlighted snippets: the window of a text with the most query hits, HTML-escaped first and
//! only then given `<mark>` around each hit, so stored text can never inject markup.

use crate::query::Query;
use crate::segment::{fold_width, is_cjk, is_word_char, normalise_word};

/// Escapes the five characters that matter in HTML text and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Half-open character ranges of the query's hits in `chars`, sorted and merged.
fn hits(chars: &[char], query: &Query) -> Vec<(usize, usize)> {
    let norm: Vec<char> = chars
        .iter()
        .map(|c| {
            let c = fold_width(*c);
            c.to_lowercase().next().unwrap_or(c)
        })
        .collect();
    let mut ranges = Vec::new();
    // Chinese terms: substring matches.
    for t in query.terms() {
        if !t.text.chars().any(is_cjk) {
            continue;
        }
        let needle: Vec<char> = t.text.chars().collect();
        if needle.is_empty() || needle.len() > norm.len() {
            continue;
        }
        for start in 0..=norm.len() - needle.len() {
            if norm[start..start + needle.len()] == needle[..] {
                ranges.push((start, start + needle.len()));
            }
        }
    }
    // Latin terms: whole words whose normalised form is the term (or starts with a prefix term).
    let mut i = 0;
    while i < norm.len() {
        if !is_word_char(norm[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < norm.len() && is_word_char(norm[i]) {
            i += 1;
        }
        let raw: String = norm[start..i].iter().collect();
        let word = normalise_word(&raw);
        let matched = query.terms().iter().any(|t| {
            !t.text.chars().any(is_cjk)
                && (word == t.text
                    || (t.prefix && (word.starts_with(&t.text) || raw.starts_with(&t.text))))
        });
        if matched {
            ranges.push((start, i));
        }
    }
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (s, e) in ranges {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// Writes `chars[from..to]` escaped, with the hits inside it wrapped in `<mark>`.
fn render(chars: &[char], from: usize, to: usize, hits: &[(usize, usize)]) -> String {
    let mut out = String::new();
    let mut pos = from;
    let text = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
    for &(s, e) in hits {
        let (s, e) = (s.max(from), e.min(to));
        if s >= e || s < pos {
            continue;
        }
        out.push_str(&escape_html(&text(pos, s)));
        out.push_str("<mark>");
        out.push_str(&escape_html(&text(s, e)));
        out.push_str("</mark>");
        pos = e;
    }
    if pos < to {
        out.push_str(&escape_html(&text(pos, to)));
    }
    out
}

/// Collapses line breaks and runs of spaces, which a snippet shows as one space.
fn one_line(text: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(text.len());
    let mut space = false;
    for c in text.trim().chars() {
        if c.is_whitespace() {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

/// The whole (short) text, escaped, with every hit marked: for titles.
pub fn highlight(text: &str, query: &Query) -> String {
    let chars = one_line(text);
    let h = hits(&chars, query);
    render(&chars, 0, chars.len(), &h)
}

/// About `max_chars` characters of `text` around the densest cluster of hits, escaped, hits in
/// `<mark>`, with `…` where the text was cut.
pub fn snippet(text: &str, query: &Query, max_chars: usize) -> String {
    let chars = one_line(text);
    let h = hits(&chars, query);
    if chars.len() <= max_chars {
        return render(&chars, 0, chars.len(), &h);
    }
    let lead_in = max_chars / 5;
    let mut best = (0usize, 0usize);
    for &(s, _) in &h {
        let start = s.saturating_sub(lead_in).min(chars.len() - max_chars);
        let end = start + max_chars;
        let count = h.iter().filter(|(a, b)| *a >= start && *b <= end).count();
        if count > best.1 {
            best = (start, count);
        }
    }
    let (start, end) = (best.0, best.0 + max_chars);
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.push_str(&render(&chars, start, end, &h));
    if end < chars.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_are_marked_and_text_escaped() {
        let q = Query::parse("退款").unwrap();
        assert_eq!(
            highlight("<b>退款</b> & 退款政策", &q),
            "&lt;b&gt;<mark>退款</mark>&lt;/b&gt; &amp; <mark>退款</mark>政策"
        );
    }

    #[test]
    fn markup_in_the_query_cannot_reach_the_output() {
        let q = Query::parse("<script>alert(1)</script> 价格").unwrap();
        let s = snippet("价格 <script>alert(1)</script>", &q, 100);
        assert!(!s.contains("<script"), "{s}");
        assert!(s.contains("<mark>价格</mark>"));
    }

    #[test]
    fn english_words_match_whole_words_and_plurals() {
        let q = Query::parse("refund polic").unwrap();
        assert_eq!(
            highlight("Refunds follow our policies; prefunded no.", &q),
            "<mark>Refunds</mark> follow our <mark>policies</mark>; prefunded no."
        );
    }

    #[test]
    fn the_window_goes_where_the_hits_are() {
        let filler = "这是一段与主题无关的说明文字。".repeat(20);
        let text =
            format!("{filler}客户要求退款时，先确认订单，退款在七个工作日内原路返回。{filler}");
        let q = Query::parse("退款").unwrap();
        let s = snippet(&text, &q, 60);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert_eq!(s.matches("<mark>").count(), 2, "{s}");
    }

    #[test]
    fn a_text_without_hits_shows_its_beginning() {
        let q = Query::parse("发票").unwrap();
        let s = snippet(&"甲乙丙丁".repeat(50), &q, 20);
        assert!(s.starts_with("甲乙丙丁"));
        assert!(s.ends_with('…'));
    }
}
