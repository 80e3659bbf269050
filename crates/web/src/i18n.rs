//! Interface words: every user-facing string has a key; zh-CN is the default and English complete.
//! The catalogues are `i18n/zh-CN.txt` and `i18n/en.txt`, lines of `key = text`.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

const ZH: &str = include_str!("../i18n/zh-CN.txt");
const EN: &str = include_str!("../i18n/en.txt");

fn parse(text: &'static str) -> HashMap<&'static str, &'static str> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

fn catalogue(lang: Lang) -> &'static HashMap<&'static str, &'static str> {
    static ZH_MAP: OnceLock<HashMap<&str, &str>> = OnceLock::new();
    static EN_MAP: OnceLock<HashMap<&str, &str>> = OnceLock::new();
    match lang {
        Lang::Zh => ZH_MAP.get_or_init(|| parse(ZH)),
        Lang::En => EN_MAP.get_or_init(|| parse(EN)),
    }
}

impl Lang {
    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            c if c.starts_with("zh") => Some(Lang::Zh),
            c if c.starts_with("en") => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// The text for `key`; the key itself if missing (a test keeps both catalogues complete).
    pub fn t(self, key: &str) -> &'static str {
        match catalogue(self).get(key) {
            Some(v) => v,
            None => {
                tracing::warn!(key, "missing translation");
                catalogue(Lang::Zh).get(key).copied().unwrap_or("?")
            }
        }
    }

    /// Whether the catalogue has `key` (for a specific text with a general one to fall back to).
    pub fn has(self, key: &str) -> bool {
        catalogue(self).contains_key(key)
    }

    /// `tf` for a count `n`: English takes `key.one` for exactly one ("1 day left", not
    /// "1 days left") when the catalogue has it; Chinese has no plural.
    pub fn tn(self, key: &str, n: i64, args: &[(&str, &str)]) -> String {
        let one = format!("{key}.one");
        let key = if self == Lang::En && n == 1 && self.has(&one) {
            one.as_str()
        } else {
            key
        };
        self.tf(key, args)
    }

    /// `t` with `{name}`-style placeholders filled.
    pub fn tf(self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.t(key).to_string();
        for (k, v) in args {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        s
    }

    pub fn error_message(self, err: &AppError) -> String {
        self.error_message_labelled(err, |_| None)
    }

    /// `error_message`, naming the fields `label` knows (custom fields) by that label.
    pub fn error_message_labelled(
        self,
        err: &AppError,
        label: impl Fn(&str) -> Option<String>,
    ) -> String {
        use leadline_store::StoreError;
        match err {
            AppError::Store(StoreError::DuplicatePhone(d)) => {
                let owner = d
                    .existing_owner_name
                    .clone()
                    .unwrap_or_else(|| self.t("lead.pool").to_string());
                let phone = &d.phone;
                match (d.existing_lead, &d.existing_name) {
                    (Some(id), Some(name)) => self.tf(
                        "error.duplicate_phone",
                        &[
                            ("phone", phone),
                            ("id", &id.to_string()),
                            ("name", name),
                            ("owner", &owner),
                        ],
                    ),
                    // A lead the reader may not see: whose it is and since when, not the lead.
                    _ => self.tf(
                        "error.duplicate_phone_held",
                        &[
                            ("phone", phone),
                            ("owner", &owner),
                            (
                                "since",
                                &d.owner_since.format("%Y-%m-%d %H:%M UTC").to_string(),
                            ),
                        ],
                    ),
                }
            }
            AppError::Store(StoreError::ClaimReferred { owner_name, .. }) => {
                self.tf("error.claim_referred", &[("owner", owner_name)])
            }
            AppError::Store(StoreError::ClaimRefused(
                leadline_domain::ownership::ClaimRefusal::Cooldown { until },
            )) => self.tf(
                "error.cooldown",
                &[(
                    "until",
                    &until
                        .with_timezone(&leadline_domain::calling_hours::DEFAULT_TZ)
                        .format("%Y-%m-%d %H:%M")
                        .to_string(),
                )],
            ),
            AppError::Store(StoreError::Invalid(problems)) => {
                let parts: Vec<String> = problems
                    .iter()
                    .map(|p| {
                        format!(
                            "{}: {}",
                            label(&p.field).unwrap_or_else(|| self.field_label(&p.field)),
                            self.t(&format!("problem.{}", p.code))
                        )
                    })
                    .collect();
                format!("{} {}", self.t("error.invalid_input"), parts.join("; "))
            }
            other => self.t(&format!("error.{}", other.code())).to_string(),
        }
    }

    /// A standard field's label, or the key itself for custom fields.
    pub fn field_label(self, field: &str) -> String {
        let key = format!("field.{field}");
        if catalogue(self).contains_key(key.as_str()) {
            self.t(&key).to_string()
        } else {
            field.to_string()
        }
    }
}

#[cfg(test)]
mod keys_used;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_is_complete_and_chinese_is_the_default() {
        let zh = catalogue(Lang::Zh);
        let en = catalogue(Lang::En);
        let mut missing_en: Vec<_> = zh.keys().filter(|k| !en.contains_key(*k)).collect();
        let mut missing_zh: Vec<_> = en.keys().filter(|k| !zh.contains_key(*k)).collect();
        missing_en.sort();
        missing_zh.sort();
        assert!(missing_en.is_empty(), "missing in en: {missing_en:?}");
        assert!(missing_zh.is_empty(), "missing in zh-CN: {missing_zh:?}");
        assert_eq!(Lang::default(), Lang::Zh);
        assert_eq!(Lang::Zh.t("nav.leads"), "线索");
        assert_eq!(Lang::En.t("nav.leads"), "Leads");
    }

    #[test]
    fn every_error_code_has_words() {
        for code in [
            "unauthenticated",
            "invalid_credentials",
            "too_many_attempts",
            "csrf_failed",
            "forbidden",
            "not_found",
            "edit_conflict",
            "duplicate_phone",
            "already_exists",
            "invalid_input",
            "internal_error",
            "bad_json",
            "payload_too_large",
            "protection_cap",
        ] {
            for lang in [Lang::Zh, Lang::En] {
                assert!(
                    catalogue(lang).contains_key(format!("error.{code}").as_str()),
                    "{code} in {lang:?}"
                );
            }
        }
    }
}
