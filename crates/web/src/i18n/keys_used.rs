//! Every translation key the code and templates use is in both catalogues (issue 25: "张伟 ?"
//! came from `lead.action.call`, used by a call and in neither file).
//!
//! Three sources of keys are checked:
//! - literals: any string literal in `src/` or `templates/` shaped like a key whose first part
//!   names a part of the catalogues (`"workday.any"`, `nav.t("nav.leads")`, a key kept in a
//!   table and looked up later), except the few literals listed in [`NOT_KEYS`];
//! - keys built at run time (`l.t(&format!("workday.unit.{}", u.code()))`): each prefix found in
//!   a look-up must be listed in [`built_keys`], with the values it is built from enumerated
//!   from their types where the code has them, or else marked open with the reason. A new
//!   prefix fails the test until it is listed;
//! - codes written by storage (audit entities and actions, problem codes of
//!   `StoreError::invalid`), found in the store's source.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use leadline_domain::calling_hours::DayKind;
use leadline_domain::customer_reports::{NewGrouping, Origin};
use leadline_domain::revisit::{AfterLast, DelayUnit};
use leadline_domain::voicemail::{VoicemailCategory, VoicemailStatus};
use leadline_domain::{FieldKind, Role};

use super::{Lang, catalogue};

/// String literals shaped like keys that are not keys.
const NOT_KEYS: &[&str] = &[
    // Script placeholders, `{{lead.name}}`: the words for them are `ph.lead.name`.
    "lead.name",
    "lead.company",
    "lead.title",
    "lead.city",
    "lead.region",
    "lead.source",
];

/// How the values after a prefix are known.
enum Values {
    /// Every value, enumerated.
    All(Vec<String>),
    /// Values stored or configured at run time (admin-defined dispositions, error codes spread
    /// over many handlers): at least one key under the prefix must exist; the reason says why
    /// they cannot be listed here.
    Open(&'static str),
}

fn codes<T: Copy>(all: &[T], code: impl Fn(T) -> &'static str) -> Values {
    Values::All(all.iter().map(|v| code(*v).to_string()).collect())
}

/// The prefixes of keys built at run time, and their values.
fn built_keys(store: &StoreCodes) -> Vec<(&'static str, Values)> {
    use Values::{All, Open};
    let listed = |v: &[&str]| All(v.iter().map(|s| s.to_string()).collect());
    let from = |set: &BTreeSet<String>| All(set.iter().cloned().collect());
    vec![
        ("kind.", codes(&FieldKind::ALL, FieldKind::code)),
        ("workday.unit.", codes(&DelayUnit::ALL, DelayUnit::code)),
        ("workday.delay.", codes(&DelayUnit::ALL, DelayUnit::code)),
        ("workday.after.", codes(&AfterLast::ALL, AfterLast::code)),
        (
            "workday.kind.",
            codes(&[DayKind::Holiday, DayKind::Workday], DayKind::code),
        ),
        (
            "workday.weekday.",
            listed(&["1", "2", "3", "4", "5", "6", "7"]),
        ),
        ("role.", codes(&Role::ALL, Role::as_str)),
        (
            "ph.",
            All(leadline_domain::script::PLACEHOLDERS
                .iter()
                .map(|s| s.to_string())
                .collect()),
        ),
        (
            "search.kind.",
            codes(&leadline_store::search::DocKind::ALL, |k| k.as_str()),
        ),
        ("audit.entity.", from(&store.entities)),
        ("audit.action.", from(&store.actions)),
        ("problem.", from(&store.problems)),
        (
            "lead.action.",
            Open("falls back to audit.action.*, which lists every action"),
        ),
        ("error.", Open("AppError codes, from many handlers")),
        ("field.", Open("a field without words shows its key")),
        ("disp.", Open("dispositions are defined by admins")),
        (
            "",
            Open("a prefix chosen by the caller (`{prefix}.field.…`)"),
        ),
        ("collision.filter_", Open("the case list's filter codes")),
        (
            "customer.event.",
            Open("customer events written by several modules"),
        ),
        ("customer.item.", Open("kinds of customer items")),
        ("customer.kind.", Open("customer kinds")),
        ("customer.matched.", Open("how a customer matched")),
        ("customer.status.", Open("customer statuses")),
        ("import.dup_", Open("duplicate policies")),
        ("import.encoding_", Open("encodings a file may have")),
        ("import.problem_", Open("mapping problems")),
        ("import.status_", Open("import job statuses")),
        ("import.target_", Open("import column targets")),
        ("kb.action.", Open("knowledge-base audit actions")),
        ("kb.field.", Open("knowledge-base fields")),
        ("pipeline.refused.", Open("pipeline refusals")),
        // issue 24
        ("assess.done.", listed(&["adjusted", "locked", "unlocked"])),
        (
            "call_stats.by.",
            listed(&["agent", "team", "day", "week", "month"]),
        ),
        ("plan.period.", listed(&["week", "month"])),
        // issue 24: customer reports
        (
            "customer_reports.group.",
            codes(&NewGrouping::ALL, NewGrouping::code),
        ),
        (
            "customer_reports.origin.",
            codes(&Origin::ALL, Origin::code),
        ),
        (
            "customer_reports.month.",
            All((1..=12).map(|m| m.to_string()).collect()),
        ),
        (
            "plan.status.",
            listed(&["submitted", "approved", "rejected"]),
        ),
        (
            "quality.band.",
            listed(&["excellent", "good", "pass", "needs_work"]),
        ),
        ("report.status.", listed(&["draft", "submitted"])),
        (
            "target.metric.",
            listed(&[
                "calls",
                "valid_conversations",
                "qualified",
                "new_customers",
                "orders",
                "revenue_fen",
                "collections_fen",
            ]),
        ),
        ("plan.source.", Open("where a plan item came from")),
        ("pool.event.", Open("pool events")),
        ("pool.reason.", Open("pool reasons")),
        ("reclaim.basis.", Open("reclaim rule bases")),
        ("reclaim.kind.", Open("reclaim rule kinds")),
        ("sales.level_", Open("approval levels")),
        ("sales.method_", Open("payment methods")),
        ("sales.request_", Open("discount request statuses")),
        ("sales.status_", Open("order statuses")),
        ("script.action.", Open("script audit actions")),
        ("sort.", Open("list sort orders")),
        ("visits.result.", Open("visit results")),
        ("ws.collision.match_", Open("how a collision matched")),
        // issue 27: vm27
        (
            "voicemail.category.",
            codes(&VoicemailCategory::ALL, VoicemailCategory::as_str),
        ),
        (
            "voicemail.status.",
            codes(&VoicemailStatus::ALL, VoicemailStatus::as_str),
        ),
        ("inbound_calls.hung_up_by.", listed(&["caller", "service"])),
        // issue 27: reminder calls (催缴)
        (
            "reminder_calls.status.",
            listed(&crate::api::reminder_calls::STATUSES),
        ),
        ("reminder_calls.skip.", listed(&["dnc", "no_phone", "paid"])),
        (
            "reminder_calls.kind.",
            listed(&crate::api::reminder_calls::KINDS),
        ),
        (
            "reminder_calls.answer.",
            listed(&["payment.1", "revisit.1", "revisit.2"]),
        ),
        (
            "reminder_calls.result.",
            listed(&["answered", "busy", "no_answer", "failed"]),
        ),
        // issue 27: dial
        (
            "phone.result.",
            listed(&["answered", "busy", "no_answer", "failed"]),
        ),
        (
            "phone.hung_up_by.",
            listed(&["seat", "customer", "service"]),
        ),
    ]
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, ext: &str, out: &mut Vec<(PathBuf, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            out.push((path, text));
        }
    }
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'
}

/// The double-quoted literals of a text.
fn literals(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        out.push(&after[..end]);
        rest = &after[end + 1..];
    }
    out
}

/// The prefixes of `format!("prefix{…")` passed to a look-up (`t`, `tf`, `tn`, `has`).
fn built_prefixes(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for call in [".t(", ".tf(", ".tn(", ".has("] {
        for (i, _) in text.match_indices(call) {
            let arg = text[i + call.len()..].trim_start();
            let arg = arg.strip_prefix('&').unwrap_or(arg);
            let Some(arg) = arg.strip_prefix("format!(") else {
                continue;
            };
            let Some(arg) = arg.trim_start().strip_prefix('"') else {
                continue;
            };
            if let Some(end) = arg.find(['{', '"'])
                && arg[end..].starts_with('{')
            {
                out.push(arg[..end].to_string());
            }
        }
    }
    out
}

/// Codes that storage writes and pages translate.
struct StoreCodes {
    entities: BTreeSet<String>,
    actions: BTreeSet<String>,
    problems: BTreeSet<String>,
}

/// The quoted word right after `marker` (`entity: "lead"` → `lead`).
fn quoted_after<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
    text.match_indices(marker)
        .filter_map(|(i, _)| {
            let rest = text[i + marker.len()..].trim_start().strip_prefix('"')?;
            let end = rest.find('"')?;
            let word = &rest[..end];
            (!word.is_empty() && word.chars().all(is_key_char)).then_some(word)
        })
        .collect()
}

fn store_codes() -> StoreCodes {
    let mut sources = Vec::new();
    files(&crate_dir().join("../store/src"), "rs", &mut sources);
    let mut codes = StoreCodes {
        entities: BTreeSet::new(),
        actions: BTreeSet::new(),
        problems: BTreeSet::new(),
    };
    for (_, text) in &sources {
        codes
            .entities
            .extend(quoted_after(text, "entity: ").into_iter().map(String::from));
        codes
            .actions
            .extend(quoted_after(text, "action: ").into_iter().map(String::from));
        // `action: if x { "update" } else { "create" }`
        for (i, _) in text.match_indices("action: if ") {
            let tail = &text[i..text.len().min(i + 160)];
            let until = tail.find(',').unwrap_or(tail.len());
            codes.actions.extend(
                literals(&tail[..until])
                    .into_iter()
                    .filter(|w| !w.is_empty() && w.chars().all(is_key_char))
                    .map(String::from),
            );
        }
        // `StoreError::invalid("field", "code")`
        for (i, _) in text.match_indices("invalid(") {
            let tail = &text[i..text.len().min(i + 120)];
            let until = tail.find(')').unwrap_or(tail.len());
            if let [_, code] = literals(&tail[..until])[..]
                && !code.is_empty()
                && code.chars().all(is_key_char)
            {
                codes.problems.insert(code.to_string());
            }
        }
    }
    // Written by SQL, not by an `AuditEntry` (ownership::reclaim::pass).
    codes.actions.insert("reclaim".into());
    codes
}

#[test]
fn every_key_used_is_in_both_catalogues() {
    let zh = catalogue(Lang::Zh);
    let en = catalogue(Lang::En);
    let namespaces: BTreeSet<&str> = zh.keys().filter_map(|k| k.split('.').next()).collect();
    let mut sources = Vec::new();
    files(&crate_dir().join("src"), "rs", &mut sources);
    files(&crate_dir().join("templates"), "html", &mut sources);
    assert!(sources.len() > 50, "the sources were found");

    let mut missing = Vec::new();
    let check = |missing: &mut Vec<String>, key: &str, place: &str| {
        for (lang, cat) in [("zh-CN", zh), ("en", en)] {
            if !cat.contains_key(key) {
                missing.push(format!("{key} (in {place}) missing from {lang}"));
            }
        }
    };
    let mut prefixes = BTreeSet::new();
    for (path, text) in &sources {
        let place = path
            .strip_prefix(crate_dir())
            .unwrap_or(path)
            .display()
            .to_string();
        if place.ends_with("keys_used.rs") {
            continue;
        }
        for lit in literals(text) {
            let shaped = lit.contains('.')
                && lit.starts_with(|c: char| c.is_ascii_lowercase())
                && !lit.ends_with('.')
                && lit.chars().all(is_key_char)
                && !lit.ends_with(".html")
                && !NOT_KEYS.contains(&lit);
            if shaped
                && lit
                    .split('.')
                    .next()
                    .is_some_and(|n| namespaces.contains(n))
            {
                check(&mut missing, lit, &place);
            }
        }
        for prefix in built_prefixes(text) {
            prefixes.insert((prefix, place.clone()));
        }
    }

    let store = store_codes();
    assert!(store.entities.contains("ticker_message") && store.actions.contains("call"));
    let table = built_keys(&store);
    for (prefix, place) in &prefixes {
        match table.iter().find(|(p, _)| p == prefix) {
            None => missing.push(format!(
                "keys built as \"{prefix}…\" in {place}: list the prefix and its values in \
                 built_keys"
            )),
            Some((_, Values::All(values))) => {
                for v in values {
                    check(&mut missing, &format!("{prefix}{v}"), place);
                }
            }
            Some((_, Values::Open(why))) => {
                let any = |cat: &std::collections::HashMap<&str, &str>| {
                    prefix.is_empty() || cat.keys().any(|k| k.starts_with(prefix.as_str()))
                };
                if !any(zh) || !any(en) {
                    missing.push(format!("no key starts with \"{prefix}\" ({place}; {why})"));
                }
            }
        }
    }
    // Storage's codes are translated even where no page builds their key yet.
    for (prefix, values) in [
        ("audit.entity.", &store.entities),
        ("audit.action.", &store.actions),
        ("problem.", &store.problems),
    ] {
        for v in values {
            check(&mut missing, &format!("{prefix}{v}"), "the store's source");
        }
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn the_scanner_finds_what_it_looks_for() {
    let text = r#"l.t(&format!("workday.unit.{}", u)); nav.t(format!("role.{}", r)); x.t("a.b")"#;
    assert_eq!(built_prefixes(text), ["workday.unit.", "role."]);
    assert_eq!(literals(text), ["workday.unit.{}", "role.{}", "a.b"]);
    assert_eq!(
        quoted_after(r#"entity: "lead", action: "call","#, "action: "),
        ["call"]
    );
}
