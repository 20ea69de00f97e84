//! What a guild chose about its staff's work, kept in its `ticket_guilds` entry (flattened:
//! `blocked`, `assistant_while_claimed`, `hours` sit at the top of the entry's JSON): the
//! members who may not open tickets, whether the assistant keeps answering in a claimed
//! ticket, and the support hours. An entry written before these existed reads as no blocks,
//! a quiet assistant in claimed tickets and no hours.

use serde::{Deserialize, Serialize};
use serenity::all::{Timestamp, UserId};

use crate::hours::SupportHours;

/// At most this many blocks per guild: the guild's entry must stay well under the bucket's
/// value limit (a block with its longest reason is about 250 bytes).
pub const MAX_BLOCKS: usize = 200;
/// A block's reason is cut to this many characters.
pub const MAX_REASON_CHARS: usize = 150;

/// A member who may not open tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// The member.
    pub user_id: UserId,
    /// Who blocked them.
    pub by: UserId,
    /// When.
    pub at: Timestamp,
    /// Why, as given.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A guild's choices about its staff's work.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffSettings {
    /// Members who may not open tickets, oldest block first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked: Vec<Block>,
    /// Whether the assistant keeps answering in a claimed ticket (by default it leaves a
    /// claimed ticket to its claimer).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub assistant_while_claimed: bool,
    /// When staff are there (none: always, as far as the bot tells members).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<SupportHours>,
}

impl StaffSettings {
    /// The block of `user`, if they are blocked.
    pub fn block_of(&self, user: UserId) -> Option<&Block> {
        self.blocked.iter().find(|b| b.user_id == user)
    }
}

/// A reason as stored: trimmed, empty as none, cut to [`MAX_REASON_CHARS`].
pub fn clean_reason(reason: Option<&str>) -> Option<String> {
    let reason = reason?.trim();
    (!reason.is_empty()).then(|| reason.chars().take(MAX_REASON_CHARS).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_trimmed_and_cut_and_an_empty_one_is_none() {
        assert_eq!(clean_reason(Some("  spam ")), Some("spam".to_owned()));
        assert_eq!(clean_reason(Some("   ")), None);
        assert_eq!(clean_reason(None), None);
        let long = "x".repeat(400);
        assert_eq!(
            clean_reason(Some(&long)).unwrap().chars().count(),
            MAX_REASON_CHARS
        );
    }
}
