//! Discord's JSON for tests that build events themselves (feature `test-util`): a human's
//! message as the bot gets it, and the specs tests describe messages and command options with.
//! The objects themselves are the typed [`crate::model`]; their unit tests check each against
//! serenity's types.

use serde_json::Value;

use crate::model::{ids::GUILD_ID, message::Message};
pub use crate::model::{
    interaction::{interaction_token, CommandOption},
    member::JOINED_AT as TIMESTAMP,
    message::{AttachmentSpec, MessageSpec},
};

/// The MESSAGE_CREATE event data of a human's message in the sandbox's guild (its author
/// without roles), for [`crate::Sandbox::dispatch`].
pub fn message_create(spec: &MessageSpec) -> Value {
    serde_json::to_value(Message::from_human(spec, Some(GUILD_ID), Vec::new()))
        .expect("a message serializes")
}

#[cfg(test)]
mod tests {
    use serenity::model::channel::Message as SerenityMessage;

    use super::*;

    #[test]
    fn message_create_is_serenitys_message_in_the_sandboxs_guild() {
        let mut spec = MessageSpec::human(5, 7, "missed");
        spec.id = 8;
        let read: SerenityMessage = serde_json::from_value(message_create(&spec)).unwrap();
        assert_eq!(read.guild_id.map(|g| g.get()), Some(GUILD_ID));
        assert_eq!(read.content, "missed");
    }
}
