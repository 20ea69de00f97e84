//! Actions on channels and roles: made by an administrator (silently, as a test arranges a
//! guild) or by the bot (checked against Discord's limits and the bot's permissions, then told
//! to it over the gateway, as Discord does), changed, deleted; DMs opened; typing shown;
//! members and their roles listed and changed. A thread is a channel too: changing or deleting
//! one is told as THREAD_UPDATE or THREAD_DELETE (the rest of threads is in
//! [`crate::world::threads`]).

use std::time::Instant;

use crate::{
    model::{
        channel::{Channel, ChannelKind, ChannelPatch, DmChannel, NewChannel, Overwrite},
        error::ApiError,
        event::{Event, MemberUpdate, RoleCreate, RoleDelete, ThreadDelete},
        ids::BOT_ID,
        limits::{CATEGORY_LIMIT, GUILD_CHANNEL_LIMIT, TYPING_LASTS},
        member::Member,
        query::MembersQuery,
        role::{NewRole, Role},
        user::persona_by_id,
    },
    world::World,
};

impl World {
    /// Adds a channel to guild `guild` as an administrator would, telling nobody but the page
    /// (tests arrange a guild before the bot connects); `None` when there is no such guild.
    pub fn add_channel(
        &mut self,
        guild: u64,
        name: &str,
        kind: ChannelKind,
        parent: Option<u64>,
        overwrites: Vec<Overwrite>,
    ) -> Option<u64> {
        self.guild(guild)?;
        let id = self.next_id();
        let channel = Channel::new(id, guild, kind, name, parent, overwrites);
        self.guild_mut(guild)?.channels.push(channel);
        self.page_changed(None);
        Some(id)
    }

    /// `POST /guilds/{id}/channels`: the bot makes a channel, within Discord's limits.
    pub fn create_channel(&mut self, guild: u64, body: NewChannel) -> Result<Channel, ApiError> {
        let found = self.guild(guild).ok_or(ApiError::NotFound)?;
        if !found.bot_can_manage_channels {
            return Err(ApiError::MissingPermissions);
        }
        // Threads are not counted: Discord limits them apart.
        if found.channels.iter().filter(|c| !c.is_thread()).count() >= GUILD_CHANNEL_LIMIT {
            return Err(ApiError::TooManyChannels);
        }
        if body
            .parent_id
            .is_some_and(|parent| found.channels_in(parent) >= CATEGORY_LIMIT)
        {
            return Err(ApiError::category_full());
        }
        let id = self.next_id();
        let mut channel = Channel::new(
            id,
            guild,
            body.kind.unwrap_or_default(),
            body.name.as_deref().unwrap_or("channel"),
            body.parent_id,
            body.permission_overwrites,
        );
        channel.topic = body.topic;
        self.guild_mut(guild)
            .ok_or(ApiError::NotFound)?
            .channels
            .push(channel.clone());
        // Real Discord tells the bot over the gateway too.
        self.send_event(Event::ChannelCreate(Box::new(channel.clone())));
        Ok(channel)
    }

    /// `PATCH /channels/{id}`: the fields the body names are replaced. For a thread, its
    /// archived, locked, auto-archive and invitable flags too (locking, or unarchiving a locked
    /// thread, needs Manage Threads; unarchiving one within the active thread limit), told as
    /// THREAD_UPDATE.
    pub fn update_channel(&mut self, id: u64, patch: ChannelPatch) -> Result<Channel, ApiError> {
        let found = self
            .guild_of(id)
            .and_then(|g| g.channel(id).map(|c| (g, c)));
        if let Some((guild, thread)) = found.filter(|(_, c)| c.is_thread()) {
            let manages =
                patch.locked.is_some() || (thread.locked() && patch.archived == Some(false));
            if manages && !guild.bot_can_manage_threads {
                return Err(ApiError::MissingPermissions);
            }
            if thread.archived() && patch.archived == Some(false) && guild.at_thread_limit() {
                return Err(ApiError::TooManyThreads);
            }
        }
        self.change_channel(id, |channel| channel.apply(patch))
    }

    /// `PUT /channels/{id}/permissions/{overwrite}`.
    pub fn set_overwrite(&mut self, id: u64, overwrite: Overwrite) -> Result<(), ApiError> {
        self.change_channel(id, |channel| channel.set_overwrite(overwrite))
            .map(drop)
    }

    /// `DELETE /channels/{id}/permissions/{overwrite}`.
    pub fn delete_overwrite(&mut self, id: u64, overwrite: u64) -> Result<(), ApiError> {
        self.change_channel(id, |channel| channel.remove_overwrite(overwrite))
            .map(drop)
    }

    /// Changes guild channel `id` and tells the bot (CHANNEL_UPDATE, or THREAD_UPDATE).
    pub(super) fn change_channel(
        &mut self,
        id: u64,
        change: impl FnOnce(&mut Channel),
    ) -> Result<Channel, ApiError> {
        let channel = self
            .guild_of_mut(id)
            .and_then(|g| g.channel_mut(id))
            .ok_or(ApiError::UnknownChannel)?;
        change(channel);
        let updated = channel.clone();
        let event = if updated.is_thread() {
            Event::ThreadUpdate(Box::new(updated.clone()))
        } else {
            Event::ChannelUpdate(Box::new(updated.clone()))
        };
        self.send_event(event);
        self.page_changed(None);
        Ok(updated)
    }

    /// Deletes guild channel `id` (by the bot, or an administrator) and tells the bot
    /// (CHANNEL_DELETE); `None` when there is no such channel. Its messages stay in the record,
    /// for tests reading what was said.
    pub fn delete_channel(&mut self, id: u64) -> Option<Channel> {
        let guild = self.guild_of_mut(id)?;
        let index = guild.channels.iter().position(|c| c.id == id)?;
        let removed = guild.channels.remove(index);
        guild.thread_members.remove(&id);
        // A channel's threads go with it (Discord says nothing more than CHANNEL_DELETE).
        let threads: Vec<u64> = guild
            .channels
            .iter()
            .filter(|c| c.is_thread() && c.parent_id == Some(id))
            .map(|c| c.id)
            .collect();
        guild.channels.retain(|c| !threads.contains(&c.id));
        for thread in &threads {
            guild.thread_members.remove(thread);
        }
        self.typing_until.remove(&id);
        let event = if removed.is_thread() {
            Event::ThreadDelete(ThreadDelete {
                id,
                guild_id: removed.guild_id,
                parent_id: removed.parent_id.unwrap_or_default(),
                kind: removed.kind,
            })
        } else {
            Event::ChannelDelete(Box::new(removed.clone()))
        };
        self.send_event(event);
        Some(removed)
    }

    /// `POST /users/@me/channels`: the DM channel with a persona, opened once.
    pub fn open_dm(&mut self, recipient: u64) -> Result<DmChannel, ApiError> {
        if persona_by_id(recipient).is_none() {
            return Err(ApiError::UnknownUser);
        }
        if let Some(existing) = self.dm_channel_with(recipient) {
            return Ok(existing.clone());
        }
        let channel = DmChannel::new(self.next_id(), recipient);
        self.dm_channels.push(channel.clone());
        Ok(channel)
    }

    /// `POST /channels/{id}/typing`: the bot shows "typing" there for a while.
    pub fn start_typing(&mut self, channel: u64, now: Instant) -> Result<(), ApiError> {
        if self.channel(channel).is_none() {
            return Err(ApiError::UnknownChannel);
        }
        self.typing_until.insert(channel, now + TYPING_LASTS);
        self.page_changed(Some(channel));
        Ok(())
    }

    /// Whether the bot shows "typing" in `channel` at `now`.
    pub fn bot_typing(&self, channel: u64, now: Instant) -> bool {
        self.typing_until
            .get(&channel)
            .is_some_and(|until| *until > now)
    }

    /// Adds role `name` to guild `guild` as an administrator would (the Support persona gets
    /// one named "Support"), telling nobody.
    pub fn add_role(&mut self, guild: u64, name: &str) -> Option<u64> {
        self.guild(guild)?;
        let id = self.next_id();
        self.guild_mut(guild)?.add_role(Role::new(id, name));
        Some(id)
    }

    /// `POST /guilds/{id}/roles`: the bot makes a role (GUILD_ROLE_CREATE).
    pub fn create_role(&mut self, guild: u64, body: NewRole) -> Result<Role, ApiError> {
        let found = self.guild(guild).ok_or(ApiError::NotFound)?;
        if !found.bot_can_manage_roles {
            return Err(ApiError::MissingPermissions);
        }
        let role = Role::new(self.next_id(), body.name.as_deref().unwrap_or("new role"));
        self.guild_mut(guild)
            .ok_or(ApiError::NotFound)?
            .add_role(role.clone());
        self.send_event(Event::GuildRoleCreate(Box::new(RoleCreate {
            guild_id: guild,
            role: role.clone(),
        })));
        Ok(role)
    }

    /// Deletes role `id` of guild `guild` from the guild and its members and tells the bot
    /// (GUILD_ROLE_DELETE); `false` when there is no such role.
    pub fn delete_role(&mut self, guild: u64, id: u64) -> bool {
        let removed = self.guild_mut(guild).is_some_and(|g| g.remove_role(id));
        if removed {
            self.send_event(Event::GuildRoleDelete(RoleDelete {
                guild_id: guild,
                role_id: id,
            }));
        }
        removed
    }

    /// `PUT` (`add`) or `DELETE /guilds/{id}/members/{user}/roles/{role}`; a change is told
    /// to the bot (GUILD_MEMBER_UPDATE, to sessions with the GUILD_MEMBERS intent).
    pub fn set_member_role(
        &mut self,
        guild: u64,
        user: u64,
        role: u64,
        add: bool,
    ) -> Result<(), ApiError> {
        let guild = self.guild_mut(guild).ok_or(ApiError::NotFound)?;
        if !guild.roles.iter().any(|r| r.id == role) {
            return Err(ApiError::UnknownRole);
        }
        let member = guild
            .members
            .get_mut(&user)
            .ok_or(ApiError::UnknownMember)?;
        let had = member.roles.contains(&role);
        if had == add {
            return Ok(());
        }
        member.roles.retain(|r| *r != role);
        if add {
            member.roles.push(role);
        }
        let update = MemberUpdate {
            guild_id: guild.id,
            member: guild.member(user),
        };
        self.send_event(Event::GuildMemberUpdate(Box::new(update)));
        self.page_changed(None);
        Ok(())
    }

    /// `GET /guilds/{id}/members`: a page of the personas' member objects, by user ID; Missing
    /// Access (403, 50001) when the bot's application lacks the Server Members intent, as
    /// Discord answers.
    pub fn list_members(&self, guild: u64, query: MembersQuery) -> Result<Vec<Member>, ApiError> {
        let guild = self.guild(guild).ok_or(ApiError::NotFound)?;
        if !self.members_intent {
            return Err(ApiError::MissingAccess);
        }
        let members = guild.members.keys().map(|id| (*id, guild.member(*id)));
        Ok(query.page(members.collect()))
    }

    /// Takes the Server Members intent away from the bot's application: from then on listing
    /// a guild's members is refused, and so is an IDENTIFY that asks for GUILD_MEMBERS.
    pub fn revoke_members_intent(&mut self) {
        self.members_intent = false;
    }

    /// Whether the bot's application has the Server Members intent.
    pub fn members_intent(&self) -> bool {
        self.members_intent
    }

    /// `GET /guilds/{id}/members/{user}`: a persona's or the bot's member object.
    pub fn guild_member(
        &self,
        guild: u64,
        user: u64,
    ) -> Result<crate::model::member::Member, ApiError> {
        let guild = self.guild(guild).ok_or(ApiError::NotFound)?;
        if persona_by_id(user).is_none() && user != BOT_ID {
            return Err(ApiError::UnknownMember);
        }
        Ok(guild.member(user))
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::mpsc;

    use super::*;
    use crate::model::{
        event::Dispatch,
        ids::{ADMIN_ID, GUILD_ID, MEMBER_A_ID, MEMBER_B_ID, SUPPORT_ID},
    };

    fn connected() -> (World, mpsc::UnboundedReceiver<Dispatch>) {
        let mut world = World::new();
        let (tx, rx) = mpsc::unbounded_channel();
        world.gateways.push(crate::world::Session::all(tx));
        (world, rx)
    }

    fn names(rx: &mut mpsc::UnboundedReceiver<Dispatch>) -> Vec<String> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .map(|d| d.name)
            .collect()
    }

    #[test]
    fn the_bot_makes_changes_and_deletes_a_channel_and_is_told_each_time() {
        let (mut world, mut rx) = connected();
        let created = world
            .create_channel(
                GUILD_ID,
                NewChannel {
                    name: Some("ticket".to_owned()),
                    ..NewChannel::default()
                },
            )
            .unwrap();
        world
            .update_channel(
                created.id,
                ChannelPatch {
                    name: Some("renamed".to_owned()),
                    ..ChannelPatch::default()
                },
            )
            .unwrap();
        assert_eq!(world.home().channels[0].name, "renamed");
        assert!(world.delete_channel(created.id).is_some());
        assert!(world.delete_channel(created.id).is_none());
        assert_eq!(
            world.set_overwrite(
                created.id,
                Overwrite {
                    id: 1,
                    kind: crate::model::channel::OverwriteKind::Role,
                    allow: 0,
                    deny: 0
                }
            ),
            Err(ApiError::UnknownChannel)
        );
        assert_eq!(
            names(&mut rx),
            ["CHANNEL_CREATE", "CHANNEL_UPDATE", "CHANNEL_DELETE"]
        );
    }

    #[test]
    fn channel_limits_and_a_revoked_permission_are_discords_refusals() {
        let mut world = World::new();
        let category = world
            .add_channel(GUILD_ID, "Tickets", ChannelKind::Category, None, vec![])
            .unwrap();
        for n in 0..CATEGORY_LIMIT {
            world.add_channel(
                GUILD_ID,
                &n.to_string(),
                ChannelKind::Text,
                Some(category),
                vec![],
            );
        }
        let in_category = NewChannel {
            parent_id: Some(category),
            ..NewChannel::default()
        };
        assert_eq!(
            world.create_channel(GUILD_ID, in_category).unwrap_err(),
            ApiError::category_full()
        );
        while world.home().channels.len() < GUILD_CHANNEL_LIMIT {
            world.add_channel(GUILD_ID, "x", ChannelKind::Text, None, vec![]);
        }
        assert_eq!(
            world.create_channel(GUILD_ID, NewChannel::default()),
            Err(ApiError::TooManyChannels)
        );
        world.revoke_manage_channels();
        world.revoke_manage_roles();
        assert_eq!(
            world.create_channel(GUILD_ID, NewChannel::default()),
            Err(ApiError::MissingPermissions)
        );
        assert_eq!(
            world.create_role(GUILD_ID, NewRole::default()),
            Err(ApiError::MissingPermissions)
        );
        assert_eq!(
            world.create_channel(1, NewChannel::default()),
            Err(ApiError::NotFound),
            "no such guild"
        );
    }

    #[test]
    fn the_member_list_comes_by_user_id_a_page_at_a_time_until_the_intent_is_taken_away() {
        let (mut world, _rx) = connected();
        let team = world.create_role(GUILD_ID, NewRole::default()).unwrap();
        world
            .set_member_role(GUILD_ID, MEMBER_B_ID, team.id, true)
            .unwrap();
        let page = |world: &World, limit, after| {
            let query = MembersQuery { limit, after };
            let members = world.list_members(GUILD_ID, query).unwrap();
            members
                .iter()
                .map(|m| (m.id(), m.roles.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            page(&world, 1000, 0),
            [
                (ADMIN_ID, vec![]),
                (SUPPORT_ID, vec![]),
                (MEMBER_A_ID, vec![]),
                (MEMBER_B_ID, vec![team.id])
            ]
        );
        assert_eq!(
            page(&world, 2, SUPPORT_ID),
            [(MEMBER_A_ID, vec![]), (MEMBER_B_ID, vec![team.id])]
        );
        assert!(page(&world, 5, MEMBER_B_ID).is_empty());
        world.revoke_members_intent();
        assert_eq!(
            world.list_members(GUILD_ID, MembersQuery { limit: 1, after: 0 }),
            Err(ApiError::MissingAccess)
        );
        assert_eq!(
            world.list_members(1, MembersQuery { limit: 1, after: 0 }),
            Err(ApiError::NotFound),
            "no such guild"
        );
    }

    #[test]
    fn roles_are_made_given_taken_and_deleted() {
        let (mut world, mut rx) = connected();
        let support = world
            .create_role(
                GUILD_ID,
                NewRole {
                    name: Some("Support".to_owned()),
                },
            )
            .unwrap();
        assert_eq!(world.home().roles_of(SUPPORT_ID), [support.id]);
        world
            .set_member_role(GUILD_ID, MEMBER_A_ID, support.id, true)
            .unwrap();
        assert_eq!(
            world.guild_member(GUILD_ID, MEMBER_A_ID).unwrap().roles,
            [support.id]
        );
        world
            .set_member_role(GUILD_ID, MEMBER_A_ID, support.id, false)
            .unwrap();
        assert_eq!(
            world.set_member_role(GUILD_ID, MEMBER_A_ID, 1, true),
            Err(ApiError::UnknownRole)
        );
        assert_eq!(
            world.set_member_role(GUILD_ID, BOT_ID, support.id, true),
            Err(ApiError::UnknownMember)
        );
        assert_eq!(
            world.guild_member(GUILD_ID, 7),
            Err(ApiError::UnknownMember)
        );
        assert!(world.delete_role(GUILD_ID, support.id));
        assert!(!world.delete_role(GUILD_ID, support.id));
        assert!(world.home().roles_of(SUPPORT_ID).is_empty());
        assert_eq!(
            names(&mut rx),
            [
                "GUILD_ROLE_CREATE",
                "GUILD_MEMBER_UPDATE",
                "GUILD_MEMBER_UPDATE",
                "GUILD_ROLE_DELETE"
            ],
            "member a given the role, then without it"
        );
    }

    #[test]
    fn a_dm_is_opened_once_with_a_persona_only_and_typing_fades() {
        let mut world = World::new();
        let dm = world.open_dm(MEMBER_A_ID).unwrap();
        assert_eq!(world.open_dm(MEMBER_A_ID).unwrap().id, dm.id);
        assert_eq!(world.open_dm(7), Err(ApiError::UnknownUser));
        let now = Instant::now();
        world.start_typing(dm.id, now).unwrap();
        assert!(world.bot_typing(dm.id, now));
        assert!(!world.bot_typing(dm.id, now + TYPING_LASTS));
        assert_eq!(world.start_typing(1, now), Err(ApiError::UnknownChannel));
    }
}
