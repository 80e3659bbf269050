//! What one showing of the agent's-day settings page carries besides the stored settings: a
//! message, or a refusal with each problem beside its field and the refused form as typed.

use axum::http::StatusCode;
use leadline_domain::TeamId;
use leadline_store::StoreError;

use super::RuleForm;
use crate::error::AppError;
use crate::i18n::Lang;

/// A refused form's problems by field name (`attempt_from`, `day_3`), in the reader's words.
#[derive(Default)]
pub struct FieldErrors(pub(super) Vec<(String, String)>);

impl FieldErrors {
    pub fn get(&self, field: &str) -> Option<&str> {
        FieldErrors::get_in(&self.0, field)
    }

    /// A disposition row's problem (`disp_<id>.<field>`).
    pub fn row(&self, id: &i64, field: &str) -> Option<&str> {
        self.get(&format!("disp_{id}.{field}"))
    }

    pub(super) fn get_in<'a>(list: &'a [(String, String)], field: &str) -> Option<&'a str> {
        list.iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// A refused form's fields as typed, by the form's name and the field (`new_disp.code`,
/// `disp_7.hotkey`, `holiday.day`), so that the form comes back as it was sent.
#[derive(Default)]
pub struct Typed(pub(super) Vec<(String, String)>);

impl Typed {
    /// The typed text of a field ("" when that form was not the refused one).
    pub fn get(&self, field: &str) -> &str {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Whether a field was typed (or chosen) as this value.
    pub fn is(&self, field: &str, value: &str) -> bool {
        self.get(field) == value
    }

    /// Whether a typed checkbox was ticked.
    pub fn checked(&self, field: &str) -> bool {
        !self.get(field).is_empty()
    }

    /// A disposition row's field as typed when that row was refused, else its stored value.
    pub fn row_or(&self, id: &i64, field: &str, stored: &str) -> String {
        let key = format!("disp_{id}.{field}");
        match self.0.iter().find(|(f, _)| *f == key) {
            Some((_, v)) => v.clone(),
            None => stored.to_string(),
        }
    }

    /// A disposition row's hotkey as typed, else the stored one (the page's loop passes
    /// fields by reference).
    pub fn row_hotkey(&self, id: &i64, stored: &Option<char>) -> String {
        self.row_or(id, "hotkey", &stored.map(String::from).unwrap_or_default())
    }
}

/// What one showing of the page carries besides the stored settings.
#[derive(Default)]
pub(crate) struct Shown {
    pub(crate) message: Option<String>,
    /// The refusal: its status and its words.
    pub(super) error: Option<(StatusCode, String)>,
    /// The rule form's fields (None: a blank form, or the rule `edit_rule` names).
    pub(super) rule_form: Option<RuleForm>,
    pub(super) edit_rule: Option<i64>,
    /// Whose calling hours: None for the default.
    pub(super) team: Option<TeamId>,
    /// The seven weekdays' spans as typed, after a refused change.
    pub(super) typed_hours: Option<Vec<String>>,
    pub(super) field_errors: Vec<(String, String)>,
    pub(super) typed: Vec<(String, String)>,
}

impl Shown {
    /// One of the smaller forms (a new disposition `new_disp`, a disposition row `disp_<id>`, a
    /// holiday `holiday`) refused: the problems beside its fields, named `<form>.<field>`, and
    /// the fields as typed. A code already in use is a problem of the code field.
    pub(crate) fn refused_form(
        lang: Lang,
        err: &AppError,
        form: &str,
        typed: Vec<(&str, String)>,
    ) -> Shown {
        let mut shown = Shown::refused(lang, err);
        if let AppError::Store(StoreError::AlreadyExists(_)) = err {
            shown
                .field_errors
                .push(("code".to_string(), lang.t("problem.taken").to_string()));
        }
        for (field, _) in &mut shown.field_errors {
            *field = format!("{form}.{field}");
        }
        shown.typed = typed
            .into_iter()
            .map(|(field, v)| (format!("{form}.{field}"), v))
            .collect();
        shown
    }

    pub(crate) fn refused(lang: Lang, err: &AppError) -> Shown {
        let field_errors = match err {
            AppError::Store(StoreError::Invalid(problems)) => problems
                .iter()
                .map(|p| {
                    let words = lang.t(&format!("problem.{}", p.code));
                    (p.field.clone(), words.to_string())
                })
                .collect(),
            _ => Vec::new(),
        };
        Shown {
            error: Some((err.status(), lang.error_message(err))),
            field_errors,
            ..Shown::default()
        }
    }
}
