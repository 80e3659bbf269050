//! The settings page's forms (issue 4): revisit rules added, edited and deleted, a team's calling
//! hours edited and reset, bad input refused on the page with nothing changed, and the refusals
//! of non-admins and forged CSRF tokens.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, Browser, TestApp};

/// The stored revisit rules, as the API lists them.
async fn rules(api: &Api) -> Vec<Value> {
    let (status, body) = api.get_json("/api/v1/revisit-rules").await;
    assert_eq!(status, StatusCode::OK);
    body["items"].as_array().unwrap().clone()
}

/// A team's (or the default's) calling windows, as the API lists them.
async fn windows(api: &Api, team: Option<i64>) -> Value {
    let path = match team {
        Some(t) => format!("/api/v1/calling-hours?team_id={t}"),
        None => "/api/v1/calling-hours".to_string(),
    };
    api.get_json(&path).await.1["windows"].clone()
}

/// A rule form's fields: `changes` replace the defaults (busy, any intent, from attempt 1,
/// 2 hours, at most 3 attempts, then back to the pool).
fn rule_fields<'a>(csrf: &'a str, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("_csrf", csrf),
        ("disposition", "busy"),
        ("intent", ""),
        ("attempt_from", "1"),
        ("attempt_to", ""),
        ("delay_amount", "2"),
        ("delay_unit", "hours"),
        ("max_attempts", "3"),
        ("after_last", "return_to_pool"),
        ("position", "5"),
        ("active", "1"),
    ];
    for (k, v) in changes {
        match fields.iter_mut().find(|(f, _)| f == k) {
            Some(field) => field.1 = v,
            None => fields.push((k, v)),
        }
    }
    fields.retain(|(_, v)| *v != "<absent>");
    fields
}

/// Posts a form expected to be refused on the page: returns the page's HTML.
async fn refused(who: &Browser, path: &str, fields: &[(&str, &str)], status: StatusCode) -> String {
    let res = who.post_form(path, fields).await;
    assert_eq!(res.status(), status, "{fields:?}");
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"workday-error\""), "{html}");
    html
}

#[tokio::test]
async fn the_admin_adds_edits_and_deletes_a_revisit_rule_on_the_settings_page() {
    let app = TestApp::spawn().await;
    let api = app.api("admin").await;
    let admin = app.browser("admin").await;
    let before = rules(&api).await;
    let csrf = admin.csrf("/admin/workday").await;

    let res = admin
        .post_form("/admin/workday/rules", &rule_fields(&csrf, &[]))
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let after = rules(&api).await;
    assert_eq!(after.len(), before.len() + 1);
    let added = after
        .iter()
        .find(|r| !before.contains(r))
        .expect("the new rule")
        .clone();
    assert_eq!(added["disposition"], "busy");
    assert_eq!(added["intent"], Value::Null);
    assert_eq!(added["delay"], json!([2, "hours"]));
    assert_eq!(added["max_attempts"], 3);
    assert_eq!(added["after_last"], "return_to_pool");
    assert_eq!(added["active"], true);
    let id = added["id"].as_i64().unwrap().to_string();

    // The edit link opens the form filled with the rule.
    let (_, html) = admin.get(&format!("/admin/workday?rule={id}")).await;
    assert!(html.contains(&format!("修改回访规则 #{id}")), "{html}");
    assert!(html.contains(&format!("name=\"id\" value=\"{id}\"")));
    assert!(html.contains("<option value=\"return_to_pool\" selected>"));

    // Saved with its id, the rule is replaced: 30 minutes, interested only, switched off.
    let res = admin
        .post_form(
            "/admin/workday/rules",
            &rule_fields(
                &csrf,
                &[
                    ("id", &id),
                    ("intent", "interested"),
                    ("delay_amount", "30"),
                    ("delay_unit", "minutes"),
                    ("max_attempts", ""),
                    ("after_last", "mark_invalid"),
                    ("active", "<absent>"),
                ],
            ),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let after = rules(&api).await;
    assert_eq!(after.len(), before.len() + 1, "replaced, not added");
    let edited = after.iter().find(|r| r["id"] == added["id"]).unwrap();
    assert_eq!(edited["intent"], "interested");
    assert_eq!(edited["delay"], json!([30, "minutes"]));
    assert_eq!(edited["max_attempts"], Value::Null);
    assert_eq!(edited["after_last"], "mark_invalid");
    assert_eq!(edited["active"], false);
    let (_, html) = admin.get("/admin/workday").await;
    assert!(html.contains(&format!("data-rule=\"{id}\" class=\"muted\"")));
    assert!(html.contains("30 分钟"));

    let res = admin
        .post_form(
            "/admin/workday/rules/delete",
            &[("_csrf", &csrf), ("id", &id)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(rules(&api).await, before);
    // Deleting it again says it is gone.
    let html = refused(
        &admin,
        "/admin/workday/rules/delete",
        &[("_csrf", &csrf), ("id", &id)],
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(html.contains("找不到"), "{html}");
}

#[tokio::test]
async fn bad_rule_input_is_refused_on_the_page_with_the_input_kept_and_nothing_changed() {
    let app = TestApp::spawn().await;
    let api = app.api("admin").await;
    let admin = app.browser("admin").await;
    let before = rules(&api).await;
    let csrf = admin.csrf("/admin/workday").await;
    let some_id = before[0]["id"].as_i64().unwrap().to_string();
    for (changes, words) in [
        (vec![("attempt_from", "abc")], "从第几次"),
        (vec![("attempt_from", "")], "从第几次"),
        (vec![("delay_amount", "0")], "间隔"),
        (
            vec![("delay_amount", "9999"), ("delay_unit", "days")],
            "间隔",
        ),
        (vec![("disposition", "no_such_result")], "通话结果"),
        (vec![("delay_unit", "weeks")], "间隔单位"),
        (vec![("attempt_from", "3"), ("attempt_to", "2")], "从第几次"),
        (vec![("max_attempts", "0")], "最多次数"),
        // Editing keeps the id; a bad edit leaves the stored rule as it was.
        (
            vec![("id", some_id.as_str()), ("delay_amount", "-5")],
            "间隔",
        ),
    ] {
        let fields = rule_fields(&csrf, &changes);
        let html = refused(
            &admin,
            "/admin/workday/rules",
            &fields,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        let error = &html[html.find("id=\"workday-error\"").unwrap()..];
        let error = &error[..error.find("</p>").unwrap()];
        assert!(error.contains("输入有误"), "{changes:?}: {error}");
        assert!(error.contains(words), "{changes:?}: {error}");
        // What was typed stays in the form for correction.
        let (field, value) = changes.last().unwrap();
        if *field != "disposition" && *field != "delay_unit" && *field != "id" {
            assert!(
                html.contains(&format!("name=\"{field}\" min=\"1\" value=\"{value}\""))
                    || html.contains(&format!("name=\"{field}\" value=\"{value}\"")),
                "{field}={value} kept"
            );
        }
        assert_eq!(rules(&api).await, before, "{changes:?} changed nothing");
    }
    // A rule id that does not exist is not found, and nothing is added in its place.
    let html = refused(
        &admin,
        "/admin/workday/rules",
        &rule_fields(&csrf, &[("id", "999999")]),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(html.contains("id=\"rule-form\""));
    assert_eq!(rules(&api).await, before);
}

#[tokio::test]
async fn the_admin_edits_a_teams_calling_hours_and_bad_spans_change_nothing() {
    let app = TestApp::spawn().await;
    let api = app.api("admin").await;
    let admin = app.browser("admin").await;
    let team = app.org.team_a.0;
    let team_text = team.to_string();
    let default = windows(&api, None).await;
    assert_eq!(
        windows(&api, Some(team)).await,
        default,
        "the default applies"
    );
    let (_, html) = admin.get(&format!("/admin/workday?team={team}")).await;
    assert!(html.contains("与默认相同"), "{html}");
    assert!(html.contains("name=\"day_1\" id=\"hours-day-1\" value=\"09:00-12:00, 14:00-18:00\""));
    let csrf = admin.csrf("/admin/workday").await;

    let mut fields = vec![("_csrf", csrf.as_str()), ("team_id", team_text.as_str())];
    let week = "08:30-12:00，13:30 - 17:30";
    for day in ["day_1", "day_2", "day_3", "day_4", "day_5"] {
        fields.push((day, week));
    }
    fields.push(("day_6", "10:00~15:00"));
    fields.push(("day_7", ""));
    let res = admin.post_form("/admin/workday/hours", &fields).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        format!("/admin/workday?team={team}").as_str()
    );
    let own = windows(&api, Some(team)).await;
    let own = own.as_array().unwrap();
    assert_eq!(
        own.len(),
        11,
        "two spans on five weekdays and one on Saturday"
    );
    assert_eq!(
        own[0],
        json!({"weekday": 1, "start": "08:30", "end": "12:00"})
    );
    assert_eq!(
        own[1],
        json!({"weekday": 1, "start": "13:30", "end": "17:30"})
    );
    assert_eq!(
        own[10],
        json!({"weekday": 6, "start": "10:00", "end": "15:00"})
    );
    assert_eq!(
        windows(&api, None).await,
        default,
        "the default is untouched"
    );
    assert_eq!(
        windows(&api, Some(app.org.team_b.0)).await,
        default,
        "other teams keep the default"
    );
    let (_, html) = admin.get(&format!("/admin/workday?team={team}")).await;
    assert!(html.contains("周一: 08:30–12:00, 13:30–17:30"), "{html}");
    assert!(html.contains("周日: 不外呼") && !html.contains("与默认相同"));

    // Bad spans: the day and the span are named, what was typed stays, nothing changes.
    let stored = windows(&api, Some(team)).await;
    for (day, text, words) in [
        (
            "day_1",
            "9点到12点",
            "周一：“9点到12点” 不是 09:00-12:00 这样的时段",
        ),
        (
            "day_2",
            "12:00-09:00",
            "周二：“12:00-09:00” 的开始时间必须早于结束时间",
        ),
        ("day_3", "09:00-12:00, 11:00-13:00", "周三：时段有重叠"),
        ("day_4", "25:00-26:00", "周四：“25:00-26:00” 不是"),
    ] {
        let mut fields = fields.clone();
        fields.retain(|(k, _)| *k != day);
        fields.push((day, text));
        let html = refused(
            &admin,
            "/admin/workday/hours",
            &fields,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(html.contains(words), "{text}: {html}");
        assert!(html.contains(&format!(
            "name=\"{day}\" id=\"hours-{}\" value=\"{text}\"",
            day.replace('_', "-")
        )));
        assert_eq!(
            windows(&api, Some(team)).await,
            stored,
            "{text} changed nothing"
        );
    }
    // A team that does not exist is not found.
    let res = admin
        .post_form(
            "/admin/workday/hours",
            &[
                ("_csrf", &csrf),
                ("team_id", "999999"),
                ("day_1", "09:00-10:00"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(windows(&api, None).await, default);

    // Resetting the default itself is refused: it would leave no calling hours at all.
    refused(
        &admin,
        "/admin/workday/hours",
        &[("_csrf", &csrf), ("team_id", ""), ("reset", "1")],
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(windows(&api, None).await, default);

    // The team goes back to the default hours.
    let res = admin
        .post_form(
            "/admin/workday/hours",
            &[("_csrf", &csrf), ("team_id", &team_text), ("reset", "1")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(windows(&api, Some(team)).await, default);

    // The default's hours are edited the same way (no team named).
    let mut fields = vec![("_csrf", csrf.as_str()), ("team_id", "")];
    for day in ["day_1", "day_2", "day_3", "day_4", "day_5"] {
        fields.push((day, "09:00-18:00"));
    }
    let res = admin.post_form("/admin/workday/hours", &fields).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let new_default = windows(&api, None).await;
    assert_eq!(new_default.as_array().unwrap().len(), 5);
    assert_eq!(windows(&api, Some(team)).await, new_default);
}

#[tokio::test]
async fn the_rule_and_hours_forms_refuse_non_admins_and_forged_tokens() {
    let app = TestApp::spawn().await;
    let api = app.api("admin").await;
    let before = rules(&api).await;
    let default = windows(&api, None).await;
    let some_id = before[0]["id"].as_i64().unwrap().to_string();
    let team = app.org.team_a.0.to_string();
    for who in ["sup_a", "agent_a1", "sales1"] {
        let browser = app.browser(who).await;
        // Agents and sales reps cannot open the page; their session's token is on other pages.
        let csrf = browser.csrf("/tokens").await;
        for (path, fields) in [
            ("/admin/workday/rules", rule_fields(&csrf, &[])),
            (
                "/admin/workday/rules/delete",
                vec![("_csrf", csrf.as_str()), ("id", some_id.as_str())],
            ),
            (
                "/admin/workday/hours",
                vec![
                    ("_csrf", csrf.as_str()),
                    ("team_id", team.as_str()),
                    ("day_1", "00:00-24:00"),
                ],
            ),
            (
                "/admin/workday/hours",
                vec![
                    ("_csrf", csrf.as_str()),
                    ("team_id", team.as_str()),
                    ("reset", "1"),
                ],
            ),
        ] {
            let res = browser.post_form(path, &fields).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{who} {path}");
        }
    }
    // The admin's own session with a forged or missing token is refused too.
    let admin = app.browser("admin").await;
    for forged in ["0".repeat(64), String::new()] {
        for (path, fields) in [
            ("/admin/workday/rules", rule_fields(&forged, &[])),
            (
                "/admin/workday/rules/delete",
                vec![("_csrf", forged.as_str()), ("id", some_id.as_str())],
            ),
            (
                "/admin/workday/hours",
                vec![("_csrf", forged.as_str()), ("day_1", "00:00-24:00")],
            ),
        ] {
            let res = admin.post_form(path, &fields).await;
            assert_eq!(
                res.status(),
                StatusCode::FORBIDDEN,
                "forged token on {path}"
            );
        }
    }
    assert_eq!(rules(&api).await, before, "no rule changed");
    assert_eq!(windows(&api, None).await, default, "no hours changed");
    assert_eq!(
        windows(&api, Some(app.org.team_a.0)).await,
        default,
        "no team hours changed"
    );
}
