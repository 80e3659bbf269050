//! Admin-defined custom fields: their kinds, and the validation every path (form, API, import) uses.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::PhoneNumber;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Number,
    Date,
    Select,
    MultiSelect,
    Phone,
    Email,
}

impl FieldKind {
    pub const ALL: [FieldKind; 7] = [
        FieldKind::Text,
        FieldKind::Number,
        FieldKind::Date,
        FieldKind::Select,
        FieldKind::MultiSelect,
        FieldKind::Phone,
        FieldKind::Email,
    ];

    pub fn code(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Date => "date",
            FieldKind::Select => "select",
            FieldKind::MultiSelect => "multi_select",
            FieldKind::Phone => "phone",
            FieldKind::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<FieldKind> {
        FieldKind::ALL.into_iter().find(|k| k.code() == s)
    }

    pub fn has_options(self) -> bool {
        matches!(self, FieldKind::Select | FieldKind::MultiSelect)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomFieldDef {
    /// Stable key used in the API and stored JSON: lower-case ASCII letters, digits and `_`.
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    pub kind: FieldKind,
    pub required: bool,
    #[serde(default)]
    pub options: Vec<String>,
}

/// Longest text accepted in a custom text field.
pub const MAX_TEXT_LEN: usize = 2000;

/// What separates a multi-select's options when it is written as one text (an import cell, a
/// form field): `;`, `；`, `,`, `，` or `、`.
pub const MULTI_SELECT_SEPARATORS: [char; 5] = [';', '；', ',', '，', '、'];

/// How an export writes a multi-select (`专业版;旗舰版`): one of
/// [`MULTI_SELECT_SEPARATORS`], so that the export imports back unchanged.
pub const MULTI_SELECT_JOIN: &str = ";";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub field: String,
    /// Stable code the interface translates: `required`, `not_a_number`, `bad_date`,
    /// `not_an_option`, `bad_phone`, `bad_email`, `too_long`, `unknown_field`.
    pub code: &'static str,
}

impl CustomFieldDef {
    /// Whether a key is acceptable for a new field.
    pub fn valid_key(key: &str) -> bool {
        !key.is_empty()
            && key.len() <= 40
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }

    /// The key a field gets when none is typed (issue 25): its English label in lowercase with
    /// underscores (`Industry sector` → `industry_sector`) when that makes a valid key, else
    /// `f_<n>` (`n` the next free number), so a field labelled only in Chinese needs no key typed.
    pub fn key_from_label(label_en: &str, n: i64) -> String {
        ascii_key(label_en)
            .filter(|k| CustomFieldDef::valid_key(k))
            .unwrap_or_else(|| format!("f_{n}"))
    }

    pub fn label(&self, lang: &str) -> &str {
        if lang.starts_with("en") && !self.label_en.is_empty() {
            &self.label_en
        } else {
            &self.label_zh
        }
    }

    /// A stored value as a person reads and types it, and as the import takes it back: an
    /// option's text, a multi-select's options joined by [`MULTI_SELECT_JOIN`], a number as
    /// written, nothing for an empty value.
    pub fn value_text(&self, value: &Value) -> String {
        match value {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Array(items) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(MULTI_SELECT_JOIN),
            other => other.to_string(),
        }
    }

    /// Turns one submitted value into the stored form; `Ok(None)` means "empty".
    fn check(&self, value: &Value) -> Result<Option<Value>, &'static str> {
        let text = match value {
            Value::Null => return Ok(None),
            Value::String(s) => Some(s.trim().to_string()),
            _ => None,
        };
        if text.as_deref() == Some("") {
            return Ok(None);
        }
        match self.kind {
            FieldKind::Text => {
                let s = text.ok_or("not_text")?;
                if s.chars().count() > MAX_TEXT_LEN {
                    return Err("too_long");
                }
                Ok(Some(Value::String(s)))
            }
            FieldKind::Number => {
                let n = match (value, text) {
                    (Value::Number(n), _) => n.as_f64(),
                    (_, Some(s)) => s.replace([',', '，'], "").parse::<f64>().ok(),
                    _ => None,
                };
                let n = n.filter(|n| n.is_finite()).ok_or("not_a_number")?;
                let v = if n.fract() == 0.0 && n.abs() < 9e15 {
                    Value::from(n as i64)
                } else {
                    Value::from(n)
                };
                Ok(Some(v))
            }
            FieldKind::Date => {
                let s = text.ok_or("bad_date")?;
                let d = chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                    .or_else(|_| chrono::NaiveDate::parse_from_str(&s, "%Y/%m/%d"))
                    .map_err(|_| "bad_date")?;
                Ok(Some(Value::String(d.format("%Y-%m-%d").to_string())))
            }
            FieldKind::Select => {
                let s = text.ok_or("not_an_option")?;
                if self.options.contains(&s) {
                    Ok(Some(Value::String(s)))
                } else {
                    Err("not_an_option")
                }
            }
            FieldKind::MultiSelect => {
                let items: Vec<String> = match value {
                    Value::Array(a) => a
                        .iter()
                        .map(|v| {
                            v.as_str()
                                .map(|s| s.trim().to_string())
                                .ok_or("not_an_option")
                        })
                        .collect::<Result<_, _>>()?,
                    // An option that itself holds a separator is taken whole.
                    Value::String(s) if self.options.iter().any(|o| o == s.trim()) => {
                        vec![s.trim().to_string()]
                    }
                    Value::String(s) => s
                        .split(MULTI_SELECT_SEPARATORS)
                        .map(|p| p.trim().to_string())
                        .collect(),
                    _ => return Err("not_an_option"),
                };
                let mut chosen: Vec<String> = Vec::new();
                for item in items.into_iter().filter(|i| !i.is_empty()) {
                    if !self.options.contains(&item) {
                        return Err("not_an_option");
                    }
                    if !chosen.contains(&item) {
                        chosen.push(item);
                    }
                }
                if chosen.is_empty() {
                    return Ok(None);
                }
                Ok(Some(Value::from(chosen)))
            }
            FieldKind::Phone => {
                let s = text.ok_or("bad_phone")?;
                let p = PhoneNumber::parse(&s).map_err(|_| "bad_phone")?;
                Ok(Some(Value::String(p.e164().to_string())))
            }
            FieldKind::Email => {
                let s = text.ok_or("bad_email")?;
                let ok = s.len() <= 254
                    && s.split_once('@').is_some_and(|(local, domain)| {
                        !local.is_empty()
                            && domain.contains('.')
                            && !domain.starts_with('.')
                            && !domain.ends_with('.')
                            && !s.contains(char::is_whitespace)
                            && !domain.contains('@')
                    });
                if ok {
                    Ok(Some(Value::String(s.to_lowercase())))
                } else {
                    Err("bad_email")
                }
            }
        }
    }
}

/// Validates a whole set of custom values against the definitions; returns the values in stored
/// form (empty ones dropped), or every problem found.
pub fn validate_custom(
    defs: &[CustomFieldDef],
    values: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let mut out = Map::new();
    for key in values.keys() {
        if !defs.iter().any(|d| &d.key == key) {
            problems.push(FieldProblem {
                field: key.clone(),
                code: "unknown_field",
            });
        }
    }
    for def in defs {
        match def.check(values.get(&def.key).unwrap_or(&Value::Null)) {
            Ok(Some(v)) => {
                out.insert(def.key.clone(), v);
            }
            Ok(None) if def.required => problems.push(FieldProblem {
                field: def.key.clone(),
                code: "required",
            }),
            Ok(None) => {}
            Err(code) => problems.push(FieldProblem {
                field: def.key.clone(),
                code,
            }),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// A label's ASCII words in lower case joined by underscores (`Industry sector` →
/// `industry_sector`, ` Budget (¥) ` → `budget`); None when it has none. Keys and codes that
/// people need not type are derived from it.
pub fn ascii_key(label: &str) -> Option<String> {
    let mut key = String::new();
    for c in label.trim().chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.is_empty() && !key.ends_with('_') {
            key.push('_');
        }
    }
    let key = key.trim_end_matches('_');
    (!key.is_empty()).then(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(key: &str, kind: FieldKind, required: bool, options: &[&str]) -> CustomFieldDef {
        CustomFieldDef {
            key: key.into(),
            label_zh: key.into(),
            label_en: key.into(),
            kind,
            required,
            options: options.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn defs() -> Vec<CustomFieldDef> {
        vec![
            def("budget", FieldKind::Number, false, &[]),
            def("visit", FieldKind::Date, false, &[]),
            def("industry", FieldKind::Select, true, &["教育", "医疗"]),
            def("products", FieldKind::MultiSelect, false, &["A", "B", "C"]),
            def("backup_phone", FieldKind::Phone, false, &[]),
            def("email", FieldKind::Email, false, &[]),
            def("note", FieldKind::Text, false, &[]),
        ]
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn good_values_are_stored_in_canonical_form() {
        let out = validate_custom(
            &defs(),
            &obj(
                json!({"budget": "12,000", "visit": "2026/12/01", "industry": "教育",
                "products": "A, C, A", "backup_phone": "010-6552 9988", "email": "Wang@Example.COM",
                "note": "  老客户介绍  "}),
            ),
        )
        .unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"budget": 12000, "visit": "2026-12-01", "industry": "教育", "products": ["A", "C"],
                "backup_phone": "+861065529988", "email": "wang@example.com", "note": "老客户介绍"})
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let problems = validate_custom(
            &defs(),
            &obj(
                json!({"budget": "lots", "visit": "31/12/2026", "products": ["D"],
                "backup_phone": "12", "email": "nobody", "colour": "red"}),
            ),
        )
        .unwrap_err();
        let got: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.field.as_str(), p.code))
            .collect();
        assert!(got.contains(&("colour", "unknown_field")));
        assert!(got.contains(&("budget", "not_a_number")));
        assert!(got.contains(&("visit", "bad_date")));
        assert!(got.contains(&("industry", "required")));
        assert!(got.contains(&("products", "not_an_option")));
        assert!(got.contains(&("backup_phone", "bad_phone")));
        assert!(got.contains(&("email", "bad_email")));
    }

    #[test]
    fn select_accepts_only_its_options_and_empty_optional_values_vanish() {
        let out = validate_custom(
            &defs(),
            &obj(json!({"industry": "医疗", "budget": "", "note": null})),
        )
        .unwrap();
        assert_eq!(Value::Object(out), json!({"industry": "医疗"}));
        let err = validate_custom(&defs(), &obj(json!({"industry": "金融"}))).unwrap_err();
        assert_eq!(err[0].code, "not_an_option");
    }

    #[test]
    fn a_multi_select_read_back_from_its_text_is_unchanged() {
        let defs = vec![def(
            "products",
            FieldKind::MultiSelect,
            false,
            &["专业版", "旗舰版", "A, B"],
        )];
        for stored in [
            json!(["专业版", "旗舰版"]),
            json!(["A, B"]),
            json!(["旗舰版"]),
        ] {
            let text = defs[0].value_text(&stored);
            assert!(!text.contains('['), "{text}");
            let back = validate_custom(&defs, &obj(json!({ "products": text }))).unwrap();
            assert_eq!(back["products"], stored);
        }
        assert_eq!(
            defs[0].value_text(&json!(["专业版", "旗舰版"])),
            "专业版;旗舰版"
        );
        let typed = validate_custom(&defs, &obj(json!({"products": "专业版、旗舰版"}))).unwrap();
        assert_eq!(typed["products"], json!(["专业版", "旗舰版"]));
    }

    #[test]
    fn text_has_a_length_limit() {
        let long = "长".repeat(MAX_TEXT_LEN + 1);
        let err =
            validate_custom(&defs(), &obj(json!({"industry": "教育", "note": long}))).unwrap_err();
        assert_eq!(err[0].code, "too_long");
    }

    #[test]
    fn keys_must_be_simple_identifiers() {
        assert!(CustomFieldDef::valid_key("budget_2026"));
        for bad in ["", "2x", "Budget", "a-b", "a b", "预算"] {
            assert!(!CustomFieldDef::valid_key(bad), "{bad}");
        }
    }
}

#[cfg(test)]
mod key_tests {
    use super::CustomFieldDef;

    #[test]
    fn a_key_is_derived_from_the_english_label_or_numbered_for_a_chinese_one() {
        assert_eq!(
            CustomFieldDef::key_from_label("Industry sector", 3),
            "industry_sector"
        );
        assert_eq!(CustomFieldDef::key_from_label(" Budget (¥) ", 3), "budget");
        assert_eq!(CustomFieldDef::key_from_label("", 7), "f_7");
        assert_eq!(CustomFieldDef::key_from_label("意向产品", 8), "f_8");
        assert_eq!(CustomFieldDef::key_from_label("2024 plan", 9), "f_9");
    }
}
