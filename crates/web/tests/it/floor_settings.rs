//! Settings done on the pages instead of the API (issue 25): dispositions added, renamed and
//! given hotkeys; a person's name and role changed; a custom field's key derived from its label.
//! Each with the refusal a non-admin meets.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp};

async fn disposition(api: &Api, code: &str) -> Option<Value> {
    let (status, body) = api.get_json("/api/v1/dispositions").await;
    assert_eq!(status, StatusCode::OK);
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == code)
        .cloned()
}

#[tokio::test]
async fn an_admin_adds_renames_and_gives_a_hotkey_to_a_disposition_on_the_settings_page() {
    let app = TestApp::spawn().await;
    let admin = app.browser("admin").await;
    let csrf = admin.csrf("/admin/workday").await;
    let (_, page) = admin.get("/admin/workday").await;
    assert!(
        page.contains("id=\"disposition-form\""),
        "the add form is on the page"
    );
    let res = admin
        .post_form(
            "/admin/workday/dispositions/add",
            &[
                ("_csrf", &csrf),
                ("code", "added_wechat"),
                ("label_zh", "已加微信"),
                ("label_en", "Added on WeChat"),
                ("sets_status", "contacted"),
                ("hotkey", "w"),
                ("connected", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let api = app.api("admin").await;
    let added = disposition(&api, "added_wechat").await.expect("added");
    assert_eq!(added["label_zh"], "已加微信");
    assert_eq!(added["hotkey"], "w");
    assert_eq!(added["sets_status"], "contacted");
    assert_eq!(added["connected"], true);
    assert_eq!(added["qualified"], false);

    // Renamed and given another hotkey; the code stays.
    let id = added["id"].as_i64().unwrap().to_string();
    let res = admin
        .post_form(
            "/admin/workday/dispositions/edit",
            &[
                ("_csrf", &csrf),
                ("id", &id),
                ("label_zh", "加微信"),
                ("label_en", "WeChat added"),
                ("hotkey", "x"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let edited = disposition(&api, "added_wechat").await.unwrap();
    assert_eq!(edited["label_zh"], "加微信");
    assert_eq!(edited["label_en"], "WeChat added");
    assert_eq!(edited["hotkey"], "x");
    assert_eq!(edited["connected"], true, "flags kept");

    // A hotkey of two letters is refused on the page, nothing changed.
    let res = admin
        .post_form(
            "/admin/workday/dispositions/edit",
            &[("_csrf", &csrf), ("id", &id), ("hotkey", "xy")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        disposition(&api, "added_wechat").await.unwrap()["hotkey"],
        "x"
    );

    // A supervisor may read the page but not change dispositions.
    let sup = app.browser("sup_a").await;
    let csrf = sup.csrf("/admin/workday").await;
    let res = sup
        .post_form(
            "/admin/workday/dispositions/add",
            &[("_csrf", &csrf), ("code", "sneaky"), ("label_zh", "偷偷")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(disposition(&api, "sneaky").await.is_none());
}

#[tokio::test]
async fn an_admin_changes_a_persons_name_and_role_on_the_people_page() {
    let app = TestApp::spawn().await;
    let admin = app.browser("admin").await;
    let csrf = admin.csrf("/admin/users").await;
    let (_, page) = admin.get("/admin/users").await;
    assert!(page.contains("id=\"user-edit-agent_a2\""));
    let path = format!("/admin/users/{}", app.org.agent_a2.0);
    let res = admin
        .post_form(
            &path,
            &[
                ("_csrf", &csrf),
                ("display_name", "李娜娜"),
                ("role", "supervisor"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let api = app.api("admin").await;
    let (_, users) = api.get_json("/api/v1/users").await;
    let changed = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "agent_a2")
        .cloned()
        .unwrap();
    assert_eq!(changed["display_name"], "李娜娜");
    assert_eq!(changed["role"], "supervisor");

    // An unknown role is refused, not ignored.
    let res = admin
        .post_form(&path, &[("_csrf", &csrf), ("role", "boss")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A supervisor may not.
    let sup = app.browser("sup_a").await;
    let csrf = sup.csrf("/leads/new").await;
    let res = sup
        .post_form(&path, &[("_csrf", &csrf), ("role", "admin")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_custom_field_labelled_in_chinese_needs_no_key_typed() {
    let app = TestApp::spawn().await;
    let admin = app.browser("admin").await;
    let csrf = admin.csrf("/admin/fields").await;
    for (zh, en) in [("意向产品", ""), ("行业", "Industry sector")] {
        let res = admin
            .post_form(
                "/admin/fields",
                &[
                    ("_csrf", &csrf),
                    ("key", ""),
                    ("label_zh", zh),
                    ("label_en", en),
                    ("kind", "text"),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{zh}");
    }
    let api = app.api("admin").await;
    let (_, fields) = api.get_json("/api/v1/custom-fields").await;
    let keys: Vec<(String, String)> = fields["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["label_zh"].as_str().unwrap().to_string(),
                f["key"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        keys.contains(&("意向产品".into(), "f_1".into())),
        "{keys:?}"
    );
    assert!(
        keys.contains(&("行业".into(), "industry_sector".into())),
        "{keys:?}"
    );
    // Over the API too: the answer names the derived key.
    let res = api
        .post(
            "/api/v1/custom-fields",
            json!({"label_zh": "预算", "kind": "number"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["key"], "f_3");
}

/// The page of a refused settings form (status 422), for a look at what sits beside each field.
async fn refused_page(res: reqwest::Response) -> String {
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.text().await.unwrap()
}

/// The text of the field-error span with this id, if the page has one.
fn field_error(page: &str, id: &str) -> Option<String> {
    let at = page.find(&format!("id=\"{id}\""))?;
    let rest = &page[at..];
    let start = rest.find('>')? + 1;
    let end = rest.find("</span>")?;
    Some(rest[start..end].to_string())
}

#[tokio::test]
async fn a_refused_disposition_says_what_is_wrong_beside_the_field_and_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    let admin = app.browser("admin").await;
    let api = app.api("admin").await;
    let csrf = admin.csrf("/admin/workday").await;
    let (_, before) = api.get_json("/api/v1/dispositions").await;
    let count = before["items"].as_array().unwrap().len();

    // Hotkey 1 is taken by a default disposition: refused beside the hotkey, the rest kept.
    let page = refused_page(
        admin
            .post_form(
                "/admin/workday/dispositions/add",
                &[
                    ("_csrf", &csrf),
                    ("code", "wechat"),
                    ("label_zh", "已加微信"),
                    ("hotkey", "1"),
                    ("connected", "on"),
                ],
            )
            .await,
    )
    .await;
    assert_eq!(
        field_error(&page, "error-new-disp-hotkey").as_deref(),
        Some("已被占用"),
        "the problem sits beside the hotkey"
    );
    assert!(field_error(&page, "error-new-disp-code").is_none());
    assert!(page.contains("value=\"已加微信\""), "the name as typed");
    assert!(page.contains("value=\"wechat\""), "the code as typed");
    assert!(
        page.contains("name=\"connected\" checked"),
        "the ticked box stays ticked"
    );

    // A code with capitals says what a code may be; "qualified" without "connected" says so.
    let page = refused_page(
        admin
            .post_form(
                "/admin/workday/dispositions/add",
                &[
                    ("_csrf", &csrf),
                    ("code", "WeChat"),
                    ("label_zh", "已加微信"),
                ],
            )
            .await,
    )
    .await;
    let said = field_error(&page, "error-new-disp-code").expect("beside the code");
    assert!(said.contains("小写"), "{said}");
    let page = refused_page(
        admin
            .post_form(
                "/admin/workday/dispositions/add",
                &[
                    ("_csrf", &csrf),
                    ("label_zh", "约了面谈"),
                    ("qualified", "on"),
                ],
            )
            .await,
    )
    .await;
    let said = field_error(&page, "error-new-disp-connected").expect("beside the boxes");
    assert!(said.contains("接通"), "{said}");
    // A code in use is a problem of the code field, not only a banner.
    let res = admin
        .post_form(
            "/admin/workday/dispositions/add",
            &[("_csrf", &csrf), ("code", "busy"), ("label_zh", "占线2")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let page = res.text().await.unwrap();
    assert_eq!(
        field_error(&page, "error-new-disp-code").as_deref(),
        Some("已被占用")
    );
    let (_, after) = api.get_json("/api/v1/dispositions").await;
    assert_eq!(
        after["items"].as_array().unwrap().len(),
        count,
        "nothing was added by the refused forms"
    );

    // Named only in Chinese, no code typed: added, with a code made for it.
    let res = admin
        .post_form(
            "/admin/workday/dispositions/add",
            &[("_csrf", &csrf), ("label_zh", "稍后回电")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, after) = api.get_json("/api/v1/dispositions").await;
    let added = after["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["label_zh"] == "稍后回电")
        .cloned()
        .expect("added");
    assert_eq!(added["label_en"], "稍后回电");
    assert!(added["code"].as_str().unwrap().starts_with("d_"), "{added}");

    // A row refused: its own hotkey cell says why, and shows what was typed.
    let busy = before["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "busy")
        .cloned()
        .unwrap();
    let id = busy["id"].as_i64().unwrap().to_string();
    let page = refused_page(
        admin
            .post_form(
                "/admin/workday/dispositions/edit",
                &[
                    ("_csrf", &csrf),
                    ("id", &id),
                    ("label_zh", "忙线中"),
                    ("label_en", "Busy line"),
                    ("hotkey", "?"),
                ],
            )
            .await,
    )
    .await;
    let said = field_error(&page, "error-disp-busy-hotkey").expect("beside the row's hotkey");
    assert!(said.contains("字母或数字"), "{said}");
    assert!(
        page.contains("value=\"忙线中\""),
        "the row keeps the typed name"
    );
    let (_, after) = api.get_json("/api/v1/dispositions").await;
    let still = after["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "busy")
        .cloned()
        .unwrap();
    assert_eq!(still["label_zh"], busy["label_zh"], "nothing changed");
}

#[tokio::test]
async fn a_refused_holiday_says_what_is_wrong_beside_the_field_and_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    let admin = app.browser("admin").await;
    let csrf = admin.csrf("/admin/workday").await;
    let page = refused_page(
        admin
            .post_form(
                "/admin/workday/holidays",
                &[
                    ("_csrf", &csrf),
                    ("day", "2026-13-01"),
                    ("name", "国庆调休"),
                    ("kind", "workday"),
                ],
            )
            .await,
    )
    .await;
    let said = field_error(&page, "error-holiday-day").expect("beside the day");
    assert!(
        said.contains("2026-01-31"),
        "says what a date looks like: {said}"
    );
    assert!(page.contains("value=\"国庆调休\""), "the name as typed");
    assert!(
        page.contains("<option value=\"workday\" selected>"),
        "the kind as chosen"
    );
    let page = refused_page(
        admin
            .post_form(
                "/admin/workday/holidays",
                &[("_csrf", &csrf), ("day", "2026-10-01"), ("kind", "party")],
            )
            .await,
    )
    .await;
    assert!(field_error(&page, "error-holiday-kind").is_some());
    let (_, page) = admin.get("/admin/workday").await;
    assert!(
        !page.contains("2026-10-01"),
        "the refused days were not stored"
    );
    // A good day is stored, and a supervisor may not add one.
    let res = admin
        .post_form(
            "/admin/workday/holidays",
            &[
                ("_csrf", &csrf),
                ("day", "2026-10-01"),
                ("name", "国庆节"),
                ("kind", "holiday"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = admin.get("/admin/workday").await;
    assert!(page.contains("2026-10-01 国庆节"));
    let sup = app.browser("sup_a").await;
    let csrf = sup.csrf("/admin/workday").await;
    let res = sup
        .post_form(
            "/admin/workday/holidays",
            &[("_csrf", &csrf), ("day", "2026-10-02"), ("kind", "holiday")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}
