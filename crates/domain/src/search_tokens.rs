//! Quick-search tokens for leads: CJK unigrams and bigrams, lower-cased words, and every suffix of
//! each phone's digits, so that a single character (王), the last four digits or a company fragment
//! is one indexed look-up on SQLite FTS5 and PostgreSQL tsvector alike.

/// Shortest phone-digit suffix indexed; shorter queries still match as prefixes of longer suffixes.
const MIN_DIGIT_SUFFIX: usize = 3;
/// Most terms taken from one query, so a pasted paragraph cannot make a giant query.
const MAX_QUERY_TERMS: usize = 12;

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F | 0x3040..=0x30FF | 0xAC00..=0xD7AF)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

/// Splits text into search tokens, calling `emit(token, is_word)` for each; a word is a run of
/// letters/digits (lower-cased), CJK runs give unigrams and bigrams.
fn text_tokens(text: &str, mut emit: impl FnMut(String, bool)) {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_cjk(c) {
            let start = i;
            while i < chars.len() && is_cjk(chars[i]) {
                i += 1;
            }
            let run = &chars[start..i];
            for (j, ch) in run.iter().enumerate() {
                emit(ch.to_string(), false);
                if let Some(next) = run.get(j + 1) {
                    emit(format!("{ch}{next}"), false);
                }
            }
        } else if is_word_char(c) {
            let start = i;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            emit(
                chars[start..i]
                    .iter()
                    .flat_map(|c| c.to_lowercase())
                    .collect(),
                true,
            );
        } else {
            i += 1;
        }
    }
}

/// The space-separated token string stored for a lead.
pub fn lead_tokens<'a>(
    texts: impl IntoIterator<Item = &'a str>,
    phone_national_digits: impl IntoIterator<Item = &'a str>,
) -> String {
    let mut tokens: Vec<String> = Vec::new();
    for text in texts {
        text_tokens(text, |t, _| tokens.push(t));
    }
    for digits in phone_national_digits {
        let bytes = digits.as_bytes();
        for start in 0..=bytes.len().saturating_sub(MIN_DIGIT_SUFFIX) {
            tokens.push(digits[start..].to_string());
        }
        // Landlines are written with their trunk zero (010-…, 0755-…): index that spelling too.
        let is_mobile = digits.len() == 11 && digits.starts_with('1');
        if !is_mobile && digits.len() > 6 {
            tokens.push(format!("0{digits}"));
        }
    }
    tokens.sort_unstable();
    tokens.dedup();
    tokens.join(" ")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// The token must be present as is.
    Exact(String),
    /// Some token must start with this.
    Prefix(String),
}

/// Turns what a user typed into search terms, all of which must match; `None` if nothing usable.
pub fn parse_query(q: &str) -> Option<Vec<Term>> {
    let mut terms = Vec::new();
    let compact: String = q
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '(' | ')' | '+'))
        .collect();
    // A query made of digits and phone punctuation is one phone fragment: "6552 9988".
    if !compact.is_empty() && compact.chars().all(|c| c.is_ascii_digit()) {
        let digits = compact
            .strip_prefix("86")
            .filter(|d| d.len() >= 9)
            .unwrap_or(&compact);
        return Some(vec![Term::Prefix(digits.to_string())]);
    }
    let chars: Vec<char> = q.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if is_cjk(chars[i]) {
            let start = i;
            while i < chars.len() && is_cjk(chars[i]) {
                i += 1;
            }
            let run = &chars[start..i];
            if run.len() == 1 {
                terms.push(Term::Exact(run[0].to_string()));
            } else {
                for pair in run.windows(2) {
                    terms.push(Term::Exact(pair.iter().collect()));
                }
            }
        } else if is_word_char(chars[i]) {
            let start = i;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            terms.push(Term::Prefix(
                chars[start..i]
                    .iter()
                    .flat_map(|c| c.to_lowercase())
                    .collect(),
            ));
        } else {
            i += 1;
        }
    }
    terms.dedup();
    terms.truncate(MAX_QUERY_TERMS);
    if terms.is_empty() { None } else { Some(terms) }
}

/// The FTS5 MATCH expression for the terms (tokens contain only letters and digits, quoted anyway).
pub fn fts5_match(terms: &[Term]) -> String {
    terms
        .iter()
        .map(|t| match t {
            Term::Exact(s) => format!("\"{s}\""),
            Term::Prefix(s) => format!("\"{s}\"*"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The PostgreSQL tsquery text for the terms, to be cast with `::tsquery` (no parser involved).
pub fn tsquery(terms: &[Term]) -> String {
    terms
        .iter()
        .map(|t| match t {
            Term::Exact(s) => format!("'{s}'"),
            Term::Prefix(s) => format!("'{s}':*"),
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_companies_become_unigrams_bigrams_and_words() {
        let t = lead_tokens(["王小明", "Acme 星河科技"], []);
        let tokens: Vec<&str> = t.split(' ').collect();
        for expected in [
            "王", "小", "明", "王小", "小明", "acme", "星河", "科技", "河科",
        ] {
            assert!(tokens.contains(&expected), "{expected} in {t}");
        }
    }

    #[test]
    fn phones_index_every_suffix_and_landlines_their_trunk_zero() {
        let t = lead_tokens([], ["13800138000", "1065529988"]);
        let tokens: Vec<&str> = t.split(' ').collect();
        assert!(tokens.contains(&"8000"));
        assert!(tokens.contains(&"13800138000"));
        assert!(tokens.contains(&"01065529988"));
        assert!(!tokens.contains(&"013800138000"));
    }

    #[test]
    fn queries_become_terms() {
        assert_eq!(parse_query("王"), Some(vec![Term::Exact("王".into())]));
        assert_eq!(
            parse_query("王小明"),
            Some(vec![Term::Exact("王小".into()), Term::Exact("小明".into())])
        );
        assert_eq!(parse_query("8000"), Some(vec![Term::Prefix("8000".into())]));
        assert_eq!(
            parse_query("6552 9988"),
            Some(vec![Term::Prefix("65529988".into())])
        );
        assert_eq!(
            parse_query("+86 138 0013 8000"),
            Some(vec![Term::Prefix("13800138000".into())])
        );
        assert_eq!(
            parse_query("Acme 科技"),
            Some(vec![
                Term::Prefix("acme".into()),
                Term::Exact("科技".into())
            ])
        );
        assert_eq!(parse_query(" *\"' "), None);
    }

    #[test]
    fn query_syntax_cannot_be_injected() {
        let terms = parse_query("a\" OR \"b NEAR(x) '; DROP").unwrap();
        let m = fts5_match(&terms);
        assert!(!m.contains("OR \""));
        assert_eq!(tsquery(&terms).matches('\'').count() % 2, 0);
        for t in &terms {
            let (Term::Exact(s) | Term::Prefix(s)) = t;
            assert!(s.chars().all(char::is_alphanumeric));
        }
    }

    #[test]
    fn a_huge_query_is_capped() {
        let q: String = (0..5000u32)
            .filter_map(|i| char::from_u32(0x4E00 + i))
            .collect();
        assert!(parse_query(&q).unwrap().len() <= MAX_QUERY_TERMS);
    }
}
