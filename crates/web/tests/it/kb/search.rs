//! Search: call notes only for those who see the lead, marked and escaped snippets, kind and
//! category filters, and the relevance set.

use leadline_domain::LeadId;
use leadline_store::demo;
use leadline_store::workday::calls::{self, NewCall};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{create_article, create_script, search};
use crate::helpers::{TestApp, mobile};

#[tokio::test]
async fn call_notes_are_found_only_by_those_who_see_the_lead() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let b1 = app.api("agent_b1").await;
    let mine = a1
        .create_lead(json!({"name": "周八", "phone": mobile(4)}))
        .await;
    let theirs = b1
        .create_lead(json!({"name": "吴九", "phone": mobile(5)}))
        .await;
    let note = |lead: &Value, agent, notes: &str| NewCall {
        lead_id: LeadId(lead["id"].as_i64().unwrap()),
        agent_id: agent,
        started_at: chrono::Utc::now(),
        duration_s: 120,
        disposition: "connected".into(),
        intent: None,
        notes: notes.into(),
        next_revisit_at: None,
        script_id: None,
    };
    calls::insert_many(
        &app.db,
        &[
            note(&mine, app.org.agent_a1, "客户关心售后，想要上门培训"),
            note(&theirs, app.org.agent_b1, "客户也想要上门培训，下周再联系"),
        ],
    )
    .await
    .unwrap();
    let leads_of = |items: Vec<Value>| -> Vec<i64> {
        items
            .iter()
            .filter(|i| i["kind"] == "call_note")
            .map(|i| i["lead_id"].as_i64().unwrap())
            .collect()
    };
    let (m, t) = (mine["id"].as_i64().unwrap(), theirs["id"].as_i64().unwrap());
    assert_eq!(leads_of(search(&a1, "上门培训", "").await), [m]);
    assert_eq!(leads_of(search(&b1, "上门培训", "").await), [t]);
    assert_eq!(
        leads_of(search(&app.api("sup_a").await, "上门培训", "").await),
        [m]
    );
    let mut all = leads_of(search(&app.api("admin").await, "上门培训", "").await);
    all.sort();
    assert_eq!(all, [m, t]);
    let hits = search(&a1, "上门培训", "&kind=call_note").await;
    assert_eq!(hits[0]["title"], "周八");
    assert_eq!(hits[0]["url"], format!("/leads/{m}#call-{}", hits[0]["id"]));
    assert!(
        hits[0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<mark>上门</mark><mark>培训</mark>")
            || hits[0]["snippet"]
                .as_str()
                .unwrap()
                .contains("<mark>上门培训</mark>"),
        "{}",
        hits[0]
    );

    // A lead that moves to another owner takes its notes out of the old owner's reach.
    let res = app
        .api("admin")
        .await
        .patch(
            &format!("/api/v1/leads/{m}"),
            json!({"owner_id": app.org.agent_b1.0}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(leads_of(search(&a1, "上门培训", "").await).is_empty());
}

#[tokio::test]
async fn snippets_mark_the_hits_and_escape_the_text() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    let filler = "这一段只是背景说明，与问题无关。".repeat(12);
    let a = create_article(
        &sup,
        json!({"title": "退款 <b>须知</b>", "category": "政策制度",
            "body": format!("{filler}\n\n客户要求退款时，先确认订单号；<i>退款</i>五个工作日内原路返回。\n\n{filler}")}),
    )
    .await;
    let hits = search(&sup, "退款", "").await;
    assert_eq!(hits[0]["id"], a["id"]);
    assert_eq!(hits[0]["kind"], "article");
    assert_eq!(hits[0]["title"], "退款 <b>须知</b>");
    assert_eq!(
        hits[0]["title_html"],
        "<mark>退款</mark> &lt;b&gt;须知&lt;/b&gt;"
    );
    let snippet = hits[0]["snippet"].as_str().unwrap();
    assert!(snippet.contains("要求<mark>退款</mark>时"), "{snippet}");
    assert!(
        snippet.contains("&lt;i&gt;<mark>退款</mark>&lt;/i&gt;"),
        "{snippet}"
    );
    assert!(
        snippet.starts_with('…') && snippet.ends_with('…'),
        "{snippet}"
    );
    assert!(!snippet.contains("<i>") && !snippet.contains("<b>"));
    assert_eq!(hits[0]["url"], format!("/kb/articles/{}", a["id"]));

    // Search as you type: an unfinished English word matches as a prefix.
    create_article(
        &sup,
        json!({"title": "Refund policy", "body": "Refunds are paid back within five working days."}),
    )
    .await;
    let hits = search(&sup, "refu", "").await;
    assert_eq!(hits[0]["title"], "Refund policy");
    assert!(
        hits[0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<mark>Refunds</mark>")
    );

    // Nothing to search for is no results, and a bad kind is a clear error.
    assert!(search(&sup, " 的 ", "").await.is_empty());
    let (status, err) = sup.get_json("/api/v1/search?q=x&kind=lead").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["details"]["problems"][0]["field"], "kind");
}

#[tokio::test]
async fn kind_and_category_filters_narrow_the_search() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    create_article(
        &sup,
        json!({"title": "价格异议怎么回应", "category": "异议处理", "body": "客户嫌价格高时先认同。"}),
    )
    .await;
    create_article(
        &sup,
        json!({"title": "版本价格表", "category": "产品知识/版本", "body": "标准版价格每年 1200 元。"}),
    )
    .await;
    create_script(
        &sup,
        json!({"title": "价格异议话术", "category": "异议处理", "body": "理解您觉得价格高。", "shared": true}),
    )
    .await;
    let kinds = |items: &[Value]| -> Vec<String> {
        let mut k: Vec<String> = items
            .iter()
            .map(|i| i["kind"].as_str().unwrap().to_string())
            .collect();
        k.sort();
        k.dedup();
        k
    };
    assert_eq!(
        kinds(&search(&sup, "价格", "").await),
        ["article", "script"]
    );
    assert_eq!(
        kinds(&search(&sup, "价格", "&kind=script").await),
        ["script"]
    );
    let cat: String = form_urlencoded::byte_serialize("异议处理".as_bytes()).collect();
    let hits = search(&sup, "价格", &format!("&category={cat}")).await;
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().all(|h| h["category"] == "异议处理"));
    let cat: String = form_urlencoded::byte_serialize("产品知识".as_bytes()).collect();
    let hits = search(&sup, "价格", &format!("&category={cat}")).await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["title"], "版本价格表");
}

/// (question, words the expected article's title starts with).
const RELEVANCE: &[(&str, &str)] = &[
    ("太贵了", "价格异议"),
    ("价格高", "价格异议"),
    ("便宜点", "价格异议"),
    ("客户嫌价格太高怎么办", "价格异议"),
    ("能不能再便宜一点", "价格异议"),
    ("too expensive", "价格异议"),
    ("标准版和专业版有什么区别", "产品版本对比"),
    ("企业版有哪些功能", "产品版本对比"),
    ("product editions", "产品版本对比"),
    ("退款", "退款政策"),
    ("怎么退钱", "退款政策"),
    ("refund policy", "退款政策"),
    ("怎么安装", "安装与部署"),
    ("私有化部署需要什么服务器", "安装与部署"),
    ("installation", "安装与部署"),
    ("竞争对手", "与主要竞品"),
    ("客户在用别的CRM", "与主要竞品"),
    ("compare with competitors", "与主要竞品"),
    ("把资料发我邮箱", "客户说“把资料发我邮箱”"),
    ("send me info by e-mail", "客户说“把资料发我邮箱”"),
    ("客户说在开会没空", "客户说“现在忙"),
    ("call back later", "客户说“现在忙"),
    ("怎么找到老板", "如何找到决策人"),
    ("decision maker", "如何找到决策人"),
    ("合同期限多长", "合同条款"),
    ("contract terms", "合同条款"),
    ("开专票需要什么资料", "发票开具"),
    ("invoice", "发票开具"),
    ("免费试用", "免费试用"),
    ("free trial", "免费试用"),
    ("客服几点上班", "售后服务"),
    ("support hours", "售后服务"),
    ("客户资料放你们那安全吗", "数据安全"),
    ("data security", "数据安全"),
    ("打八折谁审批", "折扣审批"),
    ("discount approval", "折扣审批"),
    ("客户说暂时不需要", "客户说“暂时不需要"),
    ("老客户续费有优惠吗", "续费与升级"),
    ("开场白怎么说", "开场白"),
    ("午休时间能打电话吗", "电话礼仪"),
];

#[tokio::test]
async fn the_right_article_is_in_the_top_three() {
    let app = TestApp::spawn().await;
    let admin = leadline_store::auth::users::find_for_login(&app.db, "admin")
        .await
        .unwrap()
        .unwrap()
        .0;
    let viewer = leadline_store::auth::users::viewer(&app.db, &admin)
        .await
        .unwrap();
    demo::kb::seed_articles(&app.db, &viewer).await.unwrap();
    let agent = app.api("agent_a1").await;
    assert!(RELEVANCE.len() >= 30);
    let mut misses = Vec::new();
    let mut first = 0;
    for (q, expected) in RELEVANCE {
        let hits = search(&agent, q, "&kind=article&limit=10").await;
        let titles: Vec<&str> = hits.iter().map(|h| h["title"].as_str().unwrap()).collect();
        match titles.iter().position(|t| t.starts_with(expected)) {
            Some(0) => first += 1,
            Some(p) if p < 3 => {}
            _ => misses.push(format!("{q} → {:?}", &titles[..titles.len().min(3)])),
        }
    }
    eprintln!(
        "relevance: {}/{} first, {} outside the top 3",
        first,
        RELEVANCE.len(),
        misses.len()
    );
    assert!(
        misses.is_empty(),
        "not in the top 3:\n{}",
        misses.join("\n")
    );
}
