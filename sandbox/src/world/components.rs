//! Select menus and forms, as people use them: a person chooses values in a message's string
//! select menu (a component interaction with `data.values`), and submits a form the bot opened
//! for them (a MODAL_SUBMIT interaction with the answers in `data.components`). Both are
//! checked as the Discord client checks them before anything reaches the bot. The bot opening
//! a form is [`World::open_form`], beside the other interaction answers.

use crate::{
    model::{
        component::{check_choice, string_select},
        interaction::{Interaction, ModalSubmitData},
        modal::Modal,
        user::Persona,
    },
    world::{error::SandboxError, state::OpenModal, World},
};

/// Which open form: by the interaction it answers, or by its custom ID (the person's newest
/// form with that ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModalRef {
    /// The interaction the form answers.
    Interaction(u64),
    /// The form's custom ID.
    CustomId(String),
}

impl From<u64> for ModalRef {
    fn from(interaction: u64) -> Self {
        Self::Interaction(interaction)
    }
}

impl From<&str> for ModalRef {
    fn from(custom_id: &str) -> Self {
        Self::CustomId(custom_id.to_owned())
    }
}

impl From<String> for ModalRef {
    fn from(custom_id: String) -> Self {
        Self::CustomId(custom_id)
    }
}

impl std::fmt::Display for ModalRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Interaction(id) => write!(f, "{id}"),
            Self::CustomId(custom_id) => write!(f, "{custom_id:?}"),
        }
    }
}

impl World {
    /// The form the bot opened in answer to interaction `interaction`, while it is open.
    pub fn open_modal(&self, interaction: u64) -> Option<&Modal> {
        self.modals.get(&interaction).map(|open| &open.modal)
    }

    /// The forms open for `user`, oldest first.
    pub fn open_modals_for(&self, user: u64) -> Vec<&OpenModal> {
        self.modals.values().filter(|m| m.user == user).collect()
    }

    /// The interaction ID of `user`'s open form `which`.
    fn find_modal(&self, user: u64, which: &ModalRef) -> Option<u64> {
        match which {
            ModalRef::Interaction(id) => self
                .modals
                .get(id)
                .filter(|m| m.user == user)
                .map(|m| m.interaction),
            ModalRef::CustomId(custom_id) => self
                .modals
                .values()
                .rev()
                .find(|m| m.user == user && &m.modal.custom_id == custom_id)
                .map(|m| m.interaction),
        }
    }

    /// Persona `user` closes their form `which` without submitting it: Discord tells the bot
    /// nothing. `false` when they had no such form.
    pub fn dismiss_modal(&mut self, user: &Persona, which: impl Into<ModalRef>) -> bool {
        let found = self.find_modal(user.id, &which.into());
        let closed = found.and_then(|id| self.modals.remove(&id));
        if let Some(closed) = &closed {
            self.page_changed(Some(closed.channel));
        }
        closed.is_some()
    }

    /// Persona `user` submits their form `which` with `answers` (`(custom_id, value)`; a field
    /// not named is sent empty), as the Discord client lets them: every required field filled,
    /// each within its lengths. The bot gets INTERACTION_CREATE of type 5 with the form's
    /// custom ID and every field's value (and the message, when a component opened it); the
    /// form closes. Returns the new interaction's ID.
    pub fn submit_modal(
        &mut self,
        user: &Persona,
        which: impl Into<ModalRef>,
        answers: &[(&str, &str)],
    ) -> Result<u64, SandboxError> {
        let which = which.into();
        let interaction = self
            .find_modal(user.id, &which)
            .ok_or_else(|| SandboxError::UnknownModal(which.to_string()))?;
        let open = self.modals[&interaction].clone();
        let components = open
            .modal
            .answer(answers)
            .map_err(|err| SandboxError::InvalidForm(err.to_string()))?;
        let guild = self.guild_for(open.channel);
        let (guild_id, member) = (guild.id, guild.member(user.id));
        let message = open
            .source_message
            .and_then(|id| self.message(id))
            .map(|m| m.message.clone());
        let id = self.next_id();
        let data = ModalSubmitData {
            custom_id: open.modal.custom_id.clone(),
            components,
        };
        let submitted = Interaction::modal_submit(
            id,
            guild_id,
            open.channel,
            member,
            user.administrator,
            data,
            message,
        );
        let sent = self.send_interaction(submitted, &open.modal.custom_id, open.source_message)?;
        self.modals.remove(&interaction);
        self.page_changed(Some(open.channel));
        Ok(sent)
    }

    /// Persona `user` chooses `values` in the string select menu `custom_id` of message
    /// `message_id` (one they see), as the Discord client lets them: values among its options,
    /// as many as it takes. The bot gets a component interaction (`data.component_type` 3,
    /// `data.values`).
    pub fn choose(
        &mut self,
        user: &Persona,
        message_id: u64,
        custom_id: &str,
        values: &[&str],
    ) -> Result<u64, SandboxError> {
        let stored = self.message_seen_by(user, message_id)?;
        let channel = stored.message.channel_id;
        let select = string_select(&stored.message.components, custom_id).ok_or_else(|| {
            SandboxError::UnknownComponent {
                message: message_id,
                custom_id: custom_id.to_owned(),
            }
        })?;
        check_choice(select, values).map_err(|err| SandboxError::InvalidChoice(err.to_string()))?;
        let message = stored.message.clone();
        let guild = self.guild_for(channel);
        let (guild_id, member) = (guild.id, guild.member(user.id));
        let id = self.next_id();
        let interaction = Interaction::select(
            id,
            guild_id,
            member,
            user.administrator,
            message,
            custom_id,
            values,
        );
        self.send_interaction(interaction, custom_id, Some(message_id))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tokio::sync::mpsc;

    use super::*;
    use crate::model::{
        channel::ChannelKind, error::ApiError, event::Dispatch, ids::GUILD_ID,
        interaction::interaction_token, message::MessageBody, modal::ModalBody, user::persona,
    };

    fn connected() -> (World, u64, mpsc::UnboundedReceiver<Dispatch>) {
        let mut world = World::new();
        let channel = world
            .add_channel(GUILD_ID, "general", ChannelKind::Text, None, vec![])
            .unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        world.gateways.push(crate::world::Session::all(tx));
        (world, channel, rx)
    }

    fn menu_message(world: &mut World, channel: u64) -> u64 {
        let body: MessageBody = serde_json::from_value(json!({ "content": "What about?",
            "components": [{ "type": 1, "components": [{ "type": 3, "custom_id": "topic",
                "options": [{ "label": "Bug", "value": "bug" }, { "label": "Billing", "value": "billing" }] }] }] }))
        .unwrap();
        world.post_message(channel, body, vec![]).unwrap().id
    }

    fn form() -> ModalBody {
        serde_json::from_value(
            json!({ "custom_id": "ticket-form", "title": "Open a ticket",
            "components": [
                { "type": 1, "components": [{ "type": 4, "custom_id": "subject", "style": 1,
                  "label": "Subject", "min_length": 3, "max_length": 40, "required": true }] },
                { "type": 1, "components": [{ "type": 4, "custom_id": "details", "style": 2,
                  "label": "Details", "required": false }] }
            ] }),
        )
        .unwrap()
    }

    #[test]
    fn a_choice_reaches_the_bot_with_its_values_and_a_bad_one_does_not() {
        let (mut world, channel, mut rx) = connected();
        let message = menu_message(&mut world, channel);
        let alice = persona("member-a").unwrap();
        rx.try_recv().unwrap();

        let id = world.choose(alice, message, "topic", &["billing"]).unwrap();

        let sent = rx.try_recv().unwrap();
        assert_eq!(sent.id, id.to_string());
        assert_eq!(sent.data["data"]["component_type"], 3);
        assert_eq!(sent.data["data"]["values"], json!(["billing"]));
        assert_eq!(sent.data["message"]["id"], message.to_string());
        assert!(matches!(
            world.choose(alice, message, "topic", &["nope"]),
            Err(SandboxError::InvalidChoice(_))
        ));
        assert!(matches!(
            world.choose(alice, message, "other", &["bug"]),
            Err(SandboxError::UnknownComponent { .. })
        ));
        assert_eq!(
            world.choose(alice, 1, "topic", &["bug"]),
            Err(SandboxError::UnknownMessage(1))
        );
    }

    #[test]
    fn a_form_opens_for_its_person_is_submitted_once_and_checked_as_the_client_does() {
        let (mut world, channel, mut rx) = connected();
        let message = menu_message(&mut world, channel);
        let (alice, bob) = (persona("member-a").unwrap(), persona("member-b").unwrap());
        let chosen = world.choose(alice, message, "topic", &["bug"]).unwrap();
        world
            .open_form(chosen, &interaction_token(chosen), form())
            .unwrap();
        assert!(world.acknowledged(chosen));
        assert_eq!(world.open_modal(chosen).unwrap().title, "Open a ticket");
        assert_eq!(world.open_modals_for(alice.id).len(), 1);
        assert_eq!(
            world.open_form(chosen, &interaction_token(chosen), form()),
            Err(ApiError::AlreadyAcknowledged)
        );
        assert!(matches!(
            world.submit_modal(bob, chosen, &[("subject", "printer")]),
            Err(SandboxError::UnknownModal(_))
        ));
        assert!(matches!(
            world.submit_modal(alice, chosen, &[("subject", "no")]),
            Err(SandboxError::InvalidForm(_))
        ));
        let drained: Vec<Dispatch> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert_eq!(drained.len(), 2, "the message and the choice only");

        let submitted = world
            .submit_modal(alice, "ticket-form", &[("subject", "printer")])
            .unwrap();

        let sent = rx.try_recv().unwrap();
        assert_eq!(sent.id, submitted.to_string());
        assert_eq!(sent.data["type"], 5);
        assert_eq!(sent.data["data"]["custom_id"], "ticket-form");
        assert_eq!(
            sent.data["data"]["components"][0]["components"][0],
            json!({ "type": 4, "custom_id": "subject", "value": "printer" })
        );
        assert_eq!(sent.data["message"]["id"], message.to_string());
        assert!(world.open_modal(chosen).is_none(), "submitted once");
        assert_eq!(
            world.open_form(submitted, &interaction_token(submitted), form()),
            Err(ApiError::invalid(
                "type",
                "INTERACTION_RESPONSE_TYPE_INVALID",
                "A submitted form cannot be answered with another form."
            ))
        );
        let update = MessageBody {
            content: Some("Thanks".to_owned()),
            ..MessageBody::default()
        };
        world
            .answer_interaction(
                submitted,
                &interaction_token(submitted),
                Some(7),
                update,
                vec![],
            )
            .unwrap();
        assert_eq!(world.message(message).unwrap().message.content, "Thanks");
    }

    #[test]
    fn a_bad_form_is_refused_and_a_closed_one_is_gone() {
        let (mut world, _channel, _rx) = connected();
        let admin = persona("admin").unwrap();
        let id = world
            .run_command_unchecked("ticket", admin.id, true)
            .unwrap();
        let mut bad = form();
        bad.title.clear();
        assert!(matches!(
            world.open_form(id, &interaction_token(id), bad),
            Err(ApiError::InvalidField { .. })
        ));
        assert!(!world.acknowledged(id));
        world.open_form(id, &interaction_token(id), form()).unwrap();
        assert!(world.dismiss_modal(admin, id));
        assert!(!world.dismiss_modal(admin, id));
        assert!(world.open_modal(id).is_none());
    }
}
