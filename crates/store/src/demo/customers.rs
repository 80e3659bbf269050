//! Demo customers (issue 23): the sales reps' qualified and converted leads become customers
//! through the store's own conversion (contact, opportunity in the first stage, history), a few
//! companies get a second or third contact (one more lead of the same company, converted, joins
//! it), each rep gets a customer an agent converted and handed to them, and the customers get an
//! address and an industry. Conversions are spread over the last months: leads the demo marks
//! converted were converted one to four months ago, qualified ones shortly after their last call.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use leadline_domain::company_name::company_key;
use leadline_domain::{CustomerId, LeadDraft, LeadId, Role, UserId, Viewer};
use rand::{RngExt, SeedableRng, rngs::StdRng};

use super::{CITIES, GIVEN_NAMES, SURNAMES, TITLES, TRADES, chance, one, weighted};
use crate::leads::{self, CreateOptions};
use crate::{Db, Result, customers, db_run};

/// Companies per rep that get more than one contact.
const COMPANIES_WITH_CONTACTS: usize = 2;
/// Customers each rep gets from an agent's conversion.
const HANDED_BY_AGENTS: usize = 1;

const DISTRICTS: &[&str] = &[
    "高新区",
    "经济开发区",
    "城南区",
    "城北区",
    "中心区",
    "滨江区",
];
const ROADS: &[&str] = &[
    "建设路",
    "人民路",
    "中山路",
    "科技园路",
    "解放路",
    "长江路",
    "新华路",
    "文化路",
    "创业大道",
];

/// A lead the demo may convert.
#[derive(sqlx::FromRow)]
struct Candidate {
    id: LeadId,
    owner_id: UserId,
    status: String,
    company: Option<String>,
    city: Option<String>,
}

/// One planned conversion: who converts which lead, for whom, when.
struct Planned {
    lead: LeadId,
    by: Viewer,
    rep: Option<UserId>,
    at: DateTime<Utc>,
    company: Option<String>,
    city: Option<String>,
}

fn viewer(user: UserId, role: Role) -> Viewer {
    Viewer {
        user_id: user,
        role,
        supervised_teams: Vec::new(),
        pools: Vec::new(),
    }
}

/// Converts the demo's leads into customers (see the module comment). Runs after the leads,
/// their calls and the ownership demo. Returns how many leads it entered (second contacts).
pub(crate) async fn seed(
    db: &Db,
    agents: &[UserId],
    sales: &[UserId],
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut rng = StdRng::seed_from_u64(23);
    let held: Vec<Candidate> = db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT l.id, l.owner_id, l.status, l.company, l.city FROM leads l \
             JOIN users u ON u.id = l.owner_id \
             WHERE l.deleted_at IS NULL AND l.customer_id IS NULL \
             AND l.status IN ('qualified', 'converted') AND u.role IN ('sales', 'agent') \
             ORDER BY l.id",
        )
        .fetch_all(pool)
        .await?
    });
    let calls: Vec<(LeadId, DateTime<Utc>)> = db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT c.lead_id, c.started_at FROM calls c JOIN leads l ON l.id = c.lead_id \
             WHERE l.status IN ('qualified', 'converted')",
        )
        .fetch_all(pool)
        .await?
    });
    let mut last_call: HashMap<LeadId, DateTime<Utc>> = HashMap::new();
    for (lead, at) in calls {
        let e = last_call.entry(lead).or_insert(at);
        *e = (*e).max(at);
    }
    // Companies only one lead names: another lead of the same company (a second contact, or an
    // agent's conversion) then joins the customer it became, never someone else's.
    let mut companies: HashMap<String, usize> = HashMap::new();
    for c in &held {
        if let Some(k) = c.company.as_deref().map(company_key) {
            *companies.entry(k).or_default() += 1;
        }
    }
    let unique = |c: &Candidate| {
        c.company
            .as_deref()
            .is_some_and(|n| companies.get(&company_key(n)) == Some(&1))
    };
    let latest = now - Duration::minutes(10);
    let recent = |rng: &mut StdRng, lead: LeadId| match last_call.get(&lead) {
        Some(at) => (*at + Duration::minutes(rng.random_range(30..=48 * 60))).min(latest),
        None => now - Duration::minutes(rng.random_range(60..=30 * 24 * 60)),
    };

    let mut plan = Vec::new();
    for c in held.iter().filter(|c| sales.contains(&c.owner_id)) {
        let at = if c.status == "converted" {
            now - Duration::minutes(rng.random_range(30 * 24 * 60..=120 * 24 * 60))
        } else {
            recent(&mut rng, c.id)
        };
        plan.push(Planned {
            lead: c.id,
            by: viewer(c.owner_id, Role::Sales),
            rep: None,
            at: office_hours(at).min(latest),
            company: c.company.clone(),
            city: c.city.clone(),
        });
    }
    // An agent's qualified leads, converted by the agent for each rep in turn.
    let from_agents = held
        .iter()
        .filter(|c| agents.contains(&c.owner_id) && c.status == "qualified" && unique(c));
    for (c, rep) in from_agents.zip(
        sales
            .iter()
            .flat_map(|s| std::iter::repeat_n(*s, HANDED_BY_AGENTS)),
    ) {
        let at = recent(&mut rng, c.id);
        plan.push(Planned {
            lead: c.id,
            by: viewer(c.owner_id, Role::Agent),
            rep: Some(rep),
            at: office_hours(at).min(latest),
            company: c.company.clone(),
            city: c.city.clone(),
        });
    }
    plan.sort_by_key(|p| p.at);

    let mut made: Vec<(CustomerId, &Planned)> = Vec::new();
    for p in &plan {
        let c = customers::convert(db, &p.by, p.lead, p.rep, p.at).await?;
        if c.created {
            made.push((c.customer_id, p));
        }
    }

    // Second and third contacts: one more lead of the same company, entered and converted by
    // the rep some days after the company became a customer.
    let mut phone = 0u32;
    let mut entered = 0;
    for rep in sales {
        let anchors = made.iter().filter(|(_, p)| {
            p.rep.is_none()
                && p.by.user_id == *rep
                && held.iter().find(|c| c.id == p.lead).is_some_and(&unique)
        });
        for (i, (_, p)) in anchors.take(COMPANIES_WITH_CONTACTS).enumerate() {
            for _ in 0..=(i % 2) {
                phone += 1;
                let lead = extra_contact(db, &mut rng, &p.by, p, phone).await?;
                entered += 1;
                let days = (now - p.at).num_days().max(1);
                let at = (p.at + Duration::days(rng.random_range(0..=days))).min(latest);
                customers::convert(db, &p.by, lead, None, office_hours(at).min(latest)).await?;
            }
        }
    }

    // Addresses and industries (the card shows them; conversion knows neither).
    for (customer, p) in &made {
        let industry = p.company.as_deref().and_then(|n| {
            // The longest trade word named: 教育科技 is 教育, not 科技's 互联网.
            TRADES
                .iter()
                .filter(|(trade, _)| n.contains(trade))
                .max_by_key(|(trade, _)| trade.len())
                .map(|(_, industry)| *industry)
        });
        let address = (p.company.is_some() || chance(&mut rng, 40)).then(|| {
            let city = p
                .city
                .clone()
                .unwrap_or_else(|| one(&mut rng, CITIES).0.into());
            format!(
                "{city}市{}{}{}号",
                one(&mut rng, DISTRICTS),
                one(&mut rng, ROADS),
                rng.random_range(1..=999)
            )
        });
        db_run!(db, |pool| {
            sqlx::query("UPDATE customers SET address = $2, industry = $3 WHERE id = $1")
                .bind(customer.0)
                .bind(&address)
                .bind(industry)
                .execute(pool)
                .await?
                .rows_affected()
        });
    }
    Ok(entered)
}

/// The moment moved on to Beijing office hours (09:00–18:00): a time in the evening or the
/// night becomes the same minute past nine the next morning.
fn office_hours(at: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::Timelike;
    let hour = (at + Duration::hours(8)).hour();
    if (9..18).contains(&hour) {
        at
    } else {
        at + Duration::hours(i64::from((24 + 9 - hour) % 24))
    }
}

/// A new lead for one more person of `p`'s company, entered by the rep who holds it.
async fn extra_contact(
    db: &Db,
    rng: &mut StdRng,
    rep: &Viewer,
    p: &Planned,
    n: u32,
) -> Result<LeadId> {
    let &(surname, _, _) = weighted(rng, SURNAMES, |x| x.2);
    let draft = LeadDraft {
        name: format!("{surname}{}", one(rng, GIVEN_NAMES)),
        // 198 is not among the demo's generated prefixes: never another lead's phone.
        phones: vec![format!("198{:08}", 23_000_000 + n)],
        company: p.company.clone(),
        title: Some(weighted(rng, TITLES, |x| x.1).0.to_string()),
        city: p.city.clone(),
        region: None,
        source: Some("转介绍".into()),
        tags: Vec::new(),
        status: Some("qualified".into()),
        intent: Some("positive".into()),
        custom: serde_json::Map::new(),
        email: None,
    };
    Ok(leads::create(db, rep, &draft, &CreateOptions::default())
        .await?
        .id)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::customers::{CustomerFilter, OwnerFilter};

    /// What the demo promises about customers, checked after a full demo seed.
    pub(in crate::demo) async fn check(db: &Db) {
        let reps: Vec<(UserId, String)> = db_run!(db, |pool| {
            sqlx::query_as("SELECT id, username FROM users WHERE role = 'sales' ORDER BY id")
                .fetch_all(pool)
                .await
                .unwrap()
        });
        assert_eq!(reps.len(), 3);
        let now = crate::now();
        for (rep, name) in &reps {
            let me = viewer(*rep, Role::Sales);
            let queue = customers::list(
                db,
                &me,
                &CustomerFilter {
                    mine: true,
                    owner: Some(OwnerFilter::Me),
                    limit: Some(200),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            assert!(
                (10..=30).contains(&queue.len()),
                "{name} has {} customers",
                queue.len()
            );
            let mut contacts = 0;
            let mut opportunities = 0;
            let mut addressed = 0;
            for line in &queue {
                let c = customers::get(db, &me, line.id).await.unwrap();
                assert!(!c.contacts.is_empty(), "{} has a contact", c.name);
                contacts = contacts.max(c.contacts.len());
                addressed += usize::from(c.address.is_some() && c.industry.is_some());
                let timeline = customers::timeline(db, &c).await.unwrap();
                opportunities += usize::from(timeline.iter().any(|t| t.kind == "opportunity"));
            }
            assert_eq!(opportunities, queue.len(), "{name}: every customer has one");
            assert!(contacts >= 2, "{name} has a company with several contacts");
            assert!(
                addressed >= queue.len() / 2,
                "{name}: addresses, industries"
            );
            let oldest = queue.iter().filter_map(|l| l.owned_since).min().unwrap();
            assert!(
                now - oldest > Duration::days(30),
                "{name}: spread over months"
            );
        }
        // Handed over by agents: converted by an agent, owned by a rep.
        let handed: i64 = db_run!(db, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM customers c JOIN users a ON a.id = c.created_by \
                 JOIN users o ON o.id = c.owner_id WHERE a.role = 'agent' AND o.role = 'sales'",
            )
            .fetch_one(pool)
            .await
            .unwrap()
        });
        assert!(handed >= 2, "{handed} customers handed over by agents");
        let (finance, hash) = crate::auth::users::find_for_login(db, "finance1")
            .await
            .unwrap()
            .expect("finance1 exists");
        assert_eq!(finance.role, Role::Finance);
        assert_eq!(finance.display_name, "郑会计");
        assert!(crate::auth::users::verify_password(
            &hash,
            super::super::DEMO_PASSWORD
        ));
    }
}
