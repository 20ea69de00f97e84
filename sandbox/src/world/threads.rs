//! Threads: the bot makes one in a text channel (`POST /channels/{id}/threads`, private unless
//! it asks for a public one; THREAD_CREATE), adds and removes its members
//! (THREAD_MEMBERS_UPDATE), lists them and a guild's active threads; a test arranges one as an
//! administrator would. Messages in a thread are a channel's messages (`channel_id` is the
//! thread's); who may write in one follows Discord:
//!
//! - in any channel, only who can see it (the bot gets 50001 Missing Access);
//! - a locked thread: only those who may manage threads (the bot, unless a test takes Manage
//!   Threads away; a person through the parent's permissions or as an administrator);
//! - an archived thread: writing unarchives it first (THREAD_UPDATE) when the writer may
//!   write in it (so a locked one only by a thread manager); otherwise it is refused
//!   (the bot gets 50083 "Thread is archived");
//! - writing never makes someone a member: the bot adds members itself, as a ticket bot does.
//!
//! Discord's limit of 1,000 active threads per guild is enforced (160006). The sandbox never
//! archives a thread by itself: `auto_archive_duration` is kept, not acted on.

use crate::{
    model::{
        channel::{
            ActiveThreads, Channel, ChannelKind, ChannelRef, NewThread, ThreadMember,
            AUTO_ARCHIVE_DURATIONS,
        },
        component::MAX_ID_CHARS,
        error::ApiError,
        event::{Event, ThreadMembersUpdate},
        ids::{ADMIN_ID, BOT_ID},
        message::now,
        user::persona_by_id,
    },
    world::{error::SandboxError, guild::Guild, World},
};

/// Why someone may not write in a channel now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteRefusal {
    /// They cannot see the channel (its permission overwrites, or a thread they are not in).
    Hidden,
    /// Archived and locked, and they do not manage threads.
    Archived,
    /// Locked, and they do not manage threads.
    Locked,
    /// Archived, and unarchiving it would pass the active thread limit.
    TooManyThreads,
}

impl World {
    /// The guild and the thread `id`; Unknown Channel when there is none, 50024 when `id` is a
    /// channel but no thread.
    fn thread(&self, id: u64) -> Result<(&Guild, &Channel), ApiError> {
        let guild = self.guild_of(id).ok_or(ApiError::UnknownChannel)?;
        let channel = guild.channel(id).ok_or(ApiError::UnknownChannel)?;
        if !channel.is_thread() {
            return Err(ApiError::WrongChannelType);
        }
        Ok((guild, channel))
    }

    /// `POST /channels/{id}/threads`: the bot makes a thread in text channel `parent` (no
    /// starting message), becomes its first member and is told (THREAD_CREATE).
    pub fn create_thread(&mut self, parent: u64, body: NewThread) -> Result<Channel, ApiError> {
        let guild_id = match self.channel(parent) {
            None => return Err(ApiError::UnknownChannel),
            Some(ChannelRef::Guild(c)) if c.kind == ChannelKind::Text => c.guild_id,
            Some(_) => return Err(ApiError::WrongChannelType),
        };
        let name = body.name.chars().count();
        if name == 0 || name > MAX_ID_CHARS {
            return Err(ApiError::invalid(
                "name",
                "BASE_TYPE_BAD_LENGTH",
                format!("Must be between 1 and {MAX_ID_CHARS} in length."),
            ));
        }
        if body.kind.is_some_and(|k| !k.is_thread()) {
            return Err(ApiError::invalid(
                "type",
                "BASE_TYPE_CHOICES",
                "Value must be one of (11, 12).",
            ));
        }
        if body
            .auto_archive_duration
            .is_some_and(|m| !AUTO_ARCHIVE_DURATIONS.contains(&m))
        {
            return Err(ApiError::invalid(
                "auto_archive_duration",
                "BASE_TYPE_CHOICES",
                "Value must be one of (60, 1440, 4320, 10080).",
            ));
        }
        if self.guild(guild_id).is_some_and(Guild::at_thread_limit) {
            return Err(ApiError::TooManyThreads);
        }
        let id = self.next_id();
        let thread = Channel::thread(id, guild_id, parent, BOT_ID, &body);
        let created = self.put_thread(thread, &[BOT_ID]);
        self.send_event(Event::ThreadCreate(Box::new(created.clone())));
        Ok(created)
    }

    /// Adds a thread named `name` to text channel `parent` as an administrator would, with
    /// `members`, telling nobody but the page (tests arrange a guild before the bot
    /// connects); `None` when `parent` is no guild channel.
    pub fn add_thread(
        &mut self,
        parent: u64,
        name: &str,
        kind: ChannelKind,
        members: &[u64],
    ) -> Option<u64> {
        let guild_id = match self.channel(parent)? {
            ChannelRef::Guild(c) => c.guild_id,
            ChannelRef::Dm(_) => return None,
        };
        let body = NewThread {
            name: name.to_owned(),
            kind: Some(kind),
            ..NewThread::default()
        };
        let thread = Channel::thread(self.next_id(), guild_id, parent, ADMIN_ID, &body);
        Some(self.put_thread(thread, members).id)
    }

    /// Stores `thread` with `members` (joined now) and returns it as stored.
    fn put_thread(&mut self, mut thread: Channel, members: &[u64]) -> Channel {
        let joined = now();
        let Some(guild) = self.guild_mut(thread.guild_id) else {
            return thread;
        };
        guild.thread_members.insert(
            thread.id,
            members.iter().map(|m| (*m, joined.clone())).collect(),
        );
        thread.member_count = Some(guild.thread_member_count(thread.id));
        guild.channels.push(thread.clone());
        self.page_changed(None);
        thread
    }

    /// `PUT /channels/{thread}/thread-members/{user}`: `user` (a person or the bot) joins the
    /// thread (THREAD_MEMBERS_UPDATE); nothing happens for a member already. Refused in an
    /// archived thread (50083), as on Discord.
    pub fn add_thread_member(&mut self, thread: u64, user: u64) -> Result<(), ApiError> {
        self.change_thread_members(thread, user, true)
    }

    /// `DELETE /channels/{thread}/thread-members/{user}`: `user` leaves the thread
    /// (THREAD_MEMBERS_UPDATE); Unknown Member when they are not in it.
    pub fn remove_thread_member(&mut self, thread: u64, user: u64) -> Result<(), ApiError> {
        self.change_thread_members(thread, user, false)
    }

    fn change_thread_members(&mut self, thread: u64, user: u64, add: bool) -> Result<(), ApiError> {
        let (guild, channel) = self.thread(thread)?;
        if channel.archived() {
            return Err(ApiError::ThreadArchived);
        }
        if persona_by_id(user).is_none() && user != BOT_ID {
            return Err(ApiError::UnknownMember);
        }
        let member = guild.is_thread_member(thread, user);
        if add == member {
            return if add {
                Ok(())
            } else {
                Err(ApiError::UnknownMember)
            };
        }
        let guild_id = guild.id;
        let guild = self.guild_mut(guild_id).ok_or(ApiError::UnknownChannel)?;
        let members = guild.thread_members.entry(thread).or_default();
        let joined = now();
        if add {
            members.insert(user, joined.clone());
        } else {
            members.remove(&user);
        }
        let member_count = guild.thread_member_count(thread);
        if let Some(channel) = guild.channel_mut(thread) {
            channel.member_count = Some(member_count);
        }
        let update = ThreadMembersUpdate {
            id: thread,
            guild_id,
            member_count,
            added_members: add
                .then(|| ThreadMember::new(thread, user, &joined))
                .into_iter()
                .collect(),
            removed_member_ids: (!add).then_some(user).into_iter().collect(),
        };
        self.send_event(Event::ThreadMembersUpdate(Box::new(update)));
        self.page_changed(None);
        Ok(())
    }

    /// `GET /channels/{thread}/thread-members`: its members, in the order of their IDs.
    pub fn thread_members(&self, thread: u64) -> Result<Vec<ThreadMember>, ApiError> {
        let (guild, _) = self.thread(thread)?;
        Ok(guild
            .thread_members
            .get(&thread)
            .into_iter()
            .flatten()
            .map(|(user, joined)| ThreadMember::new(thread, *user, joined))
            .collect())
    }

    /// `GET /channels/{thread}/thread-members/{user}`: one member; Unknown Member when they are
    /// not in it.
    pub fn thread_member(&self, thread: u64, user: u64) -> Result<ThreadMember, ApiError> {
        let (guild, _) = self.thread(thread)?;
        guild
            .thread_members
            .get(&thread)
            .and_then(|members| members.get(&user))
            .map(|joined| ThreadMember::new(thread, user, joined))
            .ok_or(ApiError::UnknownMember)
    }

    /// `GET /guilds/{id}/threads/active`: the guild's threads that are not archived, and the
    /// bot's membership of them.
    pub fn list_active_threads(&self, guild: u64) -> Result<ActiveThreads, ApiError> {
        let guild = self.guild(guild).ok_or(ApiError::NotFound)?;
        let threads: Vec<Channel> = guild.active_threads().cloned().collect();
        let members = threads
            .iter()
            .filter_map(|t| {
                let joined = guild.thread_members.get(&t.id)?.get(&BOT_ID)?;
                Some(ThreadMember::new(t.id, BOT_ID, joined))
            })
            .collect();
        Ok(ActiveThreads { threads, members })
    }

    /// Counts a message more (`1`) or less (`-1`) in `channel` when it is a thread.
    pub(super) fn count_thread_message(&mut self, channel: u64, delta: i32) {
        let Some(thread) = self
            .guild_of_mut(channel)
            .and_then(|g| g.channel_mut(channel))
            .filter(|c| c.is_thread())
        else {
            return;
        };
        let count = thread.message_count.unwrap_or(0);
        thread.message_count = Some(count.saturating_add_signed(delta));
        if delta > 0 {
            thread.total_message_sent = Some(thread.total_message_sent.unwrap_or(0) + 1);
        }
    }

    /// Whether `user` may write in `channel` now (when they can see it, unless it is a locked or
    /// archived thread); `Ok(true)` when the thread must be unarchived first. A channel the
    /// sandbox does not know (a test's) takes anyone's message.
    fn may_write(&self, user: u64, channel: u64) -> Result<bool, WriteRefusal> {
        match self.channel(channel) {
            // The bot opens DMs itself; Discord refuses a closed one (checked by the caller).
            Some(ChannelRef::Dm(_)) if user == BOT_ID => {}
            Some(found) if !self.can_view(user, found) => return Err(WriteRefusal::Hidden),
            _ => {}
        }
        let Some((guild, thread)) = self.thread(channel).ok() else {
            return Ok(false);
        };
        let manages = guild.manages_threads(user, thread);
        if thread.locked() && !manages {
            return Err(if thread.archived() {
                WriteRefusal::Archived
            } else {
                WriteRefusal::Locked
            });
        }
        if thread.archived() && guild.at_thread_limit() {
            return Err(WriteRefusal::TooManyThreads);
        }
        Ok(thread.archived())
    }

    /// Unarchives thread `id` before a message is written in it (THREAD_UPDATE).
    fn unarchive_to_write(&mut self, id: u64) {
        if let Some(thread) = self.guild_of_mut(id).and_then(|g| g.channel_mut(id)) {
            thread.set_archived(false);
            let updated = thread.clone();
            self.send_event(Event::ThreadUpdate(Box::new(updated)));
            self.page_changed(None);
        }
    }

    /// Person `user` is about to write in `channel`: refused in a thread they may not write
    /// in, and an archived thread is unarchived first.
    pub(super) fn person_writes_in(&mut self, user: u64, channel: u64) -> Result<(), SandboxError> {
        match self.may_write(user, channel) {
            Ok(unarchive) => {
                if unarchive {
                    self.unarchive_to_write(channel);
                }
                Ok(())
            }
            Err(WriteRefusal::Hidden) => Err(SandboxError::UnknownChannel(channel)),
            Err(WriteRefusal::Locked) => Err(SandboxError::ThreadLocked(channel)),
            Err(WriteRefusal::Archived | WriteRefusal::TooManyThreads) => {
                Err(SandboxError::ThreadArchived(channel))
            }
        }
    }

    /// The bot is about to post in `channel`: as [`World::person_writes_in`], with Discord's
    /// refusals.
    pub(super) fn bot_writes_in(&mut self, channel: u64) -> Result<(), ApiError> {
        match self.may_write(BOT_ID, channel) {
            Ok(unarchive) => {
                if unarchive {
                    self.unarchive_to_write(channel);
                }
                Ok(())
            }
            Err(WriteRefusal::Hidden) => Err(ApiError::MissingAccess),
            Err(WriteRefusal::Locked) => Err(ApiError::MissingPermissions),
            Err(WriteRefusal::Archived) => Err(ApiError::ThreadArchived),
            Err(WriteRefusal::TooManyThreads) => Err(ApiError::TooManyThreads),
        }
    }

    /// A moderator archives or unarchives, locks or unlocks thread `id` (what the body of a
    /// PATCH would name), without the bot's permission checks; the bot is told
    /// (THREAD_UPDATE). `false` when there is no such thread.
    pub fn moderate_thread(
        &mut self,
        id: u64,
        archived: Option<bool>,
        locked: Option<bool>,
    ) -> bool {
        if self.thread(id).is_err() {
            return false;
        }
        let patch = crate::model::channel::ChannelPatch {
            archived,
            locked,
            ..Default::default()
        };
        self.change_channel(id, |thread| thread.apply(patch))
            .is_ok()
    }

    /// Takes Manage Threads away from the bot in guild `guild`: it may no longer lock threads
    /// or write in locked ones.
    pub fn revoke_manage_threads(&mut self, guild: u64) {
        if let Some(guild) = self.guild_mut(guild) {
            guild.bot_can_manage_threads = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tokio::sync::mpsc;

    use super::*;
    use crate::model::{
        channel::{ChannelPatch, Overwrite, OverwriteKind},
        event::Dispatch,
        ids::{GUILD_ID, MEMBER_A_ID, MEMBER_B_ID, SUPPORT_ID},
        limits::ACTIVE_THREAD_LIMIT,
        message::{MessageBody, MessageSpec},
        permissions::MANAGE_THREADS,
    };

    fn connected() -> (World, u64, mpsc::UnboundedReceiver<Dispatch>) {
        let mut world = World::new();
        let parent = world
            .add_channel(GUILD_ID, "tickets", ChannelKind::Text, None, vec![])
            .unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        world.gateways.push(crate::world::Session::all(tx));
        (world, parent, rx)
    }

    fn names(rx: &mut mpsc::UnboundedReceiver<Dispatch>) -> Vec<String> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .map(|d| d.name)
            .collect()
    }

    fn private(name: &str) -> NewThread {
        serde_json::from_value(json!({ "name": name, "type": 12, "invitable": false })).unwrap()
    }

    fn text(content: &str) -> MessageBody {
        MessageBody {
            content: Some(content.to_owned()),
            ..MessageBody::default()
        }
    }

    #[test]
    fn the_bot_makes_a_private_thread_adds_a_member_and_only_members_and_managers_see_it() {
        let (mut world, parent, mut rx) = connected();
        let thread = world
            .create_thread(parent, private("ticket-alice"))
            .unwrap();
        world.add_thread_member(thread.id, MEMBER_A_ID).unwrap();
        world.add_thread_member(thread.id, MEMBER_A_ID).unwrap();

        assert_eq!(thread.kind, ChannelKind::PrivateThread);
        assert_eq!(
            (thread.owner_id, thread.member_count),
            (Some(BOT_ID), Some(1))
        );
        assert_eq!(names(&mut rx), ["THREAD_CREATE", "THREAD_MEMBERS_UPDATE"]);
        let members: Vec<u64> = world
            .thread_members(thread.id)
            .unwrap()
            .iter()
            .map(|m| m.user_id)
            .collect();
        assert_eq!(members, [BOT_ID, MEMBER_A_ID]);
        assert_eq!(
            world.thread_member(thread.id, MEMBER_A_ID).unwrap().user_id,
            MEMBER_A_ID
        );
        assert_eq!(
            world.thread_member(thread.id, MEMBER_B_ID),
            Err(ApiError::UnknownMember)
        );
        assert!(world.can_see(MEMBER_A_ID, thread.id));
        assert!(!world.can_see(MEMBER_B_ID, thread.id));
        assert!(
            !world.can_see(SUPPORT_ID, thread.id),
            "no Manage Threads yet"
        );
        assert!(world.can_see(ADMIN_ID, thread.id));
        let support = world.add_role(GUILD_ID, "Support").unwrap();
        let manage = Overwrite {
            id: support,
            kind: OverwriteKind::Role,
            allow: MANAGE_THREADS,
            deny: 0,
        };
        world.set_overwrite(parent, manage).unwrap();
        assert!(world.can_see(SUPPORT_ID, thread.id), "a thread manager");
        world.remove_thread_member(thread.id, MEMBER_A_ID).unwrap();
        assert!(!world.can_see(MEMBER_A_ID, thread.id));
        assert_eq!(
            world.remove_thread_member(thread.id, MEMBER_A_ID),
            Err(ApiError::UnknownMember)
        );
        assert_eq!(
            world.add_thread_member(thread.id, 7),
            Err(ApiError::UnknownMember)
        );
        let channels: Vec<&Channel> = world.home().plain_channels().collect();
        assert_eq!(channels.len(), 1, "a thread is no plain channel");
        assert_eq!(world.home().guild_create().threads.len(), 1);
    }

    #[test]
    fn a_thread_is_refused_outside_a_text_channel_or_with_a_bad_body() {
        let (mut world, parent, _rx) = connected();
        let category = world
            .add_channel(GUILD_ID, "Tickets", ChannelKind::Category, None, vec![])
            .unwrap();
        let thread = world.create_thread(parent, private("t")).unwrap();
        assert_eq!(
            world.create_thread(category, private("t")),
            Err(ApiError::WrongChannelType)
        );
        assert_eq!(
            world.create_thread(thread.id, private("t")),
            Err(ApiError::WrongChannelType),
            "no thread in a thread"
        );
        assert_eq!(
            world.create_thread(1, private("t")),
            Err(ApiError::UnknownChannel)
        );
        for body in [
            json!({ "name": "" }),
            json!({ "name": "t", "type": 0 }),
            json!({ "name": "t", "auto_archive_duration": 5 }),
        ] {
            let body: NewThread = serde_json::from_value(body.clone()).unwrap();
            assert!(matches!(
                world.create_thread(parent, body),
                Err(ApiError::InvalidField { .. })
            ));
        }
        assert_eq!(
            world.thread_members(parent),
            Err(ApiError::WrongChannelType)
        );
    }

    #[test]
    fn messages_in_a_thread_are_counted_and_an_archived_thread_unarchives_when_written_in() {
        let (mut world, parent, mut rx) = connected();
        let thread = world.create_thread(parent, private("t")).unwrap().id;
        world.add_thread_member(thread, MEMBER_A_ID).unwrap();
        let posted = world.post_message(thread, text("hello"), vec![]).unwrap();
        assert_eq!(posted.channel_id, thread);
        let archive: ChannelPatch = serde_json::from_value(json!({ "archived": true })).unwrap();
        world.update_channel(thread, archive).unwrap();
        assert_eq!(
            world.add_thread_member(thread, MEMBER_B_ID),
            Err(ApiError::ThreadArchived)
        );
        assert!(world.home().active_threads().next().is_none());
        world
            .send_message(MessageSpec::human(thread, MEMBER_A_ID, "still there?"))
            .unwrap();
        let stored = world.home().channel(thread).unwrap();
        assert!(!stored.archived(), "writing unarchived it");
        assert_eq!(
            (stored.message_count, stored.total_message_sent),
            (Some(2), Some(2))
        );
        world.delete_message(thread, posted.id).unwrap();
        assert_eq!(world.home().channel(thread).unwrap().message_count, Some(1));
        assert_eq!(
            names(&mut rx),
            [
                "THREAD_CREATE",
                "THREAD_MEMBERS_UPDATE",
                "MESSAGE_CREATE",
                "THREAD_UPDATE",
                "THREAD_UPDATE",
                "MESSAGE_CREATE",
                "MESSAGE_DELETE"
            ]
        );
    }

    #[test]
    fn a_locked_thread_takes_messages_from_thread_managers_only() {
        let (mut world, parent, _rx) = connected();
        let thread = world.create_thread(parent, private("t")).unwrap().id;
        world.add_thread_member(thread, MEMBER_A_ID).unwrap();
        let lock: ChannelPatch = serde_json::from_value(json!({ "locked": true })).unwrap();
        world.update_channel(thread, lock).unwrap();
        assert_eq!(
            world.send_message(MessageSpec::human(thread, MEMBER_A_ID, "hi")),
            Err(SandboxError::ThreadLocked(thread))
        );
        assert!(world
            .send_message(MessageSpec::human(thread, ADMIN_ID, "hi"))
            .is_ok());
        assert!(world.post_message(thread, text("bot"), vec![]).is_ok());
        let archive: ChannelPatch = serde_json::from_value(json!({ "archived": true })).unwrap();
        world.update_channel(thread, archive).unwrap();
        assert_eq!(
            world.send_message(MessageSpec::human(thread, MEMBER_A_ID, "hi")),
            Err(SandboxError::ThreadArchived(thread))
        );
        world.revoke_manage_threads(GUILD_ID);
        assert_eq!(
            world.post_message(thread, text("bot"), vec![]),
            Err(ApiError::ThreadArchived)
        );
        let unlock: ChannelPatch = serde_json::from_value(json!({ "locked": false })).unwrap();
        assert_eq!(
            world.update_channel(thread, unlock),
            Err(ApiError::MissingPermissions)
        );
    }

    #[test]
    fn a_guild_holds_at_most_a_thousand_active_threads() {
        let (mut world, parent, _rx) = connected();
        for n in 0..ACTIVE_THREAD_LIMIT - 1 {
            world.add_thread(parent, &format!("t{n}"), ChannelKind::PrivateThread, &[]);
        }
        let last = world.create_thread(parent, private("last")).unwrap();
        assert_eq!(
            world.create_thread(parent, private("one more")),
            Err(ApiError::TooManyThreads)
        );
        let archive: ChannelPatch = serde_json::from_value(json!({ "archived": true })).unwrap();
        world.update_channel(last.id, archive).unwrap();
        let again = world.create_thread(parent, private("again")).unwrap();
        let unarchive: ChannelPatch = serde_json::from_value(json!({ "archived": false })).unwrap();
        assert_eq!(
            world.update_channel(last.id, unarchive),
            Err(ApiError::TooManyThreads)
        );
        assert_eq!(
            world.list_active_threads(GUILD_ID).unwrap().threads.len(),
            1000
        );
        assert_eq!(
            world.list_active_threads(GUILD_ID).unwrap().members.len(),
            1,
            "the bot is in the active one it made"
        );
        assert!(world.delete_channel(again.id).is_some());
        assert!(world.delete_channel(parent).is_some());
        assert!(
            world.home().channels.is_empty(),
            "threads go with their parent"
        );
    }
}
