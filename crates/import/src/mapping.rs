//! Which column goes into which lead field: automatic guesses from Chinese and English headers,
//! saved mappings reused on the next file, and turning a row into a [`LeadDraft`].

use leadline_domain::{CustomFieldDef, FieldKind, LeadDraft, LeadFields};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{RowError, RowErrorKind, SourceRow};

/// Where a column's value goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Name,
    /// Several columns may be phones; each cell may hold several numbers (`138…，010-…`).
    Phone,
    Company,
    /// E-mail address.
    Email,
    Title,
    City,
    Region,
    Source,
    /// Several columns may be tags; cells are split on `,` `，` `;` `；` `、` `|`.
    Tags,
    Status,
    Intent,
    /// The user the lead is assigned to, as written in the file (login or display name); the
    /// caller resolves it.
    Owner,
    /// The existing customer who referred the lead (推荐人 / 介绍人): their phone, or their lead
    /// number as `#123`; the caller resolves it, and the lead goes to that customer's owner.
    ReferredBy,
    /// A custom field, by key.
    Custom(String),
    Ignore,
}

impl Target {
    /// Whether more than one column may map here.
    pub fn is_multi(&self) -> bool {
        matches!(self, Target::Phone | Target::Tags | Target::Ignore)
    }
}

/// A header reduced for comparison: full-width letters and digits made ASCII, lower-cased, and
/// everything but letters (any script) and digits dropped: `"手机号码（必填）"` → `"手机号码必填"`,
/// `" Phone-Number "` → `"phonenumber"`.
pub fn normalise_header(header: &str) -> String {
    header
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            other => other,
        })
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn synonym(s: &str) -> Option<Target> {
    Some(match s {
        "姓名" | "名字" | "联系人" | "客户姓名" | "联系人姓名" | "称呼" | "name" | "contact"
        | "contactname" | "fullname" => Target::Name,
        "手机" | "手机号" | "手机号码" | "电话" | "联系电话" | "座机" | "电话号码" | "固话"
        | "固定电话" | "办公电话" | "移动电话" | "联系方式" | "公司电话" | "单位电话" | "phone"
        | "mobile" | "tel" | "telephone" | "phonenumber" | "mobilephone" | "cellphone" | "cell"
        | "mobileno" | "phoneno" | "telno" => Target::Phone,
        "公司" | "单位" | "公司名称" | "企业" | "企业名称" | "单位名称" | "工作单位"
        | "所在公司" | "company" | "companyname" | "organisation" | "organization" | "org"
        | "employer" => Target::Company,
        "邮箱" | "电子邮件" | "电子邮箱" | "邮件" | "邮箱地址" | "电子邮件地址" | "email"
        | "emailaddress" | "mail" => Target::Email,
        "职位" | "职务" | "岗位" | "头衔" | "title" | "position" | "jobtitle" => {
            Target::Title
        }
        "城市" | "所在城市" | "市" | "city" => Target::City,
        "地区" | "区域" | "省份" | "省" | "所在地区" | "所在省份" | "region" | "province"
        | "state" | "area" => Target::Region,
        "来源" | "线索来源" | "渠道" | "来源渠道" | "source" | "leadsource" | "channel" => {
            Target::Source
        }
        "标签" | "tags" | "tag" | "labels" | "label" => Target::Tags,
        "状态" | "线索状态" | "status" | "leadstatus" => Target::Status,
        "意向" | "意向等级" | "意向度" | "意向程度" | "intent" | "intentlevel" | "interest" => {
            Target::Intent
        }
        "负责人" | "归属" | "归属人" | "所属销售" | "销售" | "跟进人" | "负责销售" | "owner"
        | "assignedto" | "assignee" | "salesrep" => Target::Owner,
        "推荐人" | "推荐人电话" | "推荐人手机" | "推荐人号码" | "介绍人" | "介绍人电话"
        | "介绍人手机" | "转介绍人" | "老客户电话" | "referredby" | "referrer" | "referral"
        | "referrerphone" => Target::ReferredBy,
        _ => return None,
    })
}

/// The standard field a header names, if any: a synonym, ignoring a trailing number (`手机2`),
/// a "required"/"optional" note and a `客户`/`联系人`/`customer`/`contact` prefix.
fn standard_target(norm: &str) -> Option<Target> {
    let mut s = norm;
    for suffix in ["必填", "选填", "可选", "required", "optional"] {
        s = s.strip_suffix(suffix).unwrap_or(s);
    }
    let s = s.trim_end_matches(|c: char| c.is_ascii_digit());
    synonym(s).or_else(|| {
        ["客户", "联系人", "联系", "customer", "contact", "lead"]
            .iter()
            .find_map(|p| s.strip_prefix(p).filter(|rest| !rest.is_empty()))
            .and_then(synonym)
    })
}

fn guess(header: &str, defs: &[CustomFieldDef]) -> Target {
    let norm = normalise_header(header);
    if norm.is_empty() {
        return Target::Ignore;
    }
    if let Some(def) = defs.iter().find(|d| {
        [&d.key, &d.label_zh, &d.label_en]
            .iter()
            .any(|l| !l.is_empty() && normalise_header(l) == norm)
    }) {
        return Target::Custom(def.key.clone());
    }
    standard_target(&norm).unwrap_or(Target::Ignore)
}

/// Guesses a target for each header. A single-valued field goes to the first column that names
/// it; later ones are ignored. Custom fields match by key, Chinese or English label and are
/// tried before the standard synonyms.
pub fn auto_map(headers: &[String], defs: &[CustomFieldDef]) -> Vec<Target> {
    let mut used: Vec<Target> = Vec::new();
    headers
        .iter()
        .map(|h| {
            let t = guess(h, defs);
            if !t.is_multi() {
                if used.contains(&t) {
                    return Target::Ignore;
                }
                used.push(t.clone());
            }
            t
        })
        .collect()
}

/// One column's header and target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnMapping {
    pub header: String,
    pub target: Target,
}

/// Targets for a file's columns, in column order. Serialise it to save it; [`Mapping::reuse`]
/// applies a saved one to a new file by header name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub columns: Vec<ColumnMapping>,
}

/// Something that makes a mapping unusable or every row fail; found before reading rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum MappingProblem {
    /// No column is the lead's name, which every lead needs.
    NoNameColumn,
    /// A column maps to a custom field that does not exist.
    UnknownCustomField(String),
    /// A required custom field has no column.
    RequiredFieldUnmapped(String),
    /// Two columns map to the same single-valued field.
    DuplicateTarget(Target),
}

impl MappingProblem {
    pub fn code(&self) -> &'static str {
        match self {
            MappingProblem::NoNameColumn => "no_name_column",
            MappingProblem::UnknownCustomField(_) => "unknown_custom_field",
            MappingProblem::RequiredFieldUnmapped(_) => "required_field_unmapped",
            MappingProblem::DuplicateTarget(_) => "duplicate_target",
        }
    }
}

/// A row turned into a draft lead, not yet checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RowDraft {
    pub number: u64,
    pub draft: LeadDraft,
    pub owner: Option<String>,
    /// The referring customer as written in the file ([`Target::ReferredBy`]).
    pub referred_by: Option<String>,
}

/// A row whose lead passed the same checks as a hand-entered lead.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedRow {
    pub number: u64,
    pub fields: LeadFields,
    pub owner: Option<String>,
    pub referred_by: Option<String>,
}

const CELL_ERRORS: &[&str] = &[
    "#N/A",
    "#VALUE!",
    "#REF!",
    "#DIV/0!",
    "#NUM!",
    "#NAME?",
    "#NULL!",
    "#DATA!",
    "#GETTING_DATA",
    "#SPILL!",
    "#CALC!",
];

impl Mapping {
    /// A mapping from explicit targets (as chosen in the interface), one per header.
    pub fn new(headers: &[String], targets: Vec<Target>) -> Mapping {
        Mapping {
            columns: headers
                .iter()
                .cloned()
                .zip(targets.into_iter().chain(std::iter::repeat(Target::Ignore)))
                .map(|(header, target)| ColumnMapping { header, target })
                .collect(),
        }
    }

    /// Guesses every column (see [`auto_map`]).
    pub fn auto(headers: &[String], defs: &[CustomFieldDef]) -> Mapping {
        Mapping::new(headers, auto_map(headers, defs))
    }

    /// Applies a saved mapping to a new file's headers: a header found in `saved` (exactly, else
    /// normalised) keeps its saved target, even `Ignore`; the others are guessed, without taking
    /// a single-valued field already taken. Saved targets to custom fields that no longer exist
    /// are guessed again.
    pub fn reuse(saved: &Mapping, headers: &[String], defs: &[CustomFieldDef]) -> Mapping {
        let known = |t: &Target| match t {
            Target::Custom(key) => defs.iter().any(|d| &d.key == key),
            _ => true,
        };
        let from_saved: Vec<Option<Target>> = headers
            .iter()
            .map(|h| {
                let norm = normalise_header(h);
                saved
                    .columns
                    .iter()
                    .find(|c| c.header == *h)
                    .or_else(|| {
                        saved
                            .columns
                            .iter()
                            .find(|c| normalise_header(&c.header) == norm)
                    })
                    .map(|c| c.target.clone())
                    .filter(known)
            })
            .collect();
        let mut used: Vec<Target> = from_saved
            .iter()
            .flatten()
            .filter(|t| !t.is_multi())
            .cloned()
            .collect();
        let targets = headers
            .iter()
            .zip(from_saved)
            .map(|(h, saved)| {
                saved.unwrap_or_else(|| {
                    let t = guess(h, defs);
                    if t.is_multi() {
                        t
                    } else if used.contains(&t) {
                        Target::Ignore
                    } else {
                        used.push(t.clone());
                        t
                    }
                })
            })
            .collect();
        Mapping::new(headers, targets)
    }

    /// What would make every row fail or the mapping ambiguous.
    pub fn problems(&self, defs: &[CustomFieldDef]) -> Vec<MappingProblem> {
        let mut problems = Vec::new();
        let targets: Vec<&Target> = self.columns.iter().map(|c| &c.target).collect();
        if !targets.contains(&&Target::Name) {
            problems.push(MappingProblem::NoNameColumn);
        }
        for (i, t) in targets.iter().enumerate() {
            if let Target::Custom(key) = t
                && !defs.iter().any(|d| &d.key == key)
            {
                problems.push(MappingProblem::UnknownCustomField(key.clone()));
            }
            if !t.is_multi() && targets[..i].contains(t) {
                let dup = MappingProblem::DuplicateTarget((*t).clone());
                if !problems.contains(&dup) {
                    problems.push(dup);
                }
            }
        }
        for def in defs.iter().filter(|d| d.required) {
            if !targets.contains(&&Target::Custom(def.key.clone())) {
                problems.push(MappingProblem::RequiredFieldUnmapped(def.key.clone()));
            }
        }
        problems
    }

    /// Builds the draft lead of a row. Cells are trimmed; a leading `'` that an export added to
    /// neutralise a formula (see [`neutralise`](crate::neutralise)) is removed again. A mapped
    /// cell holding a spreadsheet error (`#N/A`, `#REF!`…) rejects the row
    /// ([`RowErrorKind::CellError`]); in an ignored column it does no harm. For a single-valued
    /// field mapped twice, the first non-empty cell wins. Dates for custom date fields are
    /// accepted as `2024-3-5`, `2024/03/05`, `2024.3.5`, `2024年3月5日`, `20240305` or with a
    /// time after them, and passed on as `2024-03-05`.
    pub fn to_draft(&self, row: &SourceRow, defs: &[CustomFieldDef]) -> Result<RowDraft, RowError> {
        let mut draft = LeadDraft::default();
        let mut owner = None;
        let mut referred_by = None;
        for (column, (mapping, cell)) in self.columns.iter().zip(&row.cells).enumerate() {
            if mapping.target == Target::Ignore {
                continue;
            }
            let value = unneutralise(cell.trim());
            if value.is_empty() {
                continue;
            }
            if value.starts_with('#') && CELL_ERRORS.contains(&value) {
                return Err(RowError {
                    number: row.number,
                    cells: row.cells.clone(),
                    kind: RowErrorKind::CellError {
                        column,
                        value: value.to_string(),
                    },
                });
            }
            let set = |slot: &mut Option<String>| {
                if slot.is_none() {
                    *slot = Some(value.to_string());
                }
            };
            match &mapping.target {
                Target::Name => {
                    if draft.name.is_empty() {
                        draft.name = value.to_string();
                    }
                }
                Target::Phone => draft.phones.extend(split_phones(value)),
                Target::Company => set(&mut draft.company),
                Target::Email => set(&mut draft.email),
                Target::Title => set(&mut draft.title),
                Target::City => set(&mut draft.city),
                Target::Region => set(&mut draft.region),
                Target::Source => set(&mut draft.source),
                Target::Status => set(&mut draft.status),
                Target::Intent => set(&mut draft.intent),
                Target::Owner => set(&mut owner),
                Target::ReferredBy => set(&mut referred_by),
                Target::Tags => draft.tags.extend(
                    value
                        .split([',', '，', ';', '；', '、', '|', '\n'])
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_string),
                ),
                Target::Custom(key) => {
                    if draft.custom.contains_key(key) {
                        continue;
                    }
                    let is_date = defs
                        .iter()
                        .any(|d| &d.key == key && d.kind == FieldKind::Date);
                    let text = match is_date.then(|| normalise_date(value)).flatten() {
                        Some(date) => date,
                        None => value.to_string(),
                    };
                    draft.custom.insert(key.clone(), Value::String(text));
                }
                Target::Ignore => {}
            }
        }
        Ok(RowDraft {
            number: row.number,
            draft,
            owner,
            referred_by,
        })
    }

    /// [`to_draft`](Mapping::to_draft), then the checks every lead passes
    /// ([`LeadFields::parse`]); any problem rejects the row with all its problems.
    pub fn parse_row(
        &self,
        row: &SourceRow,
        defs: &[CustomFieldDef],
    ) -> Result<ParsedRow, RowError> {
        let RowDraft {
            number,
            draft,
            owner,
            referred_by,
        } = self.to_draft(row, defs)?;
        match LeadFields::parse(&draft, defs) {
            Ok(fields) => Ok(ParsedRow {
                number,
                fields,
                owner,
                referred_by,
            }),
            Err(problems) => Err(RowError {
                number,
                cells: row.cells.clone(),
                kind: RowErrorKind::Invalid(problems),
            }),
        }
    }
}

fn unneutralise(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => s,
    }
}

/// Splits a phone cell holding several numbers. `/` separates only when every part has at least
/// seven digits (`13800138000/13900139000`), since `010/6552 9988` is one number.
fn split_phones(cell: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in cell.split([',', '，', ';', '；', '、', '\n', '\r']) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let digits = |p: &str| p.chars().filter(char::is_ascii_digit).count();
        if part.contains(['/', '／']) && part.split(['/', '／']).all(|p| digits(p) >= 7) {
            out.extend(part.split(['/', '／']).map(|p| p.trim().to_string()));
        } else {
            out.push(part.to_string());
        }
    }
    out
}

fn normalise_date(s: &str) -> Option<String> {
    let s = s.trim();
    let date_part = s.split([' ', 'T']).next().unwrap_or(s);
    let (y, m, d) = if date_part.len() == 8 && date_part.bytes().all(|b| b.is_ascii_digit()) {
        (
            date_part[..4].parse().ok()?,
            date_part[4..6].parse().ok()?,
            date_part[6..].parse().ok()?,
        )
    } else {
        let mut parts = date_part
            .split(|c: char| !c.is_ascii_digit())
            .filter(|p| !p.is_empty());
        let y = parts.next()?;
        let m = parts.next()?;
        let d = parts.next()?;
        if y.len() != 4 || parts.next().is_some() {
            return None;
        }
        (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
    };
    let date = chrono::NaiveDate::from_ymd_opt(y, m, d)?;
    Some(date.format("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn headers_normalise() {
        assert_eq!(normalise_header(" 手机号码（必填）"), "手机号码必填");
        assert_eq!(normalise_header("Phone-Number "), "phonenumber");
        assert_eq!(normalise_header("ＴＥＬ"), "tel");
    }

    #[test]
    fn phones_split_but_landlines_stay_whole() {
        assert_eq!(
            split_phones("13800138000/13900139000，010-6552 9988"),
            ["13800138000", "13900139000", "010-6552 9988"]
        );
        assert_eq!(split_phones("010/6552 9988"), ["010/6552 9988"]);
    }

    #[test]
    fn dates_in_office_spellings() {
        for s in [
            "2024-3-5",
            "2024/03/05",
            "2024.3.5",
            "2024年3月5日",
            "20240305",
            "2024-03-05 14:30:00",
        ] {
            assert_eq!(normalise_date(s).as_deref(), Some("2024-03-05"), "{s}");
        }
        assert_eq!(normalise_date("5/3/2024"), None);
        assert_eq!(normalise_date("2024-02-30"), None);
    }

    #[test]
    fn duplicates_of_single_fields_are_ignored_and_phones_multiply() {
        let t = auto_map(&h(&["姓名", "联系人", "手机1", "手机2", "电话"]), &[]);
        assert_eq!(
            t,
            [
                Target::Name,
                Target::Ignore,
                Target::Phone,
                Target::Phone,
                Target::Phone
            ]
        );
    }

    /// A referrer column is recognised by its usual headers, and a "phone" header of the
    /// referrer is not taken for the lead's own phone.
    #[test]
    fn referrer_headers_map_to_referred_by() {
        let t = auto_map(
            &h(&["姓名", "手机", "推荐人电话", "Referred by", "介绍人"]),
            &[],
        );
        assert_eq!(
            t,
            [
                Target::Name,
                Target::Phone,
                Target::ReferredBy,
                Target::Ignore,
                Target::Ignore
            ]
        );
        for header in ["推荐人", "介绍人手机", "Referrer", "客户推荐人"] {
            assert_eq!(
                auto_map(&h(&[header]), &[]),
                [Target::ReferredBy],
                "{header}"
            );
        }
    }

    #[test]
    fn formula_prefix_is_removed_on_import() {
        assert_eq!(unneutralise("'+8613800138000"), "+8613800138000");
        assert_eq!(unneutralise("'abc"), "'abc");
    }
}
