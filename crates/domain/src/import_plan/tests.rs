//! The duplicate plan's rules, and several contacts of one company in a batch.

use super::*;
use crate::{LeadDraft, TeamId};

fn row(number: i64, phone: &str, title: &str) -> Candidate {
    let draft = LeadDraft {
        name: format!("row {number}"),
        phones: vec![phone.to_string()],
        title: Some(title.to_string()),
        ..Default::default()
    };
    let fields = LeadFields::parse(&draft, &[]).unwrap();
    Candidate {
        number,
        prepared: Prepared::new(&fields),
        fields,
        owner: None,
        referral: None,
    }
}

/// A supervisor of team 1 (user 9) importing the numbers of a team-1 lead and of a team-2
/// lead: only the first is a duplicate; the second is refused naming nothing of its lead,
/// under "skip" and "update" alike, and imported as a collision under "collision".
#[test]
fn a_lead_the_importer_may_not_see_is_neither_filled_nor_counted_as_a_duplicate() {
    let teams = [TeamId(1)];
    let scope = LeadScope::PoolOwnAndTeams {
        me: UserId(9),
        teams: &teams,
        pools: &[],
    };
    let stored = || -> Stored {
        vec![
            (
                "+8613900000001".into(),
                LeadId(1),
                Some(UserId(2)),
                Some(TeamId(1)),
            ),
            (
                "+8613900000002".into(),
                LeadId(2),
                Some(UserId(3)),
                Some(TeamId(2)),
            ),
        ]
    };
    let rows = || vec![row(2, "13900000001", "经理"), row(3, "13900000002", "总监")];
    let run = |policy| {
        plan(
            rows(),
            Vec::new(),
            Found {
                phones: stored(),
                ..Found::default()
            },
            &Pending::default(),
            policy,
            CompanyContacts::Join,
            scope,
        )
    };

    let update = run(OnDuplicate::Update);
    assert_eq!(update.fills.len(), 1);
    assert_eq!(
        update.fills[0].0,
        LeadId(1),
        "only the visible lead is filled"
    );
    assert!(update.new_leads.is_empty());
    assert_eq!(update.invalid.len(), 1);
    let (number, _, reason) = &update.invalid[0];
    assert_eq!(*number, 3);
    assert!(reason.ends_with(HELD_ELSEWHERE.1), "{reason}");
    assert!(reason_in(reason, false).ends_with(HELD_ELSEWHERE.0));
    assert_eq!(update.counts.failed, 1);

    let skip = run(OnDuplicate::Skip);
    assert_eq!(skip.counts.skipped, 1, "the visible duplicate only");
    assert_eq!(skip.counts.failed, 1);
    assert_eq!(skip.invalid[0].0, 3);

    let collision = run(OnDuplicate::Collision);
    assert_eq!(collision.counts.imported, 2);
    assert_eq!(collision.counts.collisions, 2);
    assert_eq!(
        collision.new_leads[1].collides,
        vec![(Matched::Phone(0), LeadId(2), Some(UserId(3)))]
    );
    assert!(collision.invalid.is_empty());

    let admin = plan(
        rows(),
        Vec::new(),
        Found {
            phones: stored(),
            ..Found::default()
        },
        &Pending::default(),
        OnDuplicate::Update,
        CompanyContacts::Join,
        LeadScope::All,
    );
    assert_eq!(admin.fills.len(), 2, "an admin sees both");
}

fn contact(number: i64, company: &str, email: Option<&str>) -> Candidate {
    let draft = LeadDraft {
        name: format!("contact {number}"),
        phones: vec![format!("139{:08}", number)],
        company: Some(company.to_string()),
        email: email.map(str::to_string),
        ..Default::default()
    };
    let fields = LeadFields::parse(&draft, &[]).unwrap();
    Candidate {
        number,
        prepared: Prepared::new(&fields),
        fields,
        owner: None,
        referral: None,
    }
}

fn owned(key: &str, lead: i64, owner: i64) -> (String, LeadId, Option<UserId>, Option<TeamId>) {
    (key.into(), LeadId(lead), Some(UserId(owner)), None)
}

/// The 1M-row file in small: 200 contacts of 10 companies (written with and without a
/// place and legal form), of which companies 0-4 are owned by user 7 and company 5 by users
/// 7 and 8; none is dropped as a duplicate. Under "join" the contacts of companies 0-4 go to
/// user 7, those of company 5 open cases, the rest stay in the pool.
#[test]
fn contacts_of_known_companies_are_imported_and_join_or_open_cases() {
    let names = |i: usize, n: i64| {
        let base = [
            "星河科技",
            "云帆贸易",
            "华信物流",
            "宏图建材",
            "远景网络",
            "瑞丰餐饮管理",
            "金桥教育咨询",
            "恒泰医疗器械",
            "博雅文化传媒",
            "鼎盛智联",
        ][i];
        if n % 2 == 0 {
            format!("北京{base}有限公司")
        } else {
            format!("{base}（北京）")
        }
    };
    let rows = || -> Vec<Candidate> {
        (0..200)
            .map(|n| contact(n + 2, &names((n % 10) as usize, n), None))
            .collect()
    };
    let mut contacts: Stored = (0..5)
        .map(|i| owned(&company_key(&names(i, 0)), 100 + i as i64, 7))
        .collect();
    contacts.push(owned(&company_key(&names(5, 0)), 105, 7));
    contacts.push(owned(&company_key(&names(5, 0)), 106, 8));
    let run = |mode| {
        plan(
            rows(),
            Vec::new(),
            Found {
                contacts: contacts.clone(),
                ..Found::default()
            },
            &Pending::default(),
            OnDuplicate::Skip,
            mode,
            LeadScope::All,
        )
    };
    let join = run(CompanyContacts::Join);
    assert_eq!(join.counts.imported, 200);
    assert_eq!(join.counts.skipped, 0);
    assert_eq!(join.counts.joined, 100);
    assert_eq!(join.counts.cases, 20);
    for (n, l) in join.new_leads.iter().enumerate() {
        match n % 10 {
            0..=4 => {
                assert_eq!(l.owner, Some(UserId(7)), "row {n}");
                assert!(l.joined && l.collides.is_empty());
            }
            5 => {
                assert_eq!(l.owner, None);
                assert_eq!(
                    l.collides,
                    vec![(Matched::Company, LeadId(105), Some(UserId(7)))]
                );
                assert_eq!(
                    collision_key(l, Matched::Company),
                    company_key(&names(5, 0))
                );
            }
            _ => assert!(l.owner.is_none() && !l.joined && l.collides.is_empty()),
        }
    }
    let case = run(CompanyContacts::Case);
    assert_eq!(case.counts.imported, 200);
    assert_eq!((case.counts.joined, case.counts.cases), (0, 120));
    assert!(case.new_leads.iter().all(|l| l.owner.is_none()));
}

/// Rows of one company in one batch: once a row of it has an owner, later pool rows join
/// that owner; a row for another person opens a case against it.
#[test]
fn later_rows_of_a_batch_meet_earlier_owned_rows_of_their_company() {
    let mut first = contact(2, "上海申华实业股份有限公司", None);
    first.owner = Some(UserId(4));
    let second = contact(3, "申华实业股份公司", None);
    let mut third = contact(4, "申华实业", None);
    third.owner = Some(UserId(5));
    let p = plan(
        vec![first, second, third],
        Vec::new(),
        Found::default(),
        &Pending::default(),
        OnDuplicate::Skip,
        CompanyContacts::Join,
        LeadScope::All,
    );
    assert_eq!(p.new_leads[1].owner, Some(UserId(4)));
    assert!(p.new_leads[1].joined);
    assert_eq!(p.new_leads[2].owner, Some(UserId(5)));
    assert_eq!(
        p.new_leads[2].collides,
        vec![(Matched::Company, placeholder(0), Some(UserId(4)))]
    );
    assert_eq!((p.counts.joined, p.counts.cases), (1, 1));
}

/// An e-mail another person's record holds opens a case (after any join, and not beside a
/// company case); phone duplicates keep their policy; a row without a phone is still a
/// duplicate by company.
#[test]
fn e_mail_cases_phone_duplicates_and_phone_less_rows() {
    let found = || Found {
        phones: vec![("+8613900000009".into(), LeadId(50), Some(UserId(7)), None)],
        companies: vec![(normalise_company("无电话公司"), LeadId(51), None, None)],
        contacts: vec![owned(&company_key("星河科技"), 52, 7)],
        emails: vec![
            owned("wang@xinghe.com", 53, 8),
            owned("li@xinghe.com", 54, 7),
        ],
    };
    let by_mail = contact(
        2,
        "别的公司",
        Some("WANG@XingHe.com".to_lowercase().as_str()),
    );
    let joined_same_owner = contact(3, "星河科技有限公司", Some("li@xinghe.com"));
    let mut dup_phone = contact(4, "星河科技", None);
    dup_phone.fields.phones = vec![crate::PhoneNumber::parse("13900000009").unwrap()];
    let phoneless = {
        let d = LeadDraft {
            name: "x".into(),
            company: Some("无电话公司".into()),
            ..Default::default()
        };
        let f = LeadFields::parse(&d, &[]).unwrap();
        Candidate {
            number: 5,
            prepared: Prepared::new(&f),
            fields: f,
            owner: None,
            referral: None,
        }
    };
    let p = plan(
        vec![by_mail, joined_same_owner, dup_phone, phoneless],
        Vec::new(),
        found(),
        &Pending::default(),
        OnDuplicate::Skip,
        CompanyContacts::Join,
        LeadScope::All,
    );
    assert_eq!(p.new_leads.len(), 2);
    assert_eq!(
        p.new_leads[0].collides,
        vec![(Matched::Email, LeadId(53), Some(UserId(8)))]
    );
    assert_eq!(
        collision_key(&p.new_leads[0], Matched::Email),
        "wang@xinghe.com"
    );
    assert_eq!(p.new_leads[1].owner, Some(UserId(7)));
    assert!(
        p.new_leads[1].collides.is_empty(),
        "joined 7, who holds the e-mail too"
    );
    assert_eq!(p.counts.skipped, 2, "the phone and the phone-less company");
    assert_eq!((p.counts.joined, p.counts.cases), (1, 1));
}

/// 老客户带来的新客户仍属于原销售人员, on import: a row whose referrer user 8 owns goes to 8
/// whatever the import's assignment, is counted as referred and does not join the company's
/// other owner (a case is opened instead, as for any owned record); a row whose referrer is in
/// a pool keeps its assignment and records the referrer.
#[test]
fn a_referred_row_goes_to_the_referrers_owner_and_is_counted() {
    let lead_row = |n: i64, company: &str, owner: Option<UserId>| {
        let c = contact(n, company, None);
        BatchRow::lead(n, c.fields, owner)
    };
    let rows = vec![
        lead_row(2, "星河科技有限公司", Some(UserId(5))).referred(Referral {
            by: LeadId(50),
            owner: Some(UserId(8)),
        }),
        lead_row(3, "云帆贸易", Some(UserId(5))).referred(Referral {
            by: LeadId(51),
            owner: None,
        }),
        lead_row(4, "华信物流", Some(UserId(5))),
    ];
    let (candidates, invalid) = split(rows);
    let p = plan(
        candidates,
        invalid,
        Found {
            contacts: vec![owned(&company_key("星河科技有限公司"), 60, 7)],
            ..Found::default()
        },
        &Pending::default(),
        OnDuplicate::Skip,
        CompanyContacts::Join,
        LeadScope::All,
    );
    let owners: Vec<_> = p.new_leads.iter().map(|l| l.owner).collect();
    assert_eq!(owners, [Some(UserId(8)), Some(UserId(5)), Some(UserId(5))]);
    let referred: Vec<_> = p.new_leads.iter().map(NewLead::went_to_referrer).collect();
    assert_eq!(referred, [true, false, false]);
    assert_eq!(p.new_leads[1].referral.map(|r| r.by), Some(LeadId(51)));
    assert!(!p.new_leads[0].joined, "the referrer's owner keeps it");
    assert_eq!(
        p.new_leads[0].collides,
        vec![(Matched::Company, LeadId(60), Some(UserId(7)))]
    );
    assert_eq!(
        (p.counts.referred, p.counts.joined, p.counts.cases),
        (1, 0, 1)
    );
}
