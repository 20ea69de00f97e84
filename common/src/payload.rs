//! The relay contract: the JSON a requester publishes on the relay subject, the reply a worker
//! sends back, and the error body both the worker and the HTTP sidecar use.
//!
//! Parse, don't validate: [`RelayRequest::parse`] turns untrusted bytes into a request whose
//! every field already holds its invariants, or into a [`PayloadError`] naming the field.
//!
//! ```json
//! request: {"guild_id":"1","channel_id":"2","user_id":"3","content":"hi","message_id":"4",
//!           "history":[{"role":"user","author_id":"3","content":"my order is late"},
//!                      {"role":"staff","author_id":"9","content":"which order?"}],
//!           "ticket":{"topic":"Billing","form":[{"question":"Order number","answer":"A-1042"}]}}
//! reply:   {"reply":"..."}
//! error:   {"error":{"code":"invalid_payload","message":"guild_id: is required"}}
//! ```

mod ticket;

use std::{borrow::Cow, fmt};

use serde::{
    de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor},
    Deserialize, Deserializer, Serialize,
};

pub use ticket::{Form, FormAnswer, FormAnswerText, FormQuestion, TicketContext, TopicName};

/// A Discord ID: a string of 1 to 20 ASCII digits.
///
/// Kept as the string it arrived as, so that IDs of any client round-trip unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Snowflake(String);

impl Snowflake {
    /// Longest snowflake accepted: `u64::MAX` has 20 digits.
    pub const MAX_DIGITS: usize = 20;

    /// Accepts 1 to 20 ASCII digits, nothing else (no sign, no spaces).
    pub fn parse(value: &str) -> Result<Self, String> {
        let ok = (1..=Self::MAX_DIGITS).contains(&value.len())
            && value.bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(format!(
                "must be a Discord ID: a string of 1 to {} digits",
                Self::MAX_DIGITS
            ))
        }
    }

    /// The ID as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The numeric value, when it fits in 64 bits (every real Discord ID does).
    pub fn to_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }
}

impl From<u64> for Snowflake {
    fn from(id: u64) -> Self {
        Self(id.to_string())
    }
}

impl fmt::Display for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The text of a ticket message: not empty after trimming, at most 4,000 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct MessageContent(String);

impl MessageContent {
    /// Most characters (Unicode scalar values) a message may have: Discord's own limit for
    /// messages of Nitro users.
    pub const MAX_CHARS: usize = 4_000;

    /// Accepts any text with a non-whitespace character and at most [`Self::MAX_CHARS`].
    pub fn parse(value: String) -> Result<Self, String> {
        if value.trim().is_empty() {
            return Err("must not be empty or only whitespace".to_owned());
        }
        let chars = value.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(format!(
                "must be at most {} characters, got {chars}",
                Self::MAX_CHARS
            ));
        }
        Ok(Self(value))
    }

    /// The text as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for MessageContent {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Who wrote an earlier message of the ticket (`history[].role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryRole {
    /// The member who opened the ticket (or another member writing in it).
    User,
    /// An earlier answer of this assistant.
    Assistant,
    /// A member of staff.
    Staff,
}

impl HistoryRole {
    /// Accepts `user`, `assistant` or `staff`, exactly.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "user" => Ok(Self::User),
            "assistant" => Ok(Self::Assistant),
            "staff" => Ok(Self::Staff),
            _ => Err("must be one of user, assistant, staff".to_owned()),
        }
    }

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::Staff => "staff",
        }
    }
}

/// One earlier message of the ticket: `{"role","author_id","content"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// Who wrote it.
    pub role: HistoryRole,
    /// Its author.
    pub author_id: Snowflake,
    /// Its text, under the same rules as a request's `content`.
    pub content: MessageContent,
}

/// The bounds of [`RelayRequest::history`], part of the contract.
#[derive(Debug)]
pub struct History;

impl History {
    /// Most earlier messages a request may carry (the contract's `HISTORY_MAX_MESSAGES`).
    pub const MAX_MESSAGES: usize = 20;
    /// Most characters of `content` all entries may have together: room for the
    /// [`Self::MAX_MESSAGES`] messages of a typical conversation, while one request stays well
    /// under the 64 KiB default body limit of the sidecar and a model's context window.
    pub const MAX_TOTAL_CHARS: usize = 32_000;
}

/// Why a payload was refused: the field (or `body`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct PayloadError {
    /// The JSON field at fault (`history[2].role` inside the history), or `body` when the
    /// whole payload is.
    pub field: Cow<'static, str>,
    /// What is wrong, phrased so that the sender knows what to fix.
    pub problem: String,
}

impl PayloadError {
    fn new(field: impl Into<Cow<'static, str>>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// A ticket message to answer. Unknown JSON fields are ignored, so newer senders can add some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelayRequest {
    /// The Discord server.
    pub guild_id: Snowflake,
    /// The ticket channel.
    pub channel_id: Snowflake,
    /// The author of the message.
    pub user_id: Snowflake,
    /// What the user wrote.
    pub content: MessageContent,
    /// The Discord message, when the sender has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<Snowflake>,
    /// The ticket's earlier messages, oldest first (at most [`History::MAX_MESSAGES`], with at
    /// most [`History::MAX_TOTAL_CHARS`] characters of content in all); empty when absent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
    /// The ticket's topic and the answers of its intake form, when it was opened with one
    /// ([`TicketContext`]); absent for a ticket without topic, and from older senders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketContext>,
}

impl RelayRequest {
    /// Parses untrusted bytes; the error names the first field at fault.
    pub fn parse(bytes: &[u8]) -> Result<Self, PayloadError> {
        let raw: RawRequest<'_> = serde_json::from_slice(bytes).map_err(|err| {
            if err.is_data() {
                PayloadError::new("body", "must be a JSON object")
            } else {
                PayloadError::new("body", format!("is not valid JSON ({err})"))
            }
        })?;
        let guild_id = text("guild_id", raw.guild_id)?;
        let channel_id = text("channel_id", raw.channel_id)?;
        let user_id = text("user_id", raw.user_id)?;
        let content = text("content", raw.content)?;
        let message_id = text("message_id", raw.message_id)?;
        let history = history(raw.history)?;
        let ticket = ticket::parse(raw.ticket)?;

        Ok(Self {
            guild_id: required_snowflake("guild_id", guild_id)?,
            channel_id: required_snowflake("channel_id", channel_id)?,
            user_id: required_snowflake("user_id", user_id)?,
            content: MessageContent::parse(required("content", content)?.into_owned())
                .map_err(|problem| PayloadError::new("content", problem))?,
            message_id: message_id
                .map(|id| snowflake("message_id", &id))
                .transpose()?,
            history,
            ticket,
        })
    }

    /// The JSON bytes of this request, as published on the relay subject.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a RelayRequest always serializes")
    }
}

fn text<'a>(
    field: impl Into<Cow<'static, str>>,
    value: Option<Field<'a>>,
) -> Result<Option<Cow<'a, str>>, PayloadError> {
    match value {
        None | Some(Field::Null) => Ok(None),
        Some(Field::Text(text)) => Ok(Some(text)),
        Some(Field::Other(kind)) => Err(PayloadError::new(
            field,
            format!("must be a string, got {kind}"),
        )),
    }
}

fn required<'a>(
    field: impl Into<Cow<'static, str>>,
    value: Option<Cow<'a, str>>,
) -> Result<Cow<'a, str>, PayloadError> {
    value.ok_or_else(|| PayloadError::new(field, "is required"))
}

fn required_snowflake(
    field: impl Into<Cow<'static, str>> + Clone,
    value: Option<Cow<'_, str>>,
) -> Result<Snowflake, PayloadError> {
    snowflake(field.clone(), &required(field, value)?)
}

fn snowflake(field: impl Into<Cow<'static, str>>, value: &str) -> Result<Snowflake, PayloadError> {
    Snowflake::parse(value).map_err(|problem| PayloadError::new(field, problem))
}

/// The typed history: absent or `null` is empty; every entry is checked in order, then the
/// total size.
fn history(value: Option<RawHistory<'_>>) -> Result<Vec<HistoryEntry>, PayloadError> {
    let (entries, count) = match value {
        None | Some(RawHistory::Null) => return Ok(Vec::new()),
        Some(RawHistory::Other(kind)) => {
            return Err(PayloadError::new(
                "history",
                format!("must be an array, got {kind}"),
            ))
        }
        Some(RawHistory::Entries { entries, count }) => (entries, count),
    };
    if count > History::MAX_MESSAGES {
        return Err(PayloadError::new(
            "history",
            format!("at most {} messages, got {count}", History::MAX_MESSAGES),
        ));
    }
    let mut parsed = Vec::with_capacity(entries.len());
    let mut total = 0;
    for (index, entry) in entries.into_iter().enumerate() {
        let at = |name: &str| format!("history[{index}]{name}");
        let (role, author_id, content) = match entry {
            RawEntry::Object {
                role,
                author_id,
                content,
            } => (role, author_id, content),
            RawEntry::Other(kind) => {
                return Err(PayloadError::new(
                    at(""),
                    format!("must be an object, got {kind}"),
                ))
            }
        };
        let role = required(at(".role"), text(at(".role"), role)?)?;
        let role =
            HistoryRole::parse(&role).map_err(|problem| PayloadError::new(at(".role"), problem))?;
        let author_id = required_snowflake(at(".author_id"), text(at(".author_id"), author_id)?)?;
        let content = required(at(".content"), text(at(".content"), content)?)?;
        let content = MessageContent::parse(content.into_owned())
            .map_err(|problem| PayloadError::new(at(".content"), problem))?;
        total += content.as_str().chars().count();
        parsed.push(HistoryEntry {
            role,
            author_id,
            content,
        });
    }
    if total > History::MAX_TOTAL_CHARS {
        return Err(PayloadError::new(
            "history",
            format!(
                "at most {} characters of content in total, got {total}",
                History::MAX_TOTAL_CHARS
            ),
        ));
    }
    Ok(parsed)
}

/// The request as it arrived: every known field kept as whatever JSON it held, borrowed from
/// the input where possible.
///
/// Why a hand-written visitor and not `#[derive(Deserialize)]`: derived types would change the
/// behaviour and the error messages:
/// - a derived struct refuses a repeated key (`duplicate field`), where the contract takes the
///   last value (test `a_repeated_field_takes_its_last_value`);
/// - it accepts a JSON array as a struct (`["1","2","3","hi"]` would parse), where the contract
///   says `body: must be a JSON object`;
/// - its type errors read `invalid type: integer `1`, expected a string`, where ours name the
///   field and the kind it got (`guild_id: must be a string, got a number`), which needs this
///   `Field` visitor anyway.
///
/// Speed does not decide it either way: `cargo run --release -p common --example parse_bench`
/// times both on the same payloads, and neither is more than a sliver of the worker's CPU per
/// request (`relay_bench`), so the contract decides.
#[derive(Default)]
struct RawRequest<'a> {
    guild_id: Option<Field<'a>>,
    channel_id: Option<Field<'a>>,
    user_id: Option<Field<'a>>,
    content: Option<Field<'a>>,
    message_id: Option<Field<'a>>,
    history: Option<RawHistory<'a>>,
    ticket: Option<serde_json::Value>,
}

/// One field's JSON value: text, null, or the kind of anything else.
enum Field<'a> {
    Text(Cow<'a, str>),
    Null,
    Other(&'static str),
}

/// The `history` value: an array (its first [`History::MAX_MESSAGES`] entries kept, every
/// entry counted), null, or the kind of anything else.
enum RawHistory<'a> {
    Entries {
        entries: Vec<RawEntry<'a>>,
        count: usize,
    },
    Null,
    Other(&'static str),
}

/// One `history` entry: an object's known fields, or the kind of anything else.
enum RawEntry<'a> {
    Object {
        role: Option<Field<'a>>,
        author_id: Option<Field<'a>>,
        content: Option<Field<'a>>,
    },
    Other(&'static str),
}

/// The visits every value visitor answers with the kind it got: booleans and numbers.
macro_rules! visit_scalars_as_other {
    ($other:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($other("a boolean"))
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($other("a number"))
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($other("a number"))
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($other("a number"))
        }
    };
}

impl<'de> Deserialize<'de> for RawRequest<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;

        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = RawRequest<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut raw = RawRequest::default();
                while let Some(key) = map.next_key::<Key>()? {
                    let slot = match key {
                        Key::GuildId => &mut raw.guild_id,
                        Key::ChannelId => &mut raw.channel_id,
                        Key::UserId => &mut raw.user_id,
                        Key::Content => &mut raw.content,
                        Key::MessageId => &mut raw.message_id,
                        Key::History => {
                            raw.history = Some(map.next_value()?);
                            continue;
                        }
                        Key::Ticket => {
                            raw.ticket = Some(map.next_value()?);
                            continue;
                        }
                        Key::Unknown => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = Some(map.next_value()?);
                }
                Ok(raw)
            }
        }

        deserializer.deserialize_map(ObjectVisitor)
    }
}

enum Key {
    GuildId,
    ChannelId,
    UserId,
    Content,
    MessageId,
    History,
    Ticket,
    Unknown,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl Visitor<'_> for KeyVisitor {
            type Value = Key;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "guild_id" => Key::GuildId,
                    "channel_id" => Key::ChannelId,
                    "user_id" => Key::UserId,
                    "content" => Key::Content,
                    "message_id" => Key::MessageId,
                    "history" => Key::History,
                    "ticket" => Key::Ticket,
                    _ => Key::Unknown,
                })
            }
        }

        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// The known keys of a `history` entry.
enum EntryKey {
    Role,
    AuthorId,
    Content,
    Unknown,
}

impl<'de> Deserialize<'de> for EntryKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl Visitor<'_> for KeyVisitor {
            type Value = EntryKey;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<EntryKey, E> {
                Ok(match key {
                    "role" => EntryKey::Role,
                    "author_id" => EntryKey::AuthorId,
                    "content" => EntryKey::Content,
                    _ => EntryKey::Unknown,
                })
            }
        }

        deserializer.deserialize_identifier(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;

        impl<'de> Visitor<'de> for FieldVisitor {
            type Value = Field<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Owned(v)))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Field::Null)
            }

            visit_scalars_as_other!(Field::Other);

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Field::Other("an array"))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Field::Other("an object"))
            }
        }

        deserializer.deserialize_any(FieldVisitor)
    }
}

impl<'de> Deserialize<'de> for RawHistory<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HistoryVisitor;

        impl<'de> Visitor<'de> for HistoryVisitor {
            type Value = RawHistory<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                let mut count = 0;
                // Past the limit, entries are only counted (for the error), not kept.
                while count < History::MAX_MESSAGES {
                    match seq.next_element::<RawEntry<'de>>()? {
                        Some(entry) => entries.push(entry),
                        None => return Ok(RawHistory::Entries { entries, count }),
                    }
                    count += 1;
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    count += 1;
                }
                Ok(RawHistory::Entries { entries, count })
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(RawHistory::Null)
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(RawHistory::Other("a string"))
            }

            visit_scalars_as_other!(RawHistory::Other);

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(RawHistory::Other("an object"))
            }
        }

        deserializer.deserialize_any(HistoryVisitor)
    }
}

impl<'de> Deserialize<'de> for RawEntry<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;

        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = RawEntry<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut role, mut author_id, mut content) = (None, None, None);
                while let Some(key) = map.next_key::<EntryKey>()? {
                    let slot = match key {
                        EntryKey::Role => &mut role,
                        EntryKey::AuthorId => &mut author_id,
                        EntryKey::Content => &mut content,
                        EntryKey::Unknown => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = Some(map.next_value()?);
                }
                Ok(RawEntry::Object {
                    role,
                    author_id,
                    content,
                })
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(RawEntry::Other("null"))
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(RawEntry::Other("a string"))
            }

            visit_scalars_as_other!(RawEntry::Other);

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RawEntry::Other("an array"))
            }
        }

        deserializer.deserialize_any(EntryVisitor)
    }
}

/// A worker's answer to a [`RelayRequest`]: `{"reply": "..."}`, plus `grounded`, `sources` and
/// `source` when the answer source knows them. Each is left out of the JSON when unset, so
/// older requesters, which read only `reply`, see what they always saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayReply {
    /// The text to post in the ticket channel.
    pub reply: String,
    /// Whether the answer rests on the server's documents: `true` when it quotes or cites them,
    /// `false` when they do not cover the question (the reply then says staff will follow up,
    /// or is a model's answer that cites nothing). Unset for replies that are neither (a
    /// greeting, the placeholder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grounded: Option<bool>,
    /// The sources quoted or cited, as `file › heading` (`billing.md › Refunds`), in the
    /// order the reply uses them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Which answer source wrote the reply: `"knowledge"` or `"llm"`. The bot stores it with the
    /// members' feedback on the answer, so that ratings can be told apart by source. Unset for
    /// the placeholder (whose reply stays exactly `{"reply": ...}`) and from older workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl RelayReply {
    /// A reply with this text, neither grounded nor not, citing nothing.
    pub fn new(reply: impl Into<String>) -> Self {
        Self {
            reply: reply.into(),
            grounded: None,
            sources: Vec::new(),
            source: None,
        }
    }

    /// A reply from the documents: grounded, quoting or citing `sources`.
    pub fn grounded(reply: impl Into<String>, sources: Vec<String>) -> Self {
        Self {
            grounded: Some(true),
            sources,
            ..Self::new(reply)
        }
    }

    /// A reply the documents do not back (they do not cover the question).
    pub fn ungrounded(reply: impl Into<String>) -> Self {
        Self {
            grounded: Some(false),
            ..Self::new(reply)
        }
    }
}

/// The machine-readable part of every error, on NATS and HTTP alike.
///
/// The set is small and stable; clients should treat a code they do not know like `internal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request body breaks the contract (400).
    InvalidPayload,
    /// Missing or wrong bearer token (401).
    Unauthorized,
    /// No such route (404).
    NotFound,
    /// The route exists, the method does not (405).
    MethodNotAllowed,
    /// The body is larger than the configured limit (413).
    PayloadTooLarge,
    /// The body is not `application/json` (415).
    UnsupportedMediaType,
    /// The client sent its body too slowly (408).
    RequestTimeout,
    /// The answer source failed on a well-formed request (500).
    ResponderFailed,
    /// Something unexpected; the cause is in the server's log, not in the response (500).
    Internal,
    /// The answer source cannot answer this request, and trying again will not help: it
    /// refused the worker (a wrong API key), failed on a bug, or ran out of time (502).
    ResponderUnavailable,
    /// No relay worker is running (503).
    NoWorkers,
    /// Every worker that was asked is at its in-flight limit, or the HTTP sidecar is at its
    /// concurrency limit (503): nothing was started, so trying again soon is safe.
    Busy,
    /// The connection to NATS is down (503).
    Unavailable,
    /// No worker answered in time (504).
    Timeout,
    /// A code this version does not know (sent by a newer peer).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The HTTP status this code travels with (also the `Nats-Service-Error-Code` on NATS).
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidPayload => 400,
            Self::Unauthorized => 401,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::RequestTimeout => 408,
            Self::ResponderFailed | Self::Internal | Self::Unknown => 500,
            Self::ResponderUnavailable => 502,
            Self::NoWorkers | Self::Busy | Self::Unavailable => 503,
            Self::Timeout => 504,
        }
    }
}

/// The inner object of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// What kind of failure.
    pub code: ErrorCode,
    /// What happened and, for client mistakes, what to fix.
    pub message: String,
}

/// `{"error":{"code":"...","message":"..."}}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

impl ErrorBody {
    /// An error body with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code,
                message: message.into(),
            },
        }
    }

    /// The JSON bytes of this body.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an ErrorBody always serializes")
    }
}

impl From<&PayloadError> for ErrorBody {
    fn from(err: &PayloadError) -> Self {
        Self::new(ErrorCode::InvalidPayload, err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn a_reply_without_grounding_or_sources_is_only_its_text() {
        let plain = serde_json::to_value(RelayReply::new("hi")).unwrap();
        assert_eq!(plain, json!({"reply": "hi"}));
        let ungrounded = serde_json::to_value(RelayReply::ungrounded("staff will follow up"));
        assert_eq!(
            ungrounded.unwrap(),
            json!({"reply": "staff will follow up", "grounded": false}),
            "no sources: no field"
        );
        let grounded = RelayReply::grounded("from the docs", vec!["billing.md › Refunds".into()]);
        assert_eq!(
            serde_json::to_value(&grounded).unwrap(),
            json!({"reply": "from the docs", "grounded": true, "sources": ["billing.md › Refunds"]})
        );
    }

    #[test]
    fn replies_of_older_and_newer_workers_both_parse() {
        let old: RelayReply = serde_json::from_value(json!({"reply": "x"})).unwrap();
        assert_eq!(old, RelayReply::new("x"));
        let new: RelayReply = serde_json::from_value(
            json!({"reply": "x", "grounded": true, "sources": ["a.md › B"], "later": 1}),
        )
        .unwrap();
        assert_eq!(new, RelayReply::grounded("x", vec!["a.md › B".to_owned()]));
    }

    #[test]
    fn the_source_is_written_after_the_sources_only_when_known() {
        let reply = RelayReply {
            source: Some("knowledge".to_owned()),
            ..RelayReply::grounded("x", vec!["a.md › B".to_owned()])
        };
        let json = serde_json::to_string(&reply).unwrap();
        assert_eq!(
            json,
            r#"{"reply":"x","grounded":true,"sources":["a.md › B"],"source":"knowledge"}"#
        );
        assert_eq!(serde_json::from_str::<RelayReply>(&json).unwrap(), reply);
        assert!(!serde_json::to_string(&RelayReply::new("x"))
            .unwrap()
            .contains("source"));
    }

    fn parse(value: Value) -> Result<RelayRequest, PayloadError> {
        RelayRequest::parse(value.to_string().as_bytes())
    }

    fn valid() -> Value {
        json!({"guild_id":"1","channel_id":"2","user_id":"3","content":"hi"})
    }

    fn with(field: &str, value: Value) -> Value {
        let mut request = valid();
        request[field] = value;
        request
    }

    fn without(field: &str) -> Value {
        let mut request = valid();
        request.as_object_mut().unwrap().remove(field);
        request
    }

    #[test]
    fn a_valid_request_parses_and_round_trips() {
        let request = parse(with("message_id", json!("99"))).unwrap();
        assert_eq!(request.guild_id.as_str(), "1");
        assert_eq!(request.content.as_str(), "hi");
        assert_eq!(request.message_id, Some(Snowflake::from(99)));
        assert_eq!(RelayRequest::parse(&request.to_json()).unwrap(), request);
    }

    #[test]
    fn message_id_is_optional_and_omitted_when_absent() {
        let request = parse(valid()).unwrap();
        assert_eq!(request.message_id, None);
        let json: Value = serde_json::from_slice(&request.to_json()).unwrap();
        assert_eq!(json, valid());
        assert!(parse(with("message_id", Value::Null)).is_ok());
    }

    #[test]
    fn unknown_fields_are_ignored() {
        assert!(parse(with("attachments", json!([1, {"a": [null]}]))).is_ok());
    }

    #[test]
    fn escaped_strings_and_keys_are_decoded() {
        let body =
            br#"{"guild_id":"1","channel_id":"2","user_\u0069d":"3","content":"a\"b\u00e9"}"#;
        let request = RelayRequest::parse(body).unwrap();
        assert_eq!(request.user_id.as_str(), "3");
        assert_eq!(request.content.as_str(), "a\"b\u{e9}");
    }

    #[test]
    fn a_repeated_field_takes_its_last_value() {
        let body =
            br#"{"guild_id":"x","guild_id":"1","channel_id":"2","user_id":"3","content":"hi"}"#;
        assert_eq!(RelayRequest::parse(body).unwrap().guild_id.as_str(), "1");
    }

    #[test]
    fn trailing_garbage_is_not_json() {
        let body = br#"{"guild_id":"1","channel_id":"2","user_id":"3","content":"hi"} x"#;
        assert!(RelayRequest::parse(body)
            .unwrap_err()
            .problem
            .starts_with("is not valid JSON"));
    }

    #[test]
    fn each_missing_field_is_named() {
        for field in ["guild_id", "channel_id", "user_id", "content"] {
            let err = parse(without(field)).unwrap_err();
            assert_eq!(err.to_string(), format!("{field}: is required"));
            let err = parse(with(field, Value::Null)).unwrap_err();
            assert_eq!(err.field, field);
        }
    }

    #[test]
    fn wrong_types_are_named() {
        let err = parse(with("guild_id", json!(1))).unwrap_err();
        assert_eq!(err.to_string(), "guild_id: must be a string, got a number");
        let err = parse(with("content", json!(["hi"]))).unwrap_err();
        assert_eq!(err.to_string(), "content: must be a string, got an array");
        let err = parse(with("message_id", json!(true))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "message_id: must be a string, got a boolean"
        );
        let err = parse(with("user_id", json!({"id": "3"}))).unwrap_err();
        assert_eq!(err.to_string(), "user_id: must be a string, got an object");
    }

    #[test]
    fn snowflakes_are_one_to_twenty_digits() {
        assert!(Snowflake::parse("0").is_ok());
        assert!(Snowflake::parse("18446744073709551615").is_ok());
        assert!(Snowflake::parse("99999999999999999999").is_ok());
        for bad in ["", "123456789012345678901", "12a", "-1", " 1", "1.0", "١٢"] {
            assert!(Snowflake::parse(bad).is_err(), "{bad:?} accepted");
        }
        let err = parse(with("user_id", json!("abc"))).unwrap_err();
        assert_eq!(err.field, "user_id");
        assert!(err.problem.contains("1 to 20 digits"), "{err}");
    }

    #[test]
    fn snowflake_converts_to_u64_when_it_fits() {
        assert_eq!(Snowflake::from(42).to_u64(), Some(42));
        assert_eq!(
            Snowflake::parse("99999999999999999999").unwrap().to_u64(),
            None
        );
    }

    #[test]
    fn content_must_have_text() {
        for blank in ["", "   ", "\n\t "] {
            let err = parse(with("content", json!(blank))).unwrap_err();
            assert_eq!(err.field, "content");
            assert!(err.problem.contains("empty"), "{err}");
        }
    }

    #[test]
    fn content_is_limited_in_characters_not_bytes() {
        let max = "é".repeat(MessageContent::MAX_CHARS);
        assert!(parse(with("content", json!(max))).is_ok());
        let over = "a".repeat(MessageContent::MAX_CHARS + 1);
        let err = parse(with("content", json!(over))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "content: must be at most 4000 characters, got 4001"
        );
    }

    #[test]
    fn non_json_and_non_objects_are_body_errors() {
        let err = RelayRequest::parse(b"not json").unwrap_err();
        assert_eq!(err.field, "body");
        assert!(err.problem.starts_with("is not valid JSON"), "{err}");
        for body in ["[]", "\"x\"", "1", "null", r#"["1","2","3","hi"]"#] {
            let err = RelayRequest::parse(body.as_bytes()).unwrap_err();
            assert_eq!(err.to_string(), "body: must be a JSON object", "{body}");
        }
        assert_eq!(RelayRequest::parse(b"").unwrap_err().field, "body");
    }

    fn entry(role: &str, author: &str, content: &str) -> Value {
        json!({"role": role, "author_id": author, "content": content})
    }

    fn history_error(history: Value) -> String {
        parse(with("history", history)).unwrap_err().to_string()
    }

    #[test]
    fn history_is_optional_and_omitted_when_empty() {
        for absent in [
            valid(),
            with("history", Value::Null),
            with("history", json!([])),
        ] {
            let request = parse(absent).unwrap();
            assert!(request.history.is_empty());
            let json: Value = serde_json::from_slice(&request.to_json()).unwrap();
            assert_eq!(json, valid(), "an empty history is not sent");
        }
    }

    #[test]
    fn a_valid_history_parses_in_order_and_round_trips() {
        let history = json!([
            entry("user", "3", "my order is late"),
            entry("assistant", "10", "Which order?"),
            {"role": "staff", "author_id": "9", "content": "I'll check", "extra": [1]},
        ]);
        let request = parse(with("history", history.clone())).unwrap();
        let roles: Vec<_> = request.history.iter().map(|e| e.role).collect();
        assert_eq!(
            roles,
            [
                HistoryRole::User,
                HistoryRole::Assistant,
                HistoryRole::Staff
            ]
        );
        assert_eq!(request.history[2].author_id, Snowflake::from(9));
        assert_eq!(request.history[0].content.as_str(), "my order is late");
        let json: Value = serde_json::from_slice(&request.to_json()).unwrap();
        assert_eq!(json["history"][1], history[1]);
        assert_eq!(RelayRequest::parse(&request.to_json()).unwrap(), request);
    }

    #[test]
    fn history_entries_are_checked_field_by_field() {
        let cases = [
            (
                json!([entry("bot", "1", "x")]),
                "history[0].role: must be one of user, assistant, staff",
            ),
            (
                json!([entry("user", "1", "x"), entry("User", "1", "x")]),
                "history[1].role: must be one of user, assistant, staff",
            ),
            (
                json!([{"author_id": "1", "content": "x"}]),
                "history[0].role: is required",
            ),
            (
                json!([{"role": 1, "author_id": "1", "content": "x"}]),
                "history[0].role: must be a string, got a number",
            ),
            (
                json!([entry("user", "x1", "x")]),
                "history[0].author_id: must be a Discord ID: a string of 1 to 20 digits",
            ),
            (
                json!([{"role": "user", "content": "x"}]),
                "history[0].author_id: is required",
            ),
            (
                json!([entry("staff", "1", " ")]),
                "history[0].content: must not be empty or only whitespace",
            ),
            (
                json!([{"role": "staff", "author_id": "1", "content": null}]),
                "history[0].content: is required",
            ),
            (json!(["hi"]), "history[0]: must be an object, got a string"),
            (json!([null]), "history[0]: must be an object, got null"),
            (json!([[]]), "history[0]: must be an object, got an array"),
        ];
        for (history, expected) in cases {
            assert_eq!(history_error(history), expected);
        }
        let long = "a".repeat(MessageContent::MAX_CHARS + 1);
        assert_eq!(
            history_error(json!([entry("user", "1", &long)])),
            "history[0].content: must be at most 4000 characters, got 4001"
        );
    }

    #[test]
    fn history_must_be_an_array() {
        assert_eq!(
            history_error(json!("hi")),
            "history: must be an array, got a string"
        );
        assert_eq!(
            history_error(json!({"role": "user"})),
            "history: must be an array, got an object"
        );
        assert_eq!(
            history_error(json!(3)),
            "history: must be an array, got a number"
        );
    }

    #[test]
    fn history_is_bounded_in_messages_and_total_characters() {
        let max: Vec<_> = (0..History::MAX_MESSAGES)
            .map(|_| entry("user", "1", "hi"))
            .collect();
        assert_eq!(
            parse(with("history", json!(max))).unwrap().history.len(),
            20
        );
        let over: Vec<_> = (0..=History::MAX_MESSAGES)
            .map(|_| entry("user", "1", "hi"))
            .collect();
        assert_eq!(
            history_error(json!(over)),
            "history: at most 20 messages, got 21"
        );
        // Counted past the limit even when the extra entries are not objects.
        let mut many = max.clone();
        many.extend([json!(1), json!("x")]);
        assert_eq!(
            history_error(json!(many)),
            "history: at most 20 messages, got 22"
        );

        let full = "é".repeat(MessageContent::MAX_CHARS);
        let at_limit: Vec<_> = (0..8).map(|_| entry("user", "1", &full)).collect();
        assert!(
            parse(with("history", json!(at_limit))).is_ok(),
            "32,000 characters pass"
        );
        let mut over_total = at_limit;
        over_total.push(entry("user", "1", "a"));
        assert_eq!(
            history_error(json!(over_total)),
            "history: at most 32000 characters of content in total, got 32001"
        );
    }

    #[test]
    fn a_repeated_history_takes_its_last_value() {
        let body = br#"{"guild_id":"1","channel_id":"2","user_id":"3","content":"hi","history":"x","history":[]}"#;
        assert!(RelayRequest::parse(body).unwrap().history.is_empty());
    }

    #[test]
    fn a_ticket_context_is_optional_parsed_and_round_trips() {
        let request = parse(with("ticket", Value::Null)).unwrap();
        assert_eq!(request.ticket, None);
        let ticket = json!({"topic": "Billing", "form": [{"question": "Order", "answer": "A-1"}]});
        let request = parse(with("ticket", ticket.clone())).unwrap();
        let context = request.ticket.as_ref().unwrap();
        assert_eq!(context.topic.as_str(), "Billing");
        assert_eq!(context.form[0].answer.as_str(), "A-1");
        let json: Value = serde_json::from_slice(&request.to_json()).unwrap();
        assert_eq!(json["ticket"], ticket);
        assert_eq!(RelayRequest::parse(&request.to_json()).unwrap(), request);
        let err = parse(with("ticket", json!({"topic": ""}))).unwrap_err();
        assert_eq!(err.field, "ticket.topic");
    }

    #[test]
    fn error_body_has_the_documented_shape() {
        let body = ErrorBody::new(ErrorCode::InvalidPayload, "content: is required");
        let json: Value = serde_json::from_slice(&body.to_json()).unwrap();
        assert_eq!(
            json,
            json!({"error":{"code":"invalid_payload","message":"content: is required"}})
        );
    }

    #[test]
    fn unknown_error_codes_deserialize_as_unknown() {
        let body: ErrorBody =
            serde_json::from_str(r#"{"error":{"code":"from_the_future","message":"m"}}"#).unwrap();
        assert_eq!(body.error.code, ErrorCode::Unknown);
        assert_eq!(body.error.code.status(), 500);
    }

    #[test]
    fn error_codes_map_to_statuses() {
        assert_eq!(ErrorCode::InvalidPayload.status(), 400);
        assert_eq!(ErrorCode::NoWorkers.status(), 503);
        assert_eq!(ErrorCode::Busy.status(), 503);
        assert_eq!(
            serde_json::to_value(ErrorCode::Busy).unwrap(),
            serde_json::json!("busy")
        );
        assert_eq!(ErrorCode::Timeout.status(), 504);
    }
}
