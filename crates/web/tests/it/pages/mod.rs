//! The server-rendered pages as a browser uses them: sign-in and its throttling, CSRF on forms,
//! the lead form with custom fields, edit conflicts, role refusals, the list with filters, counts
//! and saved views, the timeline, the language switch, time zones and API tokens. The fixtures
//! several page families share live here; reading pages is in `html`.

mod csrf;
mod html;
mod languages;
mod lead_form;
mod list;
mod roles;
mod sign_in;
mod timeline;
mod tokens;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn lead_count(app: &TestApp) -> usize {
    let (_, list) = app
        .api("admin")
        .await
        .get_json("/api/v1/leads?limit=200")
        .await;
    list["items"].as_array().unwrap().len()
}

async fn create_fields(app: &TestApp, fields: &[Value]) {
    let admin = app.api("admin").await;
    for f in fields {
        let res = admin.post("/api/v1/custom-fields", f.clone()).await;
        assert_eq!(res.status(), StatusCode::CREATED, "creating field {f}");
    }
}

fn the_fields() -> Vec<Value> {
    vec![
        json!({"key": "level", "label_zh": "客户等级", "label_en": "Customer level", "kind": "select",
            "required": true, "options": ["A", "B", "C"]}),
        json!({"key": "products", "label_zh": "关注产品", "label_en": "Products of interest",
            "kind": "multi_select", "options": ["CRM", "呼叫中心", "短信"]}),
        json!({"key": "visit_date", "label_zh": "拜访日期", "label_en": "Visit date", "kind": "date"}),
        json!({"key": "budget", "label_zh": "预算", "label_en": "Budget", "kind": "number"}),
        json!({"key": "contact_email", "label_zh": "联系邮箱", "label_en": "Contact e-mail",
            "kind": "email"}),
    ]
}
