//! Discord's refusals: its JSON error codes, and what each means for whoever has to fix it (a
//! sentence for the person who asked, a log line for the operator).

use serenity::{
    all::{HttpError, StatusCode},
    Error,
};

/// Discord's JSON error code for "Missing Permissions".
pub const MISSING_PERMISSIONS: isize = 50_013;
/// "Missing Access": the bot cannot see the resource.
pub const MISSING_ACCESS: isize = 50_001;
/// "Maximum number of guild channels reached (500)".
pub const MAX_GUILD_CHANNELS: isize = 30_013;
/// "Maximum number of guild roles reached (250)".
pub const MAX_GUILD_ROLES: isize = 30_005;
/// "Invalid Form Body", whose field errors say which limit was hit.
pub const INVALID_FORM_BODY: isize = 50_035;
/// The field error Discord gives when a category already has 50 channels.
pub const CATEGORY_FULL: &str = "CHANNEL_PARENT_MAX_CHANNELS";
/// "Cannot send messages to this user": they accept no DMs from the bot.
pub const CANNOT_DM: isize = 50_007;
/// "Thread is archived": its members cannot change until it is unarchived.
pub const THREAD_ARCHIVED: isize = 50_083;
/// "Interaction has already been acknowledged": another process of the bot (on the same
/// shard during a rolling deploy) answered it first.
pub const ALREADY_ANSWERED: isize = 40_060;

/// What went wrong, from the point of view of whoever has to fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The bot lacks a permission (Manage Channels, Manage Roles) or access.
    MissingPermissions,
    /// The Tickets category holds 50 channels.
    CategoryFull,
    /// The server holds 500 channels.
    GuildChannelsFull,
    /// The server holds 250 roles.
    GuildRolesFull,
    /// Anything else (Discord down, a network error...).
    Other,
}

impl Refusal {
    /// Classifies a serenity error.
    pub fn of(err: &Error) -> Self {
        let Error::Http(HttpError::UnsuccessfulRequest(response)) = err else {
            return Self::Other;
        };
        let code = response.error.code;
        if code == MISSING_PERMISSIONS
            || code == MISSING_ACCESS
            || response.status_code == StatusCode::FORBIDDEN
        {
            Self::MissingPermissions
        } else if code == MAX_GUILD_CHANNELS {
            Self::GuildChannelsFull
        } else if code == MAX_GUILD_ROLES {
            Self::GuildRolesFull
        } else if code == INVALID_FORM_BODY
            && response
                .error
                .errors
                .iter()
                .any(|e| e.code == CATEGORY_FULL)
        {
            Self::CategoryFull
        } else {
            Self::Other
        }
    }

    /// What to tell the user; `action` says what was being done ("create your ticket channel").
    pub fn explain(self, action: &str) -> String {
        match self {
            Self::MissingPermissions => format!(
                "I couldn't {action}: Discord says I'm missing permissions. Ask a server admin to \
                 give my role **Manage Channels** and **Manage Roles** (and make sure it can see the \
                 Tickets category), then try again."
            ),
            Self::CategoryFull => format!(
                "I couldn't {action}: the Tickets category is full (Discord allows 50 channels per \
                 category). Ask staff to close old tickets, then try again."
            ),
            Self::GuildChannelsFull => format!(
                "I couldn't {action}: this server has reached Discord's limit of 500 channels. Ask \
                 staff to delete unused channels, then try again."
            ),
            Self::GuildRolesFull => format!(
                "I couldn't {action}: this server has reached Discord's limit of 250 roles. Ask \
                 staff to delete unused roles, then try again."
            ),
            Self::Other => format!(
                "I couldn't {action} because Discord returned an error. Please try again in a \
                 moment; if it keeps happening, tell a server admin."
            ),
        }
    }

    /// Logs the refusal: a missing permission is a setup mistake (ERROR), a full server is
    /// normal operation reaching a limit (WARN).
    pub fn log(self, err: &Error, action: &str) {
        match self {
            Self::MissingPermissions | Self::Other => {
                tracing::error!(error = %err, refusal = ?self, action, "Discord refused");
            }
            Self::CategoryFull | Self::GuildChannelsFull | Self::GuildRolesFull => {
                tracing::warn!(error = %err, refusal = ?self, action, "Discord refused");
            }
        }
    }
}

/// Discord's JSON error code of a refused call, if it was one.
pub fn code(err: &Error) -> Option<isize> {
    match err {
        Error::Http(HttpError::UnsuccessfulRequest(response)) => Some(response.error.code),
        _ => None,
    }
}

/// Whether Discord said the resource does not exist (a deleted channel, role or message).
pub fn is_unknown(err: &Error) -> bool {
    matches!(err, Error::Http(HttpError::UnsuccessfulRequest(response)) if response.status_code == StatusCode::NOT_FOUND)
}

/// Whether Discord refused for lack of access or permission (403: the bot cannot see the
/// channel any more, or may not do this there).
pub fn is_forbidden(err: &Error) -> bool {
    matches!(err, Error::Http(HttpError::UnsuccessfulRequest(response)) if response.status_code == StatusCode::FORBIDDEN)
}

/// Whether trying again may help: Discord failed (5xx), or the call did not get an answer; a
/// refusal of the call itself (4xx) will be refused again.
pub fn is_transient(err: &Error) -> bool {
    match err {
        Error::Http(HttpError::UnsuccessfulRequest(response)) => {
            !response.status_code.is_client_error()
        }
        Error::Http(HttpError::Request(_)) | Error::Io(_) => true,
        _ => false,
    }
}
