//! Finding what `/setup` creates in a guild, the Tickets category and the Support role, by name,
//! as Discord has them now: both `/setup` and `/create-ticket` look them up here.
//!
//! The lookup is two REST calls, one for the channels and one for the roles, and the roles call
//! is made only when asked for: `/create-ticket` first looks for the user's existing ticket in
//! the same channel list and often needs no roles at all.

use std::collections::HashMap;

use serenity::all::{ChannelId, ChannelType, GuildChannel, GuildId, Http, RoleId};

use super::{SUPPORT_ROLE, TICKETS_CATEGORY};

/// What `/setup` made in a guild, each `None` when missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketSetup {
    /// The Tickets category (its name compared without regard to ASCII case).
    pub category: Option<ChannelId>,
    /// The Support role (its name compared exactly).
    pub support_role: Option<RoleId>,
}

/// A guild's channels, fetched from Discord (not the cache, which may lag behind changes made
/// by admins or a channel created a moment ago).
#[derive(Debug)]
pub struct GuildChannels {
    guild_id: GuildId,
    channels: HashMap<ChannelId, GuildChannel>,
}

impl GuildChannels {
    /// Asks Discord for the guild's channels (one REST call).
    pub async fn fetch(http: &Http, guild_id: GuildId) -> serenity::Result<Self> {
        let channels = guild_id.channels(http).await?;
        Ok(Self { guild_id, channels })
    }

    /// The channel called exactly `name`, if any.
    pub fn named(&self, name: &str) -> Option<ChannelId> {
        self.channels
            .values()
            .find(|c| c.name == name)
            .map(|c| c.id)
    }

    /// The Tickets category, if any.
    pub fn tickets_category(&self) -> Option<ChannelId> {
        self.channels
            .values()
            .find(|c| {
                c.kind == ChannelType::Category && c.name.eq_ignore_ascii_case(TICKETS_CATEGORY)
            })
            .map(|c| c.id)
    }

    /// The Tickets category among these channels and the Support role among the guild's roles
    /// (asking Discord for the roles: one REST call).
    pub async fn ticket_setup(&self, http: &Http) -> serenity::Result<TicketSetup> {
        let roles = self.guild_id.roles(http).await?;
        let support_role = roles
            .values()
            .find(|r| r.name == SUPPORT_ROLE)
            .map(|r| r.id);
        Ok(TicketSetup {
            category: self.tickets_category(),
            support_role,
        })
    }
}
