//! Demo pipeline (issue 23), over the demo customers already in the database: opportunities
//! across the stages (some won, some lost with their reasons) with a month of stage history,
//! visits done with market information and today's route for each rep, and the customers
//! graded from their sales with one supervisor's override.

use chrono::{DateTime, Duration, Utc};
use leadline_domain::calling_hours::DEFAULT_TZ;
use leadline_domain::{Role, UserId, Viewer};

use crate::pipeline::opportunities::{self as opps, MoveInput, OpportunityInput};
use crate::pipeline::visits::{self, VisitInput};
use crate::pipeline::{grades, stages};
use crate::{Db, Result, db_run};

/// The most customers the demo gives an opportunity.
const CUSTOMERS: i64 = 60;

const TITLES: [&str; 6] = [
    "年度采购框架协议",
    "新产品线试用",
    "门店设备更新",
    "季度补货",
    "华南区域代理",
    "售后服务续约",
];

const MARKET: [(&str, &str, &str, &str); 4] = [
    (
        "质量稳定，返修少",
        "比同类贵约5%",
        "用过美的、格力",
        "对手本月降价促销",
    ),
    (
        "包装需改进",
        "价格可以接受",
        "主要用本地品牌",
        "对手派人常驻拜访",
    ),
    ("对交货期很满意", "希望年底有返点", "无", "对手推出分期付款"),
    ("质量一般", "嫌贵", "正在试用进口品牌", "无明显动作"),
];

async fn viewer_of(db: &Db, user: i64) -> Result<Viewer> {
    let role: String = db_run!(db, |p| {
        sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
            .bind(user)
            .fetch_one(p)
            .await?
    });
    Ok(Viewer {
        user_id: UserId(user),
        role: Role::parse(&role).unwrap_or(Role::Sales),
        supervised_teams: Vec::new(),
        pools: Vec::new(),
    })
}

/// Seeds the pipeline on the owned demo customers as of `now`; does nothing without customers.
pub(crate) async fn seed(db: &Db, now: DateTime<Utc>) -> Result<()> {
    let customers: Vec<(i64, i64)> = db_run!(db, |p| {
        sqlx::query_as(
            "SELECT id, owner_id FROM customers WHERE deleted_at IS NULL AND owner_id IS NOT NULL \
             ORDER BY id LIMIT $1",
        )
        .bind(CUSTOMERS)
        .fetch_all(p)
        .await?
    });
    if customers.is_empty() {
        return Ok(());
    }
    let all = stages::stages(db).await?;
    let open: Vec<i64> = all
        .iter()
        .filter(|s| s.active && !s.is_won && !s.is_lost)
        .map(|s| s.id)
        .collect();
    let won = all.iter().find(|s| s.active && s.is_won).map(|s| s.id);
    let lost = all.iter().find(|s| s.active && s.is_lost).map(|s| s.id);
    let reasons: Vec<i64> = stages::lost_reasons(db)
        .await?
        .iter()
        .filter(|r| r.active)
        .map(|r| r.id)
        .collect();
    let today = now.with_timezone(&DEFAULT_TZ).date_naive();
    let mut planned_per_owner: Vec<(i64, usize)> = Vec::new();
    for (i, (customer, owner)) in customers.iter().enumerate() {
        let rep = viewer_of(db, *owner).await?;
        let start = now - Duration::days(35 - (i as i64 % 20));
        let id = opps::create(
            db,
            &rep,
            &OpportunityInput {
                customer_id: Some(*customer),
                title: Some(TITLES[i % TITLES.len()].to_string()),
                amount_fen: Some(((i as i64 % 9) + 1) * 1_250_000 + (i as i64 * 37 % 100)),
                expected_date: Some(
                    (today + Duration::days(10 + (i as i64 % 50)))
                        .format("%Y-%m-%d")
                        .to_string(),
                ),
                ..OpportunityInput::default()
            },
            start,
        )
        .await?;
        // How far along: the open stages one by one, then won or lost for some.
        let steps = i % 7;
        let mut at = start;
        for stage in open.iter().skip(1).take(steps.min(open.len() - 1)) {
            at += Duration::days(2 + (i as i64 % 3));
            let input = MoveInput {
                stage_id: *stage,
                ..MoveInput::default()
            };
            opps::move_to(db, &rep, id, &input, at).await?;
        }
        let close = match (steps, won, lost) {
            (4 | 6, Some(w), _) => Some(MoveInput {
                stage_id: w,
                ..MoveInput::default()
            }),
            (5, _, Some(l)) if !reasons.is_empty() => Some(MoveInput {
                stage_id: l,
                lost_reason_id: Some(reasons[i % reasons.len()]),
                lost_note: Some("客户决定暂缓".into()),
            }),
            _ => None,
        };
        if let Some(input) = close {
            opps::move_to(db, &rep, id, &input, at + Duration::days(1)).await?;
        }
        // Visits done with market information on every third customer.
        if i % 3 == 0 {
            let (quality, price, brands, moves) = MARKET[i % MARKET.len()];
            visits::record(
                db,
                &rep,
                &VisitInput {
                    customer_id: Some(*customer),
                    at: Some(now - Duration::days(1 + (i as i64 % 12))),
                    duration_min: Some(30 + (i as i64 % 4) * 15),
                    result: ["met", "follow_up", "order", "not_met"][i % 4].to_string(),
                    notes: "介绍了新品，约定下次回访".into(),
                    quality_view: Some(quality.into()),
                    price_view: Some(price.into()),
                    other_brands: Some(brands.into()),
                    competitor_moves: Some(moves.into()),
                    ..VisitInput::default()
                },
                now,
            )
            .await?;
        }
        // Today's route: up to four stops per rep.
        let n = match planned_per_owner.iter_mut().find(|(o, _)| o == owner) {
            Some((_, n)) => n,
            None => {
                planned_per_owner.push((*owner, 0));
                &mut planned_per_owner.last_mut().expect("just pushed").1
            }
        };
        if *n < 4 {
            visits::plan(db, &rep, *customer, today, now).await?;
            *n += 1;
        }
    }
    // Grades from the sales seeded so far, then a supervisor's override on the first customer.
    grades::run_grading(db, now).await?;
    let boss: Option<i64> = db_run!(db, |p| {
        sqlx::query_scalar("SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1")
            .fetch_optional(p)
            .await?
    });
    if let Some(admin) = boss {
        let admin = Viewer {
            user_id: UserId(admin),
            role: Role::Admin,
            supervised_teams: Vec::new(),
            pools: Vec::new(),
        };
        grades::override_grade(db, &admin, customers[0].0, "A", "战略客户，重点维护", now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::test_db::TestDb;
    use crate::ownership::claim::tests::user;
    use crate::pipeline::tests::customer;

    /// The demo pipeline fills every column, closes some as lost with a reason, and gives each
    /// rep a route for today; without customers it does nothing.
    #[tokio::test]
    async fn the_demo_pipeline_spreads_over_the_stages() {
        let t = TestDb::fresh().await.unwrap();
        let db = &t.db;
        let now = crate::now();
        seed(db, now).await.unwrap();
        user(db, "admin", Role::Admin, None).await;
        let rep = user(db, "sales1", Role::Sales, None).await;
        for n in 0..14 {
            customer(db, &format!("演示客户{n}"), Some(rep.user_id)).await;
        }
        seed(db, now).await.unwrap();
        let list = opps::list(db, &rep, &Default::default()).await.unwrap();
        assert_eq!(list.len(), 14);
        let stages_used: std::collections::HashSet<i64> = list.iter().map(|o| o.stage_id).collect();
        assert_eq!(stages_used.len(), 6, "every seeded stage holds a card");
        assert!(list.iter().any(|o| o.lost_reason_id.is_some()));
        assert!(list.iter().any(|o| o.won_at.is_some()));
        let today = now.with_timezone(&DEFAULT_TZ).date_naive();
        let plan = visits::day_plan(db, &rep, rep.user_id, today)
            .await
            .unwrap();
        assert_eq!(plan.len(), 4);
    }
}
