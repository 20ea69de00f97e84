//! Discord's application object, as `GET /oauth2/applications/@me` gives the bot: its flags
//! say which privileged intents the Developer Portal switched on.

use serde::Serialize;

use crate::model::{ids::APP_ID, user::BOT_NAME, wire::u64_string};

/// `GATEWAY_GUILD_MEMBERS_LIMITED`: the Server Members intent of a bot in fewer than 100
/// servers (a verified bot gets `GATEWAY_GUILD_MEMBERS`, 1 << 14).
pub const GATEWAY_GUILD_MEMBERS_LIMITED: u64 = 1 << 15;
/// `GATEWAY_MESSAGE_CONTENT_LIMITED`: the Message Content intent, which the bot needs.
pub const GATEWAY_MESSAGE_CONTENT_LIMITED: u64 = 1 << 19;

/// The bot's application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Application {
    /// The application ID ([`APP_ID`], the bot's user ID too).
    #[serde(with = "u64_string")]
    pub id: u64,
    /// The bot's name.
    pub name: &'static str,
    /// Never set in the sandbox.
    pub icon: Option<String>,
    /// Empty.
    pub description: &'static str,
    /// Only its owner adds it to servers.
    pub bot_public: bool,
    /// No OAuth2 code grant.
    pub bot_require_code_grant: bool,
    /// Never used in the sandbox.
    pub verify_key: &'static str,
    /// Its flags: the privileged intents it has.
    pub flags: u64,
}

impl Application {
    /// The sandbox's bot, with the Message Content intent, and the Server Members intent when
    /// `members_intent`.
    pub fn bot(members_intent: bool) -> Self {
        let members = if members_intent {
            GATEWAY_GUILD_MEMBERS_LIMITED
        } else {
            0
        };
        Self {
            id: APP_ID,
            name: BOT_NAME,
            icon: None,
            description: "",
            bot_public: false,
            bot_require_code_grant: false,
            verify_key: "",
            flags: GATEWAY_MESSAGE_CONTENT_LIMITED | members,
        }
    }
}

#[cfg(test)]
mod tests {
    use serenity::model::application::{ApplicationFlags, CurrentApplicationInfo};

    use super::*;

    #[test]
    fn serenity_reads_the_application_and_its_intent_flags() {
        let read = |members| -> CurrentApplicationInfo {
            serde_json::from_value(serde_json::to_value(Application::bot(members)).unwrap())
                .expect("serenity's CurrentApplicationInfo")
        };
        let with = read(true);
        assert_eq!(with.id.get(), APP_ID);
        let flags = with.flags.unwrap();
        assert!(flags.contains(ApplicationFlags::GATEWAY_GUILD_MEMBERS_LIMITED));
        assert!(flags.contains(ApplicationFlags::GATEWAY_MESSAGE_CONTENT_LIMITED));
        let without = read(false).flags.unwrap();
        assert!(!without.intersects(
            ApplicationFlags::GATEWAY_GUILD_MEMBERS
                | ApplicationFlags::GATEWAY_GUILD_MEMBERS_LIMITED
        ));
    }
}
