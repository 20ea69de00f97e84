//! Claiming a ticket: a staff member takes it (the Claim button on the welcome message, or
//! `/ticket-claim`), gives it back (`/ticket-unclaim`) or hands it to another staff member
//! (`/ticket-transfer`). Only the claimer or an administrator may unclaim or transfer a
//! claimed ticket. The change is a compare-and-set on the stored entry ([`decide`] is the rule,
//! pure), then said in the ticket and shown in the channel's topic ([`channel_topic`], which
//! also shows the priority). While a ticket is claimed the assistant stays quiet in it, unless
//! the guild chose otherwise (the relay's decision reads the claim from the entry).

use serenity::all::{
    ChannelId, CreateAllowedMentions, CreateMessage, EditChannel, Timestamp, UserId,
};

use super::Tickets;
use crate::registry::{Priority, RegistryError, TicketEntry};

/// The custom ID of the welcome message's Claim button.
pub const CLAIM_BUTTON: &str = "ticket:claim";

/// What was asked of a ticket's claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimChange {
    /// The asker takes it.
    Claim,
    /// The claimer gives it back.
    Unclaim,
    /// It goes to this staff member.
    Transfer(UserId),
}

/// Who had a ticket before a claim change, and who has it after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimMoved {
    /// The claimer before.
    pub before: Option<UserId>,
    /// The claimer now.
    pub after: Option<UserId>,
}

/// Why a claim change was refused, or that there was nothing to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimRefusal {
    /// The asker has it already (or the transfer's target does).
    Already(UserId),
    /// Someone else has it: only they or an administrator may give it away.
    HeldBy(UserId),
    /// Nobody has it: nothing to unclaim.
    NotClaimed,
    /// The channel is no open ticket.
    NotOpen,
}

/// The ticket's claimer after `change` asked by `by` (an administrator when `by_admin`), from
/// its claimer now `current`; the caller has checked that `by` (and a transfer's target) are
/// staff of the ticket.
pub fn decide(
    current: Option<UserId>,
    by: UserId,
    by_admin: bool,
    change: ClaimChange,
) -> Result<Option<UserId>, ClaimRefusal> {
    let may_give_away = |holder: UserId| holder == by || by_admin;
    match (change, current) {
        (ClaimChange::Claim, None) => Ok(Some(by)),
        (ClaimChange::Claim, Some(holder)) if holder == by => Err(ClaimRefusal::Already(by)),
        (ClaimChange::Claim, Some(holder)) => Err(ClaimRefusal::HeldBy(holder)),
        (ClaimChange::Unclaim, None) => Err(ClaimRefusal::NotClaimed),
        (ClaimChange::Unclaim, Some(holder)) if may_give_away(holder) => Ok(None),
        (ClaimChange::Unclaim, Some(holder)) => Err(ClaimRefusal::HeldBy(holder)),
        (ClaimChange::Transfer(to), Some(holder)) if holder == to => Err(ClaimRefusal::Already(to)),
        // An unclaimed ticket may be given to a colleague by any staff member.
        (ClaimChange::Transfer(to), None) => Ok(Some(to)),
        (ClaimChange::Transfer(to), Some(holder)) if may_give_away(holder) => Ok(Some(to)),
        (ClaimChange::Transfer(_), Some(holder)) => Err(ClaimRefusal::HeldBy(holder)),
    }
}

/// The ticket channel's topic: whose it is, who has it, and a priority other than normal.
pub fn channel_topic(ticket: &TicketEntry) -> String {
    let mut topic = format!("Support ticket of <@{}>", ticket.owner_id);
    if let Some(name) = &ticket.topic {
        topic.push_str(&format!(" · {name}"));
    }
    if let Some(claimer) = ticket.handling.claimed_by {
        topic.push_str(&format!(" · claimed by <@{claimer}>"));
    }
    if ticket.handling.priority != Priority::Normal {
        topic.push_str(&format!(" · priority: {}", ticket.handling.priority.name()));
    }
    topic
}

impl Tickets {
    /// Applies `change`, asked by `by`, to the ticket in `channel`; says it in the ticket and
    /// updates its topic. Returns the ticket's claimer before and after.
    #[tracing::instrument(name = "ticket_claim", skip_all, fields(channel_id = %channel, by = %by, ?change))]
    pub async fn change_claim(
        &self,
        channel: ChannelId,
        by: UserId,
        by_admin: bool,
        change: ClaimChange,
    ) -> Result<Result<ClaimMoved, ClaimRefusal>, RegistryError> {
        let mut outcome = Err(ClaimRefusal::NotOpen);
        let now = Timestamp::now();
        let stored = self
            .registry()
            .update_stored_ticket(channel, |t| {
                if !t.is_open() {
                    outcome = Err(ClaimRefusal::NotOpen);
                    return false;
                }
                let before = t.handling.claimed_by;
                outcome = decide(before, by, by_admin, change).map(|after| (before, after));
                let Ok((_, after)) = outcome else {
                    return false;
                };
                t.handling.claimed_by = after;
                t.handling.claimed_at = after.map(|_| now);
                true
            })
            .await?;
        let (entry, (before, after)) = match (stored, outcome) {
            (Some((entry, true)), Ok(change)) => (entry, change),
            (_, Err(refusal)) => return Ok(Err(refusal)),
            (_, Ok(_)) => return Ok(Err(ClaimRefusal::NotOpen)),
        };
        tracing::info!(before = ?before, after = ?after, "ticket claim changed");
        let text = match change {
            ClaimChange::Claim => format!("<@{by}> claimed this ticket and is on it."),
            ClaimChange::Unclaim => format!(
                "<@{by}> unclaimed this ticket: any member of the support team may take it."
            ),
            ClaimChange::Transfer(to) => match before {
                Some(before) => {
                    format!("<@{by}> transferred this ticket from <@{before}> to <@{to}>.")
                }
                None => format!("<@{by}> gave this ticket to <@{to}>."),
            },
        };
        self.say(channel, text).await;
        self.show_topic(channel, &entry);
        Ok(Ok(ClaimMoved { before, after }))
    }

    /// Posts `text` in the ticket, pinging nobody (mentions render as names).
    pub(super) async fn say(&self, channel: ChannelId, text: String) {
        let message = CreateMessage::new()
            .content(text)
            .allowed_mentions(CreateAllowedMentions::new());
        if let Err(err) = channel.send_message(self.http(), message).await {
            tracing::warn!(error = %err, channel_id = %channel, "cannot post the notice in the ticket");
        }
    }

    /// Sets the channel's topic from `ticket`, off the caller's path: Discord allows two topic
    /// changes per channel in ten minutes, and the rate limiter waits out a third rather than
    /// fail it; the command's answer must not wait with it.
    pub(super) fn show_topic(&self, channel: ChannelId, ticket: &TicketEntry) {
        if ticket.thread {
            // A thread has no topic: its messages say who has it.
            return;
        }
        let topic = channel_topic(ticket);
        let tickets = self.clone();
        self.spawn(async move {
            let edit = EditChannel::new().topic(topic);
            if let Err(err) = channel.edit(tickets.http(), edit).await {
                tracing::warn!(error = %err, channel_id = %channel, "cannot update the ticket channel's topic");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use serenity::all::GuildId;

    use super::*;

    const ANN: UserId = UserId::new(1);
    const BEN: UserId = UserId::new(2);
    const CAT: UserId = UserId::new(3);

    #[test]
    fn a_ticket_is_claimed_once_and_only_its_claimer_or_an_admin_gives_it_away() {
        use ClaimChange::{Claim, Transfer, Unclaim};
        assert_eq!(decide(None, ANN, false, Claim), Ok(Some(ANN)));
        assert_eq!(
            decide(Some(ANN), ANN, false, Claim),
            Err(ClaimRefusal::Already(ANN))
        );
        assert_eq!(
            decide(Some(ANN), BEN, true, Claim),
            Err(ClaimRefusal::HeldBy(ANN))
        );
        assert_eq!(
            decide(None, ANN, false, Unclaim),
            Err(ClaimRefusal::NotClaimed)
        );
        assert_eq!(decide(Some(ANN), ANN, false, Unclaim), Ok(None));
        assert_eq!(
            decide(Some(ANN), BEN, false, Unclaim),
            Err(ClaimRefusal::HeldBy(ANN))
        );
        assert_eq!(decide(Some(ANN), BEN, true, Unclaim), Ok(None), "an admin");
        assert_eq!(decide(Some(ANN), ANN, false, Transfer(BEN)), Ok(Some(BEN)));
        assert_eq!(
            decide(Some(ANN), BEN, false, Transfer(CAT)),
            Err(ClaimRefusal::HeldBy(ANN))
        );
        assert_eq!(decide(Some(ANN), CAT, true, Transfer(BEN)), Ok(Some(BEN)));
        assert_eq!(
            decide(Some(BEN), ANN, false, Transfer(BEN)),
            Err(ClaimRefusal::Already(BEN))
        );
        assert_eq!(decide(None, CAT, false, Transfer(BEN)), Ok(Some(BEN)));
    }

    #[test]
    fn the_topic_shows_the_owner_the_claimer_and_an_unusual_priority() {
        let mut ticket = TicketEntry::opened(GuildId::new(1), UserId::new(7), Timestamp::now());
        assert_eq!(channel_topic(&ticket), "Support ticket of <@7>");
        ticket.handling.claimed_by = Some(ANN);
        ticket.handling.priority = Priority::Urgent;
        assert_eq!(
            channel_topic(&ticket),
            "Support ticket of <@7> · claimed by <@1> · priority: urgent"
        );
    }
}
