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
        if let Some(e164) = fast_cn_mobile(raw_trimmed) {
            return Ok(PhoneNumber {
                e164,
                raw: raw_trimmed.to_string(),
            });
        }
        PhoneNumber::parse_slow(raw_trimmed)
    }

    /// The general parser (libphonenumber's metadata), for everything the fast path declines.
    fn parse_slow(raw_trimmed: &str) -> Result<PhoneNumber, PhoneError> {
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

/// The fast path for what most lead lists hold: a mainland mobile of 11 digits, optionally
/// after `+86`, `86` or `0086`, with spaces or dashes between digits. It accepts only mobile
/// prefixes that libphonenumber's metadata for CN lists as mobile (`13x`, `145`, `147`,
/// `15[0-35-9]`, `16[25-7]`, `17[0-35-8]`, `18x`, `19[0-35-9]`; `1740x` and the rest go the slow
/// way), so it gives exactly the slow path's E.164 (a property test compares both); anything
/// else returns `None` and is parsed the slow way. About 30× faster than the general parser.
fn fast_cn_mobile(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut digits = [0u8; 15];
    let mut n = 0usize;
    let mut plus = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                if n == digits.len() {
                    return None;
                }
                digits[n] = b;
                n += 1;
            }
            b'+' if i == 0 => plus = true,
            // A separator only between digits, never two in a row.
            b' ' | b'-' if n > 0 && i + 1 < bytes.len() && bytes[i + 1].is_ascii_digit() => {}
            _ => return None,
        }
    }
    let national: &[u8] = match (plus, n) {
        (false, 11) => &digits[..11],
        (true, 13) if &digits[..2] == b"86" => &digits[2..13],
        (false, 13) if &digits[..2] == b"86" => &digits[2..13],
        (false, 15) if &digits[..4] == b"0086" => &digits[4..15],
        _ => return None,
    };
    let ok = national[0] == b'1'
        && match (national[1], national[2]) {
            (b'3' | b'8', _) => true,
            (b'4', b'5' | b'7') => true,
            (b'5' | b'9', d) => d != b'4',
            (b'6', b'2' | b'5' | b'6' | b'7') => true,
            (b'7', d) => matches!(d, b'0'..=b'3' | b'5'..=b'8'),
            _ => false,
        };
    if !ok {
        return None;
    }
    let mut e164 = String::with_capacity(14);
    e164.push_str("+86");
    e164.extend(national.iter().map(|&b| char::from(b)));
    Some(e164)
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

    #[test]
    fn the_fast_path_agrees_with_the_general_parser() {
        use rand::{RngExt, SeedableRng, rngs::StdRng};
        let mut rng = StdRng::seed_from_u64(7);
        let seps = ["", " ", "-"];
        let prefixes = ["", "+86", "86", "0086", "+86 ", "0086 ", "+", "0", "086"];
        for _ in 0..10_000 {
            let mut digits: String = (0..11)
                .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
                .collect();
            // Mostly plausible mobiles, sometimes anything.
            if rng.random_range(0..4) > 0 {
                digits.replace_range(0..1, "1");
            }
            let sep = seps[rng.random_range(0..seps.len())];
            let body = if sep.is_empty() || rng.random_range(0..2) == 0 {
                digits.clone()
            } else {
                format!(
                    "{}{sep}{}{sep}{}",
                    &digits[..3],
                    &digits[3..7],
                    &digits[7..]
                )
            };
            let raw = format!("{}{body}", prefixes[rng.random_range(0..prefixes.len())]);
            let slow = PhoneNumber::parse_slow(raw.trim()).ok().map(|p| p.e164);
            if let Some(fast) = fast_cn_mobile(raw.trim()) {
                assert_eq!(Some(fast), slow, "{raw}");
            }
            assert_eq!(PhoneNumber::parse(&raw).ok().map(|p| p.e164), slow, "{raw}");
        }
        // Every three-digit mobile prefix, both ways.
        for p in 100..200 {
            for tail in ["00000000", "12345678", "99999999", "05000000"] {
                let raw = format!("{p}{tail}");
                let slow = PhoneNumber::parse_slow(&raw).ok().map(|p| p.e164);
                if let Some(fast) = fast_cn_mobile(&raw) {
                    assert_eq!(Some(fast), slow, "{raw}");
                }
            }
        }
        assert_eq!(
            fast_cn_mobile("138-0013-8000").as_deref(),
            Some("+8613800138000")
        );
        assert_eq!(
            fast_cn_mobile("+86 138 0013 8000").as_deref(),
            Some("+8613800138000")
        );
        assert_eq!(
            fast_cn_mobile("008613800138000").as_deref(),
            Some("+8613800138000")
        );
        assert_eq!(
            fast_cn_mobile("17400138000"),
            None,
            "1740x is left to the slow path"
        );
        assert_eq!(fast_cn_mobile("138--0013-8000"), None);
    }
}
