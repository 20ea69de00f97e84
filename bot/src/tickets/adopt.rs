//! Adoption, when a guild becomes available: a guild set up before the registry existed gets
//! its entry (found by name, this once), ticket channels from before (`ticket-<id>` in the
//! Tickets category) are registered as open, a closed ticket whose channel survived (the bot
//! stopped during the close delay) loses its channel, and open tickets whose channel is gone
//! are marked closed.

use std::collections::HashSet;

use serenity::all::{ChannelId, ChannelType, Guild, Timestamp};

use super::Tickets;
use crate::{
    guild::{ticket_owner, LOG_CHANNEL, SUPPORT_ROLE, TICKETS_CATEGORY},
    registry::{GuildEntry, TicketEntry},
};

/// What adoption did in one guild.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Adopted {
    /// Channels registered as open tickets.
    pub tickets: usize,
    /// Channels of closed tickets deleted.
    pub deleted: usize,
    /// Open tickets whose channel was gone, marked closed.
    pub forgotten: usize,
}

impl Tickets {
    /// Brings the registry in line with `guild` as Discord sent it.
    pub async fn adopt(&self, guild: &Guild) -> Adopted {
        let mut done = Adopted::default();
        let entry = match self.registry().guild(guild.id) {
            Some(entry) => entry,
            None => match self.entry_by_name(guild).await {
                Some(entry) => entry,
                None => {
                    tracing::info!(guild_id = %guild.id, "guild tickets ready: not set up yet");
                    return done;
                }
            },
        };
        let existing: HashSet<ChannelId> = guild.channels.keys().copied().collect();
        for (channel, _) in self.registry().open_tickets(Some(guild.id)) {
            if !existing.contains(&channel) {
                self.forget_channel(channel).await;
                done.forgotten += 1;
            }
        }
        for channel in guild.channels.values() {
            if channel.kind != ChannelType::Text || channel.parent_id != Some(entry.category_id) {
                continue;
            }
            let Some(owner) = ticket_owner(&channel.name) else {
                continue;
            };
            if self.registry().is_open_ticket(channel.id) {
                continue;
            }
            match self.registry().ticket(channel.id).await {
                Ok(None) => {
                    // The channel's ID says when it was made; activity starts now, so that
                    // adoption does not make every old ticket idle at once.
                    let mut ticket = TicketEntry::opened(guild.id, owner, channel.id.created_at());
                    ticket.last_activity = Timestamp::now();
                    match self.registry().put_ticket(channel.id, ticket).await {
                        Ok(()) => {
                            tracing::info!(channel_id = %channel.id, owner_id = %owner, "adopted a ticket channel from before the registry");
                            done.tickets += 1;
                        }
                        Err(err) => {
                            tracing::error!(error = %err, channel_id = %channel.id, "cannot adopt a ticket channel");
                        }
                    }
                }
                // Closed, but the bot stopped before the delayed deletion (a close of this
                // process still has the channel in hand).
                Ok(Some(ticket)) if !ticket.is_open() && !self.is_closing(channel.id) => {
                    match channel.id.delete(self.http()).await {
                        Ok(_) => done.deleted += 1,
                        Err(err) => {
                            tracing::warn!(error = %err, channel_id = %channel.id, "cannot delete a closed ticket's channel")
                        }
                    }
                }
                Ok(Some(_)) => {}
                Err(err) => {
                    tracing::error!(error = %err, channel_id = %channel.id, "cannot read the registry");
                }
            }
        }
        tracing::info!(
            guild_id = %guild.id,
            adopted = done.tickets,
            deleted = done.deleted,
            forgotten = done.forgotten,
            open = self.registry().open_tickets(Some(guild.id)).len(),
            "guild tickets ready"
        );
        done
    }

    /// The entry of a guild set up before the registry: its category and role by name.
    async fn entry_by_name(&self, guild: &Guild) -> Option<GuildEntry> {
        let category = guild.channels.values().find(|c| {
            c.kind == ChannelType::Category && c.name.eq_ignore_ascii_case(TICKETS_CATEGORY)
        })?;
        let role = guild.roles.values().find(|r| r.name == SUPPORT_ROLE)?;
        let log = guild
            .channels
            .values()
            .find(|c| c.kind == ChannelType::Text && c.name == LOG_CHANNEL)
            .map(|c| c.id);
        let entry = GuildEntry {
            category_id: category.id,
            support_role_id: role.id,
            support_role_created: false,
            log_channel_id: log,
            panel_messages: Vec::new(),
        };
        match self.registry().put_guild(guild.id, entry.clone()).await {
            Ok(()) => {
                tracing::info!(guild_id = %guild.id, "registered the setup found by name");
                Some(entry)
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot register the guild's setup");
                None
            }
        }
    }
}
