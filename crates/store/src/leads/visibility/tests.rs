//! The SQL rendering of the lead rule against the Rust rule on a generated floor: for every
//! viewer, what each store function that filters leads in SQL answers is exactly what
//! [`Viewer::access`] allows.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use leadline_domain::calling_hours::{DEFAULT_TZ, Window, local_day};
use leadline_domain::{Access, Holder, LeadId, PoolId, Role, TeamId, UserId, Viewer};

use crate::auth::users::{self, NewUser, UserPatch};
use crate::db::sql::{Arg, execute};
use crate::db::test_db::TestDb;
use crate::leads::{self, LeadFilter, Sort};
use crate::search::{self, DocKind, SearchRequest};
use crate::workday::calls::{self, NewCall};
use crate::workday::{config, next_call};
use crate::{Db, StoreError};

/// A small deterministic generator (xorshift64), so that a failing floor can be built again.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// How a generated lead reaches the next call: each way puts the rule to a different tier.
#[derive(Debug, Clone, Copy)]
enum Way {
    /// A new lead (the fresh tier).
    Fresh,
    /// A revisit due now that nobody in particular must make (the due-revisit tier).
    DueRevisit,
    /// In every user's plan for today (the plan tier).
    Planned,
}

#[derive(Debug)]
struct FloorLead {
    id: LeadId,
    owner: Option<UserId>,
    deleted: bool,
    /// 副负责人, and whether they may edit.
    backup: Option<(UserId, bool)>,
    /// The named pool of a pool lead (`None`: the default pool).
    pool: Option<PoolId>,
}

struct Floor {
    /// Every user with the team it belongs to (its `users.team_id`).
    users: Vec<(UserId, Option<TeamId>)>,
    leads: Vec<FloorLead>,
}

impl Floor {
    fn team_of(&self, user: UserId) -> Option<TeamId> {
        self.users.iter().find(|u| u.0 == user).and_then(|u| u.1)
    }

    /// The Rust rule for one lead.
    fn sees(&self, viewer: &Viewer, lead: &FloorLead) -> bool {
        let holder = Holder {
            owner: lead.owner,
            owner_team: lead.owner.and_then(|o| self.team_of(o)),
            backup: lead.backup.map(|b| b.0),
            backup_may_edit: lead.backup.is_some_and(|b| b.1),
            pool: lead.pool,
        };
        viewer.access(&holder) != Access::Hidden
    }

    /// Ids of the leads `viewer` may see, deleted ones or live ones.
    fn visible(&self, viewer: &Viewer, deleted: bool) -> BTreeSet<LeadId> {
        self.leads
            .iter()
            .filter(|l| l.deleted == deleted && self.sees(viewer, l))
            .map(|l| l.id)
            .collect()
    }
}

const NOTE_WORD: &str = "分期付款";

async fn user(db: &Db, name: &str, role: Role, team: Option<TeamId>) -> UserId {
    users::create_user(
        db,
        &NewUser {
            username: name.into(),
            display_name: name.into(),
            role,
            team_id: team,
            // Nobody logs in: no need to pay for a real hash.
            password_hash: "unused".into(),
        },
        None,
    )
    .await
    .unwrap()
    .id
}

/// Teams, supervisors (one of two teams, one of none, one outside the team it supervises),
/// agents and sales reps in teams and without one, a deactivated agent, an admin; leads owned
/// by each user and by nobody, some deleted; a note on every lead.
async fn build_floor(db: &Db, rng: &mut Rng, now: DateTime<Utc>) -> Floor {
    let mut teams = Vec::new();
    for name in ["一组", "二组", "三组", "四组"] {
        teams.push(users::create_team(db, name, None).await.unwrap());
    }
    let mut ids = Vec::new();
    let admin = user(db, "admin", Role::Admin, None).await;
    ids.push((admin, None));
    let sup_two = user(db, "sup_two", Role::Supervisor, Some(teams[0])).await;
    users::set_supervisor(db, teams[0], sup_two, true, None)
        .await
        .unwrap();
    users::set_supervisor(db, teams[1], sup_two, true, None)
        .await
        .unwrap();
    ids.push((sup_two, Some(teams[0])));
    // A supervisor of nothing, in the team that the next one supervises.
    let sup_none = user(db, "sup_none", Role::Supervisor, Some(teams[2])).await;
    ids.push((sup_none, Some(teams[2])));
    let sup_three = user(db, "sup_three", Role::Supervisor, None).await;
    users::set_supervisor(db, teams[2], sup_three, true, None)
        .await
        .unwrap();
    ids.push((sup_three, None));
    let mut n = 0;
    for team in teams.iter().map(|t| Some(*t)).chain([None, None]) {
        for _ in 0..1 + rng.below(3) {
            n += 1;
            let role = if rng.below(4) == 0 {
                Role::Sales
            } else {
                Role::Agent
            };
            let id = user(db, &format!("user{n}"), role, team).await;
            ids.push((id, team));
        }
    }
    // Deactivated accounts keep their leads (and their team).
    for (name, team) in [("gone_in_team", Some(teams[1])), ("gone_alone", None)] {
        let id = user(db, name, Role::Agent, team).await;
        let patch = UserPatch {
            active: Some(false),
            ..UserPatch::default()
        };
        users::update_user(db, id, &patch, None).await.unwrap();
        ids.push((id, team));
    }

    // Two named pools (公海): one open to the first team, one to the second and third;
    // supervisors see the pools open to the teams they supervise (one of two teams: both).
    let pools = [PoolId(1), PoolId(2)];
    for pool in pools {
        execute(
            db,
            "INSERT INTO pools (id, name, created_at) VALUES ($1, $2, $3)",
            vec![
                Arg::I64(pool.0),
                Arg::Text(format!("公海{}", pool.0)),
                Arg::Time(now),
            ],
        )
        .await
        .unwrap();
    }
    for (pool, team) in [
        (pools[0], teams[0]),
        (pools[1], teams[1]),
        (pools[1], teams[2]),
    ] {
        execute(
            db,
            "INSERT INTO pool_teams (pool_id, team_id) VALUES ($1, $2)",
            vec![Arg::I64(pool.0), Arg::I64(team.0)],
        )
        .await
        .unwrap();
    }

    let owners: Vec<Option<UserId>> = ids
        .iter()
        .map(|u| Some(u.0))
        .chain(std::iter::repeat_n(None, 4))
        .collect();
    let mut leads = Vec::new();
    let mut next_id = 1;
    let mut pooled = 0;
    for (i, owner) in owners.into_iter().enumerate() {
        // One to three leads each; about a third deleted, and a deleted one in the pool.
        let n = 1 + rng.below(3);
        for k in 0..n {
            // Owned leads: a backup for about a third, granted edits or not. Pool leads: the
            // default pool or one of the named ones.
            let backup = match owner {
                Some(_) if rng.below(3) == 0 => {
                    let b = ids[rng.below(ids.len() as u64) as usize].0;
                    Some((b, rng.below(2) == 0))
                }
                _ => None,
            };
            let pool = match owner {
                None => {
                    pooled += 1;
                    [None, Some(pools[0]), Some(pools[1])][pooled % 3]
                }
                Some(_) => None,
            };
            let lead = FloorLead {
                id: LeadId(next_id),
                owner,
                deleted: rng.below(3) == 0 || (owner.is_none() && i == ids.len() && k == 0),
                backup,
                pool,
            };
            next_id += 1;
            let way = [Way::Fresh, Way::DueRevisit, Way::Planned][rng.below(3) as usize];
            insert_lead(db, &lead, way, &ids, now).await;
            leads.push(lead);
        }
    }
    let notes: Vec<NewCall> = leads
        .iter()
        .map(|l| NewCall {
            lead_id: l.id,
            agent_id: admin,
            started_at: now - Duration::days(1),
            duration_s: 60,
            disposition: "connected".into(),
            intent: None,
            // One note per lead, each its own text: copies of one note fold into one result.
            notes: format!("客户想了解{NOTE_WORD}，线索 {}", l.id.0),
            next_revisit_at: None,
            script_id: None,
        })
        .collect();
    calls::insert_many(db, &notes).await.unwrap();
    Floor { users: ids, leads }
}

async fn insert_lead(
    db: &Db,
    lead: &FloorLead,
    way: Way,
    users: &[(UserId, Option<TeamId>)],
    now: DateTime<Utc>,
) {
    let status = match way {
        Way::Fresh => "new",
        Way::DueRevisit => "call_back",
        Way::Planned => "contacted",
    };
    execute(
        db,
        "INSERT INTO leads (id, name, status, owner_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
        vec![
            Arg::I64(lead.id.0),
            Arg::Text(format!("客户{}", lead.id.0)),
            Arg::Text(status.into()),
            Arg::OptI64(lead.owner.map(|o| o.0)),
            Arg::Time(now - Duration::days(2)),
        ],
    )
    .await
    .unwrap();
    execute(
        db,
        "UPDATE leads SET backup_owner_id = $2, backup_may_edit = $3, pool_id = $4 WHERE id = $1",
        vec![
            Arg::I64(lead.id.0),
            Arg::OptI64(lead.backup.map(|b| b.0.0)),
            Arg::Bool(lead.backup.is_some_and(|b| b.1)),
            Arg::OptI64(lead.pool.map(|p| p.0)),
        ],
    )
    .await
    .unwrap();
    if lead.deleted {
        execute(
            db,
            "UPDATE leads SET deleted_at = $2 WHERE id = $1",
            vec![Arg::I64(lead.id.0), Arg::Time(now - Duration::hours(1))],
        )
        .await
        .unwrap();
    }
    match way {
        Way::Fresh => {}
        Way::DueRevisit => {
            execute(
                db,
                "UPDATE leads SET next_revisit_at = $2 WHERE id = $1",
                vec![Arg::I64(lead.id.0), Arg::Time(now - Duration::hours(1))],
            )
            .await
            .unwrap();
        }
        Way::Planned => {
            for (user, _) in users {
                execute(
                    db,
                    "INSERT INTO plan_items (agent_id, plan_date, lead_id, position, source, created_at) \
                     VALUES ($1, $2, $3, $3, 'picked', $4)",
                    vec![
                        Arg::I64(user.0),
                        Arg::Text(local_day(now, DEFAULT_TZ)),
                        Arg::I64(lead.id.0),
                        Arg::Time(now),
                    ],
                )
                .await
                .unwrap();
            }
        }
    }
}

/// Every lead the next call serves `viewer`, taking each out of play once served (its attempts
/// past any limit) and putting them all back afterwards.
async fn served(db: &Db, viewer: &Viewer, now: DateTime<Utc>, most: usize) -> BTreeSet<LeadId> {
    let mut got = BTreeSet::new();
    while let Some(s) = next_call(db, viewer, now).await.unwrap() {
        assert!(got.insert(s.lead.id), "{:?} served twice", s.lead.id);
        assert!(got.len() <= most, "more leads served than exist");
        execute(
            db,
            "UPDATE leads SET attempts = 1000, reserved_by = NULL, reserved_until = NULL WHERE id = $1",
            vec![Arg::I64(s.lead.id.0)],
        )
        .await
        .unwrap();
    }
    execute(
        db,
        "UPDATE leads SET attempts = 0 WHERE attempts = $1",
        vec![Arg::I64(1000)],
    )
    .await
    .unwrap();
    got
}

async fn listed(db: &Db, viewer: &Viewer, filter: &LeadFilter) -> BTreeSet<LeadId> {
    let page = leads::list(db, viewer, filter, Sort::Oldest, leads::MAX_LIMIT, None)
        .await
        .unwrap();
    assert!(page.next_cursor.is_none(), "the floor fits one page");
    page.items.iter().map(|l| l.id).collect()
}

#[tokio::test]
async fn every_viewer_gets_from_sql_exactly_the_leads_the_rule_allows() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let now = crate::now();
    let mut rng = Rng(0x5EED_1EAD_F100);
    let floor = build_floor(db, &mut rng, now).await;
    let all_week: Vec<Window> = (1..=7)
        .map(|weekday| Window {
            weekday,
            start_minute: 0,
            end_minute: 24 * 60,
        })
        .collect();
    config::set_windows(db, floor.users[0].0, None, &all_week)
        .await
        .unwrap();
    let live = floor.leads.iter().filter(|l| !l.deleted).count();
    assert!(floor.leads.iter().any(|l| l.deleted && l.owner.is_none()));
    assert!(live as i64 <= search::MAX_RESULTS, "search would cut");

    let mut viewers = Vec::new();
    for (id, _) in &floor.users {
        let u = users::get_user(db, *id).await.unwrap();
        viewers.push(users::viewer(db, &u).await.unwrap());
    }
    // The floor is worth checking: each role, a supervisor of two teams and one of none.
    for role in [Role::Admin, Role::Supervisor, Role::Agent, Role::Sales] {
        assert!(viewers.iter().any(|v| v.role == role), "{role:?}");
    }
    assert!(viewers.iter().any(|v| v.supervised_teams.len() == 2));
    assert!(
        viewers
            .iter()
            .any(|v| v.role == Role::Supervisor && v.supervised_teams.is_empty())
    );
    // Backups with and without edits, and leads in each named pool, some viewers with pools.
    for may_edit in [true, false] {
        assert!(
            floor
                .leads
                .iter()
                .any(|l| !l.deleted && l.backup.is_some_and(|b| b.1 == may_edit))
        );
    }
    for pool in [PoolId(1), PoolId(2)] {
        assert!(floor.leads.iter().any(|l| l.pool == Some(pool)));
    }
    assert!(viewers.iter().any(|v| v.pools.len() == 2));
    assert!(
        viewers
            .iter()
            .any(|v| v.role != Role::Admin && v.pools.is_empty())
    );

    for viewer in &viewers {
        let who = format!("{:?} {:?}", viewer.role, viewer.user_id);
        let sees = floor.visible(viewer, false);
        let sees_deleted = floor.visible(viewer, true);

        // The list, the export's walk and the counts.
        assert_eq!(
            listed(db, viewer, &LeadFilter::default()).await,
            sees,
            "list: {who}"
        );
        let deleted_view = LeadFilter {
            deleted: true,
            ..LeadFilter::default()
        };
        let expected_deleted = if viewer.role.manages_leads() {
            &sees_deleted
        } else {
            &sees
        };
        assert_eq!(
            &listed(db, viewer, &deleted_view).await,
            expected_deleted,
            "deleted list: {who}"
        );
        let mut walked = BTreeSet::new();
        leads::walk(db, viewer, &LeadFilter::default(), async |page| {
            walked.extend(page.iter().map(|l| l.id));
            true
        })
        .await
        .unwrap();
        assert_eq!(walked, sees, "walk: {who}");
        let counts = leads::counts(db, viewer, &LeadFilter::default(), "owner", &[], DEFAULT_TZ)
            .await
            .unwrap();
        let counted: BTreeMap<Option<String>, i64> =
            counts.into_iter().map(|c| (c.value, c.count)).collect();
        let mut expected: BTreeMap<Option<String>, i64> = BTreeMap::new();
        for l in floor.leads.iter().filter(|l| sees.contains(&l.id)) {
            *expected
                .entry(l.owner.map(|o| o.0.to_string()))
                .or_default() += 1;
        }
        assert_eq!(counted, expected, "counts: {who}");

        // The lead card (the Rust rule itself, through the store).
        for l in &floor.leads {
            let shown = match leads::get(db, viewer, l.id).await {
                Ok(_) => true,
                Err(StoreError::NotFound) => false,
                Err(e) => panic!("{e}"),
            };
            let expected = floor.sees(viewer, l) && (!l.deleted || viewer.role.manages_leads());
            assert_eq!(shown, expected, "card {:?}: {who}", l.id);
        }

        // Call notes found by search.
        let hits = search::search(
            db,
            viewer,
            &SearchRequest {
                q: NOTE_WORD.into(),
                kind: Some(DocKind::CallNote),
                category: None,
                limit: search::MAX_RESULTS,
            },
        )
        .await
        .unwrap();
        let noted: BTreeSet<LeadId> = hits.iter().filter_map(|h| h.lead_id).collect();
        assert_eq!(noted.len(), hits.len(), "one note per lead: {who}");
        assert_eq!(noted, sees, "search: {who}");

        // The next call, through its three tiers.
        assert_eq!(
            served(db, viewer, now, floor.leads.len()).await,
            sees,
            "next call: {who}"
        );
    }
}
