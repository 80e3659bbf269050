//! The product edit page (issue 23) over real HTTP: an admin changes the name, the price in
//! yuan (read exactly to the fen), what a bundle holds and retires the product; a bad price is
//! shown at its field; nobody else may open or post the form.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, post};

#[tokio::test]
async fn an_admin_edits_a_product_to_the_fen_and_retires_it_and_others_may_not() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let (_, a) = post(
        &admin,
        "/api/v1/products",
        json!({"name": "企业版年费", "price_fen": 50000}),
    )
    .await;
    let (_, b) = post(
        &admin,
        "/api/v1/products",
        json!({"name": "培训服务", "price_fen": 19900}),
    )
    .await;
    let (a, b) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());
    let page = format!("/sales/products/{b}");
    let boss = app.browser("admin").await;
    let (s, html) = boss.get(&page).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("value=\"培训服务\"") && html.contains("value=\"199.00\""),
        "{html}"
    );
    let csrf = boss.csrf(&page).await;
    let a_id = a.to_string();
    // A price with a third decimal is refused at the field, what was typed kept.
    let res = boss
        .post_form(
            &page,
            &[
                ("_csrf", &csrf),
                ("name", "培训服务套餐"),
                ("price", "1234.567"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("id=\"price-error\"") && html.contains("value=\"1234.567\""),
        "{html}"
    );
    // Renamed, ¥1,234.56 exactly, a bundle of two of the other product.
    let res = boss
        .post_form(
            &page,
            &[
                ("_csrf", &csrf),
                ("name", "培训服务套餐"),
                ("unit", "套"),
                ("price", "1,234.56"),
                ("status", "active"),
                ("item_0", &a_id),
                ("quantity_0", "2"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, list) = admin.get_json("/api/v1/products").await;
    let p = find(&list, b);
    assert_eq!(
        (
            p["name"].as_str(),
            p["price_fen"].as_i64(),
            p["is_bundle"].as_bool()
        ),
        (Some("培训服务套餐"), Some(123_456), Some(true))
    );
    assert_eq!(p["items"][0]["product_id"], a);
    assert_eq!(p["items"][0]["quantity"], 2);
    // Retired: gone from the list on sale, kept in the full one.
    let res = boss
        .post_form(
            &page,
            &[
                ("_csrf", &csrf),
                ("name", "培训服务套餐"),
                ("price", "1234.56"),
                ("status", "retired"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, on_sale) = admin.get_json("/api/v1/products").await;
    assert!(
        on_sale["products"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["id"] != b)
    );
    let (_, all) = admin.get_json("/api/v1/products?all=true").await;
    assert_eq!(find(&all, b)["active"], false);
    // The product list links the edit page for an admin.
    let (_, html) = boss.get("/sales/products").await;
    assert!(html.contains(&format!("id=\"edit-product-{b}\"")), "{html}");
    // A supervisor may neither open nor post the form.
    let sup = app.browser("sup_a").await;
    let (s, _) = sup.get(&page).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let csrf = sup.csrf("/sales/products").await;
    let res = sup
        .post_form(&page, &[("_csrf", &csrf), ("name", "x"), ("price", "1")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

fn find(list: &Value, id: i64) -> &Value {
    let items = list["products"].as_array().unwrap();
    items.iter().find(|p| p["id"] == id).unwrap()
}
