//! Knowledge-base articles: checked title, Markdown body, tags, and category paths such as
//! `产品知识/版本对比` that name a place in the category tree.

use crate::{FieldProblem, Role};

/// Supervisors and admins write and change articles; everyone reads them.
pub fn may_write(role: Role) -> bool {
    matches!(role, Role::Supervisor | Role::Admin)
}

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 100_000;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 30;
pub const MAX_CATEGORY_DEPTH: usize = 4;
pub const MAX_CATEGORY_NAME_CHARS: usize = 40;

/// An article's checked fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleFields {
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
}

/// Splits `产品知识 / 版本对比` into its names; `None` for an empty path, an error for a bad one.
pub fn category_path(path: &str) -> Result<Option<Vec<String>>, FieldProblem> {
    let names: Vec<String> = path
        .split('/')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let bad = |code| FieldProblem {
        field: "category".into(),
        code,
    };
    if names.is_empty() {
        return Ok(None);
    }
    if names.len() > MAX_CATEGORY_DEPTH {
        return Err(bad("too_deep"));
    }
    if names
        .iter()
        .any(|n| n.chars().count() > MAX_CATEGORY_NAME_CHARS)
    {
        return Err(bad("too_long"));
    }
    Ok(Some(names))
}

impl ArticleFields {
    /// Checks the title (required), body (Markdown, may be empty while drafting) and tags
    /// (trimmed, de-duplicated).
    pub fn parse(
        title: &str,
        body: &str,
        tags: &[String],
    ) -> Result<ArticleFields, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let mut bad = |field: &str, code: &'static str| {
            problems.push(FieldProblem {
                field: field.into(),
                code,
            })
        };
        let title = title.trim();
        if title.is_empty() {
            bad("title", "required");
        } else if title.chars().count() > MAX_TITLE_CHARS {
            bad("title", "too_long");
        }
        if body.chars().count() > MAX_BODY_CHARS {
            bad("body", "too_long");
        }
        let mut clean: Vec<String> = Vec::new();
        for t in tags.iter().flat_map(|t| t.split([',', '，'])) {
            let t = t.trim();
            if t.is_empty() || clean.iter().any(|c| c == t) {
                continue;
            }
            if t.chars().count() > MAX_TAG_CHARS {
                bad("tags", "too_long");
            }
            clean.push(t.to_string());
        }
        if clean.len() > MAX_TAGS {
            bad("tags", "too_many");
        }
        if problems.is_empty() {
            Ok(ArticleFields {
                title: title.to_string(),
                body: body.trim_end().to_string(),
                tags: clean,
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
    fn category_paths_are_split_and_checked() {
        assert_eq!(
            category_path(" 产品知识 / 版本对比 ").unwrap(),
            Some(vec!["产品知识".to_string(), "版本对比".to_string()])
        );
        assert_eq!(category_path(" / ").unwrap(), None);
        assert_eq!(category_path("a/b/c/d/e").unwrap_err().code, "too_deep");
    }

    #[test]
    fn tags_are_trimmed_split_and_unique() {
        let f =
            ArticleFields::parse(" 退款 ", "", &["价格, 异议，价格".into(), " ".into()]).unwrap();
        assert_eq!(f.title, "退款");
        assert_eq!(f.tags, ["价格", "异议"]);
        assert_eq!(
            ArticleFields::parse("", "", &[]).unwrap_err()[0].code,
            "required"
        );
    }
}
