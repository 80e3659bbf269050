//! Detection on entry, the setting and the backfill, on the test backend (SQLite, or
//! PostgreSQL with `LEADLINE_TEST_POSTGRES_URL`).

use leadline_domain::contact_match::{CompanyContacts, MatchKind};
use leadline_domain::{LeadDraft, Role, UserId, Viewer};

use super::*;
use crate::auth::users::{self, NewUser};
use crate::db::sql::Arg;
use crate::db::test_db::TestDb;
use crate::leads::{self, CreateOptions};

async fn agent(db: &Db, name: &str) -> Viewer {
    let user = users::create_user(
        db,
        &NewUser {
            username: name.into(),
            display_name: name.into(),
            role: Role::Agent,
            team_id: None,
            password_hash: "x".into(),
        },
        None,
    )
    .await
    .unwrap();
    users::viewer(db, &user).await.unwrap()
}

fn draft(name: &str, phone: &str, company: &str, email: Option<&str>) -> LeadDraft {
    LeadDraft {
        name: name.into(),
        phones: vec![phone.into()],
        company: Some(company.into()),
        email: email.map(str::to_string),
        ..Default::default()
    }
}

/// (match_kind, value, existing lead, existing owner, new owner) of a lead's cases.
async fn cases_of(db: &Db, lead: LeadId) -> Vec<(String, String, i64, Option<i64>, Option<i64>)> {
    db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT match_kind, phone_e164, existing_lead_id, existing_owner_id, new_owner_id FROM collisions \
             WHERE lead_id = $1 ORDER BY id",
        )
        .bind(lead)
        .fetch_all(pool)
        .await
        .unwrap()
    })
}

/// An agent entering a contact of a company a colleague owns (written another way): under
/// `join` the record goes to the colleague, with an ownership event saying why; under `case`
/// the agent keeps it and a company case is opened; an e-mail the colleague holds opens an
/// e-mail case.
#[tokio::test]
async fn a_contact_of_a_colleagues_company_joins_them_or_opens_a_case() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let (a, b) = (agent(db, "wang").await, agent(db, "li").await);
    let opts = CreateOptions::default();
    let first = leads::create(
        db,
        &a,
        &draft(
            "张总",
            "13800000001",
            "北京星河科技有限公司",
            Some("zhang@XingHe.com"),
        ),
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(first.owner_id, Some(a.user_id));
    assert_eq!(first.ownership.email.as_deref(), Some("zhang@xinghe.com"));

    assert_eq!(company_contacts(db).await.unwrap(), CompanyContacts::Join);
    let joined = leads::create(
        db,
        &b,
        &draft("李经理", "13800000002", "星河科技（北京）", None),
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(
        joined.owner_id,
        Some(a.user_id),
        "joined the company's owner"
    );
    let history = crate::ownership::events::history(db, joined.id)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].action, "create");
    assert_eq!(history[0].to_user, Some(a.user_id));
    assert_eq!(history[0].actor_id, Some(b.user_id));
    assert_eq!(history[0].reason.as_deref(), Some(JOINED_REASON));
    assert!(cases_of(db, joined.id).await.is_empty());

    set_company_contacts(db, UserId(a.user_id.0), CompanyContacts::Case)
        .await
        .unwrap();
    assert_eq!(company_contacts(db).await.unwrap(), CompanyContacts::Case);
    let kept = leads::create(
        db,
        &b,
        &draft("赵工", "13800000003", "星河科技股份有限公司", None),
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(kept.owner_id, Some(b.user_id));
    assert_eq!(
        cases_of(db, kept.id).await,
        vec![(
            "company".into(),
            "星河科技".into(),
            first.id.0,
            Some(a.user_id.0),
            Some(b.user_id.0)
        )]
    );

    let by_mail = leads::create(
        db,
        &b,
        &draft(
            "钱女士",
            "13800000004",
            "别家公司",
            Some(" zhang@xinghe.COM"),
        ),
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(by_mail.owner_id, Some(b.user_id));
    assert_eq!(
        cases_of(db, by_mail.id).await,
        vec![(
            "email".into(),
            "zhang@xinghe.com".into(),
            first.id.0,
            Some(a.user_id.0),
            Some(b.user_id.0)
        )]
    );

    // find: the phone, the company and the e-mail of the first record, except itself.
    let found = find(
        db,
        &["+8613800000001"],
        Some("星河科技"),
        Some("zhang@xinghe.com"),
        Some(first.id),
    )
    .await
    .unwrap();
    let kinds: Vec<(MatchKind, LeadId)> = found.iter().map(|m| (m.kind, m.lead)).collect();
    assert_eq!(
        kinds,
        vec![
            (MatchKind::Company, joined.id),
            (MatchKind::Company, kept.id),
            (MatchKind::Email, by_mail.id),
        ]
    );
    let found = find(db, &["+8613800000001"], None, None, None)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].lead, found[0].owner), (first.id, a.user_id));
}

/// Records written before `company_key` was kept get it at start-up, in batches.
#[tokio::test]
async fn the_backfill_gives_old_records_their_company_key() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let a = agent(db, "wang").await;
    for (i, company) in [
        "上海申华实业股份有限公司",
        "有限公司",
        "深圳华为技术有限公司",
    ]
    .iter()
    .enumerate()
    {
        leads::create(
            db,
            &a,
            &draft("x", &format!("1390000000{i}"), company, None),
            &CreateOptions::default(),
        )
        .await
        .unwrap();
    }
    db_run!(db, |pool| {
        sqlx::query("UPDATE leads SET company_key = NULL")
            .execute(pool)
            .await
            .unwrap();
    });
    assert_eq!(backfill_company_keys(db).await.unwrap(), 3);
    assert_eq!(backfill_company_keys(db).await.unwrap(), 0, "once done");
    let keys: Vec<Option<String>> = db_run!(db, |pool| {
        sqlx::query_scalar("SELECT company_key FROM leads ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap()
    });
    assert_eq!(
        keys,
        vec![
            Some("申华实业".to_string()),
            Some(String::new()),
            Some("华为技术".to_string())
        ]
    );
}

/// The 撞单 look-up by phone (on every valid follow-up of a pool lead, every claim and
/// hand-over) finds a number through the two partial indexes that together hold every number,
/// and finds it both where it is the number's first holder and where it is a recorded
/// collision. Asked as `e164 = $1` alone it once read the whole of `lead_phones` on both
/// databases (23 ms a call at 200,000 leads on PostgreSQL).
#[tokio::test]
async fn the_phone_look_up_reads_the_phone_indexes_and_finds_collided_numbers() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let first = agent(db, "first").await;
    let second = agent(db, "second").await;
    let phone = "+8613800138123";
    let mut ids = Vec::new();
    for (who, name) in [(&first, "甲"), (&second, "乙")] {
        let opts = CreateOptions {
            allow_collision: true,
            ..Default::default()
        };
        let created = leads::create(db, who, &draft(name, "13800138123", name, None), &opts)
            .await
            .unwrap();
        ids.push(created.id);
    }
    // The second record's number is kept as a recorded collision of the first's.
    let collided: Option<i64> = db_run!(db, |pool| {
        sqlx::query_scalar("SELECT collision_with FROM lead_phones WHERE lead_id = $1")
            .bind(ids[1])
            .fetch_one(pool)
            .await
            .unwrap()
    });
    assert_eq!(collided, Some(ids[0].0));
    let found = find(db, &[phone], None, None, None).await.unwrap();
    let leads: Vec<LeadId> = found.iter().map(|m| m.lead).collect();
    assert_eq!(leads, ids);
    assert!(found.iter().all(|m| m.kind == MatchKind::Phone));
    let except_first = find(db, &[phone], None, None, Some(ids[0])).await.unwrap();
    assert_eq!(except_first.len(), 1);
    assert_eq!(except_first[0].owner, second.user_id);

    // A floor that imported 2,000 pool leads, was analysed, then claimed them all: the
    // statistics still say no lead is owned, the look-up must still start from the number.
    let fill = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
        INSERT INTO leads (name, status, owner_id, created_by, custom, version, created_at, updated_at, attempts, priority, dnc) \
        SELECT 'P' || i, 'new', NULL, $1, '{}', 1, $2, $2, 0, 0, FALSE FROM n";
    let now = crate::now();
    crate::db::sql::execute(db, fill, vec![Arg::I64(first.user_id.0), Arg::Time(now)])
        .await
        .unwrap();
    crate::db::sql::execute(
        db,
        "INSERT INTO lead_phones (lead_id, e164, raw, position) \
         SELECT id, '+86139' || CAST(10000000 + id AS TEXT), 'x', 0 FROM leads WHERE name LIKE 'P%'",
        vec![],
    )
    .await
    .unwrap();
    crate::db::sql::execute(db, "ANALYZE", vec![])
        .await
        .unwrap();
    crate::db::sql::execute(
        db,
        "UPDATE leads SET owner_id = $1 WHERE name LIKE 'P%'",
        vec![Arg::I64(second.user_id.0)],
    )
    .await
    .unwrap();

    let plan: Vec<String> = match db {
        Db::Sqlite(pool) => sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(
            format!("EXPLAIN QUERY PLAN {BY_PHONE}"),
        ))
        .bind(phone)
        .bind(0_i64)
        .bind(50_i64)
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.3)
        .collect(),
        Db::Postgres(pool) => {
            let mut conn = pool.acquire().await.unwrap();
            // A table this small would be read whole by choice; without the option it is
            // read whole only when no index can answer.
            sqlx::query("SET enable_seqscan = off")
                .execute(&mut *conn)
                .await
                .unwrap();
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("EXPLAIN {BY_PHONE}")))
                .bind(phone)
                .bind(0_i64)
                .bind(50_i64)
                .fetch_all(&mut *conn)
                .await
                .unwrap()
        }
    };
    let text = plan.join("\n");
    assert!(text.contains("lead_phones_unique"), "{text}");
    assert!(text.contains("lead_phones_collided"), "{text}");
    assert!(!text.contains("Seq Scan on lead_phones"), "{text}");
    assert!(!text.contains("SCAN lead_phones"), "{text}");
    assert!(!text.contains("leads_owner_status"), "{text}");
}
