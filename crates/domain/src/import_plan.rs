//! The import's duplicate plan: which rows of a batch become new leads, which fill the empty
//! fields of a lead already known, which are skipped and which record a collision (撞单), decided
//! before anything is written. Duplicates are found by normalised phone (and, for a row without
//! a phone, by normalised company), within the batch and against stored leads, and handled by
//! the job's policy. A row with a phone whose company another person's record already has is
//! not a duplicate but another contact of that company: it joins the company's owner or opens a
//! case ([`crate::contact_match`], the setting `company_contacts`); so does an e-mail another
//! person's record holds (a case). Pure: the store looks the keys up and writes what the plan
//! says.
//!
//! A stored lead the importer may not see (the one visibility rule, [`LeadScope`]) is never
//! filled nor counted as a duplicate: under "skip" and "update" the row is refused with a reason
//! that names no lead ([`HELD_ELSEWHERE`]); under "collision" it is imported and the collision
//! (撞单) recorded, as the ownership rules need.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::company_name::company_key;
use crate::contact_match::{CompanyContacts, MatchKind, Outcome, company_outcome, email_outcome};
use crate::lead::normalise_company;
use crate::{Access, Holder, LeadFields, LeadId, LeadScope, TeamId, UserId, search_tokens};

mod reason;
pub use reason::{LANGUAGE_SEPARATOR, Reason, reason_in, row_reason};

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
        /// What the writer derives from the fields; made by [`BatchRow::lead`] or
        /// [`BatchRow::prepare`] on the threads that build the batch, so the writer only writes
        /// (`None` until then; [`split`] makes it for a row still without it).
        prepared: Option<Box<Prepared>>,
        /// The existing customer who referred it, when the file names one.
        referral: Option<Referral>,
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
        let mut row = BatchRow::unprepared(number, fields, owner);
        row.prepare();
        row
    }

    /// A lead row whose [`Prepared`] parts (search tokens above all, the costliest part of a
    /// row) are made later by [`BatchRow::prepare`], so that a batch's rows can be prepared on
    /// several threads while the next batch is read.
    pub fn unprepared(number: i64, fields: LeadFields, owner: Option<UserId>) -> BatchRow {
        BatchRow::Lead {
            number,
            fields: Box::new(fields),
            owner,
            prepared: None,
            referral: None,
        }
    }

    /// Makes a lead row's [`Prepared`] parts if it has none yet.
    pub fn prepare(&mut self) {
        if let BatchRow::Lead {
            fields,
            prepared: prepared @ None,
            ..
        } = self
        {
            *prepared = Some(Box::new(Prepared::new(fields)));
        }
    }

    /// The row names the customer who referred it: it goes to that customer's owner, whatever
    /// the import's assignment (老客户带来的新客户仍属于原销售人员); with a referrer in a pool it
    /// keeps its assignment. An invalid row stays as it is.
    pub fn referred(self, by: Referral) -> BatchRow {
        match self {
            BatchRow::Lead {
                number,
                fields,
                owner,
                prepared,
                ..
            } => BatchRow::Lead {
                number,
                fields,
                owner: by.owner.or(owner),
                prepared,
                referral: Some(by),
            },
            invalid => invalid,
        }
    }
}

/// The existing customer who referred a row, as the import found them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Referral {
    /// The referring customer's lead.
    pub by: LeadId,
    /// Its owner (an active person), who takes the row; `None` for a referrer in a pool.
    pub owner: Option<UserId>,
}

/// What a new lead's rows hold besides its fields: the normalised company, the search tokens
/// and the custom fields as text.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    pub company_norm: Option<String>,
    /// `company_name::company_key` of the company when not empty: the 撞单 match by company,
    /// stored in `leads.company_key`.
    pub contact_key: Option<String>,
    pub tokens: String,
    pub custom: String,
}

impl Prepared {
    pub fn new(fields: &LeadFields) -> Prepared {
        Prepared {
            company_norm: fields.company.as_deref().map(normalise_company),
            contact_key: fields
                .company
                .as_deref()
                .map(company_key)
                .filter(|k| !k.is_empty()),
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
    /// New contacts given to the owner of their company (`company_contacts` = join).
    pub joined: i64,
    /// New records for which a company or e-mail case was opened.
    pub cases: i64,
    /// New records given to the owner of the customer who referred them.
    pub referred: i64,
}

impl BatchCounts {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &BatchCounts) {
        self.imported += other.imported;
        self.updated += other.updated;
        self.skipped += other.skipped;
        self.collisions += other.collisions;
        self.failed += other.failed;
        self.joined += other.joined;
        self.cases += other.cases;
        self.referred += other.referred;
    }
}

/// Why a row whose phone or company is on a lead the importer may not see was refused: it
/// names no lead, owner or team, so that an import learns no more of other people's leads than
/// that the number is taken.
pub const HELD_ELSEWHERE: Reason = (
    "号码或公司已在他人负责的线索中",
    "the phone or company is on a lead held by someone else",
);

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
    pub referral: Option<Referral>,
}

/// What a collision of a new lead matched: one of its phones (by index), its company or its
/// e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matched {
    Phone(usize),
    Company,
    Email,
}

impl Matched {
    pub fn kind(self) -> MatchKind {
        match self {
            Matched::Phone(_) => MatchKind::Phone,
            Matched::Company => MatchKind::Company,
            Matched::Email => MatchKind::Email,
        }
    }
}

pub struct NewLead {
    pub id: LeadId,
    pub fields: LeadFields,
    pub owner: Option<UserId>,
    /// Collisions recorded for this lead: (what matched, other lead, its owner).
    pub collides: Vec<(Matched, LeadId, Option<UserId>)>,
    pub prepared: Prepared,
    /// Filled from a later row of the batch: `prepared` must be made again.
    pub filled: bool,
    /// Given to the owner of its company (`owner` is that person).
    pub joined: bool,
    /// The customer who referred it (`leads.referred_by`).
    pub referral: Option<Referral>,
}

impl NewLead {
    /// Given to the owner of the customer who referred it (`owner` is that person): its first
    /// line of history is a `referral`.
    pub fn went_to_referrer(&self) -> bool {
        self.referral
            .is_some_and(|r| r.owner.is_some() && r.owner == self.owner)
    }

    /// `leads.company_key` as stored: the key, '' for a company whose key is empty (nothing but
    /// a legal form), `None` without a company.
    pub fn stored_key(&self) -> Option<&str> {
        self.fields
            .company
            .as_ref()
            .map(|_| self.prepared.contact_key.as_deref().unwrap_or(""))
    }
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
                referral,
            } => candidates.push(Candidate {
                number,
                prepared: prepared.map_or_else(|| Prepared::new(&fields), |p| *p),
                fields: *fields,
                owner,
                referral,
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

/// What a batch looks up at once: every phone, the normalised company of the rows without a
/// phone (the duplicate key), every company key and e-mail (another person's contacts).
pub struct Keys<'a> {
    pub phones: Vec<&'a str>,
    pub companies: Vec<&'a str>,
    pub contacts: Vec<&'a str>,
    pub emails: Vec<&'a str>,
}

/// The keys of the candidates, each once.
pub fn keys(candidates: &[Candidate]) -> Keys<'_> {
    let phones = candidates
        .iter()
        .flat_map(|c| c.fields.phones.iter().map(|p| p.e164()))
        .collect();
    let companies = candidates
        .iter()
        .filter(|c| c.fields.phones.is_empty())
        .filter_map(|c| c.prepared.company_key())
        .collect();
    let mut contacts: Vec<&str> = candidates
        .iter()
        .filter_map(|c| c.prepared.contact_key.as_deref())
        .collect();
    contacts.sort_unstable();
    contacts.dedup();
    let mut emails: Vec<&str> = candidates
        .iter()
        .filter_map(|c| c.fields.email.as_deref())
        .collect();
    emails.sort_unstable();
    emails.dedup();
    Keys {
        phones,
        companies,
        contacts,
        emails,
    }
}

/// What the store found for a batch's [`Keys`]: stored leads by phone and by normalised company
/// (key, lead, owner, owner's team), and the owned leads by company key and by e-mail, one row
/// per key and owner (its oldest lead).
#[derive(Default)]
pub struct Found {
    pub phones: Stored,
    pub companies: Stored,
    pub contacts: Stored,
    pub emails: Stored,
}

/// (lead, owner) of owned leads per key, oldest first.
fn owned_by_key(found: Stored) -> HashMap<String, Vec<(LeadId, UserId)>> {
    let mut out: HashMap<String, Vec<(LeadId, UserId)>> = HashMap::new();
    for (k, id, owner, _) in found {
        if let Some(o) = owner {
            out.entry(k).or_default().push((id, o));
        }
    }
    for v in out.values_mut() {
        v.sort_unstable_by_key(|m| m.0.0);
    }
    out
}

/// The phones and companies of the new leads of a batch still being written beside the batch
/// being planned (the PostgreSQL import pipeline): to the plan they are stored leads that cannot be filled.
#[derive(Default)]
pub struct Pending {
    pub phones: std::collections::HashSet<String>,
    pub companies: std::collections::HashSet<String>,
    /// Company keys of its new leads that have an owner: a row of the same company may join
    /// or collide with them, so its batch waits for that one to commit.
    pub contacts: std::collections::HashSet<String>,
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
            if let (Some(k), Some(_)) = (&l.prepared.contact_key, l.owner) {
                pending.contacts.insert(k.clone());
            }
        }
        pending
    }

    /// Whether the candidate holds one of these phones or (having no phone) companies.
    pub fn holds(&self, c: &Candidate) -> bool {
        c.fields
            .phones
            .iter()
            .any(|p| self.phones.contains(p.e164()))
            || (c.fields.phones.is_empty()
                && c.prepared
                    .company_key()
                    .is_some_and(|k| self.companies.contains(k)))
    }

    /// Whether the candidate is a contact of a company an owned new lead of this batch has.
    pub fn shares_company(&self, c: &Candidate) -> bool {
        c.prepared
            .contact_key
            .as_deref()
            .is_some_and(|k| self.contacts.contains(k))
    }
}

/// Finds the duplicates (any known phone, else for a row without a phone the same normalised
/// company; stored or earlier in the batch) and applies the policy to them; then gives each new
/// lead of another person's company to that owner or opens a case (`contacts`), and opens a
/// case for an e-mail another person holds. `scope` is what the importer may see: a stored lead
/// outside it is only ever a collision (see the module's note).
pub fn plan(
    candidates: Vec<Candidate>,
    mut invalid: Vec<Refused>,
    found: Found,
    pending: &Pending,
    policy: OnDuplicate,
    contacts: CompanyContacts,
    scope: LeadScope<'_>,
) -> Plan {
    let Found {
        phones: stored_phones,
        companies: stored_companies,
        contacts: stored_contacts,
        emails: stored_emails,
    } = found;
    let mut company_owners = owned_by_key(stored_contacts);
    let email_owners = owned_by_key(stored_emails);
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
        referral,
    } in candidates
    {
        if fields.phones.is_empty() && fields.company.is_none() {
            counts.failed += 1;
            invalid.push((number, Vec::new(), "needs_phone_or_company".into()));
            continue;
        }
        let company_key = prepared.company_key();
        // Any known phone, else for a row without a phone the same normalised company (a row
        // with a phone is another contact of that company: see below).
        let hit_phone = fields
            .phones
            .iter()
            .find_map(|p| known_phone.get(p.e164()).copied());
        let hit_company = company_key
            .filter(|_| fields.phones.is_empty())
            .and_then(|c| known_company.get(c).copied());
        let hit = hit_phone.or(hit_company);
        match (hit, policy) {
            (None, _) => {}
            // Neither skipped (which would count it as a duplicate) nor filled.
            (Some(DuplicateOf::Hidden(..)), OnDuplicate::Skip | OnDuplicate::Update) => {
                invalid.push((
                    number,
                    Vec::new(),
                    row_reason(number, HELD_ELSEWHERE.0, HELD_ELSEWHERE.1),
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
                    collides.push((Matched::Phone(i), *id, *o))
                }
                Some(DuplicateOf::New(j)) => {
                    collides.push((Matched::Phone(i), placeholder(*j), new_leads[*j].owner))
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
                    collides.push((Matched::Company, id, o))
                }
                Some(DuplicateOf::New(j)) => {
                    collides.push((Matched::Company, placeholder(j), new_leads[j].owner))
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
        // Another person's company or e-mail: one case at most per new lead, none beside a
        // phone collision (that one already names the other record).
        let mut owner = owner;
        let mut joined = false;
        if collides.is_empty()
            && let Some(key) = &prepared.contact_key
        {
            let matched = company_owners.get(key).map_or(&[][..], Vec::as_slice);
            match company_outcome(contacts, owner, false, matched) {
                Outcome::Nothing => {}
                Outcome::Join(to) => {
                    owner = Some(to);
                    joined = true;
                    counts.joined += 1;
                }
                Outcome::Case(other, other_owner) => {
                    collides.push((Matched::Company, other, Some(other_owner)));
                    counts.cases += 1;
                }
            }
        }
        if collides.is_empty()
            && let Some(email) = &fields.email
            && let Some(matched) = email_owners.get(email)
            && let Outcome::Case(other, other_owner) = email_outcome(owner, matched)
        {
            collides.push((Matched::Email, other, Some(other_owner)));
            counts.cases += 1;
        }
        // Later rows of the batch meet this one as a record of its company.
        if let (Some(key), Some(o)) = (&prepared.contact_key, owner) {
            company_owners
                .entry(key.clone())
                .or_default()
                .push((placeholder(index), o));
        }
        let lead = NewLead {
            id: LeadId(0),
            fields,
            owner,
            collides,
            prepared,
            filled: false,
            joined,
            referral,
        };
        if lead.went_to_referrer() {
            counts.referred += 1;
        }
        new_leads.push(lead);
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

/// What a collision was recorded on (`collisions.phone_e164`): the phone, the company key (or,
/// for a company without one, its normalised name) or the e-mail.
pub fn collision_key(lead: &NewLead, matched: Matched) -> String {
    match matched {
        Matched::Phone(i) => lead.fields.phones[i].e164().to_string(),
        Matched::Company => lead
            .prepared
            .contact_key
            .clone()
            .or_else(|| lead.prepared.company_norm.clone())
            .unwrap_or_default(),
        Matched::Email => lead.fields.email.clone().unwrap_or_default(),
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
mod tests;
