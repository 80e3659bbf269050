//! Lead status and intent level, with the codes stored and the words shown.

use serde::{Deserialize, Serialize};

macro_rules! coded_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $code:literal, $zh:literal, $en:literal;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn label(self, lang: &str) -> &'static str {
                match (self, lang.starts_with("en")) {
                    $(($name::$variant, false) => $zh, ($name::$variant, true) => $en),+
                }
            }

            /// Accepts the stored code, or the Chinese or English words a user may type.
            pub fn parse(s: &str) -> Option<$name> {
                let s = s.trim();
                $name::ALL.iter().copied().find(|v| {
                    v.code() == s || v.label("zh") == s || v.label("en").eq_ignore_ascii_case(s)
                })
            }
        }
    };
}

coded_enum!(
    /// Where a lead stands in the telesales process (F2).
    LeadStatus {
        New = "new", "新线索", "New";
        Contacted = "contacted", "已联系", "Contacted";
        CallBack = "call_back", "待回访", "Call back";
        Qualified = "qualified", "已合格", "Qualified";
        NotInterested = "not_interested", "无兴趣", "Not interested";
        InvalidNumber = "invalid_number", "空号错号", "Invalid number";
        DoNotCall = "do_not_call", "勿扰", "Do not call";
        Converted = "converted", "已转化", "Converted";
    }
);

coded_enum!(
    /// How much the prospect wants the product, in the regulations' five steps.
    IntentLevel {
        Resistant = "resistant", "抗拒", "Resistant";
        NoStance = "no_stance", "无表态", "No stance";
        Interested = "interested", "有意向", "Interested";
        Positive = "positive", "态度积极", "Positive";
        StrongDemand = "strong_demand", "需求强烈", "Strong demand";
    }
);

/// A company name reduced to what identifies it: legal suffixes, brackets and spaces removed,
/// Latin letters lower-cased, so that "北京星河科技有限公司" and "星河科技（北京）" compare alike.
pub fn normalise_company(company: &str) -> String {
    const SUFFIXES: &[&str] = &[
        "股份有限公司",
        "有限责任公司",
        "有限公司",
        "集团",
        "公司",
        "co.,ltd.",
        "co., ltd.",
        "co.,ltd",
        "co. ltd",
        "ltd.",
        "ltd",
        "inc.",
        "inc",
        "llc",
    ];
    let mut s: String = company
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            other => other,
        })
        .collect();
    // Drop a bracketed place such as "(北京)".
    while let (Some(open), Some(close)) = (s.find('('), s.find(')')) {
        if close < open {
            break;
        }
        s.replace_range(open..=close, "");
    }
    loop {
        let before = s.len();
        for suffix in SUFFIXES {
            let compact: String = suffix.chars().filter(|c| !c.is_whitespace()).collect();
            if let Some(stripped) = s.strip_suffix(compact.as_str()) {
                s = stripped.to_string();
            }
        }
        if s.len() == before {
            break;
        }
    }
    s.trim_matches(|c: char| c == ',' || c == '.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_from_code_chinese_and_english() {
        assert_eq!(LeadStatus::parse("call_back"), Some(LeadStatus::CallBack));
        assert_eq!(LeadStatus::parse("待回访"), Some(LeadStatus::CallBack));
        assert_eq!(LeadStatus::parse("call back"), Some(LeadStatus::CallBack));
        assert_eq!(LeadStatus::parse("whatever"), None);
        assert_eq!(LeadStatus::ALL.len(), 8);
    }

    #[test]
    fn intent_levels_are_the_regulations_five() {
        let zh: Vec<_> = IntentLevel::ALL.iter().map(|i| i.label("zh-CN")).collect();
        assert_eq!(zh, ["抗拒", "无表态", "有意向", "态度积极", "需求强烈"]);
        assert_eq!(IntentLevel::parse("有意向"), Some(IntentLevel::Interested));
        assert_eq!(IntentLevel::Interested.label("en"), "Interested");
    }

    #[test]
    fn company_names_normalise_alike() {
        assert_eq!(normalise_company("北京星河科技有限公司"), "北京星河科技");
        assert_eq!(normalise_company("星河科技（北京）有限公司"), "星河科技");
        assert_eq!(normalise_company(" Acme Co., Ltd. "), "acme");
        assert_eq!(normalise_company("ACME Inc"), "acme");
    }
}

/// What a person or a file submits for a lead, before any checking.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadDraft {
    pub name: String,
    pub phones: Vec<String>,
    pub company: Option<String>,
    pub title: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub source: Option<String>,
    pub tags: Vec<String>,
    pub status: Option<String>,
    pub intent: Option<String>,
    pub custom: serde_json::Map<String, serde_json::Value>,
    /// Optional e-mail address (checked by [`parse_email`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// A lead's fields after checking: what storage accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadFields {
    pub name: String,
    pub phones: Vec<crate::PhoneNumber>,
    pub company: Option<String>,
    pub title: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub source: Option<String>,
    pub tags: Vec<String>,
    pub status: LeadStatus,
    pub intent: Option<IntentLevel>,
    pub custom: serde_json::Map<String, serde_json::Value>,
    /// Trimmed, domain in lower case ([`parse_email`]).
    pub email: Option<String>,
}

/// Longest standard text field (company, title, city…) and name.
pub const MAX_FIELD_LEN: usize = 200;
pub const MAX_PHONES: usize = 5;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_LEN: usize = 30;

fn optional_text(
    field: &str,
    value: &Option<String>,
    problems: &mut Vec<crate::FieldProblem>,
) -> Option<String> {
    let v = value.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    if v.chars().count() > MAX_FIELD_LEN {
        problems.push(crate::FieldProblem {
            field: field.into(),
            code: "too_long",
        });
    }
    Some(v.to_string())
}

impl LeadFields {
    /// Checks every field of a draft, collecting all problems at once.
    pub fn parse(
        draft: &LeadDraft,
        defs: &[crate::CustomFieldDef],
    ) -> Result<LeadFields, Vec<crate::FieldProblem>> {
        use crate::FieldProblem;
        let mut problems = Vec::new();
        let mut push = |field: &str, code: &'static str| {
            problems.push(FieldProblem {
                field: field.into(),
                code,
            })
        };
        let name = draft.name.trim().to_string();
        if name.is_empty() {
            push("name", "required");
        } else if name.chars().count() > MAX_FIELD_LEN {
            push("name", "too_long");
        }
        let mut phones: Vec<crate::PhoneNumber> = Vec::new();
        let raw_phones: Vec<&str> = draft
            .phones
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .collect();
        if raw_phones.len() > MAX_PHONES {
            push("phones", "too_many");
        }
        for raw in raw_phones {
            match crate::PhoneNumber::parse(raw) {
                Ok(p) if phones.iter().any(|q| q.e164() == p.e164()) => {}
                Ok(p) => phones.push(p),
                Err(_) => push("phones", "bad_phone"),
            }
        }
        let status = match draft
            .status
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => LeadStatus::New,
            Some(s) => LeadStatus::parse(s).unwrap_or_else(|| {
                push("status", "not_an_option");
                LeadStatus::New
            }),
        };
        let intent = match draft
            .intent
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(s) => {
                let parsed = IntentLevel::parse(s);
                if parsed.is_none() {
                    push("intent", "not_an_option");
                }
                parsed
            }
        };
        let mut tags: Vec<String> = Vec::new();
        for t in draft.tags.iter().flat_map(|t| t.split([',', '，'])) {
            let t = t.trim();
            if t.is_empty() || tags.iter().any(|x| x == t) {
                continue;
            }
            if t.chars().count() > MAX_TAG_LEN {
                push("tags", "too_long");
            }
            tags.push(t.to_string());
        }
        if tags.len() > MAX_TAGS {
            push("tags", "too_many");
        }
        let mut problems_text = Vec::new();
        let company = optional_text("company", &draft.company, &mut problems_text);
        let title = optional_text("title", &draft.title, &mut problems_text);
        let city = optional_text("city", &draft.city, &mut problems_text);
        let region = optional_text("region", &draft.region, &mut problems_text);
        let source = optional_text("source", &draft.source, &mut problems_text);
        problems.extend(problems_text);
        let email = match draft
            .email
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(e) => {
                let parsed = parse_email(e);
                if parsed.is_none() {
                    problems.push(FieldProblem {
                        field: "email".into(),
                        code: "bad_email",
                    });
                }
                parsed
            }
        };
        let custom = match crate::custom_field::validate_custom(defs, &draft.custom) {
            Ok(c) => c,
            Err(p) => {
                problems.extend(p);
                Default::default()
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(LeadFields {
            name,
            phones,
            company,
            title,
            city,
            region,
            source,
            tags,
            status,
            intent,
            custom,
            email,
        })
    }
}

/// Longest e-mail address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// An e-mail address in the one form stored and matched: trimmed, the domain in lower case
/// (the local part is kept as typed: mailboxes may be case-sensitive). A sane shape: one `@`,
/// a local part and a dotted domain, no spaces, quotes or brackets; `None` otherwise.
pub fn parse_email(raw: &str) -> Option<String> {
    let s = raw.trim();
    if s.is_empty() || s.len() > MAX_EMAIL_LEN {
        return None;
    }
    let (local, domain) = s.split_once('@')?;
    let bad = |c: char| c.is_whitespace() || c.is_control() || "@\"<>()[],;:".contains(c);
    if local.is_empty() || local.len() > 64 || local.chars().any(bad) {
        return None;
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return None;
    }
    let domain = domain.to_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels.iter().any(|l| {
            l.is_empty()
                || l.starts_with('-')
                || l.ends_with('-')
                || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
    {
        return None;
    }
    Some(format!("{local}@{domain}"))
}

#[cfg(test)]
mod draft_tests {
    use super::*;

    #[test]
    fn a_good_draft_parses_with_defaults() {
        let d = LeadDraft {
            name: " 王小明 ".into(),
            phones: vec!["138 0013 8000".into(), "+8613800138000".into(), "".into()],
            tags: vec!["展会, VIP".into(), "VIP".into()],
            intent: Some("有意向".into()),
            ..Default::default()
        };
        let f = LeadFields::parse(&d, &[]).unwrap();
        assert_eq!(f.name, "王小明");
        assert_eq!(f.phones.len(), 1, "the same number twice is kept once");
        assert_eq!(f.tags, ["展会", "VIP"]);
        assert_eq!(f.status, LeadStatus::New);
        assert_eq!(f.intent, Some(IntentLevel::Interested));
    }

    #[test]
    fn e_mail_addresses_are_trimmed_and_their_domain_lower_cased() {
        assert_eq!(
            parse_email("  Wang.Wei@XingHe.COM.cn "),
            Some("Wang.Wei@xinghe.com.cn".into())
        );
        assert_eq!(parse_email("a+b@例子.中国"), Some("a+b@例子.中国".into()));
        for bad in [
            "",
            "wang",
            "wang@",
            "@xinghe.com",
            "wang@xinghe",
            "wang wei@xinghe.com",
            "a@@b.com",
            "a@b..com",
            "a@-b.com",
            ".a@b.com",
            "a..b@c.com",
            "a@b.com.",
            "<a@b.com>",
        ] {
            assert_eq!(parse_email(bad), None, "{bad:?}");
        }
        let d = LeadDraft {
            name: "王伟".into(),
            email: Some(" wang@XingHe.com ".into()),
            ..Default::default()
        };
        assert_eq!(
            LeadFields::parse(&d, &[]).unwrap().email.as_deref(),
            Some("wang@xinghe.com")
        );
        let d = LeadDraft {
            email: Some("not an address".into()),
            ..d
        };
        let problems = LeadFields::parse(&d, &[]).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.field == "email" && p.code == "bad_email")
        );
        let d = LeadDraft {
            email: Some("   ".into()),
            ..d
        };
        assert_eq!(LeadFields::parse(&d, &[]).unwrap().email, None);
    }

    #[test]
    fn every_bad_field_is_named() {
        let d = LeadDraft {
            name: "  ".into(),
            phones: vec!["12".into()],
            status: Some("sold".into()),
            intent: Some("meh".into()),
            company: Some("公".repeat(MAX_FIELD_LEN + 1)),
            ..Default::default()
        };
        let fields: Vec<String> = LeadFields::parse(&d, &[])
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(fields, ["name", "phones", "status", "intent", "company"]);
    }
}
