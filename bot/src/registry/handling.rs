//! How staff handle a ticket, kept in its entry beside the rest (flattened: the fields sit at
//! the top of the entry's JSON, `claimed_by`, `priority`, ...): who claimed it, its priority
//! and whether its urgency was announced, who wrote first for the staff, and the owner's
//! rating after the close. Entries written before these existed read as unclaimed, normal
//! priority, unrated.

use serde::{Deserialize, Serialize};
use serenity::all::{MessageId, Timestamp, UserId};

/// A ticket's priority; `/ticket-list` sorts the most pressing first.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Can wait.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Soon.
    High,
    /// Now: the ticket's Support role is pinged, once.
    Urgent,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Self; 4] = [Self::Low, Self::Normal, Self::High, Self::Urgent];

    /// Its name, as stored and as the command's choice.
    pub fn name(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    /// The priority called `name` (as [`Priority::name`] writes it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name.trim()))
    }

    fn is_normal(&self) -> bool {
        *self == Self::Normal
    }
}

/// The owner's rating of a closed ticket: one per ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// 1 to 5.
    pub stars: u8,
    /// What they added in the comment form, if they did.
    #[serde(default)]
    pub comment: Option<String>,
    /// When they rated.
    pub at: Timestamp,
    /// The rating's message in `ticket-logs` (under the summary), edited when a comment comes.
    #[serde(default)]
    pub log_message_id: Option<MessageId>,
}

/// What staff did with a ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handling {
    /// The staff member who has it (claimed, or transferred to them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<UserId>,
    /// When they got it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<Timestamp>,
    /// Its priority.
    #[serde(default, skip_serializing_if = "Priority::is_normal")]
    pub priority: Priority,
    /// When the Support role was pinged for it being urgent (never twice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgent_pinged_at: Option<Timestamp>,
    /// The staff member who wrote first in it (with `staff_replied_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_replied_by: Option<UserId>,
    /// When the owner was asked to rate it (after its close).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating_asked_at: Option<Timestamp>,
    /// The owner's rating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_are_written_by_name_and_sort_by_urgency() {
        for p in Priority::ALL {
            assert_eq!(serde_json::to_value(p).unwrap(), p.name());
            assert_eq!(Priority::parse(p.name()), Some(p));
        }
        assert_eq!(Priority::parse(" URGENT "), Some(Priority::Urgent));
        assert_eq!(Priority::parse("asap"), None);
        assert!(Priority::Urgent > Priority::High && Priority::Low < Priority::Normal);
        assert_eq!(
            serde_json::to_value(Handling::default()).unwrap(),
            serde_json::json!({}),
            "nothing written for an untouched ticket"
        );
    }
}
