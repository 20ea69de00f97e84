//! Reading a slash command's options by name: a member, a text. Discord sends each
//! as its own type; a missing or differently typed option reads as `None`.

use serenity::all::{CommandDataOption, CommandDataOptionValue, CommandInteraction, UserId};

/// The options of `command`, or of its subcommand when it was run with one.
fn options(command: &CommandInteraction) -> &[CommandDataOption] {
    match command.data.options.first().map(|o| &o.value) {
        Some(CommandDataOptionValue::SubCommand(inner)) => inner,
        _ => &command.data.options,
    }
}

/// The subcommand `command` was run with, if any.
pub fn subcommand(command: &CommandInteraction) -> Option<&str> {
    command
        .data
        .options
        .first()
        .filter(|o| matches!(o.value, CommandDataOptionValue::SubCommand(_)))
        .map(|o| o.name.as_str())
}

/// The member option `name`.
pub fn user(command: &CommandInteraction, name: &str) -> Option<UserId> {
    options(command).iter().find_map(|o| match o.value {
        CommandDataOptionValue::User(user) if o.name == name => Some(user),
        _ => None,
    })
}

/// The text option `name`.
pub fn text<'a>(command: &'a CommandInteraction, name: &str) -> Option<&'a str> {
    options(command).iter().find_map(|o| match &o.value {
        CommandDataOptionValue::String(text) if o.name == name => Some(text.as_str()),
        _ => None,
    })
}
