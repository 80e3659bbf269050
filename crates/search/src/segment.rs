//! Segmentation: Chinese runs cut by jieba (search mode), Latin words lower-cased with plurals
//! folded, full-width forms made ASCII, stop words dropped — one function for what is indexed
//! and what is asked, so that both sides always produce the same tokens.

use std::sync::OnceLock;

use jieba_rs::Jieba;

/// Tokens longer than this (in bytes) are noise (hashes, pasted URLs) and are not indexed.
const MAX_TOKEN_BYTES: usize = 60;

/// Words of the trade the bundled dictionary lacks, so they stay whole (word, frequency).
const TRADE_WORDS: &[(&str, usize)] = &[
    ("话术", 3000),
    ("撞单", 3000),
    ("公海", 3000),
    ("电销", 3000),
    ("回访", 3000),
    ("勿扰", 3000),
    ("决策人", 3000),
    ("标准版", 3000),
    ("专业版", 3000),
    ("企业版", 3000),
    ("旗舰版", 3000),
    ("试用期", 3000),
    ("试用版", 3000),
    ("专票", 3000),
    ("普票", 3000),
    ("报价单", 3000),
    ("竞品", 3000),
    ("私有化", 3000),
    ("续费", 3000),
    ("退款", 3000),
    ("发邮件", 2000),
];

/// Function words that carry no meaning for search, Chinese and English.
const STOP_WORDS: &[&str] = &[
    "的",
    "了",
    "是",
    "在",
    "和",
    "与",
    "及",
    "或",
    "也",
    "都",
    "就",
    "而",
    "着",
    "吗",
    "呢",
    "吧",
    "啊",
    "呀",
    "哦",
    "嗯",
    "么",
    "这",
    "那",
    "这个",
    "那个",
    "我",
    "你",
    "他",
    "她",
    "它",
    "我们",
    "你们",
    "他们",
    "您",
    "请",
    "把",
    "被",
    "让",
    "给",
    "对",
    "从",
    "到",
    "为",
    "以",
    "之",
    "其",
    "于",
    "很",
    "一个",
    "一下",
    "什么",
    "怎么",
    "怎样",
    "怎么办",
    "如何",
    "为什么",
    "哪",
    "哪些",
    "吗",
    "得",
    "地",
    "说",
    "还",
    "又",
    "等",
    "个",
    "些",
    "上",
    "下",
    "中",
    "a",
    "an",
    "the",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "to",
    "of",
    "for",
    "in",
    "on",
    "at",
    "by",
    "with",
    "and",
    "or",
    "it",
    "its",
    "this",
    "that",
    "these",
    "those",
    "i",
    "me",
    "my",
    "you",
    "your",
    "we",
    "our",
    "he",
    "she",
    "they",
    "them",
    "their",
    "do",
    "does",
    "did",
    "how",
    "what",
    "when",
    "where",
    "why",
    "which",
    "can",
    "could",
    "should",
    "would",
    "will",
    "please",
    "about",
    "from",
    "as",
    "if",
    "so",
    "too",
    "very",
    "just",
    "there",
    "here",
    "any",
    "some",
];

/// The process-wide segmenter: jieba's dictionary takes ≈100 ms and ≈38 MB to load, so it is
/// built once, on first use, and shared by every request.
pub(crate) fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(|| {
        let mut j = Jieba::new();
        for (word, freq) in TRADE_WORDS {
            j.add_word(word, Some(*freq), None);
        }
        j
    })
}

/// Loads the dictionary now (at server start) rather than inside the first search request.
pub fn warm_up() {
    let _ = jieba();
}

/// Whether `c` is a Han (or kana/hangul) character, segmented by jieba rather than by spaces.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F | 0x3040..=0x30FF | 0xAC00..=0xD7AF)
}

/// Full-width letters and digits (ＡＢＣ１２３), as Chinese input methods type them, made ASCII.
pub(crate) fn fold_width(c: char) -> char {
    match c as u32 {
        0xFF10..=0xFF19 | 0xFF21..=0xFF3A | 0xFF41..=0xFF5A => {
            char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
        }
        _ => c,
    }
}

/// A letter or digit that is part of a Latin-script word.
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

pub(crate) fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.contains(&word)
}

/// Lower-cases a Latin word and folds regular plurals (policies → policy, prices → price), so
/// that singular and plural find each other without a full stemmer.
pub(crate) fn normalise_word(word: &str) -> String {
    let w: String = word.chars().flat_map(char::to_lowercase).collect();
    let n = w.chars().count();
    if n > 4 && w.ends_with("ies") {
        format!("{}y", &w[..w.len() - 3])
    } else if n > 4
        && (w.ends_with("sses") || w.ends_with("xes") || w.ends_with("ches") || w.ends_with("shes"))
    {
        w[..w.len() - 2].to_string()
    } else if n > 3
        && w.ends_with('s')
        && !w.ends_with("ss")
        && !w.ends_with("us")
        && !w.ends_with("is")
    {
        w[..w.len() - 1].to_string()
    } else {
        w
    }
}

/// A run of text of one script.
pub(crate) enum Run {
    Cjk(String),
    Word(String),
}

/// Splits text into Chinese runs and Latin words; punctuation and spaces separate them.
pub(crate) fn runs(text: &str) -> Vec<Run> {
    let mut out = Vec::new();
    let mut cjk = String::new();
    let mut word = String::new();
    for c in text.chars().map(fold_width) {
        if is_cjk(c) {
            if !word.is_empty() {
                out.push(Run::Word(std::mem::take(&mut word)));
            }
            cjk.push(c);
        } else if is_word_char(c) {
            if !cjk.is_empty() {
                out.push(Run::Cjk(std::mem::take(&mut cjk)));
            }
            word.push(c);
        } else {
            if !cjk.is_empty() {
                out.push(Run::Cjk(std::mem::take(&mut cjk)));
            }
            if !word.is_empty() {
                out.push(Run::Word(std::mem::take(&mut word)));
            }
        }
    }
    if !cjk.is_empty() {
        out.push(Run::Cjk(cjk));
    }
    if !word.is_empty() {
        out.push(Run::Word(word));
    }
    out
}

/// jieba's search-mode words of a Chinese run (compounds and their parts), stop words dropped.
pub(crate) fn cjk_words(run: &str) -> impl Iterator<Item = &str> {
    jieba()
        .cut_for_search(run, true)
        .into_iter()
        .map(|t| t.word)
        .filter(|w| !w.is_empty() && !is_stop_word(w))
}

/// The space-separated token string stored for `text`: what FTS5 indexes and what PostgreSQL
/// turns into a tsvector with `array_to_tsvector(string_to_array(tokens, ' '))`. Repeated words
/// stay repeated, so term frequency counts in bm25.
pub fn index_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    let mut push = |t: &str| {
        if t.len() <= MAX_TOKEN_BYTES {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(t);
        }
    };
    for run in runs(text) {
        match run {
            Run::Cjk(s) => {
                for w in cjk_words(&s) {
                    push(w);
                }
            }
            Run::Word(w) => {
                let n = normalise_word(&w);
                if !is_stop_word(&n) {
                    push(&n);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_is_cut_into_words_and_compounds() {
        let t = index_tokens("客户觉得价格太贵，要求退款。");
        let tokens: Vec<&str> = t.split(' ').collect();
        for w in ["客户", "价格", "退款"] {
            assert!(tokens.contains(&w), "{w} in {t}");
        }
        assert!(!tokens.contains(&"，"));
        assert!(!tokens.contains(&"的"));
    }

    #[test]
    fn trade_words_stay_whole() {
        let t = index_tokens("企业版支持私有化部署，撞单由主管裁决");
        let tokens: Vec<&str> = t.split(' ').collect();
        for w in ["企业版", "私有化", "撞单"] {
            assert!(tokens.contains(&w), "{w} in {t}");
        }
    }

    #[test]
    fn english_is_lower_cased_and_plurals_fold() {
        assert_eq!(
            index_tokens("The Refund Policies, prices!"),
            "refund policy price"
        );
        assert_eq!(index_tokens("Ｅｍａｉｌ　ＰＤＦ"), "email pdf");
        assert_eq!(normalise_word("boxes"), "box");
        assert_eq!(normalise_word("status"), "status");
        assert_eq!(normalise_word("business"), "business");
    }

    #[test]
    fn tokens_are_plain_words_without_query_syntax() {
        let t = index_tokens("a\"b OR c* NEAR(x) 'd' -e 价格\"优惠");
        for tok in t.split(' ') {
            assert!(tok.chars().all(char::is_alphanumeric), "{tok}");
        }
    }

    #[test]
    fn mixed_scripts_split_cleanly() {
        let t = index_tokens("CRM系统支持API对接");
        let tokens: Vec<&str> = t.split(' ').collect();
        assert!(tokens.contains(&"crm"));
        assert!(tokens.contains(&"api"));
        assert!(tokens.contains(&"系统"));
    }
}
