//! Lead export: CSV with a BOM (Chinese intact), GBK on request, .xlsx whose phones are text;
//! formulas neutralised; only the leads the exporter may see; agents and sales reps refused.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Api, TestApp, mobile};

/// Leads of both teams and the pool, one with a name that a spreadsheet would run.
async fn seed(app: &TestApp) {
    let a1 = app.api("agent_a1").await;
    a1.create_lead(
        json!({"name": "张三", "phone": mobile(1), "company": "华为技术", "city": "深圳"}),
    )
    .await;
    a1.create_lead(
        json!({"name": "=HYPERLINK(\"http://evil.example\",\"点我\")", "phone": mobile(2)}),
    )
    .await;
    let b1 = app.api("agent_b1").await;
    b1.create_lead(json!({"name": "二组客户", "phone": mobile(3), "city": "杭州"}))
        .await;
    a1.create_lead(json!({"name": "公海客户", "phone": mobile(4), "pool": true, "city": "杭州"}))
        .await;
}

async fn export(api: &Api, query: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let res = api.get(&format!("/api/v1/leads/export?{query}")).await;
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn csv_has_a_bom_chinese_intact_and_formulas_neutralised() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let sup = app.api("sup_a").await;
    let (status, headers, bytes) = export(&sup, "format=csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/csv; charset=UTF-8");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment;")
            && disposition.contains("filename*=UTF-8''%E7%BA%BF%E7%B4%A2-"),
        "{disposition}"
    );
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with BOM");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.starts_with("姓名,电话,公司"), "{text}");
    assert!(
        text.contains("张三,") && text.contains("华为技术"),
        "{text}"
    );
    assert!(
        text.contains("\"'=HYPERLINK("),
        "formula neutralised: {text}"
    );
    assert!(
        !text.contains(",=HYPERLINK") && !text.contains("\n=HYPERLINK"),
        "{text}"
    );
}

#[tokio::test]
async fn gbk_export_decodes_as_gbk() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let admin = app.api("admin").await;
    let (status, headers, bytes) = export(&admin, "format=csv-gbk").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/csv; charset=GBK");
    assert!(!bytes.starts_with(b"\xEF\xBB\xBF"));
    assert!(std::str::from_utf8(&bytes).is_err(), "GBK, not UTF-8");
    let (text, had_errors) = encoding_rs::GBK.decode_without_bom_handling(&bytes);
    assert!(!had_errors);
    assert!(text.starts_with("姓名,电话,公司"), "{text}");
    assert!(
        text.contains("二组客户") && text.contains("华为技术"),
        "{text}"
    );
}

#[tokio::test]
async fn xlsx_opens_with_phones_as_text_and_formulas_as_text() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let admin = app.api("admin").await;
    let (status, headers, bytes) = export(&admin, "format=xlsx").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".xlsx")
    );
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).unwrap();
    let rows: Vec<&[Data]> = range.rows().collect();
    assert_eq!(rows[0][0], Data::String("姓名".into()));
    assert_eq!(rows.len(), 5, "header and four leads");
    let zhang = rows
        .iter()
        .find(|r| r[0] == Data::String("张三".into()))
        .expect("张三 exported");
    match &zhang[1] {
        Data::String(s) => assert!(s.contains(&mobile(1)[3..]), "{s}"),
        other => panic!("phone should be text, got {other:?}"),
    }
    assert!(
        rows.iter()
            .any(|r| matches!(&r[0], Data::String(s) if s.starts_with("'=HYPERLINK")))
    );
}

#[tokio::test]
async fn a_supervisor_exports_only_the_leads_they_may_see() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let sup = app.api("sup_a").await;
    let (_, _, bytes) = export(&sup, "").await;
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.contains("张三") && text.contains("公海客户"), "{text}");
    assert!(!text.contains("二组客户"), "team B's lead leaked: {text}");
    assert_eq!(text.lines().count(), 4, "{text}");

    // A filter narrows it, as in the list.
    let (_, _, bytes) = export(&sup, "city=%E6%9D%AD%E5%B7%9E").await;
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("公海客户"));
}

#[tokio::test]
async fn a_saved_view_exports_under_its_name() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let admin = app.api("admin").await;
    let res = admin
        .post(
            "/api/v1/views",
            json!({"name": "杭州客户", "filter": {"city": "杭州"}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let view = res.json::<serde_json::Value>().await.unwrap();
    let (status, headers, bytes) = export(&admin, &format!("view={}", view["id"])).await;
    assert_eq!(status, StatusCode::OK);
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(disposition.contains("%E6%9D%AD%E5%B7%9E"), "{disposition}");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("二组客户") && text.contains("公海客户"));
    // Another user's view is not found.
    let sup = app.api("sup_a").await;
    let (status, _, _) = export(&sup, &format!("view={}", view["id"])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn agents_and_sales_reps_may_not_export_and_bad_formats_are_refused() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    for who in ["agent_a1", "sales1"] {
        let api = app.api(who).await;
        let (status, body) = api.get_json("/api/v1/leads/export?format=csv").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {body}");
        assert_eq!(body["code"], "forbidden");
    }
    let sup = app.api("sup_a").await;
    let (status, body) = sup.get_json("/api/v1/leads/export?format=pdf").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "bad_format");
    let (status, _) = sup.get_json("/api/v1/leads/export?status=nonsense").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_lead_list_offers_export_links_with_the_current_filter_to_managers_only() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let sup = app.browser("sup_a").await;
    let (status, page) = sup.get("/leads?city=%E6%9D%AD%E5%B7%9E").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("href=\"/api/v1/leads/export?format=csv&amp;city=%E6%9D%AD%E5%B7%9E\""),
        "{page}"
    );
    // The link works with the page's session cookie.
    let res = sup
        .http
        .get(format!(
            "{}/api/v1/leads/export?format=csv&city=%E6%9D%AD%E5%B7%9E",
            sup.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(
        text.contains("公海客户") && !text.contains("张三"),
        "{text}"
    );

    let agent = app.browser("agent_a1").await;
    let (_, page) = agent.get("/leads").await;
    assert!(!page.contains("export-csv"));
}
