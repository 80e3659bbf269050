//! Who owns a lead (issue 22, product F9): the ownership history every change of owner writes
//! ([`events`]), the reclaim countdown ([`countdown`]), claiming from the public pools and their
//! limits ([`claim`], [`pools`]), the reclaim rules and the reclaim job ([`reclaim`]),
//! collision cases (撞单) and their ledger ([`cases`], [`detect`]), and the people around a
//! record: backup owners, absences, referrals, hand-over and reassignment ([`people`]).
//!
//! Every function that changes an owner writes an [`events::Event`] in the same transaction,
//! and refreshes the countdown with [`countdown::refresh`].

pub mod cases;
pub mod claim;
pub mod countdown;
pub mod detect;
pub mod events;
pub mod people;
pub mod pool_stats;
pub mod pools;
pub mod reclaim;
