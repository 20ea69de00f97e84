//! Discord's refusals: the HTTP status, the JSON error code and message Discord answers with,
//! and for a bad form field (code 50035) which field and why.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::limits::{CATEGORY_LIMIT, GUILD_CHANNEL_LIMIT, MESSAGE_CHARS};

/// What is wrong with one field of a form (Discord's `errors.{field}._errors[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// `BASE_TYPE_MAX_LENGTH`, `NUMBER_TYPE_MIN`...
    pub code: &'static str,
    /// What to fix.
    pub message: String,
}

/// The errors of one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldErrors {
    /// Usually one.
    #[serde(rename = "_errors")]
    pub errors: Vec<FieldError>,
}

/// The JSON body of a refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub message: String,
    /// Discord's JSON error code (0 for the plain HTTP ones).
    pub code: u32,
    /// For 50035: the fields at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<&'static str, FieldErrors>>,
}

/// A refusal the sandbox answers as Discord does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 401: the token is not the bot's.
    #[error("401: Unauthorized")]
    Unauthorized,
    /// 404 with code 0: no such route (or not for this guild or application).
    #[error("404: Not Found")]
    NotFound,
    /// 10003.
    #[error("Unknown Channel")]
    UnknownChannel,
    /// 10007.
    #[error("Unknown Member")]
    UnknownMember,
    /// 10008.
    #[error("Unknown Message")]
    UnknownMessage,
    /// 10011.
    #[error("Unknown Role")]
    UnknownRole,
    /// 10013.
    #[error("Unknown User")]
    UnknownUser,
    /// 10015.
    #[error("Unknown Webhook")]
    UnknownWebhook,
    /// 10062.
    #[error("Unknown interaction")]
    UnknownInteraction,
    /// 30013: the guild holds [`GUILD_CHANNEL_LIMIT`] channels.
    #[error("Maximum number of guild channels reached ({GUILD_CHANNEL_LIMIT})")]
    TooManyChannels,
    /// 40060.
    #[error("Interaction has already been acknowledged.")]
    AlreadyAcknowledged,
    /// 50006.
    #[error("Cannot send an empty message")]
    EmptyMessage,
    /// 50007: the user closed their DMs.
    #[error("Cannot send messages to this user")]
    CannotMessageUser,
    /// 50013: the bot lacks a permission.
    #[error("Missing Permissions")]
    MissingPermissions,
    /// 50035 for a field: `field` is wrong because of `error`.
    #[error("Invalid Form Body")]
    InvalidField {
        /// The field at fault.
        field: &'static str,
        /// What is wrong with it.
        error: FieldError,
    },
    /// 50035 without a field.
    #[error("Invalid Form Body")]
    InvalidFormBody,
    /// 50035 for a body that cannot be read: what the reader said.
    #[error("Invalid Form Body: {0}")]
    UnreadableBody(String),
    /// 503: the sandbox stops before it answers.
    #[error("the sandbox is closing")]
    Closing,
    /// 500: Discord failed (only when a test asks for it).
    #[error("500: Internal Server Error")]
    ServerError,
    /// 50001: the bot cannot see the resource (its access was taken away).
    #[error("Missing Access")]
    MissingAccess,
    /// 40005: the upload is larger than Discord takes.
    #[error("Request entity too large")]
    EntityTooLarge,
    /// 160006: the guild holds [`crate::model::limits::ACTIVE_THREAD_LIMIT`] active threads.
    #[error("Maximum number of active threads reached")]
    TooManyThreads,
    /// 50083: the thread is archived (and the caller may not unarchive it by writing).
    #[error("Thread is archived")]
    ThreadArchived,
    /// 50024: not a channel of the type the action needs (a thread of a category...).
    #[error("Cannot execute action on this channel type")]
    WrongChannelType,
}

impl ApiError {
    /// 50035 for a message longer than [`MESSAGE_CHARS`].
    pub fn content_too_long() -> Self {
        Self::InvalidField {
            field: "content",
            error: FieldError {
                code: "BASE_TYPE_MAX_LENGTH",
                message: format!("Must be {MESSAGE_CHARS} or fewer in length."),
            },
        }
    }

    /// 50035 for `field`, with Discord's `code` and `message`.
    pub fn invalid(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidField {
            field,
            error: FieldError {
                code,
                message: message.into(),
            },
        }
    }

    /// 50035 for a category holding [`CATEGORY_LIMIT`] channels.
    pub fn category_full() -> Self {
        Self::InvalidField {
            field: "parent_id",
            error: FieldError {
                code: "CHANNEL_PARENT_MAX_CHANNELS",
                message: format!(
                    "Maximum number of channels in category reached ({CATEGORY_LIMIT})"
                ),
            },
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::CannotMessageUser | Self::MissingPermissions | Self::MissingAccess => 403,
            Self::NotFound
            | Self::UnknownChannel
            | Self::UnknownMember
            | Self::UnknownMessage
            | Self::UnknownRole
            | Self::UnknownUser
            | Self::UnknownWebhook
            | Self::UnknownInteraction => 404,
            Self::TooManyChannels
            | Self::AlreadyAcknowledged
            | Self::EmptyMessage
            | Self::InvalidField { .. }
            | Self::InvalidFormBody
            | Self::UnreadableBody(_)
            | Self::TooManyThreads
            | Self::ThreadArchived
            | Self::WrongChannelType => 400,
            Self::EntityTooLarge => 413,
            Self::ServerError => 500,
            Self::Closing => 503,
        }
    }

    /// Discord's JSON error code.
    pub fn code(&self) -> u32 {
        match self {
            Self::Unauthorized | Self::NotFound | Self::Closing | Self::ServerError => 0,
            Self::UnknownChannel => 10_003,
            Self::UnknownMember => 10_007,
            Self::UnknownMessage => 10_008,
            Self::UnknownRole => 10_011,
            Self::UnknownUser => 10_013,
            Self::UnknownWebhook => 10_015,
            Self::UnknownInteraction => 10_062,
            Self::TooManyChannels => 30_013,
            Self::EntityTooLarge => 40_005,
            Self::AlreadyAcknowledged => 40_060,
            Self::MissingAccess => 50_001,
            Self::EmptyMessage => 50_006,
            Self::CannotMessageUser => 50_007,
            Self::MissingPermissions => 50_013,
            Self::WrongChannelType => 50_024,
            Self::ThreadArchived => 50_083,
            Self::TooManyThreads => 160_006,
            Self::InvalidField { .. } | Self::InvalidFormBody | Self::UnreadableBody(_) => 50_035,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        let errors = match self {
            Self::InvalidField { field, error } => Some(BTreeMap::from([(
                *field,
                FieldErrors {
                    errors: vec![error.clone()],
                },
            )])),
            _ => None,
        };
        ErrorBody {
            message: self.to_string(),
            code: self.code(),
            errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_refusal_is_discords_status_code_and_message() {
        let body = serde_json::to_value(ApiError::UnknownChannel.body()).unwrap();
        assert_eq!(
            body,
            json!({ "message": "Unknown Channel", "code": 10_003 })
        );
        assert_eq!(ApiError::UnknownChannel.status(), 404);
        assert_eq!(
            serde_json::to_value(ApiError::content_too_long().body()).unwrap(),
            json!({"message": "Invalid Form Body", "code": 50_035, "errors": {"content": {"_errors": [
                {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}
            ]}}})
        );
        assert_eq!(
            ApiError::TooManyChannels.to_string(),
            "Maximum number of guild channels reached (500)"
        );
        assert_eq!(
            serde_json::to_value(ApiError::TooManyThreads.body()).unwrap(),
            json!({ "message": "Maximum number of active threads reached", "code": 160_006 })
        );
        assert_eq!(ApiError::TooManyThreads.status(), 400);
        assert_eq!(crate::model::limits::ACTIVE_THREAD_LIMIT, 1000);
        assert_eq!(
            ApiError::category_full().body().errors.unwrap()["parent_id"].errors[0].message,
            "Maximum number of channels in category reached (50)"
        );
    }
}
