//! Orders, discount approval, quotations and products with the clock
//! injected, on both backends (PostgreSQL with `LEADLINE_TEST_POSTGRES_URL`).

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use leadline_domain::calling_hours::DEFAULT_TZ;
use leadline_domain::{Role, Viewer};

use super::approvals;
use super::lines::LineInput;
use super::orders::{self, NewOrder};
use super::products::{self, ProductInput};
use super::receivables::NewPayment;
use crate::db::test_db::TestDb;
use crate::ownership::claim::tests::user;
use crate::{Db, StoreError, db_run};

/// 10:00 in Shanghai on a December 2026 day.
pub(crate) fn sh(day: u32, hour: u32) -> DateTime<Utc> {
    DEFAULT_TZ
        .with_ymd_and_hms(2026, 12, day, hour, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

pub(crate) fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A customer owned by `owner` (the customers module's own writer is not needed here).
pub(crate) async fn customer(db: &Db, name: &str, owner: Option<&Viewer>) -> i64 {
    let now = sh(1, 9);
    let sql = "INSERT INTO customers (kind, name, owner_id, status, created_at, updated_at) \
        VALUES ('company', $1, $2, 'prospect', $3, $3) RETURNING id";
    db_run!(db, |pool| sqlx::query_scalar(sql)
        .bind(name)
        .bind(owner.map(|o| o.user_id.0))
        .bind(now)
        .fetch_one(pool)
        .await
        .unwrap())
}

pub(crate) async fn product(db: &Db, admin: &Viewer, name: &str, price_fen: i64) -> i64 {
    let input = ProductInput {
        name: name.into(),
        unit: "套".into(),
        price_fen,
        ..ProductInput::default()
    };
    products::create(db, admin, &input, sh(1, 9))
        .await
        .unwrap()
        .id
}

pub(crate) fn order_of(product: i64, quantity: i64, unit: i64, reason: Option<&str>) -> NewOrder {
    NewOrder {
        lines: vec![LineInput {
            product_id: product,
            quantity,
            unit_price_fen: Some(unit),
        }],
        discount_reason: reason.map(str::to_string),
        ..NewOrder::default()
    }
}

pub(crate) fn pay(amount_fen: i64) -> NewPayment {
    NewPayment {
        amount_fen,
        ..NewPayment::default()
    }
}

pub(crate) struct Floor {
    pub(crate) db: TestDb,
    pub(crate) admin: Viewer,
    pub(crate) sup: Viewer,
    pub(crate) other_sup: Viewer,
    pub(crate) rep: Viewer,
    pub(crate) finance: Viewer,
    pub(crate) agent: Viewer,
    pub(crate) product: i64,
    pub(crate) customer: i64,
}

pub(crate) async fn floor() -> Floor {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let team = crate::auth::users::create_team(db, "销售一组", None)
        .await
        .unwrap();
    let team_b = crate::auth::users::create_team(db, "销售二组", None)
        .await
        .unwrap();
    let admin = user(db, "boss", Role::Admin, None).await;
    let sup_id = user(db, "sup", Role::Supervisor, Some(team)).await.user_id;
    let other_id = user(db, "sup_b", Role::Supervisor, Some(team_b))
        .await
        .user_id;
    crate::auth::users::set_supervisor(db, team, sup_id, true, None)
        .await
        .unwrap();
    crate::auth::users::set_supervisor(db, team_b, other_id, true, None)
        .await
        .unwrap();
    let sup = reload(db, sup_id).await;
    let other_sup = reload(db, other_id).await;
    let rep = user(db, "rep", Role::Sales, Some(team)).await;
    let finance = user(db, "cashier", Role::Finance, None).await;
    let agent = user(db, "agent", Role::Agent, Some(team)).await;
    let product = product(db, &admin, "企业版年费", 50_000).await;
    let customer = customer(db, "星河科技有限公司", Some(&rep)).await;
    Floor {
        db: t,
        admin,
        sup,
        other_sup,
        rep,
        finance,
        agent,
        product,
        customer,
    }
}

pub(crate) async fn reload(db: &Db, id: leadline_domain::UserId) -> Viewer {
    let u = crate::auth::users::get_user(db, id).await.unwrap();
    crate::auth::users::viewer(db, &u).await.unwrap()
}

pub(crate) async fn notifications(db: &Db, user: &Viewer, kind: &str) -> i64 {
    db_run!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND kind = $2"
    )
    .bind(user.user_id)
    .bind(kind)
    .fetch_one(pool)
    .await
    .unwrap())
}

pub(crate) async fn audited(db: &Db, entity: &str, action: &str) -> i64 {
    db_run!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM audit_log WHERE entity = $1 AND action = $2"
    )
    .bind(entity)
    .bind(action)
    .fetch_one(pool)
    .await
    .unwrap())
}

#[tokio::test]
async fn within_the_reps_limit_an_order_is_confirmed_and_owes_its_total_by_a_net_thirty_plan() {
    let f = floor().await;
    let db = &f.db.db;
    let mut new = order_of(f.product, 2, 47_500, None);
    new.delivery_date = Some(day("2026-12-20"));
    let o = orders::create(db, &f.rep, f.customer, &new, sh(7, 10))
        .await
        .unwrap();
    assert_eq!(o.summary.status, "confirmed");
    assert_eq!((o.summary.total_fen, o.owed_fen), (95_000, 95_000));
    assert_eq!(o.lines[0].discount_fen, 5_000);
    assert_eq!(o.instalments.len(), 1);
    assert_eq!(o.instalments[0].due_date, day("2027-01-19"));
    assert_eq!(o.instalments[0].open_fen, 95_000);
    assert!(o.discount_requests.is_empty());
    let status: String = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT status FROM customers WHERE id = $1"
    )
    .bind(f.customer)
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(
        status, "active",
        "a customer who ordered is no longer a prospect"
    );
    assert_eq!(audited(db, "order", "create").await, 1);
}

#[tokio::test]
async fn a_discount_beyond_the_reps_limit_waits_for_the_teams_supervisor_and_needs_a_reason() {
    let f = floor().await;
    let db = &f.db.db;
    // 10% off: beyond the rep's 5%, within the supervisor's 15%.
    let no_reason = orders::create(
        db,
        &f.rep,
        f.customer,
        &order_of(f.product, 1, 45_000, None),
        sh(7, 10),
    )
    .await;
    assert!(
        matches!(&no_reason, Err(StoreError::Invalid(p)) if p[0].field == "discount_reason"),
        "{no_reason:?}"
    );
    let o = orders::create(
        db,
        &f.rep,
        f.customer,
        &order_of(f.product, 1, 45_000, Some("老客户续约")),
        sh(7, 10),
    )
    .await
    .unwrap();
    assert_eq!(o.summary.status, "awaiting_approval");
    assert_eq!(
        o.owed_fen, 0,
        "nothing is owed before the order is confirmed"
    );
    let req = &o.discount_requests[0];
    assert_eq!(
        (req.level.as_str(), req.discount_bp, req.status.as_str()),
        ("supervisor", 1000, "pending")
    );
    assert_eq!(
        notifications(db, &f.sup, approvals::DISCOUNT_REQUESTED).await,
        1
    );
    assert_eq!(
        notifications(db, &f.admin, approvals::DISCOUNT_REQUESTED).await,
        0
    );
    // Confirming before the decision is refused.
    let early = orders::confirm(db, &f.rep, o.summary.id, sh(7, 11)).await;
    assert!(
        matches!(early, Err(StoreError::Conflict("approval_pending"))),
        "{early:?}"
    );
    // The supervisor of another team, the rep and finance may not decide; the request shows
    // on the team supervisor's list only.
    assert_eq!(approvals::pending_for(db, &f.sup).await.unwrap().len(), 1);
    assert!(
        approvals::pending_for(db, &f.other_sup)
            .await
            .unwrap()
            .is_empty()
    );
    for who in [&f.other_sup, &f.rep, &f.finance] {
        let r = approvals::decide(db, who, req.id, true, None, sh(7, 12)).await;
        assert!(matches!(r, Err(StoreError::Forbidden)), "{r:?}");
    }
    let decided = approvals::decide(db, &f.sup, req.id, true, Some("同意"), sh(7, 12))
        .await
        .unwrap();
    assert_eq!(decided.status, "approved");
    let o = orders::get(db, &f.rep, o.summary.id).await.unwrap();
    assert_eq!(
        (o.summary.status.as_str(), o.owed_fen),
        ("confirmed", 45_000)
    );
    assert_eq!(
        notifications(db, &f.rep, approvals::DISCOUNT_DECIDED).await,
        1
    );
    assert_eq!(audited(db, "discount_request", "request").await, 1);
    assert_eq!(audited(db, "discount_request", "approve").await, 1);
    let again = approvals::decide(db, &f.sup, req.id, false, Some("改主意"), sh(7, 13)).await;
    assert!(
        matches!(again, Err(StoreError::Conflict("request_decided"))),
        "{again:?}"
    );
}

#[tokio::test]
async fn beyond_the_supervisors_limit_only_the_admin_decides_and_a_refusal_needs_a_note() {
    let f = floor().await;
    let db = &f.db.db;
    // 20% off.
    let o = orders::create(
        db,
        &f.rep,
        f.customer,
        &order_of(f.product, 1, 40_000, Some("战略客户")),
        sh(7, 10),
    )
    .await
    .unwrap();
    let req = &o.discount_requests[0];
    assert_eq!((req.level.as_str(), req.discount_bp), ("admin", 2000));
    assert_eq!(
        notifications(db, &f.admin, approvals::DISCOUNT_REQUESTED).await,
        1
    );
    assert_eq!(
        notifications(db, &f.sup, approvals::DISCOUNT_REQUESTED).await,
        0
    );
    assert!(approvals::pending_for(db, &f.sup).await.unwrap().is_empty());
    let r = approvals::decide(db, &f.sup, req.id, true, None, sh(7, 11)).await;
    assert!(matches!(r, Err(StoreError::Forbidden)), "{r:?}");
    let r = approvals::decide(db, &f.admin, req.id, false, None, sh(7, 11)).await;
    assert!(
        matches!(&r, Err(StoreError::Invalid(p)) if p[0].field == "note"),
        "{r:?}"
    );
    approvals::decide(db, &f.admin, req.id, false, Some("折扣过大"), sh(7, 11))
        .await
        .unwrap();
    let o = orders::get(db, &f.rep, o.summary.id).await.unwrap();
    assert_eq!((o.summary.status.as_str(), o.owed_fen), ("draft", 0));
    let r = orders::confirm(db, &f.rep, o.summary.id, sh(7, 12)).await;
    assert!(
        matches!(r, Err(StoreError::Conflict("discount_rejected"))),
        "{r:?}"
    );
    // A supervisor's own 15% needs nobody.
    let own = orders::create(
        db,
        &f.sup,
        f.customer,
        &order_of(f.product, 1, 42_500, None),
        sh(7, 12),
    )
    .await
    .unwrap();
    assert_eq!(own.summary.status, "confirmed");
}

#[tokio::test]
async fn a_hidden_customer_is_not_found_and_read_only_access_may_not_order() {
    let f = floor().await;
    let db = &f.db.db;
    let stranger = user(db, "stranger", Role::Sales, None).await;
    let r = orders::create(
        db,
        &stranger,
        f.customer,
        &order_of(f.product, 1, 50_000, None),
        sh(7, 10),
    )
    .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    let r = orders::create(
        db,
        &f.finance,
        f.customer,
        &order_of(f.product, 1, 50_000, None),
        sh(7, 10),
    )
    .await;
    assert!(matches!(r, Err(StoreError::Forbidden)), "{r:?}");
    let o = orders::create(
        db,
        &f.rep,
        f.customer,
        &order_of(f.product, 1, 50_000, None),
        sh(7, 10),
    )
    .await
    .unwrap();
    let r = orders::get(db, &stranger, o.summary.id).await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    assert!(
        orders::list(db, &stranger, None, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        orders::list(db, &f.finance, None, None)
            .await
            .unwrap()
            .len(),
        1
    );
    let r = orders::create(
        db,
        &f.rep,
        f.customer,
        &order_of(999, 1, 50_000, None),
        sh(7, 10),
    )
    .await;
    assert!(
        matches!(&r, Err(StoreError::Invalid(p)) if p[0].code == "product_unknown"),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_quotation_becomes_one_order_with_its_lines_and_prices() {
    let f = floor().await;
    let db = &f.db.db;
    let q = super::quotations::create(
        db,
        &f.rep,
        f.customer,
        &super::quotations::NewQuotation {
            lines: vec![LineInput {
                product_id: f.product,
                quantity: 3,
                unit_price_fen: Some(48_000),
            }],
            valid_until: Some(day("2026-12-31")),
            ..Default::default()
        },
        sh(7, 10),
    )
    .await
    .unwrap();
    assert_eq!(q.total_fen, 144_000);
    let extra = super::quotations::OrderFromQuotation::default();
    // Only an accepted quotation becomes an order: a draft is sent first, then accepted.
    let r = super::quotations::to_order(db, &f.rep, q.id, &extra, sh(8, 10)).await;
    assert!(
        matches!(r, Err(StoreError::Conflict("quotation_not_accepted"))),
        "{r:?}"
    );
    let r = super::quotations::decide(db, &f.rep, q.id, "accept", sh(7, 11)).await;
    assert!(
        matches!(r, Err(StoreError::Conflict("quotation_state"))),
        "a draft is not accepted before it is sent: {r:?}"
    );
    let r = super::quotations::decide(db, &f.finance, q.id, "send", sh(7, 11)).await;
    assert!(matches!(r, Err(StoreError::Forbidden)), "{r:?}");
    let sent = super::quotations::decide(db, &f.rep, q.id, "send", sh(7, 11))
        .await
        .unwrap();
    assert_eq!(sent.status, "sent");
    let accepted = super::quotations::decide(db, &f.rep, q.id, "accept", sh(7, 12))
        .await
        .unwrap();
    assert_eq!(accepted.status, "accepted");
    let r = super::quotations::decide(db, &f.rep, q.id, "reject", sh(7, 13)).await;
    assert!(
        matches!(r, Err(StoreError::Conflict("quotation_state"))),
        "{r:?}"
    );
    let steps: Vec<String> = crate::db_run!(db, |pool| {
        sqlx::query_scalar(
            "SELECT action FROM audit_log WHERE entity = 'quotation' AND entity_id = $1 ORDER BY id",
        )
        .bind(q.id)
        .fetch_all(pool)
        .await
        .unwrap()
    });
    assert_eq!(steps, ["create", "send", "accept"]);
    let o = super::quotations::to_order(db, &f.rep, q.id, &extra, sh(8, 10))
        .await
        .unwrap();
    assert_eq!(
        (o.summary.total_fen, o.summary.status.as_str()),
        (144_000, "confirmed")
    );
    let r = super::quotations::to_order(db, &f.rep, q.id, &extra, sh(8, 10)).await;
    assert!(
        matches!(r, Err(StoreError::Conflict("quotation_ordered"))),
        "{r:?}"
    );
}

#[tokio::test]
async fn only_admins_keep_the_product_list_and_bundles_list_what_they_hold() {
    let f = floor().await;
    let db = &f.db.db;
    let input = ProductInput {
        name: "培训服务".into(),
        price_fen: 20_000,
        ..ProductInput::default()
    };
    let r = products::create(db, &f.sup, &input, sh(7, 10)).await;
    assert!(matches!(r, Err(StoreError::Forbidden)), "{r:?}");
    let training = products::create(db, &f.admin, &input, sh(7, 10))
        .await
        .unwrap()
        .id;
    let bundle = ProductInput {
        name: "企业版+培训套餐".into(),
        price_fen: 65_000,
        items: vec![
            products::BundleItem {
                bundle_id: 0,
                product_id: f.product,
                name: String::new(),
                quantity: 1,
            },
            products::BundleItem {
                bundle_id: 0,
                product_id: training,
                name: String::new(),
                quantity: 2,
            },
        ],
        ..ProductInput::default()
    };
    let b = products::create(db, &f.admin, &bundle, sh(7, 10))
        .await
        .unwrap();
    assert!(b.is_bundle);
    assert_eq!(b.items.len(), 2);
    let mut retired = input.clone();
    retired.active = Some(false);
    products::update(db, &f.admin, training, &retired, sh(7, 11))
        .await
        .unwrap();
    let names: Vec<String> = products::list(db, false)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert!(!names.contains(&"培训服务".to_string()), "{names:?}");
    let r = orders::create(
        db,
        &f.rep,
        f.customer,
        &order_of(training, 1, 20_000, None),
        sh(7, 12),
    )
    .await;
    assert!(
        matches!(r, Err(StoreError::Invalid(_))),
        "a retired product is not sold: {r:?}"
    );
}
