//! One guild as it is now: its channels (threads among them, with their members), roles,
//! members (the personas), the commands the bot registered in it, and what the bot may do
//! there.

use std::collections::BTreeMap;

use crate::model::{
    channel::{Channel, ChannelKind, THREAD_MEMBER_COUNT_CAP},
    command::Command,
    guild::GuildCreate,
    ids::{BOT_ID, SUPPORT_ID},
    limits::ACTIVE_THREAD_LIMIT,
    member::Member,
    permissions::MANAGE_THREADS,
    role::Role,
    user::{User, PERSONAS},
    visibility,
};

/// Name of the role whose creation makes the Support persona a member of it.
pub const SUPPORT_ROLE: &str = "Support";

/// A guild's state.
#[derive(Debug, Clone)]
pub struct Guild {
    /// The guild ID (also its @everyone role's).
    pub id: u64,
    /// Its name in GUILD_CREATE.
    pub name: String,
    /// Its owner, who sees every channel.
    pub owner_id: u64,
    /// Its channels, in the order they were made (threads among them).
    pub channels: Vec<Channel>,
    /// Each thread's members (user ID, and when they joined), by thread ID.
    pub thread_members: BTreeMap<u64, BTreeMap<u64, String>>,
    /// Its roles besides @everyone, in the order they were made.
    pub roles: Vec<Role>,
    /// The personas' member objects, by user ID (the bot is no member with roles).
    pub members: BTreeMap<u64, Member>,
    /// The commands the bot registered in this guild.
    pub commands: Vec<Command>,
    /// Whether the bot may create channels (a test may take it away).
    pub bot_can_manage_channels: bool,
    /// Whether the bot may create roles.
    pub bot_can_manage_roles: bool,
    /// Whether the bot may manage threads (lock them, write in locked ones).
    pub bot_can_manage_threads: bool,
}

impl Guild {
    /// An empty guild with the personas as members without roles, where the bot may manage
    /// channels and roles.
    pub fn new(id: u64, name: &str, owner_id: u64) -> Self {
        Self {
            id,
            name: name.to_owned(),
            owner_id,
            channels: Vec::new(),
            thread_members: BTreeMap::new(),
            roles: Vec::new(),
            members: PERSONAS
                .iter()
                .map(|p| (p.id, Member::new(User::new(p.id, false), Vec::new())))
                .collect(),
            commands: Vec::new(),
            bot_can_manage_channels: true,
            bot_can_manage_roles: true,
            bot_can_manage_threads: true,
        }
    }

    /// Channel `id` of this guild.
    pub fn channel(&self, id: u64) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }

    /// Channel `id` of this guild, to change it.
    pub fn channel_mut(&mut self, id: u64) -> Option<&mut Channel> {
        self.channels.iter_mut().find(|c| c.id == id)
    }

    /// @everyone and the other roles.
    pub fn all_roles(&self) -> Vec<Role> {
        let mut roles = vec![Role::everyone(self.id)];
        roles.extend(self.roles.iter().cloned());
        roles
    }

    /// The role IDs of `user` (none for someone who is not a member).
    pub fn roles_of(&self, user: u64) -> &[u64] {
        self.members.get(&user).map_or(&[], |m| m.roles.as_slice())
    }

    /// The member object of `user` with the roles they have now (any user: a stranger has no
    /// roles).
    pub fn member(&self, user: u64) -> Member {
        Member::new(
            User::new(user, user == BOT_ID),
            self.roles_of(user).to_vec(),
        )
    }

    /// Whether `user` may see `channel` (permission overwrites applied, as Discord does; a
    /// thread as its parent says, a private one by its members and thread managers only).
    pub fn can_view(&self, user: u64, channel: &Channel) -> bool {
        if !channel.is_thread() {
            return visibility::can_view(
                channel,
                &self.all_roles(),
                self.roles_of(user),
                user,
                user == self.owner_id,
            );
        }
        let Some(parent) = channel.parent_id.and_then(|p| self.channel(p)) else {
            return false;
        };
        visibility::can_view_thread(
            channel.kind == ChannelKind::PrivateThread,
            self.permissions(user, parent),
            self.is_thread_member(channel.id, user),
        )
    }

    /// The permission bits of `user` in `channel` (every bit for the owner and
    /// administrators); a thread's are its parent's.
    pub fn permissions(&self, user: u64, channel: &Channel) -> u64 {
        let channel = match channel.parent_id.filter(|_| channel.is_thread()) {
            Some(parent) => self.channel(parent).unwrap_or(channel),
            None => channel,
        };
        visibility::permissions(
            channel,
            &self.all_roles(),
            self.roles_of(user),
            user,
            user == self.owner_id,
        )
    }

    /// Whether `user` may manage threads in `channel` (a thread or its parent).
    pub fn manages_threads(&self, user: u64, channel: &Channel) -> bool {
        if user == BOT_ID {
            return self.bot_can_manage_threads;
        }
        self.permissions(user, channel) & MANAGE_THREADS != 0
    }

    /// Whether `user` is a member of thread `thread`.
    pub fn is_thread_member(&self, thread: u64, user: u64) -> bool {
        self.thread_members
            .get(&thread)
            .is_some_and(|members| members.contains_key(&user))
    }

    /// The member count Discord shows for thread `thread` (it stops at 50).
    pub fn thread_member_count(&self, thread: u64) -> u8 {
        let count = self.thread_members.get(&thread).map_or(0, BTreeMap::len);
        u8::try_from(count.min(THREAD_MEMBER_COUNT_CAP)).unwrap_or(u8::MAX)
    }

    /// Its threads that are not archived.
    pub fn active_threads(&self) -> impl Iterator<Item = &Channel> {
        self.channels
            .iter()
            .filter(|c| c.is_thread() && !c.archived())
    }

    /// Whether it holds Discord's most active threads.
    pub fn at_thread_limit(&self) -> bool {
        self.active_threads().count() >= ACTIVE_THREAD_LIMIT
    }

    /// Its channels that are not threads (what `GET /guilds/{id}/channels` lists).
    pub fn plain_channels(&self) -> impl Iterator<Item = &Channel> {
        self.channels.iter().filter(|c| !c.is_thread())
    }

    /// Adds a role; the Support persona gets the role named "Support" (as an admin would give
    /// it).
    pub fn add_role(&mut self, role: Role) {
        if role.name == SUPPORT_ROLE {
            if let Some(member) = self.members.get_mut(&SUPPORT_ID) {
                member.roles.push(role.id);
            }
        }
        self.roles.push(role);
    }

    /// Removes role `id` from the guild and from its members; `false` when there is none.
    pub fn remove_role(&mut self, id: u64) -> bool {
        let Some(index) = self.roles.iter().position(|r| r.id == id) else {
            return false;
        };
        self.roles.remove(index);
        for member in self.members.values_mut() {
            member.roles.retain(|r| *r != id);
        }
        true
    }

    /// The number of channels in category `parent`.
    pub fn channels_in(&self, parent: u64) -> usize {
        self.channels
            .iter()
            .filter(|c| c.parent_id == Some(parent))
            .count()
    }

    /// The GUILD_CREATE of this guild: its channels, active threads, roles, and one member,
    /// the bot. Discord lists no other member of a large guild (past `large_threshold`) unless
    /// the bot has the privileged GUILD_MEMBERS intent and requests the member chunks, so a bot
    /// must not count on the list: it reads a member's roles from the message, or asks
    /// `GET /guilds/{id}/members/{user}`, and learns of a member from GUILD_MEMBER_UPDATE.
    pub fn guild_create(&self) -> GuildCreate {
        let mut event = GuildCreate::new(
            self.id,
            &self.name,
            self.owner_id,
            self.plain_channels().cloned().collect(),
            self.all_roles(),
            vec![self.member(BOT_ID)],
        );
        event.threads = self.active_threads().cloned().collect();
        // The personas and the bot, though only the bot is listed.
        event.member_count = self.members.len() + 1;
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        channel::{ChannelKind, Overwrite, OverwriteKind},
        ids::{ADMIN_ID, MEMBER_A_ID, MEMBER_B_ID},
        permissions::VIEW_CHANNEL,
    };

    const GUILD: u64 = 1;

    #[test]
    fn creating_support_makes_the_support_persona_a_member_and_deleting_it_takes_it_away() {
        let mut guild = Guild::new(GUILD, "g", ADMIN_ID);
        guild.add_role(Role::new(6, "Other"));
        guild.add_role(Role::new(7, SUPPORT_ROLE));
        assert_eq!(guild.roles_of(SUPPORT_ID), [7]);
        assert_eq!(guild.member(SUPPORT_ID).roles, [7]);
        assert!(guild.remove_role(7));
        assert!(!guild.remove_role(7));
        assert!(guild.roles_of(SUPPORT_ID).is_empty());
        assert!(guild.member(BOT_ID).user.unwrap().bot);
    }

    #[test]
    fn a_private_channel_is_seen_by_its_member_and_the_owner() {
        let mut guild = Guild::new(GUILD, "g", ADMIN_ID);
        let private = Channel::new(
            5,
            GUILD,
            ChannelKind::Text,
            "ticket",
            None,
            vec![
                Overwrite {
                    id: GUILD,
                    kind: OverwriteKind::Role,
                    allow: 0,
                    deny: VIEW_CHANNEL,
                },
                Overwrite {
                    id: MEMBER_A_ID,
                    kind: OverwriteKind::Member,
                    allow: VIEW_CHANNEL,
                    deny: 0,
                },
            ],
        );
        guild.channels.push(private.clone());
        assert!(guild.can_view(MEMBER_A_ID, &private));
        assert!(guild.can_view(ADMIN_ID, &private));
        assert!(!guild.can_view(MEMBER_B_ID, &private));
    }

    #[test]
    fn guild_create_lists_only_the_bot_as_a_member() {
        let guild = Guild::new(GUILD, "g", ADMIN_ID).guild_create();
        let ids: Vec<u64> = guild.members.iter().map(Member::id).collect();
        assert_eq!(ids, [BOT_ID]);
        assert_eq!(guild.roles[0].id, GUILD, "@everyone first");
    }
}
