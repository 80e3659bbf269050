//! Pinyin search tokens for the Hanzi of a lead's name and company, so that a name is found
//! the way Chinese CRMs find it: `wang` or `zhangwei` (full pinyin) and `zw` (initials) find
//! 张伟, as a prefix like any typed word.
//!
//! Each run of Hanzi gives each syllable (`zhang`, `wei`), the whole run (`zhangwei`) and its
//! initials (`zw`), and every suffix of both (`wei`, `w`), so that a given name is found
//! without its surname (`xiaoming` for 王小明) and a company by its middle (`yunfan` for
//! 杭州云帆网络). A run is read up to its first 12 characters, so a long company name stays a
//! bounded number of tokens. A character with several readings (多音字) gives the extra
//! syllables too, and the run's first character (a surname: 单 shan/dan, 曾 zeng/ceng, 解
//! xie/jie) the whole and the initials with each reading. `ü` is written `v`, as input methods
//! type it.

use pinyin::{ToPinyin, ToPinyinMulti};

/// Characters of one run turned into pinyin at most (a pasted paragraph in a company name
/// stays a bounded number of tokens).
const MAX_RUN: usize = 12;
/// Readings of one character taken at most.
const MAX_READINGS: usize = 3;

fn plain(s: &str) -> String {
    s.replace('ü', "v")
}

/// The readings of a character, the usual one first; empty for a character without pinyin.
fn readings(c: char) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(p) = c.to_pinyin() {
        out.push(plain(p.plain()));
    }
    if let Some(multi) = c.to_pinyin_multi() {
        for p in multi {
            let r = plain(p.plain());
            if !out.contains(&r) && out.len() < MAX_READINGS {
                out.push(r);
            }
        }
    }
    out
}

/// Appends the pinyin tokens of a run of CJK characters; characters without pinyin (kana,
/// hangul) split the run.
pub(super) fn tokens(run: &[char], out: &mut Vec<String>) {
    let mut part: Vec<Vec<String>> = Vec::new();
    for &c in run {
        let r = readings(c);
        if r.is_empty() {
            part_tokens(&part, out);
            part.clear();
        } else {
            part.push(r);
        }
    }
    part_tokens(&part, out);
}

fn part_tokens(chars: &[Vec<String>], out: &mut Vec<String>) {
    let chars = &chars[..chars.len().min(MAX_RUN)];
    if chars.is_empty() {
        return;
    }
    for r in chars {
        out.extend(r.iter().cloned());
    }
    let usual: Vec<&str> = chars.iter().map(|r| r[0].as_str()).collect();
    let whole = |from: usize, first: &str| {
        let mut full = first.to_string();
        let mut initials: String = first.chars().take(1).collect();
        for s in &usual[from + 1..] {
            full.push_str(s);
            initials.extend(s.chars().take(1));
        }
        (full, initials)
    };
    for (from, first) in usual.iter().enumerate() {
        let (full, initials) = whole(from, first);
        out.push(full);
        out.push(initials);
    }
    // The surname's other readings.
    for other in chars[0].iter().skip(1) {
        let (full, initials) = whole(0, other);
        out.push(full);
        out.push(initials);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut out = Vec::new();
        tokens(&chars, &mut out);
        out.sort();
        out.dedup();
        out
    }

    #[test]
    fn a_name_gives_its_syllables_its_whole_and_its_initials() {
        let t = of("张伟");
        for want in ["zhang", "wei", "zhangwei", "zw", "w"] {
            assert!(t.iter().any(|x| x == want), "{want} in {t:?}");
        }
        let t = of("王小明");
        for want in ["wang", "xiaoming", "wangxiaoming", "wxm", "xm"] {
            assert!(t.iter().any(|x| x == want), "{want} in {t:?}");
        }
    }

    #[test]
    fn a_surname_with_two_readings_is_found_by_both() {
        let t = of("单田芳");
        for want in ["shantianfang", "dantianfang", "stf", "dtf"] {
            assert!(t.iter().any(|x| x == want), "{want} in {t:?}");
        }
        assert!(of("吕布").iter().any(|x| x == "lvbu"));
    }

    #[test]
    fn a_company_is_found_by_its_middle_and_a_long_one_stays_bounded() {
        let t = of("杭州云帆网络");
        for want in ["hangzhouyunfanwangluo", "hzyfwl", "yunfanwangluo", "yfwl"] {
            assert!(t.iter().any(|x| x == want), "{want} in {t:?}");
        }
        let long: String = "华为技术有限公司".repeat(5);
        assert!(of(&long).len() < 80, "{}", of(&long).len());
    }
}
