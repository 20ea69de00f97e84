//! Slash commands: what the bot registers (`PUT .../commands`) and the command objects Discord
//! answers with and the page lists.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{
    ids::APP_ID,
    wire::{option_u64_string, u64_string},
};

/// Discord's type of a slash command option holding text.
pub const STRING_OPTION: u8 = 3;
/// Discord's type of a slash command option naming a user.
pub const USER_OPTION: u8 = 6;
/// Discord's type of a subcommand (an option holding options).
pub const SUB_COMMAND_OPTION: u8 = 1;
/// Discord's type of a slash command option holding true or false.
pub const BOOLEAN_OPTION: u8 = 5;
/// Discord's type of a slash command option naming a role.
pub const ROLE_OPTION: u8 = 8;
/// Discord's type of a slash command (`CHAT_INPUT`).
pub const CHAT_INPUT: u8 = 1;

/// The value of a fixed choice: text or a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ChoiceValue {
    /// An integer.
    Integer(i64),
    /// Another number.
    Number(f64),
    /// Text.
    Text(String),
}

/// A fixed choice of an option.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// What the user reads.
    pub name: String,
    /// What the bot gets.
    pub value: ChoiceValue,
}

/// An option a command declares (or a subcommand, holding its own options).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionDefinition {
    /// [`STRING_OPTION`], [`USER_OPTION`]...
    #[serde(rename = "type")]
    pub kind: u8,
    /// Its name.
    pub name: String,
    /// Its name in other languages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_localizations: Option<BTreeMap<String, String>>,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// What it is for, in other languages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_localizations: Option<BTreeMap<String, String>>,
    /// Must be filled in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// Fixed choices.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
    /// A subcommand's options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<OptionDefinition>,
    /// The channel types a channel option accepts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channel_types: Vec<u8>,
    /// The smallest number accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_value: Option<serde_json::Number>,
    /// The largest number accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_value: Option<serde_json::Number>,
    /// The shortest text accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u16>,
    /// The longest text accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u16>,
    /// The bot suggests values as the user types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autocomplete: Option<bool>,
}

/// One command of the body of `PUT .../commands`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NewCommand {
    /// [`CHAT_INPUT`] unless told otherwise.
    #[serde(rename = "type", default)]
    pub kind: Option<u8>,
    /// Its name, `setup`.
    pub name: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// Its options.
    #[serde(default)]
    pub options: Vec<OptionDefinition>,
    /// The permissions a member needs to see it (`"8"`: administrators).
    #[serde(default, with = "option_u64_string")]
    pub default_member_permissions: Option<u64>,
    /// Usable in DMs (true unless told otherwise).
    #[serde(default)]
    pub dm_permission: Option<bool>,
}

/// A command as Discord stores it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Command {
    /// The command ID.
    #[serde(with = "u64_string")]
    pub id: u64,
    /// The bot's application.
    #[serde(with = "u64_string")]
    pub application_id: u64,
    /// The guild it is registered in; none for a global command.
    #[serde(with = "option_u64_string")]
    pub guild_id: Option<u64>,
    /// Always "1".
    pub version: &'static str,
    /// [`CHAT_INPUT`]...
    #[serde(rename = "type")]
    pub kind: u8,
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Its options.
    pub options: Vec<OptionDefinition>,
    /// The permissions a member needs to see it.
    #[serde(with = "option_u64_string")]
    pub default_member_permissions: Option<u64>,
    /// Usable in DMs.
    pub dm_permission: bool,
    /// Never set in the sandbox.
    pub nsfw: bool,
    /// Installed in guilds (0).
    pub integration_types: Vec<u8>,
    /// Where it may be used: Discord's default.
    pub contexts: Option<Vec<u8>>,
}

impl Command {
    /// Command `id` as registered from `body` (in `guild_id`, or globally).
    pub fn registered(id: u64, guild_id: Option<u64>, body: NewCommand) -> Self {
        Self {
            id,
            application_id: APP_ID,
            guild_id,
            version: "1",
            kind: body.kind.unwrap_or(CHAT_INPUT),
            name: body.name,
            description: body.description,
            options: body.options,
            default_member_permissions: body.default_member_permissions,
            dm_permission: body.dm_permission.unwrap_or(true),
            nsfw: false,
            integration_types: vec![0],
            contexts: None,
        }
    }

    /// The option of this name, if it declares one.
    pub fn option(&self, name: &str) -> Option<&OptionDefinition> {
        self.options.iter().find(|o| o.name == name)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use serenity::model::application::Command as SerenityCommand;

    use super::*;

    #[test]
    fn a_registered_command_is_serenitys_command_with_its_options() {
        let body: Vec<NewCommand> = serde_json::from_value(json!([
            { "name": "setup", "description": "d", "type": 1, "default_member_permissions": "8" },
            { "name": "ticket-add", "description": "add",
              "options": [{ "type": 6, "name": "member", "description": "who", "required": true }] },
        ]))
        .unwrap();
        let commands: Vec<Command> = body
            .into_iter()
            .zip(10..)
            .map(|(command, id)| Command::registered(id, Some(1), command))
            .collect();
        let read: Vec<SerenityCommand> =
            serde_json::from_value(serde_json::to_value(&commands).unwrap()).unwrap();
        assert_eq!(read[0].name, "setup");
        assert!(read[0].default_member_permissions.unwrap().administrator());
        assert_eq!(read[1].options[0].name, "member");
        assert!(read[1].options[0].required);
        assert_eq!(
            commands[1].option("member").map(|o| o.kind),
            Some(USER_OPTION)
        );
        assert!(commands[1].dm_permission);
    }
}
