//! Converting leads into customers and reading them back, on both backends (PostgreSQL with
//! `LEADLINE_TEST_POSTGRES_URL`): one customer per company, phone or e-mail, also when the same
//! lead or two leads of one company are converted at the same moment; who sees a customer; the
//! balance from orders, returns and payments to the 分.

use chrono::{TimeZone, Utc};
use leadline_domain::customer::ContactDraft;
use leadline_domain::{LeadDraft, LeadId, Role, TeamId, Viewer};

use super::*;
use crate::auth::users::{NewUser, create_user};
use crate::db::sql::{Arg, execute};
use crate::db::test_db::TestDb;
use crate::leads::{self, CreateOptions};

async fn user(db: &Db, name: &str, role: Role, team: Option<TeamId>) -> Viewer {
    let u = create_user(
        db,
        &NewUser {
            username: name.into(),
            display_name: name.into(),
            role,
            team_id: team,
            password_hash: "x".into(),
        },
        None,
    )
    .await
    .unwrap();
    crate::auth::users::viewer(db, &u).await.unwrap()
}

async fn team(db: &Db, name: &str) -> TeamId {
    crate::auth::users::create_team(db, name, None)
        .await
        .unwrap()
}

async fn lead(db: &Db, by: &Viewer, n: u32, company: Option<&str>, email: Option<&str>) -> LeadId {
    let draft = LeadDraft {
        name: format!("联系人{n}"),
        phones: vec![format!("139{n:08}")],
        company: company.map(str::to_string),
        email: email.map(str::to_string),
        ..LeadDraft::default()
    };
    leads::create(db, by, &draft, &CreateOptions::default())
        .await
        .unwrap()
        .id
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 2, 0, 0).unwrap()
}

/// Awaits tasks spawned together (they ran at the same time).
async fn all(tasks: Vec<tokio::task::JoinHandle<Result<Conversion>>>) -> Vec<Conversion> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap().unwrap());
    }
    out
}

async fn count(db: &Db, sql: &'static str) -> i64 {
    db_run!(db, |pool| sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .unwrap())
}

#[tokio::test]
async fn a_converted_lead_becomes_a_customer_with_its_contact_an_opportunity_and_its_history() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let agent = user(db, "agent", Role::Agent, None).await;
    let rep = user(db, "rep", Role::Sales, None).await;
    let l = lead(
        db,
        &agent,
        1,
        Some("北京星河科技有限公司"),
        Some("wang@xinghe.cn"),
    )
    .await;

    let c = convert(db, &agent, l, Some(rep.user_id), at())
        .await
        .unwrap();
    assert!(c.created);
    assert!(c.opportunity_id.is_some());
    let card = get(db, &rep, c.customer_id).await.unwrap();
    assert_eq!(card.name, "北京星河科技有限公司");
    assert_eq!(card.owner.as_ref().map(|o| o.name.as_str()), Some("rep"));
    assert_eq!(card.lead_ids, vec![l]);
    assert_eq!(card.balance_fen, 0);
    assert_eq!(card.contacts.len(), 1);
    assert_eq!(card.contacts[0].name, "联系人1");
    assert_eq!(card.contacts[0].phones[0].e164, "+8613900000001");
    assert_eq!(card.contacts[0].email.as_deref(), Some("wang@xinghe.cn"));
    let timeline = timeline(db, &card).await.unwrap();
    assert_eq!(timeline.len(), 1, "the new opportunity");
    assert_eq!(timeline[0].kind, "opportunity");
    assert_eq!(timeline[0].code.as_deref(), Some("contact"));
    let h = history(db, &card).await.unwrap();
    assert_eq!(h[0].action, "convert");
    assert_eq!(h[0].to_name.as_deref(), Some("rep"));
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'customer' AND action = 'convert'"
        )
        .await,
        1
    );
    // The rep's queue holds it; converting again changes nothing.
    let queue = list(
        db,
        &rep,
        &CustomerFilter {
            mine: true,
            ..CustomerFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        queue.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![c.customer_id]
    );
    let again = convert(db, &agent, l, None, at()).await.unwrap();
    assert_eq!((again.customer_id, again.created), (c.customer_id, false));
    assert_eq!(count(db, "SELECT COUNT(*) FROM customers").await, 1);
    assert_eq!(count(db, "SELECT COUNT(*) FROM opportunities").await, 1);
}

#[tokio::test]
async fn a_second_lead_of_a_known_company_or_email_joins_the_customer() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let agent = user(db, "agent", Role::Agent, None).await;
    let first = lead(db, &agent, 1, Some("星河科技有限公司"), None).await;
    let same_company = lead(db, &agent, 2, Some("上海星河科技（上海）有限公司"), None).await;
    let by_email = lead(db, &agent, 3, None, Some("li@example.com")).await;
    let same_email = lead(db, &agent, 4, None, Some("li@EXAMPLE.com")).await;

    let a = convert(db, &agent, first, None, at()).await.unwrap();
    let b = convert(db, &agent, same_company, None, at()).await.unwrap();
    assert_eq!(
        (b.customer_id, b.created, b.opportunity_id),
        (a.customer_id, false, None)
    );
    let card = get(db, &agent, a.customer_id).await.unwrap();
    assert_eq!(card.contacts.len(), 2, "the second person became a contact");
    assert_eq!(card.lead_ids, vec![first, same_company]);
    assert_eq!(
        card.owner_id,
        Some(agent.user_id),
        "the lead's owner owns it"
    );

    let c = convert(db, &agent, by_email, None, at()).await.unwrap();
    let d = convert(db, &agent, same_email, None, at()).await.unwrap();
    assert!(c.created);
    assert_eq!((d.customer_id, d.created), (c.customer_id, false));
    assert_ne!(c.customer_id, a.customer_id);
    assert_eq!(count(db, "SELECT COUNT(*) FROM customers").await, 2);
}

#[tokio::test]
async fn converting_at_the_same_moment_gives_one_customer() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let agent = user(db, "agent", Role::Agent, None).await;
    // The same lead, eight times at once.
    let l = lead(db, &agent, 1, None, None).await;
    let runs = (0..8).map(|_| {
        let (db, agent) = (db.clone(), agent.clone());
        tokio::spawn(async move { convert(&db, &agent, l, None, at()).await })
    });
    let results = all(runs.collect()).await;
    assert_eq!(results.iter().filter(|c| c.created).count(), 1);
    assert!(
        results
            .iter()
            .all(|c| c.customer_id == results[0].customer_id)
    );
    // Eight leads of one company, at once.
    let mut company_leads = Vec::new();
    for n in 10..18 {
        company_leads.push(lead(db, &agent, n, Some("深圳海天贸易有限公司"), None).await);
    }
    let runs = company_leads.iter().map(|&l| {
        let (db, agent) = (db.clone(), agent.clone());
        tokio::spawn(async move { convert(&db, &agent, l, None, at()).await })
    });
    let results = all(runs.collect()).await;
    assert_eq!(results.iter().filter(|c| c.created).count(), 1);
    assert!(
        results
            .iter()
            .all(|c| c.customer_id == results[0].customer_id)
    );
    assert_eq!(count(db, "SELECT COUNT(*) FROM customers").await, 2);
    let card = get(db, &agent, results[0].customer_id).await.unwrap();
    assert_eq!(card.contacts.len(), 8);
}

#[tokio::test]
async fn a_lead_one_may_not_see_or_a_rep_who_is_not_one_is_refused() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let a = user(db, "agent_a", Role::Agent, None).await;
    let b = user(db, "agent_b", Role::Agent, None).await;
    let l = lead(db, &a, 1, None, None).await;
    assert!(matches!(
        convert(db, &b, l, None, at()).await,
        Err(StoreError::NotFound)
    ));
    match convert(db, &a, l, Some(b.user_id), at()).await {
        Err(StoreError::Invalid(p)) => assert_eq!(p[0].code, "not_a_sales_rep"),
        other => panic!("expected invalid, got {other:?}"),
    }
    let finance = user(db, "cashier", Role::Finance, None).await;
    assert!(matches!(
        convert(db, &finance, l, None, at()).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(count(db, "SELECT COUNT(*) FROM customers").await, 0);
}

#[tokio::test]
async fn customers_are_seen_by_the_leads_rule_and_finance_reads_them_all() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let (t1, t2) = (team(db, "一组").await, team(db, "二组").await);
    let a1 = user(db, "a1", Role::Agent, Some(t1)).await;
    let a2 = user(db, "a2", Role::Agent, Some(t2)).await;
    let sup = user(db, "sup1", Role::Supervisor, None).await;
    crate::auth::users::set_supervisor(db, t1, sup.user_id, true, None)
        .await
        .unwrap();
    let sup = crate::auth::users::viewer(
        db,
        &crate::auth::users::get_user(db, sup.user_id).await.unwrap(),
    )
    .await
    .unwrap();
    let finance = user(db, "cashier", Role::Finance, None).await;
    let c = convert(
        db,
        &a1,
        lead(db, &a1, 1, Some("星河科技"), None).await,
        None,
        at(),
    )
    .await
    .unwrap()
    .customer_id;

    assert!(matches!(get(db, &a2, c).await, Err(StoreError::NotFound)));
    assert!(
        list(db, &a2, &CustomerFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(get(db, &sup, c).await.unwrap().access, "edit");
    assert_eq!(
        list(db, &sup, &CustomerFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
    let seen = get(db, &finance, c).await.unwrap();
    assert_eq!(seen.access, "read");
    assert_eq!(
        list(db, &finance, &CustomerFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
    let draft = ContactDraft {
        name: "出纳".into(),
        ..ContactDraft::default()
    };
    assert!(matches!(
        add_contact(db, &finance, c, &draft, at()).await,
        Err(StoreError::Forbidden)
    ));
    assert!(matches!(
        add_contact(db, &a2, c, &draft, at()).await,
        Err(StoreError::NotFound)
    ));
    let by_name = CustomerFilter {
        text: Some("星河".into()),
        ..CustomerFilter::default()
    };
    assert_eq!(list(db, &a1, &by_name).await.unwrap().len(), 1);
    let other = CustomerFilter {
        text: Some("海天".into()),
        ..CustomerFilter::default()
    };
    assert!(list(db, &a1, &other).await.unwrap().is_empty());
}

#[tokio::test]
async fn contacts_are_added_changed_and_removed_with_their_phones() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let a = user(db, "agent", Role::Agent, None).await;
    let c = convert(
        db,
        &a,
        lead(db, &a, 1, Some("星河科技"), None).await,
        None,
        at(),
    )
    .await
    .unwrap()
    .customer_id;
    let bad = ContactDraft {
        name: "赵六".into(),
        phones: vec!["12".into()],
        ..ContactDraft::default()
    };
    assert!(matches!(
        add_contact(db, &a, c, &bad, at()).await,
        Err(StoreError::Invalid(_))
    ));
    let good = ContactDraft {
        name: "赵六".into(),
        phones: vec!["13700001111".into(), "021-6234 5678".into()],
        is_primary: true,
        ..ContactDraft::default()
    };
    let id = add_contact(db, &a, c, &good, at()).await.unwrap();
    let card = get(db, &a, c).await.unwrap();
    assert_eq!(card.contacts[0].id, id, "the primary contact comes first");
    assert_eq!(card.contacts[0].phones.len(), 2);
    assert!(!card.contacts[1].is_primary, "one primary contact");
    let renamed = ContactDraft {
        name: "赵六六".into(),
        phones: vec!["13700001111".into()],
        ..good
    };
    update_contact(db, &a, c, id, &renamed, at()).await.unwrap();
    let card = get(db, &a, c).await.unwrap();
    let z = card.contacts.iter().find(|k| k.id == id).unwrap();
    assert_eq!((z.name.as_str(), z.phones.len()), ("赵六六", 1));
    delete_contact(db, &a, c, id, at()).await.unwrap();
    assert_eq!(get(db, &a, c).await.unwrap().contacts.len(), 1);
    assert!(matches!(
        delete_contact(db, &a, c, id, at()).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn the_balance_is_confirmed_orders_less_returns_less_payments() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let a = user(db, "agent", Role::Agent, None).await;
    let c = convert(
        db,
        &a,
        lead(db, &a, 1, Some("星河科技"), None).await,
        None,
        at(),
    )
    .await
    .unwrap()
    .customer_id;
    let order = |status: &'static str, total: i64| {
        vec![
            Arg::I64(c.0),
            Arg::Text(status.into()),
            Arg::I64(total),
            Arg::Time(at()),
        ]
    };
    const ORDER: &str = "INSERT INTO orders (customer_id, status, total_fen, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $4)";
    execute(db, ORDER, order("confirmed", 100_001))
        .await
        .unwrap();
    execute(db, ORDER, order("draft", 50_000)).await.unwrap();
    execute(db, ORDER, order("cancelled", 70_000))
        .await
        .unwrap();
    let first: i64 = count(db, "SELECT MIN(id) FROM orders").await;
    execute(
        db,
        "INSERT INTO returns (order_id, customer_id, amount_fen, reason, returned_at, created_at) \
         VALUES ($1, $2, 20000, '破损', $3, $3)",
        vec![Arg::I64(first), Arg::I64(c.0), Arg::Time(at())],
    )
    .await
    .unwrap();
    execute(
        db,
        "INSERT INTO payments (order_id, customer_id, amount_fen, paid_at, recorded_by, created_at) \
         VALUES ($1, $2, 30000, $3, $4, $3)",
        vec![Arg::I64(first), Arg::I64(c.0), Arg::Time(at()), Arg::I64(a.user_id.0)],
    )
    .await
    .unwrap();
    let card = get(db, &a, c).await.unwrap();
    assert_eq!(
        Some(card.balance_fen),
        leadline_domain::money::balance_fen(100_001, 20_000, 30_000)
    );
    assert_eq!(card.balance_fen, 50_001);
    let line = &list(db, &a, &CustomerFilter::default()).await.unwrap()[0];
    assert_eq!(line.balance_fen, 50_001);
    let kinds: Vec<&str> = timeline(db, &card)
        .await
        .unwrap()
        .iter()
        .map(|i| i.kind)
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "order").count(), 3);
    assert!(kinds.contains(&"payment"));
}
