//! Actions on messages: a person's message (told to the bot, or stored while it is offline),
//! the bot's own (checked as Discord checks them: some content, at most 2000 characters, valid
//! select menus, DMs the user still accepts, a thread one may write in), edits, deletions,
//! pages of a channel's history, and the files the bot uploads with them. A thread counts its
//! messages; writing in an archived thread unarchives it first, as on Discord, when the writer
//! may (see [`crate::world::threads`]).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::{
    model::{
        channel::ChannelRef,
        component::select_refusal,
        error::ApiError,
        event::{Event, MessageDelete},
        limits::MESSAGE_CHARS,
        message::{Attachment, Message, MessageBody, MessageSpec},
        query::MessagesQuery,
        user::Persona,
    },
    world::{
        error::SandboxError,
        state::{StoredFile, StoredMessage, Upload},
        World,
    },
};

/// Discord's refusal of a message body, if any: it needs some content, at most 2000
/// characters, and valid select menus.
pub fn refusal(body: &MessageBody, has_files: bool) -> Option<ApiError> {
    let content = body.content.as_deref().unwrap_or_default();
    if content.trim().is_empty() && !body.has_more_than_text(has_files) {
        return Some(ApiError::EmptyMessage);
    }
    if content.chars().count() > MESSAGE_CHARS {
        return Some(ApiError::content_too_long());
    }
    components_refusal(body)
}

/// Discord's refusal of the components of a message body (new or edited), if any: its select
/// menus must be valid.
pub fn components_refusal(body: &MessageBody) -> Option<ApiError> {
    body.components.as_deref().and_then(select_refusal)
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

impl World {
    /// Stores `message` (shown on the page), ephemeral for `only_for`; returns its stored form.
    pub fn store_message(&mut self, message: Message, only_for: Option<u64>) -> &mut StoredMessage {
        let channel = message.channel_id;
        if only_for.is_none() {
            self.count_thread_message(channel, 1);
        }
        self.message_channels.insert(message.id, channel);
        let list = self.messages.entry(channel).or_default();
        list.push(StoredMessage {
            message,
            only_for,
            sent_at_ms: now_ms(),
            interaction: None,
        });
        list.last_mut().expect("just pushed")
    }

    /// The stored messages of `channel`, oldest first (ephemeral answers included).
    pub fn messages_in(&self, channel: u64) -> &[StoredMessage] {
        self.messages.get(&channel).map_or(&[], Vec::as_slice)
    }

    /// The stored message with this ID, in any channel.
    pub fn message(&self, id: u64) -> Option<&StoredMessage> {
        let channel = self.message_channels.get(&id)?;
        self.messages
            .get(channel)?
            .iter()
            .find(|m| m.message.id == id)
    }

    /// As Discord: a deleted channel is unknown, and so is a message asked for in another
    /// channel than its own.
    fn message_in(&self, channel: u64, id: u64) -> Result<(), ApiError> {
        if self.channel(channel).is_none() {
            return Err(ApiError::UnknownChannel);
        }
        match self.message(id) {
            Some(stored) if stored.message.channel_id == channel => Ok(()),
            _ => Err(ApiError::UnknownMessage),
        }
    }

    /// The message `id` as `user` can act on it: in a channel they see, and not an ephemeral
    /// one shown to someone else; anything else is unknown to them, as in Discord.
    pub(super) fn message_seen_by(
        &self,
        user: &Persona,
        id: u64,
    ) -> Result<&StoredMessage, SandboxError> {
        self.message(id)
            .filter(|stored| {
                self.can_see(user.id, stored.message.channel_id)
                    && stored.only_for.is_none_or(|u| u == user.id)
            })
            .ok_or(SandboxError::UnknownMessage(id))
    }

    /// The stored message with this ID, to change it.
    pub fn message_mut(&mut self, id: u64) -> Option<&mut StoredMessage> {
        let channel = self.message_channels.get(&id)?;
        self.messages
            .get_mut(channel)?
            .iter_mut()
            .find(|m| m.message.id == id)
    }

    /// Removes the stored message with this ID; `None` when there is none.
    fn remove_message(&mut self, id: u64) -> Option<StoredMessage> {
        let channel = self.message_channels.remove(&id)?;
        let list = self.messages.get_mut(&channel)?;
        let index = list.iter().position(|m| m.message.id == id)?;
        let removed = list.remove(index);
        if removed.only_for.is_none() {
            self.count_thread_message(channel, -1);
        }
        Some(removed)
    }

    /// Stores a person's message described by `spec` (its ID, and its attachments' IDs when 0,
    /// filled in) and returns it. In a guild it carries the author's member object with the
    /// roles they have now; in a DM no guild or member, as on Discord.
    pub fn store_human_message(&mut self, mut spec: MessageSpec) -> Message {
        spec.id = self.next_id();
        for attachment in &mut spec.attachments {
            if attachment.id == 0 {
                attachment.id = self.next_id();
            }
        }
        let guild = match self.channel(spec.channel_id) {
            Some(ChannelRef::Dm(_)) => None,
            Some(ChannelRef::Guild(channel)) => self.guild(channel.guild_id),
            // A channel the sandbox does not know (a test's): as from the sandbox's guild.
            None => Some(self.home()),
        };
        let (guild_id, roles) = guild.map_or((None, Vec::new()), |g| {
            (Some(g.id), g.roles_of(spec.author_id).to_vec())
        });
        let message = Message::from_human(&spec, guild_id, roles);
        self.store_message(message.clone(), None);
        message
    }

    /// A person sends a message: stored, shown, and told to the bot (MESSAGE_CREATE); fails
    /// (the message stays) when the bot is not connected. In a locked thread only someone who
    /// may manage threads writes; an archived thread is unarchived first (THREAD_UPDATE) when
    /// the writer may.
    pub fn send_message(&mut self, spec: MessageSpec) -> Result<u64, SandboxError> {
        let channel = spec.channel_id;
        self.person_writes_in(spec.author_id, channel)?;
        let message = self.store_human_message(spec);
        let id = message.id;
        self.page_changed(Some(channel));
        self.dispatch(Event::MessageCreate(Box::new(message)))?;
        Ok(id)
    }

    /// Stores `count` messages of `author` in `channel` ("message 1", "message 2"..., oldest
    /// first) without telling the bot, as Discord keeps messages sent while the bot is offline;
    /// returns their IDs. One page update for them all, so that a long ticket is quick to make.
    pub fn seed_messages(&mut self, channel: u64, author: u64, count: usize) -> Vec<u64> {
        let ids = (1..=count)
            .map(|n| {
                let spec = MessageSpec::human(channel, author, &format!("message {n}"));
                self.store_human_message(spec).id
            })
            .collect();
        self.page_changed(Some(channel));
        ids
    }

    /// Keeps uploaded files, served at `http://{host}/attachments/{id}/{filename}`, and returns
    /// their attachment objects.
    pub fn store_files(&mut self, host: &str, uploads: Vec<Upload>) -> Vec<Attachment> {
        uploads
            .into_iter()
            .map(|upload| {
                let id = self.next_id();
                let url = format!("http://{host}/attachments/{id}/{}", upload.filename);
                let size = upload.bytes.len() as u64;
                let attachment =
                    Attachment::new(id, &upload.filename, &upload.content_type, size, &url);
                self.files.insert(id, upload);
                attachment
            })
            .collect()
    }

    /// A file the bot uploaded, by attachment ID.
    pub fn file(&self, id: u64) -> Option<&StoredFile> {
        self.files.get(&id)
    }

    /// A new message of the bot in `channel` made of `body` and `attachments` (not stored).
    pub fn bot_message(
        &mut self,
        channel: u64,
        body: MessageBody,
        attachments: Vec<Attachment>,
    ) -> Message {
        let id = self.next_id();
        let guild = self.channel(channel).and_then(|c| c.guild_id());
        Message::from_bot(id, channel, guild, body, attachments)
    }

    /// `POST /channels/{id}/messages`: the bot posts a message (MESSAGE_CREATE, as Discord tells
    /// every session of the author).
    pub fn post_message(
        &mut self,
        channel: u64,
        body: MessageBody,
        attachments: Vec<Attachment>,
    ) -> Result<Message, ApiError> {
        let found = self.channel(channel).ok_or(ApiError::UnknownChannel)?;
        if let ChannelRef::Dm(dm) = found {
            if dm.recipient().is_some_and(|u| self.closed_dms.contains(&u)) {
                return Err(ApiError::CannotMessageUser);
            }
        }
        if let Some(refusal) = refusal(&body, !attachments.is_empty()) {
            return Err(refusal);
        }
        self.bot_writes_in(channel)?;
        let message = self.bot_message(channel, body, attachments);
        // A message ends the author's typing indicator.
        self.typing_until.remove(&channel);
        self.store_message(message.clone(), None);
        self.send_event(Event::MessageCreate(Box::new(message.clone())));
        self.page_changed(Some(channel));
        Ok(message)
    }

    /// `GET /channels/{id}/messages`: the page `query` selects, newest first (no ephemeral
    /// answer: Discord never lists those). As on Discord, a message read this way carries
    /// neither its guild nor its author's member object (roles): only the gateway's do.
    pub fn list_messages(
        &self,
        channel: u64,
        query: MessagesQuery,
    ) -> Result<Vec<Message>, ApiError> {
        if self.channel(channel).is_none() {
            return Err(ApiError::UnknownChannel);
        }
        // Only the page is cloned: a transcript pages through thousands of messages.
        let list: Vec<(u64, &Message)> = self
            .messages_in(channel)
            .iter()
            .filter(|m| m.only_for.is_none())
            .map(|m| (m.message.id, &m.message))
            .collect();
        Ok(query
            .page(list)
            .into_iter()
            .map(|message| Message {
                guild_id: None,
                member: None,
                ..message.clone()
            })
            .collect())
    }

    /// `PATCH /channels/{id}/messages/{id}`: the bot edits a message (MESSAGE_UPDATE).
    pub fn edit_message(
        &mut self,
        channel: u64,
        id: u64,
        body: MessageBody,
        attachments: Vec<Attachment>,
    ) -> Result<Message, ApiError> {
        self.message_in(channel, id)?;
        if let Some(refusal) = components_refusal(&body) {
            return Err(refusal);
        }
        let stored = self.message_mut(id).ok_or(ApiError::UnknownMessage)?;
        stored.message.apply(body, attachments);
        let updated = stored.message.clone();
        self.send_event(Event::MessageUpdate(Box::new(updated.clone())));
        self.page_changed(Some(updated.channel_id));
        Ok(updated)
    }

    /// `DELETE /channels/{id}/messages/{id}`: the bot deletes a message (MESSAGE_DELETE).
    pub fn delete_message(&mut self, channel: u64, id: u64) -> Result<(), ApiError> {
        self.message_in(channel, id)?;
        let removed = self.remove_message(id).ok_or(ApiError::UnknownMessage)?;
        self.send_event(Event::MessageDelete(MessageDelete {
            id,
            channel_id: channel,
            guild_id: removed.message.guild_id,
        }));
        self.page_changed(Some(channel));
        Ok(())
    }

    /// Deletes a message without telling the bot (an interaction's answer it deletes itself).
    pub fn forget_message(&mut self, id: u64) -> bool {
        self.remove_message(id).is_some()
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Bytes;
    use tokio::sync::mpsc;

    use super::*;
    use crate::model::{
        channel::ChannelKind,
        event::Dispatch,
        ids::{BOT_ID, GUILD_ID, MEMBER_A_ID, SUPPORT_ID},
        message::EPHEMERAL,
        query::{MessagesParams, MessagesQuery},
    };

    fn text(content: &str) -> MessageBody {
        MessageBody {
            content: Some(content.to_owned()),
            ..MessageBody::default()
        }
    }

    fn world_with_channel() -> (World, u64) {
        let mut world = World::new();
        let channel = world
            .add_channel(GUILD_ID, "ticket", ChannelKind::Text, None, vec![])
            .unwrap();
        (world, channel)
    }

    #[test]
    fn an_empty_or_too_long_message_is_refused_as_discord_does() {
        assert_eq!(refusal(&text("  "), false), Some(ApiError::EmptyMessage));
        assert_eq!(refusal(&text("  "), true), None, "a file is enough");
        assert_eq!(
            refusal(&text(&"x".repeat(MESSAGE_CHARS + 1)), false),
            Some(ApiError::content_too_long())
        );
        assert_eq!(refusal(&text(&"é".repeat(MESSAGE_CHARS)), false), None);
    }

    #[test]
    fn a_person_s_message_carries_their_roles_and_reaches_a_connected_bot() {
        let (mut world, channel) = world_with_channel();
        let support = world.add_role(GUILD_ID, "Support").unwrap();
        let spec = MessageSpec::human(channel, SUPPORT_ID, "hello");
        assert_eq!(
            world.send_message(spec.clone()),
            Err(SandboxError::BotNotConnected)
        );
        assert_eq!(world.messages_in(channel).len(), 1, "stored all the same");
        let (tx, mut rx) = mpsc::unbounded_channel::<Dispatch>();
        world.gateways.push(crate::world::Session::all(tx));
        let id = world.send_message(spec).unwrap();
        let sent = rx.try_recv().unwrap();
        assert_eq!(
            (sent.name.as_str(), sent.id),
            ("MESSAGE_CREATE", id.to_string())
        );
        assert_eq!(sent.data["member"]["roles"][0], support.to_string());
        let all = MessagesQuery::parse(MessagesParams::default()).unwrap();
        let listed = world.list_messages(channel, all).unwrap();
        assert!(
            listed
                .iter()
                .all(|m| m.member.is_none() && m.guild_id.is_none()),
            "over REST, no member: the roles come from the gateway only"
        );
    }

    #[test]
    fn seeding_thousands_of_messages_tells_the_page_once_and_the_bot_nothing() {
        let (mut world, channel) = world_with_channel();
        let (tx, mut bot) = mpsc::unbounded_channel::<Dispatch>();
        world.gateways.push(crate::world::Session::all(tx));
        let mut page = world.page_events();

        let ids = world.seed_messages(channel, MEMBER_A_ID, 5_000);

        assert_eq!(ids.len(), 5_000);
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            page.try_recv().ok().and_then(|e| e.channel_id),
            Some(channel)
        );
        assert!(page.try_recv().is_err(), "one event for them all");
        assert!(bot.try_recv().is_err());
        assert_eq!(
            world.messages_in(channel)[4_999].message.content,
            "message 5000"
        );
    }

    #[test]
    fn the_bot_posts_edits_lists_and_deletes_its_messages() {
        let (mut world, channel) = world_with_channel();
        let upload = Upload {
            filename: "a.txt".to_owned(),
            content_type: "text/plain".to_owned(),
            bytes: Bytes::from_static(b"abc"),
        };
        let files = world.store_files("127.0.0.1:1", vec![upload]);
        assert_eq!(files[0].size, 3);
        assert_eq!(world.file(files[0].id).unwrap().bytes.as_ref(), b"abc");
        let posted = world.post_message(channel, text(""), files).unwrap();
        assert_eq!(posted.author.id, BOT_ID);
        let edited = world
            .edit_message(channel, posted.id, text("edited"), vec![])
            .unwrap();
        assert_eq!(
            (edited.content.as_str(), edited.attachments.len()),
            ("edited", 1)
        );
        let mut ephemeral = world.bot_message(channel, text("secret"), vec![]);
        ephemeral.flags = EPHEMERAL;
        world.store_message(ephemeral, Some(MEMBER_A_ID));
        let all = MessagesQuery::parse(MessagesParams::default()).unwrap();
        let listed = world.list_messages(channel, all).unwrap();
        assert_eq!(listed.len(), 1, "no ephemeral answer");
        assert_eq!(listed[0].guild_id, None, "no guild over REST");
        world.delete_message(channel, posted.id).unwrap();
        assert_eq!(
            world.delete_message(channel, posted.id),
            Err(ApiError::UnknownMessage)
        );
        assert_eq!(world.list_messages(1, all), Err(ApiError::UnknownChannel));
        assert_eq!(
            world.post_message(1, text("x"), vec![]),
            Err(ApiError::UnknownChannel)
        );
    }

    #[test]
    fn a_dm_message_has_no_guild_and_a_closed_dm_refuses_the_bot() {
        let mut world = World::new();
        let dm = world.open_dm(MEMBER_A_ID).unwrap();
        let human = world.store_human_message(MessageSpec::human(dm.id, MEMBER_A_ID, "hi"));
        assert!(human.guild_id.is_none() && human.member.is_none());
        let posted = world
            .post_message(dm.id, text("transcript"), vec![])
            .unwrap();
        assert!(posted.guild_id.is_none());
        world.close_dms(MEMBER_A_ID);
        assert_eq!(
            world.post_message(dm.id, text("again"), vec![]),
            Err(ApiError::CannotMessageUser)
        );
    }
}
