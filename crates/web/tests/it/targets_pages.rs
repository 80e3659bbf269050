//! The targets grid and the plans page as forms (issue 24), both backends: a supervisor saves a
//! person's year from the grid (amounts typed in yuan, stored in 分) and the agent then sees
//! read-only inputs and the month's bars; the agent's plan form reaches the supervisor's
//! approval list.

use chrono::Datelike;
use reqwest::StatusCode;

use crate::helpers::TestApp;

#[tokio::test]
async fn a_supervisor_saves_a_year_from_the_grid_and_the_agent_reads_it() {
    let app = TestApp::spawn().await;
    let agent = app.org.agent_a1.0;
    let sup = app.browser("sup_a").await;
    let subject = format!("user:{agent}");
    let page = format!("/targets?subject={subject}&year=2027");
    let (s, html) = sup.get(&page).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("id=\"target-save\""),
        "the supervisor may edit"
    );
    let csrf = sup.csrf(&page).await;
    let mut fields: Vec<(String, String)> = vec![
        ("_csrf".into(), csrf),
        ("subject".into(), subject.clone()),
        ("year".into(), "2027".into()),
    ];
    for m in 1..=12 {
        fields.push((format!("m{m}_calls"), "1200".into()));
        fields.push((format!("m{m}_revenue_fen"), "50,000.5".into()));
    }
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let res = sup.post_form("/targets", &form).await;
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.contains("saved=1"), "{to}");
    let stored = app
        .api("agent_a1")
        .await
        .get_json(&format!("/api/v1/targets/{agent}/2027"))
        .await
        .1;
    assert_eq!(stored["months"][6]["calls"], 1200);
    assert_eq!(stored["months"][6]["revenue_fen"], 5_000_050);

    // The agent reads the grid but may not save it; a colleague's page is refused.
    let me = app.browser("agent_a1").await;
    let (s, html) = me.get("/targets?year=2027").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("readonly") && !html.contains("id=\"target-save\""));
    assert!(html.contains("50,000.50"), "amounts shown in yuan");
    let (s, _) = app
        .browser("agent_a2")
        .await
        .get(&format!("/targets?subject={subject}&year=2027"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let csrf = me.csrf("/targets?year=2027").await;
    let res = me
        .post_form(
            "/targets",
            &[("_csrf", &csrf), ("subject", &subject), ("year", "2027")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_plan_form_reaches_the_supervisors_approval_list() {
    let app = TestApp::spawn().await;
    let me = app.browser("agent_a1").await;
    let csrf = me.csrf("/plans").await;
    let today = chrono::Utc::now().date_naive();
    let first = today.with_day(1).unwrap().format("%Y-%m-%d").to_string();
    let res = me
        .post_form(
            "/plans",
            &[
                ("_csrf", &csrf),
                ("period", "month"),
                ("period_start", &first),
                ("items", "月底前回访全部意向客户"),
                ("calls", "1200"),
                ("revenue", "80000"),
            ],
        )
        .await;
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.contains("saved=1"), "{to}");
    let (_, html) = me.get("/plans").await;
    assert!(html.contains("月底前回访全部意向客户") && html.contains("待审批"));
    let (_, html) = app.browser("sup_a").await.get("/plans").await;
    assert!(html.contains("plans-waiting") && html.contains("月底前回访全部意向客户"));
    let (_, html) = app.browser("sup_b").await.get("/plans").await;
    assert!(
        !html.contains("月底前回访全部意向客户"),
        "another team's supervisor"
    );
}
