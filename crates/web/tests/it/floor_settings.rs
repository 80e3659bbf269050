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
