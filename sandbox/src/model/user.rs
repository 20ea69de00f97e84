//! Users: Discord's user object, and the people you can act as in the sandbox: the guild's
//! owner (an administrator), a Support member (given the Support role as soon as `/setup`
//! creates it), and two ordinary members.

use serde::Serialize;

use crate::model::{
    ids::{ADMIN_ID, BOT_ID, MEMBER_A_ID, MEMBER_B_ID, SUPPORT_ID},
    wire::u64_string,
};

/// The bot's username.
pub const BOT_NAME: &str = "TicketBot";

/// Discord's user object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// The user ID.
    #[serde(with = "u64_string")]
    pub id: u64,
    /// The bot's name, a persona's, or `user<ID>`.
    pub username: String,
    /// Always "0": Discord dropped discriminators.
    pub discriminator: &'static str,
    /// Never set in the sandbox.
    pub global_name: Option<String>,
    /// Never set in the sandbox.
    pub avatar: Option<String>,
    /// A bot account.
    pub bot: bool,
}

impl User {
    /// User `id`; `bot` for a bot account (the sandbox's own bot is named TicketBot).
    pub fn new(id: u64, bot: bool) -> Self {
        Self {
            id,
            username: username(id, bot),
            discriminator: "0",
            global_name: None,
            avatar: None,
            bot,
        }
    }

    /// The sandbox's bot.
    pub fn bot() -> Self {
        Self::new(BOT_ID, true)
    }
}

/// The name of a user: the bot's, a persona's, or `user<ID>`.
pub fn username(id: u64, bot: bool) -> String {
    if bot && id == BOT_ID {
        return BOT_NAME.to_owned();
    }
    PERSONAS
        .iter()
        .find(|p| p.id == id)
        .map_or_else(|| format!("user{id}"), |p| p.name.to_owned())
}

/// Someone the page can act as.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Persona {
    /// The key the page uses (`admin`, `support`, `member-a`, `member-b`).
    pub key: &'static str,
    /// The user ID.
    #[serde(with = "u64_string")]
    pub id: u64,
    /// The username.
    pub name: &'static str,
    /// What they are, for the switch.
    pub role: &'static str,
    /// Has the Administrator permission.
    pub administrator: bool,
}

/// Everyone the page can act as, administrator first.
pub const PERSONAS: [Persona; 4] = [
    Persona {
        key: "admin",
        id: ADMIN_ID,
        name: "ada",
        role: "administrator",
        administrator: true,
    },
    Persona {
        key: "support",
        id: SUPPORT_ID,
        name: "sam",
        role: "Support member",
        administrator: false,
    },
    Persona {
        key: "member-a",
        id: MEMBER_A_ID,
        name: "alice",
        role: "member A",
        administrator: false,
    },
    Persona {
        key: "member-b",
        id: MEMBER_B_ID,
        name: "bob",
        role: "member B",
        administrator: false,
    },
];

/// The persona with this key.
pub fn persona(key: &str) -> Option<&'static Persona> {
    PERSONAS.iter().find(|p| p.key == key)
}

/// The persona with this user ID.
pub fn persona_by_id(id: u64) -> Option<&'static Persona> {
    PERSONAS.iter().find(|p| p.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_persona_is_found_by_its_key_and_only_the_admin_administers() {
        for p in &PERSONAS {
            assert_eq!(persona(p.key).map(|f| f.id), Some(p.id));
        }
        assert!(persona("nobody").is_none());
        let admins: Vec<_> = PERSONAS.iter().filter(|p| p.administrator).collect();
        assert_eq!(admins.len(), 1);
        assert_eq!(admins[0].id, ADMIN_ID);
        assert_eq!(persona_by_id(SUPPORT_ID).map(|p| p.key), Some("support"));
    }

    #[test]
    fn the_bot_personas_and_strangers_have_their_names() {
        assert_eq!(User::bot().username, BOT_NAME);
        assert_eq!(User::new(ADMIN_ID, false).username, "ada");
        assert_eq!(User::new(7, false).username, "user7");
        assert!(!User::new(BOT_ID, false).bot);
    }
}
