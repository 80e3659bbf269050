//! Several contacts of one company (issue 22, F9): what happens to a new record, entered or
//! imported, whose company key ([`crate::company_name::company_key`]) or e-mail another
//! person's record already has. It is not a duplicate (a company has many contacts): under the
//! setting `company_contacts` = `join` (the default) it joins that company's owner; under
//! `case`, or when the company's records have different owners, it keeps the owner it would
//! have had and a collision case (撞单) is opened against one of those records. An e-mail held
//! by another person's record always opens a case. Pure: the store finds the matches.

use serde::{Deserialize, Serialize};

use crate::{LeadId, UserId};

/// The setting `company_contacts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompanyContacts {
    /// A new contact of a company one person owns goes to that person.
    #[default]
    Join,
    /// A new contact of a company someone else owns opens a case.
    Case,
}

impl CompanyContacts {
    pub fn code(self) -> &'static str {
        match self {
            CompanyContacts::Join => "join",
            CompanyContacts::Case => "case",
        }
    }

    pub fn parse(s: &str) -> Option<CompanyContacts> {
        match s {
            "join" => Some(CompanyContacts::Join),
            "case" => Some(CompanyContacts::Case),
            _ => None,
        }
    }
}

/// What a record matched on, for a case row (`collisions.match_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    Phone,
    Company,
    Email,
}

impl MatchKind {
    pub fn code(self) -> &'static str {
        match self {
            MatchKind::Phone => "phone",
            MatchKind::Company => "company",
            MatchKind::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<MatchKind> {
        match s {
            "phone" => Some(MatchKind::Phone),
            "company" => Some(MatchKind::Company),
            "email" => Some(MatchKind::Email),
            _ => None,
        }
    }
}

/// What a new record does about the owned records it matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to do: no owned record matched, or only the new record's own owner's.
    Nothing,
    /// Goes to this owner (the company's one owner).
    Join(UserId),
    /// Keeps its owner; a case is opened against this record and its owner.
    Case(LeadId, UserId),
}

/// The outcome for a new record of a company: `owner` is the owner it would have (`None`: the
/// pool), `yields` whether that owner is only the default (a record entered by hand goes to its
/// creator unless it joins a company) rather than chosen (an import's assignment, a supervisor's
/// choice), `matched` the owned records with its company key (record, owner), oldest first.
pub fn company_outcome(
    mode: CompanyContacts,
    owner: Option<UserId>,
    yields: bool,
    matched: &[(LeadId, UserId)],
) -> Outcome {
    let Some(&(first_other, other)) = matched.iter().find(|m| Some(m.1) != owner) else {
        return Outcome::Nothing;
    };
    let one_owner = matched.iter().all(|m| m.1 == other);
    if mode == CompanyContacts::Join && (owner.is_none() || yields) && one_owner {
        Outcome::Join(other)
    } else {
        Outcome::Case(first_other, other)
    }
}

/// The outcome for a new record with an e-mail that owned records hold: a case against the
/// first held by someone other than the record's owner (after any join).
pub fn email_outcome(owner: Option<UserId>, matched: &[(LeadId, UserId)]) -> Outcome {
    match matched.iter().find(|m| Some(m.1) != owner) {
        Some(&(lead, other)) => Outcome::Case(lead, other),
        None => Outcome::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: UserId = UserId(1);
    const B: UserId = UserId(2);

    #[test]
    fn a_pool_contact_of_a_company_one_person_owns_joins_them() {
        let m = [(LeadId(10), A), (LeadId(11), A)];
        assert_eq!(
            company_outcome(CompanyContacts::Join, None, false, &m),
            Outcome::Join(A)
        );
        assert_eq!(
            company_outcome(CompanyContacts::Case, None, false, &m),
            Outcome::Case(LeadId(10), A)
        );
    }

    #[test]
    fn different_owners_open_a_case_even_under_join() {
        let m = [(LeadId(10), A), (LeadId(11), B)];
        assert_eq!(
            company_outcome(CompanyContacts::Join, None, false, &m),
            Outcome::Case(LeadId(10), A)
        );
        // Entered by B: the case is against A's record, not B's own.
        assert_eq!(
            company_outcome(CompanyContacts::Join, Some(B), false, &m),
            Outcome::Case(LeadId(10), A)
        );
        let m = [(LeadId(11), B), (LeadId(12), A)];
        assert_eq!(
            company_outcome(CompanyContacts::Join, Some(B), false, &m),
            Outcome::Case(LeadId(12), A)
        );
    }

    #[test]
    fn a_contact_someone_enters_for_themselves_opens_a_case_against_the_owner() {
        let m = [(LeadId(10), A)];
        assert_eq!(
            company_outcome(CompanyContacts::Join, Some(B), false, &m),
            Outcome::Case(LeadId(10), A)
        );
    }

    #[test]
    fn a_contact_entered_by_hand_joins_a_colleagues_company() {
        let m = [(LeadId(10), A)];
        assert_eq!(
            company_outcome(CompanyContacts::Join, Some(B), true, &m),
            Outcome::Join(A)
        );
        assert_eq!(
            company_outcome(CompanyContacts::Case, Some(B), true, &m),
            Outcome::Case(LeadId(10), A)
        );
        // The creator already has a contact there too: two owners, a case.
        let m = [(LeadId(9), B), (LeadId(10), A)];
        assert_eq!(
            company_outcome(CompanyContacts::Join, Some(B), true, &m),
            Outcome::Case(LeadId(10), A)
        );
    }

    #[test]
    fn ones_own_company_or_none_is_nothing() {
        assert_eq!(
            company_outcome(CompanyContacts::Case, Some(A), false, &[(LeadId(10), A)]),
            Outcome::Nothing
        );
        assert_eq!(
            company_outcome(CompanyContacts::Join, None, false, &[]),
            Outcome::Nothing
        );
        assert_eq!(email_outcome(Some(A), &[(LeadId(3), A)]), Outcome::Nothing);
        assert_eq!(email_outcome(None, &[]), Outcome::Nothing);
    }

    #[test]
    fn an_e_mail_another_person_holds_opens_a_case() {
        assert_eq!(
            email_outcome(Some(B), &[(LeadId(3), A)]),
            Outcome::Case(LeadId(3), A)
        );
        assert_eq!(
            email_outcome(None, &[(LeadId(3), A)]),
            Outcome::Case(LeadId(3), A)
        );
    }

    #[test]
    fn settings_and_kinds_round_trip() {
        for m in [CompanyContacts::Join, CompanyContacts::Case] {
            assert_eq!(CompanyContacts::parse(m.code()), Some(m));
        }
        for k in [MatchKind::Phone, MatchKind::Company, MatchKind::Email] {
            assert_eq!(MatchKind::parse(k.code()), Some(k));
        }
        assert_eq!(CompanyContacts::parse("merge"), None);
    }
}
