//! Quick-search tokens for leads: CJK unigrams and bigrams, lower-cased words, and the digit
//! trigrams of each phone and of each run of digits in a name or company, so that a single
//! character (王), a company fragment or any three or more digits of a number (the last four, the
//! middle, the whole) is an indexed look-up on SQLite FTS5 and PostgreSQL tsvector alike.
//!
//! Digits are indexed as trigrams (`d` and three digits) rather than as every suffix of the
//! number: an 11-digit mobile gives 9 trigrams out of only a thousand, where its 9 suffixes were
//! nearly all tokens no other lead had, and a full-text index pays for each distinct token (a
//! 300,000-lead index took 1.6 s to build with trigrams against 4.2 s with suffixes). A digit
//! query asks for all its trigrams, which also matches numbers that hold those trigrams apart, so
//! the store keeps only the leads that hold the digits themselves ([`digit_terms`]).

/// Digits per indexed digit gram.
const DIGIT_GRAM: usize = 3;
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

mod pinyin_keys;

/// A lead's quick-search tokens: from its name, company and numbers, and the pinyin of the
/// Hanzi in its name and company ([`pinyin_keys`]).
pub fn of_lead(name: &str, company: Option<&str>, phones: &[crate::PhoneNumber]) -> String {
    let mut tokens = collect(
        [Some(name), company].into_iter().flatten(),
        phones.iter().map(|p| p.national_digits()),
    );
    for text in [Some(name), company].into_iter().flatten() {
        cjk_runs(text, |run| pinyin_keys::tokens(run, &mut tokens));
    }
    finish(tokens)
}

/// Calls `f` with each maximal run of CJK characters in `text`.
fn cjk_runs(text: &str, mut f: impl FnMut(&[char])) {
    let chars: Vec<char> = text.chars().collect();
    for run in chars.split(|c| !is_cjk(*c)).filter(|r| !r.is_empty()) {
        f(run);
    }
}

fn finish(mut tokens: Vec<String>) -> String {
    tokens.sort_unstable();
    tokens.dedup();
    tokens.join(" ")
}

/// The space-separated token string of texts and numbers (without pinyin).
pub fn lead_tokens<'a>(
    texts: impl IntoIterator<Item = &'a str>,
    phone_national_digits: impl IntoIterator<Item = &'a str>,
) -> String {
    finish(collect(texts, phone_national_digits))
}

fn collect<'a>(
    texts: impl IntoIterator<Item = &'a str>,
    phone_national_digits: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    for text in texts {
        text_tokens(text, |t, _| tokens.push(t));
        digit_runs(text, |run| digit_grams(run, &mut tokens));
    }
    for digits in phone_national_digits {
        // Landlines are written with their trunk zero (010-…, 0755-…): index that spelling.
        let is_mobile = digits.len() == 11 && digits.starts_with('1');
        if !is_mobile && digits.len() > 6 {
            digit_grams(&format!("0{digits}"), &mut tokens);
        } else {
            digit_grams(digits, &mut tokens);
        }
    }
    tokens
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// The token must be present as is.
    Exact(String),
    /// Some token must start with this.
    Prefix(String),
    /// These digits must appear in one of the lead's numbers, or in its name or company: the
    /// index finds the leads holding all their trigrams, and the store checks the digits
    /// themselves.
    Digits(String),
}

/// Appends the index tokens of a run of ASCII digits: its trigrams, or for a run shorter than a
/// trigram the run itself (so that "58" of 58同城 is found by the query 58).
fn digit_grams(digits: &str, out: &mut Vec<String>) {
    if digits.len() < DIGIT_GRAM {
        out.push(format!("d{digits}"));
    } else {
        for start in 0..=digits.len() - DIGIT_GRAM {
            out.push(format!("d{}", &digits[start..start + DIGIT_GRAM]));
        }
    }
}

/// Calls `f` with each maximal run of ASCII digits in `text`.
fn digit_runs(text: &str, mut f: impl FnMut(&str)) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            f(&text[start..i]);
        } else {
            i += 1;
        }
    }
}

/// The digit strings of the terms, each of which a lead found by the index must really hold.
pub fn digit_terms(terms: &[Term]) -> impl Iterator<Item = &str> {
    terms.iter().filter_map(|t| match t {
        Term::Digits(d) => Some(d.as_str()),
        _ => None,
    })
}

/// The index look-ups the terms ask for, all of which must match: (token, whether as a prefix).
/// A digit term asks for each of its trigrams, or for one or two digits a prefix.
fn lookups(terms: &[Term]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for t in terms {
        match t {
            Term::Exact(s) => out.push((s.clone(), false)),
            Term::Prefix(s) => out.push((s.clone(), true)),
            Term::Digits(d) => {
                let mut grams = Vec::new();
                digit_grams(d, &mut grams);
                grams.sort_unstable();
                grams.dedup();
                let prefix = d.len() < DIGIT_GRAM;
                out.extend(grams.into_iter().map(|g| (g, prefix)));
            }
        }
    }
    out
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
        return Some(vec![Term::Digits(digits.to_string())]);
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
            let word: String = chars[start..i]
                .iter()
                .flat_map(|c| c.to_lowercase())
                .collect();
            terms.push(if word.bytes().all(|b| b.is_ascii_digit()) {
                Term::Digits(word)
            } else {
                Term::Prefix(word)
            });
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
    lookups(terms)
        .into_iter()
        .map(|(s, prefix)| {
            if prefix {
                format!("\"{s}\"*")
            } else {
                format!("\"{s}\"")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The PostgreSQL tsquery text for the terms, to be cast with `::tsquery` (no parser involved).
pub fn tsquery(terms: &[Term]) -> String {
    lookups(terms)
        .into_iter()
        .map(|(s, prefix)| {
            if prefix {
                format!("'{s}':*")
            } else {
                format!("'{s}'")
            }
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
    fn a_leads_hanzi_are_also_indexed_as_pinyin_and_initials() {
        let t = of_lead("张伟", Some("华为技术"), &[]);
        let tokens: Vec<&str> = t.split(' ').collect();
        for expected in [
            "张伟",
            "zhang",
            "wei",
            "zhangwei",
            "zw",
            "huaweijishu",
            "hwjs",
        ] {
            assert!(tokens.contains(&expected), "{expected} in {t}");
        }
        // What a person types finds them: a prefix of a token.
        for q in ["wang", "zhangwei", "zw", "zhang", "hwjs"] {
            let terms = parse_query(q).unwrap();
            assert_eq!(terms, vec![Term::Prefix(q.into())]);
        }
        let wang = of_lead("王小明", None, &[]);
        assert!(wang.split(' ').any(|t| t.starts_with("wang")), "{wang}");
        assert!(wang.split(' ').any(|t| t == "xiaoming"), "{wang}");
    }

    #[test]
    fn phones_index_their_digit_trigrams_and_landlines_their_trunk_zero() {
        let t = lead_tokens([], ["13800138000"]);
        let mut tokens: Vec<&str> = t.split(' ').collect();
        tokens.sort();
        // 138 380 800 000 001 013 138 380 800: each distinct trigram once.
        assert_eq!(tokens, ["d000", "d001", "d013", "d138", "d380", "d800"]);
        let t = lead_tokens([], ["1065529988"]);
        assert!(t.split(' ').any(|g| g == "d010"), "trunk zero: {t}");
        let t = lead_tokens(["58同城 第1001分公司"], []);
        let tokens: Vec<&str> = t.split(' ').collect();
        for expected in ["d58", "d100", "d001", "58", "1001"] {
            assert!(tokens.contains(&expected), "{expected} in {t}");
        }
    }

    #[test]
    fn digit_queries_ask_for_every_trigram_and_name_the_digits_to_check() {
        let terms = parse_query("5678").unwrap();
        assert_eq!(terms, vec![Term::Digits("5678".into())]);
        assert_eq!(fts5_match(&terms), "\"d567\" \"d678\"");
        assert_eq!(tsquery(&terms), "'d567' & 'd678'");
        assert_eq!(digit_terms(&terms).collect::<Vec<_>>(), ["5678"]);
        let terms = parse_query("58").unwrap();
        assert_eq!(fts5_match(&terms), "\"d58\"*");
        assert_eq!(tsquery(&terms), "'d58':*");
        let terms = parse_query("王 8000").unwrap();
        assert_eq!(
            terms,
            vec![Term::Exact("王".into()), Term::Digits("8000".into())]
        );
        assert_eq!(fts5_match(&terms), "\"王\" \"d000\" \"d800\"");
    }

    #[test]
    fn queries_become_terms() {
        assert_eq!(parse_query("王"), Some(vec![Term::Exact("王".into())]));
        assert_eq!(
            parse_query("王小明"),
            Some(vec![Term::Exact("王小".into()), Term::Exact("小明".into())])
        );
        assert_eq!(parse_query("8000"), Some(vec![Term::Digits("8000".into())]));
        assert_eq!(
            parse_query("6552 9988"),
            Some(vec![Term::Digits("65529988".into())])
        );
        assert_eq!(
            parse_query("+86 138 0013 8000"),
            Some(vec![Term::Digits("13800138000".into())])
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
            let (Term::Exact(s) | Term::Prefix(s) | Term::Digits(s)) = t;
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
