//! The import's duplicate plan: which rows of a batch become new leads, which fill the empty
//! fields of a lead already known, which are skipped and which record a collision (撞单), decided
//! before anything is written. Duplicates are found by normalised phone, then by normalised
//! company, within the batch and against stored leads, and handled by the job's policy. Pure:
//! the store looks the keys up and writes what the plan says.
//!
//! A stored lead the importer may not see (the one visibility rule, [`LeadScope`]) is never
//! filled nor counted as a duplicate: under "skip" and "update" the row is refused with a reason
//! that names no lead ([`HELD_ELSEWHERE`]); under "collision" it is imported and the collision
//! (撞单) recorded, as the ownership rules need.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::lead::normalise_company;
use crate::{Access, Holder, LeadFields, LeadId, LeadScope, TeamId, UserId, search_tokens};

/// What to do with a row whose phone (or company) is already known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnDuplicate {
    #[default]
    Skip,
    /// Fill the empty fields of the existing lead.
    Update,
    /// Import the row anyway and record a collision (撞单) for the ownership rules.
    Collision,
}

impl OnDuplicate {
    pub fn parse(s: &str) -> Option<OnDuplicate> {
        match s {
            "skip" => Some(OnDuplicate::Skip),
            "update" => Some(OnDuplicate::Update),
            "collision" => Some(OnDuplicate::Collision),
            _ => None,
        }
    }
}

/// One row of a batch, already checked like a hand-entered lead.
#[derive(Debug, Clone)]
pub enum BatchRow {
    Lead {
        number: i64,
        fields: Box<LeadFields>,
        owner: Option<UserId>,
        /// What the writer derives from the fields; made by [`BatchRow::lead`] on the thread
        /// that builds the batch, so the writer only writes.
        prepared: Box<Prepared>,
    },
    Invalid {
        number: i64,
        cells: Vec<String>,
        reason: String,
    },
}

impl BatchRow {
    /// A lead row, with its [`Prepared`] parts worked out here.
    pub fn lead(number: i64, fields: LeadFields, owner: Option<UserId>) -> BatchRow {
        let prepared = Box::new(Prepared::new(&fields));
        BatchRow::Lead {
            number,
            fields: Box::new(fields),
            owner,
            prepared,
        }
    }
}

/// What a new lead's rows hold besides its fields: the normalised company, the search tokens
/// and the custom fields as text.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    pub company_norm: Option<String>,
    pub tokens: String,
    pub custom: String,
}

impl Prepared {
    pub fn new(fields: &LeadFields) -> Prepared {
        Prepared {
            company_norm: fields.company.as_deref().map(normalise_company),
            tokens: search_tokens::of_lead(&fields.name, fields.company.as_deref(), &fields.phones),
            custom: Value::Object(fields.custom.clone()).to_string(),
        }
    }

    /// The normalised company when it is not empty: the duplicate key.
    pub fn company_key(&self) -> Option<&str> {
        self.company_norm.as_deref().filter(|c| !c.is_empty())
    }
}

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BatchCounts {
    pub imported: i64,
    pub updated: i64,
    pub skipped: i64,
    pub collisions: i64,
    pub failed: i64,
}

impl BatchCounts {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &BatchCounts) {
        self.imported += other.imported;
        self.updated += other.updated;
        self.skipped += other.skipped;
        self.collisions += other.collisions;
        self.failed += other.failed;
    }
}

/// Why a row whose phone or company is on a lead the importer may not see was refused: it
/// names no lead, owner or team, so that an import learns no more of other people's leads than
/// that the number is taken.
pub const HELD_ELSEWHERE: &str =
    "号码或公司已在他人负责的线索中 / the phone or company is on a lead held by someone else";

/// Where a duplicate points: a stored lead or a row earlier in this batch.
#[derive(Debug, Clone, Copy)]
pub enum DuplicateOf {
    Stored(LeadId, Option<UserId>),
    /// A stored lead the importer may not see: neither filled nor skipped as a duplicate.
    Hidden(LeadId, Option<UserId>),
    New(usize),
    /// A new lead of the batch still being written beside this one: rows repeating it are
    /// skipped (the PostgreSQL import pipeline has other policies wait for that batch first).
    Pending,
}

pub struct Candidate {
    pub number: i64,
    pub fields: LeadFields,
    pub owner: Option<UserId>,
    pub prepared: Prepared,
}

pub struct NewLead {
    pub id: LeadId,
    pub fields: LeadFields,
    pub owner: Option<UserId>,
    /// Collisions recorded for this lead: (what matched, other lead, its owner); what matched is a
    /// phone index, or `None` for the company.
    pub collides: Vec<(Option<usize>, LeadId, Option<UserId>)>,
    pub prepared: Prepared,
    /// Filled from a later row of the batch: `prepared` must be made again.
    pub filled: bool,
}

/// Stands for "the new lead at this index of the batch" until ids are allocated.
pub fn placeholder(index: usize) -> LeadId {
    LeadId(-(index as i64) - 1)
}

/// (key, lead, owner, owner's team) of stored leads found by phone or company.
pub type Stored = Vec<(String, LeadId, Option<UserId>, Option<TeamId>)>;

/// A refused row: (row number, original cells, reason).
pub type Refused = (i64, Vec<String>, String);

/// What a batch will do, decided before anything is written.
pub struct Plan {
    pub counts: BatchCounts,
    pub new_leads: Vec<NewLead>,
    /// Stored leads whose empty fields a row fills ("update" policy).
    pub fills: Vec<(LeadId, LeadFields)>,
    pub invalid: Vec<Refused>,
}

/// Splits a batch into lead candidates and refused rows.
pub fn split(rows: Vec<BatchRow>) -> (Vec<Candidate>, Vec<Refused>) {
    let mut invalid = Vec::new();
    let mut candidates = Vec::with_capacity(rows.len());
    for row in rows {
        match row {
            BatchRow::Lead {
                number,
                fields,
                owner,
                prepared,
            } => candidates.push(Candidate {
                number,
                fields: *fields,
                owner,
                prepared: *prepared,
            }),
            BatchRow::Invalid {
                number,
                cells,
                reason,
            } => invalid.push((number, cells, reason)),
        }
    }
    (candidates, invalid)
}

/// Every phone and company key of the candidates, to look up at once.
pub fn keys(candidates: &[Candidate]) -> (Vec<&str>, Vec<&str>) {
    let phones = candidates
        .iter()
        .flat_map(|c| c.fields.phones.iter().map(|p| p.e164()))
        .collect();
    let companies = candidates
        .iter()
        .filter_map(|c| c.prepared.company_key())
        .collect();
    (phones, companies)
}

/// The phones and companies of the new leads of a batch still being written beside the batch
/// being planned (the PostgreSQL import pipeline): to the plan they are stored leads that cannot be filled.
#[derive(Default)]
pub struct Pending {
    pub phones: std::collections::HashSet<String>,
    pub companies: std::collections::HashSet<String>,
}

impl Pending {
    pub fn of(new_leads: &[NewLead]) -> Pending {
        let mut pending = Pending::default();
        for l in new_leads {
            pending
                .phones
                .extend(l.fields.phones.iter().map(|p| p.e164().to_string()));
            if let Some(k) = l.prepared.company_key() {
                pending.companies.insert(k.to_string());
            }
        }
        pending
    }

    /// Whether the candidate holds one of these phones or companies.
    pub fn holds(&self, c: &Candidate) -> bool {
        c.fields
            .phones
            .iter()
            .any(|p| self.phones.contains(p.e164()))
            || c.prepared
                .company_key()
                .is_some_and(|k| self.companies.contains(k))
    }
}

/// Finds the duplicates (any known phone, else the same normalised company; stored or earlier in
/// the batch) and applies the policy to them. `scope` is what the importer may see: a stored
/// lead outside it is only ever a collision (see the module's note).
pub fn plan(
    candidates: Vec<Candidate>,
    mut invalid: Vec<Refused>,
    stored_phones: Stored,
    stored_companies: Stored,
    pending: &Pending,
    policy: OnDuplicate,
    scope: LeadScope<'_>,
) -> Plan {
    let mut counts = BatchCounts::default();
    let stored = |id: LeadId, owner: Option<UserId>, team: Option<TeamId>| {
        if scope.holds(&Holder::owned(owner, team)) == Access::Edit {
            DuplicateOf::Stored(id, owner)
        } else {
            DuplicateOf::Hidden(id, owner)
        }
    };
    let mut known_phone: HashMap<String, DuplicateOf> = stored_phones
        .into_iter()
        .map(|(k, id, o, t)| (k, stored(id, o, t)))
        .collect();
    for p in &pending.phones {
        known_phone.entry(p.clone()).or_insert(DuplicateOf::Pending);
    }
    let mut known_company: HashMap<String, DuplicateOf> = HashMap::new();
    for (k, id, o, t) in stored_companies {
        known_company.entry(k).or_insert(stored(id, o, t));
    }
    for c in &pending.companies {
        known_company
            .entry(c.clone())
            .or_insert(DuplicateOf::Pending);
    }
    let mut new_leads: Vec<NewLead> = Vec::with_capacity(candidates.len());
    let mut fills: Vec<(LeadId, LeadFields)> = Vec::new();
    for Candidate {
        number,
        fields,
        owner,
        prepared,
    } in candidates
    {
        if fields.phones.is_empty() && fields.company.is_none() {
            counts.failed += 1;
            invalid.push((number, Vec::new(), "needs_phone_or_company".into()));
            continue;
        }
        let company_key = prepared.company_key();
        // Any known phone, else (where no phone matches) the same normalised company.
        let hit_phone = fields
            .phones
            .iter()
            .find_map(|p| known_phone.get(p.e164()).copied());
        let hit_company = company_key.and_then(|c| known_company.get(c).copied());
        let hit = hit_phone.or(hit_company);
        match (hit, policy) {
            (None, _) => {}
            // Neither skipped (which would count it as a duplicate) nor filled.
            (Some(DuplicateOf::Hidden(..)), OnDuplicate::Skip | OnDuplicate::Update) => {
                invalid.push((
                    number,
                    Vec::new(),
                    format!("第 {number} 行：{HELD_ELSEWHERE}"),
                ));
                continue;
            }
            // Only the "skip" policy meets pending keys: others wait for the batch before.
            (Some(_), OnDuplicate::Skip) | (Some(DuplicateOf::Pending), _) => {
                counts.skipped += 1;
                continue;
            }
            (Some(DuplicateOf::Stored(id, _)), OnDuplicate::Update) => {
                fills.push((id, fields));
                continue;
            }
            (Some(DuplicateOf::New(i)), OnDuplicate::Update) => {
                fill_empty(&mut new_leads[i].fields, &fields);
                new_leads[i].filled = true;
                counts.updated += 1;
                continue;
            }
            (Some(_), OnDuplicate::Collision) => {}
        }
        let index = new_leads.len();
        let mut collides = Vec::new();
        for (i, p) in fields.phones.iter().enumerate() {
            match known_phone.get(p.e164()) {
                Some(DuplicateOf::Stored(id, o) | DuplicateOf::Hidden(id, o)) => {
                    collides.push((Some(i), *id, *o))
                }
                Some(DuplicateOf::New(j)) => {
                    collides.push((Some(i), placeholder(*j), new_leads[*j].owner))
                }
                None => {
                    known_phone.insert(p.e164().to_string(), DuplicateOf::New(index));
                }
                // A row holding a pending key was skipped above.
                Some(DuplicateOf::Pending) => {}
            }
        }
        if hit_phone.is_none() {
            match hit_company {
                Some(DuplicateOf::Stored(id, o) | DuplicateOf::Hidden(id, o)) => {
                    collides.push((None, id, o))
                }
                Some(DuplicateOf::New(j)) => {
                    collides.push((None, placeholder(j), new_leads[j].owner))
                }
                Some(DuplicateOf::Pending) | None => {}
            }
        }
        if let Some(c) = company_key
            && !known_company.contains_key(c)
        {
            known_company.insert(c.to_string(), DuplicateOf::New(index));
        }
        if !collides.is_empty() {
            counts.collisions += 1;
        }
        new_leads.push(NewLead {
            id: LeadId(0),
            fields,
            owner,
            collides,
            prepared,
            filled: false,
        });
    }
    for lead in new_leads.iter_mut().filter(|l| l.filled) {
        lead.prepared = Prepared::new(&lead.fields);
    }
    counts.imported = new_leads.len() as i64;
    counts.failed += invalid
        .iter()
        .filter(|r| r.2 != "needs_phone_or_company")
        .count() as i64;
    Plan {
        counts,
        new_leads,
        fills,
        invalid,
    }
}

/// Gives the new leads the ids `first..` and points collisions with earlier rows of the batch at
/// those ids.
pub fn assign_ids(new_leads: &mut [NewLead], ids: impl IntoIterator<Item = i64>) {
    for (lead, id) in new_leads.iter_mut().zip(ids) {
        lead.id = LeadId(id);
    }
    let ids: Vec<LeadId> = new_leads.iter().map(|l| l.id).collect();
    for lead in new_leads.iter_mut() {
        for c in lead.collides.iter_mut() {
            if c.1.0 < 0 {
                c.1 = ids[(-c.1.0 - 1) as usize];
            }
        }
    }
}

/// The phone, or `company:<normalised>`, a collision was recorded on.
pub fn collision_key(lead: &NewLead, matched: Option<usize>) -> String {
    match matched {
        Some(i) => lead.fields.phones[i].e164().to_string(),
        None => format!(
            "company:{}",
            lead.prepared.company_norm.as_deref().unwrap_or_default()
        ),
    }
}

/// A stored lead's fields that an "update" duplicate may fill.
pub struct FillRow {
    pub company: Option<String>,
    pub title: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub source: Option<String>,
    pub custom: serde_json::Map<String, Value>,
}

/// Copies into `target` the fields it lacks from `source`.
pub fn fill_empty(target: &mut LeadFields, source: &LeadFields) {
    for (t, s) in [
        (&mut target.company, &source.company),
        (&mut target.title, &source.title),
        (&mut target.city, &source.city),
        (&mut target.region, &source.region),
        (&mut target.source, &source.source),
    ] {
        if t.is_none() {
            t.clone_from(s);
        }
    }
    for (k, v) in &source.custom {
        target.custom.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

pub fn fill_view(f: &LeadFields) -> Value {
    json!({"company": f.company, "title": f.title, "city": f.city, "region": f.region, "source": f.source, "custom": f.custom})
}

/// For "update" duplicates: each stored lead's current fields (from `current`), and those fields
/// with the gaps filled; leads where nothing would change are left out.
pub fn fill_targets(
    fills: &[(LeadId, LeadFields)],
    current: &HashMap<LeadId, FillRow>,
) -> Vec<(LeadId, Value, LeadFields)> {
    let mut out: Vec<(LeadId, Value, LeadFields)> = Vec::new();
    for (id, row_fields) in fills {
        if let Some(pos) = out.iter().position(|(i, _, _)| i == id) {
            let mut merged = out[pos].2.clone();
            fill_empty(&mut merged, row_fields);
            out[pos].2 = merged;
            continue;
        }
        let Some(row) = current.get(id) else { continue };
        let mut now = row_fields.clone();
        now.company.clone_from(&row.company);
        now.title.clone_from(&row.title);
        now.city.clone_from(&row.city);
        now.region.clone_from(&row.region);
        now.source.clone_from(&row.source);
        now.custom.clone_from(&row.custom);
        let before = fill_view(&now);
        let mut after = now.clone();
        fill_empty(&mut after, row_fields);
        if fill_view(&after) != before {
            out.push((*id, before, after));
        }
    }
    out
}

#[cfg(test)]
mod tests {
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
                stored(),
                Vec::new(),
                &Pending::default(),
                policy,
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
        assert!(reason.ends_with(HELD_ELSEWHERE), "{reason}");
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
            vec![(Some(0), LeadId(2), Some(UserId(3)))]
        );
        assert!(collision.invalid.is_empty());

        let admin = plan(
            rows(),
            Vec::new(),
            stored(),
            Vec::new(),
            &Pending::default(),
            OnDuplicate::Update,
            LeadScope::All,
        );
        assert_eq!(admin.fills.len(), 2, "an admin sees both");
    }
}
