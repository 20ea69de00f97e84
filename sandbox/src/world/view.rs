//! What a person sees: the channels (with the categories of the channels they see, and the
//! threads they may see), in every guild or in one, the messages of one channel (ephemeral
//! answers only their own), their roles.

use crate::{
    model::channel::{ChannelKind, ChannelRef},
    world::{error::SandboxError, state::StoredMessage, World},
};

impl World {
    /// The channels `user` sees, the guilds' first, then their DMs with the bot. Discord lists
    /// a category whose channels you see even when the category itself is hidden.
    pub fn channels_seen_by(&self, user: u64) -> Vec<ChannelRef<'_>> {
        self.channels_seen_in(user, None)
    }

    /// The channels `user` sees in guild `guild` (every guild for `None`), then their DMs with
    /// the bot.
    pub fn channels_seen_in(&self, user: u64, guild: Option<u64>) -> Vec<ChannelRef<'_>> {
        let all: Vec<ChannelRef<'_>> = self
            .guilds
            .values()
            .filter(|g| guild.is_none_or(|id| g.id == id))
            .flat_map(|g| g.channels.iter().map(ChannelRef::Guild))
            .chain(self.dm_channels.iter().map(ChannelRef::Dm))
            .collect();
        let seen: Vec<ChannelRef<'_>> = all
            .iter()
            .copied()
            .filter(|c| self.can_view(user, *c))
            .collect();
        let parent_of_seen = |id: u64| {
            seen.iter()
                .any(|c| matches!(c, ChannelRef::Guild(g) if g.parent_id == Some(id)))
        };
        all.into_iter()
            .filter(|c| {
                seen.iter().any(|s| s.id() == c.id())
                    || (c.kind() == ChannelKind::Category && parent_of_seen(c.id()))
            })
            .collect()
    }

    /// The messages of `channel` that `user` sees, oldest first; an error when they cannot see
    /// the channel.
    pub fn messages_seen_by(
        &self,
        user: u64,
        channel: u64,
    ) -> Result<Vec<&StoredMessage>, SandboxError> {
        if !self.can_see(user, channel) {
            return Err(SandboxError::UnknownChannel(channel));
        }
        Ok(self
            .messages_in(channel)
            .iter()
            .filter(|m| m.only_for.is_none_or(|u| u == user))
            .collect())
    }

    /// The names of `user`'s roles in the sandbox's guild.
    pub fn role_names(&self, user: u64) -> Vec<String> {
        self.role_names_in(self.home().id, user)
    }

    /// The names of `user`'s roles in guild `guild` (none in a guild there is not).
    pub fn role_names_in(&self, guild: u64, user: u64) -> Vec<String> {
        let Some(guild) = self.guild(guild) else {
            return Vec::new();
        };
        let ids = guild.roles_of(user);
        guild
            .roles
            .iter()
            .filter(|r| ids.contains(&r.id))
            .map(|r| r.name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        channel::{Overwrite, OverwriteKind},
        ids::{GUILD_ID, MEMBER_A_ID, MEMBER_B_ID, SUPPORT_ID},
        message::MessageSpec,
        permissions::VIEW_CHANNEL,
    };

    #[test]
    fn a_hidden_category_shows_when_a_channel_in_it_is_seen() {
        let mut world = World::new();
        let hidden = vec![Overwrite {
            id: GUILD_ID,
            kind: OverwriteKind::Role,
            allow: 0,
            deny: VIEW_CHANNEL,
        }];
        let mine = vec![
            hidden[0].clone(),
            Overwrite {
                id: MEMBER_A_ID,
                kind: OverwriteKind::Member,
                allow: VIEW_CHANNEL,
                deny: 0,
            },
        ];
        let category = world
            .add_channel(GUILD_ID, "Tickets", ChannelKind::Category, None, hidden)
            .unwrap();
        let ticket = world
            .add_channel(GUILD_ID, "ticket", ChannelKind::Text, Some(category), mine)
            .unwrap();
        let ids = |user| -> Vec<u64> {
            world
                .channels_seen_by(user)
                .iter()
                .map(ChannelRef::id)
                .collect()
        };
        assert_eq!(ids(MEMBER_A_ID), [category, ticket]);
        assert!(ids(MEMBER_B_ID).is_empty());
        assert_eq!(
            world.messages_seen_by(MEMBER_B_ID, ticket).unwrap_err(),
            SandboxError::UnknownChannel(ticket)
        );
    }

    #[test]
    fn an_ephemeral_answer_is_seen_by_its_user_only() {
        let mut world = World::new();
        let general = world
            .add_channel(GUILD_ID, "general", ChannelKind::Text, None, vec![])
            .unwrap();
        world.store_human_message(MessageSpec::human(general, MEMBER_A_ID, "hi"));
        let answer = world.bot_message(general, Default::default(), vec![]);
        world.store_message(answer, Some(MEMBER_A_ID));
        assert_eq!(
            world.messages_seen_by(MEMBER_A_ID, general).unwrap().len(),
            2
        );
        assert_eq!(
            world.messages_seen_by(MEMBER_B_ID, general).unwrap().len(),
            1
        );
        world.add_role(GUILD_ID, "Support");
        assert_eq!(world.role_names(SUPPORT_ID), ["Support"]);
    }

    #[test]
    fn each_guild_shows_its_own_channels_and_roles() {
        use crate::model::ids::guild_id;
        let mut world = World::with_guilds(2);
        let first = world
            .add_channel(GUILD_ID, "general", ChannelKind::Text, None, vec![])
            .unwrap();
        let second = world
            .add_channel(guild_id(1), "general", ChannelKind::Text, None, vec![])
            .unwrap();
        world.add_role(guild_id(1), "Support");
        let ids = |guild| -> Vec<u64> {
            world
                .channels_seen_in(MEMBER_A_ID, guild)
                .iter()
                .map(ChannelRef::id)
                .collect()
        };
        assert_eq!(ids(Some(GUILD_ID)), [first]);
        assert_eq!(ids(Some(guild_id(1))), [second]);
        assert_eq!(ids(None), [first, second]);
        assert!(world.role_names(SUPPORT_ID).is_empty());
        assert_eq!(world.role_names_in(guild_id(1), SUPPORT_ID), ["Support"]);
    }
}
