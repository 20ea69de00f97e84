//! The pieces of the sandbox's state besides guilds: stored messages (with who may see them),
//! the interactions sent to the bot and the forms they opened, the files it uploaded, and what
//! the page is told.

use axum::body::Bytes;
use serde::Serialize;

use crate::model::{message::Message, modal::Modal, user::User, wire::option_u64_string};

/// A message as the sandbox keeps it: the Discord object plus who may see it.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    /// The Message object, as Discord would return it.
    pub message: Message,
    /// An ephemeral interaction answer: only this user sees it.
    pub only_for: Option<u64>,
    /// When it was created (milliseconds since the Unix epoch), for the page.
    pub sent_at_ms: u128,
    /// For an interaction's answer: which command, run by whom (shown by the page only).
    pub interaction: Option<InteractionMetadata>,
}

/// Which command an answer answers, run by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InteractionMetadata {
    /// The interaction's type, as Discord numbers it: 2 a command, 3 a button or select
    /// menu, 5 a form's submission.
    #[serde(rename = "type")]
    pub kind: u8,
    /// The command's name, or the component's or form's custom ID.
    pub name: String,
    /// Who ran it.
    pub user: User,
    /// The message whose button or menu was used (Discord's field).
    #[serde(with = "option_u64_string", skip_serializing_if = "Option::is_none")]
    pub interacted_message_id: Option<u64>,
}

/// One interaction sent to the bot, by its token.
#[derive(Debug, Clone)]
pub struct InteractionState {
    /// The interaction's ID.
    pub id: u64,
    /// The channel it was run in.
    pub channel: u64,
    /// Who ran it.
    pub user: u64,
    /// The command's name, or the button's custom ID.
    pub name: String,
    /// The message created by its response (the deferred "thinking" one, then the answer).
    pub original: Option<u64>,
    /// The message whose button was pressed (component interactions).
    pub source_message: Option<u64>,
    /// Whether the bot answered the callback yet.
    pub acknowledged: bool,
    /// Its type: a command (2), a component (3), a form submitted (5).
    pub kind: u8,
}

/// A form the bot opened for a person (its answer to one of their interactions), until they
/// submit or close it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenModal {
    /// The interaction the form answers.
    pub interaction: u64,
    /// Who it is for.
    pub user: u64,
    /// The channel the interaction came from (the submission comes from there too).
    pub channel: u64,
    /// The message whose component opened it, if one did.
    pub source_message: Option<u64>,
    /// The form.
    pub modal: Modal,
}

/// A file the bot uploads with a message.
#[derive(Debug, Clone)]
pub struct Upload {
    /// Its name, `transcript.txt`.
    pub filename: String,
    /// Its media type.
    pub content_type: String,
    /// Its bytes, exactly as they arrived.
    pub bytes: Bytes,
}

/// A file the bot uploaded, served back at `/attachments/{id}/{filename}`.
pub type StoredFile = Upload;

/// What the page is told after a change: fetch again (one channel, or everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageEvent {
    /// Always `changed`.
    pub kind: &'static str,
    /// The channel that changed; none when anything may have.
    #[serde(with = "option_u64_string")]
    pub channel_id: Option<u64>,
}

impl PageEvent {
    /// Something in `channel` (or anywhere, for `None`) changed.
    pub fn changed(channel_id: Option<u64>) -> Self {
        Self {
            kind: "changed",
            channel_id,
        }
    }
}
