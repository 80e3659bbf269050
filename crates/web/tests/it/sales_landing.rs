//! Issue 23: a sales rep is set no calling target (the workspace and its JSON hide it, their
//! nav starts with their customer queue), and a converted lead's card links to the customer for
//! whoever may see it, or says who took it over.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, mobile};

#[tokio::test]
async fn a_sales_rep_sees_no_calling_target_and_their_queue_comes_first() {
    let app = TestApp::spawn().await;

    let (status, today) = app
        .api("sales1")
        .await
        .get_json("/api/v1/agent/today")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(today["target"].is_null(), "{today}");
    assert!(today["remaining"].is_null(), "{today}");
    assert_eq!(today["done"], 0);
    // An agent still has the 60 calls.
    let (_, today) = app
        .api("agent_a1")
        .await
        .get_json("/api/v1/agent/today")
        .await;
    assert_eq!(today["target"], 60);
    assert_eq!(today["remaining"], 60);

    let rep = app.browser("sales1").await;
    let (status, html) = rep.get("/workspace").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("id=\"ws-target\""), "no target for the rep");
    assert!(!html.contains("id=\"ws-remaining\""));
    assert!(
        html.contains("id=\"ws-done\""),
        "the calls they made still count"
    );
    // The first link of their nav is their queue.
    let nav = &html[html.find("<nav aria-label=\"main\"").unwrap()..];
    let first = &nav[nav.find("<a ").unwrap()..];
    assert!(
        first.starts_with("<a href=\"/customers?mine=1\" id=\"nav-queue\">我的客户</a>"),
        "{}",
        &first[..80]
    );
    let (_, html) = rep.get("/workspace/plan").await;
    assert!(!html.contains("id=\"plan-target\""));
    rep.get("/lang/en?next=/workspace").await;
    let (_, html) = rep.get("/workspace").await;
    assert!(html.contains(">My customers</a>"), "English nav");

    let agent = app.browser("agent_a1").await;
    let (_, html) = agent.get("/workspace").await;
    assert!(html.contains("id=\"ws-target\">60<"), "the agent's target");
    assert!(html.contains("id=\"ws-remaining\">60<"));
    assert!(!html.contains("id=\"nav-queue\""), "no queue for an agent");
    let (_, html) = agent.get("/workspace/plan").await;
    assert!(html.contains("id=\"plan-target\">60<"));
}

#[tokio::test]
async fn a_converted_lead_links_to_its_customer_or_says_who_took_it_over() {
    let app = TestApp::spawn().await;
    let api = app.api("agent_a1").await;
    let mut ids = Vec::new();
    for (n, company) in [(1, "杭州蓝海电子有限公司"), (2, "成都瑞丰商贸有限公司")]
    {
        let v = api
            .create_lead(
                json!({"name": format!("客户{n}"), "phones": [mobile(n)], "company": company}),
            )
            .await;
        ids.push(v["id"].as_i64().unwrap());
    }
    let (for_rep, own) = (ids[0], ids[1]);
    let agent = app.browser("agent_a1").await;
    let csrf = agent.csrf(&format!("/leads/{for_rep}")).await;
    let rep_id = app.org.sales.0.to_string();
    let res = agent
        .post_form(
            &format!("/leads/{for_rep}/convert"),
            &[("_csrf", &csrf), ("sales_rep_id", &rep_id)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = agent
        .post_form(&format!("/leads/{own}/convert"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // Converted for the rep: the agent may not open the customer, and is told who has it.
    let (status, html) = agent.get(&format!("/leads/{for_rep}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("<p id=\"lead-converted\">已转为客户，由 黄磊 负责</p>"),
        "who took it over"
    );
    assert!(!html.contains("id=\"lead-customer\""), "no dead link");
    // Converted for themselves: a link to their customer.
    let (_, html) = agent.get(&format!("/leads/{own}")).await;
    let link = &html[html.find("id=\"lead-customer\"").expect("a link")..];
    assert!(link.contains("成都瑞丰商贸有限公司"), "the customer's name");
    assert!(html.contains("id=\"lead-customer-owner\">张伟<"));
    let href = {
        let at = html.find("<a href=\"/customers/").unwrap() + "<a href=\"".len();
        html[at..at + html[at..].find('"').unwrap()].to_string()
    };
    let (status, card) = agent.get(&href).await;
    assert_eq!(status, StatusCode::OK, "the link opens the customer");
    assert!(card.contains("成都瑞丰商贸有限公司"));

    // The admin sees the rep's customer: the lead links to it, naming the rep.
    let admin = app.browser("admin").await;
    let (_, html) = admin.get(&format!("/leads/{for_rep}")).await;
    assert!(html.contains("id=\"lead-customer\""));
    assert!(html.contains("杭州蓝海电子有限公司"));
    assert!(html.contains("id=\"lead-customer-owner\">黄磊<"));
    // And in English, the agent's line.
    agent.get(&format!("/lang/en?next=/leads/{for_rep}")).await;
    let (_, html) = agent.get(&format!("/leads/{for_rep}")).await;
    assert!(html.contains("Converted to a customer, handled by 黄磊"));
}
