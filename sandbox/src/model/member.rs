//! Discord's guild member object: a user in a guild, with their roles.

use serde::Serialize;

use crate::model::{
    user::User,
    wire::{option_u64_string, vec_u64_string},
};

/// When every member joined (the sandbox has no history).
pub const JOINED_AT: &str = "2026-11-27T08:00:00.000000+00:00";

/// A guild member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// The user; absent where Discord leaves it out (a message's author member, a resolved
    /// member).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The IDs of their roles (@everyone not listed).
    #[serde(with = "vec_u64_string")]
    pub roles: Vec<u64>,
    /// Never set in the sandbox.
    pub deaf: bool,
    /// Never set in the sandbox.
    pub mute: bool,
    /// Never set in the sandbox.
    pub flags: u64,
    /// [`JOINED_AT`].
    pub joined_at: &'static str,
    /// Their permissions in the channel, in an interaction.
    #[serde(with = "option_u64_string", skip_serializing_if = "Option::is_none")]
    pub permissions: Option<u64>,
}

impl Member {
    /// `user` with `roles`.
    pub fn new(user: User, roles: Vec<u64>) -> Self {
        Self {
            user: Some(user),
            roles,
            deaf: false,
            mute: false,
            flags: 0,
            joined_at: JOINED_AT,
            permissions: None,
        }
    }

    /// The member's user ID (0 for a member without its user).
    pub fn id(&self) -> u64 {
        self.user.as_ref().map_or(0, |u| u.id)
    }

    /// This member without its user, as a message's `member` or a resolved member is.
    #[must_use]
    pub fn without_user(mut self) -> Self {
        self.user = None;
        self
    }

    /// This member with its permissions in a channel, as an interaction carries it.
    #[must_use]
    pub fn with_permissions(mut self, permissions: u64) -> Self {
        self.permissions = Some(permissions);
        self
    }
}
