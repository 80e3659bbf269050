//! The people around a record: backup owners, absences, referrals, friends and family, hand-over to a sales rep, and reassignment.
