//! No silent change (issue 21, "Integrity"): a PATCH value of the wrong type is refused naming
//! its field.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, mobile};

async fn lead_json(api: &Api, id: &Value) -> Value {
    let (status, lead) = api.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{lead}");
    lead
}

/// Values of the wrong JSON type in a PATCH are refused with 422 naming the field, and the lead
/// is as it was: `owner_id: 1.5` used to put the lead in the pool and `phones: [null]` to delete
/// every phone, both with 200.
#[tokio::test]
async fn a_patch_value_of_the_wrong_type_is_refused_naming_its_field() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let lead = a1
        .create_lead(json!({"name": "孙女士", "phones": [mobile(7101), mobile(7102)], "tags": ["老客户"], "status": "contacted"}))
        .await;
    let path = format!("/api/v1/leads/{}", lead["id"]);
    for (field, value) in [
        ("owner_id", json!(1.5)),
        ("owner_id", json!(18446744073709551615u64)),
        ("owner_id", json!("4")),
        ("phones", json!([null])),
        ("phones", json!([mobile(7101), null])),
        ("phone", json!([null])),
        ("tags", json!([null])),
        ("status", json!(null)),
        ("name", json!(null)),
        ("pool", json!("true")),
        ("pool", json!(1)),
        ("allow_collision", json!("yes")),
        ("company", json!(["华为"])),
        ("custom", json!(null)),
    ] {
        let res = a1.patch(&path, json!({ field: value })).await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {value} → {body}"
        );
        assert_eq!(
            body["details"]["problems"][0]["field"], field,
            "{field}: {value} → {body}"
        );
    }
    let now = lead_json(&a1, &lead["id"]).await;
    assert_eq!(now["version"], lead["version"], "nothing written: {now}");
    assert_eq!(now["owner_id"], json!(app.org.agent_a1.0));
    assert_eq!(now["phones"], lead["phones"]);
    assert_eq!(now["tags"], json!(["老客户"]));
    assert_eq!(now["status"], "contacted");

    // The right types still work: null clears what may be empty, `pool: true` gives it away.
    let res = a1
        .patch(
            &path,
            json!({"company": null, "phones": [mobile(7102)], "pool": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["owner_id"], Value::Null);
    assert_eq!(changed["phones"].as_array().unwrap().len(), 1);
}
