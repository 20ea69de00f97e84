//! Channels: a guild's text channels and categories with their permission overwrites, the DM
//! channel between the bot and a user, and the bodies the bot sends to create or change them.

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
    /// Any other type, by its number.
    Other(u8),
}

impl From<u8> for ChannelKind {
    fn from(kind: u8) -> Self {
        match kind {
            0 => Self::Text,
            1 => Self::Dm,
            4 => Self::Category,
            other => Self::Other(other),
        }
    }
}

impl From<ChannelKind> for u8 {
    fn from(kind: ChannelKind) -> Self {
        match kind {
            ChannelKind::Text => 0,
            ChannelKind::Dm => 1,
            ChannelKind::Category => 4,
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
