//! Imports through the API and the upload form: CSV (UTF-8 with BOM, GBK) and .xlsx files made
//! here reach `done` with the right counts; the refused rows come back as a report in the file's
//! own format; roles, CSRF, size, file type and other people's jobs are refused.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, mobile, start_server_with};

/// A CSV in UTF-8 with a byte-order mark, as Excel saves it.
pub fn bom_csv(text: &str) -> Vec<u8> {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

/// A small lead list with one row that cannot be a lead (no name).
pub fn list_with_one_bad_row() -> String {
    format!(
        "姓名,手机,公司,城市\r\n张三,{},华为技术,深圳\r\n李四,{},腾讯,深圳\r\n,{},无名公司,北京\r\n王五,{},阿里巴巴,杭州\r\n",
        mobile(9001),
        mobile(9002),
        mobile(9003),
        mobile(9004)
    )
}

/// An .xlsx whose phone column holds numbers, as typed into Excel.
pub fn xlsx_with_numeric_phones() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("客户").unwrap();
    for (c, h) in ["姓名", "手机号码", "单位"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    sheet.write_string(1, 0, "周杰").unwrap();
    sheet.write_number(1, 1, 13_800_138_000.0).unwrap();
    sheet.write_string(1, 2, "育才中学").unwrap();
    sheet.write_string(2, 0, "吴敏").unwrap();
    sheet.write_number(2, 1, 13_900_139_000.0).unwrap();
    sheet.write_string(2, 2, "仁和医院").unwrap();
    book.save_to_buffer().unwrap()
}

fn file_part(name: &str, bytes: Vec<u8>) -> Part {
    Part::bytes(bytes).file_name(name.to_string())
}

/// POSTs a multipart form with the caller's token.
pub async fn post_form(api: &Api, path: &str, form: Form) -> (StatusCode, Value) {
    let res = api
        .http
        .post(format!("{}{path}", api.base))
        .bearer_auth(api.token.as_deref().unwrap_or(""))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Uploads a file and starts its import with extra fields; answers (status, body).
pub async fn start_import(
    api: &Api,
    name: &str,
    bytes: Vec<u8>,
    fields: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut form = Form::new().part("file", file_part(name, bytes));
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    post_form(api, "/api/v1/imports", form).await
}

/// Waits until a job is no longer running (a liveness bound, not a timing claim).
pub async fn finished(api: &Api, id: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, job) = api.get_json(&format!("/api/v1/imports/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        if job["status"] != "running" {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "import {id} still running: {job}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts an import that must be accepted and returns the finished job.
pub async fn import_done(api: &Api, name: &str, bytes: Vec<u8>, fields: &[(&str, &str)]) -> Value {
    let (status, job) = start_import(api, name, bytes, fields).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = finished(api, job["id"].as_i64().unwrap()).await;
    assert_eq!(job["status"], "done", "{job}");
    job
}

fn counts(job: &Value) -> [i64; 5] {
    let c = &job["counts"];
    ["imported", "updated", "skipped", "collisions", "failed"].map(|k| c[k].as_i64().unwrap())
}

async fn leads_named(api: &Api, q: &str) -> Vec<Value> {
    let q: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let (status, page) = api.get_json(&format!("/api/v1/leads?q={q}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_supervisor_imports_a_bom_csv_and_downloads_the_refused_row_in_its_own_format() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    let job = import_done(&sup, "客户名单.csv", bom_csv(&list_with_one_bad_row()), &[]).await;
    assert_eq!(counts(&job), [3, 0, 0, 0, 1], "{job}");
    assert_eq!(job["rows_done"], 4);
    assert_eq!(job["file_name"], "客户名单.csv");

    let found = leads_named(&sup, "张三").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["company"], "华为技术");
    assert_eq!(found[0]["city"], "深圳");
    assert_eq!(
        found[0]["owner_id"],
        Value::Null,
        "into the pool by default"
    );

    let res = sup
        .get(&format!("/api/v1/imports/{}/errors", job["id"]))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.contains("filename*=UTF-8''"), "{disposition}");
    let bytes = res.bytes().await.unwrap();
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "a BOM file's report keeps the BOM"
    );
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "header and the one refused row: {text}");
    assert!(lines[0].starts_with("姓名,手机,公司,城市"), "{text}");
    assert!(
        lines[1].contains("无名公司") && lines[1].contains(&mobile(9003)),
        "{text}"
    );
}

#[tokio::test]
async fn a_gbk_csv_is_detected_and_its_chinese_kept() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let text = format!(
        "联系人;电话;单位;地区\r\n陈静;{};北京协和医院;北京\r\n刘洋;{};上海交通大学;上海\r\n",
        mobile(9101),
        mobile(9102)
    );
    let (gbk, _, lossy) = encoding_rs::GBK.encode(&text);
    assert!(!lossy);
    let job = import_done(&admin, "名单-gbk.csv", gbk.into_owned(), &[]).await;
    assert_eq!(counts(&job), [2, 0, 0, 0, 0], "{job}");
    let found = leads_named(&admin, "陈静").await;
    assert_eq!(found.len(), 1, "GBK decoded: {found:?}");
    assert_eq!(found[0]["company"], "北京协和医院");
}

#[tokio::test]
async fn an_xlsx_with_numeric_phones_keeps_every_digit() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    let job = import_done(
        &sup,
        "学校.xlsx",
        xlsx_with_numeric_phones(),
        &[("sheet", "客户")],
    )
    .await;
    assert_eq!(counts(&job), [2, 0, 0, 0, 0], "{job}");
    let found = leads_named(&sup, "周杰").await;
    assert_eq!(found.len(), 1);
    let phone = &found[0]["phones"][0];
    assert_eq!(phone["e164"], "+8613800138000", "{phone}");
    assert_eq!(found[0]["company"], "育才中学");
}

#[tokio::test]
async fn the_same_file_twice_creates_no_duplicates_and_counts_them() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    let file = bom_csv(&list_with_one_bad_row());
    import_done(&sup, "a.csv", file.clone(), &[]).await;
    let again = import_done(&sup, "a.csv", file, &[("on_duplicate", "skip")]).await;
    assert_eq!(counts(&again), [0, 0, 3, 0, 1], "{again}");
    assert_eq!(leads_named(&sup, "张三").await.len(), 1);
}

#[tokio::test]
async fn preview_proposes_a_mapping_and_the_import_uses_the_one_chosen() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    let form = Form::new().part(
        "file",
        file_part("list.csv", bom_csv(&list_with_one_bad_row())),
    );
    let (status, preview) = post_form(&sup, "/api/v1/imports/preview", form).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["headers"], json!(["姓名", "手机", "公司", "城市"]));
    assert_eq!(
        preview["targets"],
        json!(["name", "phone", "company", "city"])
    );
    assert_eq!(preview["rows"].as_array().unwrap().len(), 4);
    assert_eq!(preview["problems"], json!([]));
    let token = preview["upload"].as_str().unwrap().to_string();

    // Another supervisor cannot use this upload.
    let other = app.api("sup_b").await;
    let (status, _) = post_form(
        &other,
        "/api/v1/imports",
        Form::new().text("upload", token.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The city column goes into the region instead; the mapping is saved under a name.
    let form = Form::new()
        .text("upload", token)
        .text("mapping", r#"["name","phone","company","region"]"#)
        .text("save_mapping_as", "深圳名单");
    let (status, job) = post_form(&sup, "/api/v1/imports", form).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    finished(&sup, job["id"].as_i64().unwrap()).await;
    let found = leads_named(&sup, "李四").await;
    assert_eq!(found[0]["region"], "深圳");
    assert_eq!(found[0]["city"], Value::Null);

    let (status, saved) = sup.get_json("/api/v1/import-mappings").await;
    assert_eq!(status, StatusCode::OK);
    let items = saved["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "深圳名单");
    assert_eq!(items[0]["mapping"]["columns"][3]["target"], "region");
}

#[tokio::test]
async fn a_mapping_without_a_name_column_is_refused_before_anything_is_stored() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    let (status, body) = start_import(
        &sup,
        "list.csv",
        bom_csv(&list_with_one_bad_row()),
        &[("mapping", r#"["ignore","phone","company","city"]"#)],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "mapping_problem");
    let (_, jobs) = sup.get_json("/api/v1/imports").await;
    assert_eq!(jobs["items"], json!([]));
}

#[tokio::test]
async fn leads_go_to_the_owner_chosen_within_the_callers_teams() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    let file = bom_csv(&list_with_one_bad_row());
    let a1 = app.org.agent_a1.0.to_string();
    let job = import_done(
        &sup,
        "a.csv",
        file.clone(),
        &[("into", "owner"), ("owner_id", &a1)],
    )
    .await;
    assert_eq!(counts(&job)[0], 3);
    let mine = app.api("agent_a1").await;
    assert_eq!(
        leads_named(&mine, "王五").await[0]["owner_id"],
        json!(app.org.agent_a1.0)
    );

    // Team B's agent and team B's rotation are not sup_a's to give leads to.
    let b1 = app.org.agent_b1.0.to_string();
    let (status, body) = start_import(
        &sup,
        "a.csv",
        file.clone(),
        &[("into", "owner"), ("owner_id", &b1)],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let team_b = app.org.team_b.0.to_string();
    let (status, _) = start_import(
        &sup,
        "a.csv",
        file,
        &[("into", "round_robin"), ("team_id", &team_b)],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn agents_and_sales_reps_may_not_import() {
    let app = TestApp::spawn().await;
    for who in ["agent_a1", "sales1"] {
        let api = app.api(who).await;
        let (status, body) =
            start_import(&api, "a.csv", bom_csv(&list_with_one_bad_row()), &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {body}");
        assert_eq!(body["code"], "forbidden");
        let (status, _) = api.get_json("/api/v1/imports").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
    }
    let sup = app.api("sup_a").await;
    assert!(leads_named(&sup, "张三").await.is_empty());
}

#[tokio::test]
async fn another_persons_job_is_not_found_but_an_admin_sees_it() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    let job = import_done(&sup, "a.csv", bom_csv(&list_with_one_bad_row()), &[]).await;
    let id = job["id"].as_i64().unwrap();
    let other = app.api("sup_b").await;
    for path in [
        format!("/api/v1/imports/{id}"),
        format!("/api/v1/imports/{id}/errors"),
    ] {
        let (status, body) = other.get_json(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (_, theirs) = other.get_json("/api/v1/imports").await;
    assert_eq!(theirs["items"], json!([]));
    let admin = app.api("admin").await;
    let (status, seen) = admin.get_json(&format!("/api/v1/imports/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen["counts"]["failed"], 1);
}

#[tokio::test]
async fn too_big_an_upload_is_refused_with_413() {
    let app = TestApp::spawn_with(|s| s.max_upload_bytes = 2048).await;
    let sup = app.api("sup_a").await;
    let mut text = String::from("姓名,手机\r\n");
    for i in 0..400 {
        text.push_str(&format!("客户{i},{}\r\n", mobile(i)));
    }
    let (status, body) = start_import(&sup, "big.csv", bom_csv(&text), &[]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], "payload_too_large");
    let (_, jobs) = sup.get_json("/api/v1/imports").await;
    assert_eq!(jobs["items"], json!([]));
}

#[tokio::test]
async fn a_file_that_is_not_what_its_name_says_gets_a_clear_error() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    let (status, body) =
        start_import(&sup, "list.xlsx", bom_csv(&list_with_one_bad_row()), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "name_mismatch");
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01".to_vec();
    let (status, body) = start_import(&sup, "photo.csv", png, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "binary_file");
    let (status, body) = post_form(&sup, "/api/v1/imports", Form::new().text("into", "pool")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "file_missing");
}

#[tokio::test]
async fn the_upload_form_needs_its_csrf_token() {
    let app = TestApp::spawn().await;
    let browser = app.browser("sup_a").await;
    let (status, page) = browser.get("/imports").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"upload-form\""));
    let csrf = browser.csrf("/imports").await;
    let send = |token: Option<&str>| {
        let mut form = Form::new().part(
            "file",
            file_part("a.csv", bom_csv(&list_with_one_bad_row())),
        );
        if let Some(t) = token {
            form = form.text("_csrf", t.to_string());
        }
        browser
            .http
            .post(format!("{}/imports", browser.base))
            .multipart(form)
            .send()
    };
    assert_eq!(send(None).await.unwrap().status(), StatusCode::FORBIDDEN);
    let forged = "0".repeat(64);
    assert_eq!(
        send(Some(&forged)).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let res = send(Some(&csrf)).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/imports/preview?upload="), "{to}");
    let (status, page) = browser.get(&to).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"mapping-table\""), "{page}");

    // The page refuses agents too, and does not list imports in their menu.
    let agent = app.browser("agent_a1").await;
    let (status, _) = agent.get("/imports").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, leads) = agent.get("/leads").await;
    assert!(!leads.contains("nav-import"));
}

#[tokio::test]
async fn an_owner_column_assigns_by_name_for_admins_only() {
    let app = TestApp::spawn().await;
    let file = bom_csv(&format!(
        "姓名,电话,负责人\r\n甲客户,{},agent_a1\r\n乙客户,{},赵磊\r\n丙客户,{},\r\n",
        mobile(9201),
        mobile(9202),
        mobile(9203)
    ));
    let sup = app.api("sup_a").await;
    let (status, body) =
        start_import(&sup, "o.csv", file.clone(), &[("into", "owner_column")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let admin = app.api("admin").await;
    let job = import_done(&admin, "o.csv", file, &[("into", "owner_column")]).await;
    assert_eq!(counts(&job), [3, 0, 0, 0, 0], "{job}");
    let owner = |name: &'static str| {
        let admin = &admin;
        async move { leads_named(admin, name).await[0]["owner_id"].clone() }
    };
    assert_eq!(owner("甲客户").await, json!(app.org.agent_a1.0));
    assert_eq!(
        owner("乙客户").await,
        json!(app.org.agent_b1.0),
        "by display name"
    );
    assert_eq!(owner("丙客户").await, Value::Null, "no owner: the pool");
}

#[tokio::test]
async fn a_done_job_is_not_resumed() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    let job = import_done(&sup, "a.csv", bom_csv(&list_with_one_bad_row()), &[]).await;
    let res = sup
        .post(&format!("/api/v1/imports/{}/resume", job["id"]), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "job_done");
    let other = app.api("sup_b").await;
    let res = other
        .post(&format!("/api/v1/imports/{}/resume", job["id"]), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

/// A file previewed on one server is imported through another that never saw it (its own
/// directory for local copies): the upload is in the database. Once the import is done the
/// upload is removed.
#[tokio::test]
async fn a_file_previewed_on_one_server_is_imported_through_another() {
    let app = TestApp::spawn().await;
    let dir = std::env::temp_dir().join(format!(
        "leadline-other-server-{}",
        &leadline_store::auth::random_secret()[..8]
    ));
    let other = start_server_with(&app.db, |s| s.upload_dir = dir.clone()).await;
    let sup = app.api("sup_a").await;
    let form = Form::new().part(
        "file",
        file_part("list.csv", bom_csv(&list_with_one_bad_row())),
    );
    let (status, preview) = post_form(&sup, "/api/v1/imports/preview", form).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    let token = preview["upload"].as_str().unwrap().to_string();

    let sup_there = other.api("sup_a").await;
    let form = Form::new().text("upload", token.clone());
    let (status, job) = post_form(&sup_there, "/api/v1/imports", form).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = finished(&sup_there, job["id"].as_i64().unwrap()).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(counts(&job), [3, 0, 0, 0, 1], "{job}");
    assert_eq!(leads_named(&sup, "王五").await.len(), 1);

    // The upload goes once the import is done, just before its job is marked done.
    let deadline = Instant::now() + Duration::from_secs(30);
    while leadline_store::uploads::find(&app.db, &token)
        .await
        .unwrap()
        .is_some()
    {
        assert!(
            Instant::now() < deadline,
            "a done import's upload is removed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let form = Form::new().text("upload", token);
    let (status, _) = post_form(&sup, "/api/v1/imports/preview", form).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    other.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
