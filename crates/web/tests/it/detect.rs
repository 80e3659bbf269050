//! 撞单 by company and e-mail, and several contacts of one company (issue 22), through the HTTP
//! API: an import of many contacts of few companies keeps every row (joining each company's
//! owner, or opening cases), entry by hand of a colleague's company contact, e-mail cases, the
//! setting, and the e-mail field itself (form validation, search, export column).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_imports::import_done;
use crate::helpers::{Api, TestApp, mobile};

const COMPANIES: [&str; 10] = [
    "星河科技",
    "云帆贸易",
    "华信物流",
    "宏图建材",
    "远景网络",
    "瑞丰餐饮管理",
    "金桥教育咨询",
    "恒泰医疗器械",
    "博雅文化传媒",
    "鼎盛智联",
];

/// A company's name as row `n` writes it: with a leading city and a legal form, or with the
/// city in full-width brackets.
fn written(company: &str, n: usize) -> String {
    match n % 3 {
        0 => format!("北京{company}有限公司"),
        1 => format!("{company}（北京）"),
        _ => format!("北京市{company}股份有限公司"),
    }
}

/// 200 contacts, 20 of each company, with phones of their own.
fn contacts_csv() -> Vec<u8> {
    let mut csv = String::from("姓名,手机,公司,邮箱\r\n");
    for n in 0..200usize {
        let company = COMPANIES[n % 10];
        csv.push_str(&format!(
            "联系人{n},{},{},\r\n",
            mobile(5000 + n as u32),
            written(company, n / 10)
        ));
    }
    csv.into_bytes()
}

async fn put_setting(api: &Api, mode: &str) -> (StatusCode, Value) {
    let res = api
        .http
        .put(format!("{}/api/v1/settings/company-contacts", api.base))
        .bearer_auth(api.token.as_deref().unwrap_or(""))
        .json(&json!({ "company_contacts": mode }))
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The open cases (match_kind, value, new lead, existing owner) recorded on the database.
async fn cases(app: &TestApp) -> Vec<(String, String, i64, Option<i64>)> {
    leadline_store::db_run!(&app.db, |pool| {
        sqlx::query_as(
            "SELECT match_kind, phone_e164, lead_id, existing_owner_id FROM collisions WHERE status = 'open' ORDER BY id",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    })
}

/// (owner, count) of the leads whose name starts with 联系人 (the imported contacts).
async fn owners_of_contacts(app: &TestApp) -> Vec<(Option<i64>, i64)> {
    leadline_store::db_run!(&app.db, |pool| {
        sqlx::query_as(
            "SELECT owner_id, COUNT(*) FROM leads WHERE name LIKE '联系人%' GROUP BY owner_id ORDER BY COALESCE(owner_id, 0)",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    })
}

/// The 1M-row case in small: 200 contacts over 10 companies, 4 of them owned by agent_a1, one
/// by agent_a1 and agent_b1. Before, 190 rows were dropped as duplicates of their company; now
/// all 200 are leads: 80 join agent_a1, 20 open cases (two owners), 100 stay in the pool, and
/// the summary counts each outcome.
#[tokio::test]
async fn an_import_of_many_contacts_of_few_companies_keeps_every_row_and_joins_the_owners() {
    let app = TestApp::spawn().await;
    let (a1, b1) = (app.api("agent_a1").await, app.api("agent_b1").await);
    for (i, company) in COMPANIES[..5].iter().enumerate() {
        a1.create_lead(json!({"name": format!("老客户{i}"), "phone": mobile(100 + i as u32), "company": company}))
            .await;
    }
    // agent_b1 entering a contact of agent_a1's company would join agent_a1: an admin gives
    // it to agent_b1 by name instead, which opens the first case.
    let admin = app.api("admin").await;
    let theirs = admin
        .create_lead(json!({"name": "另一位老客户", "phone": mobile(200), "company": format!("{}有限公司", COMPANIES[4]), "owner_id": app.org.agent_b1.0}))
        .await;
    assert_eq!(theirs["owner_id"], app.org.agent_b1.0);
    let (_, seen) = b1
        .get_json(&format!("/api/v1/leads/{}", theirs["id"]))
        .await;
    assert_eq!(seen["name"], "另一位老客户");
    let job = import_done(&admin, "客户名单.csv", contacts_csv(), &[]).await;
    let c = &job["counts"];
    assert_eq!(c["imported"], 200, "{job}");
    assert_eq!(c["skipped"], 0, "{job}");
    assert_eq!(c["joined"], 80, "{job}");
    assert_eq!(c["cases"], 20, "{job}");
    assert_eq!(c["collisions"], 0, "{job}");
    assert_eq!(job["joined"], 80);
    assert_eq!(
        owners_of_contacts(&app).await,
        vec![(None, 120), (Some(app.org.agent_a1.0), 80)]
    );
    let opened = cases(&app).await;
    assert_eq!(opened[0].2, theirs["id"].as_i64().unwrap());
    let opened = &opened[1..];
    assert_eq!(
        opened.len(),
        20,
        "one case per new lead, not per matched lead"
    );
    assert!(
        opened
            .iter()
            .all(|(kind, value, _, owner)| kind == "company"
                && value == "远景网络"
                && *owner == Some(app.org.agent_a1.0)),
        "{opened:?}"
    );
    // The joined contacts are agent_a1's, with the reason in their ownership history.
    let (_, page) = a1
        .get_json("/api/v1/leads?company=星河科技&limit=100")
        .await;
    let mine = page["items"].as_array().unwrap();
    assert!(mine.len() >= 20, "{page}");
    let joined_events: i64 = leadline_store::db_run!(&app.db, |pool| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM ownership_events WHERE action = 'import' AND reason = 'company' AND to_user = $1",
        )
        .bind(app.org.agent_a1.0)
        .fetch_one(pool)
        .await
        .unwrap()
    });
    assert_eq!(joined_events, 80);

    // Under `case` the same file opens a case for each contact of a company someone owns and
    // gives nobody anything.
    let (status, body) = put_setting(&admin, "case").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let job = import_done(&admin, "第二批.csv", csv_with_other_phones(), &[]).await;
    let c = &job["counts"];
    assert_eq!(
        (c["imported"].as_i64(), c["joined"].as_i64()),
        (Some(200), Some(0)),
        "{job}"
    );
    // Every company 0-4 now has owned contacts (agent_a1's), and company 4 agent_b1's too.
    assert_eq!(c["cases"], 100, "{job}");
}

/// The same 200 contacts under other numbers.
fn csv_with_other_phones() -> Vec<u8> {
    let mut csv = String::from("姓名,手机,公司\r\n");
    for n in 0..200usize {
        csv.push_str(&format!(
            "新联系人{n},{},{}\r\n",
            mobile(7000 + n as u32),
            written(COMPANIES[n % 10], n / 10)
        ));
    }
    csv.into_bytes()
}

/// An agent entering a contact of a colleague's company: it joins the colleague (201, owned by
/// them); under `case` the agent keeps it and a case is opened; an e-mail a colleague's record
/// holds opens an e-mail case. Only an admin may change the setting.
#[tokio::test]
async fn entry_by_hand_joins_a_colleagues_company_or_opens_a_case() {
    let app = TestApp::spawn().await;
    let (a1, a2) = (app.api("agent_a1").await, app.api("agent_a2").await);
    let first = a1
        .create_lead(json!({"name": "张总", "phone": mobile(1), "company": "杭州蓝海贸易有限责任公司", "email": "Zhang@LanHai.COM"}))
        .await;
    assert_eq!(first["email"], "Zhang@lanhai.com");
    let (_, setting) = a2.get_json("/api/v1/settings/company-contacts").await;
    assert_eq!(setting["company_contacts"], "join");

    let joined = a2
        .create_lead(
            json!({"name": "王经理", "phone": mobile(2), "company": "蓝海贸易（杭州）有限公司"}),
        )
        .await;
    assert_eq!(joined["owner_id"], app.org.agent_a1.0, "{joined}");
    assert!(cases(&app).await.is_empty());

    let (status, _) = put_setting(&a2, "case").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let admin = app.api("admin").await;
    let (status, _) = put_setting(&admin, "merge").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = put_setting(&admin, "case").await;
    assert_eq!(status, StatusCode::OK);

    let kept = a2
        .create_lead(json!({"name": "赵工", "phone": mobile(3), "company": "蓝海贸易"}))
        .await;
    assert_eq!(kept["owner_id"], app.org.agent_a2.0);
    let by_mail = a2
        .create_lead(json!({"name": "钱女士", "phone": mobile(4), "company": "别家", "email": " Zhang@lanhai.com "}))
        .await;
    assert_eq!(by_mail["owner_id"], app.org.agent_a2.0);
    assert_eq!(
        cases(&app).await,
        vec![
            (
                "company".into(),
                "蓝海贸易".into(),
                kept["id"].as_i64().unwrap(),
                Some(app.org.agent_a1.0)
            ),
            (
                "email".into(),
                "Zhang@lanhai.com".into(),
                by_mail["id"].as_i64().unwrap(),
                Some(app.org.agent_a1.0)
            ),
        ]
    );
}

/// The e-mail field: refused when it is not an address (naming the field), searchable with
/// `q`, changed by PATCH, exported in its column and recognised by the import's mapping.
#[tokio::test]
async fn the_e_mail_field_is_checked_searched_patched_exported_and_imported() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let res = a1
        .post(
            "/api/v1/leads",
            json!({"name": "x", "phone": mobile(1), "email": "not an address"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert!(body.to_string().contains("bad_email"), "{body}");

    let lead = a1
        .create_lead(json!({"name": "周杰", "phone": mobile(2), "email": "zhou@YuCai.edu.cn"}))
        .await;
    a1.create_lead(json!({"name": "吴敏", "phone": mobile(3)}))
        .await;
    let (_, page) = a1.get_json("/api/v1/leads?q=zhou@yucai.edu.cn").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["id"], lead["id"]);
    let (_, page) = a1.get_json("/api/v1/leads?q=%40yucai.edu.cn").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");

    let id = lead["id"].as_i64().unwrap();
    let res = a1
        .patch(
            &format!("/api/v1/leads/{id}"),
            json!({"email": "zhou.jie@yucai.edu.cn"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let patched: Value = res.json().await.unwrap();
    assert_eq!(patched["email"], "zhou.jie@yucai.edu.cn");

    let admin = app.api("admin").await;
    let export = admin.get("/api/v1/leads/export?format=csv").await;
    assert_eq!(export.status(), StatusCode::OK);
    let text = export.text().await.unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.contains("邮箱"), "{header}");
    assert!(text.contains("zhou.jie@yucai.edu.cn"), "{text}");

    let csv = format!(
        "姓名,手机,电子邮件\r\n孙丽,{},Sun.Li@Example.COM\r\n",
        mobile(9)
    );
    let job = import_done(&admin, "带邮箱.csv", csv.into_bytes(), &[]).await;
    assert_eq!(job["counts"]["imported"], 1, "{job}");
    let (_, page) = admin.get_json("/api/v1/leads?q=Sun.Li%40example.com").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
}
