//! Channels: a guild's text channels and categories with their permission overwrites, threads
//! (a channel of a text channel, with their metadata and members), the DM channel between the
//! bot and a user, and the bodies the bot sends to create or change them.

use serde::{Deserialize, Serialize};

use crate::model::{
    user::User,
    wire::{option_u64_string, present, u64_string},
};

/// Discord's channel types the sandbox knows; others are kept as their number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "u8", into = "u8")]
pub enum ChannelKind {
    /// 0: a text channel.
    #[default]
    Text,
    /// 1: a DM between the bot and one user.
    Dm,
    /// 4: a category holding channels.
    Category,
    /// 11: a thread everyone who sees its parent sees.
    PublicThread,
    /// 12: a thread only its members (and thread managers) see.
    PrivateThread,
    /// Any other type, by its number.
    Other(u8),
}

impl From<u8> for ChannelKind {
    fn from(kind: u8) -> Self {
        match kind {
            0 => Self::Text,
            1 => Self::Dm,
            4 => Self::Category,
            11 => Self::PublicThread,
            12 => Self::PrivateThread,
            other => Self::Other(other),
        }
    }
}

impl ChannelKind {
    /// A public or private thread.
    pub fn is_thread(self) -> bool {
        matches!(self, Self::PublicThread | Self::PrivateThread)
    }
}

impl From<ChannelKind> for u8 {
    fn from(kind: ChannelKind) -> Self {
        match kind {
            ChannelKind::Text => 0,
            ChannelKind::Dm => 1,
            ChannelKind::Category => 4,
            ChannelKind::PublicThread => 11,
            ChannelKind::PrivateThread => 12,
            ChannelKind::Other(other) => other,
        }
    }
}

/// Whom an overwrite applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "u8", into = "u8")]
pub enum OverwriteKind {
    /// 0: a role (the guild's ID is the @everyone role).
    #[default]
    Role,
    /// 1: one member (any other number is read as a member, as the sandbox always did).
    Member,
}

impl From<u8> for OverwriteKind {
    fn from(kind: u8) -> Self {
        if kind == 0 {
            Self::Role
        } else {
            Self::Member
        }
    }
}

impl From<OverwriteKind> for u8 {
    fn from(kind: OverwriteKind) -> Self {
        match kind {
            OverwriteKind::Role => 0,
            OverwriteKind::Member => 1,
        }
    }
}

/// A permission overwrite: what one role or member is allowed or denied in a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overwrite {
    /// The role's or member's ID.
    #[serde(with = "u64_string")]
    pub id: u64,
    /// Role or member.
    #[serde(rename = "type", default)]
    pub kind: OverwriteKind,
    /// Permission bits allowed.
    #[serde(with = "u64_string", default)]
    pub allow: u64,
    /// Permission bits denied.
    #[serde(with = "u64_string", default)]
    pub deny: u64,
}

/// A guild channel (text channel or category).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Channel {
    /// The channel ID.
    #[serde(with = "u64_string")]
    pub id: u64,
    /// Text channel, category...
    #[serde(rename = "type")]
    pub kind: ChannelKind,
    /// The guild it is in.
    #[serde(with = "u64_string")]
    pub guild_id: u64,
    /// Its name, `ticket-alice`.
    pub name: String,
    /// Its place in the list.
    pub position: i64,
    /// Its category.
    #[serde(with = "option_u64_string")]
    pub parent_id: Option<u64>,
    /// Who may do what in it.
    pub permission_overwrites: Vec<Overwrite>,
    /// Never set in the sandbox.
    pub nsfw: bool,
    /// Never set in the sandbox.
    pub flags: u64,
    /// Its topic, when one was set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// A thread's creator.
    #[serde(with = "option_u64_string", skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<u64>,
    /// A thread's state (archived, locked...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_metadata: Option<ThreadMetadata>,
    /// A thread's members, counted as Discord does (up to 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_count: Option<u8>,
    /// A thread's messages (its deleted ones not counted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_count: Option<u32>,
    /// A thread's messages ever sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_message_sent: Option<u32>,
}

/// Discord's largest member count of a thread (it stops counting there).
pub const THREAD_MEMBER_COUNT_CAP: usize = 50;

/// The auto-archive durations Discord accepts, in minutes.
pub const AUTO_ARCHIVE_DURATIONS: [u16; 4] = [60, 1440, 4320, 10080];

/// A thread's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreadMetadata {
    /// Hidden from the channel list; a message (by someone who may) unarchives it.
    pub archived: bool,
    /// Minutes of quiet before Discord archives it (the sandbox never does by itself).
    pub auto_archive_duration: u16,
    /// When `archived` last changed.
    pub archive_timestamp: String,
    /// Only members with Manage Threads may unarchive it or write in it.
    pub locked: bool,
    /// A private thread whose members may invite others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitable: Option<bool>,
    /// When it was made.
    pub create_timestamp: String,
}

impl Channel {
    /// A channel of `guild_id` with these fields and no topic.
    pub fn new(
        id: u64,
        guild_id: u64,
        kind: ChannelKind,
        name: &str,
        parent_id: Option<u64>,
        permission_overwrites: Vec<Overwrite>,
    ) -> Self {
        Self {
            id,
            kind,
            guild_id,
            name: name.to_owned(),
            position: 0,
            parent_id,
            permission_overwrites,
            nsfw: false,
            flags: 0,
            topic: None,
            owner_id: None,
            thread_metadata: None,
            member_count: None,
            message_count: None,
            total_message_sent: None,
        }
    }

    /// A thread of channel `parent` made now by `owner` from `body`: private unless the body
    /// asks for a public one, not archived, with no members or messages yet.
    pub fn thread(id: u64, guild_id: u64, parent: u64, owner: u64, body: &NewThread) -> Self {
        let kind = match body.kind {
            Some(ChannelKind::PublicThread) => ChannelKind::PublicThread,
            _ => ChannelKind::PrivateThread,
        };
        let now = crate::model::message::now();
        let mut thread = Self::new(id, guild_id, kind, &body.name, Some(parent), Vec::new());
        thread.owner_id = Some(owner);
        thread.thread_metadata = Some(ThreadMetadata {
            archived: false,
            auto_archive_duration: body.auto_archive_duration.unwrap_or(1440),
            archive_timestamp: now.clone(),
            locked: false,
            invitable: (kind == ChannelKind::PrivateThread)
                .then_some(body.invitable.unwrap_or(true)),
            create_timestamp: now,
        });
        thread.member_count = Some(0);
        thread.message_count = Some(0);
        thread.total_message_sent = Some(0);
        thread
    }

    /// Whether it is a thread.
    pub fn is_thread(&self) -> bool {
        self.kind.is_thread()
    }

    /// Whether it is an archived thread.
    pub fn archived(&self) -> bool {
        self.thread_metadata.as_ref().is_some_and(|m| m.archived)
    }

    /// Whether it is a locked thread.
    pub fn locked(&self) -> bool {
        self.thread_metadata.as_ref().is_some_and(|m| m.locked)
    }

    /// Archives or unarchives a thread now (nothing for another channel).
    pub fn set_archived(&mut self, archived: bool) {
        if let Some(metadata) = &mut self.thread_metadata {
            if metadata.archived != archived {
                metadata.archived = archived;
                metadata.archive_timestamp = crate::model::message::now();
            }
        }
    }

    /// Applies a `PATCH /channels/{id}`: each field the body names is replaced.
    pub fn apply(&mut self, patch: ChannelPatch) {
        if let Some(name) = patch.name {
            self.name = name;
        }
        if let Some(topic) = patch.topic {
            self.topic = topic;
        }
        if let Some(parent_id) = patch.parent_id {
            self.parent_id = parent_id;
        }
        if let Some(overwrites) = patch.permission_overwrites {
            self.permission_overwrites = overwrites;
        }
        if let Some(position) = patch.position {
            self.position = position;
        }
        if let Some(archived) = patch.archived {
            self.set_archived(archived);
        }
        if let Some(metadata) = &mut self.thread_metadata {
            if let Some(locked) = patch.locked {
                metadata.locked = locked;
            }
            if let Some(minutes) = patch.auto_archive_duration {
                metadata.auto_archive_duration = minutes;
            }
            if let (Some(invitable), Some(_)) = (patch.invitable, metadata.invitable) {
                metadata.invitable = Some(invitable);
            }
        }
    }

    /// Sets (or replaces) the overwrite of `overwrite.id`.
    pub fn set_overwrite(&mut self, overwrite: Overwrite) {
        self.remove_overwrite(overwrite.id);
        self.permission_overwrites.push(overwrite);
    }

    /// Removes the overwrite of role or member `id`, if any.
    pub fn remove_overwrite(&mut self, id: u64) {
        self.permission_overwrites.retain(|o| o.id != id);
    }
}

/// The DM channel between the bot and one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DmChannel {
    /// The channel ID.
    #[serde(with = "u64_string")]
    pub id: u64,
    /// Always [`ChannelKind::Dm`].
    #[serde(rename = "type")]
    pub kind: ChannelKind,
    /// Never set in the sandbox.
    #[serde(with = "option_u64_string")]
    pub last_message_id: Option<u64>,
    /// The user (the bot is the other end).
    pub recipients: Vec<User>,
    /// Never set in the sandbox.
    pub flags: u64,
}

impl DmChannel {
    /// The DM channel `id` with `recipient`.
    pub fn new(id: u64, recipient: u64) -> Self {
        Self {
            id,
            kind: ChannelKind::Dm,
            last_message_id: None,
            recipients: vec![User::new(recipient, false)],
            flags: 0,
        }
    }

    /// The user at the other end.
    pub fn recipient(&self) -> Option<u64> {
        self.recipients.first().map(|u| u.id)
    }
}

/// A guild channel or a DM channel, as `GET /channels/{id}` answers either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ChannelRef<'a> {
    /// A channel of a guild.
    Guild(&'a Channel),
    /// The bot's DM with a user.
    Dm(&'a DmChannel),
}

impl ChannelRef<'_> {
    /// The channel ID.
    pub fn id(&self) -> u64 {
        match self {
            Self::Guild(c) => c.id,
            Self::Dm(c) => c.id,
        }
    }

    /// Its type.
    pub fn kind(&self) -> ChannelKind {
        match self {
            Self::Guild(c) => c.kind,
            Self::Dm(c) => c.kind,
        }
    }

    /// The guild it is in; `None` for a DM.
    pub fn guild_id(&self) -> Option<u64> {
        match self {
            Self::Guild(c) => Some(c.guild_id),
            Self::Dm(_) => None,
        }
    }
}

/// The body of `POST /guilds/{id}/channels`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewChannel {
    /// Its name (`channel` when none).
    pub name: Option<String>,
    /// Its type (a text channel when none).
    #[serde(rename = "type")]
    pub kind: Option<ChannelKind>,
    /// Its category.
    #[serde(with = "option_u64_string")]
    pub parent_id: Option<u64>,
    /// Who may do what in it.
    pub permission_overwrites: Vec<Overwrite>,
    /// Its topic.
    pub topic: Option<String>,
}

/// The body of `PATCH /channels/{id}`: each field present is replaced, `null` included.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChannelPatch {
    /// A new name.
    pub name: Option<String>,
    /// A new topic, or none.
    #[serde(deserialize_with = "present")]
    pub topic: Option<Option<String>>,
    /// A new category, or none.
    #[serde(deserialize_with = "present_id")]
    pub parent_id: Option<Option<u64>>,
    /// New overwrites, replacing all of them.
    pub permission_overwrites: Option<Vec<Overwrite>>,
    /// A new place in the list.
    pub position: Option<i64>,
    /// A thread archived or unarchived.
    pub archived: Option<bool>,
    /// A thread locked or unlocked.
    pub locked: Option<bool>,
    /// A thread's new auto-archive duration, in minutes.
    pub auto_archive_duration: Option<u16>,
    /// Whether a private thread's members may invite others.
    pub invitable: Option<bool>,
}

/// The body of `POST /channels/{id}/threads` (a thread without a starting message).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewThread {
    /// Its name.
    pub name: String,
    /// 12 a private thread (Discord's default for a thread without a message), 11 a public one.
    #[serde(rename = "type")]
    pub kind: Option<ChannelKind>,
    /// Minutes of quiet before it is archived: 60, 1440, 4320 or 10080 (1440 when none).
    pub auto_archive_duration: Option<u16>,
    /// Whether a private thread's members may invite others (true when none).
    pub invitable: Option<bool>,
}

/// A member of a thread, as `GET /channels/{id}/thread-members` and THREAD_MEMBERS_UPDATE
/// write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreadMember {
    /// The thread.
    #[serde(with = "u64_string")]
    pub id: u64,
    /// The member.
    #[serde(with = "u64_string")]
    pub user_id: u64,
    /// When they joined it.
    pub join_timestamp: String,
    /// Notification settings: none.
    pub flags: u64,
}

impl ThreadMember {
    /// `user` in thread `id`, joined at `join_timestamp`.
    pub fn new(id: u64, user_id: u64, join_timestamp: &str) -> Self {
        Self {
            id,
            user_id,
            join_timestamp: join_timestamp.to_owned(),
            flags: 0,
        }
    }
}

/// The answer of `GET /guilds/{id}/threads/active`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveThreads {
    /// The guild's threads that are not archived.
    pub threads: Vec<Channel>,
    /// The bot's own membership of those threads.
    pub members: Vec<ThreadMember>,
}

fn present_id<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<u64>>, D::Error> {
    option_u64_string::deserialize(deserializer).map(Some)
}

/// The body of `PUT /channels/{id}/permissions/{overwrite}` (the ID is in the path).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OverwriteBody {
    /// Role or member.
    #[serde(rename = "type")]
    pub kind: OverwriteKind,
    /// Permission bits allowed.
    #[serde(with = "u64_string")]
    pub allow: u64,
    /// Permission bits denied.
    #[serde(with = "u64_string")]
    pub deny: u64,
}

impl OverwriteBody {
    /// The overwrite of role or member `id`.
    pub fn for_id(self, id: u64) -> Overwrite {
        Overwrite {
            id,
            kind: self.kind,
            allow: self.allow,
            deny: self.deny,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use serenity::model::channel::{GuildChannel, PrivateChannel};

    use super::*;

    #[test]
    fn a_text_channel_and_a_category_are_serenitys_guild_channels() {
        let overwrite = Overwrite {
            id: 7,
            kind: OverwriteKind::Member,
            allow: 1024,
            deny: 0,
        };
        let mut ticket = Channel::new(
            5,
            1,
            ChannelKind::Text,
            "ticket-7",
            Some(4),
            vec![overwrite],
        );
        ticket.topic = Some("help".to_owned());
        let read: GuildChannel =
            serde_json::from_value(serde_json::to_value(&ticket).unwrap()).unwrap();
        assert_eq!(read.name, "ticket-7");
        assert_eq!(read.parent_id.map(|p| p.get()), Some(4));
        assert_eq!(read.permission_overwrites.len(), 1);
        assert_eq!(read.topic.as_deref(), Some("help"));
        let category = Channel::new(4, 1, ChannelKind::Category, "Tickets", None, vec![]);
        let read: GuildChannel =
            serde_json::from_value(serde_json::to_value(&category).unwrap()).unwrap();
        assert_eq!(read.kind, serenity::model::channel::ChannelType::Category);
    }

    #[test]
    fn a_dm_channel_is_serenitys_private_channel() {
        let dm = DmChannel::new(11, 7);
        let read: PrivateChannel =
            serde_json::from_value(serde_json::to_value(&dm).unwrap()).unwrap();
        assert_eq!(read.recipient.id.get(), 7);
        assert_eq!(dm.recipient(), Some(7));
    }

    fn private_thread() -> Channel {
        let body: NewThread = serde_json::from_value(
            json!({ "name": "ticket-7", "type": 12, "invitable": false, "auto_archive_duration": 10080 }),
        )
        .unwrap();
        Channel::thread(9, 1, 5, 2, &body)
    }

    #[test]
    fn a_thread_is_serenitys_guild_channel_with_its_metadata() {
        let mut thread = private_thread();
        thread.member_count = Some(2);
        let read: GuildChannel =
            serde_json::from_value(serde_json::to_value(&thread).unwrap()).unwrap();
        assert_eq!(
            read.kind,
            serenity::model::channel::ChannelType::PrivateThread
        );
        assert_eq!(read.parent_id.map(|p| p.get()), Some(5));
        assert_eq!(read.owner_id.map(|o| o.get()), Some(2));
        assert_eq!((read.member_count, read.message_count), (Some(2), Some(0)));
        let metadata = read.thread_metadata.expect("thread metadata");
        assert!(!metadata.archived && !metadata.locked && !metadata.invitable);
        assert_eq!(u16::from(metadata.auto_archive_duration), 10080);
        assert!(metadata.create_timestamp.is_some() && metadata.archive_timestamp.is_some());
        let plain =
            serde_json::to_value(Channel::new(5, 1, ChannelKind::Text, "t", None, vec![])).unwrap();
        assert!(plain.get("thread_metadata").is_none(), "a channel has none");
    }

    #[test]
    fn a_thread_is_archived_locked_and_renamed_by_a_patch_and_a_plain_channel_ignores_it() {
        let mut thread = private_thread();
        let patch: ChannelPatch =
            serde_json::from_value(json!({ "archived": true, "locked": true, "name": "closed-7" }))
                .unwrap();
        thread.apply(patch.clone());
        assert!(thread.archived() && thread.locked());
        assert_eq!(thread.name, "closed-7");
        let mut channel = Channel::new(5, 1, ChannelKind::Text, "t", None, vec![]);
        channel.apply(patch);
        assert!(!channel.archived() && channel.thread_metadata.is_none());
        let public: NewThread = serde_json::from_value(json!({ "name": "p", "type": 11 })).unwrap();
        let public = Channel::thread(10, 1, 5, 2, &public);
        assert_eq!(public.kind, ChannelKind::PublicThread);
        assert_eq!(public.thread_metadata.unwrap().invitable, None);
    }

    #[test]
    fn thread_members_and_active_threads_are_serenitys() {
        use serenity::model::{channel::ThreadsData, guild::ThreadMember as SerenityMember};
        let member = ThreadMember::new(9, 7, &crate::model::message::now());
        let read: SerenityMember =
            serde_json::from_value(serde_json::to_value(&member).unwrap()).unwrap();
        assert_eq!((read.id.get(), read.user_id.get()), (9, 7));
        let active = ActiveThreads {
            threads: vec![private_thread()],
            members: vec![member],
        };
        let read: ThreadsData =
            serde_json::from_value(serde_json::to_value(&active).unwrap()).unwrap();
        assert_eq!((read.threads.len(), read.members.len()), (1, 1));
    }

    #[test]
    fn a_patch_replaces_what_it_names_and_null_clears() {
        let mut channel = Channel::new(5, 1, ChannelKind::Text, "old", Some(4), vec![]);
        let patch: ChannelPatch =
            serde_json::from_value(json!({ "name": "new", "parent_id": null })).unwrap();
        channel.apply(patch);
        assert_eq!((channel.name.as_str(), channel.parent_id), ("new", None));
        let patch: ChannelPatch = serde_json::from_value(json!({ "parent_id": "9" })).unwrap();
        channel.apply(patch);
        assert_eq!(channel.parent_id, Some(9));
        let untouched: ChannelPatch = serde_json::from_value(json!({})).unwrap();
        channel.apply(untouched);
        assert_eq!(channel.parent_id, Some(9));
    }

    #[test]
    fn an_overwrite_reads_numbers_or_strings_and_replaces_the_same_id() {
        let body: OverwriteBody =
            serde_json::from_value(json!({ "type": 1, "allow": 1024, "deny": "0" })).unwrap();
        let mut channel = Channel::new(5, 1, ChannelKind::Text, "t", None, vec![]);
        channel.set_overwrite(body.clone().for_id(7));
        channel.set_overwrite(body.for_id(7));
        assert_eq!(channel.permission_overwrites.len(), 1);
        assert_eq!(
            serde_json::to_value(&channel.permission_overwrites[0]).unwrap(),
            json!({ "id": "7", "type": 1, "allow": "1024", "deny": "0" })
        );
        channel.remove_overwrite(7);
        assert!(channel.permission_overwrites.is_empty());
    }
}
