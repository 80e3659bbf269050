//! Call scripts (话术): checked fields, and placeholders such as `{{lead.name}}` filled from the
//! lead and the agent. Filling is plain substitution — no template language — so an agent typing
//! `{{` in a script can never break it or run anything.

use std::collections::BTreeMap;

use crate::{FieldProblem, Role, TeamId, UserId, Viewer};

pub const MAX_TITLE_CHARS: usize = 120;
pub const MAX_CATEGORY_CHARS: usize = 40;
pub const MAX_BODY_CHARS: usize = 20_000;

/// Placeholders a script may use, besides `lead.custom.<key>`.
pub const PLACEHOLDERS: &[&str] = &[
    "lead.name",
    "lead.company",
    "lead.title",
    "lead.city",
    "lead.region",
    "lead.source",
    "agent.name",
];

/// Whether `key` names something a script can be filled with.
pub fn known_placeholder(key: &str) -> bool {
    PLACEHOLDERS.contains(&key)
        || key.strip_prefix("lead.custom.").is_some_and(|k| {
            !k.is_empty()
                && k.len() <= 40
                && k.starts_with(|c: char| c.is_ascii_lowercase())
                && k.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

/// One piece of a script: literal text, or a placeholder with the value it was filled with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Filled {
        key: String,
        value: String,
    },
    /// The lead has no value for this placeholder; the agent must ask or skip it.
    Missing {
        key: String,
    },
}

/// `{{ key }}` spans in `body`: (byte start, byte end, trimmed key).
fn spans(body: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = body[from..].find("{{").map(|i| from + i) {
        let Some(close) = body[open + 2..].find("}}").map(|i| open + 2 + i) else {
            break;
        };
        let key = body[open + 2..close].trim();
        if key.contains("{{") {
            from = open + 2;
            continue;
        }
        out.push((open, close + 2, key));
        from = close + 2;
    }
    out
}

/// The placeholder keys a script uses, in order of first use.
pub fn placeholders(body: &str) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for (_, _, k) in spans(body) {
        if !keys.iter().any(|x| x == k) {
            keys.push(k.to_string());
        }
    }
    keys
}

/// Splits `body` into text and placeholders filled from `values` (empty values count as missing).
pub fn fill(body: &str, values: &BTreeMap<String, String>) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut pos = 0;
    for (start, end, key) in spans(body) {
        if start > pos {
            out.push(Piece::Text(body[pos..start].to_string()));
        }
        match values.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            Some(v) => out.push(Piece::Filled {
                key: key.to_string(),
                value: v.to_string(),
            }),
            None => out.push(Piece::Missing {
                key: key.to_string(),
            }),
        }
        pos = end;
    }
    if pos < body.len() {
        out.push(Piece::Text(body[pos..].to_string()));
    }
    out
}

/// The filled script as plain text; a missing value shows as `[key]`.
pub fn fill_text(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.clone(),
            Piece::Filled { value, .. } => value.clone(),
            Piece::Missing { key } => format!("[{key}]"),
        })
        .collect()
}

/// A script's checked fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptFields {
    pub title: String,
    pub category: String,
    pub body: String,
}

impl ScriptFields {
    /// Checks a title (required), category (optional) and body (required, known placeholders).
    pub fn parse(
        title: &str,
        category: &str,
        body: &str,
    ) -> Result<ScriptFields, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let mut bad = |field: &str, code: &'static str| {
            problems.push(FieldProblem {
                field: field.into(),
                code,
            })
        };
        let (title, category, body) = (title.trim(), category.trim(), body.trim_end());
        if title.is_empty() {
            bad("title", "required");
        } else if title.chars().count() > MAX_TITLE_CHARS {
            bad("title", "too_long");
        }
        if category.chars().count() > MAX_CATEGORY_CHARS {
            bad("category", "too_long");
        }
        if body.trim().is_empty() {
            bad("body", "required");
        } else if body.chars().count() > MAX_BODY_CHARS {
            bad("body", "too_long");
        } else if placeholders(body).iter().any(|k| !known_placeholder(k)) {
            bad("body", "unknown_placeholder");
        }
        if problems.is_empty() {
            Ok(ScriptFields {
                title: title.to_string(),
                category: category.to_string(),
                body: body.to_string(),
            })
        } else {
            Err(problems)
        }
    }
}

/// What a viewer may do with a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptAccess {
    /// Must not learn that the script exists (someone else's private script).
    Hidden,
    /// May read and use a shared script.
    Read,
    /// May change, share and restore it: the owner, a supervisor of the owner's team, an admin.
    Edit,
}

/// The one rule for scripts: private ones belong to their owner (and those who manage the
/// owner), shared ones are read by everyone.
pub fn script_access(
    viewer: &Viewer,
    owner: UserId,
    owner_team: Option<TeamId>,
    shared: bool,
) -> ScriptAccess {
    let manages = match viewer.role {
        Role::Admin => true,
        Role::Supervisor => owner_team.is_some_and(|t| viewer.supervised_teams.contains(&t)),
        Role::Agent | Role::Sales | Role::Finance => false,
    };
    if owner == viewer.user_id || manages {
        ScriptAccess::Edit
    } else if shared {
        ScriptAccess::Read
    } else {
        ScriptAccess::Hidden
    }
}

/// Supervisors pin scripts for the teams they supervise; admins for any team.
pub fn may_pin(viewer: &Viewer, team: TeamId) -> bool {
    match viewer.role {
        Role::Admin => true,
        Role::Supervisor => viewer.supervised_teams.contains(&team),
        Role::Agent | Role::Sales | Role::Finance => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(id: i64, role: Role, teams: &[i64]) -> Viewer {
        Viewer {
            user_id: UserId(id),
            role,
            supervised_teams: teams.iter().map(|t| TeamId(*t)).collect(),
            pools: vec![],
        }
    }

    #[test]
    fn private_scripts_are_their_owners_and_managers_only() {
        let agent = viewer(1, Role::Agent, &[]);
        let other = viewer(2, Role::Agent, &[]);
        let sup = viewer(9, Role::Supervisor, &[1]);
        let sup_b = viewer(8, Role::Supervisor, &[2]);
        let t = Some(TeamId(1));
        assert_eq!(
            script_access(&agent, UserId(1), t, false),
            ScriptAccess::Edit
        );
        assert_eq!(
            script_access(&other, UserId(1), t, false),
            ScriptAccess::Hidden
        );
        assert_eq!(
            script_access(&other, UserId(1), t, true),
            ScriptAccess::Read
        );
        assert_eq!(script_access(&sup, UserId(1), t, false), ScriptAccess::Edit);
        assert_eq!(
            script_access(&sup_b, UserId(1), t, false),
            ScriptAccess::Hidden
        );
        assert_eq!(
            script_access(&viewer(5, Role::Admin, &[]), UserId(1), t, false),
            ScriptAccess::Edit
        );
    }

    #[test]
    fn only_supervisors_of_the_team_and_admins_pin() {
        assert!(!may_pin(&viewer(1, Role::Agent, &[]), TeamId(1)));
        assert!(may_pin(&viewer(9, Role::Supervisor, &[1]), TeamId(1)));
        assert!(!may_pin(&viewer(9, Role::Supervisor, &[1]), TeamId(2)));
        assert!(may_pin(&viewer(5, Role::Admin, &[]), TeamId(2)));
    }

    fn values() -> BTreeMap<String, String> {
        [
            ("lead.name", "王小明"),
            ("agent.name", "张伟"),
            ("lead.company", ""),
            ("lead.custom.industry", "教育"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn placeholders_are_filled_and_missing_ones_marked() {
        let body = "{{lead.name}}您好，我是{{ agent.name }}。贵司{{lead.company}}在{{lead.custom.industry}}行业";
        let pieces = fill(body, &values());
        assert_eq!(
            fill_text(&pieces),
            "王小明您好，我是张伟。贵司[lead.company]在教育行业"
        );
        assert!(pieces.contains(&Piece::Missing {
            key: "lead.company".into()
        }));
    }

    #[test]
    fn stray_braces_are_text() {
        let pieces = fill("a {{ b {{lead.name}} c }} d {{", &values());
        assert_eq!(fill_text(&pieces), "a {{ b 王小明 c }} d {{");
    }

    #[test]
    fn unknown_placeholders_are_refused() {
        let err = ScriptFields::parse("开场白", "", "你好 {{lead.password}}").unwrap_err();
        assert_eq!(err[0].code, "unknown_placeholder");
        assert!(ScriptFields::parse("开场白", "", "你好 {{lead.custom.industry}}").is_ok());
        assert!(!known_placeholder("lead.custom.Bad-Key"));
    }

    #[test]
    fn title_and_body_are_required() {
        let err = ScriptFields::parse(" ", "x", "  ").unwrap_err();
        let fields: Vec<&str> = err.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["title", "body"]);
    }
}
