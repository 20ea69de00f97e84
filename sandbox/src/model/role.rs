//! Roles: Discord's role object, the @everyone role every guild has, and the body the bot sends
//! to create one.

use serde::{Deserialize, Serialize};

use crate::model::{permissions::EVERYONE_PERMISSIONS, wire::u64_string};

/// A role's colours (Discord's newer gradient form; the sandbox's roles have none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct RoleColors {
    /// The main colour, 0 for none.
    pub primary_color: u32,
    /// The gradient's second colour.
    pub secondary_color: Option<u32>,
    /// The gradient's third colour.
    pub tertiary_color: Option<u32>,
}

/// Discord's role object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Role {
    /// The role ID (the guild's ID for @everyone).
    #[serde(with = "u64_string")]
    pub id: u64,
    /// Its name, `Support`.
    pub name: String,
    /// 0: no colour.
    pub color: u32,
    /// No colours.
    pub colors: RoleColors,
    /// Never set in the sandbox.
    pub hoist: bool,
    /// Never set in the sandbox.
    pub icon: Option<String>,
    /// Never set in the sandbox.
    pub unicode_emoji: Option<String>,
    /// Its place (@everyone is 0).
    pub position: i64,
    /// What its members may do.
    #[serde(with = "u64_string")]
    pub permissions: u64,
    /// Never set in the sandbox.
    pub managed: bool,
    /// Never set in the sandbox.
    pub mentionable: bool,
    /// Never set in the sandbox.
    pub flags: u64,
}

impl Role {
    /// A role named `name` that grants nothing by itself, as the bot's roles are.
    pub fn new(id: u64, name: &str) -> Self {
        Self {
            id,
            name: name.to_owned(),
            color: 0,
            colors: RoleColors::default(),
            hoist: false,
            icon: None,
            unicode_emoji: None,
            position: 1,
            permissions: 0,
            managed: false,
            mentionable: false,
            flags: 0,
        }
    }

    /// The @everyone role of guild `guild_id` (its ID is the guild's), with what a new guild
    /// lets everyone do.
    pub fn everyone(guild_id: u64) -> Self {
        Self {
            position: 0,
            permissions: EVERYONE_PERMISSIONS,
            ..Self::new(guild_id, "@everyone")
        }
    }
}

/// The body of `POST /guilds/{id}/roles` (only the name is kept: the bot's roles grant nothing
/// by themselves, channels' overwrites do).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewRole {
    /// Its name (`new role` when none).
    pub name: Option<String>,
}

#[cfg(test)]
mod tests {
    use serenity::model::guild::Role as SerenityRole;

    use super::*;

    #[test]
    fn a_role_and_everyone_are_serenitys_roles() {
        for role in [Role::new(6, "Support"), Role::everyone(1)] {
            let read: SerenityRole =
                serde_json::from_value(serde_json::to_value(&role).unwrap()).unwrap();
            assert_eq!(read.name, role.name);
            assert_eq!(read.permissions.bits(), role.permissions);
        }
    }
}
