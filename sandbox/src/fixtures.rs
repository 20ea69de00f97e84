//! The JSON of Discord objects and gateway events, as real Discord sends them; the unit tests
//! below deserialize each into serenity's own types, since an event serenity cannot read
//! silently becomes `Event::Unknown` and never reaches the bot's handler.

use serde_json::{json, Value};

use crate::{users::PERSONAS, ADMIN_ID, APP_ID, BOT_ID, GUILD_ID};

/// The timestamp of every object (the page shows the sandbox's own clock instead).
pub const TIMESTAMP: &str = "2026-11-27T08:00:00.000000+00:00";

/// What @everyone may do (view channels, send messages, read history...), as a new guild has it.
const EVERYONE_PERMISSIONS: &str = "1071698660929";

/// The name of a user: the bot's, a persona's, or `user<ID>`.
pub fn username(id: u64, bot: bool) -> String {
    if bot && id == BOT_ID {
        return "TicketBot".to_owned();
    }
    PERSONAS
        .iter()
        .find(|p| p.id == id)
        .map_or_else(|| format!("user{id}"), |p| p.name.to_owned())
}

/// A user object.
pub fn user(id: u64, bot: bool) -> Value {
    json!({
        "id": id.to_string(),
        "username": username(id, bot),
        "discriminator": "0",
        "global_name": null,
        "avatar": null,
        "bot": bot,
    })
}

/// A guild channel object.
pub fn channel(id: u64, kind: u64, name: &str, parent: Option<u64>, overwrites: Value) -> Value {
    json!({
        "id": id.to_string(),
        "type": kind,
        "guild_id": GUILD_ID.to_string(),
        "name": name,
        "position": 0,
        "parent_id": parent.map(|p| p.to_string()),
        "permission_overwrites": overwrites,
        "nsfw": false,
        "flags": 0,
    })
}

/// A role object.
pub fn role(id: u64, name: &str) -> Value {
    json!({
        "id": id.to_string(),
        "name": name,
        "color": 0,
        "colors": { "primary_color": 0, "secondary_color": null, "tertiary_color": null },
        "hoist": false,
        "icon": null,
        "unicode_emoji": null,
        "position": 1,
        "permissions": "0",
        "managed": false,
        "mentionable": false,
        "flags": 0,
    })
}

/// The @everyone role (its ID is the guild's).
pub fn everyone_role() -> Value {
    let mut everyone = role(GUILD_ID, "@everyone");
    everyone["position"] = json!(0);
    everyone["permissions"] = json!(EVERYONE_PERMISSIONS);
    everyone
}

/// The READY event data; `host` is where the bot reached the sandbox.
pub fn ready(host: &str) -> Value {
    json!({
        "v": 10,
        "user": user(BOT_ID, true),
        "guilds": [{ "id": GUILD_ID.to_string(), "unavailable": true }],
        "session_id": "fake-session",
        "resume_gateway_url": format!("ws://{host}/gateway"),
        "application": { "id": APP_ID.to_string(), "flags": 0 },
    })
}

/// A DM channel between the bot and `recipient`.
pub fn dm_channel(id: u64, recipient: u64) -> Value {
    json!({
        "id": id.to_string(),
        "type": 1,
        "last_message_id": null,
        "recipients": [user(recipient, false)],
        "flags": 0,
    })
}

/// The GUILD_ROLE_CREATE / GUILD_ROLE_UPDATE event data.
pub fn role_event(role: &Value) -> Value {
    json!({ "guild_id": GUILD_ID.to_string(), "role": role })
}

/// The GUILD_ROLE_DELETE event data.
pub fn role_delete(role_id: &str) -> Value {
    json!({ "guild_id": GUILD_ID.to_string(), "role_id": role_id })
}

/// The GUILD_CREATE event data for the guild holding `channels` and `roles`, with the bot, the
/// owner and `members` (member objects).
pub fn guild_create(channels: Vec<Value>, roles: Vec<Value>) -> Value {
    guild_create_with(channels, roles, Vec::new())
}

/// [`guild_create`] with these member objects besides the bot and the owner.
pub fn guild_create_with(channels: Vec<Value>, roles: Vec<Value>, members: Vec<Value>) -> Value {
    let mut all_roles = vec![everyone_role()];
    all_roles.extend(roles);
    let member = |id: u64, bot: bool| json!({ "user": user(id, bot), "roles": [], "deaf": false, "mute": false, "flags": 0, "joined_at": TIMESTAMP });
    let mut all_members = vec![member(BOT_ID, true), member(ADMIN_ID, false)];
    let (bot, owner) = (BOT_ID.to_string(), ADMIN_ID.to_string());
    all_members.extend(
        members
            .into_iter()
            .filter(|m| m["user"]["id"] != bot.as_str() && m["user"]["id"] != owner.as_str()),
    );
    json!({
        "id": GUILD_ID.to_string(),
        "name": "Fake Guild",
        "icon": null,
        "owner_id": ADMIN_ID.to_string(),
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "system_channel_flags": 0,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "nsfw_level": 0,
        "premium_progress_bar_enabled": false,
        "joined_at": TIMESTAMP,
        "large": false,
        "member_count": all_members.len(),
        "roles": all_roles,
        "emojis": [],
        "features": [],
        "stickers": [],
        "voice_states": [],
        "members": all_members,
        "channels": channels,
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
    })
}

/// The answer to `PUT .../commands`: the commands as Discord stores them.
pub fn commands(body: &Value, guild: Option<u64>, next_id: &mut dyn FnMut() -> u64) -> Value {
    let list = body.as_array().cloned().unwrap_or_default();
    Value::Array(
        list.iter()
            .map(|command| {
                json!({
                    "id": next_id().to_string(),
                    "application_id": APP_ID.to_string(),
                    "guild_id": guild.map(|g| g.to_string()),
                    "version": "1",
                    "type": command["type"].as_u64().unwrap_or(1),
                    "name": command["name"],
                    "description": command["description"],
                    "options": command.get("options").cloned().unwrap_or(json!([])),
                    "default_member_permissions": command.get("default_member_permissions").cloned().unwrap_or(Value::Null),
                    "dm_permission": command.get("dm_permission").cloned().unwrap_or(json!(true)),
                    "nsfw": false,
                    "integration_types": [0],
                    "contexts": null,
                })
            })
            .collect(),
    )
}

/// The current time as Discord writes it (RFC 3339, UTC).
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("the current time formats")
}

/// The fields every Message object has, with no reference, member or webhook.
fn message(id: u64, channel_id: u64, author: Value, content: &str, kind: u64) -> Value {
    json!({
        "id": id.to_string(),
        "channel_id": channel_id.to_string(),
        "guild_id": GUILD_ID.to_string(),
        "author": author,
        "content": content,
        // Now, as on Discord: the bot's catch-up reads message times.
        "timestamp": now(),
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": kind,
        "flags": 0,
    })
}

/// A message the bot created from request `body` (content, message_reference, components,
/// embeds, and `attachments`: attachment objects the sandbox made of uploaded files).
pub fn bot_message(id: u64, channel_id: u64, body: &Value) -> Value {
    let reference = body.get("message_reference").filter(|r| !r.is_null());
    // A reply is type 19, a plain message type 0.
    let kind = if reference.is_some() { 19 } else { 0 };
    let content = body["content"].as_str().unwrap_or_default();
    let mut message = message(id, channel_id, user(BOT_ID, true), content, kind);
    message["message_reference"] = reference.cloned().unwrap_or(Value::Null);
    for key in ["components", "embeds", "attachments"] {
        if let Some(list) = body.get(key).filter(|v| v.is_array()) {
            message[key] = list.clone();
        }
    }
    message
}

/// An attachment object for a file the sandbox serves at `url`.
pub fn attachment(id: u64, filename: &str, content_type: &str, size: usize, url: &str) -> Value {
    json!({
        "id": id.to_string(),
        "filename": filename,
        "content_type": content_type,
        "size": size,
        "url": url,
        "proxy_url": url,
    })
}

/// A file on a human's message, as Discord describes it (the sandbox need not hold its bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentSpec {
    /// Filled in by [`crate::Sandbox::send`] when 0.
    pub id: u64,
    /// The file's name, `report.png`.
    pub filename: String,
    /// Where the file is served.
    pub url: String,
    /// Its size in bytes.
    pub size: usize,
    /// Its media type, `image/png`.
    pub content_type: String,
}

impl AttachmentSpec {
    /// A file named `filename` of `size` bytes and type `content_type`, served at `url`.
    pub fn new(filename: &str, url: &str, size: usize, content_type: &str) -> Self {
        Self {
            id: 0,
            filename: filename.to_owned(),
            url: url.to_owned(),
            size,
            content_type: content_type.to_owned(),
        }
    }
}

/// Who sent a message, and how.
#[derive(Debug, Clone)]
pub struct MessageSpec {
    /// Filled in by [`crate::Sandbox::send`].
    pub id: u64,
    /// The channel.
    pub channel_id: u64,
    /// The author.
    pub author_id: u64,
    /// A bot account.
    pub bot: bool,
    /// Sent through a webhook.
    pub webhook: bool,
    /// Discord's message type (0 regular, 7 member join...).
    pub kind: u64,
    /// The text.
    pub content: String,
    /// Files attached to it.
    pub attachments: Vec<AttachmentSpec>,
}

impl MessageSpec {
    /// A regular message by a human.
    pub fn human(channel_id: u64, author_id: u64, content: &str) -> Self {
        Self {
            id: 0,
            channel_id,
            author_id,
            bot: false,
            webhook: false,
            kind: 0,
            content: content.to_owned(),
            attachments: Vec::new(),
        }
    }

    /// This message with `attachment` too.
    #[must_use]
    pub fn with_attachment(mut self, attachment: AttachmentSpec) -> Self {
        self.attachments.push(attachment);
        self
    }
}

/// The MESSAGE_CREATE event data (and the stored Message object).
pub fn message_create(spec: &MessageSpec) -> Value {
    let author = user(spec.author_id, spec.bot);
    let mut message = message(spec.id, spec.channel_id, author, &spec.content, spec.kind);
    message["member"] =
        json!({ "roles": [], "deaf": false, "mute": false, "flags": 0, "joined_at": TIMESTAMP });
    if spec.webhook {
        message["webhook_id"] = json!(spec.author_id.to_string());
    }
    let attachments: Vec<Value> = spec
        .attachments
        .iter()
        .map(|a| attachment(a.id, &a.filename, &a.content_type, a.size, &a.url))
        .collect();
    message["attachments"] = json!(attachments);
    message
}

/// The token of interaction `id` (unique per interaction, as on Discord).
pub fn interaction_token(id: u64) -> String {
    format!("token-{id}")
}

/// The INTERACTION_CREATE event data of a slash command run by `user_id`.
pub fn interaction_create(
    id: u64,
    name: &str,
    user_id: u64,
    administrator: bool,
    channel_id: u64,
) -> Value {
    let mut interaction = interaction_base(id, user_id, administrator, channel_id);
    interaction["type"] = json!(2);
    interaction["data"] = json!({ "id": "1", "name": name, "type": 1 });
    interaction
}

/// One option of a slash command as the person filled it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOption {
    /// A STRING option (type 3): its name and value.
    String(String, String),
    /// A USER option (type 6): its name and the chosen user's ID.
    User(String, u64),
}

impl CommandOption {
    /// The option's name.
    pub fn name(&self) -> &str {
        match self {
            Self::String(name, _) | Self::User(name, _) => name,
        }
    }

    /// The option object of `data.options`.
    fn to_json(&self) -> Value {
        match self {
            Self::String(name, value) => json!({ "name": name, "type": 3, "value": value }),
            // Discord sends the user's ID as a string; the user is in `data.resolved`.
            Self::User(name, id) => json!({ "name": name, "type": 6, "value": id.to_string() }),
        }
    }
}

/// [`interaction_create`] for a member with these roles and command options (`name`, string
/// value).
pub fn command_interaction(
    id: u64,
    name: &str,
    member: &Value,
    administrator: bool,
    channel_id: u64,
    options: &[(String, String)],
) -> Value {
    let options: Vec<CommandOption> = options
        .iter()
        .map(|(name, value)| CommandOption::String(name.clone(), value.clone()))
        .collect();
    command_interaction_with(id, name, member, administrator, channel_id, &options, &[])
}

/// [`command_interaction`] with any options; `resolved` holds the member objects (with their
/// `user`) of the users that USER options name, which Discord sends in `data.resolved`.
pub fn command_interaction_with(
    id: u64,
    name: &str,
    member: &Value,
    administrator: bool,
    channel_id: u64,
    options: &[CommandOption],
    resolved: &[Value],
) -> Value {
    let user_id = member["user"]["id"]
        .as_str()
        .and_then(|u| u.parse().ok())
        .unwrap_or_default();
    let mut interaction = interaction_create(id, name, user_id, administrator, channel_id);
    interaction["member"]["roles"] = member["roles"].clone();
    let options: Vec<Value> = options.iter().map(CommandOption::to_json).collect();
    interaction["data"]["options"] = json!(options);
    if !resolved.is_empty() {
        let mut users = serde_json::Map::new();
        let mut members = serde_json::Map::new();
        for member in resolved {
            let Some(id) = member["user"]["id"].as_str() else {
                continue;
            };
            users.insert(id.to_owned(), member["user"].clone());
            // A resolved member is partial: no `user`, and with its permissions in the channel.
            let mut partial = member.clone();
            if let Some(fields) = partial.as_object_mut() {
                fields.remove("user");
            }
            partial["permissions"] = json!(EVERYONE_PERMISSIONS);
            members.insert(id.to_owned(), partial);
        }
        interaction["data"]["resolved"] = json!({ "users": users, "members": members });
    }
    interaction
}

/// The INTERACTION_CREATE event data of a button with `custom_id` pressed by `user_id` on
/// `message`.
pub fn component_interaction(
    id: u64,
    custom_id: &str,
    user_id: u64,
    administrator: bool,
    message: &Value,
) -> Value {
    let channel_id = message["channel_id"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .unwrap_or_default();
    let mut interaction = interaction_base(id, user_id, administrator, channel_id);
    interaction["type"] = json!(3);
    interaction["message"] = message.clone();
    interaction["data"] = json!({ "custom_id": custom_id, "component_type": 2 });
    interaction
}

/// What every interaction in a guild channel carries.
fn interaction_base(id: u64, user_id: u64, administrator: bool, channel_id: u64) -> Value {
    // Administrator is bit 3; the rest are what @everyone has.
    let permissions = if administrator {
        "1071698660937"
    } else {
        EVERYONE_PERMISSIONS
    };
    json!({
        "id": id.to_string(),
        "application_id": APP_ID.to_string(),
        "token": interaction_token(id),
        "version": 1,
        "guild_id": GUILD_ID.to_string(),
        "channel_id": channel_id.to_string(),
        "channel": { "id": channel_id.to_string(), "type": 0 },
        "member": {
            "user": user(user_id, false),
            "roles": [],
            "deaf": false,
            "mute": false,
            "flags": 0,
            "joined_at": TIMESTAMP,
            "permissions": permissions,
        },
        "app_permissions": "1071698660937",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": { "0": GUILD_ID.to_string() },
        "context": 0,
        "attachment_size_limit": 8_388_608,
    })
}

#[cfg(test)]
mod tests {
    use serenity::model::{
        application::Command,
        channel::{GuildChannel, Message},
        event::{Event, GatewayEvent},
        guild::Role,
    };

    use super::*;

    fn event(name: &str, data: Value) -> Event {
        let frame = json!({ "op": 0, "s": 1, "t": name, "d": data });
        match serde_json::from_value::<GatewayEvent>(frame) {
            Ok(GatewayEvent::Dispatch(_, event)) => event,
            other => panic!("{name} is not a dispatch: {other:?}"),
        }
    }

    #[test]
    fn ready_is_a_ready_event() {
        let Event::Ready(ready) = event("READY", ready("127.0.0.1:1")) else {
            panic!("READY became another event")
        };
        assert_eq!(ready.ready.application.id.get(), APP_ID);
    }

    #[test]
    fn guild_create_is_a_guild_create_event() {
        let channels = vec![channel(5, 0, "general", None, json!([]))];
        let Event::GuildCreate(guild) = event(
            "GUILD_CREATE",
            guild_create(channels, vec![role(6, "Support")]),
        ) else {
            panic!("GUILD_CREATE became another event")
        };
        assert_eq!(guild.guild.channels.len(), 1);
        assert_eq!(guild.guild.roles.len(), 2);
    }

    #[test]
    fn message_create_is_a_message_create_event() {
        let mut spec = MessageSpec::human(5, 7, "hello");
        spec.id = 8;
        let Event::MessageCreate(created) = event("MESSAGE_CREATE", message_create(&spec)) else {
            panic!("MESSAGE_CREATE became another event")
        };
        assert_eq!(created.message.content, "hello");
        assert!(!created.message.author.bot);
        spec.bot = true;
        spec.webhook = true;
        spec.kind = 7;
        assert!(matches!(
            event("MESSAGE_CREATE", message_create(&spec)),
            Event::MessageCreate(_)
        ));
    }

    #[test]
    fn interaction_create_is_a_command_interaction() {
        let Event::InteractionCreate(created) = event(
            "INTERACTION_CREATE",
            interaction_create(9, "setup", 7, true, 5),
        ) else {
            panic!("INTERACTION_CREATE became another event")
        };
        let command = created
            .interaction
            .command()
            .expect("a command interaction");
        assert_eq!(command.data.name, "setup");
        assert_eq!(command.user.id.get(), 7);
        assert!(command.member.unwrap().permissions.unwrap().administrator());
        let Event::InteractionCreate(created) = event(
            "INTERACTION_CREATE",
            interaction_create(9, "setup", 7, false, 5),
        ) else {
            panic!("INTERACTION_CREATE became another event")
        };
        let member = created.interaction.command().unwrap().member.unwrap();
        assert!(!member.permissions.unwrap().administrator());
    }

    #[test]
    fn a_command_with_roles_and_options_and_a_button_press_are_interactions() {
        let member = json!({ "user": user(7, false), "roles": ["6"] });
        let options = [("topic".to_owned(), "printer".to_owned())];
        let Event::InteractionCreate(created) = event(
            "INTERACTION_CREATE",
            command_interaction(9, "ask", &member, false, 5, &options),
        ) else {
            panic!("INTERACTION_CREATE became another event")
        };
        let command = created.interaction.command().expect("a command");
        assert_eq!(command.member.unwrap().roles[0].get(), 6);
        assert_eq!(command.data.options[0].name, "topic");

        let body = json!({ "content": "pick", "components": [{ "type": 1, "components": [
            { "type": 2, "style": 1, "label": "Close", "custom_id": "close" }
        ]}]});
        let message = bot_message(8, 5, &body);
        let Event::InteractionCreate(created) = event(
            "INTERACTION_CREATE",
            component_interaction(10, "close", 7, false, &message),
        ) else {
            panic!("INTERACTION_CREATE became another event")
        };
        let component = created
            .interaction
            .message_component()
            .expect("a button press");
        assert_eq!(component.data.custom_id, "close");
        assert_eq!(component.message.components.len(), 1);
    }

    #[test]
    fn a_human_message_carries_its_attachments() {
        let mut spec = MessageSpec::human(5, 7, "see the log").with_attachment(AttachmentSpec {
            id: 9,
            ..AttachmentSpec::new("log.txt", "http://x/log.txt", 12, "text/plain")
        });
        spec.id = 8;
        let Event::MessageCreate(created) = event("MESSAGE_CREATE", message_create(&spec)) else {
            panic!("MESSAGE_CREATE became another event")
        };
        let attachment = &created.message.attachments[0];
        assert_eq!(
            (
                attachment.id.get(),
                attachment.filename.as_str(),
                attachment.size
            ),
            (9, "log.txt", 12)
        );
        assert_eq!(attachment.url, "http://x/log.txt");
        assert_eq!(attachment.content_type.as_deref(), Some("text/plain"));
    }

    #[test]
    fn a_user_option_is_a_user_with_its_resolved_user_and_member() {
        use serenity::model::application::{CommandDataOptionValue, ResolvedValue};

        let runner = json!({ "user": user(7, false), "roles": [] });
        let chosen = json!({ "user": user(11, false), "roles": ["6"], "deaf": false, "mute": false, "flags": 0, "joined_at": TIMESTAMP });
        let options = [
            CommandOption::User("member".to_owned(), 11),
            CommandOption::String("reason".to_owned(), "help".to_owned()),
        ];
        let Event::InteractionCreate(created) = event(
            "INTERACTION_CREATE",
            command_interaction_with(9, "ticket-add", &runner, false, 5, &options, &[chosen]),
        ) else {
            panic!("INTERACTION_CREATE became another event")
        };
        let command = created.interaction.command().expect("a command");
        assert_eq!(command.data.options[0].name, "member");
        assert!(matches!(
            command.data.options[0].value,
            CommandDataOptionValue::User(id) if id.get() == 11
        ));
        let resolved = command.data.options();
        let ResolvedValue::User(user, Some(member)) = &resolved[0].value else {
            panic!("the user option is not resolved to a user and member: {resolved:?}")
        };
        assert_eq!(user.id.get(), 11);
        assert_eq!(member.roles[0].get(), 6);
        assert!(matches!(resolved[1].value, ResolvedValue::String("help")));
    }

    #[test]
    fn role_and_channel_changes_and_full_guilds_are_their_events() {
        let role = role(6, "Support");
        assert!(matches!(
            event("GUILD_ROLE_CREATE", role_event(&role)),
            Event::GuildRoleCreate(_)
        ));
        assert!(matches!(
            event("GUILD_ROLE_DELETE", role_delete("6")),
            Event::GuildRoleDelete(_)
        ));
        let text = channel(5, 0, "general", None, json!([]));
        assert!(matches!(
            event("CHANNEL_UPDATE", text.clone()),
            Event::ChannelUpdate(_)
        ));
        assert!(matches!(
            event("CHANNEL_DELETE", text),
            Event::ChannelDelete(_)
        ));
        let members = vec![
            json!({ "user": user(7, false), "roles": ["6"], "deaf": false, "mute": false, "flags": 0, "joined_at": TIMESTAMP }),
        ];
        let Event::GuildCreate(guild) = event(
            "GUILD_CREATE",
            guild_create_with(vec![], vec![role], members),
        ) else {
            panic!("GUILD_CREATE became another event")
        };
        assert_eq!(guild.guild.members.len(), 3);
    }

    #[test]
    fn channel_create_is_a_channel_create_event() {
        let data = channel(
            5,
            0,
            "ticket-7",
            Some(4),
            json!([{ "id": "7", "type": 1, "allow": "1024", "deny": "0" }]),
        );
        assert!(matches!(
            event("CHANNEL_CREATE", data),
            Event::ChannelCreate(_)
        ));
    }

    #[test]
    fn rest_answers_deserialize_into_serenity_models() {
        let created: GuildChannel =
            serde_json::from_value(channel(5, 4, "Tickets", None, json!([]))).unwrap();
        assert_eq!(created.name, "Tickets");
        let _: Role = serde_json::from_value(role(6, "Support")).unwrap();
        let body = json!({ "content": "hi", "message_reference": { "message_id": "3", "channel_id": "5" } });
        let message: Message = serde_json::from_value(bot_message(7, 5, &body)).unwrap();
        assert!(message.message_reference.is_some());
        let body = json!([{ "name": "setup", "description": "d", "type": 1, "default_member_permissions": "8" }]);
        let mut id = 10;
        let commands: Vec<Command> =
            serde_json::from_value(commands(&body, Some(GUILD_ID), &mut || {
                id += 1;
                id
            }))
            .unwrap();
        assert_eq!(commands[0].name, "setup");
        let _: serenity::model::channel::PrivateChannel =
            serde_json::from_value(dm_channel(11, 7)).unwrap();
        let body = json!({ "content": "", "attachments": [attachment(12, "a.txt", "text/plain", 3, "http://x/a.txt")] });
        let message: Message = serde_json::from_value(bot_message(13, 5, &body)).unwrap();
        assert_eq!(message.attachments[0].filename, "a.txt");
    }
}
