//! The gateway's dispatch events, typed. The unit tests below deserialize each one into
//! serenity's `GatewayEvent`, since an event serenity cannot read silently becomes
//! `Event::Unknown` and never reaches the bot's handler. Each event knows its guild, which
//! decides the shard that receives it (a DM's events go to shard 0, as on Discord).

use serde::Serialize;
use serde_json::Value;

use crate::model::{
    channel::{Channel, ChannelKind, ThreadMember},
    guild::{GuildCreate, Ready},
    ids::BOT_ID,
    interaction::Interaction,
    member::Member,
    message::Message,
    role::Role,
    wire::{option_u64_string, u64_string, vec_u64_string},
};

/// The THREAD_DELETE event's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ThreadDelete {
    /// The thread that is gone.
    #[serde(with = "u64_string")]
    pub id: u64,
    /// Its guild.
    #[serde(with = "u64_string")]
    pub guild_id: u64,
    /// Its parent channel.
    #[serde(with = "u64_string")]
    pub parent_id: u64,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: ChannelKind,
}

/// The THREAD_MEMBERS_UPDATE event's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreadMembersUpdate {
    /// The thread.
    #[serde(with = "u64_string")]
    pub id: u64,
    /// Its guild.
    #[serde(with = "u64_string")]
    pub guild_id: u64,
    /// Its members now, up to 50.
    pub member_count: u8,
    /// Who joined.
    pub added_members: Vec<ThreadMember>,
    /// Who left.
    #[serde(with = "vec_u64_string")]
    pub removed_member_ids: Vec<u64>,
}

impl ThreadMembersUpdate {
    /// Whether the bot itself joined or left: Discord sends the event to a bot without the
    /// GUILD_MEMBERS intent only then.
    pub fn about_the_bot(&self) -> bool {
        self.added_members.iter().any(|m| m.user_id == BOT_ID)
            || self.removed_member_ids.contains(&BOT_ID)
    }
}

/// The GUILD_MEMBER_UPDATE event's data: the member as they are now (their roles, say), and
/// their guild. Sent only to sessions with the GUILD_MEMBERS intent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberUpdate {
    /// The guild.
    #[serde(with = "u64_string")]
    pub guild_id: u64,
    /// The member, with their user.
    #[serde(flatten)]
    pub member: Member,
}

/// The GUILD_ROLE_CREATE event's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleCreate {
    /// The guild.
    #[serde(with = "u64_string")]
    pub guild_id: u64,
    /// The new role.
    pub role: Role,
}

/// The GUILD_ROLE_DELETE event's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RoleDelete {
    /// The guild.
    #[serde(with = "u64_string")]
    pub guild_id: u64,
    /// The role that is gone.
    #[serde(with = "u64_string")]
    pub role_id: u64,
}

/// The MESSAGE_DELETE event's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MessageDelete {
    /// The message that is gone.
    #[serde(with = "u64_string")]
    pub id: u64,
    /// Its channel.
    #[serde(with = "u64_string")]
    pub channel_id: u64,
    /// Its guild; none in a DM.
    #[serde(with = "option_u64_string", skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<u64>,
}

/// A dispatch event the sandbox sends the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Who the bot is, after IDENTIFY.
    Ready(Box<Ready>),
    /// A whole guild, after READY.
    GuildCreate(Box<GuildCreate>),
    /// A channel was made.
    ChannelCreate(Box<Channel>),
    /// A channel changed.
    ChannelUpdate(Box<Channel>),
    /// A channel is gone.
    ChannelDelete(Box<Channel>),
    /// A role was made.
    GuildRoleCreate(Box<RoleCreate>),
    /// A role is gone.
    GuildRoleDelete(RoleDelete),
    /// A member changed (their roles).
    GuildMemberUpdate(Box<MemberUpdate>),
    /// A message was sent.
    MessageCreate(Box<Message>),
    /// A message was edited.
    MessageUpdate(Box<Message>),
    /// A message is gone.
    MessageDelete(MessageDelete),
    /// Someone ran a command, used a component or submitted a form.
    InteractionCreate(Box<Interaction>),
    /// A thread was made.
    ThreadCreate(Box<Channel>),
    /// A thread changed (archived, locked, renamed...).
    ThreadUpdate(Box<Channel>),
    /// A thread is gone.
    ThreadDelete(ThreadDelete),
    /// Members joined or left a thread.
    ThreadMembersUpdate(Box<ThreadMembersUpdate>),
}

impl Event {
    /// Its name on the wire, `MESSAGE_CREATE`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ready(_) => "READY",
            Self::GuildCreate(_) => "GUILD_CREATE",
            Self::ChannelCreate(_) => "CHANNEL_CREATE",
            Self::ChannelUpdate(_) => "CHANNEL_UPDATE",
            Self::ChannelDelete(_) => "CHANNEL_DELETE",
            Self::GuildRoleCreate(_) => "GUILD_ROLE_CREATE",
            Self::GuildRoleDelete(_) => "GUILD_ROLE_DELETE",
            Self::GuildMemberUpdate(_) => "GUILD_MEMBER_UPDATE",
            Self::MessageCreate(_) => "MESSAGE_CREATE",
            Self::MessageUpdate(_) => "MESSAGE_UPDATE",
            Self::MessageDelete(_) => "MESSAGE_DELETE",
            Self::InteractionCreate(_) => "INTERACTION_CREATE",
            Self::ThreadCreate(_) => "THREAD_CREATE",
            Self::ThreadUpdate(_) => "THREAD_UPDATE",
            Self::ThreadDelete(_) => "THREAD_DELETE",
            Self::ThreadMembersUpdate(_) => "THREAD_MEMBERS_UPDATE",
        }
    }

    /// The guild it is about; `None` for a DM's (shard 0 gets those) and for READY.
    pub fn guild_id(&self) -> Option<u64> {
        match self {
            Self::Ready(_) => None,
            Self::GuildCreate(guild) => Some(guild.id),
            Self::ChannelCreate(channel)
            | Self::ChannelUpdate(channel)
            | Self::ChannelDelete(channel)
            | Self::ThreadCreate(channel)
            | Self::ThreadUpdate(channel) => Some(channel.guild_id),
            Self::GuildRoleCreate(created) => Some(created.guild_id),
            Self::GuildRoleDelete(deleted) => Some(deleted.guild_id),
            Self::GuildMemberUpdate(update) => Some(update.guild_id),
            Self::MessageCreate(message) | Self::MessageUpdate(message) => message.guild_id,
            Self::MessageDelete(deleted) => deleted.guild_id,
            Self::InteractionCreate(interaction) => interaction.guild_id,
            Self::ThreadDelete(deleted) => Some(deleted.guild_id),
            Self::ThreadMembersUpdate(update) => Some(update.guild_id),
        }
    }

    /// The `id` of its data (empty for the events whose data has none).
    pub fn id(&self) -> String {
        match self {
            Self::Ready(_)
            | Self::GuildRoleCreate(_)
            | Self::GuildRoleDelete(_)
            | Self::GuildMemberUpdate(_) => String::new(),
            Self::GuildCreate(guild) => guild.id.to_string(),
            Self::ChannelCreate(channel)
            | Self::ChannelUpdate(channel)
            | Self::ChannelDelete(channel)
            | Self::ThreadCreate(channel)
            | Self::ThreadUpdate(channel) => channel.id.to_string(),
            Self::ThreadDelete(deleted) => deleted.id.to_string(),
            Self::ThreadMembersUpdate(update) => update.id.to_string(),
            Self::MessageCreate(message) | Self::MessageUpdate(message) => message.id.to_string(),
            Self::MessageDelete(deleted) => deleted.id.to_string(),
            Self::InteractionCreate(interaction) => interaction.id.to_string(),
        }
    }

    /// Its data as JSON.
    pub fn data(&self) -> Value {
        let data = match self {
            Self::Ready(ready) => serde_json::to_value(ready),
            Self::GuildCreate(guild) => serde_json::to_value(guild),
            Self::ChannelCreate(channel)
            | Self::ChannelUpdate(channel)
            | Self::ChannelDelete(channel)
            | Self::ThreadCreate(channel)
            | Self::ThreadUpdate(channel) => serde_json::to_value(channel),
            Self::ThreadDelete(deleted) => serde_json::to_value(deleted),
            Self::ThreadMembersUpdate(update) => serde_json::to_value(update),
            Self::GuildRoleCreate(created) => serde_json::to_value(created),
            Self::GuildRoleDelete(deleted) => serde_json::to_value(deleted),
            Self::GuildMemberUpdate(update) => serde_json::to_value(update),
            Self::MessageCreate(message) | Self::MessageUpdate(message) => {
                serde_json::to_value(message)
            }
            Self::MessageDelete(deleted) => serde_json::to_value(deleted),
            Self::InteractionCreate(interaction) => serde_json::to_value(interaction),
        };
        data.expect("the sandbox's types serialize to JSON")
    }
}

/// A dispatch ready for the socket: its name, the `id` of its data, the data, and who gets it
/// (the shard of its guild; a session with the GUILD_MEMBERS intent for some). Typed events
/// become one; tests may also inject one of their own ([`Dispatch::raw`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Dispatch {
    /// `MESSAGE_CREATE`...
    pub name: String,
    /// The `id` of its data, for the record (empty when none).
    pub id: String,
    /// The data.
    pub data: Value,
    /// The guild it is about, whose shard receives it; `None` for shard 0 (a DM's).
    pub guild_id: Option<u64>,
    /// Only for sessions with the GUILD_MEMBERS intent (another member joined or left a
    /// thread).
    pub needs_members_intent: bool,
}

impl Dispatch {
    /// A dispatch a test writes itself: its guild is the data's `guild_id`, or its `id` for a
    /// `GUILD_*` event about the guild itself; every session with that shard gets it.
    pub fn raw(name: &str, data: Value) -> Self {
        let id_of = |value: &Value| match value {
            Value::String(text) => text.parse().ok(),
            Value::Number(number) => number.as_u64(),
            _ => None,
        };
        let guild_id = data.get("guild_id").and_then(id_of).or_else(|| {
            name.starts_with("GUILD_")
                .then(|| data.get("id").and_then(id_of))
                .flatten()
        });
        Self {
            name: name.to_owned(),
            id: data["id"].as_str().unwrap_or_default().to_owned(),
            data,
            guild_id,
            needs_members_intent: false,
        }
    }
}

impl From<Event> for Dispatch {
    fn from(event: Event) -> Self {
        let needs_members_intent = match &event {
            Event::ThreadMembersUpdate(update) => !update.about_the_bot(),
            Event::GuildMemberUpdate(_) => true,
            _ => false,
        };
        Self {
            name: event.name().to_owned(),
            id: event.id(),
            data: event.data(),
            guild_id: event.guild_id(),
            needs_members_intent,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use serenity::model::event::{Event as SerenityEvent, GatewayEvent};

    use super::*;
    use crate::model::{
        channel::{ChannelKind, Overwrite, OverwriteKind},
        interaction::CommandData,
        message::{MessageBody, MessageSpec},
        user::User,
    };

    fn read(event: Event) -> SerenityEvent {
        let dispatch = Dispatch::from(event);
        let frame = json!({ "op": 0, "s": 1, "t": dispatch.name, "d": dispatch.data });
        match serde_json::from_value::<GatewayEvent>(frame) {
            Ok(GatewayEvent::Dispatch(_, event)) => event,
            other => panic!("{} is not a dispatch: {other:?}", dispatch.name),
        }
    }

    fn channel() -> Channel {
        let overwrite = Overwrite {
            id: 7,
            kind: OverwriteKind::Member,
            allow: 1024,
            deny: 0,
        };
        Channel::new(
            5,
            1,
            ChannelKind::Text,
            "ticket-7",
            Some(4),
            vec![overwrite],
        )
    }

    fn thread() -> Channel {
        let body = crate::model::channel::NewThread {
            name: "ticket-7".to_owned(),
            ..Default::default()
        };
        Channel::thread(9, 1, 5, crate::model::ids::BOT_ID, &body)
    }

    /// One of each event, so that a new variant cannot be left out of the check below.
    fn every_event() -> Vec<Event> {
        let every = |event: &Event| match event {
            Event::Ready(_)
            | Event::GuildCreate(_)
            | Event::ChannelCreate(_)
            | Event::ChannelUpdate(_)
            | Event::ChannelDelete(_)
            | Event::GuildRoleCreate(_)
            | Event::GuildRoleDelete(_)
            | Event::GuildMemberUpdate(_)
            | Event::MessageCreate(_)
            | Event::MessageUpdate(_)
            | Event::MessageDelete(_)
            | Event::InteractionCreate(_)
            | Event::ThreadCreate(_)
            | Event::ThreadUpdate(_)
            | Event::ThreadDelete(_)
            | Event::ThreadMembersUpdate(_) => (),
        };
        let member = Member::new(User::new(7, false), vec![6]);
        let guild = GuildCreate::new(
            1,
            "Fake Guild",
            3,
            vec![channel()],
            vec![Role::everyone(1), Role::new(6, "Support")],
            vec![member.clone()],
        );
        let mut spec = MessageSpec::human(5, 7, "hello");
        spec.id = 8;
        let events = vec![
            Event::Ready(Box::new(Ready::new("127.0.0.1:1", [1]))),
            Event::GuildCreate(Box::new(guild)),
            Event::ChannelCreate(Box::new(channel())),
            Event::ChannelUpdate(Box::new(channel())),
            Event::ChannelDelete(Box::new(channel())),
            Event::GuildRoleCreate(Box::new(RoleCreate {
                guild_id: 1,
                role: Role::new(6, "Support"),
            })),
            Event::GuildRoleDelete(RoleDelete {
                guild_id: 1,
                role_id: 6,
            }),
            Event::GuildMemberUpdate(Box::new(MemberUpdate {
                guild_id: 1,
                member: member.clone(),
            })),
            Event::MessageCreate(Box::new(Message::from_human(&spec, Some(1), vec![6]))),
            Event::MessageUpdate(Box::new(Message::from_bot(
                9,
                5,
                Some(1),
                MessageBody::default(),
                vec![],
            ))),
            Event::MessageDelete(MessageDelete {
                id: 8,
                channel_id: 5,
                guild_id: Some(1),
            }),
            Event::InteractionCreate(Box::new(Interaction::command(
                9,
                1,
                5,
                member,
                true,
                CommandData::new("setup", &[], vec![]),
            ))),
            Event::ThreadCreate(Box::new(thread())),
            Event::ThreadUpdate(Box::new(thread())),
            Event::ThreadDelete(ThreadDelete {
                id: 9,
                guild_id: 1,
                parent_id: 5,
                kind: ChannelKind::PrivateThread,
            }),
            Event::ThreadMembersUpdate(Box::new(ThreadMembersUpdate {
                id: 9,
                guild_id: 1,
                member_count: 2,
                added_members: vec![ThreadMember::new(9, 7, &crate::model::message::now())],
                removed_member_ids: vec![3],
            })),
        ];
        events.iter().for_each(every);
        events
    }

    #[test]
    fn every_event_is_the_serenity_event_of_its_name_never_unknown() {
        for event in every_event() {
            let name = event.name();
            let read = read(event);
            let matches = match (name, &read) {
                ("READY", SerenityEvent::Ready(ready)) => {
                    ready.ready.application.id.get() == crate::model::ids::APP_ID
                }
                ("GUILD_CREATE", SerenityEvent::GuildCreate(guild)) => {
                    guild.guild.channels.len() == 1 && guild.guild.roles.len() == 2
                }
                ("CHANNEL_CREATE", SerenityEvent::ChannelCreate(_))
                | ("CHANNEL_UPDATE", SerenityEvent::ChannelUpdate(_))
                | ("CHANNEL_DELETE", SerenityEvent::ChannelDelete(_))
                | ("GUILD_ROLE_CREATE", SerenityEvent::GuildRoleCreate(_))
                | ("GUILD_ROLE_DELETE", SerenityEvent::GuildRoleDelete(_))
                | ("MESSAGE_UPDATE", SerenityEvent::MessageUpdate(_))
                | ("MESSAGE_DELETE", SerenityEvent::MessageDelete(_))
                | ("INTERACTION_CREATE", SerenityEvent::InteractionCreate(_))
                | ("THREAD_CREATE", SerenityEvent::ThreadCreate(_))
                | ("THREAD_UPDATE", SerenityEvent::ThreadUpdate(_)) => true,
                ("THREAD_DELETE", SerenityEvent::ThreadDelete(deleted)) => {
                    deleted.thread.parent_id.get() == 5
                }
                ("GUILD_MEMBER_UPDATE", SerenityEvent::GuildMemberUpdate(update)) => {
                    update.user.id.get() == 7 && update.roles.len() == 1
                }
                ("THREAD_MEMBERS_UPDATE", SerenityEvent::ThreadMembersUpdate(update)) => {
                    update.added_members.len() == 1 && update.removed_member_ids.len() == 1
                }
                ("MESSAGE_CREATE", SerenityEvent::MessageCreate(created)) => {
                    created.message.content == "hello" && !created.message.author.bot
                }
                _ => false,
            };
            assert!(matches, "{name} became {read:?}");
        }
    }

    #[test]
    fn a_dispatch_carries_the_name_and_the_id_of_its_data() {
        let dispatch = Dispatch::from(Event::ChannelDelete(Box::new(channel())));
        assert_eq!(
            (dispatch.name.as_str(), dispatch.id.as_str()),
            ("CHANNEL_DELETE", "5")
        );
        assert_eq!(dispatch.data["id"], "5");
        let deleted = Dispatch::from(Event::GuildRoleDelete(RoleDelete {
            guild_id: 1,
            role_id: 6,
        }));
        assert_eq!(deleted.id, "");
        assert_eq!(deleted.guild_id, Some(1));
        let dm = Dispatch::from(Event::MessageDelete(MessageDelete {
            id: 8,
            channel_id: 5,
            guild_id: None,
        }));
        assert_eq!(dm.guild_id, None, "a DM's event goes to shard 0");
    }

    #[test]
    fn a_raw_dispatch_finds_its_guild_and_only_news_of_other_members_needs_the_intent() {
        let raw = Dispatch::raw("MESSAGE_CREATE", json!({ "id": "8", "guild_id": "12" }));
        assert_eq!((raw.id.as_str(), raw.guild_id), ("8", Some(12)));
        assert_eq!(
            Dispatch::raw("GUILD_DELETE", json!({ "id": 13 })).guild_id,
            Some(13)
        );
        assert_eq!(
            Dispatch::raw("MESSAGE_CREATE", json!({ "id": "8" })).guild_id,
            None
        );
        let update = |user| ThreadMembersUpdate {
            id: 9,
            guild_id: 1,
            member_count: 1,
            added_members: vec![ThreadMember::new(9, user, "2026-11-27T08:00:00Z")],
            removed_member_ids: vec![],
        };
        let other = Dispatch::from(Event::ThreadMembersUpdate(Box::new(update(7))));
        let bot = Dispatch::from(Event::ThreadMembersUpdate(Box::new(update(BOT_ID))));
        assert!(other.needs_members_intent && !bot.needs_members_intent);
        let roles = Dispatch::from(Event::GuildMemberUpdate(Box::new(MemberUpdate {
            guild_id: 1,
            member: Member::new(User::new(7, false), vec![6]),
        })));
        assert!(roles.needs_members_intent);
    }
}
