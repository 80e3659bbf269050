use super::snapshot::REFRESH_AFTER;
use super::*;
use crate::db::test_db::TestDb;

/// Changes the attempt limit as another app server would: in the database only.
async fn change_behind_the_cache(db: &Db, value: i64) -> Result<()> {
    db_run!(db, |pool| sqlx::query(
        "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    )
    .bind(MAX_ATTEMPTS_KEY)
    .bind(sqlx::types::Json(json!(value)))
    .bind(now())
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}

/// A snapshot in steady use is read again in the background once it is [`REFRESH_AFTER`]
/// old, so another server's change arrives before the snapshot would run out; and once it
/// has run out, the next call reads the change itself.
#[tokio::test]
async fn another_servers_change_arrives_before_the_snapshot_runs_out() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let first = snapshot(db).await.unwrap();
    let read_at = std::time::Instant::now();
    let changed = first.max_attempts + 3;
    change_behind_the_cache(db, changed).await.unwrap();
    tokio::time::sleep(REFRESH_AFTER + std::time::Duration::from_millis(100)).await;
    loop {
        if snapshot(db).await.unwrap().max_attempts == changed {
            break;
        }
        // Well before the snapshot runs out (when any call would read it again).
        assert!(
            read_at.elapsed() < (REFRESH_AFTER + SNAPSHOT_TTL) / 2,
            "the change was not read in the background"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let again = changed + 2;
    change_behind_the_cache(db, again).await.unwrap();
    tokio::time::sleep(SNAPSHOT_TTL).await;
    assert_eq!(snapshot(db).await.unwrap().max_attempts, again);
}

/// The table, row and complaint of a `Corrupt` error.
fn corrupt<T: std::fmt::Debug>(r: Result<T>) -> (&'static str, i64, String) {
    match r {
        Err(StoreError::Corrupt { table, row, what }) => (table, row, what),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

async fn sql(db: &Db, sql: &'static str, args: Vec<Arg>) {
    crate::db::sql::execute(db, sql, args).await.unwrap();
}

async fn dispositions_id(db: &Db, code: &str) -> i64 {
    db_run!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM dispositions WHERE code = $1"
    )
    .bind(code)
    .fetch_one(pool)
    .await
    .unwrap())
}

/// A stored revisit rule whose intent, delay unit or after-last action does not parse is an
/// error naming `revisit_rules` and the row, never a rule for every intent, an hours delay or
/// a stop; the same for a disposition's status to set (never none) and a holiday whose day or
/// kind does not parse (never a day left out).
#[tokio::test]
async fn a_stored_rule_disposition_or_holiday_that_does_not_parse_is_an_error_naming_its_row() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let rule = revisit_rules(db).await.unwrap()[0].id;
    for (column, bad, damage) in [
        (
            "intent",
            "Z9",
            "UPDATE revisit_rules SET intent = $1 WHERE id = $2",
        ),
        (
            "delay_unit",
            "fortnights",
            "UPDATE revisit_rules SET delay_unit = $1 WHERE id = $2",
        ),
        (
            "after_last",
            "explode",
            "UPDATE revisit_rules SET after_last = $1 WHERE id = $2",
        ),
    ] {
        sql(db, damage, vec![Arg::Text(bad.into()), Arg::I64(rule)]).await;
        let (table, row, what) = corrupt(revisit_rules(db).await);
        assert_eq!((table, row), ("revisit_rules", rule), "{column}");
        assert!(what.contains(column) && what.contains(bad), "{what}");
        let mend = "UPDATE revisit_rules SET intent = NULL, delay_unit = 'hours', after_last = 'stop' WHERE id = $1";
        sql(db, mend, vec![Arg::I64(rule)]).await;
        revisit_rules(db).await.unwrap();
    }

    let code = dispositions(db).await.unwrap()[0].d.code.clone();
    sql(
        db,
        "UPDATE dispositions SET sets_status = 'bogus' WHERE code = $1",
        vec![Arg::Text(code.clone())],
    )
    .await;
    let (table, _, what) = corrupt(dispositions(db).await);
    assert_eq!(table, "dispositions");
    assert!(what.contains("bogus"), "{what}");
    let (_, row, _) = corrupt(disposition(db, &code).await);
    assert_eq!(row, dispositions_id(db, &code).await);
    sql(
        db,
        "UPDATE dispositions SET sets_status = NULL WHERE code = $1",
        vec![Arg::Text(code)],
    )
    .await;

    let insert = "INSERT INTO holidays (id, day, name, kind) VALUES ($1, $2, 'x', $3)";
    sql(
        db,
        insert,
        vec![
            Arg::I64(7),
            Arg::Text("2026-10-01".into()),
            Arg::Text("holiday".into()),
        ],
    )
    .await;
    assert_eq!(holidays(db).await.unwrap().len(), 1);
    sql(
        db,
        insert,
        vec![
            Arg::I64(8),
            Arg::Text("2026-10-02".into()),
            Arg::Text("day_off".into()),
        ],
    )
    .await;
    let (table, row, what) = corrupt(holidays(db).await);
    assert_eq!((table, row), ("holidays", 8));
    assert!(what.contains("day_off"), "{what}");
    sql(db, "DELETE FROM holidays WHERE id = 8", Vec::new()).await;
    sql(
        db,
        insert,
        vec![
            Arg::I64(9),
            Arg::Text("10/03/2026".into()),
            Arg::Text("holiday".into()),
        ],
    )
    .await;
    let (table, row, what) = corrupt(holidays(db).await);
    assert_eq!((table, row), ("holidays", 9));
    assert!(what.contains("10/03/2026"), "{what}");
}
