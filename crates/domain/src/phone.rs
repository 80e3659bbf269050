//! Phone numbers, parsed once at the edge and kept as E.164 plus the raw text the user typed.

use phonenumber::{Mode, country};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhoneNumber {
    e164: String,
    raw: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("“{0}” is not a valid phone number")]
    Invalid(String),
}

impl PhoneNumber {
    /// Parses a number as offices write them: Chinese mobiles (`138 0013 8000`, `+86 138…`,
    /// `0086…`), landlines with area code (`010-6552 9988`, `(0755)86013388`) and international
    /// numbers starting with `+` or `00`. Full-width digits and punctuation are accepted.
    pub fn parse(raw: &str) -> Result<PhoneNumber, PhoneError> {
        let raw_trimmed = raw.trim();
        if raw_trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let mut cleaned = String::with_capacity(raw_trimmed.len());
        for c in raw_trimmed.chars() {
            let c = match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
                '＋' => '+',
                '（' => '(',
                '）' => ')',
                '－' | '—' | '–' => '-',
                other => other,
            };
            match c {
                '0'..='9' | '+' => cleaned.push(c),
                ' ' | '-' | '(' | ')' | '.' | '/' | '\u{3000}' => {}
                _ => return Err(PhoneError::Invalid(raw_trimmed.to_string())),
            }
        }
        if let Some(rest) = cleaned.strip_prefix("00") {
            cleaned = format!("+{rest}");
        }
        if cleaned.len() < 5 || cleaned.len() > 20 || cleaned[1..].contains('+') {
            return Err(PhoneError::Invalid(raw_trimmed.to_string()));
        }
        let parsed = phonenumber::parse(Some(country::Id::CN), &cleaned)
            .map_err(|_| PhoneError::Invalid(raw_trimmed.to_string()))?;
        if !parsed.is_valid() {
            return Err(PhoneError::Invalid(raw_trimmed.to_string()));
        }
        Ok(PhoneNumber {
            e164: parsed.format().mode(Mode::E164).to_string(),
            raw: raw_trimmed.to_string(),
        })
    }

    /// Rebuilds a number read back from storage, where it was validated on the way in.
    pub fn from_stored(e164: String, raw: String) -> PhoneNumber {
        PhoneNumber { e164, raw }
    }

    pub fn e164(&self) -> &str {
        &self.e164
    }

    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The digits a person dials inside the country, without the trunk zero: what quick search
    /// matches fragments against.
    pub fn national_digits(&self) -> &str {
        let digits = self.e164.trim_start_matches('+');
        digits.strip_prefix("86").unwrap_or(digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e164(raw: &str) -> String {
        PhoneNumber::parse(raw).unwrap().e164().to_string()
    }

    #[test]
    fn chinese_mobiles_in_every_common_spelling() {
        for raw in [
            "13800138000",
            "138 0013 8000",
            "138-0013-8000",
            "+86 138 0013 8000",
            "+8613800138000",
            "008613800138000",
            "１３８００１３８０００",
        ] {
            assert_eq!(e164(raw), "+8613800138000", "{raw}");
        }
    }

    #[test]
    fn landlines_with_area_codes() {
        assert_eq!(e164("010-6552 9988"), "+861065529988");
        assert_eq!(e164("(0755)86013388"), "+8675586013388");
        assert_eq!(e164("（021）6888-1234"), "+862168881234");
        assert_eq!(e164("0571 8702 2088"), "+8657187022088");
    }

    #[test]
    fn international_numbers_with_plus() {
        assert_eq!(e164("+1 (650) 253-0000"), "+16502530000");
        assert_eq!(e164("+44 20 7946 0958"), "+442079460958");
        assert_eq!(e164("+852 2123 4567"), "+85221234567");
    }

    #[test]
    fn raw_text_is_kept_for_display() {
        let p = PhoneNumber::parse("  010-6552 9988 ").unwrap();
        assert_eq!(p.raw(), "010-6552 9988");
        assert_eq!(p.national_digits(), "1065529988");
    }

    #[test]
    fn garbage_is_refused() {
        assert_eq!(PhoneNumber::parse("  "), Err(PhoneError::Empty));
        for raw in [
            "12345",
            "abc",
            "138001380000000000000",
            "138-0013-800x",
            "1+3800138000",
            "00000",
        ] {
            assert!(PhoneNumber::parse(raw).is_err(), "{raw} should be refused");
        }
    }
}
