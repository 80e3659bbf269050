//! Chinese first, all the way (issue 25): times typed with a Chinese input method are taken,
//! a refused settings field says at the field what is wrong, revisit rules and the admin's
//! change log speak words instead of codes, a call in a lead's history is named, and English
//! counts one day as "1 day".

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Browser, TestApp, mobile};

/// The text of the element with `id`, up to its closing tag.
fn at_id<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[start..];
    Some(&rest[..rest.find("</").unwrap_or(rest.len())])
}

async fn post(who: &Browser, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let res = who.post_form(path, fields).await;
    (res.status(), res.text().await.unwrap())
}

#[tokio::test]
async fn hours_typed_with_a_chinese_input_method_are_stored() {
    let app = TestApp::spawn().await;
    let api = app.api("admin").await;
    let admin = app.browser("admin").await;
    let csrf = admin.csrf("/admin/workday").await;
    let week = "09：00－12：00，14：00－18：00";
    let mut fields = vec![("_csrf", csrf.as_str()), ("team_id", "")];
    for day in ["day_1", "day_2", "day_3", "day_4", "day_5"] {
        fields.push((day, week));
    }
    fields.push(("day_6", "０９：３０～１１：３０"));
    fields.push(("day_7", ""));
    let (status, html) = post(&admin, "/admin/workday/hours", &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let (_, body) = api.get_json("/api/v1/calling-hours").await;
    let windows = body["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 11);
    assert_eq!(
        windows[0],
        json!({"weekday": 1, "start": "09:00", "end": "12:00"})
    );
    assert_eq!(
        windows[1],
        json!({"weekday": 1, "start": "14:00", "end": "18:00"})
    );
    assert_eq!(
        windows[10],
        json!({"weekday": 6, "start": "09:30", "end": "11:30"})
    );

    // A bad day is named at its own field.
    fields.retain(|(k, _)| *k != "day_2");
    fields.push(("day_2", "上午"));
    let (status, html) = post(&admin, "/admin/workday/hours", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let at_field = at_id(&html, "error-day-2").expect("the error beside 周二");
    assert!(at_field.contains("上午"), "{at_field}");
    assert!(at_id(&html, "error-day-1").is_none());
}

#[tokio::test]
async fn a_refused_rule_field_says_what_is_wrong_beside_it() {
    let app = TestApp::spawn().await;
    let admin = app.browser("admin").await;
    let csrf = admin.csrf("/admin/workday").await;
    let base = [
        ("_csrf", csrf.as_str()),
        ("disposition", "busy"),
        ("intent", ""),
        ("attempt_to", ""),
        ("delay_amount", "2"),
        ("delay_unit", "hours"),
        ("max_attempts", "3"),
        ("after_last", "return_to_pool"),
        ("position", "5"),
        ("active", "1"),
    ];
    for (attempt_from, delay, field, words) in [
        ("abc", "2", "error-attempt_from", "须为 1–1000 的整数"),
        ("0", "2", "error-attempt_from", "须为 1–1000 的整数"),
        ("1", "0", "error-delay_amount", "1 分钟到 365 天"),
    ] {
        let mut fields = base.to_vec();
        fields.retain(|(k, _)| *k != "delay_amount");
        fields.push(("attempt_from", attempt_from));
        fields.push(("delay_amount", delay));
        let (status, html) = post(&admin, "/admin/workday/rules", &fields).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let at_field = at_id(&html, field).unwrap_or_else(|| panic!("{field} in {html}"));
        assert!(at_field.contains(words), "{attempt_from}: {at_field}");
        let top = at_id(&html, "workday-error").expect("the summary at the top");
        assert!(!top.contains("无效"), "says what is wrong: {top}");
    }
    // A full-width number is a number.
    let mut fields = base.to_vec();
    fields.push(("attempt_from", "２"));
    let (status, _) = post(&admin, "/admin/workday/rules", &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // The rules list names dispositions, not their codes, and one day is "1 day" in English.
    let mut fields = base.to_vec();
    fields.retain(|(k, _)| !matches!(*k, "delay_amount" | "delay_unit"));
    fields.extend([
        ("attempt_from", "1"),
        ("delay_amount", "1"),
        ("delay_unit", "days"),
    ]);
    let (status, _) = post(&admin, "/admin/workday/rules", &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = admin.get("/admin/workday").await;
    let rules = at_id(&html, "revisit-rules").map(|_| {
        let start = html.find("id=\"revisit-rules\"").unwrap();
        &html[start..start + html[start..].find("</table>").unwrap()]
    });
    let rules = rules.unwrap();
    assert!(rules.contains("<td>占线</td>"), "{rules}");
    assert!(!rules.contains("<td>busy</td>"), "{rules}");
    admin.get("/lang/en?next=/admin/workday").await;
    let (_, html) = admin.get("/admin/workday").await;
    assert!(html.contains("<td>1 day</td>"), "{html}");
    assert!(!html.contains("1 days"), "{html}");
}

#[tokio::test]
async fn the_change_log_and_a_leads_history_speak_words() {
    let app = TestApp::spawn().await;
    let api = app.api("admin").await;
    let res = api
        .post("/api/v1/ticker", json!({"body": "每一个电话都是机会！"}))
        .await;
    assert!(res.status().is_success());
    let admin = app.browser("admin").await;
    let (_, html) = admin.get("/admin/fields").await;
    assert!(html.contains("滚动公告 #"), "{html}");
    assert!(!html.contains("ticker_message"), "{html}");

    // A call in a lead's history.
    let a1 = app.api("agent_a1").await;
    let lead = a1
        .create_lead(json!({"name": "张伟", "phone": mobile(7)}))
        .await;
    let res = a1
        .post(
            &format!("/api/v1/leads/{}/calls", lead["id"]),
            json!({"disposition": "no_answer", "duration_s": 0}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let (_, html) = app
        .browser("agent_a1")
        .await
        .get(&format!("/leads/{}", lead["id"]))
        .await;
    assert!(html.contains("记录了一次通话"), "{html}");
    assert!(!html.contains(" ?<") && !html.contains(">?<"), "{html}");
}
