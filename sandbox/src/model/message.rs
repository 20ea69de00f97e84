//! Messages: Discord's message object with its attachments, components (buttons in rows),
//! embeds and reply reference; the body the bot sends to create or edit one; and
//! [`MessageSpec`], a human's message as tests and the page describe it.

use serde::{Deserialize, Serialize};

use crate::model::{
    member::Member,
    user::User,
    wire::{option_u64_string, u64_string, vec_u64_string},
};

/// Message flag of an ephemeral message.
pub const EPHEMERAL: u64 = 1 << 6;
/// Message flag of a deferred interaction's "is thinking" message.
pub const LOADING: u64 = 1 << 7;
/// Message type of a regular message.
pub const DEFAULT_TYPE: u64 = 0;
/// Message type of a reply.
pub const REPLY_TYPE: u64 = 19;

/// The current time as Discord writes it (RFC 3339, UTC).
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("the current time formats")
}

/// A file on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    /// The attachment ID.
    #[serde(with = "u64_string")]
    pub id: u64,
    /// `transcript.txt`.
    pub filename: String,
    /// `text/plain`.
    pub content_type: String,
    /// In bytes.
    pub size: u64,
    /// Where it is served.
    pub url: String,
    /// The same URL (the sandbox has no media proxy).
    pub proxy_url: String,
}

impl Attachment {
    /// A file served at `url`.
    pub fn new(id: u64, filename: &str, content_type: &str, size: u64, url: &str) -> Self {
        Self {
            id,
            filename: filename.to_owned(),
            content_type: content_type.to_owned(),
            size,
            url: url.to_owned(),
            proxy_url: url.to_owned(),
        }
    }
}

/// An emoji on a button or select option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Emoji {
    /// A custom emoji's ID.
    #[serde(
        default,
        with = "option_u64_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<u64>,
    /// Its name, or the Unicode emoji itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// An animated custom emoji.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub animated: Option<bool>,
}

/// One choice of a select menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectOption {
    /// What the user reads.
    pub label: String,
    /// What the bot gets.
    pub value: String,
    /// A line under the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// An emoji before the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<Emoji>,
    /// Chosen at first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
}

/// A message component: an action row (type 1) holding buttons (2), select menus (3, 5-8) or,
/// in a form, text inputs (4). One struct for all, as Discord's JSON has one shape with
/// optional fields; each field is written only when set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// 1 action row, 2 button, 3 string select, 4 text input...
    #[serde(rename = "type")]
    pub kind: u8,
    /// An action row's components.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
    /// A button's or text input's style (a button with style 5 is a link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<u8>,
    /// A button's or text input's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// What the bot gets when it is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_id: Option<String>,
    /// A link button's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Greyed out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// A button's emoji.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<Emoji>,
    /// A select menu's or text input's hint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// A select menu's choices.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<SelectOption>,
    /// A select menu's fewest choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_values: Option<u8>,
    /// A select menu's most choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_values: Option<u8>,
    /// A text input's shortest answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u16>,
    /// A text input's longest answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u16>,
    /// A text input that must be filled in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// A text input's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// An embed's footer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedFooter {
    /// Its text.
    pub text: String,
    /// An icon beside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
}

/// An embed's author line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedAuthor {
    /// The name shown.
    pub name: String,
    /// Where the name links to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// An icon beside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
}

/// An image or thumbnail of an embed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedImage {
    /// Where the image is.
    pub url: String,
}

/// A name and value pair of an embed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedField {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// Shown beside the previous field.
    #[serde(default)]
    pub inline: bool,
}

/// A rich embed (the bot sends none; kept so that one it would send comes back whole).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Embed {
    /// Its title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Its text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where the title links to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A time shown in the footer (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The colour of its left edge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<u32>,
    /// Its footer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub footer: Option<EmbedFooter>,
    /// Its image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<EmbedImage>,
    /// Its thumbnail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<EmbedImage>,
    /// Its author line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<EmbedAuthor>,
    /// Its fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<EmbedField>,
}

/// What a reply points at.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageReference {
    /// 0 a reply, 1 a forward.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<u8>,
    /// The message replied to.
    #[serde(with = "option_u64_string", skip_serializing_if = "Option::is_none")]
    pub message_id: Option<u64>,
    /// Its channel.
    #[serde(with = "option_u64_string", skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<u64>,
    /// Its guild.
    #[serde(with = "option_u64_string", skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<u64>,
    /// Whether Discord refuses the reply when the message is gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_if_not_exists: Option<bool>,
}

/// Discord's message object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// The message ID.
    #[serde(with = "u64_string")]
    pub id: u64,
    /// Its channel.
    #[serde(with = "u64_string")]
    pub channel_id: u64,
    /// Its guild; none in a DM.
    #[serde(with = "option_u64_string", skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<u64>,
    /// Who wrote it.
    pub author: User,
    /// Its text.
    pub content: String,
    /// When it was sent: now, as on Discord (the bot's catch-up reads message times).
    pub timestamp: String,
    /// Never set in the sandbox.
    pub edited_timestamp: Option<String>,
    /// Never set in the sandbox.
    pub tts: bool,
    /// Never set in the sandbox.
    pub mention_everyone: bool,
    /// Never set in the sandbox.
    pub mentions: Vec<User>,
    /// Never set in the sandbox.
    #[serde(with = "vec_u64_string")]
    pub mention_roles: Vec<u64>,
    /// Its files.
    pub attachments: Vec<Attachment>,
    /// Its embeds.
    pub embeds: Vec<Embed>,
    /// Its rows of buttons.
    pub components: Vec<Component>,
    /// Never set in the sandbox.
    pub pinned: bool,
    /// 0 regular, 19 reply, 7 member join...
    #[serde(rename = "type")]
    pub kind: u64,
    /// [`EPHEMERAL`], [`LOADING`]...
    pub flags: u64,
    /// The author's member object (a human's message in a guild).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<Member>,
    /// Sent through this webhook.
    #[serde(with = "option_u64_string", skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<u64>,
    /// The message it replies to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_reference: Option<MessageReference>,
}

impl Message {
    /// A message with the fields every message has, sent now, with no reference, member,
    /// webhook or flags.
    pub fn new(
        id: u64,
        channel_id: u64,
        guild_id: Option<u64>,
        author: User,
        content: &str,
    ) -> Self {
        Self {
            id,
            channel_id,
            guild_id,
            author,
            content: content.to_owned(),
            timestamp: now(),
            edited_timestamp: None,
            tts: false,
            mention_everyone: false,
            mentions: Vec::new(),
            mention_roles: Vec::new(),
            attachments: Vec::new(),
            embeds: Vec::new(),
            components: Vec::new(),
            pinned: false,
            kind: DEFAULT_TYPE,
            flags: 0,
            member: None,
            webhook_id: None,
            message_reference: None,
        }
    }

    /// A message of the bot made of request `body` and the `attachments` the sandbox made of
    /// the uploaded files; a reply when the body names a message.
    pub fn from_bot(
        id: u64,
        channel_id: u64,
        guild_id: Option<u64>,
        body: MessageBody,
        attachments: Vec<Attachment>,
    ) -> Self {
        let mut message = Self::new(
            id,
            channel_id,
            guild_id,
            User::bot(),
            body.content.as_deref().unwrap_or_default(),
        );
        if body.message_reference.is_some() {
            message.kind = REPLY_TYPE;
        }
        message.message_reference = body.message_reference;
        message.components = body.components.unwrap_or_default();
        message.embeds = body.embeds.unwrap_or_default();
        message.attachments = attachments;
        message
    }

    /// A human's message as `spec` describes it; in a guild it carries the author's member
    /// object with `roles`, in a DM (`guild_id` none) no member, as on Discord.
    pub fn from_human(spec: &MessageSpec, guild_id: Option<u64>, roles: Vec<u64>) -> Self {
        let mut message = Self::new(
            spec.id,
            spec.channel_id,
            guild_id,
            User::new(spec.author_id, spec.bot),
            &spec.content,
        );
        message.kind = spec.kind;
        if guild_id.is_some() {
            let author = User::new(spec.author_id, spec.bot);
            message.member = Some(Member::new(author, roles).without_user());
        }
        if spec.webhook {
            message.webhook_id = Some(spec.author_id);
        }
        message.attachments = spec
            .attachments
            .iter()
            .map(|a| Attachment::new(a.id, &a.filename, &a.content_type, a.size as u64, &a.url))
            .collect();
        message
    }

    /// Applies an edit: the content, components and embeds the body names, the new files, and
    /// no more "thinking".
    pub fn apply(&mut self, body: MessageBody, attachments: Vec<Attachment>) {
        if let Some(content) = body.content {
            self.content = content;
        }
        if let Some(components) = body.components {
            self.components = components;
        }
        if let Some(embeds) = body.embeds {
            self.embeds = embeds;
        }
        if !attachments.is_empty() {
            self.attachments = attachments;
        }
        self.flags &= !LOADING;
    }
}

/// What the bot sends to create or edit a message (in a channel, as an interaction's answer,
/// through the interaction's webhook). Allowed mentions and the like are accepted and ignored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct MessageBody {
    /// Its text.
    pub content: Option<String>,
    /// Its rows of buttons.
    pub components: Option<Vec<Component>>,
    /// Its embeds.
    pub embeds: Option<Vec<Embed>>,
    /// The message it replies to.
    pub message_reference: Option<MessageReference>,
    /// [`EPHEMERAL`]...
    pub flags: Option<u64>,
}

impl MessageBody {
    /// Whether it asks for an ephemeral message.
    pub fn ephemeral(&self) -> bool {
        self.flags.unwrap_or(0) & EPHEMERAL != 0
    }

    /// Whether it has something besides text (files count, as `files` tells).
    pub fn has_more_than_text(&self, files: bool) -> bool {
        files
            || self.embeds.as_ref().is_some_and(|e| !e.is_empty())
            || self.components.as_ref().is_some_and(|c| !c.is_empty())
    }
}

/// A file on a human's message, as Discord describes it (the sandbox need not hold its bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentSpec {
    /// Filled in when the message is sent, when 0.
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
    /// Filled in when the message is sent.
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
            kind: DEFAULT_TYPE,
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

#[cfg(test)]
mod tests {
    use serde_json::json;
    use serenity::model::channel::Message as SerenityMessage;

    use super::*;

    fn read(message: &Message) -> SerenityMessage {
        serde_json::from_value(serde_json::to_value(message).unwrap()).expect("a serenity Message")
    }

    #[test]
    fn a_bot_reply_with_buttons_and_files_is_serenitys_message() {
        let body: MessageBody = serde_json::from_value(json!({
            "content": "hi",
            "message_reference": { "message_id": "3", "channel_id": "5" },
            "components": [{ "type": 1, "components": [
                { "type": 2, "style": 1, "label": "Close", "custom_id": "close", "disabled": false }
            ]}],
            "allowed_mentions": { "parse": [] },
        }))
        .unwrap();
        let file = Attachment::new(12, "a.txt", "text/plain", 3, "http://x/a.txt");
        let message = Message::from_bot(7, 5, Some(1), body, vec![file]);
        let read = read(&message);
        assert_eq!(
            read.kind,
            serenity::model::channel::MessageType::InlineReply
        );
        assert_eq!(read.message_reference.unwrap().message_id.unwrap().get(), 3);
        assert_eq!(read.components.len(), 1);
        assert_eq!(read.attachments[0].filename, "a.txt");
        assert!(read.author.bot);
    }

    #[test]
    fn a_human_message_carries_its_member_and_attachments_and_a_dm_has_neither_guild_nor_member() {
        let mut spec = MessageSpec::human(5, 7, "see the log").with_attachment(AttachmentSpec {
            id: 9,
            ..AttachmentSpec::new("log.txt", "http://x/log.txt", 12, "text/plain")
        });
        spec.id = 8;
        let read = read(&Message::from_human(&spec, Some(1), vec![6]));
        assert_eq!(read.content, "see the log");
        assert_eq!(read.member.unwrap().roles[0].get(), 6);
        let attachment = &read.attachments[0];
        assert_eq!((attachment.id.get(), attachment.size), (9, 12));
        assert_eq!(attachment.content_type.as_deref(), Some("text/plain"));
        spec.bot = true;
        spec.webhook = true;
        spec.kind = 7;
        let dm = Message::from_human(&spec, None, vec![]);
        assert!(dm.member.is_none());
        let read = super::tests::read(&dm);
        assert!(read.guild_id.is_none() && read.author.bot && read.webhook_id.is_some());
    }

    #[test]
    fn an_edit_replaces_what_it_names_and_ends_the_thinking() {
        let mut message = Message::from_bot(7, 5, None, MessageBody::default(), vec![]);
        message.flags = EPHEMERAL | LOADING;
        let body: MessageBody = serde_json::from_value(json!({ "content": "done" })).unwrap();
        message.apply(body, vec![]);
        assert_eq!(
            (message.content.as_str(), message.flags),
            ("done", EPHEMERAL)
        );
        assert!(!MessageBody::default().has_more_than_text(false));
        assert!(MessageBody::default().has_more_than_text(true));
    }
}
