//! Voicemail filing (issue 27): the categories a voicemail is filed under, its status from new to
//! passed (to a responsible person) to done, and who may hear or change one.

use crate::{Role, UserId};

/// What a voicemail is about. The caller's choice (a key in the IVR) is the first filing; an
/// admin may re-file it under another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoicemailCategory {
    /// 投诉
    Complaint,
    /// 建议
    Suggestion,
    /// 咨询
    Inquiry,
    /// 表扬
    Praise,
    /// 其他
    Other,
}

impl VoicemailCategory {
    pub const ALL: [VoicemailCategory; 5] = [
        Self::Complaint,
        Self::Suggestion,
        Self::Inquiry,
        Self::Praise,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Complaint => "complaint",
            Self::Suggestion => "suggestion",
            Self::Inquiry => "inquiry",
            Self::Praise => "praise",
            Self::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// Where a voicemail stands: nobody is on it yet, it was passed to someone, they dealt with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoicemailStatus {
    New,
    Passed,
    Done,
}

impl VoicemailStatus {
    pub const ALL: [VoicemailStatus; 3] = [Self::New, Self::Passed, Self::Done];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Passed => "passed",
            Self::Done => "done",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Longest note an admin may pass with a voicemail, in characters.
pub const NOTE_MAX_CHARS: usize = 2000;

/// How a voicemail is filed: its category (the caller's choice may be a name from the IVR flow
/// outside [`VoicemailCategory`], so it is kept as written), who it was passed to, the admin's
/// note and its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filing {
    pub category: String,
    pub assignee: Option<UserId>,
    pub note: String,
    pub status: VoicemailStatus,
}

/// An admin's re-filing: each `None` keeps what is there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refiling {
    pub category: Option<VoicemailCategory>,
    pub assignee: Option<UserId>,
    pub note: Option<String>,
}

impl Filing {
    /// The filing after `change`, and whether the person it is now passed to must be told:
    /// naming someone passes it to them (a done voicemail passed to someone new is open again);
    /// a changed category or note alone keeps the status and tells nobody.
    pub fn refiled(&self, change: &Refiling) -> (Filing, bool) {
        let assignee = change.assignee.or(self.assignee);
        let newly_passed = change.assignee.is_some()
            && (change.assignee != self.assignee || self.status == VoicemailStatus::New);
        let status = if newly_passed {
            VoicemailStatus::Passed
        } else {
            self.status
        };
        let next = Filing {
            category: change
                .category
                .map_or_else(|| self.category.clone(), |c| c.as_str().to_owned()),
            assignee,
            note: change.note.clone().unwrap_or_else(|| self.note.clone()),
            status,
        };
        (next, newly_passed)
    }

    /// The filing once dealt with.
    pub fn done(&self) -> Filing {
        Filing {
            status: VoicemailStatus::Done,
            ..self.clone()
        }
    }
}

/// Who may hear a voicemail and read its filing: admins, and the person it was passed to.
pub fn may_hear(role: Role, user: UserId, filing: &Filing) -> bool {
    role == Role::Admin || filing.assignee == Some(user)
}

/// Who may mark a voicemail done: admins, and the person it was passed to once it is theirs.
pub fn may_mark_done(role: Role, user: UserId, filing: &Filing) -> bool {
    role == Role::Admin || (filing.assignee == Some(user) && filing.status != VoicemailStatus::New)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filing(assignee: Option<i64>, status: VoicemailStatus) -> Filing {
        Filing {
            category: "complaint".into(),
            assignee: assignee.map(UserId),
            note: String::new(),
            status,
        }
    }

    #[test]
    fn categories_and_statuses_round_trip_through_their_codes() {
        for c in VoicemailCategory::ALL {
            assert_eq!(VoicemailCategory::parse(c.as_str()), Some(c));
        }
        for s in VoicemailStatus::ALL {
            assert_eq!(VoicemailStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(VoicemailCategory::parse("spam"), None);
        assert_eq!(VoicemailStatus::parse("closed"), None);
    }

    #[test]
    fn naming_someone_passes_it_and_tells_them_once() {
        let new = filing(None, VoicemailStatus::New);
        let (passed, tell) = new.refiled(&Refiling {
            category: Some(VoicemailCategory::Suggestion),
            assignee: Some(UserId(7)),
            note: Some("请回电".into()),
        });
        assert!(tell);
        assert_eq!(
            passed,
            Filing {
                category: "suggestion".into(),
                assignee: Some(UserId(7)),
                note: "请回电".into(),
                status: VoicemailStatus::Passed,
            }
        );
        // The same person named again is not told again; a new note alone tells nobody.
        let (again, tell) = passed.refiled(&Refiling {
            assignee: Some(UserId(7)),
            note: Some("今天内".into()),
            ..Refiling::default()
        });
        assert!(!tell);
        assert_eq!(
            (again.status, again.note.as_str()),
            (VoicemailStatus::Passed, "今天内")
        );
        // A category alone keeps a new voicemail new.
        let (recategorised, tell) = new.refiled(&Refiling {
            category: Some(VoicemailCategory::Praise),
            ..Refiling::default()
        });
        assert!(!tell);
        assert_eq!(recategorised.status, VoicemailStatus::New);
        // A done voicemail passed to someone else is theirs to deal with again.
        let (reopened, tell) = passed.done().refiled(&Refiling {
            assignee: Some(UserId(8)),
            ..Refiling::default()
        });
        assert!(tell);
        assert_eq!(reopened.status, VoicemailStatus::Passed);
    }

    #[test]
    fn only_admins_and_the_assignee_hear_it_or_close_it() {
        let passed = filing(Some(7), VoicemailStatus::Passed);
        assert!(may_hear(Role::Admin, UserId(1), &passed));
        assert!(may_hear(Role::Supervisor, UserId(7), &passed));
        assert!(!may_hear(Role::Supervisor, UserId(8), &passed));
        assert!(!may_hear(
            Role::Agent,
            UserId(8),
            &filing(None, VoicemailStatus::New)
        ));
        assert!(may_mark_done(Role::Agent, UserId(7), &passed));
        assert!(!may_mark_done(Role::Agent, UserId(8), &passed));
        assert!(may_mark_done(
            Role::Admin,
            UserId(1),
            &filing(None, VoicemailStatus::New)
        ));
    }
}
