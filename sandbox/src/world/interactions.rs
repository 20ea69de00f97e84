//! Slash commands and interactions: the bot registers its commands; a person runs one or
//! presses a button (INTERACTION_CREATE); the bot answers through the callback (a message now,
//! "thinking" then a message, a change to the button's message, or a form to fill) and through
//! the interaction's webhook (edit or delete the answer, follow up). Select menus and forms
//! are in [`crate::world::components`].

use crate::{
    model::{
        command::{Command, NewCommand, BOOLEAN_OPTION, USER_OPTION},
        error::ApiError,
        event::Event,
        ids::APP_ID,
        interaction::{
            interaction_token, CallbackKind, CommandData, CommandOption, Interaction, MODAL_SUBMIT,
        },
        member::Member,
        message::{Attachment, Message, MessageBody, EPHEMERAL, LOADING},
        modal::{Modal, ModalBody},
        permissions::may_use,
        user::{Persona, User, PERSONAS},
    },
    world::{
        error::SandboxError,
        messages::{components_refusal, refusal},
        state::{InteractionMetadata, InteractionState, OpenModal},
        World,
    },
};

impl World {
    /// `PUT /applications/{app}/commands` (`guild` none) or `.../guilds/{id}/commands`: the
    /// bot's commands replace the ones it registered there before.
    pub fn register_commands(
        &mut self,
        guild: Option<u64>,
        bodies: Vec<NewCommand>,
    ) -> Result<Vec<Command>, ApiError> {
        if guild.is_some_and(|id| self.guild(id).is_none()) {
            return Err(ApiError::NotFound);
        }
        let commands: Vec<Command> = bodies
            .into_iter()
            .map(|body| Command::registered(self.next_id(), guild, body))
            .collect();
        match guild.and_then(|id| self.guild_mut(id)) {
            Some(found) => found.commands = commands.clone(),
            None => self.global_commands = commands.clone(),
        }
        self.page_changed(None);
        Ok(commands)
    }

    /// The commands usable in guild `guild`: the global ones and its own.
    pub fn commands_in(&self, guild: u64) -> Vec<&Command> {
        let own = self.guild(guild).map_or(&[][..], |g| g.commands.as_slice());
        self.global_commands.iter().chain(own).collect()
    }

    /// The commands `user` may run in guild `guild`: those whose `default_member_permissions`
    /// they have, as the Discord client shows them.
    pub fn commands_for(&self, guild: u64, user: &Persona) -> Vec<&Command> {
        self.commands_in(guild)
            .into_iter()
            .filter(|c| may_use(c.default_member_permissions, user.administrator))
            .collect()
    }

    /// The page's `[name, value]` pairs typed as the bot declared them: a USER option holds a
    /// persona's key or ID, a BOOLEAN one `true` or `false` (any case), the rest are strings.
    pub fn typed_options(
        &self,
        guild: u64,
        command: &str,
        options: &[(String, String)],
    ) -> Result<Vec<CommandOption>, SandboxError> {
        let declared = self
            .commands_in(guild)
            .into_iter()
            .find(|c| c.name == command);
        options
            .iter()
            .map(|(name, value)| {
                let kind = declared.and_then(|c| c.option(name)).map(|o| o.kind);
                if kind == Some(BOOLEAN_OPTION) {
                    return match value.trim().to_ascii_lowercase().as_str() {
                        "true" => Ok(CommandOption::Boolean(name.clone(), true)),
                        "false" => Ok(CommandOption::Boolean(name.clone(), false)),
                        _ => Err(SandboxError::InvalidChoice(format!(
                            "option {name} takes true or false, not {value:?}"
                        ))),
                    };
                }
                if kind != Some(USER_OPTION) {
                    return Ok(CommandOption::String(name.clone(), value.clone()));
                }
                PERSONAS
                    .iter()
                    .find(|p| p.key == value || p.id.to_string() == *value)
                    .map(|p| CommandOption::User(name.clone(), p.id))
                    .ok_or_else(|| SandboxError::UnknownUser(value.clone()))
            })
            .collect()
    }

    /// Sends `interaction` to the bot (on the shard of its guild), remembering it by token so
    /// that its answer is known.
    pub(super) fn send_interaction(
        &mut self,
        interaction: Interaction,
        name: &str,
        source_message: Option<u64>,
    ) -> Result<u64, SandboxError> {
        let id = interaction.id;
        // Discord tells the bot the type of the channel (a thread...).
        let interaction = match self.channel(interaction.channel_id) {
            Some(channel) => {
                let kind = channel.kind();
                interaction.in_channel_of_kind(kind)
            }
            None => interaction,
        };
        self.interactions.insert(
            interaction.token.clone(),
            InteractionState {
                id,
                channel: interaction.channel_id,
                user: interaction.user().map_or(0, |u| u.id),
                name: name.to_owned(),
                original: None,
                source_message,
                acknowledged: false,
                kind: interaction.kind,
            },
        );
        self.dispatch(Event::InteractionCreate(Box::new(interaction)))?;
        Ok(id)
    }

    /// Slash command `name` run by user `user` in the sandbox guild's first text channel (or one
    /// the guild does not have), as a member without roles; no check of who may run it.
    pub fn run_command_unchecked(
        &mut self,
        name: &str,
        user: u64,
        administrator: bool,
    ) -> Result<u64, SandboxError> {
        let home = self.home().id;
        self.run_command_unchecked_in(home, name, user, administrator)
    }

    /// [`World::run_command_unchecked`] in guild `guild` (its first text channel).
    pub fn run_command_unchecked_in(
        &mut self,
        guild: u64,
        name: &str,
        user: u64,
        administrator: bool,
    ) -> Result<u64, SandboxError> {
        let guild = self.known_guild(guild)?;
        let channel = guild
            .channels
            .iter()
            .find(|c| c.kind == crate::model::channel::ChannelKind::Text)
            .map_or(guild.id + 1, |c| c.id);
        let guild_id = guild.id;
        let member = Member::new(User::new(user, false), Vec::new());
        let id = self.next_id();
        let data = CommandData::new(name, &[], Vec::new());
        let interaction = Interaction::command(id, guild_id, channel, member, administrator, data);
        self.send_interaction(interaction, name, None)
    }

    /// Persona `user` runs slash command `name` in `channel` with `options`, as the Discord
    /// client lets them: the bot is connected, they see the channel, the bot registered the
    /// command and they may use it. A USER option's member arrives in `data.resolved`.
    pub fn run_command(
        &mut self,
        user: &Persona,
        name: &str,
        channel: u64,
        options: &[CommandOption],
    ) -> Result<u64, SandboxError> {
        if !self.guild_connected(self.guild_for(channel).id) {
            return Err(SandboxError::BotNotConnected);
        }
        if !self.can_see(user.id, channel) {
            return Err(SandboxError::UnknownChannel(channel));
        }
        let guild = self.guild_for(channel);
        if !self
            .commands_for(guild.id, user)
            .iter()
            .any(|c| c.name == name)
        {
            return Err(SandboxError::UnknownCommand(name.to_owned()));
        }
        let resolved: Vec<Member> = options
            .iter()
            .flat_map(CommandOption::users)
            .map(|id| guild.member(id))
            .collect();
        let (guild_id, member) = (guild.id, guild.member(user.id));
        let id = self.next_id();
        let data = CommandData::new(name, options, resolved);
        let interaction =
            Interaction::command(id, guild_id, channel, member, user.administrator, data);
        self.send_interaction(interaction, name, None)
    }

    /// Persona `user` presses the button `custom_id` of message `message_id` (one they see).
    pub fn press_button(
        &mut self,
        user: &Persona,
        message_id: u64,
        custom_id: &str,
    ) -> Result<u64, SandboxError> {
        let stored = self.message_seen_by(user, message_id)?;
        let channel = stored.message.channel_id;
        let message = stored.message.clone();
        let guild = self.guild_for(channel);
        // As Discord sends it: the presser with their roles (staff checks read them).
        let (guild_id, member) = (guild.id, guild.member(user.id));
        let id = self.next_id();
        let interaction =
            Interaction::component(id, guild_id, member, user.administrator, message, custom_id);
        self.send_interaction(interaction, custom_id, Some(message_id))
    }

    /// Whether the bot answered interaction `id` (its callback arrived).
    pub fn acknowledged(&self, id: u64) -> bool {
        self.interactions
            .get(&interaction_token(id))
            .is_some_and(|i| i.acknowledged)
    }

    /// `POST /interactions/{id}/{token}/callback`: the bot's first answer.
    pub fn answer_interaction(
        &mut self,
        id: u64,
        token: &str,
        kind: Option<u8>,
        data: MessageBody,
        attachments: Vec<Attachment>,
    ) -> Result<(), ApiError> {
        let interaction = self.unacknowledged(id, token)?;
        match kind.and_then(CallbackKind::of) {
            Some(kind @ (CallbackKind::Message | CallbackKind::DeferredMessage)) => {
                let deferred = kind == CallbackKind::DeferredMessage;
                if !deferred {
                    if let Some(refusal) = refusal(&data, !attachments.is_empty()) {
                        return Err(refusal);
                    }
                }
                let only_for = data.ephemeral().then_some(interaction.user);
                let mut flags = data.flags.unwrap_or(0);
                if deferred {
                    flags |= LOADING;
                }
                let mut message = self.bot_message(interaction.channel, data, attachments);
                message.flags = flags;
                let message_id = message.id;
                let stored = self.store_message(message, only_for);
                stored.interaction = Some(InteractionMetadata {
                    kind: interaction.kind,
                    name: interaction.name.clone(),
                    user: User::new(interaction.user, false),
                    interacted_message_id: interaction.source_message,
                });
                self.set_original(token, message_id);
            }
            Some(CallbackKind::UpdateMessage) => {
                let source = interaction
                    .source_message
                    .ok_or(ApiError::InvalidFormBody)?;
                if let Some(refusal) = components_refusal(&data) {
                    return Err(refusal);
                }
                if let Some(stored) = self.message_mut(source) {
                    stored.message.apply(data, attachments);
                }
            }
            Some(CallbackKind::DeferredUpdate) => {
                // As on Discord, a component's deferred update is followed by edits of the
                // message whose component was used: that message is the answer's original.
                if let Some(source) = interaction.source_message {
                    self.set_original(token, source);
                }
            }
            Some(CallbackKind::Pong) => {}
            // A form's body is not a message: the callback route hands it to `open_form`.
            Some(CallbackKind::Modal) | None => return Err(ApiError::InvalidFormBody),
        }
        if let Some(state) = self.interactions.get_mut(token) {
            state.acknowledged = true;
        }
        self.page_changed(Some(interaction.channel));
        Ok(())
    }

    /// The interaction `id` with `token`, as long as nothing has answered it yet: Discord
    /// takes one callback per interaction.
    fn unacknowledged(&self, id: u64, token: &str) -> Result<InteractionState, ApiError> {
        let interaction = self
            .interactions
            .get(token)
            .filter(|i| i.id == id)
            .cloned()
            .ok_or(ApiError::UnknownInteraction)?;
        if interaction.acknowledged {
            return Err(ApiError::AlreadyAcknowledged);
        }
        Ok(interaction)
    }

    /// `POST /interactions/{id}/{token}/callback` of type 9: the bot's first answer is a form,
    /// which the person who acted sees (on the page, or [`World::open_modal`] for a test)
    /// until they submit or close it. Discord refuses a malformed form, and a form as the
    /// answer to a submitted form.
    pub fn open_form(&mut self, id: u64, token: &str, body: ModalBody) -> Result<(), ApiError> {
        let interaction = self.unacknowledged(id, token)?;
        if interaction.kind == MODAL_SUBMIT {
            return Err(ApiError::invalid(
                "type",
                "INTERACTION_RESPONSE_TYPE_INVALID",
                "A submitted form cannot be answered with another form.",
            ));
        }
        let modal = Modal::parse(body)?;
        self.modals.insert(
            id,
            OpenModal {
                interaction: id,
                user: interaction.user,
                channel: interaction.channel,
                source_message: interaction.source_message,
                modal,
            },
        );
        if let Some(state) = self.interactions.get_mut(token) {
            state.acknowledged = true;
        }
        self.page_changed(Some(interaction.channel));
        Ok(())
    }

    fn set_original(&mut self, token: &str, message: u64) {
        if let Some(state) = self.interactions.get_mut(token) {
            state.original = Some(message);
        }
    }

    /// The interaction of `token`, when `application` is the bot's.
    fn webhook(&self, application: u64, token: &str) -> Result<&InteractionState, ApiError> {
        if application != APP_ID {
            return Err(ApiError::NotFound);
        }
        self.interactions.get(token).ok_or(ApiError::UnknownWebhook)
    }

    /// `GET /webhooks/{app}/{token}/messages/@original`: the interaction's answer.
    pub fn original_response(&self, application: u64, token: &str) -> Result<Message, ApiError> {
        if application != APP_ID {
            return Err(ApiError::NotFound);
        }
        self.interactions
            .get(token)
            .and_then(|i| i.original)
            .and_then(|id| self.message(id))
            .map(|m| m.message.clone())
            .ok_or(ApiError::UnknownMessage)
    }

    /// `PATCH /webhooks/{app}/{token}/messages/@original`: edits the answer (the deferred
    /// "thinking" one), or makes it, ephemeral, when there is none yet.
    pub fn edit_original(
        &mut self,
        application: u64,
        token: &str,
        body: MessageBody,
        attachments: Vec<Attachment>,
    ) -> Result<Message, ApiError> {
        let interaction = self.webhook(application, token)?.clone();
        if let Some(refusal) = components_refusal(&body) {
            return Err(refusal);
        }
        let edited = match interaction.original.and_then(|id| self.message_mut(id)) {
            Some(stored) => {
                stored.message.apply(body, attachments);
                stored.message.clone()
            }
            None => {
                let mut message = self.bot_message(interaction.channel, body, attachments);
                message.flags = EPHEMERAL;
                self.set_original(token, message.id);
                self.store_message(message, Some(interaction.user))
                    .message
                    .clone()
            }
        };
        self.page_changed(Some(interaction.channel));
        let mut answer = edited;
        answer.webhook_id = Some(APP_ID);
        Ok(answer)
    }

    /// `DELETE /webhooks/{app}/{token}/messages/@original`.
    pub fn delete_original(&mut self, application: u64, token: &str) -> Result<(), ApiError> {
        if application != APP_ID {
            return Err(ApiError::NotFound);
        }
        let original = self.interactions.get(token).and_then(|i| i.original);
        match original {
            Some(id) => {
                self.forget_message(id);
                Ok(())
            }
            None => Err(ApiError::UnknownMessage),
        }
    }

    /// `POST /webhooks/{app}/{token}`: a follow-up message.
    pub fn follow_up(
        &mut self,
        application: u64,
        token: &str,
        body: MessageBody,
        attachments: Vec<Attachment>,
    ) -> Result<Message, ApiError> {
        let interaction = self.webhook(application, token)?.clone();
        if let Some(refusal) = components_refusal(&body) {
            return Err(refusal);
        }
        let only_for = body.ephemeral().then_some(interaction.user);
        let message = self.bot_message(interaction.channel, body, attachments);
        let stored = self.store_message(message, only_for).message.clone();
        self.page_changed(Some(interaction.channel));
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tokio::sync::mpsc;

    use super::*;
    use crate::model::{
        channel::ChannelKind,
        event::Dispatch,
        ids::{GUILD_ID, MEMBER_A_ID, MEMBER_B_ID},
        user::persona,
    };

    fn commands() -> Vec<NewCommand> {
        serde_json::from_value(json!([
            { "name": "setup", "description": "d", "default_member_permissions": "8",
              "options": [{ "type": 5, "name": "on", "description": "yes or no" }] },
            { "name": "ticket-add", "description": "add",
              "options": [{ "type": 6, "name": "member", "description": "who" }] },
        ]))
        .unwrap()
    }

    fn connected() -> (World, u64, mpsc::UnboundedReceiver<Dispatch>) {
        let mut world = World::new();
        let channel = world
            .add_channel(GUILD_ID, "general", ChannelKind::Text, None, vec![])
            .unwrap();
        world.register_commands(Some(GUILD_ID), commands()).unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        world.gateways.push(crate::world::Session::all(tx));
        (world, channel, rx)
    }

    fn text(content: &str) -> MessageBody {
        MessageBody {
            content: Some(content.to_owned()),
            ..MessageBody::default()
        }
    }

    #[test]
    fn a_member_sees_and_runs_only_the_commands_they_may_use() {
        let (mut world, channel, mut rx) = connected();
        let member = persona("member-a").unwrap();
        let admin = persona("admin").unwrap();
        let names = |world: &World, p: &Persona| -> Vec<String> {
            world
                .commands_for(GUILD_ID, p)
                .iter()
                .map(|c| c.name.clone())
                .collect()
        };
        assert_eq!(names(&world, member), ["ticket-add"]);
        assert_eq!(names(&world, admin), ["setup", "ticket-add"]);
        assert_eq!(
            world.run_command(member, "setup", channel, &[]),
            Err(SandboxError::UnknownCommand("setup".to_owned()))
        );
        let options = world
            .typed_options(
                GUILD_ID,
                "ticket-add",
                &[("member".to_owned(), "member-b".to_owned())],
            )
            .unwrap();
        assert_eq!(
            options,
            [CommandOption::User("member".to_owned(), MEMBER_B_ID)]
        );
        let id = world
            .run_command(admin, "ticket-add", channel, &options)
            .unwrap();
        let sent = rx.try_recv().unwrap();
        assert_eq!(sent.id, id.to_string());
        assert_eq!(
            sent.data["data"]["resolved"]["users"][MEMBER_B_ID.to_string()]["username"],
            "bob"
        );
        assert_eq!(
            world.typed_options(
                GUILD_ID,
                "ticket-add",
                &[("member".to_owned(), "x".to_owned())]
            ),
            Err(SandboxError::UnknownUser("x".to_owned()))
        );
        let on = |value: &str| {
            world.typed_options(GUILD_ID, "setup", &[("on".to_owned(), value.to_owned())])
        };
        assert_eq!(
            on(" True"),
            Ok(vec![CommandOption::Boolean("on".to_owned(), true)])
        );
        assert_eq!(
            on("false"),
            Ok(vec![CommandOption::Boolean("on".to_owned(), false)])
        );
        assert!(matches!(on("yes"), Err(SandboxError::InvalidChoice(_))));
    }

    #[test]
    fn a_deferred_answer_thinks_until_the_original_is_edited_and_a_second_answer_is_refused() {
        let (mut world, channel, _rx) = connected();
        let id = world
            .run_command_unchecked("ticket-add", MEMBER_A_ID, false)
            .unwrap();
        let token = interaction_token(id);
        let ephemeral = MessageBody {
            flags: Some(EPHEMERAL),
            ..MessageBody::default()
        };
        world
            .answer_interaction(id, &token, Some(5), ephemeral, vec![])
            .unwrap();
        assert!(world.acknowledged(id));
        let thinking = &world.messages_in(channel)[0];
        assert_eq!(thinking.message.flags, EPHEMERAL | LOADING);
        assert_eq!(thinking.only_for, Some(MEMBER_A_ID));
        assert_eq!(
            world.answer_interaction(id, &token, Some(4), text("again"), vec![]),
            Err(ApiError::AlreadyAcknowledged)
        );
        let answer = world
            .edit_original(APP_ID, &token, text("done"), vec![])
            .unwrap();
        assert_eq!((answer.content.as_str(), answer.flags), ("done", EPHEMERAL));
        assert_eq!(answer.webhook_id, Some(APP_ID));
        assert_eq!(
            world.original_response(APP_ID, &token).unwrap().content,
            "done"
        );
        world.delete_original(APP_ID, &token).unwrap();
        assert!(world.messages_in(channel).is_empty());
        assert_eq!(
            world.answer_interaction(id + 1, &token, Some(4), text("x"), vec![]),
            Err(ApiError::UnknownInteraction)
        );
        assert_eq!(
            world.follow_up(APP_ID, "token-0", text("x"), vec![]),
            Err(ApiError::UnknownWebhook)
        );
        assert_eq!(world.original_response(1, &token), Err(ApiError::NotFound));
    }

    #[test]
    fn a_button_press_can_update_the_message_it_was_on() {
        let (mut world, channel, _rx) = connected();
        let body: MessageBody = serde_json::from_value(json!({ "content": "close?",
            "components": [{ "type": 1, "components": [{ "type": 2, "style": 4, "custom_id": "close" }] }] }))
        .unwrap();
        let posted = world.post_message(channel, body, vec![]).unwrap();
        let alice = persona("member-a").unwrap();
        let id = world.press_button(alice, posted.id, "close").unwrap();
        let update = MessageBody {
            components: Some(Vec::new()),
            ..text("closed")
        };
        world
            .answer_interaction(id, &interaction_token(id), Some(7), update, vec![])
            .unwrap();
        let changed = &world.message(posted.id).unwrap().message;
        assert_eq!(changed.content, "closed");
        assert!(changed.components.is_empty());
        assert_eq!(
            world.press_button(alice, 1, "close"),
            Err(SandboxError::UnknownMessage(1))
        );
    }

    #[test]
    fn nothing_runs_without_a_bot_or_in_a_channel_the_person_cannot_see() {
        let mut world = World::new();
        let admin = persona("admin").unwrap();
        assert_eq!(
            world.run_command(admin, "setup", 1, &[]),
            Err(SandboxError::BotNotConnected)
        );
        let (mut world, _channel, _rx) = connected();
        assert_eq!(
            world.run_command(admin, "setup", 1, &[]),
            Err(SandboxError::UnknownChannel(1))
        );
    }
}
