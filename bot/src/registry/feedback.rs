//! The members' ratings of the assistant's answers, kept in the JetStream key-value bucket
//! [`FEEDBACK_BUCKET`]: answer message ID → [`Feedback`] (who voted what, on which answer of
//! which ticket, written by which answer source). One vote per answer: a new one replaces it.
//! The ticket's entry keeps the counts ([`super::TicketEntry::feedback_up`] and `_down`), so
//! that the close summary and `/ticket-stats` need not read this bucket.

use serde::{Deserialize, Serialize};
use serenity::all::{ChannelId, GuildId, MessageId, Timestamp, UserId};

/// The bucket of votes.
pub const FEEDBACK_BUCKET: &str = "ticket_feedback";

/// 👍 or 👎.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vote {
    /// Helpful.
    Up,
    /// Not helpful.
    Down,
}

/// One vote on one answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// The guild of the ticket.
    pub guild_id: GuildId,
    /// The ticket's channel.
    pub channel_id: ChannelId,
    /// The answer's message (the piece that carries the buttons); also the key.
    pub answer_message_id: MessageId,
    /// Which answer source wrote the answer (`placeholder`, `knowledge`, `llm`), as the relay
    /// worker said; `null` when it did not, or when the bot restarted between the answer and
    /// the vote (it remembers recent answers in memory only).
    pub source: Option<String>,
    /// The vote.
    pub vote: Vote,
    /// Who voted (the ticket's owner).
    pub user_id: UserId,
    /// When.
    pub at: Timestamp,
}

/// What a vote changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voted {
    /// The answer's first vote: counted.
    Counted,
    /// The other vote was stored before: replaced, and moved between the counts.
    Changed,
    /// The same vote was stored before: nothing written.
    Unchanged,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vote_is_json_with_string_ids_and_a_lowercase_vote() {
        let feedback = Feedback {
            guild_id: GuildId::new(1),
            channel_id: ChannelId::new(2),
            answer_message_id: MessageId::new(300_000_000_000_000_003),
            source: None,
            vote: Vote::Down,
            user_id: UserId::new(4),
            at: Timestamp::from_unix_timestamp(1_800_000_000).unwrap(),
        };
        let json = serde_json::to_value(&feedback).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "guild_id": "1", "channel_id": "2", "answer_message_id": "300000000000000003",
                "source": null, "vote": "down", "user_id": "4", "at": "2027-01-15T08:00:00Z",
            })
        );
        assert_eq!(serde_json::from_value::<Feedback>(json).unwrap(), feedback);
    }
}
