//! Why an import refused a row, kept in both languages until someone reads it: the error
//! report is written in its reader's language, one language per report.

/// A reason in Chinese and in English.
pub type Reason = (&'static str, &'static str);

/// Between the Chinese and the English of a stored reason: the ASCII unit separator, which no
/// reason text holds.
pub const LANGUAGE_SEPARATOR: char = '\u{1f}';

/// The stored reason for row `number`: `第 N 行：…` and `row N: …`.
pub fn row_reason(number: impl std::fmt::Display, zh: &str, en: &str) -> String {
    format!("第 {number} 行：{zh}{LANGUAGE_SEPARATOR}row {number}: {en}")
}

/// A stored reason in one language. A reason stored before the languages were kept apart
/// (`中文 / English` on one line) is given whole.
pub fn reason_in(stored: &str, english: bool) -> &str {
    match stored.split_once(LANGUAGE_SEPARATOR) {
        Some((zh, en)) => {
            if english {
                en
            } else {
                zh
            }
        }
        None => stored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_language_is_read_alone() {
        let stored = row_reason(6, "电话号码无效", "phone: not a valid phone number");
        assert_eq!(reason_in(&stored, false), "第 6 行：电话号码无效");
        assert_eq!(
            reason_in(&stored, true),
            "row 6: phone: not a valid phone number"
        );
        assert_eq!(reason_in("旧 / old", true), "旧 / old");
    }
}
