//! Never panic, never 500 on input (issue 21): dates outside the calendar, overflowing revisit
//! delays and attempt numbers, hundreds of tag filters, saved views that are not filters, and an
//! .xlsx whose one cell unpacks to megabytes each get a clear 4xx naming what is wrong, and
//! nothing stored changes.

use std::io::Write;

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::api_imports::post_form;
use crate::helpers::{Api, TestApp, mobile};

/// The answer to a GET, which must come (a panic closed the connection without one).
async fn answer(api: &Api, path: &str) -> (StatusCode, Value) {
    let res = api
        .http
        .get(format!("{}{path}", api.base))
        .bearer_auth(api.token.as_deref().unwrap_or(""))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: no answer: {e}"));
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Asserts a 422 whose problems name `field` with `code`.
fn refused(path: &str, (status, body): (StatusCode, Value), field: &str, code: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
    assert_eq!(body["code"], "invalid_input", "{path}: {body}");
    let problems = body["details"]["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["field"] == field && p["code"] == code),
        "{path}: {body}"
    );
}

#[tokio::test]
async fn dates_outside_the_calendar_are_refused_in_the_list_counts_export_and_page() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    admin
        .create_lead(json!({"name": "周全", "phone": mobile(1)}))
        .await;
    for (key, day) in [
        ("created_from", "-262143-01-01"),
        ("created_to", "%2B262142-12-31"),
        ("created_from", "0001-01-01"),
        ("created_to", "10000-01-01"),
    ] {
        for path in [
            "/api/v1/leads",
            "/api/v1/leads/counts",
            "/api/v1/leads/export?format=csv",
        ] {
            let sep = if path.contains('?') { '&' } else { '?' };
            let path = format!("{path}{sep}{key}={day}");
            refused(&path, answer(&admin, &path).await, key, "bad_date");
        }
    }
    // Within the years, the same filters still list.
    let (status, body) = answer(&admin, "/api/v1/leads?created_from=1900-01-01").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    let (status, body) = answer(&admin, "/api/v1/leads?created_to=9999-12-31").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 1);

    // The page shows the refusal instead of closing the connection.
    let browser = app.browser("admin").await;
    let (status, html) = browser.get("/leads?created_from=-262143-01-01").await;
    assert!(!status.is_server_error(), "{status}");
    assert!(
        html.contains("2026-01-31"),
        "the page names the expected date form"
    );
}

#[tokio::test]
async fn revisit_rules_and_holidays_out_of_range_are_refused_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let rules_before = admin.get_json("/api/v1/revisit-rules").await.1;
    let max = i64::MAX;
    // Each code says what is allowed (issue 25), for a form to say beside the field.
    for (body, field, code) in [
        (
            json!({"disposition": "busy", "delay_amount": max, "delay_unit": "minutes"}),
            "delay_amount",
            "delay_range",
        ),
        (
            json!({"disposition": "busy", "delay_amount": max, "delay_unit": "days"}),
            "delay_amount",
            "delay_range",
        ),
        (
            json!({"disposition": "busy", "attempt_from": max, "delay_amount": 1}),
            "attempt_from",
            "attempt_range",
        ),
        (
            json!({"disposition": "busy", "attempt_to": max, "delay_amount": 1}),
            "attempt_from",
            "attempt_range",
        ),
        (
            json!({"disposition": "busy", "max_attempts": max, "delay_amount": 1}),
            "max_attempts",
            "max_attempts_range",
        ),
        (
            json!({"disposition": "busy", "position": i64::MIN, "delay_amount": 1}),
            "position",
            "position_range",
        ),
    ] {
        let res = admin.post("/api/v1/revisit-rules", body.clone()).await;
        let status = res.status();
        refused(
            &body.to_string(),
            (status, res.json().await.unwrap()),
            field,
            code,
        );
    }
    assert_eq!(
        admin.get_json("/api/v1/revisit-rules").await.1,
        rules_before,
        "no rule was stored"
    );
    // The settings page's form reads the rule the same way.
    let browser = app.browser("admin").await;
    let csrf = browser.csrf("/admin/workday").await;
    let huge = max.to_string();
    let res = browser
        .post_form(
            "/admin/workday/rules",
            &[
                ("_csrf", csrf.as_str()),
                ("disposition", "busy"),
                ("attempt_from", "1"),
                ("delay_amount", huge.as_str()),
                ("delay_unit", "minutes"),
                ("after_last", "stop"),
                ("position", "0"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        admin.get_json("/api/v1/revisit-rules").await.1,
        rules_before
    );

    // A disposition's position is bounded too.
    let res = admin
        .post(
            "/api/v1/dispositions",
            json!({"code": "far_away", "label_zh": "远", "label_en": "Far", "position": i64::MAX}),
        )
        .await;
    let status = res.status();
    refused(
        "disposition",
        (status, res.json().await.unwrap()),
        "position",
        "out_of_range",
    );

    // A holiday beyond the years is refused, and the list still reads.
    let holidays_before = admin.get_json("/api/v1/holidays").await.1;
    for day in ["-262143-01-01", "+262142-12-31", "0001-01-01"] {
        let res = admin
            .post("/api/v1/holidays", json!({"day": day, "name": "远古"}))
            .await;
        let status = res.status();
        refused(day, (status, res.json().await.unwrap()), "day", "invalid");
    }
    let (status, holidays) = admin.get_json("/api/v1/holidays").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(holidays, holidays_before);
}

#[tokio::test]
async fn hundreds_of_tag_filters_are_refused_with_a_clear_422() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    admin
        .create_lead(json!({"name": "钱多", "phone": mobile(2), "tags": ["甲"]}))
        .await;
    let many: String = (0..990).map(|i| format!("&tag=t{i}")).collect();
    for path in ["/api/v1/leads?limit=5", "/api/v1/leads/counts?group_by=tag"] {
        let path = format!("{path}{many}");
        refused("990 tags", answer(&admin, &path).await, "tag", "too_many");
    }
    let (status, body) = answer(&admin, &format!("/api/v1/leads/export?format=csv{many}")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // As many as are allowed still filter (the same tag repeated counts once).
    let twenty: String = std::iter::once("&tag=甲".to_string())
        .chain((1..20).map(|i| format!("&tag=甲{}", "x".repeat(i))))
        .collect();
    let (status, body) = answer(&admin, &format!("/api/v1/leads?limit=5{twenty}&tag=甲")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_saved_view_must_hold_a_lead_filter() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    for (filter, field, code) in [
        (json!(42), "filter", "invalid"),
        (json!(["status", "new"]), "filter", "invalid"),
        (json!("status=new"), "filter", "invalid"),
        (json!({"status": {"in": ["new"]}}), "status", "not_text"),
        (json!({"status": [["new"]]}), "status", "not_text"),
        (json!({"sort": "name"}), "sort", "unknown_filter"),
        (json!({"cursor": "abc"}), "cursor", "unknown_filter"),
        (json!({"bogus": "x"}), "bogus", "unknown_filter"),
        (
            json!({"created_from": "-262143-01-01"}),
            "created_from",
            "bad_date",
        ),
    ] {
        let res = sup
            .post("/api/v1/views", json!({"name": "坏", "filter": filter}))
            .await;
        let status = res.status();
        refused(
            &filter.to_string(),
            (status, res.json().await.unwrap()),
            field,
            code,
        );
    }
    let (_, views) = sup.get_json("/api/v1/views").await;
    assert_eq!(views["items"], json!([]), "no view was stored");

    // A filter's list of values reads as the list query's comma-separated value.
    let res = sup
        .post(
            "/api/v1/views",
            json!({"name": "新的", "filter": {"status": ["new", "contacted"], "deleted": false}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let view: Value = res.json().await.unwrap();
    assert_eq!(
        view["filter"],
        json!({"status": "new,contacted", "deleted": "false"}),
        "stored as the list query reads it"
    );
    let (status, body) = sup
        .get_json(&format!("/api/v1/leads?view={}", view["id"]))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A minimal .xlsx: a header 姓名 / 手机 / 备注 and one row per `(name, phone, note)`, all inline
/// strings, in sheet 客户.
fn workbook(rows: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    let header = [("姓名", "手机", "备注")];
    for (i, (a, b, c)) in header.iter().chain(rows).enumerate() {
        let r = i + 1;
        xml.push_str(&format!(r#"<row r="{r}">"#));
        for (col, text) in [("A", a), ("B", b), ("C", c)] {
            xml.push_str(&format!(
                r#"<c r="{col}{r}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>"#
            ));
        }
        xml.push_str("</row>");
    }
    xml.push_str("</sheetData></worksheet>");
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
        let parts = [
            (
                "[Content_Types].xml",
                r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#.to_string(),
            ),
            (
                "_rels/.rels",
                format!(r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rels}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#),
            ),
            (
                "xl/workbook.xml",
                format!(r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="{rels}"><sheets><sheet name="客户" sheetId="1" r:id="rId1"/></sheets></workbook>"#),
            ),
            (
                "xl/_rels/workbook.xml.rels",
                format!(r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rels}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#),
            ),
            ("xl/worksheets/sheet1.xml", xml),
        ];
        for (name, text) in parts {
            zip.start_file(name, opts).unwrap();
            zip.write_all(text.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
    }
    buf.into_inner()
}

#[tokio::test]
async fn an_xlsx_cell_padded_to_megabytes_is_refused_naming_its_cell_and_nothing_is_lost() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    let (first, second) = (mobile(11), mobile(12));
    let kept = sup
        .create_lead(json!({"name": "原名", "phone": first, "title": "经理"}))
        .await;
    let preview = |bytes: Vec<u8>| {
        let form = Form::new().part("file", Part::bytes(bytes).file_name("客户.xlsx"));
        post_form(&sup, "/api/v1/imports/preview", form)
    };
    // The workbook reads as it is when its cells are of a spreadsheet's size.
    let (status, body) = preview(workbook(&[("新名", &first, "短"), ("乙", &second, "短")])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["headers"], json!(["姓名", "手机", "备注"]), "{body}");

    // 3 MiB of spaces in one cell (a few kilobytes zipped): refused, naming the cell.
    let padding = " ".repeat(3 << 20);
    let bomb = workbook(&[("新名", &first, "短"), ("乙", &second, &padding)]);
    assert!(bomb.len() < 64 * 1024, "{} bytes", bomb.len());
    let (status, body) = preview(bomb.clone()).await;
    refused("preview", (status, body.clone()), "C3", "cell_too_large");
    assert!(
        body["message"].as_str().unwrap().contains("C3"),
        "the message names the cell: {body}"
    );

    // Imported with updates on, it changes nothing: the lead keeps its name, no lead is added.
    let form = Form::new()
        .part("file", Part::bytes(bomb).file_name("客户.xlsx"))
        .text("on_duplicate", "update")
        .text("into", "pool");
    let (status, body) = post_form(&sup, "/api/v1/imports", form).await;
    if status == StatusCode::ACCEPTED {
        let job = crate::api_imports::finished(&sup, body["id"].as_i64().unwrap()).await;
        assert_eq!(job["status"], "failed", "{job}");
        assert_eq!(job["error"], "cell_too_large", "{job}");
    } else {
        refused("import", (status, body), "C3", "cell_too_large");
    }
    let (_, lead) = sup.get_json(&format!("/api/v1/leads/{}", kept["id"])).await;
    assert_eq!(lead["name"], "原名", "{lead}");
    let (_, all) = sup.get_json("/api/v1/leads").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1, "{all}");
}
