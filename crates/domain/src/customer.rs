//! Customers (客户): what a customer is, its contacts as entered (the one door for the form and
//! the API) and what converting a lead makes of it.

use serde::{Deserialize, Serialize};

use crate::company_name::company_key;
use crate::custom_field::FieldProblem;
use crate::lead::{MAX_FIELD_LEN, MAX_PHONES, parse_email};
use crate::phone::PhoneNumber;

/// A company, or a person buying for themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerKind {
    Company,
    Person,
}

impl CustomerKind {
    pub fn code(self) -> &'static str {
        match self {
            CustomerKind::Company => "company",
            CustomerKind::Person => "person",
        }
    }

    pub fn parse(s: &str) -> Option<CustomerKind> {
        [CustomerKind::Company, CustomerKind::Person]
            .into_iter()
            .find(|k| k.code() == s)
    }
}

/// Where a customer stands: a prospect (潜在客户) has ordered nothing yet, an active customer
/// has, a lost one (失败客户) was given up with a reason, a dormant one stopped ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerStatus {
    Prospect,
    Active,
    Lost,
    Dormant,
}

impl CustomerStatus {
    pub const ALL: [CustomerStatus; 4] = [
        CustomerStatus::Prospect,
        CustomerStatus::Active,
        CustomerStatus::Lost,
        CustomerStatus::Dormant,
    ];

    pub fn code(self) -> &'static str {
        match self {
            CustomerStatus::Prospect => "prospect",
            CustomerStatus::Active => "active",
            CustomerStatus::Lost => "lost",
            CustomerStatus::Dormant => "dormant",
        }
    }

    pub fn parse(s: &str) -> Option<CustomerStatus> {
        CustomerStatus::ALL.into_iter().find(|k| k.code() == s)
    }
}

/// The grades a customer may have (labels and thresholds are configured in `grade_levels`).
pub const GRADES: [&str; 3] = ["A", "B", "C"];

/// Whether `s` is one of [`GRADES`].
pub fn is_grade(s: &str) -> bool {
    GRADES.contains(&s)
}

/// The company key a customer is matched by (撞单), or `None` when the name names no company
/// (empty, or nothing but a legal form).
pub fn customer_company_key(company: &str) -> Option<String> {
    let key = company_key(company);
    (!key.trim().is_empty()).then_some(key)
}

/// What converting a lead makes of it: a company customer named after the lead's company when
/// it has one that names a company, else a person customer named after the lead.
pub fn kind_and_name(
    lead_name: &str,
    company: Option<&str>,
) -> (CustomerKind, String, Option<String>) {
    match company.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => match customer_company_key(c) {
            Some(key) => (CustomerKind::Company, c.to_string(), Some(key)),
            None => (CustomerKind::Person, lead_name.trim().to_string(), None),
        },
        None => (CustomerKind::Person, lead_name.trim().to_string(), None),
    }
}

/// A contact as entered, before it is checked.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContactDraft {
    pub name: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub phones: Vec<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub is_primary: bool,
}

/// A checked contact: a name, up to [`MAX_PHONES`] phones in E.164, an e-mail in its stored
/// form.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactFields {
    pub name: String,
    pub title: Option<String>,
    pub phones: Vec<PhoneNumber>,
    pub email: Option<String>,
    pub is_primary: bool,
}

impl ContactFields {
    /// The one check of a contact, for the form and the API: every problem at once.
    pub fn parse(d: &ContactDraft) -> Result<ContactFields, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let mut problem = |field: &str, code: &'static str| {
            problems.push(FieldProblem {
                field: field.to_string(),
                code,
            })
        };
        let name = d.name.trim().to_string();
        if name.is_empty() {
            problem("name", "required");
        } else if name.chars().count() > MAX_FIELD_LEN {
            problem("name", "too_long");
        }
        let title = d
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if title
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_FIELD_LEN)
        {
            problem("title", "too_long");
        }
        let mut phones: Vec<PhoneNumber> = Vec::new();
        let raws: Vec<&str> = d
            .phones
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .collect();
        if raws.len() > MAX_PHONES {
            problem("phones", "too_many");
        }
        for raw in raws.into_iter().take(MAX_PHONES) {
            match PhoneNumber::parse(raw) {
                Ok(p) if phones.iter().any(|q| q.e164() == p.e164()) => {}
                Ok(p) => phones.push(p),
                Err(_) => problem("phones", "bad_phone"),
            }
        }
        let email = match d.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            None => None,
            Some(raw) => match parse_email(raw) {
                Some(e) => Some(e),
                None => {
                    problem("email", "bad_email");
                    None
                }
            },
        };
        if problems.is_empty() {
            Ok(ContactFields {
                name,
                title,
                phones,
                email,
                is_primary: d.is_primary,
            })
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lead_with_a_company_converts_into_that_company() {
        let (kind, name, key) = kind_and_name("王伟", Some(" 北京星河科技有限公司 "));
        assert_eq!(kind, CustomerKind::Company);
        assert_eq!(name, "北京星河科技有限公司");
        assert_eq!(
            key.as_deref(),
            customer_company_key("星河科技（北京）").as_deref(),
            "the same company however it is written"
        );
    }

    #[test]
    fn a_lead_without_a_company_converts_into_a_person() {
        assert_eq!(
            kind_and_name(" 李娜 ", None),
            (CustomerKind::Person, "李娜".to_string(), None)
        );
        assert_eq!(kind_and_name("李娜", Some("  ")).0, CustomerKind::Person);
        assert_eq!(
            kind_and_name("李娜", Some("有限公司")).0,
            CustomerKind::Person,
            "a bare legal form names no company"
        );
    }

    #[test]
    fn a_contact_is_checked_at_once_with_every_problem() {
        let bad = ContactDraft {
            name: " ".into(),
            phones: vec!["12".into()],
            email: Some("not-an-address".into()),
            ..ContactDraft::default()
        };
        let problems = ContactFields::parse(&bad).unwrap_err();
        let codes: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.field.as_str(), p.code))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("name", "required"),
                ("phones", "bad_phone"),
                ("email", "bad_email")
            ]
        );
    }

    #[test]
    fn a_contact_keeps_each_number_once_in_e164() {
        let ok = ContactFields::parse(&ContactDraft {
            name: "张敏".into(),
            phones: vec!["138 0013 8000".into(), "+86 13800138000".into(), "".into()],
            email: Some(" Zhang@Example.COM ".into()),
            ..ContactDraft::default()
        })
        .unwrap();
        assert_eq!(ok.phones.len(), 1);
        assert_eq!(ok.phones[0].e164(), "+8613800138000");
        assert_eq!(ok.email.as_deref(), Some("Zhang@example.com"));
    }

    #[test]
    fn statuses_and_kinds_round_trip() {
        for s in CustomerStatus::ALL {
            assert_eq!(CustomerStatus::parse(s.code()), Some(s));
        }
        assert_eq!(CustomerStatus::parse("won"), None);
        assert_eq!(CustomerKind::parse("person"), Some(CustomerKind::Person));
        assert!(is_grade("A") && !is_grade("D"));
    }
}
