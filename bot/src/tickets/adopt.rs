//! Adoption, when a guild becomes available (and after `/setup`): only in a guild this bot set
//! up (its registry entry says so; a guild that merely has a "Tickets" category and a "Support"
//! role, as another ticket bot leaves them, is not taken over), a `ticket-<user ID>` text
//! channel in one of the recorded ticket categories (the first or an overflow one) whose user
//! is a member of the guild is registered as an open ticket (channels from before the
//! registry, or opened while the registry was lost), and so is a `ticket-<user ID>` private
//! thread of the recorded `#tickets` channel (thread mode). Open tickets whose channel is gone are over; closes left midway are carried forward;
//! a ticket closed by an older version whose channel survived is closed again, archive first.

use std::collections::HashSet;

use serenity::all::{ChannelId, ChannelType, Guild, GuildChannel, GuildId, Timestamp, UserId};

use super::{record::CHANNEL_DELETED, Tickets};
use crate::{
    guild::{refusal::is_unknown, ticket_owner},
    members::Membership,
    registry::{GuildEntry, TicketEntry, TicketStatus},
};

/// The smallest snowflake with a time in it (Discord's epoch plus a millisecond): a user ID
/// below it is no user (`ticket-0001` is another bot's ticket number).
const SMALLEST_SNOWFLAKE: u64 = 1 << 22;

/// What adoption did in one guild.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Adopted {
    /// Channels registered as open tickets.
    pub tickets: usize,
    /// Tickets closed by an older version, whose channel survived: closed again (archived
    /// first).
    pub reclosed: usize,
    /// Open tickets whose channel was gone, marked closed.
    pub forgotten: usize,
    /// Unfinished closes carried forward.
    pub carried: usize,
}

impl Tickets {
    /// Brings the registry in line with `guild` as Discord sent it.
    pub async fn adopt(&self, guild: &Guild) -> Adopted {
        let mut done = Adopted::default();
        let Some(entry) = self.registry().guild(guild.id) else {
            tracing::info!(guild_id = %guild.id, "guild tickets ready: not set up by this bot (an administrator can run /setup); nothing adopted");
            return done;
        };
        let existing: HashSet<ChannelId> = guild
            .channels
            .keys()
            .copied()
            .chain(guild.threads.iter().map(|t| t.id))
            .collect();
        for (channel, ticket) in self.registry().open_tickets(Some(guild.id)) {
            if existing.contains(&channel) {
                continue;
            }
            // The guild lists active threads only: one Discord archived while idle is still
            // there, and its next message unarchives it.
            if ticket.thread && !self.thread_is_gone(channel).await {
                continue;
            }
            self.mark_gone(channel, CHANNEL_DELETED).await;
            done.forgotten += 1;
        }
        done.carried = self.carry_forward(guild.id);
        let adopted = self
            .adopt_channels(
                guild.id,
                &entry,
                guild.channels.values().chain(guild.threads.iter()),
            )
            .await;
        done.tickets = adopted.tickets;
        done.reclosed = adopted.reclosed;
        tracing::info!(
            guild_id = %guild.id,
            adopted = done.tickets,
            reclosed = done.reclosed,
            forgotten = done.forgotten,
            carried_forward = done.carried,
            open = self.registry().open_tickets(Some(guild.id)).len(),
            "guild tickets ready"
        );
        done
    }

    /// Registers the ticket channels among `channels` that the registry does not know yet.
    pub(super) async fn adopt_channels<'a>(
        &self,
        guild: GuildId,
        entry: &GuildEntry,
        channels: impl Iterator<Item = &'a GuildChannel>,
    ) -> Adopted {
        let mut done = Adopted::default();
        for channel in channels {
            let thread = channel.kind == ChannelType::PrivateThread;
            let in_tickets = channel.parent_id.is_some_and(|parent| {
                if thread {
                    entry.threads_channel_id == Some(parent)
                } else {
                    channel.kind == ChannelType::Text && entry.is_ticket_category(parent)
                }
            });
            if !in_tickets {
                continue;
            }
            let Some(owner) = ticket_owner(&channel.name) else {
                continue;
            };
            if self.registry().live_ticket(channel.id).is_some() {
                continue;
            }
            match self.registry().ticket(channel.id).await {
                Ok(None) => {
                    if self.adopt_channel(guild, channel.id, owner, thread).await {
                        done.tickets += 1;
                    }
                }
                // Closed by an older version (which marked it closed before posting anything),
                // and the channel is still here: close it again, archive first.
                Ok(Some(ticket)) if ticket.is_done() && ticket.close.is_none() => {
                    if self.reclose(channel.id).await {
                        done.reclosed += 1;
                    }
                }
                Ok(Some(_)) => {}
                Err(err) => {
                    tracing::error!(error = %err, channel_id = %channel.id, "cannot read the registry");
                }
            }
        }
        done
    }

    /// Whether the ticket thread `channel` is gone (Discord says it knows no such channel).
    async fn thread_is_gone(&self, channel: ChannelId) -> bool {
        match channel.to_channel(self.http()).await {
            Ok(_) => false,
            Err(err) if is_unknown(&err) => true,
            Err(err) => {
                tracing::warn!(error = %err, channel_id = %channel, "cannot check the ticket thread; kept open");
                false
            }
        }
    }

    async fn adopt_channel(
        &self,
        guild: GuildId,
        channel: ChannelId,
        owner: UserId,
        thread: bool,
    ) -> bool {
        if owner.get() < SMALLEST_SNOWFLAKE {
            tracing::debug!(channel_id = %channel, "a ticket-like channel named after no user: not adopted");
            return false;
        }
        match self.inner.members.lookup(guild, owner).await {
            Ok(Membership::Member(_)) => {}
            Ok(Membership::NotMember) => {
                tracing::info!(channel_id = %channel, owner_id = %owner, "a ticket-like channel whose user is not a member: not adopted");
                return false;
            }
            Err(err) => {
                tracing::warn!(error = %err, channel_id = %channel, "cannot check the ticket channel's owner; not adopted now");
                return false;
            }
        }
        // The channel's ID says when it was made; activity starts now, so that adoption does
        // not make every old ticket idle at once.
        let mut ticket = TicketEntry::opened(guild, owner, channel.created_at());
        ticket.last_activity = Timestamp::now();
        ticket.thread = thread;
        match self.registry().put_ticket(channel, ticket).await {
            Ok(()) => {
                tracing::info!(channel_id = %channel, owner_id = %owner, "adopted a ticket channel the registry did not know");
                true
            }
            Err(err) => {
                tracing::error!(error = %err, channel_id = %channel, "cannot adopt a ticket channel");
                false
            }
        }
    }

    async fn reclose(&self, channel: ChannelId) -> bool {
        let result = self
            .registry()
            .update_ticket(channel, |t| {
                if !t.is_done() || t.close.is_some() {
                    return false;
                }
                t.status = TicketStatus::Closing;
                t.close = Some(Default::default());
                true
            })
            .await;
        match result {
            Ok(Some((_, true))) => {
                self.carry_forward_one(channel);
                true
            }
            Ok(_) => false,
            Err(err) => {
                tracing::error!(error = %err, channel_id = %channel, "cannot close again a ticket whose channel survived");
                false
            }
        }
    }
}
