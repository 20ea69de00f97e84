//! A ticket's priority (`/ticket-priority`): stored in its entry, said in the ticket, shown in
//! the channel's topic and the close summary. The first time a ticket becomes urgent its
//! Support role is pinged; the entry remembers it (`urgent_pinged_at`, set in the same
//! compare-and-set as the priority), so the ping never comes twice, from any process.

use serenity::all::{ChannelId, CreateAllowedMentions, CreateMessage, Timestamp, UserId};

use super::Tickets;
use crate::registry::{Priority, RegistryError};

/// What `/ticket-priority` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriorityChange {
    /// Changed from the first to the second; `pinged` when the Support role was pinged.
    Changed(Priority, Priority, bool),
    /// It already had that priority.
    Unchanged,
    /// The channel is no open ticket.
    NotOpen,
}

impl Tickets {
    /// Sets the priority of the ticket in `channel` to `priority`, asked by `by`.
    #[tracing::instrument(name = "ticket_priority", skip_all, fields(channel_id = %channel, by = %by, priority = priority.name()))]
    pub async fn set_priority(
        &self,
        channel: ChannelId,
        by: UserId,
        priority: Priority,
    ) -> Result<PriorityChange, RegistryError> {
        let now = Timestamp::now();
        let (mut before, mut ping) = (Priority::Normal, false);
        let stored = self
            .registry()
            .update_stored_ticket(channel, |t| {
                before = t.handling.priority;
                if !t.is_open() || before == priority {
                    return false;
                }
                t.handling.priority = priority;
                ping = priority == Priority::Urgent && t.handling.urgent_pinged_at.is_none();
                if ping {
                    t.handling.urgent_pinged_at = Some(now);
                }
                true
            })
            .await?;
        let entry = match stored {
            Some((entry, true)) => entry,
            Some((entry, false)) if entry.is_open() => return Ok(PriorityChange::Unchanged),
            _ => return Ok(PriorityChange::NotOpen),
        };
        let support = self
            .registry()
            .guild(entry.guild_id)
            .map(|g| g.support_role_id)
            .filter(|_| ping);
        let text = match support {
            Some(role) => format!("<@&{role}> <@{by}> marked this ticket **urgent**."),
            None => format!(
                "<@{by}> set this ticket's priority to **{}**.",
                priority.name()
            ),
        };
        // Only the Support role, and only for the first urgent mark.
        let message = CreateMessage::new()
            .content(text)
            .allowed_mentions(CreateAllowedMentions::new().roles(support));
        let pinged = match channel.send_message(self.http(), message).await {
            Ok(_) => support.is_some(),
            Err(err) => {
                tracing::warn!(error = %err, "cannot post the priority notice");
                false
            }
        };
        self.show_topic(channel, &entry);
        tracing::info!(before = before.name(), pinged, "ticket priority changed");
        Ok(PriorityChange::Changed(before, priority, pinged))
    }
}
