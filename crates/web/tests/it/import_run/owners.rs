//! Assigning owners: the owner column, round robin over a team's agents, a supervisor's reach,
//! and options that cannot work refused before anything is stored.

use leadline_domain::UserId;
use leadline_engine::import_run::{self, Assign, ImportOptions, RunError};
use leadline_import::{Mapping, Target};
use leadline_store::imports::{ImportJob, OnDuplicate};

use super::{Fixture, counts, lead_by_phone, people_csv, scalar};

#[tokio::test]
async fn owners_come_from_the_owner_column_or_round_robin_over_the_teams_agents() {
    let f = Fixture::new().await;
    let path = f.file(
        "owners.csv",
        &people_csv(&[
            "甲,13800000001,,,,agent_a1",
            "乙,13800000002,,,,李娜",
            "丙,13800000003,,,,",
            "丁,13800000004,,,,nobody",
        ]),
    );
    let job = f
        .import(&path, OnDuplicate::Skip, Assign::OwnerColumn)
        .await;
    assert_eq!(counts(&job), [3, 0, 0, 0, 1], "{job:?}");
    let owner = async |p: &str| lead_by_phone(f.db(), p).await.unwrap().3;
    assert_eq!(owner("+8613800000001").await, Some(f.org.agent_a1));
    assert_eq!(
        owner("+8613800000002").await,
        Some(f.org.agent_a2),
        "by display name"
    );
    assert_eq!(
        owner("+8613800000003").await,
        None,
        "an empty cell goes to the pool"
    );
    assert!(lead_by_phone(f.db(), "+8613800000004").await.is_none());
    let (bytes, _, _) = import_run::error_report(f.db(), &job, false).await.unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("nobody") && text.contains("负责人"), "{text}");

    let rr = f.file(
        "rr.csv",
        &people_csv(&[
            "戊,13800000005,,,,",
            "己,13800000006,,,,",
            "庚,13800000007,,,,",
        ]),
    );
    let job = f
        .import(
            &rr,
            OnDuplicate::Skip,
            Assign::RoundRobin {
                team_id: f.org.team_a,
            },
        )
        .await;
    assert_eq!(job.imported, 3);
    // Team A's agents in id order (its supervisor takes no share).
    assert_eq!(owner("+8613800000005").await, Some(f.org.agent_a1));
    assert_eq!(owner("+8613800000006").await, Some(f.org.agent_a2));
    assert_eq!(owner("+8613800000007").await, Some(f.org.agent_a1));
}

#[tokio::test]
async fn options_that_cannot_work_are_refused_before_anything_is_stored() {
    let f = Fixture::new().await;
    let path = f.file("p.csv", &people_csv(&["甲,13800000001,,,,"]));
    let code = |r: Result<ImportJob, RunError>| r.err().map(|e| e.code());
    assert_eq!(
        code(
            f.start(
                &path,
                OnDuplicate::Skip,
                Assign::Owner {
                    user_id: UserId(9999)
                }
            )
            .await
        ),
        Some("unknown_owner")
    );
    let empty_team = leadline_store::auth::users::create_team(f.db(), "空组", None)
        .await
        .unwrap();
    assert_eq!(
        code(
            f.start(
                &path,
                OnDuplicate::Skip,
                Assign::RoundRobin {
                    team_id: empty_team
                }
            )
            .await
        ),
        Some("empty_team")
    );
    let no_owner = f.file("n.csv", "姓名,手机\n甲,13800000001\n".as_bytes());
    assert_eq!(
        code(
            f.start(&no_owner, OnDuplicate::Skip, Assign::OwnerColumn)
                .await
        ),
        Some("owner_column_unmapped")
    );
    let headers = vec!["姓名".to_string(), "手机".to_string()];
    let options = ImportOptions {
        mapping: Mapping::new(&headers, vec![Target::Ignore, Target::Phone]),
        on_duplicate: OnDuplicate::Skip,
        assign: Assign::Pool,
        encoding: None,
        sheet: None,
        delimiter: None,
    };
    let r = import_run::start(f.db(), f.org.admin, "n.csv", &no_owner, &options).await;
    assert_eq!(code(r), Some("mapping_problem"));
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM imports").await, 0);
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 0);
}

#[tokio::test]
async fn a_supervisor_may_name_only_owners_of_the_teams_they_supervise() {
    let f = Fixture::new().await;
    let path = f.file(
        "sup.csv",
        &people_csv(&["甲,13800000001,,,,agent_a1", "乙,13800000002,,,,agent_b1"]),
    );
    let preview = import_run::preview(&path, "sup.csv", None, None, &[], None).unwrap();
    let options = ImportOptions {
        mapping: preview.mapping,
        on_duplicate: OnDuplicate::Skip,
        assign: Assign::OwnerColumn,
        encoding: None,
        sheet: None,
        delimiter: None,
    };
    let job = import_run::start(f.db(), f.org.sup_a, "sup.csv", &path, &options)
        .await
        .unwrap();
    let job = import_run::run(f.db(), job.id, |_| {}).await.unwrap();
    assert_eq!(counts(&job), [1, 0, 0, 0, 1], "{job:?}");
    assert_eq!(
        lead_by_phone(f.db(), "+8613800000001").await.unwrap().3,
        Some(f.org.agent_a1)
    );
    assert!(lead_by_phone(f.db(), "+8613800000002").await.is_none());
    let (bytes, _, _) = import_run::error_report(f.db(), &job, false).await.unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.contains("agent_b1") && text.contains("无权分配"),
        "{text}"
    );
}
